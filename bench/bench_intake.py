"""Walk-in intake: complete visits applied through ``DjangoCentralStore.apply_batch``.

A fresh central site on disk (SQLite in WAL mode as the example site configures it, or
PostgreSQL with PST_BENCH_DATABASE_URL), the demo branch 1222, and a backlog of N complete visits
(queue number, guest book, called, served, consultation note, resolved or escalated, rating:
about 7 ops each) applied in two passes, each with its own N visits: cut into PUSH-sized batches
of ``SYNC_MAX_BATCH_OPS`` ops, one transaction each (``intake_per_push_visits_per_s``), then in
transactions of ``max_group_ops`` ops, as the sync server applies the pushes a branch with a
backlog has waiting (group commit, docs/protocol.md 6.2): ``intake_visits_per_s``. Visits
straddle batches as they do on the wire. Each batch is one HELLO-opened session's
``apply_batch``, committed before the next starts. No network here: this measures the database
side that the sync benchmark's ZeroMQ path ends in, in a process whose garbage collector is set
as the sync server sets its own (``sync_server.settle_collector``).

Beside it, the database's own ceiling on this machine: the rows the intake wrote (counted in
every table before and after) written into a bare table in one go (PostgreSQL COPY, SQLite one
executemany): ``intake_ceiling_visits_per_s`` and ``intake_vs_ceiling_ratio`` (how many times
longer the intake took; target <= 3 on PostgreSQL). On PostgreSQL also the schema's own floor:
the very rows the grouped pass inserted, copied again table by table into copies of their
tables with the same indexes (``LIKE ... INCLUDING ALL``, no foreign keys), in one transaction:
``intake_schema_ceiling_visits_per_s`` and ``intake_vs_schema_ceiling_ratio``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.common import (
    ROOT,
    ceiling_seconds,
    central_env,
    count_rows,
    emit,
    max_ids,
    schema_ceiling_seconds,
    temp_dir,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=5000)
    parser.add_argument("--escalate-every", type=int, default=10, help="every Nth visit escalates")
    parser.add_argument(
        "--queries", action="store_true", help="first list the statements of one batch"
    )
    parser.add_argument(
        "--batch-ops", type=int, default=0, help="ops a batch (default SYNC_MAX_BATCH_OPS)"
    )
    parser.add_argument(
        "--group-ops",
        type=int,
        default=0,
        help="ops a transaction in the grouped pass (default the sync server's max_group_ops)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write a cProfile of the grouped pass to FILE"
    )
    args = parser.parse_args()

    data_dir = temp_dir("pst-bench-intake-")
    os.environ.update(central_env(data_dir))
    os.environ["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]
    scratch = _scratch_postgres_database()  # PST_BENCH_DATABASE_URL: a fresh database per run
    try:
        run(args)
    finally:
        if scratch:
            scratch()


def _scratch_postgres_database() -> Callable[[], None] | None:
    """With PST_BENCH_DATABASE_URL, make an empty database next to the one it names (migrations
    seed it, as a new site would be) and return how to drop it again."""
    url = os.environ.get("PST_BENCH_DATABASE_URL")
    if not url:
        return None
    import psycopg
    from psycopg import sql

    server = urlsplit(url)
    name = f"pst_bench_intake_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = urlunsplit(server._replace(path=f"/{name}"))

    def drop() -> None:
        from django.db import connections
        from psycopg import sql

        connections.close_all()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

    return drop


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from pst_helpdesk_ext.conf import pst_settings
    from pst_helpdesk_ext.models import Visit
    from pst_helpdesk_ext.services.sync_server import settle_collector
    from pst_helpdesk_ext.services.sync_store import DjangoCentralStore
    from sync.central import CentralConfig
    from tests.central.test_intake import WalkinOps

    call_command("migrate", verbosity=0)
    call_command("pst_demo_data", "--quiet-logins", "--without-day", stdout=open(os.devnull, "w"))  # noqa: SIM115

    store = DjangoCentralStore()
    batch_ops = args.batch_ops or int(pst_settings.SYNC_MAX_BATCH_OPS)
    factory = WalkinOps(seed=7)
    warm = factory.visits_batch(20, escalate_every=args.escalate_every)
    sample = []  # with --queries: visits whose middle batch has every statement listed
    if args.queries:
        sample = factory.visits_batch(2 * batch_ops // 7 + 1, escalate_every=args.escalate_every)
    hello = store.hello(
        "1222",
        boot_id="bench",
        next_seq=1,
        feed_cursor=0,
        agent_version="bench",
        branch_time=time.time(),
        now=time.time(),
    )
    store.apply_batch("1222", warm, now=time.time(), session=hello.session)  # not counted
    settle_collector()  # the garbage collector as the sync server's process sets it

    if sample:
        from django.test.utils import CaptureQueriesContext

        # A batch as the wire cuts them: visits straddle it at both ends.
        half = batch_ops // 2
        parts = [sample[:half], sample[half : half + batch_ops], sample[half + batch_ops :]]
        for index, part in enumerate(parts):
            with CaptureQueriesContext(connection) as captured:
                store.apply_batch("1222", part, now=time.time(), session=hello.session)
            if index == 1:
                listed, size = captured, len(part)
        captured = listed
        print(f"one batch of {size} ops: {len(captured)} statements")
        for query in captured.captured_queries:
            print(f"  {float(query['time']) * 1000:7.1f} ms  {query['sql'][:140]}")
    url = os.environ.get("DATABASE_URL") if connection.vendor == "postgresql" else None
    sqlite = None if url else Path(os.environ["PST_DATA_DIR"]) / "db.sqlite3"
    group_ops = args.group_ops or CentralConfig().max_group_ops
    figures: dict[str, float] = {}
    passes = [("per push", batch_ops, "intake_per_push")]
    if group_ops > batch_ops:
        passes.append(("grouped", group_ops, "intake"))
    else:
        passes[0] = ("per push", batch_ops, "intake")
    for label, size, prefix in passes:
        # Each pass its own visits (the same shape), applied in transactions of ``size`` ops.
        ops = factory.visits_batch(args.visits, escalate_every=args.escalate_every)
        visits_before = Visit.objects.count()
        rows_before = count_rows(url, sqlite)
        ids_before = max_ids(url) if url else {}
        profile = cProfile.Profile() if args.profile and prefix == "intake" else None
        statements = [0]  # every statement through a cursor (not BEGIN, COMMIT): a round trip

        def count(execute: Callable, sql: str, params: object, many: bool, ctx: object) -> object:
            statements[0] += 1  # noqa: B023 - this pass's counter, read before the next pass
            return execute(sql, params, many, ctx)

        started, cpu_started = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        with connection.execute_wrapper(count):
            for start in range(0, len(ops), size):
                batch = ops[start : start + size]
                result = store.apply_batch("1222", batch, now=time.time(), session=hello.session)
                if len(result.accepted) != len(batch):
                    applied = len(result.accepted)
                    raise SystemExit(
                        f"batch at op {start}: {applied} of {len(batch)} applied; rejected: "
                        f"{[(r.code, r.message) for r in result.rejected][:3]}"
                    )
        if profile:
            profile.disable()
            profile.dump_stats(args.profile)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        visits = Visit.objects.count() - visits_before
        if visits != args.visits:
            raise SystemExit(f"expected {args.visits} visits, found {visits}")
        rate = args.visits / elapsed
        batches = -(-len(ops) // size)
        rows = count_rows(url, sqlite) - rows_before
        ceiling_s = ceiling_seconds(url, rows, sqlite)
        connection.close()
        print(
            f"Intake ({connection.vendor}, {label}): {args.visits} visits, {len(ops)} ops in "
            f"{batches} transactions of <= {size} ops ({statements[0] / batches:.1f} statements "
            f"each, and BEGIN and COMMIT), {elapsed:.2f}s = {rate:.0f} visits/s ({cpu:.2f}s of "
            f"it on this process's CPU; load average {os.getloadavg()[0]:.1f})"
        )
        print(
            f"  the same {rows} rows ({rows / args.visits:.1f} a visit) into a bare table: "
            f"{ceiling_s:.2f}s = {args.visits / ceiling_s:.0f} visits/s; the intake took "
            f"{elapsed / ceiling_s:.1f}x as long"
        )
        figures[f"{prefix}_visits_per_s"] = round(rate, 1)
        if prefix == "intake":
            figures["intake_ceiling_visits_per_s"] = round(args.visits / ceiling_s, 1)
            figures["intake_vs_ceiling_ratio"] = round(elapsed / ceiling_s, 2)
        if prefix == "intake" and url:
            schema_s, copied = schema_ceiling_seconds(url, ids_before)
            print(
                f"  the {copied} new rows again, by COPY into copies of their own tables with "
                f"their indexes (no foreign keys): {schema_s:.2f}s = "
                f"{args.visits / schema_s:.0f} visits/s, {schema_s / ceiling_s:.1f}x the bare "
                f"table; the intake took {elapsed / schema_s:.1f}x as long"
            )
            figures["intake_schema_ceiling_visits_per_s"] = round(args.visits / schema_s, 1)
            figures["intake_vs_schema_ceiling_ratio"] = round(elapsed / schema_s, 2)
    emit(figures)


if __name__ == "__main__":
    main()
