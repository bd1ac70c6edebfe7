"""axe-core's WCAG 2.1 A/AA rules, in a real Chromium, on every page the plugin serves, in
Indonesian and English: no critical or serious violation in the plugin's own markup.

axe-core is vendored (tests/vendor/, MPL-2.0, from the npm registry: `npm pack axe-core@4.14.1`),
so the test needs no network. helpdesk's stock staff frame (its header, sidebar and footer) is
excluded on staff pages: its remaining violations are listed in docs/accessibility.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from helpdesk.models import KBCategory, KBItem, Queue, Ticket
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.models import Channel, RatingInvitation
from pst_helpdesk_ext.services import ratings
from pst_helpdesk_ext.services.branches import create_branch
from tests.browser import chromium_fixture, helpdesk_login
from tests.central.test_ui import make_pst_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).resolve().parent.parent / "vendor" / "axe-core-4.14.1.min.js").read_text()
# helpdesk's own staff frame around the plugin's staff pages (not the plugin's markup).
STOCK_STAFF_FRAME = [["body > nav.navbar"], ["ul.sidebar"], ["footer"]]
PASSWORD = "staf-pw-1222"

chromium = chromium_fixture(scope="module")


def violations(page: Any, exclude: list[list[str]], include: list[list[str]]) -> list[str]:
    page.add_script_tag(content=AXE)
    result = page.evaluate(
        """async ([include, exclude]) => {
            const r = await axe.run({include, exclude},
                {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
            return r.violations.filter(v => v.impact === "critical" || v.impact === "serious")
                .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
        }""",
        [include, exclude],
    )
    return list(result)


@pytest.fixture
def site(live_server) -> dict[str, Any]:
    branch = create_branch("1222", "Labuhanbatu Selatan")
    online = make_pst_ticket(branch, channel=Channel.WEB, title="Data inflasi")
    walk_in = make_pst_ticket(branch, title="Data kemiskinan 2024")
    queue = Queue.objects.create(title="Konsultasi", slug="pst-konsultasi")
    category = KBCategory.objects.create(
        name="Inflasi", title="Inflasi", slug="inflasi", description="Inflasi bulanan", queue=queue
    )
    KBItem.objects.create(category=category, title="IHK", question="Apa itu IHK?", answer="IHK.")
    staff = get_user_model().objects.create_user(
        "staf", "staf@example.bps.go.id", PASSWORD, is_staff=True, is_superuser=True
    )
    # A second, resolved online consultation: its rating link.
    rated = make_pst_ticket(branch, channel=Channel.WEB, title="Data IPM")
    update_ticket(staff, rated.ticket, comment="Tabel 3.1", public=True, new_status=3)
    invitation = RatingInvitation.objects.get(ticket=rated.ticket)
    assert rated.ticket.status == Ticket.RESOLVED_STATUS
    return {
        "base": live_server.url,
        "online": online,
        "walk_in": walk_in,
        "rate": ratings.link_path(invitation),
    }


@pytest.mark.parametrize("language", ["id", "en"])
def test_no_serious_violation_on_the_plugins_pages(chromium, site, language):
    base = site["base"]
    context = chromium.new_context(
        viewport={"width": 1366, "height": 768}, extra_http_headers={"Accept-Language": language}
    )
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(path: str, exclude: list[list[str]], include: list[list[str]] | None = None) -> None:
        if path:
            page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == language, path
        bad = violations(page, exclude, include or [["html"]])
        if bad:
            found[path or page.url] = bad

    public = ["/", "/kb/", "/kb/inflasi/", "/tickets/submit/", "/pst/request/", "/pst/complaint/"]
    for path in public:
        check(path, [])
    # The forms with their errors shown (aria-describedby must name existing ids).
    page.goto(base + "/pst/request/")
    page.locator("form[method=post] button[type=submit]").first.click()
    page.wait_for_load_state()
    check("", [])
    page.goto(base + "/pst/complaint/")
    page.locator("form[method=post] button[type=submit]").first.click()
    page.wait_for_load_state()
    check("", [])
    check(site["rate"], [])
    page.locator("form[method=post] button[type=submit]").first.click()  # nothing chosen
    page.wait_for_load_state()
    check("", [])
    # The request flow past step 1: "check your e-mail", search, ask (also with its errors).
    mail.outbox.clear()
    page.goto(base + "/pst/request/")
    page.fill("input[name=name]", "Rina")
    page.fill("input[name=email]", "rina@example.com")
    page.locator("form[method=post] button[type=submit]").first.click()
    page.wait_for_selector("#pst-check-email")
    check("", [])
    link = re.search(r"https?://\S+/pst/request/verify/\S+", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.wait_for_selector("#pst-search")
    check("", [])
    check("/pst/request/ask/", [])
    page.locator("form[method=post] button[type=submit]").first.click()
    page.wait_for_load_state()
    check("", [])

    helpdesk_login(page, base, "staf", PASSWORD)
    staff = [
        "/pst/",
        "/pst/tickets/",
        "/pst/triage/",
        "/pst/reports/ikm/",
        f"/pst/tickets/{site['online'].ticket_id}/conversation/",
    ]
    for path in staff:
        check(path, STOCK_STAFF_FRAME)
    # helpdesk's ticket page: the plugin's panel and clock timeline in helpdesk's stock markup.
    check(
        f"/tickets/{site['walk_in'].ticket_id}/",
        [],
        [["#pst-navigation"], ["#pst-ticket-panel"], ["#pst-sla-timeline"]],
    )
    context.close()
    assert found == {}


def test_public_pages_run_without_console_errors(chromium, site):
    """The public frame loads jQuery before the pages' inline scripts and no staff-only script
    (helpdesk's sidebar toggle): no error in the console, on a phone."""
    base = site["base"]
    ticket = site["online"].ticket
    public_view = (
        f"/view/?ticket={ticket.ticket_for_url}&email={ticket.submitter_email}"
        f"&key={ticket.secret_key}"
    )
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    for path in ("/", "/kb/", "/kb/inflasi/", "/tickets/submit/", "/pst/request/", public_view):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
    context.close()
    assert errors == []
