"""The branch end of a real sync link, for tests and benchmarks: a UUIDv7 op id, a real
``manage.py pst_sync_server`` process, and a drain that drives ``sync.branch.BranchCore`` over
``sync.transport.BranchTransport`` (CURVE ZeroMQ on loopback) as the agent's worker does until the
outbox is empty. Owned by the tests; ``bench/`` imports it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

from sync.branch import BranchConfig, BranchCore, Reconnect
from sync.codec import MAX_BATCH_OPS, Send
from sync.store import BranchStore
from sync.transport import BranchTransport, LinkState
from tests.support.processes import MANAGE


def op_id(ms: int) -> str:
    """A UUIDv7 (time-ordered), as the agent makes them."""
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | int.from_bytes(os.urandom(10)) >> 4
    value = (value & ~(0b11 << 62)) | 0b10 << 62
    return str(uuid.UUID(int=value))


def start_server(
    env: dict[str, str], port: int, order: str = "small-first", group_pushes: int | None = None
) -> tuple[subprocess.Popen[str], str]:
    grouping = [] if group_pushes is None else ["--group-pushes", str(group_pushes)]
    # PST_BENCH_SERVER_LOG=FILE: the server's log lines (one per push, with its ms) appended there.
    log = os.environ.get("PST_BENCH_SERVER_LOG")
    stderr = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115 - the server's to close
    # PST_BENCH_SERVER_PROFILE=FILE: the server runs under cProfile, written there when it stops.
    profile = os.environ.get("PST_BENCH_SERVER_PROFILE")
    proc = subprocess.Popen(
        [
            sys.executable,
            *(["-m", "cProfile", "-o", profile] if profile else []),
            str(MANAGE),
            "pst_sync_server",
            "--bind",
            f"tcp://127.0.0.1:{port}",
            "--order",
            order,
            *grouping,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    assert proc.stdout is not None
    line = proc.stdout.readline()
    watchdog.cancel()
    if not line.startswith("pst_sync_server listening on"):
        proc.kill()
        raise SystemExit(f"pst_sync_server did not start: {line!r}")
    # The key runs to the one closing ")" (a Z85 key may itself end in ")").
    return proc, line.rsplit("public key ", 1)[1].strip()[:-1]


def drain(store: BranchStore, endpoint: str, server_key: str, keypair) -> float:
    """Seconds from link up to an empty outbox, driving the core as the agent's worker does."""
    batch = min(500, MAX_BATCH_OPS)
    core = BranchCore(
        store,
        boot_id="bench",
        agent_version="bench",
        config=BranchConfig(max_batch_ops=batch),
    )
    transport = BranchTransport(endpoint, keypair, server_key)
    try:
        link = transport.wait_for((LinkState.UP, LinkState.AUTH_FAILED), 30_000)
        if not link.up:
            raise SystemExit(f"link not up: {link.state} {link.detail}")
        started = time.perf_counter()

        def handle(events) -> None:
            for event in events:
                if isinstance(event, Send):
                    transport.send(list(event.frames))
                elif isinstance(event, Reconnect):
                    raise SystemExit(f"central asked to reconnect: {event.reason}")

        handle(core.connect(time.monotonic(), time.time()))
        while store.pending_count():
            if time.perf_counter() - started > 600:
                raise SystemExit("the backlog did not drain in 10 minutes")
            frames = transport.recv(200)
            now = time.monotonic()
            if frames is not None:
                handle(core.receive(frames, now))
            deadline = core.next_deadline()
            if deadline is not None and now >= deadline:
                handle(core.handle_timer(now))
        return time.perf_counter() - started
    finally:
        transport.close()
