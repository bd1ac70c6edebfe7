"""The sync worker over real ZeroMQ with CURVE on loopback, against the central sans-IO core on
the in-memory reference store (the real central site is exercised by the end-to-end suite)."""

import copy
import socket
import threading
import time

import pytest

from branch_agent import services
from branch_agent.models import OutboxOp, SyncState, Visit
from branch_agent.worker import SyncWorker
from sync.branch import BranchConfig
from sync.central import CentralCore
from sync.codec import Send
from sync.memory import MemoryCentralStore
from sync.transport import CentralTransport, TransportOptions, generate_keypair

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FAST = BranchConfig(
    backoff_base=0.1,
    backoff_max=0.5,
    pull_interval=0.3,
    ack_timeout=2.0,
    hello_timeout=1.0,
    ping_interval=1.0,
    peer_timeout=5.0,
)
LINK = TransportOptions(
    reconnect_ivl_ms=100,
    reconnect_ivl_max_ms=300,
    heartbeat_ivl_ms=500,
    heartbeat_timeout_ms=2000,
    heartbeat_ttl_ms=3000,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Central:
    """A central sync server thread: CentralTransport + CentralCore + MemoryCentralStore."""

    def __init__(self, port, keypair, enrolled, store=None):
        if store is None:
            store = MemoryCentralStore()
            store.enrol("1222")
        self.store = store
        self.enrolled = enrolled
        self.core = CentralCore(self.store)
        self.lock = threading.Lock()
        self.transport = CentralTransport(
            f"tcp://127.0.0.1:{port}",
            keypair,
            lambda key: "1222" if key in enrolled else None,
            options=LINK,
        )
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            while not self.stopping.is_set():
                got = self.transport.recv(100)
                if got is None:
                    continue
                with self.lock:
                    events = self.core.receive(got.branch, got.frames, time.time())
                for event in events:
                    if isinstance(event, Send):
                        self.transport.send(got.identity, list(event.frames))
        finally:
            self.transport.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(5)

    def op_ids(self):
        with self.lock:
            return list(self.store.branches["1222"].records)


def wait_for(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


@pytest.fixture
def keys():
    return generate_keypair(), generate_keypair()


def worker_for(port, server, branch):
    return SyncWorker(
        endpoint=f"tcp://127.0.0.1:{port}",
        server_public_key=server.public_key,
        keypair=branch,
        config=FAST,
        options=LINK,
    )


def state():
    return SyncState.objects.get(id=1)


def test_offline_work_queues_up_then_arrives_once_with_no_restart(keys):
    server, branch = keys
    port = free_port()
    worker = worker_for(port, server, branch)
    worker.start()
    central = None
    try:
        visits = [services.issue_number("konsultasi").visit for _ in range(5)]
        services.call_next("1")
        assert wait_for(lambda: state().last_error.startswith("unreachable"))
        assert not state().online and OutboxOp.objects.filter(state="pending").count() == 6

        central = Central(port, server, {branch.public_key})
        assert wait_for(lambda: OutboxOp.objects.filter(state="pending").count() == 0)
        ops = central.op_ids()
        assert len(ops) == len(set(ops)) == 6
        assert wait_for(lambda: state().online and state().last_success_at is not None)
        assert state().last_error == ""

        # New work while online goes out at once (woken by the outbox, not a timer).
        services.issue_number("perpustakaan")
        assert wait_for(lambda: len(central.op_ids()) == 7, timeout=5)

        # Central's change on a ticket comes down to the visit.
        with central.lock:
            central.store.staff_set_status("1222", str(visits[0].pk), "resolved")
        assert wait_for(lambda: Visit.objects.get(pk=visits[0].pk).central_status == "resolved")

        # Central goes away and comes back: the outbox drains again by itself.
        central.stop()
        services.issue_number("konsultasi")
        assert wait_for(lambda: not state().online)
        central2 = Central(port, server, {branch.public_key}, store=central.store)
        try:
            assert wait_for(lambda: OutboxOp.objects.filter(state="pending").count() == 0)
            assert len(set(central2.op_ids())) == len(central2.op_ids()) == 8
        finally:
            central2.stop()
            central = None
    finally:
        worker.stop()
        if central is not None:
            central.stop()
    assert not worker.running


def test_a_key_central_does_not_know_is_reported_and_nothing_leaves(keys):
    server, branch = keys
    port = free_port()
    central = Central(port, server, enrolled=set())
    worker = worker_for(port, server, branch)
    services.issue_number("konsultasi")
    worker.start()
    try:
        assert wait_for(lambda: state().last_error.startswith("not_enrolled"))
        view = services.sync_view()
        assert "enrol" in view.problem and view.pending_ops == 1
        # Enrolled later: it comes up without restarting the agent.
        central.enrolled.add(branch.public_key)
        assert wait_for(lambda: OutboxOp.objects.filter(state="pending").count() == 0)
    finally:
        worker.stop()
        central.stop()


def test_central_restored_from_an_older_backup_gets_new_work_without_staff_action(keys, caplog):
    """docs/protocol.md 6.6 on the agent's SQLite store over real ZeroMQ: central forgets three
    acknowledged visits; the branch sends them again from its store (it keeps acknowledged
    records for the local retention period), in order and before its new work, and reports it
    for staff."""
    server, branch = keys
    port = free_port()
    central = Central(port, server, {branch.public_key})
    worker = worker_for(port, server, branch)
    worker.start()
    restored = None
    try:
        visits = [services.issue_number("konsultasi").visit]
        assert wait_for(lambda: len(central.op_ids()) == 1)
        with central.lock:
            backup = copy.deepcopy(central.store)
        visits += [services.issue_number("konsultasi").visit for _ in range(3)]
        assert wait_for(lambda: len(central.op_ids()) == 4)
        assert wait_for(lambda: OutboxOp.objects.filter(state="pending").count() == 0)
        central.stop()
        central = None
        fresh = services.issue_number("perpustakaan").visit
        restored = Central(port, server, {branch.public_key}, store=backup)
        assert wait_for(lambda: OutboxOp.objects.filter(state="pending").count() == 0)
        with restored.lock:
            records = restored.store.branches["1222"].records
            in_seq = sorted(records.values(), key=lambda r: r.op.seq)
            expected = [str(v.pk) for v in [*visits, fresh]]
            assert [r.op.entity_id for r in in_seq] == expected  # all five, in order, once
            assert restored.store.branches["1222"].hwm_seq == 5
        assert state().next_seq == 6
        assert "lost acknowledged ops seq 2..4: 3 still held here were sent again, 0" in caplog.text
        lost = services.sync_view().central_lost
        assert lost is not None and (lost.first_seq, lost.last_seq) == (2, 4)
        assert (lost.resent, lost.unrecoverable) == (3, 0)
    finally:
        worker.stop()
        for server_thread in (central, restored):
            if server_thread is not None:
                server_thread.stop()
