"""The triage page and the per-ticket SLA timeline, through the test client on real helpdesk
tickets.

``bulk_pst_tickets`` (also used by ``bench/bench_triage.py``) makes many real helpdesk ticket
rows with their ``PSTTicket`` and walk-in ``Visit`` rows in a few bulk inserts, with clock states
that fit the ticket's status, so the query-count test and the benchmark see realistic data.
"""

from __future__ import annotations

import datetime
import random
import re
from collections.abc import Sequence
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from helpdesk.models import Ticket

from pst_helpdesk_ext.calendar import WorkingCalendar
from pst_helpdesk_ext.models import (
    Branch,
    Channel,
    PSTTicket,
    ServiceCategory,
    SLAState,
    Visit,
)
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.triage import (
    TriageFilters,
    nearest_rank,
    sla_timeline,
    time_left,
    wait_picture,
    wait_stats,
)
from tests.central.test_ui import make_pst_ticket, make_staff, make_visitor

pytestmark = pytest.mark.django_db

JAKARTA = datetime.timezone(datetime.timedelta(hours=7))
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


# --- bulk data (shared with the benchmark) ----------------------------------------------------


ONLINE_OPEN_STATES = (
    (SLAState.PENDING, 15),
    (SLAState.RUNNING, 40),
    (SLAState.AT_RISK, 10),
    (SLAState.PAUSED, 15),
    (SLAState.BREACHED, 10),
    (SLAState.MET, 10),
)
WALK_IN_OPEN_STATES = ((SLAState.MET, 80), (SLAState.BREACHED, 20))
CLOSED_STATES = ((SLAState.MET, 85), (SLAState.BREACHED, 10), (SLAState.NONE, 5))


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([s for s, _ in weighted], weights=[w for _, w in weighted])[0]


def _clock(rng: random.Random, state: str, now: datetime.datetime) -> dict[str, Any]:
    """Clock fields that fit ``state`` at ``now`` (due times spread over days around now)."""
    started = now - datetime.timedelta(seconds=rng.randint(3600, 10 * 86400))
    fields: dict[str, Any] = {"sla_state": state}
    if state == SLAState.PENDING:
        return fields
    fields["sla_started_at"] = started
    if state == SLAState.RUNNING:
        fields["sla_due_at"] = now + datetime.timedelta(seconds=rng.randint(6 * 3600, 5 * 86400))
    elif state == SLAState.AT_RISK:
        fields["sla_due_at"] = now + datetime.timedelta(seconds=rng.randint(60, 6 * 3600))
        fields["sla_at_risk_at"] = now - datetime.timedelta(seconds=rng.randint(60, 3600))
    elif state == SLAState.PAUSED:
        fields["sla_due_at"] = now + datetime.timedelta(seconds=rng.randint(3600, 3 * 86400))
        fields["sla_paused_since"] = now - datetime.timedelta(seconds=rng.randint(600, 3 * 86400))
        fields["waiting_for_visitor_since"] = fields["sla_paused_since"]
    elif state == SLAState.BREACHED:
        fields["sla_due_at"] = now - datetime.timedelta(seconds=rng.randint(60, 10 * 86400))
        fields["sla_breached_at"] = fields["sla_due_at"]
    elif state == SLAState.MET:
        fields["sla_due_at"] = now + datetime.timedelta(seconds=rng.randint(-5 * 86400, 86400))
        fields["sla_stopped_at"] = min(fields["sla_due_at"], now) - HOUR
    return fields


class _Rows:
    """Rows of one model, inserted with executemany and explicit ids.

    Every column is filled the way the model would fill it: a template instance supplies the
    defaults (and ``auto_now`` values), prepared by the fields themselves for this database; rows
    override the columns they vary. Why not ``bulk_create``: building 260,000 model instances
    and compiling their inserts took minutes at benchmark scale; this takes seconds and writes
    the same rows.
    """

    def __init__(self, model: Any, **template: Any) -> None:
        self.model = model
        self.fields = model._meta.concrete_fields
        base = model(**template)
        self.defaults = {
            f.attname: f.get_db_prep_save(f.pre_save(base, add=True), connection)
            for f in self.fields
        }
        self.next_id = (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
        self.rows: list[list[Any]] = []

    def add(self, **values: Any) -> int:
        row = {**self.defaults, **values, "id": self.next_id}
        self.rows.append([row[f.attname] for f in self.fields])
        self.next_id += 1
        return row["id"]

    def insert(self) -> None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        with connection.cursor() as cursor:
            cursor.executemany(
                # Table and column names come from the model and are quoted; values are params.
                f"INSERT INTO {quote(self.model._meta.db_table)} ({columns}) VALUES ({marks})",  # noqa: S608
                self.rows,
            )
        self.rows = []


def bulk_pst_tickets(
    branches: Sequence[Branch],
    count: int,
    *,
    now: datetime.datetime,
    seed: int = 7,
    open_share: float = 0.3,
    walk_in_share: float = 0.6,
    visit_days: int = 30,
    batch_size: int = 5000,
) -> int:
    """``count`` real helpdesk tickets in the branches' queues with PST data, inserted in bulk.

    Each is a ``helpdesk_ticket`` row with every column helpdesk's model defines (its own
    defaults, a fresh secret key), a ``PSTTicket`` row and, for walk-ins, a ``Visit`` on one of
    the last ``visit_days`` days with a measured wait (about two thirds within 10 minutes). Open
    tickets carry every clock state; resolved and closed ones are met, breached or without a
    standard. Ids continue after the existing rows and the database's sequences are moved past
    them. Returns the number of tickets made.
    """
    rng = random.Random(seed)
    at = connection.ops.adapt_datetimefield_value
    day_value = connection.ops.adapt_datefield_value
    channels = {c.code: c for c in Channel.objects.all()}
    online = [channels[c].pk for c in (Channel.WEB, Channel.WHATSAPP, Channel.EMAIL)]
    services = list(ServiceCategory.objects.filter(kind=ServiceCategory.Kind.SERVICE))
    subjects = [c.pk for c in ServiceCategory.objects.filter(kind=ServiceCategory.Kind.SUBJECT)]
    konsultasi = next(s for s in services if s.code == "konsultasi")
    secret = Ticket._meta.get_field("secret_key")
    with transaction.atomic():
        tickets = _Rows(Ticket, title="", queue_id=branches[0].queue_id)
        psts = _Rows(PSTTicket, channel_id=online[0])
        visits = _Rows(
            Visit,
            branch_id=branches[0].pk,
            service_id=konsultasi.pk,
            service_day=now.date(),
            issued_at=now,
        )
        for n in range(count):
            branch = branches[n % len(branches)]
            walk_in = rng.random() < walk_in_share
            is_open = rng.random() < open_share
            states = (
                (WALK_IN_OPEN_STATES if walk_in else ONLINE_OPEN_STATES)
                if is_open
                else CLOSED_STATES
            )
            status = (
                Ticket.OPEN_STATUS
                if is_open
                else rng.choice((Ticket.RESOLVED_STATUS, Ticket.CLOSED_STATUS))
            )
            ticket_id = tickets.add(
                title=f"Permintaan data {n}",
                queue_id=branch.queue_id,
                submitter_email=f"pengunjung{n}@example.com",
                description="Konsultasi statistik",
                status=status,
                secret_key=secret.get_default(),
            )
            service = konsultasi if rng.random() < 0.8 else rng.choice(services)
            clock = _clock(rng, _pick(rng, states), now)
            origin = f"bulk-{seed}-{n}" if walk_in else ""
            pst_id = psts.add(
                ticket_id=ticket_id,
                branch_id=branch.pk,
                channel_id=channels[Channel.WALK_IN].pk if walk_in else rng.choice(online),
                category_id=service.pk,
                subject_id=rng.choice(subjects) if service is konsultasi else None,
                origin_id=origin,
                **{k: at(v) if isinstance(v, datetime.datetime) else v for k, v in clock.items()},
            )
            if walk_in:
                day = (now - DAY * rng.randrange(visit_days)).astimezone(JAKARTA).date()
                issued = datetime.datetime.combine(day, datetime.time(8), tzinfo=JAKARTA) + (
                    datetime.timedelta(seconds=rng.randint(0, 7 * 3600))
                )
                wait = int(rng.lognormvariate(5.9, 0.7))  # median ~6 min, a tail past 15
                visits.add(
                    pst_ticket_id=pst_id,
                    branch_id=branch.pk,
                    origin_id=origin,
                    service_id=service.pk,
                    queue_number=f"{service.queue_letter or 'K'}-{n % 1000:03d}",
                    service_day=day_value(day),
                    issued_at=at(issued),
                    called_at=at(issued + datetime.timedelta(seconds=wait)),
                    wait_seconds=wait,
                    outcome=Visit.Outcome.ESCALATED,
                )
            if (n + 1) % batch_size == 0 or n + 1 == count:
                tickets.insert()
                psts.insert()
                visits.insert()
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Ticket, PSTTicket, Visit]):
                cursor.execute(sql)
    return count


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def branch() -> Branch:
    return create_branch("1222", "Labuhanbatu Selatan")


@pytest.fixture
def other_branch() -> Branch:
    return create_branch("1207", "Labuhanbatu")


@pytest.fixture
def admin_user() -> Any:
    return make_staff("admin", superuser=True)


@pytest.fixture
def per_queue_permissions(monkeypatch: pytest.MonkeyPatch) -> None:
    # helpdesk reads its settings at import time; set the value its code actually reads.
    from helpdesk import settings as helpdesk_settings

    monkeypatch.setattr(helpdesk_settings, "HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION", True)


def clocked(pst: PSTTicket, **fields: Any) -> PSTTicket:
    PSTTicket.objects.filter(pk=pst.pk).update(**fields)
    pst.refresh_from_db()
    return pst


def listed(response) -> list[int]:
    """Ticket numbers of the triage table, in page order."""
    html = response.content.decode()
    table = html[html.index('id="pst-triage-tickets"') :]
    return [int(n) for n in re.findall(r'<tr data-ticket="(\d+)"', table)]


def count_of(response, state: str) -> int:
    html = response.content.decode()
    match = re.search(
        rf'data-state="{state}"\s+href="[^"]*">[^<]*<span class="pst-count">(\d+)</span>', html
    )
    assert match, state
    return int(match.group(1))


URL = "/pst/triage/"


@pytest.fixture
def ladder(branch, other_branch) -> dict[str, PSTTicket]:
    """One open ticket per clock state (and a resolved one), due times chosen to test the order."""
    now = timezone.now()
    web = {"channel": Channel.WEB, "visitor": None}
    tickets = {
        "breached_old": clocked(
            make_pst_ticket(branch, **web),
            sla_state=SLAState.BREACHED,
            sla_started_at=now - 9 * DAY,
            sla_due_at=now - 5 * DAY,
            sla_breached_at=now - 5 * DAY,
        ),
        "breached_new": clocked(
            make_pst_ticket(other_branch, channel=Channel.EMAIL, category="perpustakaan"),
            sla_state=SLAState.BREACHED,
            sla_started_at=now - 4 * DAY,
            sla_due_at=now - HOUR,
            sla_breached_at=now - HOUR,
        ),
        "overdue_unmarked": clocked(
            make_pst_ticket(branch, **web),
            sla_state=SLAState.RUNNING,
            sla_started_at=now - 6 * DAY,
            sla_due_at=now - 2 * HOUR,
        ),
        "at_risk": clocked(
            make_pst_ticket(branch, channel=Channel.WHATSAPP, subject="metadata"),
            sla_state=SLAState.AT_RISK,
            sla_started_at=now - 3 * DAY,
            sla_due_at=now + 3 * HOUR,
            sla_at_risk_at=now - HOUR,
        ),
        "running_late": clocked(
            make_pst_ticket(other_branch, **web),
            sla_state=SLAState.RUNNING,
            sla_started_at=now - DAY,
            sla_due_at=now + 4 * DAY,
        ),
        "running_soon": clocked(
            make_pst_ticket(branch, **web),
            sla_state=SLAState.RUNNING,
            sla_started_at=now - DAY,
            sla_due_at=now + DAY,
        ),
        "paused": clocked(
            make_pst_ticket(branch, **web),
            sla_state=SLAState.PAUSED,
            sla_started_at=now - 2 * DAY,
            sla_due_at=now + 2 * HOUR,
            sla_paused_since=now - HOUR,
            waiting_for_visitor_since=now - HOUR,
        ),
        "pending": make_pst_ticket(branch, **web),
        "met": clocked(
            make_pst_ticket(branch, visitor=make_visitor(), walk_in={}),
            sla_state=SLAState.MET,
            sla_started_at=now - DAY,
            sla_due_at=now - DAY + datetime.timedelta(minutes=10),
            sla_stopped_at=now - DAY + datetime.timedelta(minutes=7),
            sla_elapsed_seconds=420,
        ),
        "none": clocked(
            make_pst_ticket(other_branch, channel=Channel.EMAIL, category="penjualan"),
            sla_state=SLAState.NONE,
        ),
    }
    resolved = clocked(
        make_pst_ticket(branch, status=Ticket.RESOLVED_STATUS, **web),
        sla_state=SLAState.MET,
        sla_started_at=now - 3 * DAY,
        sla_due_at=now - DAY,
        sla_stopped_at=now - 2 * DAY,
    )
    tickets["resolved"] = resolved
    return tickets


# --- the list -----------------------------------------------------------------------------------


def test_open_tickets_by_time_left_breached_first(client, admin_user, ladder):
    client.force_login(admin_user)
    response = client.get(URL)
    assert response.status_code == 200
    order = [
        "breached_old",
        "overdue_unmarked",
        "breached_new",
        "at_risk",
        "running_soon",
        "running_late",
        "paused",
        "pending",
        "met",
        "none",
    ]
    assert listed(response) == [ladder[name].ticket_id for name in order]
    assert ladder["resolved"].ticket_id not in listed(response)
    html = response.content.decode()
    # Overdue rows are marked, and say by how much.
    row = html[html.index(f'data-ticket="{ladder["breached_old"].ticket_id}"') :]
    assert 'class="table-danger"' in row[:200] and "terlambat" in row[: row.index("</tr>")]


def test_counts_per_state_follow_every_filter_but_the_state(client, admin_user, ladder):
    client.force_login(admin_user)
    response = client.get(URL)
    expected = {
        "breached": 2,
        "at_risk": 1,
        "running": 3,
        "paused": 1,
        "pending": 1,
        "met": 1,
        "none": 1,
    }
    assert {state: count_of(response, state) for state in expected} == expected
    only_breached = client.get(URL, {"state": "breached"})
    assert count_of(only_breached, "running") == 3  # the counts still show the whole picture
    assert set(listed(only_breached)) == {
        ladder["breached_old"].ticket_id,
        ladder["breached_new"].ticket_id,
    }
    branch_1207 = client.get(URL, {"branch": "1207"})
    assert count_of(branch_1207, "breached") == 1 and count_of(branch_1207, "running") == 1
    assert "10 tiket terbuka" in response.content.decode()


def test_filters_by_branch_channel_category_and_state(client, admin_user, ladder):
    client.force_login(admin_user)
    ids = {name: pst.ticket_id for name, pst in ladder.items()}

    def shown(**params: Any) -> set[int]:
        response = client.get(URL, params)
        assert response.status_code == 200, params
        return set(listed(response))

    assert shown(branch="1207") == {ids["breached_new"], ids["running_late"], ids["none"]}
    assert shown(channel="whatsapp") == {ids["at_risk"]}
    assert shown(channel="email", category="perpustakaan") == {ids["breached_new"]}
    assert shown(category="metadata") == {ids["at_risk"]}
    assert shown(state=["paused", "pending"]) == {ids["paused"], ids["pending"]}
    assert shown(branch="1222", state="running") == {ids["overdue_unmarked"], ids["running_soon"]}
    assert shown(channel="walk_in") == {ids["met"]}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"branch": "9999"}, "9999"),
        ({"channel": "fax"}, "fax"),
        ({"category": "astrologi"}, "astrologi"),
        ({"state": "late"}, "late"),
        ({"wait_from": "2026-13-01"}, "YYYY-MM-DD"),
        ({"wait_from": "2026-03-20", "wait_to": "2026-03-01"}, "2026-03-01"),
        ({"wait_from": "2026-01-01", "wait_to": "2026-03-01"}, "31"),
        ({"page": "x", "state": "bogus"}, "bogus"),
    ],
)
def test_bad_filters_are_a_clear_400_listing_nothing(client, admin_user, ladder, params, named):
    client.force_login(admin_user)
    response = client.get(URL, params)
    assert response.status_code == 400
    html = response.content.decode()
    errors = html[html.index('id="pst-triage-errors"') :]
    assert named in errors[: errors.index("</div>")]
    assert 'id="pst-triage-tickets"' not in html and 'id="pst-wait-picture"' not in html


def test_a_page_number_out_of_range_shows_the_last_page(client, admin_user, ladder):
    client.force_login(admin_user)
    assert client.get(URL, {"page": "99"}).status_code == 200
    assert client.get(URL, {"page": "abc"}).status_code == 200


def test_pagination_keeps_the_order_and_the_filters(client, admin_user, branch):
    now = timezone.now()
    made = [
        clocked(
            make_pst_ticket(branch, channel=Channel.WEB),
            sla_state=SLAState.RUNNING,
            sla_started_at=now - DAY,
            sla_due_at=now + HOUR * (n + 1),
        )
        for n in range(30)
    ]
    client.force_login(admin_user)
    first = client.get(URL, {"state": "running"})
    second = client.get(URL, {"state": "running", "page": 2})
    assert listed(first) + listed(second) == [p.ticket_id for p in made]
    assert "state=running&amp;page=2" in first.content.decode()
    assert "30 tiket ditampilkan" in first.content.decode()


def test_per_queue_permissions_as_on_every_pst_page(
    client, per_queue_permissions, ladder, branch, other_branch
):
    provincial = make_staff("provinsi", queues=(branch.queue,))
    client.force_login(provincial)
    response = client.get(URL)
    mine = {
        pst.ticket_id
        for name, pst in ladder.items()
        if pst.branch_id == branch.pk and name != "resolved"
    }
    assert set(listed(response)) == mine
    assert count_of(response, "breached") == 1  # the other branch's breach is not counted
    html = response.content.decode()
    picture = html[html.index('id="pst-wait-picture"') :]
    assert 'data-branch="1222"' in picture and 'data-branch="1207"' not in picture
    # Naming the other branch is refused, not answered with its tickets.
    refused = client.get(URL, {"branch": "1207"})
    assert refused.status_code == 400 and "1207" in refused.content.decode()
    # A ticket of the other branch assigned to this user is visible, as helpdesk decides.
    Ticket.objects.filter(pk=ladder["none"].ticket_id).update(assigned_to=provincial)
    assert ladder["none"].ticket_id in listed(client.get(URL))
    client.force_login(make_staff("tanpaakses"))
    assert listed(client.get(URL)) == []


def test_for_helpdesk_staff_only(client, ladder):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(get_user_model().objects.create_user("visitor", "v@example.com", "pw"))
    assert client.get(URL).status_code == 302


def test_navigation_links_the_triage_page(client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("helpdesk:dashboard")).content.decode()
    nav = html[html.index('id="pst-navigation"') :]
    assert f'href="{URL}"' in nav and "Triase" in nav


def test_english_page(client, admin_user, ladder):
    client.force_login(admin_user)
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "PST triage: open tickets by time left" in html
    assert "overdue" in html and "Walk-in waits per branch and day" in html


# --- the query count at scale -------------------------------------------------------------------


def test_a_fixed_small_number_of_queries_whatever_the_number_of_tickets(
    client, per_queue_permissions, branch, other_branch
):
    """50 tickets and 2,000 tickets cost the same queries per page, filtered or not."""
    third = create_branch("1210", "Batu Bara")
    provincial = make_staff("provinsi", queues=(branch.queue, other_branch.queue, third.queue))
    client.force_login(provincial)
    now = timezone.now()
    pages = [
        {},
        {"branch": "1222"},
        {"state": ["running", "at_risk", "paused", "pending"]},
        {"channel": "web", "category": "konsultasi", "page": "2"},
    ]

    def queries() -> list[int]:
        counts = []
        for params in pages:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(URL, params)
            assert response.status_code == 200
            assert listed(response), params  # a page with rows (an empty page skips a query)
            counts.append(len(captured))
        return counts

    bulk_pst_tickets([branch, other_branch, third], 50, now=now, seed=1)
    few = queries()
    bulk_pst_tickets([branch, other_branch, third], 1950, now=now, seed=2)
    assert PSTTicket.objects.count() == 2000
    many = queries()
    assert many == few
    assert max(many) <= 17, many  # 17: the desk pauses beside the wait picture (one query)
    # The page is full and shows the wait picture from the bulk visits.
    response = client.get(URL)
    assert len(listed(response)) == 25
    assert response.content.decode().count('class="pst-wait-bar"') > 3
    # The bulk rows are whole helpdesk tickets: helpdesk's own page and its list serve them, and
    # tickets made afterwards the usual way get the next ids.
    first = listed(response)[0]
    page = client.get(reverse("helpdesk:view", args=[first])).content.decode()
    assert 'id="pst-sla-timeline"' in page and Ticket.objects.get(pk=first).title in page
    later = make_pst_ticket(branch, channel=Channel.WEB)
    assert later.ticket_id == Ticket.objects.count() and later.pk == PSTTicket.objects.count()


# --- time left and the wait picture ----------------------------------------------------------


def test_time_left_counts_working_time_for_online_and_minutes_for_walk_ins(branch):
    pst = make_pst_ticket(branch, channel=Channel.WEB)
    # Friday 2026-03-13 15:00 WIB; due Monday 2026-03-16 10:00: 30 min Friday + 2 h Monday.
    now = datetime.datetime(2026, 3, 13, 15, 0, tzinfo=JAKARTA)
    due = datetime.datetime(2026, 3, 16, 10, 0, tzinfo=JAKARTA)
    pst = clocked(pst, sla_state=SLAState.RUNNING, sla_started_at=now - DAY, sla_due_at=due)
    assert time_left(pst, now) == datetime.timedelta(hours=2, minutes=30)
    # Paused at 14:00 Friday: the time left is frozen there (1 h 30 Friday + 2 h Monday).
    pst = clocked(pst, sla_state=SLAState.PAUSED, sla_paused_since=now - HOUR)
    assert time_left(pst, now + 2 * DAY) == datetime.timedelta(hours=3, minutes=30)
    # Breached: overdue by the working time since the due time.
    pst = clocked(pst, sla_state=SLAState.BREACHED, sla_paused_since=None)
    assert time_left(pst, due + 2 * HOUR) == -2 * HOUR
    walk_in = make_pst_ticket(branch, visitor=make_visitor(), walk_in={})
    walk_in = clocked(
        walk_in,
        sla_state=SLAState.RUNNING,
        sla_started_at=now,
        sla_due_at=now + datetime.timedelta(minutes=10),
    )
    assert time_left(walk_in, now + datetime.timedelta(minutes=4)) == datetime.timedelta(minutes=6)
    assert WorkingCalendar().is_open(now)


def test_nearest_rank_percentiles():
    waits = [60, 120, 180, 240, 300, 360, 420, 480, 540, 900]
    assert nearest_rank(waits, 0.5) == 300
    assert nearest_rank(waits, 0.9) == 540
    stats = wait_stats(list(reversed(waits)), 600)
    assert (stats.visits, stats.median, stats.p90, stats.longest, stats.within) == (
        10,
        300,
        540,
        900,
        9,
    )
    assert stats.within_percent == 90
    one = wait_stats([700], 600)
    assert (one.median, one.p90, one.longest, one.within_percent) == (700, 700, 700, 0)


def _visit(branch: Branch, day: datetime.date, wait: int, n: int) -> None:
    issued = datetime.datetime.combine(day, datetime.time(9), tzinfo=JAKARTA)
    make_pst_ticket(
        branch,
        visitor=make_visitor(last4=f"{n:04d}"),
        walk_in={"issued_at": issued, "wait_seconds": wait, "queue_number": f"K-{n:03d}"},
    )


def test_wait_picture_per_branch_and_day(client, admin_user, branch, other_branch):
    monday, tuesday = datetime.date(2026, 3, 16), datetime.date(2026, 3, 17)
    for n, wait in enumerate([60, 120, 180, 240, 300, 360, 420, 480, 540, 900]):
        _visit(branch, monday, wait, n)
    for n, wait in enumerate([400, 800], start=20):
        _visit(branch, tuesday, wait, n)
    _visit(other_branch, tuesday, 30, 30)
    picture = wait_picture([branch, other_branch], TriageFilters(), monday, tuesday)
    rows = {row.branch.code: row for row in picture.rows}
    mon = rows["1222"].days[0]
    assert (mon.visits, mon.median, mon.p90, mon.longest, mon.within_percent) == (
        10,
        300,
        540,
        900,
        90,
    )
    tue = rows["1222"].days[1]
    assert (tue.median, tue.p90, tue.longest, tue.within_percent) == (400, 800, 800, 50)
    assert rows["1222"].period.visits == 12 and rows["1222"].period.within == 10
    assert rows["1207"].days[0] is None and rows["1207"].days[1].median == 30
    assert picture.visits == 13

    client.force_login(admin_user)
    response = client.get(URL, {"wait_from": "2026-03-16", "wait_to": "2026-03-17"})
    html = response.content.decode()
    table = html[html.index('id="pst-wait-picture"') :]
    row = table[table.index('data-branch="1222"') :]
    row = row[: row.index("</tr>")]
    assert "5:00</strong> · p90 9:00 · maks 15:00" in row
    assert "90% · n=10" in row and "50% · n=2" in row
    # Branch filter narrows the rows; the legend names the standard.
    narrowed = client.get(
        URL, {"branch": "1207", "wait_from": "2026-03-16", "wait_to": "2026-03-17"}
    ).content.decode()
    assert 'data-branch="1222"' not in narrowed and 'data-branch="1207"' in narrowed
    assert "10:00" in html[html.index('id="pst-wait-legend"') :]


# --- the timeline on the ticket page ----------------------------------------------------------


def test_ticket_page_shows_the_sla_timeline(client, admin_user, ladder):
    client.force_login(admin_user)
    paused = ladder["paused"]
    html = client.get(reverse("helpdesk:view", args=[paused.ticket_id])).content.decode()
    timeline = html[html.index('id="pst-sla-timeline"') :]
    for event in ("received", "started", "paused", "due"):
        assert f'data-event="{event}"' in timeline, event
    assert 'id="pst-sla-chart"' in timeline and "Dijeda: menunggu pengunjung" in timeline
    breached = ladder["breached_old"]
    html = client.get(reverse("helpdesk:view", args=[breached.ticket_id])).content.decode()
    timeline = html[html.index('id="pst-sla-timeline"') :]
    assert 'data-event="breached"' in timeline and "terlambat" in timeline
    events = [e.kind for e in sla_timeline(breached, timezone.now())]
    assert events == ["started", "due", "breached", "received"]


def test_no_timeline_on_a_plain_helpdesk_ticket(client, admin_user):
    from helpdesk.models import Queue

    queue = Queue.objects.create(title="IT support", slug="it")
    ticket = Ticket.objects.create(title="Printer broken", queue=queue, submitter_email="a@b.id")
    client.force_login(admin_user)
    html = client.get(reverse("helpdesk:view", args=[ticket.pk])).content.decode()
    assert "Printer broken" in html and 'id="pst-sla-timeline"' not in html


def _forms(html: str) -> dict[str, str]:
    """The SLA buttons of the timeline: button id -> the form's action."""
    timeline = html[html.index('id="pst-sla-timeline"') :]
    timeline = timeline[: timeline.index('id="pst-sla-actions"') + 3000]
    found = {}
    for action, body in re.findall(
        r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', timeline, re.S
    ):
        button = re.search(r'id="(pst-sla-[a-z]+)"', body.split("<button")[-1])
        assert "csrfmiddlewaretoken" in body
        found[button.group(1)] = action
    return found


def test_timeline_buttons_post_to_the_sla_actions(client, admin_user, branch):
    client.force_login(admin_user)
    pst = make_pst_ticket(branch, channel=Channel.WEB)
    page = reverse("helpdesk:view", args=[pst.ticket_id])
    buttons = _forms(client.get(page).content.decode())
    assert buttons == {
        "pst-sla-complete": f"/pst/tickets/{pst.ticket_id}/sla/complete/",
        "pst-sla-wait": f"/pst/tickets/{pst.ticket_id}/sla/wait/",
    }
    # Marking the request complete (SLA-core's action) starts the clock the timeline shows.
    response = client.post(buttons["pst-sla-complete"], follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    timeline = html[html.index('id="pst-sla-timeline"') :]
    assert 'data-event="complete"' in timeline and 'data-event="started"' in timeline
    assert 'data-event="due"' in timeline and "sisa" in timeline
    assert "pst-sla-complete" not in _forms(html)
    # Waiting for the visitor pauses it; the timeline offers "visitor replied" instead.
    response = client.post(
        _forms(html)["pst-sla-wait"], {"comment": "Mohon lengkapi tahun data."}, follow=True
    )
    html = response.content.decode()
    assert set(_forms(html)) == {"pst-sla-resume"}
    assert 'data-event="paused"' in html and "saat dilanjutkan" in html
    response = client.post(_forms(html)["pst-sla-resume"], follow=True)
    html = response.content.decode()
    pst.refresh_from_db()
    assert pst.sla_state in (SLAState.RUNNING, SLAState.AT_RISK) and pst.sla_paused_since is None
    assert set(_forms(html)) == {"pst-sla-wait"}


def test_no_buttons_on_walk_ins_and_closed_tickets(client, admin_user, branch):
    client.force_login(admin_user)
    walk_in = make_pst_ticket(branch, visitor=make_visitor(), walk_in={})
    closed = make_pst_ticket(branch, channel=Channel.WEB, status=Ticket.CLOSED_STATUS)
    for pst in (walk_in, closed):
        html = client.get(reverse("helpdesk:view", args=[pst.ticket_id])).content.decode()
        assert 'id="pst-sla-timeline"' in html and _forms(html) == {}
