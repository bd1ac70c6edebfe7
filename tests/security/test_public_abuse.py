"""A hostile public client against central's public doors (issue 14 items 5, 7 and 10).

Floods of every public form that sends an e-mail or opens a ticket, forged forwarding headers,
broken and nested webhook bodies, and the unsafe defaults ``check --deploy`` must name. Each test
failed on the code before the limits and checks existed. The pages are driven through Django's
test client (the real views, middleware, cache and e-mail outbox); SECURITY.md, "The public
boundary", states what is promised here.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.urls import reverse
from helpdesk.models import Queue, Ticket

from pst_helpdesk_ext.checks import PUBLIC_EXAMPLE_VALUES, check_deploy
from pst_helpdesk_ext.models import Complaint, Rating, RatingInvitation
from pst_helpdesk_ext.services import ratings
from tests.central.test_whatsapp import SECRET, envelope, sign, text_message

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
LIMITS = {
    "PUBLIC_LIMIT_PER_CLIENT": (10, 600),
    "PUBLIC_LIMIT_PER_EMAIL": (3, 600),
    "PUBLIC_DAILY_SENDS_PER_EMAIL": 10,
}


@pytest.fixture
def limits(settings: Any) -> dict[str, Any]:
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, **LIMITS, "WHATSAPP_APP_SECRET": SECRET}
    return settings.PST_HELPDESK


def start(client: Client, email: str, name: str = "Siti", **extra: Any) -> Any:
    return client.post(reverse("pst:online_start"), {"name": name, "email": email}, **extra)


# --- item 5: floods of the public forms -----------------------------------------------------------


def test_verification_links_are_limited_per_client_address_keeping_the_form(limits, client):
    for n in range(10):
        assert start(client, f"v{n}@example.org").status_code == 200
    flooded = start(client, "target@example.org", name="Budi Santoso")
    assert flooded.status_code == 429
    html = flooded.content.decode()
    assert "Terlalu banyak permintaan" in html and "10 menit" in html  # names the wait
    assert 'value="target@example.org"' in html and 'value="Budi Santoso"' in html
    assert len(mail.outbox) == 10
    # Another client address is not affected.
    assert start(client, "other@example.org", REMOTE_ADDR="192.0.2.7").status_code == 200
    english = start(client, "x@example.org", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 429 and "Too many requests" in english.content.decode()


def test_one_address_gets_few_emails_whoever_asks(limits, client):
    for n in range(3):
        assert start(client, "victim@example.org", REMOTE_ADDR=f"198.51.100.{n}").status_code == 200
    flooded = start(client, "Victim@Example.org", REMOTE_ADDR="198.51.100.99")
    assert flooded.status_code == 429
    assert "sudah mengirim beberapa surel" in flooded.content.decode()
    assert len(mail.outbox) == 3


def test_a_daily_cap_per_address(limits, settings, client):
    settings.PST_HELPDESK = {
        **limits,
        "PUBLIC_LIMIT_PER_EMAIL": (100, 60),
        "PUBLIC_DAILY_SENDS_PER_EMAIL": 4,
    }
    for n in range(4):
        assert start(client, "cap@example.org", REMOTE_ADDR=f"203.0.113.{n}").status_code == 200
    flooded = start(client, "cap@example.org", REMOTE_ADDR="203.0.113.50")
    assert flooded.status_code == 429
    assert "24 jam" in flooded.content.decode()
    assert len(mail.outbox) == 4


def test_refusals_are_logged_without_the_address(limits, client, caplog):
    caplog.set_level(logging.WARNING, logger="pst.throttle")
    for _ in range(4):
        start(client, "secret.person@example.org")
    assert "public limit reached: email on verify_link" in caplog.text
    assert "secret.person" not in caplog.text


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(limits, settings, client):
    for n in range(10):
        start(client, f"a{n}@example.org", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
    # Forged X-Forwarded-For from a direct client changes nothing: its REMOTE_ADDR counts.
    assert start(client, "b@example.org", HTTP_X_FORWARDED_FOR="10.1.1.1").status_code == 429
    settings.PST_HELPDESK = {**limits, "PUBLIC_TRUSTED_PROXIES": ["127.0.0.1"]}
    # Behind the trusted proxy each visitor counts alone; what the visitor prepends is ignored.
    for n in range(10):
        assert (
            start(
                client, f"c{n}@example.org", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.10"
            ).status_code
            == 200
        )
    assert (
        start(client, "d@example.org", HTTP_X_FORWARDED_FOR="7.7.7.7, 192.0.2.10").status_code
        == 429
    )
    assert start(client, "e@example.org", HTTP_X_FORWARDED_FOR="192.0.2.11").status_code == 200
    assert start(client, "f@example.org", HTTP_X_FORWARDED_FOR="not-an-ip").status_code == 429
    # A misconfigured entry (check E202 names it) is skipped, never a 500.
    settings.PST_HELPDESK = {**limits, "PUBLIC_TRUSTED_PROXIES": ["proxy.local", "127.0.0.1"]}
    assert start(client, "g@example.org", HTTP_X_FORWARDED_FOR="192.0.2.12").status_code == 200


def test_complaint_floods_are_limited_keeping_the_text(limits, client):
    url = reverse("pst:complain")
    text = "Petugas tidak datang ke meja layanan selama satu jam."
    for n in range(10):
        response = client.post(url, {"email": f"p{n}@example.org", "text": text})
        assert response.status_code == 200, response.content.decode()[:300]
    flooded = client.post(url, {"email": "p99@example.org", "text": text + " (lagi)"})
    assert flooded.status_code == 429
    html = flooded.content.decode()
    assert "Terlalu banyak permintaan" in html and "Too many requests" in html  # both languages
    assert "Periksa isian yang ditandai" not in html  # no field is marked: only the wait
    assert text + " (lagi)" in html and 'value="p99@example.org"' in html
    assert Complaint.objects.count() == 10


def test_complaints_to_one_address_are_limited(limits, client):
    url = reverse("pst:complain")
    for _ in range(3):
        client.post(url, {"email": "same@example.org", "text": "Keluhan nomor satu dua tiga."})
    flooded = client.post(url, {"email": "same@example.org", "text": "Keluhan nomor empat ini."})
    assert flooded.status_code == 429 and Complaint.objects.count() == 3


def test_rating_floods_are_limited_per_client(limits, client):
    queue = Queue.objects.create(title="Q", slug="q-rate")
    paths = []
    for n in range(11):
        ticket = Ticket.objects.create(queue=queue, title=f"t{n}", submitter_email="r@example.org")
        paths.append(ratings.link_path(RatingInvitation.objects.create(ticket=ticket)))
    form = {f"U{n}": "4" for n in range(1, 10)} | {"overall": "4", "comment": "Bagus sekali"}
    for path in paths[:10]:
        assert client.post(path, form).status_code == 302
    flooded = client.post(paths[10], form)
    assert flooded.status_code == 429
    assert "Bagus sekali" in flooded.content.decode()
    assert Rating.objects.count() == 10


def test_helpdesk_public_forms_are_limited_by_the_middleware(limits, client):
    url = reverse("helpdesk:password_reset")
    for _ in range(3):
        assert client.post(url, {"email": "staff@example.org"}).status_code == 302
    flooded = client.post(url, {"email": "staff@example.org"})
    assert flooded.status_code == 429
    assert int(flooded["Retry-After"]) > 0
    html = flooded.content.decode()
    assert 'id="throttled-id"' in html and 'id="throttled-en"' in html
    # helpdesk's public ticket form: per client address.
    home = reverse("helpdesk:home")
    for n in range(7):
        client.post(home, {"submitter_email": f"h{n}@example.org", "title": "x"})
    assert client.post(home, {"submitter_email": "h9@example.org"}).status_code == 429


def test_the_verification_email_opens_with_nothing_the_visitor_typed(limits, client):
    bait = "Akun Anda diblokir, hubungi 0812-0000-0000"
    start(client, "siti@example.org", name=bait)
    (message,) = mail.outbox
    assert bait not in message.body and bait not in message.subject
    assert message.body.startswith("Halo,")


# --- issue 13 item 6: the verification link works once ----------------------------------------


def test_a_verification_link_works_once(limits, client):
    start(client, "siti@example.org")
    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    assert client.get(link)["Location"] == reverse("pst:online_search")
    # The same browser opening it again just goes on; another one is refused.
    assert client.get(link)["Location"] == reverse("pst:online_search")
    stranger = Client()
    refused = stranger.get(link)
    assert refused.status_code == 400
    assert "sudah digunakan" in refused.content.decode()
    assert stranger.get(reverse("pst:online_search")).status_code == 302


# --- item 7: the WhatsApp webhook answers bad input with 4xx, never 500 ------------------------


def webhook_post(client: Client, raw: bytes, **extra: Any) -> Any:
    return client.post(
        reverse("pst_api:whatsapp-webhook"),
        raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(raw),
        **extra,
    )


def test_a_content_length_that_is_not_a_number_is_a_400(limits):
    client = Client(raise_request_exception=False)
    raw = json.dumps(envelope([text_message("Halo")])).encode()
    response = webhook_post(client, raw, CONTENT_LENGTH="abc")
    assert response.status_code == 400
    assert b"Content-Length" in response.content
    for odd in ("-5", "²", "1e3", "0x10", " "):
        assert webhook_post(client, raw, CONTENT_LENGTH=odd).status_code == 400, odd
    # Longer than Python converts to an int (4300 digits): refused as too large, not a 500.
    assert webhook_post(client, raw, CONTENT_LENGTH="9" * 5000).status_code == 413


def test_a_huge_body_is_refused_before_it_is_read(limits):
    client = Client(raise_request_exception=False)
    raw = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    response = webhook_post(client, raw)
    assert response.status_code == 413 and b"at most" in response.content


def test_a_deeply_nested_signed_body_is_a_400_not_a_recursion_error(limits):
    client = Client(raise_request_exception=False)
    tickets = Ticket.objects.count()
    for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000):
        response = webhook_post(client, raw)
        assert response.status_code == 400, response.status_code
        assert b"nested too deeply" in response.content
    # Brackets inside strings are text, not nesting: a real message with them is accepted.
    raw = json.dumps(envelope([text_message("[[[[ {{{{ " * 20)])).encode()
    assert webhook_post(client, raw).status_code == 200
    assert Ticket.objects.count() == tickets + 1


# --- item 10: unsafe defaults are loud ------------------------------------------------------------


def test_check_deploy_names_every_public_secret_and_debug(settings):
    settings.SECRET_KEY = "demo-only-insecure-key-change-me-in-production-0123456789"
    settings.DEBUG = True
    settings.PST_HELPDESK = {
        "ID_HASH_KEY": "demo-only-id-hash-key-change-me-0123456789abcdef0123456789",
        "WHATSAPP_APP_SECRET": "demo-app-secret",
        "WHATSAPP_VERIFY_TOKEN": "short",
    }
    found = {(e.id, e.msg.split(" ")[0]) for e in check_deploy()}
    assert {
        ("pst_helpdesk_ext.E301", "SECRET_KEY"),
        ("pst_helpdesk_ext.E302", "PST_HELPDESK['ID_HASH_KEY']"),
        ("pst_helpdesk_ext.E303", "PST_HELPDESK['WHATSAPP_APP_SECRET']"),
        ("pst_helpdesk_ext.E303", "PST_HELPDESK['WHATSAPP_VERIFY_TOKEN']"),
        ("pst_helpdesk_ext.E304", "DEBUG"),
    } <= found
    assert all(e.hint for e in check_deploy())
    with pytest.raises(SystemCheckError, match="E301"):
        call_command("check", deploy=True)


def test_check_deploy_is_quiet_with_real_secrets_and_a_shared_cache(settings, tmp_path):
    settings.SECRET_KEY = "k" * 20 + "9f8e7d6c5b4a39281706f5e4d3c2b1a0" + "x" * 10
    settings.DEBUG = False
    settings.DEFAULT_FROM_EMAIL = "PST BPS <pst@bps.go.id>"  # W318 (issue 16)
    settings.PST_HELPDESK = {
        "ID_HASH_KEY": "5f0c3a1e9b7d2c4e6a8b0d1f3e5c7a9b",
        "WHATSAPP_APP_SECRET": "a3f9c2e1d4b6a8f0c2e4",
        "WHATSAPP_VERIFY_TOKEN": "b7e1d3c5a9f2e4d6c8b0",
        "SYNC_KEY_DIR": str(tmp_path / "keys"),  # W314 (issue 16)
    }
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "c"}
    }
    assert check_deploy() == []


def test_a_per_process_cache_is_a_warning_when_debug_is_off(settings):
    from pst_helpdesk_ext.checks import check_shared_cache

    settings.DEBUG = False
    assert [e.id for e in check_shared_cache()] == ["pst_helpdesk_ext.W301"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert "not at all" in check_shared_cache()[0].msg
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "c"}
    }
    assert check_shared_cache() == []
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.DEBUG = True  # a developer's machine: one process
    assert check_shared_cache() == []


def test_the_example_sites_fallbacks_are_all_known_public_values():
    source = (ROOT / "example_project/example_project/settings.py").read_text()
    fallbacks = dict(re.findall(r'os\.environ\.get\(\s*"(\w+)",\s*"([^"]*)"', source))
    secrets = {
        fallbacks[name]
        for name in (
            "DJANGO_SECRET_KEY",
            "PST_ID_HASH_KEY",
            "PST_WHATSAPP_APP_SECRET",
            "PST_WHATSAPP_VERIFY_TOKEN",
        )
    }
    assert secrets <= PUBLIC_EXAMPLE_VALUES


def test_the_demo_says_it_runs_with_demo_secrets():
    spec = importlib.util.spec_from_file_location("run_demo", ROOT / "example_project/run_demo.py")
    run_demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_demo)
    notice = run_demo.demo_secrets_notice({})
    assert "DEMO SECRETS" in notice and "DJANGO_SECRET_KEY" in notice and "DEBUG" in notice
    real = dict.fromkeys(run_demo.DEMO_SECRET_VARIABLES, "x" * 64) | {"DJANGO_DEBUG": "0"}
    assert run_demo.demo_secrets_notice(real) == ""


def test_the_example_sites_sqlite_file_and_directory_are_private(tmp_path):
    import subprocess
    import sys

    data = tmp_path / "central-data"
    env = {"PATH": "/usr/bin:/bin", "PST_DATA_DIR": str(data), "HOME": str(tmp_path)}
    subprocess.run(
        [sys.executable, str(ROOT / "example_project/manage.py"), "migrate", "-v0"],
        env=env,
        check=True,
        cwd=tmp_path,
    )
    assert (data.stat().st_mode & 0o777) == 0o700
    for file in data.glob("db.sqlite3*"):
        assert (file.stat().st_mode & 0o777) == 0o600, file


def test_online_requests_count_as_sends_to_the_visitors_address(limits, client):
    from pst_helpdesk_ext.services.branches import create_branch
    from tests.central.test_online import COMPLETE_DATA_REQUEST

    create_branch("1222", "Labuhanbatu Selatan")
    start(client, "siti@example.org")  # the verification e-mail: one send
    client.get(re.search(r"https?://\S+", mail.outbox[-1].body).group(0))
    for _ in range(2):  # each request: helpdesk e-mails the visitor its ticket link
        assert client.post(reverse("pst:online_ask"), COMPLETE_DATA_REQUEST).status_code == 302
    flooded = client.post(reverse("pst:online_ask"), COMPLETE_DATA_REQUEST)
    assert flooded.status_code == 429
    html = flooded.content.decode()
    assert "sudah mengirim beberapa surel" in html
    assert COMPLETE_DATA_REQUEST["question"] in html  # what was typed is kept
    assert Ticket.objects.count() == 2


def test_limit_settings_that_cannot_work_are_named(settings):
    from pst_helpdesk_ext.checks import check_settings

    def ids(**pst: Any) -> list[str]:
        settings.PST_HELPDESK = pst
        return [e.id for e in check_settings()]

    assert ids(PUBLIC_LIMIT_PER_CLIENT=(0, 600)) == ["pst_helpdesk_ext.E201"]
    assert ids(PUBLIC_LIMIT_PER_EMAIL="5/hour") == ["pst_helpdesk_ext.E201"]
    assert ids(PUBLIC_DAILY_SENDS_PER_EMAIL=True) == ["pst_helpdesk_ext.E201"]
    assert ids(PUBLIC_TRUSTED_PROXIES=["proxy.local"]) == ["pst_helpdesk_ext.E202"]
    assert ids(PUBLIC_TRUSTED_PROXIES=["10.0.0.0/8", "::1"]) == []
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith("PublicThrottleMiddleware")
    ]
    assert ids() == ["pst_helpdesk_ext.W202"]


def test_visitor_comments_through_helpdesk_are_limited_but_staff_are_not(limits, client):
    from tests.central.test_ui import make_staff

    queue = Queue.objects.create(title="Q", slug="q-upd")
    ticket = Ticket.objects.create(queue=queue, title="t", submitter_email="v@example.org")
    url = reverse("helpdesk:update", args=[ticket.pk])
    for _ in range(10):
        client.post(url, {"comment": "Halo?", "key": ticket.secret_key, "mail": "v@example.org"})
    assert client.post(url, {"comment": "Halo lagi?"}).status_code == 429
    client.force_login(make_staff("petugas"))
    assert client.post(url, {"comment": "Sudah kami jawab."}).status_code != 429
