"""The rules every store keeps (``plan_batch``, the ticket model) and the reference stores' own
transactions: all or nothing, idempotent, fenced."""

import msgspec
import pytest

from sync import ops as kinds
from sync.memory import (
    BRANCH,
    CENTRAL,
    BranchDurable,
    MemoryBranchStore,
    MemoryCentralStore,
    TicketView,
    apply_ticket_op,
)
from sync.ops import Op
from sync.store import (
    APPLIED,
    NOTED,
    REJECTED,
    BranchRefused,
    ChangesPage,
    FeedEntry,
    Outcome,
    Rejection,
    StaleSession,
    batch_result,
    plan_batch,
)
from tests.sync.harness import WALL, called_payload, created_payload, op_id, visit_id

CODE = "1222"


def op(seq: int, kind: str = kinds.VISIT_CREATED, entity: str = "v", **payload) -> Op:
    if not payload:
        payload = created_payload() if kind == kinds.VISIT_CREATED else called_payload()
    return Op(
        op_id=f"019cf8c2-de0e-7d75-806c-{seq:012x}",
        seq=seq,
        kind=kind,
        entity_id=entity,
        hlc=seq,
        payload=payload,
    )


# -- plan_batch


def test_fresh_ops_take_the_next_slots():
    plan = plan_batch(3, {}, [op(4), op(5)])
    assert [o.seq for o in plan.fresh] == [4, 5] and plan.hwm_seq == 5 and not plan.deferred


def test_dedup_is_by_op_id_and_a_known_op_may_use_a_slot():
    seen = {op(4).op_id: Outcome(APPLIED)}
    renumbered = msgspec.structs.replace(op(4), seq=6)  # the branch lost its ACK and renumbered
    plan = plan_batch(5, seen, [renumbered, op(7)])
    assert [o.seq for o in plan.fresh] == [7]
    assert [(o.seq, outcome.result) for o, outcome in plan.seen] == [(6, APPLIED)]
    assert plan.hwm_seq == 7


def test_a_resend_below_the_mark_is_answered_as_recorded():
    seen = {op(2).op_id: Outcome(REJECTED, "invalid_payload")}
    plan = plan_batch(9, seen, [op(2)])
    assert plan.seen[0][1].code == "invalid_payload" and plan.hwm_seq == 9 and not plan.fresh


def test_a_gap_defers_the_rest_of_the_batch():
    seen = {op(5).op_id: Outcome(APPLIED)}
    plan = plan_batch(2, seen, [op(3), op(5), op(6)])  # seq 4 is still on its way
    assert [o.seq for o in plan.fresh] == [3]
    assert [o.seq for o in plan.deferred] == [5, 6]  # even the known one: no slot skipped
    assert plan.hwm_seq == 3


def test_a_fresh_op_on_a_used_seq_is_deferred():
    plan = plan_batch(10, {}, [op(8), op(11)])
    assert not plan.fresh and [o.seq for o in plan.deferred] == [8, 11] and plan.hwm_seq == 10


def test_batch_result_lists_the_processed_prefix():
    seen = {op(1).op_id: Outcome(REJECTED, "unknown_kind", "x")}
    plan = plan_batch(0, seen, [op(1), op(2), op(4)])
    result = batch_result(plan, {op(2).op_id: Outcome(NOTED)})
    assert result.accepted == (op(2).op_id,)
    assert result.rejected == (Rejection(op(1).op_id, "unknown_kind", "x"),)
    assert result.hwm_seq == 2


# -- the ticket model and its ownership rule


def view_after(*ops: Op) -> tuple[TicketView | None, list[str]]:
    tickets: dict[str, TicketView] = {}
    results = []
    for each in ops:
        new, outcome = apply_ticket_op(tickets, each)
        if new is not None:
            tickets[each.entity_id] = new
        results.append(outcome.result if not outcome.code else outcome.code)
    return tickets.get("v"), results


def resolved(seq: int) -> Op:
    return op(seq, kinds.VISIT_RESOLVED, outcome="resolved", finished_at=_T, service_seconds=60)


def escalated(seq: int) -> Op:
    return op(
        seq, kinds.VISIT_ESCALATED, follow_up="zoom", note="n", finished_at=_T, service_seconds=60
    )


_T = "2026-03-17T09:30:00+07:00"


def test_a_walk_in_flow_applies_in_order():
    view, results = view_after(op(1), op(2, kinds.VISIT_CALLED), resolved(3))
    assert view == TicketView("resolved", BRANCH) and results == [APPLIED] * 3


def test_escalation_hands_the_ticket_to_central():
    view, _ = view_after(op(1), escalated(2))
    assert view == TicketView("escalated", CENTRAL)


def test_a_branch_step_that_no_longer_fits_becomes_a_note():
    # Resolving a ticket central owns (escalated, or changed by staff) never changes its status.
    view, results = view_after(op(1), escalated(2), resolved(3), op(4, kinds.VISIT_CALLED))
    assert view == TicketView("escalated", CENTRAL)
    assert results == [APPLIED, APPLIED, NOTED, APPLIED]
    staff_owned = {"v": TicketView("open", CENTRAL)}
    new, outcome = apply_ticket_op(staff_owned, resolved(5))
    assert new is None and outcome.result == NOTED


def test_a_finished_visit_is_not_reopened_by_a_late_step():
    view, results = view_after(op(1), resolved(2), op(3, kinds.VISIT_NO_SHOW, desk="1", at=_T))
    assert view == TicketView("resolved", BRANCH) and results[-1] == NOTED


def test_ops_that_can_never_apply_are_rejected_with_a_code():
    _, results = view_after(
        op(1, kinds.VISIT_CALLED),  # no such visit yet
        op(2),
        op(3),  # the same visit twice
        op(4, "visit.teleported"),
        op(5, kinds.RATING_GIVEN, scores={"U1": 9}, overall=4),
    )
    assert results == [
        "unknown_entity",
        APPLIED,
        "duplicate_entity",
        "unknown_kind",
        "invalid_payload",
    ]


# -- the reference central store


@pytest.fixture
def central():
    store = MemoryCentralStore()
    store.enrol(CODE)
    return store


def say_hello(store: MemoryCentralStore) -> int:
    return store.hello(
        CODE, boot_id="b", next_seq=1, feed_cursor=0, agent_version="t", branch_time=WALL, now=WALL
    ).session


def test_a_batch_is_all_or_nothing(central):
    session = say_hello(central)
    before = central.fingerprint()

    def crash(point: str) -> None:
        if point == "before_commit":
            raise RuntimeError("power cut")

    central.fault = crash
    with pytest.raises(RuntimeError):
        central.apply_batch(CODE, [op(1), op(2, kinds.VISIT_CALLED)], now=WALL, session=session)
    assert central.fingerprint() == before
    central.fault = None
    result = central.apply_batch(
        CODE, [op(1), op(2, kinds.VISIT_CALLED)], now=WALL, session=session
    )
    assert len(result.accepted) == 2 and central.fingerprint() != before


def test_sessions_fence_older_ones(central):
    first = say_hello(central)
    second = say_hello(central)
    assert second > first
    with pytest.raises(StaleSession):
        central.apply_batch(CODE, [op(1)], now=WALL, session=first)
    with pytest.raises(BranchRefused):
        central.hello(
            "0000", boot_id="b", next_seq=1, feed_cursor=0, agent_version="t",
            branch_time=WALL, now=WALL,
        )  # fmt: skip


def test_every_ticket_change_goes_down_the_feed(central):
    session = say_hello(central)
    central.apply_batch(CODE, [op(1), op(2, kinds.VISIT_CALLED)], now=WALL, session=session)
    central.staff_set_status(CODE, "v", "closed")
    page = central.changes(CODE, 1, 100)
    assert [(i.kind, i.payload) for i in page.items] == [
        ("ticket.status", {"status": "closed", "owner": "central"})
    ]
    first = central.changes(CODE, 0, 100)  # a new branch: a snapshot of the current state
    assert first.snapshot and first.to_cursor == central.head == 2
    assert [i.payload for i in first.items] == [{"status": "closed", "owner": "central"}]


def test_pages_and_snapshots(central):
    other = "1201"
    central.enrol(other)
    for n in range(5):
        central.publish_reference("category.upsert", str(n), {"n": n})
    central.publish_reference("category.delete", "0", {})
    page = central.changes(CODE, 1, 2)
    assert ([i.feed_id for i in page.items], page.to_cursor, page.more) == ([2, 3], 3, True)
    page = central.changes(CODE, 3, 10)
    assert ([i.feed_id for i in page.items], page.to_cursor, page.more) == ([4, 5, 6], 6, False)
    central.prune(4)
    old = central.changes(CODE, 2, 10)  # below what was pruned: a snapshot
    assert old.snapshot and not old.more and old.to_cursor == 6
    assert sorted(i.entity_id for i in old.items) == ["1", "2", "3", "4"]
    ahead = central.changes(CODE, 99, 10)  # central restored from a backup
    assert ahead.snapshot and ahead.from_cursor == 99 and ahead.to_cursor == 6


# -- the reference branch store


@pytest.fixture
def branch():
    return MemoryBranchStore()


def entry(feed_id: int, entity: str = "v", status: str = "open") -> FeedEntry:
    return FeedEntry(feed_id, "ticket.status", entity, {"status": status, "owner": "central"})


def test_applying_a_page_twice_changes_nothing(branch):
    page = ChangesPage(0, 3, (entry(2, status="open"), entry(3, status="closed")), more=False)
    branch.apply_changes(page)
    after = branch.fingerprint()
    branch.apply_changes(page)
    branch.apply_changes(ChangesPage(0, 2, (entry(2, status="open"),), more=True))  # older page
    assert branch.fingerprint() == after
    assert branch.durable.tickets["v"].status == "closed" and branch.feed_cursor() == 3


def test_a_snapshot_applies_only_to_the_cursor_it_answers(branch):
    branch.apply_changes(ChangesPage(0, 5, (), more=False))
    stale = ChangesPage(0, 9, (entry(9, status="stale"),), more=False, snapshot=True)
    branch.apply_changes(stale)
    assert branch.feed_cursor() == 5 and "v" not in branch.durable.tickets
    reference = FeedEntry(7, "kb.upsert", "1", {"title": "t"})
    snapshot = ChangesPage(5, 9, (entry(9), reference), more=False, snapshot=True)
    branch.apply_changes(snapshot)
    assert branch.feed_cursor() == 9 and dict(branch.durable.reference) == {
        ("kb", "1"): {"title": "t"}
    }
    replaced = ChangesPage(9, 10, (), more=False, snapshot=True)
    branch.apply_changes(replaced)  # a snapshot replaces reference data
    assert not branch.durable.reference


def test_renumbering_keeps_the_order(branch):
    ops = [
        branch.record(kinds.VISIT_CREATED, visit_id(), created_payload(), op_id=op_id(), hlc=1)
        for _ in range(3)
    ]
    branch.renumber_pending(40)
    assert [(o.op_id, o.seq) for o in branch.pending_ops(10)] == [
        (o.op_id, 41 + n) for n, o in enumerate(ops)
    ]
    assert branch.next_seq() == 44


def test_resend_acknowledged_puts_held_ops_back_in_order_and_moves_down(branch):
    ops = [
        branch.record(kinds.VISIT_CREATED, f"v{n}", created_payload(), op_id=op_id(), hlc=n)
        for n in range(5)
    ]
    branch.acknowledge([ops[0].op_id, ops[1].op_id], [Rejection(ops[2].op_id, "x")], hwm_seq=3)
    assert branch.next_seq() == 6
    assert branch.resend_acknowledged(after_seq=1) == 2  # central kept only seq 1
    assert [(o.op_id, o.seq) for o in branch.durable.outbox] == [
        (ops[1].op_id, 2),
        (ops[2].op_id, 3),
        (ops[3].op_id, 4),
        (ops[4].op_id, 5),
    ]
    assert branch.next_seq() == 6 and [o.op_id for o in branch.durable.acknowledged] == [
        ops[0].op_id
    ]


def test_acknowledge_keeps_rejections_and_ignores_strangers(branch):
    first = branch.record(kinds.VISIT_CREATED, "v", created_payload(), op_id=op_id(), hlc=1)
    second = branch.record(kinds.VISIT_CALLED, "v", called_payload(), op_id=op_id(), hlc=2)
    branch.acknowledge([first.op_id, "someone-else"], [Rejection(second.op_id, "x")], 7)
    assert branch.pending_count() == 0 and branch.next_seq() == 8
    assert branch.durable.rejected == (Rejection(second.op_id, "x"),)
    before = branch.fingerprint()
    branch.acknowledge([first.op_id], [Rejection(second.op_id, "x")], 7)
    assert branch.fingerprint() == before


def test_disk_faults(branch):
    backup = branch.backup()
    for _ in range(4):
        branch.record(kinds.VISIT_CREATED, visit_id(), created_payload(), op_id=op_id(), hlc=1)
    assert branch.lose_tail(2) == 2 and branch.pending_count() == 2
    branch.restore(backup)
    assert branch.durable == BranchDurable() and branch.next_seq() == 1
