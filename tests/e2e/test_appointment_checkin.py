"""An appointment made online, checked in at the branch's kiosk, end to end as real processes:
central books in-person appointments (the example site, ``pst_sync_server``), the branch agent
(``pst-branch-agent run``) gets them through the down-feed, a visitor at the kiosk in Chromium
types a wrong code, a cancelled one, one for another day, the good one (as a USB scanner does:
the code and Enter) and the good one again; the desk that calls the number sees the appointment;
the visit goes up and central marks the appointment checked in and links the two tickets."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import chromium_fixture
from tests.e2e.test_branch_to_central import ROOT, Browser, World, wait_until, world

pytestmark = [pytest.mark.slow, pytest.mark.browser]
browser = chromium_fixture(scope="module", name="browser")
__all__ = ["world"]  # the module's own central + branch (the fixture of test_branch_to_central)

BOOK = """
import datetime as dt, json
from django.contrib.auth import get_user_model
from django.utils import timezone
from helpdesk.models import Ticket
from pst_helpdesk_ext.models import Appointment as Booking, Branch, Channel, PSTTicket
from pst_helpdesk_ext.models import ServiceCategory
from pst_helpdesk_ext.services import appointments
branch = Branch.objects.get(code="1222")
staff = get_user_model().objects.create_superuser("janji", "janji@example.org", "x-janji-1")
web = Channel.objects.filter(online=True).first()
def ticket(title):
    t = Ticket.objects.create(title=title, queue=branch.queue, submitter_email="v@example.id")
    PSTTicket.objects.create(
        ticket=t, branch=branch, channel=web,
        category=ServiceCategory.objects.get(code="konsultasi"),
    )
    return t
def book(t, start):
    appointments.record_appointment(t, appointments.Appointment(
        appointments.IN_PERSON, start, dt.timedelta(minutes=45), branch=branch), user=staff)
    return Booking.objects.filter(ticket=t).latest("pk")
now = timezone.now()
today = ticket("Data kemiskinan kecamatan 1222011708900001")
good = book(today, now)
moved = ticket("Indeks harga konsumen")
cancelled = book(moved, now)
book(moved, now + dt.timedelta(days=2))  # rescheduled: the first code is cancelled
later = book(ticket("Sensus pertanian"), now + dt.timedelta(days=1))
print(json.dumps({"good": good.code, "ticket": today.pk, "cancelled": cancelled.code,
                  "later": later.code}))
"""

CENTRAL_STATE = """
import json
from helpdesk.models import FollowUp
from pst_helpdesk_ext.models import Appointment as Booking, Visit
b = Booking.objects.get(code=CODE)
visit = Visit.objects.filter(branch=b.branch, origin_id=b.visit_origin_id).first()
print(json.dumps({
    "status": b.status, "queue_number": b.queue_number,
    "online_notes": [f.comment for f in FollowUp.objects.filter(ticket=b.ticket, public=False)],
    "walk_in_notes": [f.comment for f in FollowUp.objects.filter(
        ticket_id=visit.pst_ticket.ticket_id, public=False)] if visit else [],
}))
"""


def agent_count(world: World) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PST_", "DJANGO_"))}
    env["PYTHONPATH"] = str(ROOT)
    script = (
        "from pathlib import Path\n"
        "from branch_agent.cli import _setup_django\n"
        f"_setup_django(Path({str(world.agent_home)!r}))\n"
        "from branch_agent.models import Appointment\n"
        "print(Appointment.objects.count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_an_appointment_checks_in_at_the_kiosk_and_reaches_the_desk_and_central(
    world: World, browser, tmp_path: Path
) -> None:
    if world.server is None or world.server.poll() is not None:
        world.start_server()
    codes = last_json(world.manage("shell", "-c", BOOK))
    # Four appointments of branch 1222 (one cancelled by its rescheduling) reach the agent.
    wait_until(lambda: agent_count(world) == 4, 45, "the appointments to reach the branch")

    base = f"http://127.0.0.1:{world.web_port}"
    page = browser.new_context(locale="id-ID").new_page()
    page.goto(f"{base}/kiosk/")
    page.get_by_role("link", name="Saya punya janji temu").click()
    page.wait_for_url(re.compile(r"/kiosk/appointment/$"))
    field = page.locator("#appointment-code")

    def submit(typed: str) -> str:
        field.fill("")
        field.type(typed)  # a USB scanner types the code, then Enter
        field.press("Enter")
        page.wait_for_load_state()
        return page.locator("#appointment-error").inner_text()

    assert "bukan janji temu di kantor ini" in submit("ZZZ-999")
    assert field.input_value() == "ZZZ-999"  # refused input stays, to correct
    assert field.get_attribute("aria-invalid") == "true"
    assert "dibatalkan atau dipindah" in submit(codes["cancelled"])
    assert "bukan hari ini" in submit(codes["later"].lower())
    assert field.input_value() == codes["later"].lower()

    good = codes["good"]
    field.fill("")
    field.type(f"{good[:3].lower()}-{good[3:]}")
    field.press("Enter")
    page.wait_for_url(re.compile(r"/kiosk/ticket/"))
    number = page.locator(".ticket-number").inner_text()
    assert re.fullmatch(r"K-\d{3}", number)

    page.goto(f"{base}/kiosk/appointment/")
    assert "sudah dipakai" in submit(good)
    page.get_by_role("link", name="Ambil nomor antrean biasa saja").click()
    page.wait_for_url(re.compile(r"/kiosk/$"))

    # The desk calls the number and sees what the appointment is about.
    desk = Browser(base)
    desk.login("meja")
    desk.request("/desk/1/")
    desk.form("/desk/1/action/", {"action": "call_next", "token": "call-appointment-e2e"})
    _, html = desk.request("/desk/1/")
    assert number in html and 'id="desk-appointment"' in html
    assert "Data kemiskinan kecamatan ************0001" in html
    assert f"#{codes['ticket']}" in html
    assert "1222011708900001" not in html

    # Up through sync: central marks it checked in and links the walk-in to the online ticket.
    wait_until(lambda: world.status()["pending_ops"] == 0, 45, "the outbox to drain")
    state = last_json(world.manage("shell", "-c", f"CODE = {good!r}\n" + CENTRAL_STATE))
    assert state["status"] == "checked_in" and state["queue_number"] == number
    assert any(number in note for note in state["online_notes"])
    assert any(f"#{codes['ticket']}" in note for note in state["walk_in_notes"])
