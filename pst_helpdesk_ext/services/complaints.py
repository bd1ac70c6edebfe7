"""Complaints (pengaduan): a real helpdesk ticket in the complaints queue, with a tier deadline.

What it owns: filing a complaint (from the rating form, the public complaint page, or a staff
member copying one in from SP4N-LAPOR!), its tier and deadline, and the LAPOR! reference check.

Rules:
- A complaint is an ordinary helpdesk ticket in the queue ``PST_HELPDESK['COMPLAINTS_QUEUE']``
  (created if missing), opened as helpdesk's own forms open one: a public "Ticket Opened"
  follow-up carrying the text, helpdesk's ``newticket_*`` e-mails to the complainant and the
  queue's CCs, and ``new_ticket_done`` (helpdesk's webhooks), all after commit.
- Tiers (DOMAIN.md): 1 light 2, 2 normative 5, 3 dispute without field check 14, 4 dispute with
  field check 60 working days. The deadline is ``branch.working_calendar.add_working_days(filed,
  days)`` (the end of the n-th working day after the day the complaint was filed, in the
  branch's timezone); a complaint with no branch uses the default calendar. It is stored on the
  complaint (``due_at``) and on the helpdesk ticket (``due_date``), so helpdesk's own lists show it.
- Complaints that arrive from a branch's rating kiosk through sync get their deadline when their
  ticket is announced (``fill_deadline``, a receiver on ``new_ticket_done``).
- Bad input (empty text, unknown tier, malformed LAPOR! reference, bad e-mail) raises a
  ``ValidationError`` naming the field before anything is written; filing is one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Final

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from helpdesk.models import Ticket

from pst_helpdesk_ext.calendar import WorkingCalendar
from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.helpdesk_gateway import announce_new_ticket, opening_followup
from pst_helpdesk_ext.models import Branch, Channel, Complaint, PSTTicket
from pst_helpdesk_ext.personal_data import mask_nik_in_text
from pst_helpdesk_ext.services.branches import ensure_complaints_queue

logger = logging.getLogger("pst.complaints")

#: Working days allowed per complaint tier (office standards, DOMAIN.md "Complaints").
TIER_WORKING_DAYS: Final[dict[int, int]] = {1: 2, 2: 5, 3: 14, 4: 60}
#: The ``sender`` of the ``new_ticket_done`` this module sends.
COMPLAINT_SENDER: Final = "pst_helpdesk_ext.complaints"
MAX_TEXT: Final = 20_000


def calendar_for(branch: Branch | None) -> WorkingCalendar:
    if branch is not None:
        return branch.working_calendar
    return WorkingCalendar.cached({"timezone": pst_settings.DEFAULT_TIMEZONE})


def complaint_deadline(branch: Branch | None, filed_at: dt.datetime, tier: int) -> dt.datetime:
    """When a complaint of ``tier`` filed at ``filed_at`` must be settled."""
    return calendar_for(branch).add_working_days(filed_at, TIER_WORKING_DAYS[tier])


def clean_tier(value: object) -> int:
    try:
        tier = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        tier = 0
    if tier not in TIER_WORKING_DAYS or isinstance(value, bool):
        raise ValidationError(
            {"tier": _("Unknown complaint tier %(value)s; use 1, 2, 3 or 4.") % {"value": value}}
        )
    return tier


def clean_lapor_ref(value: str) -> str:
    """The LAPOR! reference as stored (trimmed, upper case), or "" when none was given."""
    ref = (value or "").strip().upper()
    if ref and not re.fullmatch(pst_settings.LAPOR_REF_PATTERN, ref):
        raise ValidationError(
            {
                "lapor_ref": _(
                    "%(value)s does not look like an SP4N-LAPOR! reference number: use the "
                    "tracking number LAPOR! gave you (letters and digits), or leave it empty."
                )
                % {"value": value}
            }
        )
    return ref


def clean_text(value: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({"text": _("Describe what went wrong; the complaint is empty.")})
    if len(text) > MAX_TEXT:
        raise ValidationError(
            {
                "text": _("The complaint is %(length)s characters long; at most %(max)s.")
                % {"length": len(text), "max": MAX_TEXT}
            }
        )
    return text


def file_complaint(
    *,
    text: str,
    email: str,
    branch: Branch | None = None,
    about: Ticket | None = None,
    tier: int | None = None,
    lapor_ref: str = "",
    filed_at: dt.datetime | None = None,
) -> Complaint:
    """Open a complaint ticket in the complaints queue; returns the complaint with its deadline.

    ``about`` is the ticket complained about (its branch, channel and service are copied).
    """
    # A NIK typed into the complaint is kept as its last 4 digits only.
    text = mask_nik_in_text(clean_text(text))
    lapor_ref = clean_lapor_ref(lapor_ref)
    tier = clean_tier(pst_settings.COMPLAINT_DEFAULT_TIER if tier is None else tier)
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": _("%(value)s is not an e-mail address.") % {"value": email}}
        ) from None
    about_pst = PSTTicket.objects.filter(ticket=about).first() if about is not None else None
    if branch is None and about_pst is not None:
        branch = about_pst.branch
    filed_at = filed_at or timezone.now()
    due_at = complaint_deadline(branch, filed_at, tier)
    with transaction.atomic():
        queue = ensure_complaints_queue()
        language = queue.locale or settings.LANGUAGE_CODE
        with translation.override(language):
            title = complaint_title(about, branch)
            opened = _("Ticket Opened")
        ticket = Ticket.objects.create(
            title=title[:200],
            queue=queue,
            created=filed_at,
            status=Ticket.OPEN_STATUS,
            description=text,
            priority=3,
            submitter_email=email,
            due_date=due_at,
        )
        # helpdesk stamps ``created`` on insert; the complaint counts from when it was filed.
        Ticket.objects.filter(pk=ticket.pk).update(created=filed_at)
        ticket.created = filed_at
        opening_followup(ticket, title=opened, comment=text, date=filed_at)
        channel = (
            about_pst.channel
            if about_pst is not None
            else Channel.objects.filter(code=Channel.WEB).first()
        )
        if channel is not None:
            PSTTicket.objects.create(
                ticket=ticket,
                branch=branch,
                channel=channel,
                category=about_pst.category if about_pst else None,
                visitor=about_pst.visitor if about_pst else None,
            )
        complaint = Complaint.objects.create(
            ticket=ticket,
            about=about,
            branch=branch,
            tier=tier,
            lapor_ref=lapor_ref,
            due_at=due_at,
            created=filed_at,
        )
        transaction.on_commit(lambda: announce_complaint(ticket.pk), robust=True)
    return complaint


def complaint_title(about: Ticket | None, branch: Branch | None) -> str:
    if about is not None:
        return _("Complaint about ticket %(ticket)s") % {"ticket": about.ticket}
    if branch is not None:
        return _("Complaint about PST %(branch)s") % {"branch": branch.name}
    return _("Complaint about the PST service")


def announce_complaint(ticket_id: int) -> None:
    """After commit: helpdesk's new-ticket e-mails and ``new_ticket_done``, as its forms do."""
    ticket = Ticket.objects.select_related("queue").filter(pk=ticket_id).first()
    if ticket is not None:
        announce_new_ticket(ticket, sender=COMPLAINT_SENDER)


def fill_deadline(ticket: Ticket) -> Complaint | None:
    """Give a complaint ticket that has no deadline yet (one that came through sync) its tier's
    deadline, counted from when it was filed. Idempotent; other tickets are left alone."""
    complaint = Complaint.objects.select_related("branch").filter(ticket=ticket).first()
    if complaint is None or complaint.due_at is not None:
        return complaint
    due_at = complaint_deadline(complaint.branch, ticket.created, complaint.tier)
    Complaint.objects.filter(pk=complaint.pk, due_at__isnull=True).update(due_at=due_at)
    Ticket.objects.filter(pk=ticket.pk, due_date__isnull=True).update(due_date=due_at)
    complaint.due_at = due_at
    return complaint


def change_tier(complaint: Complaint, tier: int) -> Complaint:
    """Staff re-classify a complaint: the deadline is recounted from when it was filed."""
    tier = clean_tier(tier)
    due_at = complaint_deadline(complaint.branch, complaint.ticket.created, tier)
    with transaction.atomic():
        Complaint.objects.filter(pk=complaint.pk).update(tier=tier, due_at=due_at)
        Ticket.objects.filter(pk=complaint.ticket_id).update(due_date=due_at)
    complaint.tier, complaint.due_at = tier, due_at
    return complaint
