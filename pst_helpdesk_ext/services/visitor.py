"""The visitor's own page of an online consultation: its signed link, what the page may show, and
the visitor's reply. Thin views sit in ``views/visitor.py``; docs/online.md has the rules.

Rules:
- No account: the link proves the visitor reads the ticket's address (helpdesk e-mails it) or
  WhatsApp. It is signed with the site's SECRET_KEY and bound to the ticket, its submitter address
  and helpdesk's ``secret_key``: another ticket's link, a changed address or a forged token is
  refused with a page that shows no data.
- Expiry by inactivity: a link works while the link itself, or the consultation's last follow-up,
  is younger than ``VISITOR_LINK_INACTIVE_DAYS`` days. Every e-mail helpdesk sends carries a fresh
  link, and the visitor can ask for a new one ("send me my link again"), which goes only to the
  address on the ticket, rate-limited per address and per client.
- The page shows public follow-ups only (never internal notes), and attachments of those only.
- A reply is a public follow-up written by helpdesk's own ``update_ticket`` (notifications,
  history, the SLA receivers and the 7-day inactivity rule see it as for an e-mail reply: it
  carries a Message-ID, which is how helpdesk tells a submitter's follow-up). A resolved ticket
  is reopened by it, as an e-mail reply would; a closed one is not: the visitor is offered a new
  consultation with the text carried over.
- Attachments: helpdesk's allowed extensions (``HELPDESK_VALID_EXTENSIONS``, its own validator)
  and at most ``VISITOR_ATTACHMENT_MAX_BYTES`` each (helpdesk has no upload limit of its own).
  A refused reply stores nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import make_msgid, send_mail
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from helpdesk.lib import build_base_url
from helpdesk.models import FollowUp, FollowUpAttachment, Ticket
from helpdesk.validators import validate_file_extension

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.helpdesk_gateway import record_update
from pst_helpdesk_ext.models import PSTTicket, SLAState
from pst_helpdesk_ext.services import sla
from pst_helpdesk_ext.services.conversation import thread_of

logger = logging.getLogger("pst.visitor")

SALT = "pst_helpdesk_ext.visitor.link"
MAX_REPLY_CHARS = 5000
MAX_FILES = 5
CLOSED_STATUSES = (Ticket.CLOSED_STATUS, Ticket.DUPLICATE_STATUS)
ENDED_STATUSES = sla.STOP_STATUSES
#: "Send me my link again": at most this many requests per address and per client an hour.
RESEND_PER_ADDRESS = 3
RESEND_PER_CLIENT = 10
RESEND_WINDOW_SECONDS = 3600


class LinkRefused(Exception):
    """The link cannot open the page: ``code`` is forged, other or expired."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- the link ----------------------------------------------------------------------------------


def _binding(ticket: Ticket) -> str:
    value = f"{ticket.pk}:{(ticket.submitter_email or '').strip().lower()}:{ticket.secret_key}"
    return salted_hmac(SALT, value).hexdigest()[:20]


def link_token(ticket: Ticket) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object({"t": ticket.pk, "b": _binding(ticket)})


def link_path(ticket: Ticket) -> str:
    return reverse("pst:visitor_page", args=[ticket.pk, link_token(ticket)])


def link_url(ticket: Ticket) -> str:
    """The absolute link, on the Sites framework's domain as helpdesk's own ``ticket_url``."""
    return build_base_url() + link_path(ticket)


def last_activity(ticket: Ticket) -> dt.datetime:
    latest = FollowUp.objects.filter(ticket=ticket).aggregate(at=Max("date"))["at"]
    return max(at for at in (latest, ticket.created) if at is not None)


def open_link(ticket_id: int, token: str, now: dt.datetime | None = None) -> Ticket:
    """The ticket the link opens; LinkRefused("forged"|"other"|"expired") otherwise."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        data = signer.unsign_object(token)
        stamped = super(signing.TimestampSigner, signer).unsign(token)
        issued = dt.datetime.fromtimestamp(
            signing.b62_decode(stamped.rsplit(signer.sep, 1)[1]), tz=dt.UTC
        )
    except (signing.BadSignature, ValueError, IndexError):
        raise LinkRefused("forged") from None
    if not isinstance(data, dict) or data.get("t") != ticket_id:
        raise LinkRefused("other" if isinstance(data, dict) and "t" in data else "forged")
    ticket = Ticket.objects.select_related("queue").filter(pk=ticket_id).first()
    if ticket is None or data.get("b") != _binding(ticket):
        raise LinkRefused("forged")
    limit = dt.timedelta(days=pst_settings.VISITOR_LINK_INACTIVE_DAYS)
    now = now or timezone.now()
    if now - max(issued, last_activity(ticket)) > limit:
        raise LinkRefused("expired")
    return ticket


# --- "send me my link again" ---------------------------------------------------------------------


def allow(scope: str, key: str, limit: int, window: int = RESEND_WINDOW_SECONDS) -> bool:
    """A fixed-window counter in Django's cache: False once ``key`` was seen ``limit`` times in
    ``scope`` this window. The one place to point at the shared public-form limiter when it is
    merged (``pst_helpdesk_ext.throttle.hit`` on another branch, with its per-client and
    per-address limits and trusted proxies)."""
    name = f"pst:limit:{scope}:{salted_hmac(SALT, key).hexdigest()[:24]}"
    cache.add(name, 0, timeout=window)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window)
        count = 1
    return count <= limit


def resend_links(email: str, client: str) -> bool:
    """E-mail the links of the address's consultations to that address only. False when the
    rate limit refused; True otherwise, whether or not the address has any (no enumeration)."""
    email = email.strip().lower()
    if not allow("resend-client", client, RESEND_PER_CLIENT) or not allow(
        "resend-address", email, RESEND_PER_ADDRESS
    ):
        return False
    tickets = list(
        Ticket.objects.filter(submitter_email__iexact=email, pst__isnull=False)
        .select_related("queue")
        .order_by("-created")[:10]
    )
    if not tickets:
        logger.info("link resend for an address with no consultation")
        return True
    language = tickets[0].queue.locale or "id"
    with translation.override(language):
        lines = "\n".join(f"{t.ticket} {t.title}\n{link_url(t)}\n" for t in tickets)
        body = gettext(
            "Hello,\n\nYou asked for the links to your PST consultations. Open a link to read "
            "the conversation, reply and rate our service:\n\n%(links)s\nIf you did not ask "
            "for them, ignore this e-mail.\n\nPST BPS"
        ) % {"links": lines}
        send_mail(
            gettext("Your PST consultation links"),
            body,
            tickets[0].queue.from_address or None,
            [tickets[0].submitter_email],
        )
    return True


# --- what the page shows ------------------------------------------------------------------------


def public_thread(ticket: Ticket) -> list[Any]:
    """The conversation as the visitor sees it: public follow-ups with text or files (the
    visitor's, the officers' and the system's, e.g. the inactivity close); never internal notes."""
    return [
        message
        for message in thread_of(ticket)
        if message.public and ((message.followup.comment or "").strip() or message.attachments)
    ]


def public_attachment(ticket: Ticket, attachment_id: int) -> FollowUpAttachment | None:
    return (
        FollowUpAttachment.objects.filter(
            pk=attachment_id, followup__ticket=ticket, followup__public=True
        )
        .select_related("followup")
        .first()
    )


def appointments_of(ticket: Ticket) -> list[dict[str, Any]]:
    """Follow-ups announcing an appointment (``services.appointments``), newest first, with
    their .ics attachment when helpdesk kept it."""
    from pst_helpdesk_ext.models import Appointment
    from pst_helpdesk_ext.services.appointments import ICS_NAME, code_qr_svg, display_code

    bookings = {b.followup_id: b for b in Appointment.objects.filter(ticket=ticket)}
    found = []
    for message in reversed(public_thread(ticket)):
        ics = [a for a in message.attachments if a.filename == ICS_NAME]
        if ics or "appointment.ics" in (message.followup.comment or ""):
            item = {"followup": message.followup, "ics": ics[0] if ics else None}
            booking = bookings.get(message.followup.pk)
            if booking is not None:
                # The check-in code and its QR while the appointment stands.
                item["booking"] = booking
                if booking.status == Appointment.Status.BOOKED:
                    item["code"] = display_code(booking.code)
                    item["qr"] = code_qr_svg(booking.code)
            found.append(item)
    return found


def when_words(at: dt.datetime | None, calendar: Any) -> str:
    """``Jumat 27 Maret 2026 15.30 WIB``: an instant in words, in the office's time zone."""
    if at is None:
        return ""
    local = at.astimezone(calendar.tz)
    indonesian = (translation.get_language() or "id").startswith("id")
    text = dateformat.format(local, "l j F Y " + ("H.i" if indonesian else "H:i"))
    zone = calendar.tz.key
    return f"{text} {sla.ZONE_LABELS.get(zone, zone)}"


@dataclass
class State:
    code: str  # ended, waiting_visitor, answered, replied, running, pending, none
    text: str
    started: str = ""
    due: str = ""
    missing: tuple[str, ...] = ()


def state_of(ticket: Ticket, missing_labels: dict[str, str] | None = None) -> State:
    """The consultation's state in words, from the clock staff see (``services.sla``)."""
    pst = (
        PSTTicket.objects.select_related("branch", "channel", "sla_policy")
        .filter(ticket=ticket)
        .first()
    )
    calendar = sla.calendar_for(pst.branch if pst else None)
    if ticket.status in ENDED_STATUSES:
        return State("ended", gettext("This consultation has ended."))
    if pst is None:
        return State("none", gettext("Waiting for the officer's answer."))
    started = when_words(pst.sla_started_at, calendar)
    due = when_words(pst.sla_due_at, calendar)
    if pst.waiting_for_visitor_since is not None:
        return State(
            "waiting_visitor",
            gettext("The officer answered and is waiting for your reply."),
            started,
            due,
        )
    if pst.sla_stopped_at is not None:
        last = (
            FollowUp.objects.filter(ticket=ticket, public=True)
            .exclude(comment="")
            .select_related("user")
            .order_by("-date", "-id")
            .first()
        )
        if last is not None and last.is_from_submitter:
            return State(
                "replied",
                gettext("Your reply was sent; the officer will answer here and by e-mail."),
                started,
            )
        return State("answered", gettext("The officer answered; you can reply below."), started)
    if pst.sla_started_at is not None and pst.sla_due_at is not None:
        return State(
            "running",
            gettext("Waiting for the officer's answer, at the latest %(due)s.") % {"due": due},
            started,
            due,
        )
    if pst.sla_state == SLAState.PENDING and pst.sla_policy_id is not None:
        request = getattr(pst, "online_request", None)
        labels = missing_labels or {}
        names = request.missing_fields if request else []
        missing = tuple(labels.get(name, name) for name in names)
        return State(
            "pending",
            gettext(
                "Waiting for the officer to confirm that your request is complete; the "
                "service time of %(days)d working days starts then."
            )
            % {"days": pst.sla_policy.target},
            missing=missing,
        )
    return State("none", gettext("Waiting for the officer's answer."))


# --- the reply ----------------------------------------------------------------------------------


def check_files(files: list[Any]) -> list[str]:
    """What is wrong with the attachments, one message per refused file (empty: all fine)."""
    errors = []
    limit = pst_settings.VISITOR_ATTACHMENT_MAX_BYTES
    if len(files) > MAX_FILES:
        errors.append(
            gettext("Attach at most %(count)d files to one reply.") % {"count": MAX_FILES}
        )
    for upload in files:
        try:
            validate_file_extension(upload)
        except ValidationError:
            from helpdesk import settings as helpdesk_settings

            errors.append(
                gettext("%(name)s: this file type is not accepted. Accepted types: %(types)s.")
                % {
                    "name": upload.name,
                    "types": ", ".join(sorted(helpdesk_settings.HELPDESK_VALID_EXTENSIONS)),
                }
            )
            continue
        if upload.size > limit:
            errors.append(
                gettext(
                    "%(name)s is %(size)s; a file may be at most %(max)s. Send a smaller file "
                    "or a link to it."
                )
                % {"name": upload.name, "size": _size(upload.size), "max": _size(limit)}
            )
    return errors


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    return f"{max(1, count // 1024)} KB"


class ReplyRefused(ValidationError):
    pass


def reply(ticket: Ticket, text: str, files: list[Any] | None = None) -> FollowUp:
    """Record the visitor's reply through helpdesk's ``update_ticket``; refuse without writing."""
    files = list(files or [])
    text = (text or "").strip()
    errors: dict[str, list[str]] = {}
    if ticket.status in CLOSED_STATUSES:
        raise ReplyRefused(
            gettext("This consultation is closed: start a new one, your text is carried over."),
            code="closed",
        )
    if not text and not files:
        errors["text"] = [gettext("Write your reply, or attach a file.")]
    elif len(text) > MAX_REPLY_CHARS:
        errors["text"] = [
            gettext("Your reply is %(length)d characters long; at most %(max)d.")
            % {"length": len(text), "max": MAX_REPLY_CHARS}
        ]
    file_errors = check_files(files)
    if file_errors:
        errors["files"] = file_errors
    if errors:
        raise ReplyRefused(errors)
    new_status = Ticket.REOPENED_STATUS if ticket.status == Ticket.RESOLVED_STATUS else None
    with transaction.atomic():
        return record_update(
            ticket,
            AnonymousUser(),
            comment=text,
            files=files or None,
            public=True,
            new_status=new_status,
            # helpdesk tells a submitter's follow-up by its Message-ID (FollowUp.is_from_submitter)
            message_id=make_msgid("pst-visitor", domain=_domain()),
        )


def _domain() -> str:
    return build_base_url().split("://", 1)[-1].split("/", 1)[0] or "localhost"
