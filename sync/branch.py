"""The branch side of the sync protocol, as a pure state machine (sans-IO, h11 style).

What it owns: the connection's state, which ops are in flight, the PUSH window, retransmission,
the PULL loop, heartbeats, reconnect decisions and the sync status the UI shows. The transport
(``sync.transport``) owns the socket and carries out ``Send`` and ``Reconnect``; the store
(``sync.store.BranchStore``, the agent's SQLite) owns the outbox, seqs and the feed cursor.
``docs/protocol.md`` is the contract.

Rules:
- Frames in, events out; time is passed in (``now``: a monotonic clock in seconds; ``wall_time``
  only where the branch's own wall clock is reported). No socket, no clock, no disk, no Django.
- The core calls the store it was given, one transaction per call; every decision is re-derived
  from the store after a restart, so a crash between two calls loses nothing.
- An op leaves the outbox only through ``store.acknowledge`` with ids central listed in an ACK,
  which central sends only after its commit. Nothing else removes ops.
- Seqs: at every adopted WELCOME, if the oldest pending op has a seq central already used (the
  branch lost state: restored backup, lost disk tail), the outbox is renumbered above central's
  high-water mark before anything is sent in the new session. If instead central's mark is below
  seqs central acknowledged (every seq under the oldest pending op, or under the next seq when
  the outbox is empty, was acknowledged after central's commit), central lost them (it was
  restored from an older backup): the store puts back every acknowledged op it still holds above
  the mark and renumbers the outbox from the mark + 1, so nothing waits on numbers central will
  never see, and what it no longer holds is reported (``CentralLost``). Otherwise the next seq is
  raised above the mark. Within a session nothing is renumbered, so every PUSH of a session uses
  one numbering.
- Window: at most ``window`` PUSH batches of at most ``max_batch_ops`` ops in flight; a batch not
  answered in ``ack_timeout`` is sent again unchanged. Ops central deferred (an earlier batch is
  still on its way) wait until no batch in flight holds a lower seq, or ``ack_timeout`` passes,
  then go again. Only the ACK of a batch in flight in this session removes ops: a late ACK from
  an older session is ignored (its ops hold seqs of this session's numbering; they are sent again
  and come back as already applied, so no seq is left unused).
- Feed: one PULL in flight; a CHANGES page is applied only if its ``from`` is the stored cursor,
  so duplicated or late pages change nothing; the store applies a page and its cursor at once.
- One connection, one HELLO: the connection is reliable and ordered (ZeroMQ delivers in order or
  drops the connection), so an unanswered HELLO is waiting in a busy central's queue, not lost.
  Sending it again would open another session that fences this branch's own PUSHes. HELLO is
  sent again on the same connection only when central says the session is gone.
- Timeouts follow the answers: resends wait ``ack_timeout`` or twice the slowest recent answer
  time, whichever is longer (TCP's rule: a slow central is not asked twice for the same work).
- Liveness comes from the link: the transport calls ``link_alive`` while the connection is up
  (ZMTP heartbeats answered). Only when neither central nor the link has shown life for
  ``peer_timeout`` is the connection dead and the core asks the transport to reconnect with
  exponential backoff. A slow central on a live link is waited for, not abandoned.

Size: over 500 lines on purpose: one state machine, the branch half of the protocol; its
transitions read best together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sync import PROTOCOL_VERSION, ids
from sync.codec import (
    FROM_CENTRAL,
    MAX_BATCH_OPS,
    MAX_PAGE_ITEMS,
    Ack,
    Changes,
    CodecError,
    Error,
    ErrorCode,
    Hello,
    LocalProtocolError,
    Ping,
    Pong,
    Pull,
    Push,
    Send,
    Welcome,
    decode,
    encode,
)
from sync.ops import Op
from sync.store import (
    BranchStore,
    CentralLost,
    ChangesPage,
    FeedEntry,
    Rejection,
    SyncStatus,
)


class BranchState(Enum):
    IDLE = "idle"  # no connection: the transport calls connect() when it has one
    HELLO_SENT = "hello_sent"
    READY = "ready"  # WELCOME adopted: pushing and pulling in the current session
    CLOSED = "closed"  # central speaks another protocol version: the agent must be upgraded


@dataclass(frozen=True)
class BranchConfig:
    max_batch_ops: int = 200
    window: int = 8  # PUSH batches in flight: twice a central group of the agent's 500-op batches
    ack_timeout: float = 10.0  # resend a PUSH or PULL not answered in this time
    ack_timeout_max: float = 120.0  # the longest resend wait that slow answers may stretch it to
    hello_timeout: float = 5.0  # at most one HELLO per this long on one connection
    pull_page: int = 1000
    pull_interval: float = 5.0  # pull again this long after the feed was caught up
    ping_interval: float = 10.0  # PING after this long without sending anything
    peer_timeout: float = 35.0  # no sign of central or of the link this long: reconnect
    backoff_base: float = 1.0  # reconnect delays: base * 2**n, at most backoff_max
    backoff_max: float = 60.0
    keep_rejections: int = 100  # rejections remembered for status()

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.max_batch_ops <= MAX_BATCH_OPS:
            problems.append(f"max_batch_ops={self.max_batch_ops} (1..{MAX_BATCH_OPS})")
        if not 1 <= self.window <= 64:
            problems.append(f"window={self.window} (1..64)")
        if not 1 <= self.pull_page <= MAX_PAGE_ITEMS:
            problems.append(f"pull_page={self.pull_page} (1..{MAX_PAGE_ITEMS})")
        if self.ack_timeout_max < self.ack_timeout:
            problems.append(f"ack_timeout_max={self.ack_timeout_max} (>= ack_timeout)")
        for name in ("ack_timeout", "hello_timeout", "pull_interval", "ping_interval"):
            if getattr(self, name) <= 0:
                problems.append(f"{name}={getattr(self, name)} (> 0)")
        if self.peer_timeout <= max(self.ping_interval, self.hello_timeout):
            problems.append(f"peer_timeout={self.peer_timeout} (> ping and hello intervals)")
        if not 0 < self.backoff_base <= self.backoff_max:
            problems.append(f"backoff_base={self.backoff_base} (0 < base <= backoff_max)")
        if problems:
            raise LocalProtocolError("config", "bad BranchConfig: " + ", ".join(problems))


# -- events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconnect:
    """Close the connection; call ``connect()`` on a new one after ``delay`` seconds (the
    transport may add jitter)."""

    delay: float
    reason: str


@dataclass(frozen=True)
class Welcomed:
    session: int
    hwm_seq: int
    feed_head: int
    clock_skew: float  # this branch's clock minus central's, seconds (sync.ids.clock_skew)
    renumbered: bool  # the outbox was renumbered above hwm_seq


@dataclass(frozen=True)
class Acked:
    batch_id: int
    accepted: int
    rejected: tuple[Rejection, ...]
    deferred: int


@dataclass(frozen=True)
class ChangesApplied:
    from_cursor: int
    to_cursor: int
    items: int
    snapshot: bool


@dataclass(frozen=True)
class PeerError:
    """Central answered ``ERROR``."""

    code: str
    message: str


@dataclass(frozen=True)
class PeerMisbehaved:
    """Central sent frames that are not a valid message; they were ignored."""

    code: str
    message: str


@dataclass(frozen=True)
class Closed:
    reason: str


BranchEvent = (
    Send
    | Reconnect
    | Welcomed
    | CentralLost
    | Acked
    | ChangesApplied
    | PeerError
    | PeerMisbehaved
    | Closed
)


@dataclass
class _Batch:
    op_ids: tuple[str, ...]
    seqs: tuple[int, ...]  # increasing
    frames: tuple[bytes, bytes]
    sent_at: float
    resent: bool = False  # an answer then says nothing about how long central takes
    retry_at: float | None = None  # central answered ERROR: send again at this time


class BranchCore:
    """One branch agent's end of the protocol. One instance per process run (``boot_id``)."""

    def __init__(
        self,
        store: BranchStore,
        *,
        boot_id: str,
        agent_version: str,
        config: BranchConfig | None = None,
    ) -> None:
        self.store = store
        self.boot_id = boot_id
        self.agent_version = agent_version
        self.config = config or BranchConfig()
        self.state = BranchState.IDLE
        self.session = 0
        self._in_flight: dict[int, _Batch] = {}
        self._in_flight_ops: set[str] = set()
        # Deferred by central while an earlier op was still on its way: held back until no batch
        # in flight has a lower seq, or ack_timeout passes. op id -> seq.
        self._parked: dict[str, int] = {}
        self._parked_until = 0.0
        self._next_batch_id = 1
        self._pull_cursor: int | None = None  # cursor of the PULL in flight
        self._pull_sent_at = 0.0
        self._pull_resent = False
        self._next_pull_at: float | None = None
        self._last_received = 0.0
        self._link_alive_at = -float("inf")
        self._last_sent = 0.0
        self._hello_sent_at = -float("inf")
        self._hello_retry_at: float | None = None  # central answered the HELLO with an ERROR
        self._answer_time = 0.0  # how long central takes to answer, lately (slowest, decaying)
        self._reconnects = 0
        self._wall_offset = 0.0
        self._last_sync: float | None = None
        self._last_error: str | None = None
        self._clock_skew: float | None = None
        self._rejected: dict[str, Rejection] = {}
        self._central_lost: CentralLost | None = None

    # -- driver API

    def connect(self, now: float, wall_time: float) -> list[BranchEvent]:
        """The transport has a (new) connection to central: say HELLO."""
        if self.state is BranchState.CLOSED:
            raise LocalProtocolError("closed", "central refused this protocol version")
        self._wall_offset = wall_time - now
        self._reset_connection()
        self.state = BranchState.HELLO_SENT
        self._last_received = now
        self._link_alive_at = -float("inf")
        return [self._hello(now)]

    def link_alive(self, now: float) -> None:
        """The transport sees the connection up (ZMTP heartbeats answered, so the peer's process
        and the path to it are alive): a sign of life, like a message, for ``peer_timeout``. A
        central busy with other branches answers late, and that is no reason to start over."""
        if self.state in (BranchState.HELLO_SENT, BranchState.READY):
            self._link_alive_at = max(self._link_alive_at, now)

    def connection_lost(self, now: float) -> list[BranchEvent]:
        """The transport saw the connection drop."""
        if self.state in (BranchState.HELLO_SENT, BranchState.READY):
            return [self._reconnect("connection lost")]
        return []

    def outbox_changed(self, now: float) -> list[BranchEvent]:
        """New ops were committed to the outbox: send them if the window has room."""
        return self._fill_window(now)

    def receive(self, frames: Sequence[Any], now: float) -> list[BranchEvent]:
        """Frames from central. Never raises for anything central sends."""
        if self.state in (BranchState.IDLE, BranchState.CLOSED):
            return []  # late frames of a connection already given up
        try:
            message = decode(frames, FROM_CENTRAL)
        except CodecError as exc:
            self._last_error = f"central sent an invalid message ({exc.code}): {exc.message}"
            return [PeerMisbehaved(exc.code, exc.message)]
        self._last_received = now
        if isinstance(message, Welcome):
            return self._welcome(message, now)
        if isinstance(message, Ack):
            return self._ack(message, now)
        if isinstance(message, Changes):
            return self._changes(message, now)
        if isinstance(message, Error):
            return self._error(message, now)
        assert isinstance(message, Pong)
        return []

    def handle_timer(self, now: float) -> list[BranchEvent]:
        """Call at (or after) ``next_deadline()``; extra calls are harmless."""
        if self.state in (BranchState.IDLE, BranchState.CLOSED):
            return []
        if now >= self._alive_at() + self.config.peer_timeout:
            silent = now - self._last_received
            return [self._reconnect(f"no answer from central for {silent:.0f} s")]
        if self.state is BranchState.HELLO_SENT:
            # The HELLO is queued at central or the link dies: sent again only if central
            # answered it with an ERROR (its database was down, say).
            if self._hello_retry_at is not None and now >= self._hello_retry_at:
                self._hello_retry_at = None
                return [self._hello(now)]
            return []
        events: list[BranchEvent] = []
        ack_timeout = self._ack_timeout()
        for batch in self._in_flight.values():
            if now >= self._batch_due(batch, ack_timeout):
                batch.sent_at = now
                batch.resent = True
                batch.retry_at = None
                events.append(self._send(batch.frames, now))
        if self._parked and now >= self._parked_until:
            self._parked.clear()
        self._release_parked()
        if self._pull_cursor is not None and now - self._pull_sent_at >= ack_timeout:
            self._pull_cursor = None
            self._pull_resent = True
            self._next_pull_at = now
        events += self._fill_window(now)
        events += self._maybe_pull(now)
        if now - self._last_sent >= self.config.ping_interval:
            events.append(self._send(encode(Ping()), now))
        return events

    def next_deadline(self) -> float | None:
        if self.state in (BranchState.IDLE, BranchState.CLOSED):
            return None
        deadlines = [self._alive_at() + self.config.peer_timeout]
        if self.state is BranchState.HELLO_SENT:
            if self._hello_retry_at is not None:
                deadlines.append(self._hello_retry_at)
            return min(deadlines)
        ack_timeout = self._ack_timeout()
        deadlines += [self._batch_due(b, ack_timeout) for b in self._in_flight.values()]
        if self._parked:
            deadlines.append(self._parked_until)
        if self._pull_cursor is not None:
            deadlines.append(self._pull_sent_at + ack_timeout)
        elif self._next_pull_at is not None:
            deadlines.append(self._next_pull_at)
        deadlines.append(self._last_sent + self.config.ping_interval)
        return min(deadlines)

    def status(self, now: float, wall_time: float) -> SyncStatus:
        last_sync = None if self._last_sync is None else wall_time - (now - self._last_sync)
        return SyncStatus(
            online=self.state is BranchState.READY
            and now < self._alive_at() + self.config.peer_timeout,
            pending_ops=self.store.pending_count(),
            last_sync_at=last_sync,
            last_error=self._last_error,
            feed_cursor=self.store.feed_cursor(),
            rejected=list(self._rejected.values()),
            clock_skew=self._clock_skew,
            state=self.state.value,
            central_lost=self._central_lost,
        )

    @property
    def in_flight(self) -> int:
        """Batches sent and not answered yet."""
        return len(self._in_flight)

    # -- messages

    def _welcome(self, welcome: Welcome, now: float) -> list[BranchEvent]:
        fresh_session = self.state is BranchState.READY and welcome.session > self.session
        if self.state is not BranchState.HELLO_SENT and not fresh_session:
            return []  # the answer to an older HELLO
        self._reset_connection()
        self.state = BranchState.READY
        self.session = welcome.session
        self._reconnects = 0
        self._note_answer_time(now - self._hello_sent_at)
        self._last_sync = now
        self._last_error = None
        hwm = welcome.hwm_seq
        oldest = self.store.pending_ops(1)
        # Every seq below this one was acknowledged, so central had it (ACK follows its commit).
        first_unacked = oldest[0].seq if oldest else self.store.next_seq()
        lost: CentralLost | None = None
        renumber = bool(oldest) and oldest[0].seq <= hwm
        if first_unacked > hwm + 1:
            lost = self._central_restored(hwm, first_unacked)
            renumber = True
        elif renumber:
            self.store.renumber_pending(hwm)
        else:
            self.store.raise_next_seq(hwm)
        self._clock_skew = ids.clock_skew(now + self._wall_offset, welcome.server_time)
        self._next_pull_at = now
        events: list[BranchEvent] = [
            Welcomed(welcome.session, hwm, welcome.feed_head, self._clock_skew, renumber)
        ]
        if lost is not None:
            events.append(lost)
        return events + self._fill_window(now) + self._maybe_pull(now)

    def _central_restored(self, hwm: int, first_unacked: int) -> CentralLost:
        """Central lost ops it had acknowledged (``hwm + 1 .. first_unacked - 1``): put back what
        the store still holds, and renumber the outbox from ``hwm + 1`` so nothing waits on
        numbers central will never see again."""
        resent = self.store.resend_acknowledged(hwm)
        missing = first_unacked - 1 - hwm
        lost = CentralLost(hwm, hwm + 1, first_unacked - 1, resent, max(0, missing - resent))
        self._central_lost = lost
        self._last_error = (
            f"central lost acknowledged ops seq {lost.first_seq}..{lost.last_seq} (restored from"
            f" a backup): {lost.resent} sent again, {lost.unrecoverable} no longer held here"
        )
        return lost

    def _ack(self, ack: Ack, now: float) -> list[BranchEvent]:
        batch = self._in_flight.pop(ack.batch_id, None) if ack.session == self.session else None
        if batch is None:
            # A duplicate, or an answer from an older session (batch ids restart with each
            # process, sessions never repeat). Its ops are committed at central, but in this
            # session's numbering they hold seqs central has not seen used: removing them would
            # leave a gap no later op could cross. They go again and come back as already applied.
            return []
        self._in_flight_ops.difference_update(batch.op_ids)
        if not batch.resent:
            self._note_answer_time(now - batch.sent_at)
        rejected = tuple(Rejection(r.op_id, r.code, r.message) for r in ack.rejected)
        self.store.acknowledge(ack.accepted, rejected, ack.hwm_seq)
        for rejection in rejected:
            self._rejected.pop(rejection.op_id, None)
            self._rejected[rejection.op_id] = rejection
        while len(self._rejected) > self.config.keep_rejections:
            del self._rejected[next(iter(self._rejected))]
        if ack.accepted or ack.rejected:
            self._last_sync = now
            self._last_error = None
        done = set(ack.accepted) | {r.op_id for r in rejected}
        deferred = [(i, s) for i, s in zip(batch.op_ids, batch.seqs, strict=True) if i not in done]
        events: list[BranchEvent] = [
            Acked(ack.batch_id, len(ack.accepted), rejected, len(deferred))
        ]
        if deferred:
            self._parked.update(deferred)
            self._parked_until = now + self.config.ack_timeout
        if deferred and deferred[0][1] <= ack.hwm_seq:
            # Central used this seq for something else: this session's numbering is off (never
            # expected of a correct store). A new session renumbers the outbox above the mark.
            self._last_error = f"central deferred seq {deferred[0][1]} at mark {ack.hwm_seq}"
            return events + self._rehello(now)
        self._release_parked()
        return events + self._fill_window(now)

    def _changes(self, changes: Changes, now: float) -> list[BranchEvent]:
        if self.state is not BranchState.READY or changes.from_ != self.store.feed_cursor():
            return []  # a duplicate or a page for a cursor already moved past
        page = ChangesPage(
            from_cursor=changes.from_,
            to_cursor=changes.to,
            items=tuple(
                FeedEntry(i.feed_id, i.kind, i.entity_id, i.payload) for i in changes.items
            ),
            more=changes.more,
            snapshot=changes.snapshot,
        )
        self.store.apply_changes(page)
        if self._pull_cursor == changes.from_:
            if not self._pull_resent:
                self._note_answer_time(now - self._pull_sent_at)
            self._pull_cursor = None
            self._pull_resent = False
        self._last_sync = now
        self._next_pull_at = now if changes.more else now + self.config.pull_interval
        events: list[BranchEvent] = [
            ChangesApplied(changes.from_, changes.to, len(changes.items), changes.snapshot)
        ]
        return events + self._maybe_pull(now)

    def _error(self, error: Error, now: float) -> list[BranchEvent]:
        self._last_error = f"central: {error.code}: {error.message}"
        events: list[BranchEvent] = [PeerError(error.code, error.message)]
        if error.code == ErrorCode.UNSUPPORTED_PROTOCOL:
            self._reset_connection()
            self.state = BranchState.CLOSED
            events.append(Closed(self._last_error))
        elif error.code in (ErrorCode.HELLO_REQUIRED, ErrorCode.STALE_SESSION):
            # Only an answer to something of the current session means the session is gone;
            # late answers to an older session's batches are ignored.
            current = error.ref in self._in_flight if error.ref else self._pull_cursor is not None
            if self.state is BranchState.READY and current:
                events += self._rehello(now)
        elif error.code == ErrorCode.REFUSED:
            self._reconnects = max(self._reconnects, 16)  # revoked or unknown: retry slowly
            events.append(self._reconnect(self._last_error))
        else:
            self._retry_after_error(error.ref, now)
        return events

    def _retry_after_error(self, ref: int, now: float) -> None:
        """Central answered a request with an ERROR (e.g. ``unavailable``), so no other answer
        will come: ask again after the plain ``ack_timeout`` (or ``hello_timeout``), not after
        the time a slow central is given to answer."""
        if self.state is BranchState.HELLO_SENT:
            if not ref:  # the answer to the HELLO; a ref names a batch of an older session
                self._hello_retry_at = now + self.config.hello_timeout
        elif ref in self._in_flight:
            self._in_flight[ref].retry_at = now + self.config.ack_timeout
        elif not ref and self._pull_cursor is not None:
            self._pull_cursor = None
            self._next_pull_at = now + self.config.ack_timeout

    # -- helpers

    def _rehello(self, now: float) -> list[BranchEvent]:
        """A new session on the same connection; at most one per ``hello_timeout``, so a store
        that keeps getting it wrong cannot make the branch flood central with HELLOs (what is in
        flight times out and brings us back here)."""
        if now - self._hello_sent_at < self.config.hello_timeout:
            return []
        self._reset_connection()
        self.state = BranchState.HELLO_SENT
        return [self._hello(now)]

    def _release_parked(self) -> None:
        """Parked ops go again once nothing in flight could still fill the gap before them."""
        if self._parked:
            lowest = min(self._parked.values())
            if not any(batch.seqs[0] < lowest for batch in self._in_flight.values()):
                self._parked.clear()

    def _fill_window(self, now: float) -> list[BranchEvent]:
        if self.state is not BranchState.READY or self._parked:
            return []
        free = self.config.window - len(self._in_flight)
        if free <= 0:
            return []
        size = self.config.max_batch_ops
        candidates = self.store.pending_ops(len(self._in_flight_ops) + free * size)
        ops = [op for op in candidates if op.op_id not in self._in_flight_ops]
        events: list[BranchEvent] = []
        while ops and free > 0:
            batch_id, frames, taken = self._push_frames(ops[:size])
            sent = ops[:taken]
            op_ids = tuple(op.op_id for op in sent)
            self._in_flight[batch_id] = _Batch(op_ids, tuple(op.seq for op in sent), frames, now)
            self._in_flight_ops.update(op_ids)
            events.append(self._send(frames, now))
            ops = ops[taken:]
            free -= 1
        return events

    def _push_frames(self, ops: list[Op]) -> tuple[int, tuple[bytes, bytes], int]:
        """A new batch id and the frames of the longest prefix of ``ops`` that fits a message."""
        count = len(ops)
        batch_id = self._next_batch_id
        while True:
            try:
                frames = encode(Push(batch_id=batch_id, session=self.session, ops=ops[:count]))
            except LocalProtocolError:
                if count == 1:
                    raise  # one op over the message limit: the store broke the op contract
                count //= 2
                continue
            self._next_batch_id += 1
            return batch_id, frames, count

    def _maybe_pull(self, now: float) -> list[BranchEvent]:
        if (
            self.state is not BranchState.READY
            or self._pull_cursor is not None
            or self._next_pull_at is None
            or now < self._next_pull_at
        ):
            return []
        self._pull_cursor = self.store.feed_cursor()
        self._pull_sent_at = now
        self._next_pull_at = None
        return [self._send(encode(Pull(cursor=self._pull_cursor, max=self.config.pull_page)), now)]

    def _hello(self, now: float) -> Send:
        hello = Hello(
            protocol=PROTOCOL_VERSION,
            agent_version=self.agent_version,
            boot_id=self.boot_id,
            next_seq=self.store.next_seq(),
            feed_cursor=self.store.feed_cursor(),
            branch_time=max(0.0, now + self._wall_offset),
        )
        self._hello_sent_at = now
        return self._send(encode(hello), now)

    def _note_answer_time(self, seconds: float) -> None:
        """Learn how long central takes: a slower answer counts at once, faster ones slowly."""
        seconds = max(0.0, seconds)
        if seconds >= self._answer_time:
            self._answer_time = seconds
        else:
            self._answer_time = 0.875 * self._answer_time + 0.125 * seconds

    def _ack_timeout(self) -> float:
        """Resend a PUSH or PULL only once it is clearly overdue, also for a slow central."""
        stretched = min(2.0 * self._answer_time, self.config.ack_timeout_max)
        return max(self.config.ack_timeout, stretched)

    @staticmethod
    def _batch_due(batch: _Batch, ack_timeout: float) -> float:
        return batch.sent_at + ack_timeout if batch.retry_at is None else batch.retry_at

    def _alive_at(self) -> float:
        """The last sign of life: a message from central, or the transport seeing the link up."""
        return max(self._last_received, self._link_alive_at)

    def _send(self, frames: tuple[bytes, bytes], now: float) -> Send:
        self._last_sent = now
        return Send(frames)

    def _reconnect(self, reason: str) -> Reconnect:
        delay = min(
            self.config.backoff_max, self.config.backoff_base * 2 ** min(self._reconnects, 30)
        )
        self._reconnects += 1
        self._reset_connection()
        self.state = BranchState.IDLE
        return Reconnect(delay, reason)

    def _reset_connection(self) -> None:
        """Forget everything in flight: it is sent again, under the next session."""
        self._in_flight.clear()
        self._in_flight_ops.clear()
        self._parked.clear()
        self._pull_cursor = None
        self._pull_resent = False
        self._next_pull_at = None
        self._hello_retry_at = None
