"""The simulation (``sync.sim``) against central's shipped Django store: adapter and seed runner.

``sync`` imports no Django and the two programs never import each other, so the adapter that lets
``sync.sim.world.World`` drive central's ``pst_helpdesk_ext.services.sync_store.DjangoCentralStore``
lives here, in the tests, in its own process under central's test settings
(``tests.central_settings``): ``python -m tests.sync.shipped_central`` (started by
``tests/sync/test_simulation_shipped.py`` and ``make soak-shipped``). The agent's store runs in
another process (``tests/sync/shipped_stores.py``): one process configures one Django.

What is real and what is the simulation's:
- Each seed has its own throwaway SQLite file (a copy of one template migrated with central's
  migrations, on /dev/shm when there is one), opened with the production PRAGMAs (WAL, IMMEDIATE
  transactions). ``hello``, ``apply_batch`` and ``changes`` are the shipped store, with the real
  intake (visits, tickets, follow-ups, ratings, the ledger ``AppliedOp``) and the real feed.
- Reference data is set up for real: each simulated branch is added and its CURVE public key
  enrolled with ``manage.py pst_branch add`` / ``enrol`` (the revoked identity is revoked with
  ``pst_branch revoke``); the world's reference changes become rows of the real models (``category``
  a ``ServiceCategory``, ``channel`` a ``Channel``, ``kb`` a helpdesk ``KBItem`` in a public
  category), so central's own signal receivers write the feed. Staff status changes go through
  helpdesk's ``update_ticket`` as a staff user; retention is the real ``feed.prune``.
- A mid-batch crash: ``apply_batch`` runs inside one outer transaction, so the world's
  ``before_commit`` fault rolls everything back as a dying process would; ``after_commit`` comes
  after the commit.
- The checkers' ledger (``branches``) reads ``AppliedOp`` (recorded ops, results, apply order by
  row id). The ledger keeps no payload or hybrid-clock value, so the op "as first received" is the
  committed row's kind, entity and seq with the payload and clock of the first copy this adapter
  passed to a committing ``apply_batch``.
- The branches are the reference ``MemoryBranchSim`` (the agent's store needs the agent's
  settings, so it cannot share this process).

The two vocabularies (``central_terms``, ``from_feed``): central keeps a ticket as a helpdesk
status (an integer) plus the visit's outcome; the feed tells a branch ``{"status": int, "owner"}``.
The simulation's model has walk-in states (waiting, called, serving, no_show, resolved, escalated).
Convergence compares, for each ticket, the helpdesk status name and the owner: central's from its
tables (``feed.ticket_owner``), the branch's by mapping its view the way central's intake leaves a
ticket (``feed.AS_BRANCH_LEFT``: a visit in progress is an open ticket, a no-show a closed one, a
resolved visit a resolved one; an escalated one is central's and open). A feed row about a ticket
the branch still owns and that is open does not reset the branch's own progress (called, serving),
as the agent keeps its visit's own status beside central's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import django

if __name__ == "__main__" or not os.environ.get("DJANGO_SETTINGS_MODULE"):
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.central_settings"
# Central's store on SQLite whatever the suite's database (``make test-postgres`` sets this).
os.environ.pop("PST_TEST_DATABASE_URL", None)
# The example site's settings package, as pytest's ``pythonpath`` has it.
sys.path.insert(1, str(Path(__file__).resolve().parents[2] / "example_project"))
django.setup()

import zmq  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from helpdesk.models import FollowUp, KBCategory, KBItem, Ticket  # noqa: E402
from helpdesk.update_ticket import update_ticket  # noqa: E402

from pst_helpdesk_ext.models import (  # noqa: E402
    AppliedOp,
    Branch,
    BranchSyncState,
    Channel,
    FeedHead,
    FeedItem,
    PSTTicket,
    ServiceCategory,
    Visit,
)
from pst_helpdesk_ext.services import feed  # noqa: E402
from pst_helpdesk_ext.services.sync_store import DjangoCentralStore  # noqa: E402
from sync.memory import TicketView  # noqa: E402
from sync.ops import Op  # noqa: E402
from sync.sim import SeedResult, run_seed  # noqa: E402
from sync.sim.stores import MemoryBranchSim  # noqa: E402
from sync.store import REJECTED, BatchResult, BranchHello, ChangesPage  # noqa: E402

# The simulation's days are in March 2026 (sync.sim.world.EPOCH) and central's clock is the real
# one. A snapshot leaves out tickets older than the feed retention that are as the branch's own ops
# left them ("the branch holds them already"); with the real 90 days every simulated ticket would
# be that old. Ten years keep them all as recent as they are in the simulation's time.
FEED_RETENTION_DAYS = 3650
settings.PST_HELPDESK = {**settings.PST_HELPDESK, "SYNC_FEED_RETENTION_DAYS": FEED_RETENTION_DAYS}

# Helpdesk's statuses by name (the names convergence compares).
HELPDESK_NAMES = {
    Ticket.OPEN_STATUS: "open",
    Ticket.REOPENED_STATUS: "reopened",
    Ticket.RESOLVED_STATUS: "resolved",
    Ticket.CLOSED_STATUS: "closed",
    Ticket.DUPLICATE_STATUS: "duplicate",
}
# The world's staff statuses, as a helpdesk user sets them. Helpdesk has no "pending"; an open
# ticket staff changed is closest to "reopened".
STAFF_STATUS = {
    "open": Ticket.OPEN_STATUS,
    "pending": Ticket.REOPENED_STATUS,
    "resolved": Ticket.RESOLVED_STATUS,
    "closed": Ticket.CLOSED_STATUS,
}
IN_PROGRESS = ("waiting", "called", "serving")
# How central's intake leaves the ticket of a visit only the branch's ops touched (AS_BRANCH_LEFT).
AS_CENTRAL_KEEPS = {
    **dict.fromkeys(IN_PROGRESS, "open"),
    "no_show": "closed",
    "resolved": "resolved",
    "escalated": "open",
}
BRANCH_LEFT = {"open": "waiting", "closed": "no_show", "resolved": "resolved"}
KB_CATEGORY = "sim-kb"


def central_terms(view: TicketView) -> TicketView:
    """A branch's view of a ticket in central's terms: (helpdesk status name, owner)."""
    if view.status in AS_CENTRAL_KEEPS and (view.owner == "branch" or view.status == "escalated"):
        return TicketView(AS_CENTRAL_KEEPS[view.status], view.owner)
    return view


def from_feed(payload: Mapping[str, Any], local: TicketView | None) -> dict[str, Any]:
    """A ``ticket.status`` payload of central's feed in the simulation's terms."""
    name = HELPDESK_NAMES.get(payload["status"], str(payload["status"]))
    owner = str(payload["owner"])
    if owner == "branch" and name in BRANCH_LEFT:
        mine = local.status if local is not None and local.owner == "branch" else ""
        name = mine if name == "open" and mine in IN_PROGRESS else BRANCH_LEFT[name]
    return {"status": name, "owner": owner}


class MemoryBranchForCentral(MemoryBranchSim):
    """The reference branch store, reading central's real feed (``from_feed``)."""

    VIEW_FIELDS: ClassVar[tuple[str, ...]] = ("status", "owner")

    def apply_changes(self, page: ChangesPage) -> None:
        tickets = self.durable.tickets
        items = tuple(
            replace(item, payload=from_feed(item.payload, tickets.get(item.entity_id)))
            if item.kind == "ticket.status"
            else item
            for item in page.items
        )
        super().apply_changes(replace(page, items=items))

    def central_view(self) -> Mapping[str, TicketView]:
        return {entity: central_terms(view) for entity, view in self.durable.tickets.items()}


@dataclass(frozen=True)
class LedgerRecord:
    op: Op
    result: str


class DjangoLedger:
    """What central recorded of one branch's ops (``sync.sim.stores.CentralLedger``), read from
    ``AppliedOp`` and ``BranchSyncState`` on every access."""

    def __init__(self, store: DjangoCentralSim, code: str) -> None:
        self.store, self.code = store, code

    def _rows(self) -> list[tuple[str, int, str, str, str]]:
        rows = AppliedOp.objects.filter(branch__code=self.code).order_by("id")
        return [
            (str(op_id), seq, kind, entity, result)
            for op_id, seq, kind, entity, result in rows.values_list(
                "op_id", "seq", "kind", "entity_id", "result"
            )
        ]

    @property
    def hwm_seq(self) -> int:
        state = BranchSyncState.objects.filter(branch__code=self.code)
        return state.values_list("hwm_seq", flat=True).first() or 0

    @property
    def records(self) -> Mapping[str, LedgerRecord]:
        received = self.store.received.get(self.code, {})
        found = {}
        for op_id, seq, kind, entity, result in self._rows():
            first = received.get(op_id)
            op = Op(
                op_id=op_id,
                seq=seq,
                kind=kind,
                entity_id=entity,
                hlc=first.hlc if first is not None else -1,
                payload=first.payload if first is not None else {},
            )
            found[op_id] = LedgerRecord(op, result)
        return found

    @property
    def apply_log(self) -> Sequence[tuple[str, int]]:
        return [(op_id, seq) for op_id, seq, *_ in self._rows()]

    @property
    def effects(self) -> Sequence[str]:
        return [op_id for op_id, *_, result in self._rows() if result != REJECTED]


class DjangoCentralSim:
    """``DjangoCentralStore`` on a throwaway SQLite file, as ``sync.sim.stores.SimCentralStore``."""

    def __init__(self) -> None:
        self.store = DjangoCentralStore()
        self.fault: Any = None
        self.on_commit: Any = None
        self.received: dict[str, dict[str, Op]] = {}
        self._reference_pk: dict[tuple[str, str], int] = {}
        self._staff = get_user_model().objects.create_user(
            "sim-staff", "staff@example.org", None, is_staff=True
        )
        self._kb_category = KBCategory.objects.create(
            name="Simulasi", title="Simulasi", slug=KB_CATEGORY, description="sim", public=True
        )

    # -- the admin's side

    def enrol(self, code: str) -> None:
        if not Branch.objects.filter(code=code).exists():
            call_command("pst_branch", "add", code, f"Sim {code}", stdout=io.StringIO())
        public, _secret = zmq.curve_keypair()
        # "--public-key=KEY": a Z85 key may begin with "-", which argparse takes for an option.
        key = f"--public-key={public.decode()}"
        call_command("pst_branch", "enrol", code, key, stdout=io.StringIO())
        self._committed("enrol", code)

    def revoke(self, code: str) -> None:
        call_command("pst_branch", "revoke", code, stdout=io.StringIO())
        self._committed("revoke", code)

    # -- CentralStore

    def hello(self, branch: str, **kwargs: Any) -> BranchHello:
        self._point("hello")
        answer = self.store.hello(branch, **kwargs)
        self._committed("hello", branch)
        return answer

    def apply_batch(
        self, branch: str, ops: Sequence[Op], *, now: float, session: int
    ) -> BatchResult:
        with transaction.atomic():  # the store's own transaction runs inside it
            result = self.store.apply_batch(branch, ops, now=now, session=session)
            self._point("before_commit")
        received = self.received.setdefault(branch, {})
        for op in ops:
            received.setdefault(op.op_id, op)
        self._committed("batch", branch)
        self._point("after_commit")
        return result

    def changes(self, branch: str, cursor: int, limit: int) -> ChangesPage:
        return self.store.changes(branch, cursor, limit)

    # -- the staff's side

    def staff_set_status(self, branch: str, entity_id: str, status: str) -> bool:
        pst = (
            PSTTicket.objects.filter(branch__code=branch, origin_id=entity_id)
            .select_related("ticket")
            .first()
        )
        if pst is None:
            return False
        self._point("staff")
        update_ticket(
            self._staff,
            pst.ticket,
            comment=f"Status: {status}",
            new_status=STAFF_STATUS[status],
            public=False,
        )
        self._committed("staff", branch)
        return True

    def publish_reference(self, kind: str, entity_id: str, payload: dict[str, Any]) -> None:
        family, _, action = kind.rpartition(".")
        if action not in ("upsert", "delete") or family not in ("category", "channel", "kb"):
            raise ValueError(f"reference kind must be category|channel|kb.upsert|delete: {kind!r}")
        self._point("reference")
        key = (family, entity_id)
        pk = self._reference_pk.get(key)
        model: Any = {"category": ServiceCategory, "channel": Channel, "kb": KBItem}[family]
        instance = model.objects.filter(pk=pk).first() if pk is not None else None
        if action == "delete":
            if instance is not None:
                instance.delete()
                del self._reference_pk[key]
        else:
            name = f"{payload['name']} v{payload['v']}"
            if family == "category":
                fields = {
                    "code": f"sim-{entity_id}",
                    "kind": ServiceCategory.Kind.SUBJECT,
                    "name_id": name,
                    "name_en": name,
                    "parent": ServiceCategory.objects.get(code="konsultasi"),
                }
            elif family == "channel":
                fields = {"code": f"sim-{entity_id}", "name_id": name, "name_en": name}
            else:
                fields = {
                    "category": self._kb_category,
                    "title": name,
                    "question": name,
                    "answer": name,
                }
            if instance is None:
                instance = model.objects.create(**fields)
                self._reference_pk[key] = instance.pk
            else:
                for attribute, value in fields.items():
                    setattr(instance, attribute, value)
                instance.save()
        self._committed("reference", None)

    def prune(self, through: int) -> None:
        """Retention, by the real ``feed.prune``: every row up to ``through`` counts as old."""
        created = FeedItem.objects.filter(id__lte=through).order_by("-id")
        newest = created.values_list("created", flat=True).first()
        if newest is not None:
            feed.prune(now=newest + dt.timedelta(microseconds=1), keep_days=0)

    def crashed(self) -> None:
        connection.close()  # an open transaction died with the process (rolled back already)

    # -- what the world and the checkers read

    @property
    def head(self) -> int:
        return feed.head()

    @property
    def branches(self) -> Mapping[str, DjangoLedger]:
        codes = Branch.objects.order_by("code").values_list("code", flat=True)
        return {code: DjangoLedger(self, code) for code in codes}

    @property
    def reference(self) -> Mapping[tuple[str, str], Any]:
        branch = Branch.objects.order_by("code").first()
        assert branch is not None
        entries = feed.snapshot_entries(branch, cursor=0, up_to=feed.head())
        return {
            (entry.kind.rpartition(".")[0], entry.entity_id): entry.payload
            for _, entry in entries
            if not entry.kind.startswith("ticket.") and entry.kind.endswith(".upsert")
        }

    def tickets(self, branch: str) -> dict[str, TicketView]:
        found = (
            PSTTicket.objects.filter(branch__code=branch)
            .exclude(origin_id="")
            .select_related("ticket", "visit")
            .order_by("ticket_id")
        )
        return {
            pst.origin_id: TicketView(
                HELPDESK_NAMES.get(pst.ticket.status, str(pst.ticket.status)),
                feed.ticket_owner(pst.ticket, getattr(pst, "visit", None)),
            )
            for pst in found
        }

    def snapshot(self, branch: str, cursor: int) -> ChangesPage:
        page = self.store.changes(branch, 0, 1)
        assert page.snapshot, page
        return replace(page, from_cursor=cursor)

    def fingerprint(self) -> tuple[Any, ...]:
        """What an idempotent replay must leave unchanged (sessions and last-seen excluded)."""
        return (
            tuple(
                BranchSyncState.objects.order_by("branch__code").values_list(
                    "branch__code", "hwm_seq", "applied_count", "rejected_count"
                )
            ),
            tuple(
                AppliedOp.objects.order_by("id").values_list(
                    "branch__code", "op_id", "seq", "result", "code"
                )
            ),
            tuple(
                FeedItem.objects.order_by("id").values_list("id", "branch_id", "kind", "entity_id")
            ),
            tuple(FeedItem.objects.order_by("id").values_list("payload", flat=True).iterator()),
            FeedHead.objects.values_list("pruned_through", flat=True).first(),
            tuple(
                Visit.objects.order_by("id").values_list(
                    "origin_id", "outcome", "called_at", "served_at", "finished_at"
                )
            ),
            tuple(Ticket.objects.order_by("id").values_list("id", "status")),
            tuple(
                (code, tuple(sorted(view.items())))
                for code, view in ((c, self.tickets(c)) for c in self.branches)
            ),
            _followup_count(),
        )

    # -- internals

    def _point(self, name: str) -> None:
        if self.fault is not None:
            self.fault(name)

    def _committed(self, what: str, branch: str | None) -> None:
        if self.on_commit is not None:
            self.on_commit(what, branch)


def _followup_count() -> int:
    return FollowUp.objects.count()


def scratch_dir() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="pst-sim-central-", dir=base))


def use_file(path: Path) -> None:
    """Point the process's Django connection at ``path``, as production opens SQLite."""
    connection.close()
    connection.settings_dict["NAME"] = str(path)
    connection.settings_dict["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    connection.settings_dict["ATOMIC_REQUESTS"] = False


def migrated_template(directory: Path) -> Path:
    template = directory / "template.sqlite3"
    use_file(template)
    call_command("migrate", verbosity=0, interactive=False)
    assert ServiceCategory.objects.filter(code="konsultasi").exists()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return template


class ForgetsLedger(DjangoCentralSim):
    """A broken central for the runner's self-check: after each batch it deletes the batch's
    ledger rows, so ACKed ops are no longer recorded and re-sent ones apply again."""

    def apply_batch(
        self, branch: str, ops: Sequence[Op], *, now: float, session: int
    ) -> BatchResult:
        result = super().apply_batch(branch, ops, now=now, session=session)
        with transaction.atomic():
            AppliedOp.objects.filter(branch__code=branch, op_id__in=[o.op_id for o in ops]).delete()
        return result


STORES = {"django": DjangoCentralSim, "forgets-ledger": ForgetsLedger}


def run(
    seeds: Sequence[int], store: type[DjangoCentralSim] = DjangoCentralSim, *, trace: bool = False
) -> list[SeedResult]:
    for name in ("pst", "helpdesk", "django.request"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # the stores' own notices
    directory = scratch_dir()
    try:
        template = migrated_template(directory)
        results = []
        for seed in seeds:
            database = directory / f"seed-{seed}.sqlite3"
            shutil.copyfile(template, database)
            use_file(database)
            result, world = run_seed(
                seed,
                central_store_factory=store,
                branch_store_factory=MemoryBranchForCentral,
                trace=trace,
            )
            if world.trace is not None:
                print("\n".join(world.trace))
            results.append(result)
            connection.close()
            for path in directory.glob(f"seed-{seed}.sqlite3*"):
                path.unlink()
        return results
    finally:
        connection.close()
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sync.shipped_central",
        description="Seeds of the sync simulation with central's Django store (SQLite).",
    )
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds (default 10)")
    parser.add_argument("--first", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--trace", action="store_true", help="print every event of each run")
    parser.add_argument("seed", type=int, nargs="*", help="run exactly these seeds instead")
    parser.add_argument(
        "--store",
        choices=list(STORES),
        default="django",
        help="the central store (forgets-ledger: a broken one the checkers must catch)",
    )
    args = parser.parse_args(argv)
    if args.seeds < 0:
        parser.error(f"--seeds must be 0 or more, got {args.seeds}")
    seeds = args.seed or list(range(args.first, args.first + args.seeds))
    started = time.monotonic()
    results = run(seeds, STORES[args.store], trace=args.trace)
    violations = sum(len(r.violations) for r in results)
    for result in results:
        print(
            f"seed {result.seed}: {result.ops_created} ops created, {result.ops_applied} applied"
            f" at central, quiet at {result.quiet_at}"
        )
        if result.violations:
            print(f"seed {result.seed}: {len(result.violations)} violations")
            print("\n".join(f"  {v.invariant}: {v.detail}" for v in result.violations[:20]))
            print(f"  replay: .venv/bin/python -m tests.sync.shipped_central {result.seed}")
    print(f"central store {args.store}, {time.monotonic() - started:.0f} s")
    print(f"{len(results)} seeds, {violations} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
