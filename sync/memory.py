"""In-memory reference implementations of ``CentralStore`` and ``BranchStore``.

What it owns: the behaviour the real stores (the central database, the agent's SQLite) must have,
written as plainly as possible, so the simulation can check the cores against it; and a small
ticket model with the ownership rule, applied identically at both ends.

Rules:
- Every protocol method is one transaction: it computes everything first and commits at the end in
  one step, or raises having changed nothing. A "crash" is dropping the object that holds
  uncommitted work; committed state is what the object holds.
- ``MemoryCentralStore.fault`` is a test hook called just before and just after each batch commits;
  raising there models a crash mid-batch (before: nothing applied; after: applied, never ACKed).
- ``MemoryBranchStore`` keeps its recent committed states so the simulation can lose the last
  transactions (a disk that lied about fsync) or restore an older backup.
- Nothing here is ordered by a set or a hash: every iteration order is insertion order, so a seeded
  simulation replays exactly whatever PYTHONHASHSEED is.

The ticket model (the "view" both ends keep of the branch's tickets):
- The ownership rule is ``sync.ownership.decide``, the very function central's intake applies, so
  what the simulation proves is the rule that ships: a visit's ticket is the branch's from
  ``visit.created`` until it is escalated or central staff change it away from the status the
  branch's ops left (``ownership.owner``); then it is central's.
- Lifecycle ops (no-show, resolved, escalated) set the status only on a ticket that is still the
  branch's and whose visit is still in progress; otherwise they are applied as a follow-up note
  (``noted``), status untouched. Every other op (called, served too: a call is a record, never a
  status change) is a record and changes no status.
- A view's status is what the branch's ops left (``AS_BRANCH_LEFT``: ``open``, ``closed``,
  ``resolved``, ``escalated``), or the status central staff set. Central also keeps
  each visit's outcome, which a staff change leaves alone (as the visit row at central).
- Central writes a ``ticket.status`` feed row (the ticket's status and owner as central holds them)
  in the transaction of every change to them, whoever made it, and for every noted op; the branch
  sets its view of the ticket to the row. So after healing (outbox empty, cursor at the head) the
  newest row of each ticket is central's state and the views are equal, even for a branch that
  lost its disk. (A UI may show its pending ops on top of the row meanwhile; this model does not.)
- A row of a ticket that is still the branch's carries the visit's desk facts
  (``sync.recovery``): a branch whose disk lost the visit takes it back from them.

Size: over 500 lines on purpose: the two reference stores, written plainly as the executable
specification the simulation checks.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from sync import ids, ownership
from sync import ops as kinds
from sync.ops import Op, PayloadError, decode_payload
from sync.recovery import FACTS_KEY, STAGE_OF_STATUS, VisitFacts, facts_payload
from sync.store import (
    APPLIED,
    NOTED,
    REJECTED,
    BatchPlan,
    BatchResult,
    BranchHello,
    BranchRefused,
    ChangesPage,
    FeedEntry,
    Outcome,
    Rejection,
    StaleSession,
    batch_result,
    plan_batch,
)
from sync.vocabulary import (
    OUTCOME_ESCALATED,
    OUTCOME_NO_SHOW,
    OUTCOME_RESOLVED,
    OUTCOME_WAITING,
)

BRANCH = ownership.BRANCH
CENTRAL = ownership.CENTRAL
TICKET_STATUS = "ticket.status"
# The status a view shows for each visit outcome the branch's ops leave (as helpdesk's statuses in
# ``feed.AS_BRANCH_LEFT``; an escalated ticket shows "escalated", central's from then on).
AS_BRANCH_LEFT = {
    OUTCOME_WAITING: "open",
    OUTCOME_NO_SHOW: "closed",
    OUTCOME_RESOLVED: "resolved",
    OUTCOME_ESCALATED: "escalated",
}
_OUTCOME_SHOWN = {status: outcome for outcome, status in AS_BRANCH_LEFT.items()}


@dataclass(frozen=True)
class TicketView:
    status: str
    owner: str  # BRANCH or CENTRAL

    def as_payload(self) -> dict[str, Any]:
        return {"status": self.status, "owner": self.owner}


def judge(op: Op, ticket: ownership.VisitTicket | None) -> tuple[ownership.Verdict | None, Outcome]:
    """The payload check, then ``ownership.decide``: the verdict (None: rejected) and outcome."""
    try:
        decode_payload(op.kind, op.payload)
    except PayloadError as exc:
        return None, Outcome(REJECTED, exc.code, exc.message)
    verdict = ownership.decide(op.kind, ticket)
    if verdict.action == ownership.REJECT:
        what = "exists" if verdict.reason == "duplicate_entity" else "is unknown"
        return None, Outcome(REJECTED, verdict.reason, f"visit {op.entity_id} {what}")
    if verdict.action == ownership.NOTE:
        return verdict, Outcome(NOTED, "", f"{op.kind} not applied: {verdict.reason}")
    return verdict, Outcome(APPLIED)


def visit_ticket(view: TicketView | None) -> ownership.VisitTicket | None:
    """What the rule needs, read off a view alone (a branch's: it holds no more than that)."""
    if view is None:
        return None
    return ownership.VisitTicket(_OUTCOME_SHOWN.get(view.status, ""), view.owner)


def view_after(verdict: ownership.Verdict | None) -> TicketView | None:
    """The new view an applied verdict gives (None: the view is unchanged)."""
    if verdict is None or not verdict.changes_status:
        return None
    return TicketView(AS_BRANCH_LEFT[verdict.outcome], verdict.owner)


def apply_ticket_op(tickets: Mapping[str, TicketView], op: Op) -> tuple[TicketView | None, Outcome]:
    """The ticket rule on a view: the new view of ``op.entity_id`` (None: unchanged), outcome."""
    verdict, outcome = judge(op, visit_ticket(tickets.get(op.entity_id)))
    return view_after(verdict), outcome


def apply_feed_item(
    tickets: dict[str, TicketView],
    reference: dict[tuple[str, str], dict[str, Any]],
    item: FeedEntry,
) -> None:
    """Apply one down-feed item to a branch's view (unknown kinds are ignored: newer centrals)."""
    family, _, action = item.kind.rpartition(".")
    if item.kind == TICKET_STATUS:
        tickets[item.entity_id] = TicketView(
            str(item.payload["status"]), str(item.payload["owner"])
        )
    elif action == "upsert":
        reference[(family, item.entity_id)] = item.payload
    elif action == "delete":
        reference.pop((family, item.entity_id), None)


# -- central --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One op central has seen from a branch (the applied-ops table)."""

    op: Op  # as received the first time
    outcome: Outcome
    order: int  # position in the branch's apply order


@dataclass(frozen=True)
class FeedRow:
    feed_id: int
    branch: str | None  # None: every branch
    kind: str
    entity_id: str
    payload: dict[str, Any]


@dataclass
class CentralBranch:
    code: str
    active: bool = True
    hwm_seq: int = 0
    session: int = 0
    boot_id: str = ""
    agent_version: str = ""
    last_seen: float | None = None
    clock_skew: float | None = None
    cursor_reported: int = 0
    records: dict[str, Record] = field(default_factory=dict)
    apply_log: list[tuple[str, int]] = field(default_factory=list)  # (op_id, seq), apply order
    effects: list[str] = field(default_factory=list)  # op ids whose effect was applied (or noted)
    tickets: dict[str, TicketView] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # each visit's, as central recorded it
    # The desk facts of each visit (from ``visit.created``): what a branch that lost it needs.
    visits: dict[str, dict[str, Any]] = field(default_factory=dict)


Fault = Callable[[str], None]


class MemoryCentralStore:
    """``CentralStore`` in memory, plus the central-side changes the simulation makes."""

    def __init__(self) -> None:
        self.branches: dict[str, CentralBranch] = {}
        self.feed: list[FeedRow] = []  # served rows, in id order (pruned ones gone)
        self.history: list[FeedRow] = []  # every row ever written: what a snapshot is built from
        self.pruned_through = 0
        self.reference: dict[tuple[str, str], dict[str, Any]] = {}
        self.fault: Fault | None = None
        self.on_commit: Callable[[str, str | None], None] | None = None

    # -- enrolment (the admin's side)

    def enrol(self, code: str) -> None:
        self.branches.setdefault(code, CentralBranch(code)).active = True

    def revoke(self, code: str) -> None:
        if code in self.branches:
            self.branches[code].active = False

    @property
    def head(self) -> int:
        return self.history[-1].feed_id if self.history else 0

    # -- CentralStore

    def hello(
        self,
        branch: str,
        *,
        boot_id: str,
        next_seq: int,
        feed_cursor: int,
        agent_version: str,
        branch_time: float,
        now: float,
    ) -> BranchHello:
        state = self._branch(branch)
        self._point("hello")
        state.session += 1
        state.boot_id, state.agent_version = boot_id, agent_version
        state.last_seen, state.clock_skew = now, ids.clock_skew(branch_time, now)
        state.cursor_reported = feed_cursor
        self._committed("hello", branch)
        return BranchHello(state.hwm_seq, self.head, state.session)

    def apply_batch(
        self, branch: str, ops: Sequence[Op], *, now: float, session: int
    ) -> BatchResult:
        state = self._branch(branch)
        if session != state.session:
            raise StaleSession(f"session {session} is not the current {state.session}")
        plan = self._plan(state, ops)
        tickets: dict[str, TicketView] = {}
        visits: dict[str, str] = {}
        outcomes: dict[str, Outcome] = {}
        tell: dict[str, None] = {}  # tickets the branch must hear about, in order
        for op in plan.fresh:
            current = tickets.get(op.entity_id, state.tickets.get(op.entity_id))
            visit = visits.get(op.entity_id, state.outcomes.get(op.entity_id))
            known = None
            if current is not None and visit is not None:
                known = ownership.VisitTicket(visit, current.owner)
            verdict, outcome = judge(op, known)
            view = view_after(verdict)
            if view is not None and verdict is not None:
                tickets[op.entity_id] = view
                visits[op.entity_id] = verdict.outcome
            if view is not None or outcome.result == NOTED:
                tell[op.entity_id] = None
            outcomes[op.op_id] = outcome
        self._point("before_commit")
        for op in plan.fresh:
            outcome = outcomes[op.op_id]
            state.records[op.op_id] = Record(op, outcome, len(state.apply_log))
            state.apply_log.append((op.op_id, op.seq))
            if outcome.result != REJECTED:
                state.effects.append(op.op_id)
        state.tickets.update(tickets)
        state.outcomes.update(visits)
        for op in plan.fresh:
            if op.kind == kinds.VISIT_CREATED and outcomes[op.op_id].result == APPLIED:
                state.visits[op.entity_id] = op.payload
        state.hwm_seq = max(state.hwm_seq, plan.hwm_seq)
        state.last_seen = now
        for entity_id in tell:
            self._write(branch, TICKET_STATUS, entity_id, self._ticket_payload(state, entity_id))
        self._committed("batch", branch)
        self._point("after_commit")
        return batch_result(plan, outcomes)

    def changes(self, branch: str, cursor: int, limit: int) -> ChangesPage:
        self._branch(branch)
        head = self.head
        if cursor == 0 or cursor < self.pruned_through or cursor > head:
            return self.snapshot(branch, cursor)
        start = bisect.bisect_right(self.feed, cursor, key=lambda row: row.feed_id)
        rows: list[FeedRow] = []
        for row in self.feed[start:]:
            if row.branch is None or row.branch == branch:
                rows.append(row)
                if len(rows) > limit:
                    break
        more = len(rows) > limit
        rows = rows[:limit]
        return ChangesPage(
            from_cursor=cursor,
            to_cursor=rows[-1].feed_id if more else head,
            items=tuple(FeedEntry(r.feed_id, r.kind, r.entity_id, r.payload) for r in rows),
            more=more,
        )

    def _plan(self, state: CentralBranch, ops: Sequence[Op]) -> BatchPlan:
        seen = {
            op.op_id: state.records[op.op_id].outcome for op in ops if op.op_id in state.records
        }
        return plan_batch(state.hwm_seq, seen, ops)

    def snapshot(self, branch: str, cursor: int) -> ChangesPage:
        """The current state of everything the feed tells ``branch``, as one page: reference data
        and the status of each of its tickets (each item carries the id of its newest row)."""
        latest: dict[tuple[str, str], FeedRow] = {}
        for row in self.history:
            if row.branch is None or row.branch == branch:
                family = row.kind if row.kind == TICKET_STATUS else row.kind.rpartition(".")[0]
                latest.pop((family, row.entity_id), None)  # keep the newest last
                latest[(family, row.entity_id)] = row
        state = self.branches[branch]
        items = tuple(
            FeedEntry(
                r.feed_id,
                r.kind,
                r.entity_id,
                self._ticket_payload(state, r.entity_id) if r.kind == TICKET_STATUS else r.payload,
            )
            for r in latest.values()
            if not r.kind.endswith(".delete")
        )
        return ChangesPage(cursor, self.head, items, more=False, snapshot=True)

    # -- central's own changes

    def staff_set_status(self, branch: str, entity_id: str, status: str) -> bool:
        """A helpdesk user changes a ticket: it becomes central's unless the status is the one
        the branch's ops left (``ownership.owner``), and the branch is told."""
        state = self.branches.get(branch)
        if state is None or entity_id not in state.tickets:
            return False
        outcome = state.outcomes.get(entity_id)
        as_left = outcome is not None and AS_BRANCH_LEFT.get(outcome) == status
        view = TicketView(status, ownership.owner(outcome, as_left))
        self._point("staff")
        state.tickets[entity_id] = view
        self._write(branch, TICKET_STATUS, entity_id, self._ticket_payload(state, entity_id))
        self._committed("staff", branch)
        return True

    def publish_reference(self, kind: str, entity_id: str, payload: dict[str, Any]) -> None:
        """Reference data for every branch: ``<family>.upsert`` or ``<family>.delete``."""
        family, _, action = kind.rpartition(".")
        if action not in ("upsert", "delete") or not family:
            raise ValueError(f"reference kind must be <family>.upsert|delete, got {kind!r}")
        self._point("reference")
        if action == "upsert":
            self.reference[(family, entity_id)] = payload
        else:
            self.reference.pop((family, entity_id), None)
        self._write(None, kind, entity_id, payload)
        self._committed("reference", None)

    def prune(self, through: int) -> None:
        """Retention: drop served rows up to ``through``; older cursors get a snapshot."""
        through = min(through, self.head)
        if through <= self.pruned_through:
            return
        self.pruned_through = through
        self.feed = [row for row in self.feed if row.feed_id > through]

    def crashed(self) -> None:
        """The process died: drop uncommitted work. Here every call commits or changes nothing,
        so there is none; a store that defers commits would lose it here."""

    # -- inspection

    def tickets(self, branch: str) -> dict[str, TicketView]:
        return dict(self.branches[branch].tickets) if branch in self.branches else {}

    def fingerprint(self) -> tuple[Any, ...]:
        """The state an idempotent replay must leave unchanged (bookkeeping like last-seen and
        sessions excluded)."""
        return (
            tuple(
                (
                    code,
                    b.hwm_seq,
                    tuple((i, r.outcome, r.order) for i, r in b.records.items()),
                    tuple(b.effects),
                    tuple(sorted(b.tickets.items())),
                    tuple(sorted(b.outcomes.items())),
                )
                for code, b in self.branches.items()
            ),
            tuple(
                (r.feed_id, r.branch, r.kind, r.entity_id, _frozen(r.payload)) for r in self.history
            ),
            self.pruned_through,
            tuple(sorted((k, _frozen(v)) for k, v in self.reference.items())),
        )

    # -- internals

    @staticmethod
    def _ticket_payload(state: CentralBranch, entity_id: str) -> dict[str, Any]:
        """A ``ticket.status`` payload; a ticket still the branch's carries its visit's desk
        facts, so a branch whose disk lost the visit can take it back (sync/recovery.py)."""
        view = state.tickets[entity_id]
        payload = view.as_payload()
        created = state.visits.get(entity_id)
        if view.owner == BRANCH and created is not None:
            stage = STAGE_OF_STATUS.get(view.status, "finished")
            outcome = view.status if view.status in ("resolved", "escalated") else ""
            facts = VisitFacts(
                service=created["service"],
                queue_number=created["queue_number"],
                service_day=created["service_day"],
                issued_at=created["issued_at"],
                stage=stage,
                outcome=outcome,  # type: ignore[arg-type]
            )
            payload[FACTS_KEY] = facts_payload(facts)
        return payload

    def _branch(self, code: str) -> CentralBranch:
        state = self.branches.get(code)
        if state is None or not state.active:
            raise BranchRefused(f"branch {code!r} is unknown or deactivated")
        return state

    def _write(
        self, branch: str | None, kind: str, entity_id: str, payload: dict[str, Any]
    ) -> None:
        row = FeedRow(self.head + 1, branch, kind, entity_id, payload)
        self.feed.append(row)
        self.history.append(row)

    def _point(self, name: str) -> None:
        if self.fault is not None:
            self.fault(name)

    def _committed(self, what: str, branch: str | None) -> None:
        if self.on_commit is not None:
            self.on_commit(what, branch)


def _frozen(value: Any) -> Any:
    return msgspec.msgpack.encode(value, order="sorted")


# -- branch ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BranchDurable:
    """Everything a branch store has committed: its database file, as one immutable value."""

    outbox: tuple[Op, ...] = ()
    next_seq: int = 1
    cursor: int = 0
    tickets: Mapping[str, TicketView] = field(default_factory=dict)
    reference: Mapping[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    rejected: tuple[Rejection, ...] = ()
    # The newest acknowledged ops (accepted or rejected), in seq order: what the store can send
    # again if central is restored from an older backup and lost them.
    acknowledged: tuple[Op, ...] = ()


class MemoryBranchStore:
    """``BranchStore`` in memory, plus what the agent's UI writes (``record``) and disk faults."""

    HISTORY = 64
    KEEP_ACKNOWLEDGED = 10_000  # acknowledged ops kept to resend after a central restore

    def __init__(self) -> None:
        self.durable = BranchDurable()
        self._history: deque[BranchDurable] = deque([self.durable], maxlen=self.HISTORY)
        self.on_commit: Callable[[BranchDurable, BranchDurable, str], None] | None = None

    # -- the agent's own writes

    def record(
        self, kind: str, entity_id: str, payload: dict[str, Any], *, op_id: str, hlc: int
    ) -> Op:
        """One UI write: the op into the outbox and its effect on the local view, atomically."""
        state = self.durable
        op = Op(
            op_id=op_id,
            seq=state.next_seq,
            kind=kind,
            entity_id=entity_id,
            hlc=hlc,
            payload=payload,
        )
        view, _ = apply_ticket_op(state.tickets, op)
        tickets = state.tickets if view is None else {**state.tickets, entity_id: view}
        self._commit(
            replace(state, outbox=(*state.outbox, op), next_seq=op.seq + 1, tickets=tickets),
            "record",
        )
        return op

    # -- BranchStore

    def pending_ops(self, limit: int) -> list[Op]:
        return list(self.durable.outbox[:limit])

    def pending_count(self) -> int:
        return len(self.durable.outbox)

    def acknowledge(
        self, op_ids: Sequence[str], rejected: Sequence[Rejection], hwm_seq: int
    ) -> None:
        state = self.durable
        done = set(op_ids) | {r.op_id for r in rejected}
        outbox = tuple(op for op in state.outbox if op.op_id not in done)
        pending = {op.op_id for op in state.outbox}
        kept = tuple(r for r in rejected if r.op_id in pending)
        next_seq = max(state.next_seq, hwm_seq + 1)
        if len(outbox) == len(state.outbox) and next_seq == state.next_seq:
            return
        gone = tuple(op for op in state.outbox if op.op_id in done)
        acknowledged = (*state.acknowledged, *gone)[-self.KEEP_ACKNOWLEDGED :]
        self._commit(
            replace(
                state,
                outbox=outbox,
                next_seq=next_seq,
                rejected=state.rejected + kept,
                acknowledged=acknowledged,
            ),
            "acknowledge",
        )

    def raise_next_seq(self, hwm_seq: int) -> None:
        if hwm_seq + 1 > self.durable.next_seq:
            self._commit(replace(self.durable, next_seq=hwm_seq + 1), "raise_next_seq")

    def renumber_pending(self, after_seq: int) -> None:
        state = self.durable
        outbox = tuple(
            msgspec.structs.replace(op, seq=after_seq + n) for n, op in enumerate(state.outbox, 1)
        )
        next_seq = max(state.next_seq, after_seq + len(outbox) + 1)
        self._commit(replace(state, outbox=outbox, next_seq=next_seq), "renumber_pending")

    def resend_acknowledged(self, after_seq: int) -> int:
        state = self.durable
        back = tuple(op for op in state.acknowledged if op.seq > after_seq)
        kept = tuple(op for op in state.acknowledged if op.seq <= after_seq)
        ops = sorted((*back, *state.outbox), key=lambda op: op.seq)
        outbox = tuple(
            msgspec.structs.replace(op, seq=after_seq + n) for n, op in enumerate(ops, 1)
        )
        self._commit(
            replace(state, outbox=outbox, next_seq=after_seq + len(outbox) + 1, acknowledged=kept),
            "resend_acknowledged",
        )
        return len(back)

    def next_seq(self) -> int:
        return self.durable.next_seq

    def feed_cursor(self) -> int:
        return self.durable.cursor

    def apply_changes(self, page: ChangesPage) -> None:
        state = self.durable
        if page.snapshot:
            if page.from_cursor != state.cursor:
                return  # an answer to a cursor this store has moved past
            tickets = dict(state.tickets)
            reference: dict[tuple[str, str], dict[str, Any]] = {}
            for item in page.items:
                apply_feed_item(tickets, reference, item)
            self._commit(
                replace(state, cursor=page.to_cursor, tickets=tickets, reference=reference),
                "apply_changes",
            )
            return
        fresh = [item for item in page.items if item.feed_id > state.cursor]
        if not fresh and page.to_cursor <= state.cursor:
            return
        tickets, reference = dict(state.tickets), dict(state.reference)
        for item in fresh:
            apply_feed_item(tickets, reference, item)
        cursor = max(state.cursor, page.to_cursor)
        self._commit(
            replace(state, cursor=cursor, tickets=tickets, reference=reference), "apply_changes"
        )

    # -- disk faults (the simulation's)

    def backup(self) -> BranchDurable:
        return self.durable

    def restore(self, backup: BranchDurable) -> None:
        self.durable = backup
        self._history = deque([backup], maxlen=self.HISTORY)

    def lose_tail(self, transactions: int) -> int:
        """Forget the last ``transactions`` commits (fewer if not remembered); returns how many."""
        lost = min(transactions, len(self._history) - 1)
        for _ in range(lost):
            self._history.pop()
        self.durable = self._history[-1]
        return lost

    # -- inspection

    def outbox_ids(self) -> list[str]:
        return [op.op_id for op in self.durable.outbox]

    def fingerprint(self) -> tuple[Any, ...]:
        state = self.durable
        return (
            tuple((op.op_id, op.seq) for op in state.outbox),
            state.next_seq,
            state.cursor,
            tuple(sorted(state.tickets.items())),
            tuple(sorted((k, _frozen(v)) for k, v in state.reference.items())),
            state.rejected,
        )

    def _commit(self, state: BranchDurable, what: str) -> None:
        before = self.durable
        self.durable = state
        self._history.append(state)
        if self.on_commit is not None:
            self.on_commit(before, state, what)
