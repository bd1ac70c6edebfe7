"""Central's own staff forms refused once with bad input in a real Chromium: each keeps what the
officer typed or chose (ticket list, triage and IKM report filters; the SLA panel's message to the
visitor, refused for length).

The public request, complaint and rating forms are another part of the plugin (and its tests).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from helpdesk.models import Ticket
from helpdesk.signals import new_ticket_done

from pst_helpdesk_ext.models import Branch, PSTTicket
from pst_helpdesk_ext.services.branches import create_branch
from tests.browser import chromium_fixture, helpdesk_login, record_requests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "kepala-pw-1222"
chromium = chromium_fixture()


@pytest.fixture
def online_request() -> PSTTicket:
    create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")
    get_user_model().objects.create_user(
        "kepala", "kepala@example.bps.go.id", PASSWORD, is_staff=True, is_superuser=True
    )
    ticket = Ticket.objects.create(
        title="Data kemiskinan per kecamatan",
        queue=Branch.objects.get(code="1222").queue,
        submitter_email="siti@example.org",
        description="Mohon data kemiskinan per kecamatan 2025.",
    )
    new_ticket_done.send(sender="PublicTicketForm", ticket=ticket)
    return PSTTicket.objects.get(ticket=ticket)


def test_refused_staff_forms_keep_what_was_typed(online_request, live_server, chromium):
    base = live_server.url
    page = chromium.new_page(locale="id-ID", viewport={"width": 1366, "height": 768})
    requests = record_requests(page, base)
    errors: list[str] = []
    helpdesk_login(page, base, "kepala", PASSWORD)
    # (after the login: helpdesk's own login page has a script error of its own, not ours)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))

    # Filters with a period that ends before it starts: refused, every choice still there.
    for path, start, end in (
        ("/pst/tickets/", "date_from", "date_to"),
        ("/pst/triage/", "wait_from", "wait_to"),
        ("/pst/reports/ikm/", "date_from", "date_to"),
    ):
        page.goto(f"{base}{path}")
        page.fill(f"input[name={start}]", "2026-03-20")
        page.fill(f"input[name={end}]", "2026-03-01")
        page.select_option("select[name=branch]", "1222")
        page.locator(f"input[name={end}]").press("Enter")
        page.wait_for_url(f"**{path}?*")
        assert "lebih awal daripada tanggal mulai" in page.content(), path
        assert page.locator(f"input[name={start}]").input_value() == "2026-03-20", path
        assert page.locator(f"input[name={end}]").input_value() == "2026-03-01", path
        assert page.locator("select[name=branch]").input_value() == "1222", path

    # The SLA panel: a message too long for the visitor is refused and shown again as typed.
    page.goto(f"{base}/tickets/{online_request.ticket_id}/")
    page.click("#pst-sla-complete")
    page.wait_for_selector("#pst-sla-wait-comment")
    long_message = "Mohon lampirkan surat pengantar. " * 320  # > 10 000 characters
    page.fill("#pst-sla-wait-comment", long_message)
    page.click("#pst-sla-wait")
    page.wait_for_selector("#pst-sla-wait-comment")
    assert "10000" in page.content() or "10.000" in page.content()
    assert page.locator("#pst-sla-wait-comment").input_value() == long_message
    assert PSTTicket.objects.get(pk=online_request.pk).waiting_for_visitor_since is None

    assert errors == [] and requests.external == []
    page.close()
