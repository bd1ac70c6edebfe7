"""The central core: HELLO first, malformed input answered and survived, ACK only after commit."""

import msgspec
import pytest

from sync.central import (
    BatchApplied,
    CentralConfig,
    CentralCore,
    ClockSkewFlagged,
    Refused,
    SessionExpired,
    Welcomed,
)
from sync.codec import (
    Ack,
    Changes,
    Error,
    ErrorCode,
    Hello,
    LocalProtocolError,
    Pull,
    Push,
    Send,
    Welcome,
    decode,
    encode,
)
from sync.memory import MemoryCentralStore
from sync.ops import Op
from sync.store import StoreUnavailable
from tests.sync.harness import WALL, created_payload

BRANCH = "1222"


def hello(**changes: object) -> tuple[bytes, bytes]:
    fields = {
        "protocol": 1,
        "agent_version": "test",
        "boot_id": "b",
        "next_seq": 1,
        "feed_cursor": 0,
        "branch_time": WALL,
    }
    return encode(Hello(**(fields | changes)))


def push(session: int, *seqs: int, batch_id: int = 1) -> tuple[bytes, bytes]:
    ops = [
        Op(
            op_id=f"019cf8c2-de0e-7d75-806c-{seq:012x}",
            seq=seq,
            kind="visit.created",
            entity_id=f"v{seq}",
            hlc=seq,
            payload=created_payload(),
        )
        for seq in seqs
    ]
    return encode(Push(batch_id=batch_id, session=session, ops=ops))


class Server:
    def __init__(self, store=None, config=None):
        self.store = store or MemoryCentralStore()
        self.store.enrol(BRANCH)
        self.core = CentralCore(self.store, config)

    def send(self, frames, branch=BRANCH, now=WALL):
        events = self.core.receive(branch, frames, now)
        replies = [decode(e.frames) for e in events if isinstance(e, Send)]
        assert len(replies) == 1, "every message gets exactly one answer"
        return replies[0], [e for e in events if not isinstance(e, Send)]


@pytest.fixture
def server():
    return Server()


def test_hello_opens_a_session(server):
    reply, events = server.send(hello())
    assert reply == Welcome(hwm_seq=0, feed_head=0, server_time=WALL, session=1)
    assert events == [Welcomed(BRANCH, 1, 0, 0, 0.0)]
    assert server.core.session(BRANCH) == 1
    reply, _ = server.send(hello())
    assert reply.session == 2


@pytest.mark.parametrize("frames", [push(1, 1), encode(Pull(cursor=0, max=10))])
def test_hello_first(server, frames):
    reply, events = server.send(frames)
    assert isinstance(reply, Error) and reply.code == ErrorCode.HELLO_REQUIRED
    assert reply.ref == (1 if frames[0] == b"PUSH" else 0)
    assert isinstance(events[0], Refused)
    assert not server.store.branches[BRANCH].records


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ((b"PUSH",), ErrorCode.BAD_FRAMES),
        ((b"GIMME", b"\x80"), ErrorCode.UNKNOWN_TYPE),
        ((b"WELCOME", encode(Welcome(hwm_seq=0, feed_head=0, server_time=1, session=1))[1]),
         ErrorCode.UNEXPECTED),
        ((b"PUSH", b"\xc1"), ErrorCode.BAD_BODY),
        ((b"PULL", b"\x00" * (4 * 1024 * 1024 + 1)), ErrorCode.TOO_LARGE),
        (push(1, 2, 1), ErrorCode.BAD_BATCH),
        (hello(protocol=7), ErrorCode.UNSUPPORTED_PROTOCOL),
    ],
)  # fmt: skip
def test_malformed_input_is_answered_and_survived(server, frames, code):
    reply, events = server.send(frames)
    assert isinstance(reply, Error) and reply.code == code
    assert events[0].code == code
    reply, _ = server.send(hello())  # and the server keeps serving
    assert isinstance(reply, Welcome)


def test_identity_comes_from_the_transport_only(server):
    with pytest.raises(LocalProtocolError):
        server.core.receive("", hello(), WALL)
    body = msgspec.msgpack.encode(msgspec.structs.asdict(decode(hello())) | {"branch": "1201"})
    reply, _ = server.send((b"HELLO", body))
    assert reply.code == ErrorCode.BAD_BODY
    reply, _ = server.send(hello(), branch="9999")  # no such branch: refused, nothing kept
    assert reply.code == ErrorCode.REFUSED
    assert "9999" not in server.store.branches


def test_a_revoked_branch_is_refused_at_its_next_message(server):
    server.send(hello())
    server.store.revoke(BRANCH)
    reply, _ = server.send(push(1, 1))
    assert reply.code == ErrorCode.REFUSED
    assert not server.store.branches[BRANCH].records


def test_push_is_acknowledged_after_the_commit(server):
    server.send(hello())
    reply, events = server.send(push(1, 1, 2, batch_id=7))
    assert isinstance(reply, Ack)
    assert (reply.batch_id, reply.session, reply.hwm_seq) == (7, 1, 2)
    assert reply.accepted == [f"019cf8c2-de0e-7d75-806c-{n:012x}" for n in (1, 2)]
    assert events == [BatchApplied(BRANCH, 7, 2, 0, 0, 2)]
    assert set(reply.accepted) <= set(server.store.branches[BRANCH].records)


def test_no_ack_when_the_store_cannot_commit(server):
    server.send(hello())

    def down(point: str) -> None:
        if point == "before_commit":
            raise StoreUnavailable("database is locked")

    server.store.fault = down
    reply, _ = server.send(push(1, 1, batch_id=3))
    assert isinstance(reply, Error)
    assert (reply.code, reply.ref) == (ErrorCode.UNAVAILABLE, 3)
    assert not server.store.branches[BRANCH].records


def test_a_crash_after_the_commit_propagates_and_sends_nothing(server):
    server.send(hello())

    class Died(Exception):
        pass

    def die(point: str) -> None:
        if point == "after_commit":
            raise Died

    server.store.fault = die
    with pytest.raises(Died):
        server.core.receive(BRANCH, push(1, 1), WALL)
    assert server.store.branches[BRANCH].records  # committed; the branch will send it again
    server.store.fault = None
    reply, _ = server.send(push(1, 1))
    assert reply.accepted and server.store.branches[BRANCH].effects == reply.accepted


def test_a_push_under_a_replaced_session_is_fenced(server):
    server.send(hello())
    server.send(hello())  # session 2 (e.g. the same branch reconnected)
    reply, _ = server.send(push(1, 1, batch_id=5))
    assert (reply.code, reply.ref) == (ErrorCode.STALE_SESSION, 5)
    assert not server.store.branches[BRANCH].records


@pytest.mark.parametrize(("skew", "flagged"), [(119.0, False), (-121.0, True), (3600.0, True)])
def test_clock_skew_is_flagged_over_two_minutes(server, skew, flagged):
    _, events = server.send(hello(branch_time=WALL + skew))
    assert any(isinstance(e, ClockSkewFlagged) for e in events) is flagged
    assert server.store.branches[BRANCH].clock_skew == pytest.approx(skew)


def test_idle_sessions_expire(server):
    core = CentralCore(server.store, CentralConfig(session_ttl=60))
    server.core = core
    server.send(hello(), now=WALL)
    assert core.next_deadline() == WALL + 60
    assert core.handle_timer(WALL + 59) == []
    assert core.handle_timer(WALL + 60) == [SessionExpired(BRANCH)]
    assert core.next_deadline() is None
    reply, _ = server.send(push(1, 1))
    assert reply.code == ErrorCode.HELLO_REQUIRED


def test_pages_of_big_items_are_split_to_fit(server):
    for n in range(8):
        server.store.publish_reference("kb.upsert", str(n), {"body": "x" * 1_000_000})
    server.send(hello())
    reply, _ = server.send(encode(Pull(cursor=1, max=1000)))
    assert isinstance(reply, Changes) and 0 < len(reply.items) < 7 and reply.more
    assert reply.to == reply.items[-1].feed_id


def test_an_item_too_big_for_any_message_is_refused_not_sent(server):
    server.store.publish_reference("kb.upsert", "1", {"body": "x"})
    server.store.publish_reference("kb.upsert", "2", {"body": "x" * 5_000_000})
    server.send(hello())
    reply, _ = server.send(encode(Pull(cursor=1, max=10)))
    assert reply.code == ErrorCode.UNAVAILABLE


def test_ping_needs_no_session(server):
    reply, _ = server.send((b"PING", b"\x80"))
    assert reply.TYPE == b"PONG"


def test_config_is_checked():
    with pytest.raises(LocalProtocolError):
        CentralConfig(max_page=0)


# --- receive_many: PUSHes read ahead together are applied in one transaction --------------------


class CountingStore(MemoryCentralStore):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[int]] = []  # the seqs of each apply_batch call

    def apply_batch(self, branch, ops, *, now, session):
        self.batches.append([op.seq for op in ops])
        return super().apply_batch(branch, ops, now=now, session=session)


def op_id(seq: int) -> str:
    return f"019cf8c2-de0e-7d75-806c-{seq:012x}"


def many(server, messages, now=WALL):
    events = server.core.receive_many(BRANCH, messages, now)
    replies = [decode(e.frames) for e in events if isinstance(e, Send)]
    assert len(replies) == len(messages), "every message gets exactly one answer"
    return replies, [e for e in events if not isinstance(e, Send)]


def test_pushes_that_follow_each_other_commit_together_and_are_acked_one_by_one():
    server = Server(CountingStore())
    server.send(hello())
    replies, events = many(
        server, [push(1, 1, 2, batch_id=1), push(1, 3, batch_id=2), push(1, 4, 5, batch_id=3)]
    )
    assert server.store.batches == [[1, 2, 3, 4, 5]]  # one transaction
    assert [(r.batch_id, r.accepted, r.hwm_seq) for r in replies] == [
        (1, [op_id(1), op_id(2)], 5),
        (2, [op_id(3)], 5),
        (3, [op_id(4), op_id(5)], 5),
    ]
    assert events == [
        BatchApplied(BRANCH, 1, 2, 0, 0, 5),
        BatchApplied(BRANCH, 2, 1, 0, 0, 5),
        BatchApplied(BRANCH, 3, 2, 0, 0, 5),
    ]
    assert server.store.branches[BRANCH].apply_log == [(op_id(n), n) for n in range(1, 6)]


def test_a_gap_defers_the_rest_of_the_run_as_one_push_after_another_would():
    server = Server(CountingStore())
    server.send(hello())
    # Seq 3 is still on its way: 4 and 5 wait (deferred), as they would pushed one by one.
    replies, events = many(server, [push(1, 1, 2, batch_id=1), push(1, 4, 5, batch_id=2)])
    assert [(r.batch_id, r.accepted, r.hwm_seq) for r in replies] == [
        (1, [op_id(1), op_id(2)], 2),
        (2, [], 2),
    ]
    assert events[1] == BatchApplied(BRANCH, 2, 0, 0, 2, 2)


def test_what_cannot_join_a_run_is_answered_on_its_own_in_order():
    server = Server(CountingStore())
    server.send(hello())
    messages = [
        push(1, 1, batch_id=1),
        push(1, 1, batch_id=1),  # sent again: its seqs do not follow, so a run of its own
        encode(Pull(cursor=0, max=10)),
        push(1, 2, batch_id=2),
        push(1, 3, batch_id=3),
        (b"PUSH", b"\xc1"),  # malformed
        push(2, 4, batch_id=4),  # another session than the one held here
    ]
    replies, _ = many(server, messages)
    assert [type(r).__name__ for r in replies] == [
        "Ack", "Ack", "Changes", "Ack", "Ack", "Error", "Error"
    ]  # fmt: skip
    assert server.store.batches == [[1], [1], [2, 3], [4]]  # the store fenced the last one
    assert replies[1].accepted == [op_id(1)]  # answered as recorded, applied once
    assert [replies[5].code, replies[6].code] == [ErrorCode.BAD_BODY, ErrorCode.STALE_SESSION]
    assert replies[6].ref == 4
    assert server.store.branches[BRANCH].apply_log == [(op_id(n), n) for n in (1, 2, 3)]


def test_a_run_is_cut_at_max_group_ops():
    server = Server(CountingStore(), CentralConfig(max_group_ops=3))
    server.send(hello())
    replies, _ = many(server, [push(1, 1, 2, batch_id=1), push(1, 3), push(1, 4), push(1, 5)])
    assert server.store.batches == [[1, 2, 3], [4, 5]]
    assert [r.hwm_seq for r in replies] == [3, 3, 5, 5]


def test_a_run_the_store_cannot_commit_answers_every_push_and_applies_nothing():
    server = Server(CountingStore())
    server.send(hello())

    def down(point: str) -> None:
        if point == "before_commit":
            raise StoreUnavailable("database is locked")

    server.store.fault = down
    replies, _ = many(server, [push(1, 1, batch_id=7), push(1, 2, batch_id=8)])
    assert [(r.code, r.ref) for r in replies] == [
        (ErrorCode.UNAVAILABLE, 7),
        (ErrorCode.UNAVAILABLE, 8),
    ]
    assert not server.store.branches[BRANCH].records


def test_pushes_before_hello_are_each_told_to_say_hello():
    server = Server(CountingStore())
    replies, _ = many(server, [push(1, 1, batch_id=1), push(1, 2, batch_id=2)])
    assert [(r.code, r.ref) for r in replies] == [
        (ErrorCode.HELLO_REQUIRED, 1),
        (ErrorCode.HELLO_REQUIRED, 2),
    ]
    assert server.store.batches == []


def test_group_size_is_checked():
    with pytest.raises(LocalProtocolError):
        CentralConfig(max_group_ops=0)


def push_ops(session: int, batch_id: int, *pairs: tuple[int, int]) -> tuple[bytes, bytes]:
    """A PUSH of ops given as (op number, seq): the same op number is the same op id."""
    ops = [
        Op(
            op_id=op_id(number),
            seq=seq,
            kind="visit.created",
            entity_id=f"v{number}",
            hlc=seq,
            payload=created_payload(),
        )
        for number, seq in pairs
    ]
    return encode(Push(batch_id=batch_id, session=session, ops=ops))


def test_an_op_id_in_two_pushes_never_shares_a_run():
    """The codec refuses an op id twice in one PUSH; two PUSHes holding the same op id (a faulty
    branch) are two store calls, as they would be one at a time: the op applies once and both
    PUSHes hear it accepted."""
    server = Server(CountingStore())
    server.send(hello())
    replies, _ = many(server, [push_ops(1, 1, (1, 1)), push_ops(1, 2, (1, 2))])
    assert server.store.batches == [[1], [2]]
    assert [r.accepted for r in replies] == [[op_id(1)], [op_id(1)]]
    assert not any(r.rejected for r in replies)
    assert server.store.branches[BRANCH].apply_log == [(op_id(1), 1)]


def test_receive_run_answers_one_store_call_at_a_time():
    """What the sync server relies on: each step is one store call and says how many messages
    it answered, so the answers of a committed run go out before a later step can fail."""
    server = Server(CountingStore())
    server.send(hello())
    messages = [push(1, 1, batch_id=1), push(1, 2, batch_id=2), push(1, 1, batch_id=1)]
    events, handled = server.core.receive_run(BRANCH, messages, WALL)
    assert handled == 2 and server.store.batches == [[1, 2]]
    assert [decode(e.frames).batch_id for e in events if isinstance(e, Send)] == [1, 2]
    events, handled = server.core.receive_run(BRANCH, messages[2:], WALL)
    assert handled == 1 and server.store.batches == [[1, 2], [1]]
    assert server.core.receive_run(BRANCH, [], WALL) == ([], 0)
