"""Receivers on django-helpdesk's signals and on reference-data saves. Thin: each calls a service.

Connected when the app is ready (apps.py imports this module). ``dispatch_uid`` keeps each one
connected once even if the module is imported twice.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from helpdesk.models import FollowUp, KBCategory, KBItem, Ticket
from helpdesk.signals import new_ticket_done, update_ticket_done

from pst_helpdesk_ext.followup_titles import translate_status_suffix
from pst_helpdesk_ext.models import Channel, ServiceCategory, Visit
from pst_helpdesk_ext.services import complaints, feed, intake, ratings, sla

REFERENCE_MODELS = (ServiceCategory, Channel, KBCategory, KBItem)


@receiver(update_ticket_done, dispatch_uid="pst_feed_ticket_update")
def ticket_updated(sender: Any, followup: FollowUp, **kwargs: Any) -> None:
    feed.publish_followup(followup, sender=sender)


@receiver(update_ticket_done, dispatch_uid="pst_sla_ticket_update")
def sla_ticket_updated(sender: Any, followup: FollowUp, **kwargs: Any) -> None:
    sla.followup_recorded(followup, sender=sender)


@receiver(new_ticket_done, dispatch_uid="pst_online_ticket_created")
def ticket_created(sender: Any, ticket: Ticket, **kwargs: Any) -> None:
    # The SLA clock needs the PST row the intake gives the ticket, so both run here, in order.
    sla.ticket_created(intake.record_online_ticket(ticket, sender=sender))


@receiver(update_ticket_done, dispatch_uid="pst_rating_link_on_done")
def offer_rating_when_done(sender: Any, followup: FollowUp, **kwargs: Any) -> None:
    ratings.ticket_done(followup)


@receiver(intake.visit_finished, sender=Visit, dispatch_uid="pst_rating_link_walk_in")
def offer_rating_after_visit(sender: Any, ticket: Ticket, **kwargs: Any) -> None:
    ratings.visit_finished(ticket)


@receiver(new_ticket_done, dispatch_uid="pst_complaint_deadline")
def complaint_deadline(sender: Any, ticket: Ticket, **kwargs: Any) -> None:
    if sender == intake.INTAKE_SENDER:  # complaints from a branch kiosk arrive without one
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
