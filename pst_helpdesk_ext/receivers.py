"""Receivers on django-helpdesk's signals and on reference-data saves. Thin: each calls a service.

Connected when the app is ready (apps.py imports this module). ``dispatch_uid`` keeps each one
connected once even if the module is imported twice.

``update_ticket_done`` has ONE receiver here, ``update_ticket_done_dispatcher``, which calls the
handlers of ``UPDATE_TICKET_DONE_HANDLERS`` in that order (the online channel's, then the
down-feed, the SLA clock and the rating link). Each handler runs even if an earlier one failed;
the first failure is then raised, as helpdesk's ``send`` would have raised it (a ``send_robust``
sender logs it). Writing to the ticket history goes through ``helpdesk_gateway``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from helpdesk.models import FollowUp, KBCategory, KBItem, Ticket
from helpdesk.signals import new_ticket_done, update_ticket_done

from pst_helpdesk_ext import online_receivers, signals
from pst_helpdesk_ext.followup_titles import translate_status_suffix
from pst_helpdesk_ext.models import Channel, ServiceCategory
from pst_helpdesk_ext.services import complaints, feed, online, ratings, sla

logger = logging.getLogger("pst.receivers")

REFERENCE_MODELS = (ServiceCategory, Channel, KBCategory, KBItem)


def ticket_updated(sender: Any, followup: FollowUp) -> None:
    feed.publish_followup(followup, sender=sender)


def sla_ticket_updated(sender: Any, followup: FollowUp) -> None:
    sla.followup_recorded(followup, sender=sender)


def offer_rating_when_done(sender: Any, followup: FollowUp) -> None:
    ratings.ticket_done(followup)


#: What ``update_ticket_done`` means to the plugin, in the order it is done.
UPDATE_TICKET_DONE_HANDLERS: tuple[Callable[[Any, FollowUp], None], ...] = (
    online_receivers.send_whatsapp_reply,  # a staff reply on a WhatsApp ticket goes out
    online_receivers.email_reply_received,  # a visitor's e-mail reply is announced
    ticket_updated,  # the branch the ticket came from hears of its status and public replies
    sla_ticket_updated,  # the SLA clock applies the follow-up
    offer_rating_when_done,  # a resolve or close offers the rating link
)


@receiver(update_ticket_done, dispatch_uid="pst_update_ticket_done")
def update_ticket_done_dispatcher(sender: Any, followup: FollowUp, **kwargs: Any) -> None:
    errors: list[Exception] = []
    for handler in UPDATE_TICKET_DONE_HANDLERS:
        try:
            handler(sender, followup)
        except Exception as exc:  # the others still run; the first failure is raised below
            if errors:
                logger.error("update_ticket_done handler %s failed: %s", handler.__name__, exc)
            errors.append(exc)
    if errors:
        raise errors[0]


@receiver(new_ticket_done, dispatch_uid="pst_online_ticket_created")
def ticket_created(sender: Any, ticket: Ticket, **kwargs: Any) -> None:
    # The SLA clock needs the PST row the online service gives the ticket: both here, in order.
    sla.ticket_created(online.record_online_ticket(ticket, sender=sender))


@receiver(new_ticket_done, dispatch_uid="pst_complaint_deadline")
def complaint_deadline(sender: Any, ticket: Ticket, **kwargs: Any) -> None:
    if sender == signals.INTAKE_SENDER:  # complaints from a branch kiosk arrive without one
        complaints.fill_deadline(ticket)


@receiver(pre_save, sender=FollowUp, dispatch_uid="pst_followup_status_title")
def followup_title_in_language(
    sender: Any, instance: FollowUp, raw: bool = False, **kw: Any
) -> None:
    if not raw:
        translate_status_suffix(instance)


def reference_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return  # fixtures load rows half-linked; a branch gets them through its first snapshot
    feed.publish_reference(instance)


def reference_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    feed.retract_reference(instance)


for _model in REFERENCE_MODELS:
    post_save.connect(reference_saved, sender=_model, dispatch_uid=f"pst_feed_{_model.__name__}")
    post_delete.connect(
        reference_deleted, sender=_model, dispatch_uid=f"pst_feed_del_{_model.__name__}"
    )
