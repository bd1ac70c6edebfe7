"""Sync throughput: a backlog of complete walk-in visits drained into the central database.

The branch side is the real sync path minus the UI: ``sync.branch.BranchCore`` over
``sync.transport.BranchTransport`` (CURVE ZeroMQ on loopback), with the in-memory reference
``BranchStore`` (``sync.memory.MemoryBranchStore``) holding the outbox. Each visit is six ops:
visit.created, guestbook.recorded, visit.called, visit.served, consultation.noted,
visit.resolved. Central is a real ``manage.py pst_sync_server`` process on a throwaway central
site (SQLite file; PostgreSQL when PST_BENCH_DATABASE_URL is set) with the branch enrolled by
``pst_branch enrol``. The clock starts when the link is up and stops when the outbox is empty,
i.e. when central has committed and acknowledged every op.

Last line (JSON): sync_visits_per_s and backlog_10k_drain_s (the drain time of the run, with the
default 10,000 visits; ``--quick`` runs 1,000 and reports the time scaled to 10,000).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from bench.common import MANAGE, emit, free_port, prepare_central, temp_dir
from sync import ops as kinds
from sync.memory import MemoryBranchStore
from sync.transport import generate_keypair
from tests.support.sync_link import drain, op_id, start_server

HASH_KEY = "bench-id-hash-key-0123456789abcdef"
WIB = dt.timezone(dt.timedelta(hours=7))


def fill_outbox(store: MemoryBranchStore, visits: int) -> None:
    clock = dt.datetime(2026, 3, 17, 8, 0, tzinfo=WIB)

    def at(seconds: int) -> str:
        nonlocal clock
        clock += dt.timedelta(seconds=seconds)
        return clock.isoformat()

    def record(kind: str, visit: str, payload: dict[str, object]) -> None:
        ms = int(clock.timestamp() * 1000)
        store.record(kind, visit, payload, op_id=op_id(ms), hlc=ms << 16)

    for n in range(visits):
        visit = str(uuid.uuid4())
        nik = f"1222{n:012d}"
        record(
            kinds.VISIT_CREATED,
            visit,
            {
                "service": "konsultasi",
                "queue_number": f"K-{n % 1000:03d}",
                "service_day": clock.date().isoformat(),
                "issued_at": at(5),
            },
        )
        record(
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
                "recorded_at": at(5),
            },
        )
        record(
            kinds.VISIT_CALLED,
            visit,
            {"desk": "Meja 1", "called_at": at(5), "wait_seconds": 240, "recall": False},
        )
        record(
            kinds.VISIT_SERVED,
            visit,
            {"desk": "Meja 1", "officer": "Budi Santoso", "started_at": at(5)},
        )
        record(
            kinds.CONSULTATION_NOTED,
            visit,
            {"subject": "data", "notes": "Data kemiskinan per kecamatan.", "officer": "Budi"},
        )
        record(
            kinds.VISIT_RESOLVED,
            visit,
            {
                "outcome": "resolved",
                "finished_at": at(5),
                "service_seconds": 900,
                "note": "Tabel diberikan.",
            },
        )


def central_visit_count(env: dict[str, str]) -> int:
    """Visits of branch 1222 in the central database: the drain is only counted if all landed."""
    script = (
        "from pst_helpdesk_ext.models import Visit\n"
        "print(Visit.objects.filter(branch__code='1222').count())"
    )
    done = subprocess.run(
        [sys.executable, str(MANAGE), "shell", "-c", script],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=10_000, help="visits in the backlog")
    parser.add_argument("--quick", action="store_true", help="1,000 visits")
    opts = parser.parse_args()
    visits = 1_000 if opts.quick else opts.visits
    if visits < 1:
        raise SystemExit(f"--visits must be at least 1, got {visits}")

    data = temp_dir("pst-bench-sync-")
    server = None
    try:
        env = prepare_central(data)
        env["PST_ID_HASH_KEY"] = HASH_KEY
        subprocess.run(
            [sys.executable, str(MANAGE), "pst_sync_keys", "--create"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        keypair = generate_keypair()
        subprocess.run(
            [
                sys.executable,
                str(MANAGE),
                "pst_branch",
                "enrol",
                "1222",
                "--public-key",
                keypair.public_key,
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        store = MemoryBranchStore()
        fill_outbox(store, visits)
        ops = store.pending_count()
        port = free_port()
        server, server_key = start_server(env, port)
        seconds = drain(store, f"tcp://127.0.0.1:{port}", server_key, keypair)
        applied = central_visit_count(env)
        if applied != visits:
            raise SystemExit(f"central holds {applied} visits of branch 1222, expected {visits}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(Path(data), ignore_errors=True)

    per_s = visits / seconds
    backlog_10k = seconds if visits == 10_000 else 10_000 / per_s
    print(
        f"{visits} visits ({ops} ops) drained over CURVE ZeroMQ into the central database in "
        f"{seconds:.2f} s: {per_s:.0f} visits/s"
        + ("" if visits == 10_000 else f"; 10,000 visits would take {backlog_10k:.1f} s")
    )
    emit({"sync_visits_per_s": round(per_s, 1), "backlog_10k_drain_s": round(backlog_10k, 2)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
