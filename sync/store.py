"""What the sync cores need from durable storage, on each side. Protocols only: no I/O here.

The branch agent implements ``BranchStore`` on its SQLite file; the central plugin implements
``CentralStore`` on its database; ``sync.memory`` implements both in memory with the same rules and
is what the deterministic simulation checks. The cores call the store they were given (see the
module headers of ``sync.branch`` and ``sync.central``).

Rules every implementation keeps:
- Every method is one transaction: it happens completely or not at all. A method that raises
  committed nothing. A crash loses only what was not committed.
- Central: ``apply_batch`` decides op by op with ``plan_batch`` below (so every store orders, dedups
  and fences the same way), applies the fresh ops in that order, commits, and only then returns.
- Central: a store that cannot serve raises a ``StoreError`` subclass; the core answers the wire
  error code it carries and keeps serving.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from sync.ops import Op

APPLIED: Final = "applied"
NOTED: Final = "noted"
REJECTED: Final = "rejected"
Result = Literal["applied", "noted", "rejected"]


@dataclass(frozen=True)
class Rejection:
    op_id: str
    code: str  # e.g. "invalid_payload", "unknown_kind", "unknown_entity"
    message: str = ""


@dataclass(frozen=True)
class BatchResult:
    """Central's answer to one PUSH, after its transaction committed.

    Covers a prefix of the batch: ops in neither tuple were deferred (an earlier op has not arrived
    yet) and the branch sends them again."""

    accepted: tuple[str, ...]  # op ids now applied (newly, as a note, or already before)
    rejected: tuple[Rejection, ...]  # op ids that can never apply; recorded, not retried
    hwm_seq: int  # the branch's high-water mark after the batch


@dataclass(frozen=True)
class FeedEntry:
    """One down-feed change: reference data or a central change on one of the branch's tickets."""

    feed_id: int
    kind: str  # e.g. "category.upsert", "kb.delete", "ticket.status", "ticket.reply"
    entity_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ChangesPage:
    """One answer to a PULL.

    Normal page: the feed rows for the branch with ``from_cursor < feed_id <= to_cursor``.
    Snapshot (``snapshot=True``, always a single page, ``more`` False, ``to_cursor`` the head):
    the *current* state of everything the feed tells the branch, i.e. every live reference entity
    (``*.upsert``) and the status of each of its tickets (``ticket.status``), each item carrying
    the id of its newest row. It *replaces* the branch's reference data; its ``ticket.*`` items
    are applied like normal items. Central answers with a snapshot when the cursor is 0, below
    what retention pruned, or above the head.
    """

    from_cursor: int
    to_cursor: int  # the cursor to store after applying ``items``
    items: tuple[FeedEntry, ...]
    more: bool
    snapshot: bool = False


@dataclass(frozen=True)
class BranchHello:
    hwm_seq: int
    feed_head: int
    # The session this HELLO opened: strictly greater than every earlier session of the branch.
    # ``apply_batch`` refuses any other session (fencing). 0 only from a store without fencing.
    session: int = 0


@dataclass(frozen=True)
class CentralLost:
    """Central's mark is below ops it had acknowledged: it was restored from an older backup.

    Seqs ``first_seq..last_seq`` were acknowledged and central no longer has them. ``resent``
    of them were still in the store and went back into the outbox (sent again under their op
    ids, applied again at central); ``unrecoverable`` were no longer held here (acknowledged ops
    are pruned) and must be re-entered by staff from the branch's records."""

    hwm_seq: int
    first_seq: int
    last_seq: int
    resent: int
    unrecoverable: int


@dataclass
class SyncStatus:
    online: bool = False
    pending_ops: int = 0
    last_sync_at: float | None = None
    last_error: str | None = None
    feed_cursor: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    clock_skew: float | None = None  # the branch's clock minus central's, seconds, at WELCOME
    state: str = "idle"
    central_lost: CentralLost | None = None  # set when central was restored from a backup


class StoreError(Exception):
    """A store call that committed nothing. ``code`` is the wire error code of the answer."""

    code = "unavailable"


class StoreUnavailable(StoreError):
    """A passing failure (database gone, lock timeout): the branch retries later."""

    code = "unavailable"


class BranchRefused(StoreError):
    """The authenticated identity names no branch, or a deactivated one."""

    code = "refused"


class StaleSession(StoreError):
    """A PUSH under a session that a later HELLO of the same branch has replaced."""

    code = "stale_session"


@dataclass(frozen=True)
class Outcome:
    """What central recorded for one op, the first time it saw it."""

    result: Result
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class BatchPlan:
    """How one batch goes, decided under the branch's lock before anything is written."""

    fresh: tuple[Op, ...]  # never seen: apply now, in this order
    seen: tuple[tuple[Op, Outcome], ...]  # seen before: answer what was recorded, change nothing
    deferred: tuple[Op, ...]  # not now: an earlier seq is missing, or a seq was already taken
    hwm_seq: int  # the high-water mark once the fresh ops are recorded


def plan_batch(hwm_seq: int, seen: Mapping[str, Outcome], ops: Sequence[Op]) -> BatchPlan:
    """The per-op rule of ``apply_batch``; ``ops`` come in strictly increasing seq (codec-checked).

    Walking the batch in order, with ``hwm`` the branch's high-water mark:
    - ``seq == hwm + 1``: the next slot. A fresh op is applied there; an op seen before (a branch
      that renumbered its outbox) is answered as recorded. Either way the slot is used: hwm = seq.
    - ``seq <= hwm`` and seen before: a re-send; answered as recorded.
    - anything else stops the batch, and it and every op after it are deferred: ``seq > hwm + 1``
      means an earlier op is still on its way; a fresh op with ``seq <= hwm`` has a number that is
      already used (the branch renumbers at its next WELCOME).
    So fresh ops apply in seq order with no gap, dedup is by op id, and nothing jumps the queue.
    """
    fresh: list[Op] = []
    repeated: list[tuple[Op, Outcome]] = []
    hwm = hwm_seq
    for index, op in enumerate(ops):
        outcome = seen.get(op.op_id)
        if op.seq == hwm + 1:
            hwm = op.seq
            if outcome is None:
                fresh.append(op)
            else:
                repeated.append((op, outcome))
        elif op.seq <= hwm and outcome is not None:
            repeated.append((op, outcome))
        else:
            return BatchPlan(tuple(fresh), tuple(repeated), tuple(ops[index:]), hwm)
    return BatchPlan(tuple(fresh), tuple(repeated), (), hwm)


def batch_result(plan: BatchPlan, fresh: Mapping[str, Outcome]) -> BatchResult:
    """The answer for a committed plan; ``fresh`` holds the outcome of each of ``plan.fresh``."""
    accepted: list[str] = []
    rejected: list[Rejection] = []
    for op_id, outcome in [(op.op_id, fresh[op.op_id]) for op in plan.fresh] + [
        (op.op_id, outcome) for op, outcome in plan.seen
    ]:
        if outcome.result == REJECTED:
            rejected.append(Rejection(op_id, outcome.code, outcome.message))
        else:
            accepted.append(op_id)
    return BatchResult(tuple(accepted), tuple(rejected), plan.hwm_seq)


class CentralStore(Protocol):
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
        """In one transaction under the branch's lock: open a new session (greater than every
        earlier one, so older sessions are fenced off), record the agent's facts and clock skew
        (``branch_time - now``), and return the high-water mark, the feed head and the session.
        Raise ``BranchRefused`` for an unknown or deactivated branch."""

    def apply_batch(
        self, branch: str, ops: Sequence[Op], *, now: float, session: int
    ) -> BatchResult:
        """In one transaction: lock the branch's state, raise ``StaleSession`` unless ``session``
        is its current one, look up which op ids were seen before, ``plan_batch``, apply the fresh
        ops in order (an invalid one recorded as rejected, with a code), record every fresh op id
        (unique per branch), raise the high-water mark to ``plan.hwm_seq``, commit, then return
        ``batch_result``. In the same transaction, write a ``ticket.status`` feed row for every
        ticket whose status or owner the batch changed and for every op applied as a note (one row
        per ticket per batch is enough: the ticket's state after the batch)."""

    def changes(self, branch: str, cursor: int, limit: int) -> ChangesPage:
        """Feed entries for ``branch`` after ``cursor``, at most ``limit`` (a snapshot when the
        cursor is 0, pruned away or above the head). Never skips a row that commits later."""


class BranchStore(Protocol):
    def pending_ops(self, limit: int) -> list[Op]:
        """The oldest ops still in the outbox, in seq order."""

    def pending_count(self) -> int: ...

    def acknowledge(
        self, op_ids: Sequence[str], rejected: Sequence[Rejection], hwm_seq: int
    ) -> None:
        """Central committed these: remove them from the outbox (rejections are kept for staff)
        and raise the next seq above ``hwm_seq``. Ids not in the outbox are ignored."""

    def raise_next_seq(self, hwm_seq: int) -> None:
        """Make every op created from now on have a seq above ``hwm_seq``."""

    def renumber_pending(self, after_seq: int) -> None:
        """Give the outbox's ops the seqs ``after_seq + 1, after_seq + 2, ...`` in their current
        order, and make the next op follow them. Called at WELCOME when the outbox's oldest op has
        a seq central already used (restored backup, lost disk tail)."""

    def resend_acknowledged(self, after_seq: int) -> int:
        """Central lost ops it had acknowledged (it was restored from an older backup; its mark
        ``after_seq`` is below seqs it acknowledged). In one transaction: put every acknowledged
        op this store still holds with a seq above ``after_seq`` back into the outbox, with its
        op id and payload (accepted and rejected ones: central no longer has either outcome), then
        give the whole outbox the seqs ``after_seq + 1, after_seq + 2, ...`` in seq order and make
        the next op follow them (the next seq goes *down* here, the one place it may). Return how
        many ops were put back. A store that keeps no acknowledged ops returns 0 and only
        renumbers; the ops it no longer holds are lost at central and the core reports them."""

    def next_seq(self) -> int: ...

    def feed_cursor(self) -> int: ...

    def apply_changes(self, page: ChangesPage) -> None:
        """Apply the entries and store ``page.to_cursor``, in one transaction; idempotent.

        Normal page: apply only items with ``feed_id`` above the stored cursor, then store
        ``max(cursor, to_cursor)``. Snapshot: apply only when ``page.from_cursor`` equals the
        stored cursor (a stale snapshot changes nothing): replace the reference data, upsert the
        ticket items, store ``to_cursor``."""
