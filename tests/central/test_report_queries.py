"""Each report page and each download runs a fixed number of queries, whatever the number of
tickets and visits (issue 19: fast at national scale). The same requests are made over 5 and over
50 served, rated walk-ins (guest book, desk, officer, an assigned helpdesk officer, every other
one breached) and the query counts must be equal. A download's queries
run while it streams, so the body is read inside the capture."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from helpdesk.models import Ticket

from pst_helpdesk_ext.models import PSTTicket, Visit
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from tests.central.test_intake import WalkinOps
from tests.central.test_ui import branch, make_staff  # noqa: F401

pytestmark = pytest.mark.django_db
WIB = dt.timezone(dt.timedelta(hours=7))
DAY = dt.date(2026, 3, 17)
PERIOD = {"date_from": "2026-03-01", "date_to": "2026-03-31"}

# (what, url, parameters): every report page and every download of the issue.
REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("IKM page", "/pst/reports/ikm/", {**PERIOD}),
    ("IKM CSV", "/pst/reports/ikm/", {**PERIOD, "format": "csv"}),
    ("IKM XLSX", "/pst/reports/ikm/", {**PERIOD, "format": "xlsx"}),
    ("IKM JSON", "/pst/reports/ikm/", {**PERIOD, "format": "json"}),
    ("SLA page", "/pst/reports/sla/", {**PERIOD, "group": ["branch", "officer"], "period": "day"}),
    ("SLA CSV", "/pst/reports/sla/", {**PERIOD, "group": "officer", "format": "csv"}),
    (
        "SLA breaches CSV",
        "/pst/reports/sla/",
        {**PERIOD, "download": "breaches", "format": "csv"},
    ),
    (
        "SLA breaches XLSX",
        "/pst/reports/sla/",
        {**PERIOD, "download": "breaches", "format": "xlsx"},
    ),
    ("Service times page", "/pst/reports/service-times/", {**PERIOD}),
    ("Service times XLSX", "/pst/reports/service-times/", {**PERIOD, "format": "xlsx"}),
    ("Data needs page", "/pst/reports/data-needs/", {**PERIOD}),
    ("Data needs CSV", "/pst/reports/data-needs/", {**PERIOD, "format": "csv"}),
    ("Ticket list CSV", "/pst/tickets/", {"format": "csv"}),
    ("Ticket list XLSX", "/pst/tickets/", {"format": "xlsx", "personal": "1"}),
    ("Ticket list JSON", "/pst/tickets/", {"format": "json"}),
    ("Visit list CSV", "/pst/visits/", {"format": "csv", "personal": "1"}),
    ("Visit list XLSX", "/pst/visits/", {"format": "xlsx"}),
    ("Visit list JSON", "/pst/visits/", {"format": "json"}),
]


def serve(branch: Any, count: int, first: int) -> None:  # noqa: F811
    """``count`` walk-ins with a guest-book entry, served, noted, resolved and rated."""
    ops = WalkinOps(start=dt.datetime.combine(DAY, dt.time(8), WIB), seed=first)
    batch = []
    for n in range(first, first + count):
        visit = ops.new_visit_id()
        batch += [
            ops.created(visit, n),
            ops.guestbook(visit, id_number=f"1222014508{n:06d}", name=f"Pengunjung {n}"),
            ops.called(visit, wait=900 if n % 2 else 120),
            ops.served(visit),
            ops.noted(visit),
            ops.resolved(visit),
            ops.rating(visit, overall=4),
        ]
    apply_walkin_ops(branch, batch, dt.datetime.combine(DAY, dt.time(17), WIB))


def counts(client: Any) -> dict[str, int]:
    found = {}
    for what, url, params in REQUESTS:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")
            assert response.status_code == 200, (what, response.content[:300])
            body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, what
        if what == "SLA breaches CSV":  # the breaches are listed, so the rows are exercised
            assert body.decode("utf-8-sig").count("\n") > PSTTicket.objects.count() // 2, body
        found[what] = len(captured)
    return found


def test_reports_and_downloads_run_a_fixed_number_of_queries(client, branch):  # noqa: F811
    officer = make_staff("kasubag", superuser=True)
    client.force_login(officer)

    def grow(total: int) -> None:
        have = Visit.objects.count()
        serve(branch, total - have, first=have + 1)
        Ticket.objects.update(assigned_to=officer)
        # The walk-in clock counts from when a desk became free; mark every other one breached.
        odd = list(PSTTicket.objects.order_by("pk").values_list("pk", flat=True))[1::2]
        started = dt.datetime.combine(DAY, dt.time(8), WIB)
        PSTTicket.objects.filter(pk__in=odd).update(sla_state="breached", sla_started_at=started)

    grow(5)
    few = counts(client)
    grow(50)
    assert PSTTicket.objects.count() == 50
    assert PSTTicket.objects.filter(sla_state="breached").count() == 25
    many = counts(client)
    grown = {what: (few[what], many[what]) for what in few if few[what] != many[what]}
    assert not grown, f"queries grow with the rows (5 rows, 50 rows): {grown}"
