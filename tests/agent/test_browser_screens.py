"""The office floor's screens in a real Chromium against a real `pst-branch-agent run`: the kiosk
on a landscape and a portrait touch screen and a tablet, the ticket, the board on a 1080p and a 4K
TV (each fills its screen, nothing cut off, no sideways scroll, touch targets for a finger); the
kiosk's language belongs to one visitor; a tap during printing gives one ticket; the running text
and logo the head of office sets; and axe-core's WCAG 2.1 A/AA rules on every agent page in
Indonesian and English.

With PST_SCREENSHOT_DIR set, every screen is kept as a screenshot (to look at the layout).
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import pytest

from sync.transport import generate_keypair
from tests.agent.test_browser import cli
from tests.browser import agent_login, chromium_fixture, screenshot
from tests.e2e.service_day import foreign_words
from tests.support.processes import (
    allow_fast_kiosk,
    free_port,
    kiosk_answers,
    start_agent,
    wait_until_answers,
)

pytestmark = pytest.mark.browser

browser = chromium_fixture(scope="module", name="browser")
ADMIN_PASSWORD = "kopi-susu-pagi"  # the first admin `init` made in the agent fixture
AXE = (Path(__file__).resolve().parent.parent / "vendor" / "axe-core-4.14.1.min.js").read_text()
TOUCH = {
    "landscape": {"width": 1920, "height": 1080},
    "portrait": {"width": 1080, "height": 1920},
    "tablet": {"width": 1280, "height": 800},
}
TV = {"1080p": {"width": 1920, "height": 1080}, "4k": {"width": 3840, "height": 2160}}
FINGER_PX = 76  # 2 cm at CSS's 96 px per inch
# Words that are the same in both languages or are data (service and office names).
SHARED_WORDS = {"pst", "bps", "english", "bahasa", "indonesia", "wib"}


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    """A branch agent with central down, whose kiosk limits let this module take many numbers
    from one address in a minute (the defaults stay 10 a minute per kiosk)."""
    home = tmp_path_factory.mktemp("screens-agent") / "data"
    cli(
        home,
        *("init", "--branch", "1222", "--name", "BPS Labuhanbatu Selatan"),
        *("--central", f"tcp://127.0.0.1:{free_port()}"),
        f"--server-key={generate_keypair().public_key}",
        *("--id-hash-key", "browser-test-hash-key-0123456789", "--password", ADMIN_PASSWORD),
    )
    config = home / "agent.toml"
    config.write_text(allow_fast_kiosk(config.read_text()))
    cli(home, "createuser", "budi", "--role", "desk_officer", "--password", "teh-manis-siang")
    port = free_port()
    process = start_agent(home, port, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not wait_until_answers(process, lambda: kiosk_answers(port)):
        if process.poll() is None:
            process.kill()
        pytest.fail("the agent did not become ready: " + process.stdout.read())
    yield {"base": f"http://127.0.0.1:{port}", "home": home}
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def tiny_png(width: int = 8, height: int = 4) -> bytes:
    """A real PNG (blue), made here: no image file in the repository."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\x0b\x53\x94" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


LAYOUT = """(content) => {
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const outside = [], clipped = [];
  for (const el of document.body.querySelectorAll("*")) {
    // The running text runs in and out of its bar by design.
    if (el.closest("[data-ticker]") && !el.hasAttribute("data-ticker")) continue;
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") continue;
    if (el.closest("[hidden]")) continue;
    if (style.position === "fixed" && el.matches(".board-sound, .board-offline")) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < -1 || r.top < -1 || r.right > vw + 1 || r.bottom > vh + 1)
      outside.push(name(el) + " " + [r.left, r.top, r.right, r.bottom].map(Math.round));
    const hides = style.overflowX === "hidden" || style.overflowY === "hidden";
    const over = el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1;
    if (hides && over && !el.hasAttribute("data-ticker"))
      clipped.push(name(el) + " " + [el.scrollWidth, el.scrollHeight, el.clientWidth,
                                     el.clientHeight]);
  }
  let top = Infinity, bottom = -Infinity;
  for (const sel of content) for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    top = Math.min(top, r.top);
    bottom = Math.max(bottom, r.bottom);
  }
  return {outside, clipped, fill: (bottom - top) / vh,
          sideways: document.documentElement.scrollWidth > vw + 1};
}"""


def assert_fills_the_screen(page: Any, content: list[str], minimum: float = 0.85) -> None:
    layout = page.evaluate(LAYOUT, content)
    assert layout["outside"] == [], "cut off: outside the screen"
    assert layout["clipped"] == [], "cut off: clipped by its box"
    assert not layout["sideways"], "scrolls sideways"
    assert layout["fill"] >= minimum, f"fills only {layout['fill']:.0%} of the screen height"


def assert_finger_sized(page: Any, selector: str) -> None:
    boxes = page.locator(selector)
    assert boxes.count() >= 1, selector
    for index in range(boxes.count()):
        box = boxes.nth(index).bounding_box()
        assert box["width"] >= FINGER_PX and box["height"] >= FINGER_PX, (selector, box)


def board_waiting(base: str, letter: str) -> int:
    with urllib.request.urlopen(f"{base}/api/queue", timeout=10) as response:  # noqa: S310
        state = json.loads(response.read())
    return next(w["count"] for w in state["waiting"] if w["letter"] == letter)


@pytest.mark.parametrize("screen", list(TOUCH))
def test_the_kiosk_and_ticket_fill_a_touch_screen(agent, browser, screen):
    base, size = agent["base"], TOUCH[screen]
    context = browser.new_context(locale="id-ID", viewport=size, has_touch=True)
    page = context.new_page()
    page.goto(f"{base}/kiosk/")
    assert page.evaluate("document.documentElement.lang") == "id"
    assert_fills_the_screen(page, [".kiosk-head", ".kiosk-button"])
    assert_finger_sized(page, ".kiosk-button")
    assert_finger_sized(page, ".kiosk-lang-button")
    assert "BPS Labuhanbatu Selatan" in page.locator(".kiosk-office").inner_text()
    screenshot(page, f"kiosk_{screen}_id")

    # This visitor reads English: one big tap, then the number in English.
    page.get_by_role("link", name="English").tap()
    page.wait_for_url(re.compile(r"/kiosk/\?lang=en$"))
    assert page.evaluate("document.documentElement.lang") == "en"
    assert_fills_the_screen(page, [".kiosk-head", ".kiosk-button"])
    screenshot(page, f"kiosk_{screen}_en")
    page.get_by_role("button", name=re.compile("Library")).tap()
    page.wait_for_url(re.compile(r"/kiosk/ticket/.*\?lang=en$"))
    assert "Queue number" in page.locator(".ticket").inner_text()
    assert_fills_the_screen(page, [".ticket", ".ticket-actions"])
    assert_finger_sized(page, ".ticket-actions .ticket-done, .ticket-actions .ticket-again")
    screenshot(page, f"ticket_{screen}_en")

    # "Done" is the visitor's last tap: the next visitor finds the kiosk in Indonesian.
    page.get_by_role("link", name="Done").tap()
    page.wait_for_url(f"{base}/kiosk/")
    assert page.evaluate("document.documentElement.lang") == "id"
    assert page.get_by_role("link", name="English").is_visible()

    # A refused request (a service that no longer exists): the message and every button still
    # fit on the screen.
    page.evaluate(
        "() => { const f = document.querySelector('form.kiosk-buttons');"
        " const i = document.createElement('input'); i.type = 'hidden'; i.name = 'service';"
        " i.value = 'tidak-ada'; f.appendChild(i); f.submit(); }"
    )
    page.locator(".messages").wait_for()
    assert "Silakan pilih layanan lagi" in page.locator(".messages").inner_text()
    assert_fills_the_screen(page, [".messages", ".kiosk-button"])
    screenshot(page, f"kiosk_{screen}_refused")
    context.close()


def test_a_kiosk_left_in_english_returns_to_indonesian(agent, browser):
    base = agent["base"]
    context = browser.new_context(locale="en-US", viewport=TOUCH["portrait"])
    page = context.new_page()
    page.clock.install()
    page.goto(f"{base}/kiosk/")
    # The browser asks for English, the office's kiosk starts in Indonesian for everyone.
    assert page.evaluate("document.documentElement.lang") == "id"
    page.goto(f"{base}/kiosk/?lang=en")
    assert "Welcome to PST" in page.content()
    page.clock.run_for(30_000)
    page.mouse.click(5, 5)  # someone is still there: the wait starts again
    page.clock.run_for(45_000)
    assert page.url.endswith("?lang=en")
    page.clock.run_for(20_000)  # then nobody touches it for a minute
    page.wait_for_url(f"{base}/kiosk/")
    assert "Selamat datang di PST" in page.content()

    # A ticket in English left on screen goes back to the kiosk in Indonesian too.
    page.goto(f"{base}/kiosk/?lang=en")
    page.get_by_role("button", name=re.compile("Library")).click()
    page.wait_for_url(re.compile(r"\?lang=en$"))
    page.clock.run_for(15_000)
    page.wait_for_url(f"{base}/kiosk/")
    assert "Selamat datang di PST" in page.content()
    context.close()


def test_taps_during_printing_give_one_ticket(agent, browser):
    base = agent["base"]
    context = browser.new_context(locale="id-ID", viewport=TOUCH["landscape"], has_touch=True)
    page = context.new_page()
    page.goto(f"{base}/kiosk/")
    before = board_waiting(base, "J")
    # Three quick taps on the same button while the first is on its way (and printing).
    page.evaluate(
        "() => { const b = [...document.querySelectorAll('.kiosk-button')]"
        ".find(x => x.textContent.includes('Penjualan'));"
        " b.click(); b.click(); b.click(); }"
    )
    page.wait_for_url(re.compile(r"/kiosk/ticket/"))
    number = page.locator(".ticket-number").inner_text().strip()
    assert number.startswith("J-")
    assert board_waiting(base, "J") == before + 1

    # The same form sent again (the browser's "resend" after a frozen print dialog): its token
    # was used, so the answer is the same ticket.
    page.go_back()
    page.wait_for_url(f"{base}/kiosk/")
    form = page.evaluate(
        "() => Object.fromEntries(new FormData(document.querySelector('form.kiosk-buttons')))"
    )
    answers = [
        context.request.post(
            f"{base}/kiosk/",
            form={**form, "service": "penjualan"},
            headers={"Referer": f"{base}/kiosk/"},
        )
        for _ in range(2)
    ]
    assert [a.status for a in answers] == [200, 200]
    assert answers[0].url == answers[1].url and "/kiosk/ticket/" in answers[0].url
    assert board_waiting(base, "J") == before + 2

    # A dispenser button box pressed twice while its printer is busy: the same request_id gives
    # the same number (docs/office-floor.md).
    def press(request_id):
        request = urllib.request.Request(  # noqa: S310 - our own http URL
            f"{base}/api/queue/issue",
            data=json.dumps({"service": "penjualan", "request_id": request_id}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())

    first, again = press("box-1-press-0001"), press("box-1-press-0001")
    assert first[0] == 201 and again[0] == 200
    assert first[1]["queue_number"] == again[1]["queue_number"]
    assert board_waiting(base, "J") == before + 3
    context.close()


@pytest.fixture(scope="module")
def screens_set(agent, browser):
    """The head of office set a running text and the logo; two numbers were called."""
    base = agent["base"]
    context = browser.new_context(locale="id-ID")
    page = context.new_page()
    agent_login(page, base, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="Kios dan papan").click()
    # A file that is no picture is refused with a clear message; the text typed stays.
    page.fill("input[name=running_text]", "Layanan PST buka Senin-Jumat 08.00-15.30 WIB")
    page.set_input_files(
        "input[name=logo]",
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": b"<svg onload=x>"}],
    )
    page.get_by_role("button", name="Simpan").click()
    error = page.locator('.error[data-field="logo"]')
    assert "PNG atau JPEG" in error.inner_text()
    assert page.locator("input[name=logo]").get_attribute("aria-describedby").split()[-1] == (
        error.get_attribute("id")
    )
    assert page.locator("input[name=running_text]").input_value().startswith("Layanan PST")
    page.set_input_files(
        "input[name=logo]",
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": tiny_png()}],
    )
    page.get_by_role("button", name="Simpan").click()
    assert "Tersimpan" in page.locator(".messages").inner_text()
    token = cli(agent["home"], "createtoken", "budi", "--device", "screens-desk").stdout.strip()

    def api(path, body):
        request = urllib.request.Request(  # noqa: S310 - our own http URL
            base + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read() or b"{}")

    called = []
    for n, desk in enumerate(("1", "2")):
        api("/api/queue/issue", {"service": "rekomendasi", "request_id": f"screens-{n:04d}"})
        called.append(api(f"/api/desk/{desk}/call-next", {"request_id": f"screens-call-{n:04d}"}))
    context.close()
    return {**agent, "called": [c["queue_number"] for c in called]}


@pytest.mark.parametrize("tv", list(TV))
def test_the_board_fills_a_tv(screens_set, browser, tv):
    base, size = screens_set["base"], TV[tv]
    context = browser.new_context(locale="id-ID", viewport=size)
    page = context.new_page()
    page.goto(f"{base}/board/")
    ticker = page.locator("[data-ticker]")
    assert ticker.is_visible() and "08.00-15.30" in ticker.inner_text()
    assert page.locator(".board-head img.office-logo").evaluate("i => i.naturalWidth") == 8
    assert "BPS Labuhanbatu Selatan" in page.locator(".board-office").inner_text()
    recent = page.locator(".board-recent-list li")
    recent.filter(has_text=screens_set["called"][-1]).wait_for()
    assert [recent.nth(i).locator(".board-recent-number").inner_text() for i in range(2)] == (
        list(reversed(screens_set["called"]))
    )
    assert_fills_the_screen(
        page, [".board-head", ".board-now", ".board-desks", ".board-waiting", "[data-ticker]"]
    )
    # At 5 m: the called number a fifth of the screen high, desk numbers a tenth, no text under
    # 2.5 % of the screen height (27 px on 1080p).
    height = size["height"]
    assert page.locator(".board-now-number").bounding_box()["height"] >= 0.2 * height
    assert page.locator(".board-desk-number").first.bounding_box()["height"] >= 0.09 * height
    smallest = page.evaluate(
        "() => Math.min(...[...document.querySelectorAll('#board *')]"
        ".filter(e => e.offsetParent"
        " && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))"
        ".filter(e => !e.closest('.board-sound, .board-offline'))"
        ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
    )
    assert smallest >= 0.025 * height
    screenshot(page, f"board_{tv}")
    context.close()


def staff_pages(page: Any, base: str) -> list[tuple[str, str]]:
    """(name, url) of the staff pages to check, after making the states they show."""
    return [
        ("home-staff", f"{base}/"),
        ("front", f"{base}/front/"),
        ("desk-choose", f"{base}/desk/"),
        ("sync", f"{base}/sync/"),
        ("search", f"{base}/search/?q=inflasi"),
        ("screens", f"{base}/screens/"),
    ]


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_agent_page_passes_axe(screens_set, browser, language):
    """axe-core's WCAG 2.1 A/AA rules (critical and serious), every agent page and state, in one
    language; staff pages also at a tablet's width without sideways scrolling."""
    base = screens_set["base"]
    locale = "id-ID" if language == "id" else "en-US"
    lang = "" if language == "id" else "?lang=en"
    failures: dict[str, list[str]] = {}
    stray: dict[str, list[str]] = {}

    def check(page: Any, name: str, words: bool = True) -> None:
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.lang") == language, name
        page.add_script_tag(content=AXE)
        found = page.evaluate(
            """async () => {
                const r = await axe.run(document,
                    {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
                return r.violations.filter(v => v.impact === "critical" || v.impact === "serious")
                    .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
            }"""
        )
        if found:
            failures[name] = found
        found_words = foreign_words(page.locator("body").inner_text(), language, SHARED_WORDS)
        if words and found_words:
            stray[name] = found_words
        screenshot(page, f"axe_{language}_{name}")

    screens = browser.new_context(locale=locale, viewport=TOUCH["landscape"])
    page = screens.new_page()
    for name, url in (
        ("kiosk", f"{base}/kiosk/{lang}"),
        ("appointment", f"{base}/kiosk/appointment/{lang}"),
        ("board", f"{base}/board/{lang}"),  # the office's language, or ?lang=en
        ("rating-choose", f"{base}/rating/"),
        ("rating-wait", f"{base}/rating/1/"),
        ("home", f"{base}/"),
        ("login", f"{base}/login/"),
        ("not-found", f"{base}/no-such-page/"),
    ):
        page.goto(url)
        # The board's call line is Indonesian on purpose (it is what the voice says to the room).
        check(page, name, words=not (name == "board" and language == "en"))
    page.goto(f"{base}/kiosk/appointment/{lang}")
    page.fill("#appointment-code", "ZZZ-999")
    page.press("#appointment-code", "Enter")
    page.locator("#appointment-error").wait_for()
    check(page, "appointment-refused")
    page.goto(f"{base}/kiosk/{lang}")
    page.locator(".kiosk-button").first.click()
    page.wait_for_url(re.compile(r"/kiosk/ticket/"))
    check(page, "ticket")
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong-password")
    page.click("main button[type=submit]")
    check(page, "login-refused")
    screens.close()

    staff = browser.new_context(locale=locale, viewport=TOUCH["tablet"])
    page = staff.new_page()
    agent_login(page, base, "admin", ADMIN_PASSWORD)
    for name, url in staff_pages(page, base):
        page.goto(url)
        check(page, name)
        assert page.evaluate("document.documentElement.scrollWidth") <= TOUCH["tablet"]["width"]
    # The guest book: empty, refused (errors read out through aria-describedby), saved.
    page.goto(f"{base}/front/")
    page.locator("a.visit-link").first.click()
    check(page, "guestbook")
    page.click("main button[type=submit]")
    page.locator('.error[data-field="name"]').wait_for()
    check(page, "guestbook-refused")
    described = page.locator("input[name=name]").get_attribute("aria-describedby")
    assert page.locator(f"#{described.split()[-1]}").is_visible()
    entry_url = page.url
    page.fill("input[name=name]", "Siti Aminah")
    page.fill("input[name=email]", "siti@example.ac.id")
    page.fill("input[name=id_number]", "1222014708950002")
    page.fill("textarea[name=purpose]", "Data kemiskinan 2024")
    page.check("input[name=consent]")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/front/$"))
    check(page, "front-saved")
    page.goto(entry_url)
    check(page, "guestbook-done")
    # The desk: called, then a refused "save and finish".
    desk = "2" if language == "id" else "1"
    page.goto(f"{base}/desk/{desk}/")
    if page.locator("button[data-key=n]").count():
        check(page, "desk-idle")
        page.locator("button[data-key=n]").click()
        page.wait_for_load_state()
    check(page, "desk-called")
    keys = page.locator("button[data-key]")
    for index in range(keys.count()):
        assert keys.nth(index).get_attribute("aria-keyshortcuts"), "shortcut hidden from AT"
    page.locator("button[data-key=s]").click()
    page.wait_for_load_state()
    page.get_by_role("button", name=re.compile("Simpan dan selesai|Save and finish")).click()
    page.wait_for_load_state()
    check(page, "desk-refused")
    page.locator("input[name=subject]").first.check()
    page.fill("textarea[name=notes]", "Tabel kemiskinan per kecamatan")
    page.get_by_role("button", name=re.compile("Simpan dan selesai|Save and finish")).click()
    page.wait_for_load_state()
    check(page, "desk-finished")
    # The rating kiosk at that desk: the form, refused, then thanks.
    page.goto(f"{base}/rating/{desk}/")
    check(page, "rating")
    page.locator("form.rating-form button[type=submit]").click()
    page.wait_for_load_state()
    check(page, "rating-refused")
    for name in sorted(
        set(
            page.eval_on_selector_all("input[type=radio][value='4']", "els => els.map(e => e.name)")
        )
    ):
        page.locator(f"input[name={name}][value='4']").check()
    page.locator("form.rating-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/thanks/$"))
    check(page, "rating-thanks")
    staff.close()

    officer = browser.new_context(locale=locale, viewport=TOUCH["tablet"])
    page = officer.new_page()
    agent_login(page, base, "budi", "teh-manis-siang")
    page.goto(f"{base}/screens/")
    check(page, "forbidden")
    officer.close()
    assert failures == {}
    assert stray == {}


def test_the_front_office_list_updates_in_place_without_taking_the_focus(agent, browser):
    base = agent["base"]
    context = browser.new_context(locale="id-ID", viewport=TOUCH["tablet"])
    page = context.new_page()
    page.clock.install()
    agent_login(page, base, "admin", ADMIN_PASSWORD)
    page.goto(f"{base}/front/")
    page.evaluate("window.__samePage = true")  # gone if the page reloads
    page.get_by_role("link", name="Perbarui sekarang").focus()

    def issue(request_id):
        request = urllib.request.Request(  # noqa: S310 - our own http URL
            f"{base}/api/queue/issue",
            data=json.dumps({"service": "konsultasi", "request_id": request_id}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())["queue_number"]

    number = issue("front-refresh-0001")
    page.clock.run_for(16_000)
    page.locator("a.visit-link").filter(has_text=number).wait_for()
    assert page.evaluate("window.__samePage") is True
    assert page.evaluate("document.activeElement.textContent.trim()") == "Perbarui sekarang"
    assert "Daftar diperbarui pukul" in page.locator("[data-refresh-status]").inner_text()

    # The officer is on the list with the keyboard: it is left alone until they leave it.
    page.evaluate(
        "() => { window.__fetches = 0; const real = window.fetch;"
        " window.fetch = function (url) {"
        "   if (String(url).endsWith('/front/')) window.__fetches++;"
        "   return real.apply(this, arguments); }; }"
    )
    page.locator("a.visit-link").first.focus()
    later = issue("front-refresh-0002")
    page.clock.run_for(16_000)
    assert page.evaluate("window.__fetches") == 0
    assert page.evaluate("document.activeElement.classList.contains('visit-link')")
    page.get_by_role("link", name="Perbarui sekarang").focus()
    page.clock.run_for(16_000)
    assert page.evaluate("window.__fetches") == 1
    page.locator("a.visit-link").filter(has_text=later).wait_for()
    assert page.evaluate("window.__samePage") is True
    context.close()
