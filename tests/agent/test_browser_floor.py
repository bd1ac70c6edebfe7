"""A day on the branch floor in a real Chromium against a real `pst-branch-agent run` (central
down): every form refused once with bad input keeps what the person typed; ratings stay anonymous
to the desk; the display board's sound button and clock; the rating chooser; no console errors.

With PST_SCREENSHOT_DIR set, the pages are kept as screenshots at their users' screen sizes.
"""

import datetime as dt
import re
import zoneinfo

import pytest

from tests.agent.test_browser import STAFF_PASSWORD, agent, cli  # noqa: F401 - fixtures
from tests.browser import agent_login, chromium_fixture, record_requests, screenshot

pytestmark = pytest.mark.browser

browser = chromium_fixture(scope="module", name="browser")
VALID_NIK = "1222014708950002"
BAD_NIK = "1299011708900001"  # regency 99 does not exist
KIOSK = {"width": 1920, "height": 1080}
DESK = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def solo(agent):  # noqa: F811 - the fixture imported above
    """One officer for a one-person office: guest book and desk with one account."""
    cli(
        agent["home"],
        *("createuser", "solo", "--role", "front_and_desk", "--password", STAFF_PASSWORD),
    )
    return agent


class Watch:
    """Console errors and failed requests of every page of a context (favicon included)."""

    def __init__(self, context, base):
        self.errors: list[str] = []
        self.requests = record_requests(context, base)
        context.on("page", self.page)
        for page in context.pages:
            self.page(page)

    def console(self, page, message):
        # A refused form answers 400 on purpose; Chromium reports every 4xx load in the console.
        if message.type == "error" and "status of 400" not in message.text:
            self.errors.append(f"{page.url}: {message.text}")

    def page(self, page):
        page.on("console", lambda m: self.console(page, m))
        page.on(
            "response",
            lambda r: (
                r.status >= 400
                and r.status != 400  # a refused form answers 400 on purpose
                and self.errors.append(f"{r.status} {r.url}")
            ),
        )


def new_context(browser, base, **kwargs):
    context = browser.new_context(locale="id-ID", **kwargs)
    return context, Watch(context, base)


def test_every_branch_form_keeps_what_was_typed_when_refused(solo, browser):
    base = solo["base"]
    screens, screens_watch = new_context(browser, base, viewport=KIOSK)
    kiosk = screens.new_page()
    kiosk.goto(f"{base}/kiosk/")
    kiosk.get_by_role("button", name=re.compile("Konsultasi Statistik")).click()
    kiosk.wait_for_url(re.compile(r"/kiosk/ticket/"))
    number = kiosk.locator(".ticket-number").inner_text().strip()

    # One account does the front office and the desk (a one-person office).
    staff, staff_watch = new_context(browser, base, viewport=DESK)
    page = staff.new_page()
    # A wrong password is refused; the user name typed stays.
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "solo")
    page.fill("input[name=password]", "salah-sandi")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("input[name=username]").input_value() == "solo"
    agent_login(page, base, "solo", STAFF_PASSWORD)
    page.goto(f"{base}/front/")
    assert page.locator("h1").count() and "403" not in page.title()
    page.locator("a.visit-link", has_text=number).click()
    typed = {
        "input[name=name]": "Siti Aminah",
        "input[name=institution]": "Universitas Sumatera Utara",
        "input[name=email]": "siti@example.ac.id",
        "input[name=phone]": "0812-3456-7890",
        "textarea[name=purpose]": "Data kemiskinan kecamatan 2024",
        "input[name=id_number]": BAD_NIK,
    }
    for selector, value in typed.items():
        page.fill(selector, value)
    page.select_option("select[name=id_type]", "ktp")
    page.check("input[name=consent]")
    page.click("main button[type=submit]")
    error = page.locator('.error[data-field="id_number"]')
    error.wait_for()
    assert "99" in error.inner_text()
    for selector, value in typed.items():  # the ID number too, kept by the browser
        assert page.locator(selector).input_value() == value, selector
    assert page.locator("select[name=id_type]").input_value() == "ktp"
    assert page.locator("input[name=consent]").is_checked()
    screenshot(page, "front_guestbook_refused_1366x768")
    # An error in another field: the ID number typed before stays where it was.
    page.fill("input[name=id_number]", VALID_NIK)
    page.fill("input[name=email]", "siti@localhost")
    page.click("main button[type=submit]")
    page.locator('.error[data-field="email"]').wait_for()
    assert page.locator("input[name=id_number]").input_value() == VALID_NIK
    page.fill("input[name=email]", "siti@example.ac.id")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/front/$"))
    assert number in page.locator(".messages").inner_text()
    assert VALID_NIK not in page.content()

    # The desk: "Simpan dan selesai" refused keeps subject, notes, outcome and target.
    page.goto(f"{base}/desk/1/")
    page.get_by_role("button", name="Panggil berikutnya").click()
    page.get_by_role("button", name="Pengunjung hadir: mulai").click()
    notes = "Menjelaskan metadata Susenas; dirujuk untuk membeli publikasi."
    page.check("input[name=subject][value=metadata]")
    page.fill("textarea[name=notes]", notes)
    page.check("input[name=outcome][value=referred]")
    page.get_by_role("button", name="Simpan dan selesai").click()
    page.locator('.error[data-field="referred_to"]').wait_for()
    assert "Pilih layanan tujuan" in page.locator(".messages").inner_text()
    assert page.locator("textarea[name=notes]").input_value() == notes
    assert page.locator("input[name=subject][value=metadata]").is_checked()
    assert page.locator("input[name=outcome][value=referred]").is_checked()
    assert page.locator("input[name=send_to_rating]").is_checked()
    screenshot(page, "desk_refused_1366x768")
    page.select_option("select[name=referred_to]", "penjualan")
    page.get_by_role("button", name="Simpan dan selesai").click()
    assert f"{number} selesai" in page.locator(".messages").inner_text()

    # The rating kiosk: an incomplete answer keeps every choice and text.
    rating = screens.new_page()
    rating.goto(f"{base}/rating/")
    rating.get_by_role("link", name=re.compile("Meja 1")).click()
    rating.wait_for_url(re.compile(r"/rating/1/$"))
    for element in range(1, 9):  # U9 left out
        rating.locator(f"input[name=u{element}][value='3']").check()
    rating.locator("input[name=overall][value='3']").check()
    rating.fill("textarea[name=comment]", "Ruang tunggu panas")
    rating.fill("textarea[name=complaint]", "Antrian terlalu lama")
    rating.locator("input[name=contact][value=reply]").check()
    rating.get_by_role("button", name="Kirim penilaian saya").click()
    rating.locator(".ikm-item.has-error").wait_for()
    assert rating.locator('.error[data-field="reply_email"]').count() == 1
    for element in range(1, 9):
        assert rating.locator(f"input[name=u{element}][value='3']").is_checked()
    assert rating.locator("input[name=overall][value='3']").is_checked()
    assert rating.locator("textarea[name=comment]").input_value() == "Ruang tunggu panas"
    assert rating.locator("textarea[name=complaint]").input_value() == "Antrian terlalu lama"
    assert rating.locator("input[name=contact][value=reply]").is_checked()
    screenshot(rating, "rating_refused_1920x1080")
    rating.locator("input[name=u9][value='3']").check()
    rating.locator("input[name=contact][value=anonymous]").check()
    rating.get_by_role("button", name="Kirim penilaian saya").click()
    rating.wait_for_url(re.compile(r"/rating/1/thanks/"))

    # The desk sees that its kiosk is free again, never who rated or how.
    page.goto(f"{base}/desk/1/")
    finished = page.locator(".desk-finished")
    assert number in finished.inner_text()
    assert "dinilai" not in finished.inner_text() and "/4" not in finished.inner_text()
    assert finished.locator("[data-rating-kiosk=free]").count() == 1
    row = finished.locator("tr", has_text=number).first
    assert row.bounding_box()["height"] < 60  # one line: "K-001 dirujuk 10:12", no wrapping
    screenshot(page, "desk_after_rating_1366x768")

    # Search keeps the query typed.
    page.goto(f"{base}/search/")
    page.fill("input[name=q]", "kemiskinan kecamatan")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=kemiskinan"))
    assert page.locator("input[name=q]").input_value() == "kemiskinan kecamatan"

    assert screens_watch.errors == [] and staff_watch.errors == []
    assert screens_watch.requests.external == [] and staff_watch.requests.external == []
    screens.close()
    staff.close()


def test_the_board_shows_the_branch_time_and_hides_the_sound_button(solo, browser):
    base = solo["base"]
    # The TV thinks it is in New York; the branch is in WIB.
    context, watch = new_context(browser, base, viewport=KIOSK, timezone_id="America/New_York")
    page = context.new_page()
    page.goto(f"{base}/board/")
    button = page.get_by_role("button", name="Nyalakan suara")
    assert button.is_visible()
    button.click()
    assert button.is_hidden()
    page.wait_for_timeout(1500)  # a poll and a clock tick
    shown = page.locator(".board-clock-time").inner_text()
    now = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Jakarta"))
    allowed = {(now + dt.timedelta(minutes=m)).strftime("%H:%M") for m in (-1, 0, 1)}
    assert shown in allowed, (shown, allowed)
    assert page.locator(".board-clock-zone").inner_text() == "WIB"
    tv = page.evaluate("new Date().getHours()")
    assert tv != now.hour  # the test means something: the TV's own clock says otherwise
    screenshot(page, "board_1920x1080")
    page.reload()
    assert page.get_by_role("button", name="Nyalakan suara").is_hidden()  # remembered
    assert watch.errors == []
    context.close()


def test_the_rating_chooser_fits_a_phone_and_a_portrait_kiosk(solo, browser):
    base = solo["base"]
    for size, name in (
        ({"width": 390, "height": 844}, "390x844"),
        ({"width": 1080, "height": 1920}, "1080x1920"),
        ({"width": 1920, "height": 1080}, "1920x1080"),
    ):
        context, watch = new_context(browser, base, viewport=size)
        page = context.new_page()
        page.goto(f"{base}/rating/")
        links = page.locator("a.rating-desk")
        assert links.count() >= 2
        for index in range(links.count()):
            box = links.nth(index).bounding_box()
            assert box["height"] >= 48 and box["x"] >= 0
            assert box["x"] + box["width"] <= size["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        screenshot(page, f"rating_choose_{name}")
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
        assert "Rating kiosk" in page.content() and "Desk 1" in page.content()
        assert watch.errors == []
        context.close()
