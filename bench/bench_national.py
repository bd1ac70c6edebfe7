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
import os
import shutil
import statistics
import sys

from bench.common import ceiling_seconds, count_rows, emit, free_port, temp_dir
from sync.branch import BranchConfig
from sync.memory import MemoryBranchStore
from tests.support.chaos import Postgres
from tests.support.national import (
    BASELINE_CODE,
    BASELINE_MAX_OPS,
    PROBE_CODE,
    Scale,
    branch_codes,
    check_order,
    fill,
    fresh_copy,
    national_env,
    prepare,
    run_scale,
)
from tests.support.sync_link import drain as single_branch_drain
from tests.support.sync_link import start_server


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
        template_url = pg.create(tmpl_db) if pg else None
        keys, _ = prepare(template, [*codes, PROBE_CODE, BASELINE_CODE], template_url)
        template_rows = count_rows(template_url, template / "db.sqlite3")
        ceiling_s = 0.0
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
            if not ceiling_s:  # the database's own limit for the rows this storm wrote
                rows = count_rows(db_url, target / "db.sqlite3") - template_rows
                ceiling_s = ceiling_seconds(db_url, rows, target / "db.sqlite3")
                print(
                    f"the storm wrote {rows:,} rows; the same rows into a bare table:"
                    f" {ceiling_s:.2f} s",
                    flush=True,
                )
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
    figures["national_ceiling_s"] = round(ceiling_s, 2)
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
