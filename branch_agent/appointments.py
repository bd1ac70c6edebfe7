"""Appointments made at central, checked in at the kiosk: the feed's ``appointment.upsert`` rows
and the check-in that turns a code into a queue number.

Rules:
- Central sends this branch its own appointments only (code, status, service, time, topic, the
  ticket it follows); no personal data is kept or needed here.
- A code is typed or scanned (a USB scanner types it and presses Enter): upper case, spaces and
  dashes ignored. It is refused with a message naming the reason when it is unknown, cancelled,
  already used, or for another day; the visitor can take a normal number instead.
- A check-in is one write: the number in the appointment's service queue (``services.issue_number``,
  whose ``visit.created`` op carries the code so central links the visit to the online ticket)
  and the appointment marked checked in with its visit. A repeated submit (same form token)
  returns the first number.
- A feed update never undoes a check-in made here that central has not heard of yet.
- Appointments are kept until ``KEEP`` after their time, then dropped as the feed brings new ones.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from branch_agent import outbox, services
from branch_agent.models import Appointment
from sync import feed

log = logging.getLogger("branch_agent.appointments")

CODE_RE = re.compile(r"^[0-9A-Z]{6,8}$")
#: Appointments are dropped this long after their time (the desk needs only today's; the visit
#: keeps its own record and its op already carried the code).
KEEP = dt.timedelta(days=30)


def normalise_code(raw: str) -> str:
    return "".join(char for char in raw.upper() if char.isalnum())


def display_code(code: str) -> str:
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}" if code else ""


# --- from the down-feed --------------------------------------------------------------------------


def apply_feed(payload: dict[str, Any]) -> None:
    """One ``appointment.upsert`` item (inside the sync store's write); a malformed one is logged
    and skipped."""
    p = feed.AppointmentUpsert.parse(payload)
    start = p.start_time
    if (
        p.id <= 0
        or not CODE_RE.match(p.code)
        or p.status not in Appointment.Status.values
        or start is None
    ):
        log.warning("appointment.upsert with a bad payload skipped (id %r)", payload.get("id"))
        return
    values = {
        "code": p.code,
        "service_code": p.service,
        "start": start,
        "minutes": p.minutes if 0 < p.minutes <= 600 else 30,
        "topic": p.topic,
        "ticket_id": p.ticket_id or None,
        "ticket_ref": p.ticket_ref,
        "updated_at": timezone.now(),
    }
    existing = Appointment.objects.filter(central_id=p.id).first()
    if existing is None or existing.visit_id is None:
        values["status"] = p.status  # a local check-in stands until central knows it
    # A code given to another appointment (never at central, but a restored store may hold one).
    Appointment.objects.filter(code=p.code).exclude(central_id=p.id).delete()
    Appointment.objects.update_or_create(central_id=p.id, defaults=values)
    Appointment.objects.filter(start__lt=timezone.now() - KEEP).exclude(central_id=p.id).delete()


# --- at the kiosk --------------------------------------------------------------------------------


def check_in(
    raw_code: str, *, token: str | None = None, now: dt.datetime | None = None
) -> services.Issued:
    """A number for the appointment whose code the visitor typed; ``services.Refused`` (with
    code ``empty_code``, ``unknown_code``, ``cancelled``, ``used`` or ``other_day``) otherwise."""
    code = normalise_code(raw_code)
    if not code:
        raise services.Refused(
            _("Type the check-in code of your appointment."), field="code", code="empty_code"
        )
    moment = services.now_local(now)
    with outbox.write():
        # A repeated submit (a double tap, a scanner's second Enter) gets the first number.
        earlier = services.form_submit(token, "issue").earlier_visit
        if earlier is not None:
            return services.Issued(earlier, created=False)
        appointment = Appointment.objects.filter(code=code).first()
        if appointment is None:
            raise services.Refused(
                _(
                    "The code %(code)s is not an appointment at this office. Check the code in "
                    "your e-mail or take a normal number."
                )
                % {"code": display_code(code)},
                field="code",
                code="unknown_code",
            )
        if appointment.status == Appointment.Status.CANCELLED:
            raise services.Refused(
                _(
                    "The appointment with code %(code)s was cancelled or moved. Take a normal "
                    "number, or use the code of your new appointment."
                )
                % {"code": display_code(code)},
                field="code",
                code="cancelled",
            )
        if appointment.visit_id is not None or appointment.status == Appointment.Status.CHECKED_IN:
            raise services.Refused(
                _("The code %(code)s was already used to take a number.")
                % {"code": display_code(code)},
                field="code",
                code="used",
            )
        day = timezone.localtime(appointment.start).date()
        if day < moment.date():
            raise services.Refused(
                _(
                    "Your appointment was on %(day)s. Take a normal number now, or ask for a new "
                    "appointment."
                )
                % {"day": date_format(day, "DATE_FORMAT")},
                field="code",
                code="other_day",
            )
        if day > moment.date():
            raise services.Refused(
                _(
                    "Your appointment is on %(day)s, not today. Come back that day, or take a "
                    "normal number now."
                )
                % {"day": date_format(day, "DATE_FORMAT")},
                field="code",
                code="other_day",
            )
        issued = services.issue_number(
            appointment.service_code, token=token, now=moment, appointment=code
        )
        appointment.visit = issued.visit
        appointment.status = Appointment.Status.CHECKED_IN
        appointment.save(update_fields=["visit", "status"])
    return issued


def of_visit(visit: Any) -> Appointment | None:
    """The appointment a visit checked in for (the desk shows it)."""
    if visit is None:
        return None
    return Appointment.objects.filter(visit=visit).first()
