"""Live news of a committed intake batch, announced after commit (never once per historical step
of a visit that already ended at the branch).

What it owns: which facts of a batch are news now (``schedule``) and their announcement
(``announce``): a visit escalated for follow-up notifies the queue and sends
``update_ticket_done`` for the escalation follow-up; a complaint notifies the complaints queue
and sends ``new_ticket_done`` (both helpdesk-style, through the helpdesk gateway);
a resolved or referred visit with an e-mail gets the rating link when ``RATING_LINK_WALK_IN`` is
on, and ``signals.visit_finished`` when it has receivers. Rows are read fresh after commit, a few
queries for the whole batch, and only for news someone acts on (with the rating link off and no
receiver, the finished visits are not read at all: most batches then announce nothing); a failing
receiver is logged, and the batch stays committed and acknowledged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.helpdesk_gateway import announce_escalation, announce_new_ticket
from pst_helpdesk_ext.models import Visit
from pst_helpdesk_ext.services import ratings
from pst_helpdesk_ext.services.intake.context import Intake
from pst_helpdesk_ext.signals import INTAKE_SENDER, visit_finished

logger = logging.getLogger("pst.intake")


@dataclass(frozen=True)
class News:
    """What a committed batch announces (ids: the rows are read fresh after commit)."""

    escalations: list[int]  # follow-ups that escalated a visit
    complaints: list[int]  # complaint tickets
    finished: list[int]  # visits resolved or referred, with an e-mail to send the rating link to

    def __bool__(self) -> bool:
        return bool(self.escalations or self.complaints or self.finished)


def schedule(run: Intake) -> None:
    """Announce the news of ``run``'s batch once its transaction commits."""
    finished = []
    if pst_settings.RATING_LINK_WALK_IN or visit_finished.has_listeners(Visit):
        finished = [
            state.visit.pk
            for state in run.states.values()
            if (state.finished_now or state.email_now)
            and state.visit.outcome in (Visit.Outcome.RESOLVED, Visit.Outcome.REFERRED)
            and state.ticket.submitter_email
        ]
    news = News(
        escalations=[followup.pk for followup in run.batch.escalations],
        complaints=[ticket.pk for ticket in run.batch.complaint_tickets],
        finished=finished,
    )
    if news:
        transaction.on_commit(lambda: announce(news), robust=True)


def announce(news: News) -> None:
    """After commit: helpdesk's notifications and signals for what is news, a few queries for the
    whole batch. A failing receiver is logged; the batch stays committed and acknowledged."""
    if news.escalations:
        escalations = FollowUp.objects.filter(pk__in=news.escalations)
        for followup in escalations.select_related("ticket__queue").order_by("id"):
            announce_escalation(followup.ticket, followup, sender=INTAKE_SENDER)
    if news.complaints:
        for ticket in Ticket.objects.filter(pk__in=news.complaints).select_related("queue"):
            # A complaint is news: the complaints queue and the complainant hear of it.
            announce_new_ticket(ticket, sender=INTAKE_SENDER)
    if news.finished:
        visits = Visit.objects.filter(pk__in=news.finished).select_related(
            "pst_ticket__ticket__queue"
        )
        for visit in visits.order_by("id"):
            ticket = visit.pst_ticket.ticket
            if not ticket.submitter_email:
                continue
            if pst_settings.RATING_LINK_WALK_IN:
                try:
                    ratings.visit_finished(ticket)
                except Exception:  # the others still get theirs; the batch stays committed
                    logger.exception("rating link for visit %s could not be issued", visit.pk)
            for receiver, error in visit_finished.send_robust(
                sender=Visit, visit=visit, ticket=ticket, email=ticket.submitter_email
            ):
                if isinstance(error, Exception):
                    logger.error("visit_finished receiver %r failed: %s", receiver, error)
