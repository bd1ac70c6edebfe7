"""Shared pieces of the benchmarks: a throwaway central site on disk, result lines.

Every benchmark script prints its figures as one JSON object on its last line; bench/run.py
collects them into bench/results.json and prints a table. Process helpers (ports, agents, a
central site's environment) belong to the tests (``tests/support/processes.py``); the benchmarks
import them from there, and tests never import ``bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.processes import (  # noqa: F401 - re-exported for the benchmark scripts
    MANAGE,
    ROOT,
    agent_env,
    allow_fast_kiosk,
    central_env,
    free_port,
    kiosk_answers,
    start_agent,
    temp_dir,
    wait_for_port,
    wait_until_answers,
)


def prepare_central(data_dir: Path) -> dict[str, str]:
    """Migrate a fresh central site and load the demo data; returns its environment."""
    env = central_env(data_dir)
    if env.get("DATABASE_URL"):
        subprocess.run(
            [sys.executable, str(MANAGE), "flush", "--noinput"],
            env=env,
            check=False,
            capture_output=True,
        )
    subprocess.run([sys.executable, str(MANAGE), "migrate", "-v0"], env=env, check=True)
    subprocess.run(
        [sys.executable, str(MANAGE), "pst_demo_data", "--quiet-logins", "--without-day"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return env


def emit(figures: dict[str, float]) -> None:
    """The last line of every benchmark: its figures as JSON."""
    print(json.dumps(figures), flush=True)
