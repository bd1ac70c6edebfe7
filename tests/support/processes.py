"""Real processes for tests and benchmarks: ports, a central site's environment, a branch agent.

Owned by the tests (``bench/`` imports this, never the reverse): what a test needs to start a real
``pst-branch-agent run`` or a central ``manage.py`` process on loopback and wait until it answers.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "example_project" / "manage.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def central_env(data_dir: Path) -> dict[str, str]:
    """Environment for a central site living in data_dir (SQLite unless PST_BENCH_DATABASE_URL)."""
    env = dict(os.environ)
    env["PST_DATA_DIR"] = str(data_dir)
    env["DJANGO_DEBUG"] = "0"
    env["DJANGO_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "example_project")])
    env.pop("DATABASE_URL", None)
    if os.environ.get("PST_BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["PST_BENCH_DATABASE_URL"]
    return env


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def agent_env() -> dict[str, str]:
    """This environment without DJANGO_SETTINGS_MODULE: the agent picks its own settings."""
    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


def start_agent(
    home: Path,
    port: int,
    *run_args: str,
    env: dict[str, str] | None = None,
    stdout: int | IO[Any] | None = subprocess.DEVNULL,
    stderr: int | IO[Any] | None = subprocess.DEVNULL,
    text: bool = False,
) -> subprocess.Popen:
    """A real ``pst-branch-agent run`` for the data directory home on 127.0.0.1:port (run_args,
    such as ``--no-sync``, go after ``run``); env defaults to agent_env()."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "branch_agent.cli",
            "--data-dir",
            str(home),
            "run",
            *run_args,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=agent_env() if env is None else env,
        stdout=stdout,
        stderr=stderr,
        text=text,
    )


def kiosk_answers(port: int) -> bool:
    """True once the agent on 127.0.0.1:port serves /kiosk/ (an HTTP error raises OSError)."""
    urllib.request.urlopen(f"http://127.0.0.1:{port}/kiosk/", timeout=1)
    return True


def wait_until_answers(
    process: subprocess.Popen,
    answers: Callable[[], bool],
    timeout: float = 30.0,
    pause: float = 0.1,
) -> bool:
    """Ask answers() until it says True (then True); an OSError counts as "not yet". False if the
    process exits or timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if answers():
                return True
        except OSError:
            pass
        if process.poll() is not None:
            return False
        time.sleep(pause)
    return False


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def allow_fast_kiosk(text: str) -> str:
    """agent.toml text whose kiosk limits let one scripted client issue many numbers a minute
    (the workload is one "device" issuing far faster than a person; the defaults stay 10 and 60)."""
    text = re.sub(
        r"(?m)^issue_per_device_per_minute = \d+", "issue_per_device_per_minute = 10000", text
    )
    return re.sub(r"(?m)^issue_per_minute = \d+", "issue_per_minute = 100000", text)
