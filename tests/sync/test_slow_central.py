"""A live but slow central (the national reconnect storm), reproduced with the real sans-IO cores.

Found by ``bench/bench_national.py``: with 548 offices released at once against one
``pst_sync_server`` on this 2-core machine, 496 offices drained in about four minutes, then 54
offices stayed at ``hwm_seq`` 0 for more than seven minutes, each at its 26th-28th session, while
the server was busy committing HELLOs (``py-spy``: ``DjangoCentralStore.hello``). Mechanism, shown
here with ``BranchCore`` and ``CentralCore`` and nothing else: central answers every message,
in order, but ``delay`` seconds late (its queue is that long).

- The branch re-sends HELLO on the same connection after 5, 10, 20 ... s without a WELCOME
  (``hello_timeout``). ZeroMQ delivers in order or drops the connection, so the first HELLO was
  not lost, only queued; each re-sent HELLO opens a new session at central, which fences the
  PUSH the branch sent in the session before (``stale_session``). The backlog is pushed, and
  decoded by central, once per HELLO; each HELLO is a committed write at central. Under load this
  multiplies central's work, so the queue grows: a feedback loop.
- Once the queue is longer than ``peer_timeout`` (35 s) the branch reconnects before any answer
  arrives, and starts over with a new HELLO on the new connection: it never gets its ops in,
  although central is up and answering (liveness, invariant 8, is lost under overload).

The fix (``sync/branch.py``; docs/protocol.md 6.1, 6.4, 6.5): on one connection the branch
sends HELLO once and waits (the transport is reliable and ordered; a connection that died is a
new connection, which says HELLO anyway); resends of PUSH and PULL wait ``ack_timeout`` or twice
the slowest recent answer time, whichever is longer; and the transport reports the link alive
(``BranchCore.link_alive``: ZMTP heartbeats are answered by libzmq's I/O thread even while
central's Python is busy), so ``peer_timeout`` only fires on a dead link, not on a busy central.
This harness models that link: heartbeats every ``HEARTBEAT`` s on the current connection.

The first test (a fast central) is the control: the harness itself works.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from dataclasses import dataclass, field

from sync import ops as kinds
from sync.branch import BranchCore, Reconnect
from sync.central import CentralCore
from sync.codec import FROM_BRANCH, Hello, Push, Send, decode
from sync.memory import MemoryBranchStore, MemoryCentralStore

BRANCH = "1222"
HEARTBEAT = 5.0  # ZMTP heartbeat interval: the transport reports the link alive this often


def uuid7(n: int) -> str:
    value = (1_773_700_000_000 + n) << 80 | 0x7 << 76 | (n & ((1 << 62) - 1))
    value = (value & ~(0b11 << 62)) | 0b10 << 62
    return str(uuid.UUID(int=value))


@dataclass
class Outcome:
    applied: int = 0
    hellos: int = 0
    sessions: set[int] = field(default_factory=set)
    pushed_ops: int = 0
    reconnects: int = 0
    done_at: float | None = None


def simulate(delay: float, ops: int = 200, horizon: float = 600.0) -> Outcome:
    """One branch with ``ops`` queued; central answers each message ``delay`` s after it was
    sent (a FIFO queue that long), replies arrive at once. A reconnect drops what was in flight
    on the old connection (the best case for the protocol). The link itself is healthy: ZMTP
    heartbeats pass every ``HEARTBEAT`` s, which the transport reports (``link_alive``)."""
    central_store = MemoryCentralStore()
    central_store.enrol(BRANCH)
    central = CentralCore(central_store)
    store = MemoryBranchStore()
    for n in range(ops):
        store.record(
            kinds.VISIT_CREATED,
            str(uuid.UUID(int=n + 1)),
            {
                "service": "konsultasi",
                "queue_number": f"K-{n % 1000:03d}",
                "service_day": "2026-03-17",
                "issued_at": "2026-03-17T08:00:00+07:00",
            },
            op_id=uuid7(n),
            hlc=n,
        )
    core = BranchCore(store, boot_id="b", agent_version="t")
    out = Outcome()
    order = itertools.count()
    queue: list[tuple[float, int, str, object]] = []  # (time, tiebreak, what, payload)
    connection = 1
    heapq.heappush(queue, (0.0, next(order), "connect", connection))

    def branch_events(events, now: float) -> None:
        nonlocal connection
        for event in events:
            if isinstance(event, Send):
                message = decode(list(event.frames), FROM_BRANCH)
                if isinstance(message, Hello):
                    out.hellos += 1
                if isinstance(message, Push):
                    out.pushed_ops += len(message.ops)
                item = (connection, list(event.frames))
                heapq.heappush(queue, (now + delay, next(order), "to_central", item))
            elif isinstance(event, Reconnect):
                out.reconnects += 1
                connection += 1
                heapq.heappush(queue, (now + event.delay, next(order), "connect", connection))

    now = 0.0
    while queue and now < horizon:
        deadline = core.next_deadline()
        if deadline is not None and deadline < queue[0][0]:
            now = deadline
            branch_events(core.handle_timer(now), now)
        else:
            now, _, what, payload = heapq.heappop(queue)
            if what == "connect":
                if payload == connection:
                    branch_events(core.connect(now, 1_773_700_000.0 + now), now)
                    heapq.heappush(queue, (now + HEARTBEAT, next(order), "heartbeat", connection))
            elif what == "heartbeat":
                if payload == connection:  # the link is up: libzmq's heartbeats are answered
                    core.link_alive(now)
                    heapq.heappush(queue, (now + HEARTBEAT, next(order), "heartbeat", connection))
            elif what == "tick":
                continue
            else:
                conn, frames = payload
                if conn != connection:
                    continue  # the old connection is gone, and so is what it carried
                for event in central.receive(BRANCH, frames, 1_773_700_000.0 + now):
                    if isinstance(event, Send):
                        branch_events(core.receive(list(event.frames), now), now)
                session = central.session(BRANCH)
                if session is not None:
                    out.sessions.add(session)
        if out.done_at is None and store.pending_count() == 0:
            out.done_at = now
            break
        # Keep the branch's timers going even when no message is queued.
        if not queue and core.next_deadline() is not None:
            heapq.heappush(queue, (core.next_deadline(), next(order), "tick", None))
    out.applied = ops - store.pending_count()
    return out


def test_fast_central_one_session_backlog_pushed_once() -> None:
    out = simulate(delay=0.05)
    assert out.applied == 200 and out.done_at is not None
    assert out.hellos == 1 and len(out.sessions) == 1
    assert out.pushed_ops == 200 and out.reconnects == 0


def test_slow_central_one_session_backlog_pushed_once() -> None:
    out = simulate(delay=30.0)
    assert out.applied == 200
    assert out.hellos == 1 and len(out.sessions) == 1
    assert out.pushed_ops == 200


def test_central_behind_peer_timeout_still_gets_the_ops() -> None:
    out = simulate(delay=40.0)
    assert out.applied == 200, (out.reconnects, out.hellos, len(out.sessions))
