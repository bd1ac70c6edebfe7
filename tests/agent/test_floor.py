"""The floor screens' settings (running text, logo), the board's last calls, and the ARIA ties of
the agent's forms, without a browser (the browser checks are in test_browser_screens.py)."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from branch_agent import floor_settings, services
from branch_agent.conf import agent_settings
from tests.agent.test_browser_screens import tiny_png
from tests.agent.test_views import guest_form, login, token_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_floor_files():
    """Each test starts with no floor.json and no logo in the agent's data directory."""
    home = agent_settings.home
    for name in ("floor.json", "office-logo.png", "office-logo.jpg"):
        (home / name).unlink(missing_ok=True)
    yield
    for name in ("floor.json", "office-logo.png", "office-logo.jpg"):
        (home / name).unlink(missing_ok=True)


def described_ids_exist(html: str) -> list[str]:
    """The aria-describedby ids of a page that name no element of it."""
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    missing = []
    for value in re.findall(r'aria-describedby="([^"]+)"', html):
        missing += [i for i in value.split() if i not in ids]
    return missing


def test_only_a_branch_admin_sets_the_screens(users):
    assert login("desk_officer", users).get("/screens/").status_code == 403
    assert Client().get("/screens/").status_code == 302  # to the login page
    page = login("branch_admin", users, HTTP_ACCEPT_LANGUAGE="id").get("/screens/")
    assert page.status_code == 200 and "Teks berjalan di papan antrean" in page.content.decode()


def test_the_running_text_reaches_the_board_at_once(users):
    admin = login("branch_admin", users)
    response = admin.post(
        "/screens/", {"running_text": "  Layanan   buka\n08.00-15.30  WIB "}, follow=True
    )
    assert response.status_code == 200
    assert json.loads((agent_settings.home / "floor.json").read_text()) == {
        "running_text": "Layanan buka 08.00-15.30 WIB"
    }
    state = Client().get("/board/state.json").json()
    assert state["running_text"] == "Layanan buka 08.00-15.30 WIB"
    assert "Layanan buka 08.00-15.30 WIB" in Client().get("/board/").content.decode()
    assert Client().get("/api/queue").json()["running_text"] == "Layanan buka 08.00-15.30 WIB"


def test_too_long_a_running_text_is_refused_and_kept(users):
    admin = login("branch_admin", users, HTTP_ACCEPT_LANGUAGE="en")
    text = "x" * (floor_settings.RUNNING_TEXT_MAX + 1)
    response = admin.post("/screens/", {"running_text": text})
    html = response.content.decode()
    assert response.status_code == 400 and 'data-field="running_text"' in html
    assert f'value="{text}"' in html  # what was typed stays to shorten
    assert not (agent_settings.home / "floor.json").exists()
    assert described_ids_exist(html) == []


def test_a_broken_floor_file_shows_no_running_text_and_breaks_nothing():
    (agent_settings.home / "floor.json").write_text("{not json")
    assert floor_settings.load().running_text == ""
    assert Client().get("/board/").status_code == 200
    (agent_settings.home / "floor.json").write_text('["a list"]')
    assert floor_settings.load().running_text == ""
    (agent_settings.home / "floor.json").write_text('{"running_text": 42}')
    assert floor_settings.load().running_text == ""


def test_the_logo_is_a_png_or_jpeg_and_nothing_else(users):
    admin = login("branch_admin", users, HTTP_ACCEPT_LANGUAGE="en")
    assert Client().get("/screens/logo").status_code == 404
    svg = SimpleUploadedFile("logo.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png")
    response = admin.post("/screens/", {"running_text": "Halo", "logo": svg})
    assert response.status_code == 400
    assert "must be a PNG or JPEG" in response.content.decode()
    assert described_ids_exist(response.content.decode()) == []
    assert floor_settings.logo_path() is None and floor_settings.load().running_text == ""

    big = SimpleUploadedFile("big.png", tiny_png() + b"\0" * floor_settings.LOGO_MAX_BYTES)
    response = admin.post("/screens/", {"logo": big})
    assert response.status_code == 400 and "the limit is 512 KB" in response.content.decode()

    png = SimpleUploadedFile("logo.png", tiny_png(), "image/png")
    assert admin.post("/screens/", {"running_text": "", "logo": png}).status_code == 302
    served = Client().get("/screens/logo")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served.content == tiny_png()
    kiosk = Client().get("/kiosk/").content.decode()
    assert 'class="office-logo"' in kiosk and "/screens/logo?v=" in kiosk

    jpeg = SimpleUploadedFile("logo.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 64, "image/jpeg")
    assert admin.post("/screens/", {"logo": jpeg}).status_code == 302
    assert floor_settings.logo_path().name == "office-logo.jpg"  # the PNG is gone
    assert Client().get("/screens/logo")["Content-Type"] == "image/jpeg"

    assert admin.post("/screens/", {"remove_logo": "on"}).status_code == 302
    assert floor_settings.logo_path() is None
    assert 'class="office-logo"' not in Client().get("/kiosk/").content.decode()


def test_the_board_lists_the_last_calls_newest_first():
    for _ in range(3):
        services.issue_number("konsultasi")
    first = services.call_next("1")
    second = services.call_next("2")
    state = Client().get("/board/state.json").json()
    assert [(r["queue_number"], r["desk"]) for r in state["recent"]] == [
        (second.queue_number, "2"),
        (first.queue_number, "1"),
    ]
    services.recall(first.pk, "1")  # called again: back on top
    state = Client().get("/board/state.json").json()
    assert state["recent"][0]["queue_number"] == first.queue_number
    assert len(state["recent"]) == 2
    assert set(state["recent"][0]) == {"queue_number", "desk", "called_at"}  # nothing personal


def test_every_described_by_id_exists_on_refused_forms(users):
    front = login("front_office", users)
    visit = services.issue_number("konsultasi").visit
    page = front.get(f"/front/{visit.pk}/").content.decode()
    assert described_ids_exist(page) == []
    refused = front.post(f"/front/{visit.pk}/", guest_form(token_of(page.encode()), name=""))
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'aria-describedby="id_name_error"' in html
    assert described_ids_exist(html) == []

    desk = login("desk_officer", users)
    services.call_next("1")
    page = desk.get("/desk/1/").content.decode()
    refused = desk.post(
        "/desk/1/action/",
        {"action": "finish", "visit": str(visit.pk), "token": token_of(page.encode())},
    )
    assert refused.status_code == 400
    assert described_ids_exist(refused.content.decode()) == []


def test_the_front_office_list_refreshes_without_reloading_the_page(users):
    html = login("front_office", users).get("/front/").content.decode()
    assert 'http-equiv="refresh"' not in html
    assert "data-refresh-region" in html and 'role="status"' in html


def test_desk_shortcuts_are_announced(users):
    services.issue_number("konsultasi")
    html = login("desk_officer", users).get("/desk/1/").content.decode()
    assert 'data-key="n" aria-keyshortcuts="N"' in html


def test_the_board_speaks_the_offices_language_whatever_the_tv_is_set_to(client):
    """A board PC with an English system still shows the office's Indonesian (issue 18)."""
    page = client.get("/board/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page.status_code == 200 and page["Content-Language"] == "id"
    assert "Sedang dilayani" in page.content.decode()
    assert 'data-state-url="/board/state.json"' in page.content.decode()
    english = client.get("/board/?lang=en", HTTP_ACCEPT_LANGUAGE="id")
    assert "Now serving" in english.content.decode()
    assert 'data-state-url="/board/state.json?lang=en"' in english.content.decode()
    state = client.get("/board/state.json", HTTP_ACCEPT_LANGUAGE="en")
    assert state["Content-Language"] == "id"
