"""Chaos runs (``make chaos RUNS=N``): real processes, real faults, then SQL says what survived.

Each run starts, on loopback: a central site (its database: PostgreSQL with ``--database-url``,
else a SQLite file), ``manage.py pst_sync_server``, and several ``pst-branch-agent run``
processes with their own CURVE keys, each reaching the server through a small TCP proxy of this
file that can cut (reset every connection and refuse new ones) or stall (hold bytes in flight)
the link. A workload walks visitors through every branch's real HTTP pages (kiosk number, guest
book, desk call / start / finish); central staff post public replies on walk-in tickets through
helpdesk's ``update_ticket`` and publish knowledge-base articles (``chaos_staff.py`` here). A
seeded nemesis meanwhile SIGKILLs the sync server and agents at random moments and restarts them,
cuts and stalls links and heals them, and once per run restores one branch store from a backup
taken earlier in the run (``pst-branch-agent backup`` / ``restore``: the branch goes back in time
and must neither lose nor duplicate anything).

After the workload stops, everything is healed and the harness waits (bounded) for every outbox
to drain and every down-feed change to arrive, then checks with SQL against the central database
and every branch store:

- lost: a visit the kiosk issued (or a visit / guest-book entry in a branch store) that central
  does not hold, and a down-feed change (ticket reply, KB article) missing at its branch;
- duplicated: a branch visit held more than once at central (visits, PST tickets), an op applied
  twice, a down-feed change held twice at a branch;
- also reported: phantoms (central visits no branch made) and order breaks (ops of a branch
  applied out of seq order).

The restored branch first ships everything (its workload pauses and its outbox drains), then is
killed and restored: what an office whose disk was replaced after its last sync sees. Records a
branch made after its backup and never shipped are gone with the disk; no protocol can bring
those back, so the harness does not count them.

Every run prints one line; the last line is exactly ``N runs, L lost, D duplicated``. The exit
code is 0 only when nothing was lost or duplicated and every run completed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.cookiejar
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "example_project" / "manage.py"
HASH_KEY = "chaos-id-hash-key-0123456789abcdef"
PASSWORD = "chaos-staff-password-1"
NIK = "1222011708900001"
# BPS regency codes (the demo data brings 1222); names only for the admin.
BRANCHES = [
    ("1222", "Labuhanbatu Selatan"),
    ("1201", "Nias"),
    ("1271", "Kota Sibolga"),
    ("1371", "Kota Padang"),
    ("1101", "Simeulue"),
    ("1171", "Kota Banda Aceh"),
]


def log(message: str) -> None:
    if os.environ.get("PST_CHAOS_VERBOSE"):
        print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "example_project")])
    return env


# --- the link: a TCP proxy that can cut or stall ------------------------------------------------


class Proxy:
    """Forwards 127.0.0.1:port to the sync server. ``cut`` resets every connection and refuses
    new ones (a dead link); ``stall`` stops moving bytes but keeps connections open (a link that
    silently stops delivering: ZeroMQ's heartbeat must notice); ``heal`` restores the flow."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.mode = "up"
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "down":
                self._reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                self._reset(client)  # the server is down: the client sees a refused link
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.append(pair)
            for src, dst in (pair, pair[::-1]):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair) -> None:
        try:
            src.settimeout(0.1)
        except OSError:  # the link was cut (closed) before this pump started
            self._drop(pair)
            return
        while not self._closed:
            if self.mode == "stall":
                time.sleep(0.05)
                continue
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        self._drop(pair)

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            # RST, not FIN: the peer learns at once that the link is gone.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        with contextlib.suppress(OSError):
            sock.close()

    def _drop(self, pair) -> None:
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)
        for sock in pair:
            self._reset(sock)

    def cut(self) -> None:
        self.mode = "down"
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._drop(pair)

    def stall(self) -> None:
        self.mode = "stall"

    def heal(self) -> None:
        self.mode = "up"

    def close(self) -> None:
        self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self._listener.close()


# --- the central database, read with SQL --------------------------------------------------------


class CentralDB:
    """Plain SQL against the central database (SQLite file or PostgreSQL), read only."""

    def __init__(self, sqlite_path: Path | None = None, url: str | None = None) -> None:
        self.sqlite_path = sqlite_path
        self.url = url

    def rows(self, sql: str) -> list[tuple]:
        if self.url:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                return list(conn.execute(sql).fetchall())
        assert self.sqlite_path is not None
        conn = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


def branch_rows(store: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def norm(visit_id: str) -> str:
    return str(uuid.UUID(str(visit_id)))


class Postgres:
    """Throwaway databases on the PostgreSQL server of ``url``: a migrated template, then one
    clone per run (CREATE DATABASE ... TEMPLATE: a second instead of a fresh migrate)."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urllib.parse.urlsplit(url)
        self._admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
        self._parts = parts

    def url_for(self, name: str) -> str:
        return urllib.parse.urlunsplit(self._parts._replace(path="/" + name))

    def _exec(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(sql)

    def create(self, name: str, template: str | None = None) -> str:
        self.drop(name)
        self._exec(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @staticmethod
    def reachable(url: str) -> bool:
        try:
            import psycopg

            with psycopg.connect(url, connect_timeout=3):
                return True
        except Exception:  # any failure means "use SQLite"
            return False


# --- the world template: built once, copied for every run ---------------------------------------


@dataclass
class Template:
    base: Path
    central_dir: Path
    agent_dirs: dict[str, Path]
    pg: Postgres | None
    pg_template: str = ""

    def central_env(self, data_dir: Path, db_url: str | None) -> dict[str, str]:
        env = clean_env()
        env.update(
            PST_DATA_DIR=str(data_dir),
            PST_ID_HASH_KEY=HASH_KEY,
            DJANGO_DEBUG="0",
            DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        )
        if db_url:
            env["DATABASE_URL"] = db_url
        return env


def run_cmd(args: list[str], env: dict[str, str], timeout: float = 180) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[1:4])} failed: {done.stderr[-2000:]}")
    return done.stdout


def agent_cmd(home: Path, *args: str, timeout: float = 60) -> str:
    command = [sys.executable, "-m", "branch_agent.cli", "--data-dir", str(home), *args]
    return run_cmd(command, clean_env(), timeout)


def build_template(base: Path, branches: int, db_url: str | None) -> Template:
    """Central migrated with demo data, its keypair, ``branches`` branches enrolled, and each
    branch agent initialised (keys, users). Every run starts from a copy of this."""
    pg = Postgres(db_url) if db_url else None
    tmpl = Template(base, base / "central", {}, pg)
    tmpl.central_dir.mkdir(parents=True)
    url = None
    if pg is not None:
        tmpl.pg_template = f"pst_chaos_tmpl_{os.getpid()}"
        url = pg.create(tmpl.pg_template)
    env = tmpl.central_env(tmpl.central_dir, url)
    manage = [sys.executable, str(MANAGE)]
    run_cmd([*manage, "migrate", "-v0"], env, 600)
    run_cmd([*manage, "pst_demo_data", "--quiet-logins", "--without-day"], env)
    run_cmd([*manage, "pst_sync_keys", "--create"], env)
    server_key = run_cmd([*manage, "pst_sync_keys", "--show"], env).strip()
    keys: dict[str, str] = {}

    def setup_agent(code: str) -> None:
        home = base / f"agent-{code}"
        out = agent_cmd(
            home,
            "init",
            "--branch",
            code,
            "--central",
            "tcp://127.0.0.1:9",
            f"--server-key={server_key}",
            "--id-hash-key",
            HASH_KEY,
            "--password",
            PASSWORD,
        )
        found = re.search(r"Branch public key: (\S{40})", out)
        if not found:
            raise RuntimeError(f"pst-branch-agent init printed no public key: {out[-500:]}")
        keys[code] = found.group(1)
        agent_cmd(home, "createuser", "fo", "--role", "front_office", "--password", PASSWORD)
        agent_cmd(home, "createuser", "meja", "--role", "desk_officer", "--password", PASSWORD)
        tmpl.agent_dirs[code] = home

    # The agents set themselves up in parallel while central adds the branches.
    with ThreadPoolExecutor(max_workers=2) as pool:
        agents = [pool.submit(setup_agent, code) for code, _ in BRANCHES[:branches]]
        for code, name in BRANCHES[:branches]:
            if code != "1222":
                run_cmd([*manage, "pst_branch", "add", code, name], env)
        for future in agents:
            future.result()
    for code, _ in BRANCHES[:branches]:
        run_cmd([*manage, "pst_branch", "enrol", code, f"--public-key={keys[code]}"], env)
    tmpl.agent_dirs = dict(sorted(tmpl.agent_dirs.items()))
    return tmpl


def point_agent(home: Path, endpoint: str, port: int) -> None:
    """Aim a copied agent at its proxy, serve on its own port, and retry links quickly (the
    default 30 s backoff cap would make every run minutes long; the protocol is the same)."""
    path = home / "agent.toml"
    text = path.read_text()
    text = re.sub(r"(?m)^endpoint = .*$", f'endpoint = "{endpoint}"', text)
    text = re.sub(r"(?m)^port = .*$", f"port = {port}", text)
    text = re.sub(r"(?m)^retry_max_seconds = .*$", "retry_max_seconds = 2", text)
    # The workload is one scripted "device" issuing far faster than a person: lift the kiosk
    # limits of these agents (the defaults stay 10 a device and 60 in all per minute).
    text = re.sub(
        r"(?m)^issue_per_device_per_minute = \d+", "issue_per_device_per_minute = 10000", text
    )
    text = re.sub(r"(?m)^issue_per_minute = \d+", "issue_per_minute = 100000", text)
    # Small pushes: what piles up while a link is cut goes back as several PUSHes in flight
    # (window 4), so the server's group commit (several PUSHes in one transaction) is attacked
    # too, not only one push at a time.
    text = re.sub(r"(?m)^batch_size = \d+", "batch_size = 20", text)
    path.write_text(text)


# --- HTTP client for the agent's pages ----------------------------------------------------------

# Everything that means "no complete answer came back": the agent died before, while or after it
# applied the request. The workload repeats the same request (same idempotency token).
UNCONFIRMED = (OSError, ConnectionError, http.client.HTTPException, ValueError)


class Interrupted(ConnectionError):
    """The agent's answer was cut off or never came; the request is unconfirmed."""


class Browser:
    """A cookie-keeping HTTP client for one screen (kiosk, front office, desk)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: bytes | None = None, headers=None) -> tuple[int, str, str]:
        """(status, body, final url). An answer cut off in the middle (the agent killed while
        it answered: IncompleteRead, RemoteDisconnected, a reset, a timeout, a body that does
        not decode) raises ``Interrupted``: the request may or may not have been applied."""
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})  # noqa: S310
        try:
            try:
                with self.opener.open(req, timeout=10) as resp:
                    return resp.status, resp.read().decode(), resp.geturl()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode(), exc.geturl()
        except (http.client.HTTPException, UnicodeDecodeError) as exc:
            raise Interrupted(f"{path}: {type(exc).__name__}: {exc}") from exc
        except urllib.error.URLError as exc:
            # The agent was killed: refused, reset or timed out (a connection error either way).
            raise Interrupted(f"{path}: {exc.reason}") from exc

    def form(self, path: str, fields: dict[str, str]) -> tuple[int, str, str]:
        csrf = next((c.value for c in self.jar if c.name == "csrftoken"), "")
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": csrf}, doseq=True)
        return self.request(path, body.encode(), {"Referer": self.base + path})

    def login(self, username: str) -> None:
        self.request("/login/")
        status, _, url = self.form("/login/", {"username": username, "password": PASSWORD})
        if status != 200 or "/login/" in url:
            raise ConnectionError(f"login as {username} failed ({status})")


# --- one branch: its agent process and its workload ---------------------------------------------


class Branch:
    def __init__(self, code: str, home: Path, web_port: int, proxy: Proxy, logs: Path) -> None:
        self.code = code
        self.home = home
        self.store = home / "agent.sqlite3"
        self.web_port = web_port
        self.base = f"http://127.0.0.1:{web_port}"
        self.proxy = proxy
        self.logs = logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.running = threading.Event()  # the workload may talk to the agent
        self.paused = threading.Event()  # the nemesis holds the workload (restore)
        self.visits: list[str] = []  # visits the kiosk issued (it answered)
        self.guestbooks: set[str] = set()
        self.before_restore: set[str] = set()  # visits in the store when it was restored
        self.guest_before_restore: set[str] = set()
        self.lock = threading.Lock()
        self.step_lock = threading.Lock()  # held by the workload while a request is out
        self.counter = 0
        self.interrupted = 0  # requests whose answer did not come back whole (then repeated)

    def start(self) -> None:
        command = [sys.executable, "-m", "branch_agent.cli", "--data-dir", str(self.home), "run"]
        command += ["--host", "127.0.0.1", "--port", str(self.web_port)]
        with open(self.logs / f"agent-{self.code}.log", "ab") as out:
            self.proc = subprocess.Popen(command, env=clean_env(), stdout=out, stderr=out)

        def up() -> bool:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"agent {self.code} exited at start")
            try:
                return Browser(self.base).request("/kiosk/")[0] == 200
            except OSError:
                return False

        wait_until(up, 60, f"agent {self.code}'s web UI")
        self.running.set()

    def kill(self) -> None:
        self.running.clear()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def pending(self) -> int:
        rows = branch_rows(
            self.store, "SELECT count(*) FROM branch_agent_outboxop WHERE state = 'pending'"
        )
        return int(rows[0][0])

    def cursor(self) -> int:
        return int(branch_rows(self.store, "SELECT feed_cursor FROM branch_agent_syncstate")[0][0])


class Workload:
    """Visitors at one branch, through the agent's real pages, until told to stop. A request
    whose answer was lost (agent killed) is repeated with the same idempotency token."""

    def __init__(self, branch: Branch, run_tag: str, rng: random.Random, stop: threading.Event):
        self.branch = branch
        self.run_tag = run_tag
        self.rng = rng
        self.stop = stop
        self.kiosk = self.front = self.desk = None

    def screens(self) -> None:
        base = self.branch.base
        self.kiosk, self.front, self.desk = Browser(base), Browser(base), Browser(base)
        self.front.login("fo")
        self.desk.login("meja")

    def ready(self) -> bool:
        return self.branch.running.is_set() and not self.branch.paused.is_set()

    def retry(self, step: Callable[[], object]) -> object:
        """Repeat a step until it answers (agent restarts, pauses) or the run stops."""
        while not self.stop.is_set():
            if not self.ready():
                time.sleep(0.1)
                continue
            try:
                with self.branch.step_lock:
                    if not self.ready():
                        continue
                    if self.kiosk is None:
                        self.screens()
                    return step()
            except (*UNCONFIRMED, StopIteration, AttributeError) as exc:
                # Unconfirmed (cut-off answer, refused, reset, timeout, a 5xx or 429): the same
                # request again, with the same token, after logging in again (a restored store
                # may not know the session).
                self.branch.interrupted += 1
                log(f"branch {self.branch.code}: unconfirmed, repeating: {exc}")
                self.kiosk = None
                time.sleep(0.2)
        return None

    def run(self) -> None:
        while not self.stop.is_set():
            self.visit()
            time.sleep(self.rng.uniform(0.05, 0.3))

    def visit(self) -> None:
        b = self.branch
        b.counter += 1
        request_id = f"{self.run_tag}-{b.code}-{b.counter}"

        def issue() -> str:
            body = json.dumps({"service": "konsultasi", "request_id": request_id}).encode()
            status, text, _ = self.kiosk.request(
                "/api/queue/issue", body, {"Content-Type": "application/json"}
            )
            if status not in (200, 201):
                raise ConnectionError(f"kiosk answered {status}: {text[:200]}")
            return json.loads(text)["visit_id"]

        visit = self.retry(issue)
        if visit is None:
            return
        visit = norm(visit)
        log(f"branch {b.code}: visit {b.counter} issued")
        with b.lock:
            b.visits.append(visit)

        def guestbook() -> bool:
            status, page, _ = self.front.request(f"/front/{visit}/")
            if status == 404:
                return False  # the store went back in time under us
            found = re.search(r'name="token" value="([^"]+)"', page)
            if found is None:
                return "Pengunjung" in page  # already recorded (a repeated request)
            fields = {
                "name": f"Pengunjung {b.counter}",
                "institution": "Universitas",
                "email": f"v{b.counter}@example.id",
                "phone": "0812-0000-0000",
                "id_type": "ktp",
                "id_number": NIK,
                "purpose": "Data PDRB",
                "consent": "on",
                "token": found.group(1),
            }
            status, _, _ = self.front.form(f"/front/{visit}/", fields)
            if status != 200:
                raise ConnectionError(f"guest book answered {status}")
            return True

        if self.retry(guestbook):
            with b.lock:
                b.guestbooks.add(visit)
            log(f"branch {b.code}: visit {b.counter} in the guest book")
        act = "/desk/1/action/"
        for fields in (
            {"action": "call_next", "token": f"call-{visit}"},
            {"action": "start", "visit": visit, "token": f"start-{visit}"},
            {
                "action": "finish",
                "visit": visit,
                "token": f"finish-{visit}",
                "subject": "data",
                "notes": "PDRB per kecamatan",
                "outcome": "resolved",
            },
        ):
            # Best effort: the desk may call an older visitor first; what matters is the ops.
            self.retry(lambda f=fields: self.desk.form(act, f))


# --- one run -------------------------------------------------------------------------------------


@dataclass
class Result:
    lost: int = 0
    duplicated: int = 0
    phantoms: int = 0
    order_breaks: int = 0
    rejected: int = 0
    visits: int = 0
    ops: int = 0
    changes: int = 0
    faults: Counter = field(default_factory=Counter)
    restored: str = ""
    interrupted: int = 0  # answers cut off (agent killed mid-answer), repeated until confirmed
    grouped: int = 0  # pushes the server applied with others in one transaction (group commit)
    details: list[str] = field(default_factory=list)
    error: str = ""


class Run:
    def __init__(self, tmpl: Template, index: int, seed: int, duration: float, keep: bool):
        self.tmpl = tmpl
        self.index = index
        self.seed = seed
        self.rng = random.Random(seed)
        self.duration = duration
        self.keep = keep
        self.dir = tmpl.base / f"run-{index}"
        self.logs = self.dir / "logs"
        self.result = Result()
        self.stop = threading.Event()
        self.server: subprocess.Popen[str] | None = None
        self.branches: list[Branch] = []
        self.replies: list[list] = []
        self.kb: list[int] = []
        self.db_name = ""
        self.backup: Path | None = None
        self.restore_branch: Branch | None = None
        self.db_url: str | None = None

    # --- setup / teardown

    def setup(self) -> None:
        self.logs.mkdir(parents=True)
        central = self.dir / "central"
        shutil.copytree(self.tmpl.central_dir, central)
        if self.tmpl.pg is not None:
            self.db_name = f"pst_chaos_run_{os.getpid()}_{self.index}"
            self.db_url = self.tmpl.pg.create(self.db_name, template=self.tmpl.pg_template)
            self.db = CentralDB(url=self.db_url)
        else:
            self.db = CentralDB(sqlite_path=central / "db.sqlite3")
        self.env = self.tmpl.central_env(central, self.db_url)
        self.sync_port = free_port()
        self.start_server()
        for code, home in self.tmpl.agent_dirs.items():
            copy = self.dir / home.name
            shutil.copytree(home, copy)
            proxy = Proxy(self.sync_port)
            port = free_port()
            point_agent(copy, f"tcp://127.0.0.1:{proxy.port}", port)
            self.branches.append(Branch(code, copy, port, proxy, self.logs))
        threads = [threading.Thread(target=b.start) for b in self.branches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if not all(b.running.is_set() for b in self.branches):
            raise RuntimeError("an agent did not start")

    def start_server(self) -> None:
        command = [sys.executable, str(MANAGE), "pst_sync_server"]
        command += ["--bind", f"tcp://127.0.0.1:{self.sync_port}"]
        err = open(self.logs / "server.log", "ab")  # noqa: SIM115 - owned by the process
        self.server = subprocess.Popen(
            command, env=self.env, stdout=subprocess.PIPE, stderr=err, text=True
        )
        err.close()
        watchdog = threading.Timer(60, self.server.kill)
        watchdog.start()
        assert self.server.stdout is not None
        line = self.server.stdout.readline()
        watchdog.cancel()
        if not line.startswith("pst_sync_server listening on"):
            raise RuntimeError(f"pst_sync_server did not start: {line!r}")

    def kill_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGKILL)
            self.server.wait(10)
        if self.server is not None and self.server.stdout is not None:
            self.server.stdout.close()

    def teardown(self) -> None:
        self.stop.set()
        for branch in self.branches:
            branch.kill()
            branch.proxy.close()
        self.kill_server()
        if self.tmpl.pg is not None and self.db_name and not self.keep:
            with contextlib.suppress(Exception):
                self.tmpl.pg.drop(self.db_name)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- the nemesis

    def guarded(self, target: Callable[[], None]) -> Callable[[], None]:
        """A thread body whose failure makes the run an error instead of vanishing."""

        def body() -> None:
            try:
                target()
            except Exception as exc:  # reported with the run
                self.result.error = f"{target.__name__}: {type(exc).__name__}: {exc}"
                self.stop.set()

        return body

    def fault(self, name: str, branch: Branch | None = None) -> None:
        self.result.faults[name] += 1
        log(f"run {self.index}: {name} {branch.code if branch else ''}")

    def take_backup(self) -> None:
        """A backup of the branch to restore later, once it holds at least one visit (the
        ``backup`` command copies the store file, whether or not the agent is up)."""
        branch = self.restore_branch
        assert branch is not None
        while not self.stop.wait(0.2):
            if branch.visits:
                backup = self.dir / f"backup-{branch.code}.sqlite3"
                agent_cmd(branch.home, "backup", "--to", str(backup))
                self.backup = backup
                self.fault("backup", branch)
                return

    def nemesis(self) -> None:
        rng = random.Random(self.rng.random())
        started = time.monotonic()
        restore_at = self.duration * rng.uniform(0.5, 0.7)
        while not self.stop.wait(rng.uniform(0.2, 1.2)):
            elapsed = time.monotonic() - started
            if self.backup is not None and not self.result.restored and elapsed >= restore_at:
                assert self.restore_branch is not None
                self.restore(self.restore_branch, self.backup)
                continue
            action = rng.choice(["kill_server", "kill_agent", "cut_link", "stall_link", "both"])
            down_for = rng.uniform(0.3, 2.5)
            branch = rng.choice(self.branches)
            if action == "kill_server":
                self.fault(action)
                self.kill_server()
                self.stop.wait(down_for)
                self.start_server()
            elif action == "kill_agent":
                self.fault(action, branch)
                branch.kill()
                self.stop.wait(down_for)
                branch.start()
            elif action == "cut_link":
                self.fault(action, branch)
                branch.proxy.cut()
                self.stop.wait(down_for)
                branch.proxy.heal()
            elif action == "stall_link":
                self.fault(action, branch)
                branch.proxy.stall()
                self.stop.wait(down_for)
                # Either the bytes flow again, or the stalled connection is reset.
                if rng.random() < 0.5:
                    branch.proxy.cut()
                branch.proxy.heal()
            else:  # the server and an agent die together
                self.fault("kill_server+agent", branch)
                self.kill_server()
                branch.kill()
                self.stop.wait(down_for)
                self.start_server()
                branch.start()

    def restore(self, branch: Branch, backup: Path) -> None:
        """The branch ships everything, then its disk is replaced by the older backup."""
        self.fault("restore", branch)
        branch.paused.set()
        try:
            branch.proxy.heal()
            if self.server is None or self.server.poll() is not None:
                self.start_server()
            if branch.proc is None or branch.proc.poll() is not None:
                branch.start()
            with branch.step_lock:
                pass  # the request in progress (if any) has its answer; no new one starts
            wait_until(lambda: branch.pending() == 0, 60, f"branch {branch.code} to ship")
            branch.kill()
            visits = {
                norm(r[0]) for r in branch_rows(branch.store, "SELECT id FROM branch_agent_visit")
            }
            branch.before_restore = visits
            branch.guest_before_restore = {
                norm(r[0])
                for r in branch_rows(
                    branch.store, "SELECT visit_id FROM branch_agent_guestbookentry"
                )
            }
            agent_cmd(branch.home, "restore", str(backup))
            branch.start()
            self.result.restored = branch.code
        finally:
            branch.paused.clear()

    def staff(self) -> None:
        """Central staff write twice during the run (at a quarter and at 60 % of it): public
        replies on tickets of every branch and a new KB article. A write that starts late still
        counts: the check waits for it to reach the branches."""
        rng = random.Random(self.rng.random())
        started = time.monotonic()
        for part, at in enumerate((0.25, 0.6)):
            time.sleep(max(0.0, started + self.duration * at - time.monotonic()))
            command = [sys.executable, "-m", "tests.support.chaos_staff", "--replies", "2"]
            command += ["--seed", str(rng.randrange(1 << 30))]
            command += ["--kb-title", f"Artikel chaos {self.index}-{part}"]
            try:
                made = json.loads(run_cmd(command, self.env, 120).strip().splitlines()[-1])
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                self.result.error = f"a central staff change failed: {exc}"
                continue
            self.replies += made["replies"]
            self.kb += made["kb"]

    # --- the run

    def execute(self) -> Result:
        started = time.monotonic()
        try:
            self.setup()
            self.restore_branch = self.rng.choice(self.branches)
            threads = [
                threading.Thread(target=self.guarded(job), name=job.__name__)
                for job in (self.nemesis, self.take_backup, self.staff)
            ]
            for branch in self.branches:
                rng = random.Random(self.rng.random())
                work = Workload(branch, f"r{self.index}s{self.seed}", rng, self.stop)
                threads.append(
                    threading.Thread(target=self.guarded(work.run), name=f"work-{branch.code}")
                )
            for thread in threads:
                thread.start()
            self.stop.wait(self.duration)
            self.stop.set()
            for thread in threads:
                thread.join(120)
            self.heal()
            if self.backup is not None and self.restore_branch and not self.result.restored:
                # The faults kept the nemesis busy past its slot: the restore still happens.
                self.restore(self.restore_branch, self.backup)
            self.converge()
            self.check()
        except Exception as exc:  # a run that breaks is reported, not hidden
            self.result.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.teardown()
        self.result.seconds = time.monotonic() - started  # type: ignore[attr-defined]
        return self.result

    def heal(self) -> None:
        for branch in self.branches:
            branch.proxy.heal()
        if self.server is None or self.server.poll() is not None:
            self.start_server()
        for branch in self.branches:
            if branch.proxy is not None and (branch.proc is None or branch.proc.poll() is not None):
                branch.start()

    def converge(self, timeout: float = 90) -> None:
        """Bounded wait: outboxes empty, cursors at the feed head, every change arrived."""

        def done() -> bool:
            head = self.db.rows("SELECT COALESCE(MAX(id), 0) FROM pst_helpdesk_ext_feeditem")[0][0]
            return all(b.pending() == 0 and b.cursor() >= head for b in self.branches)

        with contextlib.suppress(TimeoutError):
            wait_until(done, timeout, "every branch to converge")

    def check(self) -> None:
        r = self.result
        central: Counter = Counter()
        codes = {b.code for b in self.branches}
        for code, origin, count in self.db.rows(
            "SELECT b.code, v.origin_id, COUNT(*) FROM pst_helpdesk_ext_visit v"
            " JOIN pst_helpdesk_ext_branch b ON b.id = v.branch_id GROUP BY b.code, v.origin_id"
        ):
            central[(code, norm(origin))] += count
        tickets = self.db.rows(
            "SELECT b.code, t.origin_id, COUNT(*) FROM pst_helpdesk_ext_pstticket t"
            " JOIN pst_helpdesk_ext_branch b ON b.id = t.branch_id WHERE t.origin_id <> ''"
            " GROUP BY b.code, t.origin_id HAVING COUNT(*) > 1"
        )
        guest = {
            (code, norm(origin))
            for code, origin in self.db.rows(
                "SELECT b.code, v.origin_id FROM pst_helpdesk_ext_guestbookentry g"
                " JOIN pst_helpdesk_ext_visit v ON v.id = g.visit_id"
                " JOIN pst_helpdesk_ext_branch b ON b.id = v.branch_id"
            )
        }
        op_dups = self.db.rows(
            "SELECT branch_id, op_id, COUNT(*) FROM pst_helpdesk_ext_appliedop"
            " GROUP BY branch_id, op_id HAVING COUNT(*) > 1"
        )
        applied = self.db.rows(
            "SELECT b.code, a.seq FROM pst_helpdesk_ext_appliedop a"
            " JOIN pst_helpdesk_ext_branch b ON b.id = a.branch_id ORDER BY a.id"
        )
        r.ops = len(applied)
        r.rejected = self.db.rows(
            "SELECT COUNT(*) FROM pst_helpdesk_ext_appliedop WHERE result = 'rejected'"
        )[0][0]
        last: dict[str, int] = {}
        for code, seq in applied:
            if seq <= last.get(code, 0):
                r.order_breaks += 1
                r.details.append(f"order: branch {code} applied seq {seq} after {last[code]}")
            last[code] = seq
        made: set[tuple[str, str]] = set()
        for b in self.branches:
            store_visits = {
                norm(v) for (v,) in branch_rows(b.store, "SELECT id FROM branch_agent_visit")
            }
            store_guest = {
                norm(v)
                for (v,) in branch_rows(b.store, "SELECT visit_id FROM branch_agent_guestbookentry")
            }
            visits = set(b.visits) | store_visits | b.before_restore
            made |= {(b.code, v) for v in visits}
            for visit in sorted(visits):
                if central[(b.code, visit)] == 0:
                    r.lost += 1
                    r.details.append(f"lost: visit {visit} of branch {b.code}")
            for visit in sorted(b.guestbooks | store_guest | b.guest_before_restore):
                if (b.code, visit) not in guest:
                    r.lost += 1
                    r.details.append(f"lost: guest book of visit {visit} of branch {b.code}")
            replies = Counter(
                key
                for (key,) in branch_rows(
                    b.store, "SELECT key FROM branch_agent_ticketupdate WHERE kind = 'ticket.reply'"
                )
            )
            for code, origin, followup in self.replies:
                if code != b.code:
                    continue
                held = replies[f"reply:{origin}:{followup}"]
                if held == 0:
                    r.lost += 1
                    r.details.append(f"lost: reply {followup} on {origin} at branch {code}")
                r.duplicated += max(0, held - 1)
            articles = Counter(
                int(a)
                for (a,) in branch_rows(
                    b.store, "SELECT central_id FROM branch_agent_knowledgearticle"
                )
            )
            for item in self.kb:
                if articles[item] == 0:
                    r.lost += 1
                    r.details.append(f"lost: KB article {item} at branch {b.code}")
                r.duplicated += max(0, articles[item] - 1)
        for key, count in central.items():
            if count > 1:
                r.duplicated += count - 1
                r.details.append(f"duplicated: visit {key[1]} of {key[0]} held {count} times")
            if key[0] in codes and key not in made:
                r.phantoms += 1
                r.details.append(f"phantom: central visit {key[1]} no branch made")
        r.duplicated += sum(c - 1 for *_, c in tickets) + sum(c - 1 for *_, c in op_dups)
        r.visits = len(made)
        r.interrupted = sum(b.interrupted for b in self.branches)
        r.grouped = grouped_pushes(self.logs / "server.log")
        r.changes = len(self.replies) + len(self.kb) * len(self.branches)


# --- main ----------------------------------------------------------------------------------------


def grouped_pushes(server_log: Path) -> int:
    """Push lines of the server's log (every server process of the run) applied in a group."""
    if not server_log.exists():
        return 0
    text = server_log.read_text(errors="replace")
    return sum(int(n) > 1 for n in re.findall(r"event=push .*? group=(\d+)", text))


def inconclusive(r: Result) -> bool:
    """A run that made no visit or restored no branch proved little: said so, never passed."""
    return not r.error and (r.visits == 0 or not r.restored)


def describe(index: int, seed: int, r: Result) -> str:
    faults = ", ".join(f"{name} x{n}" for name, n in sorted(r.faults.items())) or "none"
    seconds = getattr(r, "seconds", 0.0)
    if r.error:
        return f"run {index} seed {seed}: ERROR {r.error} ({seconds:.1f} s)"
    note = (
        " INCONCLUSIVE (no visit or no restore: the machine was too busy)"
        if inconclusive(r)
        else ""
    )
    return (
        f"run {index} seed {seed}: {r.visits} visits, {r.ops} ops applied, {r.changes} down-feed"
        f" changes; faults: {faults}; restored {r.restored or 'none'}: {r.lost} lost,"
        f" {r.duplicated} duplicated, {r.phantoms} phantoms, {r.order_breaks} order breaks,"
        f" {r.rejected} ops rejected by central, {r.interrupted} unconfirmed requests repeated,"
        f" {r.grouped} pushes applied in groups ({seconds:.1f} s){note}"
    )


def chaos(
    runs: int,
    seed: int,
    duration: float,
    branches: int,
    database_url: str | None,
    keep: bool = False,
    out=sys.stdout,
) -> tuple[int, int, int, list[Result]]:
    """Run ``runs`` chaos runs; (runs, lost, duplicated, results). A run that broke counts as
    one lost record (it proved nothing)."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="pst-chaos-"))
    tmpl: Template | None = None
    results: list[Result] = []
    lost = duplicated = 0
    try:
        tmpl = build_template(base, branches, database_url)
        master = random.Random(seed)
        for index in range(1, runs + 1):
            run_seed = master.randrange(1 << 31)
            result = Run(tmpl, index, run_seed, duration, keep).execute()
            results.append(result)
            print(describe(index, run_seed, result), file=out, flush=True)
            for line in result.details[:20]:
                print(f"    {line}", file=out, flush=True)
            lost += result.lost + (1 if result.error else 0)
            duplicated += result.duplicated
    finally:
        if tmpl is not None and tmpl.pg is not None and not keep:
            with contextlib.suppress(Exception):
                tmpl.pg.drop(tmpl.pg_template)
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    weak = sum(1 for r in results if inconclusive(r))
    if weak:
        print(f"{weak} of {runs} runs inconclusive (no visit or no restore)", file=out, flush=True)
    print(f"{runs} runs, {lost} lost, {duplicated} duplicated", file=out, flush=True)
    return runs, lost, duplicated, results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1, help="seeds every random choice")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of workload per run")
    parser.add_argument("--branches", type=int, default=4, help=f"1..{len(BRANCHES)}")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PST_CHAOS_DATABASE_URL", ""),
        help="PostgreSQL server for central (a throwaway database per run); SQLite when empty"
        " or unreachable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run directories and logs")
    opts = parser.parse_args(argv)
    if opts.runs < 1:
        parser.error(f"--runs must be at least 1, got {opts.runs}")
    if not 1 <= opts.branches <= len(BRANCHES):
        parser.error(f"--branches must be between 1 and {len(BRANCHES)}, got {opts.branches}")
    if opts.duration < 5:
        parser.error(f"--duration must be at least 5 seconds, got {opts.duration}")
    url = opts.database_url or None
    if url and not Postgres.reachable(url):
        print(f"PostgreSQL at {url} is not reachable: central runs on SQLite", flush=True)
        url = None
    print(
        f"chaos: {opts.runs} runs, seed {opts.seed}, {opts.branches} branches, "
        f"{opts.duration:.0f} s of faults each, central on {'PostgreSQL' if url else 'SQLite'}",
        flush=True,
    )
    _, lost, duplicated, results = chaos(
        opts.runs, opts.seed, opts.duration, opts.branches, url, opts.keep
    )
    failed = any(r.error or inconclusive(r) for r in results)
    return 0 if lost == 0 and duplicated == 0 and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
