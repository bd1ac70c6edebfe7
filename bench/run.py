"""`make bench`: run every benchmark, print one table, write bench/results.json.

Each benchmark is a script that prints its figures as JSON on its last line. Figures that have a
baseline measured in the same run are shown side by side with it. Targets are printed next to the
figures; a missed target is reported, never asserted in the test suite.
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
    "backlog_10k_drain_s": ("< 15", lambda v: v < 15),
    "calendar_deadline_us": ("< 1000", lambda v: v < 1000),
    "triage_page_ms_p95": ("< 1000", lambda v: v < 1000),
    "agent_issue_p99_ms_online": ("< 50", lambda v: v < 50),
    "agent_issue_p99_ms_offline": ("< 50", lambda v: v < 50),
    "agent_rss_mb": ("< 150", lambda v: v < 150),
    "agent_start_s": ("< 3", lambda v: v < 3),
    "national_reconnect_drain_s": ("< 120", lambda v: v < 120),
    "report_ikm_ms": ("< 1000", lambda v: v < 1000),
    "report_sla_ms": ("< 1000", lambda v: v < 1000),
    "report_service_times_ms": ("< 1000", lambda v: v < 1000),
    "report_data_needs_ms": ("< 1000", lambda v: v < 1000),
    "national_offices_stuck": ("0", lambda v: v == 0),
}


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
    parser.add_argument("--only", help="run only benchmarks whose name contains this")
    opts = parser.parse_args()
    figures: dict[str, float] = {}
    for name, module, args, quick_args in BENCHMARKS:
        if opts.only and opts.only.lower() not in name.lower():
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        figures.update(run_one(module, quick_args if opts.quick else args))
        print(f"   ({time.perf_counter() - started:.1f}s)", flush=True)
    if "sync_visits_per_s" in figures and figures.get("rest_baseline_visits_per_s"):
        figures["sync_vs_rest_ratio"] = round(
            figures["sync_visits_per_s"] / figures["rest_baseline_visits_per_s"], 1
        )
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**previous, **figures}, indent=2, sort_keys=True) + "\n")
    print()
    print(f"{'figure':<32} {'value':>12}  {'target':<10} status")
    for key in sorted(figures):
        value = figures[key]
        target, ok = TARGETS.get(key, ("", None))
        status = "" if ok is None else ("ok" if ok(value) else "MISSED")
        print(f"{key:<32} {value:>12}  {target:<10} {status}")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
