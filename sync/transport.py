"""The ZeroMQ transport of PST sync: CURVE-encrypted DEALER (branch) -> ROUTER (central).

This module owns every socket of the sync protocol and nothing of its meaning. It moves raw
multipart messages (a message is ``[type, body]``, each a ``bytes`` frame); the codec and the
sans-IO cores decide what the frames mean. Keys and key files are ``sync.keys``; this module
and that one are the only modules in ``sync`` that import zmq.

Rules:
- The branch's identity is the ZMQ ``User-Id`` that central's ZAP handler set during the CURVE
  handshake, from the branch's *public key* looked up in the enrolment table: ``"<code> <key>"``,
  handed out as ``Received.branch`` and ``Received.public_key``. It is read from the received
  frame's metadata, never from a message body (invariant 9).
- The key lookup runs at every new connection, so a revoked key is refused at its next connection
  without restarting the server. A connection that is already up is not cut here: the server
  checks ``Received.public_key`` against the enrolment before every message and refuses it.
- ZAP requests are answered inside ``CentralTransport.recv``, in the caller's thread: no thread is
  started here, and ``lookup`` may use the caller's database connection. A handshake waits while
  the server is busy elsewhere (libzmq gives it ``handshake_ivl_ms``).
- Every receive has a timeout; sends never block (a full or vanished peer gives ``False``).
- ``MAXMSGSIZE`` is per frame. A peer that sends a larger frame is disconnected by libzmq: the
  message is dropped unseen, the sender sees its connection drop and reconnect, no reply comes.
  ``send`` refuses to emit a frame above the limit, so a well-behaved peer never trips it.
- Sockets close with ``LINGER 0`` and each transport terminates its own context.

Size: over 500 lines on purpose: both socket roles (branch DEALER; central ROUTER with its ZAP
handler) share framing, limits and error handling; key handling is already ``sync.keys``.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import itertools
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import zmq
from zmq.utils import z85
from zmq.utils.monitor import recv_monitor_message

from sync.keys import (
    CurveKeyPair,
    KeyFileError,
    KeyFiles,
    TransportError,
    generate_keypair,
    key_paths,
    load_keypair,
    load_public_key,
    parse_public_key,
    save_keypair,
    save_public_key,
)

# The key half (``sync.keys``) is re-exported: callers may import keys from either module.
__all__ = [
    "ZAP_DOMAIN",
    "ZAP_ENDPOINT",
    "BranchTransport",
    "CentralStats",
    "CentralTransport",
    "CurveKeyPair",
    "KeyFileError",
    "KeyFiles",
    "KeyLookup",
    "LinkState",
    "LinkStatus",
    "MessageTooLarge",
    "Received",
    "TransportError",
    "TransportOptions",
    "generate_keypair",
    "key_paths",
    "load_keypair",
    "load_public_key",
    "parse_public_key",
    "save_keypair",
    "save_public_key",
]

log = logging.getLogger(__name__)

ZAP_ENDPOINT = "inproc://zeromq.zap.01"  # fixed by the ZAP specification (RFC 27)
ZAP_DOMAIN = "pst-sync"
_ZAP_VERSION = b"1.0"
_MAX_USER_ID_BYTES = 255  # a ZMTP metadata value must stay short; branch codes are far shorter

KeyLookup = Callable[[str], str | None]
"""``lookup(public_key_z85) -> branch_code | None``: the enrolled, active branch owning a key."""


class MessageTooLarge(ValueError):
    """A frame above ``max_message_size``: the peer would drop the connection, so it is not sent."""


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class TransportOptions:
    """Socket options shared by both ends. Keep ``max_message_size`` equal at both ends."""

    max_message_size: int = 8 * 1024 * 1024  # bytes per frame (MAXMSGSIZE)
    heartbeat_ivl_ms: int = 5_000  # ZMTP PING every ...
    heartbeat_timeout_ms: int = 15_000  # ... and drop the link when no traffic for this long
    heartbeat_ttl_ms: int = 30_000  # tells the peer to drop us after this long (0.1 s steps)
    reconnect_ivl_ms: int = 500  # first reconnect delay, doubled up to the max
    reconnect_ivl_max_ms: int = 30_000
    handshake_ivl_ms: int = 10_000  # a CURVE handshake (and its key lookup) must finish in this
    connect_timeout_ms: int = 10_000  # TCP connect
    high_water_mark: int = 1_000  # messages queued per peer before sends are refused

    def __post_init__(self) -> None:
        for name in (
            "max_message_size",
            "heartbeat_ivl_ms",
            "heartbeat_timeout_ms",
            "heartbeat_ttl_ms",
            "reconnect_ivl_ms",
            "reconnect_ivl_max_ms",
            "handshake_ivl_ms",
            "connect_timeout_ms",
            "high_water_mark",
        ):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:
                raise ValueError(f"TransportOptions.{name} must be a positive int, got {value!r}")
        if self.reconnect_ivl_max_ms < self.reconnect_ivl_ms:
            raise ValueError(
                "TransportOptions.reconnect_ivl_max_ms must be >= reconnect_ivl_ms, "
                f"got {self.reconnect_ivl_max_ms!r} < {self.reconnect_ivl_ms!r}"
            )
        if self.heartbeat_ttl_ms % 100 or self.heartbeat_ttl_ms > 6_553_500:
            raise ValueError(
                "TransportOptions.heartbeat_ttl_ms must be a multiple of 100 up to 6553500, "
                f"got {self.heartbeat_ttl_ms!r}"
            )
        if self.heartbeat_timeout_ms <= self.heartbeat_ivl_ms:
            raise ValueError(
                "TransportOptions.heartbeat_timeout_ms must be above heartbeat_ivl_ms, "
                f"got {self.heartbeat_timeout_ms!r} <= {self.heartbeat_ivl_ms!r}"
            )


def _apply_options(sock: zmq.Socket[bytes], options: TransportOptions) -> None:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, options.max_message_size)
    sock.setsockopt(zmq.HEARTBEAT_IVL, options.heartbeat_ivl_ms)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, options.heartbeat_timeout_ms)
    sock.setsockopt(zmq.HEARTBEAT_TTL, options.heartbeat_ttl_ms)
    sock.setsockopt(zmq.HANDSHAKE_IVL, options.handshake_ivl_ms)
    sock.setsockopt(zmq.SNDHWM, options.high_water_mark)
    sock.setsockopt(zmq.RCVHWM, options.high_water_mark)


def _check_timeout(timeout_ms: int, name: str = "timeout_ms") -> None:
    if type(timeout_ms) is not int or timeout_ms < 0:
        raise ValueError(f"{name} must be an int >= 0 (no waiting forever), got {timeout_ms!r}")


def _check_frames(frames: Sequence[bytes], limit: int) -> None:
    if not frames:
        raise ValueError("a message needs at least one frame, got none")
    for index, frame in enumerate(frames):
        if not isinstance(frame, bytes):
            raise TypeError(f"frame {index} must be bytes, got {type(frame).__name__}")
        if len(frame) > limit:
            raise MessageTooLarge(
                f"frame {index} is {len(frame)} bytes, above max_message_size {limit}; "
                "the peer would drop the connection"
            )


# --------------------------------------------------------------------------- central (ROUTER)


@dataclass(frozen=True, slots=True)
class Received:
    """One message from an authenticated branch.

    ``branch`` comes from the connection's ZAP ``User-Id``; reply to ``identity`` (the routing id of
    the connection it came on). ``new_connection`` is true for the first message seen on that
    connection: a branch that reconnects arrives with a new ``identity``. ``public_key`` is the
    key the connection's CURVE handshake proved (Z85), so a server can check on every message that
    it is still the branch's enrolled key (a key rotated out or revoked meanwhile).
    """

    branch: str
    identity: bytes
    frames: list[bytes]
    peer_address: str
    new_connection: bool
    public_key: str = ""


@dataclass
class CentralStats:
    handshakes_accepted: int = 0
    handshakes_refused: int = 0
    lookup_errors: int = 0
    messages_in: int = 0
    messages_out: int = 0
    send_failures: int = 0
    dropped_without_user_id: int = 0


class CentralTransport:
    """Central's ROUTER socket: CURVE server, ZAP key lookup, raw frames in and out.

    Not thread-safe: one thread owns it (ZMQ sockets are single-threaded). ``lookup`` runs in
    that thread, inside ``recv``.
    """

    _IDENTITIES_KEPT = 8  # per branch: enough to tell a new connection from an old one

    def __init__(
        self,
        bind: str,
        keypair: CurveKeyPair,
        lookup: KeyLookup,
        *,
        options: TransportOptions | None = None,
        zap_domain: str = ZAP_DOMAIN,
    ) -> None:
        self.options = options or TransportOptions()
        self.stats = CentralStats()
        self._lookup = lookup
        self._zap_domain = zap_domain.encode()
        self._identities: dict[str, collections.deque[bytes]] = {}
        self._closed = False
        # Its own context: the ZAP endpoint is per context, so two servers (or a server and a
        # test client) in one process never answer each other's handshakes.
        self._context = zmq.Context()
        try:
            # The ZAP handler must be bound before the ROUTER accepts anything: with no handler
            # libzmq would let every CURVE client in.
            self._zap: zmq.Socket[bytes] = self._context.socket(zmq.REP)
            self._zap.setsockopt(zmq.LINGER, 0)
            self._zap.bind(ZAP_ENDPOINT)
            self._router: zmq.Socket[bytes] = self._context.socket(zmq.ROUTER)
            _apply_options(self._router, self.options)
            self._router.setsockopt(zmq.ROUTER_MANDATORY, 1)
            self._router.setsockopt(zmq.CURVE_SERVER, 1)
            self._router.setsockopt(zmq.CURVE_SECRETKEY, keypair.secret_key.encode())
            self._router.setsockopt(zmq.CURVE_PUBLICKEY, keypair.public_key.encode())
            self._router.setsockopt(zmq.ZAP_DOMAIN, self._zap_domain)
            try:
                self._router.bind(bind)
            except zmq.ZMQError as exc:
                raise TransportError(f"cannot bind the sync server to {bind!r}: {exc}") from None
            self.endpoint: str = self._router.getsockopt_string(zmq.LAST_ENDPOINT)
        except BaseException:
            self.close()
            raise
        self._poller = zmq.Poller()
        self._poller.register(self._zap, zmq.POLLIN)
        self._poller.register(self._router, zmq.POLLIN)
        log.info("sync transport listening endpoint=%s key=%s", self.endpoint, keypair.public_key)

    # -- receiving

    def recv(self, timeout_ms: int) -> Received | None:
        """The next message from an authenticated branch, or None after ``timeout_ms``.

        Handshakes (key lookups) waiting meanwhile are answered. Messages that carry no
        ``User-Id`` (impossible with ZAP on; kept as a guard) are dropped.
        """
        _check_timeout(timeout_ms)
        self._check_open()
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            remaining = max(0, round((deadline - time.monotonic()) * 1000))
            ready = dict(self._poller.poll(remaining))
            if self._zap in ready:
                self._answer_zap_requests()
            if self._router in ready:
                message = self._read_message()
                if message is not None:
                    return message
            if remaining == 0:
                return None

    def _read_message(self) -> Received | None:
        try:
            parts = self._router.recv_multipart(flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None
        identity, body = parts[0], parts[1:]
        try:
            # Set by our ZAP reply from the key the CURVE handshake proved; the only source of
            # the branch's identity.
            branch = identity.get("User-Id")
            peer_address = identity.get("Peer-Address")
        except zmq.ZMQError:
            self.stats.dropped_without_user_id += 1
            log.error("dropped a message without User-Id (is ZAP on?)")
            return None
        if not isinstance(branch, str) or not branch or not body:
            self.stats.dropped_without_user_id += 1
            log.error("dropped a message without User-Id or body")
            return None
        # Our ZAP reply sets "<branch> <public key>": the branch and the key that proved it.
        branch, _, public_key = branch.partition(" ")
        ident = identity.bytes
        seen = self._identities.setdefault(branch, collections.deque(maxlen=self._IDENTITIES_KEPT))
        new_connection = ident not in seen
        if new_connection:
            seen.append(ident)
            log.info("branch connected branch=%s address=%s", branch, peer_address)
        self.stats.messages_in += 1
        return Received(
            branch=branch,
            identity=ident,
            frames=[frame.bytes for frame in body],
            peer_address=str(peer_address),
            new_connection=new_connection,
            public_key=public_key,
        )

    # -- ZAP (RFC 27): version, request id, domain, address, identity, mechanism, credentials

    def _answer_zap_requests(self) -> None:
        while True:
            try:
                request = self._zap.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            status, text, user_id = self._authenticate(request)
            request_id = request[1] if len(request) > 1 else b""
            self._zap.send_multipart([_ZAP_VERSION, request_id, status, text, user_id, b""])

    def _authenticate(self, request: list[bytes]) -> tuple[bytes, bytes, bytes]:
        if len(request) < 6 or request[0] != _ZAP_VERSION:
            log.error("malformed ZAP request with %d frames", len(request))
            return b"500", b"malformed ZAP request", b""
        domain, address, mechanism = request[2], request[3].decode(errors="replace"), request[5]
        if domain != self._zap_domain or mechanism != b"CURVE" or len(request) != 7:
            self.stats.handshakes_refused += 1
            log.warning(
                "handshake refused: not a CURVE request on our domain address=%s mechanism=%s",
                address,
                mechanism.decode(errors="replace"),
            )
            return b"400", b"CURVE required", b""
        credential = request[6]
        if len(credential) != 32:
            self.stats.handshakes_refused += 1
            return b"400", b"bad CURVE key", b""
        public_key = z85.encode(credential).decode()
        try:
            branch = self._lookup(public_key)
        except Exception:
            # Temporary: the branch sees "central could not check the key" and retries later.
            self.stats.lookup_errors += 1
            log.exception("key lookup failed address=%s key=%s", address, public_key)
            return b"500", b"key lookup failed", b""
        if branch is None:
            self.stats.handshakes_refused += 1
            log.warning(
                "handshake refused: key not enrolled or revoked address=%s key=%s",
                address,
                public_key,
            )
            return b"400", b"key not enrolled or revoked", b""
        usable = isinstance(branch, str) and branch and " " not in branch
        user_id = f"{branch} {public_key}".encode() if usable else b""
        if not user_id or len(user_id) > _MAX_USER_ID_BYTES:
            self.stats.lookup_errors += 1
            log.error("key lookup returned an unusable branch code %r key=%s", branch, public_key)
            return b"500", b"bad branch code", b""
        self.stats.handshakes_accepted += 1
        log.info("handshake accepted branch=%s address=%s", branch, address)
        return b"200", b"OK", user_id

    # -- sending

    def send(self, identity: bytes, frames: Sequence[bytes]) -> bool:
        """Queue ``frames`` for the connection ``identity``; never blocks.

        False when that connection is gone (the branch reconnected or left) or is not reading
        (its queue is full): the branch will ask again on its live connection.
        """
        self._check_open()
        _check_frames(frames, self.options.max_message_size)
        try:
            # ROUTER_MANDATORY makes an unknown identity an error instead of a silent drop; the
            # error comes on the identity frame, so no partial message is ever queued.
            self._router.send_multipart([identity, *frames], flags=zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            if exc.errno not in (zmq.EHOSTUNREACH, zmq.EAGAIN):
                raise
            self.stats.send_failures += 1
            log.info("reply not sent (%s) identity=%s", exc.strerror, identity.hex())
            return False
        self.stats.messages_out += 1
        return True

    def route(self, branch: str) -> bytes | None:
        """The identity of the newest connection seen from ``branch`` (None if none yet)."""
        seen = self._identities.get(branch)
        return seen[-1] if seen else None

    # -- lifetime

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError("the sync transport is closed")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for name in ("_router", "_zap"):
            sock = getattr(self, name, None)
            if sock is not None:
                sock.close(linger=0)
        self._context.term()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------- branch (DEALER)


class LinkState(enum.StrEnum):
    """What the branch can say about its link to central (values are stable, for status JSON)."""

    CONNECTING = "connecting"  # nothing known yet
    UP = "up"  # CURVE handshake done, central accepted our key
    DOWN = "down"  # central unreachable, link lost, or central could not check our key
    AUTH_FAILED = "auth_failed"  # central refused our key: not enrolled, or revoked
    HANDSHAKE_FAILED = "handshake_failed"  # wrong central public key, or not a PST sync server
    CLOSED = "closed"


@dataclass(frozen=True)
class LinkStatus:
    state: LinkState
    since: float  # wall-clock time (time.time()) of the last change of state
    detail: str = ""  # English, for logs; UIs translate from ``state``
    zap_status: int | None = None  # central's ZAP status on an auth failure (400, 500...)
    connection: int = 0  # counts successful handshakes: a new value is a new session to HELLO

    @property
    def up(self) -> bool:
        return self.state is LinkState.UP


_MONITOR_EVENTS = (
    zmq.EVENT_CONNECTED
    | zmq.EVENT_CONNECT_DELAYED
    | zmq.EVENT_CONNECT_RETRIED
    | zmq.EVENT_DISCONNECTED
    | zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)
_monitor_numbers = itertools.count(1)


class BranchTransport:
    """The branch's DEALER socket to central: CURVE client, link state from socket events.

    One thread owns it and calls ``recv``/``send``/``poll_link``; other threads may read
    ``link`` (an immutable snapshot) for a status page.

    ``IMMEDIATE`` is on: messages are queued only on a completed connection, so ``send`` answers
    False while the link is down instead of piling stale requests up for the next connection.

    libzmq does not reconnect after central refused the key (or the handshake protocol failed):
    the transport dials again itself, with the same backoff, so a key enrolled later comes up
    without restarting the agent. This happens while the owner calls ``recv``/``poll_link``.

    Every successful handshake raises ``link.connection``; the worker compares it with the value
    it last saw to know it must start a session (HELLO), even when a drop and a reconnect both
    happened between two looks at the link.
    """

    def __init__(
        self,
        connect: str,
        keypair: CurveKeyPair,
        server_public_key: str,
        *,
        options: TransportOptions | None = None,
    ) -> None:
        self.options = options or TransportOptions()
        self.endpoint = connect
        self._keypair = keypair
        self._server_key = parse_public_key(server_public_key, field_name="server_public_key")
        self._link = LinkStatus(LinkState.CONNECTING, time.time())
        self._attempt_connected = False  # did the current TCP attempt connect?
        self._redial_at: float | None = None  # monotonic time to dial again
        self._redial_delay_ms = self.options.reconnect_ivl_ms
        self._connections = 0
        self._closed = False
        self._context = zmq.Context()
        self._socket: zmq.Socket[bytes] | None = None
        self._monitor: zmq.Socket[bytes] | None = None
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        sock = self._context.socket(zmq.DEALER)
        self._socket = sock
        _apply_options(sock, self.options)
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.RECONNECT_IVL, self.options.reconnect_ivl_ms)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, self.options.reconnect_ivl_max_ms)
        sock.setsockopt(zmq.CONNECT_TIMEOUT, self.options.connect_timeout_ms)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, self._keypair.public_key.encode())
        sock.setsockopt(zmq.CURVE_SECRETKEY, self._keypair.secret_key.encode())
        sock.setsockopt(zmq.CURVE_SERVERKEY, self._server_key.encode())
        monitor = sock.get_monitor_socket(
            _MONITOR_EVENTS, addr=f"inproc://pst-sync-link-{next(_monitor_numbers)}"
        )
        monitor.setsockopt(zmq.LINGER, 0)
        self._monitor = monitor
        self._attempt_connected = False
        self._poller = zmq.Poller()
        self._poller.register(sock, zmq.POLLIN)
        self._poller.register(monitor, zmq.POLLIN)
        try:
            sock.connect(self.endpoint)
        except zmq.ZMQError as exc:
            raise TransportError(f"cannot connect to {self.endpoint!r}: {exc}") from None

    def _close_sockets(self) -> None:
        if self._socket is not None:
            if self._monitor is not None:
                with contextlib.suppress(zmq.ZMQError):  # already stopped
                    self._socket.disable_monitor()
                self._monitor.close(linger=0)
                self._monitor = None
            self._socket.close(linger=0)
            self._socket = None

    # -- link state

    @property
    def link(self) -> LinkStatus:
        """The last known link state, without touching the socket (safe from any thread)."""
        return self._link

    def poll_link(self) -> LinkStatus:
        """Take in pending socket events (and dial again if due); the current link state."""
        self._check_open()
        self._service()
        return self._link

    def wait_for(self, states: Collection[LinkState], timeout_ms: int) -> LinkStatus:
        """Wait until the link is in one of ``states`` or ``timeout_ms`` passed; the state."""
        _check_timeout(timeout_ms)
        self._check_open()
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            self._service()
            if self._link.state in states:
                return self._link
            if time.monotonic() >= deadline:
                return self._link
            self._idle(self._wait_budget_ms(deadline), messages=False)

    def reconnect(self, delay_ms: int = 0, reason: str = "asked to reconnect") -> None:
        """Drop the connection now and dial again after ``delay_ms`` (the core's ``Reconnect``).

        Whatever was queued or unread on the old connection is dropped with it; central sees
        a new connection (a new routing identity).
        """
        _check_timeout(delay_ms, "delay_ms")
        self._check_open()
        self._close_sockets()
        self._set(LinkState.DOWN, f"reconnecting: {reason}")
        self._redial_at = time.monotonic() + delay_ms / 1000

    def _idle(self, budget_ms: int, *, messages: bool) -> None:
        """Wait up to ``budget_ms`` for a socket event (or a message, if ``messages``)."""
        if self._socket is None:  # between reconnect() and the dial it scheduled
            time.sleep(budget_ms / 1000)
        elif messages:
            self._poller.poll(budget_ms)
        else:
            assert self._monitor is not None
            self._monitor.poll(budget_ms)

    def _wait_budget_ms(self, deadline: float) -> int:
        now = time.monotonic()
        until = deadline if self._redial_at is None else min(deadline, self._redial_at)
        return max(0, round((until - now) * 1000))

    def _service(self) -> None:
        monitor = self._monitor
        while monitor is not None and monitor.poll(0):
            event = recv_monitor_message(monitor)
            self._on_event(int(event["event"]), int(event["value"]))
        if self._redial_at is not None and time.monotonic() >= self._redial_at:
            self._redial_at = None
            log.info("dialling central again endpoint=%s", self.endpoint)
            self._close_sockets()
            self._open()

    def _set(self, state: LinkState, detail: str, zap_status: int | None = None) -> None:
        current = self._link
        if (current.state, current.detail, current.zap_status, current.connection) == (
            state,
            detail,
            zap_status,
            self._connections,
        ):
            return
        self._link = LinkStatus(state, time.time(), detail, zap_status, self._connections)
        level = logging.INFO if state is LinkState.UP else logging.WARNING
        log.log(level, "sync link %s endpoint=%s %s", state.value, self.endpoint, detail)

    def _schedule_redial(self) -> None:
        delay = self._redial_delay_ms
        self._redial_at = time.monotonic() + delay / 1000
        self._redial_delay_ms = min(delay * 2, self.options.reconnect_ivl_max_ms)

    def _on_event(self, event: int, value: int) -> None:
        if event == zmq.EVENT_CONNECTED:
            self._attempt_connected = True
        elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self._redial_at = None
            self._redial_delay_ms = self.options.reconnect_ivl_ms
            self._connections += 1
            self._set(LinkState.UP, "connected to central")
        elif event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            # ``value`` is central's ZAP status code: 400 refused, 300/500 temporary trouble.
            if 400 <= value < 500:
                self._set(LinkState.AUTH_FAILED, "central refused this branch's key", value)
            else:
                self._set(LinkState.DOWN, f"central could not check the key (ZAP {value})", value)
            self._schedule_redial()  # libzmq gives up on this endpoint after an ERROR command
        elif event in (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL):
            self._set(
                LinkState.HANDSHAKE_FAILED,
                "CURVE handshake failed: wrong central public key, or not a PST sync server",
            )
            self._schedule_redial()
        elif event == zmq.EVENT_DISCONNECTED:
            # After a failed handshake the disconnect is its consequence: keep the reason.
            if self._link.state in (LinkState.UP, LinkState.CONNECTING):
                self._set(LinkState.DOWN, "connection to central lost")
        elif event == zmq.EVENT_CONNECT_RETRIED:
            self._redial_at = None  # libzmq is retrying by itself
            if not self._attempt_connected:
                self._set(LinkState.DOWN, f"central unreachable at {self.endpoint}")
            self._attempt_connected = False

    # -- messages

    def send(self, frames: Sequence[bytes]) -> bool:
        """Queue one message for central; never blocks. False when the link is not up."""
        self._check_open()
        _check_frames(frames, self.options.max_message_size)
        self._service()
        if self._socket is None:
            return False
        try:
            self._socket.send_multipart(list(frames), flags=zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    def recv(self, timeout_ms: int) -> list[bytes] | None:
        """The next message from central, or None after ``timeout_ms``; link events meanwhile."""
        _check_timeout(timeout_ms)
        self._check_open()
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            self._service()
            if self._socket is not None:
                try:
                    return self._socket.recv_multipart(flags=zmq.NOBLOCK)
                except zmq.Again:
                    pass
            if time.monotonic() >= deadline:
                return None
            self._idle(self._wait_budget_ms(deadline), messages=True)

    # -- lifetime

    def _check_open(self) -> None:
        if self._closed:
            raise TransportError("the sync transport is closed")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._close_sockets()
        self._context.term()
        self._link = LinkStatus(LinkState.CLOSED, time.time(), "closed", None, self._connections)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
