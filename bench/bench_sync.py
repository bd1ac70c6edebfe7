"""Sync throughput: a backlog of complete walk-in visits drained into the central database.

Each visit is six ops: visit.created, guestbook.recorded, visit.called, visit.served,
consultation.noted, visit.resolved. Central is a real ``manage.py pst_sync_server`` process on a
throwaway central site: a fresh SQLite file, or with PST_BENCH_DATABASE_URL a new PostgreSQL
database per measurement (dropped afterwards; never a flushed one, which has lost the rows the
migrations seed), the branch enrolled by ``pst_branch enrol``. Two branch ends, each against
its own fresh central:

- ``agent`` (the headline ``sync_visits_per_s``): the real branch agent. A data directory made
  by ``pst-branch-agent init``, its SQLite outbox filled through the agent's own
  ``outbox.record``, drained by the agent's ``SyncWorker`` with agent.toml's settings (batches of
  ``[sync] batch_size``, window 4), in a process with the agent's Django settings
  (``bench/agent_drain.py``). The clock starts when the worker starts and stops when the store
  has no pending op.
- ``memory`` (``sync_memory_visits_per_s``): ``sync.branch.BranchCore`` over
  ``sync.transport.BranchTransport`` with the in-memory reference store and batches of 500: the
  protocol and central alone, without the agent's SQLite.

Beside each: the database's own ceiling on this machine, the same number of rows as the drain
wrote (counted in every table before and after) written into a bare table (PostgreSQL COPY,
SQLite one executemany), as visits/s, and the drain's distance to it.

Last line (JSON): sync_visits_per_s, backlog_10k_drain_s (the agent's drain time; with fewer
than 10,000 visits, scaled to 10,000), sync_memory_visits_per_s, sync_ceiling_visits_per_s,
sync_vs_ceiling_ratio (ceiling / drain: 1 is the limit) and sync_rows_per_visit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from bench.common import (
    MANAGE,
    ROOT,
    agent_env,
    ceiling_seconds,
    count_rows,
    database_label,
    emit,
    free_port,
    prepare_central,
    scratch_database,
    temp_dir,
)
from sync import ops as kinds
from sync.memory import MemoryBranchStore
from sync.transport import generate_keypair
from tests.support.sync_link import drain, op_id, start_server

HASH_KEY = "bench-id-hash-key-0123456789abcdef"
PASSWORD = "bench-staff-password-1"
WIB = dt.timezone(dt.timedelta(hours=7))
START = dt.datetime(2026, 3, 17, 8, 0, tzinfo=WIB)


def visit_ops(n: int) -> Iterator[tuple[str, str, dict[str, object]]]:
    """(kind, visit id, payload) of visit n's six ops, 5 s apart, visit n starting n x 30 s in."""
    clock = START + dt.timedelta(seconds=30 * n)

    def at(seconds: int) -> str:
        return (clock + dt.timedelta(seconds=seconds)).isoformat()

    visit = str(uuid.uuid4())
    nik = f"1222{n:012d}"
    yield (
        kinds.VISIT_CREATED,
        visit,
        {
            "service": "konsultasi",
            "queue_number": f"K-{n % 1000:03d}",
            "service_day": clock.date().isoformat(),
            "issued_at": at(5),
        },
    )
    yield (
        kinds.GUESTBOOK_RECORDED,
        visit,
        {
            "name": f"Pengunjung {n}",
            "institution": "Universitas Sumatera Utara",
            "email": f"v{n}@example.id",
            "phone": "081234567890",
            "id_type": "ktp",
            "id_hash": hmac.new(HASH_KEY.encode(), nik.encode(), hashlib.sha256).hexdigest(),
            "id_last4": nik[-4:],
            "purpose": "Data kemiskinan kabupaten",
            "consent": True,
            "recorded_at": at(10),
        },
    )
    yield (
        kinds.VISIT_CALLED,
        visit,
        {"desk": "Meja 1", "called_at": at(15), "wait_seconds": 240, "recall": False},
    )
    yield (
        kinds.VISIT_SERVED,
        visit,
        {"desk": "Meja 1", "officer": "Budi Santoso", "started_at": at(20)},
    )
    yield (
        kinds.CONSULTATION_NOTED,
        visit,
        {"subject": "data", "notes": "Data kemiskinan per kecamatan.", "officer": "Budi"},
    )
    yield (
        kinds.VISIT_RESOLVED,
        visit,
        {
            "outcome": "resolved",
            "finished_at": at(25),
            "service_seconds": 900,
            "note": "Tabel diberikan.",
        },
    )


GROUP_PUSHES: int | None = None  # the server's --group-pushes; None: its default


def fill_outbox(store: MemoryBranchStore, visits: int) -> None:
    for n in range(visits):
        for index, (kind, visit, payload) in enumerate(visit_ops(n)):
            ms = int((START + dt.timedelta(seconds=30 * n + 5 * index)).timestamp() * 1000)
            store.record(kind, visit, payload, op_id=op_id(ms), hlc=ms << 16)


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(MANAGE), *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


def central_visit_count(env: dict[str, str]) -> int:
    """Visits of branch 1222 in the central database: the drain is only counted if all landed."""
    script = (
        "from pst_helpdesk_ext.models import Visit\n"
        "print(Visit.objects.filter(branch__code='1222').count())"
    )
    return int(manage(env, "shell", "-c", script).strip().splitlines()[-1])


def agent_cli(home: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "branch_agent.cli", "--data-dir", str(home), *args],
        env=agent_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"pst-branch-agent {args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


def drain_agent(env: dict[str, str], data: Path, visits: int) -> dict[str, float]:
    """The real agent's outbox drained by its worker into the central of env."""
    server_key = manage(env, "pst_sync_keys", "--show").strip()
    port = free_port()
    home = data / "agent"
    out = agent_cli(
        home,
        "init",
        "--branch",
        "1222",
        "--central",
        f"tcp://127.0.0.1:{port}",
        f"--server-key={server_key}",
        "--id-hash-key",
        HASH_KEY,
        "--password",
        PASSWORD,
    )
    found = re.search(r"Branch public key: (\S{40})", out)
    if not found:
        raise SystemExit(f"pst-branch-agent init printed no public key: {out[-500:]}")
    manage(env, "pst_branch", "enrol", "1222", f"--public-key={found.group(1)}")
    server, _ = start_server(env, port, group_pushes=GROUP_PUSHES)
    profile = bool(os.environ.get("PST_BENCH_PROFILE"))
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.agent_drain",
                "--data-dir",
                str(home),
                "--visits",
                str(visits),
                *(["--profile", os.environ["PST_BENCH_PROFILE"]] if profile else []),
            ],
            env={**agent_env(), "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
        )
    finally:
        server.terminate()
        server.wait(30)
    if done.returncode != 0:
        raise SystemExit(f"the agent's drain failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def drain_memory(env: dict[str, str], visits: int) -> dict[str, float]:
    keypair = generate_keypair()
    manage(env, "pst_branch", "enrol", "1222", f"--public-key={keypair.public_key}")
    store = MemoryBranchStore()
    fill_outbox(store, visits)
    ops = store.pending_count()
    port = free_port()
    server, server_key = start_server(env, port, group_pushes=GROUP_PUSHES)
    try:
        seconds = drain(store, f"tcp://127.0.0.1:{port}", server_key, keypair)
    finally:
        server.terminate()
        server.wait(30)
    return {"ops": ops, "drain_s": seconds}


def measure(store: str, visits: int) -> dict[str, float]:
    """One drain against a fresh central; with its rows written and the ceiling for them."""
    data = temp_dir(f"pst-bench-sync-{store}-")
    try:
        with scratch_database("pst_bench_sync") as url:
            env = prepare_central(data, url)
            env["PST_ID_HASH_KEY"] = HASH_KEY
            manage(env, "pst_sync_keys", "--create")
            sqlite = None if url else data / "db.sqlite3"
            before = count_rows(url, sqlite)
            if store == "agent":
                result = drain_agent(env, data, visits)
            else:
                result = drain_memory(env, visits)
            applied = central_visit_count(env)
            if applied != visits:
                raise SystemExit(f"central holds {applied} visits of branch 1222, not {visits}")
            rows = count_rows(url, sqlite) - before
            result["rows"] = rows
            result["ceiling_s"] = ceiling_seconds(url, rows, sqlite)
            return result
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=10_000, help="visits in the backlog")
    parser.add_argument("--quick", action="store_true", help="1,000 visits")
    parser.add_argument(
        "--store", choices=("agent", "memory", "both"), default="both", help="branch end(s)"
    )
    parser.add_argument(
        "--group-pushes",
        type=int,
        metavar="N",
        help="the sync server's --group-pushes (default its own; 1: each push on its own)",
    )
    opts = parser.parse_args()
    global GROUP_PUSHES
    GROUP_PUSHES = opts.group_pushes
    visits = 1_000 if opts.quick else opts.visits
    if visits < 1:
        raise SystemExit(f"--visits must be at least 1, got {visits}")
    label = database_label(os.environ.get("PST_BENCH_DATABASE_URL"))
    figures: dict[str, float] = {}
    for store in ("agent", "memory") if opts.store == "both" else (opts.store,):
        result = measure(store, visits)
        seconds, per_s = result["drain_s"], visits / result["drain_s"]
        ceiling = visits / result["ceiling_s"]
        prefix = "sync" if store == "agent" else "sync_memory"
        figures[f"{prefix}_visits_per_s"] = round(per_s, 1)
        print(
            f"{store} store -> {label}: {visits} visits ({result['ops']} ops, {result['rows']}"
            f" rows written) drained in {seconds:.2f} s = {per_s:.0f} visits/s; the same rows"
            f" into a bare table: {result['ceiling_s']:.2f} s = {ceiling:.0f} visits/s"
            f" (drain at 1/{ceiling / per_s:.1f} of the ceiling)",
            flush=True,
        )
        if store == "agent":
            figures["backlog_10k_drain_s"] = round(seconds * 10_000 / visits, 2)
            figures["sync_ceiling_visits_per_s"] = round(ceiling, 1)
            figures["sync_vs_ceiling_ratio"] = round(ceiling / per_s, 2)
            figures["sync_rows_per_visit"] = round(result["rows"] / visits, 1)
            figures["agent_fill_visits_per_s"] = round(visits / result["fill_s"], 1)
    emit(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
