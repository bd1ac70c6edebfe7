"""The BranchStore contract (sync/store.py) on the agent's SQLite store."""

import pytest

from branch_agent import services
from branch_agent.models import (
    KnowledgeArticle,
    KnowledgeCategory,
    OutboxOp,
    ServiceCategory,
    SyncState,
    TicketUpdate,
    Visit,
)
from branch_agent.outbox import as_op
from branch_agent.sync_store import SqliteBranchStore
from sync.store import ChangesPage, FeedEntry, Rejection
from tests.agent.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return SqliteBranchStore()


def make_visits(n):
    return [services.issue_number("konsultasi", now=at(8, i)).visit for i in range(n)]


def test_pending_ops_come_oldest_first_and_limited(store):
    make_visits(3)
    ops = store.pending_ops(2)
    assert [op.seq for op in ops] == [1, 2]
    assert store.pending_count() == 3
    assert store.next_seq() == 4


def test_a_window_refill_returns_the_stored_ops_whole_old_and_new(store):
    make_visits(2)
    window = store.pending_ops(1)
    make_visits(2)
    store.acknowledge([window[0].op_id], [], hwm_seq=1)
    stored = [as_op(row) for row in OutboxOp.objects.filter(state="pending").order_by("seq")]
    assert store.pending_ops(10) == stored  # the op read before and the new ones, same fields
    store.renumber_pending(after_seq=10)
    assert [(op.seq, op.payload) for op in store.pending_ops(10)] == [
        (11 + n, op.payload) for n, op in enumerate(stored)
    ]


def test_acknowledge_takes_ops_out_of_the_outbox_keeps_them_marked_and_raises_seq(store):
    make_visits(3)
    first, second, third = store.pending_ops(10)
    store.acknowledge(
        [first.op_id, "00000000-0000-7000-8000-000000000000"],
        [Rejection(second.op_id, "invalid_payload", "queue number taken")],
        hwm_seq=10,
    )
    assert [op.op_id for op in store.pending_ops(10)] == [third.op_id]
    rejected = OutboxOp.objects.get(op_id=second.op_id)
    assert (rejected.state, rejected.reject_code) == ("rejected", "invalid_payload")
    accepted = OutboxOp.objects.get(op_id=first.op_id)  # kept to send again (protocol 6.6)
    assert accepted.state == "acked" and accepted.done_at is not None
    assert store.next_seq() == 11
    view = services.sync_view()
    assert view.pending_ops == 1 and view.rejected[0].message == "queue number taken"
    assert view.last_sync_at is not None


def test_acknowledge_twice_changes_nothing(store):
    make_visits(2)
    first, _ = store.pending_ops(10)
    store.acknowledge([first.op_id], [], hwm_seq=1)
    store.acknowledge([first.op_id], [], hwm_seq=1)
    assert store.pending_count() == 1 and store.next_seq() == 3


def test_raise_next_seq_never_lowers(store):
    make_visits(1)
    store.raise_next_seq(41)
    assert store.next_seq() == 42
    store.raise_next_seq(5)
    assert store.next_seq() == 42
    visit = services.issue_number("konsultasi", now=at(9)).visit
    assert OutboxOp.objects.get(entity_id=str(visit.pk)).seq == 42


def test_renumber_pending_keeps_order_and_the_next_op_follows(store):
    make_visits(3)
    before = [op.op_id for op in store.pending_ops(10)]
    store.renumber_pending(after_seq=1)  # overlapping range: must not trip the unique seq
    ops = store.pending_ops(10)
    assert [op.op_id for op in ops] == before
    assert [op.seq for op in ops] == [2, 3, 4]
    assert store.next_seq() == 5
    store.renumber_pending(after_seq=100)
    assert [op.seq for op in store.pending_ops(10)] == [101, 102, 103]


def test_resend_acknowledged_puts_held_ops_back_in_order_and_moves_the_outbox_down(store):
    """Central was restored to mark 1; it had acknowledged seqs 2..4 (accepted 2 and 4 and
    rejected 3, all still held here); 5 and 6 wait."""
    make_visits(6)
    ops = store.pending_ops(10)
    store.acknowledge([ops[0].op_id, ops[1].op_id, ops[3].op_id], [], hwm_seq=2)
    store.acknowledge([], [Rejection(ops[2].op_id, "invalid_payload", "bad")], hwm_seq=4)
    assert store.next_seq() == 7
    assert store.resend_acknowledged(after_seq=1) == 3
    pending = store.pending_ops(10)
    assert [op.op_id for op in pending] == [op.op_id for op in ops[1:]]
    assert [op.seq for op in pending] == [2, 3, 4, 5, 6]  # contiguous from central's mark
    back = OutboxOp.objects.get(op_id=ops[2].op_id)
    assert (back.state, back.reject_code, back.done_at) == ("pending", "", None)
    assert OutboxOp.objects.get(op_id=ops[0].op_id).state == "acked"  # central still has seq 1
    assert store.next_seq() == 7
    visit = services.issue_number("konsultasi", now=at(9)).visit
    assert OutboxOp.objects.get(entity_id=str(visit.pk)).seq == 7


def test_resend_acknowledged_after_retention_sends_what_is_left_and_lowers_the_next_seq(store):
    """Accepted ops older than the local retention period are gone (the housekeeping deleted
    them with the old personal data): only the rest goes back, renumbered from central's mark."""
    make_visits(4)
    ops = store.pending_ops(10)
    store.acknowledge([op.op_id for op in ops[:3]], [], hwm_seq=3)
    OutboxOp.objects.filter(op_id__in=[ops[0].op_id, ops[1].op_id]).update(done_at=at(8, day=1))
    services.purge_personal_data(days=7, now=at(12, day=17))
    assert list(OutboxOp.objects.order_by("seq").values_list("seq", "state")) == [
        (3, "acked"),
        (4, "pending"),
    ]
    assert store.resend_acknowledged(after_seq=0) == 1
    assert [(op.op_id, op.seq) for op in store.pending_ops(10)] == [
        (ops[2].op_id, 1),
        (ops[3].op_id, 2),
    ]
    assert store.next_seq() == 3  # goes down: central will never see 3..4 from before


def test_central_loss_is_kept_for_staff_until_marked_handled(store):
    assert services.sync_view().central_lost is None
    store.record_central_lost(first_seq=2, last_seq=4, resent=1, unrecoverable=2)
    lost = services.sync_view().as_json()["central_lost"]
    assert {k: lost[k] for k in ("first_seq", "last_seq", "resent", "unrecoverable")} == {
        "first_seq": 2,
        "last_seq": 4,
        "resent": 1,
        "unrecoverable": 2,
    }
    services.dismiss_central_lost()
    assert services.sync_view().as_json()["central_lost"] is None


def test_resend_acknowledged_with_an_empty_outbox_sends_everything_held_again(store):
    make_visits(3)
    sent = [op.op_id for op in store.pending_ops(10)]
    store.acknowledge(sent, [], hwm_seq=3)
    assert store.resend_acknowledged(after_seq=0) == 3
    again = store.pending_ops(10)
    assert [op.op_id for op in again] == sent and [op.seq for op in again] == [1, 2, 3]
    assert store.next_seq() == 4


def category(feed_id, central_id, code, letter="K", active=True, name="Konsultasi Statistik"):
    return FeedEntry(
        feed_id,
        "category.upsert",
        str(central_id),
        {
            "id": central_id,
            "code": code,
            "kind": "service",
            "parent": None,
            "name_id": name,
            "name_en": "Statistical consultation",
            "queue_letter": letter,
            "order": 1,
            "active": active,
        },
    )


def kb_items(feed_id):
    return [
        FeedEntry(
            feed_id,
            "kb_category.upsert",
            "3",
            {
                "id": 3,
                "slug": "inflasi",
                "name": "Inflasi",
                "title": "Inflasi",
                "description": "",
                "language": "id",
            },
        ),
        FeedEntry(
            feed_id + 1,
            "kb.upsert",
            "9",
            {
                "id": 9,
                "category": 3,
                "title": "Cara membaca IHK",
                "question": "Apa itu IHK?",
                "answer": "Indeks Harga Konsumen ...",
                "order": 0,
                "updated": None,
            },
        ),
    ]


def test_a_page_applies_items_and_moves_the_cursor_once(store):
    page = ChangesPage(0, 12, (category(10, 1, "konsultasi", letter="Q"), *kb_items(11)), False)
    store.apply_changes(page)
    assert store.feed_cursor() == 12
    assert ServiceCategory.objects.get(code="konsultasi").queue_letter == "Q"
    assert KnowledgeArticle.objects.get().category.name == "Inflasi"
    # Replaying the page (or an older one) changes nothing, and the cursor never goes back.
    ServiceCategory.objects.filter(code="konsultasi").update(queue_letter="K")
    store.apply_changes(page)
    store.apply_changes(ChangesPage(0, 5, (), False))
    assert ServiceCategory.objects.get(code="konsultasi").queue_letter == "K"
    assert store.feed_cursor() == 12
    assert services.issue_number("konsultasi", now=at(8)).visit.queue_number == "K-001"


def test_a_snapshot_replaces_reference_data_and_a_stale_one_is_ignored(store):
    store.apply_changes(ChangesPage(0, 12, (category(10, 1, "konsultasi"), *kb_items(11)), False))
    store.apply_changes(ChangesPage(0, 50, (), False, snapshot=True))  # made for cursor 0: stale
    assert KnowledgeArticle.objects.count() == 1
    snapshot = ChangesPage(
        12, 60, (category(60, 2, "perpustakaan", letter="P"),), False, snapshot=True
    )
    store.apply_changes(snapshot)
    assert store.feed_cursor() == 60
    assert KnowledgeArticle.objects.count() == 0 and KnowledgeCategory.objects.count() == 0
    assert not ServiceCategory.objects.get(code="konsultasi").active  # retired, visits keep it
    with pytest.raises(services.Refused):
        services.issue_number("konsultasi", now=at(9))


def test_ticket_updates_reach_the_visit_and_are_kept_once(store):
    visit = services.issue_number("konsultasi", now=at(8)).visit
    status = FeedEntry(
        20,
        "ticket.status",
        str(visit.pk),
        {
            "ticket_id": 77,
            "status": 3,
            "status_label": "Terselesaikan",
            "open": False,
            "at": "2026-03-18T09:00:00+07:00",
        },
    )
    reply = FeedEntry(
        21,
        "ticket.reply",
        str(visit.pk),
        {
            "ticket_id": 77,
            "followup_id": 5,
            "comment": "Data terlampir.",
            "at": "2026-03-18T09:00:00+07:00",
        },
    )
    unknown = FeedEntry(22, "something.new", "x", {"anything": 1})
    store.apply_changes(ChangesPage(0, 22, (status, reply, unknown), False))
    store.apply_changes(ChangesPage(0, 22, (status, reply), False, snapshot=False))
    store.apply_changes(ChangesPage(22, 30, (status, reply), False, snapshot=True))
    visit.refresh_from_db()
    assert (visit.central_status, visit.central_open, visit.central_ticket_id) == (
        "Terselesaikan",
        False,
        77,
    )
    assert TicketUpdate.objects.filter(visit=visit).count() == 2
    assert services.sync_view().central_updates == 2
    assert SyncState.objects.get().feed_cursor == 30
    # The branch's own outcome echoed back by central updates the visit but is no news.
    echo = FeedEntry(
        31,
        "ticket.status",
        str(visit.pk),
        {
            "ticket_id": 77,
            "status": 4,
            "status_label": "Ditutup",
            "open": False,
            "owner": "branch",
            "at": "2026-03-18T10:00:00+07:00",
        },
    )
    store.apply_changes(ChangesPage(30, 31, (echo,), False))
    visit.refresh_from_db()
    assert visit.central_status == "Ditutup"
    assert TicketUpdate.objects.filter(visit=visit).count() == 2


def status_entry(feed_id, visit_id, status, label, *, owner="central", opened=False, ticket=77):
    return FeedEntry(
        feed_id,
        "ticket.status",
        visit_id,
        {
            "ticket_id": ticket,
            "status": status,
            "status_label": label,
            "open": opened,
            "owner": owner,
            "at": f"2026-03-18T09:{status:02d}:00+07:00",
        },
    )


def reply_entry(feed_id, visit_id, followup_id, comment):
    return FeedEntry(
        feed_id,
        "ticket.reply",
        visit_id,
        {"ticket_id": 77, "followup_id": followup_id, "comment": comment, "at": None},
    )


def test_one_page_naming_a_visit_many_times_applies_its_rows_in_order(store):
    visit = services.issue_number("konsultasi", now=at(8)).visit
    vid = str(visit.pk)
    page = (
        status_entry(20, vid, 1, "Terbuka", opened=True),
        reply_entry(21, vid, 5, "Sedang disiapkan."),
        status_entry(22, vid, 1, "Terbuka", opened=True),  # the same news again: kept once
        reply_entry(23, vid, 5, "A second copy of reply 5 is not written."),
        status_entry(24, vid, 3, "Terselesaikan"),
        status_entry(25, vid, 4, "Ditutup", owner="branch"),  # the branch's own: no news
    )
    store.apply_changes(ChangesPage(0, 25, page, False))
    visit.refresh_from_db()
    assert (visit.central_status, visit.central_open, visit.central_ticket_id) == (
        "Ditutup",
        False,
        77,
    )
    news = TicketUpdate.objects.filter(visit=visit).order_by("feed_id")
    assert [(u.feed_id, u.kind, u.status, u.text) for u in news] == [
        (20, "ticket.status", "Terbuka", ""),
        (21, "ticket.reply", "", "Sedang disiapkan."),
        (24, "ticket.status", "Terselesaikan", ""),
    ]


def test_a_snapshot_applied_again_writes_no_news_and_keeps_the_visits(store):
    first, second = make_visits(2)
    items = (
        status_entry(40, str(first.pk), 3, "Terselesaikan"),
        status_entry(41, str(second.pk), 2, "Dibuka kembali", opened=True, owner="branch"),
        reply_entry(42, str(first.pk), 8, "Data terlampir."),
    )
    store.apply_changes(ChangesPage(0, 42, items, False, snapshot=True))
    before = {v.pk: (v.central_status, v.central_open) for v in (first, second)}
    for visit in (first, second):
        visit.refresh_from_db()
    shown = {v.pk: (v.central_status, v.central_open) for v in (first, second)}
    assert shown == {first.pk: ("Terselesaikan", False), second.pk: ("Dibuka kembali", True)}
    assert before != shown
    news = set(TicketUpdate.objects.values_list("key", "feed_id"))
    assert len(news) == 2
    store.apply_changes(ChangesPage(42, 50, items, False, snapshot=True))
    for visit in (first, second):
        visit.refresh_from_db()
    assert {v.pk: (v.central_status, v.central_open) for v in (first, second)} == shown
    assert set(TicketUpdate.objects.values_list("key", "feed_id")) == news
    assert store.feed_cursor() == 50


def test_rows_of_unknown_or_malformed_visit_ids_are_kept_as_news_without_a_visit(store):
    visit = services.issue_number("konsultasi", now=at(8)).visit
    unknown = "0190f0c2-7d1e-7c3a-9b6f-2f1c0d9e8a77"  # a visit of another PC, or long deleted
    page = (
        status_entry(60, unknown, 3, "Terselesaikan"),
        reply_entry(61, unknown, 9, "Balasan."),
        status_entry(62, "not-a-uuid", 3, "Terselesaikan"),
        reply_entry(63, "not-a-uuid", 10, "Balasan lain."),
        status_entry(64, str(visit.pk), 3, "Terselesaikan"),
    )
    store.apply_changes(ChangesPage(0, 64, page, False))
    orphans = TicketUpdate.objects.filter(visit=None).order_by("feed_id")
    assert [(u.feed_id, u.entity_id) for u in orphans] == [
        (60, unknown),
        (61, unknown),
        (62, "not-a-uuid"),
        (63, "not-a-uuid"),
    ]
    assert TicketUpdate.objects.get(visit=visit).feed_id == 64
    visit.refresh_from_db()
    assert visit.central_status == "Terselesaikan"


def test_a_page_of_many_visits_is_applied_in_a_bounded_number_of_queries(
    store, django_assert_max_num_queries
):
    service = ServiceCategory.objects.get(code="konsultasi")
    visits = Visit.objects.bulk_create(
        Visit(
            service=service,
            service_day=at(8).date(),
            number=n,
            queue_number=f"K-{n:03d}",
            issued_at=at(8),
        )
        for n in range(1, 601)
    )
    page = []
    for n, visit in enumerate(visits):
        page.append(status_entry(100 + 2 * n, str(visit.pk), 4, "Ditutup", owner="branch"))
        page.append(reply_entry(101 + 2 * n, str(visit.pk), n + 1, f"Balasan {n}."))
    # Two rows for each of 600 visits; row at a time this was over 2,400 queries.
    with django_assert_max_num_queries(30):
        store.apply_changes(ChangesPage(0, 100 + 2 * len(visits), tuple(page), False))
    assert Visit.objects.filter(central_status="Ditutup", central_ticket_id=77).count() == 600
    assert Visit.objects.filter(central_updated_at=None).count() == 0
    assert TicketUpdate.objects.filter(kind="ticket.reply", visit__isnull=False).count() == 600
