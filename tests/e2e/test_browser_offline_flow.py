"""Offline then online, in a real Chromium, across real processes.

The central site (temp dir, SQLite), ``pst_sync_server`` and ``pst-branch-agent run`` are started
by the harness of ``test_branch_to_central`` (imported, never copied). With the sync server
STOPPED, Chromium walks visitors kiosk -> front office (guest book) -> desk (call, start, record
the consultation, resolve) -> rating kiosk: every page works, the desk's sync badge reads offline
with the ops waiting, and central has nothing. Then the sync server is STARTED: the outbox drains
to 0, the open desk page turns online by itself, and central holds exactly one helpdesk ticket per
visit in queue ``pst-1222``, with its follow-ups (the consultation note among them) and its rating.

Rules kept here: this module builds its own world (a module fixture of its own, so it never shares
processes with the HTTP e2e test); every wait is bounded; every process and the browser are closed
in teardown; the full ID number never appears on a page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import agent_login, chromium_fixture
from tests.e2e.test_branch_to_central import HASH_KEY, PASSWORD, World, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VALID_NIK = "1222014708950002"  # regency 1222, a woman (day 07 + 40) born 07-08-1995
VISITORS = ("Siti Aminah", "Rudi Hartono")
NOTES = "Menjelaskan data kemiskinan per kecamatan"
RATING_COMMENT = "Pelayanan cepat"
#: What one whole visit queues for central: created, guest book, called, served, consultation
#: note, resolved, rating (the agent's own browser test counts the same seven).
OPS_PER_VISIT = 7

chromium = chromium_fixture(scope="module")


@pytest.fixture(scope="module")
def offline_world(tmp_path_factory) -> Iterator[World]:
    """Central migrated with demo data and its keys, branch 1222 enrolled, the agent running,
    the sync server NOT running. Same steps as ``test_branch_to_central.world``, its own dirs."""
    world = World(tmp_path_factory.mktemp("e2e-browser"))
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
        match = re.search(r"Branch public key: (\S{40})", out)
        assert match, out
        world.manage("pst_branch", "enrol", "1222", f"--public-key={match.group(1)}")
        world.agent("createuser", "fo", "--role", "front_office", "--password", PASSWORD)
        world.agent("createuser", "meja", "--role", "desk_officer", "--password", PASSWORD)
        world.start_agent()
        yield world
    finally:
        world.stop()


def central_records(world: World) -> dict:
    """Central's view of branch 1222: every PST ticket in its queue, and per visit its ticket,
    status, follow-ups and rating (read in central's own process, as the helpdesk stores them)."""
    script = (
        "import json\n"
        "from helpdesk.models import FollowUp, Ticket\n"
        "from pst_helpdesk_ext.models import Rating, Visit\n"
        "visits = []\n"
        "for v in Visit.objects.filter(branch__code='1222').select_related("
        "'pst_ticket__ticket__queue'):\n"
        "    t = v.pst_ticket.ticket\n"
        "    r = Rating.objects.filter(ticket=t).first()\n"
        "    visits.append(dict(origin=str(v.origin_id), ticket=t.pk, queue=t.queue.slug,"
        " status=t.status, resolved=t.status == Ticket.RESOLVED_STATUS, outcome=v.outcome,"
        " comments=[f.comment or '' for f in FollowUp.objects.filter(ticket=t)],"
        " rating=None if r is None else dict(overall=r.overall, comment=r.comment,"
        " scores=r.scores, branch=r.branch.code if r.branch else None)))\n"
        "print(json.dumps(dict(visits=visits,"
        " queue_tickets=Ticket.objects.filter(queue__slug='pst-1222').count(),"
        " ratings=Rating.objects.filter(branch__code='1222').count())))\n"
    )
    return json.loads(world.manage("shell", "-c", script).strip().splitlines()[-1])


def serve_one_visitor(base: str, kiosk, front, desk, rating, name: str) -> str:
    """One whole walk-in through the four screens; returns its queue number."""
    kiosk.goto(f"{base}/kiosk/")
    kiosk.get_by_role("button", name=re.compile("Konsultasi Statistik")).click()
    kiosk.wait_for_url(re.compile(r"/kiosk/ticket/"), timeout=10_000)
    number = kiosk.locator(".ticket-number").inner_text().strip()
    assert re.fullmatch(r"K-\d{3}", number), number

    front.goto(f"{base}/front/")
    front.click("a.visit-link.next")
    front.fill("input[name=name]", name)
    front.fill("input[name=institution]", "Universitas Sumatera Utara")
    front.fill("input[name=email]", "tamu@example.ac.id")
    front.fill("input[name=id_number]", VALID_NIK)
    front.fill("textarea[name=purpose]", "Data kemiskinan kecamatan 2024")
    front.check("input[name=consent]")
    front.click("main button[type=submit]")
    front.wait_for_url(re.compile(r"/front/$"), timeout=10_000)
    assert number in front.locator(".messages").inner_text()
    assert VALID_NIK not in front.content()

    desk.goto(f"{base}/desk/1/")
    desk.get_by_role("button", name="Panggil berikutnya").click()
    assert desk.locator(".current-number").inner_text().startswith(number)
    assert name in desk.content()
    desk.get_by_role("button", name="Pengunjung hadir: mulai").click()
    desk.check("input[name=subject][value=data]")
    desk.fill("textarea[name=notes]", NOTES)
    desk.check("input[name=outcome][value=resolved]")
    desk.get_by_role("button", name="Simpan dan selesai").click()
    assert f"{number} selesai" in desk.locator(".messages").inner_text()

    rating.goto(f"{base}/rating/1/")
    assert number in rating.content()
    for element in range(1, 10):
        rating.locator(f"input[name=u{element}][value='4']").check()
    rating.locator("input[name=overall][value='4']").check()
    rating.fill("textarea[name=comment]", RATING_COMMENT)
    rating.get_by_role("button", name="Kirim penilaian saya").click()
    rating.wait_for_url(re.compile(r"/rating/1/thanks/"), timeout=10_000)
    return number


def test_offline_walk_ins_in_a_browser_arrive_at_central_once(
    offline_world: World, chromium
) -> None:
    world = offline_world
    base = f"http://127.0.0.1:{world.web_port}"
    screens = chromium.new_context(locale="id-ID")  # kiosk and rating: no login
    front_context = chromium.new_context(locale="id-ID")
    desk_context = chromium.new_context(locale="id-ID", viewport={"width": 1280, "height": 900})
    try:
        kiosk, rating = screens.new_page(), screens.new_page()
        front, desk = front_context.new_page(), desk_context.new_page()
        for page in (kiosk, rating, front, desk):
            page.set_default_timeout(10_000)
        agent_login(front, base, "fo", PASSWORD, timeout=10_000)
        agent_login(desk, base, "meja", PASSWORD, timeout=10_000)
        before = central_records(world)
        assert before["visits"] == [] and before["ratings"] == 0

        # Central's sync server is stopped: the whole service still works, and queues up.
        numbers = [serve_one_visitor(base, kiosk, front, desk, rating, n) for n in VISITORS]
        assert numbers == ["K-001", "K-002"]
        waiting = OPS_PER_VISIT * len(VISITORS)
        state = world.status()
        assert state["online"] is False and state["pending_ops"] == waiting
        assert state["last_sync_at"] in (None, "")

        desk.goto(f"{base}/desk/1/")
        badge = desk.locator(".sync-badge")
        assert "offline" in (badge.get_attribute("class") or "").split()
        assert badge.locator(".state").inner_text().strip() == "luring"
        assert badge.locator(".pending").inner_text().strip() == str(waiting)
        assert "belum pernah" in badge.locator(".last").inner_text()
        shot = Path(world.tmp) / "desk-offline.png"
        desk.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
        assert central_records(world) == before  # nothing reached central

        # Central comes up: the outbox drains, the open desk page turns online by itself.
        world.start_server()
        wait_until(lambda: world.status()["pending_ops"] == 0, 30, "the outbox to drain")
        state = wait_until(
            lambda: (s := world.status())["online"] is True and s, 15, "the agent to be online"
        )
        assert state["last_sync_at"]
        # The badge polls sync/status.json every 5 s; no reload here.
        # "Online" comes with the link, before the drain: wait for the poll that shows it empty.
        desk.locator(".sync-badge.online").wait_for(timeout=15_000)
        desk.wait_for_function(
            "document.querySelector('.sync-badge .pending').innerText.trim() === '0'",
            timeout=15_000,
        )
        assert badge.locator(".state").inner_text().strip() == "daring"
        front.goto(f"{base}/front/")  # any other staff page, freshly rendered, agrees
        assert front.locator(".sync-badge .state").inner_text().strip() == "daring"

        after = central_records(world)
        visits = after["visits"]
        assert len(visits) == len(VISITORS)
        assert len({v["origin"] for v in visits}) == len(VISITORS)  # one visit per walk-in
        assert len({v["ticket"] for v in visits}) == len(VISITORS)  # one ticket per visit
        assert after["queue_tickets"] - before["queue_tickets"] == len(VISITORS)
        assert after["ratings"] == len(VISITORS)
        for visit in visits:
            assert visit["queue"] == "pst-1222"
            assert visit["outcome"] == "resolved" and visit["resolved"], visit
            assert len(visit["comments"]) >= 3, visit["comments"]  # opened, served, resolved...
            assert any(NOTES in comment for comment in visit["comments"])
            assert not any(VALID_NIK in comment for comment in visit["comments"])
            assert visit["rating"] == {
                "overall": 4,
                "comment": RATING_COMMENT,
                "scores": visit["rating"]["scores"],
                "branch": "1222",
            }
            assert sorted(visit["rating"]["scores"].values()) == [4] * 9
    finally:
        for context in (screens, front_context, desk_context):
            context.close()
