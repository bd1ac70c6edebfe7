"""sync.transport over real loopback TCP with CURVE: handshake, identity, refusals, limits, links.

No test thread drives a socket it did not create: the server and the branches are pumped in turn
from the test's own thread (``pump``), every receive has a timeout, and the ``net`` fixture closes
everything it handed out and checks no thread was left behind.
"""

from __future__ import annotations

import os
import selectors
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zmq
import zmq.auth
from zmq.utils.monitor import recv_monitor_message

from sync.transport import (
    BranchTransport,
    CentralTransport,
    CurveKeyPair,
    KeyFileError,
    LinkState,
    MessageTooLarge,
    Received,
    TransportError,
    TransportOptions,
    generate_keypair,
    load_keypair,
    load_public_key,
    parse_public_key,
    save_keypair,
    save_public_key,
)

FAST = TransportOptions(
    max_message_size=64 * 1024,
    heartbeat_ivl_ms=100,
    heartbeat_timeout_ms=600,
    heartbeat_ttl_ms=1_000,
    reconnect_ivl_ms=50,
    reconnect_ivl_max_ms=200,
    handshake_ivl_ms=2_000,
    connect_timeout_ms=1_000,
)
WAIT_S = 10.0  # a generous bound for loopback events; tests finish long before it


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Enrolment:
    """The central key table the ZAP lookup reads; tests enrol and revoke keys in it."""

    keys: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    failing: bool = False

    def lookup(self, public_key: str) -> str | None:
        self.calls.append(public_key)
        if self.failing:
            raise RuntimeError("database unavailable")
        return self.keys.get(public_key)


class Net:
    """Opens transports and raw sockets for one test and closes them all afterwards."""

    def __init__(self) -> None:
        self.central_keys = generate_keypair()
        self.enrolment = Enrolment()
        self._transports: list[CentralTransport | BranchTransport] = []
        self._raw_context = zmq.Context()
        self._raw_sockets: list[zmq.Socket[bytes]] = []
        self.received: list[Received] = []

    def central(
        self, bind: str = "tcp://127.0.0.1:*", options: TransportOptions = FAST
    ) -> CentralTransport:
        server = CentralTransport(bind, self.central_keys, self.enrolment.lookup, options=options)
        self._transports.append(server)
        return server

    def branch(
        self,
        endpoint: str,
        keys: CurveKeyPair | None = None,
        *,
        code: str | None = None,
        server_key: str | None = None,
        options: TransportOptions = FAST,
    ) -> BranchTransport:
        keys = keys or generate_keypair()
        if code is not None:
            self.enrolment.keys[keys.public_key] = code
        client = BranchTransport(
            endpoint, keys, server_key or self.central_keys.public_key, options=options
        )
        self._transports.append(client)
        return client

    def raw(self, kind: int) -> zmq.Socket[bytes]:
        return self.track(self._raw_context.socket(kind))

    def track(self, sock: zmq.Socket[bytes]) -> zmq.Socket[bytes]:
        sock.setsockopt(zmq.LINGER, 0)
        self._raw_sockets.append(sock)
        return sock

    def close(self) -> None:
        for transport in reversed(self._transports):
            transport.close()
        for sock in self._raw_sockets:
            sock.close(linger=0)
        self._raw_context.destroy(linger=0)


@pytest.fixture
def net() -> Iterator[Net]:
    threads_before = set(threading.enumerate())
    network = Net()
    try:
        yield network
    finally:
        network.close()
    leaked = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    assert leaked == []


def echo(server: CentralTransport, message: Received) -> None:
    """The test server: PING -> PONG naming the authenticated branch; anything else -> ERROR."""
    if len(message.frames) == 2 and message.frames[0] == b"PING":
        server.send(message.identity, [b"PONG", message.branch.encode() + b"|" + message.frames[1]])
    else:
        server.send(message.identity, [b"ERROR", b"malformed"])


def pump(
    server: CentralTransport | None,
    until: Callable[[], object],
    received: list[Received] | None = None,
    timeout_s: float = WAIT_S,
) -> object:
    """Serve (echo) on ``server`` until ``until()`` gives something true; return that value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server is not None:
            message = server.recv(5)
            if message is not None:
                if received is not None:
                    received.append(message)
                echo(server, message)
        result = until()
        if result:
            return result
        if server is None:
            time.sleep(0.005)
    raise AssertionError(f"condition not met within {timeout_s}s")


def is_state(branch: BranchTransport, state: LinkState) -> Callable[[], bool]:
    return lambda: branch.poll_link().state is state


def round_trip(
    server: CentralTransport, branch: BranchTransport, body: bytes, received: list[Received]
) -> list[bytes]:
    pump(server, is_state(branch, LinkState.UP))
    assert branch.send([b"PING", body])
    reply = pump(server, lambda: branch.recv(5), received)
    assert isinstance(reply, list)
    return reply


# --------------------------------------------------------------------------- round trips


def test_curve_handshake_and_request_reply(net: Net) -> None:
    server = net.central()
    keys = generate_keypair()
    branch = net.branch(server.endpoint, keys, code="B01")
    received: list[Received] = []

    reply = round_trip(server, branch, b"hello", received)

    assert reply == [b"PONG", b"B01|hello"]
    [message] = received
    assert (message.branch, message.frames, message.new_connection) == (
        "B01",
        [b"PING", b"hello"],
        True,
    )
    assert message.peer_address == "127.0.0.1"
    assert server.route("B01") == message.identity
    assert branch.link.up and branch.link.state is LinkState.UP
    assert server.stats.handshakes_accepted == 1
    assert net.enrolment.calls == [keys.public_key]

    # A second message on the same connection is not a new connection.
    assert round_trip(server, branch, b"again", received) == [b"PONG", b"B01|again"]
    assert received[1].new_connection is False and received[1].identity == message.identity


def test_branch_identity_comes_from_user_id_never_the_body(net: Net) -> None:
    server = net.central()
    b01 = net.branch(server.endpoint, code="B01")
    b02 = net.branch(server.endpoint, code="B02")
    received: list[Received] = []

    forged = b'{"branch": "B02", "op": "visit.created"}'
    reply = round_trip(server, b01, forged, received)

    assert received[-1].branch == "B01"
    assert reply == [b"PONG", b"B01|" + forged]
    assert b02.recv(0) is None  # the reply went to the connection it came from, not to B02
    assert round_trip(server, b02, b"mine", received) == [b"PONG", b"B02|mine"]
    assert [m.branch for m in received] == ["B01", "B02"]


def test_same_branch_reconnecting_gets_a_new_identity(net: Net) -> None:
    server = net.central()
    keys = generate_keypair()
    first = net.branch(server.endpoint, keys, code="B01")
    received: list[Received] = []
    round_trip(server, first, b"one", received)
    old_identity = received[-1].identity
    first.close()
    assert first.link.state is LinkState.CLOSED

    again = net.branch(server.endpoint, keys)  # the agent restarted with the same key
    assert round_trip(server, again, b"two", received) == [b"PONG", b"B01|two"]

    latest = received[-1]
    assert latest.new_connection and latest.identity != old_identity
    assert server.route("B01") == latest.identity
    # Replies to the dead connection fail softly once libzmq has seen it close.
    pump(server, lambda: not server.send(old_identity, [b"PONG", b"late"]))
    assert server.stats.send_failures >= 1


def test_reconnect_on_request_starts_a_new_connection(net: Net) -> None:
    server = net.central()
    branch = net.branch(server.endpoint, code="B01")
    received: list[Received] = []
    round_trip(server, branch, b"first", received)
    assert branch.link.connection == 1

    branch.reconnect(200, "no answer from central")  # what the core's Reconnect event asks

    assert branch.link.state is LinkState.DOWN
    assert branch.link.detail == "reconnecting: no answer from central"
    assert branch.send([b"PING", b"lost"]) is False
    assert branch.recv(20) is None  # waits through the pause without a socket
    assert round_trip(server, branch, b"second", received) == [b"PONG", b"B01|second"]
    assert branch.link.connection == 2
    assert received[-1].new_connection and received[-1].identity != received[0].identity
    with pytest.raises(ValueError, match="delay_ms must be an int >= 0"):
        branch.reconnect(-5)


# --------------------------------------------------------------------------- refusals


def test_unknown_key_is_refused_and_comes_up_once_enrolled(net: Net) -> None:
    server = net.central()
    keys = generate_keypair()
    branch = net.branch(server.endpoint, keys)  # not enrolled

    status = pump(server, lambda: branch.poll_link().state is LinkState.AUTH_FAILED and branch.link)
    assert status.zap_status == 400  # type: ignore[attr-defined]
    assert branch.send([b"PING", b"x"]) is False
    assert server.recv(50) is None
    assert server.stats.handshakes_refused >= 1 and server.stats.messages_in == 0

    # Enrolled at central: the branch dials again by itself, no restart.
    net.enrolment.keys[keys.public_key] = "B07"
    received: list[Received] = []
    assert round_trip(server, branch, b"now", received) == [b"PONG", b"B07|now"]


def test_key_revoked_after_a_first_connection_is_refused_at_the_next(net: Net) -> None:
    server = net.central()
    keys = generate_keypair()
    branch = net.branch(server.endpoint, keys, code="B01")
    received: list[Received] = []
    round_trip(server, branch, b"before", received)

    del net.enrolment.keys[keys.public_key]  # revoked in the admin; the server keeps running
    # The open connection is not cut (DESIGN: refused at its *next* connection) ...
    assert round_trip(server, branch, b"still", received) == [b"PONG", b"B01|still"]

    # ... and the next connection is refused.
    branch.close()
    restarted = net.branch(server.endpoint, keys)
    pump(server, is_state(restarted, LinkState.AUTH_FAILED))
    assert restarted.send([b"PING", b"after"]) is False
    assert server.recv(50) is None
    assert net.enrolment.calls.count(keys.public_key) >= 2  # looked up at each connection
    assert [m.frames[1] for m in received] == [b"before", b"still"]


def test_key_lookup_error_is_a_temporary_refusal_not_an_auth_failure(net: Net) -> None:
    server = net.central()
    net.enrolment.failing = True
    branch = net.branch(server.endpoint, code="B01")

    pump(server, lambda: branch.poll_link().zap_status == 500)
    assert branch.link.state is LinkState.DOWN
    assert server.stats.lookup_errors >= 1

    net.enrolment.failing = False  # the database is back
    assert round_trip(server, branch, b"ok", []) == [b"PONG", b"B01|ok"]


def test_plaintext_client_is_refused(net: Net) -> None:
    server = net.central()
    plain = net.raw(zmq.DEALER)
    monitor = net.track(plain.get_monitor_socket(addr="inproc://test-plain-monitor"))
    plain.connect(server.endpoint)
    plain.send_multipart([b"PING", b"plain"], flags=zmq.NOBLOCK)  # queued before the handshake

    events: list[int] = []

    def handshake_failed() -> bool:
        while monitor.poll(0):
            events.append(int(recv_monitor_message(monitor)["event"]))
        return zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL in events

    pump(server, handshake_failed)
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in events
    assert server.recv(50) is None
    assert net.enrolment.calls == []  # refused by CURVE itself, before any key lookup

    good = net.branch(server.endpoint, code="B01")
    assert round_trip(server, good, b"fine", []) == [b"PONG", b"B01|fine"]


def test_wrong_central_key_is_a_handshake_failure(net: Net) -> None:
    server = net.central()
    branch = net.branch(server.endpoint, code="B01", server_key=generate_keypair().public_key)

    pump(server, is_state(branch, LinkState.HANDSHAKE_FAILED))
    assert branch.send([b"PING", b"x"]) is False
    assert server.stats.messages_in == 0


# --------------------------------------------------------------------------- limits and garbage


def test_oversize_message_is_dropped_and_the_server_keeps_serving(net: Net) -> None:
    server = net.central()  # 64 KiB per frame
    # This branch allows itself more than the server does, to get the frame onto the wire.
    big_sender = net.branch(
        server.endpoint, code="B01", options=TransportOptions(max_message_size=1024 * 1024)
    )
    other = net.branch(server.endpoint, code="B02")
    received: list[Received] = []
    round_trip(server, big_sender, b"small", received)
    first_identity = received[-1].identity
    handshakes = server.stats.handshakes_accepted

    assert big_sender.send([b"PING", b"x" * (200 * 1024)])

    # libzmq drops the frame and the connection; the sender's DEALER reconnects by itself.
    pump(server, lambda: server.stats.handshakes_accepted > handshakes, received)
    assert round_trip(server, other, b"unaffected", received) == [b"PONG", b"B02|unaffected"]
    assert round_trip(server, big_sender, b"retry", received) == [b"PONG", b"B01|retry"]
    assert big_sender.recv(50) is None  # the oversize message never got a reply
    assert all(len(m.frames[-1]) < 1024 for m in received)
    assert received[-1].identity != first_identity and received[-1].new_connection

    # Our own side refuses to send what the peer would drop.
    with pytest.raises(MessageTooLarge):
        other.send([b"PING", b"x" * (64 * 1024 + 1)])
    with pytest.raises(MessageTooLarge):
        server.send(received[-1].identity, [b"CHANGES", b"x" * (64 * 1024 + 1)])


def test_garbage_does_not_break_the_server(net: Net) -> None:
    server = net.central()
    good = net.branch(server.endpoint, code="B01")
    rogue_keys = generate_keypair()
    net.enrolment.keys[rogue_keys.public_key] = "B66"
    rogue = net.raw(zmq.DEALER)  # enrolled, but speaks nonsense
    rogue.setsockopt(zmq.CURVE_PUBLICKEY, rogue_keys.public_key.encode())
    rogue.setsockopt(zmq.CURVE_SECRETKEY, rogue_keys.secret_key.encode())
    rogue.setsockopt(zmq.CURVE_SERVERKEY, net.central_keys.public_key.encode())
    rogue.connect(server.endpoint)
    received: list[Received] = []

    garbage = [
        [b""],
        [b"PING"],
        [b"PING", b"a", b"b"],
        [os.urandom(64)],
        [os.urandom(8), os.urandom(4096)],
        [b"x"] * 100,
        [b"\x00" * 10, b"\xff" * 10],
    ]
    for frames in garbage:
        rogue.send_multipart(frames)

        def arrived(frames: list[bytes] = frames) -> bool:
            return any(m.frames == frames for m in received)

        pump(server, arrived, received)
    assert [m.branch for m in received] == ["B66"] * len(garbage)
    replies = [rogue.recv_multipart() for _ in garbage if rogue.poll(int(WAIT_S * 1000))]
    assert replies == [[b"ERROR", b"malformed"]] * len(garbage)

    # Not ZMTP at all: random bytes straight onto the TCP port.
    port = int(server.endpoint.rsplit(":", 1)[1])
    for junk in (os.urandom(4096), b"\xff" + b"\x00" * 8 + b"\x7f\x03\x01NULL" + os.urandom(50)):
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as tcp:
            tcp.sendall(junk)
            server.recv(50)

    assert round_trip(server, good, b"still here", received) == [b"PONG", b"B01|still here"]


# --------------------------------------------------------------------------- link state


def test_link_state_reports_up_down_and_auth_failed(net: Net) -> None:
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    keys = generate_keypair()
    branch = net.branch(endpoint, keys, code="B01")
    assert branch.link.state is LinkState.CONNECTING

    pump(None, is_state(branch, LinkState.DOWN))  # nobody listens yet
    assert "unreachable" in branch.link.detail

    server = net.central(endpoint)
    pump(server, is_state(branch, LinkState.UP))
    assert branch.link.connection == 1

    server.close()  # central stops
    pump(None, is_state(branch, LinkState.DOWN))
    assert branch.link.detail == "connection to central lost"

    del net.enrolment.keys[keys.public_key]
    server = net.central(endpoint)  # back, but the key was revoked meanwhile
    pump(server, is_state(branch, LinkState.AUTH_FAILED))
    assert branch.link.zap_status == 400

    net.enrolment.keys[keys.public_key] = "B01"
    pump(server, is_state(branch, LinkState.UP))
    assert branch.link.connection == 2  # a new session: the worker says HELLO again
    assert branch.wait_for({LinkState.UP}, 0).state is LinkState.UP


class FreezableProxy:
    """A TCP relay that can stop forwarding without closing: a link that silently dies."""

    def __init__(self, target_port: int) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._target = target_port
        self.frozen = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-proxy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        peers: dict[socket.socket, socket.socket] = {}

        def drop(sock: socket.socket) -> None:
            for end in (sock, peers.pop(sock)):
                peers.pop(end, None)
                selector.unregister(end)
                end.close()

        try:
            while not self._stop.is_set():
                ready = selector.select(0.02)
                for key, _ in ready:
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._listener:
                        inside, _ = self._listener.accept()
                        outside = socket.create_connection(("127.0.0.1", self._target))
                        peers[inside], peers[outside] = outside, inside
                        selector.register(inside, selectors.EVENT_READ)
                        selector.register(outside, selectors.EVENT_READ)
                    elif sock in peers and not self.frozen.is_set():
                        try:
                            data = sock.recv(65536)
                            if not data:
                                raise ConnectionResetError
                            peers[sock].sendall(data)
                        except OSError:  # one end went away: so does the pair
                            drop(sock)
                if ready and self.frozen.is_set():
                    time.sleep(0.02)  # data waits unread; do not spin on it
        finally:
            selector.close()
            for sock in peers:
                sock.close()
            self._listener.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)


def test_heartbeats_notice_a_link_that_went_silent(net: Net) -> None:
    server = net.central()
    proxy = FreezableProxy(int(server.endpoint.rsplit(":", 1)[1]))
    try:
        branch = net.branch(f"tcp://127.0.0.1:{proxy.port}", code="B01")
        assert round_trip(server, branch, b"via proxy", []) == [b"PONG", b"B01|via proxy"]

        proxy.frozen.set()  # no FIN, no RST: only the missing heartbeats can tell
        pump(server, is_state(branch, LinkState.DOWN))
        assert branch.link.detail == "connection to central lost"

        proxy.frozen.clear()  # traffic flows again: the DEALER reconnects through the proxy
        assert round_trip(server, branch, b"healed", []) == [b"PONG", b"B01|healed"]
    finally:
        proxy.close()


# --------------------------------------------------------------------------- API misuse


def test_receives_need_a_timeout_and_closed_transports_refuse(net: Net) -> None:
    server = net.central()
    branch = net.branch(server.endpoint, code="B01")
    for bad in (-1, None, 1.5):
        with pytest.raises(ValueError, match="timeout_ms"):
            server.recv(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="timeout_ms"):
            branch.recv(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="frame 1 must be bytes"):
        branch.send([b"PING", "text"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="at least one frame"):
        branch.send([])
    branch.close()
    server.close()
    server.close()  # idempotent
    with pytest.raises(TransportError, match="closed"):
        branch.recv(0)
    with pytest.raises(TransportError, match="closed"):
        server.send(b"x", [b"PING"])


def test_bind_failure_names_the_address(net: Net) -> None:
    server = net.central()
    with pytest.raises(TransportError, match=r"cannot bind the sync server to 'tcp://127\.0\.0\.1"):
        net.central(server.endpoint)
    with pytest.raises(TransportError, match="cannot bind"):
        net.central("nonsense://here")


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("max_message_size", 0, "max_message_size must be a positive int, got 0"),
        ("heartbeat_ttl_ms", 1_050, "multiple of 100"),
        ("reconnect_ivl_max_ms", 10, "reconnect_ivl_max_ms must be >= reconnect_ivl_ms"),
        ("heartbeat_timeout_ms", 5_000, "heartbeat_timeout_ms must be above heartbeat_ivl_ms"),
        ("high_water_mark", "10", "high_water_mark must be a positive int, got '10'"),
    ],
)
def test_options_are_validated(field_name: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TransportOptions(**{field_name: value})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- keys


def test_keypair_is_saved_private_and_loads_back(tmp_path: Path) -> None:
    keys = generate_keypair()
    directory = tmp_path / "keys"
    paths = save_keypair(directory, keys, name="central")

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert paths.secret is not None and stat.S_IMODE(paths.secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.public.stat().st_mode) == 0o644
    assert keys.secret_key not in paths.public.read_text()
    assert keys.secret_key not in repr(keys)
    assert load_keypair(directory, name="central") == keys
    assert load_public_key(paths.public) == keys.public_key
    # The ZeroMQ certificate format: pyzmq's (and czmq's) own loaders read these files.
    assert zmq.auth.load_certificate(paths.secret) == (
        keys.public_key.encode(),
        keys.secret_key.encode(),
    )
    assert zmq.auth.load_certificate(paths.public) == (keys.public_key.encode(), None)


def test_keys_written_by_pyzmq_load(tmp_path: Path) -> None:
    public_file, secret_file = zmq.auth.create_certificates(tmp_path, "branch")
    os.chmod(secret_file, 0o600)
    keys = load_keypair(tmp_path, name="branch")
    assert load_public_key(public_file) == keys.public_key


def test_existing_keys_are_never_replaced_silently(tmp_path: Path) -> None:
    first = generate_keypair()
    save_keypair(tmp_path, first, name="branch")
    with pytest.raises(KeyFileError, match="already exists"):
        save_keypair(tmp_path, generate_keypair(), name="branch")
    assert load_keypair(tmp_path, name="branch") == first
    second = generate_keypair()
    save_keypair(tmp_path, second, name="branch", overwrite=True)
    assert load_keypair(tmp_path, name="branch") == second


def test_readable_secret_file_is_refused(tmp_path: Path) -> None:
    paths = save_keypair(tmp_path, generate_keypair(), name="branch")
    assert paths.secret is not None
    os.chmod(paths.secret, 0o644)
    with pytest.raises(KeyFileError, match=r"readable by others.*chmod 600") as caught:
        load_keypair(tmp_path, name="branch")
    assert caught.value.path == paths.secret


def test_broken_key_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist"):
        load_keypair(tmp_path, name="missing")
    with pytest.raises(KeyFileError, match="key name"):
        save_keypair(tmp_path, generate_keypair(), name="../escape")

    mixed = tmp_path / "mixed.key_secret"
    one, other = generate_keypair(), generate_keypair()
    mixed.write_text(f'curve\n    public-key = "{one.public_key}"\n'
                     f'    secret-key = "{other.secret_key}"\n')  # fmt: skip
    os.chmod(mixed, 0o600)
    with pytest.raises(KeyFileError, match="does not belong"):
        load_keypair(tmp_path, name="mixed")

    central = save_public_key(tmp_path, one.public_key, name="central")
    assert load_public_key(central) == one.public_key
    empty = tmp_path / "empty.key"
    empty.write_text("# nothing\n")
    with pytest.raises(KeyFileError, match="no line public-key"):
        load_public_key(empty)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "got '' \\(0 chars\\)"),
        ("short", "40-character Z85"),
        ("x" * 39 + "~", "40-character Z85"),
        ("é" * 40, "40-character Z85"),
    ],
)
def test_public_key_parsing_names_the_value(value: str, message: str) -> None:
    with pytest.raises(KeyFileError, match=message):
        parse_public_key(value, field_name="public_key")


def test_public_key_parsing_strips_whitespace() -> None:
    key = generate_keypair().public_key
    assert parse_public_key(f"  {key}\n") == key
