"""One state, one colour, one sentence (issue 13, defect 1's consequences): the ticket panel's
wait verdict and its SLA timeline agree; the IKM report's wait table and its SLA table count the
same clocks; triage shows the clocks the tick keeps, complaints included."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from pst_helpdesk_ext.models import PSTTicket, SLAState
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from tests.central.test_intake import WalkinOps
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db
WIB = dt.timezone(dt.timedelta(hours=7))


def wib(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WIB)


@pytest.fixture
def branch():
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")


@pytest.fixture
def staff_client(client: Any, branch) -> Any:
    client.force_login(make_staff("petugas", superuser=True))
    return client


def run_tick(now: dt.datetime) -> dict[str, Any]:
    out = StringIO()
    call_command("pst_sla_tick", f"--now={now.isoformat()}", "--json", stdout=out)
    return json.loads(out.getvalue())


def sla_card(html: str) -> str:
    return html[html.index('id="pst-sla-timeline"') : html.index('id="pst-sla-actions"')]


def test_panel_of_a_visit_called_in_time_says_met_once_even_before_the_tick(staff_client, branch):
    """K-001 waited while the tick ran (clock running, due 10 min after the number), then its
    call, 9.5 minutes after the number, synced; cron has not run since."""
    ops = WalkinOps(start=wib(2026, 3, 17, 8))
    a = ops.new_visit_id()
    apply_walkin_ops(branch, [ops.created(a, 1)], wib(2026, 3, 17, 8, 1))
    run_tick(wib(2026, 3, 17, 8, 1))
    pst = PSTTicket.objects.get(origin_id=a)
    assert pst.sla_state == SLAState.RUNNING
    apply_walkin_ops(branch, [ops.called(a, wait=570)], wib(2026, 3, 17, 8, 11))
    html = staff_client.get(reverse("helpdesk:view", args=[pst.ticket_id])).content.decode()
    assert 'data-verdict="met"' in html
    card = sla_card(html)
    assert "text-bg-success" in card[: card.index("</span>")]  # the state badge: met, green
    assert "text-danger" not in card  # no "overdue" sentence
    assert "#dc3545" not in card  # no red in the bar
    # The tick then stores exactly what the panel showed.
    run_tick(wib(2026, 3, 17, 8, 15))
    assert PSTTicket.objects.get(pk=pst.pk).sla_state == SLAState.MET


def test_panel_uses_the_visits_own_standard(staff_client, branch):
    """The library's standard is 5 minutes: a 7-minute wait is over it, red, in both places."""
    ops = WalkinOps(start=wib(2026, 3, 17, 8))
    a = ops.new_visit_id()
    apply_walkin_ops(
        branch,
        [ops.created(a, 1, service="perpustakaan"), ops.called(a, wait=420)],
        wib(2026, 3, 17, 9),
    )
    run_tick(wib(2026, 3, 17, 9))
    pst = PSTTicket.objects.get(origin_id=a)
    html = staff_client.get(reverse("helpdesk:view", args=[pst.ticket_id])).content.decode()
    assert 'data-verdict="breached"' in html and 'data-verdict="met"' not in html
    verdict = re.search(r'data-verdict="breached">([^<]*)<', html).group(1)
    assert "5" in verdict and "10" not in verdict
    card = sla_card(html)
    assert "text-bg-danger" in card[: card.index("</span>")]


def test_ikm_report_wait_table_and_sla_table_count_the_same_clocks(staff_client, branch):
    ops = WalkinOps(start=wib(2026, 3, 17, 8))
    a, b, c = ops.new_visit_id(), ops.new_visit_id(), ops.new_visit_id()
    batch = [
        ops.created(a, 1),
        ops.created(b, 2),
        ops.called(a, wait=60),  # desk free: met
        ops.served(a),
        ops.resolved(a),  # the desk becomes free here
        ops.called(b, wait=14 * 60),  # 14 min after A finished: breached
        ops.created(c, 3),  # still waiting: open
        ops.complaint(a, tier=1),
    ]
    apply_walkin_ops(branch, batch, wib(2026, 3, 17, 8, 40))
    run_tick(wib(2026, 3, 17, 8, 41))
    response = staff_client.get(
        "/pst/reports/ikm/", {"date_from": "2026-03-17", "date_to": "2026-03-17", "format": "json"}
    )
    body = response.json()
    visits = next(v for v in body["visits"] if v["level"] == "all")
    walk_in = next(row for row in body["sla"]["totals"] if row["kind"] == "walk_in")
    assert (walk_in["met"], walk_in["breached"]) == (visits["within_standard"], 1)
    assert visits["clocks_ended"] == walk_in["met"] + walk_in["breached"] == 2
    assert Decimal(visits["within_standard_pct"]) == Decimal("50.0")
    assert walk_in["compliance"] == 0.5


def test_triage_shows_running_clocks_and_complaints_after_the_tick(staff_client, branch):
    ops = WalkinOps(start=wib(2026, 3, 17, 8))
    a, b = ops.new_visit_id(), ops.new_visit_id()
    batch = [ops.created(a, 1), ops.called(a, wait=60), ops.served(a), ops.complaint(a, tier=2)]
    batch.append(ops.created(b, 2))
    apply_walkin_ops(branch, batch, wib(2026, 3, 17, 8, 5))
    report = run_tick(wib(2026, 3, 17, 8, 6))
    assert report["errors"] == 0
    page = staff_client.get("/pst/triage/", {"wait_from": "2026-03-17", "wait_to": "2026-03-17"})
    counts = {state: count for state, _label, count in page.context["counts"]}
    assert counts[SLAState.PENDING] == 0
    # K-002 waits (running), the complaint runs on its own clock: both with a due time shown.
    rows = {row.pst.ticket_id: row for row in page.context["rows"]}
    complaint = PSTTicket.objects.get(ticket__pst_complaint__isnull=False)
    waiting = PSTTicket.objects.get(origin_id=b)
    assert rows[complaint.ticket_id].pst.sla_state == SLAState.RUNNING
    assert rows[complaint.ticket_id].working_time  # complaints count working days
    assert rows[waiting.ticket_id].pst.sla_state == SLAState.RUNNING
    assert rows[waiting.ticket_id].pst.sla_due_at is not None


def test_complaint_page_shows_its_two_deadlines_and_no_mark_complete(staff_client, branch):
    from pst_helpdesk_ext.services.complaints import file_complaint

    complaint = file_complaint(
        text="Antrean terlalu lama.", email="siti@example.org", branch=branch, tier=2
    )
    run_tick(dt.datetime.now(dt.UTC))
    html = staff_client.get(reverse("helpdesk:view", args=[complaint.ticket_id])).content.decode()
    card = html[html.index('id="pst-sla-timeline"') :]
    assert 'id="pst-sla-complaint"' in card and "3" in card
    events = re.findall(r'data-event="([a-z_]+)"', card)
    assert events.count("due") == 2 and "started" in events
    assert 'id="pst-sla-complete"' not in card
