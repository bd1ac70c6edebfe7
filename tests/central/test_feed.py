"""The down-feed: rows written with the change itself, in commit order, without personal data."""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time

import msgspec
import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from helpdesk.models import FollowUp, KBCategory, KBItem, Ticket
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.models import Channel, FeedHead, FeedItem, ServiceCategory
from pst_helpdesk_ext.services import feed
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from sync.recovery import FACTS_KEY, FactsError, VisitFacts, decode_facts
from tests.central.test_intake import RECEIVED, WalkinOps

ON_POSTGRES = os.environ.get("PST_TEST_DATABASE_URL", "").startswith("postgres")


@pytest.fixture
def branch(db):
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("pst", "pst@example.org", "pw", is_staff=True)


def rows(**filters) -> list[tuple[str, str, dict]]:
    return [
        (item.kind, item.entity_id, item.payload)
        for item in FeedItem.objects.filter(**filters).order_by("id")
    ]


# --- reference data, broadcast ------------------------------------------------------------------


@pytest.mark.django_db
def test_service_categories_go_to_every_branch_with_both_names():
    parent = ServiceCategory.objects.get(code="konsultasi")
    category = ServiceCategory.objects.create(
        code="microdata",
        kind=ServiceCategory.Kind.SUBJECT,
        name_id="Data mikro",
        name_en="Microdata",
        parent=parent,
        order=4,
    )
    ((kind, entity_id, payload),) = rows(branch__isnull=True)
    assert (kind, entity_id) == ("category.upsert", str(category.pk))
    assert payload == {
        "id": category.pk,
        "code": "microdata",
        "kind": "subject",
        "parent": "konsultasi",
        "name_id": "Data mikro",
        "name_en": "Microdata",
        "queue_letter": "",
        "order": 4,
        "active": True,
    }
    category.save()  # nothing changed: nothing new to tell
    assert FeedItem.objects.count() == 1
    category.name_en = "Micro data"
    category.save()
    assert rows()[-1][2]["name_en"] == "Micro data"
    pk = category.pk
    category.delete()
    assert rows()[-1] == ("category.delete", str(pk), {"id": pk})


@pytest.mark.django_db
def test_channels_go_down_too():
    channel = Channel.objects.get(code="whatsapp")
    channel.name_id = "WhatsApp PST"
    channel.save()
    ((kind, _entity, payload),) = rows()
    assert kind == "channel.upsert"
    assert payload["name_id"] == "WhatsApp PST" and payload["name_en"] == "WhatsApp"


@pytest.mark.django_db
def test_only_public_knowledge_base_goes_down():
    category = KBCategory.objects.create(
        name="Data", title="Tanya data", slug="data", description="Pertanyaan tentang data"
    )
    item = KBItem.objects.create(
        category=category, title="Inflasi", question="Apa itu inflasi?", answer="Kenaikan harga"
    )
    assert [r[0] for r in rows()] == ["kb_category.upsert", "kb.upsert"]
    assert rows()[-1][2]["answer"] == "Kenaikan harga"
    item.votes += 1  # helpdesk's vote view saves the item: no news for branches
    item.save()
    assert FeedItem.objects.count() == 2
    item.enabled = False
    item.save()
    assert rows()[-1] == ("kb.delete", str(item.pk), {"id": item.pk})
    item.enabled = True
    item.save()
    category.public = False
    category.save()
    assert rows()[-1] == ("kb_category.delete", str(category.pk), {"id": category.pk})
    item.answer = "Perubahan harga"
    item.save()
    assert rows()[-1][0] == "kb.delete"  # an item of a private category stays off the branches
    category.public = True
    category.save()
    assert [r[0] for r in rows()[-2:]] == ["kb_category.upsert", "kb.upsert"]
    assert rows()[-1][2]["answer"] == "Perubahan harga"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_feed_row_lives_and_dies_with_its_change():
    before = FeedItem.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        channel = Channel.objects.get(code="email")
        channel.name_id = "Surat elektronik"
        channel.save()
        assert FeedItem.objects.count() == before + 1
        raise RuntimeError("the change fails after the feed row was written")
    assert FeedItem.objects.count() == before
    assert Channel.objects.get(code="email").name_id == "Surel"


# --- tickets that came from a branch ------------------------------------------------------------


def walkin_ticket(branch, *, escalate: bool = True) -> tuple[Ticket, str]:
    factory = WalkinOps()
    ops = factory.complete_visit(escalate=escalate)
    apply_walkin_ops(branch, ops, RECEIVED)
    return Ticket.objects.get(pst__origin_id=ops[0].entity_id), ops[0].entity_id


def test_central_status_changes_and_public_replies_go_to_their_branch(branch, staff):
    ticket, visit = walkin_ticket(branch)
    other = create_branch("1201", "Nias")
    # The batch told the branch the ticket's state once (escalated: central's now).
    ((kind, entity_id, payload),) = rows(kind__startswith="ticket.")
    assert (kind, entity_id, payload["owner"]) == ("ticket.status", visit, "central")
    start = feed.head()
    update_ticket(staff, ticket, comment="Catatan internal.", public=False)
    assert rows(kind__startswith="ticket.", id__gt=start) == []  # private: staff only
    update_ticket(staff, ticket, comment="Tabel sudah kami kirim.", public=True, new_status=3)
    (status, reply) = FeedItem.objects.filter(kind__startswith="ticket.", id__gt=start).order_by(
        "id"
    )
    assert (status.branch, reply.branch) == (branch, branch)
    assert status.kind == "ticket.status" and status.entity_id == visit
    assert status.payload["status"] == Ticket.RESOLVED_STATUS
    assert status.payload["open"] is False and status.payload["owner"] == "central"
    assert status.payload["ticket_id"] == ticket.pk
    assert reply.kind == "ticket.reply" and reply.payload["comment"] == "Tabel sudah kami kirim."
    assert reply.payload["followup_id"] == FollowUp.objects.latest("id").pk
    assert not FeedItem.objects.filter(branch=other).exists()
    # Never personal data: the visitor's name, e-mail, phone and ID digits stay at central.
    assert_no_personal_data(str([status.payload, reply.payload]))


def test_a_branch_ticket_central_changes_becomes_centrals_in_the_feed(branch, staff):
    ticket, _visit = walkin_ticket(branch, escalate=False)  # resolved at the branch
    (echo,) = FeedItem.objects.filter(kind="ticket.status")
    assert echo.payload["owner"] == "branch" and echo.payload["open"] is False
    update_ticket(staff, ticket, comment="Dibuka lagi.", new_status=Ticket.REOPENED_STATUS)
    (status,) = FeedItem.objects.filter(kind="ticket.status", id__gt=echo.pk)
    assert status.payload["owner"] == "central" and status.payload["open"] is True


def assert_no_personal_data(text: str, *more: str) -> None:
    """The visitor's name, e-mail, phone and ID digits: none in ``text``. The ID's last four
    digits count only standing alone: a timestamp's microseconds (11:46:02.300013) or an id
    (10001) may hold them by chance, as they once did and failed a run."""
    for personal in ("Siti", "siti@example.org", "081234567890", *more):
        assert personal not in text
    assert not re.search(r"(?<!\d)0001(?!\d)", text)


def test_visitor_mail_and_other_tickets_stay_off_the_feed(branch, staff):
    ticket, _visit = walkin_ticket(branch)
    start = feed.head()
    # A reply the visitor e-mailed in (helpdesk's mail import records a message id).
    followup = FollowUp.objects.create(
        ticket=ticket, title="Re", comment="Terima kasih", public=True, message_id="<m@x>"
    )
    feed.publish_followup(followup, sender="create_object_from_email_message")
    plain = Ticket.objects.create(title="Not a walk-in", queue=branch.queue)
    update_ticket(staff, plain, comment="Jawaban", public=True, new_status=3)
    assert not FeedItem.objects.filter(kind__startswith="ticket.", id__gt=start).exists()


# --- reading, snapshots and retention -----------------------------------------------------------


@pytest.mark.django_db
def test_the_feed_starts_once():
    assert feed.head() == 0
    first = feed.ensure_started()
    assert first == feed.ensure_started() == feed.head() > 0
    assert rows() == [("feed.start", "", {})]


def test_a_cursor_below_the_start_marker_gets_a_page_the_branch_can_read(branch):
    # Central's database restored to an empty feed whose id sequence had moved on: the branch's
    # cursor is below the new marker. The page skips the marker (no entity: the codec refuses
    # such an item) and still moves the cursor past it.
    from pst_helpdesk_ext.services.sync_store import DjangoCentralStore
    from sync.central import _changes
    from sync.codec import Changes, decode, encode

    feed.publish([feed.Entry(None, "category.upsert", "1", {"v": 1})])
    cursor = feed.head()  # where the branch got to
    FeedItem.objects.all().delete()
    start = feed.ensure_started()
    assert start > cursor
    page = DjangoCentralStore().changes(branch.code, cursor, 100)
    assert not page.snapshot and page.items == () and page.to_cursor == start
    assert page.from_cursor == cursor
    assert isinstance(decode(encode(_changes(page))), Changes)


@pytest.mark.django_db
def test_prune_keeps_the_retention_window_and_remembers_what_went():
    start = feed.ensure_started()
    feed.publish([feed.Entry(None, "category.upsert", "1", {"v": 1})])
    FeedItem.objects.update(created=timezone.now() - dt.timedelta(days=91))
    kept = feed.publish([feed.Entry(None, "category.upsert", "1", {"v": 2})])[0]
    assert feed.prune() == 2
    assert list(FeedItem.objects.values_list("id", flat=True)) == [kept]
    assert FeedHead.objects.get().pruned_through == kept - 1
    assert feed.needs_snapshot(start, feed.head())
    assert not feed.needs_snapshot(kept - 1, feed.head())
    assert feed.prune() == 0  # nothing old left
    assert feed.prune(keep_days=0, now=timezone.now() + dt.timedelta(seconds=1)) == 1


@pytest.mark.django_db
def test_retention_is_a_setting(settings):
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "SYNC_FEED_RETENTION_DAYS": 5}
    assert feed.retention_days() == 5
    feed.publish([feed.Entry(None, "channel.upsert", "9", {})])
    FeedItem.objects.update(created=timezone.now() - dt.timedelta(days=6))
    assert feed.prune() == 1


# --- ids never skip a late commit (PostgreSQL, two real transactions) ---------------------------


def _backend_pid() -> int:
    connection.ensure_connection()
    return int(connection.connection.info.backend_pid)


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.02)


@pytest.mark.skipif(not ON_POSTGRES, reason="needs two connections to one database: PostgreSQL")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_late_committing_writer_is_never_skipped_on_postgresql():
    """Writer A takes a feed id and holds its transaction open; writer B arrives meanwhile. B must
    wait for A's commit, so B's id is larger and no reader can see B's row while A's is missing."""
    start = feed.ensure_started()
    ids: dict[str, int] = {}
    pids: dict[str, int] = {}
    errors: list[BaseException] = []
    a_inserted, a_release, b_ready = threading.Event(), threading.Event(), threading.Event()

    def writer_a() -> None:
        try:
            with transaction.atomic():
                ids["a"] = feed.publish([feed.Entry(None, "channel.upsert", "a", {})])[0]
                a_inserted.set()
                assert a_release.wait(timeout=60)
        except BaseException as exc:
            errors.append(exc)
            a_inserted.set()
        finally:
            connection.close()

    def writer_b() -> None:
        try:
            pids["b"] = _backend_pid()
            b_ready.set()
            with transaction.atomic():
                ids["b"] = feed.publish([feed.Entry(None, "channel.upsert", "b", {})])[0]
        except BaseException as exc:
            errors.append(exc)
            b_ready.set()
        finally:
            connection.close()

    thread_a = threading.Thread(target=writer_a)
    thread_a.start()
    assert a_inserted.wait(timeout=60) and not errors
    thread_b = threading.Thread(target=writer_b)
    thread_b.start()
    assert b_ready.wait(timeout=60) and not errors
    try:
        _wait_until(lambda: _waiting_on_a_lock(pids["b"]), "writer B blocked on the feed lock")
        assert "b" not in ids
        # A reader now sees neither row: the head is still what it was.
        assert feed.head() == start
        store_page = list(FeedItem.objects.filter(id__gt=start).values_list("id", flat=True))
        assert store_page == []
    finally:
        a_release.set()
        thread_a.join(timeout=60)
        thread_b.join(timeout=60)
    assert not errors, errors
    assert start < ids["a"] < ids["b"]
    assert list(FeedItem.objects.filter(id__gt=start).values_list("entity_id", flat=True)) == [
        "a",
        "b",
    ]


# --- a visit the branch lost (docs/protocol.md 7.5) ---------------------------------------------


def test_a_branch_owned_ticket_row_carries_the_desk_facts_a_branch_needs_to_take_it_back(branch):
    factory = WalkinOps()
    visit = factory.new_visit_id()
    ops = [
        factory.created(visit, number=7),
        factory.guestbook(visit),
        factory.called(visit),
    ]
    apply_walkin_ops(branch, ops, RECEIVED)
    status = FeedItem.objects.filter(kind="ticket.status", entity_id=visit).latest("id")
    assert status.payload["owner"] == "branch"
    facts = decode_facts(status.payload)
    assert facts == VisitFacts(
        service="konsultasi",
        queue_number="K-007",
        service_day="2026-03-17",
        issued_at=facts.issued_at,
        stage="called",
        outcome="",
        desk="Meja 1",
    )
    issued = dt.datetime.fromisoformat(ops[0].payload["issued_at"])
    assert dt.datetime.fromisoformat(facts.issued_at) == issued
    # Desk facts only: nothing of the guest book goes down.
    assert_no_personal_data(str(status.payload), ops[1].payload["id_hash"])
    # A snapshot (a branch restored from an old backup) carries them too.
    snapshot = {
        entry.entity_id: entry.payload
        for _feed_id, entry in feed.snapshot_entries(branch, cursor=0, up_to=feed.head())
        if entry.kind == "ticket.status"
    }
    again = decode_facts(snapshot[visit])
    assert dt.datetime.fromisoformat(again.issued_at) == issued  # the same moment, stored in UTC
    assert msgspec.structs.replace(again, issued_at=facts.issued_at) == facts


def test_a_finished_branch_ticket_says_how_it_ended_and_a_central_one_carries_no_facts(branch):
    _ticket, visit = walkin_ticket(branch, escalate=False)  # resolved at the branch
    status = FeedItem.objects.filter(kind="ticket.status", entity_id=visit).latest("id")
    facts = decode_facts(status.payload)
    assert (facts.stage, facts.outcome) == ("finished", "resolved")
    other = WalkinOps(seed=2).complete_visit(escalate=True)
    apply_walkin_ops(create_branch("1201", "Nias"), other, RECEIVED)
    escalated = other[0].entity_id
    row = FeedItem.objects.filter(kind="ticket.status", entity_id=escalated).latest("id")
    assert row.payload["owner"] == "central" and FACTS_KEY not in row.payload
    with pytest.raises(FactsError, match="no visit facts"):
        decode_facts(row.payload)
