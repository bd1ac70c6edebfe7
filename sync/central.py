"""The central side of the sync protocol, as a pure state machine (sans-IO, h11 style).

What it owns: sessions (one per branch), the order of checks on each message, and what is answered.
The transport (``sync.transport``) owns sockets, CURVE and ZAP; the store (``sync.store``) owns
durable state. ``docs/protocol.md`` is the contract.

Rules:
- Frames in, events out: ``receive(branch, frames, now)`` returns the frames to send back to that
  same peer (``Send``) and what happened. No socket, no clock (``now`` is central's wall clock in
  Unix seconds, passed in), no disk, no Django.
- ``branch`` is the identity the transport authenticated (the ZMQ ``User-Id`` set by ZAP). Nothing
  in a message body names a branch; nothing here could take one from a body.
- The core calls the store it was given; each store call is one transaction. It never answers ACK
  before ``apply_batch`` returned, i.e. before the batch committed, and an ACK says exactly what the
  store returned. If the store raises, nothing is acknowledged. That is why this choice (the core
  calls the store) over returning effects: the only path to an ACK goes through a commit, and the
  drivers stay a loop of receive/send.
- HELLO first: PUSH and PULL from a branch with no session here get ``hello_required``. A HELLO
  opens a new session in the store, which fences off every older session of the branch, on every
  server process sharing the database.
- ``receive_run`` takes several messages of one connection, in arrival order (a server that read
  ahead), and answers the first, or the run of PUSHes it starts, with one store call: a run of
  PUSHes of one session whose ops follow each other in seq order (no op id twice) is applied in
  **one** store call (group commit: one transaction, one commit for up to ``max_group_ops``
  ops), then each PUSH is answered with its own ACK: its own ops' outcomes and the mark after
  the run. Per-op decisions are those of the ops applied one PUSH after another (``plan_batch``
  walks the concatenation in seq order); the only difference: where a walk stops, later PUSHes
  of the run are deferred whole. ``receive_many`` repeats it until every message is answered.
- Malformed input is answered with ``ERROR{code}`` and changes nothing; the core keeps serving.
- A ``StoreError`` becomes ``ERROR{its code}``; any other exception is a bug and propagates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sync import ids
from sync.codec import (
    FROM_BRANCH,
    MAX_BATCH_OPS,
    MAX_PAGE_ITEMS,
    Ack,
    Changes,
    CodecError,
    Error,
    ErrorCode,
    Hello,
    Item,
    LocalProtocolError,
    Ping,
    Pong,
    Pull,
    Push,
    RejectedOp,
    Send,
    UnsupportedProtocol,
    Welcome,
    decode,
    encode,
)
from sync.store import BatchResult, CentralStore, ChangesPage, StoreError

MAX_GROUP_OPS = 16 * MAX_BATCH_OPS  # the most ``max_group_ops`` may be


@dataclass(frozen=True)
class CentralConfig:
    max_page: int = 1000  # items per CHANGES page, whatever the branch asks
    session_ttl: float = 900.0  # a session idle this long is forgotten (the branch says HELLO)
    skew_limit: float = 120.0  # branch clocks further off than this are flagged
    max_group_ops: int = 4 * MAX_BATCH_OPS  # ops a run may apply in one transaction (receive_run)

    def __post_init__(self) -> None:
        if not 1 <= self.max_page <= MAX_PAGE_ITEMS:
            raise LocalProtocolError("config", f"max_page must be 1..{MAX_PAGE_ITEMS}")
        if not 1 <= self.max_group_ops <= MAX_GROUP_OPS:
            raise LocalProtocolError("config", f"max_group_ops must be 1..{MAX_GROUP_OPS}")
        if self.session_ttl <= 0 or self.skew_limit <= 0:
            raise LocalProtocolError("config", "session_ttl and skew_limit must be positive")


@dataclass
class _Session:
    session: int
    boot_id: str
    agent_version: str
    last_seen: float


# -- events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Welcomed:
    branch: str
    session: int
    hwm_seq: int
    feed_head: int
    clock_skew: float  # branch clock minus central clock, seconds (sync.ids.clock_skew)


@dataclass(frozen=True)
class ClockSkewFlagged:
    branch: str
    clock_skew: float


@dataclass(frozen=True)
class BatchApplied:
    branch: str
    batch_id: int
    accepted: int
    rejected: int
    deferred: int
    hwm_seq: int


@dataclass(frozen=True)
class ChangesServed:
    branch: str
    from_cursor: int
    to_cursor: int
    items: int
    snapshot: bool


@dataclass(frozen=True)
class Refused:
    """The message was answered with ERROR: malformed, out of order, or the store refused."""

    branch: str
    code: str
    message: str


@dataclass(frozen=True)
class SessionExpired:
    branch: str


CentralEvent = Send | Welcomed | ClockSkewFlagged | BatchApplied | ChangesServed | Refused
TimerEvent = SessionExpired


class CentralCore:
    """All branches' sessions on one server process."""

    def __init__(self, store: CentralStore, config: CentralConfig | None = None) -> None:
        self.store = store
        self.config = config or CentralConfig()
        self._sessions: dict[str, _Session] = {}

    def session(self, branch: str) -> int | None:
        """The session this server holds for ``branch``, if any."""
        found = self._sessions.get(branch)
        return found.session if found else None

    def receive(self, branch: str, frames: Sequence[Any], now: float) -> list[CentralEvent]:
        """Handle a message from the authenticated ``branch``; ``Send`` events go back to it."""
        if not isinstance(branch, str) or not branch:
            raise LocalProtocolError("identity", "receive() needs the transport's branch identity")
        try:
            message = decode(frames, FROM_BRANCH)
        except UnsupportedProtocol as exc:
            return self._error(branch, exc.code, exc.message)
        except CodecError as exc:
            return self._error(branch, exc.code, exc.message)
        try:
            if isinstance(message, Hello):
                return self._hello(branch, message, now)
            if isinstance(message, Ping):
                return [Send(encode(Pong()))]
            session = self._sessions.get(branch)
            ref = message.batch_id if isinstance(message, Push) else 0
            if session is None:
                return self._error(branch, ErrorCode.HELLO_REQUIRED, "send HELLO first", ref)
            session.last_seen = now
            if isinstance(message, Push):
                return self._push_run(branch, [message], now)
            assert isinstance(message, Pull)
            return self._pull(branch, message)
        except StoreError as exc:
            ref = message.batch_id if isinstance(message, Push) else 0
            return self._error(branch, exc.code, str(exc) or type(exc).__name__, ref)

    def receive_many(
        self, branch: str, messages: Sequence[Sequence[Any]], now: float
    ) -> list[CentralEvent]:
        """Several messages from the authenticated ``branch``'s connection, in arrival order; the
        ``Send`` events answer them in that order (one answer per message, as ``receive``).
        ``receive_run`` step by step: a driver that sends each step's answers before the next
        step (the sync server) loses none of them to a later step's failure."""
        events: list[CentralEvent] = []
        while messages:
            step, handled = self.receive_run(branch, messages, now)
            events += step
            messages = messages[handled:]
        return events

    def receive_run(
        self, branch: str, messages: Sequence[Sequence[Any]], now: float
    ) -> tuple[list[CentralEvent], int]:
        """The first of ``messages`` and, when it is a PUSH that may start a run, the PUSHes right
        behind it that join the run, with **one** store call; returns the events and how many
        messages they answer (at least one).

        A run: consecutive PUSHes of the session this server holds for the branch, each with ops
        whose seqs all lie above the previous PUSH's and whose op ids none of the run's other
        PUSHes holds, at most ``max_group_ops`` ops in all. Anything else is handled alone, as
        ``receive`` handles it."""
        if not messages:
            return [], 0
        first = self._groupable(branch, messages[0])
        if first is None:
            return self.receive(branch, messages[0], now), 1
        run, op_ids = [first], {op.op_id for op in first.ops}
        for frames in messages[1:]:
            push = self._groupable(branch, frames)
            if push is None or not self._extends(run, op_ids, push):
                break
            run.append(push)
            op_ids.update(op.op_id for op in push.ops)
        return self._push_run(branch, run, now), len(run)

    def _groupable(self, branch: str, frames: Sequence[Any]) -> Push | None:
        """The PUSH these frames hold, if it may join a run: well formed, with ops, for the
        session this server holds for the branch. Anything else goes through ``receive``."""
        session = self._sessions.get(branch)
        if session is None or not frames or bytes(frames[0]) != Push.TYPE:
            return None
        try:
            message = decode(frames, FROM_BRANCH)
        except CodecError:
            return None
        if not isinstance(message, Push) or not message.ops or message.session != session.session:
            return None
        return message

    def _extends(self, run: list[Push], op_ids: set[str], push: Push) -> bool:
        size = len(op_ids) + len(push.ops)
        return (
            push.ops[0].seq > run[-1].ops[-1].seq
            and size <= self.config.max_group_ops
            # The codec refuses an op id twice in one PUSH; across PUSHes only the store's
            # ledger would see it, and a run is one store call: such a PUSH goes alone.
            and op_ids.isdisjoint(op.op_id for op in push.ops)
        )

    def _push_run(self, branch: str, run: list[Push], now: float) -> list[CentralEvent]:
        """Apply a run of PUSHes (one or more, of the branch's session here) in one store call;
        an ACK (or the store's ERROR) for each."""
        self._sessions[branch].last_seen = now
        ops = [op for push in run for op in push.ops]
        try:
            result = self.store.apply_batch(branch, ops, now=now, session=run[0].session)
        except StoreError as exc:
            events: list[CentralEvent] = []
            for push in run:
                events += self._error(
                    branch, exc.code, str(exc) or type(exc).__name__, push.batch_id
                )
            return events
        # Committed: only now may anything be acknowledged. Each PUSH is answered for its own
        # ops, in the order they arrived.
        events = []
        for push in run:
            events += self._acked(branch, push, result if len(run) == 1 else _share(result, push))
        return events

    def forget(self, branch: str) -> bool:
        """Drop ``branch``'s session here (its key was revoked or the branch deactivated): its
        next PUSH or PULL gets ``hello_required``, and its HELLO goes to the store, which refuses
        it. Returns whether there was a session."""
        return self._sessions.pop(branch, None) is not None

    def handle_timer(self, now: float) -> list[TimerEvent]:
        """Forget idle sessions (their branches say HELLO again); returns what was forgotten."""
        expired = [
            branch
            for branch, session in self._sessions.items()
            if now - session.last_seen >= self.config.session_ttl
        ]
        for branch in expired:
            del self._sessions[branch]
        return [SessionExpired(branch) for branch in expired]

    def next_deadline(self) -> float | None:
        if not self._sessions:
            return None
        return min(s.last_seen for s in self._sessions.values()) + self.config.session_ttl

    # -- messages

    def _hello(self, branch: str, hello: Hello, now: float) -> list[CentralEvent]:
        answer = self.store.hello(
            branch,
            boot_id=hello.boot_id,
            next_seq=hello.next_seq,
            feed_cursor=hello.feed_cursor,
            agent_version=hello.agent_version,
            branch_time=hello.branch_time,
            now=now,
        )
        self._sessions[branch] = _Session(answer.session, hello.boot_id, hello.agent_version, now)
        skew = ids.clock_skew(hello.branch_time, now)
        welcome = Welcome(
            hwm_seq=answer.hwm_seq,
            feed_head=answer.feed_head,
            server_time=now,
            session=answer.session,
        )
        events: list[CentralEvent] = [
            Send(encode(welcome)),
            Welcomed(branch, answer.session, answer.hwm_seq, answer.feed_head, skew),
        ]
        if abs(skew) > self.config.skew_limit:
            events.append(ClockSkewFlagged(branch, skew))
        return events

    def _acked(self, branch: str, push: Push, result: BatchResult) -> list[CentralEvent]:
        ack = Ack(
            batch_id=push.batch_id,
            session=push.session,
            accepted=list(result.accepted),
            rejected=[RejectedOp(r.op_id, r.code, r.message[:2000]) for r in result.rejected],
            hwm_seq=result.hwm_seq,
        )
        deferred = len(push.ops) - len(result.accepted) - len(result.rejected)
        return [
            Send(encode(ack)),
            BatchApplied(
                branch,
                push.batch_id,
                len(result.accepted),
                len(result.rejected),
                deferred,
                result.hwm_seq,
            ),
        ]

    def _pull(self, branch: str, pull: Pull) -> list[CentralEvent]:
        limit = min(pull.max, self.config.max_page)
        while True:
            page = self.store.changes(branch, pull.cursor, limit)
            try:
                frames = encode(_changes(page))
            except LocalProtocolError:
                if page.snapshot or limit == 1:
                    return self._error(
                        branch,
                        ErrorCode.UNAVAILABLE,
                        f"feed after cursor {pull.cursor} does not fit in one message",
                    )
                limit = max(1, limit // 2)  # a page of big items: ask the store for fewer
                continue
            return [
                Send(frames),
                ChangesServed(
                    branch, page.from_cursor, page.to_cursor, len(page.items), page.snapshot
                ),
            ]

    def _error(self, branch: str, code: str, message: str, ref: int = 0) -> list[CentralEvent]:
        frames = encode(Error(code=str(code), message=message[:2000], ref=ref))
        return [Send(frames), Refused(branch, str(code), message)]


def _share(result: BatchResult, push: Push) -> BatchResult:
    """The part of a run's result that answers ``push``: its own ops' outcomes, the run's mark."""
    mine = {op.op_id for op in push.ops}
    return BatchResult(
        accepted=tuple(op_id for op_id in result.accepted if op_id in mine),
        rejected=tuple(r for r in result.rejected if r.op_id in mine),
        hwm_seq=result.hwm_seq,
    )


def _changes(page: ChangesPage) -> Changes:
    return Changes(
        from_=page.from_cursor,
        to=page.to_cursor,
        items=[Item(e.feed_id, e.kind, e.entity_id, e.payload) for e in page.items],
        more=page.more,
        snapshot=page.snapshot,
    )
