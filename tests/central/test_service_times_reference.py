"""The service-time report's figures (counted and ranked by ``service_times.build``) equal the
same figures computed the plain way, visit by visit, over a varied selection: three offices in
three time zones (one half an hour off a whole hour), desks and officers shared across days,
missing waits, service times and ends, times with microseconds, overlapping services and breaks
longer than the idle limit. Runs on SQLite and on PostgreSQL (``make test-postgres``)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import translation

from pst_helpdesk_ext.models import ServiceCategory, Visit
from pst_helpdesk_ext.services import service_times
from pst_helpdesk_ext.services.branches import create_branch
from tests.central import test_ui as ui
from tests.central.test_ui import make_pst_ticket

pytestmark = pytest.mark.django_db
branch = ui.branch


@pytest.fixture
def visits(branch):
    offices = [
        branch,
        create_branch("7371", "Makassar", timezone="Asia/Makassar"),
        create_branch("9999", "Kantor Uji", timezone="Asia/Kolkata"),
    ]
    services = list(ServiceCategory.objects.order_by("pk")[:3])
    rng = random.Random(19)
    for n in range(90):
        office = offices[n % 3]
        zone = ZoneInfo(office.timezone)
        day = dt.date(2026, 3, 16) + dt.timedelta(days=rng.randrange(2))
        issued = dt.datetime.combine(day, dt.time(7), zone) + dt.timedelta(
            seconds=rng.randrange(9 * 3600), microseconds=rng.randrange(1_000_000)
        )
        pst = make_pst_ticket(office, walk_in={"issued_at": issued, "queue_number": f"A-{n:03d}"})
        called = issued + dt.timedelta(
            seconds=rng.randrange(3600), microseconds=rng.randrange(10**6)
        )
        finished = called + dt.timedelta(seconds=rng.randrange(1, 3 * 3600))
        Visit.objects.filter(pst_ticket=pst).update(
            service=rng.choice(services),
            service_day=day,
            desk=rng.choice(["Meja 1", "Meja 2", "Meja 3", ""]),
            officer=rng.choice(["Ani", "Budi", "Citra", ""]),
            called_at=called if rng.random() > 0.1 else None,
            finished_at=finished if rng.random() > 0.1 else None,
            wait_seconds=rng.choice([None, rng.randrange(4000), rng.randrange(700)]),
            service_seconds=rng.choice([None, rng.randrange(5000), rng.randrange(900)]),
        )


def _reference(english_names: bool) -> dict[tuple[str, str], dict[str, object]]:
    """Every group's figures computed visit by visit (sorted lists, math.ceil ranks)."""
    measures: dict[tuple[str, str], list[list[int]]] = defaultdict(lambda: [[], [], []])
    labels: dict[tuple[str, str], str] = {}
    spans: dict[tuple[str, dt.date, str], list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    hours: dict[int, int] = defaultdict(int)
    for v in Visit.objects.select_related("branch", "service"):
        b = v.branch
        service_name = v.service.name_en if english_names else v.service.name_id
        keys = {
            ("all", ""): "All",
            ("branch", b.code): f"{b.code} {b.name}",
            ("service", v.service.code): service_name,
            ("day", v.service_day.isoformat()): v.service_day.isoformat(),
        }
        if v.desk:
            keys[("desk", f"{b.code}/{v.desk}")] = f"{b.name} · {v.desk}"
            if v.called_at and v.finished_at:
                spans[(b.code, v.service_day, v.desk)].append((v.called_at, v.finished_at))
        if v.officer:
            keys[("officer", f"{b.code}/{v.officer}")] = f"{v.officer} ({b.name})"
        for key, label in keys.items():
            labels[key] = label
            visits, waits, times = measures[key]
            visits.append(1)
            if v.wait_seconds is not None:
                waits.append(v.wait_seconds)
            if v.service_seconds is not None:
                times.append(v.service_seconds)
        hours[v.issued_at.astimezone(ZoneInfo(b.timezone)).hour] += 1
    idle: dict[tuple[str, str], int] = defaultdict(int)
    for (code, _day, desk), pairs in spans.items():
        pairs.sort()
        for (_s, end), (start, _e) in itertools.pairwise(pairs):
            gap = start - end
            if dt.timedelta(0) < gap <= dt.timedelta(hours=2):
                for key in (("desk", f"{code}/{desk}"), ("branch", code), ("all", "")):
                    idle[key] += int(gap.total_seconds())

    def rank(values: list[int], share: float) -> int | None:
        return values[max(math.ceil(share * len(values)), 1) - 1] if values else None

    def bands(values: list[int]) -> list[int]:
        counts = [0] * 6
        for value in values:
            counts[next((i for i, up in enumerate((5, 10, 15, 30, 60)) if value < up * 60), 5)] += 1
        return counts

    out = {}
    for key, (visits, waits, times) in measures.items():
        waits.sort()
        times.sort()
        out[key] = {
            "label": labels[key],
            "visits": len(visits),
            "measured": len(waits),
            "wait_mean": service_times.minutes(sum(waits) / len(waits)) if waits else None,
            "wait_median": service_times.minutes(rank(waits, 0.5)),
            "wait_p90": service_times.minutes(rank(waits, 0.9)),
            "wait_max": service_times.minutes(waits[-1]) if waits else None,
            "within": sum(1 for w in waits if w <= 600),
            "service_mean": service_times.minutes(sum(times) / len(times)) if times else None,
            "service_median": service_times.minutes(rank(times, 0.5)),
            "service_p90": service_times.minutes(rank(times, 0.9)),
            "wait_bands": bands(waits),
            "service_bands": bands(times),
            "idle_seconds": idle[key],
        }
    out[("hours", "")] = dict(hours)
    return out


def _figures(f: service_times.Figures) -> dict[str, object]:
    return {
        "label": f.label,
        "visits": f.visits,
        "measured": f.measured,
        "wait_mean": f.wait_mean,
        "wait_median": f.wait_median,
        "wait_p90": f.wait_p90,
        "wait_max": f.wait_max,
        "within": f.wait_within,
        "service_mean": f.service_mean,
        "service_median": f.service_median,
        "service_p90": f.service_p90,
        "wait_bands": f.wait_bands,
        "service_bands": f.service_bands,
        "idle_seconds": f.idle_seconds,
    }


def test_every_figure_equals_the_one_computed_visit_by_visit(visits):
    with translation.override("en"):
        report = service_times.build(Visit.objects.all(), min_measured=1)
    expected = _reference(english_names=True)
    found = {("all", ""): _figures(report.overall)}
    for group in service_times.GROUPS:
        found.update({(group, f.key): _figures(f) for f in report.groups[group]})
    found[("hours", "")] = {hour: count for hour, count, _avg in report.hours}
    assert found.keys() == expected.keys()
    for key, figures in expected.items():
        assert found[key] == figures, key
    assert report.days == 2
    # The selection is varied enough for the comparison to mean something.
    assert len(report.groups["desk"]) >= 6 and len(report.groups["officer"]) >= 6
    assert report.overall.idle_seconds > 0 and report.overall.measured < report.overall.visits
    assert len(found[("hours", "")]) >= 6


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL ranks the groups in the database"
)
def test_postgresql_percentile_disc_is_the_nearest_rank():
    """``percentile_disc`` as the report calls it gives ``percentile``'s ceil(p * n)-th value on
    every size from 1 to 300 (odd and even, p * n whole and not) and on larger ones, with ties,
    and leaves nulls out as the Python path does."""
    rng = random.Random(6)
    sizes = [*range(1, 301), 999, 1000, 1001, 4999, 10_007]
    ranks = f"SELECT {service_times.ranks_sql('x')} FROM unnest(%s::int[]) AS x"  # noqa: S608
    with connection.cursor() as cursor:
        for size in sizes:
            values = [rng.randrange(size // 3 + 2) for _ in range(size)]
            with_nulls = [*values, *([None] * rng.randrange(3))]
            rng.shuffle(with_nulls)
            cursor.execute(ranks, [with_nulls])
            ordered = sorted(values)
            expected = [service_times.percentile(ordered, p) for p in service_times.PERCENTILES]
            assert cursor.fetchone()[0] == expected, size
        cursor.execute(ranks, [[None]])
        assert cursor.fetchone()[0] is None
