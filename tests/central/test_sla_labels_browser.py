"""The SLA timeline's tick labels never run into each other (issue 13 item 6: "tenggatsekarang"),
in Chromium at the desk's 1366x768 and a phone's 390x844, on the ticket page staff open from
triage."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from pst_helpdesk_ext.models import PSTTicket, SLAState, Visit
from pst_helpdesk_ext.services.branches import create_branch
from tests.browser import chromium_fixture, helpdesk_login, record_requests, screenshot
from tests.central.test_ui import make_pst_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "petugas-pw-1222"
chromium = chromium_fixture(scope="module")

LABEL_BOXES = """() => [...document.querySelectorAll('.pst-tick-label')].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
})"""


def overlapping(boxes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    found = []
    for n, a in enumerate(boxes):
        for b in boxes[n + 1 :]:
            if (
                a["left"] < b["right"]
                and b["left"] < a["right"]
                and a["top"] < b["bottom"]
                and b["top"] < a["bottom"]
            ):
                found.append((a["text"], b["text"]))
    return found


@pytest.fixture
def due_in_five_minutes() -> PSTTicket:
    """A walk-in visitor still waiting, 9.5 minutes after taking the number: the due time (10
    minutes) and now are 30 seconds apart on a chart of 10 minutes."""
    branch = create_branch("1222", "Labuhanbatu Selatan")
    get_user_model().objects.create_user(
        "petugas", "petugas@example.bps.go.id", PASSWORD, is_staff=True, is_superuser=True
    )
    issued = timezone.now() - datetime.timedelta(minutes=9, seconds=30)
    pst = make_pst_ticket(branch, title="Konsultasi K-001", walk_in={"issued_at": issued})
    Visit.objects.filter(pst_ticket=pst).update(
        called_at=None,
        served_at=None,
        finished_at=None,
        wait_seconds=None,
        service_seconds=None,
        outcome="waiting",
    )
    PSTTicket.objects.filter(pk=pst.pk).update(
        sla_state=SLAState.RUNNING,
        sla_started_at=issued,
        sla_due_at=issued + datetime.timedelta(minutes=10),
    )
    return pst


@pytest.mark.parametrize(("width", "height", "name"), [(1366, 768, "desk"), (390, 844, "phone")])
def test_due_and_now_labels_do_not_overlap(
    due_in_five_minutes, live_server, chromium, width, height, name
):
    base = live_server.url
    page = chromium.new_page(locale="id-ID", viewport={"width": width, "height": height})
    requests = record_requests(page, base)
    try:
        helpdesk_login(page, base, "petugas", PASSWORD)
        page.goto(f"{base}/tickets/{due_in_five_minutes.ticket_id}/")
        page.wait_for_selector("#pst-sla-chart")
        boxes = page.evaluate(LABEL_BOXES)
        assert sorted(b["text"] for b in boxes) == ["sekarang", "tenggat"]
        assert overlapping(boxes) == []
        chart = page.locator(".pst-sla-chart-wrap").bounding_box()
        for box in boxes:  # every label inside the chart, none cut off
            assert chart["x"] - 1 <= box["left"] and box["right"] <= chart["x"] + chart["width"] + 1
            assert box["bottom"] <= chart["y"] + chart["height"] + 1
        page.locator("#pst-sla-timeline").scroll_into_view_if_needed()
        screenshot(page, f"sla_labels_{name}")
    finally:
        page.close()
    assert requests.external == [], requests.external


@pytest.mark.parametrize(("width", "height", "name"), [(1366, 768, "desk"), (390, 844, "phone")])
def test_triage_after_a_tick_with_a_complaint(
    due_in_five_minutes, live_server, chromium, width, height, name
):
    """The day of the issue, seen in triage: walk-ins and a complaint each with a running clock
    (none "not started"), the complaint's time left in working time."""
    from django.core.management import call_command

    from pst_helpdesk_ext.services.complaints import file_complaint

    complaint = file_complaint(
        text="Antrean terlalu lama.", email="siti@example.org", branch=due_in_five_minutes.branch
    )
    call_command("pst_sla_tick", stdout=__import__("io").StringIO())
    base = live_server.url
    page = chromium.new_page(locale="id-ID", viewport={"width": width, "height": height})
    requests = record_requests(page, base)
    try:
        helpdesk_login(page, base, "petugas", PASSWORD)
        page.goto(f"{base}/pst/triage/")
        page.wait_for_selector("#pst-triage-tickets")
        states = page.eval_on_selector_all(
            "#pst-triage-tickets tbody tr[data-ticket]", "rows => rows.map(r => r.dataset.state)"
        )
        assert "pending" not in states and len(states) == 2
        row = page.locator(f'#pst-triage-tickets tr[data-ticket="{complaint.ticket_id}"]')
        assert "jam kerja" in row.inner_text()
        screenshot(page, f"triage_{name}")
    finally:
        page.close()
    assert requests.external == [], requests.external


def test_complaint_ticket_page_at_the_desk(due_in_five_minutes, live_server, chromium):
    from django.core.management import call_command

    from pst_helpdesk_ext.services.complaints import file_complaint

    complaint = file_complaint(
        text="Antrean terlalu lama.",
        email="siti@example.org",
        branch=due_in_five_minutes.branch,
        tier=2,
    )
    call_command("pst_sla_tick", stdout=__import__("io").StringIO())
    base = live_server.url
    page = chromium.new_page(locale="id-ID", viewport={"width": 1366, "height": 768})
    requests = record_requests(page, base)
    try:
        helpdesk_login(page, base, "petugas", PASSWORD)
        page.goto(f"{base}/tickets/{complaint.ticket_id}/")
        page.wait_for_selector("#pst-sla-complaint")
        assert "berjalan" in page.inner_text("#pst-sla-state")
        assert "jam kerja" in page.inner_text("#pst-sla-left")
        assert overlapping(page.evaluate(LABEL_BOXES)) == []
        page.locator("#pst-sla-timeline").scroll_into_view_if_needed()
        screenshot(page, "complaint_ticket_desk")
    finally:
        page.close()
    assert requests.external == [], requests.external
