"""Ratings of the service (IKM survey): signed single-use links, and storing a visitor's answers.

What it owns: issuing a rating link when a PST ticket is resolved or closed, sending it, checking
it when it comes back, and storing the rating (and an optional complaint) in one transaction.
Walk-in ratings arrive from the branch's rating kiosk through sync (``services.intake``).

Rules:
- A link is ``/pst/rate/<token>/`` where the token is ``django.core.signing`` data
  ``{"i": invitation id, "t": ticket id}`` signed with ``SECRET_KEY`` and the salt ``LINK_SALT``,
  timestamped: older than ``PST_HELPDESK['RATING_LINK_MAX_AGE_DAYS']`` it is refused as expired.
  The signature proves central issued the link; the ``RatingInvitation`` row makes it single use
  in the database (``used_at`` is set by a conditional UPDATE, and ``Rating`` is one per ticket
  and one per invitation), so a link replayed, raced or copied cannot rate twice.
- Who gets a link: a PST ticket (it has a ``PSTTicket`` row) that is not itself a complaint, has
  a submitter e-mail and no rating yet, when helpdesk's ``update_ticket`` resolves or closes it.
  Resolve then close sends one link, not two: a still-valid unused link is not re-issued. Walk-in
  visits finished at the branch get one only with ``RATING_LINK_WALK_IN`` (they rate at the kiosk).
- The e-mail goes out after commit from the queue's own sender address (``Queue.from_address``,
  as helpdesk's notifications do), in the queue's language, then ``rating_link_issued`` is sent
  so other channels (WhatsApp) can deliver the same link.
- Refusals (``RatingRefused``) carry a code (``forged``, ``expired``, ``used``, ``rated``,
  ``invalid``) and a message for the visitor; nothing is stored when a rating is refused.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, IntegrityError, transaction
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from helpdesk.lib import build_base_url
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.ikm import MAX_SCORE, MIN_SCORE
from pst_helpdesk_ext.models import (
    Complaint,
    PSTTicket,
    Rating,
    RatingInvitation,
    WhatsAppThread,
)
from pst_helpdesk_ext.services import complaints
from sync.ops import IKM_ELEMENTS

logger = logging.getLogger("pst.ratings")

LINK_SALT: Final = "pst_helpdesk_ext.rating-link"
DONE_STATUSES: Final = (Ticket.RESOLVED_STATUS, Ticket.CLOSED_STATUS)
MAX_COMMENT: Final = 5_000

#: Sent after commit whenever a rating link is issued. Keyword arguments: ``pst_ticket``
#: (PSTTicket), ``url`` (absolute link), ``invitation`` (RatingInvitation). Sender: ``Rating``.
rating_link_issued = Signal()


class RatingRefused(Exception):
    """A link or a rating that cannot be accepted; ``message`` is shown to the visitor."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# --- links ----------------------------------------------------------------------------------------


def max_age() -> dt.timedelta:
    return dt.timedelta(days=pst_settings.RATING_LINK_MAX_AGE_DAYS)


def link_token(invitation: RatingInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "t": invitation.ticket_id}, salt=LINK_SALT)


def link_path(invitation: RatingInvitation) -> str:
    return reverse("pst:rate", args=[link_token(invitation)])


def link_url(invitation: RatingInvitation) -> str:
    """The absolute link, on the site's domain as helpdesk builds its own e-mail links."""
    return build_base_url() + link_path(invitation)


def invitation_for_token(token: str) -> RatingInvitation:
    """The invitation a link names, if the link is genuine, fresh and unspent."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=max_age())
    except signing.SignatureExpired:
        raise RatingRefused(
            "expired",
            _(
                "This rating link has expired (links are valid for %(days)s days). "
                "Thank you all the same; you can still send us a complaint or suggestion."
            )
            % {"days": pst_settings.RATING_LINK_MAX_AGE_DAYS},
        ) from None
    except signing.BadSignature:
        raise RatingRefused(
            "forged",
            _(
                "This rating link is not valid: it may have been cut off or changed. Open the "
                "link exactly as it is in the message we sent you."
            ),
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int):
        raise RatingRefused("forged", _("This rating link is not valid."))
    invitation = (
        RatingInvitation.objects.select_related("ticket__queue")
        .filter(pk=data["i"], ticket_id=data.get("t"))
        .first()
    )
    if invitation is None:
        raise RatingRefused("forged", _("This rating link is not valid."))
    check_unspent(invitation)
    return invitation


def check_unspent(invitation: RatingInvitation) -> None:
    if invitation.used_at is not None:
        raise RatingRefused(
            "used",
            _("This rating link has already been used. Each link can be used once. Thank you!"),
        )
    if Rating.objects.filter(ticket_id=invitation.ticket_id).exists():
        raise RatingRefused(
            "rated", _("This service has already been rated. One rating per request. Thank you!")
        )


def valid_invitation(ticket: Ticket) -> RatingInvitation | None:
    """The newest unspent, unexpired link of a ticket not rated yet (for its public page)."""
    if Rating.objects.filter(ticket=ticket).exists():
        return None
    return (
        RatingInvitation.objects.filter(
            ticket=ticket, used_at__isnull=True, issued_at__gt=timezone.now() - max_age()
        )
        .order_by("-issued_at", "-pk")
        .first()
    )


def wants_rating_link(ticket: Ticket) -> bool:
    """A PST ticket, not a complaint, that can reach its visitor (an e-mail address, or a
    WhatsApp number the link goes to through ``rating_link_issued``) and has no rating yet."""
    if (
        not ticket.submitter_email
        and not WhatsAppThread.objects.filter(pst_ticket__ticket=ticket).exclude(wa_id="").exists()
    ):
        return False
    if not PSTTicket.objects.filter(ticket=ticket).exists():
        return False
    if Complaint.objects.filter(ticket=ticket).exists():
        return False
    return not Rating.objects.filter(ticket=ticket).exists()


def offer_rating(ticket: Ticket) -> RatingInvitation | None:
    """Issue a link for a finished ticket and, after commit, e-mail it and announce it.

    Returns None when the ticket gets no link (see the module's rules), including when a valid
    link was already issued (resolve then close sends one link).
    """
    if not wants_rating_link(ticket) or valid_invitation(ticket) is not None:
        return None
    invitation = RatingInvitation.objects.create(ticket=ticket)
    transaction.on_commit(lambda: deliver_link(invitation.pk), robust=True)
    return invitation


def deliver_link(invitation_id: int) -> None:
    """E-mail the link from the queue's address, then send ``rating_link_issued``."""
    invitation = (
        RatingInvitation.objects.select_related("ticket__queue", "ticket__pst")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        return
    ticket = invitation.ticket
    url = link_url(invitation)
    if ticket.submitter_email:
        send_link_email(ticket, ticket.submitter_email, url)
    pst = getattr(ticket, "pst", None)
    for receiver, error in rating_link_issued.send_robust(
        sender=Rating, pst_ticket=pst, url=url, invitation=invitation
    ):
        if isinstance(error, Exception):
            logger.error("rating_link_issued receiver %r failed: %s", receiver, error)


def send_link_email(ticket: Ticket, email: str, url: str) -> None:
    queue = ticket.queue
    context = {
        "ticket": ticket,
        "queue": queue,
        "url": url,
        "days": pst_settings.RATING_LINK_MAX_AGE_DAYS,
    }
    with translation.override(queue.locale or settings.LANGUAGE_CODE):
        subject = _("How was our service? Rate ticket %(ticket)s") % {"ticket": ticket.ticket}
        text = render_to_string("pst_helpdesk_ext/email/rating_link.txt", context)
        html = render_to_string("pst_helpdesk_ext/email/rating_link.html", context)
    message = EmailMultiAlternatives(
        subject=subject.replace("\n", " "), body=text, from_email=queue.from_address, to=[email]
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception:  # a mail server down must not undo the resolution; the page shows the link
        logger.exception("rating link e-mail for ticket %s could not be sent", ticket.pk)


def ticket_done(followup: FollowUp) -> RatingInvitation | None:
    """Receiver body for ``update_ticket_done``: a resolve or close offers a rating.

    Runs inside the staff member's update (helpdesk sends the signal unguarded): a failure here
    is logged and rolled back to a savepoint, never allowed to undo or break the resolution.
    """
    if followup.new_status not in DONE_STATUSES:
        return None
    try:
        with transaction.atomic():
            return offer_rating(followup.ticket)
    except DatabaseError:
        logger.exception("rating link for ticket %s could not be issued", followup.ticket_id)
        return None


def visit_finished(ticket: Ticket) -> RatingInvitation | None:
    """The rating link for a walk-in visit the intake announces as finished (after commit; off
    unless ``RATING_LINK_WALK_IN``)."""
    if not pst_settings.RATING_LINK_WALK_IN:
        return None
    with transaction.atomic():
        return offer_rating(ticket)


# --- storing a rating -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintRequest:
    """A complaint sent with the rating form (text required; tier is staff's to change)."""

    text: str
    lapor_ref: str = ""


def clean_scores(scores: Any) -> dict[str, int]:
    """Element scores as stored: known elements (U1..U9) only, each a whole number 1-4; an
    element left out is unanswered (``compute_ikm`` then averages the answered ones)."""
    if not isinstance(scores, Mapping) or not scores:
        raise RatingRefused("invalid", _("Answer at least one of the nine questions."))
    clean: dict[str, int] = {}
    for element, score in scores.items():
        if element not in IKM_ELEMENTS:
            raise RatingRefused(
                "invalid",
                _("%(element)s is not one of the nine survey questions (U1 to U9).")
                % {"element": repr(element)},
                field=str(element),
            )
        if (
            not isinstance(score, int)
            or isinstance(score, bool)
            or not MIN_SCORE <= score <= MAX_SCORE
        ):
            raise RatingRefused(
                "invalid",
                _("The answer to %(element)s is %(value)s; it must be 1 to 4.")
                % {"element": element, "value": repr(score)},
                field=element,
            )
        clean[element] = score
    return clean


def clean_overall(overall: Any) -> int:
    if (
        not isinstance(overall, int)
        or isinstance(overall, bool)
        or not (MIN_SCORE <= overall <= MAX_SCORE)
    ):
        raise RatingRefused(
            "invalid",
            _("The overall score is %(value)s; it must be 1 to 4.") % {"value": overall},
            field="overall",
        )
    return overall


def submit_rating(
    invitation: RatingInvitation,
    *,
    scores: Mapping[str, Any],
    overall: Any,
    comment: str = "",
    complaint: ComplaintRequest | None = None,
) -> Rating:
    """Store a rating given through ``invitation`` (and its complaint) in one transaction.

    Everything is checked before anything is written; a refusal stores nothing.
    """
    clean = clean_scores(scores)
    overall = clean_overall(overall)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise RatingRefused(
            "invalid",
            _("The comment is %(length)s characters long; at most %(max)s.")
            % {"length": len(comment), "max": MAX_COMMENT},
            field="comment",
        )
    ticket = invitation.ticket
    if complaint is not None:
        # Check the complaint before the rating is stored, so a bad one stores neither.
        try:
            complaints.clean_text(complaint.text)
            complaints.clean_lapor_ref(complaint.lapor_ref)
        except ValidationError as exc:
            field, messages = next(iter(exc.message_dict.items()))
            raise RatingRefused("invalid", messages[0], field=f"complaint_{field}") from None
    now = timezone.now()
    try:
        with transaction.atomic():
            spent = RatingInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
                used_at=now
            )
            if not spent:
                check_unspent(RatingInvitation.objects.get(pk=invitation.pk))
                raise RatingRefused("used", _("This rating link has already been used."))
            pst = PSTTicket.objects.filter(ticket=ticket).select_related("branch").first()
            rating = Rating.objects.create(
                ticket=ticket,
                branch=pst.branch if pst else None,
                scores=clean,
                overall=overall,
                comment=comment,
                source=Rating.Source.LINK,
                invitation=invitation,
                created=now,
            )
            if complaint is not None:
                complaints.file_complaint(
                    text=complaint.text,
                    email=ticket.submitter_email,
                    about=ticket,
                    lapor_ref=complaint.lapor_ref,
                    filed_at=now,
                )
    except IntegrityError:
        # Another request rated this ticket between our check and our insert.
        raise RatingRefused(
            "rated", _("This service has already been rated. One rating per request. Thank you!")
        ) from None
    invitation.used_at = now
    return rating
