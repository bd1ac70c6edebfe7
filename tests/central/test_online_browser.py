"""The online channel in a real Chromium against the live central site (pytest-django's
live_server, real helpdesk pages):

1. Web: on a phone-sized screen the visitor verifies the e-mail through the e-mailed link,
   searches, finds nothing, asks; staff answer on helpdesk's own ticket page; the visitor sees the
   answer on helpdesk's public ticket view and replies by e-mail (helpdesk's e-mail ingestion on
   a real RFC 822 message); staff read the chat-style conversation and record a Zoom follow-up,
   which the visitor sees on the public view and gets as appointment.ics by e-mail.
2. WhatsApp: a signed Cloud API webhook over real HTTP opens a ticket; staff reply on the ticket
   page; the reply goes out through the logging sender, and the thread shows it sent with the
   phone masked.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import logging
import os
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core import mail
from helpdesk.email import extract_email_metadata
from helpdesk.models import KBCategory, KBItem, Ticket

from pst_helpdesk_ext.models import OnlineRequest, WhatsAppMessage
from pst_helpdesk_ext.services.branches import create_branch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes between
# browser steps are ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "teh-manis-siang"
SECRET = "browser-app-secret-0123456789"
PHONE = "6281298765432"
EMAIL = "rina@example.com"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is needed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(settings: Any) -> dict[str, Any]:
    settings.PST_HELPDESK = {
        **settings.PST_HELPDESK,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": "browser-verify",
        "WHATSAPP_SENDER": "pst_helpdesk_ext.services.whatsapp.LoggingSender",
    }
    # A transactional test before this one may have flushed the rows the migrations seed.
    seed = importlib.import_module(
        "pst_helpdesk_ext.migrations.0002_seed_channels_and_service_categories"
    ).seed
    seed(django_apps, None)
    branch = create_branch("1222", "Labuhanbatu Selatan")
    category = KBCategory.objects.create(
        name="Data", title="Data statistik", slug="data", description="Data", public=True
    )
    KBItem.objects.create(
        category=category,
        title="Jumlah penduduk",
        question="Berapa jumlah penduduk?",
        answer="Lihat Statistik Daerah.",
    )
    get_user_model().objects.create_superuser("petugas", "petugas@example.bps.go.id", PASSWORD)
    return {"branch": branch}


def staff_login(page: Any, base: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "petugas")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def staff_reply(page: Any, base: str, ticket: Ticket, text: str) -> None:
    """Through helpdesk's own ticket page and its respond form."""
    page.goto(f"{base}{ticket.get_absolute_url()}")
    tab = page.locator("#respond-tab")
    if tab.count():
        tab.click()
    page.fill("#commentBox", text)
    assert page.is_checked("#id_public")
    page.click("#ticket-respond-form button.btn-success[type=submit]")
    page.wait_for_load_state()


def ask_complete_request(
    visitor: Any, *, title: str, question: str, indicator: str, period: str, purpose: str
) -> None:
    """From the no-hit page: open the form (phone width, no sideways scroll), fill a complete
    request for branch 1222, subject data, send it and land on the done page saying complete."""
    visitor.click("#pst-ask")
    visitor.wait_for_selector("#pst-request-form")
    assert no_sideways_scroll(visitor)
    visitor.select_option("select[name=branch]", "1222")
    visitor.select_option("select[name=subject]", "data")
    visitor.fill("input[name=title]", title)
    visitor.fill("textarea[name=question]", question)
    visitor.fill("input[name=indicator]", indicator)
    visitor.fill("input[name=region]", "Labuhanbatu Selatan")
    visitor.fill("input[name=period]", period)
    visitor.fill("input[name=purpose]", purpose)
    visitor.click("#pst-request-form button[type=submit]")
    visitor.wait_for_selector("#pst-done")
    # The online standard starts on "complete" (the default policy): even a complete request
    # waits for the officer's confirmation, and the page says so rather than promising 3 days.
    assert visitor.locator("#pst-incomplete[data-state=pending]").is_visible()


def verify_and_request_after_no_hit(
    visitor: Any, *, email: str, search: str, **request: str
) -> None:
    """From the request page: verify the e-mail (as Rina), search for `search`, find nothing and
    send a complete request (ask_complete_request with the request's fields)."""
    visitor.fill("input[name=name]", "Rina")
    visitor.fill("input[name=email]", email)
    visitor.click("form button[type=submit]")
    visitor.wait_for_selector("#pst-check-email")
    verify = re.search(r"https?://\S+/pst/request/verify/\S+", mail.outbox[-1].body).group(0)
    visitor.goto(verify)
    visitor.fill("#pst-search", search)
    visitor.press("#pst-search", "Enter")
    visitor.wait_for_selector("#pst-no-results")
    ask_complete_request(visitor, **request)


def no_sideways_scroll(page: Any) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
    )


def test_search_no_hit_request_staff_answer_visitor_reply(
    live_server: Any, browser: Any, site: dict
) -> None:
    base = live_server.url
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
    visitor = phone.new_page()
    visitor.goto(f"{base}/pst/request/")
    assert no_sideways_scroll(visitor)
    # Bad input first: the page says which field, and sends nothing.
    visitor.fill("input[name=name]", "Rina")
    visitor.fill("input[name=email]", "rina@")
    visitor.click("form button[type=submit]")
    assert visitor.locator("#error-email").is_visible()
    assert mail.outbox == []
    visitor.fill("input[name=email]", EMAIL)
    visitor.click("form button[type=submit]")
    visitor.wait_for_selector("#pst-check-email")
    link = re.search(r"https?://\S+/pst/request/verify/\S+", mail.outbox[-1].body).group(0)
    visitor.goto(link)
    visitor.wait_for_selector("#pst-search")
    visitor.fill("#pst-search", "ekspor kopi robusta")
    visitor.press("#pst-search", "Enter")
    visitor.wait_for_selector("#pst-no-results")
    assert visitor.locator("#pst-request-form").count() == 0  # results before any form
    ask_complete_request(
        visitor,
        title="Ekspor kopi robusta",
        question="Berapa nilai ekspor kopi robusta dari kabupaten ini?",
        indicator="Nilai ekspor kopi",
        period="2023",
        purpose="Tesis",
    )
    ticket = Ticket.objects.get()
    assert ticket.ticket_for_url in visitor.inner_text("#pst-done")
    request = OnlineRequest.objects.get()
    assert request.search_query == "ekspor kopi robusta" and request.search_results == 0

    staff = browser.new_context(locale="id-ID").new_page()
    staff_login(staff, base)
    staff_reply(staff, base, ticket, "Nilai ekspor kopi 2023 ada di tabel 8.2 Statistik Daerah.")

    # The visitor follows the ticket on the plugin's own page (the link of helpdesk's e-mail).
    visitor.click("#pst-follow")
    visitor.wait_for_load_state()
    assert "tabel 8.2" in visitor.content()

    # ... and replies to helpdesk's e-mail.
    reply = (
        f"From: Rina <{EMAIL}>\r\nTo: pst@example.bps.go.id\r\n"
        f"Subject: Re: [{ticket.ticket_for_url}] {ticket.title}\r\n"
        "Message-ID: <rina-1@example.com>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Terima kasih, apakah ada data 2022?\r\n"
    )
    extract_email_metadata(reply, ticket.queue, logging.getLogger("test"))

    staff.goto(f"{base}/pst/tickets/{ticket.pk}/conversation/")
    bubbles = staff.locator(".pst-bubble")
    assert [bubbles.nth(i).get_attribute("data-author") for i in range(bubbles.count())] == [
        "visitor",
        "staff",
        "visitor",
    ]
    assert "data 2022" in staff.inner_text("#pst-online-thread")

    # A Zoom follow-up: recorded on the same page, seen by the visitor, .ics in the e-mail.
    mail.outbox.clear()
    staff.check("input[name=kind][value=zoom]")
    staff.fill("input[name=start]", "2026-03-24T10:00")
    staff.fill("input[name=minutes]", "45")
    staff.fill("input[name=meeting_url]", "https://zoom.us/j/5551234567")
    staff.click("#pst-appointment button[type=submit]")
    staff.wait_for_selector(".pst-bubble >> nth=3")
    assert "appointment.ics" in staff.inner_text("#pst-online-thread")
    (to_visitor,) = [m for m in mail.outbox if EMAIL in m.to]
    ics = next(c for name, c, _t in to_visitor.attachments if name == "appointment.ics")
    ics = ics if isinstance(ics, str) else ics.decode()
    assert "DTSTART:20260324T030000Z" in ics and "URL:https://zoom.us/j/5551234567" in ics
    visitor.reload()
    assert "zoom.us/j/5551234567" in visitor.content()
    phone.close()


def test_whatsapp_signed_webhook_in_staff_reply_out(
    live_server: Any, browser: Any, site: dict
) -> None:
    base = live_server.url
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": "106540352242922",
                                },
                                "contacts": [{"profile": {"name": "Rina"}, "wa_id": PHONE}],
                                "messages": [
                                    {
                                        "from": PHONE,
                                        "id": "wamid.BROWSER1",
                                        "timestamp": "1749416383",
                                        "type": "text",
                                        "text": {"body": "Apa kode KBLI untuk warung kopi?"},
                                    }
                                ],
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }
    ).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(  # noqa: S310 (http to live_server)
        f"{base}/api/pst/whatsapp/webhook/",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (live_server)
        assert json.loads(response.read())["created"] == 1
    ticket = Ticket.objects.get()

    staff = browser.new_context(locale="id-ID").new_page()
    staff_login(staff, base)
    staff_reply(staff, base, ticket, "Warung kopi termasuk KBLI 56303.")
    out = WhatsAppMessage.objects.get(direction="out")
    assert out.text == "Warung kopi termasuk KBLI 56303." and out.status == "sent"
    assert out.thread.wa_id == PHONE

    staff.goto(f"{base}/pst/tickets/{ticket.pk}/conversation/")
    thread = staff.inner_text("#pst-online-thread")
    assert "KBLI 56303" in thread and "WhatsApp" in thread
    assert PHONE not in staff.content()
    assert "+62•••••5432" in thread
