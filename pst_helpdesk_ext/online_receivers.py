"""Receivers of the online channel on helpdesk's and the plugin's signals. Thin: each calls a
service.

Connected when the app is ready (apps.py imports this module); ``dispatch_uid`` keeps each one
connected once. The two ``update_ticket_done`` handlers here are called, in their place, by the
one dispatcher of that signal (``receivers.update_ticket_done_dispatcher``).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext import signals
from pst_helpdesk_ext.models import Channel, PSTTicket
from pst_helpdesk_ext.services import sla, whatsapp
from pst_helpdesk_ext.services.ratings import rating_link_issued

EMAIL_INGESTION_SENDER = "create_object_from_email_message"
ONLINE_CHANNELS = (Channel.WEB, Channel.EMAIL, Channel.WHATSAPP)


def send_whatsapp_reply(sender: Any, followup: FollowUp, **kwargs: Any) -> None:
    """Staff public replies on a WhatsApp ticket go out after commit."""
    if whatsapp.followup_needs_sending(followup, sender):
        followup_id = followup.pk
        transaction.on_commit(lambda: whatsapp.deliver_followup(followup_id), robust=True)


def email_reply_received(sender: Any, followup: FollowUp, **kwargs: Any) -> None:
    """A visitor's e-mail reply (helpdesk's e-mail ingestion) on an online ticket: announce it
    as ``signals.visitor_replied`` (helpdesk has already reopened a closed ticket)."""
    if sender != EMAIL_INGESTION_SENDER:
        return
    pst = (
        PSTTicket.objects.filter(ticket_id=followup.ticket_id, channel__code__in=ONLINE_CHANNELS)
        .select_related("ticket")
        .first()
    )
    if pst is None:
        return
    reopened = followup.new_status == Ticket.REOPENED_STATUS

    def announce() -> None:
        signals.visitor_replied.send_robust(
            sender=signals.EMAIL_SENDER,
            pst_ticket=pst,
            followup=followup,
            at=followup.date,
            reopened=reopened,
        )

    transaction.on_commit(announce, robust=True)


@receiver(rating_link_issued, dispatch_uid="pst_whatsapp_rating_link")
def send_rating_link(sender: Any, pst_ticket: PSTTicket | None, url: str, **kwargs: Any) -> None:
    """The rating link also goes through the ticket's WhatsApp conversation, if it has one
    (``send_to_visitor`` does nothing for other channels: helpdesk's e-mail carried it)."""
    if pst_ticket is not None:
        whatsapp.send_rating_link(pst_ticket, url)


@receiver(signals.online_request_submitted, dispatch_uid="pst_sla_request_submitted")
def clock_on_submission(sender: Any, pst_ticket: PSTTicket, complete: bool, **kwargs: Any) -> None:
    """The request page knows whether the request was complete: an "at submission" clock starts
    only for a complete one (docs/sla.md)."""
    sla.request_submitted(pst_ticket, complete=complete)


@receiver(signals.visitor_replied, dispatch_uid="pst_sla_visitor_replied")
def clock_on_visitor_reply(sender: Any, pst_ticket: PSTTicket, at: Any, **kwargs: Any) -> None:
    """A reply by e-mail or WhatsApp ends a "waiting for the visitor" pause (a no-op when the
    ticket was not waiting, e.g. when the SLA receiver already saw the e-mail follow-up)."""
    sla.visitor_replied(pst_ticket, at)
