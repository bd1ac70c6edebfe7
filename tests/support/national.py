"""The national reconnect harness: every BPS office comes back at once after an outage.

Offices (each a ``BranchCore`` over its own CURVE connection, spread over client processes), the
central site they reconnect to (every office enrolled), the probe office, and the SQL order check.
``bench/bench_national.py`` (``make bench``) measures with it; ``tests/e2e/test_national_small.py``
runs it CI-sized. The benchmark's module text says what is measured and how.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import zmq

from sync import ops as kinds
from sync.branch import BranchConfig, BranchCore, Reconnect
from sync.codec import Send
from sync.memory import MemoryBranchStore
from sync.transport import BranchTransport, CurveKeyPair, TransportOptions, generate_keypair
from tests.support.chaos import CentralDB, Postgres
from tests.support.processes import MANAGE, central_env, free_port
from tests.support.sync_link import op_id, start_server

HASH_KEY = "bench-id-hash-key-0123456789abcdef"
WIB = dt.timezone(dt.timedelta(hours=7))
PROBE_CODE = "9901"
BASELINE_CODE = "9902"
BASELINE_MAX_OPS = 20_000
# The agent's transport options (branch_agent.worker): reconnect backoff capped at 10 s.
AGENT_OPTIONS = TransportOptions(reconnect_ivl_max_ms=10_000)


def branch_codes(n: int) -> list[str]:
    """n distinct 4-digit codes shaped like BPS's: 34 provinces (PP00) then regencies (PPRR)."""
    provinces = [f"{p:02d}" for p in range(11, 95)][:34]
    codes = [f"{p}00" for p in provinces][: min(n, 34)]
    regency = 1
    while len(codes) < n:
        for p in provinces:
            if len(codes) < n:
                codes.append(f"{p}{regency:02d}")
        regency += 1
    return codes


def fill(store: MemoryBranchStore, code: str, ops: int, start_ms: int) -> list[str]:
    """``ops`` ops of whole visits (the last one cut short) into the outbox; their op ids."""
    clock = dt.datetime(2026, 3, 17, 8, 0, tzinfo=WIB)
    made: list[str] = []

    def at(seconds: int) -> str:
        nonlocal clock
        clock += dt.timedelta(seconds=seconds)
        return clock.isoformat()

    n = 0
    while len(made) < ops:
        visit = str(uuid.uuid4())
        nik = f"{code}{n:012d}"
        steps = [
            (
                kinds.VISIT_CREATED,
                {
                    "service": "konsultasi",
                    "queue_number": f"K-{n % 1000:03d}",
                    "service_day": clock.date().isoformat(),
                    "issued_at": at(5),
                },
            ),
            (
                kinds.GUESTBOOK_RECORDED,
                {
                    "name": f"Pengunjung {n}",
                    "institution": "Universitas",
                    "email": f"v{n}@example.id",
                    "phone": "081234567890",
                    "id_type": "ktp",
                    "id_hash": hmac.new(
                        HASH_KEY.encode(), nik.encode(), hashlib.sha256
                    ).hexdigest(),
                    "id_last4": nik[-4:],
                    "purpose": "Data kemiskinan",
                    "consent": True,
                    "recorded_at": at(5),
                },
            ),
            (
                kinds.VISIT_CALLED,
                {"desk": "Meja 1", "called_at": at(5), "wait_seconds": 240, "recall": False},
            ),
            (kinds.VISIT_SERVED, {"desk": "Meja 1", "officer": "Budi", "started_at": at(5)}),
            (kinds.CONSULTATION_NOTED, {"subject": "data", "notes": "Data.", "officer": "Budi"}),
            (
                kinds.VISIT_RESOLVED,
                {
                    "outcome": "resolved",
                    "finished_at": at(5),
                    "service_seconds": 900,
                    "note": "",
                },
            ),
        ]
        for kind, payload in steps:
            if len(made) == ops:
                break
            ms = start_ms + len(made)
            oid = op_id(ms)
            store.record(kind, visit, payload, op_id=oid, hlc=ms << 16)
            made.append(oid)
        n += 1
    return made


# --- the offices: client processes ---------------------------------------------------------------


@dataclass
class Office:
    code: str
    keypair: CurveKeyPair
    endpoint: str
    store: MemoryBranchStore = field(default_factory=MemoryBranchStore)
    core: BranchCore | None = None
    transport: BranchTransport | None = None
    linked: bool = False
    done_at: float = 0.0
    reconnects: int = 0
    stuck: int = 0


def drive(office: Office, events, now: float) -> None:
    for event in events:
        if isinstance(event, Send):
            office.transport.send(list(event.frames))
        elif isinstance(event, Reconnect):
            office.reconnects += 1
            office.transport.reconnect(int(event.delay * 1000), event.reason)


def step(office: Office) -> bool:
    """One look at an office's link and messages; True when something arrived."""
    now = time.monotonic()
    link = office.transport.poll_link()
    if link.up and not office.linked:
        office.linked = True
        drive(office, office.core.connect(now, time.time()), now)
    elif not link.up and office.linked:
        office.linked = False
        drive(office, office.core.connection_lost(now), now)
    if link.up:
        office.core.link_alive(now)  # as the agent's worker does: the link says central lives
    busy = False
    while (frames := office.transport.recv(0)) is not None:
        busy = True
        drive(office, office.core.receive(frames, time.monotonic()), time.monotonic())
    deadline = office.core.next_deadline()
    if deadline is not None and time.monotonic() >= deadline:
        drive(office, office.core.handle_timer(time.monotonic()), time.monotonic())
    return busy


class Poller:
    """One ``zmq`` poll over the sockets of many offices' transports, so a client process sleeps
    until something arrives instead of asking each of hundreds of transports in turn. It reads
    the transports' current sockets (they change when a transport dials again) and only waits on
    them; every message is still received and handled through ``BranchTransport`` itself."""

    def __init__(self) -> None:
        self._key: tuple[int, ...] = ()
        self._poller = zmq.Poller()
        self._owner: dict[int, Office] = {}

    def wait(self, offices: list[Office], timeout_ms: int) -> list[Office]:
        sockets = []
        for office in offices:
            transport = office.transport
            for sock in (transport._socket, transport._monitor):  # read only
                if sock is not None:
                    sockets.append((sock, office))
        key = tuple(id(sock) for sock, _ in sockets)
        if key != self._key:
            self._poller = zmq.Poller()
            for sock, _ in sockets:
                self._poller.register(sock, zmq.POLLIN)
            self._owner = {id(sock): office for sock, office in sockets}
            self._key = key
        if not sockets:
            time.sleep(timeout_ms / 1000)
            return []
        ready = {id(sock) for sock, _ in self._poller.poll(timeout_ms)}
        seen: dict[int, Office] = {}
        for ident in ready:
            office = self._owner[ident]
            seen[id(office)] = office
        return list(seen.values())


def client_process(
    assigned: list[tuple[str, str, str, str]],
    server_key: str,
    ops: int,
    release,
    results,
    timeout: float,
    config: BranchConfig,
) -> None:
    """Offices of one client process: fill the outboxes, wait for the release, drain them all."""
    logging.getLogger("sync").setLevel(logging.ERROR)  # a storm of link notes is expected
    offices = []
    made: dict[str, list[str]] = {}
    for index, (code, public, secret, endpoint) in enumerate(assigned):
        office = Office(code, CurveKeyPair(public, secret), endpoint)
        made[code] = fill(office.store, code, ops, 1_773_700_000_000 + index * 1_000_000)
        offices.append(office)
    results.put(("ready", os.getpid()))
    release.wait()
    started = time.time()
    for office in offices:
        office.core = BranchCore(
            office.store, boot_id=str(uuid.uuid4()), agent_version="bench", config=config
        )
        office.transport = BranchTransport(
            office.endpoint, office.keypair, server_key, options=AGENT_OPTIONS
        )
    waiting = list(offices)
    poller = Poller()
    last_sweep = 0.0
    while waiting and time.time() - started < timeout:
        # Offices with a message or a link event, plus every office each 50 ms (timers, dials).
        ready = poller.wait(waiting, 50)
        if time.monotonic() - last_sweep >= 0.05:
            ready, last_sweep = list(waiting), time.monotonic()
        for office in ready:
            step(office)
            if office.linked and office.store.pending_count() == 0:
                office.done_at = time.time()
                office.transport.close()
                waiting.remove(office)
    for office in waiting:
        office.transport.close()
    results.put(
        (
            "done",
            [
                (o.code, o.done_at, o.store.pending_count(), made[o.code], o.reconnects)
                for o in offices
            ],
        )
    )


# --- the probe: one office that wants to push one record, again and again ------------------------


def probe(
    code: str, keypair: CurveKeyPair, endpoint: str, server_key: str, stop, config: BranchConfig
) -> list[float]:
    """Seconds from record to ACK for single records pushed one after another until ``stop``."""
    office = Office(code, keypair, endpoint)
    office.core = BranchCore(
        office.store, boot_id=str(uuid.uuid4()), agent_version="bench", config=config
    )
    office.transport = BranchTransport(endpoint, keypair, server_key, options=AGENT_OPTIONS)
    latencies: list[float] = []
    try:
        deadline = time.monotonic() + 60
        while not office.linked and time.monotonic() < deadline:
            step(office)
            time.sleep(0.005)
        n = 0
        while not stop.is_set():
            n += 1
            ms = int(time.time() * 1000)
            office.store.record(
                kinds.VISIT_CREATED,
                str(uuid.uuid4()),
                {
                    "service": "konsultasi",
                    "queue_number": f"K-{n % 1000:03d}",
                    "service_day": "2026-03-17",
                    "issued_at": "2026-03-17T08:00:00+07:00",
                },
                op_id=op_id(ms),
                hlc=ms << 16,
            )
            began = time.perf_counter()
            drive(office, office.core.outbox_changed(time.monotonic()), time.monotonic())
            while office.store.pending_count() and time.perf_counter() - began < 120:
                if not step(office):
                    time.sleep(0.002)
            latencies.append(time.perf_counter() - began)
            stop.wait(0.2)
    finally:
        office.transport.close()
    return latencies


# --- the benchmark -------------------------------------------------------------------------------


@dataclass
class Scale:
    servers: int
    drain_s: float
    ops: int
    probe: list[float]
    order_ok: int
    branches: int
    reconnects: int = 0
    stuck: int = 0
    order: str = "small-first"


def national_env(data: Path, db_url: str | None) -> dict[str, str]:
    """The central site's environment: its data directory and database, nothing inherited that
    names another site (a test run's DJANGO_SETTINGS_MODULE, a PST_ or DATABASE_URL variable)."""
    env = central_env(data)
    for name in list(env):
        if (name.startswith("PST_") and name != "PST_DATA_DIR") or name == "DJANGO_SETTINGS_MODULE":
            env.pop(name)
    env["PST_ID_HASH_KEY"] = HASH_KEY
    env.pop("DATABASE_URL", None)
    if db_url:
        env["DATABASE_URL"] = db_url
    return env


def prepare(data: Path, codes: list[str], db_url: str | None) -> tuple[dict, dict[str, str]]:
    """A central site with every branch enrolled; (keypairs by code, env)."""
    env = national_env(data, db_url)
    manage = [sys.executable, str(MANAGE)]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run(
        [*manage, "pst_demo_data", "--quiet-logins", "--without-day"],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run([*manage, "pst_sync_keys", "--create"], env=env, check=True, capture_output=True)
    keys = {code: generate_keypair() for code in codes}
    rows = [[code, f"Kantor {code}", kp.public_key] for code, kp in keys.items()]
    subprocess.run(
        [sys.executable, "-m", "tests.support.national_setup"],
        env=env,
        input=json.dumps(rows),
        text=True,
        check=True,
        capture_output=True,
    )
    return keys, env


def check_order(
    db: CentralDB, made: dict[str, list[str]], partial: dict[str, list[str]] | None = None
) -> tuple[int, list[str]]:
    """Branches whose ops central holds exactly, in the branch's order; and what is wrong.
    ``partial``: branches that did not drain, whose ops at central must be a prefix, in order."""
    held: dict[str, list[str]] = {}
    for code, oid in db.rows(
        "SELECT b.code, a.op_id FROM pst_helpdesk_ext_appliedop a"
        " JOIN pst_helpdesk_ext_branch b ON b.id = a.branch_id ORDER BY a.id"
    ):
        held.setdefault(code, []).append(str(uuid.UUID(str(oid))))
    wrong = [code for code, ids in made.items() if held.get(code) != ids]
    for code, ids in (partial or {}).items():
        got = held.get(code, [])
        if got != ids[: len(got)]:
            wrong.append(code)
    rejected = db.rows("SELECT COUNT(*) FROM pst_helpdesk_ext_appliedop WHERE result = 'rejected'")
    if rejected[0][0]:
        wrong.append(f"{rejected[0][0]} ops rejected")
    return len(made) - len(wrong), wrong


def run_scale(
    servers: int,
    keys: dict[str, CurveKeyPair],
    codes: list[str],
    env: dict[str, str],
    db: CentralDB,
    ops: int,
    clients: int,
    timeout: float,
    config: BranchConfig | None = None,
    order: str = "small-first",
) -> Scale:
    config = config or BranchConfig()
    ports = [free_port() for _ in range(servers)]
    procs = []
    try:
        server_key = ""
        for port in ports:
            proc, server_key = start_server(env, port, order)
            procs.append(proc)
        endpoints = [f"tcp://127.0.0.1:{port}" for port in ports]
        assigned: list[list[tuple[str, str, str, str]]] = [[] for _ in range(clients)]
        for index, code in enumerate(codes):
            kp = keys[code]
            endpoint = endpoints[index % servers]
            assigned[index % clients].append((code, kp.public_key, kp.secret_key, endpoint))
        ctx = mp.get_context("fork")
        release, results = ctx.Event(), ctx.Queue()
        workers = [
            ctx.Process(
                target=client_process,
                args=(part, server_key, ops, release, results, timeout, config),
                daemon=True,
            )
            for part in assigned
            if part
        ]
        for worker in workers:
            worker.start()
        for _ in workers:
            kind, _pid = results.get(timeout=300)
            assert kind == "ready"
        stop = threading.Event()
        latencies: list[float] = []
        probe_thread = threading.Thread(
            target=lambda: latencies.extend(
                probe(PROBE_CODE, keys[PROBE_CODE], endpoints[-1], server_key, stop, config)
            )
        )
        probe_thread.start()
        time.sleep(1.0)  # the probe is online before the storm
        started = time.time()
        release.set()
        done: list[tuple[str, float, int, list[str], int]] = []
        for _ in workers:
            kind, rows = results.get(timeout=timeout + 60)
            done += rows
        stop.set()
        probe_thread.join(150)
        for worker in workers:
            worker.join(30)
        stuck = sum(1 for row in done if row[2])
        drain_s = timeout if stuck else max(row[1] for row in done) - started
        order_ok, wrong = check_order(
            db,
            {row[0]: row[3] for row in done if not row[2]},
            {row[0]: row[3] for row in done if row[2]},
        )
        if wrong:
            raise SystemExit(
                f"central does not hold the ops of {len(wrong)} branches exactly in their order"
                f" (e.g. {wrong[:5]})"
            )
        reconnects = sum(row[4] for row in done)
        return Scale(
            servers,
            drain_s,
            len(done) * ops,
            latencies,
            order_ok,
            len(done),
            reconnects,
            stuck,
            order,
        )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)


def fresh_copy(template: Path, target: Path, pg: Postgres | None, tmpl_db: str, name: str):
    """A copy of the prepared central (files, and its database) for one measurement."""
    shutil.copytree(template, target)
    if pg is None:
        return None, CentralDB(sqlite_path=target / "db.sqlite3")
    url = pg.create(name, template=tmpl_db)
    return url, CentralDB(url=url)
