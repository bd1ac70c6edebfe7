"""The sync server's inbox: small messages first across connections, each connection in order."""

import pytest

from pst_helpdesk_ext.services.sync_server import Inbox, SyncServer
from sync.codec import Pull, encode
from sync.transport import Received, generate_keypair


def message(identity: bytes, size: int, tag: str, kind: bytes = b"PUSH") -> Received:
    body = tag.encode().ljust(size, b".")
    return Received("1222", identity, [kind, body], "127.0.0.1", False)


def tags(inbox: Inbox) -> list[str]:
    out = []
    while (received := inbox.pop()) is not None:
        out.append(received.frames[1].rstrip(b".").decode())
    return out


def test_small_messages_of_other_connections_go_before_large_ones():
    inbox = Inbox(small_bytes=100)
    inbox.add(message(b"a", 1000, "a1"))
    inbox.add(message(b"b", 1000, "b1"))
    inbox.add(message(b"c", 10, "c1"))
    inbox.add(message(b"b", 10, "b2"))  # small, but behind b's own large batch
    inbox.add(message(b"c", 1000, "c2"))
    assert len(inbox) == 5
    assert tags(inbox) == ["c1", "a1", "b1", "b2", "c2"]
    assert len(inbox) == 0 and inbox.bytes == 0


def test_each_connection_keeps_its_order_and_large_ones_take_turns():
    inbox = Inbox(small_bytes=100)
    for n in (1, 2, 3):
        inbox.add(message(b"a", 1000, f"a{n}"))
        inbox.add(message(b"b", 1000, f"b{n}"))
    assert tags(inbox) == ["a1", "b1", "a2", "b2", "a3", "b3"]


def pull(identity: bytes, cursor: int) -> Received:
    return Received("1222", identity, list(encode(Pull(cursor=cursor, max=100))), "", False)


def test_a_first_pull_takes_the_large_lane_a_later_one_the_small():
    """A first PULL (cursor 0) is answered with a snapshot of the reference data: its cost is
    its answer, not its size. A PULL for what changed since a cursor is cheap."""
    inbox = Inbox(small_bytes=100)
    inbox.add(message(b"a", 1000, "a1"))
    inbox.add(pull(b"p", 0))
    inbox.add(message(b"h", 10, "h1", kind=b"HELLO"))
    inbox.add(pull(b"q", 17))
    inbox.add(message(b"x", 10, "x1", kind=b"PULL"))  # not a PULL body: as a first one
    order = []
    while (received := inbox.pop()) is not None:
        order.append(received.identity)
    assert order == [b"h", b"q", b"a", b"p", b"x"]


def test_without_small_first_there_is_one_lane():
    inbox = Inbox(small_first=False, small_bytes=100)
    inbox.add(message(b"a", 1000, "a1"))
    inbox.add(message(b"c", 10, "c1"))
    inbox.add(message(b"a", 10, "a2"))
    assert tags(inbox) == ["a1", "c1", "a2"]


def test_full_by_count_or_bytes():
    by_count = Inbox(max_messages=2)
    by_count.add(message(b"a", 10, "a1"))
    assert not by_count.full()
    by_count.add(message(b"b", 10, "b1"))
    assert by_count.full()
    by_count.pop()
    assert not by_count.full()
    by_bytes = Inbox(max_bytes=1000)
    by_bytes.add(message(b"a", 2000, "a1"))
    assert by_bytes.full()
    with pytest.raises(ValueError, match="positive"):
        Inbox(max_messages=0)


def test_the_server_refuses_an_unknown_order():
    with pytest.raises(ValueError, match="small-first, arrival"):
        SyncServer("tcp://127.0.0.1:*", generate_keypair(), order="newest")


def run_tags(run: list[Received]) -> list[str]:
    return [received.frames[1].rstrip(b".").decode() for received in run]


def test_a_push_comes_out_with_the_pushes_queued_behind_it_on_its_connection():
    """What the core may apply in one transaction: a connection's waiting PUSHes, up to the
    limit, never past another kind of message and never another connection's."""
    inbox = Inbox(small_bytes=100)
    for n in (1, 2, 3):
        inbox.add(message(b"a", 1000, f"a{n}"))
    inbox.add(message(b"b", 1000, "b1"))
    inbox.add(message(b"a", 10, "a4", kind=b"PULL"))
    inbox.add(message(b"a", 1000, "a5"))
    inbox.add(message(b"b", 1000, "b2"))
    assert run_tags(inbox.pop_run(2)) == ["a1", "a2"]
    assert run_tags(inbox.pop_run(16)) == ["b1", "b2"]
    assert run_tags(inbox.pop_run(16)) == ["a3"]  # a PULL behind it: not part of the run
    assert run_tags(inbox.pop_run(16)) == ["a4"]  # and not the start of one either
    assert run_tags(inbox.pop_run(16)) == ["a5"]
    assert inbox.pop_run(16) == [] and len(inbox) == 0 and inbox.bytes == 0


def test_a_run_keeps_the_small_lane_first_for_other_connections():
    inbox = Inbox(small_bytes=100)
    inbox.add(message(b"a", 1000, "a1"))
    inbox.add(message(b"a", 1000, "a2"))
    inbox.add(message(b"a", 1000, "a3"))
    inbox.add(message(b"c", 10, "c1"))
    assert run_tags(inbox.pop_run(16)) == ["c1"]
    assert run_tags(inbox.pop_run(16)) == ["a1", "a2", "a3"]


def test_a_small_push_takes_only_the_small_pushes_behind_it():
    """A large batch queued behind a small push on the same connection does not ride the small
    lane past the other connections' messages."""
    inbox = Inbox(small_bytes=100)
    inbox.add(message(b"a", 1000, "a1"))
    inbox.add(message(b"s", 10, "s1"))
    inbox.add(message(b"s", 10, "s2"))
    inbox.add(message(b"s", 1000, "s3"))
    assert run_tags(inbox.pop_run(16)) == ["s1", "s2"]
    assert run_tags(inbox.pop_run(16)) == ["a1"]
    assert run_tags(inbox.pop_run(16)) == ["s3"]
