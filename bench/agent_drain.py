"""The branch end of the sync benchmark on the real agent: its SQLite store, its outbox, its worker.

Run by ``bench_sync`` in a process of its own (the agent's Django settings, on an agent data
directory made by ``pst-branch-agent init`` and enrolled at central):

1. fill the outbox with ``--visits`` whole walk-in visits: the first 100 through the agent's
   own ``outbox.record``, the rest as ``record`` writes them (its op ids, hybrid clock, payload
   structs and encoding, the sync state's seq) but in bulk, 100 visits a transaction, since
   ``record``'s row-at-a-time ORM writes would take minutes for 10,000 visits on a busy
   machine; each visit's ``Visit`` row is written in the same transaction as its ops, finished
   as the desk leaves it, as the agent's services do (without it every ``ticket.status`` row
   central sends back would look like a visit this PC lost, and the drain would measure
   lost-visit recovery, protocol 7.5, 1,000 times over); not timed;
2. start the agent's ``SyncWorker`` (``SyncWorker.from_settings()``: the endpoint, keys and batch
   size of agent.toml, as ``pst-branch-agent run`` starts it) and time until the store's
   ``pending_count()`` is 0, i.e. central committed and acknowledged every op.

Prints one JSON line: ``{"ops": N, "fill_s": F, "drain_s": D}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

VISITS_PER_TRANSACTION = 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--visits", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--profile", help="write a cProfile of the worker's thread to this file")
    opts = parser.parse_args()
    if opts.visits < 1:
        parser.error(f"--visits must be at least 1, got {opts.visits}")

    from branch_agent import config as agent_config

    agent_config.load(opts.data_dir)  # a bad agent.toml says so here
    os.environ[agent_config.HOME_ENV] = str(opts.data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "branch_agent.settings"
    import django

    django.setup()
    import msgspec

    from bench.bench_sync import visit_ops
    from branch_agent import outbox
    from branch_agent.models import OutboxOp, ServiceCategory, SyncState, Visit
    from branch_agent.personal_data import mask_nik_in_text
    from branch_agent.sync_store import SqliteBranchStore
    from branch_agent.worker import SyncWorker
    from sync.ops import PAYLOAD_TYPES, encode_payload, replace_free_text

    store = SqliteBranchStore()
    services = {s.code: s for s in ServiceCategory.objects.all()}
    started = time.perf_counter()
    for first in range(0, opts.visits, VISITS_PER_TRANSACTION):
        last = min(first + VISITS_PER_TRANSACTION, opts.visits)
        with outbox.write():
            visits = [list(visit_ops(n)) for n in range(first, last)]
            Visit.objects.bulk_create(
                visit_row(n, ops, services) for n, ops in enumerate(visits, start=first)
            )
            if first == 0:
                for ops in visits:
                    for kind, visit, payload in ops:
                        outbox.record(kind, visit, msgspec.convert(payload, PAYLOAD_TYPES[kind]))
                continue
            state = SyncState.objects.select_for_update().get(id=1)
            seq, hlc, rows = state.next_seq, state.last_hlc, []
            for ops in visits:
                for kind, visit, payload in ops:
                    struct = msgspec.convert(payload, PAYLOAD_TYPES[kind])
                    hlc = outbox.next_hlc(hlc)
                    rows.append(
                        OutboxOp(
                            op_id=outbox.new_op_id(),
                            seq=seq,
                            kind=kind,
                            entity_id=visit,
                            hlc=hlc,
                            payload=encode_payload(replace_free_text(struct, mask_nik_in_text)),
                        )
                    )
                    seq += 1
            OutboxOp.objects.bulk_create(rows)
            SyncState.objects.filter(id=1).update(next_seq=seq, last_hlc=hlc)
    fill_s = time.perf_counter() - started
    ops = store.pending_count()

    worker = SyncWorker.from_settings()
    if worker.key_problem:
        raise SystemExit(f"the agent's keys: {worker.key_problem}")
    started = time.perf_counter()
    if opts.profile:  # the worker's thread under cProfile, written to --profile at the end
        import cProfile
        import threading

        profile = cProfile.Profile()

        def profiled() -> None:
            profile.enable()
            try:
                worker._run()
            finally:
                profile.disable()
                profile.dump_stats(opts.profile)

        worker._thread = threading.Thread(target=profiled, daemon=True)
        worker._thread.start()
    else:
        worker.start()
    try:
        while store.pending_count():
            if time.perf_counter() - started > opts.timeout:
                raise SystemExit(f"the agent's outbox did not drain in {opts.timeout:.0f} s")
            if not worker.running:
                raise SystemExit("the agent's sync worker stopped")
            time.sleep(0.02)
        drain_s = time.perf_counter() - started
    finally:
        worker.stop(10)
    print(json.dumps({"ops": ops, "fill_s": round(fill_s, 3), "drain_s": round(drain_s, 3)}))
    return 0


def visit_row(n: int, ops: list[tuple[str, str, dict[str, Any]]], services: dict[str, Any]) -> Any:
    """Visit n as the desk leaves it once its six ops (``bench_sync.visit_ops``) are recorded."""
    import datetime as dt

    from branch_agent.models import Visit

    facts: dict[str, Any] = {}
    for _kind, _visit, payload in ops:
        facts.update(payload)
    at = dt.datetime.fromisoformat
    return Visit(
        id=ops[0][1],
        service=services[facts["service"]],
        service_day=dt.date.fromisoformat(facts["service_day"]),
        number=n + 1,
        queue_number=facts["queue_number"],
        status=Visit.Status.FINISHED,
        issued_at=at(facts["issued_at"]),
        called_at=at(facts["called_at"]),
        call_count=1,
        last_call_at=at(facts["called_at"]),
        served_at=at(facts["started_at"]),
        finished_at=at(facts["finished_at"]),
        desk=facts["desk"],
        officer=facts["officer"],
        wait_seconds=facts["wait_seconds"],
        service_seconds=facts["service_seconds"],
        outcome=facts["outcome"],
    )


if __name__ == "__main__":
    sys.exit(main())
