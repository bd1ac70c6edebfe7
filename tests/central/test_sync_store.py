"""DjangoCentralStore: the central side's durable sync state on the real database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import logging
import os

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from helpdesk.models import FollowUp, KBCategory, KBItem, Ticket
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.models import AppliedOp, BranchSyncState, Channel, FeedItem, Visit
from pst_helpdesk_ext.services import feed
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.sync_store import DjangoCentralStore
from sync.ops import Op
from sync.store import BatchResult, BranchRefused, CentralStore, Rejection, StaleSession
from tests.central.test_intake import RECEIVED, WalkinOps

NOW = RECEIVED.timestamp()


@pytest.fixture
def branch(db):
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta")


@pytest.fixture
def other_branch(db):
    return create_branch("1201", "Nias", "Asia/Jakarta")


class Server:
    """The store as the central core drives it: HELLO opens a session, PUSHes carry it."""

    def __init__(self) -> None:
        self.store = DjangoCentralStore()
        self.sessions: dict[str, int] = {}

    def hello(self, code: str, next_seq: int = 1, **facts) -> object:
        args = {
            "boot_id": "boot",
            "next_seq": next_seq,
            "feed_cursor": 0,
            "agent_version": "0.1.0",
            "branch_time": NOW,
            "now": NOW,
        }
        args.update(facts)
        welcome = self.store.hello(code, **args)
        self.sessions[code] = welcome.session
        return welcome

    def apply_batch(self, code: str, ops, *, now: float = NOW) -> BatchResult:
        if code not in self.sessions:
            self.hello(code)
        return self.store.apply_batch(code, ops, now=now, session=self.sessions[code])

    def changes(self, code: str, cursor: int, limit: int):
        return self.store.changes(code, cursor, limit)


@pytest.fixture
def store() -> Server:
    return Server()


@pytest.fixture
def factory() -> WalkinOps:
    return WalkinOps()


@pytest.fixture
def staff(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("pst", "pst@example.org", "pw", is_staff=True)


def table_counts() -> dict[str, int]:
    """Row counts of every table the intake and the store write."""
    models = [m for m in apps.get_models() if m._meta.app_label in ("helpdesk", "pst_helpdesk_ext")]
    return {m._meta.label: m.objects.count() for m in models}


def test_it_implements_the_central_store_protocol_exactly():
    for name in ("hello", "apply_batch", "changes"):
        ours = inspect.signature(getattr(DjangoCentralStore, name))
        contract = inspect.signature(getattr(CentralStore, name))
        assert [(p.name, p.kind) for p in ours.parameters.values()] == [
            (p.name, p.kind) for p in contract.parameters.values()
        ], name


# --- apply_batch --------------------------------------------------------------------------------


def test_batch_is_applied_recorded_and_raises_the_high_water_mark(store, branch, factory):
    ops = factory.visits_batch(3)
    result = store.apply_batch("1222", ops, now=NOW)
    assert result == BatchResult(
        accepted=tuple(op.op_id for op in ops), rejected=(), hwm_seq=ops[-1].seq
    )
    assert AppliedOp.objects.filter(branch=branch, result="applied").count() == len(ops)
    state = BranchSyncState.objects.get(branch=branch)
    assert (state.hwm_seq, state.applied_count, state.rejected_count) == (len(ops), len(ops), 0)
    assert state.last_seen_at == RECEIVED
    assert Ticket.objects.filter(queue=branch.queue).count() == 3


def test_resending_the_same_batch_changes_nothing(store, branch, factory):
    ops = factory.complete_visit()
    ops += [factory.op("visit.unknown", ops[0].entity_id, {}), *factory.complete_visit()]
    first = store.apply_batch("1222", ops, now=NOW)
    assert len(first.accepted) == len(ops) - 1 and len(first.rejected) == 1
    before = table_counts()
    state_before = BranchSyncState.objects.values().get(branch=branch)
    again = store.apply_batch("1222", ops, now=NOW + 60)
    assert again.accepted == first.accepted and again.rejected == first.rejected
    assert again.hwm_seq == first.hwm_seq
    assert table_counts() == before
    state_after = BranchSyncState.objects.values().get(branch=branch)
    assert {k: v for k, v in state_after.items() if k != "last_seen_at"} == {
        k: v for k, v in state_before.items() if k != "last_seen_at"
    }
    # Overlapping batches (a retry that grew) apply only the new part.
    more = factory.complete_visit()
    result = store.apply_batch("1222", ops[-3:] + more, now=NOW + 120)
    assert result.accepted == tuple(op.op_id for op in more + ops[-3:])  # fresh, then seen
    assert Ticket.objects.count() == 3


def test_dedup_is_on_op_id_not_seq(store, branch, factory):
    # A branch restored from an old backup holds ops it already sent (same op ids) and makes new
    # ones with seq numbers central has used (new op ids). The old ones are answered as
    # recorded; the new ones wait, deferred, until the branch renumbers them at WELCOME.
    first = factory.visits_batch(2)
    store.apply_batch("1222", first, now=NOW)
    hwm = first[-1].seq
    restored = WalkinOps(seq=first[6].seq, seed=99)  # its outbox resumes inside the used range
    new_visit = restored.complete_visit()
    resend = first[3:6]
    result = store.apply_batch("1222", resend + new_visit[:1], now=NOW + 60)
    assert result.accepted == tuple(op.op_id for op in resend)
    assert result.rejected == () and result.hwm_seq == hwm  # new_visit[0] deferred
    assert Ticket.objects.count() == 2
    # A deferred op leaves no trace in the ledger: it is recorded when it applies.
    assert not AppliedOp.objects.filter(op_id=new_visit[0].op_id).exists()
    assert AppliedOp.objects.filter(branch=branch).count() == len(first)
    welcome = store.hello("1222", next_seq=new_visit[0].seq)
    assert welcome.hwm_seq == hwm
    renumbered = [dataclasses_replace_seq(op, hwm + 1 + i) for i, op in enumerate(new_visit)]
    result = store.apply_batch("1222", renumbered, now=NOW + 120)
    assert result.accepted == tuple(op.op_id for op in new_visit)
    assert result.hwm_seq == hwm + len(new_visit)
    assert Ticket.objects.count() == 3


def dataclasses_replace_seq(op: Op, seq: int) -> Op:
    import msgspec

    return msgspec.structs.replace(op, seq=seq)


def test_a_gap_defers_the_rest_of_the_batch(store, branch, factory):
    ops = factory.complete_visit()
    result = store.apply_batch("1222", ops[2:], now=NOW)  # seqs 1-2 still on their way
    assert result == BatchResult(accepted=(), rejected=(), hwm_seq=0)
    assert Ticket.objects.count() == 0 and AppliedOp.objects.count() == 0
    result = store.apply_batch("1222", ops[:2], now=NOW)
    assert result.accepted == (ops[0].op_id, ops[1].op_id)
    result = store.apply_batch("1222", ops, now=NOW)
    assert set(result.accepted) == {op.op_id for op in ops} and result.hwm_seq == len(ops)
    assert Ticket.objects.get().status == Ticket.RESOLVED_STATUS


def test_a_replaced_session_is_fenced_off(store, branch, factory):
    old = store.hello("1222").session
    new = store.hello("1222").session
    assert new > old
    with pytest.raises(StaleSession):
        store.store.apply_batch("1222", factory.complete_visit(), now=NOW, session=old)
    assert AppliedOp.objects.count() == 0
    assert BranchSyncState.objects.get(branch=branch).session == new


def test_a_batch_tells_the_branch_the_state_of_each_ticket_it_changed(store, branch, staff):
    """One ticket.status row per ticket whose status or owner the batch changed (its state after
    the batch), and one for an op applied as a note: a branch restored from a backup reads them
    from its old cursor and converges."""
    factory = WalkinOps()
    resolved = factory.complete_visit()
    escalated = factory.complete_visit(escalate=True)
    waiting = factory.new_visit_id()
    opened = [factory.created(waiting), factory.called(waiting)]
    store.apply_batch("1222", resolved + escalated + opened, now=NOW)

    def told() -> list[tuple[str, int, str]]:
        rows = FeedItem.objects.filter(kind="ticket.status", branch=branch).order_by("id")
        return [(r.entity_id, r.payload["status"], r.payload["owner"]) for r in rows]

    assert told() == [
        (resolved[0].entity_id, Ticket.RESOLVED_STATUS, "branch"),
        (escalated[0].entity_id, Ticket.OPEN_STATUS, "central"),
        (waiting, Ticket.OPEN_STATUS, "branch"),
    ]
    before = len(told())
    store.apply_batch("1222", [factory.served(waiting), factory.noted(waiting)], now=NOW + 60)
    assert len(told()) == before  # no status or owner changed: nothing to tell
    ticket = Ticket.objects.get(pst__origin_id=waiting)
    update_ticket(staff, ticket, comment="Duplikat.", new_status=Ticket.DUPLICATE_STATUS)
    store.apply_batch("1222", [factory.resolved(waiting)], now=NOW + 120)  # noted
    assert told()[-2:] == [
        (waiting, Ticket.DUPLICATE_STATUS, "central"),  # central's own change (update_ticket)
        (waiting, Ticket.DUPLICATE_STATUS, "central"),  # the note: the state stands
    ]


def test_rejections_are_recorded_returned_again_and_counted(store, branch, factory):
    visit = factory.new_visit_id()
    ops = [
        factory.created(visit),
        factory.op("visit.called", visit, {"desk": ""}),
        factory.guestbook(factory.new_visit_id()),
        factory.resolved(visit),
    ]
    result = store.apply_batch("1222", ops, now=NOW)
    assert result.accepted == (ops[0].op_id, ops[3].op_id)
    assert [(r.op_id, r.code) for r in result.rejected] == [
        (ops[1].op_id, "invalid_payload"),
        (ops[2].op_id, "unknown_entity"),
    ]
    assert all(r.message for r in result.rejected)
    rows = AppliedOp.objects.filter(result="rejected").order_by("seq")
    assert [(row.seq, row.code) for row in rows] == [(2, "invalid_payload"), (3, "unknown_entity")]
    again = store.apply_batch("1222", ops[1:3], now=NOW + 1)
    assert again.rejected == result.rejected and again.accepted == ()
    state = BranchSyncState.objects.get(branch=branch)
    assert (state.applied_count, state.rejected_count, state.hwm_seq) == (2, 2, 4)


def test_noted_ops_count_as_accepted(store, branch, factory, staff):
    visit = factory.new_visit_id()
    store.apply_batch("1222", [factory.created(visit), factory.escalated(visit)], now=NOW)
    ticket = Ticket.objects.get()
    update_ticket(staff, ticket, comment="Selesai lewat Zoom.", new_status=3, public=True)
    late = factory.resolved(visit)
    result = store.apply_batch("1222", [late], now=NOW + 60)
    assert result == BatchResult(accepted=(late.op_id,), rejected=(), hwm_seq=late.seq)
    assert FeedItem.objects.filter(kind="ticket.status", entity_id=visit).exists()
    assert AppliedOp.objects.get(op_id=late.op_id).result == "noted"


def test_a_failing_batch_rolls_back_whole_and_acknowledges_nothing(store, branch, factory):
    store.apply_batch("1222", factory.complete_visit(), now=NOW)
    before = table_counts()
    hwm = BranchSyncState.objects.get(branch=branch).hwm_seq
    # Central misconfigured (the walk-in channel gone): an error, not a rejection of the ops.
    FeedItem.objects.all().delete()
    Channel.objects.filter(code=Channel.WALK_IN).update(code="walk_in_renamed")
    with pytest.raises(Exception, match="walk_in"):
        store.apply_batch("1222", factory.complete_visit(), now=NOW + 60)
    assert table_counts() == {**before, "pst_helpdesk_ext.FeedItem": 0}
    assert BranchSyncState.objects.get(branch=branch).hwm_seq == hwm


def test_branches_are_separate(store, branch, other_branch):
    a, b = WalkinOps(seed=1), WalkinOps(seed=2)
    ops_a, ops_b = a.complete_visit(), b.complete_visit()
    store.apply_batch("1222", ops_a, now=NOW)
    store.apply_batch("1201", ops_b, now=NOW)
    assert AppliedOp.objects.filter(branch=other_branch).count() == len(ops_b)
    assert Ticket.objects.filter(queue=other_branch.queue).count() == 1
    # The same op id from another branch is that branch's op (the identity is the transport's).
    copy = dataclasses_replace_seq(ops_a[0], ops_b[-1].seq + 1)
    assert store.apply_batch("1201", [copy], now=NOW).accepted == (copy.op_id,)
    assert AppliedOp.objects.filter(op_id=ops_a[0].op_id).count() == 2


def test_unknown_and_deactivated_branches_are_refused(store, branch, factory):
    with pytest.raises(BranchRefused, match="9999"):
        store.hello("9999")
    with pytest.raises(BranchRefused):
        store.store.apply_batch("9999", factory.complete_visit(), now=NOW, session=1)
    session = store.hello("1222").session
    branch.active = False
    branch.save()
    with pytest.raises(BranchRefused, match="deactivated"):
        store.store.apply_batch("1222", factory.complete_visit(), now=NOW, session=session)
    with pytest.raises(BranchRefused, match="deactivated"):
        store.changes("1222", 0, 10)
    assert AppliedOp.objects.count() == 0
    assert BranchRefused.code == "refused"


def test_a_branch_without_sync_state_gets_one(store, branch, factory):
    BranchSyncState.objects.filter(branch=branch).delete()
    assert store.hello("1222").session == 1
    result = store.apply_batch("1222", factory.complete_visit(), now=NOW)
    assert BranchSyncState.objects.get(branch=branch).hwm_seq == result.hwm_seq


def test_apply_batch_uses_a_constant_number_of_queries(store, branch):
    factory = WalkinOps()
    store.hello("1222")

    def queries_for(visits: int) -> int:
        ops = factory.visits_batch(visits, escalate_every=5)
        with CaptureQueriesContext(connection) as captured:
            result = store.apply_batch("1222", ops, now=NOW)
        assert len(result.accepted) == len(ops)
        return len(captured)

    small, large = queries_for(20), queries_for(100)
    if connection.vendor == "sqlite":
        # SQLite binds at most 999 parameters per statement, so Django splits big bulk writes
        # into chunks: a few more statements for 5x the rows, never one per visit.
        assert large - small <= 25
    else:
        assert large == small
    assert large < 60


def test_on_postgresql_a_batch_copies_each_tables_new_rows_without_savepoints(store, branch):
    """How a batch writes on PostgreSQL: each table's new rows by one binary COPY (ids reserved
    up front in one statement), no INSERT of them, no savepoint of the intake's nor of the feed
    writer's."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite writes each table at once: it has no round trips to save")
    store.hello("1222")
    ops = WalkinOps().visits_batch(20, escalate_every=5)
    with CaptureQueriesContext(connection) as captured:
        result = store.apply_batch("1222", ops, now=NOW)
    assert len(result.accepted) == len(ops)
    statements = [query["sql"] for query in captured.captured_queries]
    tables = ["helpdesk_ticket", "helpdesk_followup", "helpdesk_ticketchange"]
    tables += [f"pst_helpdesk_ext_{name}" for name in ("visit", "guestbookentry", "rating")]
    assert not [sql for sql in statements if any(f'INSERT INTO "{t}" ' in sql for t in tables)]
    for table in tables:
        copies = [sql for sql in statements if sql.startswith(f'COPY "{table}" (')]
        assert len(copies) == 1 and copies[0].endswith("FROM STDIN (FORMAT BINARY)"), table
    # One savepoint: the store's own transaction, which a test runs inside its own.
    assert len([sql for sql in statements if sql.startswith("SAVEPOINT")]) == 1
    assert (Visit.objects.count(), FollowUp.objects.count()) == (20, 120)


def test_a_copy_the_database_refuses_raises_djangos_error_and_leaves_nothing(branch):
    """The store tells transient faults from poison ops by Django's exception classes: a COPY
    that fails must raise them too, never psycopg's own, and write nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    from django.db import DataError, IntegrityError, transaction

    from pst_helpdesk_ext.services.bulk_together import copy_rows

    before = Ticket.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():  # title is NOT NULL
        copy_rows(connection, "helpdesk_ticket", ["title"], ["varchar"], [[None]])
    # Binary COPY would wrap an integer too large for its column (2**31 -> -2**31): refused as
    # the cast of the INSERT it replaced refused it.
    columns, types = ["title", "priority"], ["varchar", "integer"]
    with pytest.raises(DataError, match="priority"), transaction.atomic():
        copy_rows(connection, "helpdesk_ticket", columns, types, [["a", "b"], [3, 2**31]])
    assert Ticket.objects.count() == before


def test_apply_batch_of_100_visits_stays_under_a_fixed_query_budget(
    store, branch, django_assert_max_num_queries
):
    ops = WalkinOps().visits_batch(100, escalate_every=10)
    store.hello("1222")
    with django_assert_max_num_queries(60):
        store.apply_batch("1222", ops, now=NOW)
    assert Visit.objects.count() == 100
    assert FollowUp.objects.count() == 600


# --- hello --------------------------------------------------------------------------------------


def test_hello_records_the_branch_and_flags_clock_skew(store, branch, factory, caplog):
    store.apply_batch("1222", factory.complete_visit(), now=NOW)
    with caplog.at_level(logging.WARNING, logger="pst.sync"):
        welcome = store.hello(
            "1222",
            boot_id="boot-1",
            next_seq=8,
            feed_cursor=3,
            agent_version="0.1.0",
            branch_time=NOW - 3600,
        )
    assert welcome.hwm_seq == 7
    assert welcome.feed_head == feed.head()
    state = BranchSyncState.objects.get(branch=branch)
    assert (state.last_boot_id, state.agent_version, state.feed_cursor) == ("boot-1", "0.1.0", 3)
    assert state.clock_skew_seconds == -3600
    assert state.last_seen_at == RECEIVED
    assert "1222" in caplog.text and "-3600" in caplog.text


def test_hello_within_the_skew_limit_is_quiet(store, branch, caplog):
    with caplog.at_level(logging.WARNING, logger="pst.sync"):
        store.hello("1222", branch_time=NOW + 90)
    assert caplog.text == ""
    assert BranchSyncState.objects.get(branch=branch).clock_skew_seconds == 90


# --- changes ------------------------------------------------------------------------------------


def publish(*entries):
    return feed.publish([feed.Entry(*entry) for entry in entries])


def test_changes_pages_through_broadcast_and_own_items_only(store, branch, other_branch):
    start = feed.ensure_started()
    publish(
        (None, "category.upsert", "1", {"n": 1}),
        (branch, "ticket.status", "v1", {"status": 2}),
        (other_branch, "ticket.status", "v2", {"status": 3}),
        (None, "channel.upsert", "2", {"n": 2}),
        (branch, "ticket.reply", "v1", {"comment": "ok"}),
    )
    first = store.changes("1222", start, 2)
    assert [i.kind for i in first.items] == ["category.upsert", "ticket.status"]
    assert first.more and not first.snapshot and first.from_cursor == start
    assert first.to_cursor == first.items[-1].feed_id
    second = store.changes("1222", first.to_cursor, 2)
    assert [i.kind for i in second.items] == ["channel.upsert", "ticket.reply"]
    third = store.changes("1222", second.to_cursor, 2)
    assert third.items == () and not third.more and third.to_cursor == feed.head()
    other = store.changes("1201", start, 10)
    assert [i.entity_id for i in other.items if i.kind == "ticket.status"] == ["v2"]
    assert other.to_cursor == feed.head()


def test_a_new_branch_gets_a_snapshot_then_the_feed(store, branch, factory, staff):
    kb = KBCategory.objects.create(
        name="Data", title="Data", slug="data", description="Tanya jawab data"
    )
    KBItem.objects.create(category=kb, title="Inflasi", question="Apa?", answer="Perubahan harga")
    secret = KBCategory.objects.create(
        name="Internal", title="Internal", slug="internal", description="-", public=False
    )
    KBItem.objects.create(category=secret, title="Rahasia", question="?", answer="!")
    visit = factory.new_visit_id()
    store.apply_batch("1222", [factory.created(visit), factory.escalated(visit)], now=NOW)
    page = store.changes("1222", 0, 2)
    assert page.snapshot and not page.more
    assert page.to_cursor == feed.head() > 0
    kinds = [item.kind for item in page.items]
    assert kinds.count("category.upsert") == 7 and kinds.count("channel.upsert") == 4
    kb_titles = [item.payload["title"] for item in page.items if item.kind == "kb.upsert"]
    assert kb_titles == ["Inflasi"]
    (status,) = [item for item in page.items if item.kind == "ticket.status"]
    assert status.entity_id == visit and status.payload["open"] is True
    # Each item carries the id of its newest row (the head for data no row ever carried).
    echo = FeedItem.objects.get(kind="ticket.status", entity_id=visit)
    assert status.feed_id == echo.pk
    assert {i.feed_id for i in page.items if i.kind == "channel.upsert"} == {page.to_cursor}
    konsultasi = next(i for i in page.items if i.payload.get("code") == "konsultasi")
    assert konsultasi.payload["name_id"] == "Konsultasi Statistik"
    assert konsultasi.payload["name_en"] == "Statistical consultation"
    # Idempotent: the same snapshot again.
    assert store.changes("1222", 0, 2) == page
    # Then the feed carries on from the snapshot's cursor.
    update_ticket(staff, Ticket.objects.get(), comment="Dijadwalkan.", public=True)
    after = store.changes("1222", page.to_cursor, 10)
    assert not after.snapshot
    assert [item.kind for item in after.items] == ["ticket.reply"]


def test_a_cursor_below_the_pruned_ids_gets_a_snapshot(store, branch, staff, factory):
    start = feed.ensure_started()
    visit = factory.new_visit_id()
    store.apply_batch("1222", [factory.created(visit), factory.escalated(visit)], now=NOW)
    ticket = Ticket.objects.get()
    update_ticket(staff, ticket, comment="Lama.", public=True)
    FeedItem.objects.update(created=RECEIVED - dt.timedelta(days=200))
    update_ticket(staff, ticket, comment="Baru.", public=True, new_status=3)
    assert feed.prune(now=RECEIVED) == 3  # the marker, the batch's ticket state, the old reply
    page = store.changes("1222", start, 10)
    assert page.snapshot
    replies = [i.payload["comment"] for i in page.items if i.kind == "ticket.reply"]
    assert replies == ["Baru."]  # what retention kept
    (status,) = [i for i in page.items if i.kind == "ticket.status"]
    assert status.payload["status"] == Ticket.RESOLVED_STATUS
    # A cursor at or above the pruned mark reads the feed as usual.
    normal = store.changes("1222", page.to_cursor - 1, 10)
    assert not normal.snapshot


def test_a_cursor_above_the_head_gets_a_snapshot(store, branch):
    head = feed.ensure_started()
    page = store.changes("1222", head + 50, 10)
    assert page.snapshot and page.to_cursor == head


def test_changes_and_hello_answer_plain_values(store, branch):
    page = store.changes("1222", 0, 10)
    assert dataclasses.is_dataclass(page)
    for item in page.items:
        assert isinstance(item.payload, dict)
    rejection = Rejection("x", "invalid_payload", "m")
    assert dataclasses.asdict(rejection) == {
        "op_id": "x",
        "code": "invalid_payload",
        "message": "m",
    }


def test_ops_arrive_as_the_codec_decodes_them(store, branch, factory):
    # Ops come off the wire as msgspec structs with plain-dict payloads.
    import msgspec

    ops = factory.complete_visit()
    wire = msgspec.msgpack.encode(ops)
    decoded = msgspec.msgpack.decode(wire, type=list[Op])
    result = store.apply_batch("1222", decoded, now=NOW)
    assert len(result.accepted) == len(ops)


# --- two server processes, one branch (PostgreSQL, real concurrent transactions) ----------------

ON_POSTGRES = os.environ.get("PST_TEST_DATABASE_URL", "").startswith("postgres")


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.skipif(not ON_POSTGRES, reason="needs two connections to one database: PostgreSQL")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_servers_apply_one_branchs_batches_one_after_the_other_on_postgresql():
    """Server A is inside a batch for branch 1222 when server B gets the next batch (or a
    re-send) of the same branch: B waits for A's commit on the branch's lock, then applies only
    what is new, in seq order; with a lock timeout it gives up as "unavailable" instead."""
    import threading
    import time

    from django.db import transaction

    from sync.store import StoreUnavailable

    create_branch("1222", "Labuhanbatu Selatan")
    store = DjangoCentralStore()
    session = store.hello(
        "1222",
        boot_id="b",
        next_seq=1,
        feed_cursor=0,
        agent_version="1",
        branch_time=NOW,
        now=NOW,
    ).session
    factory = WalkinOps()
    first, second = factory.complete_visit(), factory.complete_visit()
    results: dict[str, object] = {}
    pids: dict[str, int] = {}
    a_applied, a_release, b_ready = threading.Event(), threading.Event(), threading.Event()

    def server_a() -> None:
        try:
            with transaction.atomic():  # the batch's transaction, held open
                results["a"] = store.apply_batch("1222", first, now=NOW, session=session)
                a_applied.set()
                assert a_release.wait(timeout=60)
        except BaseException as exc:
            results["a_error"] = exc
            a_applied.set()
        finally:
            connection.close()

    def server_b() -> None:
        try:
            connection.ensure_connection()
            pids["b"] = connection.connection.info.backend_pid
            b_ready.set()
            results["b"] = store.apply_batch("1222", first + second, now=NOW, session=session)
        except BaseException as exc:
            results["b_error"] = exc
            b_ready.set()
        finally:
            connection.close()

    thread_a = threading.Thread(target=server_a)
    thread_a.start()
    assert a_applied.wait(timeout=60) and "a_error" not in results
    thread_b = threading.Thread(target=server_b)
    thread_b.start()
    assert b_ready.wait(timeout=60)
    try:
        deadline = time.monotonic() + 30
        while not _waiting_on_a_lock(pids["b"]):
            assert time.monotonic() < deadline, "server B never waited for the branch's lock"
            time.sleep(0.02)
        assert "b" not in results
        # Meanwhile a third server with a short lock timeout answers "unavailable".
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '100ms'")
            with pytest.raises(StoreUnavailable):
                store.apply_batch("1222", second, now=NOW, session=session)
    finally:
        a_release.set()
        thread_a.join(timeout=60)
        thread_b.join(timeout=60)
    assert "b_error" not in results, results.get("b_error")
    assert results["a"].accepted == tuple(op.op_id for op in first)
    b = results["b"]
    assert set(b.accepted) == {op.op_id for op in first + second}
    assert b.hwm_seq == second[-1].seq
    assert Ticket.objects.count() == 2
    assert AppliedOp.objects.count() == len(first) + len(second)
    seqs = list(AppliedOp.objects.order_by("id").values_list("seq", flat=True))
    assert seqs == sorted(seqs)
