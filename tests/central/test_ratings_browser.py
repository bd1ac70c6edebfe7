"""A real Chromium against the live central site: a visitor rates a resolved online ticket from
the link in the e-mail helpdesk's resolution sent, files a complaint with it (it becomes a
complaints ticket with its deadline), and staff open the IKM report and read the same numbers.

The ticket is resolved through helpdesk's own ``update_ticket``; mail goes to Django's locmem
outbox, in this process, where the test reads the link exactly as the visitor received it.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.sites.models import Site
from django.core import mail
from helpdesk.models import Ticket
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.ikm import compute_ikm
from pst_helpdesk_ext.models import Complaint, Rating
from pst_helpdesk_ext.services.branches import create_branch
from tests.browser import chromium_fixture, record_requests
from tests.central.test_ui import make_pst_ticket, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANSWERS = {"U1": 4, "U2": 3, "U3": 2, "U4": 4, "U5": 3, "U6": 4, "U7": 4, "U8": 3, "U9": 3}

browser = chromium_fixture(name="browser")


def test_visitor_rates_from_the_email_and_staff_read_the_report(live_server, browser):
    host = live_server.url.split("://", 1)[1]
    Site.objects.update_or_create(pk=1, defaults={"domain": host, "name": "PST"})
    branch = create_branch("1222", "Labuhanbatu Selatan", email="pst1222@example.bps.go.id")
    pst = make_pst_ticket(branch, channel="web", title="Data IPM 2024")
    officer = make_staff("petugas", superuser=True)
    officer.set_password("rahasia-123")
    officer.save()
    update_ticket(
        officer,
        pst.ticket,
        comment="Data ada di tabel 3.1",
        public=True,
        new_status=Ticket.RESOLVED_STATUS,
    )
    sent = [m for m in mail.outbox if "/pst/rate/" in m.body]
    assert len(sent) == 1 and sent[0].to == ["visitor@example.com"]
    link = re.search(r"https?://\S+/pst/rate/\S+/", sent[0].body).group(0)
    assert link.startswith(live_server.url)

    # The visitor, on a phone.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
    requests = record_requests(phone, live_server.url)
    page = phone.new_page()
    page.goto(link)
    assert page.locator("fieldset#q-U1 legend").inner_text().startswith("U1")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for code, score in ANSWERS.items():
        page.locator(f"#q-{code} input[value='{score}']").check()
    page.locator("#q-overall input[value='4']").check()
    page.fill("#id_comment", "Petugas sangat membantu")
    page.locator("#complaint summary").click()
    page.fill("#id_complaint_text", "Menunggu jawaban terlalu lama")
    page.fill("#id_lapor_ref", "LAP-2026-7788")
    page.locator("button[type=submit]").click()
    page.wait_for_selector("#complaint-done", timeout=10_000)
    assert page.locator("#rating-done").is_visible()

    rating = Rating.objects.get(ticket=pst.ticket)
    assert rating.scores == ANSWERS and rating.overall == 4 and rating.source == "link"
    complaint = Complaint.objects.get(about=pst.ticket)
    assert complaint.ticket.queue.slug == "pst-pengaduan"
    assert complaint.due_at == branch.working_calendar.add_working_days(complaint.ticket.created, 2)
    assert complaint.ticket.ticket in page.locator("#complaint-done").inner_text()

    # The same link again: refused, in both languages, nothing new stored.
    page.goto(link)
    assert page.locator("#refused-id").is_visible() and page.locator("#refused-en").is_visible()
    assert Rating.objects.count() == 1
    phone.close()

    # Staff read the report in helpdesk's UI.
    desk = browser.new_context(locale="en-US", extra_http_headers={"Accept-Language": "en"})
    requests.watch(desk)
    page = desk.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "petugas")
    page.fill("input[name=password]", "rahasia-123")
    page.locator("input[name=password]").press("Enter")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/pst/reports/ikm/")
    expected = compute_ikm([ANSWERS])
    assert page.locator("#pst-ikm-index").inner_text() == str(expected.index)
    assert page.locator("#pst-ikm-respondents").inner_text() == "1"
    assert page.locator("#pst-element-chart").is_visible()
    row = page.locator("#pst-elements tr[data-element='U3']").inner_text()
    assert str(expected.element("U3").nrr) in row
    desk.close()
    # Nothing was loaded from anywhere but the site itself (no CDN, works offline).
    assert requests.seen and requests.external == [], requests.seen
