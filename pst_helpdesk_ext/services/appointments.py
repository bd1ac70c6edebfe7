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
- An in-person appointment is also an ``Appointment`` row with a check-in code: 6 characters
  from an alphabet without look-alikes (no 0/O, 1/I/L), about 10^9 codes, shown to the visitor
  (follow-up text, e-mail with a PNG of its QR when helpdesk allows .png, visitor page with
  the QR inline). The row goes down the feed to its
  branch only (``appointment.upsert``): code, service, time, topic (the ticket's title, NIK masked)
  and the ticket it follows; never the visitor's name, e-mail, phone or ID. A new appointment on
  the same ticket replaces (cancels) the one still booked; ``cancel`` cancels one. The branch's
  ``visit.created`` op carries the code when the visitor checked in at the kiosk; the intake then
  marks it checked in and notes it on the online ticket (``link_check_ins``).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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
from pst_helpdesk_ext.models import Appointment as Booking
from pst_helpdesk_ext.models import Branch, PSTTicket, ServiceCategory, Visit
from pst_helpdesk_ext.personal_data import mask_nik_in_text
from sync import feed as payloads

logger = logging.getLogger("pst.appointments")

IN_PERSON = "in_person"
ZOOM = "zoom"
ICS_NAME = "appointment.ics"
QR_NAME = "check-in-code.png"
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
    return _extension_allowed(".ics")


def _extension_allowed(extension: str) -> bool:
    return not helpdesk_settings.HELPDESK_VALIDATE_ATTACHMENT_TYPES or extension in [
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
        code = new_code() if appointment.kind == IN_PERSON else ""
        if code:
            text += "\n\n" + check_in_text(code)
        stamp = f"{ticket.pk}-{int(appointment.start.timestamp())}-{timezone.now().timestamp()}"
        ics = build_ics(
            appointment,
            uid=f"pst-{stamp}@{_host()}",
            summary=summary,
            description=text,
            location=location,
        )
        attach = ics_attachments_allowed()
        files = [SimpleUploadedFile(ICS_NAME, ics, content_type="text/calendar")] if attach else []
        if code and _extension_allowed(".png"):
            # The QR of the code in the e-mail too: shown on a phone to the kiosk's scanner.
            files.append(SimpleUploadedFile(QR_NAME, code_qr_png(code), content_type="image/png"))
        # The follow-up's own title is patched in by the gateway (update_ticket's ``title``
        # would rename the ticket).
        followup = record_update(
            ticket,
            user,
            comment=text,
            public=True,
            files=files or None,
            title=gettext("Follow-up appointment"),
        )
    if code:
        book(ticket, appointment, code=code, followup=followup)
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


# --- check-in codes and the branch's feed --------------------------------------------------------

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed safely
CODE_LENGTH = 6
FEED_KIND = payloads.APPOINTMENT_UPSERT
DEFAULT_SERVICE = "konsultasi"
#: The snapshot a branch gets carries appointments from this long ago on (today's, and later).
SNAPSHOT_PAST = dt.timedelta(days=1)


def new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not Booking.objects.filter(code=code).exists():
            return code


def normalise_code(raw: str) -> str:
    """What a visitor typed or a scanner sent, as stored: upper case, no spaces or dashes."""
    return "".join(char for char in raw.upper() if char.isalnum())


def display_code(code: str) -> str:
    """``ABC-DEF``: easier to read out and to type than six letters in a row."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}" if code else ""


def check_in_text(code: str) -> str:
    return gettext(
        'Check-in code for the kiosk at the office: %(code)s. At the kiosk choose "I have an '
        'appointment" and type the code (or show its QR code on your ticket page) to get your '
        "queue number."
    ) % {"code": display_code(code)}


def service_for(ticket: Ticket) -> ServiceCategory:
    """The queue the visitor joins at the branch: the ticket's service when it has a queue there,
    else consultation."""
    pst = PSTTicket.objects.filter(ticket=ticket).select_related("category").first()
    category = pst.category if pst is not None else None
    if (
        category is not None
        and category.kind == ServiceCategory.Kind.SERVICE
        and category.queue_letter
    ):
        return category
    return ServiceCategory.objects.get(code=DEFAULT_SERVICE)


def book(ticket: Ticket, appointment: Appointment, *, code: str, followup: FollowUp) -> Booking:
    """The in-person appointment as a row with its code, published to its branch; an earlier one
    still booked on the same ticket is cancelled (rescheduled)."""
    from pst_helpdesk_ext.services import feed

    assert appointment.branch is not None
    with transaction.atomic():
        replaced = list(
            Booking.objects.select_for_update().filter(ticket=ticket, status=Booking.Status.BOOKED)
        )
        for old in replaced:
            old.status = Booking.Status.CANCELLED
            old.save(update_fields=["status"])
        booking = Booking.objects.create(
            ticket=ticket,
            followup=followup,
            branch=appointment.branch,
            service=service_for(ticket),
            start=appointment.start,
            minutes=int(appointment.duration.total_seconds() // 60),
            code=code,
        )
        feed.publish([feed_entry(b) for b in [*replaced, booking]])
    return booking


def cancel(booking: Booking) -> bool:
    """Cancel a booked appointment and tell its branch; False when it was not booked any more."""
    from pst_helpdesk_ext.services import feed

    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != Booking.Status.BOOKED:
            return False
        booking.status = Booking.Status.CANCELLED
        booking.save(update_fields=["status"])
        feed.publish([feed_entry(booking)])
    return True


def feed_entry(booking: Booking) -> Any:
    """The ``appointment.upsert`` row for the booking's branch: what the kiosk and the desk need,
    no personal data."""
    from pst_helpdesk_ext.services.feed import Entry

    ticket = booking.ticket
    return Entry(
        booking.branch,
        FEED_KIND,
        str(booking.pk),
        payloads.AppointmentUpsert(
            id=booking.pk,
            code=booking.code,
            status=booking.status,
            service=booking.service.code,
            start=booking.start.astimezone(dt.UTC).isoformat(),
            minutes=booking.minutes,
            topic=mask_nik_in_text(ticket.title or "")[:200],
            ticket_id=ticket.pk,
            ticket_ref=ticket.ticket_for_url,
        ).as_payload(),
    )


def snapshot_entries(branch: Branch, now: dt.datetime) -> list[Any]:
    """The branch's appointments from yesterday on, in every status (a snapshot replaces what
    the branch had)."""
    bookings = Booking.objects.filter(branch=branch, start__gte=now - SNAPSHOT_PAST)
    return [feed_entry(b) for b in bookings.select_related("ticket", "service", "branch")]


def link_check_ins(branch: Branch, check_ins: Iterable[tuple[str, str, str]]) -> None:
    """The branch's visits that checked in with a code (``(code, visit origin id, queue number)``,
    their rows already written): the appointment is marked checked in and its online ticket gets
    a staff note naming the walk-in number. An unknown code is logged and skipped (the visit
    stands)."""
    for code, origin_id, queue_number in check_ins:
        booking = (
            Booking.objects.select_for_update()
            .filter(branch=branch, code=normalise_code(code))
            .select_related("ticket")
            .first()
        )
        if booking is None:
            logger.warning("branch %s checked in an unknown appointment code", branch.code)
            continue
        if booking.visit_origin_id:
            continue  # the same op again after a restore: already linked
        booking.status = Booking.Status.CHECKED_IN
        booking.checked_in_at = timezone.now()
        booking.visit_origin_id = origin_id
        booking.queue_number = queue_number
        booking.save(update_fields=["status", "checked_in_at", "visit_origin_id", "queue_number"])
        with translation.override(booking.ticket.queue.locale or settings.LANGUAGE_CODE):
            record_update(
                booking.ticket,
                None,
                title=gettext("Checked in at the office"),
                keep_resolution=True,
                comment=gettext(
                    "The visitor checked in for the appointment at BPS %(branch)s with the code "
                    "%(code)s and got queue number %(number)s."
                )
                % {
                    "branch": branch.name,
                    "code": display_code(booking.code),
                    "number": queue_number,
                },
                public=False,
            )
            walk_in = (
                Visit.objects.filter(branch=branch, origin_id=origin_id)
                .values_list("pst_ticket__ticket_id", flat=True)
                .first()
            )
            if walk_in is not None:
                record_update(
                    Ticket.objects.get(pk=walk_in),
                    None,
                    title=gettext("Follow-up appointment"),
                    keep_resolution=True,
                    comment=gettext(
                        "This visit is the follow-up appointment of ticket #%(ticket)s "
                        "(%(ref)s), checked in with the code %(code)s."
                    )
                    % {
                        "ticket": booking.ticket.pk,
                        "ref": booking.ticket.ticket_for_url,
                        "code": display_code(booking.code),
                    },
                    public=False,
                )


def code_qr_svg(code: str) -> str:
    """The QR of a check-in code as inline SVG (made here, no network): a USB scanner at the
    kiosk reads it as the typed code."""
    import segno

    return segno.make(code, error="m", micro=False).svg_inline(scale=6, border=2)


def code_qr_png(code: str) -> bytes:
    """The QR of a check-in code as a PNG (segno writes PNG itself, no imaging library)."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(code, error="m", micro=False).save(out, kind="png", scale=8, border=2)
    return out.getvalue()
