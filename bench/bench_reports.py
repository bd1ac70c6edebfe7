"""Reports and downloads at national scale: N PST tickets (and the walk-in visits they imply),
every report page and every list download timed through Django's test client, with its queries.

A fresh central site on disk (SQLite in WAL mode as the example site configures it, or a scratch
PostgreSQL database next to PST_BENCH_DATABASE_URL), two provinces' branches (52 offices with their
helpdesk queues) and N real helpdesk tickets with PST data and walk-in visits inserted in bulk by
``tests.central.test_triage.bulk_pst_tickets`` (60% walk-ins over the last 30 days, every clock
state). On top: the walk-ins served at one of three desks by one of seven officers, the tickets
assigned to five helpdesk officers, and an IKM rating (nine elements) for 40% of the resolved
tickets.

The national user (``admin``, a superuser: every queue) asks for the last 30 days:

- each report page (IKM, SLA per branch and officer, service times, data needs): median of
  ``--rounds`` requests, in ms, and the queries it ran (``report_<name>_ms``, ``..._queries``);
- each download (PST ticket list and walk-in visit list, CSV and XLSX; the SLA breaches list in
  CSV): the whole file streamed and read, in ms, with its queries and rows; then the same
  download again under ``tracemalloc`` for its peak Python memory in MB (``..._peak_mb``): a
  streamed export's peak stays flat however many rows it holds.

Targets (printed by ``make bench``, never asserted): each report page under a second.

Iterating on one page: ``--only ikm`` (repeatable; ``downloads`` for the files) times only that,
and ``--keep-database URL`` builds the data in that PostgreSQL database on the first run and
reuses it on the next ones instead of a throwaway database (drop it yourself when done).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import time
import tracemalloc
from typing import Any

from bench.common import ROOT, central_env, emit, temp_dir

PROVINCES = ("12", "13")
DESKS = 3
OFFICERS = 7
ASSIGNEES = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="requests per report page")
    parser.add_argument(
        "--only",
        action="append",
        choices=(*PAGES, "downloads"),
        help="time only these pages (or the downloads); repeatable. Default: everything",
    )
    parser.add_argument(
        "--keep-database",
        metavar="URL",
        help="for iterating on one report: this PostgreSQL database, created and filled on the "
        "first run, kept and reused as it is by the next ones (drop it yourself when done)",
    )
    args = parser.parse_args()

    data_dir = temp_dir("pst-bench-reports-")
    os.environ.update(central_env(data_dir))
    os.environ["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]
    from bench.bench_triage import _scratch_postgres_database

    if args.keep_database:
        _kept_database(args.keep_database)
        scratch = None
    else:
        scratch = _scratch_postgres_database()
    try:
        run(args)
    finally:
        if scratch:
            scratch()
        shutil.rmtree(data_dir, ignore_errors=True)


PAGES = ("ikm", "sla", "service_times", "data_needs")


def _kept_database(url: str) -> None:
    """Point the site at ``url``, creating the database when it does not exist yet."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    server = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    os.environ["DATABASE_URL"] = url


def build_data(count: int) -> float:
    """The tickets, visits, desks, officers, assignees and ratings; returns the seconds taken."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.db.models import CharField, F, Value
    from django.db.models.functions import Cast, Concat, Mod
    from django.utils import timezone
    from helpdesk.models import Ticket

    from pst_helpdesk_ext.data.regencies import REGENCIES
    from pst_helpdesk_ext.models import Branch, PSTTicket, Rating, Visit
    from pst_helpdesk_ext.services.branches import create_branch
    from tests.central.test_triage import _Rows, bulk_pst_tickets

    started = time.perf_counter()
    for province in PROVINCES:
        for regency, name in REGENCIES[province].items():
            code = f"{province}{regency}"
            if not Branch.objects.filter(code=code).exists():
                create_branch(code, name)
    branches = list(Branch.objects.select_related("queue").order_by("code"))
    now = timezone.now()
    bulk_pst_tickets(branches, count, now=now, seed=19)
    with transaction.atomic():
        Visit.objects.update(
            served_at=F("called_at"),
            finished_at=F("called_at") + dt.timedelta(minutes=12),
            service_seconds=Mod("id", 1500) + 120,
            desk=Concat(Value("Meja "), Cast(Mod("id", DESKS) + 1, CharField())),
            officer=Concat(Value("Petugas "), Cast(Mod("id", OFFICERS) + 1, CharField())),
            outcome=Visit.Outcome.RESOLVED,
        )
        users = get_user_model()
        for n in range(ASSIGNEES):
            officer, _ = users.objects.get_or_create(
                username=f"petugas{n}",
                defaults={"is_staff": True, "first_name": "Petugas", "last_name": str(n)},
            )
            Ticket.objects.alias(m=Mod("id", ASSIGNEES)).filter(m=n).update(assigned_to=officer)
        ended = PSTTicket.objects.filter(ticket__status__in=(Ticket.RESOLVED_STATUS,))
        ratings = _Rows(Rating, ticket_id=0, scores={}, overall=4)
        at = connection.ops.adapt_datetimefield_value
        scores = Rating._meta.get_field("scores")
        for n, (ticket_id, branch_id) in enumerate(ended.values_list("ticket_id", "branch_id")):
            if n % 5 > 1:
                continue  # 40% answer the survey
            answers = {f"U{e}": 1 + (n + e) % 4 for e in range(1, 10)}
            ratings.add(
                ticket_id=ticket_id,
                branch_id=branch_id,
                scores=scores.get_db_prep_save(answers, connection),
                overall=1 + n % 4,
                created=at(now - dt.timedelta(days=n % 30, hours=n % 7)),
            )
        ratings.insert()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.utils import timezone

    from pst_helpdesk_ext.models import PSTTicket, Rating, Visit

    setup_test_environment()
    call_command("migrate", verbosity=0)
    if args.keep_database and PSTTicket.objects.count() >= args.tickets:
        generated = 0.0  # built by an earlier run (--keep-database)
    else:
        call_command(
            "pst_demo_data",
            "--quiet-logins",
            "--without-day",
            stdout=open(os.devnull, "w"),  # noqa: SIM115
        )
        generated = build_data(args.tickets)

    from django.contrib.auth import get_user_model

    client = Client(HTTP_ACCEPT_LANGUAGE="id")
    client.force_login(get_user_model().objects.get(username="admin"))
    today = timezone.localdate()
    start = today - dt.timedelta(days=30)
    period = {"date_from": start.isoformat(), "date_to": today.isoformat()}

    def fetch(url: str, params: dict[str, Any]) -> tuple[float, int, int]:
        """Milliseconds, queries, bytes of one request read to its end."""
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(url, params)
            size = 0
            if response.streaming:
                for chunk in response.streaming_content:
                    size += len(chunk)
            else:
                size = len(response.content)
            elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url} {params}: HTTP {response.status_code}")
        return elapsed, len(captured), size

    figures: dict[str, float] = {}
    pages = {
        "ikm": ("/pst/reports/ikm/", period),
        "sla": ("/pst/reports/sla/", {**period, "group": ["branch", "officer"]}),
        "service_times": ("/pst/reports/service-times/", period),
        "data_needs": ("/pst/reports/data-needs/", period),
    }
    print(
        f"Reports ({connection.vendor}): {PSTTicket.objects.count()} PST tickets, "
        f"{Visit.objects.count()} visits, {Rating.objects.count()} ratings made in "
        f"{generated:.1f}s; national user, last 30 days"
    )
    for name, (url, params) in pages.items():
        if args.only and name not in args.only:
            continue
        fetch(url, params)  # warm (templates, calendars)
        runs = [fetch(url, params) for _ in range(args.rounds)]
        ms = statistics.median(r[0] for r in runs)
        queries = max(r[1] for r in runs)
        figures[f"report_{name}_ms"] = round(ms, 1)
        figures[f"report_{name}_queries"] = queries
        print(f"  {name:<24} page   {ms:8.1f} ms  {queries:3d} queries")

    downloads = {
        "tickets_csv": ("/pst/tickets/", {"format": "csv"}),
        "tickets_xlsx": ("/pst/tickets/", {"format": "xlsx"}),
        "visits_csv": ("/pst/visits/", {"format": "csv"}),
        "visits_xlsx": ("/pst/visits/", {"format": "xlsx"}),
        "sla_breaches_csv": (
            "/pst/reports/sla/",
            {**period, "download": "breaches", "format": "csv"},
        ),
    }
    for name, (url, params) in downloads.items():
        if args.only and "downloads" not in args.only:
            break
        ms, queries, size = fetch(url, params)
        tracemalloc.start()
        fetch(url, params)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures[f"download_{name}_ms"] = round(ms, 1)
        figures[f"download_{name}_queries"] = queries
        figures[f"download_{name}_peak_mb"] = round(peak / 2**20, 1)
        print(
            f"  {name:<24} file   {ms:8.1f} ms  {queries:3d} queries  {size / 2**20:6.1f} MB "
            f"written, peak Python memory {peak / 2**20:5.1f} MB"
        )
    print(f"  load average {os.getloadavg()[0]:.1f}")
    emit(figures)


if __name__ == "__main__":
    main()
