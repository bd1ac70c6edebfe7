"""A visitor's whole walk-in visit in a real Chromium against a real `pst-branch-agent run`,
with central unreachable: kiosk -> front office -> desk -> board -> rating, all queued for sync."""

import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest

from bench.common import free_port, kiosk_answers, start_agent, wait_until_answers
from sync.transport import generate_keypair
from tests.browser import agent_login, chromium_fixture

pytestmark = pytest.mark.browser

VALID_NIK = "1222014708950002"  # a woman (day 07 + 40), born 07-08-1995


def cli(home, *args):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-m", "branch_agent.cli", "--data-dir", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    home = tmp_path_factory.mktemp("browser-agent") / "data"
    dead_central = f"tcp://127.0.0.1:{free_port()}"  # nothing listens: central is down
    cli(
        home,
        "init",
        "--branch",
        "1222",
        "--name",
        "BPS Labuhanbatu Selatan",
        "--central",
        dead_central,
        f"--server-key={generate_keypair().public_key}",
        "--id-hash-key",
        "browser-test-hash-key-0123456789",
        "--password",
        "kopi-susu-pagi",
    )
    cli(home, "createuser", "fo", "--role", "front_office", "--password", "teh-manis-siang")
    cli(
        home,
        "createuser",
        "meja",
        "--role",
        "desk_officer",
        "--password",
        "teh-manis-siang",
        "--full-name",
        "Budi Santoso",
    )
    port = free_port()
    process = start_agent(home, port, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    if not wait_until_answers(process, lambda: kiosk_answers(port)):
        if process.poll() is not None:
            pytest.fail("the agent exited: " + process.stdout.read())
        process.kill()
        pytest.fail("the agent did not become ready")
    yield {"base": base, "home": home}
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


STAFF_PASSWORD = "teh-manis-siang"

browser = chromium_fixture(scope="module", name="browser")


def status(home):
    return json.loads(cli(home, "status", "--json").stdout)


def test_the_whole_offline_visit_in_a_browser(agent, browser):
    base, home = agent["base"], agent["home"]
    context = browser.new_context(locale="id-ID")
    kiosk = context.new_page()
    kiosk.goto(f"{base}/kiosk/")
    assert "Selamat datang di PST" in kiosk.content()
    kiosk.get_by_role("button", name=re.compile("Konsultasi Statistik")).dblclick()
    kiosk.wait_for_url(re.compile(r"/kiosk/ticket/"))
    assert kiosk.locator(".ticket-number").inner_text() == "K-001"
    assert status(home)["pending_ops"] == 1  # the double click made one number

    board = context.new_page()
    board.goto(f"{base}/board/")

    front = browser.new_context(locale="id-ID").new_page()
    agent_login(front, base, "fo", STAFF_PASSWORD)
    front.goto(f"{base}/front/")
    posted = []  # what the server answered to each form sent
    front.on("response", lambda r: r.request.method == "POST" and posted.append(r))
    front.click("a.visit-link.next")
    front.fill("input[name=name]", "Siti Aminah")
    front.fill("input[name=institution]", "Universitas Sumatera Utara")
    front.fill("input[name=email]", "siti@example.ac.id")
    front.fill("input[name=id_number]", "1299011708900001")  # regency 99 does not exist
    front.fill("textarea[name=purpose]", "Data kemiskinan kecamatan 2024")
    front.check("input[name=consent]")
    front.click("main button[type=submit]")
    error = front.locator('.error[data-field="id_number"]')
    assert "99" in error.inner_text()
    # The browser keeps the number typed, to fix in place; the server never sends it back.
    assert front.locator("input[name=id_number]").input_value() == "1299011708900001"
    assert front.locator("input[name=name]").input_value() == "Siti Aminah"
    assert posted and all("1299011708900001" not in r.text() for r in posted)
    front.fill("input[name=id_number]", VALID_NIK)
    front.click("main button[type=submit]")
    front.wait_for_url(re.compile(r"/front/$"))
    assert "K-001" in front.locator(".messages").inner_text()
    assert VALID_NIK not in front.content()

    desk = browser.new_context(locale="id-ID").new_page()
    agent_login(desk, base, "meja", STAFF_PASSWORD)
    desk.goto(f"{base}/desk/1/")
    assert "sync-badge offline" in desk.content()
    desk.get_by_role("button", name="Panggil berikutnya").click()
    assert desk.locator(".current-number").inner_text().startswith("K-001")
    assert "Siti Aminah" in desk.content()
    # The open board picks the call up by itself (it polls every second; the generous timeout
    # only keeps a loaded CI machine from failing a functional check).
    board.locator('.board-desk[data-desk="1"] .board-desk-number').filter(
        has_text="K-001"
    ).wait_for(timeout=10_000)
    assert board.locator(".board-now-number").inner_text() == "K-001"

    desk.get_by_role("button", name="Pengunjung hadir: mulai").click()
    desk.check("input[name=subject][value=data]")
    desk.fill("textarea[name=notes]", "Menjelaskan data kemiskinan per kecamatan")
    desk.check("input[name=outcome][value=resolved]")
    desk.get_by_role("button", name="Simpan dan selesai").click()
    assert "K-001 selesai" in desk.locator(".messages").inner_text()

    rating = context.new_page()
    rating.goto(f"{base}/rating/1/")
    assert "K-001" in rating.content()
    for element in range(1, 10):
        rating.locator(f"input[name=u{element}][value='4']").check()
    rating.locator("input[name=overall][value='4']").check()
    rating.fill("textarea[name=comment]", "Pelayanan cepat")
    rating.get_by_role("button", name="Kirim penilaian saya").dblclick()
    rating.wait_for_url(re.compile(r"/rating/1/thanks/"))
    assert "Terima kasih" in rating.content()

    # Everything is saved locally and waits for central: created, guest book, called, served,
    # consultation note, resolved, rating.
    state = status(home)
    assert state["online"] is False and state["pending_ops"] == 7
    context.close()


def test_english_is_one_click_away(agent, browser):
    context = browser.new_context(locale="id-ID")
    page = context.new_page()
    page.goto(f"{agent['base']}/kiosk/")
    assert "Selamat datang di PST" in page.content()
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert "Welcome to PST" in page.content()
    assert page.get_by_role("button", name=re.compile("Statistical consultation")).is_visible()
    context.close()


def test_the_board_calls_each_number_aloud_in_indonesian(agent, browser):
    base, home = agent["base"], agent["home"]
    token = cli(home, "createtoken", "meja", "--device", "tombol-meja-2").stdout.strip()
    page = browser.new_context(locale="id-ID").new_page()
    # Record the clips the board's <audio> plays, and any use of the speech engine (none).
    page.add_init_script(
        "window.__spoken = []; window.__ended = [];"
        "window.speechSynthesis.speak = function (u) { window.__spoken.push(u.text); };"
        "document.addEventListener('ended', function (e) {"
        "  window.__ended.push(new URL(e.target.src).pathname); }, true);"
    )
    page.goto(f"{base}/board/")
    page.get_by_role("button", name="Nyalakan suara").click()

    def api(path, body):
        request = urllib.request.Request(  # noqa: S310 - our own http URL
            base + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read() or b"{}")

    issued = api("/api/queue/issue", {"service": "perpustakaan", "request_id": "board-test-01"})
    called = api("/api/desk/2/call-next", {"request_id": "board-test-02"})
    assert called["queue_number"] == issued["queue_number"] == "P-001"
    words = ["nomor_antrian", "letter_p", "satu", "silakan_ke", "meja", "dua"]
    page.wait_for_function(f"window.__ended.length >= {len(words)}", timeout=30_000)
    assert page.evaluate("window.__ended") == [f"/static/branch_agent/voice/{w}.ogg" for w in words]
    assert page.evaluate("window.__spoken") == []  # clips, not the PC's speech engine
    assert page.locator(".board-now-number").inner_text() == "P-001"
    page.context.close()
