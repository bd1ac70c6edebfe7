"""The branch core, driven frame by frame against the real central core and reference stores."""

import pytest

from sync import ops as kinds
from sync.branch import (
    Acked,
    BranchConfig,
    BranchCore,
    BranchState,
    ChangesApplied,
    Closed,
    PeerError,
    PeerMisbehaved,
    Reconnect,
    Welcomed,
)
from sync.central import CentralCore
from sync.codec import (
    Ack,
    Changes,
    Error,
    ErrorCode,
    Hello,
    LocalProtocolError,
    Ping,
    Pull,
    Push,
    Welcome,
    encode,
)
from sync.store import StoreUnavailable
from tests.sync.harness import WALL, make_link


@pytest.fixture
def link():
    return make_link(BranchConfig(max_batch_ops=5, window=2))


def ready(link):
    link.connect()
    link.settle()
    assert link.branch.state is BranchState.READY


def test_handshake_says_where_the_branch_is_and_pulls(link):
    link.record()
    link.connect(wall_offset=-30.0)
    assert link.branch.state is BranchState.HELLO_SENT
    hello = link.decoded(link.to_central[0])
    assert isinstance(hello, Hello)
    assert (hello.protocol, hello.next_seq, hello.feed_cursor) == (1, 2, 0)
    assert hello.branch_time == pytest.approx(WALL - 30.0)
    link.deliver_to_central()
    link.deliver_to_branch()
    welcomed = [e for e in link.branch_events if isinstance(e, Welcomed)]
    assert welcomed and welcomed[0].session == 1 and not welcomed[0].renumbered
    assert welcomed[0].clock_skew == pytest.approx(-30.0)  # the branch is 30 s behind
    assert link.sent_types() == [b"PUSH", b"PULL"]


def test_window_and_batch_size_are_respected(link):
    ready(link)
    for _ in range(23):
        link.record(notify=False)
    link.outbox_changed()
    pushes = [link.decoded(f) for f in link.to_central if f[0] == b"PUSH"]
    assert [len(p.ops) for p in pushes] == [5, 5]  # two batches of five in flight
    assert [op.seq for op in pushes[0].ops + pushes[1].ops] == list(range(1, 11))
    link.settle()
    assert link.store.pending_count() == 0
    assert link.central_store.branches["1222"].hwm_seq == 23


def test_ops_leave_the_outbox_only_after_the_ack(link):
    ready(link)
    link.record()
    link.deliver_to_central()  # central commits...
    assert link.central_store.branches["1222"].records
    assert link.store.pending_count() == 1  # ...but the ACK has not arrived
    link.to_branch.clear()  # the ACK is lost
    link.tick(link.branch.config.ack_timeout)
    resent = [link.decoded(f) for f in link.to_central if f[0] == b"PUSH"]
    assert [p.batch_id for p in resent] == [1]  # the same batch, unchanged
    link.settle()
    assert link.store.pending_count() == 0
    assert len(link.central_store.branches["1222"].effects) == 1  # applied once


def test_a_batch_that_overtakes_the_one_before_waits_for_it():
    link = make_link(BranchConfig(max_batch_ops=2, window=2))
    ready(link)
    for _ in range(4):
        link.record(notify=False)
    link.outbox_changed()
    assert [link.decoded(f).batch_id for f in link.to_central] == [1, 2]
    link.deliver_to_central(1)  # batch 2 first: seqs 3-4 while central is at 0
    link.deliver_to_branch()
    assert [e.deferred for e in link.branch_events if isinstance(e, Acked)] == [2]
    assert link.to_central == [link.to_central[0]]  # parked, not resent while batch 1 flies
    link.settle()
    assert link.store.pending_count() == 0
    assert [seq for _, seq in link.central_store.branches["1222"].apply_log] == [1, 2, 3, 4]


def test_parked_ops_go_again_after_ack_timeout_when_nothing_comes():
    link = make_link(BranchConfig(max_batch_ops=1, window=2, ack_timeout=3.0))
    ready(link)
    link.record(notify=False)
    link.record(notify=False)
    link.outbox_changed()
    first = link.to_central.pop(0)  # batch 1 is lost
    link.deliver_to_central()
    link.deliver_to_branch()  # batch 2 deferred, parked behind batch 1
    link.tick(3.0)  # batch 1 and the parked op both go again
    assert sorted(link.decoded(f).ops[0].seq for f in link.to_central if f[0] == b"PUSH") == [1, 2]
    assert link.decoded(first).batch_id == 1
    link.settle()
    assert link.store.pending_count() == 0


def test_an_ack_from_an_older_session_removes_nothing(link):
    ready(link)
    link.record()
    link.deliver_to_central()
    stale_ack = link.to_branch.pop()
    link.connect()  # a new connection: a new session, everything in flight forgotten
    link.settle()
    assert link.central_store.branches["1222"].session == 2
    link.to_branch.append(stale_ack)
    link.deliver_to_branch()
    assert link.store.pending_count() == 0  # emptied by the new session's own ACK
    assert link.central_store.branches["1222"].hwm_seq == link.store.next_seq() - 1


def test_renumbers_when_central_already_used_the_outbox_seqs(link):
    ready(link)
    for _ in range(3):
        link.record(notify=False)
    link.outbox_changed()
    link.deliver_to_central()  # seqs 1-3 applied, the ACK lost with the connection
    link.to_branch.clear()
    link.to_central.clear()
    link.connect()
    link.deliver_to_central()
    link.deliver_to_branch()
    assert [e.renumbered for e in link.branch_events if isinstance(e, Welcomed)] == [False, True]
    assert link.pending() == [4, 5, 6]  # above central's mark of 3, same order
    link.settle()
    state = link.central_store.branches["1222"]
    assert link.store.pending_count() == 0
    assert len(state.effects) == 3  # the re-sent ops were recognised by op id
    assert state.hwm_seq == 6 and link.store.next_seq() == 7


def test_a_branch_restored_from_a_backup_reuses_no_op(link):
    ready(link)
    link.record()
    backup = link.store.backup()
    for _ in range(3):
        link.record()
    link.settle()
    link.store.restore(backup)  # the PC died; yesterday's copy is back, with seq 1 pending
    restarted = BranchCore(link.store, boot_id="boot-2", agent_version="test")
    link.branch = restarted
    new = link.record()  # recorded before the agent reached central: seq 2 again
    assert new.seq == 2
    link.connect()
    link.settle()
    state = link.central_store.branches["1222"]
    assert link.store.pending_count() == 0
    assert new.op_id in state.effects and len(state.effects) == 5
    # The restored op went again as seq 5 (known: it used the slot), the new one as 6.
    assert [seq for _, seq in state.apply_log] == [1, 2, 3, 4, 6]


def test_pull_follows_more_and_ignores_stale_pages():
    link = make_link(BranchConfig(pull_page=3))
    for n in range(7):
        link.central_store.publish_reference("category.upsert", str(n), {"name": f"c{n}"})
    link.store.durable = link.store.durable.__class__(cursor=2)  # a branch that has seen 2
    ready(link)
    pages = [e for e in link.branch_events if isinstance(e, ChangesApplied)]
    assert [(p.from_cursor, p.to_cursor, p.items) for p in pages] == [(2, 5, 3), (5, 7, 2)]
    assert link.store.feed_cursor() == 7
    stale = encode(Changes(from_=2, to=5, items=[], more=True, snapshot=False))
    link.to_branch.append(stale)
    link.deliver_to_branch()
    assert link.store.feed_cursor() == 7 and not link.to_central


def test_a_new_branch_gets_a_snapshot(link):
    link.central_store.publish_reference("kb.upsert", "1", {"title": "PDRB"})
    link.central_store.publish_reference("kb.upsert", "2", {"title": "IPM"})
    link.central_store.publish_reference("kb.delete", "2", {})
    ready(link)
    snapshots = [e for e in link.branch_events if isinstance(e, ChangesApplied) and e.snapshot]
    assert snapshots and snapshots[0].items == 1
    assert dict(link.store.durable.reference) == {("kb", "1"): {"title": "PDRB"}}


def test_pings_when_idle_and_reconnects_after_silence():
    config = BranchConfig(
        ping_interval=10, pull_interval=60, peer_timeout=35, backoff_base=1, backoff_max=4
    )
    link = make_link(config)
    ready(link)
    link.to_central.clear()
    link.tick(10)
    assert link.sent_types()[-1] == b"PING"
    link.settle()  # PONG: central is alive
    assert link.branch.status(link.now, WALL).online
    delays = []
    for _ in range(4):
        link.to_central.clear()
        link.tick(35)  # nothing heard for peer_timeout
        reconnect = link.branch_events[-1]
        assert isinstance(reconnect, Reconnect) and link.branch.state is BranchState.IDLE
        delays.append(reconnect.delay)
        link.connect()
    assert delays == [1, 2, 4, 4]  # doubling, capped
    link.settle()
    link.tick(35)
    assert link.branch_events[-1] == Reconnect(1, link.branch_events[-1].reason)  # reset


def test_hello_is_sent_once_per_connection_and_waited_for():
    """The connection is ordered and reliable: an unanswered HELLO sits in a busy central's
    queue. A second HELLO would open a second session fencing the first one's PUSHes."""
    link = make_link(BranchConfig(hello_timeout=2.0, peer_timeout=100.0))
    link.connect()
    for _ in range(60):
        link.tick(1.0)
    assert link.sent_types() == [b"HELLO"]
    link.deliver_to_central()
    link.deliver_to_branch()
    assert link.branch.state is BranchState.READY


def test_an_unanswered_hello_on_a_silent_link_ends_in_a_reconnect():
    link = make_link(BranchConfig(hello_timeout=2.0, peer_timeout=20.0, backoff_base=1))
    link.connect()
    link.tick(19.0)
    assert link.branch.state is BranchState.HELLO_SENT
    link.tick(1.0)
    assert isinstance(link.branch_events[-1], Reconnect)
    assert link.branch.state is BranchState.IDLE


def test_a_link_the_transport_sees_up_keeps_a_slow_central_waited_for():
    """Liveness from the link (ZMTP heartbeats), not from central's answers: while the transport
    reports the connection up, the branch waits for a busy central however long it takes; once
    the link stops being reported, silence ends the connection as before."""
    link = make_link(BranchConfig(peer_timeout=35.0, backoff_base=1))
    link.connect()
    for _ in range(30):
        link.tick(5.0)
        link.branch.link_alive(link.now)
    assert link.branch.state is BranchState.HELLO_SENT and link.sent_types() == [b"HELLO"]
    link.deliver_to_central()
    link.deliver_to_branch()
    assert link.branch.state is BranchState.READY
    link.tick(35.0)  # no answers and no word from the link: dead
    assert isinstance(link.branch_events[-1], Reconnect)


def fail_once(link, point):
    failed = []

    def fault(name):
        if name == point and not failed:
            failed.append(name)
            raise StoreUnavailable("database is locked")

    link.central_store.fault = fault


def test_a_hello_central_could_not_commit_is_sent_again_after_hello_timeout():
    link = make_link(BranchConfig(hello_timeout=2.0, peer_timeout=35.0))
    fail_once(link, "hello")
    link.connect()
    link.settle()
    assert [e.code for e in link.branch_events if isinstance(e, PeerError)] == ["unavailable"]
    link.branch.link_alive(link.now)
    link.tick(1.9)
    assert link.branch.state is BranchState.HELLO_SENT and not link.to_central
    link.tick(0.1)
    assert link.sent_types() == [b"HELLO"]
    link.settle()
    assert link.branch.state is BranchState.READY


def test_a_batch_central_could_not_commit_goes_again_after_the_plain_ack_timeout():
    """Even when central has been slow (the resend wait is stretched), an ERROR is an answer:
    nothing else will come for that batch, so it goes again after ``ack_timeout``."""
    link = make_link(BranchConfig(ack_timeout=5.0, peer_timeout=35.0))
    link.connect()
    link.tick(30.0)
    link.branch.link_alive(link.now)
    link.settle()  # WELCOME after 30 s: resends now wait 60 s
    fail_once(link, "before_commit")
    link.record()
    link.settle()
    assert [e.code for e in link.branch_events if isinstance(e, PeerError)] == ["unavailable"]
    assert link.store.pending_count() == 1
    link.tick(4.9)
    assert b"PUSH" not in link.sent_types()
    link.tick(0.1)
    assert link.sent_types().count(b"PUSH") == 1
    link.settle()
    assert link.store.pending_count() == 0


def test_resends_wait_longer_for_a_central_that_answers_slowly():
    link = make_link(BranchConfig(ack_timeout=5.0, peer_timeout=35.0))
    link.connect()
    link.tick(20.0)
    link.branch.link_alive(link.now)
    link.deliver_to_central()
    link.deliver_to_branch()  # WELCOME after 20 s: central is slow
    link.to_central.clear()
    link.record()
    for _ in range(39):
        link.branch.link_alive(link.now)  # the link is up all along
        link.tick(1.0)
    assert link.sent_types().count(b"PUSH") == 1  # not after ack_timeout (5 s)
    link.tick(1.0)  # 2 x 20 s after it was sent: now it goes again
    assert link.sent_types().count(b"PUSH") == 2


def test_central_restart_is_answered_with_a_new_hello(link):
    ready(link)
    link.now += 60
    link.central = CentralCore(link.central_store)  # restarted: no sessions in memory
    link.record()
    link.deliver_to_central()
    link.deliver_to_branch()
    errors = [e for e in link.branch_events if isinstance(e, PeerError)]
    assert errors[-1].code == ErrorCode.HELLO_REQUIRED
    assert link.branch.state is BranchState.HELLO_SENT
    link.settle()
    assert link.store.pending_count() == 0


def test_stale_session_only_matters_for_a_batch_in_flight(link):
    ready(link)
    link.to_branch.append(encode(Error(code="stale_session", message="old", ref=99)))
    link.deliver_to_branch()
    assert link.branch.state is BranchState.READY  # not about anything in flight
    link.now += 60
    other = link.central_store.hello(
        "1222",
        boot_id="x",
        next_seq=1,
        feed_cursor=0,
        agent_version="x",
        branch_time=WALL,
        now=WALL,
    )
    link.record()  # pushed under session 1; central's current session is now 2
    link.deliver_to_central()
    link.deliver_to_branch()
    assert link.branch.state is BranchState.HELLO_SENT
    link.settle()
    assert link.branch.session == other.session + 1
    assert link.store.pending_count() == 0


def test_new_sessions_are_not_requested_in_a_storm(link):
    ready(link)
    link.now += 60
    link.central = CentralCore(link.central_store)
    link.record()
    link.record()
    link.deliver_to_central()
    link.deliver_to_central()
    link.deliver_to_branch()  # hello_required for batch 1: a new HELLO
    link.deliver_to_branch()  # and for batch 2, at once: not another one
    assert link.sent_types() == [b"HELLO"]


def test_unsupported_protocol_closes_for_good(link):
    link.connect()
    link.to_central.clear()
    link.to_branch.append(encode(Error(code="unsupported_protocol", message="speaks 2")))
    link.deliver_to_branch()
    assert link.branch.state is BranchState.CLOSED
    assert isinstance(link.branch_events[-1], Closed)
    assert link.branch.next_deadline() is None
    with pytest.raises(LocalProtocolError):
        link.connect()


def test_a_refused_branch_retries_slowly():
    link = make_link(BranchConfig(backoff_max=60))
    link.central_store.revoke("1222")
    link.connect()
    link.settle()
    reconnect = link.branch_events[-1]
    assert isinstance(reconnect, Reconnect) and reconnect.delay == 60
    assert "refused" in link.branch.status(link.now, WALL).last_error


@pytest.mark.parametrize(
    "frames",
    [
        (b"WELCOME", b"\xc1"),
        (b"HELLO", b"\x80"),  # a message central never sends
        (b"ACK",),
    ],
)
def test_garbage_from_central_is_ignored(link, frames):
    ready(link)
    link.to_branch.append(frames)
    link.deliver_to_branch()
    assert isinstance(link.branch_events[-1], PeerMisbehaved)
    assert link.branch.state is BranchState.READY


def test_frames_after_giving_up_are_ignored(link):
    assert (
        link.branch.receive(encode(Welcome(hwm_seq=0, feed_head=0, server_time=WALL, session=1)), 0)
        == []
    )
    assert link.branch.handle_timer(100.0) == [] and link.branch.next_deadline() is None


def test_status_reports_what_staff_need(link):
    ready(link)
    link.record(kinds.RATING_GIVEN, entity="nope", scores={"U1": 9}, overall=9)
    link.record()
    link.settle()
    link.now += 20
    status = link.branch.status(link.now, WALL + link.now)
    assert status.online and status.state == "ready" and status.pending_ops == 0
    assert status.last_sync_at == pytest.approx(WALL)  # 20 s ago on the wall clock
    assert [r.code for r in status.rejected] == ["invalid_payload"]
    assert status.feed_cursor == link.store.feed_cursor()
    assert status.clock_skew == pytest.approx(0.0)


def test_config_is_checked():
    with pytest.raises(LocalProtocolError) as caught:
        BranchConfig(max_batch_ops=0, window=100, ping_interval=60, peer_timeout=30)
    assert "max_batch_ops=0" in caught.value.message and "window=100" in caught.value.message


def test_a_push_too_big_for_one_message_is_split():
    link = make_link(BranchConfig(max_batch_ops=200, window=1))
    ready(link)
    notes = "n" * 19_000
    for _ in range(300):
        op = link.store.record(
            kinds.CONSULTATION_NOTED,
            "v",
            {"subject": "data", "notes": notes * 4, "officer": "x"},  # over the payload limit
            op_id=f"019cf8c2-de0e-7d75-806c-{len(link.store.durable.outbox):012x}",
            hlc=1,
        )
    assert op.seq == 300
    link.outbox_changed()
    push = link.decoded(link.to_central[-1])
    assert isinstance(push, Push) and 0 < len(push.ops) < 200  # halved until it fits


def test_pull_is_resent_when_unanswered():
    link = make_link(BranchConfig(ack_timeout=5.0))
    ready(link)
    link.to_central.clear()
    link.tick(link.branch.config.pull_interval)
    assert link.sent_types() == [b"PULL"]
    link.to_central.clear()  # lost
    link.tick(5.0)
    assert b"PULL" in link.sent_types()
    assert isinstance(link.decoded(link.to_central[0]), Pull | Ping)


def test_acks_name_the_session():
    link = make_link()
    ready(link)
    link.record()
    link.deliver_to_central()
    ack = link.decoded(link.to_branch[0])
    assert isinstance(ack, Ack) and ack.session == link.branch.session
