"""The office floor end to end, as real processes on loopback: a visitor's ticket with position,
estimated wait and a QR code to their live page, a desk that pauses for prayer (and cannot call
meanwhile) and resumes, the live page saying "your number is being called, desk 1", the head's
page with the pause, and the pause reaching central's records through sync.

Central and the branch are started as in ``test_branch_to_central`` (its ``World``): the example
site with its sync server, and ``pst-branch-agent run``. Every wait is bounded; every process is
killed in teardown.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.e2e.test_branch_to_central import HASH_KEY, PASSWORD, Browser, World, wait_until
from tests.support.processes import allow_fast_kiosk

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    world = World(tmp_path_factory.mktemp("floor"))
    try:
        world.manage("migrate", "-v0")
        world.manage("pst_demo_data", "--quiet-logins")
        world.manage("pst_sync_keys", "--create")
        server_key = world.manage("pst_sync_keys", "--show").strip()
        out = world.agent(
            "init",
            "--branch",
            "1222",
            "--central",
            f"tcp://127.0.0.1:{world.sync_port}",
            f"--server-key={server_key}",
            "--id-hash-key",
            HASH_KEY,
            "--password",
            PASSWORD,
        )
        branch_key = re.search(r"Branch public key: (\S{40})", out).group(1)
        world.manage("pst_branch", "enrol", "1222", f"--public-key={branch_key}")
        config = world.agent_home / "agent.toml"
        config.write_text(allow_fast_kiosk(config.read_text()))
        # The PC's LAN name, as an office lists it for the guest Wi-Fi's phones.
        world.agent("set-allowed-hosts", "--host", "pst-1222.lan")
        world.agent("createuser", "meja", "--role", "desk_officer", "--password", PASSWORD)
        world.agent("createuser", "kepala", "--role", "branch_head", "--password", PASSWORD)
        world.start_server()
        world.start_agent()
        yield world
    finally:
        world.stop()


def issue(kiosk: Browser) -> str:
    body = json.dumps({"service": "konsultasi", "request_id": f"floor-{time.time_ns()}"})
    status, text = kiosk.request(
        "/api/queue/issue", body.encode(), {"Content-Type": "application/json"}
    )
    assert status == 201, text[:300]
    return json.loads(text)["visit_id"]


def serve(desk: Browser, visit: str) -> None:
    act = "/desk/1/action/"
    desk.request("/desk/1/")
    status, page = desk.form(act, {"action": "call_next", "token": f"call-{visit}"})
    assert status == 200 and "Meja 1" in page
    desk.form(act, {"action": "start", "visit": visit, "token": f"start-{visit}"})
    finish = {
        "action": "finish",
        "visit": visit,
        "token": f"finish-{visit}",
        "subject": "data",
        "notes": "PDRB",
        "outcome": "resolved",
    }
    status, _ = desk.form(act, finish)
    assert status == 200


def central_pauses(world: World) -> list[dict]:
    script = (
        "import json\n"
        "from pst_helpdesk_ext.models import DeskPause\n"
        "print(json.dumps([dict(desk=p.desk, reason=p.reason, ended=p.ended_at is not None,"
        " seconds=p.paused_seconds, origin=p.origin_id)"
        " for p in DeskPause.objects.filter(branch__code='1222')]))\n"
    )
    return json.loads(world.manage("shell", "-c", script).strip().splitlines()[-1])


def test_ticket_wait_live_page_and_a_desk_pause_through_sync(world: World) -> None:
    base = f"http://127.0.0.1:{world.web_port}"
    kiosk, desk, phone, head = Browser(base), Browser(base), Browser(base), Browser(base)
    desk.login("meja")
    head.login("kepala")

    # Below three served today the ticket says so; after three it gives a range.
    first = issue(kiosk)
    _, ticket = kiosk.request(f"/kiosk/ticket/{first}/")
    assert "Posisi dalam antrean: 1" in ticket
    assert "perkiraan belum tersedia" in ticket
    for _ in range(3):
        serve(desk, first)
        first = issue(kiosk)
    _, ticket = kiosk.request(f"/kiosk/ticket/{first}/")
    assert re.search(r"sekitar \d+–\d+ menit", ticket), ticket[-3000:]
    assert "<svg" in ticket
    url = re.search(r'class="ticket-qr-url">([^<]+)<', ticket).group(1)
    parts = urlsplit(url)
    assert parts.hostname not in ("127.0.0.1", "localhost")  # a LAN address from agent.toml
    assert parts.port == world.web_port and first not in url
    live = parts.path + "state.json"
    state = json.loads(phone.request(live)[1])
    assert (state["status"], state["position"]) == ("waiting", 1)

    # The desk pauses for prayer: no call until it resumes; the live page keeps waiting.
    _, page = desk.form("/desk/1/pause/", {"action": "pause", "reason": "sholat"})
    assert "Meja ini dijeda (sholat)" in page
    _, page = desk.form("/desk/1/action/", {"action": "call_next", "token": "call-paused"})
    assert "Lanjutkan meja terlebih dahulu untuk memanggil pengunjung berikutnya." in page
    assert json.loads(phone.request(live)[1])["status"] == "waiting"
    _, headpage = head.request("/head/")
    assert "masih dijeda" in headpage
    desk.form("/desk/1/pause/", {"action": "resume"})
    desk.form("/desk/1/action/", {"action": "call_next", "token": "call-after-pause"})
    state = json.loads(phone.request(live)[1])
    assert state["status"] == "called" and state["text"] == "Nomor Anda sedang dipanggil, meja 1."

    # The pause reaches central once, resumed, with the seconds the branch measured.
    wait_until(lambda: world.status()["pending_ops"] == 0, 45, "the outbox to drain")
    assert world.status()["rejected_ops"] == []
    (pause,) = central_pauses(world)
    assert (pause["desk"], pause["reason"], pause["ended"]) == ("1", "sholat", True)
    assert pause["seconds"] is not None and pause["seconds"] >= 0
