"""SLA tick at scale: N open online clocks brought up to date by ``pst_sla_tick``'s ``tick``.

A fresh central site on disk (SQLite, or PST_BENCH_DATABASE_URL), one branch on the default
calendar and N real helpdesk tickets with PST data whose online clocks started over the last
three weeks (so at the chosen instant some are running and some have become at risk; none is
breached, so the figure is the evaluation, not the writing of breach notes). Timed:

- ``sla_tick_ms``: one ``tick(now)`` over the N clocks (batched reads, calendar arithmetic,
  one bulk update of the changed rows);
- ``sla_tick_repeat_ms``: the same tick again at the same instant (nothing changes: idempotent);
- baseline in the same run, ``sla_recompute_each_ms``: the obvious way, ``recompute(pst, now)``
  ticket by ticket over the same clocks, reset to the same start state.

Run: ``python -m bench.bench_sla [--tickets N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

from bench.common import ROOT, central_env, emit, scratch_database, temp_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.update(central_env(temp_dir("pst-bench-sla-")))
    os.environ["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]
    with scratch_database("pst_bench_sla") as url:  # a new database, never a used one
        if url:
            os.environ["DATABASE_URL"] = url
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        try:
            run(args.tickets)
        finally:
            connections.close_all()


def run(count: int) -> None:
    from helpdesk.models import Ticket

    from pst_helpdesk_ext.models import Channel, PSTTicket, ServiceCategory, SLAState
    from pst_helpdesk_ext.services import sla
    from pst_helpdesk_ext.services.branches import create_branch

    wib = dt.timezone(dt.timedelta(hours=7))
    now = dt.datetime(2026, 6, 26, 10, 0, tzinfo=wib)
    branch = create_branch("1222", "Labuhanbatu Selatan")
    web = Channel.objects.get(code="web")
    service = ServiceCategory.objects.get(code="konsultasi")
    tickets = Ticket.objects.bulk_create(
        [
            Ticket(
                title=f"Permintaan data {n}",
                queue=branch.queue,
                submitter_email=f"v{n}@example.org",
                created=now - dt.timedelta(days=4),
            )
            for n in range(count)
        ],
        batch_size=1000,
    )
    # Clocks started between 3 days and 2 hours before now: all open at ``now``, some at risk.
    spread = dt.timedelta(days=3)
    PSTTicket.objects.bulk_create(
        [
            PSTTicket(
                ticket=ticket,
                branch=branch,
                channel=web,
                category=service,
                complete_at=now - dt.timedelta(hours=2) - spread * (n / max(count, 1)),
                sla_started_at=now - dt.timedelta(hours=2) - spread * (n / max(count, 1)),
                sla_state=SLAState.RUNNING,
            )
            for n, ticket in enumerate(tickets)
        ],
        batch_size=1000,
    )

    def reset() -> None:
        PSTTicket.objects.update(
            sla_state=SLAState.RUNNING, sla_due_at=None, sla_at_risk_at=None, sla_policy=None
        )

    reset()
    started = time.perf_counter()
    for pst in PSTTicket.objects.select_related("channel", "branch", "ticket", "sla_policy"):
        sla.recompute(pst, now)
    each_ms = (time.perf_counter() - started) * 1000
    states_each = dict(PSTTicket.objects.values_list("pk", "sla_state"))

    reset()
    started = time.perf_counter()
    report = sla.tick(now)
    tick_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    again = sla.tick(now)
    repeat_ms = (time.perf_counter() - started) * 1000

    states_tick = dict(PSTTicket.objects.values_list("pk", "sla_state"))
    if states_tick != states_each or again.changed or report.breaches_noted:
        diff = [(k, states_each[k], v) for k, v in states_tick.items() if states_each[k] != v]
        raise SystemExit(
            f"tick and recompute disagree ({diff[:5]}), or the second tick changed something "
            f"({again.as_dict()}, {report.as_dict()})"
        )
    at_risk = sum(1 for s in states_tick.values() if s == SLAState.AT_RISK)
    print(
        f"{count} open clocks ({at_risk} at risk): tick {tick_ms:.0f} ms, again {repeat_ms:.0f} "
        f"ms; recompute one by one {each_ms:.0f} ms"
    )
    emit(
        {
            "sla_tick_ms": round(tick_ms, 1),
            "sla_tick_repeat_ms": round(repeat_ms, 1),
            "sla_recompute_each_ms": round(each_ms, 1),
            "sla_tick_clocks_per_s": round(count / (tick_ms / 1000), 1),
        }
    )


if __name__ == "__main__":
    main()
