"""The triage page in a real Chromium against the live central site (pytest-django's live_server).

A provincial staff user with two of three branch queues (helpdesk's per-queue permissions on) logs
in through helpdesk's own login page, reaches the triage page from the PST navigation, filters it
by branch and clock state with the form, and opens a ticket whose page shows its SLA timeline.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from pst_helpdesk_ext.models import Channel, PSTTicket, SLAState
from pst_helpdesk_ext.services.branches import create_branch
from tests.browser import chromium_fixture, helpdesk_login, record_requests, screenshot
from tests.central.test_ui import make_pst_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "provinsi-pw-1222"
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)

chromium = chromium_fixture()


def clocked(pst: PSTTicket, **fields: Any) -> PSTTicket:
    PSTTicket.objects.filter(pk=pst.pk).update(**fields)
    pst.refresh_from_db()
    return pst


@pytest.fixture
def province(monkeypatch: pytest.MonkeyPatch) -> dict[str, PSTTicket]:
    from helpdesk import settings as helpdesk_settings

    monkeypatch.setattr(helpdesk_settings, "HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION", True)
    labusel = create_branch("1222", "Labuhanbatu Selatan")
    labuhanbatu = create_branch("1207", "Labuhanbatu")
    elsewhere = create_branch("1371", "Kota Padang")
    user = get_user_model().objects.create_user(
        "provinsi", "provinsi@example.bps.go.id", PASSWORD, is_staff=True
    )
    for branch in (labusel, labuhanbatu):
        codename = branch.queue.permission_name.split(".", 1)[1]
        user.user_permissions.add(Permission.objects.get(codename=codename))
    now = timezone.now()
    web = {"channel": Channel.WEB}
    return {
        "breached": clocked(
            make_pst_ticket(labusel, title="Data kemiskinan kecamatan", **web),
            sla_state=SLAState.BREACHED,
            sla_started_at=now - 6 * DAY,
            sla_due_at=now - DAY,
            sla_breached_at=now - DAY,
            sla_escalated_at=now - DAY + HOUR,
        ),
        "running": clocked(
            make_pst_ticket(labusel, title="Metadata IPM", **web),
            sla_state=SLAState.RUNNING,
            sla_started_at=now - DAY,
            sla_due_at=now + 2 * DAY,
        ),
        "other_breached": clocked(
            make_pst_ticket(labuhanbatu, title="Publikasi Labuhanbatu dalam angka", **web),
            sla_state=SLAState.BREACHED,
            sla_started_at=now - 5 * DAY,
            sla_due_at=now - 2 * HOUR,
            sla_breached_at=now - 2 * HOUR,
        ),
        "not_mine": clocked(
            make_pst_ticket(elsewhere, title="Data Kota Padang", **web),
            sla_state=SLAState.BREACHED,
            sla_started_at=now - 9 * DAY,
            sla_due_at=now - 3 * DAY,
        ),
    }


def test_provincial_staff_filter_the_triage_and_open_a_ticket_timeline(
    province, live_server, chromium
):
    base = live_server.url
    page = chromium.new_page(locale="id-ID", viewport={"width": 1366, "height": 768})
    requests = record_requests(page, base)
    try:
        helpdesk_login(page, base, "provinsi", PASSWORD)

        page.click("#pst-nav-triage")
        page.wait_for_selector("#pst-triage-tickets")
        assert "Triase PST" in page.inner_text("h2")
        rows = page.locator("#pst-triage-tickets tbody tr[data-ticket]")
        shown = [int(rows.nth(i).get_attribute("data-ticket")) for i in range(rows.count())]
        # Breached first (most overdue first), the other province's branch absent.
        assert shown == [
            province["breached"].ticket_id,
            province["other_breached"].ticket_id,
            province["running"].ticket_id,
        ]
        assert page.inner_text('#pst-state-counts [data-state="breached"] .pst-count') == "2"

        page.select_option("#id_branch", "1222")
        page.check('input[name=state][value="breached"]')
        page.click("#pst-triage-apply")
        page.wait_for_url("**/pst/triage/?*branch=1222*")
        rows = page.locator("#pst-triage-tickets tbody tr[data-ticket]")
        assert rows.count() == 1
        assert rows.first.get_attribute("data-state") == "breached"
        assert "terlambat" in rows.first.inner_text()
        assert page.locator("#pst-wait-picture tr[data-branch]").count() == 1

        screenshot(page, "triage")
        rows.first.locator("a").first.click()
        page.wait_for_selector("#pst-sla-timeline")
        timeline = page.inner_text("#pst-sla-timeline")
        assert "Standar terlampaui" in timeline and "Dieskalasi" in timeline
        assert page.locator("#pst-sla-chart").is_visible()
        events = page.locator("#pst-sla-events li")
        kinds = [events.nth(i).get_attribute("data-event") for i in range(events.count())]
        assert kinds[:3] == ["started", "due", "breached"] and "escalated" in kinds
        assert "Data kemiskinan kecamatan" in page.content()
        screenshot(page, "ticket")
    finally:
        page.close()
    assert requests.external == [], requests.external
