"""A deterministic world for the two sync cores: one central, several branches, a bad network.

What it owns: simulated time, the fake network (drop, duplicate, reorder, delay, partition), node
crashes and disk faults, the walk-in traffic at branches and the staff's changes at central, and
the ground truth the invariant checkers (``sync.sim.invariants``) compare against.

Rules:
- One ``random.Random(seed)`` decides everything, drawn in a fixed order; no wall clock, no set
  iteration, no hashing of strings: a seed replays exactly (``python -m sync.sim SEED --trace``).
- The cores are the real ``sync.branch`` and ``sync.central`` code. The stores come from
  factories: by default the reference ``sync.memory`` stores; any store meeting
  ``sync.sim.stores.SimBranchStore`` (the agent's SQLite store, through its adapter in ``tests/``)
  or the memory central's interface can stand in. The world only moves frames between them and
  injects faults, like a transport and an operating system would.
- Phases: ``active`` (traffic and faults) then ``heal`` (no more faults, drops, long delays or
  traffic, though messages are still duplicated and reordered within the short delay; crashed
  nodes come back once; nobody is restarted after that) until every branch is quiet or
  ``heal_limit`` passes. The invariants are then checked.

Size: over 500 lines on purpose: the world is one deterministic machine drawing from one random
stream in a fixed order; splitting it would scatter the draw order a seed's replay depends on.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from sync import ops as kinds
from sync.branch import (
    Acked,
    BranchConfig,
    BranchCore,
    BranchState,
    ChangesApplied,
    PeerError,
    Reconnect,
    Welcomed,
)
from sync.central import CentralConfig, CentralCore, Refused
from sync.codec import Ack, Changes, Hello, Push, Send, decode, encode
from sync.ids import HybridClock, uuid7
from sync.memory import MemoryCentralStore
from sync.ops import Op, encode_payload
from sync.sim.stores import CommitState, MemoryBranchSim, SimBranchStore, SimCentralStore

EPOCH = 1_773_700_000.0  # 2026-03-17, the simulation's time zero on central's clock
UNKNOWN_IDENTITY = "0000"  # a key ZAP would refuse: never enrolled
REVOKED_IDENTITY = "0001"  # enrolled, then revoked during the run


class SimCrash(Exception):
    """Raised from a store fault hook: the process dies right there."""


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str


@dataclass(frozen=True)
class Profile:
    """What one seed's world looks like; drawn from the seed."""

    branches: int
    active_for: float
    heal_limit: float
    action_every: float  # mean seconds between walk-in actions at a branch
    staff_every: float
    drop: float
    duplicate: float
    delay: tuple[float, float]
    late: float  # share of messages delayed by tens of seconds (reordering)
    partitions: int
    branch_crashes: int
    lost_tails: int
    restores: int
    central_crashes: int
    mid_batch_crashes: int
    rogue_messages: int
    invalid: float  # share of walk-in ops that central must reject
    read_ahead: float  # central holds a connection's messages up to this long, then handles
    # them together (CentralCore.receive_many: PUSHes that follow each other commit as one); 0:
    # each message at once (receive)
    branch_config: BranchConfig
    central_config: CentralConfig

    @classmethod
    def draw(cls, rng: random.Random) -> Profile:
        ack_timeout = rng.uniform(1.0, 6.0)
        ping = rng.uniform(3.0, 10.0)
        return cls(
            branches=rng.randint(1, 4),
            active_for=rng.uniform(60.0, 240.0),
            heal_limit=400.0,
            action_every=rng.uniform(0.5, 6.0),
            staff_every=rng.uniform(2.0, 15.0),
            drop=rng.choice((0.0, 0.02, 0.1, 0.3)),
            duplicate=rng.choice((0.0, 0.05, 0.2)),
            delay=(0.001, rng.choice((0.01, 0.2, 2.0))),
            late=rng.choice((0.0, 0.02, 0.1)),
            partitions=rng.randint(0, 4),
            branch_crashes=rng.randint(0, 3),
            lost_tails=rng.randint(0, 2),
            restores=rng.randint(0, 2),
            central_crashes=rng.randint(0, 2),
            mid_batch_crashes=rng.randint(0, 3),
            rogue_messages=rng.randint(0, 12),
            invalid=rng.choice((0.0, 0.03, 0.1)),
            branch_config=BranchConfig(
                max_batch_ops=rng.choice((1, 2, 5, 20, 200)),
                window=rng.randint(1, 8),
                ack_timeout=ack_timeout,
                hello_timeout=rng.uniform(1.0, 4.0),
                pull_page=rng.choice((1, 3, 50)),
                pull_interval=rng.uniform(2.0, 8.0),
                ping_interval=ping,
                peer_timeout=max(ping, 4.0) * rng.uniform(2.5, 4.0),
                backoff_base=0.5,
                backoff_max=rng.choice((5.0, 20.0)),
            ),
            central_config=CentralConfig(
                max_page=rng.choice((2, 1000)),
                session_ttl=rng.choice((30.0, 900.0)),
                max_group_ops=rng.choice((1, 3, 50, 2000)),
            ),
            read_ahead=rng.choice((0.0, 0.0, 0.05, 0.5)),
        )


@dataclass
class OpTruth:
    """An op as the branch created it, and what was waiting in its outbox at that moment."""

    op: Op
    pending_before: tuple[Op, ...]


@dataclass
class Truth:
    """What happened, as the world saw it: the checkers compare the stores against this."""

    created: dict[str, dict[str, OpTruth]] = field(default_factory=dict)
    acked: dict[str, dict[str, str]] = field(default_factory=dict)  # op id -> "accepted"/"rejected"
    delivered: dict[str, set[str]] = field(default_factory=dict)  # identity -> op ids it pushed
    pushes: list[tuple[str, Push]] = field(default_factory=list)  # delivered PUSHes, in order
    changes: list[tuple[str, tuple[bytes, bytes]]] = field(default_factory=list)
    replies: dict[str, list[tuple[float, bytes]]] = field(default_factory=dict)
    revoked_at: float | None = None
    online: list[Violation] = field(default_factory=list)  # found while running


class BranchNode:
    def __init__(self, world: World, code: str, clock_skew: float) -> None:
        self.world = world
        self.code = code
        self.store: SimBranchStore = world.branch_store_factory()
        self.core: BranchCore | None = None
        self.incarnation = 0
        self.clock_skew = clock_skew
        self.hlc = HybridClock()
        self.partition_until = 0.0
        self.timer_at: float | None = None
        self.backups: list[object] = []
        self.queue_number = 0
        self.progress: dict[str, str] = {}  # visit id -> "called" | "serving" (the desk's memory)

    @property
    def up(self) -> bool:
        return self.core is not None

    def wall(self, now: float) -> float:
        return EPOCH + now + self.clock_skew


class World:
    def __init__(
        self,
        seed: int,
        *,
        central_store_factory: Callable[[], SimCentralStore] = MemoryCentralStore,
        branch_store_factory: Callable[[], SimBranchStore] = MemoryBranchSim,
        trace: bool = False,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.profile = Profile.draw(self.rng)
        self.branch_store_factory = branch_store_factory
        self.now = 0.0
        self.end_at = self.profile.active_for + self.profile.heal_limit
        self.healed = False
        self.quiet_at: float | None = None
        self.truth = Truth()
        self.stats: Counter[str] = Counter()  # what happened, so tests can see the faults occur
        self.trace: list[str] | None = [] if trace else None
        self._digest = hashlib.sha256()
        self._queue: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._order = itertools.count()
        self.central_store = central_store_factory()
        self.central_core: CentralCore | None = None
        self._central_incarnation = 0
        # Messages central read ahead and has not handled yet, by connection (read_ahead > 0).
        self._central_inbox: dict[str, list[tuple[bytes, bytes]]] = {}
        self._hwm_seen: dict[str, int] = {}
        self.central_store.on_commit = self._central_committed
        self.branches: dict[str, BranchNode] = {}
        for index in range(self.profile.branches):
            code = f"12{index + 1:02d}"
            skew = self.rng.choice((0.0, 0.0, self.rng.uniform(-900, 900)))
            node = BranchNode(self, code, skew)
            node.store.on_commit = self._branch_committed(node)
            self.branches[code] = node
            self.truth.created[code] = {}
            self.truth.acked[code] = {}
            self.central_store.enrol(code)
        self.central_store.enrol(REVOKED_IDENTITY)

    # -- running

    def run(self) -> World:
        self._start_central()
        for node in self.branches.values():
            self._start_branch(node, delay=self.rng.uniform(0.0, 2.0))
            self._at(self.rng.expovariate(1 / self.profile.action_every), self._walk_in, node)
            self._at(self.rng.uniform(5, 40), self._take_backup, node)
        self._at(self.rng.expovariate(1 / self.profile.staff_every), self._staff)
        self._schedule_faults()
        self._at(self.profile.active_for, self._heal)
        while self._queue and self.quiet_at is None:
            when, _, action, args = heapq.heappop(self._queue)
            if when > self.end_at:
                break
            self.now = when
            action(*args)
        return self

    @property
    def digest(self) -> str:
        """A fingerprint of everything that happened, for checking that a seed replays exactly."""
        return self._digest.hexdigest()

    def _at(self, delay: float, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._queue, (self.now + max(delay, 0.0), next(self._order), action, args))

    def _log(self, text: str) -> None:
        self._digest.update(f"{self.now:.6f} {text}\n".encode())
        if self.trace is not None:
            self.trace.append(f"{self.now:10.3f}  {text}")

    # -- central

    def _start_central(self) -> None:
        self._central_incarnation += 1
        self.central_core = CentralCore(self.central_store, self.profile.central_config)
        self._log(f"central up (incarnation {self._central_incarnation})")
        self._at(
            self.profile.central_config.session_ttl / 2,
            self._central_timer,
            self._central_incarnation,
        )

    def _central_timer(self, incarnation: int) -> None:
        if self.central_core is None or incarnation != self._central_incarnation:
            return
        for event in self.central_core.handle_timer(EPOCH + self.now):
            self._log(f"central {event}")
        self._at(self.profile.central_config.session_ttl / 2, self._central_timer, incarnation)

    def _crash_central(self, down_for: float) -> None:
        if self.central_core is None:
            return
        self.central_core = None
        self._central_inbox.clear()  # read ahead, never handled: lost with the process
        self.central_store.fault = None
        self.central_store.crashed()
        self.stats["central crash"] += 1
        self._log(f"central crashed for {down_for:.1f}s")
        if not self.healed:
            self._at(down_for, self._restart_central)

    def _restart_central(self) -> None:
        if self.central_core is None:
            self._start_central()

    def _to_central(self, identity: str, frames: tuple[bytes, bytes]) -> None:
        node = self.branches.get(identity)
        cut = node is not None and self.now < node.partition_until
        self._transmit(cut, self._deliver_to_central, identity, frames)

    def _deliver_to_central(self, identity: str, frames: tuple[bytes, bytes]) -> None:
        core = self.central_core
        if core is None:
            return  # nobody listening: lost
        try:
            message = decode(frames)
        except Exception:  # garbage from the rogue: the core must cope, we just don't record it
            message = None
        if isinstance(message, Push):
            self.truth.delivered.setdefault(identity, set()).update(op.op_id for op in message.ops)
            if identity in self.branches:
                self.truth.pushes.append((identity, message))
        if self.profile.read_ahead <= 0:
            self._central_handle(identity, [frames])
            return
        queued = self._central_inbox.setdefault(identity, [])
        queued.append(frames)
        if len(queued) == 1:
            delay = self.rng.uniform(0.0, self.profile.read_ahead)
            self._at(delay, self._drain_central, identity, self._central_incarnation)

    def _drain_central(self, identity: str, incarnation: int) -> None:
        if self.central_core is None or incarnation != self._central_incarnation:
            return
        messages = self._central_inbox.pop(identity, [])
        if messages:
            self._central_handle(identity, messages)

    def _central_handle(self, identity: str, messages: list[tuple[bytes, bytes]]) -> None:
        core = self.central_core
        assert core is not None
        now = EPOCH + self.now
        try:
            if len(messages) == 1:
                events = core.receive(identity, messages[0], now)
            else:
                events = core.receive_many(identity, messages, now)
        except SimCrash as crash:
            self.stats[f"central crash {crash}"] += 1
            self._log(f"central crashed mid-batch ({crash})")
            self._crash_central(self.rng.uniform(0.5, 10.0))
            return
        if len(messages) > 1:
            self.stats["central read ahead"] += 1
        for event in events:
            if isinstance(event, Send):
                self._central_sent(identity, event.frames)
                self._to_branch(identity, event.frames)
            else:
                if isinstance(event, Refused):
                    self.stats[f"answered {event.code}"] += 1
                self._log(f"central {event}")

    def _central_sent(self, identity: str, frames: tuple[bytes, bytes]) -> None:
        self.truth.replies.setdefault(identity, []).append((self.now, frames[0]))
        if frames[0] != Ack.TYPE or identity not in self.branches:
            return
        ack = decode(frames)
        assert isinstance(ack, Ack)
        records = self.central_store.branches[identity].records
        acked = self.truth.acked[identity]
        for op_id, verdict in [(i, "accepted") for i in ack.accepted] + [
            (r.op_id, "rejected") for r in ack.rejected
        ]:
            if op_id not in records:
                self.truth.online.append(
                    Violation("ack_safety", f"central ACKed {identity}:{op_id} not committed")
                )
            acked[op_id] = verdict

    def _central_committed(self, what: str, branch: str | None) -> None:
        if branch is None or branch not in self.central_store.branches:
            return
        hwm = self.central_store.branches[branch].hwm_seq
        if hwm < self._hwm_seen.get(branch, 0):
            self.truth.online.append(
                Violation("order", f"{branch} high-water mark went back to {hwm} ({what})")
            )
        self._hwm_seen[branch] = hwm

    # -- branches

    def _start_branch(self, node: BranchNode, delay: float = 0.0) -> None:
        node.incarnation += 1
        boot_id = f"{self.rng.getrandbits(64):016x}"
        node.core = BranchCore(
            node.store, boot_id=boot_id, agent_version="sim", config=self.profile.branch_config
        )
        node.timer_at = None
        self._log(f"{node.code} up (boot {boot_id})")
        self._at(delay, self._connect, node, node.incarnation)

    def _connect(self, node: BranchNode, incarnation: int) -> None:
        if node.core is None or incarnation != node.incarnation:
            return
        self._branch_events(node, node.core.connect(self.now, node.wall(self.now)))

    def _branch_timer(self, node: BranchNode, incarnation: int) -> None:
        if node.core is None or incarnation != node.incarnation:
            return
        node.timer_at = None
        self._branch_events(node, node.core.handle_timer(self.now))

    def _branch_events(self, node: BranchNode, events: list[Any]) -> None:
        assert node.core is not None
        for event in events:
            if isinstance(event, Send):
                self._to_central(node.code, event.frames)
            elif isinstance(event, Reconnect):
                self.stats["reconnect"] += 1
                self._log(f"{node.code} reconnect in {event.delay:.1f}s: {event.reason}")
                jitter = self.rng.uniform(0.5, 1.5)
                self._at(event.delay * jitter, self._connect, node, node.incarnation)
            else:
                self._count(event)
                self._log(f"{node.code} {event}")
        deadline = node.core.next_deadline()
        if deadline is not None and (node.timer_at is None or deadline < node.timer_at):
            node.timer_at = max(deadline, self.now + 1e-3)
            self._at(node.timer_at - self.now, self._branch_timer, node, node.incarnation)

    def _count(self, event: object) -> None:
        if isinstance(event, Welcomed) and event.renumbered:
            self.stats["renumbered"] += 1
        elif isinstance(event, Acked):
            self.stats["deferred"] += bool(event.deferred)
            self.stats["rejected"] += len(event.rejected)
        elif isinstance(event, ChangesApplied) and event.snapshot:
            self.stats["snapshot"] += 1
        elif isinstance(event, PeerError):
            self.stats[f"branch got {event.code}"] += 1

    def _to_branch(self, identity: str, frames: tuple[bytes, bytes]) -> None:
        node = self.branches.get(identity)
        if node is None:
            return  # the rogue's answers are only recorded
        self._transmit(self.now < node.partition_until, self._deliver_to_branch, node, frames)

    def _deliver_to_branch(self, node: BranchNode, frames: tuple[bytes, bytes]) -> None:
        if node.core is None:
            return
        if frames[0] == Changes.TYPE:
            self.truth.changes.append((node.code, frames))
        self._branch_events(node, node.core.receive(frames, self.now))

    def _crash_branch(self, node: BranchNode, disk: str) -> None:
        if node.core is None or self.healed:
            return
        node.core = None
        detail = ""
        self.stats[f"branch crash ({disk})"] += 1
        if disk == "lost_tail":
            detail = f", lost its last {node.store.lose_tail(self.rng.randint(1, 6))} transactions"
        elif disk == "restore" and node.backups:
            backup = self.rng.choice(node.backups)
            node.store.restore(backup)
            detail = f", restored a backup with {node.store.pending_count()} ops pending"
        self._log(f"{node.code} crashed{detail}")
        self._at(self.rng.uniform(0.5, 30.0), self._restart_branch, node)

    def _restart_branch(self, node: BranchNode) -> None:
        if node.core is None:
            self._start_branch(node, delay=self.rng.uniform(0.0, 1.0))

    def _take_backup(self, node: BranchNode) -> None:
        if self.healed:
            return
        node.backups.append(node.store.backup())
        self._at(self.rng.uniform(10, 60), self._take_backup, node)

    def _branch_committed(
        self, node: BranchNode
    ) -> Callable[[CommitState, CommitState, str], None]:
        def check(before: CommitState, after: CommitState, what: str) -> None:
            if after.cursor < before.cursor:
                self.truth.online.append(
                    Violation("order", f"{node.code} feed cursor went back ({what})")
                )
            if what == "record" or len(after.outbox) >= len(before.outbox):
                return
            kept = {op.op_id for op in after.outbox}
            records = self.central_store.branches[node.code].records
            for op in before.outbox:
                if op.op_id not in kept and op.op_id not in records:
                    self.truth.online.append(
                        Violation(
                            "ack_safety",
                            f"{node.code}:{op.op_id} left the outbox ({what}) before central "
                            "committed it",
                        )
                    )

        return check

    # -- the network

    def _transmit(self, cut: bool, deliver: Callable[..., None], *args: Any) -> None:
        profile = self.profile
        if cut:
            if self.rng.random() < 0.3:  # queued by the sender's socket, delivered after
                node = args[0] if isinstance(args[0], BranchNode) else self.branches[args[0]]
                self._at(node.partition_until - self.now + self._delay(), deliver, *args)
            return
        if not self.healed and self.rng.random() < profile.drop:
            self.stats["dropped"] += 1
            return
        copies = 2 if self.rng.random() < profile.duplicate else 1
        self.stats["duplicated"] += copies - 1
        for _ in range(copies):
            self._at(self._delay(), deliver, *args)

    def _delay(self) -> float:
        low, high = self.profile.delay
        if not self.healed and self.rng.random() < self.profile.late:
            self.stats["late"] += 1
            return self.rng.uniform(5.0, 40.0)
        return self.rng.uniform(low, high)

    # -- traffic

    def _walk_in(self, node: BranchNode) -> None:
        if self.healed:
            return
        self._at(self.rng.expovariate(1 / self.profile.action_every), self._walk_in, node)
        if node.core is None:
            return
        kind, entity_id, payload = self._next_action(node)
        wall_ms = int(node.wall(self.now) * 1000)
        pending = node.store.pending_snapshot()
        op = node.store.record(
            kind, entity_id, payload, op_id=self._op_id(wall_ms), hlc=node.hlc.tick(wall_ms)
        )
        self.truth.created[node.code][op.op_id] = OpTruth(op, pending)
        self._log(f"{node.code} recorded {op.kind} {op.entity_id[:8]} seq {op.seq}")
        self._branch_events(node, node.core.outbox_changed(self.now))

    def _next_action(self, node: BranchNode) -> tuple[str, str, dict[str, Any]]:
        rng = self.rng
        now_iso = "2026-03-17T09:00:00+07:00"
        tickets = list(node.store.local_tickets().items())
        if rng.random() < self.profile.invalid:
            entity = tickets[rng.randrange(len(tickets))][0] if tickets else self._uuid()
            return rng.choice(
                (
                    ("visit.teleported", entity, {}),
                    (kinds.RATING_GIVEN, entity, {"scores": {"U1": 9}, "overall": 9}),
                    (
                        kinds.VISIT_CALLED,
                        self._uuid(),
                        {"desk": "1", "called_at": now_iso, "wait_seconds": 1},
                    ),
                    (kinds.VISIT_CREATED, self._uuid(), {"service": "konsultasi"}),
                )
            )
        open_ = [(e, v) for e, v in tickets if v.status not in ("closed", "resolved", "escalated")]
        if not open_ or rng.random() < 0.3:
            node.queue_number += 1
            return (
                kinds.VISIT_CREATED,
                self._uuid(),
                encode_payload(
                    kinds.VisitCreated(
                        service="konsultasi",
                        queue_number=f"K-{node.queue_number % 1000:03d}",
                        service_day="2026-03-17",
                        issued_at=now_iso,
                    )
                ),
            )
        if rng.random() < 0.1 and tickets:  # a late step on any ticket: maybe central's by now
            entity = tickets[rng.randrange(len(tickets))][0]
            return kinds.VISIT_RESOLVED, entity, self._resolved(now_iso)
        entity, _view = open_[rng.randrange(len(open_))]
        # Calls and service starts are records, never a status change (sync.ownership): the
        # front office remembers how far each visit got, the ticket's status does not say.
        steps: dict[str, tuple[str, dict[str, Any]]] = {
            "": (
                kinds.VISIT_CALLED,
                encode_payload(
                    kinds.VisitCalled(desk="1", called_at=now_iso, wait_seconds=rng.randint(0, 900))
                ),
            ),
            "called": (
                kinds.VISIT_SERVED,
                encode_payload(kinds.VisitServed(desk="1", officer="Sari", started_at=now_iso)),
            ),
        }
        progress = node.progress.get(entity, "")
        if progress in steps and rng.random() < 0.9:
            kind, payload = steps[progress]
            node.progress[entity] = "called" if kind == kinds.VISIT_CALLED else "serving"
            return kind, entity, payload
        choice = rng.random()
        if choice < 0.3:
            payload = encode_payload(
                kinds.ConsultationNoted(subject="data", notes="PDRB 2025", officer="Sari")
            )
            return kinds.CONSULTATION_NOTED, entity, payload
        if choice < 0.4:
            payload = encode_payload(
                kinds.GuestbookRecorded(
                    name="Budi",
                    institution="USU",
                    email="",
                    phone="",
                    id_type="ktp",
                    id_hash="ab" * 32,
                    id_last4="1234",
                    purpose="skripsi",
                    consent=True,
                    recorded_at=now_iso,
                )
            )
            return kinds.GUESTBOOK_RECORDED, entity, payload
        if choice < 0.5:
            payload = encode_payload(kinds.RatingGiven(scores={"U1": 4, "U2": 3}, overall=4))
            return kinds.RATING_GIVEN, entity, payload
        if choice < 0.6:
            return (
                kinds.VISIT_NO_SHOW,
                entity,
                encode_payload(kinds.VisitNoShow(desk="1", at=now_iso)),
            )
        if choice < 0.8:
            payload = encode_payload(
                kinds.VisitEscalated(
                    follow_up="zoom",
                    note="needs microdata",
                    finished_at=now_iso,
                    service_seconds=600,
                )
            )
            return kinds.VISIT_ESCALATED, entity, payload
        return kinds.VISIT_RESOLVED, entity, self._resolved(now_iso)

    def _resolved(self, now_iso: str) -> dict[str, Any]:
        return encode_payload(
            kinds.VisitResolved(outcome="resolved", finished_at=now_iso, service_seconds=300)
        )

    def _staff(self) -> None:
        if self.healed:
            return
        self._at(self.rng.expovariate(1 / self.profile.staff_every), self._staff)
        if self.central_core is None:
            return  # the site shares the database, but keep it simple: staff need the server up
        rng, store = self.rng, self.central_store
        choice = rng.random()
        if choice < 0.5:
            code = rng.choice(list(self.branches))
            tickets = list(store.tickets(code))
            if tickets:
                entity = tickets[rng.randrange(len(tickets))]
                status = rng.choice(("open", "pending", "resolved", "closed"))
                store.staff_set_status(code, entity, status)
                self.stats["staff change"] += 1
                self._log(f"staff set {code}:{entity[:8]} {status}")
        elif choice < 0.9:
            family = rng.choice(("category", "kb", "channel"))
            entity = str(rng.randint(1, 6))
            if rng.random() < 0.15:
                store.publish_reference(f"{family}.delete", entity, {})
            else:
                store.publish_reference(
                    f"{family}.upsert",
                    entity,
                    {"name": f"{family} {entity}", "v": rng.randint(1, 99)},
                )
            self._log(f"staff published {family} {entity}")
        else:
            through = store.head - rng.randint(0, 5)
            store.prune(through)
            self.stats["prune"] += 1
            self._log(f"feed pruned through {through}")

    # -- faults

    def _schedule_faults(self) -> None:
        profile, rng = self.profile, self.rng
        span = profile.active_for
        codes = list(self.branches)
        for _ in range(profile.partitions):
            self._at(rng.uniform(0, span), self._partition, rng.choice(codes), rng.uniform(3, 60))
        for disk, count in (
            ("none", profile.branch_crashes),
            ("lost_tail", profile.lost_tails),
            ("restore", profile.restores),
        ):
            for _ in range(count):
                self._at(
                    rng.uniform(0, span), self._crash_branch, self.branches[rng.choice(codes)], disk
                )
        for _ in range(profile.central_crashes):
            self._at(rng.uniform(0, span), self._crash_central, rng.uniform(1, 20))
        for _ in range(profile.mid_batch_crashes):
            self._at(
                rng.uniform(0, span),
                self._arm_mid_batch,
                rng.choice(("before_commit", "after_commit")),
            )
        revoke_at = rng.uniform(0, span)
        self._at(revoke_at, self._revoke)
        for _ in range(profile.rogue_messages):
            self._at(rng.uniform(0, span), self._rogue)

    def _partition(self, code: str, length: float) -> None:
        if self.healed:
            return
        node = self.branches[code]
        node.partition_until = max(node.partition_until, self.now + length)
        self.stats["partition"] += 1
        self._log(f"{code} cut off for {length:.1f}s")

    def _arm_mid_batch(self, point: str) -> None:
        if self.healed:
            return

        def fault(name: str) -> None:
            if name == point:
                self.central_store.fault = None
                raise SimCrash(point)

        self.central_store.fault = fault

    def _revoke(self) -> None:
        self.central_store.revoke(REVOKED_IDENTITY)
        self.truth.revoked_at = self.now
        self._log(f"key of {REVOKED_IDENTITY} revoked")

    def _rogue(self) -> None:
        """A peer that should never get anything: an unknown key, a revoked one, garbage."""
        rng = self.rng
        revoked = self.truth.revoked_at is not None
        identity = REVOKED_IDENTITY if revoked and rng.random() < 0.5 else UNKNOWN_IDENTITY
        hello = Hello(
            protocol=1,
            agent_version="x",
            boot_id="rogue",
            next_seq=1,
            feed_cursor=0,
            branch_time=EPOCH,
        )
        stolen = [
            t.op for created in self.truth.created.values() for t in list(created.values())[:3]
        ]
        choice = rng.randrange(6)
        if choice == 0:
            frames = encode(hello)
        elif choice == 1:  # a body that names a branch: must be refused, never believed
            body = msgspec.msgpack.encode({**msgspec.structs.asdict(hello), "branch": "1201"})
            frames = (Hello.TYPE, body)
        elif choice == 2 and stolen:
            ops = sorted({op.op_id: op for op in stolen}.values(), key=lambda op: op.seq)
            ops = [msgspec.structs.replace(op, seq=n) for n, op in enumerate(ops, 1)]
            frames = encode(Push(batch_id=1, session=rng.randint(0, 5), ops=ops))
        elif choice == 3:
            frames = (b"PULL", msgspec.msgpack.encode({"cursor": 0, "max": 10}))
        elif choice == 4:
            frames = (rng.randbytes(rng.randint(0, 20)), rng.randbytes(rng.randint(0, 50)))
        else:
            frames = (b"PUSH", b"\xc1")
        self._log(f"rogue {identity} sends {frames[0][:10]!r}")
        self._to_central(identity, frames)

    def _heal(self) -> None:
        self.healed = True
        self.central_store.fault = None
        # Liveness is "eventually"; the bound grows with the backlog, which tiny batches drain
        # one round trip at a time.
        config, head = self.profile.branch_config, self.central_store.head
        backlog = max(
            n.store.pending_count() / config.max_batch_ops
            + (head - n.store.feed_cursor()) / config.pull_page
            for n in self.branches.values()
        )
        self.end_at = self.now + self.profile.heal_limit + 3.0 * backlog
        self._log("healed")
        if self.central_core is None:
            self._start_central()
        for node in self.branches.values():
            node.partition_until = 0.0
            if node.core is None:
                self._start_branch(node)
        self._at(1.0, self._check_quiet)

    def _check_quiet(self) -> None:
        if self.is_quiet():
            self.quiet_at = self.now
            self._log("quiet")
        else:
            self._at(1.0, self._check_quiet)

    def is_quiet(self) -> bool:
        """Liveness reached: every outbox empty, every cursor at the head, every branch online."""
        head = self.central_store.head
        return self.central_core is not None and all(
            node.core is not None
            and node.core.state is BranchState.READY
            and node.store.pending_count() == 0
            and node.store.feed_cursor() == head
            for node in self.branches.values()
        )

    # -- ids

    def _uuid(self) -> str:
        return self._op_id(int((EPOCH + self.now) * 1000))

    def _op_id(self, wall_ms: int) -> str:
        return uuid7(wall_ms, self.rng.getrandbits(74))


__all__ = ["EPOCH", "Profile", "SimCrash", "Violation", "World"]
