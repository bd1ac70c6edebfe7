"""National reconnect: every BPS office comes back at once after an outage, each with a backlog.

548 branches (514 regencies and cities plus 34 provinces) each hold ``--ops`` walk-in ops (200 by
default: whole visits of six ops, created -> guest book -> called -> served -> noted -> resolved,
the last visit cut short). They are released at the same instant against real ``pst_sync_server``
processes on one central database, over real ZeroMQ + CURVE sockets (``sync.transport``'s
``BranchTransport``), each driven by the real branch state machine (``sync.branch.BranchCore``)
with the agent's defaults (batches of 200, window 4, the agent's reconnect backoff). Branches are
spread over ``--clients`` client processes (548 agent processes would not fit on this machine);
every branch has its own keypair, enrolled at central, its own connection and session.

Measured, for each server count of ``--servers`` (a fresh copy of the same central database
each time, branches spread round-robin over the servers):

- ``drain``: from the release until the last outbox is empty, i.e. central committed and
  acknowledged every op;
- ``probe``: meanwhile one more branch, already online, pushes one record at a time and times
  record -> ACK (what an office that only wants to push one visit sees during the storm);
- ``order``: per branch, central's applied-ops table (in insert order) holds exactly the branch's
  op ids in the branch's order; completeness and order are checked with SQL, and the run fails
  otherwise.

Baseline, same run, same central: the same total number of ops drained by one branch over one
connection in batches of 500 (``bench_sync``'s drain): the best case for the server, with none
of the per-connection, per-session and per-branch-lock work of 548 offices. The ratio says what
the storm costs over that best case.

Not counted: the agents' reconnect backoff (up to 10 s after a long outage, with jitter, spread
over the offices) and the outage itself; the clock starts when the offices are released.

Second baseline, same run (``--order both``, the default): the smallest server count again with
the servers handling each message as it arrives (``pst_sync_server --order arrival``) instead of
small messages first: what the order buys the probe, and what it costs the drain.

Last line (JSON): national_reconnect_drain_s (the best server count), the drain per server count,
the probe latency, the baseline drain and the ratio, and national_arrival_* for the arrival-order
run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import logging
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import zmq

from bench.bench_sync import drain as single_branch_drain
from bench.bench_sync import op_id, start_server
from bench.chaos import CentralDB, Postgres
from bench.common import MANAGE, central_env, emit, free_port, temp_dir
from sync import ops as kinds
from sync.branch import BranchConfig, BranchCore, Reconnect
from sync.codec import Send
from sync.memory import MemoryBranchStore
from sync.transport import BranchTransport, CurveKeyPair, TransportOptions, generate_keypair

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
        [sys.executable, "-m", "bench.national_setup"],
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--branches", type=int, default=548)
    parser.add_argument("--ops", type=int, default=200, help="ops in each branch's backlog")
    parser.add_argument("--servers", default="1,2", help="server counts to measure, e.g. 1,2,4")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument(
        "--timeout", type=float, default=600, help="give up on a drain after this many seconds"
    )
    parser.add_argument(
        "--hello-timeout",
        type=float,
        default=BranchConfig.hello_timeout,
        help="offices' shortest time between two HELLOs on one connection"
        f" (agent default {BranchConfig.hello_timeout:.0f} s)",
    )
    parser.add_argument(
        "--peer-timeout",
        type=float,
        default=BranchConfig.peer_timeout,
        help="offices' silence (no message, link not up) before reconnecting"
        f" (agent default {BranchConfig.peer_timeout:.0f} s)",
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--order",
        choices=("small-first", "arrival", "both"),
        default="both",
        help="the servers' message order (pst_sync_server --order); both (default): every"
        " server count small-first, then the smallest count again in arrival order, to compare",
    )
    opts = parser.parse_args()
    try:
        counts = sorted({int(n) for n in opts.servers.split(",")})
    except ValueError:
        parser.error(f"--servers takes counts like 1,2,4, got {opts.servers!r}")
    if not (1 <= opts.branches <= 9000 and 1 <= opts.ops <= 100_000 and counts[0] >= 1):
        parser.error("--branches 1..9000, --ops 1..100000, --servers counts >= 1")
    if opts.clients < 1:
        parser.error(f"--clients must be at least 1, got {opts.clients}")

    url = os.environ.get("PST_BENCH_DATABASE_URL") or None
    pg = Postgres(url) if url else None
    tmpl_db = f"pst_national_tmpl_{os.getpid()}"
    data = temp_dir("pst-bench-national-")
    codes = branch_codes(opts.branches)
    results: list[Scale] = []
    config = BranchConfig(hello_timeout=opts.hello_timeout, peer_timeout=opts.peer_timeout)
    defaults = BranchConfig()
    print(
        f"offices: hello_timeout {config.hello_timeout:g} s, peer_timeout {config.peer_timeout:g} s"
        + (
            " (the agent's defaults)"
            if (config.hello_timeout, config.peer_timeout)
            == (defaults.hello_timeout, defaults.peer_timeout)
            else " (NOT the agent's defaults"
            f" {defaults.hello_timeout:g} / {defaults.peer_timeout:g} s)"
        ),
        flush=True,
    )
    try:
        template = data / "template"
        template.mkdir()
        keys, _ = prepare(
            template,
            [*codes, PROBE_CODE, BASELINE_CODE],
            pg.create(tmpl_db) if pg else None,
        )
        plan = [(n, "arrival" if opts.order == "arrival" else "small-first") for n in counts]
        if opts.order == "both":
            plan.append((counts[0], "arrival"))
        for servers, order in plan:
            name = f"{servers}_{order.replace('-', '_')}"
            target = data / f"servers-{name}"
            db_url, db = fresh_copy(template, target, pg, tmpl_db, f"{tmpl_db}_{name}")
            env = national_env(target, db_url)
            scale = run_scale(
                servers, keys, codes, env, db, opts.ops, opts.clients, opts.timeout, config, order
            )
            results.append(scale)
            probe = sorted(scale.probe) or [0.0]
            if scale.stuck:
                print(
                    f"{servers} server(s): DID NOT DRAIN in {opts.timeout:.0f} s:"
                    f" {scale.stuck} of {scale.branches} offices still hold ops",
                    flush=True,
                )
            print(
                f"{scale.branches} branches x {opts.ops} ops = {scale.ops:,} ops, {servers}"
                f" server(s), {order} order: drained in {scale.drain_s:.2f} s"
                f" ({scale.ops / scale.drain_s:,.0f}"
                f" ops/s); probe push->ACK p50 {statistics.median(probe) * 1000:.0f} ms, max"
                f" {probe[-1] * 1000:.0f} ms ({len(scale.probe)} pushes); order kept for"
                f" {scale.order_ok}/{scale.branches} branches; {scale.reconnects} reconnects"
                f" (no answer within {config.peer_timeout:g} s)",
                flush=True,
            )
        baseline_s = 0.0
        if not opts.no_baseline:
            target = data / "baseline"
            db_url, db = fresh_copy(template, target, pg, tmpl_db, f"{tmpl_db}_base")
            env = national_env(target, db_url)
            store = MemoryBranchStore()
            total = opts.branches * opts.ops
            # The in-memory reference outbox copies itself on every write (quadratic): the
            # baseline drains at most 20,000 ops and scales its rate to the storm's total.
            measured = min(total, BASELINE_MAX_OPS)
            made = fill(store, BASELINE_CODE, measured, 1_773_000_000_000)
            port = free_port()
            server, server_key = start_server(env, port)
            try:
                seconds = single_branch_drain(
                    store, f"tcp://127.0.0.1:{port}", server_key, keys[BASELINE_CODE]
                )
            finally:
                server.terminate()
                server.wait(30)
            _, wrong = check_order(db, {BASELINE_CODE: made})
            if wrong:
                raise SystemExit("the baseline branch's ops are not all at central in order")
            baseline_s = seconds * total / measured
            print(
                f"baseline: {measured:,} ops from one branch over one connection (batches of 500)"
                f" in {seconds:.2f} s ({measured / seconds:,.0f} ops/s): the storm's {total:,} ops"
                f" would take {baseline_s:.1f} s",
                flush=True,
            )
    finally:
        if pg is not None:
            made = [f"{tmpl_db}_{n}_{o.replace('-', '_')}" for n, o in plan]
            for name in [tmpl_db, f"{tmpl_db}_base", *made]:
                try:
                    pg.drop(name)
                except Exception as exc:  # cleanup must not hide the result
                    print(f"could not drop {name}: {exc}", file=sys.stderr)
        shutil.rmtree(data, ignore_errors=True)

    default_order = [s for s in results if s.order == plan[0][1]]
    best = min(default_order, key=lambda s: (s.drain_s, s.stuck))
    figures: dict[str, float] = {"national_reconnect_drain_s": round(best.drain_s, 2)}
    figures["national_offices_stuck"] = best.stuck
    figures["national_reconnects"] = best.reconnects
    for scale in default_order:
        figures[f"national_drain_s_{scale.servers}_servers"] = round(scale.drain_s, 2)
    probes = sorted(best.probe) or [0.0]
    figures["national_probe_p50_ms"] = round(statistics.median(probes) * 1000, 1)
    figures["national_probe_max_ms"] = round(probes[-1] * 1000, 1)
    for scale in results:
        if scale.order == "arrival" and opts.order == "both":
            # The same storm and server count, each message as it arrives: what small-first buys.
            arrival = sorted(scale.probe) or [0.0]
            figures["national_arrival_drain_s"] = round(scale.drain_s, 2)
            figures["national_arrival_probe_p50_ms"] = round(statistics.median(arrival) * 1000, 1)
            figures["national_arrival_probe_max_ms"] = round(arrival[-1] * 1000, 1)
    if baseline_s:
        figures["national_baseline_one_branch_s"] = round(baseline_s, 2)
        figures["national_vs_one_branch_ratio"] = round(best.drain_s / baseline_s, 2)
    emit(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
