"""What the sync cores need from durable storage, on each side. Protocols only: no I/O here.

The branch agent implements ``BranchStore`` on its SQLite file; the central plugin implements
``CentralStore`` on its database; the simulation implements both in memory with the same rules.
Every method is one transaction: it happens completely or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sync.ops import Op


@dataclass(frozen=True)
class Rejection:
    op_id: str
    code: str  # e.g. "invalid_payload", "unknown_kind", "unknown_entity"
    message: str = ""


@dataclass(frozen=True)
class BatchResult:
    """Central's answer to one PUSH, after its transaction committed."""

    accepted: tuple[str, ...]  # op ids now applied (newly, as a note, or already before)
    rejected: tuple[Rejection, ...]  # op ids that can never apply; recorded, not retried
    hwm_seq: int  # the branch's high-water mark after the batch


@dataclass(frozen=True)
class FeedEntry:
    """One down-feed change: reference data or a central change on one of the branch's tickets."""

    feed_id: int
    kind: str  # e.g. "category.upsert", "kb.upsert", "ticket.status", "ticket.reply"
    entity_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ChangesPage:
    from_cursor: int
    to_cursor: int  # the cursor to store after applying ``items``
    items: tuple[FeedEntry, ...]
    more: bool
    snapshot: bool = False  # True: items replace the branch's whole reference data


@dataclass(frozen=True)
class BranchHello:
    hwm_seq: int
    feed_head: int


@dataclass
class SyncStatus:
    online: bool = False
    pending_ops: int = 0
    last_sync_at: float | None = None
    last_error: str | None = None
    feed_cursor: int = 0
    rejected: list[Rejection] = field(default_factory=list)


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
        """Record that ``branch`` connected; return its high-water mark and the feed head."""

    def apply_batch(self, branch: str, ops: Sequence[Op], *, now: float) -> BatchResult:
        """In one transaction: lock the branch's state, skip op ids already seen, apply the new
        ones in seq order (invalid ones recorded as rejected), raise the high-water mark, commit."""

    def changes(self, branch: str, cursor: int, limit: int) -> ChangesPage:
        """Feed entries for ``branch`` after ``cursor`` (a snapshot when the cursor is too old)."""


class BranchStore(Protocol):
    def pending_ops(self, limit: int) -> list[Op]:
        """The oldest ops still in the outbox, in seq order."""

    def pending_count(self) -> int: ...

    def acknowledge(
        self, op_ids: Sequence[str], rejected: Sequence[Rejection], hwm_seq: int
    ) -> None:
        """Central committed these: remove them from the outbox (rejections are kept for staff)
        and raise the next seq above ``hwm_seq``."""

    def raise_next_seq(self, hwm_seq: int) -> None:
        """Make every op created from now on have a seq above ``hwm_seq``."""

    def next_seq(self) -> int: ...

    def feed_cursor(self) -> int: ...

    def apply_changes(self, page: ChangesPage) -> None:
        """Apply the entries and store ``page.to_cursor``, in one transaction."""
