"""The public PST request page through the test client: e-mail verification, search first (the
ticket records it), the request form with per-field errors, a real helpdesk ticket through
helpdesk's own public form, and the visitor's e-mail reply through helpdesk's e-mail ingestion."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from helpdesk.email import extract_email_metadata
from helpdesk.models import FollowUp, KBCategory, KBItem, Ticket
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext import signals
from pst_helpdesk_ext.models import Branch, Channel, OnlineRequest, PSTTicket
from pst_helpdesk_ext.services import online
from pst_helpdesk_ext.services.branches import create_branch
from tests.central import test_ui as ui
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db
# The UI tests' fixture, shared (pytest finds fixtures among a module's globals).
per_queue_permissions = ui.per_queue_permissions

EMAIL = "siti@example.com"


@pytest.fixture
def branch() -> Branch:
    return create_branch("1222", "Labuhanbatu Selatan")


@pytest.fixture
def kb() -> dict[str, KBItem]:
    category = KBCategory.objects.create(
        name="Data", title="Data statistik", slug="data", description="Data", public=True
    )
    hidden = KBCategory.objects.create(
        name="Internal", title="Internal", slug="internal", description="x", public=False
    )
    return {
        "poverty": KBItem.objects.create(
            category=category,
            title="Persentase penduduk miskin",
            question="Di mana data kemiskinan kabupaten?",
            answer="Lihat tabel kemiskinan di Statistik Daerah.",
        ),
        "hidden": KBItem.objects.create(
            category=hidden, title="Kemiskinan internal", question="q", answer="a"
        ),
        "disabled": KBItem.objects.create(
            category=category, title="Kemiskinan lama", question="q", answer="a", enabled=False
        ),
    }


@pytest.fixture
def verified(client: Any) -> Any:
    """A visitor whose e-mail address is verified through the real link."""
    client.post(reverse("pst:online_start"), {"name": "Siti Aminah", "email": EMAIL})
    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == reverse("pst:online_search")
    mail.outbox.clear()
    return client


@pytest.fixture
def submitted(django_capture_on_commit_callbacks: Any) -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def on_submitted(**kwargs: Any) -> None:
        seen.append(kwargs)

    signals.online_request_submitted.connect(on_submitted, dispatch_uid="t-online-sub")
    yield seen
    signals.online_request_submitted.disconnect(dispatch_uid="t-online-sub")


COMPLETE_DATA_REQUEST = {
    "branch": "1222",
    "subject": "data",
    "title": "Kemiskinan per kecamatan",
    "question": "Saya membutuhkan persentase penduduk miskin per kecamatan untuk skripsi.",
    "indicator": "Persentase penduduk miskin",
    "region": "Kecamatan Kotapinang",
    "period": "2020-2024",
    "purpose": "Skripsi S1",
    "institution": "Universitas Sumatera Utara",
}


# --- verification ---------------------------------------------------------------------------------


def test_the_start_page_extends_helpdesk_and_asks_for_an_email(client: Any) -> None:
    page = client.get(reverse("pst:online_start"))
    assert page.status_code == 200
    templates = [t.name for t in page.templates]
    assert "helpdesk/public_base.html" in templates
    assert 'name="email"' in page.content.decode()


def test_the_verification_link_is_emailed_and_signed(client: Any) -> None:
    response = client.post(reverse("pst:online_start"), {"name": "Siti", "email": EMAIL})
    assert response.status_code == 200
    (message,) = mail.outbox
    assert message.to == [EMAIL]
    assert "/pst/request/verify/" in message.body
    assert EMAIL in response.content.decode()


def test_a_bad_email_is_a_field_error_and_sends_nothing(client: Any) -> None:
    response = client.post(reverse("pst:online_start"), {"name": "", "email": "siti@"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="error-email"' in html and 'id="error-name"' in html
    assert mail.outbox == []


def test_a_tampered_link_is_refused_with_advice(client: Any) -> None:
    token = online.make_verify_token(EMAIL, "Siti")
    response = client.get(reverse("pst:online_verify", args=[token[:-2] + "xx"]))
    assert response.status_code == 400
    assert "tidak sah" in response.content.decode()  # the site's language: Indonesian
    assert client.get(reverse("pst:online_search")).status_code == 302


def test_an_expired_link_is_refused(client: Any) -> None:
    class Yesterday(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - 25 * 3600)

    token = Yesterday(salt=online.VERIFY_SALT).sign_object(
        {"email": EMAIL, "name": "Siti"}, compress=True
    )
    response = client.get(reverse("pst:online_verify", args=[token]))
    assert response.status_code == 400
    assert "kedaluwarsa" in response.content.decode()
    english = client.get(
        reverse("pst:online_verify", args=[token]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "This verification link has expired" in english


def test_a_signed_in_user_with_an_email_skips_verification(client: Any) -> None:
    client.force_login(make_staff("budi"))
    response = client.get(reverse("pst:online_start"))
    assert response.status_code == 302
    assert response["Location"] == reverse("pst:online_search")


def test_unverified_visitors_cannot_search_or_ask(client: Any) -> None:
    for name in ("pst:online_search", "pst:online_ask"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"] == reverse("pst:online_start")


# --- search -------------------------------------------------------------------------------------


def test_search_shows_public_articles_and_subjects_before_the_form(verified: Any, kb: dict) -> None:
    page = verified.get(reverse("pst:online_search"), {"q": "kemiskinan"})
    html = page.content.decode()
    assert "Persentase penduduk miskin" in html
    assert "Kemiskinan internal" not in html and "Kemiskinan lama" not in html
    assert 'id="pst-request-form"' not in html
    assert reverse("pst:online_article", args=[kb["poverty"].pk]) in html
    assert reverse("pst:online_ask") in html
    klasifikasi = verified.get(reverse("pst:online_search"), {"q": "klasifikasi"}).content.decode()
    assert "Topik konsultasi" in klasifikasi and "Klasifikasi" in klasifikasi


def test_no_hit_says_so_and_offers_to_ask(verified: Any, kb: dict) -> None:
    html = verified.get(reverse("pst:online_search"), {"q": "ekspor kopi"}).content.decode()
    assert 'id="pst-no-results"' in html
    assert 'id="pst-ask"' in html


def test_opening_an_article_is_counted_and_shows_it_in_helpdesk(verified: Any, kb: dict) -> None:
    item = kb["poverty"]
    response = verified.get(reverse("pst:online_article", args=[item.pk]))
    assert response.status_code == 302
    assert response["Location"] == item.get_absolute_url()
    verified.get(reverse("pst:online_article", args=[item.pk]))  # twice: counted once
    hidden = verified.get(reverse("pst:online_article", args=[kb["hidden"].pk]))
    assert hidden["Location"] == reverse("pst:online_search")
    assert verified.session["pst_online"]["opened"] == [item.pk]


# --- the request --------------------------------------------------------------------------------


def test_a_complete_request_becomes_a_helpdesk_ticket_recording_the_search(
    verified: Any,
    branch: Branch,
    kb: dict,
    submitted: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    verified.get(reverse("pst:online_search"), {"q": "kemiskinan"})
    verified.get(reverse("pst:online_article", args=[kb["poverty"].pk]))
    with django_capture_on_commit_callbacks(execute=True):
        response = verified.post(reverse("pst:online_ask"), COMPLETE_DATA_REQUEST)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert response["Location"] == reverse("pst:online_done", args=[ticket.pk])
    assert ticket.queue == branch.queue
    assert ticket.submitter_email == EMAIL
    assert ticket.title == "[Data] Kemiskinan per kecamatan"
    assert "Kecamatan Kotapinang" in ticket.description
    # Opened like helpdesk's own public form: its follow-up and its e-mail to the visitor.
    (opening,) = FollowUp.objects.filter(ticket=ticket)
    assert opening.public
    assert any(EMAIL in m.to and ticket.ticket_for_url in m.subject for m in mail.outbox)
    pst = PSTTicket.objects.get(ticket=ticket)
    assert pst.channel.code == Channel.WEB
    assert pst.branch == branch
    assert (pst.category.code, pst.subject.code) == ("konsultasi", "data")
    assert pst.visitor.email == EMAIL and pst.visitor.name == "Siti Aminah"
    request = OnlineRequest.objects.get(pst_ticket=pst)
    assert request.search_query == "kemiskinan"
    assert request.search_results == 1
    assert request.articles_opened == [kb["poverty"].pk]
    assert request.complete_at_submission is True and request.missing_fields == []
    assert len(submitted) == 1
    assert submitted[0]["pst_ticket"] == pst and submitted[0]["complete"] is True
    done = verified.get(response["Location"]).content.decode()
    # The default policy starts the clock when staff confirm the request is complete: the page
    # says so (it used to promise "3 working days" from now), and links the visitor's own page.
    assert ticket.ticket_for_url in done and 'id="pst-incomplete"' in done
    assert 'id="pst-complete"' not in done
    assert reverse("pst:visitor_page", args=[ticket.pk, "x"]).rsplit("x/", 1)[0] in done
    assert ticket.secret_key not in done  # not helpdesk's stock public view


def test_an_incomplete_request_is_accepted_and_says_what_is_missing(
    verified: Any, branch: Branch, submitted: list, django_capture_on_commit_callbacks: Any
) -> None:
    data = {**COMPLETE_DATA_REQUEST, "region": "", "period": "", "purpose": ""}
    with django_capture_on_commit_callbacks(execute=True):
        response = verified.post(reverse("pst:online_ask"), data)
    request = OnlineRequest.objects.get()
    assert request.complete_at_submission is False
    assert request.missing_fields == ["purpose", "region", "period"]
    assert submitted[0]["complete"] is False
    done = verified.get(response["Location"]).content.decode()
    assert 'id="pst-incomplete"' in done


@pytest.mark.parametrize(
    ("subject", "extra", "complete"),
    [
        ("metadata", {"indicator": "IPM", "purpose": "riset"}, True),
        ("classification", {"indicator": "", "purpose": "riset"}, False),
        ("data", {"indicator": "IPM", "purpose": "riset"}, False),
    ],
)
def test_the_completeness_rule_per_subject(
    branch: Branch, subject: str, extra: dict, complete: bool
) -> None:
    from pst_helpdesk_ext.models import ServiceCategory

    data = online.RequestData(
        email=EMAIL,
        name="Siti",
        institution="",
        branch=branch,
        subject=ServiceCategory.objects.get(code=subject),
        title="t",
        question="Pertanyaan yang cukup panjang untuk dinilai.",
        **extra,
    )
    assert (online.missing_for_completeness(data) == []) is complete


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"branch": ""}, "branch"),
        ({"branch": "9999"}, "branch"),
        ({"subject": ""}, "subject"),
        ({"subject": "konsultasi"}, "subject"),  # a service, not a subject
        ({"title": ""}, "title"),
        ({"question": ""}, "question"),
        ({"question": "data?"}, "question"),
        ({"title": "x" * 151}, "title"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(
    verified: Any, branch: Branch, change: dict, field: str
) -> None:
    response = verified.post(reverse("pst:online_ask"), {**COMPLETE_DATA_REQUEST, **change})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="error-{field}"' in html
    assert f'aria-describedby="error-{field}"' in html and "is-invalid" in html
    assert Ticket.objects.count() == 0 and PSTTicket.objects.count() == 0
    # What the visitor typed is kept for the correction.
    assert COMPLETE_DATA_REQUEST["purpose"] in html


def test_the_done_page_belongs_to_the_session_that_asked(verified: Any, branch: Branch) -> None:
    response = verified.post(reverse("pst:online_ask"), COMPLETE_DATA_REQUEST)
    other = Client()
    assert other.get(response["Location"]).status_code == 302


# --- the conversation by e-mail -----------------------------------------------------------------


def _reply(ticket: Ticket, body: str) -> str:
    """The visitor's reply to helpdesk's e-mail, as an RFC 822 message."""
    return (
        f"From: Siti Aminah <{EMAIL}>\r\n"
        f"To: pst@example.bps.go.id\r\n"
        f"Subject: Re: [{ticket.ticket_for_url}] {ticket.title}\r\n"
        f"Message-ID: <reply-{ticket.pk}@example.com>\r\n"
        "Date: Tue, 17 Mar 2026 09:00:00 +0700\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}\r\n"
    )


@pytest.fixture
def replies(django_capture_on_commit_callbacks: Any) -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def on_replied(**kwargs: Any) -> None:
        seen.append(kwargs)

    signals.visitor_replied.connect(on_replied, dispatch_uid="t-online-rep")
    yield seen
    signals.visitor_replied.disconnect(dispatch_uid="t-online-rep")


def test_an_email_reply_reopens_a_closed_request_and_is_announced(
    verified: Any, branch: Branch, replies: list, django_capture_on_commit_callbacks: Any
) -> None:
    verified.post(reverse("pst:online_ask"), COMPLETE_DATA_REQUEST)
    ticket = Ticket.objects.get()
    staff = make_staff("petugas", superuser=True)
    update_ticket(staff, ticket, comment="Datanya ada di tabel 4.1.", public=True)
    update_ticket(staff, ticket, comment="Ditutup", public=True, new_status=Ticket.CLOSED_STATUS)
    with django_capture_on_commit_callbacks(execute=True):
        extract_email_metadata(
            _reply(ticket, "Terima kasih, tapi saya perlu juga tahun 2019."),
            ticket.queue,
            logging.getLogger("test"),
        )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.REOPENED_STATUS
    last = ticket.followup_set.order_by("-id").first()
    assert "tahun 2019" in last.comment and last.public and last.user is None
    (reply,) = replies
    assert reply["pst_ticket"] == ticket.pst
    assert reply["followup"] == last and reply["reopened"] is True


def test_an_email_reply_to_an_open_request_is_announced_not_reopened(
    verified: Any, branch: Branch, replies: list, django_capture_on_commit_callbacks: Any
) -> None:
    verified.post(reverse("pst:online_ask"), COMPLETE_DATA_REQUEST)
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        extract_email_metadata(
            _reply(ticket, "Tambahan: kecamatan Torgamba juga."),
            ticket.queue,
            logging.getLogger("test"),
        )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.OPEN_STATUS
    assert replies[0]["reopened"] is False


def test_the_staff_thread_tells_visitor_staff_and_internal_apart(
    client: Any, verified: Any, branch: Branch
) -> None:
    verified.post(reverse("pst:online_ask"), COMPLETE_DATA_REQUEST)
    ticket = Ticket.objects.get()
    staff = make_staff("petugas", superuser=True)
    update_ticket(staff, ticket, comment="Jawaban untuk pengunjung", public=True)
    update_ticket(staff, ticket, comment="Catatan internal petugas", public=False)
    extract_email_metadata(
        _reply(ticket, "Balasan pengunjung"), ticket.queue, logging.getLogger("t")
    )
    verified.logout()
    verified.force_login(staff)
    html = verified.get(reverse("pst:online_conversation", args=[ticket.pk])).content.decode()
    bubbles = re.findall(r'data-author="(\w+)" data-public="(\d)"', html)
    assert bubbles == [("visitor", "1"), ("staff", "1"), ("staff", "0"), ("visitor", "1")]
    assert 'id="pst-online-request" data-complete="1" data-opened="0"' in html


def test_the_conversation_page_honours_queue_permissions(
    client: Any, branch: Branch, per_queue_permissions: None
) -> None:
    ticket = Ticket.objects.create(title="x", queue=branch.queue)
    url = reverse("pst:online_conversation", args=[ticket.pk])
    client.force_login(make_staff("luar"))
    assert client.get(url).status_code == 403
    client.force_login(make_staff("dalam", queues=(branch.queue,)))
    assert client.get(url).status_code == 200
    client.logout()
    assert client.get(url).status_code == 302  # anonymous: to the login page
