"""Security review of the sync channel, on the real server (CURVE ZeroMQ, loopback, real database).

SECURITY.md promises: only an enrolled, non-revoked key of an active branch gets in; the key decides
the branch and a branch can touch only its own records; replaying a PUSH applies nothing twice and a
body of an older session is refused; personal data never crosses the wire in clear; a server under
a stream of garbage keeps serving good branches. Each promise has a test here. The single-message
garbage, unknown-key and revoked-key cases live in tests/central/test_sync_server.py (whose
fixtures these tests share); the property-based fuzzing of the cores in tests/sync/.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator

import msgspec
import pytest
import zmq
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.models import Visit
from sync.codec import Ack, Changes, Error, Pull, Push, Welcome
from sync.transport import LinkState
from tests.central import test_sync_server as real
from tests.central.test_intake import WalkinOps

central = real.central  # the running SyncServer fixture (pytest finds fixtures among globals)
connect, enrolled = real.connect, real.enrolled
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NAME, EMAIL, PHONE = "Siti Aminah", "siti@example.org", "081234567890"


def visit_state(origin: str, branch: str = "1222") -> tuple[str, int, int]:
    visit = Visit.objects.select_related("pst_ticket__ticket").get(
        origin_id=origin, branch__code=branch
    )
    ticket = visit.pst_ticket.ticket
    return visit.outcome, ticket.status, FollowUp.objects.filter(ticket=ticket).count()


def test_a_branch_key_cannot_touch_another_branchs_records(central):
    server, clients = central
    labuhanbatu = connect(server, clients, enrolled("1222"))
    nias = connect(server, clients, enrolled("1201", "Nias"))
    assert labuhanbatu.link() is LinkState.UP and nias.link() is LinkState.UP
    labuhanbatu.hello()
    nias.hello()

    # 1222 records a visit that is still waiting at its desk.
    own = WalkinOps(seed=21)
    visit = own.new_visit_id()
    ops = [own.created(visit), own.guestbook(visit)]
    assert len(labuhanbatu.push(1, ops).accepted) == 2
    before = visit_state(visit)
    tickets_before = Ticket.objects.count()

    # Nias's key pushes ops naming 1222's visit: call it, serve it, resolve it, rate it.
    forger = WalkinOps(seed=22)
    forged = [
        forger.called(visit),
        forger.served(visit),
        forger.resolved(visit),
        forger.rating(visit),
    ]
    ack = nias.push(1, forged)
    assert isinstance(ack, Ack) and ack.accepted == []
    assert {r.code for r in ack.rejected} == {"unknown_entity"}
    assert visit_state(visit) == before  # nothing applied to 1222's visit or ticket
    assert Ticket.objects.count() == tickets_before
    assert not Visit.objects.filter(branch__code="1201").exists()

    # Re-creating the same visit id under Nias makes a separate Nias visit, never 1222's.
    made = nias.push(2, [WalkinOps(seq=5, seed=23).created(visit)])
    assert isinstance(made, Ack) and len(made.accepted) == 1
    assert visit_state(visit) == before
    copies = Visit.objects.filter(origin_id=visit).select_related("pst_ticket__ticket__queue")
    assert {(v.branch.code, v.pst_ticket.ticket.queue.slug) for v in copies} == {
        ("1222", "pst-1222"),
        ("1201", "pst-1201"),
    }


def test_a_replayed_push_applies_nothing_twice_and_an_old_sessions_body_is_refused(central):
    server, clients = central
    keypair = enrolled("1222")
    client = connect(server, clients, keypair)
    assert client.link() is LinkState.UP
    first = client.hello()
    ops = WalkinOps(seed=31).complete_visit()
    body = Push(batch_id=1, session=first.session, ops=ops)
    ack = client.ask(body)
    assert isinstance(ack, Ack) and len(ack.accepted) == len(ops)
    counts = (Visit.objects.count(), Ticket.objects.count(), FollowUp.objects.count())

    # The same body again, same session (an ACK lost on the way, or a replay): same answer.
    replay = client.ask(body)
    assert isinstance(replay, Ack) and sorted(replay.accepted) == sorted(ack.accepted)
    assert (Visit.objects.count(), Ticket.objects.count(), FollowUp.objects.count()) == counts

    # A new connection (a new HELLO) fences the old session: its body is refused outright.
    later = connect(server, clients, keypair)
    assert later.link() is LinkState.UP
    later.hello()
    stale = later.ask(body)
    assert isinstance(stale, Error) and stale.code == "stale_session"
    # The same ops re-sent in the new session are recognised by op id: nothing applied twice.
    resent = later.push(2, ops)
    assert isinstance(resent, Ack) and sorted(resent.accepted) == sorted(ack.accepted)
    assert (Visit.objects.count(), Ticket.objects.count(), FollowUp.objects.count()) == counts

    # A forged re-send keeping the op ids but changing the contents changes nothing either.
    forged = [
        msgspec.structs.replace(op, payload={**op.payload, "queue_number": "K-999"})
        if op.kind == "visit.created"
        else op
        for op in ops
    ]
    answer = later.push(3, forged)
    assert isinstance(answer, Ack) and sorted(answer.accepted) == sorted(ack.accepted)
    assert Visit.objects.get(origin_id=ops[0].entity_id).queue_number != "K-999"
    assert (Visit.objects.count(), Ticket.objects.count(), FollowUp.objects.count()) == counts


# --------------------------------------------------------------------------- garbage storm


@pytest.fixture
def storm(central) -> Iterator[tuple[object, list, list[int], object]]:
    """Garbage senders running until the test ends: enrolled keys speaking nonsense through
    real ZeroMQ, and raw TCP junk (not even ZMTP) straight onto the port."""
    server, clients = central
    stop = threading.Event()
    sent = [0]
    rogue_keys = [enrolled(code, f"Rogue {code}") for code in ("1301", "1302")]
    # The good branch is enrolled before the storm: the server reads the branch table on every
    # message, and the in-memory test database locks a table while another thread writes it.
    good = enrolled("1222")
    port = int(server.endpoint.rsplit(":", 1)[1])

    def zmq_garbage(keypair) -> None:
        context = zmq.Context()
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 100)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, keypair.public_key.encode())
        sock.setsockopt(zmq.CURVE_SECRETKEY, keypair.secret_key.encode())
        sock.setsockopt(zmq.CURVE_SERVERKEY, server.keypair.public_key.encode())
        sock.connect(server.endpoint)
        frames = [
            [b"PUSH", os.urandom(64)],
            [b"HELLO", b"\x80"],
            [os.urandom(8)],
            [b"PULL", b"\xc1", b"x"],
            [b"NOPE" * 4, b""],
        ]
        try:
            while not stop.is_set():
                for message in frames:
                    try:
                        sock.send_multipart(message, flags=zmq.NOBLOCK)
                        sent[0] += 1
                    except zmq.Again:
                        time.sleep(0.005)
                while sock.poll(0):
                    sock.recv_multipart()
                time.sleep(0.001)
        finally:
            sock.close()
            context.term()

    def tcp_junk() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as tcp:
                    tcp.sendall(os.urandom(2048))
                    sent[0] += 1
            except OSError:
                pass
            time.sleep(0.01)

    threads = [threading.Thread(target=zmq_garbage, args=(k,), daemon=True) for k in rogue_keys]
    threads.append(threading.Thread(target=tcp_junk, daemon=True))
    for thread in threads:
        thread.start()
    yield server, clients, sent, good
    stop.set()
    for thread in threads:
        thread.join(10)


def test_a_server_under_a_garbage_storm_keeps_serving_a_good_branch(storm):
    server, clients, sent, good = storm
    deadline = time.monotonic() + 10
    while server.stats.errors_answered < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.stats.errors_answered >= 50, "the storm never reached the server"

    client = connect(server, clients, good)
    assert client.link() is LinkState.UP  # Client.ask and link() wait at most 10 s each
    started = time.monotonic()
    assert isinstance(client.hello(), Welcome)
    visits = WalkinOps(seed=40)
    for batch in range(1, 4):
        ack = client.push(batch, visits.complete_visit())
        assert isinstance(ack, Ack) and len(ack.accepted) == 7 and not ack.rejected
    assert isinstance(client.ask(Pull(cursor=0, max=50)), Changes)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"a good branch waited {elapsed:.1f} s under the storm"
    assert Visit.objects.filter(branch__code="1222").count() == 3
    assert server.stats.internal_errors == 0
    assert sent[0] > 100


# --------------------------------------------------------------------------- the wire


class Relay:
    """A tiny TCP relay between a client and the server that keeps every byte it forwards."""

    def __init__(self, target_port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target = target_port
        self.captured = bytearray()
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                with self.lock:
                    self.captured += chunk
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.stopped = True
        self.listener.close()


def test_personal_data_never_crosses_the_wire_in_clear(central):
    server, clients = central
    relay = Relay(int(server.endpoint.rsplit(":", 1)[1]))
    try:
        keypair = enrolled("1222")
        client = real.Client(f"tcp://127.0.0.1:{relay.port}", server.keypair.public_key, keypair)
        clients.append(client)
        assert client.link() is LinkState.UP
        client.hello()
        ops = WalkinOps(seed=51).complete_visit()
        guestbook = next(op for op in ops if op.kind == "guestbook.recorded")
        ack = client.push(1, ops)
        assert isinstance(ack, Ack) and len(ack.accepted) == len(ops)
        changes = client.ask(Pull(cursor=0, max=100))
        assert isinstance(changes, Changes) and changes.items
        with relay.lock:
            wire = bytes(relay.captured)
    finally:
        relay.close()
    assert len(wire) > 2000, "the relay saw the traffic"
    assert b"CURVE" in wire  # the ZMTP greeting names the mechanism, in clear as it should
    secrets = [
        NAME,
        EMAIL,
        PHONE,
        guestbook.payload["id_hash"],
        guestbook.payload["purpose"],
        "guestbook.recorded",
        "PUSH",
        "konsultasi",
    ]
    for secret in secrets:
        assert secret.encode() not in wire, f"{secret!r} crossed the wire in clear"


def test_a_plain_null_mechanism_client_is_refused_by_the_real_server(central):
    server, clients = central
    enrolled("1222")
    context = zmq.Context()
    plain = context.socket(zmq.DEALER)
    plain.setsockopt(zmq.LINGER, 0)
    try:
        plain.connect(server.endpoint)
        plain.send_multipart([b"PING", b"\x80"])
        assert not plain.poll(1500), "the server answered a client without CURVE"
    finally:
        plain.close()
        context.term()
    assert server.stats.messages == 0
    good = connect(server, clients, enrolled("1201", "Nias"))
    assert good.link() is LinkState.UP and isinstance(good.hello(), Welcome)


def test_skip_lost_lets_a_branch_go_on_after_central_was_restored_from_an_older_backup(central):
    """docs/operations.md, "What a central restore means": central forgot records 1..3 it had
    acknowledged; the branch's next record (seq 4) waits for them until the admin writes them off
    with ``pst_branch skip-lost`` (the last resort: branches now recover by themselves,
    docs/protocol.md 6.6)."""
    from django.core.management import CommandError, call_command

    server, clients = central
    client = connect(server, clients, enrolled("1222"))
    assert client.link() is LinkState.UP
    client.hello(next_seq=5)  # the branch has numbered up to 4; central (restored) has nothing
    visit = WalkinOps(seq=4, seed=61)
    op = visit.created(visit.new_visit_id())
    stuck = client.push(1, [op])
    assert isinstance(stuck, Ack) and stuck.accepted == [] and stuck.hwm_seq == 0  # deferred

    with pytest.raises(CommandError, match="must be 0 or more"):
        call_command("pst_branch", "skip-lost", "1222", "--through=-1")
    call_command("pst_branch", "skip-lost", "1222", "--through=3")
    with pytest.raises(CommandError, match="would go back"):
        call_command("pst_branch", "skip-lost", "1222", "--through=2")

    moving = client.push(2, [op])
    assert isinstance(moving, Ack) and moving.accepted == [op.op_id] and moving.hwm_seq == 4
    assert Visit.objects.filter(origin_id=op.entity_id).count() == 1
