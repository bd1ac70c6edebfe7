"""The visitor's own consultation page (issue 15) through the test client: the signed link from
helpdesk's real e-mails, the chat, a reply through helpdesk's ``update_ticket``, the clock in
words from ``services.sla``, appointments with their .ics, the rating in place, refused links and
refused replies that keep the text, and "send me my link again"."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from helpdesk.models import FollowUp, Ticket
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.models import PSTTicket, Rating, ServiceCategory, SLAPolicy
from pst_helpdesk_ext.services import appointments, online, sla, visitor
from pst_helpdesk_ext.services.branches import create_branch
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db

EMAIL = "siti@example.com"
LINK = re.compile(r"https?://[^\s\"<>]+/pst/consultation/\d+/[^\s\"<>]+/")


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def branch() -> Any:
    return create_branch("1222", "Labuhanbatu Selatan")


def submit(branch: Any, capture: Any, *, complete: bool = True) -> Ticket:
    data = online.RequestData(
        email=EMAIL,
        name="Siti Aminah",
        institution="Universitas Labuhanbatu",
        branch=branch,
        subject=ServiceCategory.objects.get(code="data"),
        title="Data kemiskinan kecamatan",
        question="Berapa jumlah penduduk miskin per kecamatan tahun 2024?",
        indicator="Penduduk miskin",
        region="Labuhanbatu Selatan" if complete else "",
        period="2024" if complete else "",
        purpose="Skripsi" if complete else "",
    )
    with capture(execute=True):
        pst = online.submit_request(data)
    return Ticket.objects.get(pk=pst.ticket_id)


def page_url(ticket: Ticket) -> str:
    return visitor.link_path(ticket)


def test_every_email_to_the_visitor_links_the_plugins_page_not_helpdesks(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    staff = make_staff("petugas", superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(staff, ticket, comment="Datanya ada di tabel 4.1.", public=True)
    to_visitor = [m for m in mail.outbox if EMAIL in m.to]
    assert len(to_visitor) >= 2  # helpdesk's "new ticket" and "updated" e-mails (Indonesian)
    for message in to_visitor:
        html = message.alternatives[0][0]
        for text in (message.body, html):
            assert "/view/?ticket=" not in text and ticket.secret_key not in text
        link = LINK.search(message.body).group(0)
        assert link in html
        page = client.get("/" + link.split("://", 1)[1].split("/", 1)[1])
        assert page.status_code == 200
        assert "Datanya ada di tabel 4.1." in page.content.decode()


def test_the_page_shows_the_public_conversation_only_with_no_login(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    staff = make_staff("petugas", superuser=True)
    update_ticket(staff, ticket, comment="Jawaban untuk Ibu Siti", public=True)
    update_ticket(staff, ticket, comment="Catatan internal: cek tabel", public=False)
    html = client.get(page_url(ticket)).content.decode()
    authors = re.findall(r'class="bubble (\w+)" data-author="\w+"', html)
    assert authors == ["visitor", "staff"]
    assert "Jawaban untuk Ibu Siti" in html and "Catatan internal" not in html
    assert 'lang="id"' in html and "Percakapan" in html
    assert "helpdesk/js" not in html  # none of helpdesk's stock public UI


def test_the_clock_in_words_is_the_one_staff_see(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    SLAPolicy.objects.filter(kind=SLAPolicy.Kind.ONLINE).update(
        start_rule=SLAPolicy.StartRule.ON_SUBMISSION
    )
    ticket = submit(branch, django_capture_on_commit_callbacks)
    pst = PSTTicket.objects.get(ticket=ticket)
    assert pst.sla_due_at is not None
    calendar = sla.calendar_for(branch)
    with translation.override("id"):
        due = visitor.when_words(pst.sla_due_at, calendar)
    assert re.fullmatch(
        r"(Senin|Selasa|Rabu|Kamis|Jumat|Sabtu|Minggu) \d{1,2} \w+ \d{4} \d\d\.\d\d WIB", due
    )
    html = client.get(page_url(ticket)).content.decode()
    assert 'data-state="running"' in html
    assert f"paling lambat {due}" in html
    assert visitor.when_words(pst.sla_started_at, calendar) in html


def test_an_incomplete_request_says_the_clock_waits_and_what_is_missing(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks, complete=False)
    html = client.get(page_url(ticket)).content.decode()
    assert 'data-state="pending"' in html
    assert "menunggu petugas" in html.lower()
    missing = re.search(r'id="pst-missing">(.*?)</p>', html, re.S).group(1)
    assert "Wilayah" in missing and "Periode" in missing and "Tujuan penggunaan" in missing


@pytest.mark.parametrize("case", ["forged", "other", "expired"])
def test_a_bad_link_shows_a_clear_page_with_no_data(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any, case: str
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    other = Ticket.objects.create(title="Tiket orang lain", queue=branch.queue)
    PSTTicket.objects.create(ticket=other, channel=PSTTicket.objects.get(ticket=ticket).channel)
    token = visitor.link_token(ticket)
    if case == "forged":
        url = reverse("pst:visitor_page", args=[ticket.pk, token[:-3] + "abc"])
        status = 400
    elif case == "other":
        url = reverse("pst:visitor_page", args=[other.pk, token])
        status = 403
    else:
        long_ago = timezone.now() - dt.timedelta(days=31)
        FollowUp.objects.filter(ticket=ticket).update(date=long_ago)
        Ticket.objects.filter(pk=ticket.pk).update(created=long_ago)
        with _frozen_signing(long_ago):
            token = visitor.link_token(ticket)
        url = reverse("pst:visitor_page", args=[ticket.pk, token])
        status = 410
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == status
    assert f'data-code="{case}"' in html
    assert "kemiskinan" not in html.lower() and "orang lain" not in html
    assert 'id="pst-resend"' in html


def _frozen_signing(at: dt.datetime) -> Any:
    import unittest.mock

    return unittest.mock.patch("django.core.signing.time.time", return_value=at.timestamp())


def test_a_fresh_link_reopens_an_inactive_consultation(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    long_ago = timezone.now() - dt.timedelta(days=60)
    FollowUp.objects.filter(ticket=ticket).update(date=long_ago)
    Ticket.objects.filter(pk=ticket.pk).update(created=long_ago)
    assert client.get(page_url(ticket)).status_code == 200


def test_a_visitor_reply_goes_through_helpdesks_update_ticket(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    staff = make_staff("petugas", superuser=True)
    ticket.assigned_to = staff
    ticket.save()
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(staff, ticket, comment="Tahun berapa yang Ibu perlukan?", public=True)
    pst = PSTTicket.objects.get(ticket=ticket)
    assert pst.waiting_for_visitor_since is not None  # the 7-day rule counts from here
    mail.outbox.clear()
    pdf = SimpleUploadedFile("surat.pdf", b"%PDF-1.4 surat", content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            page_url(ticket), {"action": "reply", "text": "Tahun 2024, terima kasih.", "files": pdf}
        )
    assert response.status_code == 302
    followup = FollowUp.objects.filter(ticket=ticket).order_by("-id").first()
    assert followup.comment == "Tahun 2024, terima kasih." and followup.public
    assert followup.user is None and followup.is_from_submitter
    assert [a.filename for a in followup.followupattachment_set.all()] == ["surat.pdf"]
    pst.refresh_from_db()
    assert pst.waiting_for_visitor_since is None  # the visitor answered: no inactivity close
    assert any(staff.email in m.to for m in mail.outbox)  # helpdesk told the officer
    html = client.get(page_url(ticket)).content.decode()
    assert "Tahun 2024, terima kasih." in html
    assert 'data-state="replied"' in html  # not "the officer answered" any more
    attachment = followup.followupattachment_set.get()
    download = client.get(
        reverse("pst:visitor_file", args=[ticket.pk, visitor.link_token(ticket), attachment.pk])
    )
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 surat"


@pytest.mark.parametrize(
    ("files", "text", "error"),
    [
        (
            [SimpleUploadedFile("virus.exe", b"MZ", content_type="application/octet-stream")],
            "Ini lampirannya",
            "virus.exe",
        ),
        (
            [SimpleUploadedFile("besar.pdf", b"x" * 2048, content_type="application/pdf")],
            "File besar",
            "besar.pdf",
        ),
        ([], "x" * (visitor.MAX_REPLY_CHARS + 1), "5001"),
    ],
)
def test_a_refused_reply_keeps_the_text_names_the_error_and_stores_nothing(
    client: Client,
    branch: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    files: list,
    text: str,
    error: str,
) -> None:
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "VISITOR_ATTACHMENT_MAX_BYTES": 1024}
    ticket = submit(branch, django_capture_on_commit_callbacks)
    before = FollowUp.objects.filter(ticket=ticket).count()
    response = client.post(page_url(ticket), {"action": "reply", "text": text, "files": files})
    html = response.content.decode()
    assert response.status_code == 400
    assert error in html and 'id="pst-reply-errors"' in html
    assert text in html  # kept
    assert FollowUp.objects.filter(ticket=ticket).count() == before


def test_a_reply_on_a_closed_consultation_offers_a_new_one_with_the_text(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    staff = make_staff("petugas", superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(
            staff, ticket, comment="Selesai.", public=True, new_status=Ticket.CLOSED_STATUS
        )
    before = FollowUp.objects.filter(ticket=ticket).count()
    text = "Saya butuh juga data tahun 2023 per desa."
    response = client.post(page_url(ticket), {"action": "reply", "text": text})
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="pst-closed"' in html and text in html
    assert FollowUp.objects.filter(ticket=ticket).count() == before
    response = client.post(page_url(ticket), {"action": "new", "text": text})
    assert response["Location"] == reverse("pst:online_ask")
    ask = client.get(response["Location"]).content.decode()
    assert text in ask  # the request form carries it over, for the ticket's address


def test_an_appointment_shows_with_its_ics(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    staff = make_staff("petugas", superuser=True)
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    appointments.record_appointment(
        ticket,
        appointments.Appointment(
            kind=appointments.ZOOM,
            start=start,
            duration=dt.timedelta(minutes=30),
            meeting_url="https://zoom.us/j/123456789",
        ),
        user=staff,
    )
    ticket.refresh_from_db()
    assert ticket.title == "[Data] Data kemiskinan kecamatan"  # not renamed by the appointment
    html = client.get(page_url(ticket)).content.decode()
    section = re.search(r'id="pst-appointments".*?</section>', html, re.S).group(0)
    assert "https://zoom.us/j/123456789" in section
    ics_url = re.search(r'href="([^"]+)" id="pst-ics"', section).group(1)
    ics = b"".join(client.get(ics_url).streaming_content)
    assert ics.startswith(b"BEGIN:VCALENDAR") and b"zoom.us" in ics


def test_the_rating_is_given_in_place_once_the_consultation_ends(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    staff = make_staff("petugas", superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(
            staff, ticket, comment="Jawaban", public=True, new_status=Ticket.RESOLVED_STATUS
        )
    html = client.get(page_url(ticket)).content.decode()
    assert 'id="pst-rating-form"' in html and 'id="pst-complaint"' in html
    answers = {f"U{n}": "4" for n in range(1, 10)}
    bad = client.post(page_url(ticket), {"action": "rate", **answers, "comment": "Bagus"})
    assert bad.status_code == 400 and "Bagus" in bad.content.decode()  # overall missing: kept
    response = client.post(
        page_url(ticket), {"action": "rate", **answers, "overall": "4", "comment": "Bagus"}
    )
    assert response.status_code == 302
    rating = Rating.objects.get(ticket=ticket)
    assert rating.source == Rating.Source.LINK and rating.overall == 4
    assert 'id="pst-rated"' in client.get(page_url(ticket)).content.decode()


def test_indonesian_by_default_english_one_tap_away(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    html = client.get(page_url(ticket), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="id"' in html and "Balas ke petugas" in html
    english = client.get(page_url(ticket) + "?lang=en")
    assert (
        'lang="en"' in english.content.decode()
        and "Reply to the officer" in english.content.decode()
    )
    # remembered for the next page
    assert "Reply to the officer" in client.get(page_url(ticket)).content.decode()


def test_send_me_my_link_again_goes_to_the_tickets_address_only_and_is_limited(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    url = reverse("pst:visitor_resend")
    response = client.post(url, {"email": "orang.lain@example.com"})
    assert response.status_code == 200 and 'id="pst-resent"' in response.content.decode()
    assert mail.outbox == []  # same answer, nothing sent: no one learns who asked us
    bad = client.post(url, {"email": "bukan-alamat"})
    assert bad.status_code == 400 and "bukan-alamat" in bad.content.decode()
    response = client.post(url, {"email": EMAIL.upper()})
    assert response.status_code == 200
    (message,) = mail.outbox
    assert message.to == [EMAIL]
    link = LINK.search(message.body).group(0)
    assert str(ticket.pk) in link
    for _ in range(visitor.RESEND_PER_ADDRESS - 1):
        client.post(url, {"email": EMAIL})
    limited = client.post(url, {"email": EMAIL})
    assert limited.status_code == 429
    assert len(mail.outbox) == visitor.RESEND_PER_ADDRESS


def test_a_whatsapp_appointment_links_the_page_that_has_its_ics(
    client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A WhatsApp text cannot carry the .ics: the message links the visitor's page, which opens
    for a WhatsApp ticket too (no e-mail address on it)."""
    from pst_helpdesk_ext.models import WhatsAppMessage
    from tests.central import test_whatsapp as wa

    settings.PST_HELPDESK = {
        **settings.PST_HELPDESK,
        "WHATSAPP_APP_SECRET": wa.SECRET,
        "WHATSAPP_SENDER": "pst_helpdesk_ext.services.whatsapp.LoggingSender",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = wa.post(
            client, wa.envelope([wa.text_message("Halo, mau tanya KBLI", wamid="wamid.V1")])
        )
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert not ticket.submitter_email
    with django_capture_on_commit_callbacks(execute=True):
        appointments.record_appointment(
            ticket,
            appointments.Appointment(
                kind=appointments.ZOOM,
                start=timezone.now() + dt.timedelta(days=1),
                duration=dt.timedelta(minutes=30),
                meeting_url="https://zoom.us/j/987654321",
            ),
            user=make_staff("petugas", superuser=True),
        )
    out = WhatsAppMessage.objects.get(direction="out")
    link = LINK.search(out.text).group(0)
    page = client.get("/" + link.split("://", 1)[1].split("/", 1)[1]).content.decode()
    assert 'id="pst-ics"' in page and "zoom.us/j/987654321" in page


def test_the_done_page_says_when_a_running_clock_started_and_its_deadline(
    client: Client, branch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Under an "at submission" policy a complete request's clock runs: the done page gives its
    start and deadline as staff's clock has them, and links the visitor's own page."""
    SLAPolicy.objects.filter(kind=SLAPolicy.Kind.ONLINE).update(
        start_rule=SLAPolicy.StartRule.ON_SUBMISSION
    )
    client.post(reverse("pst:online_start"), {"name": "Siti Aminah", "email": EMAIL})
    client.get(re.search(r"https?://\S+", mail.outbox[-1].body).group(0))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("pst:online_ask"),
            {
                "branch": "1222",
                "subject": "data",
                "title": "Kemiskinan per kecamatan",
                "question": "Saya membutuhkan persentase penduduk miskin per kecamatan.",
                "indicator": "Persentase penduduk miskin",
                "region": "Kecamatan Kotapinang",
                "period": "2020-2024",
                "purpose": "Skripsi S1",
            },
        )
    done = client.get(response["Location"]).content.decode()
    pst = PSTTicket.objects.get()
    calendar = sla.calendar_for(branch)
    with translation.override("id"):
        started = visitor.when_words(pst.sla_started_at, calendar)
        due = visitor.when_words(pst.sla_due_at, calendar)
    complete = re.search(r'id="pst-complete"[^>]*>(.*?)</p>', done, re.S).group(1)
    assert started in complete and f"paling lambat {due}" in complete
    # The link is signed with a timestamp (its second may differ from one made now): the page
    # links this ticket's consultation page with a token that opens it.
    link = re.search(r'href="(/pst/consultation/(\d+)/([^/"]+)/)"', done)
    assert link and int(link.group(2)) == pst.ticket_id
    assert visitor.open_link(pst.ticket_id, link.group(3)) == pst.ticket


@pytest.mark.parametrize(
    "bad",
    [{"VISITOR_LINK_INACTIVE_DAYS": 0}, {"VISITOR_ATTACHMENT_MAX_BYTES": "5MB"}],
)
def test_the_visitor_page_settings_are_checked(bad: dict) -> None:
    from pst_helpdesk_ext.checks import check_online_settings

    (error,) = check_online_settings(bad)
    assert error.id == "pst_helpdesk_ext.E101" and next(iter(bad)) in error.msg
