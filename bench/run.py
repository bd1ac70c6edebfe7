"""`make bench`: run every benchmark, print one table, write bench/results.json.

Each benchmark is a script that prints its figures as JSON on its last line. Central's database:
PostgreSQL when the server of ``--database-url`` (default ``PG_URL``, else
postgres://postgres@127.0.0.1:5432/postgres) answers, each benchmark in throwaway databases it
creates and drops; SQLite files otherwise (``--sqlite`` forces it). The run says which. Figures
that have a baseline measured in the same run (helpdesk's REST API, the database's own ceiling:
the same rows written into a bare table) are shown with ratio lines. Targets are printed next to
the figures; a missed target is reported, never asserted in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"

# (name, module, arguments); QUICK shrinks sizes for a smoke run.
BENCHMARKS: list[tuple[str, str, list[str], list[str]]] = [
    ("REST baseline", "bench.bench_rest_baseline", ["--visits", "300"], ["--visits", "30"]),
    ("Sync drain", "bench.bench_sync", ["--visits", "10000"], ["--quick"]),
    ("Walk-in intake", "bench.bench_intake", ["--visits", "5000"], ["--visits", "300"]),
    (
        "Working calendar",
        "bench.bench_calendar",
        ["--runs", "2000"],
        ["--runs", "200", "--naive-runs", "5"],
    ),
    ("Branch agent", "bench.bench_agent", ["--visits", "300"], ["--visits", "30"]),
    ("SLA tick", "bench.bench_sla", ["--tickets", "10000"], ["--tickets", "500"]),
    (
        "Triage page",
        "bench.bench_triage",
        ["--tickets", "100000"],
        ["--tickets", "3000", "--rounds", "2"],
    ),
    (
        "Reports",
        "bench.bench_reports",
        ["--tickets", "100000"],
        ["--tickets", "3000", "--rounds", "1"],
    ),
    (
        "National reconnect",
        "bench.bench_national",
        ["--branches", "548", "--ops", "200", "--servers", "1,2", "--timeout", "300"],
        ["--branches", "20", "--ops", "20", "--servers", "1"],
    ),
]

# figure -> (target description, predicate)
TARGETS = {
    "sync_visits_per_s": (">= 1000", lambda v: v >= 1000),
    "intake_visits_per_s": (">= 1000", lambda v: v >= 1000),
    "sync_vs_rest_ratio": (">= 100", lambda v: v >= 100),
    "backlog_10k_drain_s": ("< 10", lambda v: v < 10),
    "calendar_deadline_us": ("< 1000", lambda v: v < 1000),
    "triage_page_ms_p95": ("< 1000", lambda v: v < 1000),
    "agent_issue_p99_ms_online": ("< 50", lambda v: v < 50),
    "agent_issue_p99_ms_offline": ("< 50", lambda v: v < 50),
    "agent_rss_mb": ("< 150", lambda v: v < 150),
    "agent_start_s": ("< 3", lambda v: v < 3),
    "national_reconnect_drain_s": ("< 60", lambda v: v < 60),
    "report_ikm_ms": ("< 1000", lambda v: v < 1000),
    "report_sla_ms": ("< 1000", lambda v: v < 1000),
    "report_service_times_ms": ("< 1000", lambda v: v < 1000),
    "report_data_needs_ms": ("< 1000", lambda v: v < 1000),
    "national_offices_stuck": ("0", lambda v: v == 0),
    "intake_vs_ceiling_ratio": ("<= 3", lambda v: v <= 3),
}
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"


def choose_database(url: str, sqlite: bool) -> str:
    """PostgreSQL when it answers (benchmarks read PST_BENCH_DATABASE_URL), else SQLite."""
    from tests.support.chaos import Postgres

    os.environ.pop("PST_BENCH_DATABASE_URL", None)
    if sqlite:
        described = "SQLite (--sqlite)"
    elif Postgres.reachable(url):
        os.environ["PST_BENCH_DATABASE_URL"] = url
        described = f"PostgreSQL at {url.rsplit('@', 1)[-1]} (throwaway databases)"
    else:
        described = f"SQLite (PostgreSQL at {url.rsplit('@', 1)[-1]} did not answer)"
    print(f"central database: {described}", flush=True)
    return described


def ratio_lines(figures: dict[str, float]) -> list[str]:
    """Each throughput beside helpdesk's REST path and the database's own ceiling, same run."""
    lines = []
    rest = figures.get("rest_baseline_visits_per_s")
    for name, label, ceiling in (
        ("sync", "sync drain from the agent's store", "sync_ceiling_visits_per_s"),
        ("sync_memory", "sync drain from the in-memory store", ""),
        ("intake", "walk-in intake (group commit)", "intake_ceiling_visits_per_s"),
        ("intake_per_push", "walk-in intake (a transaction a push)", ""),
    ):
        value = figures.get(f"{name}_visits_per_s")
        if not value:
            continue
        parts = [f"{label}: {value:,.0f} visits/s"]
        if rest:
            parts.append(f"{value / rest:,.1f}x helpdesk's REST API ({rest:,.1f} visits/s)")
        if ceiling and figures.get(ceiling):
            top = figures[ceiling]
            parts.append(f"1/{top / value:,.1f} of the bare-table ceiling ({top:,.0f} visits/s)")
        schema = figures.get(f"{name}_schema_ceiling_visits_per_s")
        if schema:
            parts.append(
                f"1/{schema / value:,.1f} of the same rows copied into their own tables"
                f" ({schema:,.0f} visits/s)"
            )
        lines.append("; ".join(parts))
    drain, ceiling = figures.get("national_reconnect_drain_s"), figures.get("national_ceiling_s")
    if drain and ceiling:
        lines.append(
            f"national reconnect: {drain:,.1f} s; the same rows into a bare table {ceiling:,.2f} s"
            f" ({drain / ceiling:,.0f}x)"
        )
    return lines


def run_one(module: str, args: list[str]) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "example_project")]))
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    sys.stdout.write(proc.stdout[: -len(proc.stdout.splitlines()[-1]) - 1] if proc.stdout else "")
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"benchmark {module} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--only",
        help="run only benchmarks whose name contains this (comma-separated: any of them)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PST_BENCH_DATABASE_URL") or os.environ.get("PG_URL") or DEFAULT_PG,
        help="PostgreSQL server for central (throwaway databases); SQLite if it does not answer",
    )
    parser.add_argument("--sqlite", action="store_true", help="central on SQLite files")
    opts = parser.parse_args()
    database = choose_database(opts.database_url, opts.sqlite)
    figures: dict[str, float] = {}
    wanted = [word.strip().lower() for word in (opts.only or "").split(",") if word.strip()]
    for name, module, args, quick_args in BENCHMARKS:
        if wanted and not any(word in name.lower() for word in wanted):
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        figures.update(run_one(module, quick_args if opts.quick else args))
        print(f"   ({time.perf_counter() - started:.1f}s)", flush=True)
    rest = figures.get("rest_baseline_visits_per_s")
    for name in ("sync", "sync_memory", "intake"):
        if f"{name}_visits_per_s" in figures and rest:
            figures[f"{name}_vs_rest_ratio"] = round(figures[f"{name}_visits_per_s"] / rest, 1)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**previous, **figures}, indent=2, sort_keys=True) + "\n")
    print()
    print(f"{'figure':<32} {'value':>12}  {'target':<10} status")
    for key in sorted(figures):
        value = figures[key]
        target, ok = TARGETS.get(key, ("", None))
        status = "" if ok is None else ("ok" if ok(value) else "MISSED")
        print(f"{key:<32} {value:>12}  {target:<10} {status}")
    print()
    for line in ratio_lines(figures):
        print(line)
    print(f"\ncentral database: {database}; load average {os.getloadavg()[0]:.1f} at the end")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
