"""Follow-up appointments: in person at a branch office, or a Zoom meeting.

What it owns: the iCalendar (RFC 5545) file of an appointment, and recording the appointment on
its ticket as a public follow-up through helpdesk's own ``update_ticket`` with the ``.ics`` file
attached, so helpdesk's e-mail to the visitor carries it and the public ticket page offers it.

Rules:
- The .ics is written by hand, to the letter of RFC 5545: CRLF line ends, TEXT values escaped
  (backslash, semicolon, comma, newline), content lines folded at 75 octets without splitting a
  UTF-8 character, times in UTC (``...Z``), a stable UID per follow-up, METHOD:PUBLISH (the
  visitor adds it to a calendar; no reply is expected).
- helpdesk only attaches files whose extension it allows (``HELPDESK_VALID_EXTENSIONS``, read once
  at start): when ``.ics`` is not allowed the follow-up is recorded without the file and the
  visitor gets the .ics in a separate e-mail, so nobody loses the appointment (check W101 says so).
- Staff need access to the ticket's queue (helpdesk's per-queue rule); the caller checks it.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from helpdesk import settings as helpdesk_settings
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.helpdesk_gateway import record_update
from pst_helpdesk_ext.models import Branch

logger = logging.getLogger("pst.appointments")

IN_PERSON = "in_person"
ZOOM = "zoom"
ICS_NAME = "appointment.ics"
PRODID = "-//BPS PST//pst_helpdesk_ext//EN"


@dataclass(frozen=True)
class Appointment:
    kind: str  # IN_PERSON or ZOOM
    start: dt.datetime  # aware
    duration: dt.timedelta
    branch: Branch | None = None  # where, for IN_PERSON
    meeting_url: str = ""  # for ZOOM
    note: str = ""

    def validate(self) -> None:
        errors: dict[str, str] = {}
        if self.kind not in (IN_PERSON, ZOOM):
            errors["kind"] = gettext("Choose in person or Zoom.")
        if timezone.is_naive(self.start):
            errors["start"] = gettext("The appointment time needs a timezone.")
        if not dt.timedelta(minutes=5) <= self.duration <= dt.timedelta(hours=8):
            errors["duration"] = gettext("A meeting lasts between 5 minutes and 8 hours.")
        if self.kind == IN_PERSON and self.branch is None:
            errors["branch"] = gettext("Choose the branch office where the visitor should come.")
        if self.kind == ZOOM and not self.meeting_url.startswith("https://"):
            errors["meeting_url"] = gettext(
                "Give the Zoom meeting link, starting with https:// (e.g. "
                "https://zoom.us/j/123456789)."
            )
        if errors:
            raise ValidationError(errors)


# --- iCalendar ---------------------------------------------------------------------------------


def escape_text(value: str) -> str:
    """An RFC 5545 TEXT value (section 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """A content line folded at 75 octets (section 3.1), never inside a UTF-8 character."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    pieces, current, limit = [], b"", 75
    for char in line:
        size = len(char.encode())
        if len(current) + size > limit:
            pieces.append(current.decode())
            current, limit = b"", 74  # continuation lines start with one space
        current += char.encode()
    pieces.append(current.decode())
    return "\r\n ".join(pieces)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def build_ics(
    appointment: Appointment, *, uid: str, summary: str, description: str, location: str
) -> bytes:
    """The VCALENDAR with one VEVENT, as bytes (UTF-8, CRLF)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_utc(timezone.now())}",
        f"DTSTART:{_utc(appointment.start)}",
        f"DTEND:{_utc(appointment.start + appointment.duration)}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"LOCATION:{escape_text(location)}",
    ]
    if appointment.meeting_url:
        lines.append(f"URL:{appointment.meeting_url}")
    lines += ["STATUS:CONFIRMED", "TRANSP:OPAQUE", "END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode()


# --- recording ---------------------------------------------------------------------------------


def ics_attachments_allowed() -> bool:
    return not helpdesk_settings.HELPDESK_VALIDATE_ATTACHMENT_TYPES or ".ics" in [
        ext.lower() for ext in helpdesk_settings.HELPDESK_VALID_EXTENSIONS
    ]


def _local(appointment: Appointment) -> dt.datetime:
    tz_name = appointment.branch.timezone if appointment.branch else settings.TIME_ZONE
    return appointment.start.astimezone(zoneinfo.ZoneInfo(tz_name))


def describe(appointment: Appointment) -> tuple[str, str, str]:
    """Summary, follow-up text and location, in the active language."""
    when = _local(appointment)
    when_text = f"{date_format(when, 'DATETIME_FORMAT')} ({when.tzname()})"
    minutes = int(appointment.duration.total_seconds() // 60)
    if appointment.kind == IN_PERSON:
        location = f"BPS {appointment.branch.name}" if appointment.branch else ""
        summary = gettext("PST consultation at %(place)s") % {"place": location}
        text = gettext(
            "Follow-up appointment in person at %(place)s on %(when)s (%(minutes)d minutes). "
            "Please bring an identity card."
        ) % {"place": location, "when": when_text, "minutes": minutes}
    else:
        location = appointment.meeting_url
        summary = gettext("PST consultation by Zoom")
        text = gettext(
            "Follow-up appointment by Zoom on %(when)s (%(minutes)d minutes). Join: %(url)s"
        ) % {"when": when_text, "minutes": minutes, "url": appointment.meeting_url}
    if appointment.note:
        text += "\n\n" + appointment.note
    text += "\n\n" + gettext("The calendar file appointment.ics adds it to your calendar.")
    return summary, text, location


@transaction.atomic
def record_appointment(ticket: Ticket, appointment: Appointment, *, user: object) -> FollowUp:
    """A public follow-up announcing ``appointment``, with its .ics; helpdesk e-mails the
    visitor (with the file attached when helpdesk allows .ics attachments)."""
    appointment.validate()
    with translation.override(ticket.queue.locale or settings.LANGUAGE_CODE):
        summary, text, location = describe(appointment)
        stamp = f"{ticket.pk}-{int(appointment.start.timestamp())}-{timezone.now().timestamp()}"
        ics = build_ics(
            appointment,
            uid=f"pst-{stamp}@{_host()}",
            summary=summary,
            description=text,
            location=location,
        )
        attach = ics_attachments_allowed()
        files = (
            [SimpleUploadedFile(ICS_NAME, ics, content_type="text/calendar")] if attach else None
        )
        # The follow-up's own title is patched in by the gateway (update_ticket's ``title``
        # would rename the ticket).
        followup = record_update(
            ticket,
            user,
            comment=text,
            public=True,
            files=files,
            title=gettext("Follow-up appointment"),
        )
    if not attach and ticket.submitter_email:
        transaction.on_commit(lambda: _mail_ics_separately(ticket, summary, text, ics))
    return followup


def _host() -> str:
    hosts = [h for h in settings.ALLOWED_HOSTS if h and h not in ("*",) and not h.startswith(".")]
    return hosts[0] if hosts else "pst.invalid"


def _mail_ics_separately(ticket: Ticket, summary: str, text: str, ics: bytes) -> None:
    logger.warning(
        "helpdesk does not allow .ics attachments; the appointment of ticket %s is mailed "
        "separately (add .ics to HELPDESK_VALID_EXTENSIONS)",
        ticket.pk,
    )
    message = EmailMessage(
        subject=f"[{ticket.ticket_for_url}] {summary}",
        body=text,
        to=[ticket.submitter_email],
    )
    message.attach(ICS_NAME, ics, "text/calendar")
    message.send(fail_silently=True)
