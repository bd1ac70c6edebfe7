"""Triage page at scale: 100,000 PST tickets, the page timed through Django's test client.

A fresh central site on disk (SQLite in WAL mode as the example site configures it, or a scratch
PostgreSQL database next to PST_BENCH_DATABASE_URL), two provinces' branches (Sumatera Utara and
Sumatera Barat, 52 offices with their helpdesk queues) and N real helpdesk tickets with their PST
data and walk-in visits, inserted in bulk by ``tests.central.test_triage.bulk_pst_tickets`` (about
30% open, every clock state, 60% walk-ins with measured waits over the last 30 days).

helpdesk's per-queue permissions are on; the provincial user of Sumatera Utara holds its 33
queues through a group (as installations grant them), so every page also filters by permission.
The triage page is requested over a round of filter combinations (none, branch, channel,
category, clock states, pages 2 and 40, a 14-day wait picture); each request is timed end to end
(URL resolution, middleware, session, queries, template). Baseline in the same run: helpdesk's
own ticket list for the same user at the same scale, i.e. its list page plus the datatables JSON
request the page makes for the first 25 open tickets (what a user waits for there).

Prints ``triage_page_ms_p50``, ``triage_page_ms_p95``, ``helpdesk_list_ms_p95`` and the queries
per triage page.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from base64 import b64encode
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from bench.common import ROOT, central_env, emit, temp_dir

PROVINCES = ("12", "13")  # Sumatera Utara (the user's province), Sumatera Barat
USER_PROVINCE = "12"

FILTER_ROUND: list[dict[str, str | list[str]]] = [
    {},
    {"branch": "1222"},
    {"channel": "web"},
    {"category": "konsultasi"},
    {"state": "breached"},
    {"state": ["running", "at_risk"]},
    {"branch": "1207", "state": ["running", "at_risk", "paused"]},
    {"channel": "whatsapp", "category": "data"},
    {"page": "2"},
    {"page": "40"},
    {"wait_from": "{d14}", "wait_to": "{today}"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=6, help="rounds over the filter list")
    args = parser.parse_args()

    data_dir = temp_dir("pst-bench-triage-")
    os.environ.update(central_env(data_dir))
    os.environ["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]
    scratch = _scratch_postgres_database()
    try:
        run(args)
    finally:
        if scratch:
            scratch()
        shutil.rmtree(data_dir, ignore_errors=True)


def _scratch_postgres_database() -> Callable[[], None] | None:
    """With PST_BENCH_DATABASE_URL, a fresh empty database beside the one it names; returns how
    to drop it again."""
    url = os.environ.get("PST_BENCH_DATABASE_URL")
    if not url:
        return None
    import psycopg
    from psycopg import sql

    name = f"pst_bench_triage_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

    return drop


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))]


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    import datetime

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone
    from helpdesk import settings as helpdesk_settings

    from pst_helpdesk_ext.data.regencies import REGENCIES
    from pst_helpdesk_ext.models import Branch, PSTTicket
    from pst_helpdesk_ext.services.branches import create_branch
    from tests.central.test_triage import bulk_pst_tickets

    setup_test_environment()  # the test client's response.context, and testserver allowed
    call_command("migrate", verbosity=0)
    call_command("pst_demo_data", "--quiet-logins", "--without-day", stdout=open(os.devnull, "w"))  # noqa: SIM115
    # The setting helpdesk reads at import time (see tests/central/test_ui.py).
    helpdesk_settings.HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = True

    started = time.perf_counter()
    for province in PROVINCES:
        for regency, name in REGENCIES[province].items():
            code = f"{province}{regency}"
            if not Branch.objects.filter(code=code).exists():
                create_branch(code, name)
    branches = list(Branch.objects.select_related("queue").order_by("code"))
    now = timezone.now()
    bulk_pst_tickets(branches, args.tickets, now=now, seed=11)
    if connection.vendor == "postgresql":
        # What autovacuum does after a bulk load. SQLite is left as a Django site leaves it: no
        # ANALYZE (with its statistics SQLite picks slower, queue-driven plans here; see
        # docs/triage.md).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    generated = time.perf_counter() - started

    province_queues = [b.queue for b in branches if b.code.startswith(USER_PROVINCE)]
    group, _ = Group.objects.get_or_create(name=f"PST provinsi {USER_PROVINCE}")
    codenames = [q.permission_name.split(".", 1)[1] for q in province_queues]
    group.permissions.set(Permission.objects.filter(codename__in=codenames))
    user = get_user_model().objects.get(username="provinsi")
    user.groups.add(group)
    client = Client()
    client.force_login(user)

    today = timezone.localdate()
    dates = {"{today}": today.isoformat(), "{d14}": (today - datetime.timedelta(13)).isoformat()}
    rounds = [
        {k: dates.get(v, v) if isinstance(v, str) else v for k, v in params.items()}
        for params in FILTER_ROUND
    ]

    def timed(url: str, params: dict | None = None) -> float:
        began = time.perf_counter()
        response = client.get(url, params or {})
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url} {params}: HTTP {response.status_code}")
        return elapsed

    for params in rounds[:3]:  # warm caches (templates, calendars, holidays)
        timed("/pst/triage/", params)
    triage_ms: list[float] = []
    queries: list[int] = []
    per_filter: dict[str, list[float]] = {json.dumps(p, sort_keys=True): [] for p in rounds}
    for _ in range(args.rounds):
        for params in rounds:
            with CaptureQueriesContext(connection) as captured:
                elapsed = timed("/pst/triage/", params)
            triage_ms.append(elapsed)
            per_filter[json.dumps(params, sort_keys=True)].append(elapsed)
            queries.append(len(captured))
    listed = client.get("/pst/triage/").context["page"].paginator.count

    query = {
        "filtering": {"status__in": [1, 2]},
        "sorting": "created",
        "search_string": "",
        "sortreverse": False,
    }
    encoded = b64encode(json.dumps(query).encode()).decode("ascii")
    datatables = f"/datatables_ticket_list/{encoded}"
    table_params = {"draw": "1", "start": "0", "length": "25"}
    timed("/tickets/")
    timed(datatables, table_params)
    helpdesk_ms: list[float] = []
    for _ in range(args.rounds * 2):
        helpdesk_ms.append(timed("/tickets/") + timed(datatables, table_params))

    total = PSTTicket.objects.count()
    p50, p95 = percentile(triage_ms, 0.5), percentile(triage_ms, 0.95)
    base50, base95 = percentile(helpdesk_ms, 0.5), percentile(helpdesk_ms, 0.95)
    print(
        f"Triage ({connection.vendor}): {total} PST tickets in {len(branches)} branches made in "
        f"{generated:.1f}s; user sees {len(province_queues)} branches, {listed} open tickets.\n"
        f"  triage page     p50 {p50:7.1f} ms  p95 {p95:7.1f} ms over {len(triage_ms)} requests "
        f"({len(rounds)} filter combinations), {min(queries)}-{max(queries)} queries per page\n"
        f"  helpdesk list   p50 {base50:7.1f} ms  p95 {base95:7.1f} ms over {len(helpdesk_ms)} "
        f"(list page + datatables JSON, first 25 open tickets)\n"
        f"  load average {os.getloadavg()[0]:.1f}; triage p50 per filter combination:"
    )
    for key, values in per_filter.items():
        print(f"    {percentile(values, 0.5):7.1f} ms  {key}")
    emit(
        {
            "triage_page_ms_p50": round(p50, 1),
            "triage_page_ms_p95": round(p95, 1),
            "helpdesk_list_ms_p95": round(base95, 1),
            "triage_queries_per_page": max(queries),
        }
    )


if __name__ == "__main__":
    main()
