"""The central sync server loop: ``CentralTransport`` + ``CentralCore`` + ``DjangoCentralStore``.

What it owns: the loop that carries frames between the transport and the sans-IO core, the key
lookup the transport's ZAP handler calls, the central keypair's source, housekeeping (session
timers, feed pruning) and the server's log lines. ``pst_sync_server`` is a thin command over it.

Rules:
- One thread owns the transport, the core and its database connection (ZeroMQ sockets are
  single-threaded; the key lookup runs inside ``recv`` in that same thread).
- The branch is who the transport authenticated (ZAP ``User-Id``); nothing here reads a branch
  from a message body.
- The key lookup is a database query at every new connection: a revoked or deactivated branch is
  refused at its next connection, without restarting the server. Every message on an open
  connection is checked too (``branch_still_allowed``, against the key that connection proved): a
  revoke, a deactivation or a new key takes effect on the next message of every open session
  (``ERROR{refused}``), PINGs included.
- One bad message never stops the loop: malformed frames get the core's ``ERROR``; a database
  failure the store did not already turn into ``StoreUnavailable`` is answered
  ``ERROR{unavailable}`` here (nothing committed, the branch retries). Stale database connections
  are closed between messages (``close_old_connections``), as Django does between requests.
- Log lines carry counts, codes, branch codes and timings: never a message body. The one
  exception is an internal error (a failure that is not the branch's fault): its type, message
  and traceback are logged, and type and message are kept on the branch's sync state (the
  admin's branch page), so an operator can tell why a branch keeps retrying. Their text passes
  ``mask_nik_in_text`` first (a database error may quote row values) and is cut to
  ``ERROR_TEXT_CHARS``; the server also logs, at start, seeded reference rows that are missing
  (``pst_restore_reference_data`` restores them).
- ``stop()`` may be called from a signal handler or another thread: the message in hand is
  finished and answered, then the sockets close. Messages read ahead and not handled yet are
  dropped unanswered (their branches send them again).
- Small messages first (``Inbox``): the loop reads ahead what the transport already holds and
  hands out the next message of a connection whose next message is small (HELLO, PING, a PULL
  for what changed, a PUSH of a few records) before the next large batch or first PULL (a
  snapshot), keeping each connection's own order. During
  a national reconnect an office pushing one visit is answered at once instead of after one batch
  of every other office (docs/chaos.md). ``order="arrival"`` turns it off (for comparison).
- Group commit: when the next message is a PUSH and more PUSHes of the same connection were read
  ahead behind it, they go to the core together (``CentralCore.receive_run``), which applies
  those that follow each other in one transaction and answers each with its own ACK. A branch
  with a backlog keeps ``window`` PUSHes in flight, so its backlog commits a few batches at a
  time instead of one: the per-transaction work (the branch's lock, the feed writers' lock, the
  commit's WAL flush, the statements of a batch) is paid once per group. ``group_pushes=1``
  turns it off (for comparison).

Size: over 500 lines on purpose: one loop with its housekeeping and log lines, each a short
function.
"""

from __future__ import annotations

import collections
import gc
import logging
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, close_old_connections, models
from django.utils import timezone

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import Branch, BranchSyncState
from pst_helpdesk_ext.personal_data import mask_nik_in_text
from pst_helpdesk_ext.services import feed, reference_data
from pst_helpdesk_ext.services.sync_store import DjangoCentralStore
from sync.central import (
    BatchApplied,
    CentralConfig,
    CentralCore,
    ChangesServed,
    ClockSkewFlagged,
    Refused,
    Welcomed,
)
from sync.codec import CodecError, Error, ErrorCode, Pull, Push, Send, decode, encode
from sync.store import CentralStore
from sync.transport import (
    CentralTransport,
    CurveKeyPair,
    KeyFileError,
    Received,
    TransportOptions,
    load_keypair,
)

log = logging.getLogger("pst.sync.server")

KEY_NAME = "server"  # SYNC_KEY_DIR/server.key and server.key_secret
RECV_TIMEOUT_MS = 250  # stop() is noticed within this
PRUNE_EVERY = 3600.0  # seconds between feed.prune() runs
SMALL_MESSAGE_BYTES = 16 * 1024  # a PUSH of about 40 records or fewer, and every other message
READ_AHEAD_MESSAGES = 65_536  # PINGs pile up behind a waiting batch: they are tiny
READ_AHEAD_BYTES = 128 * 1024 * 1024
ORDERS = ("small-first", "arrival")
# PUSHes of one connection read ahead together, applied in one transaction when they follow each
# other (the core caps the ops: CentralConfig.max_group_ops); 1 applies each PUSH on its own.
GROUP_PUSHES = 16
ERROR_TEXT_CHARS = 2000  # an internal error's message kept on the branch's sync state
TRACEBACK_CHARS = 20_000  # and its traceback in the log
# The cyclic garbage collector's thresholds in the server's process (CPython's are 700, 10, 10).
GC_THRESHOLDS = (20_000, 20, 20)


class SyncKeysMissing(ImproperlyConfigured):
    """No central keypair: neither the settings nor the key directory hold one."""


def settle_collector() -> None:
    """Tune CPython's cyclic garbage collector for the sync server's process (its command calls
    this once, when everything it needs is loaded; never inside a process it does not own).

    Why: a 2,000-op group allocates some 400,000 objects, most freed by reference counting as it
    goes. With CPython's defaults that still ran a young collection every 700 allocations and a
    full one every few groups, and each full collection walked the ~110,000 objects of Django,
    helpdesk and the loaded apps, which never become garbage: 1.6 s of a 10,000-visit drain's
    ~11 s (``bench_sync``, measured with ``gc.callbacks``). Frozen (``gc.freeze``), those objects
    are never walked again; with higher thresholds, a drain runs a few dozen collections instead
    of ~1,300. Cycles are still collected, only in larger steps.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    log.info(
        "sync server memory: %d long-lived objects kept out of garbage collection, thresholds %s",
        gc.get_freeze_count(),
        ",".join(str(value) for value in GC_THRESHOLDS),
    )


# --------------------------------------------------------------------------- keys


def key_dir() -> Path | None:
    value = pst_settings.SYNC_KEY_DIR
    return Path(value) if value else None


def server_keypair() -> CurveKeyPair:
    """Central's CURVE keypair: ``SYNC_SERVER_SECRET_KEY``/``PUBLIC_KEY`` settings, else the key
    directory. Raises ``SyncKeysMissing`` saying what to run, or ``KeyFileError`` for a bad key."""
    secret = pst_settings.SYNC_SERVER_SECRET_KEY
    public = pst_settings.SYNC_SERVER_PUBLIC_KEY
    if secret or public:
        if not (secret and public):
            raise SyncKeysMissing(
                "PST_HELPDESK needs both SYNC_SERVER_SECRET_KEY and SYNC_SERVER_PUBLIC_KEY "
                "(or neither, to use SYNC_KEY_DIR)"
            )
        return CurveKeyPair(str(public).strip(), str(secret).strip())
    directory = key_dir()
    if directory is None:
        raise SyncKeysMissing(
            "no sync server key: set PST_HELPDESK['SYNC_KEY_DIR'] and run "
            "`manage.py pst_sync_keys --create`"
        )
    secret_path = directory / f"{KEY_NAME}.key_secret"
    if not secret_path.exists():
        raise SyncKeysMissing(
            f"no sync server key in {directory}: run `manage.py pst_sync_keys --create`"
        )
    return load_keypair(directory, name=KEY_NAME)


def lookup_branch(public_key: str) -> str | None:
    """The code of the active branch whose enrolled, non-revoked key this is (else None).

    Called by the transport's ZAP handler at every new connection.
    """
    close_old_connections()
    return (
        Branch.objects.filter(curve_public_key=public_key, active=True, key_revoked_at__isnull=True)
        .values_list("code", flat=True)
        .first()
    )


def branch_still_allowed(code: str, public_key: str) -> bool:
    """Whether ``code`` is still an active branch whose enrolled, non-revoked key is
    ``public_key`` (the key the connection's handshake proved).

    Asked before every message, so ``pst_branch revoke``, ``deactivate`` or ``enrol`` of a new key
    takes effect on the next message of every open connection, not only at the next connection.
    One indexed query.
    """
    return Branch.objects.filter(
        code=code, curve_public_key=public_key, active=True, key_revoked_at__isnull=True
    ).exists()


# --------------------------------------------------------------------------- the loop


@dataclass
class ServerStats:
    messages: int = 0
    errors_answered: int = 0
    internal_errors: int = 0
    prunes: int = 0


def _message_type(frames: list[bytes]) -> str:
    """The type frame as text for logs: only a short ASCII name, else '?' (never a body)."""
    if not frames:
        return "?"
    kind = frames[0]
    if len(kind) <= 16 and kind.isascii() and kind.isalpha():
        return kind.decode().lower()
    return "?"


def _batch_ref(frames: list[bytes]) -> int:
    try:
        message = decode(frames)
    except Exception:
        return 0
    return message.batch_id if isinstance(message, Push) else 0


def _is_push(frames: list[bytes]) -> bool:
    return bool(frames) and bytes(frames[0]) == Push.TYPE


def _first_pull(frames: list[bytes]) -> bool:
    """A PULL from cursor 0 (answered with a snapshot); a malformed PULL counts as one."""
    if bytes(frames[0]) != Pull.TYPE:
        return False
    try:
        pull = decode(frames, accept=frozenset({Pull.TYPE}))
    except CodecError:
        return True
    return not isinstance(pull, Pull) or pull.cursor == 0


class Inbox:
    """Messages read from the transport and not handled yet; ``pop`` hands out the next one.

    Each connection's messages come out in the order they arrived (a branch's HELLO before its
    PUSH, batch n before batch n + 1). Across connections, with ``small_first``, a connection
    whose next message is small (at most ``small_bytes``, and not a first PULL) goes before any
    connection whose next message is not; within each of the two lanes, connections go in the
    order their next message became next. A first PULL (cursor 0) takes the large lane whatever
    its size: its cost is its answer, a snapshot of the reference data. Small messages cost
    central little (a HELLO about 5 ms, a PUSH of one visit about 30 ms on PostgreSQL), so they
    cannot hold the large batches back for long. Without ``small_first`` there is one lane.

    ``full()`` says when to stop reading ahead (``max_messages`` or ``max_bytes`` reached): the
    rest waits in ZeroMQ's own queues, which push back on the branches as before.
    """

    def __init__(
        self,
        *,
        small_first: bool = True,
        small_bytes: int = SMALL_MESSAGE_BYTES,
        max_messages: int = READ_AHEAD_MESSAGES,
        max_bytes: int = READ_AHEAD_BYTES,
    ) -> None:
        if min(small_bytes, max_messages, max_bytes) < 1:
            raise ValueError("small_bytes, max_messages and max_bytes must be positive")
        self.small_first = small_first
        self.small_bytes = small_bytes
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._queues: dict[bytes, collections.deque[tuple[Received, int, bool]]] = {}
        self._small: collections.deque[bytes] = collections.deque()
        self._large: collections.deque[bytes] = collections.deque()
        self.messages = 0
        self.bytes = 0

    def __len__(self) -> int:
        return self.messages

    def full(self) -> bool:
        return self.messages >= self.max_messages or self.bytes >= self.max_bytes

    def add(self, received: Received) -> None:
        size = sum(len(frame) for frame in received.frames)
        small = self.small_first and size <= self.small_bytes and not _first_pull(received.frames)
        queue = self._queues.setdefault(received.identity, collections.deque())
        queue.append((received, size, small))
        self.messages += 1
        self.bytes += size
        if len(queue) == 1:
            (self._small if small else self._large).append(received.identity)

    def pop(self) -> Received | None:
        run = self.pop_run(1)
        return run[0] if run else None

    def pop_run(self, limit: int) -> list[Received]:
        """The next message, as ``pop`` hands it out, and when it is a PUSH the PUSHes queued
        right behind it on the same connection (at most ``limit`` messages in all): what the
        core may apply in one transaction (``CentralCore.receive_run``). A small PUSH takes only
        the small PUSHes behind it: a large batch never rides the small lane past other
        connections."""
        lane = self._small or self._large
        if not lane:
            return []
        identity = lane.popleft()
        queue = self._queues[identity]
        run: list[Received] = []
        first_small = queue[0][2]
        while queue and len(run) < max(1, limit):
            received, size, small = queue[0]
            if run and not (_is_push(run[0].frames) and _is_push(received.frames)):
                break
            if run and first_small and not small:
                break
            queue.popleft()
            self.messages -= 1
            self.bytes -= size
            run.append(received)
        if queue:
            (self._small if queue[0][2] else self._large).append(identity)
        else:
            del self._queues[identity]
        return run


class SyncServer:
    """The central sync server. ``serve()`` blocks until ``stop()``; then the sockets are closed."""

    def __init__(
        self,
        bind: str,
        keypair: CurveKeyPair,
        *,
        store: CentralStore | None = None,
        core_config: CentralConfig | None = None,
        options: TransportOptions | None = None,
        lookup: Callable[[str], str | None] = lookup_branch,
        still_allowed: Callable[[str, str], bool] = branch_still_allowed,
        prune_every: float = PRUNE_EVERY,
        clock: Callable[[], float] = time.time,
        order: str = "small-first",
        group_pushes: int = GROUP_PUSHES,
    ) -> None:
        if prune_every <= 0:
            raise ValueError(f"prune_every must be positive, got {prune_every!r}")
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}; got {order!r}")
        if isinstance(group_pushes, bool) or not isinstance(group_pushes, int) or group_pushes < 1:
            raise ValueError(f"group_pushes must be a whole number from 1, got {group_pushes!r}")
        self._group_pushes = group_pushes
        # "arrival" is the loop without read-ahead: each message as the transport hands it out.
        self.inbox = (
            Inbox(small_first=True)
            if order == "small-first"
            else Inbox(small_first=False, max_messages=1)
        )
        if options is None:
            options = TransportOptions(max_message_size=pst_settings.SYNC_MAX_MESSAGE_BYTES + 4096)
        self.keypair = keypair
        self._still_allowed = still_allowed
        self.core = CentralCore(
            store or DjangoCentralStore(),
            core_config
            or CentralConfig(skew_limit=float(pst_settings.SYNC_CLOCK_SKEW_WARN_SECONDS)),
        )
        self.stats = ServerStats()
        self._clock = clock
        self._prune_every = prune_every
        self._stopping = threading.Event()
        self.transport = CentralTransport(bind, keypair, lookup, options=options)
        self.endpoint = self.transport.endpoint

    def ready_line(self) -> str:
        return (
            f"pst_sync_server listening on {self.endpoint} (public key {self.keypair.public_key})"
        )

    def stop(self) -> None:
        """Ask the loop to finish the message in hand and return. Safe from a signal handler."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def serve(self, ready: TextIO | None = None) -> None:
        """Run until ``stop()``. Writes the ready line to ``ready`` (flushed) once listening."""
        next_prune = time.monotonic() + self._prune_every
        log.info("sync server started endpoint=%s", self.endpoint)
        self._report_missing_reference_data()
        if ready is not None:
            ready.write(self.ready_line() + "\n")
            ready.flush()
        try:
            while not self._stopping.is_set():
                self._read_ahead()
                run = self.inbox.pop_run(self._group_pushes)
                if run:
                    first = run[0]
                    frames = [received.frames for received in run]
                    self._handle(first.branch, first.identity, frames, first.public_key)
                self._timers()
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + self._prune_every
                    self.prune()
                close_old_connections()
        finally:
            self.transport.close()
            close_old_connections()
            log.info(
                "sync server stopped messages=%d errors_answered=%d internal_errors=%d"
                " unanswered=%d",
                self.stats.messages,
                self.stats.errors_answered,
                self.stats.internal_errors,
                len(self.inbox),
            )

    def _read_ahead(self) -> None:
        """Move what the transport holds into the inbox; wait for a message only when idle."""
        timeout = 0 if self.inbox else RECV_TIMEOUT_MS
        while not self.inbox.full():
            received = self.transport.recv(timeout)
            if received is None:
                return
            self.inbox.add(received)
            timeout = 0

    def _timers(self) -> None:
        now = self._clock()
        deadline = self.core.next_deadline()
        if deadline is not None and now >= deadline:
            for event in self.core.handle_timer(now):
                log.info("sync event=session_expired branch=%s", event.branch)

    def prune(self) -> int:
        """Drop down-feed rows past the retention. A failure is logged; the loop goes on."""
        try:
            deleted = feed.prune()
        except DatabaseError as exc:
            close_old_connections()
            log.warning("sync event=prune_failed error=%s", type(exc).__name__)
            return 0
        self.stats.prunes += 1
        log.info("sync event=feed_pruned rows=%d", deleted)
        return deleted

    def _handle(
        self, branch: str, identity: bytes, messages: list[list[bytes]], public_key: str = ""
    ) -> None:
        """Answer ``messages``, read in this order from one connection (several only when they
        are PUSHes the core may apply in one transaction). Each store call's answers are sent
        before the next call starts, so a later failure answers only what it left unanswered."""
        started = time.perf_counter()
        kind = _message_type(messages[0])
        self.stats.messages += len(messages)
        answered = 0
        try:
            if not self._still_allowed(branch, public_key):
                self._refuse_revoked(branch, identity, messages, kind, started)
                return
            while answered < len(messages):
                step_started = time.perf_counter()
                events, handled = self.core.receive_run(branch, messages[answered:], self._clock())
                for event in events:
                    if isinstance(event, Send):
                        self.transport.send(identity, list(event.frames))
                answered += handled
                ms = (time.perf_counter() - step_started) * 1000
                self._log(branch, kind, events, ms, handled)
        except Exception as exc:
            # Nothing of the messages not answered yet committed (the store's transaction rolled
            # back): answer them "unavailable" so the branch retries. Logged with its message
            # and traceback (NIK-shaped numbers masked: a database error's text may quote row
            # values) and kept for the admin.
            self.stats.internal_errors += 1
            close_old_connections()
            text = error_text(exc)
            log.error(
                "sync event=internal_error branch=%s type=%s error=%s ms=%.1f message=%s\n%s",
                branch,
                kind,
                type(exc).__name__,
                (time.perf_counter() - started) * 1000,
                text,
                masked_traceback(exc),
            )
            self._record_internal_error(branch, text)
            for frames in messages[answered:]:
                answer = Error(
                    code=str(ErrorCode.UNAVAILABLE),
                    message="central could not handle this message now; nothing was applied",
                    ref=_batch_ref(frames),
                )
                self.transport.send(identity, list(encode(answer)))

    def _record_internal_error(self, branch: str, text: str) -> None:
        """Keep the error on the branch's sync state (the admin's branch page). Best effort:
        when the database itself is what failed, the log line is all there is."""
        try:
            BranchSyncState.objects.filter(branch__code=branch).update(
                internal_errors=models.F("internal_errors") + 1,
                last_internal_error=text,
                last_internal_error_at=timezone.now(),
            )
        except DatabaseError as exc:
            close_old_connections()
            log.warning(
                "sync event=internal_error_not_recorded branch=%s error=%s",
                branch,
                type(exc).__name__,
            )

    def _report_missing_reference_data(self) -> None:
        try:
            gone = reference_data.missing()
        except DatabaseError as exc:
            close_old_connections()
            log.warning("sync event=reference_check_failed error=%s", type(exc).__name__)
            return
        if gone:
            log.error(
                "sync event=reference_data_missing missing=%s hint=%s",
                gone.describe(),
                "run: manage.py pst_restore_reference_data",
            )

    def _refuse_revoked(
        self, branch: str, identity: bytes, messages: list[list[bytes]], kind: str, started: float
    ) -> None:
        """Messages on a connection whose key was revoked (or whose branch was deactivated)
        after it connected, or whose key was replaced: each answered ``ERROR{refused}``, nothing
        handled. The branch's session here is dropped when the branch itself may no longer sync;
        an old key's connection never drops the session of the branch's new key. The one query
        comes before any answer: a failure answers every message once, ``unavailable``."""
        usable = Branch.objects.filter(
            code=branch, active=True, key_revoked_at__isnull=True
        ).exists()
        if not usable:
            self.core.forget(branch)
        for frames in messages:
            self.stats.errors_answered += 1
            log.warning(
                "sync event=error branch=%s type=%s code=%s reason=%s ms=%.1f",
                branch,
                kind,
                ErrorCode.REFUSED,
                "key_replaced" if usable else "revoked_or_deactivated",
                (time.perf_counter() - started) * 1000,
            )
            answer = Error(
                code=str(ErrorCode.REFUSED),
                message=f"the key of branch {branch} was revoked or replaced at central, or the "
                "branch was deactivated",
                ref=_batch_ref(frames),
            )
            self.transport.send(identity, list(encode(answer)))

    def _log(
        self, branch: str, kind: str, events: Sequence[object], ms: float, group: int = 1
    ) -> None:
        """One line per event; ``group``: how many messages these events answer (PUSHes applied
        together in one transaction each log the transaction's ms and ``group=`` their number;
        any other message is answered alone)."""
        for event in events:
            if isinstance(event, BatchApplied):
                log.info(
                    "sync event=push branch=%s type=%s batch=%d ops=%d accepted=%d rejected=%d "
                    "deferred=%d hwm=%d group=%d ms=%.1f",
                    branch,
                    kind,
                    event.batch_id,
                    event.accepted + event.rejected + event.deferred,
                    event.accepted,
                    event.rejected,
                    event.deferred,
                    event.hwm_seq,
                    group,
                    ms,
                )
            elif isinstance(event, Welcomed):
                log.info(
                    "sync event=hello branch=%s type=%s session=%d hwm=%d feed_head=%d "
                    "skew_s=%.1f ms=%.1f",
                    branch,
                    kind,
                    event.session,
                    event.hwm_seq,
                    event.feed_head,
                    event.clock_skew,
                    ms,
                )
            elif isinstance(event, ClockSkewFlagged):
                log.warning("sync event=clock_skew branch=%s skew_s=%.1f", branch, event.clock_skew)
            elif isinstance(event, ChangesServed):
                # A branch polls the feed every few seconds: an empty page is not news.
                log.log(
                    logging.INFO if event.items else logging.DEBUG,
                    "sync event=pull branch=%s type=%s from=%d to=%d items=%d snapshot=%s ms=%.1f",
                    branch,
                    kind,
                    event.from_cursor,
                    event.to_cursor,
                    event.items,
                    event.snapshot,
                    ms,
                )
            elif isinstance(event, Refused):
                # The code only: a refusal's text may quote the offending value.
                self.stats.errors_answered += 1
                log.warning(
                    "sync event=error branch=%s type=%s code=%s ms=%.1f",
                    branch,
                    kind,
                    event.code,
                    ms,
                )


__all__ = [
    "KEY_NAME",
    "KeyFileError",
    "SyncKeysMissing",
    "SyncServer",
    "branch_still_allowed",
    "lookup_branch",
    "server_keypair",
]


def error_text(exc: BaseException) -> str:
    """``Type: message`` of an exception, NIK-shaped numbers masked, at most ERROR_TEXT_CHARS."""
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return mask_nik_in_text(text)[:ERROR_TEXT_CHARS]


def masked_traceback(exc: BaseException) -> str:
    """The exception's traceback (its chained causes too), NIK-shaped numbers masked."""
    text = "".join(traceback.format_exception(exc))
    return mask_nik_in_text(text)[-TRACEBACK_CHARS:]
