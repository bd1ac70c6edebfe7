"""The sync worker: one background thread that drives ``sync.branch.BranchCore`` over the
CURVE-encrypted ZeroMQ link (``sync.transport.BranchTransport``) and keeps the UI's sync state.

Rules:
- It runs in the agent's process but never in a web request: pages only read ``SyncState``.
- It owns the transport (ZeroMQ sockets are single-threaded) and the core; the core owns every
  protocol decision, the worker only carries out its events (send, reconnect) and records them.
- After connectivity returns the outbox drains by itself: the transport redials with backoff,
  the core says HELLO on every new link, and every commit in the outbox wakes the worker
  (``outbox.changed``), so no staff action and no restart is ever needed.
- A failure of the worker itself (store error, bug) never stops the web UI: it is logged and
  recorded, the link is dropped, and the worker starts over after a pause.
- A test can point the worker at any central: ``SyncWorker(endpoint=..., server_public_key=...,
  keypair=...)`` with the agent's store, ``start()``, then ``stop()``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass

from django.db import DatabaseError, close_old_connections, connection

from branch_agent import keycheck, outbox
from branch_agent.conf import agent_settings
from branch_agent.sync_store import SqliteBranchStore
from sync.branch import (
    Acked,
    BranchConfig,
    BranchCore,
    BranchEvent,
    BranchState,
    CentralLost,
    ChangesApplied,
    Closed,
    PeerError,
    PeerMisbehaved,
    Reconnect,
    Welcomed,
)
from sync.codec import Send
from sync.transport import (
    BranchTransport,
    CurveKeyPair,
    KeyFileError,
    LinkState,
    TransportError,
    TransportOptions,
    load_keypair,
)

log = logging.getLogger("branch_agent.sync")

KEY_NAME = "branch"
STATUS_EVERY = 2.0  # seconds between sync-state writes while something changes
HEARTBEAT_EVERY = 20.0  # seconds between writes when nothing changes (status freshness)
KEY_RETRY_EVERY = 30.0  # seconds between looks at unusable key files (each one logged)
TICK = 0.25  # longest sleep: stop() and new ops are noticed within this
COALESCE = 0.2  # after a commit, wait this long so a burst of ops goes in one PUSH (and one ACK)

# ``last_error`` is stored as "code: English detail"; the UI translates the code.
ERR_UNREACHABLE = "unreachable"
ERR_NOT_ENROLLED = "not_enrolled"
ERR_WRONG_SERVER_KEY = "wrong_server_key"
ERR_KEYS = "keys"
ERR_CENTRAL = "central_error"
ERR_UPGRADE = "upgrade_needed"
ERR_INTERNAL = "internal"


def agent_version() -> str:
    try:
        from importlib.metadata import version

        return version("pst-helpdesk")[:40]
    except Exception:  # not installed as a distribution (a source checkout)
        return "0+source"


@dataclass
class _Shown:
    online: bool = False
    error: str = ""


class SyncWorker:
    def __init__(
        self,
        *,
        endpoint: str,
        server_public_key: str,
        keypair: CurveKeyPair | None,
        store: SqliteBranchStore | None = None,
        config: BranchConfig | None = None,
        options: TransportOptions | None = None,
        key_problem: str = "",
    ) -> None:
        self.endpoint = endpoint
        self.server_public_key = server_public_key
        self.keypair = keypair
        self.key_problem = key_problem
        self.store = store or SqliteBranchStore()
        self.config = config or BranchConfig()
        self.options = options or TransportOptions(reconnect_ivl_max_ms=10_000)
        self.boot_id = str(uuid.uuid4())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._transport: BranchTransport | None = None
        self._core: BranchCore | None = None
        self._linked = False
        self._reconnect_at = 0.0
        self._shown = _Shown()
        self._written_at = 0.0
        self._dirty = True
        self._changed_at: float | None = None
        self._link_state: LinkState | None = None
        self._key_logged_at = float("-inf")

    @classmethod
    def from_settings(cls) -> SyncWorker:
        """The worker for this agent: central and keys from the config and data directory."""
        keypair, problem = None, ""
        try:
            keypair = load_keypair(agent_settings.keys_dir, name=KEY_NAME)
        except KeyFileError as exc:
            problem = f"{ERR_KEYS}: {keycheck.key_problem(agent_settings.keys_dir) or exc}"
        return cls(
            endpoint=agent_settings.central_endpoint,
            server_public_key=agent_settings.server_public_key,
            keypair=keypair,
            key_problem=problem,
            config=BranchConfig(
                max_batch_ops=agent_settings.sync_batch_size,
                backoff_max=agent_settings.sync_retry_max_seconds,
            ),
        )

    # --- lifetime ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pst-sync-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        outbox.changed.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._loop()
                except Exception as exc:  # the UI must keep working, whatever failed here
                    log.exception("sync worker failed; starting over in 5 s")
                    self._drop_link()
                    self._core = None
                    self._show(False, f"{ERR_INTERNAL}: {type(exc).__name__}: {exc}")
                    self._write_status(force=True)
                    self._stop.wait(5.0)
        finally:
            self._drop_link()
            self._show(False, self._shown.error)
            self._write_status(force=True)
            connection.close()

    # --- the loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        if self.keypair is None:
            if self._load_keys():
                return  # fixed (e.g. after the chmod): connect now, no restart needed
            # Said every time the worker gives up for want of a key, not only at start.
            log.error("sync cannot connect: %s", self.key_problem.partition(": ")[2])
            self._show(False, self.key_problem)
            self._write_status(force=False)
            self._stop.wait(KEY_RETRY_EVERY)
            return
        if self._core is None:
            self._core = BranchCore(
                self.store,
                boot_id=self.boot_id,
                agent_version=agent_version(),
                config=self.config,
            )
        while not self._stop.is_set():
            close_old_connections()
            now = time.monotonic()
            if self._core.state is BranchState.CLOSED:
                self._write_status(force=False)
                self._stop.wait(HEARTBEAT_EVERY)
                continue
            if self._transport is None:
                if now < self._reconnect_at:
                    self._write_status(force=False)
                    self._stop.wait(min(TICK * 4, self._reconnect_at - now))
                    continue
                self._open_link()
            assert self._transport is not None
            self._watch_link(now)
            if self._transport is None:
                continue
            deadline = self._core.next_deadline()
            wait = TICK if deadline is None else max(0.0, min(TICK, deadline - now))
            if self._changed_at is not None:
                wait = max(0.0, min(wait, self._changed_at + COALESCE - now))
            elif outbox.changed.is_set():
                wait = min(wait, COALESCE)
            frames = self._transport.recv(timeout_ms=int(wait * 1000))
            now = time.monotonic()
            if frames is not None:
                self._handle(self._core.receive(frames, now))
            if outbox.changed.is_set() and self._changed_at is None:
                self._changed_at = now
            if self._changed_at is not None and now - self._changed_at >= COALESCE:
                self._changed_at = None
                outbox.changed.clear()
                self._handle(self._core.outbox_changed(now))
            deadline = self._core.next_deadline()
            if deadline is not None and now >= deadline:
                self._handle(self._core.handle_timer(now))
            self._show_core()
            self._write_status(force=False)

    def _load_keys(self) -> bool:
        """Try the key files again (only for the agent's own keys: a test's worker keeps what
        it was given). True when a usable key pair is now loaded."""
        if not self.key_problem or not agent_settings.keys_dir.is_dir():
            return False
        try:
            self.keypair = load_keypair(agent_settings.keys_dir, name=KEY_NAME)
        except KeyFileError as exc:
            detail = keycheck.key_problem(agent_settings.keys_dir) or str(exc)
            self.key_problem = f"{ERR_KEYS}: {detail}"
            return False
        log.info("sync keys are usable again (%s)", agent_settings.keys_dir)
        self.key_problem = ""
        return True

    def _open_link(self) -> None:
        assert self.keypair is not None
        try:
            self._transport = BranchTransport(
                self.endpoint, self.keypair, self.server_public_key, options=self.options
            )
        except (TransportError, KeyFileError) as exc:
            log.error("sync cannot connect: the keys cannot be used: %s", exc)
            self._show(False, f"{ERR_KEYS}: {exc}")
            self._reconnect_at = time.monotonic() + 30.0
            return
        self._linked = False

    def _watch_link(self, now: float) -> None:
        assert self._transport is not None and self._core is not None
        link = self._transport.poll_link()
        if link.up and not self._linked:
            self._linked = True
            self._handle(self._core.connect(now, time.time()))
        elif not link.up and self._linked:
            self._linked = False
            self._handle(self._core.connection_lost(now))
        if link.up:
            # ZMTP heartbeats keep the link up only while central's end answers them: a busy
            # central is alive, and the core waits for it instead of starting over.
            self._core.link_alive(now)
        else:
            problem = {
                LinkState.AUTH_FAILED: ERR_NOT_ENROLLED,
                LinkState.HANDSHAKE_FAILED: ERR_WRONG_SERVER_KEY,
            }.get(link.state, ERR_UNREACHABLE)
            if link.state is not LinkState.CONNECTING:
                self._show(False, f"{problem}: {link.detail}")
            again = now - self._key_logged_at >= KEY_RETRY_EVERY
            if problem != ERR_UNREACHABLE and (link.state is not self._link_state or again):
                # A key problem: said in the run log every time a connection fails on it, and
                # again every KEY_RETRY_EVERY while the link stays refused.
                self._key_logged_at = now
                log.error("sync connection refused: %s (%s)", self._key_fix(problem), link.detail)
        self._link_state = link.state

    def _key_fix(self, problem: str) -> str:
        if problem == ERR_WRONG_SERVER_KEY:
            return keycheck.wrong_server_key(agent_settings.home / "agent.toml", self.endpoint)
        return keycheck.not_enrolled(
            agent_settings.keys_dir / f"{KEY_NAME}.key", agent_settings.branch_code
        )

    def _handle(self, events: list[BranchEvent]) -> None:
        for event in events:
            if isinstance(event, Send):
                if self._transport is not None:
                    self._transport.send(list(event.frames))  # False: link down, core resends
            elif isinstance(event, Reconnect):
                log.info("sync reconnect in %.1f s: %s", event.delay, event.reason)
                self._drop_link()
                # Jitter, so branches cut off together do not all come back in the same second.
                self._reconnect_at = time.monotonic() + event.delay * random.uniform(1.0, 1.25)
                self._show(False, f"{ERR_UNREACHABLE}: {event.reason}")
            elif isinstance(event, Welcomed):
                log.info(
                    "sync session %d: central hwm %d, feed head %d, clock skew %.1f s%s",
                    event.session,
                    event.hwm_seq,
                    event.feed_head,
                    event.clock_skew,
                    ", outbox renumbered" if event.renumbered else "",
                )
                self.store.record_welcome(
                    hwm_seq=event.hwm_seq, clock_skew_seconds=event.clock_skew
                )
                self.store.record_success()
                self._dirty = True
            elif isinstance(event, CentralLost):
                log.error(
                    "central was restored from an older backup and lost acknowledged ops seq"
                    " %d..%d: %d still held here were sent again, %d were no longer held and"
                    " must be re-entered at central (docs/operations.md)",
                    event.first_seq,
                    event.last_seq,
                    event.resent,
                    event.unrecoverable,
                )
                self.store.record_central_lost(
                    first_seq=event.first_seq,
                    last_seq=event.last_seq,
                    resent=event.resent,
                    unrecoverable=event.unrecoverable,
                )
                self._dirty = True
            elif isinstance(event, (Acked, ChangesApplied)):
                self._dirty = True  # the store recorded the success in the same transaction
            elif isinstance(event, (PeerError, PeerMisbehaved)):
                log.warning("central: %s %s", event.code, event.message)
                self._show(self._shown.online, f"{ERR_CENTRAL}: {event.code}: {event.message}")
            elif isinstance(event, Closed):
                log.error("sync stopped: %s", event.reason)
                self._drop_link()
                self._show(False, f"{ERR_UPGRADE}: {event.reason}")

    def _drop_link(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self._linked = False

    # --- status for the UI -------------------------------------------------------------------

    def _show_core(self) -> None:
        assert self._core is not None
        online = self._core.state is BranchState.READY and self._linked
        error = self._shown.error
        if online and error.startswith((ERR_UNREACHABLE, ERR_NOT_ENROLLED, ERR_WRONG_SERVER_KEY)):
            error = ""
        self._show(online, error)

    def _show(self, online: bool, error: str) -> None:
        if (online, error) != (self._shown.online, self._shown.error):
            self._shown = _Shown(online, error)
            self._dirty = True

    def _write_status(self, *, force: bool) -> None:
        now = time.monotonic()
        due = self._dirty and now - self._written_at >= STATUS_EVERY
        if not (force or due or now - self._written_at >= HEARTBEAT_EVERY):
            return
        try:
            self.store.record_attempt(online=self._shown.online, error=self._shown.error)
        except DatabaseError as exc:
            log.error("cannot record the sync state: %s", exc)
            return
        self._written_at = now
        self._dirty = False
