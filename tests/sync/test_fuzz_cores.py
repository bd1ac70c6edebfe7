"""Both protocol cores under hostile input: property-based fuzzing of the sans-IO state machines.

The codec has its own fuzzing (tests/sync/test_codec.py). Here whole *sequences* of messages hit
a live core on the reference stores: malformed, truncated, oversized, wrong-direction frames,
valid messages out of order, replays of old batches under old sessions, forged pushes reusing op
ids with other contents, pushes from unknown and revoked branches. Each test states what must hold
after every single message:

- central answers every message with exactly one frame pair, a valid message (``ERROR`` with a
  documented ``ErrorCode`` for everything it refuses), never raises, and a refused message leaves
  the store exactly as it was; the store stays consistent (each op id applied at most once, seqs
  applied contiguously in order); and at the end a well-behaved branch is served normally;
- the branch never raises on anything central sends, ignores what does not belong to its current
  connection (store unchanged), and afterwards delivers every op it recorded exactly once.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import PROTOCOL_VERSION
from sync import ops as kinds
from sync.branch import BranchCore, BranchState, CentralLost, PeerMisbehaved
from sync.central import CentralCore
from sync.codec import (
    FROM_CENTRAL,
    MAX_BATCH_OPS,
    MAX_BODY_BYTES,
    Ack,
    Changes,
    Error,
    ErrorCode,
    Hello,
    Item,
    Ping,
    Pong,
    Pull,
    Push,
    RejectedOp,
    Send,
    Welcome,
    decode,
    encode,
)
from sync.memory import MemoryBranchStore, MemoryCentralStore
from sync.ops import Op
from tests.sync.harness import WALL, called_payload, created_payload, make_link

BRANCH = "1222"
STRANGER = "9999"  # never enrolled
REVOKED = "1201"  # enrolled, then revoked
CODES = {str(code) for code in ErrorCode}
POOL = 12  # ops a branch may send, seq 1..POOL


def pool_op(seq: int, *, forged: bool = False) -> Op:
    """Op ``seq`` of the branch's history; ``forged`` keeps its id but changes its contents."""
    created = seq % 2 == 1
    payload = created_payload(seq) if created else called_payload()
    if forged:
        payload = {**payload, "queue_number": "Z-999"} if created else {"desk": "forged"}
    return Op(
        op_id=f"019cf8c2-de0e-7d75-806c-{seq:012x}",
        seq=seq,
        kind=kinds.VISIT_CREATED if created else kinds.VISIT_CALLED,
        entity_id=f"visit-{(seq + 1) // 2}",
        hlc=seq,
        payload=payload,
    )


def hello_frames(next_seq: int = 1) -> tuple[bytes, bytes]:
    return encode(
        Hello(
            protocol=PROTOCOL_VERSION,
            agent_version="fuzz",
            boot_id="boot",
            next_seq=next_seq,
            feed_cursor=0,
            branch_time=WALL,
        )
    )


# -- what a hostile or broken branch sends ---------------------------------------------------------

seqs = st.lists(st.integers(min_value=1, max_value=POOL), max_size=6, unique=True).map(sorted)
valid_messages = st.one_of(
    st.builds(lambda n: ("hello", hello_frames(n)), st.integers(min_value=1, max_value=POOL + 5)),
    st.builds(
        lambda s, batch, session_delta, forged: (
            "push",
            (s, batch, session_delta, forged),
        ),
        seqs,
        st.integers(min_value=1, max_value=2**63 - 1),
        st.sampled_from([0, 0, 0, -1, -2, 1, 10**6]),  # current, replaced, future session
        st.booleans(),
    ),
    st.builds(
        lambda cursor, limit: ("raw", encode(Pull(cursor=cursor, max=limit))),
        st.integers(min_value=0, max_value=2**63 - 1),
        st.integers(min_value=1, max_value=50_000),
    ),
    st.just(("raw", encode(Ping()))),
)
# Messages only central sends: a branch sending them is answered ``unexpected``.
wrong_direction = st.sampled_from(
    [
        encode(Welcome(hwm_seq=0, feed_head=0, server_time=WALL, session=1)),
        encode(Ack(batch_id=1, session=1, accepted=[], rejected=[], hwm_seq=0)),
        encode(Changes(from_=0, to=0, items=[], more=False, snapshot=True)),
        encode(Pong()),
        encode(Error(code="bad_body", message="x")),
    ]
)


def _truncate(frames: tuple[bytes, bytes], cut: int) -> list[bytes]:
    return [frames[0], frames[1][: cut % max(1, len(frames[1]))]]


truncated = st.builds(
    _truncate,
    st.sampled_from(
        [
            hello_frames(),
            encode(Push(batch_id=3, session=1, ops=[pool_op(1), pool_op(2)])),
            encode(Pull(cursor=5, max=10)),
        ]
    ),
    st.integers(min_value=0, max_value=10_000),
)
garbage = st.lists(st.binary(max_size=80), max_size=4) | st.tuples(
    st.sampled_from([b"HELLO", b"PUSH", b"PULL", b"PING"]), st.binary(max_size=200)
).map(list)
oversized = st.sampled_from(
    [
        [b"PUSH", b"\x80" + b"\x00" * MAX_BODY_BYTES],
        [b"HELLO", b"\x00" * (MAX_BODY_BYTES + 1)],
        [b"PUSH" * 5, b"\x80"],  # a type frame over its limit
    ]
)


def _push_map(fields: dict[str, Any]) -> list[bytes]:
    return [b"PUSH", msgspec.msgpack.encode(fields)]


bad_pushes = st.one_of(
    # Ops out of order, an op twice, a body naming a branch, too many ops, wrong types.
    st.just(_push_map({"batch_id": 1, "session": 1, "ops": [pool_op(2), pool_op(1)]})),
    st.just(_push_map({"batch_id": 1, "session": 1, "ops": [pool_op(1), pool_op(1)]})),
    st.just(_push_map({"batch_id": 1, "session": 1, "ops": [], "branch": "1201"})),
    st.just(
        _push_map(
            {
                "batch_id": 1,
                "session": 1,
                "ops": [pool_op(1)] * (MAX_BATCH_OPS + 1),
            }
        )
    ),
    st.builds(
        lambda value: _push_map({"batch_id": value, "session": value, "ops": value}),
        st.none() | st.text(max_size=5) | st.integers(min_value=-5, max_value=0),
    ),
)
hostile = st.one_of(
    st.builds(lambda f: ("raw", tuple(f)), garbage),
    st.builds(lambda f: ("raw", tuple(f)), truncated),
    st.builds(lambda f: ("raw", tuple(f)), oversized),
    st.builds(lambda f: ("raw", tuple(f)), bad_pushes),
    st.builds(lambda f: ("raw", f), wrong_direction),
)
senders = st.sampled_from([BRANCH, BRANCH, BRANCH, BRANCH, STRANGER, REVOKED])
actions = st.lists(st.tuples(senders, st.one_of(valid_messages, hostile)), max_size=40)


class CentralUnderFire:
    def __init__(self) -> None:
        self.store = MemoryCentralStore()
        self.store.enrol(BRANCH)
        self.store.enrol(REVOKED)
        self.store.revoke(REVOKED)
        self.core = CentralCore(self.store)
        self.session = 0  # the session the last WELCOME gave BRANCH
        self.first_seen: dict[str, Op] = {}  # each op id as central recorded it the first time

    def frames_for(self, action: tuple[str, Any]) -> tuple[bytes, ...]:
        kind, value = action
        if kind != "push":
            return tuple(value)
        chosen, batch_id, session_delta, forged = value
        ops = [pool_op(seq, forged=forged) for seq in chosen]
        session = max(0, self.session + session_delta)
        return encode(Push(batch_id=batch_id, session=session, ops=ops))

    def send(self, sender: str, frames: tuple[bytes, ...]) -> Any:
        before = self.store.fingerprint()
        events = self.core.receive(sender, frames, WALL)
        sent = [event for event in events if isinstance(event, Send)]
        assert len(sent) == 1, "every message gets exactly one answer"
        reply = decode(sent[0].frames, FROM_CENTRAL)  # central only ever sends valid messages
        if isinstance(reply, Error):
            assert reply.code in CODES
            assert self.store.fingerprint() == before, f"refused ({reply.code}) but changed"
        if isinstance(reply, Welcome) and sender == BRANCH:
            self.session = reply.session
        if sender != BRANCH:
            # Nothing from an unknown or revoked identity gets past the door.
            assert isinstance(reply, Error | Pong), reply
        self.check_consistent()
        return reply

    def check_consistent(self) -> None:
        state = self.store.branches[BRANCH]
        applied = [seq for _op_id, seq in state.apply_log]
        assert applied == list(range(1, len(applied) + 1)), "seqs applied in order, no gap"
        assert state.hwm_seq == len(applied)
        assert len(state.effects) == len(set(state.effects)), "an op applied twice"
        for op_id, record in state.records.items():
            # A re-send, forged or not, never replaces what central recorded the first time.
            assert self.first_seen.setdefault(op_id, record.op) == record.op
        assert not self.store.branches[REVOKED].records
        assert STRANGER not in self.store.branches


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_central_core_refuses_cleanly_keeps_state_and_keeps_serving(script):
    fire = CentralUnderFire()
    for sender, action in script:
        fire.send(sender, fire.frames_for(action))

    # A well-behaved branch, afterwards: HELLO, then its whole history in order.
    welcome = fire.send(BRANCH, hello_frames())
    assert isinstance(welcome, Welcome)
    ops = [pool_op(seq) for seq in range(1, POOL + 1)]
    ack = fire.send(BRANCH, encode(Push(batch_id=1, session=welcome.session, ops=ops)))
    assert isinstance(ack, Ack), ack
    answered = set(ack.accepted) | {r.op_id for r in ack.rejected}
    assert answered == {op.op_id for op in ops}
    state = fire.store.branches[BRANCH]
    assert state.hwm_seq == POOL
    assert sorted(state.records) == sorted(op.op_id for op in ops)
    # Replaying that batch (an ACK lost, or someone replaying the body) changes nothing.
    before = fire.store.fingerprint()
    again = fire.send(BRANCH, encode(Push(batch_id=1, session=welcome.session, ops=ops)))
    assert isinstance(again, Ack) and sorted(again.accepted) == sorted(ack.accepted)
    assert fire.store.fingerprint() == before
    # The same body under the session it was sent in, after a new HELLO replaced it: refused.
    fire.send(BRANCH, hello_frames())
    stale = fire.send(BRANCH, encode(Push(batch_id=1, session=welcome.session, ops=ops)))
    assert isinstance(stale, Error) and stale.code == ErrorCode.STALE_SESSION
    assert fire.store.fingerprint() == before


# -- what a broken central (or a late, duplicated, reordered network) sends to a branch ------------

central_garbage = st.one_of(
    st.lists(st.binary(max_size=80), max_size=4),
    st.tuples(
        st.sampled_from([b"WELCOME", b"ACK", b"CHANGES", b"PONG", b"ERROR"]),
        st.binary(max_size=80),
    ).map(list),
    st.just([b"CHANGES", b"\x00" * (MAX_BODY_BYTES + 1)]),
    # Messages only a branch sends: a branch receiving them refuses them as unexpected.
    st.sampled_from([hello_frames(), encode(Ping()), encode(Pull(cursor=0, max=1))]).map(list),
)


@st.composite
def late_or_foreign(draw: Any, core: BranchCore, store: MemoryBranchStore) -> tuple[bytes, bytes]:
    """Valid messages that do not belong to the branch's current exchange: an ACK of a batch not
    in flight or of another session, a WELCOME of an older session, a CHANGES page for a cursor
    the branch is not at, a PONG, an ERROR of any code with any text."""
    choices = ["ack", "changes", "pong", "error"]
    if core.state is BranchState.READY:
        choices.append("welcome")  # while HELLO_SENT any WELCOME is the answer it waits for
    choice = draw(st.sampled_from(choices))
    if choice == "ack":
        session = draw(st.sampled_from([core.session, core.session + 7, max(0, core.session - 1)]))
        in_flight = set(core._in_flight) if session == core.session else set()
        batch_id = draw(
            st.integers(min_value=1, max_value=2**20).filter(lambda b: b not in in_flight)
        )
        ids = [op.op_id for op in store.pending_ops(5)]
        return encode(
            Ack(
                batch_id=batch_id,
                session=session,
                accepted=ids[1:],
                rejected=[RejectedOp(op_id=i, code="invalid_payload") for i in ids[:1]],
                hwm_seq=draw(st.integers(min_value=0, max_value=2**20)),
            )
        )
    if choice == "welcome":
        return encode(
            Welcome(
                hwm_seq=draw(st.integers(min_value=0, max_value=2**20)),
                feed_head=draw(st.integers(min_value=0, max_value=2**20)),
                server_time=WALL,
                session=draw(st.integers(min_value=0, max_value=core.session)),
            )
        )
    if choice == "changes":
        cursor = store.feed_cursor()
        start = draw(st.integers(min_value=0, max_value=50).filter(lambda c: c != cursor))
        return encode(
            Changes(
                from_=start,
                to=start + 1,
                items=[Item(feed_id=start + 1, kind="ticket.status", entity_id="x", payload={})],
                more=False,
                snapshot=False,
            )
        )
    if choice == "pong":
        return encode(Pong())
    code = draw(st.sampled_from([*sorted(CODES - {ErrorCode.UNSUPPORTED_PROTOCOL}), "teapot"]))
    ref = draw(st.integers(min_value=0, max_value=9))
    return encode(Error(code=code, message=draw(st.text(max_size=40)), ref=ref))


STEPS = ["garbage", "foreign", "deliver", "reorder", "duplicate", "drop", "record", "tick"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_branch_core_survives_anything_and_still_delivers_every_op_once(data):
    link = make_link()
    link.connect()
    link.settle()
    recorded = [link.record(entity="v-1").op_id, link.record(kinds.VISIT_CALLED, "v-1").op_id]
    for step in range(data.draw(st.integers(min_value=1, max_value=30), label="steps")):
        what = data.draw(st.sampled_from(STEPS), label="step")
        if what in ("garbage", "foreign"):
            if what == "garbage":
                frames = data.draw(central_garbage, label="garbage")
            else:
                frames = data.draw(late_or_foreign(link.branch, link.store), label="foreign")
            before = link.store.fingerprint()
            state = link.branch.state
            events = link.branch.receive(frames, link.now)  # never raises
            if what == "garbage" and state is not BranchState.IDLE:
                (event,) = events
                assert isinstance(event, PeerMisbehaved) and event.code in CODES
            link._branch(events)
            assert link.store.fingerprint() == before, f"{what} frames changed the store"
        elif what in ("deliver", "reorder", "duplicate", "drop"):
            queues = [q for q in (link.to_central, link.to_branch) if q]
            if not queues:
                continue
            queue = data.draw(st.sampled_from(queues), label="direction")
            index = 0 if what == "deliver" else data.draw(st.integers(0, len(queue) - 1))
            if what == "drop":
                queue.pop(index)
                continue
            if what == "duplicate":
                queue.append(queue[index])
            if queue is link.to_central:
                link.deliver_to_central(index)
            else:
                link.deliver_to_branch(index)
        elif what == "record":
            recorded.append(link.record(entity=f"v-{step + 2}").op_id)
        else:
            link.tick(data.draw(st.sampled_from([0.5, 5.0, 11.0, 40.0]), label="seconds"))
        if link.branch.state is BranchState.IDLE:
            link.connect()
    # The network heals: whatever happened, every op recorded reaches central exactly once.
    for _ in range(60):
        if link.branch.state is BranchState.IDLE:
            link.connect()
        link.settle()
        if not link.store.durable.outbox and link.branch.state is BranchState.READY:
            break
        link.tick(11.0)
    assert link.store.durable.outbox == ()
    central = link.central_store.branches[BRANCH]
    assert sorted(central.records) == sorted(recorded)
    assert sorted(central.effects) == sorted(recorded)  # each applied (none rejected), once


def test_a_branch_keeps_delivering_after_central_is_restored_from_an_older_backup():
    link = make_link()
    link.connect()
    link.settle()
    backup = copy.deepcopy(link.central_store)
    acked = [link.record().op_id for _ in range(3)]
    link.settle()
    assert link.store.durable.outbox == ()  # acknowledged: central has them, the branch not
    # Central is restored from the backup taken before those three records.
    link.central_store = backup
    link.central = CentralCore(backup)
    fresh = link.record().op_id
    link.branch.connection_lost(link.now)
    link.connect()
    for _ in range(10):
        link.settle(limit=200)  # raises "never settled" while the branch re-sends in a loop
        link.tick(11.0)
    assert link.store.durable.outbox == ()
    records = link.central_store.branches[BRANCH].records
    assert fresh in records
    # Nothing lost: the acknowledged ops the branch still held were sent again, same op ids.
    assert [i for i, _ in link.central_store.branches[BRANCH].apply_log][-4:] == [*acked, fresh]
    lost = [e for e in link.branch_events if isinstance(e, CentralLost)]
    assert lost == [CentralLost(hwm_seq=0, first_seq=1, last_seq=3, resent=3, unrecoverable=0)]
    assert link.branch.status(link.now, WALL).central_lost == lost[0]


def test_after_a_central_restore_ops_the_branch_no_longer_holds_are_reported_not_waited_for():
    link = make_link()
    link.connect()
    link.settle()
    backup = copy.deepcopy(link.central_store)
    for _ in range(3):
        link.record()
    link.settle()
    link.store.durable = replace(link.store.durable, acknowledged=())  # pruned long ago
    link.central_store = backup
    link.central = CentralCore(backup)
    fresh = [link.record(notify=False).op_id for _ in range(2)]
    link.branch.connection_lost(link.now)
    link.connect()
    link.settle()
    assert link.store.durable.outbox == ()
    assert [i for i, _ in backup.branches[BRANCH].apply_log] == fresh
    assert backup.branches[BRANCH].hwm_seq == 2  # renumbered down to follow central's mark
    lost = [e for e in link.branch_events if isinstance(e, CentralLost)]
    assert lost == [CentralLost(hwm_seq=0, first_seq=1, last_seq=3, resent=0, unrecoverable=3)]
    assert link.branch.status(link.now, WALL).central_lost == lost[0]


def test_after_a_central_restore_the_documented_workaround_resumes_delivery():
    """docs/operations.md: set central's mark for the branch to just below the branch's oldest
    waiting record (``next_seq - pending_ops - 1`` from ``pst-branch-agent status --json``)."""
    link = make_link()
    link.connect()
    link.settle()
    backup = copy.deepcopy(link.central_store)
    for _ in range(3):
        link.record()
    link.settle()
    link.central_store = backup
    link.central = CentralCore(backup)
    fresh = [link.record(notify=False).op_id for _ in range(2)]
    mark = link.store.next_seq() - link.store.pending_count() - 1
    backup.branches[BRANCH].hwm_seq = mark  # the operator's one-line fix at central
    link.branch.connection_lost(link.now)
    link.connect()
    link.settle()
    assert link.store.durable.outbox == ()
    assert set(fresh) <= set(backup.branches[BRANCH].records)
