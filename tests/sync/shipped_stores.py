"""The simulation (``sync.sim``) against the shipped agent store: adapters and a seed runner.

``sync`` imports no Django and the two programs never import each other, so the adapter that
lets ``sync.sim.world.World`` drive the agent's ``branch_agent.sync_store.SqliteBranchStore``
lives here, in the tests. It runs in its own process with the agent's Django settings
(``tests.agent_settings``); the pytest suites each configure one Django, so the test
(``tests/sync/test_simulation_shipped.py``) and ``make soak-shipped`` start it as
``python -m tests.sync.shipped_stores``.

What is real and what is the simulation's:
- Each simulated branch has its own SQLite file (a copy of one migrated template, on /dev/shm
  when there is one), with the agent's PRAGMAs and IMMEDIATE transactions. The process's one
  Django connection is pointed at the file of the branch being called (closed and reopened on a
  switch), so every ``BranchStore`` method is the shipped code on that branch's file.
- ``record`` is the one part written here: it appends the op the world chose (its op id and
  hybrid-clock value, so a seed replays; invalid ops included, as a buggy or newer agent might
  send) exactly as ``branch_agent.outbox.record`` lays it out, and applies its effect to the
  visit row as the desk would, in one ``outbox.write()`` transaction.
- Disk faults use the file itself: a backup is the database image (``sqlite3`` serialize), a
  restore writes an image back, a lost tail writes back the image of some transactions ago.
- Central is the reference ``MemoryCentralStore``. Central's Django store needs central's
  settings and so its own process: ``tests/sync/shipped_central.py``.

The agent keeps, of central's state of a ticket, its status (``Visit.central_status``, or the
status of the newest ``TicketUpdate`` of a visit it no longer has) and not its owner, and keeps
reference data in its own shape, which the memory central's synthetic items do not fill; so
convergence compares ticket statuses (``VIEW_FIELDS``) and not reference data.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import django

if __name__ == "__main__" or not os.environ.get("DJANGO_SETTINGS_MODULE"):
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.agent_settings"
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from branch_agent import outbox  # noqa: E402
from branch_agent.models import OutboxOp, ServiceCategory, SyncState, TicketUpdate, Visit  # noqa: E402
from branch_agent.outbox import as_op  # noqa: E402
from branch_agent.sync_store import SqliteBranchStore  # noqa: E402
from sync import ops as kinds  # noqa: E402
from sync.memory import TicketView  # noqa: E402
from sync.ops import Op, PayloadError, decode_payload  # noqa: E402
from sync.sim import SeedResult, run_seed  # noqa: E402
from sync.sim.stores import BranchCommit, CommitHook  # noqa: E402
from sync.store import ChangesPage, Rejection  # noqa: E402

SERVICE = "konsultasi"  # the world's walk-in service (seeded by the agent's migrations)
HISTORY = 8  # transactions a lost disk tail can take back (the world draws 1 to 6)
# The visit's local status after a walk-in op, as the desk's own write leaves it.
LOCAL_EFFECT = {
    kinds.VISIT_CALLED: (Visit.Status.CALLED, ""),
    kinds.VISIT_SERVED: (Visit.Status.SERVING, ""),
    kinds.VISIT_NO_SHOW: (Visit.Status.NO_SHOW, ""),
    kinds.VISIT_RESOLVED: (Visit.Status.FINISHED, Visit.Outcome.RESOLVED),
    kinds.VISIT_ESCALATED: (Visit.Status.FINISHED, Visit.Outcome.ESCALATED),
}
FINISHED_AS = {Visit.Outcome.ESCALATED: "escalated"}  # any other finished visit: "resolved"


def scratch_dir() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="pst-sim-shipped-", dir=base))


def use_file(path: Path) -> None:
    """Point the process's Django connection at ``path`` (reopened on the next query)."""
    if connection.settings_dict["NAME"] != str(path):
        connection.close()
        connection.settings_dict["NAME"] = str(path)


def migrated_template(directory: Path) -> Path:
    template = directory / "template.sqlite3"
    use_file(template)
    call_command("migrate", verbosity=0, interactive=False)
    assert ServiceCategory.objects.filter(code=SERVICE).exists(), SERVICE
    connection.close()
    return template


class AgentBranchSim(SqliteBranchStore):
    """``SqliteBranchStore`` on its own file, as ``sync.sim.stores.SimBranchStore``."""

    VIEW_FIELDS: ClassVar[tuple[str, ...]] = ("status",)
    _count = 0

    def __init__(self, template: Path) -> None:
        super().__init__()
        AgentBranchSim._count += 1
        self.path = template.with_name(f"branch-{AgentBranchSim._count}.sqlite3")
        shutil.copyfile(template, self.path)
        self.on_commit: CommitHook | None = None
        self._history: collections.deque[bytes] = collections.deque(maxlen=HISTORY + 1)
        use_file(self.path)
        self._history.append(self._image())

    # -- the file

    def _image(self) -> bytes:
        connection.ensure_connection()
        return connection.connection.serialize()

    def _write_image(self, image: bytes) -> None:
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self.path.write_bytes(image)

    def _committed_state(self) -> BranchCommit:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT feed_cursor FROM {SyncState._meta.db_table} WHERE id = 1")  # noqa: S608
            (feed_cursor,) = cursor.fetchone()
        return BranchCommit(self._pending(), feed_cursor)

    @staticmethod
    def _pending() -> tuple[Op, ...]:
        """The outbox, read with one plain query (the world reads it around every write)."""
        table = OutboxOp._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT op_id, seq, kind, entity_id, hlc, payload FROM {table}"  # noqa: S608
                " WHERE state = %s ORDER BY seq",
                [OutboxOp.State.PENDING],
            )
            rows = cursor.fetchall()
        return tuple(
            Op(op_id=i, seq=s, kind=k, entity_id=e, hlc=h, payload=json.loads(p))
            for i, s, k, e, h, p in rows
        )

    def _write(self, what: str, method: Any, *args: Any) -> Any:
        """Run one of the store's transactions; remember the image and tell the world."""
        use_file(self.path)
        before = self._committed_state()
        connection.ensure_connection()
        changes = connection.connection.total_changes
        result = method(*args)
        if connection.connection.total_changes != changes:
            self._history.append(self._image())
            if self.on_commit is not None:
                self.on_commit(before, self._committed_state(), what)
        return result

    # -- BranchStore, each call on this branch's file

    def pending_ops(self, limit: int) -> list[Op]:
        use_file(self.path)
        return super().pending_ops(limit)

    def pending_count(self) -> int:
        use_file(self.path)
        return super().pending_count()

    def next_seq(self) -> int:
        use_file(self.path)
        return super().next_seq()

    def feed_cursor(self) -> int:
        use_file(self.path)
        return super().feed_cursor()

    def acknowledge(
        self, op_ids: Sequence[str], rejected: Sequence[Rejection], hwm_seq: int
    ) -> None:
        self._write("acknowledge", super().acknowledge, op_ids, rejected, hwm_seq)

    def raise_next_seq(self, hwm_seq: int) -> None:
        self._write("raise_next_seq", super().raise_next_seq, hwm_seq)

    def renumber_pending(self, after_seq: int) -> None:
        self._write("renumber_pending", super().renumber_pending, after_seq)

    def resend_acknowledged(self, after_seq: int) -> int:
        return self._write("resend_acknowledged", super().resend_acknowledged, after_seq)

    def apply_changes(self, page: ChangesPage) -> None:
        self._write("apply_changes", super().apply_changes, page)

    # -- the branch's own writes

    def record(
        self, kind: str, entity_id: str, payload: dict[str, Any], *, op_id: str, hlc: int
    ) -> Op:
        return self._write("record", self._record, kind, entity_id, payload, op_id, hlc)

    def _record(
        self, kind: str, entity_id: str, payload: dict[str, Any], op_id: str, hlc: int
    ) -> Op:
        with outbox.write():
            state = SyncState.objects.select_for_update().get(id=1)
            row = OutboxOp.objects.create(
                op_id=op_id,
                seq=state.next_seq,
                kind=kind,
                entity_id=entity_id,
                hlc=hlc,
                payload=payload,
            )
            SyncState.objects.filter(id=1).update(
                next_seq=row.seq + 1, last_hlc=max(state.last_hlc, hlc)
            )
            self._local_effect(kind, entity_id, payload)
        return as_op(row)

    @staticmethod
    def _local_effect(kind: str, entity_id: str, payload: dict[str, Any]) -> None:
        try:
            decoded = decode_payload(kind, payload)
        except (PayloadError, KeyError):
            return  # an op central must refuse: no local effect either
        if isinstance(decoded, kinds.VisitCreated):
            issued = dt.datetime.fromisoformat(decoded.issued_at)
            service = ServiceCategory.objects.get(code=SERVICE)
            day = dt.date.fromisoformat(decoded.service_day)
            last = Visit.objects.filter(service=service, service_day=day).order_by("-number")
            number = (last.values_list("number", flat=True).first() or 0) + 1
            Visit.objects.create(
                id=entity_id,
                service=service,
                service_day=day,
                number=number,
                queue_number=decoded.queue_number[:8],
                issued_at=issued,
            )
            return
        if kind not in LOCAL_EFFECT:
            return
        status, outcome = LOCAL_EFFECT[kind]
        visit = Visit.objects.filter(pk=entity_id).first()
        if visit is None or visit.status in (Visit.Status.FINISHED, Visit.Status.NO_SHOW):
            return
        visit.status = status
        visit.outcome = outcome or visit.outcome
        visit.save(update_fields=["status", "outcome"])

    # -- what the world reads

    def pending_snapshot(self) -> tuple[Op, ...]:
        use_file(self.path)
        return self._pending()

    def outbox_ids(self) -> list[str]:
        return [op.op_id for op in self.pending_snapshot()]

    def local_tickets(self) -> Mapping[str, TicketView]:
        use_file(self.path)
        views = {}
        for visit_id, status, outcome in Visit.objects.order_by("number", "id").values_list(
            "id", "status", "outcome"
        ):
            if status == Visit.Status.FINISHED:
                status = FINISHED_AS.get(outcome, "resolved")
            views[str(visit_id)] = TicketView(status, "branch")
        return views

    def central_view(self) -> Mapping[str, TicketView]:
        use_file(self.path)
        views: dict[str, TicketView] = {}
        for entity, status in (
            TicketUpdate.objects.filter(kind="ticket.status", visit__isnull=True)
            .order_by("feed_id", "id")
            .values_list("entity_id", "status")
        ):
            views[entity] = TicketView(status, "")
        for visit_id, status in Visit.objects.exclude(central_status="").values_list(
            "id", "central_status"
        ):
            views[str(visit_id)] = TicketView(status, "")
        return views

    def reference_view(self) -> None:
        return None

    def fingerprint(self) -> tuple[Any, ...]:
        use_file(self.path)
        return (
            tuple((op.op_id, op.seq) for op in self.pending_snapshot()),
            self.next_seq(),
            self.feed_cursor(),
            tuple(sorted((k, v.status) for k, v in self.central_view().items())),
            tuple(
                OutboxOp.objects.filter(state=OutboxOp.State.REJECTED)
                .order_by("seq")
                .values_list("op_id", "reject_code")
            ),
            tuple(TicketUpdate.objects.order_by("key").values_list("key", "status", "text")),
        )

    # -- disk faults

    def backup(self) -> bytes:
        use_file(self.path)
        return self._image()

    def restore(self, backup: object) -> None:
        assert isinstance(backup, bytes)
        self._write_image(backup)
        self._history.clear()
        self._history.append(backup)

    def lose_tail(self, transactions: int) -> int:
        lost = min(transactions, len(self._history) - 1)
        for _ in range(lost):
            self._history.pop()
        self._write_image(self._history[-1])
        return lost


class AcknowledgesTooMuch(AgentBranchSim):
    """A broken store for the runner's self-check: every ACK empties the whole outbox."""

    def acknowledge(
        self, op_ids: Sequence[str], rejected: Sequence[Rejection], hwm_seq: int
    ) -> None:
        everything = [op.op_id for op in self.pending_snapshot()]
        super().acknowledge([*op_ids, *everything], rejected, hwm_seq)


STORES = {"agent": AgentBranchSim, "acknowledges-too-much": AcknowledgesTooMuch}


def run(
    seeds: Sequence[int], store: type[AgentBranchSim] = AgentBranchSim, *, trace: bool = False
) -> list[SeedResult]:
    logging.getLogger("branch_agent").setLevel(logging.CRITICAL)  # the stores' own notices
    directory = scratch_dir()
    try:
        template = migrated_template(directory)
        results = []
        for seed in seeds:
            result, world = run_seed(
                seed, branch_store_factory=lambda: store(template), trace=trace
            )
            if world.trace is not None:
                print("\n".join(world.trace))
            results.append(result)
            connection.close()
            for path in directory.glob("branch-*"):
                path.unlink()
        return results
    finally:
        connection.close()
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sync.shipped_stores",
        description="Seeds of the sync simulation with the agent's SQLite store at every branch.",
    )
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds (default 10)")
    parser.add_argument("--first", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--trace", action="store_true", help="print every event of each run")
    parser.add_argument("seed", type=int, nargs="*", help="run exactly these seeds instead")
    parser.add_argument(
        "--store",
        choices=list(STORES),
        default="agent",
        help="the branch store (acknowledges-too-much: a broken one the checkers must catch)",
    )
    args = parser.parse_args(argv)
    if args.seeds < 0:
        parser.error(f"--seeds must be 0 or more, got {args.seeds}")
    seeds = args.seed or list(range(args.first, args.first + args.seeds))
    started = time.monotonic()
    results = run(seeds, STORES[args.store], trace=args.trace)
    violations = sum(len(r.violations) for r in results)
    for result in results:
        if result.violations:
            print(f"seed {result.seed}: {len(result.violations)} violations")
            print("\n".join(f"  {v.invariant}: {v.detail}" for v in result.violations[:20]))
            print(f"  replay: .venv/bin/python -m tests.sync.shipped_stores {result.seed}")
    print(f"branch store {args.store}, {time.monotonic() - started:.0f} s")
    print(f"{len(results)} seeds, {violations} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
