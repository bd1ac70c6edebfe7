"""The board's voice call in a real Chromium against a real `pst-branch-agent run` (issue 18).

Chromium is started as a board PC should be (docs/office-floor.md): with
``--autoplay-policy=no-user-gesture-required``, so the board plays sound without anyone clicking
"turn on sound". A call made through the hardware API is heard as the shipped Indonesian clips,
in order, on the board's <audio> element: the test listens to its ``play``/``ended``/``error``
events and to the speech API (never used unless the branch admin picked the OS voice).
The branch admin records a clip with Chromium's fake microphone, and broken or missing clips
fall back to the next source, or to a second chime.
"""

import json
import re
import urllib.request
from pathlib import Path

import pytest

from branch_agent.voice_words import MAX_NUMBER, compose, number_words
from tests.agent.test_browser import STAFF_PASSWORD, agent, cli  # noqa: F401 - fixtures
from tests.browser import CHROMIUM, CHROMIUM_ARGS, agent_login

pytestmark = pytest.mark.browser

BOARD_PC_ARGS = (
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-device-for-media-stream",  # a fake microphone (a beep) for the recorder
    "--use-fake-ui-for-media-stream",  # and no permission prompt for it
)
LISTEN = """
window.__voice = [];
window.__spoken = [];
window.__chimes = 0;
["play", "ended", "error"].forEach(function (type) {
  document.addEventListener(type, function (e) {
    var el = e.target;
    if (el && el.classList && el.classList.contains("board-voice")) {
      window.__voice.push([type, new URL(el.currentSrc || el.src).pathname +
                                 new URL(el.currentSrc || el.src).search]);
    }
  }, true);
});
if (window.speechSynthesis) {
  window.speechSynthesis.speak = function (u) {
    window.__spoken.push(u.text);
    setTimeout(function () { if (u.onend) u.onend(); }, 0);
  };
}
var Context = window.AudioContext;
if (Context) {
  var oscillator = Context.prototype.createOscillator;
  Context.prototype.createOscillator = function () {  // a chime is two tones
    window.__chimes += 0.5;
    return oscillator.apply(this, arguments);
  };
}
"""


@pytest.fixture(scope="module")
def board_pc():
    """A Chromium launched like the board PC's (autoplay allowed, a fake microphone)."""
    import os

    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is needed at {CHROMIUM} (apt-get install chromium)")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *BOARD_PC_ARGS]
            )
            try:
                yield browser
            finally:
                browser.close()


@pytest.fixture(scope="module")
def office(agent):  # noqa: F811 - the fixture imported above
    home = agent["home"]
    cli(home, "createuser", "kepala", "--role", "branch_admin", "--password", STAFF_PASSWORD)
    token = cli(home, "createtoken", "meja", "--device", "button-desk-2").stdout.strip()
    return {**agent, "token": token}


def post(office, path, body, token=None):
    request = urllib.request.Request(  # noqa: S310 (http to the agent on loopback)
        office["base"] + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return json.loads(response.read() or b"null")


@pytest.fixture(scope="module")
def desk_officer(office, board_pc):
    context = board_pc.new_context(locale="id-ID")
    page = context.new_page()
    agent_login(page, office["base"], "meja", STAFF_PASSWORD)
    yield page
    context.close()


def call(office, desk_officer, service, desk):
    """A visitor takes a number at the kiosk and the desk's button box calls them (the desk
    officer first marks the visitor called before as absent, if any)."""
    desk_officer.goto(f"{office['base']}/desk/{desk}/")
    absent = desk_officer.locator("button[name=action][value=no_show]")
    if absent.count():
        absent.click()
        desk_officer.wait_for_load_state()
    number = post(office, "/api/queue/issue", {"service": service})["queue_number"]
    called = post(office, f"/api/desk/{desk}/call-next", {}, office["token"])
    assert called["queue_number"] == number  # nobody else waits
    return number


def board(browser, base):
    context = browser.new_context(locale="id-ID", viewport={"width": 1920, "height": 1080})
    context.add_init_script(LISTEN)
    page = context.new_page()
    page.goto(f"{base}/board/")
    page.wait_for_function("window.PSTVoice && document.querySelector('.board-desks')")
    page.wait_for_timeout(1500)  # the first poll has been taken (no replay of earlier calls)
    return context, page


def ended(page, count):
    page.wait_for_function(f"window.__voice.filter(e => e[0] === 'ended').length >= {count}")
    return [src for kind, src in page.evaluate("window.__voice") if kind == "ended"]


def shipped(*keys):
    return [f"/static/branch_agent/voice/{key}.ogg" for key in keys]


def test_the_js_composition_equals_the_python_one(office, board_pc):
    context, page = board(board_pc, office["base"])
    js = page.evaluate(f"[...Array({MAX_NUMBER + 1}).keys()].map(n => PSTVoice.numberWords(n))")
    assert js == [number_words(n) for n in range(MAX_NUMBER + 1)]
    for number, desk in (("A-012", 2), ("K-100", "1"), ("P-111", 10), ("Z-999", 20), ("J-1000", 3)):
        assert page.evaluate("([n, d]) => PSTVoice.compose(n, d)", [number, desk]) == compose(
            number, desk
        )
    for number, desk in (("012", 1), ("A-012", "dua"), ("AB-1", 1), ("A-12345", 1)):
        assert page.evaluate("([n, d]) => PSTVoice.compose(n, d)", [number, desk]) is None
        with pytest.raises(ValueError):
            compose(number, desk)
    context.close()


def test_a_board_pc_plays_the_call_from_the_shipped_clips_without_a_click(
    office, board_pc, desk_officer
):
    context, page = board(board_pc, office["base"])
    # Autoplay is allowed on this PC: the board needs no "turn on sound" button.
    assert page.get_by_role("button", name="Nyalakan suara").is_hidden()
    number = call(office, desk_officer, "konsultasi", 2)
    expected = compose(number, 2)
    assert expected[:3] == ["nomor_antrian", "letter_k", "satu"]  # K-001
    assert ended(page, len(expected)) == shipped(*expected)
    assert page.evaluate("window.__spoken") == []  # no speech API
    assert page.evaluate("window.__voice.filter(e => e[0] === 'error')") == []
    assert page.evaluate("window.__chimes") == 1
    context.close()


def test_the_office_records_a_clip_and_broken_or_missing_clips_fall_back(
    office, board_pc, desk_officer
):
    base = office["base"]
    staff = board_pc.new_context(locale="id-ID")
    admin = staff.new_page()
    agent_login(admin, base, "kepala", STAFF_PASSWORD)
    admin.goto(f"{base}/voice/")
    row = admin.locator("#clip-meja")
    assert row.locator(".voice-source").get_attribute("data-source") == "shipped"
    # Record "meja" with the microphone, listen, save.
    row.get_by_role("button", name="Rekam").click()
    row.get_by_role("button", name="Berhenti").wait_for()
    admin.wait_for_timeout(700)  # a short word
    row.get_by_role("button", name="Berhenti").click()
    row.locator("form[data-recorded]").wait_for()
    assert row.locator("audio.voice-preview").is_visible()
    row.get_by_role("button", name="Simpan", exact=True).click()
    admin.wait_for_url(re.compile(r"/voice/"))
    assert "meja" in admin.locator(".messages").inner_text()
    row = admin.locator("#clip-meja")
    assert row.locator(".voice-source").get_attribute("data-source") == "office"
    # The admin listens to a whole call: the office's "meja", the shipped clips for the rest.
    admin.evaluate(
        "window.__heard = []; document.addEventListener('ended', function (e) {"
        "  window.__heard.push(new URL(e.target.src).pathname); }, true)"
    )
    admin.get_by_role("button", name=re.compile("Putar panggilan")).click()
    words = compose(admin.locator("#voice-example").get_attribute("data-number"), 2)
    admin.wait_for_function(f"window.__heard.length >= {len(words)}")
    assert admin.evaluate("window.__heard") == [
        "/board/voice/meja.audio" if w == "meja" else shipped(w)[0] for w in words
    ]

    # A file that is not audio is refused with a clear message; nothing changes.
    target = admin.locator("#clip-nomor_antrian")
    target.locator("input[type=file]").set_input_files(
        {"name": "catatan.txt", "mimeType": "audio/ogg", "buffer": b"bukan suara"}
    )
    target.get_by_role("button", name="Simpan", exact=True).click()
    admin.locator("#voice-error").wait_for()
    assert "WebM, Ogg, WAV, MP3" in admin.locator("#voice-error").inner_text()
    assert (
        admin.locator("#clip-nomor_antrian .voice-source").get_attribute("data-source") == "shipped"
    )
    # An "Ogg" the board cannot decode is stored (its first bytes look right): the board must
    # fall back to the shipped clip when it fails to play.
    broken = admin.locator("#clip-silakan_ke")
    broken.locator("input[type=file]").set_input_files(
        {"name": "rusak.ogg", "mimeType": "audio/ogg", "buffer": b"OggS" + bytes(range(256)) * 8}
    )
    broken.get_by_role("button", name="Simpan", exact=True).click()
    admin.wait_for_url(re.compile(r"/voice/"))
    assert admin.locator("#clip-silakan_ke .voice-source").get_attribute("data-source") == "office"

    context, page = board(board_pc, base)
    number = call(office, desk_officer, "perpustakaan", 1)
    expected = compose(number, 1)
    heard = ended(page, len(expected))
    assert len(heard) == len(expected)
    meja = expected.index("meja")
    assert re.fullmatch(r"/board/voice/meja\.audio\?v=\d+", heard[meja])  # the office's voice
    assert heard[:meja] + heard[meja + 1 :] == shipped(*expected[:meja], *expected[meja + 1 :])
    errors = [src for kind, src in page.evaluate("window.__voice") if kind == "error"]
    assert len(errors) == 1 and errors[0].startswith("/board/voice/silakan_ke.audio")
    assert page.evaluate("window.__spoken") == []

    # A clip with no playable source at all: the call stops there and the board chimes again.
    page.route("**/letter_r.ogg", lambda route: route.abort())
    page.evaluate("window.__voice = []; window.__chimes = 0")
    number = call(office, desk_officer, "rekomendasi", 2)
    page.wait_for_function("window.__chimes >= 2")
    page.wait_for_function("window.__voice.some(e => e[0] === 'error')")
    heard = [src for kind, src in page.evaluate("window.__voice") if kind == "ended"]
    assert heard == shipped("nomor_antrian")
    assert page.evaluate("window.__spoken") == []

    # The admin picks the OS voice: now it says the letter the clips could not.
    admin.goto(f"{base}/voice/")
    admin.get_by_label(re.compile("suara bawaan PC")).check()
    admin.get_by_role("button", name="Simpan pengaturan").click()
    admin.wait_for_url(re.compile(r"/voice/"))
    page.evaluate("window.__voice = []; window.__chimes = 0")
    number = call(office, desk_officer, "rekomendasi", 1)
    expected = compose(number, 1)
    heard = ended(page, len(expected) - 1)
    assert page.evaluate("window.__spoken") == ["er"]
    assert heard[0] == shipped("nomor_antrian")[0]
    assert page.evaluate("window.__chimes") == 1

    # Delete: back to the shipped clip.
    admin.locator("#clip-meja").get_by_role("button", name=re.compile("Hapus")).click()
    admin.wait_for_url(re.compile(r"/voice/"))
    assert admin.locator("#clip-meja .voice-source").get_attribute("data-source") == "shipped"
    context.close()
    staff.close()


AXE = (Path(__file__).resolve().parent.parent / "vendor" / "axe-core-4.14.1.min.js").read_text()


@pytest.mark.parametrize(
    ("locale", "title"), [("id-ID", "Suara papan antrian"), ("en-GB", "Board voice")]
)
def test_the_voice_page_passes_axe_in_both_languages(office, board_pc, locale, title):
    """axe-core's WCAG 2.1 A/AA rules (serious and critical) on the voice page, also when it
    shows a refused upload."""
    base = office["base"]
    context = board_pc.new_context(locale=locale)
    page = context.new_page()
    agent_login(page, base, "kepala", STAFF_PASSWORD)
    for state in ("list", "refused"):
        page.goto(f"{base}/voice/")
        if state == "refused":
            row = page.locator("#clip-meja")
            row.locator("input[type=file]").set_input_files(
                {"name": "x.txt", "mimeType": "text/plain", "buffer": b"teks"}
            )
            row.locator("button[data-save]").click()
            page.locator("#voice-error").wait_for()
        assert page.locator("h1").inner_text() == title
        page.add_script_tag(content=AXE)
        found = page.evaluate(
            """async () => {
                const r = await axe.run(document, {runOnly: {type: "tag",
                    values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
                return r.violations.filter(v => v.impact === "critical" || v.impact === "serious")
                    .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
            }"""
        )
        assert found == [], (locale, state)
    context.close()
