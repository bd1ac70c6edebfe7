"""The whole online flow, end to end, in a real Chromium against the live central site
(pytest-django's live_server, helpdesk's own pages, the real SLA tick and rating links):

1. Web: on a phone the visitor verifies the e-mail, searches, finds nothing and submits a complete
   request; staff on a laptop mark it complete in the SLA timeline (the clock runs), then ask the
   visitor a question with "Waiting for the visitor" (the clock pauses). The visitor never
   answers: ``pst_sla_tick`` at a frozen instant eight days later closes the conversation with a
   public follow-up saying why and how to reopen, which the visitor reads on the plugin's visitor
   page and receives by e-mail; the close e-mails a rating link, the visitor rates (nine
   elements, overall, comment), the rating is stored and the spent link is refused.
2. WhatsApp: a signed webhook opens a ticket; staff answer and resolve it on helpdesk's ticket
   page; the answer and the rating link go out through the logging sender; the visitor opens the
   link from the chat and rates.

No page loads anything from outside the site. Fixtures and helpers are the online channel's
browser test's (tests/central/test_online_browser.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib
import json
import re
import urllib.request
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.sites.models import Site
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.models import (
    OnlineRequest,
    PSTTicket,
    Rating,
    RatingInvitation,
    SLAState,
    WhatsAppMessage,
)
from tests.central import test_online_browser as online
from tests.central.test_online_browser import (
    EMAIL,
    PHONE,
    SECRET,
    no_sideways_scroll,
    staff_login,
    verify_and_request_after_no_hit,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


# The online channel's fixtures, used here by name: Chromium (module-wide) and the site (branch
# 1222, a public KB item, the superuser "petugas", the logging WhatsApp sender).
browser = online.browser
site = online.site

PHONE_VIEWPORT = {"width": 390, "height": 844}
LAPTOP_VIEWPORT = {"width": 1366, "height": 768}
ANSWERS = {"U1": 4, "U2": 4, "U3": 3, "U4": 4, "U5": 2, "U6": 3, "U7": 4, "U8": 4, "U9": 3}
QUESTION = "Mohon sebutkan kecamatan yang Anda perlukan, atau semua kecamatan?"


def watch_requests(context: Any, requested: list[str]) -> None:
    """Record every request a browser context makes (the test then checks none left the site)."""
    context.on("request", lambda request: requested.append(request.url))


def assert_stayed_on_site(requested: list[str], base: str) -> None:
    assert requested, "the browser made no request at all"
    external = [url for url in requested if not url.startswith(base)]
    assert external == [], external


def site_on_live_server(live_server: Any) -> None:
    """Helpdesk and the rating links build absolute links from the sites framework; the service
    standards are the ones the migrations seed (a transactional test before may have flushed
    them, as the ``site`` fixture says of the channels)."""
    host = live_server.url.split("://", 1)[1]
    Site.objects.update_or_create(pk=1, defaults={"domain": host, "name": "PST"})
    importlib.import_module("pst_helpdesk_ext.migrations.0008_sla").seed_policies(django_apps, None)


def clock(ticket: Ticket) -> PSTTicket:
    return PSTTicket.objects.get(ticket=ticket)


def rate(page: Any, link: str, comment: str) -> None:
    """The visitor fills the rating form: nine IKM elements, overall score and a comment."""
    page.goto(link)
    assert no_sideways_scroll(page)
    assert page.locator("fieldset[id^='q-U']").count() == 9
    for code, score in ANSWERS.items():
        page.locator(f"#q-{code} input[value='{score}']").check()
    page.locator("#q-overall input[value='3']").check()
    page.fill("#id_comment", comment)
    page.locator("button[type=submit]").click()
    page.wait_for_selector("#rating-done")


def assert_rated_once(ticket: Ticket, page: Any, link: str, comment: str) -> None:
    """Stored once from the link, the link spent; opening it again is refused, nothing stored."""
    rating = Rating.objects.get(ticket=ticket)
    assert rating.scores == ANSWERS and rating.overall == 3 and rating.source == "link"
    assert rating.comment == comment
    assert RatingInvitation.objects.get(ticket=ticket).used_at is not None
    page.goto(link)
    assert page.locator("#refused-id").is_visible() and page.locator("#refused-en").is_visible()
    assert page.locator("#rating-done").count() == 0
    assert Rating.objects.count() == 1


def test_web_request_waits_for_the_visitor_closes_after_7_days_and_is_rated(
    live_server: Any, browser: Any, site: dict
) -> None:
    base = live_server.url
    site_on_live_server(live_server)
    requested: list[str] = []

    # The visitor, on a phone: verify the e-mail, search, no hit, a complete request.
    phone = browser.new_context(viewport=PHONE_VIEWPORT, locale="id-ID")
    watch_requests(phone, requested)
    visitor = phone.new_page()
    visitor.goto(f"{base}/pst/request/")
    verify_and_request_after_no_hit(
        visitor,
        email=EMAIL,
        search="kemiskinan per kecamatan",
        title="Kemiskinan per kecamatan",
        question="Berapa persentase penduduk miskin per kecamatan?",
        indicator="Persentase penduduk miskin",
        period="2024",
        purpose="Skripsi",
    )
    ticket = Ticket.objects.get()
    request = OnlineRequest.objects.get()
    assert request.complete_at_submission and request.search_results == 0
    assert clock(ticket).sla_state == SLAState.PENDING  # the online standard starts on "complete"

    # Staff, on a laptop: mark it complete (the clock runs), then ask (the clock pauses).
    laptop = browser.new_context(viewport=LAPTOP_VIEWPORT, locale="id-ID")
    watch_requests(laptop, requested)
    staff = laptop.new_page()
    staff_login(staff, base)
    staff.goto(f"{base}{ticket.get_absolute_url()}")
    staff.click("#pst-sla-timeline #pst-sla-complete")
    staff.wait_for_selector("#pst-sla-wait")
    pst = clock(ticket)
    assert pst.sla_state == SLAState.RUNNING and pst.sla_due_at is not None
    mail.outbox.clear()
    staff.fill("#pst-sla-wait-comment", QUESTION)
    staff.click("#pst-sla-wait")
    staff.wait_for_selector("#pst-sla-resume")
    pst = clock(ticket)
    assert pst.sla_state == SLAState.PAUSED and pst.waiting_for_visitor_since is not None
    assert any(EMAIL in m.to and QUESTION in m.body for m in mail.outbox)

    # The visitor reads the question on the plugin's visitor page and does not answer.
    visitor.click("#pst-follow")
    visitor.wait_for_load_state()
    assert QUESTION in visitor.content()
    public_view = visitor.url

    # Eight days later (frozen clock) the tick closes the conversation and offers a rating.
    mail.outbox.clear()
    later = (timezone.now() + dt.timedelta(days=8)).isoformat()
    call_command("pst_sla_tick", f"--now={later}")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.CLOSED_STATUS
    close = FollowUp.objects.get(ticket=ticket, new_status=Ticket.CLOSED_STATUS)
    assert close.public and "7" in close.comment
    assert "membuka kembali" in close.comment or "reopens" in close.comment
    pst = clock(ticket)
    assert pst.waiting_for_visitor_since is None and pst.sla_state == SLAState.MET
    first_sentence = close.comment.split(".")[0]
    assert any(EMAIL in m.to and first_sentence in m.body for m in mail.outbox)
    (rating_mail,) = [m for m in mail.outbox if "/pst/rate/" in m.body]
    assert rating_mail.to == [EMAIL]
    link = re.search(r"https?://\S+/pst/rate/\S+/", rating_mail.body).group(0)
    assert link.startswith(base)

    staff.reload()
    assert close.title in staff.inner_text("body")  # helpdesk's history on the staff page
    visitor.goto(public_view)
    assert first_sentence in visitor.content()
    # The visitor's own page offers the rating in place too.
    assert visitor.locator("#pst-rating-form").is_visible()

    # The visitor rates from the e-mailed link; the spent link is refused.
    rate(visitor, link, "Pertanyaannya jelas, saya lupa membalas.")
    assert_rated_once(ticket, visitor, link, "Pertanyaannya jelas, saya lupa membalas.")
    visitor.goto(public_view)
    assert visitor.locator("#pst-rating-form").count() == 0
    assert visitor.locator("#pst-rated").is_visible()
    phone.close()
    laptop.close()
    assert_stayed_on_site(requested, base)


def whatsapp_webhook(base: str, text: str) -> dict:
    """One signed Cloud API text message, posted over real HTTP to the live site's webhook."""
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
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
                                        "id": "wamid.FLOW1",
                                        "timestamp": "1749416383",
                                        "type": "text",
                                        "text": {"body": text},
                                    }
                                ],
                            },
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
        return json.loads(response.read())


def test_whatsapp_ticket_resolved_rating_link_in_the_chat(
    live_server: Any, browser: Any, site: dict
) -> None:
    base = live_server.url
    site_on_live_server(live_server)
    requested: list[str] = []
    assert whatsapp_webhook(base, "Apa kode KBLI untuk warung kopi?")["created"] == 1
    ticket = Ticket.objects.get()

    # Staff answer and resolve in one go on helpdesk's ticket page.
    laptop = browser.new_context(viewport=LAPTOP_VIEWPORT, locale="id-ID")
    watch_requests(laptop, requested)
    staff = laptop.new_page()
    staff_login(staff, base)
    staff.goto(f"{base}{ticket.get_absolute_url()}")
    tab = staff.locator("#respond-tab")
    if tab.count():
        tab.click()
    staff.fill("#commentBox", "Warung kopi termasuk KBLI 56303.")
    staff.check(f"input[name=new_status][value='{Ticket.RESOLVED_STATUS}']")
    assert staff.is_checked("#id_public")
    with staff.expect_navigation():
        staff.click("#ticket-respond-form button.btn-success[type=submit]")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.RESOLVED_STATUS

    out = list(WhatsAppMessage.objects.filter(direction="out").order_by("pk"))
    assert [m.status for m in out] == ["sent", "sent"]
    assert all(m.thread.wa_id == PHONE for m in out)
    assert "KBLI 56303" in out[0].text
    assert "/pst/rate/" in out[1].text
    link = re.search(r"https?://\S+/pst/rate/\S+/", out[1].text).group(0)
    assert link.startswith(base)

    # The visitor opens the link from the chat on the phone and rates.
    phone = browser.new_context(viewport=PHONE_VIEWPORT, locale="id-ID")
    watch_requests(phone, requested)
    visitor = phone.new_page()
    rate(visitor, link, "Cepat lewat WhatsApp.")
    assert_rated_once(ticket, visitor, link, "Cepat lewat WhatsApp.")
    assert RatingInvitation.objects.filter(ticket=ticket).count() == 1
    phone.close()
    laptop.close()
    assert_stayed_on_site(requested, base)
