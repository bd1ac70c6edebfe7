"""Follow-up appointments: the RFC 5545 file (escaping, folding, UTC times), recorded through
helpdesk's ``update_ticket`` as a public follow-up whose e-mail to the visitor carries the .ics,
parsed back from mail.outbox; the staff form with its per-queue permission and field errors."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from helpdesk import settings as helpdesk_settings
from helpdesk.models import FollowUp, FollowUpAttachment, Ticket

from pst_helpdesk_ext.models import Branch, WhatsAppMessage
from pst_helpdesk_ext.services import appointments
from pst_helpdesk_ext.services.appointments import Appointment, build_ics, escape_text, fold
from pst_helpdesk_ext.services.branches import create_branch
from tests.central import test_ui as ui
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db
per_queue_permissions = ui.per_queue_permissions

JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")
VISITOR = "siti@example.com"


def parse_ics(raw: bytes) -> list[tuple[str, str]]:
    """A strict reader of what RFC 5545 promises: CRLF lines of at most 75 octets, folded lines
    start with one space; returns (name, unescaped value) pairs."""
    text = raw.decode()
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    assert "\n" not in "".join(physical)
    for line in physical:
        assert len(line.encode()) <= 75, line
    unfolded: list[str] = []
    for line in physical:
        if line.startswith(" "):
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    pairs = []
    for line in unfolded:
        name, _sep, value = line.partition(":")
        value = (
            value.replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")
        )
        pairs.append((name, value))
    return pairs


@pytest.fixture
def branch() -> Branch:
    return create_branch("1222", "Labuhanbatu Selatan")


@pytest.fixture
def ticket(branch: Branch) -> Ticket:
    return Ticket.objects.create(
        title="Data kemiskinan", queue=branch.queue, submitter_email=VISITOR
    )


@pytest.fixture
def staff() -> Any:
    return make_staff("petugas", superuser=True)


def test_escaping_and_folding_follow_rfc_5545() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "DESCRIPTION:" + "é" * 80  # two octets each: a fold must not split one
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(part.encode()) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert "".join([parts[0], *(p[1:] for p in parts[1:])]) == line
    assert fold("SHORT:x") == "SHORT:x"


def test_the_ics_round_trips_through_a_strict_reader(branch: Branch) -> None:
    start = dt.datetime(2026, 3, 20, 10, 0, tzinfo=JAKARTA)
    appointment = Appointment(
        appointments.IN_PERSON, start, dt.timedelta(minutes=45), branch=branch
    )
    description = "Bawa KTP; data, metadata\ndan klasifikasi. " + "Panjang " * 20
    raw = build_ics(
        appointment,
        uid="pst-1@example",
        summary="Konsultasi, PST; BPS",
        description=description,
        location="BPS Labuhanbatu Selatan",
    )
    props = dict(parse_ics(raw))
    assert parse_ics(raw)[0] == ("BEGIN", "VCALENDAR")
    assert props["VERSION"] == "2.0" and props["METHOD"] == "PUBLISH"
    assert props["DTSTART"] == "20260320T030000Z"  # 10:00 WIB
    assert props["DTEND"] == "20260320T034500Z"
    assert props["SUMMARY"] == "Konsultasi, PST; BPS"
    assert props["DESCRIPTION"] == description
    assert props["UID"] == "pst-1@example"


def test_an_in_person_appointment_is_a_public_followup_with_the_ics_emailed(
    ticket: Ticket, branch: Branch, staff: Any
) -> None:
    start = dt.datetime(2026, 3, 20, 10, 0, tzinfo=JAKARTA)
    followup = appointments.record_appointment(
        ticket,
        Appointment(appointments.IN_PERSON, start, dt.timedelta(minutes=30), branch=branch),
        user=staff,
    )
    assert followup.public and followup.user == staff
    assert "Labuhanbatu Selatan" in followup.comment
    attachment = FollowUpAttachment.objects.get(followup=followup, filename="appointment.ics")
    assert attachment.filename == "appointment.ics"
    (message,) = [m for m in mail.outbox if VISITOR in m.to]
    ((name, content, mimetype),) = [a for a in message.attachments if a[0].endswith(".ics")]
    assert name == "appointment.ics" and mimetype == "text/calendar"
    props = dict(parse_ics(content if isinstance(content, bytes) else content.encode()))
    assert props["DTSTART"] == "20260320T030000Z"
    assert props["DTEND"] == "20260320T033000Z"
    assert props["LOCATION"] == "BPS Labuhanbatu Selatan"
    assert "URL" not in props


def test_a_zoom_appointment_carries_the_link(ticket: Ticket, staff: Any) -> None:
    start = dt.datetime(2026, 3, 23, 13, 30, tzinfo=JAKARTA)
    url = "https://zoom.us/j/123456789?pwd=abc"
    followup = appointments.record_appointment(
        ticket,
        Appointment(
            appointments.ZOOM,
            start,
            dt.timedelta(hours=1),
            meeting_url=url,
            note="Siapkan daftar tabel, ya; terima kasih",
        ),
        user=staff,
    )
    assert url in followup.comment
    (message,) = [m for m in mail.outbox if VISITOR in m.to]
    content = next(a[1] for a in message.attachments if a[0] == "appointment.ics")
    props = dict(parse_ics(content if isinstance(content, bytes) else content.encode()))
    assert props["URL"] == url and props["LOCATION"] == url
    assert "Siapkan daftar tabel, ya; terima kasih" in props["DESCRIPTION"]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": appointments.ZOOM, "meeting_url": "zoom.us/j/1"}, "meeting_url"),
        ({"kind": appointments.IN_PERSON, "branch": None}, "branch"),
        ({"kind": "phone"}, "kind"),
        ({"kind": appointments.ZOOM, "meeting_url": "https://x", "minutes": 2}, "duration"),
    ],
)
def test_bad_appointments_are_refused_and_record_nothing(
    ticket: Ticket, staff: Any, fields: dict, error: str
) -> None:
    minutes = fields.pop("minutes", 30)
    appointment = Appointment(
        start=dt.datetime(2026, 3, 20, 10, tzinfo=JAKARTA),
        duration=dt.timedelta(minutes=minutes),
        **{"branch": None, "meeting_url": "", **fields},
    )
    with pytest.raises(ValidationError) as exc:
        appointments.record_appointment(ticket, appointment, user=staff)
    assert error in exc.value.message_dict
    assert FollowUp.objects.filter(ticket=ticket).count() == 0
    assert mail.outbox == []


def test_without_ics_attachments_allowed_the_visitor_gets_it_separately(
    ticket: Ticket,
    branch: Branch,
    staff: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # A site on helpdesk's default attachment types (read once by helpdesk at start).
    monkeypatch.setattr(
        helpdesk_settings,
        "HELPDESK_VALID_EXTENSIONS",
        [".txt", ".pdf", ".png"],
    )
    assert not appointments.ics_attachments_allowed()
    start = dt.datetime(2026, 3, 20, 10, 0, tzinfo=JAKARTA)
    with django_capture_on_commit_callbacks(execute=True):
        followup = appointments.record_appointment(
            ticket,
            Appointment(appointments.IN_PERSON, start, dt.timedelta(minutes=30), branch=branch),
            user=staff,
        )
    # Only the QR of the check-in code (.png is allowed) is attached to the follow-up.
    assert [a.filename for a in FollowUpAttachment.objects.filter(followup=followup)] == [
        "check-in-code.png"
    ]
    to_visitor = [m for m in mail.outbox if VISITOR in m.to]
    assert len(to_visitor) == 2
    assert [a[0] for a in to_visitor[1].attachments] == ["appointment.ics"]


def test_the_staff_form_records_an_appointment(
    client: Any, ticket: Ticket, branch: Branch, staff: Any
) -> None:
    client.force_login(staff)
    url = reverse("pst:online_conversation", args=[ticket.pk])
    response = client.post(
        url,
        {"kind": "in_person", "start": "2026-03-20T10:00", "minutes": "30", "branch": "1222"},
    )
    assert response.status_code == 302
    followup = FollowUp.objects.get(ticket=ticket)
    assert followup.public
    assert FollowUpAttachment.objects.filter(followup=followup, filename="appointment.ics").exists()
    page = client.get(url).content.decode()
    assert "appointment.ics" in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "zoom", "start": "2026-03-20T10:00", "minutes": "30"}, "meeting_url"),
        ({"kind": "zoom", "start": "besok", "minutes": "30"}, "start"),
        ({"start": "2026-03-20T10:00", "minutes": "30"}, "kind"),
        ({"kind": "in_person", "start": "2026-03-20T10:00", "minutes": "0"}, "minutes"),
    ],
)
def test_the_staff_form_names_the_bad_field(
    client: Any, ticket: Ticket, staff: Any, data: dict, field: str
) -> None:
    client.force_login(staff)
    response = client.post(reverse("pst:online_conversation", args=[ticket.pk]), data)
    assert response.status_code == 400
    assert f'id="error-{field}"' in response.content.decode()
    assert not FollowUp.objects.filter(ticket=ticket).exists()


def test_the_staff_form_needs_access_to_the_queue(
    client: Any, ticket: Ticket, per_queue_permissions: None
) -> None:
    client.force_login(make_staff("luar"))
    response = client.post(
        reverse("pst:online_conversation", args=[ticket.pk]),
        {
            "kind": "zoom",
            "start": "2026-03-20T10:00",
            "minutes": "30",
            "meeting_url": "https://zoom.us/j/1",
        },
    )
    assert response.status_code == 403
    assert not FollowUp.objects.filter(ticket=ticket).exists()


def test_a_whatsapp_visitor_gets_the_appointment_on_whatsapp(
    client: Any, settings: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.central.test_whatsapp import LOGGING, SECRET, envelope, post, text_message

    settings.PST_HELPDESK = {
        **settings.PST_HELPDESK,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_SENDER": LOGGING,
    }
    post(client, envelope([text_message("Bisa konsultasi lewat Zoom?")]))
    ticket = Ticket.objects.get()
    url = "https://zoom.us/j/987654321"
    with django_capture_on_commit_callbacks(execute=True):
        appointments.record_appointment(
            ticket,
            Appointment(
                appointments.ZOOM,
                dt.datetime(2026, 3, 24, 9, tzinfo=JAKARTA),
                dt.timedelta(minutes=30),
                meeting_url=url,
            ),
            user=staff,
        )
    out = WhatsAppMessage.objects.get(direction="out")
    assert url in out.text
