"""The SLA clock's staff buttons in a real Chromium against the live central site.

A branch officer (per-queue permission on the branch's queue only) logs in through helpdesk's
login page, opens an online request submitted on helpdesk's public form, marks it complete (the
clock starts, due in 3 working days), asks the visitor a question (the clock pauses, the question
is a public follow-up e-mailed to the visitor), records the visitor's answer (the clock runs
again), then answers publicly through helpdesk's own reply form (the clock stops: met).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from helpdesk.models import Ticket
from helpdesk.signals import new_ticket_done

from pst_helpdesk_ext.models import PSTTicket, SLAState
from pst_helpdesk_ext.services.branches import create_branch
from tests.browser import chromium_fixture, helpdesk_login, record_requests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "petugas-pw-1222"

chromium = chromium_fixture()


@pytest.fixture
def request_online(monkeypatch: pytest.MonkeyPatch) -> PSTTicket:
    from helpdesk import settings as helpdesk_settings

    monkeypatch.setattr(helpdesk_settings, "HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION", True)
    branch = create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")
    create_branch("1207", "Labuhanbatu")
    officer = get_user_model().objects.create_user(
        "petugas", "petugas@example.bps.go.id", PASSWORD, is_staff=True
    )
    codename = branch.queue.permission_name.split(".", 1)[1]
    officer.user_permissions.add(Permission.objects.get(codename=codename))
    ticket = Ticket.objects.create(
        title="Data kemiskinan per kecamatan",
        queue=branch.queue,
        submitter_email="siti@example.org",
        description="Mohon data kemiskinan per kecamatan 2025.",
    )
    new_ticket_done.send(sender="PublicTicketForm", ticket=ticket)
    return PSTTicket.objects.get(ticket=ticket)


def clock(pst: PSTTicket) -> PSTTicket:
    return PSTTicket.objects.select_related("ticket").get(pk=pst.pk)


def test_officer_runs_the_clock_from_the_ticket_page(request_online, live_server, chromium):
    base = live_server.url
    page = chromium.new_page(locale="id-ID")
    requests = record_requests(page, base)
    try:
        helpdesk_login(page, base, "petugas", PASSWORD)
        page.goto(f"{base}/tickets/{request_online.ticket_id}/")
        page.wait_for_selector("#pst-sla-timeline")
        assert clock(request_online).sla_state == SLAState.PENDING

        page.click("#pst-sla-complete")
        page.wait_for_selector("#pst-sla-timeline")
        assert "Permintaan ditandai lengkap" in page.content()
        pst = clock(request_online)
        assert pst.sla_state in (SLAState.RUNNING, SLAState.AT_RISK)
        assert pst.sla_due_at is not None
        assert page.locator("#pst-sla-complete").count() == 0  # done once

        mail.outbox.clear()
        page.fill("#pst-sla-wait-comment", "Mohon lampirkan surat pengantar dari kampus.")
        page.click("#pst-sla-wait")
        page.wait_for_selector("#pst-sla-resume")
        assert "Pesan Anda telah dikirim kepada pengunjung" in page.content()
        assert "Mohon lampirkan surat pengantar dari kampus." in page.content()  # in the history
        pst = clock(request_online)
        assert pst.sla_state == SLAState.PAUSED and pst.waiting_for_visitor_since is not None
        assert any("siti@example.org" in m.to for m in mail.outbox)

        page.click("#pst-sla-resume")
        page.wait_for_selector("#pst-sla-wait")
        assert "Jawaban pengunjung telah dicatat" in page.content()
        pst = clock(request_online)
        assert pst.sla_paused_since is None and pst.waiting_for_visitor_since is None

        # The answer, through helpdesk's own reply form, public: the clock stops.
        page.click("#respond-tab")
        form = page.locator("#ticket-respond-form")
        form.locator("#commentBox").fill("Tabel kemiskinan per kecamatan terlampir.")
        assert form.locator("#id_public").is_checked()
        with page.expect_navigation():
            form.locator("button[type=submit]").last.click()
        page.wait_for_selector("#pst-sla-timeline")
        pst = clock(request_online)
        assert pst.sla_state == SLAState.MET and pst.sla_stopped_at is not None
        assert pst.waiting_for_visitor_since is not None  # now the visitor's turn
    finally:
        page.close()
    assert requests.external == [], requests.external
