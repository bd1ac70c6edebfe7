"""The WhatsApp webhook and sender, with payloads shaped exactly as the Cloud API documents them
(messages webhook reference: entry[].changes[].value.messages[] / statuses[]), signed with a
real HMAC-SHA256, against real helpdesk tickets; the Cloud API sender against a real local
HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from helpdesk.models import FollowUp, Ticket
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext import signals
from pst_helpdesk_ext.models import Channel, PSTTicket, WhatsAppMessage, WhatsAppThread
from pst_helpdesk_ext.services import whatsapp
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db

SECRET = "test-app-secret-0123456789"
VERIFY = "test-verify-token"
PHONE = "6281234567890"
URL = "/api/pst/whatsapp/webhook/"
LOGGING = "pst_helpdesk_ext.services.whatsapp.LoggingSender"


@pytest.fixture(autouse=True)
def whatsapp_settings(settings: Any) -> None:
    settings.PST_HELPDESK = {
        **settings.PST_HELPDESK,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY,
        "WHATSAPP_SENDER": LOGGING,
    }


def text_message(
    body: str,
    *,
    wamid: str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
    phone: str = PHONE,
    kind: str = "text",
) -> dict[str, Any]:
    message: dict[str, Any] = {"from": phone, "id": wamid, "timestamp": "1749416383", "type": kind}
    if kind == "text":
        message["text"] = {"body": body}
    elif kind == "image":
        message["image"] = {
            "caption": body,
            "mime_type": "image/jpeg",
            "sha256": "8c2d...",
            "id": "1003383421387256",
        }
    return message


def envelope(
    messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The documented messages-webhook body."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
    }
    if messages is not None:
        value["contacts"] = [{"profile": {"name": "Sheena Nelson"}, "wa_id": PHONE}]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def sign(raw: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post(client: Any, body: Any, *, signature: str | None = "auto") -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {}
    if signature == "auto":
        headers["HTTP_X_HUB_SIGNATURE_256"] = sign(raw)
    elif signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return client.post(URL, raw, content_type="application/json", **headers)


@pytest.fixture
def send(client: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """POST a webhook and run what it left for after commit (signals, replies), like a request
    that commits."""

    def send(body: Any, *, signature: str | None = "auto") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return post(client, body, signature=signature)

    return send


@pytest.fixture
def received() -> Iterator[list[tuple[str, dict]]]:
    """The PST signals sent while the test runs (after commit), as (name, kwargs)."""
    seen: list[tuple[str, dict]] = []

    def on_submitted(**kwargs: Any) -> None:
        seen.append(("submitted", kwargs))

    def on_replied(**kwargs: Any) -> None:
        seen.append(("replied", kwargs))

    signals.online_request_submitted.connect(on_submitted, dispatch_uid="t-sub")
    signals.visitor_replied.connect(on_replied, dispatch_uid="t-rep")
    yield seen
    signals.online_request_submitted.disconnect(dispatch_uid="t-sub")
    signals.visitor_replied.disconnect(dispatch_uid="t-rep")


# --- handshake and signature --------------------------------------------------------------------


def test_verification_handshake_echoes_the_challenge(client: Any) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    response = client.get(URL, query)
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert reverse("pst_api:whatsapp-webhook") == URL


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {},
    ],
)
def test_handshake_with_a_wrong_token_is_403(client: Any, query: dict[str, str]) -> None:
    assert client.get(URL, query).status_code == 403


def test_handshake_without_a_configured_token_is_403(client: Any, settings: Any) -> None:
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "WHATSAPP_VERIFY_TOKEN": ""}
    query = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert client.get(URL, query).status_code == 403


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "0" * 64,
        "auto-wrong-secret",
    ],
)
def test_bad_or_missing_signature_is_403_and_creates_nothing(send: Any, signature: Any) -> None:
    body = envelope([text_message("Halo, saya mau tanya data kemiskinan")])
    if signature == "auto-wrong-secret":
        signature = sign(json.dumps(body).encode(), "another-secret")
    response = send(body, signature=signature)
    assert response.status_code == 403
    assert Ticket.objects.count() == 0
    assert FollowUp.objects.count() == 0
    assert WhatsAppMessage.objects.count() == 0


def test_a_signature_over_a_different_body_is_403(client: Any) -> None:
    signed = json.dumps(envelope([text_message("asli")])).encode()
    tampered = json.dumps(envelope([text_message("palsu")])).encode()
    response = client.post(
        URL, tampered, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sign(signed)
    )
    assert response.status_code == 403
    assert Ticket.objects.count() == 0


def test_without_an_app_secret_every_post_is_refused(send: Any, settings: Any) -> None:
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "WHATSAPP_APP_SECRET": ""}
    assert send(envelope([text_message("Halo")])).status_code == 403
    assert Ticket.objects.count() == 0


# --- incoming messages --------------------------------------------------------------------------


def test_a_text_message_opens_a_ticket_for_the_phone(send: Any, received: list) -> None:
    response = send(envelope([text_message("Berapa jumlah penduduk Kotapinang 2024?")]))
    assert response.status_code == 200
    assert response.json() == {"created": 1, "duplicates": 0, "statuses": 0, "ignored": 0}
    ticket = Ticket.objects.get()
    assert ticket.queue.slug == "pst-online"
    assert ticket.title == "Berapa jumlah penduduk Kotapinang 2024?"
    assert ticket.status == Ticket.OPEN_STATUS
    pst = PSTTicket.objects.get(ticket=ticket)
    assert pst.channel.code == Channel.WHATSAPP
    assert pst.category.code == "konsultasi"
    assert pst.whatsapp.wa_id == PHONE
    followup = FollowUp.objects.get(ticket=ticket)
    assert followup.public and followup.user is None
    assert followup.comment == "Berapa jumlah penduduk Kotapinang 2024?"
    assert WhatsAppMessage.objects.get().followup == followup
    # The profile name the API sends is not kept anywhere.
    assert "Sheena" not in json.dumps(list(Ticket.objects.values()), default=str)
    assert [name for name, _kw in received] == ["submitted"]
    assert received[0][1]["pst_ticket"] == pst and received[0][1]["complete"] is False


def test_a_second_message_continues_the_ticket(send: Any, received: list) -> None:
    send(envelope([text_message("Halo", wamid="wamid.A1")]))
    send(envelope([text_message("Data tahun 2023 juga", wamid="wamid.A2")]))
    ticket = Ticket.objects.get()
    assert list(ticket.followup_set.order_by("id").values_list("comment", flat=True)) == [
        "Halo",
        "Data tahun 2023 juga",
    ]
    assert [name for name, _kw in received] == ["submitted", "replied"]
    assert received[1][1]["reopened"] is False


def test_another_phone_gets_its_own_ticket(send: Any) -> None:
    send(envelope([text_message("Halo", wamid="wamid.B1")]))
    send(envelope([text_message("Selamat pagi", wamid="wamid.B2", phone="6289876543210")]))
    assert Ticket.objects.count() == 2


def test_duplicate_deliveries_make_one_followup(send: Any) -> None:
    body = envelope([text_message("Halo", wamid="wamid.DUP")])
    first = send(body)
    second = send(body)
    assert first.json()["created"] == 1
    assert second.status_code == 200 and second.json()["duplicates"] == 1
    assert FollowUp.objects.count() == 1
    # The same id twice in one body: still one.
    send(envelope([text_message("x", wamid="wamid.D2"), text_message("x", wamid="wamid.D2")]))
    assert FollowUp.objects.count() == 2


def test_a_reply_reopens_a_closed_ticket(send: Any, received: list) -> None:
    send(envelope([text_message("Halo", wamid="wamid.C1")]))
    ticket = Ticket.objects.get()
    update_ticket(make_staff("petugas"), ticket, comment="Selesai", public=True,
                  new_status=Ticket.CLOSED_STATUS)  # fmt: skip
    send(envelope([text_message("Masih ada pertanyaan", wamid="wamid.C2")]))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.REOPENED_STATUS
    last = ticket.followup_set.order_by("-id").first()
    assert last.new_status == Ticket.REOPENED_STATUS
    assert last.ticketchange_set.get().field == "Status"
    assert received[-1][0] == "replied" and received[-1][1]["reopened"] is True


def test_an_old_closed_ticket_is_not_reopened_a_new_one_starts(send: Any) -> None:
    send(envelope([text_message("Halo", wamid="wamid.O1")]))
    Ticket.objects.update(status=Ticket.CLOSED_STATUS)
    Ticket.objects.update(modified="2020-01-01T00:00:00Z")
    send(envelope([text_message("Pertanyaan baru", wamid="wamid.O2")]))
    assert Ticket.objects.count() == 2
    assert Ticket.objects.filter(status=Ticket.CLOSED_STATUS).count() == 1


def test_spam_sized_messages_are_truncated_with_a_note(send: Any, settings: Any) -> None:
    body = "data " * 2000  # 10,000 characters
    send(envelope([text_message(body)]))
    followup = FollowUp.objects.get()
    assert followup.comment.startswith(body[:4096])
    assert body[:4097] not in followup.comment
    assert "10000" in followup.comment and "4096" in followup.comment
    assert len(followup.comment) < 4096 + 300


def test_media_is_not_downloaded_the_followup_says_what_came(send: Any) -> None:
    send(envelope([text_message("Tabel ini", kind="image")]))
    comment = FollowUp.objects.get().comment
    assert comment.startswith("Tabel ini")
    assert "image" in comment


def test_status_updates_are_acknowledged_and_mark_our_messages(send: Any) -> None:
    send(envelope([text_message("Halo", wamid="wamid.S1")]))
    thread = WhatsAppThread.objects.get()
    sent = WhatsAppMessage.objects.create(
        thread=thread, message_id="wamid.OUT1", direction="out", status="sent", text="Jawaban"
    )
    statuses = [
        {
            "id": "wamid.OUT1",
            "status": "read",
            "timestamp": "1750263773",
            "recipient_id": PHONE,
            "pricing": {"billable": True, "pricing_model": "PMP", "category": "service"},
        },
        {"id": "wamid.unknown", "status": "delivered", "timestamp": "1", "recipient_id": PHONE},
    ]
    response = send(envelope(statuses=statuses))
    assert response.status_code == 200
    assert response.json()["statuses"] == 1
    sent.refresh_from_db()
    assert sent.status == "read"
    assert FollowUp.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account", "entry": "nope"},
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "account_update", "value": {"x": 1}}]}],
        },
        {
            "object": "whatsapp_business_account",
            "entry": [
                {"changes": [{"field": "messages", "value": {"messages": [{"id": "wamid.X"}]}}]}
            ],
        },
        [1, 2, 3],
        b"not json at all",
        b"",
    ],
)
def test_unknown_shapes_are_acknowledged_and_create_nothing(send: Any, body: Any) -> None:
    response = send(body)
    assert response.status_code == 200
    assert Ticket.objects.count() == 0


def test_other_methods_are_refused(client: Any) -> None:
    assert client.put(URL, b"{}").status_code == 405


# --- replies out ----------------------------------------------------------------------------------


@pytest.fixture
def wa_ticket(send: Any) -> Ticket:
    send(envelope([text_message("Halo, mau tanya KBLI", wamid="wamid.R1")]))
    return Ticket.objects.get()


def test_staff_public_reply_goes_out_through_the_sender(
    wa_ticket: Ticket, django_capture_on_commit_callbacks: Any
) -> None:
    staff = make_staff("petugas")
    with django_capture_on_commit_callbacks(execute=True):
        followup = update_ticket(staff, wa_ticket, comment="KBLI 47111 adalah ...", public=True)
    out = WhatsAppMessage.objects.get(direction="out")
    assert out.followup == followup
    assert out.text == "KBLI 47111 adalah ..."
    assert out.status == "sent" and out.message_id.startswith("logged.")
    assert out.thread.wa_id == PHONE


def test_internal_notes_and_visitor_messages_are_not_sent(
    send: Any, wa_ticket: Ticket, django_capture_on_commit_callbacks: Any
) -> None:
    send(envelope([text_message("Terima kasih", wamid="wamid.R2")]))
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(make_staff("petugas"), wa_ticket, comment="catatan internal", public=False)
        update_ticket(AnonymousUser(), wa_ticket, comment="", public=True)
    assert not WhatsAppMessage.objects.filter(direction="out").exists()


def test_long_replies_go_out_in_parts(
    wa_ticket: Ticket, django_capture_on_commit_callbacks: Any
) -> None:
    reply = "\n".join(f"Baris {n}: " + "x" * 90 for n in range(100))  # ~10,000 characters
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(make_staff("petugas"), wa_ticket, comment=reply, public=True)
    parts = list(WhatsAppMessage.objects.filter(direction="out").values_list("text", flat=True))
    assert len(parts) == 3
    assert all(len(part) <= 4096 for part in parts)
    assert "\n".join(parts) == reply


def test_without_a_sender_the_reply_is_recorded_failed(
    wa_ticket: Ticket, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "WHATSAPP_SENDER": ""}
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(make_staff("petugas"), wa_ticket, comment="Jawaban", public=True)
    out = WhatsAppMessage.objects.get(direction="out")
    assert out.status == "failed" and "WHATSAPP_SENDER" in out.error


def test_resolving_sends_the_rating_link_through_whatsapp(
    wa_ticket: Ticket, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A WhatsApp visitor has no e-mail address: the rating link reaches them in the chat,
    in the queue's language, and it opens the rating form."""
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(
            make_staff("petugas"),
            wa_ticket,
            comment="Data sudah kami kirim.",
            public=True,
            new_status=Ticket.RESOLVED_STATUS,
        )
    out = WhatsAppMessage.objects.filter(direction="out").order_by("pk")
    texts = list(out.values_list("text", flat=True))
    assert texts[0] == "Data sudah kami kirim."
    (link_text,) = [text for text in texts if "/pst/rate/" in text]
    assert "Mohon beri penilaian" in link_text
    url = link_text.rsplit(" ", 1)[-1]
    assert client.get(url[url.index("/pst/rate/") :]).status_code == 200


def test_send_to_visitor_is_false_for_a_web_ticket(wa_ticket: Ticket) -> None:
    pst = wa_ticket.pst
    assert whatsapp.send_to_visitor(pst, "Nilai layanan kami: https://x/r/1") is True
    web = PSTTicket.objects.create(
        ticket=Ticket.objects.create(title="web", queue=wa_ticket.queue),
        channel=Channel.objects.get(code=Channel.WEB),
    )
    assert whatsapp.send_to_visitor(web, "Nilai layanan kami") is False


def test_the_staff_thread_shows_the_phone_masked(client: Any, wa_ticket: Ticket) -> None:
    client.force_login(make_staff("admin", superuser=True))
    page = client.get(reverse("pst:online_conversation", args=[wa_ticket.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert PHONE not in html
    assert "+62•••••7890" in html
    assert 'data-author="visitor"' in html


# --- the real Cloud API sender, against a local HTTP server ---------------------------------------


class _GraphHandler(http.server.BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []
    fail = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "auth": self.headers["Authorization"], "body": body}
        )
        if type(self).fail:
            answer = {"error": {"message": "Invalid OAuth access token.", "code": 190}}
            self.send_response(401)
        else:
            answer = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": "wamid.FROMGRAPH"}],
            }
            self.send_response(200)
        data = json.dumps(answer).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def graph(settings: Any) -> Iterator[type[_GraphHandler]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _GraphHandler)
    _GraphHandler.requests, _GraphHandler.fail = [], False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PST_HELPDESK = {
        **settings.PST_HELPDESK,
        "WHATSAPP_SENDER": "pst_helpdesk_ext.services.whatsapp.CloudApiSender",
        "WHATSAPP_GRAPH_URL": f"http://127.0.0.1:{server.server_port}/v21.0",
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "WHATSAPP_ACCESS_TOKEN": "EAAG-test-token",
    }
    yield _GraphHandler
    server.shutdown()
    server.server_close()


def test_cloud_api_sender_posts_the_documented_message(wa_ticket: Ticket, graph: Any) -> None:
    assert whatsapp.send_to_visitor(wa_ticket.pst, "Jawaban kami") is True
    (request,) = graph.requests
    assert request["path"] == "/v21.0/106540352242922/messages"
    assert request["auth"] == "Bearer EAAG-test-token"
    assert request["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": PHONE,
        "type": "text",
        "text": {"preview_url": False, "body": "Jawaban kami"},
    }
    assert WhatsAppMessage.objects.get(direction="out").message_id == "wamid.FROMGRAPH"


def test_cloud_api_errors_are_recorded_not_raised(wa_ticket: Ticket, graph: Any) -> None:
    graph.fail = True
    assert whatsapp.send_to_visitor(wa_ticket.pst, "Jawaban kami") is False
    out = WhatsAppMessage.objects.get(direction="out")
    assert out.status == "failed"
    assert "401" in out.error and "Invalid OAuth access token" in out.error


def test_cloud_api_unreachable_is_recorded(wa_ticket: Ticket, settings: Any) -> None:
    settings.PST_HELPDESK = {
        **settings.PST_HELPDESK,
        "WHATSAPP_SENDER": "pst_helpdesk_ext.services.whatsapp.CloudApiSender",
        "WHATSAPP_GRAPH_URL": "http://127.0.0.1:9/v21.0",
        "WHATSAPP_PHONE_NUMBER_ID": "1",
        "WHATSAPP_ACCESS_TOKEN": "t",
    }
    assert whatsapp.send_to_visitor(wa_ticket.pst, "x") is False
    assert "cannot reach" in WhatsAppMessage.objects.get(direction="out").error


# --- personal data, admin, checks -----------------------------------------------------------------


def test_retention_forgets_old_numbers_and_a_new_message_starts_afresh(
    send: Any, wa_ticket: Ticket
) -> None:
    import datetime as dt

    from django.utils import timezone

    assert whatsapp.forget_numbers(timezone.now() - dt.timedelta(days=1)) == 0
    assert whatsapp.forget_numbers(timezone.now() + dt.timedelta(seconds=1)) == 1
    assert WhatsAppThread.objects.get().wa_id == ""
    assert whatsapp.send_to_visitor(wa_ticket.pst, "x") is False
    send(envelope([text_message("Halo lagi", wamid="wamid.NEW")]))
    assert Ticket.objects.count() == 2


def test_admin_shows_whatsapp_rows_with_the_number_masked(
    client: Any, wa_ticket: Ticket, django_capture_on_commit_callbacks: Any
) -> None:
    staff = make_staff("admin", superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(staff, wa_ticket, comment="Jawaban", public=True)
    client.force_login(staff)
    for model in ("whatsappthread", "whatsappmessage"):
        changelist = client.get(reverse(f"admin:pst_helpdesk_ext_{model}_changelist"))
        assert changelist.status_code == 200
        assert PHONE not in changelist.content.decode()
        assert "+62•••••7890" in changelist.content.decode()
        first = WhatsAppThread if model == "whatsappthread" else WhatsAppMessage
        change = client.get(
            reverse(f"admin:pst_helpdesk_ext_{model}_change", args=[first.objects.first().pk])
        )
        assert change.status_code == 200 and PHONE not in change.content.decode()


def _check_ids(**keys: Any) -> list[str]:
    from django.test import override_settings

    from pst_helpdesk_ext.checks import check_settings

    with override_settings(PST_HELPDESK={"ID_HASH_KEY": "k" * 40, **keys}):
        return [e.id for e in check_settings()]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({}, []),
        (
            {"WHATSAPP_SENDER": LOGGING, "WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "t"},
            [],
        ),
        ({"WHATSAPP_MAX_MESSAGE_CHARS": 0}, ["pst_helpdesk_ext.E101"]),
        ({"ONLINE_VERIFY_MAX_AGE_HOURS": "24"}, ["pst_helpdesk_ext.E101"]),
        ({"WHATSAPP_MAX_MESSAGE_CHARS": 5000}, ["pst_helpdesk_ext.E102"]),
        ({"WHATSAPP_SENDER": "no.such.Sender"}, ["pst_helpdesk_ext.E103"]),
        (
            {"WHATSAPP_SENDER": "pst_helpdesk_ext.services.whatsapp.CloudApiSender"},
            ["pst_helpdesk_ext.E104"],
        ),
        ({"WHATSAPP_SENDER": LOGGING, "WHATSAPP_GRAPH_URL": "http://x"}, ["pst_helpdesk_ext.E105"]),
        ({"WHATSAPP_VERIFY_TOKEN": "t"}, ["pst_helpdesk_ext.E106"]),
        ({"WHATSAPP_APP_SECRET": "s"}, ["pst_helpdesk_ext.W102"]),
    ],
)
def test_inconsistent_whatsapp_settings_are_named(keys: dict, expected: list[str]) -> None:
    assert _check_ids(**keys) == expected


def test_ics_attachments_not_allowed_is_a_warning(monkeypatch: Any) -> None:
    from helpdesk import settings as helpdesk_settings

    monkeypatch.setattr(helpdesk_settings, "HELPDESK_VALID_EXTENSIONS", [".txt"])
    assert _check_ids() == ["pst_helpdesk_ext.W101"]


ON_POSTGRES = os.environ.get("PST_TEST_DATABASE_URL", "").startswith("postgres")


@pytest.mark.skipif(not ON_POSTGRES, reason="needs two connections to one database: PostgreSQL")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_message_delivered_twice_at_once_makes_one_followup() -> None:
    """Two web workers get the same retried delivery at the same moment: both see no such
    message yet; the unique message id lets one commit and the other give up cleanly."""
    import datetime as dt

    from django.db import connection

    message = whatsapp.IncomingMessage(
        PHONE, "wamid.RACE", dt.datetime.now(dt.UTC), "text", "Halo dari dua pekerja"
    )
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(whatsapp.receive_message(message))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(result is None for result in results) == [False, True]
    assert Ticket.objects.count() == 1
    assert FollowUp.objects.count() == 1
    assert WhatsAppMessage.objects.filter(message_id="wamid.RACE").count() == 1
