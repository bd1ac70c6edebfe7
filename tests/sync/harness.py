"""Two real cores on the reference stores, joined by a hand-driven link: the tests decide which
frames arrive, in which order, and when time passes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from sync import ops as kinds
from sync.branch import BranchConfig, BranchCore, BranchEvent
from sync.central import CentralConfig, CentralCore
from sync.codec import Send, decode
from sync.memory import MemoryBranchStore, MemoryCentralStore
from sync.ops import Op, encode_payload

WALL = 1_773_700_000.0  # branch and central agree on the wall clock unless a test says otherwise
BRANCH = "1222"
_ids = itertools.count(1)


def op_id() -> str:
    return f"019cf8c2-de0e-7d75-806c-{next(_ids):012x}"


def visit_id() -> str:
    return f"019cf8c2-aaaa-7aaa-8aaa-{next(_ids):012x}"


def created_payload(number: int = 1) -> dict[str, Any]:
    return encode_payload(
        kinds.VisitCreated(
            service="konsultasi",
            queue_number=f"K-{number:03d}",
            service_day="2026-03-17",
            issued_at="2026-03-17T09:00:00+07:00",
        )
    )


def called_payload() -> dict[str, Any]:
    return encode_payload(
        kinds.VisitCalled(desk="1", called_at="2026-03-17T09:05:00+07:00", wait_seconds=300)
    )


@dataclass
class Link:
    """One branch and central. ``to_central``/``to_branch`` hold frames sent and not delivered."""

    central_store: MemoryCentralStore
    central: CentralCore
    store: MemoryBranchStore
    branch: BranchCore
    now: float = 0.0
    to_central: list[tuple[bytes, bytes]] = field(default_factory=list)
    to_branch: list[tuple[bytes, bytes]] = field(default_factory=list)
    branch_events: list[BranchEvent] = field(default_factory=list)
    central_events: list[Any] = field(default_factory=list)

    def record(
        self,
        kind: str = kinds.VISIT_CREATED,
        entity: str | None = None,
        *,
        notify: bool = True,
        **payload: Any,
    ) -> Op:
        """An op written by the agent's UI; ``notify`` tells the core, as the agent does."""
        if not payload:
            payload = created_payload() if kind == kinds.VISIT_CREATED else called_payload()
        op = self.store.record(kind, entity or visit_id(), payload, op_id=op_id(), hlc=1)
        if notify:
            self.outbox_changed()
        return op

    def outbox_changed(self) -> None:
        self._branch(self.branch.outbox_changed(self.now))

    def connect(self, wall_offset: float = 0.0) -> None:
        self._branch(self.branch.connect(self.now, WALL + self.now + wall_offset))

    def tick(self, seconds: float) -> None:
        self.now += seconds
        self._branch(self.branch.handle_timer(self.now))

    def deliver_to_central(self, index: int = 0) -> None:
        frames = self.to_central.pop(index)
        for event in self.central.receive(BRANCH, frames, WALL + self.now):
            if isinstance(event, Send):
                self.to_branch.append(event.frames)
            else:
                self.central_events.append(event)

    def deliver_to_branch(self, index: int = 0) -> None:
        self._branch(self.branch.receive(self.to_branch.pop(index), self.now))

    def settle(self, limit: int = 1000) -> None:
        """Deliver everything, in order, until nothing moves."""
        for _ in range(limit):
            if self.to_central:
                self.deliver_to_central()
            elif self.to_branch:
                self.deliver_to_branch()
            else:
                return
        raise AssertionError("the link never settled")

    def sent_types(self) -> list[bytes]:
        return [frames[0] for frames in self.to_central]

    def pending(self) -> list[int]:
        return [op.seq for op in self.store.durable.outbox]

    def decoded(self, frames: tuple[bytes, bytes]) -> Any:
        return decode(frames)

    def _branch(self, events: list[BranchEvent]) -> None:
        for event in events:
            if isinstance(event, Send):
                self.to_central.append(event.frames)
            else:
                self.branch_events.append(event)


def make_link(
    config: BranchConfig | None = None,
    central_config: CentralConfig | None = None,
    store: MemoryBranchStore | None = None,
    central_store: MemoryCentralStore | None = None,
    boot_id: str = "boot-1",
) -> Link:
    central_store = central_store or MemoryCentralStore()
    central_store.enrol(BRANCH)
    store = store or MemoryBranchStore()
    return Link(
        central_store=central_store,
        central=CentralCore(central_store, central_config),
        store=store,
        branch=BranchCore(store, boot_id=boot_id, agent_version="test", config=config),
    )
