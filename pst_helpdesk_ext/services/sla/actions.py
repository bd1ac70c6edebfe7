"""SLA actions: the facts staff and visitors add to a clock, and what helpdesk's signals mean to it.

What it owns: marking a request complete (the online clock starts), waiting for the visitor (a
running clock pauses), the visitor's reply (the pause ends), the clock of a ticket helpdesk
created (``ticket_created``, ``request_submitted``) and of a follow-up helpdesk recorded
(``followup_recorded``, called by the ``update_ticket_done`` dispatcher). Each locks the PST
row, applies the fact, re-evaluates with ``clock`` and saves the fields that changed, in one
transaction; a staff action also records a follow-up through the helpdesk gateway as the SLA
writer (``helpdesk_gateway.SLA_WRITER``), so ``followup_recorded`` leaves that follow-up alone
(its effect is already applied here). ``SLAActionError``: an action that does not apply to the
ticket as it is; its message says why and what to do instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext import signals
from pst_helpdesk_ext.helpdesk_gateway import SLA_WRITER, record_update, writing_as
from pst_helpdesk_ext.models import (
    PSTTicket,
    SLAState,
)
from pst_helpdesk_ext.services.sla.clock import (
    changed_fields,
    complaint_of,
    end_pause,
    evaluate,
    evaluate_complaint,
    evaluate_online,
    is_complaint,
    snapshot,
    stop_clock,
)
from pst_helpdesk_ext.services.sla.policy import (
    CLOCK_FIELDS,
    STOP_STATUSES,
    PolicyTable,
    calendar_for,
    checked_now,
    local_label,
)

logger = logging.getLogger("pst.sla")


class SLAActionError(ValidationError):
    """A staff action that does not apply to the ticket as it is; the message says why and what
    to do instead (shown to staff as it is, in their language)."""


def lock_clock(pst_ticket: PSTTicket) -> PSTTicket:
    return (
        PSTTicket.objects.select_for_update(of=("self",))
        .select_related("channel", "branch", "ticket", "ticket__queue", "sla_policy")
        .get(pk=pst_ticket.pk)
    )


def record_followup(
    ticket: Ticket,
    user: Any,
    *,
    title: str,
    comment: str,
    public: bool,
    **changes: Any,
) -> FollowUp:
    """A follow-up through helpdesk's own ``update_ticket`` (history, notifications, signal),
    written as the SLA clock (``SLA_WRITER``: our receiver leaves it alone, its effect on the
    clock is applied by the caller in the same transaction).

    ``update_ticket`` gives a resolved ticket the comment of any follow-up as its resolution (its
    status is re-applied); a note from us must not replace the staff's resolution, so it is kept.
    """
    return record_update(
        ticket,
        user,
        comment=comment,
        public=public,
        title=title,
        keep_resolution=True,
        writer=SLA_WRITER,
        **changes,
    )


def _require_online(pst: PSTTicket) -> None:
    if not pst.channel.online:
        raise SLAActionError(
            _(
                "Ticket #%(ticket)s is a walk-in visit: its clock runs from the desk becoming "
                "free to the call, as recorded at the branch."
            ),
            code="walk_in",
            params={"ticket": pst.ticket_id},
        )


def mark_request_complete(
    pst_ticket: PSTTicket, *, user: Any, at: dt.datetime | None = None
) -> FollowUp:
    """Staff say the request is clear and its requirements complete: the online clock starts.

    Records a private follow-up (through ``update_ticket``) with the due time. A visitor the
    ticket was waiting for is no longer waited for (their part is done).
    """
    at = checked_now(at)
    with transaction.atomic():
        pst = lock_clock(pst_ticket)
        _require_online(pst)
        if is_complaint(pst):
            raise SLAActionError(
                _(
                    "Ticket #%(ticket)s is a complaint: its clock runs from filing, to the "
                    "first answer and to its tier's deadline."
                ),
                code="complaint",
                params={"ticket": pst.ticket_id},
            )
        if pst.sla_started_at is not None:
            raise SLAActionError(
                _("The request of ticket #%(ticket)s was already marked complete on %(at)s."),
                code="already_complete",
                params={
                    "ticket": pst.ticket_id,
                    "at": local_label(pst.sla_started_at, calendar_for(pst.branch)),
                },
            )
        if pst.sla_stopped_at is not None or pst.ticket.status in STOP_STATUSES:
            raise SLAActionError(
                _("Ticket #%(ticket)s is already answered or closed; its clock cannot start."),
                code="already_stopped",
                params={"ticket": pst.ticket_id},
            )
        calendar = calendar_for(pst.branch)
        before = snapshot(pst)
        pst.complete_at = at
        pst.sla_started_at = at
        pst.waiting_for_visitor_since = None
        pst.sla_paused_since = None
        evaluate_online(pst, at, PolicyTable.load().for_ticket(pst), calendar)
        pst.save(update_fields=changed_fields(pst, before))
        with translation.override(ticket_language(pst.ticket)):
            if pst.sla_due_at is not None and pst.sla_policy is not None:
                comment = _(
                    "The request is clear and its requirements are complete. Service standard: "
                    "%(days)s working days, due %(due)s."
                ) % {"days": pst.sla_policy.target, "due": local_label(pst.sla_due_at, calendar)}
            else:
                comment = _(
                    "The request is clear and its requirements are complete. No service "
                    "standard applies to this ticket."
                )
            followup = record_followup(
                pst.ticket,
                user,
                title=_("Request complete"),
                comment=comment,
                public=False,
            )
    _copy_clock(pst, pst_ticket)
    return followup


def wait_for_visitor(
    pst_ticket: PSTTicket, *, user: Any, at: dt.datetime | None = None, comment: str = ""
) -> FollowUp:
    """Staff wait for the visitor (a question, a missing document): a running clock pauses.

    With ``comment`` the question goes to the visitor as a public follow-up (e-mailed as helpdesk
    does); without, a private note records that the visitor was asked some other way. The
    7-day inactivity close counts from here.
    """
    at = checked_now(at)
    comment = (comment or "").strip()
    with transaction.atomic():
        pst = lock_clock(pst_ticket)
        _require_online(pst)
        if pst.ticket.status in STOP_STATUSES:
            raise SLAActionError(
                _("Ticket #%(ticket)s is closed; reopen it before waiting for the visitor."),
                code="closed",
                params={"ticket": pst.ticket_id},
            )
        if pst.waiting_for_visitor_since is not None and not comment:
            calendar = calendar_for(pst.branch)
            raise SLAActionError(
                _("Ticket #%(ticket)s is already waiting for the visitor, since %(at)s."),
                code="already_waiting",
                params={
                    "ticket": pst.ticket_id,
                    "at": local_label(pst.waiting_for_visitor_since, calendar),
                },
            )
        before = snapshot(pst)
        # The 7-day close counts from the last message the visitor has not answered.
        pst.waiting_for_visitor_since = at
        if pst.sla_state in (SLAState.RUNNING, SLAState.AT_RISK) and pst.sla_paused_since is None:
            pst.sla_paused_since = at
        evaluate_online(pst, at, PolicyTable.load().for_ticket(pst), calendar_for(pst.branch))
        pst.save(update_fields=changed_fields(pst, before))
        with translation.override(ticket_language(pst.ticket)):
            followup = record_followup(
                pst.ticket,
                user,
                title=_("Waiting for the visitor"),
                comment=comment
                or _("Waiting for the visitor's answer; the service clock is paused."),
                public=bool(comment),
            )
    _copy_clock(pst, pst_ticket)
    return followup


def visitor_replied(
    pst_ticket: PSTTicket, at: dt.datetime | None = None, *, user: Any = None
) -> FollowUp | None:
    """The visitor answered: a pause ends (its working time moves the due time later) and the
    inactivity close no longer applies. Called by the receiver for replies helpdesk records; with
    ``user`` (staff recording an answer given by phone or at the desk) a private note is written.
    Nothing happens, and None is returned, when the ticket was not waiting."""
    at = checked_now(at)
    with transaction.atomic():
        pst = lock_clock(pst_ticket)
        if pst.waiting_for_visitor_since is None and pst.sla_paused_since is None:
            if user is not None:
                raise SLAActionError(
                    _("Ticket #%(ticket)s is not waiting for the visitor."),
                    code="not_waiting",
                    params={"ticket": pst.ticket_id},
                )
            return None
        calendar = calendar_for(pst.branch)
        before = snapshot(pst)
        end_pause(pst, at, calendar)
        if pst.channel.online:
            evaluate_online(pst, at, PolicyTable.load().for_ticket(pst), calendar)
        pst.save(update_fields=changed_fields(pst, before))
        followup = None
        if user is not None:
            with translation.override(ticket_language(pst.ticket)):
                followup = record_followup(
                    pst.ticket,
                    user,
                    title=_("The visitor answered"),
                    comment=_(
                        "The visitor answered outside the helpdesk; the service clock runs again."
                    ),
                    public=False,
                )
    _copy_clock(pst, pst_ticket)
    return followup


def _copy_clock(source: PSTTicket, target: PSTTicket) -> None:
    """The caller's instance sees the saved clock."""
    if source is target:
        return
    for name in CLOCK_FIELDS:
        attname = "sla_policy_id" if name == "sla_policy" else name
        setattr(target, attname, getattr(source, attname))


def ticket_language(ticket: Ticket) -> str:
    """The language of messages on a ticket: its queue's locale, else Indonesian (PST's public)."""
    locale = (getattr(ticket.queue, "locale", "") or "").strip()
    return locale.split("-")[0].split("_")[0] if locale else "id"


def recompute(pst_ticket: PSTTicket, now: dt.datetime | None = None) -> list[str]:
    """Re-evaluate one ticket's clock from its facts and save what changed (its field names)."""
    changed = evaluate(pst_ticket, checked_now(now), PolicyTable.load())
    if changed:
        pst_ticket.save(update_fields=changed)
    return changed


def ticket_created(pst: PSTTicket | None) -> None:
    """A new PST ticket from helpdesk (web form, e-mail): a policy that starts at submission starts
    the clock now; otherwise the ticket waits, pending, for staff to mark it complete."""
    if pst is None:
        return
    recompute(pst, pst.ticket.created if pst.channel.online else None)


def request_submitted(pst_ticket: PSTTicket, *, complete: bool) -> None:
    """The public request page told whether the request met its completeness rule.

    Under an "at submission" policy the clock started when helpdesk created the ticket (before the
    page recorded what was missing); an incomplete request un-starts it, so it waits, pending,
    for staff to mark it complete. A complete one, or an "on complete" policy, changes nothing.
    """
    if complete:
        return
    with transaction.atomic():
        pst = lock_clock(pst_ticket)
        created = pst.ticket.created
        if pst.sla_stopped_at is not None or pst.sla_started_at != created:
            return  # stopped already, or started by staff: their word stands
        before = snapshot(pst)
        pst.complete_at = pst.sla_started_at = pst.sla_at_risk_at = None
        evaluate_online(
            pst, timezone.now(), PolicyTable.load().for_ticket(pst), calendar_for(pst.branch)
        )
        pst.save(update_fields=changed_fields(pst, before))
    _copy_clock(pst, pst_ticket)


def followup_recorded(followup: FollowUp, *, sender: Any = None) -> None:
    """Helpdesk recorded a follow-up (``update_ticket_done``): apply what it means for the clock.

    - from the visitor (an e-mail reply; helpdesk's ``is_from_submitter``): the visitor replied;
    - a public answer with text by staff: the first one stops the clock (one that waits for the
      visitor goes through ``wait_for_visitor`` instead), and from now on the ticket waits for
      the visitor (the 7-day close counts from it);
    - a new status that ends the request (resolved, closed, duplicate): the clock stops.
    Walk-in clocks come from the visit, not from follow-ups; our own follow-ups are already applied.
    """
    if writing_as() == SLA_WRITER or sender == signals.INTAKE_SENDER:
        return
    pst = (
        PSTTicket.objects.filter(ticket_id=followup.ticket_id)
        .select_related("channel", "branch", "ticket", "ticket__queue", "sla_policy")
        .first()
    )
    if pst is None:
        return
    if is_complaint(pst):
        # A complaint's clock is computed from its history (first answer, settlement).
        with transaction.atomic():
            locked = lock_clock(pst)
            before = snapshot(locked)
            evaluate_complaint(
                locked, followup.date, complaint_of(locked), calendar_for(locked.branch)
            )
            changed = changed_fields(locked, before)
            if changed:
                locked.save(update_fields=changed)
        return
    if not pst.channel.online:
        return
    at = followup.date
    if followup.is_from_submitter:
        visitor_replied(pst, at)
        pst.refresh_from_db()
    from helpdesk.decorators import is_helpdesk_staff

    staff_answer = (
        followup.public
        and bool((followup.comment or "").strip())
        and followup.user is not None
        and is_helpdesk_staff(followup.user)
    )
    ended = followup.new_status in STOP_STATUSES or pst.ticket.status in STOP_STATUSES
    if not (staff_answer or ended):
        return
    with transaction.atomic():
        pst = lock_clock(pst)
        calendar = calendar_for(pst.branch)
        before = snapshot(pst)
        if staff_answer and pst.sla_stopped_at is None:
            if pst.sla_started_at is None and pst.complete_at is None:
                # Answered before anyone marked it complete: it was clear enough to answer.
                pst.complete_at = at
            stop_clock(pst, at, calendar)
        elif ended:
            stop_clock(pst, at, calendar)
        if staff_answer and not ended:
            pst.waiting_for_visitor_since = at
        evaluate_online(pst, at, PolicyTable.load().for_ticket(pst), calendar)
        changed = changed_fields(pst, before)
        if changed:
            pst.save(update_fields=changed)
