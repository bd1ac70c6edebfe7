"""`make demo`: migrate, load the demo data, start the system and print where to find it.

Runs in the foreground; Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable
HOST = os.environ.get("PST_DEMO_HOST", "127.0.0.1")
CENTRAL_PORT = int(os.environ.get("PST_DEMO_PORT", "8000"))


def manage(*args: str) -> None:
    subprocess.run([PY, str(HERE / "manage.py"), *args], check=True)


def main() -> int:
    manage("migrate", "--noinput", "-v0")
    manage("pst_demo_data")
    procs = [
        subprocess.Popen(
            [PY, str(HERE / "manage.py"), "runserver", f"{HOST}:{CENTRAL_PORT}", "--noreload"]
        )
    ]
    base = f"http://{HOST}:{CENTRAL_PORT}"
    print(
        "\nPST demo is running:\n"
        f"  central helpdesk   {base}/  (log in at {base}/login/)\n"
        f"  PST branches       {base}/pst/\n"
        f"  PST API            {base}/api/pst/  (schema {base}/api/pst/schema/)\n"
        f"  Django admin       {base}/admin/\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return max((p.returncode or 0) for p in procs)


if __name__ == "__main__":
    sys.exit(main())
