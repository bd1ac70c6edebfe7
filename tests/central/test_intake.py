"""The walk-in intake: branch ops become real django-helpdesk tickets, read through helpdesk itself.

Also home of ``WalkinOps``, the op factory the sync-store and feed tests (and the intake
benchmark) build branch batches with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from helpdesk.models import FollowUp, Queue, Ticket, TicketChange
from helpdesk.signals import new_ticket_done, update_ticket_done
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import (
    AppliedOp,
    Channel,
    Complaint,
    FeedItem,
    GuestBookEntry,
    PSTTicket,
    Rating,
    Visit,
    Visitor,
)
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from pst_helpdesk_ext.services.online import record_online_ticket
from pst_helpdesk_ext.signals import INTAKE_SENDER, visit_finished
from sync import ops as k
from sync.ops import Op

WIB = dt.timezone(dt.timedelta(hours=7))
RECEIVED = dt.datetime(2026, 3, 17, 15, 0, tzinfo=WIB)


# --- the op factory -----------------------------------------------------------------------------


def uuid7(ms: int, rng: random.Random) -> str:
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rng.getrandbits(12) << 64
    value |= 0b10 << 62 | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def id_hash(id_number: str) -> str:
    # The branch's keyed hash of an ID number (HMAC in the agent; any 64-hex value here).
    return hashlib.sha256(b"test:" + id_number.encode()).hexdigest()


class WalkinOps:
    """Builds the ops a branch outbox would hold, with contiguous seqs and UUIDv7 op ids."""

    def __init__(self, seq: int = 1, seed: int = 1, start: dt.datetime | None = None) -> None:
        self.seq = seq
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = start or dt.datetime(2026, 3, 17, 8, 0, tzinfo=WIB)
        self.visits = 0

    def tick(self, seconds: int = 60) -> str:
        self.clock += dt.timedelta(seconds=seconds)
        return self.clock.isoformat()

    def op(self, kind: str, entity_id: str, payload: dict[str, Any]) -> Op:
        ms = int(self.clock.timestamp() * 1000)
        op = Op(
            op_id=uuid7(ms, self.rng),
            seq=self.seq,
            kind=kind,
            entity_id=entity_id,
            hlc=ms << 16,
            payload=payload,
        )
        self.seq += 1
        return op

    def new_visit_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def created(self, visit: str, number: int = 1, service: str = "konsultasi") -> Op:
        letter = {"konsultasi": "K", "perpustakaan": "P", "penjualan": "J"}.get(service, "R")
        return self.op(
            k.VISIT_CREATED,
            visit,
            {
                "service": service,
                # Numbers restart each day at a branch: a long bench backlog wraps at 9999.
                "queue_number": f"{letter}-{(number - 1) % 9999 + 1:03d}",
                "service_day": self.clock.date().isoformat(),
                "issued_at": self.tick(30),
            },
        )

    def guestbook(self, visit: str, *, id_number: str = "1222014508900001", **extra: Any) -> Op:
        payload = {
            "name": "Siti Aminah",
            "institution": "Universitas Sumatera Utara",
            "email": "siti@example.org",
            "phone": "081234567890",
            "id_type": "ktp",
            "id_hash": id_hash(id_number),
            "id_last4": id_number[-4:],
            "purpose": "Data kemiskinan kabupaten 2025",
            "consent": True,
            "recorded_at": self.tick(60),
        }
        payload.update(extra)
        return self.op(k.GUESTBOOK_RECORDED, visit, payload)

    def called(self, visit: str, wait: int = 240, recall: bool = False) -> Op:
        at = self.tick(wait)
        return self.op(
            k.VISIT_CALLED,
            visit,
            {"desk": "Meja 1", "called_at": at, "wait_seconds": wait, "recall": recall},
        )

    def no_show(self, visit: str) -> Op:
        return self.op(k.VISIT_NO_SHOW, visit, {"desk": "Meja 1", "at": self.tick(120)})

    def served(self, visit: str) -> Op:
        return self.op(
            k.VISIT_SERVED,
            visit,
            {"desk": "Meja 1", "officer": "Budi Santoso", "started_at": self.tick(30)},
        )

    def noted(self, visit: str, subject: str = "data") -> Op:
        self.tick(300)
        return self.op(
            k.CONSULTATION_NOTED,
            visit,
            {
                "subject": subject,
                "notes": "Menanyakan data kemiskinan per kecamatan.",
                "officer": "Budi",
            },
        )

    def resolved(self, visit: str, outcome: str = "resolved", **extra: Any) -> Op:
        payload = {
            "outcome": outcome,
            "finished_at": self.tick(300),
            "service_seconds": 900,
            "note": "Tabel kemiskinan diberikan.",
        }
        payload.update(extra)
        return self.op(k.VISIT_RESOLVED, visit, payload)

    def escalated(self, visit: str, mode: str = "zoom") -> Op:
        return self.op(
            k.VISIT_ESCALATED,
            visit,
            {
                "follow_up": mode,
                "note": "Butuh data mikro; dijadwalkan Zoom.",
                "finished_at": self.tick(300),
                "service_seconds": 600,
            },
        )

    def rating(self, visit: str, overall: int = 4) -> Op:
        self.tick(60)
        scores = {f"U{n}": 4 for n in range(1, 10)}
        return self.op(
            k.RATING_GIVEN, visit, {"scores": scores, "overall": overall, "comment": "Cepat."}
        )

    def complaint(self, visit: str, tier: int = 1, **extra: Any) -> Op:
        self.tick(60)
        payload = {"tier": tier, "text": "Antrian terlalu lama.", "lapor_ref": "LAPOR-123"}
        return self.op(k.COMPLAINT_FILED, visit, payload | extra)

    def complete_visit(self, *, escalate: bool = False, number: int | None = None) -> list[Op]:
        """A whole visit: created, guest book, called, served, consultation note, outcome."""
        self.visits += 1
        visit = self.new_visit_id()
        ops = [
            self.created(visit, number or self.visits),
            self.guestbook(visit, id_number=f"1222{self.seed % 100:02d}45089{self.visits:05d}"),
            self.called(visit),
            self.served(visit),
            self.noted(visit),
            self.escalated(visit) if escalate else self.resolved(visit),
        ]
        if not escalate:
            ops.append(self.rating(visit))
        return ops

    def visits_batch(self, n: int, escalate_every: int = 0) -> list[Op]:
        ops: list[Op] = []
        for index in range(n):
            escalate = bool(escalate_every) and index % escalate_every == 0
            ops += self.complete_visit(escalate=escalate)
        return ops


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def branch(db):
    branch = create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")
    # Helpdesk ships e-mail templates for "en"; the "id" ones are another part of the plugin.
    Queue.objects.filter(pk=branch.queue_id).update(locale="en")
    branch.queue.refresh_from_db()
    return branch


@pytest.fixture
def factory() -> WalkinOps:
    return WalkinOps()


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "petugas", "petugas@example.org", "pw-petugas", is_staff=True
    )


def apply(branch, ops, received_at=RECEIVED):
    return apply_walkin_ops(branch, ops, received_at)


def results(outcomes) -> list[tuple[str, str]]:
    return [(o.result, o.code) for o in outcomes]


def ticket_of(branch, visit_id: str) -> Ticket:
    return Ticket.objects.get(pst__branch=branch, pst__origin_id=visit_id)


def history(ticket: Ticket) -> list[dict[str, Any]]:
    """What helpdesk shows of a ticket's timeline: follow-ups with their status changes."""
    rows = []
    for followup in ticket.followup_set.order_by("date", "id"):
        rows.append(
            {
                "title": followup.title,
                "comment": followup.comment,
                "public": followup.public,
                "new_status": followup.new_status,
                "time_spent": followup.time_spent,
                "email_recipients": followup.email_recipients,
                "user": followup.user_id,
                "changes": [
                    (c.field, c.old_value, c.new_value)
                    for c in TicketChange.objects.filter(followup=followup).order_by("id")
                ],
            }
        )
    return rows


@pytest.fixture
def signals() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Records what helpdesk's signals and the intake's visit_finished carried."""
    seen: dict[str, list[dict[str, Any]]] = {"update": [], "new": [], "finished": []}

    def on_update(sender, followup, **kwargs):
        seen["update"].append({"sender": sender, "followup": followup})

    def on_new(sender, ticket, **kwargs):
        seen["new"].append({"sender": sender, "ticket": ticket})

    def on_finished(sender, visit, ticket, email, **kwargs):
        seen["finished"].append({"visit": visit, "ticket": ticket, "email": email})

    update_ticket_done.connect(on_update, dispatch_uid="test-intake-update")
    new_ticket_done.connect(on_new, dispatch_uid="test-intake-new")
    visit_finished.connect(on_finished, dispatch_uid="test-intake-finished")
    yield seen
    update_ticket_done.disconnect(dispatch_uid="test-intake-update")
    new_ticket_done.disconnect(dispatch_uid="test-intake-new")
    visit_finished.disconnect(dispatch_uid="test-intake-finished")


# --- a complete visit ---------------------------------------------------------------------------


def test_complete_visit_becomes_one_ticket_as_update_ticket_writes_it(branch, factory):
    ops = factory.complete_visit()
    visit_id = ops[0].entity_id
    outcomes = apply(branch, ops)
    assert results(outcomes) == [("applied", "")] * len(ops)

    ticket = ticket_of(branch, visit_id)
    assert Ticket.objects.count() == 1
    assert ticket.queue == branch.queue
    assert ticket.status == Ticket.RESOLVED_STATUS
    assert ticket.title == "Walk-in K-001: Statistical consultation"
    assert ticket.submitter_email == "siti@example.org"
    assert ticket.created == dt.datetime.fromisoformat(ops[0].payload["issued_at"])

    pst = ticket.pst
    assert pst.channel.code == Channel.WALK_IN
    assert pst.category.code == "konsultasi"
    assert pst.subject.code == "data"
    assert pst.origin_id == visit_id
    visit = pst.visit
    assert visit.queue_number == "K-001"
    assert visit.wait_seconds == 240 and visit.service_seconds == 900
    assert visit.outcome == Visit.Outcome.RESOLVED
    assert visit.received_at == RECEIVED
    assert visit.called_at == dt.datetime.fromisoformat(ops[2].payload["called_at"])
    assert visit.officer == "Budi Santoso" and visit.desk == "Meja 1"
    entry = GuestBookEntry.objects.get(visit=visit)
    assert entry.consent and entry.purpose == "Data kemiskinan kabupaten 2025"
    visitor = entry.visitor
    assert visitor == pst.visitor
    assert (visitor.id_last4, visitor.id_type) == ("0001", "ktp")
    assert visitor.id_hash == ops[1].payload["id_hash"]
    assert Rating.objects.get(ticket=ticket).overall == 4

    ours = history(ticket)
    opening = ours[0]
    assert (opening["title"], opening["public"], opening["new_status"]) == (
        "Ticket Opened",
        True,
        None,
    )
    assert opening["comment"] == ticket.description
    # Personal data stays in Visitor: no name, e-mail or phone in the timeline.
    text = " ".join(row["comment"] for row in ours)
    for personal in ("Siti", "siti@example.org", "081234567890"):
        assert personal not in text

    # The twin: the same steps through helpdesk's own update_ticket, on a ticket with the
    # same title. Everything update_ticket derives must be identical.
    twin = Ticket.objects.create(
        title=ticket.title, queue=branch.queue, description=ticket.description
    )
    with translation.override(branch.queue.locale):
        for row in ours[1:]:
            update_ticket(
                AnonymousUser(),
                twin,
                comment=row["comment"],
                public=row["public"],
                new_status=row["new_status"],
                time_spent=row["time_spent"],
            )
    twin.refresh_from_db()
    assert history(twin) == ours[1:]
    assert (twin.status, twin.resolution) == (ticket.status, ticket.resolution)
    resolved = ours[-1]
    assert resolved["title"] == f"{ticket.title} and Resolved"
    assert resolved["changes"] == [("Status", "Open", "Resolved")]
    assert resolved["time_spent"] == dt.timedelta(seconds=900)


def test_staff_ticket_page_renders_the_walkin_history(branch, factory, staff, client):
    ops = factory.complete_visit()
    apply(branch, ops)
    ticket = ticket_of(branch, ops[0].entity_id)
    client.force_login(staff)
    response = client.get(reverse("helpdesk:view", args=[ticket.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Walk-in K-001: Statistical consultation" in page
    assert "Called to desk Meja 1 after waiting 4 min." in page
    assert "Tabel kemiskinan diberikan." in page
    assert "Resolved" in page


def test_followup_dates_follow_the_branch_clock_but_never_pass_receipt(branch):
    # A branch clock two days fast: its times are stored as said on the visit, but the
    # timeline cannot run into the future nor out of order.
    factory = WalkinOps(start=RECEIVED + dt.timedelta(days=2))
    ops = factory.complete_visit()
    apply(branch, ops)
    ticket = ticket_of(branch, ops[0].entity_id)
    dates = list(ticket.followup_set.order_by("id").values_list("date", flat=True))
    assert all(date <= RECEIVED + dt.timedelta(seconds=1) for date in dates)
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    assert ticket.created <= RECEIVED
    visit = ticket.pst.visit
    assert visit.issued_at == dt.datetime.fromisoformat(ops[0].payload["issued_at"])
    assert visit.issued_at > RECEIVED


def test_visit_split_across_batches_continues_the_same_ticket(branch, factory):
    ops = factory.complete_visit()
    first, second = ops[:3], ops[3:]
    apply(branch, first)
    ticket = ticket_of(branch, ops[0].entity_id)
    assert ticket.status == Ticket.OPEN_STATUS
    assert ticket.followup_set.count() == 3
    apply(branch, second, RECEIVED + dt.timedelta(hours=1))
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == Ticket.RESOLVED_STATUS
    titles = [row["title"] for row in history(ticket)]
    assert titles[0] == "Ticket Opened" and titles[-1].endswith(" and Resolved")
    assert len(titles) == 6  # opened, guest book, called, served, note, resolved
    visit = ticket.pst.visit
    assert visit.received_at == RECEIVED  # when the visit itself reached central
    assert visit.served_at is not None and visit.finished_at is not None


def test_many_visits_in_one_batch_each_get_their_ticket(branch, factory):
    ops = factory.visits_batch(12, escalate_every=4)
    outcomes = apply(branch, ops)
    assert {o.result for o in outcomes} == {"applied"}
    assert Ticket.objects.filter(queue=branch.queue).count() == 12
    assert Visit.objects.filter(outcome=Visit.Outcome.ESCALATED).count() == 3
    assert Visit.objects.filter(outcome=Visit.Outcome.RESOLVED).count() == 9
    assert FollowUp.objects.count() == 12 * 6
    assert TicketChange.objects.count() == 9  # one status change per resolved visit
    # Defaults made per row (helpdesk's secret key for the public ticket link) differ per row.
    assert len(set(Ticket.objects.values_list("secret_key", flat=True))) == 12


# --- bad input never blocks the ops behind it ---------------------------------------------------


def test_invalid_ops_in_the_middle_are_rejected_and_the_others_apply(branch, factory):
    visit = factory.new_visit_id()
    ghost = factory.new_visit_id()
    good_created = factory.created(visit)
    bad_payload = factory.op(k.VISIT_CALLED, visit, {"desk": "Meja 1"})
    unknown_kind = factory.op("visit.teleported", visit, {})
    unknown_visit = factory.guestbook(ghost)
    bad_email = factory.guestbook(visit, email="not-an-email")
    bad_time = factory.op(
        k.VISIT_SERVED, visit, {"desk": "1", "officer": "", "started_at": "2026-02-30T10:00:00"}
    )
    duplicate = factory.op(k.VISIT_CREATED, visit, dict(good_created.payload))
    called = factory.called(visit)
    resolved = factory.resolved(visit)
    ops = [
        good_created,
        bad_payload,
        unknown_kind,
        unknown_visit,
        bad_email,
        bad_time,
        duplicate,
        called,
        resolved,
    ]
    outcomes = apply(branch, ops)
    assert results(outcomes) == [
        ("applied", ""),
        ("rejected", "invalid_payload"),
        ("rejected", "unknown_kind"),
        ("rejected", "unknown_entity"),
        ("rejected", "invalid_payload"),
        ("rejected", "invalid_payload"),
        ("rejected", "duplicate_entity"),
        ("applied", ""),
        ("applied", ""),
    ]
    details = {o.op_id: o.detail for o in outcomes}
    assert "called_at" in details[bad_payload.op_id]
    assert "visit.teleported" in details[unknown_kind.op_id]
    assert ghost in details[unknown_visit.op_id]
    assert "email" in details[bad_email.op_id] and "not-an-email" in details[bad_email.op_id]
    assert "started_at" in details[bad_time.op_id] and "2026-02-30" in details[bad_time.op_id]
    # The rejected ops saved nothing.
    assert Visitor.objects.count() == 0 and GuestBookEntry.objects.count() == 0
    assert Ticket.objects.count() == 1
    ticket = ticket_of(branch, visit)
    assert ticket.status == Ticket.RESOLVED_STATUS
    assert ticket.followup_set.count() == 3  # opened, called, resolved
    assert ticket.pst.visit.served_at is None


def test_unknown_service_code_is_rejected_with_the_value(branch, factory):
    from pst_helpdesk_ext.models import ServiceCategory

    ServiceCategory.objects.filter(code="rekomendasi").delete()
    op = factory.created(factory.new_visit_id(), service="rekomendasi")
    (outcome,) = apply(branch, [op])
    assert (outcome.result, outcome.code) == ("rejected", "unknown_service")
    assert "rekomendasi" in outcome.detail
    assert Ticket.objects.count() == 0


# --- guest book and visitors --------------------------------------------------------------------


def test_returning_visitor_is_recognised_by_id_hash_never_by_number(branch, factory):
    first, second = factory.new_visit_id(), factory.new_visit_id()
    same_person = "1222015505950002"
    apply(
        branch,
        [factory.created(first), factory.guestbook(first, id_number=same_person)],
    )
    apply(
        branch,
        [
            factory.created(second, 2),
            factory.guestbook(second, id_number=same_person, name="Siti A.", email=""),
        ],
    )
    assert Visitor.objects.count() == 1
    visitor = Visitor.objects.get()
    assert visitor.name == "Siti A."  # the latest guest book is what they told us last
    assert visitor.guestbook.count() == 2
    assert visitor.id_last4 == "0002" and visitor.masked_id.endswith("0002")
    # No field anywhere holds the full number.
    for row in Visitor.objects.values():
        assert same_person not in " ".join(str(v) for v in row.values())
    # No e-mail the second time: the second ticket has no submitter to write to.
    assert ticket_of(branch, second).submitter_email is None


def test_without_consent_the_visitor_is_not_written_to(branch, factory):
    visit = factory.new_visit_id()
    apply(branch, [factory.created(visit), factory.guestbook(visit, consent=False)])
    assert ticket_of(branch, visit).submitter_email is None
    assert GuestBookEntry.objects.get().consent is False


# --- live news only -----------------------------------------------------------------------------


def test_a_visit_that_ended_at_the_branch_sends_no_mail_but_announces_the_rating_hook(
    branch, factory, signals, django_capture_on_commit_callbacks
):
    Queue.objects.filter(pk=branch.queue_id).update(
        new_ticket_cc="queue@example.org", updated_ticket_cc="queue@example.org"
    )
    branch.queue.refresh_from_db()
    ops = factory.complete_visit()
    with django_capture_on_commit_callbacks(execute=True):
        apply(branch, ops)
    assert mail.outbox == []
    assert signals["update"] == [] and signals["new"] == []
    (finished,) = signals["finished"]
    assert finished["email"] == "siti@example.org"
    assert finished["ticket"] == ticket_of(branch, ops[0].entity_id)


def test_rating_hook_fires_when_the_email_arrives_after_the_resolution(
    branch, factory, signals, django_capture_on_commit_callbacks
):
    visit = factory.new_visit_id()
    with django_capture_on_commit_callbacks(execute=True):
        apply(branch, [factory.created(visit), factory.called(visit), factory.resolved(visit)])
    assert signals["finished"] == []  # resolved, but nobody to send a rating link to
    with django_capture_on_commit_callbacks(execute=True):
        apply(branch, [factory.guestbook(visit)])
    assert [f["email"] for f in signals["finished"]] == ["siti@example.org"]


def test_finished_visits_are_not_read_again_when_nobody_acts_on_them(
    branch, factory, django_capture_on_commit_callbacks
):
    # The rating link off (the default) and no receiver: nothing is announced after commit
    # (the batch's finished visits were read again for nobody, a query per batch).
    assert not visit_finished.has_listeners(Visit)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        apply(branch, factory.complete_visit()[:-1])  # resolved, with an e-mail, not rated
    assert callbacks == []
    with (
        override_settings(PST_HELPDESK={"RATING_LINK_WALK_IN": True}),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        apply(branch, factory.complete_visit()[:-1])
    assert len(callbacks) >= 1
    assert [m.to for m in mail.outbox] == [["siti@example.org"]]  # the rating link


def test_escalation_notifies_the_queue_exactly_once(
    branch, factory, signals, django_capture_on_commit_callbacks
):
    Queue.objects.filter(pk=branch.queue_id).update(new_ticket_cc="queue@example.org")
    branch.queue.refresh_from_db()
    ops = factory.complete_visit(escalate=True)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        apply(branch, ops)
    assert callbacks, "notifications wait for the commit"
    assert [m.to for m in mail.outbox] == [["queue@example.org"]]
    assert "K-001" in mail.outbox[0].subject
    ticket = ticket_of(branch, ops[0].entity_id)
    assert ticket.status == Ticket.OPEN_STATUS
    assert ticket.pst.visit.outcome == Visit.Outcome.ESCALATED
    assert ticket.pst.visit.follow_up == Visit.FollowUp.ZOOM
    (update,) = signals["update"]
    assert update["sender"] == INTAKE_SENDER
    escalation = update["followup"]
    assert escalation.ticket_id == ticket.pk and "Zoom" in escalation.comment
    assert FollowUp.objects.get(pk=escalation.pk).email_recipients == ["queue@example.org"]
    assert signals["finished"] == []  # follow-up pending: no rating link yet
    # The branch hears the ticket's state after the batch once (now central's); helpdesk's
    # signal for the escalation adds nothing to the feed.
    (echo,) = FeedItem.objects.filter(kind__startswith="ticket.")
    assert (echo.kind, echo.entity_id, echo.branch) == ("ticket.status", ops[0].entity_id, branch)
    assert echo.payload["owner"] == "central" and echo.payload["open"] is True
    # Re-delivering old steps of the visit later notifies nobody again.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        apply(branch, [factory.noted(ops[0].entity_id)])
    assert mail.outbox == []


# --- rating and complaint -----------------------------------------------------------------------


def test_one_rating_per_ticket(branch, factory):
    visit = factory.new_visit_id()
    outcomes = apply(
        branch,
        [factory.created(visit), factory.resolved(visit), factory.rating(visit, 3)],
    )
    assert results(outcomes)[-1] == ("applied", "")
    (again,) = apply(branch, [factory.rating(visit, 1)])
    assert (again.result, again.code) == ("rejected", "duplicate_rating")
    rating = Rating.objects.get()
    assert (rating.overall, rating.branch, rating.scores["U9"]) == (3, branch, 4)
    # A rating is its own record: the resolution still reads as the desk wrote it.
    assert "Tabel kemiskinan diberikan." in ticket_of(branch, visit).resolution


def test_complaint_opens_a_ticket_in_the_complaints_queue(
    branch, factory, signals, django_capture_on_commit_callbacks
):
    visit = factory.new_visit_id()
    apply(branch, [factory.created(visit), factory.guestbook(visit), factory.resolved(visit)])
    with django_capture_on_commit_callbacks(execute=True):
        # The visitor chose to be answered, at an address of their choice.
        (outcome,) = apply(
            branch, [factory.complaint(visit, tier=2, reply_to="siti.jawab@example.org")]
        )
    assert outcome.result == "applied"
    complaint = Complaint.objects.select_related("ticket__queue").get()
    assert complaint.ticket.queue.slug == pst_settings.COMPLAINTS_QUEUE
    assert complaint.about == ticket_of(branch, visit)
    assert (complaint.tier, complaint.lapor_ref, complaint.branch) == (2, "LAPOR-123", branch)
    assert complaint.ticket.description == "Antrian terlalu lama."
    assert complaint.ticket.submitter_email == "siti.jawab@example.org"
    assert complaint.ticket.pst.visitor == ticket_of(branch, visit).pst.visitor
    assert [s["ticket"] for s in signals["new"]] == [complaint.ticket]
    # The complainant hears the complaint was received (helpdesk's new-ticket mail).
    assert [m.to for m in mail.outbox] == [["siti.jawab@example.org"]]


def test_a_kiosk_complaint_is_anonymous_unless_the_visitor_gives_an_address(
    branch, factory, django_capture_on_commit_callbacks
):
    visit = factory.new_visit_id()
    apply(branch, [factory.created(visit), factory.guestbook(visit), factory.resolved(visit)])
    with django_capture_on_commit_callbacks(execute=True):
        (outcome,) = apply(branch, [factory.complaint(visit)])  # no reply_to: anonymous
    assert outcome.result == "applied"
    complaint = Complaint.objects.select_related("ticket__pst").get()
    assert complaint.ticket.description == "Antrian terlalu lama."
    assert not complaint.ticket.submitter_email
    assert complaint.ticket.pst.visitor is None
    assert mail.outbox == []  # nobody to write to, and the guest book's address is not used
    assert "siti@example.org" not in str(Complaint.objects.values().get())


def test_complaint_about_an_unknown_visit_is_rejected(branch, factory):
    (outcome,) = apply(branch, [factory.complaint(factory.new_visit_id())])
    assert (outcome.result, outcome.code) == ("rejected", "unknown_entity")
    assert Complaint.objects.count() == 0 and Ticket.objects.count() == 0


# --- ownership, not merging ---------------------------------------------------------------------


def test_branch_resolving_an_escalated_ticket_central_closed_is_a_note(branch, factory, staff):
    visit = factory.new_visit_id()
    apply(branch, [factory.created(visit), factory.called(visit), factory.escalated(visit)])
    ticket = ticket_of(branch, visit)
    update_ticket(staff, ticket, comment="Data dikirim lewat surel.", new_status=4, public=True)
    feed_before = FeedItem.objects.filter(kind="ticket.status").count()

    (outcome,) = apply(branch, [factory.resolved(visit)])
    assert (outcome.result, outcome.code) == ("noted", "")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.CLOSED_STATUS  # never a silent status change
    note = ticket.followup_set.order_by("-date").first()
    assert note.new_status is None and not note.public
    assert "Branch 1222 reported" in note.comment and "escalated" in note.comment
    assert not TicketChange.objects.filter(followup=note).exists()
    visit_row = ticket.pst.visit
    assert visit_row.outcome == Visit.Outcome.ESCALATED  # the visit record is left alone
    # The branch is told the real status, so its view converges.
    status_items = FeedItem.objects.filter(kind="ticket.status", branch=branch).order_by("id")
    assert status_items.count() == feed_before + 1
    assert status_items.last().payload["status"] == Ticket.CLOSED_STATUS
    assert status_items.last().entity_id == visit


def test_escalated_ticket_is_centrals_even_while_still_open(branch, factory):
    visit = factory.new_visit_id()
    apply(branch, [factory.created(visit), factory.escalated(visit)])
    (no_show,) = apply(branch, [factory.no_show(visit)])
    (resolved,) = apply(branch, [factory.resolved(visit)])
    assert (no_show.result, resolved.result) == ("noted", "noted")
    assert ticket_of(branch, visit).status == Ticket.OPEN_STATUS


def test_branch_op_on_a_waiting_ticket_central_closed_is_a_note(branch, factory, staff):
    visit = factory.new_visit_id()
    apply(branch, [factory.created(visit), factory.called(visit)])
    ticket = ticket_of(branch, visit)
    update_ticket(staff, ticket, comment="Duplikat.", new_status=Ticket.DUPLICATE_STATUS)
    (outcome,) = apply(branch, [factory.resolved(visit)])
    assert outcome.result == "noted"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.DUPLICATE_STATUS
    assert ticket.pst.visit.outcome == Visit.Outcome.WAITING


def test_the_rule_is_deterministic(branch, staff):
    # Same ops, same central changes, two branches' worth of tickets: the same results.
    def scenario(seed: int) -> list[tuple[str, str]]:
        factory = WalkinOps(seed=seed)
        visit = factory.new_visit_id()
        apply(branch, [factory.created(visit, seed), factory.escalated(visit)])
        update_ticket(staff, ticket_of(branch, visit), comment="x", new_status=2)
        return results(
            apply(branch, [factory.resolved(visit), factory.no_show(visit), factory.noted(visit)])
        )

    assert scenario(1) == scenario(2) == [("noted", ""), ("noted", ""), ("applied", "")]


def test_no_show_closes_the_ticket_and_is_final(branch, factory):
    visit = factory.new_visit_id()
    outcomes = apply(
        branch,
        [
            factory.created(visit),
            factory.called(visit),
            factory.no_show(visit),
            factory.called(visit, recall=True),
            factory.resolved(visit),
        ],
    )
    assert results(outcomes) == [("applied", "")] * 4 + [("noted", "")]
    ticket = ticket_of(branch, visit)
    changes = [row["changes"] for row in history(ticket) if row["changes"]]
    assert changes == [[("Status", "Open", "Closed")]]
    assert ticket.status == Ticket.CLOSED_STATUS
    assert ticket.resolution.startswith("Did not come forward")
    visit_row = ticket.pst.visit
    assert visit_row.outcome == Visit.Outcome.NO_SHOW
    assert visit_row.wait_seconds == 240  # the wait is measured to the first call
    note = history(ticket)[-1]
    assert "already ended" in note["comment"] and note["new_status"] is None


def test_a_ticket_central_closed_and_reopened_stays_centrals(branch, factory, staff):
    visit = factory.new_visit_id()
    apply(branch, [factory.created(visit), factory.called(visit)])
    ticket = ticket_of(branch, visit)
    update_ticket(staff, ticket, comment="Salah antrian.", new_status=Ticket.CLOSED_STATUS)
    update_ticket(staff, ticket, comment="Dibuka lagi.", new_status=Ticket.REOPENED_STATUS)
    (outcome,) = apply(branch, [factory.resolved(visit)])
    assert outcome.result == "noted"
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.REOPENED_STATUS


# --- online tickets through helpdesk's own forms ------------------------------------------------


def test_ticket_opened_by_helpdesk_gets_its_pst_row(branch):
    ticket = Ticket.objects.create(title="Permintaan data", queue=branch.queue)
    new_ticket_done.send(sender="PublicTicketForm", ticket=ticket)
    pst = PSTTicket.objects.get(ticket=ticket)
    assert (pst.channel.code, pst.branch, pst.origin_id) == (Channel.WEB, branch, "")
    assert record_online_ticket(ticket, sender="PublicTicketForm") == pst  # idempotent
    other = Ticket.objects.create(title="Intake", queue=branch.queue)
    assert record_online_ticket(other, sender=INTAKE_SENDER) is None


def test_intake_records_no_applied_ops_itself(branch, factory):
    # The ledger is the sync store's; the intake only reports outcomes.
    apply(branch, factory.complete_visit())
    assert AppliedOp.objects.count() == 0


# --- the guest book arriving late or corrected --------------------------------------------------


def test_a_guest_book_arriving_after_the_visit_links_its_visitor(branch, factory):
    visit = factory.new_visit_id()
    apply(branch, [factory.created(visit), factory.called(visit)])
    apply(branch, [factory.guestbook(visit)], RECEIVED + dt.timedelta(minutes=5))
    pst = ticket_of(branch, visit).pst
    entry = GuestBookEntry.objects.get(visit__origin_id=visit)
    assert pst.visitor == entry.visitor and pst.visitor.name == "Siti Aminah"
    assert pst.ticket.submitter_email == "siti@example.org"
    # A corrected guest book (another person) and a complaint in one later batch: the
    # complaint (whose writer asked for an answer, so it is not anonymous) is the corrected
    # visitor's.
    apply(
        branch,
        [
            factory.guestbook(visit, id_number="1222015203990004"),
            factory.complaint(visit, reply_to="ani@example.org"),
        ],
        RECEIVED + dt.timedelta(minutes=9),
    )
    complaint = Complaint.objects.select_related("ticket__pst__visitor").get()
    assert complaint.ticket.pst.visitor.id_last4 == "0004"
    assert ticket_of(branch, visit).pst.visitor == complaint.ticket.pst.visitor


def test_a_corrected_guest_book_replaces_the_entry(branch, factory):
    visit = factory.new_visit_id()
    apply(branch, [factory.created(visit), factory.guestbook(visit)])
    outcomes = apply(
        branch,
        [factory.guestbook(visit, id_number="1222014107850003", name="Rina", purpose="Peta")],
    )
    assert results(outcomes) == [("applied", "")]
    entry = GuestBookEntry.objects.get()
    assert (entry.purpose, entry.visitor.name, entry.visitor.id_last4) == ("Peta", "Rina", "0003")
    assert ticket_of(branch, visit).pst.visitor == entry.visitor
    assert Visitor.objects.count() == 2  # the first person stays a visitor of record


# --- the bulk writer writes what bulk_create would ----------------------------------------------


def test_the_row_inserter_stores_exactly_what_bulk_create_stores(branch):
    """Same values through Django's bulk_create and through the intake's inserter: every column
    reads back the same (datetimes, durations, JSON, dates, UUIDs, NULLs), on either database."""
    from pst_helpdesk_ext.models import AppliedOp, ServiceCategory
    from pst_helpdesk_ext.services.bulk_insert import NewRow, RowInserter, insert_rows

    ticket = Ticket.objects.create(title="t", queue=branch.queue)
    when = dt.datetime(2026, 3, 17, 9, 30, 15, 123456, tzinfo=WIB)
    followup = {
        "ticket": ticket,
        "date": when,
        "title": "t and Resolved",
        "comment": "ok",
        "public": True,
        "new_status": 3,
        "time_spent": dt.timedelta(minutes=15, seconds=3),
        "email_recipients": [],
    }
    (theirs,) = FollowUp.objects.bulk_create([FollowUp(**followup)])
    ours = NewRow(**followup)
    insert_rows(FollowUp, [ours])
    service = ServiceCategory.objects.get(code="konsultasi")
    pst_a = PSTTicket.objects.create(ticket=ticket, channel=Channel.objects.get(code="walk_in"))
    pst_b = PSTTicket.objects.create(
        ticket=Ticket.objects.create(title="u", queue=branch.queue), channel=pst_a.channel
    )
    visit = {
        "branch": branch,
        "origin_id": "v",
        "service": service,
        "queue_number": "K-001",
        "service_day": dt.date(2026, 3, 17),
        "issued_at": when,
        "called_at": None,
        "wait_seconds": 240,
        "outcome": "waiting",
        "received_at": when + dt.timedelta(hours=1),
    }
    (visit_theirs,) = Visit.objects.bulk_create([Visit(pst_ticket=pst_a, **visit)])
    visit_ours = NewRow(pst_ticket=pst_b, **{**visit, "origin_id": "w"})
    insert_rows(Visit, [visit_ours])
    op_id = "019cf94e-ffb0-70e7-856e-8af7177219d3"
    applied = AppliedOp(
        branch=branch,
        op_id=op_id,
        seq=1,
        kind="visit.created",
        entity_id="v",
        result="applied",
        applied_at=when,
    )

    def stored(model, pk, *skip):
        row = model.objects.filter(pk=pk).values().get()
        return {k: v for k, v in row.items() if k not in ("id", *skip)}

    (applied_theirs,) = AppliedOp.objects.bulk_create([applied])
    applied_row = stored(AppliedOp, applied_theirs.pk)
    AppliedOp.objects.all().delete()  # (branch, op_id) is unique: make room for ours
    (applied_ours,) = RowInserter(
        AppliedOp,
        ["branch", "op_id", "seq", "kind", "entity_id", "result", "code", "detail", "applied_at"],
    ).insert([(branch.pk, op_id, 1, "visit.created", "v", "applied", "", "", when)], returning=True)

    assert stored(FollowUp, ours.pk) == stored(FollowUp, theirs.pk)
    assert stored(Visit, visit_ours.pk, "pst_ticket_id", "origin_id") == stored(
        Visit, visit_theirs.pk, "pst_ticket_id", "origin_id"
    )
    assert stored(AppliedOp, applied_ours) == applied_row
    assert str(applied_row["op_id"]) == op_id and applied_row["applied_at"] == when


def test_the_row_inserter_refuses_columns_of_different_lengths(branch):
    """PostgreSQL's UNNEST would pad a short column with NULLs (a feed row with no branch goes
    to every branch): a caller's mistake is refused before anything is written."""
    from pst_helpdesk_ext.models import FeedItem
    from pst_helpdesk_ext.services.bulk_insert import RowInserter

    rows = RowInserter(FeedItem, ["branch", "kind", "entity_id", "payload", "created"])
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    before = FeedItem.objects.count()
    with pytest.raises(ValueError, match="columns of different lengths"):
        rows.insert_columns(
            [[branch.pk], ["k1", "k2"], ["e1", "e2"], [{}, {}], [at, at]], returning=True
        )
    with pytest.raises(ValueError, match="5 columns expected"):
        rows.insert_columns([[branch.pk], ["k1"]], returning=True)
    assert FeedItem.objects.count() == before


def test_rows_written_together_read_back_as_rows_written_one_table_at_a_time(branch):
    """``insert_together`` (PostgreSQL: ids reserved up front, each table's rows by one
    COPY) stores what ``insert_rows`` stores table by table: parents, the children that
    point at them by the reserved ids, rows nobody reads the ids of, and a table whose count
    was not reserved (written at once). On SQLite it writes each at once, as outside."""
    from pst_helpdesk_ext.models import ServiceCategory
    from pst_helpdesk_ext.services.bulk_insert import NewRow, insert_rows
    from pst_helpdesk_ext.services.bulk_together import insert_together

    channel = Channel.objects.get(code="walk_in")
    service = ServiceCategory.objects.get(code="konsultasi")
    when = dt.datetime(2026, 3, 17, 9, 30, 15, 123456, tzinfo=WIB)

    def rows(tag: str) -> dict[str, list[NewRow]]:
        tickets = [
            NewRow(
                title=f"{tag}{n}",
                queue=branch.queue,
                created=when,
                modified=when,
                status=1,
                description="d",
                priority=3,
                submitter_email=None,
                resolution=None,
            )
            for n in range(3)
        ]
        psts = [
            NewRow(ticket=t, branch=branch, channel=channel, origin_id=t.title, created=when)
            for t in tickets
        ]
        visits = [
            NewRow(
                pst_ticket=p,
                branch=branch,
                origin_id=f"{tag}{n}",
                service=service,
                queue_number=f"K-{n:03}",
                service_day=when.date(),
                issued_at=when,
                called_at=None,
                served_at=None,
                finished_at=None,
                desk="",
                officer="",
                wait_seconds=n,
                service_seconds=None,
                outcome="waiting",
                follow_up="",
                referred_to=None,
                received_at=when,
            )
            for n, p in enumerate(psts)
        ]
        followups = [
            NewRow(ticket=t, date=when, title=t.title, comment="c", public=True) for t in tickets
        ]
        return {"tickets": tickets, "psts": psts, "visits": visits, "followups": followups}

    def write(batch: dict[str, list[NewRow]]) -> None:
        insert_rows(Ticket, batch["tickets"])
        insert_rows(PSTTicket, batch["psts"])
        insert_rows(Visit, batch["visits"])
        insert_rows(FollowUp, batch["followups"])

    alone, together = rows("a"), rows("b")
    write(alone)
    # FollowUp reserved for 2 rows but 3 are written: those go in at once, with their own ids.
    with insert_together({Ticket: 3, PSTTicket: 3, Visit: 3, FollowUp: 2}):
        write(together)

    def stored(batch: dict[str, list[NewRow]]) -> list[tuple]:
        out = []
        for visit in batch["visits"]:
            row = Visit.objects.select_related("pst_ticket__ticket").get(pk=visit.pk)
            assert row.pst_ticket_id == visit.pst_ticket.pk
            assert row.pst_ticket.ticket_id == visit.pst_ticket.ticket.pk
            ticket = row.pst_ticket.ticket
            titles = FollowUp.objects.filter(ticket=ticket).values_list("title", flat=True)
            titles = [title[1:] for title in titles]
            out.append((row.queue_number, row.wait_seconds, ticket.title[1:], titles))
        pks = sorted(f.pk for f in batch["followups"])
        assert pks == sorted(FollowUp.objects.filter(pk__in=pks).values_list("pk", flat=True))
        return out

    assert stored(together) == stored(alone)
    assert len({t.pk for t in together["tickets"]} | {t.pk for t in alone["tickets"]}) == 6
