"""The ticket's QR code and the visitor's live page in a real Chromium against a real
`pst-branch-agent run`: the printed ticket keeps the code on the roll, the phone's page changes by
itself to "your number is being called, desk 1" when the desk calls, and a paused desk is shown."""

import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sync.transport import generate_keypair
from tests.agent.test_browser import STAFF_PASSWORD, cli
from tests.browser import agent_login, chromium_fixture, screenshot
from tests.support.processes import free_port, kiosk_answers, start_agent, wait_until_answers

pytestmark = pytest.mark.browser

PRINT_WIDTH_PX = 48 / 25.4 * 96  # the ticket's 48 mm of print width, in CSS pixels
AXE = (Path(__file__).resolve().parent.parent / "vendor" / "axe-core-4.14.1.min.js").read_text()


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA rules, critical and serious violations (as the other pages)."""
    page.add_script_tag(content=AXE)
    return page.evaluate(
        """async () => {
            const r = await axe.run(document,
                {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
            return r.violations.filter(v => v.impact === "critical" || v.impact === "serious")
                .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
        }"""
    )


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    home = tmp_path_factory.mktemp("live-agent") / "data"
    cli(
        home,
        "init",
        "--branch",
        "1222",
        "--central",
        f"tcp://127.0.0.1:{free_port()}",  # nothing listens: central is down
        f"--server-key={generate_keypair().public_key}",
        "--id-hash-key",
        "browser-test-hash-key-0123456789",
        "--password",
        "kopi-susu-pagi",
    )
    cli(home, "set-allowed-hosts", "--host", "pst-1222.lan")
    cli(home, "createuser", "meja", "--role", "desk_officer", "--password", STAFF_PASSWORD)
    cli(home, "createuser", "kepala", "--role", "branch_head", "--password", STAFF_PASSWORD)
    port = free_port()
    process = start_agent(home, port, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not wait_until_answers(process, lambda: kiosk_answers(port)):
        if process.poll() is not None:
            pytest.fail("the agent exited: " + process.stdout.read())
        process.kill()
        pytest.fail("the agent did not become ready")
    yield {"base": f"http://127.0.0.1:{port}", "home": home}
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


browser = chromium_fixture(scope="module", name="browser")


def test_the_phone_follows_the_ticket_until_its_number_is_called(agent, browser):
    base = agent["base"]
    kiosk = browser.new_context(locale="id-ID", viewport={"width": 1920, "height": 1080}).new_page()
    kiosk.goto(f"{base}/kiosk/")
    kiosk.get_by_role("button", name=re.compile("Konsultasi Statistik")).click()
    kiosk.wait_for_url(re.compile(r"/kiosk/ticket/"))
    assert kiosk.locator(".ticket-position").inner_text() == "Posisi dalam antrean: 1"
    assert "perkiraan belum tersedia" in kiosk.locator(".ticket-estimate").inner_text()
    qr = kiosk.locator(".ticket-qr-code svg")
    assert qr.is_visible()
    url = kiosk.locator(".ticket-qr-url").inner_text()
    assert urlsplit(url).hostname != "127.0.0.1"
    screenshot(kiosk, "live-ticket")
    kiosk.emulate_media(media="print")
    box = qr.bounding_box()
    assert 0 < box["width"] <= PRINT_WIDTH_PX and box["height"] == box["width"]

    phone = browser.new_context(
        locale="id-ID", viewport={"width": 390, "height": 844}, is_mobile=True
    ).new_page()
    phone.goto(base + urlsplit(url).path)
    status = phone.locator(".live-status")
    assert status.get_attribute("aria-live") == "polite"
    assert phone.locator(".live-text").inner_text() == "Anda nomor 1 dalam antrean."
    assert axe_violations(phone) == []

    desk = browser.new_context(locale="id-ID").new_page()
    agent_login(desk, base, "meja", STAFF_PASSWORD)
    desk.goto(f"{base}/desk/1/")
    desk.select_option("select[name=reason]", "sholat")
    desk.get_by_role("button", name="Jeda meja ini").click()
    assert "Meja ini dijeda (sholat)" in desk.locator(".desk-pause").inner_text()
    assert axe_violations(desk) == []
    screenshot(desk, "live-desk-paused")
    board = browser.new_context(locale="id-ID").new_page()
    board.goto(f"{base}/board/")
    paused = board.locator('.board-desk[data-desk="1"] .board-desk-paused')
    assert paused.inner_text() == "Jeda: sholat"
    desk.get_by_role("button", name="Lanjutkan").click()
    paused.wait_for(state="hidden", timeout=10_000)  # the board polls every second
    desk.get_by_role("button", name=re.compile("Panggil berikutnya")).click()

    # The phone's page polls by itself (every 15 s): no reload.
    phone.locator('.live-status[data-status="called"]').wait_for(timeout=40_000)
    assert phone.locator(".live-text").inner_text() == "Nomor Anda sedang dipanggil, meja 1."
    assert axe_violations(phone) == []
    screenshot(phone, "live-phone-called")

    head = browser.new_context(locale="id-ID").new_page()
    agent_login(head, base, "kepala", STAFF_PASSWORD)
    head.goto(f"{base}/head/")
    row = head.locator('#head-desk-table tr[data-desk="1"]')
    assert row.locator('[data-k="pauses"]').inner_text() == "1"
    assert "sholat" in head.locator(".head-pause-list").inner_text()
    assert axe_violations(head) == []
    # The same pages in English: the live page and the head's page.
    english = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    english_phone = english.new_page()
    english_phone.goto(base + urlsplit(url).path)
    assert english_phone.evaluate("document.documentElement.lang") == "en"
    assert axe_violations(english_phone) == []
    english_head = browser.new_context(locale="en-US").new_page()
    agent_login(english_head, base, "kepala", STAFF_PASSWORD)
    english_head.goto(f"{base}/head/")
    assert english_head.evaluate("document.documentElement.lang") == "en"
    assert axe_violations(english_head) == []
    screenshot(head, "live-head")
