"""The plugin inside helpdesk's UI, driven through the test client with real helpdesk tickets.

The builders at the top are shared by the other central UI/API/admin/purge tests.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from helpdesk import settings as helpdesk_settings
from helpdesk.models import Queue, Ticket

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import (
    Branch,
    Channel,
    GuestBookEntry,
    PSTTicket,
    ServiceCategory,
    Visit,
    Visitor,
)
from pst_helpdesk_ext.personal_data import id_hash, last4
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from sync import ops as op_kinds
from sync.ops import Op

pytestmark = pytest.mark.django_db

# A syntactically valid NIK (Labuhanbatu Selatan, born 17-08-1990, serial 0001). The plugin never
# receives it in these tests; it is here only to prove that no page could ever show it.
FULL_NIK = "1222011708900001"
JAKARTA = datetime.timezone(datetime.timedelta(hours=7))


# --- builders -----------------------------------------------------------------------------------


def make_staff(username: str, *, superuser: bool = False, queues: tuple[Queue, ...] = ()) -> Any:
    user = get_user_model().objects.create_user(
        username, f"{username}@example.bps.go.id", "pw", is_staff=True, is_superuser=superuser
    )
    for queue in queues:
        codename = queue.permission_name.split(".", 1)[1]
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def make_visitor(name: str = "Siti Aminah", *, last4: str = "0001", **fields: Any) -> Visitor:
    fields.setdefault("created", timezone.now())
    return Visitor.objects.create(
        name=name,
        institution=fields.pop("institution", "Universitas Sumatera Utara"),
        email=fields.pop("email", "siti@example.com"),
        phone=fields.pop("phone", "081234567890"),
        id_type=Visitor.IdType.KTP,
        id_hash="a" * 64,
        id_last4=last4,
        **fields,
    )


def make_pst_ticket(
    branch: Branch | None,
    *,
    title: str = "Data kemiskinan 2024",
    channel: str = Channel.WALK_IN,
    category: str = "konsultasi",
    subject: str | None = "data",
    visitor: Visitor | None = None,
    status: int = Ticket.OPEN_STATUS,
    created: datetime.datetime | None = None,
    queue: Queue | None = None,
    walk_in: dict[str, Any] | None = None,
) -> PSTTicket:
    """A real helpdesk ticket in the branch's queue plus its PST data (and visit for walk-ins)."""
    ticket = Ticket.objects.create(
        title=title,
        queue=queue or branch.queue,
        submitter_email=visitor.email if visitor else "visitor@example.com",
        description="Konsultasi statistik",
        status=status,
    )
    if created is not None:
        Ticket.objects.filter(pk=ticket.pk).update(created=created)
        ticket.refresh_from_db()
    pst = PSTTicket.objects.create(
        ticket=ticket,
        branch=branch,
        channel=Channel.objects.get(code=channel),
        category=ServiceCategory.objects.get(code=category),
        subject=ServiceCategory.objects.get(code=subject) if subject else None,
        visitor=visitor,
        origin_id=f"visit-{ticket.pk}" if walk_in is not None else "",
    )
    if walk_in is not None:
        issued = walk_in.get("issued_at", datetime.datetime(2026, 3, 17, 8, 5, tzinfo=JAKARTA))
        visit = Visit.objects.create(
            pst_ticket=pst,
            branch=branch,
            origin_id=pst.origin_id,
            service=pst.category,
            queue_number=walk_in.get("queue_number", "K-007"),
            service_day=issued.date(),
            issued_at=issued,
            called_at=issued + datetime.timedelta(seconds=walk_in.get("wait_seconds", 420)),
            served_at=issued + datetime.timedelta(seconds=walk_in.get("wait_seconds", 420) + 30),
            finished_at=issued + datetime.timedelta(minutes=40),
            desk="Meja 1",
            officer="Budi",
            wait_seconds=walk_in.get("wait_seconds", 420),
            service_seconds=1800,
            outcome=Visit.Outcome.ESCALATED,
            follow_up=Visit.FollowUp.ONLINE,
        )
        GuestBookEntry.objects.create(
            visit=visit,
            visitor=visitor,
            purpose=walk_in.get("purpose", "Mencari data kemiskinan kecamatan"),
            consent=True,
            recorded_at=issued,
        )
    return pst


class BranchOps:
    """Ops as a branch records them: contiguous seq, UUIDv7-shaped op ids."""

    def __init__(self, branch: Branch) -> None:
        self.branch = branch
        self.seq = 0

    def op(self, kind: str, visit_id: str, at: datetime.datetime, **payload: Any) -> Op:
        self.seq += 1
        raw = uuid.uuid4().hex
        op_id = f"{raw[:8]}-{raw[8:12]}-7{raw[13:16]}-8{raw[17:20]}-{raw[20:]}"
        return Op(op_id, self.seq, kind, visit_id, int(at.timestamp() * 1000) << 16, payload)

    def walk_in(
        self,
        at: datetime.datetime,
        *,
        name: str,
        email: str,
        nik: str,
        purpose: str,
        number: str = "K-001",
        rating_comment: str = "",
    ) -> str:
        """A whole visit, applied at central at ``at``; returns the visit id."""
        visit_id = str(uuid.uuid4())
        iso = at.isoformat()
        ops = [
            self.op(
                op_kinds.VISIT_CREATED,
                visit_id,
                at,
                service="konsultasi",
                queue_number=number,
                service_day=at.date().isoformat(),
                issued_at=iso,
            ),
            self.op(
                op_kinds.GUESTBOOK_RECORDED,
                visit_id,
                at,
                name=name,
                institution="Universitas Sumatera Utara",
                email=email,
                phone="081234567890",
                id_type="ktp",
                id_hash=id_hash(nik, pst_settings.ID_HASH_KEY),
                id_last4=last4(nik),
                purpose=purpose,
                consent=True,
                recorded_at=iso,
            ),
            self.op(op_kinds.VISIT_CALLED, visit_id, at, desk="1", called_at=iso, wait_seconds=300),
            self.op(op_kinds.VISIT_SERVED, visit_id, at, desk="1", officer="Budi", started_at=iso),
            self.op(
                op_kinds.VISIT_RESOLVED,
                visit_id,
                at,
                outcome="resolved",
                finished_at=iso,
                service_seconds=1200,
            ),
            self.op(
                op_kinds.RATING_GIVEN,
                visit_id,
                at,
                scores={f"U{n}": 4 for n in range(1, 10)},
                overall=4,
                comment=rating_comment,
            ),
        ]
        outcomes = apply_walkin_ops(self.branch, ops, received_at=at)
        assert [o.result for o in outcomes] == ["applied"] * len(ops), outcomes
        # helpdesk's Ticket.modified is auto_now: the ticket was last changed when it was applied.
        Ticket.objects.filter(pst__visit__origin_id=visit_id).update(modified=at)
        return visit_id


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
def per_queue_permissions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # helpdesk reads its settings once at import time (a known trap), so override_settings cannot
    # switch per-queue mode on; set the value helpdesk's code actually reads.
    monkeypatch.setattr(helpdesk_settings, "HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION", True)
    yield


@pytest.fixture
def walk_in_ticket(branch: Branch) -> PSTTicket:
    return make_pst_ticket(branch, visitor=make_visitor(), walk_in={})


@pytest.fixture
def plain_ticket() -> Ticket:
    queue = Queue.objects.create(title="IT support", slug="it")
    return Ticket.objects.create(title="Printer broken", queue=queue, submitter_email="a@b.id")


# --- helpdesk still works ---------------------------------------------------------------------


def test_every_helpdesk_page_still_works(client, admin_user, walk_in_ticket, plain_ticket):
    client.force_login(admin_user)
    pages = [
        reverse("helpdesk:dashboard"),
        reverse("helpdesk:list"),
        reverse("helpdesk:view", args=[walk_in_ticket.ticket_id]),
        reverse("helpdesk:view", args=[plain_ticket.pk]),
        reverse("helpdesk:edit", args=[walk_in_ticket.ticket_id]),
        reverse("helpdesk:ticket_cc", args=[walk_in_ticket.ticket_id]),
        reverse("helpdesk:datatables_ticket_list", args=["e30="]),  # base64 of "{}"
        reverse("helpdesk:kanban"),
        reverse("helpdesk:saved_searches_list"),
        reverse("helpdesk:rss_index"),
        reverse("helpdesk:system_settings"),
        reverse("helpdesk:submit"),
        reverse("helpdesk:report_index"),
        reverse("helpdesk:user_settings"),
        reverse("helpdesk:kb_index"),
        reverse("helpdesk:home"),
        "/api/tickets/",
        f"/api/tickets/{walk_in_ticket.ticket_id}/",
        reverse("pst:overview"),
        reverse("pst:tickets"),
    ]
    for page in pages:
        response = client.get(page, follow=True)  # helpdesk sends staff from home to the list
        assert response.status_code == 200, page
    api = client.get("/api/tickets/").json()
    assert {t["id"] for t in api["results"]} == {walk_in_ticket.ticket_id, plain_ticket.pk}


def test_public_pages_work_for_visitors_without_pst_navigation(client, walk_in_ticket):
    for page in (
        reverse("helpdesk:home"),
        reverse("helpdesk:kb_index"),
        reverse("helpdesk:submit"),
    ):
        response = client.get(page)
        assert response.status_code == 200, page
        assert 'id="pst-navigation"' not in response.content.decode()
    # The public home page leads visitors to the PST request page (search first).
    home = client.get(reverse("helpdesk:home")).content.decode()
    entry = home.index('id="pst-request-entry"')
    assert f'href="{reverse("pst:online_start")}"' in home[entry:]
    # helpdesk's own submit form is not offered (PST_HELPDESK['PUBLIC_TICKET_FORM'] is off).
    assert 'name="submitter_email"' not in home
    assert client.get(reverse("pst:online_start")).status_code == 200
    # The public view of a ticket (visitor's own link) still works.
    ticket = walk_in_ticket.ticket
    response = client.get(
        reverse("helpdesk:public_view"),
        {
            "ticket": ticket.ticket_for_url,
            "email": ticket.submitter_email,
            "key": ticket.secret_key,
        },
    )
    assert response.status_code == 200
    assert 'id="pst-ticket-panel"' not in response.content.decode()


def test_pst_pages_are_for_staff_only(client, walk_in_ticket):
    for name in ("pst:overview", "pst:tickets"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "login" in response["Location"]
    visitor = get_user_model().objects.create_user("visitor", "v@example.com", "pw")
    client.force_login(visitor)
    assert client.get(reverse("pst:tickets")).status_code == 302


# --- the panel ----------------------------------------------------------------------------------


def test_panel_on_a_walk_in_ticket(client, admin_user, walk_in_ticket):
    client.force_login(admin_user)
    html = client.get(reverse("helpdesk:view", args=[walk_in_ticket.ticket_id])).content.decode()
    panel = html[html.index('id="pst-ticket-panel"') :]
    assert "1222 Labuhanbatu Selatan" in panel
    assert "Datang langsung" in panel  # channel, Indonesian by default (LANGUAGE_CODE id)
    assert "Konsultasi Statistik" in panel and "Data" in panel
    assert "Siti Aminah" in panel
    assert "************0001" in panel
    assert "K-007" in panel
    # issued 08:05:00, called 08:12:00, served 08:12:30, finished 08:45:00 in the branch's zone
    for shown in ("08:05:00", "08:12:00", "08:12:30", "08:45:00", "Meja 1"):
        assert shown in panel, shown
    assert "7 mnt 00 dtk" in panel  # the wait, within the 10-minute standard
    assert "text-bg-success" in panel
    assert FULL_NIK not in html and "a" * 64 not in html
    # helpdesk's own page is intact around the panel.
    assert walk_in_ticket.ticket.title in html and 'id="ticketTab"' in html
    assert 'id="pst-conversation-link"' not in html  # walk-ins have no online conversation


def test_panel_on_a_ticket_made_by_the_intake_service(client, admin_user, branch):
    at = datetime.datetime(2026, 3, 17, 9, 30, tzinfo=JAKARTA)
    visit_id = BranchOps(branch).walk_in(
        at, name="Siti Aminah", email="siti@example.com", nik=FULL_NIK, purpose="Data IPM"
    )
    ticket_id = Visit.objects.get(origin_id=visit_id).pst_ticket.ticket_id
    client.force_login(admin_user)
    html = client.get(reverse("helpdesk:view", args=[ticket_id])).content.decode()
    panel = html[html.index('id="pst-ticket-panel"') :]
    for shown in ("K-001", "Siti Aminah", "************0001", "09:30:00", "5 mnt 00 dtk"):
        assert shown in panel, shown
    assert FULL_NIK not in html
    assert "Buku tamu dicatat." in html  # the intake's history, in the queue's language


def test_panel_flags_a_wait_over_the_standard_in_english(client, admin_user, branch):
    pst = make_pst_ticket(branch, visitor=make_visitor(), walk_in={"wait_seconds": 900})
    client.force_login(admin_user)
    html = client.get(
        reverse("helpdesk:view", args=[pst.ticket_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "15 min 00 s" in html
    assert "over the 10 minutes standard" in html and "text-bg-danger" in html
    assert "Walk-in" in html and "Statistical consultation" in html


def test_panel_of_an_online_ticket_has_no_visit(client, admin_user, branch):
    pst = make_pst_ticket(branch, channel=Channel.WEB, visitor=make_visitor())
    client.force_login(admin_user)
    html = client.get(reverse("helpdesk:view", args=[pst.ticket_id])).content.decode()
    assert 'id="pst-ticket-panel"' in html
    assert 'id="pst-visit-times"' not in html
    # The chat-style thread and the appointment form are one click away.
    conversation = reverse("pst:online_conversation", args=[pst.ticket_id])
    assert f'id="pst-conversation-link" href="{conversation}"' in html
    assert client.get(conversation).status_code == 200


def test_panel_of_a_purged_visitor_shows_no_personal_data(client, admin_user, branch):
    visitor = make_visitor(purged_at=timezone.now())
    Visitor.objects.filter(pk=visitor.pk).update(name="", email="", phone="", id_last4="")
    pst = make_pst_ticket(branch, visitor=Visitor.objects.get(pk=visitor.pk), walk_in={})
    client.force_login(admin_user)
    html = client.get(reverse("helpdesk:view", args=[pst.ticket_id])).content.decode()
    assert "data pribadi dihapus" in html
    assert "************" not in html


def test_no_panel_on_a_plain_helpdesk_ticket(client, admin_user, plain_ticket):
    client.force_login(admin_user)
    html = client.get(reverse("helpdesk:view", args=[plain_ticket.pk])).content.decode()
    assert "Printer broken" in html
    assert 'id="pst-ticket-panel"' not in html


def test_navigation_entry_on_helpdesk_pages(client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("helpdesk:dashboard")).content.decode()
    nav = html[html.index('id="pst-navigation"') :]
    assert reverse("pst:tickets") in nav and reverse("pst:overview") in nav


def test_overview_links_the_ticket_list_and_shows_sync_state(client, admin_user, branch):
    state = branch.sync_state
    state.last_seen_at = timezone.now()
    state.rejected_count = 3
    state.clock_skew_seconds = 150
    state.save()
    client.force_login(admin_user)
    html = client.get(reverse("pst:overview")).content.decode()
    assert "1222" in html and "Labuhanbatu Selatan" in html
    assert f"{reverse('pst:tickets')}?branch=1222" in html
    assert "150 detik" in html and ">3<" in html


# --- the PST ticket list ------------------------------------------------------------------------


def ticket_ids(response) -> set[int]:
    return {int(n) for n in re.findall(r'href="/tickets/(\d+)/"', response.content.decode())}


@pytest.fixture
def mixed_tickets(branch, other_branch) -> dict[str, PSTTicket]:
    day = datetime.datetime(2026, 3, 17, 10, 0, tzinfo=JAKARTA)
    return {
        "walk_in": make_pst_ticket(branch, visitor=make_visitor(), walk_in={}, created=day),
        "web": make_pst_ticket(
            branch,
            channel=Channel.WEB,
            subject="metadata",
            created=day + datetime.timedelta(days=1),
            status=Ticket.RESOLVED_STATUS,
        ),
        "library": make_pst_ticket(
            other_branch,
            title="Peminjaman publikasi Labuhanbatu",
            category="perpustakaan",
            subject=None,
            channel=Channel.EMAIL,
            created=day + datetime.timedelta(days=5),
        ),
    }


def test_ticket_list_filters(client, admin_user, mixed_tickets):
    client.force_login(admin_user)
    url = reverse("pst:tickets")
    ids = {name: pst.ticket_id for name, pst in mixed_tickets.items()}
    assert ticket_ids(client.get(url)) == set(ids.values())
    assert ticket_ids(client.get(url, {"branch": "1222"})) == {ids["walk_in"], ids["web"]}
    assert ticket_ids(client.get(url, {"channel": "email"})) == {ids["library"]}
    assert ticket_ids(client.get(url, {"category": "metadata"})) == {ids["web"]}
    assert ticket_ids(client.get(url, {"category": "konsultasi"})) == {ids["walk_in"], ids["web"]}
    assert ticket_ids(client.get(url, {"status": "3"})) == {ids["web"]}
    assert ticket_ids(client.get(url, {"status": ["1", "3"]})) == set(ids.values())
    assert ticket_ids(client.get(url, {"date_from": "2026-03-18"})) == {ids["web"], ids["library"]}
    assert ticket_ids(client.get(url, {"date_from": "2026-03-17", "date_to": "2026-03-18"})) == {
        ids["walk_in"],
        ids["web"],
    }
    assert ticket_ids(client.get(url, {"branch": "1207", "channel": "walk_in"})) == set()


def test_ticket_list_rejects_bad_filters_naming_the_value(client, admin_user, mixed_tickets):
    client.force_login(admin_user)
    response = client.get(
        reverse("pst:tickets"), {"date_from": "2026-03-20", "date_to": "2026-03-01"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "2026-03-01" in html and ticket_ids(response) == set()
    response = client.get(reverse("pst:tickets"), {"branch": "9999", "status": "77"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "9999" in html and "77" in html


def test_ticket_list_paginates_with_a_fixed_number_of_queries(client, admin_user, branch):
    client.force_login(admin_user)
    url = reverse("pst:tickets")

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    make_pst_ticket(branch, visitor=make_visitor(), walk_in={})
    few = queries_for_list()
    for n in range(29):
        make_pst_ticket(branch, visitor=make_visitor(last4=f"{n:04d}"), walk_in={})
    many = queries_for_list()
    assert many == few
    first = client.get(url)
    assert len(ticket_ids(first)) == 25 and "page=2" in first.content.decode()
    second = client.get(url, {"page": 2})
    assert len(ticket_ids(second)) == 5
    assert ticket_ids(first).isdisjoint(ticket_ids(second))


def test_ticket_list_respects_per_queue_permissions(
    client, per_queue_permissions, mixed_tickets, branch, other_branch
):
    user = make_staff("petugas1222", queues=(branch.queue,))
    client.force_login(user)
    url = reverse("pst:tickets")
    mine = {mixed_tickets["walk_in"].ticket_id, mixed_tickets["web"].ticket_id}
    assert ticket_ids(client.get(url)) == mine
    # Asking for the other branch explicitly is refused, not answered with its tickets.
    response = client.get(url, {"branch": "1207"})
    assert response.status_code == 400 and ticket_ids(response) == set()
    overview = client.get(reverse("pst:overview")).content.decode()
    assert "Labuhanbatu Selatan" in overview and ">1207<" not in overview
    # helpdesk itself agrees: the other branch's ticket page is closed to this user.
    other = mixed_tickets["library"]
    response = client.get(reverse("helpdesk:view", args=[other.ticket_id]), follow=True)
    assert other.ticket.title not in response.content.decode()


def test_staff_without_any_queue_permission_sees_nothing(
    client, per_queue_permissions, mixed_tickets
):
    client.force_login(make_staff("tanpaakses"))
    assert ticket_ids(client.get(reverse("pst:tickets"))) == set()
