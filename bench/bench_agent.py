"""Branch agent: write latency with central down and up, memory while serving, start to ready.

A real ``pst-branch-agent run`` (waitress, SQLite in WAL + synchronous=FULL, the sync worker
thread) is driven over HTTP on loopback, as a kiosk and a front-office browser would:
- offline: central's address answers nothing; every write commits locally and queues;
- online: a central sync server (``sync.central.CentralCore`` on the in-memory reference store
  behind the real CURVE ``CentralTransport``, in its own process) is started on that address;
  the worker drains the backlog and then ships each new op as it is written, while the writes
  are measured.
Each measured write is one HTTP request: a queue number from ``POST /api/queue/issue`` (a ticket
dispenser) and a guest-book entry from the front-office form (NIK validation, keyed hash, outbox
op). Figures (last line, JSON): agent_issue_p99_ms_offline/online (p99 over both kinds of write),
the per-kind p99s, agent_rss_mb (resident memory of the agent after the load), agent_start_s
(process start to the first page served) and agent_drain_s (backlog shipped once central came).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.common import (
    ROOT,
    agent_env,
    allow_fast_kiosk,
    emit,
    free_port,
    start_agent,
    temp_dir,
    wait_until_answers,
)

NIK = "1222011708900001"
PASSWORD = "bench-front-office-1"


def cli(home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "branch_agent.cli", "--data-dir", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class Browser:
    """A tiny cookie-keeping HTTP client (one per simulated screen)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        # Redirects are not followed: a write is measured to its answer, not the next page.
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(
        self, path: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        # Only http://127.0.0.1 URLs built here are opened.
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def form(self, path: str, fields: dict[str, str]) -> int:
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.csrf()}).encode()
        status, _ = self.request(path, body, {"Referer": self.base + path})
        return status


def serve_central(port: int, public: str, secret: str, branch_key: str) -> None:
    """The sync server the agent talks to when central is up (its own process, so its CPU does
    not share a GIL with the client taking the measurements)."""
    from sync.central import CentralCore
    from sync.codec import Send
    from sync.memory import MemoryCentralStore
    from sync.transport import CentralTransport, CurveKeyPair

    store = MemoryCentralStore()
    store.enrol("1222")
    core = CentralCore(store)
    transport = CentralTransport(
        f"tcp://127.0.0.1:{port}",
        CurveKeyPair(public, secret),
        lambda key: "1222" if key == branch_key else None,
    )
    print("central ready", flush=True)
    try:
        while True:
            got = transport.recv(1000)
            if got is None:
                continue
            for event in core.receive(got.branch, got.frames, time.time()):
                if isinstance(event, Send):
                    transport.send(got.identity, list(event.frames))
    finally:
        transport.close()


def start_central(port: int, keypair, branch_key: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PST_BENCH_CENTRAL_SECRET=keypair.secret_key)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.bench_agent",
            "--serve-central",
            str(port),
            keypair.public_key,
            branch_key,
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "central ready":
        raise SystemExit("the central sync server did not start")
    return process


def p99(values: list[float]) -> float:
    return round(statistics.quantiles(values, n=100)[98], 2) if len(values) > 1 else values[0]


def measure(kiosk: Browser, front: Browser, visits: int) -> tuple[list[float], list[float]]:
    issue_ms: list[float] = []
    guest_ms: list[float] = []
    for n in range(visits):
        body = json.dumps({"service": "konsultasi", "request_id": f"bench-{time.time_ns()}"})
        started = time.perf_counter()
        status, text = kiosk.request(
            "/api/queue/issue", body.encode(), {"Content-Type": "application/json"}
        )
        issue_ms.append((time.perf_counter() - started) * 1000)
        if status != 201:
            raise SystemExit(f"issue failed: {status} {text[:300]}")
        visit = json.loads(text)["visit_id"]
        status, page = front.request(f"/front/{visit}/")
        token = re.search(r'name="token" value="([^"]+)"', page).group(1)
        fields = {
            "name": f"Pengunjung {n}",
            "institution": "Universitas",
            "email": f"v{n}@example.id",
            "phone": "0812-0000-0000",
            "id_type": "ktp",
            "id_number": NIK,
            "purpose": "Data PDRB",
            "consent": "on",
            "token": token,
        }
        started = time.perf_counter()
        status = front.form(f"/front/{visit}/", fields)
        guest_ms.append((time.perf_counter() - started) * 1000)
        if status not in (200, 302):
            raise SystemExit(f"guest book failed: {status}")
    return issue_ms, guest_ms


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def pending(home: Path) -> tuple[int, bool]:
    """Ops waiting and the online flag, read straight from the store (WAL: never blocks it)."""
    db = sqlite3.connect(f"file:{home / 'agent.sqlite3'}?mode=ro", uri=True)
    try:
        (count,) = db.execute(
            "SELECT count(*) FROM branch_agent_outboxop WHERE state = 'pending'"
        ).fetchone()
        (online,) = db.execute("SELECT online FROM branch_agent_syncstate").fetchone()
    finally:
        db.close()
    return int(count), bool(online)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=200, help="visits per phase")
    parser.add_argument(
        "--serve-central", nargs=3, metavar=("PORT", "PUBLIC", "BRANCH_KEY"), help=argparse.SUPPRESS
    )
    opts = parser.parse_args()
    if opts.serve_central:
        port, public, branch_key = opts.serve_central
        serve_central(int(port), public, os.environ["PST_BENCH_CENTRAL_SECRET"], branch_key)
        return 0

    from sync.transport import generate_keypair, load_public_key

    home = temp_dir("pst-bench-agent-") / "data"
    server = generate_keypair()
    sync_port, web_port = free_port(), free_port()
    cli(
        home,
        "init",
        "--branch",
        "1222",
        "--central",
        f"tcp://127.0.0.1:{sync_port}",
        "--server-key",
        server.public_key,
        "--id-hash-key",
        "bench-hash-key-0123456789abcdef",
        "--password",
        "bench-admin-password-1",
    )
    cli(home, "createuser", "fo", "--role", "front_office", "--password", PASSWORD)
    # One scripted kiosk issuing hundreds of numbers a minute: above the default kiosk limits.
    config = home / "agent.toml"
    config.write_text(allow_fast_kiosk(config.read_text()))
    base = f"http://127.0.0.1:{web_port}"
    started = time.perf_counter()
    agent = start_agent(home, web_port, env={**agent_env(), "PYTHONPATH": str(ROOT)})
    central = None
    try:
        probe = Browser(base)
        answered = wait_until_answers(
            agent, lambda: probe.request("/kiosk/")[0] == 200, timeout=60, pause=0.02
        )
        if not answered:
            raise SystemExit("the agent did not start")
        start_s = round(time.perf_counter() - started, 2)

        kiosk, front = Browser(base), Browser(base)
        front.request("/login/")
        front.form("/login/", {"username": "fo", "password": PASSWORD, "next": "/front/"})
        measure(kiosk, front, 10)  # warm up: templates, translations, first connections
        offline_issue, offline_guest = measure(kiosk, front, opts.visits)
        backlog, online = pending(home)
        assert not online and backlog >= 2 * opts.visits, (backlog, online)

        central = start_central(sync_port, server, load_public_key(home / "keys" / "branch.key"))
        drain_started = time.perf_counter()
        while pending(home)[0]:
            if time.perf_counter() - drain_started > 120:
                raise SystemExit("the backlog did not drain")
            time.sleep(0.02)
        drain_s = round(time.perf_counter() - drain_started, 2)
        online_issue, online_guest = measure(kiosk, front, opts.visits)
        time.sleep(2.5)  # the worker writes its status every 2 s
        left, online = pending(home)
        rss = rss_mb(agent.pid)
    finally:
        agent.terminate()
        agent.wait(10)
        if central is not None:
            central.terminate()
            central.wait(10)
        shutil.rmtree(home.parent, ignore_errors=True)

    print(
        f"agent start to first page: {start_s} s; backlog of {backlog} ops drained in {drain_s} s"
    )
    median = statistics.median
    print(
        f"offline p99: issue {p99(offline_issue)} ms, guest book {p99(offline_guest)} ms; "
        f"median {median(offline_issue):.1f} / {median(offline_guest):.1f} ms"
    )
    print(
        f"online p99: issue {p99(online_issue)} ms, guest book {p99(online_guest)} ms; "
        f"median {median(online_issue):.1f} / {median(online_guest):.1f} ms "
        f"(ops still queued at the end: {left}, online: {online})"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    emit(
        {
            "agent_issue_p99_ms_offline": p99(offline_issue + offline_guest),
            "agent_issue_p99_ms_online": p99(online_issue + online_guest),
            "agent_number_p99_ms_offline": p99(offline_issue),
            "agent_guestbook_p99_ms_offline": p99(offline_guest),
            "agent_number_p99_ms_online": p99(online_issue),
            "agent_guestbook_p99_ms_online": p99(online_guest),
            "agent_rss_mb": rss,
            "agent_start_s": start_s,
            "agent_drain_s": drain_s,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
