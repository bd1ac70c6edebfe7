"""The agent holds on the office LAN (issue 14 items 6 and 8), with the default limits.

- Issuing is limited per kiosk device (client address) and for all kiosks per minute, on the
  kiosk page and the hardware API alike: over the limit a clear 429, nothing created, nothing
  queued for central; a repeated request is still answered; the window frees itself.
- Only configured host names are answered (no DNS rebinding): another Host header gets 400.
- Sessions are server-side: a cookie copied before logout is dead after it.
- Wrong passwords are throttled per account and per address, with a message and a log line that
  never holds the password.
"""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from branch_agent import throttle
from branch_agent.models import OutboxOp, Visit

pytestmark = pytest.mark.django_db

DEFAULT_LIMITS = {
    "ISSUE_PER_DEVICE_PER_MINUTE": 10,
    "ISSUE_PER_MINUTE": 60,
    "LOGIN_FAILURES_PER_ACCOUNT": 5,
    "LOGIN_FAILURES_PER_ADDRESS": 20,
    "LOGIN_LOCKOUT_MINUTES": 15,
}


@pytest.fixture
def limits(settings):
    """The agent's default limits (the suite's config raises them for the other tests)."""
    settings.PST_AGENT = {**settings.PST_AGENT, **DEFAULT_LIMITS}
    throttle.reset()
    yield settings.PST_AGENT
    throttle.reset()


@pytest.fixture
def clock(monkeypatch):
    """The throttle windows' clock, moved by hand instead of sleeping a minute."""
    now = [1000.0]
    monkeypatch.setattr(throttle, "clock", lambda: now[0])
    return now


def api_issue(client, address, request_id=None):
    body = {"service": "konsultasi"}
    if request_id:
        body["request_id"] = request_id
    return client.post(
        "/api/queue/issue", body, content_type="application/json", REMOTE_ADDR=address
    )


def test_the_api_limits_each_device_per_minute(limits, clock, caplog):
    client = Client()
    caplog.set_level(logging.WARNING, logger="branch_agent.security")
    answers = [api_issue(client, "10.0.0.7", f"flood-{n:04d}").status_code for n in range(30)]
    assert answers == [201] * 10 + [429] * 20
    logged = [r.getMessage() for r in caplog.records if "queue numbers refused" in r.getMessage()]
    assert len(logged) == 1 and "10.0.0.7" in logged[0]  # a flood is one line, not twenty
    assert Visit.objects.count() == 10 == OutboxOp.objects.count()  # nothing for central
    refused = api_issue(client, "10.0.0.7", "flood-9999")
    assert refused["Retry-After"] == "60"
    assert refused.json()["error"] == "too_many"
    assert (
        "Too many queue numbers" in refused.json()["message"]
        or "Terlalu banyak" in (refused.json()["message"])
    )
    # Another kiosk on the LAN still gets its numbers; a repeat of a number already given is
    # answered with that number even now.
    assert api_issue(client, "10.0.0.8", "other-0001").status_code == 201
    repeat = api_issue(client, "10.0.0.7", "flood-0003")
    assert repeat.status_code == 200 and repeat.json()["queue_number"] == "K-004"
    # A minute later the device may issue again.
    clock[0] += 61
    assert api_issue(client, "10.0.0.7", "later-0001").status_code == 201


def test_all_kiosks_together_are_limited_per_minute(limits, clock):
    client = Client()
    made = sum(
        api_issue(client, f"10.0.1.{device}").status_code == 201
        for device in range(10)
        for _ in range(8)
    )
    assert made == 60 == Visit.objects.count()


def test_the_kiosk_page_says_why_and_keeps_its_buttons(limits, clock):
    client = Client(REMOTE_ADDR="10.0.0.9", HTTP_ACCEPT_LANGUAGE="id")
    for _ in range(10):
        page = client.get("/kiosk/")
        token = page.context["token"]
        assert client.post("/kiosk/", {"service": "konsultasi", "token": token}).status_code == 302
    token = client.get("/kiosk/").context["token"]
    refused = client.post("/kiosk/", {"service": "konsultasi", "token": token})
    assert refused.status_code == 429
    text = refused.content.decode()
    assert text.count("Terlalu banyak nomor antrean") == 1 and "kiosk-button" in text
    assert Visit.objects.count() == 10
    # The kiosk's language is the visitor's choice, carried by the form (never the cookie).
    english = client.post("/kiosk/", {"service": "konsultasi", "token": token, "lang": "en"})
    assert english.status_code == 429 and "Too many queue numbers" in english.content.decode()


def test_a_refused_number_is_given_back_when_nothing_was_made(limits, clock):
    client = Client()
    for _ in range(15):  # the same request again and again: one number, one place
        assert api_issue(client, "10.0.0.10", "same-0001").status_code in (200, 201)
    for n in range(9):
        assert api_issue(client, "10.0.0.10", f"next-{n:04d}").status_code == 201
    assert api_issue(client, "10.0.0.10", "next-9999").status_code == 429


@pytest.mark.parametrize("host", ["evil.example.com", "127.0.0.1.nip.io", "attacker:8080"])
def test_other_host_names_get_400(host):
    response = Client().get("/kiosk/", HTTP_HOST=host)
    assert response.status_code == 400
    api = Client().post(
        "/api/queue/issue",
        {"service": "konsultasi"},
        content_type="application/json",
        HTTP_HOST=host,
    )
    assert api.status_code == 400 and Visit.objects.count() == 0


def test_configured_hosts_are_answered():
    for host in ("localhost:8080", "127.0.0.1:8080", "testserver"):
        assert Client().get("/kiosk/", HTTP_HOST=host).status_code == 200


def test_a_copied_session_cookie_is_dead_after_logout(users):
    staff = Client()
    assert staff.login(username="front_office", password="pw-front_office")
    assert staff.get("/front/").status_code == 200
    stolen = Client()
    stolen.cookies["sessionid"] = staff.cookies["sessionid"].value
    assert stolen.get("/front/").status_code == 200  # a copy works while the session lives
    assert staff.post(reverse("branch_agent:logout")).status_code == 302
    after = stolen.get("/front/")
    assert after.status_code == 302 and "/login/" in after["Location"]


def login(client, username, password, address="10.0.0.20"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_lock_the_account_for_a_while(users, limits, clock, caplog):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    caplog.set_level(logging.WARNING, logger="branch_agent.security")
    answers = [login(client, "front_office", f"guess-{n}").status_code for n in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    # Locked: even the right password waits, the form keeps the user name, says how long.
    locked = login(client, "front_office", "pw-front_office")
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
    text = locked.content.decode()
    assert "Too many wrong passwords" in text and "15 minutes" in text
    assert 'value="front_office"' in text
    assert int(locked["Retry-After"]) > 800
    refused = [r for r in caplog.records if "login refused" in r.getMessage()]
    assert len(refused) == 6
    assert all("front_office" in r.getMessage() and "10.0.0.20" in r.getMessage() for r in refused)
    assert not any("guess-" in r.getMessage() or "pw-front" in r.getMessage() for r in refused)
    # Another account from another PC is not affected; after the window the account works again.
    assert login(client, "desk_officer", "pw-desk_officer", "10.0.0.21").status_code == 302
    clock[0] += 15 * 60 + 1
    assert login(Client(), "front_office", "pw-front_office").status_code == 302


def test_one_address_trying_many_accounts_is_stopped(users, limits, clock):
    client = Client()
    answers = [login(client, f"user{n}", "wrong-password").status_code for n in range(22)]
    assert answers[:19] == [200] * 19 and set(answers[19:]) == {429}
    # The same PC with the right password waits too; another PC does not.
    assert login(client, "desk_officer", "pw-desk_officer").status_code == 429
    assert login(Client(), "desk_officer", "pw-desk_officer", "10.0.0.30").status_code == 302


def test_indonesian_lockout_message(users, limits, clock):
    client = Client(HTTP_ACCEPT_LANGUAGE="id")
    for n in range(5):
        response = login(client, "branch_admin", f"x{n}")
    assert response.status_code == 429
    assert "Terlalu banyak kata sandi salah" in response.content.decode()


def test_housekeeping_clears_expired_sessions(users, tmp_path):
    import datetime as dt

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from branch_agent.housekeeping import Housekeeper

    staff = Client()
    assert staff.login(username="front_office", password="pw-front_office")
    live = staff.cookies["sessionid"].value
    Session.objects.create(
        session_key="x" * 32, session_data="", expire_date=timezone.now() - dt.timedelta(hours=1)
    )
    Housekeeper(tmp_path / "unused.sqlite3")._purge()
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
