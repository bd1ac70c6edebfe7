"""The IKM report sums scores, visits and times in the database (issue 19: a page under a second
at national scale); its figures must be exactly those of ``compute_ikm`` over the ratings
themselves. Random ratings and walk-ins (unanswered elements, an empty answer, a rating of a
ticket with no PST data and no branch, months that change at midnight in Jakarta but not in
UTC, desks and officers, every clock state) are reported through ``build_report`` and compared
with the same report computed here row by row, the way it was before the sums moved into the
database. Runs on SQLite and on PostgreSQL (``PST_TEST_DATABASE_URL``)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.utils import timezone
from helpdesk.models import Ticket

from pst_helpdesk_ext.ikm import compute_ikm
from pst_helpdesk_ext.models import Channel, PSTTicket, Rating, SLAState, Visit
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.reports import ReportFilters, build_report
from sync.ops import IKM_ELEMENTS
from tests.central.test_ui import make_pst_ticket

pytestmark = pytest.mark.django_db
UTC = dt.UTC
# Ratings around the end of March: 2026-03-31 17:30 UTC is already April in Jakarta.
FIRST = dt.datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
MINIMUM = 5  # REPORT_MIN_RESPONDENTS here: some desks and officers reach it, some do not
STATES = [SLAState.MET, SLAState.BREACHED, SLAState.RUNNING, SLAState.PENDING]


def random_scores(rnd: random.Random) -> dict[str, int]:
    answered = rnd.sample(IKM_ELEMENTS, rnd.randint(1, len(IKM_ELEMENTS)))
    return {code: rnd.randint(1, 4) for code in sorted(answered)}


def make_world(seed: int) -> None:
    rnd = random.Random(seed)
    branches = [create_branch(code, f"Kantor {code}") for code in ("1222", "1223", "1301")]
    for n in range(60):
        branch = rnd.choice(branches)
        walk_in = n % 4 != 0
        issued = FIRST + dt.timedelta(minutes=rnd.randrange(0, 5 * 24 * 60))
        pst = make_pst_ticket(
            branch,
            channel=Channel.WALK_IN if walk_in else rnd.choice(["web", "email"]),
            category=rnd.choice(["konsultasi", "perpustakaan"]),
            walk_in={"issued_at": issued, "wait_seconds": rnd.randrange(0, 3000)}
            if walk_in
            else None,
        )
        PSTTicket.objects.filter(pk=pst.pk).update(sla_state=rnd.choice(STATES))
        if walk_in:
            Visit.objects.filter(pst_ticket=pst).update(
                desk=rnd.choice(["Meja 1", "Meja 2", ""]),
                officer=rnd.choice(["Budi", "Rina", ""]),
                wait_seconds=rnd.choice([None, rnd.randrange(0, 3000)]),
                service_seconds=rnd.choice([None, rnd.randrange(60, 3600)]),
            )
        if rnd.random() < 0.85:
            Rating.objects.create(
                ticket=pst.ticket,
                branch=branch,
                scores={} if n == 7 else random_scores(rnd),  # n 7: answered nothing
                overall=rnd.randint(1, 4),
                created=FIRST + dt.timedelta(minutes=rnd.randrange(0, 5 * 24 * 60)),
            )
    # Exactly on the month boundary in Jakarta, and a rating of a ticket that is not a PST one.
    queue = branches[0].queue
    for created in (dt.datetime(2026, 3, 31, 17, 0, tzinfo=UTC), FIRST):
        ticket = Ticket.objects.create(title="Lain", queue=queue, submitter_email="a@example.org")
        Rating.objects.create(
            ticket=ticket, branch=None, scores=random_scores(rnd), overall=3, created=created
        )


def reference(filters: ReportFilters) -> dict[str, Any]:
    """The report computed row by row from the ratings and visits (names left out)."""
    ratings = Rating.objects.select_related(
        "branch", "ticket__pst__category", "ticket__pst__channel", "ticket__pst__visit__branch"
    )
    slices: dict[tuple[str, str], list[dict[str, int]]] = defaultdict(list)
    staff: dict[tuple[str, str, str], list[dict[str, int]]] = defaultdict(list)
    for rating in ratings:
        pst = getattr(rating.ticket, "pst", None)
        visit = getattr(pst, "visit", None) if pst else None
        local = timezone.localtime(rating.created)
        if filters.branch and rating.branch != filters.branch:
            continue
        if filters.channel and (pst is None or pst.channel != filters.channel):
            continue
        if filters.date_from and local.date() < filters.date_from:
            continue
        if filters.date_to and local.date() > filters.date_to:
            continue
        if not rating.scores:
            continue
        for key in (
            ("all", ""),
            ("branch", rating.branch.code if rating.branch else "-"),
            ("service", pst.category.code if pst else "-"),
            ("channel", pst.channel.code if pst else "-"),
            ("month", local.strftime("%Y-%m")),
        ):
            slices[key].append(rating.scores)
        if visit is not None:
            for level in ("desk", "officer"):
                if getattr(visit, level):
                    staff[(level, visit.branch.code, getattr(visit, level))].append(rating.scores)
    visits: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    times: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for visit in Visit.objects.select_related("branch", "pst_ticket"):
        if filters.branch and visit.branch != filters.branch:
            continue
        if filters.channel and filters.channel.code != Channel.WALK_IN:
            continue
        if filters.date_from and visit.service_day < filters.date_from:
            continue
        if filters.date_to and visit.service_day > filters.date_to:
            continue
        state = visit.pst_ticket.sla_state
        for key in (
            ("all", ""),
            ("branch", visit.branch.code),
            ("month", visit.service_day.strftime("%Y-%m")),
        ):
            figures = visits[key]
            figures[0] += 1
            figures[1] += visit.wait_seconds is not None
            figures[2] += visit.wait_seconds or 0
            figures[3] += state == SLAState.MET
            figures[4] += state in (SLAState.MET, SLAState.BREACHED)
        for level in ("desk", "officer"):
            if getattr(visit, level):
                figures = times[(level, visit.branch.code, getattr(visit, level))]
                figures[0] += visit.service_seconds is not None
                figures[1] += visit.service_seconds or 0
                figures[2] += visit.wait_seconds is not None
                figures[3] += visit.wait_seconds or 0
    staff_rows = {}
    for key in set(staff) | set(times):
        responses = staff.get(key, [])
        served, service_total, waited, wait_total = times.get(key, [0, 0, 0, 0])
        staff_rows[key] = (
            len(responses),
            compute_ikm(responses) if len(responses) >= MINIMUM else None,
            served,
            minutes(service_total, served) if served >= MINIMUM else None,
            minutes(wait_total, waited) if served >= MINIMUM else None,
        )
    return {
        "groups": {key: compute_ikm(responses) for key, responses in slices.items()},
        "visits": {key: tuple(figures) for key, figures in visits.items()},
        "staff": staff_rows,
    }


def minutes(total: int, count: int) -> Decimal | None:
    if not count:
        return None
    exact = Decimal(total) / Decimal(60 * count)
    return exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def reported(filters: ReportFilters) -> dict[str, Any]:
    report = build_report(filters)
    # The report always has its "all" rows; the reference only when something is in them.
    visits = {
        (v.level, v.code): (
            v.visits,
            v.served,
            v.wait_total_seconds,
            v.within_standard,
            v.clocks_ended,
        )
        for v in report.visits
        if v.visits
    }
    return {
        "groups": {(g.level, g.code): g.ikm for g in report.groups() if g.ikm.respondents},
        "visits": visits,
        "staff": {
            (row.level, row.branch, row.name): (
                row.respondents,
                row.ikm,
                row.served,
                row.service_avg_minutes,
                row.wait_avg_minutes,
            )
            for row in [*report.desks, *report.officers]
        },
    }


@pytest.mark.parametrize("seed", [19, 20, 21])
def test_sums_in_the_database_give_the_figures_of_the_ratings_themselves(seed, settings):
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "REPORT_MIN_RESPONDENTS": MINIMUM}
    make_world(seed)
    walk_in = Channel.objects.get(code=Channel.WALK_IN)
    web = Channel.objects.get(code="web")
    first_branch = Rating.objects.exclude(branch=None).order_by("pk").first().branch
    cases = [
        ReportFilters(),
        ReportFilters(date_from=dt.date(2026, 3, 31), date_to=dt.date(2026, 4, 1)),
        ReportFilters(branch=first_branch),
        ReportFilters(channel=walk_in),
        ReportFilters(channel=web, date_from=dt.date(2026, 4, 1)),
    ]
    for filters in cases:
        expected, got = reference(filters), reported(filters)
        assert got["groups"] == expected["groups"], filters
        assert got["visits"] == expected["visits"], filters
        assert got["staff"] == expected["staff"], filters
    everything = build_report(ReportFilters())
    months = [g.code for g in everything.months]
    assert months == ["2026-03", "2026-04"]  # the Jakarta month, not the UTC one
    assert everything.overall.ikm.respondents == Rating.objects.exclude(scores={}).count()
    assert any(g.code == "-" for g in everything.branches)  # the rating with no branch
    shown = [row.ikm is not None for row in [*everything.desks, *everything.officers]]
    assert any(shown) and not all(shown)
