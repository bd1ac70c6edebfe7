"""Background upkeep of the store, off the request path: WAL checkpoints and local retention.

Why a thread of its own: SQLite's automatic checkpoint runs inside whichever request commits
when the WAL passes its size, and with ``synchronous=FULL`` a checkpoint fsyncs the database file,
which put a rare several-hundred-millisecond stall into an ordinary "issue a number" request.
The agent's connections therefore turn the automatic checkpoint off (see ``djsettings``) and this
thread checkpoints in PASSIVE mode (never blocks readers or writers) every few seconds, on its own
plain sqlite3 connection. It also blanks old guest-book personal data once central has it, and
clears expired staff sessions, hourly.
It runs with or without the sync worker (``run --no-sync``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

from django.db import DatabaseError, connection

log = logging.getLogger("branch_agent.store")

CHECKPOINT_EVERY = 5.0
PURGE_EVERY = 3600.0


class Housekeeper:
    def __init__(self, store_path: Path, *, checkpoint_every: float = CHECKPOINT_EVERY) -> None:
        self.store_path = store_path
        self.checkpoint_every = checkpoint_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pst-housekeeping", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.checkpoint("TRUNCATE")  # leave a small WAL behind for backups and the next start

    def checkpoint(self, mode: str = "PASSIVE") -> None:
        try:
            db = sqlite3.connect(self.store_path, timeout=2)
            try:
                db.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                self.checkpoints += 1
            finally:
                db.close()
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint (%s) failed: %s", mode, exc)

    def _run(self) -> None:
        purged_at = float("-inf")
        try:
            while not self._stop.wait(self.checkpoint_every):
                self.checkpoint()
                now = time.monotonic()
                if now - purged_at >= PURGE_EVERY:
                    purged_at = now
                    self._purge()
        finally:
            connection.close()

    def _purge(self) -> None:
        from branch_agent.services import purge_personal_data

        try:
            purged = purge_personal_data()
        except DatabaseError as exc:
            log.error("personal-data retention failed: %s", exc)
            return
        if purged:
            log.info("blanked the personal data of %d old guest-book entries", purged)
        self._clear_sessions()

    def _clear_sessions(self) -> None:
        """Staff sessions past their age (12 h) leave the store."""
        from django.contrib.sessions.models import Session
        from django.utils import timezone

        try:
            gone, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
        except DatabaseError as exc:
            log.error("clearing expired sessions failed: %s", exc)
            return
        if gone:
            log.info("cleared %d expired staff sessions", gone)
