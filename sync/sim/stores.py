"""What the simulated world needs of the stores it drives, so it can drive more than one kind.

The cores only need ``sync.store``'s protocols. The world needs more: it records the branch's own
writes, chooses the next walk-in from the branch's local view, injects disk faults, watches every
commit, and the invariant checkers read what each side holds. ``SimBranchStore`` and
``SimCentralStore`` say exactly that. The memory stores meet them (the branch one through
``MemoryBranchSim``, a subclass, so ``sync.memory`` keeps only the reference rules); the shipped
stores meet them through adapters kept in ``tests/`` (``sync`` imports no Django): the agent's
SQLite store in ``tests/sync/shipped_stores.py``, central's Django store in
``tests/sync/shipped_central.py``, each in its own process under its program's settings.

Rules:
- ``record`` is one local write: the op into the outbox (with the op id and hybrid-clock value the
  world chose, so a seed replays) and its effect on the branch's local view, in one transaction.
- ``on_commit(before, after, what)`` is called after every transaction with the outbox and feed
  cursor before and after it (``CommitState``), so ack-safety and order are checked as they
  happen, whatever the store.
- ``central_view`` is the branch's copy of central's state of its tickets, in ``TicketView``
  terms, restricted to ``VIEW_FIELDS`` (the fields this store keeps); convergence compares it with
  central's, field by field. ``reference_view`` likewise for reference data, or None when the
  store does not keep it in the memory model's shape (then only tickets are compared).
- ``backup``/``restore``/``lose_tail`` model an administrator's backup, a restore of an older
  one, and a disk that lied about fsync (the last transactions gone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from sync.memory import BranchDurable, MemoryBranchStore, TicketView
from sync.ops import Op
from sync.store import BranchStore, CentralStore, ChangesPage


class CommitState(Protocol):
    """What the world checks at each branch commit: the outbox and the feed cursor
    (``sync.memory.BranchDurable`` has both; an adapter may pass any object that does)."""

    @property
    def outbox(self) -> tuple[Op, ...]: ...

    @property
    def cursor(self) -> int: ...


@dataclass(frozen=True)
class BranchCommit:
    outbox: tuple[Op, ...]
    cursor: int


CommitHook = Callable[[CommitState, CommitState, str], None]


class SimBranchStore(BranchStore, Protocol):
    VIEW_FIELDS: ClassVar[tuple[str, ...]]
    on_commit: CommitHook | None

    def record(
        self, kind: str, entity_id: str, payload: dict[str, Any], *, op_id: str, hlc: int
    ) -> Op: ...

    def pending_snapshot(self) -> tuple[Op, ...]:
        """The outbox as it is now (kept by the world as "what was waiting before this op")."""

    def local_tickets(self) -> Mapping[str, TicketView]:
        """The branch's own view of its tickets, to choose the next walk-in step."""

    def central_view(self) -> Mapping[str, TicketView]: ...

    def reference_view(self) -> Mapping[tuple[str, str], Any] | None: ...

    def backup(self) -> object: ...

    def restore(self, backup: object) -> None: ...

    def lose_tail(self, transactions: int) -> int: ...

    def outbox_ids(self) -> list[str]: ...

    def fingerprint(self) -> tuple[Any, ...]: ...


class CentralLedger(Protocol):
    """What central holds of one branch's ops, for the checkers (``sync.memory.CentralBranch``)."""

    @property
    def hwm_seq(self) -> int: ...

    @property
    def records(self) -> Mapping[str, Any]:
        """op id -> a record whose ``op`` is the op as first received."""

    @property
    def apply_log(self) -> Sequence[tuple[str, int]]:
        """(op id, seq) in apply order."""

    @property
    def effects(self) -> Sequence[str]:
        """Op ids whose effect was applied or noted, one entry per effect."""


class SimCentralStore(CentralStore, Protocol):
    """What the world needs of central's store: the ``CentralStore`` protocol, the admin's and
    staff's changes, the crash hooks and what the checkers read. ``MemoryCentralStore`` meets it;
    an adapter for central's Django store would, in its own process (central's settings)."""

    @property
    def branches(self) -> Mapping[str, CentralLedger]:
        """Every identity central keeps state for."""

    @property
    def reference(self) -> Mapping[tuple[str, str], Any]: ...

    fault: Callable[[str], None] | None  # called before and after a batch commits
    on_commit: Callable[[str, str | None], None] | None

    @property
    def head(self) -> int: ...

    def enrol(self, code: str) -> None: ...

    def revoke(self, code: str) -> None: ...

    def crashed(self) -> None:
        """The process died: drop whatever was not committed."""

    def staff_set_status(self, branch: str, entity_id: str, status: str) -> bool: ...

    def publish_reference(self, kind: str, entity_id: str, payload: dict[str, Any]) -> None: ...

    def prune(self, through: int) -> None: ...

    def tickets(self, branch: str) -> Mapping[str, TicketView]: ...

    def snapshot(self, branch: str, cursor: int) -> ChangesPage: ...

    def fingerprint(self) -> tuple[Any, ...]: ...


class MemoryBranchSim(MemoryBranchStore):
    """The reference branch store, as the world drives it."""

    VIEW_FIELDS: ClassVar[tuple[str, ...]] = ("status", "owner")

    def __init__(self) -> None:
        super().__init__()
        self._hook: CommitHook | None = None

    @property  # type: ignore[override]
    def on_commit(self) -> CommitHook | None:
        return self._hook

    @on_commit.setter
    def on_commit(self, hook: CommitHook | None) -> None:
        self._hook = hook

    def _commit(self, state: BranchDurable, what: str) -> None:
        before = self.durable
        self.durable = state
        self._history.append(state)
        if self._hook is not None:
            self._hook(
                BranchCommit(before.outbox, before.cursor),
                BranchCommit(state.outbox, state.cursor),
                what,
            )

    def pending_snapshot(self) -> tuple[Op, ...]:
        return self.durable.outbox  # immutable: kept as is, not copied

    def local_tickets(self) -> Mapping[str, TicketView]:
        return self.durable.tickets

    def central_view(self) -> Mapping[str, TicketView]:
        return self.durable.tickets

    def reference_view(self) -> Mapping[tuple[str, str], Any] | None:
        return self.durable.reference

    def restore(self, backup: object) -> None:
        assert isinstance(backup, BranchDurable)
        super().restore(backup)


def comparable(view: TicketView | None, fields: Sequence[str]) -> tuple[Any, ...] | None:
    """A ticket view reduced to the fields a store keeps (None: the store has no such ticket)."""
    return None if view is None else tuple(getattr(view, name) for name in fields)


__all__ = [
    "BranchCommit",
    "CentralLedger",
    "CommitHook",
    "CommitState",
    "MemoryBranchSim",
    "SimBranchStore",
    "SimCentralStore",
    "comparable",
]
