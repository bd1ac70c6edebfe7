"""The pure SLA clock: facts + now -> clock state, in memory (docs/sla.md has the rules).

What it owns: evaluating a ``PSTTicket``'s clock fields from recorded facts (when the request
became complete, pauses, when the clock stopped, the walk-in visit's times, a complaint's history)
and *now*. Every instant it sets is derived from those facts (the breach time is the due time,
"at risk since" the instant the threshold was crossed), so evaluating twice gives the same row.
``met`` and ``breached`` are final. Online clocks run in working time on the branch's calendar;
walk-in clocks in real minutes, from the desk becoming free to the call; a complaint's clock from
filing to the first answer and to its tier's deadline. It reads rows (the complaint, the visits of
a service queue, follow-ups) but never writes one: saving is ``actions`` and ``tick``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.calendar import WorkingCalendar
from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import (
    Complaint,
    OnlineRequest,
    PSTTicket,
    SLAPolicy,
    SLAState,
    Visit,
)
from pst_helpdesk_ext.services.sla.policy import (
    CLOCK_FIELDS,
    FINAL_STATES,
    STOP_STATUSES,
    PolicyTable,
    calendar_for,
    checked_now,
    complaint_due_at,
    visit_of,
)

logger = logging.getLogger("pst.sla")


def snapshot(pst: PSTTicket) -> tuple[Any, ...]:
    return tuple(
        getattr(pst, "sla_policy_id" if name == "sla_policy" else name) for name in CLOCK_FIELDS
    )


def changed_fields(pst: PSTTicket, before: tuple[Any, ...]) -> list[str]:
    after = snapshot(pst)
    return [name for name, old, new in zip(CLOCK_FIELDS, before, after, strict=True) if old != new]


def _seconds(delta: dt.timedelta) -> int:
    return max(0, int(delta.total_seconds()))


def _paused(pst: PSTTicket, until: dt.datetime, calendar: WorkingCalendar) -> dt.timedelta:
    paused = dt.timedelta(seconds=pst.sla_paused_seconds)
    if pst.sla_paused_since is not None and until > pst.sla_paused_since:
        paused += calendar.working_time_between(pst.sla_paused_since, until)
    return paused


def _set_policy(pst: PSTTicket, policy: SLAPolicy | None) -> None:
    pst.sla_policy = policy
    if policy is None:
        pst.sla_policy_id = None


def evaluate_online(
    pst: PSTTicket, now: dt.datetime, policy: SLAPolicy | None, calendar: WorkingCalendar
) -> None:
    complaint = _complaint_of(pst)
    if complaint is not None:  # a complaint filed online runs on the complaint clock
        evaluate_complaint(pst, now, complaint, calendar)
        return
    if pst.sla_state == SLAState.MET:
        return
    breached = pst.sla_state == SLAState.BREACHED and pst.sla_breached_at is not None
    if breached:
        if pst.sla_stopped_at is not None and pst.sla_started_at is not None:
            paused = _paused(pst, pst.sla_stopped_at, calendar)
            worked = calendar.working_time_between(pst.sla_started_at, pst.sla_stopped_at)
            pst.sla_elapsed_seconds = _seconds(worked - paused)
        return
    _set_policy(pst, policy)
    if policy is None:
        pst.sla_state, pst.sla_due_at, pst.sla_at_risk_at = SLAState.NONE, None, None
        return
    if pst.sla_started_at is None:
        if (
            pst.complete_at is None
            and policy.start_rule == SLAPolicy.StartRule.ON_SUBMISSION
            and _submitted_complete(pst)
        ):
            pst.complete_at = pst.ticket.created
        if pst.complete_at is None:
            # Not complete yet; or ended without ever being complete: no clock ran.
            pst.sla_state = SLAState.NONE if pst.sla_stopped_at is not None else SLAState.PENDING
            pst.sla_due_at = pst.sla_at_risk_at = None
            return
        pst.sla_started_at = pst.complete_at
    start = pst.sla_started_at
    end = pst.sla_stopped_at or now
    paused = _paused(pst, end, calendar)
    due = calendar.deadline(start, policy.target, paused)
    pst.sla_due_at = due
    if pst.sla_stopped_at is not None:
        stop = pst.sla_stopped_at
        pst.sla_elapsed_seconds = _seconds(calendar.working_time_between(start, stop) - paused)
        if stop <= due:
            pst.sla_state = SLAState.MET
        else:
            pst.sla_state, pst.sla_breached_at = SLAState.BREACHED, due
        return
    if now >= due:
        pst.sla_state, pst.sla_breached_at = SLAState.BREACHED, due
        return
    threshold = _at_risk_instant(start, policy, paused, calendar)
    if pst.sla_paused_since is not None:
        pst.sla_state = SLAState.PAUSED
    elif now >= threshold:
        pst.sla_state = SLAState.AT_RISK
    else:
        pst.sla_state = SLAState.RUNNING
    if now >= threshold and pst.sla_at_risk_at is None and pst.sla_paused_since is None:
        pst.sla_at_risk_at = threshold
    elif now < threshold:
        pst.sla_at_risk_at = None


def _complaint_of(pst: PSTTicket) -> Complaint | None:
    """The complaint a PST ticket carries (None for every other ticket); read once per instance,
    or preloaded for a batch by ``preload_complaints``."""
    cache = pst.__dict__
    if "_pst_complaint" not in cache and PSTTicket.ticket.is_cached(pst):
        ticket = pst.ticket
        if Ticket.pst_complaint.is_cached(ticket):  # select_related("ticket__pst_complaint")
            cache["_pst_complaint"] = getattr(ticket, "pst_complaint", None)
    if "_pst_complaint" not in cache:
        cache["_pst_complaint"] = (
            Complaint.objects.select_related("ticket").filter(ticket_id=pst.ticket_id).first()
        )
    return cache["_pst_complaint"]


def preload_complaints(psts: Sequence[PSTTicket]) -> None:
    """One query for the complaints among ``psts`` (a tick chunk)."""
    wanted = [p for p in psts if "_pst_complaint" not in p.__dict__]
    if not wanted:
        return
    found = {
        c.ticket_id: c
        for c in Complaint.objects.select_related("ticket").filter(
            ticket_id__in=[p.ticket_id for p in wanted]
        )
    }
    for pst in wanted:
        pst.__dict__["_pst_complaint"] = found.get(pst.ticket_id)


def complaint_of(pst: PSTTicket) -> Complaint | None:
    """The complaint ``pst`` carries, or None (read once per instance)."""
    return _complaint_of(pst)


def is_complaint(pst: PSTTicket) -> bool:
    """Whether ``pst`` is a complaint (its clock counts working days, docs/sla.md)."""
    return _complaint_of(pst) is not None


@dataclass(frozen=True)
class ComplaintFacts:
    """What a complaint's clock is computed from (all read from helpdesk's own records)."""

    filed: dt.datetime
    settle_due: dt.datetime  # the tier's deadline
    respond_due: dt.datetime  # the first answer to the complainant
    responded: dt.datetime | None  # first public staff answer (or the settlement)
    settled: dt.datetime | None  # resolved, closed or marked duplicate


def complaint_facts(
    pst: PSTTicket, complaint: Complaint, now: dt.datetime, calendar: WorkingCalendar
) -> ComplaintFacts:
    """A complaint's deadlines and what happened, as of ``now``.

    Filed: the ticket's creation (when the complainant filed it; a kiosk complaint keeps the
    branch's time). Settlement due: ``Complaint.due_at`` (the tier's working days, the complaint
    code stores it at filing), or computed from the tier when it is not stored yet (a kiosk
    complaint before ``fill_deadline``). First answer due: ``COMPLAINT_FIRST_RESPONSE_DAYS``
    working days after filing. The first answer is the first public follow-up with text written
    by helpdesk staff; settling the complaint answers it too.
    """
    from helpdesk.decorators import is_helpdesk_staff

    ticket = complaint.ticket
    filed = ticket.created
    settle_due = complaint.due_at or complaint_due_at(pst.branch, complaint.tier, filed)
    respond_due = calendar.add_working_days(filed, int(pst_settings.COMPLAINT_FIRST_RESPONSE_DAYS))
    settled = pst.sla_stopped_at
    if settled is None and ticket.status in STOP_STATUSES:
        settled = (
            FollowUp.objects.filter(ticket_id=ticket.pk, new_status__in=STOP_STATUSES)
            .order_by("-date")
            .values_list("date", flat=True)
            .first()
        ) or ticket.modified
        settled = min(settled, now)
    responded = None
    answers = (
        FollowUp.objects.filter(ticket_id=ticket.pk, public=True, user__isnull=False)
        .exclude(comment="")
        .select_related("user")
        .order_by("date", "pk")
    )
    for answer in answers:
        if (answer.comment or "").strip() and is_helpdesk_staff(answer.user):
            responded = answer.date
            break
    if settled is not None and (responded is None or settled < responded):
        responded = settled
    return ComplaintFacts(filed, settle_due, respond_due, responded, settled)


def evaluate_complaint(
    pst: PSTTicket, now: dt.datetime, complaint: Complaint, calendar: WorkingCalendar
) -> None:
    """A complaint's clock (DOMAIN.md "Complaints"): started when filed, in working time on the
    branch's calendar; due at the first answer's deadline until the complainant is answered, then
    at the tier's deadline; stopped when the complaint is settled (resolved, closed, duplicate).
    ``met`` when both deadlines were kept, ``breached`` at the first deadline missed. Complaint
    deadlines do not pause."""
    if pst.sla_state == SLAState.MET:
        return
    facts = complaint_facts(pst, complaint, now, calendar)
    if facts.settled is not None:
        pst.sla_stopped_at = facts.settled
        worked = calendar.working_time_between(facts.filed, facts.settled)
        pst.sla_elapsed_seconds = _seconds(worked)
    if pst.sla_state == SLAState.BREACHED and pst.sla_breached_at is not None:
        return  # final; only its stop (the settlement) is still recorded
    _set_policy(pst, None)
    pst.complete_at = None
    pst.sla_started_at = facts.filed
    pst.sla_paused_since, pst.sla_paused_seconds, pst.sla_at_risk_at = None, 0, None
    # The next deadline owed: the first answer until it is given, then the settlement.
    pst.sla_due_at = (
        min(facts.settle_due, facts.respond_due) if facts.responded is None else facts.settle_due
    )
    missed = sorted(
        due
        for due, done in (
            (facts.respond_due, facts.responded),
            (facts.settle_due, facts.settled),
        )
        if (done is not None and done > due) or (done is None and now >= due)
    )
    if missed:
        pst.sla_state, pst.sla_breached_at = SLAState.BREACHED, missed[0]
        pst.sla_due_at = missed[0]
    elif facts.settled is not None:
        pst.sla_state = SLAState.MET
    else:
        pst.sla_state = SLAState.RUNNING


def _submitted_complete(pst: PSTTicket) -> bool:
    """Whether the request was complete when submitted, as far as central knows: a request from
    the public request page says so itself (``OnlineRequest.complete_at_submission``); tickets
    from elsewhere (helpdesk's form, e-mail, WhatsApp) are taken as the policy takes them."""
    found = OnlineRequest.objects.filter(pst_ticket_id=pst.pk).values_list(
        "complete_at_submission", flat=True
    )
    return next(iter(found), True)


def _at_risk_instant(
    start: dt.datetime, policy: SLAPolicy, paused: dt.timedelta, calendar: WorkingCalendar
) -> dt.datetime:
    """When ``at_risk_percent`` of the standard's working time has been used (pauses excluded)."""
    budget = calendar.working_time_between(start, calendar.add_working_days(start, policy.target))
    used = budget * policy.at_risk_percent / 100
    return calendar.add_working_time(calendar.next_open(start), used + paused)


def _evaluate_walkin(
    pst: PSTTicket,
    policy: SLAPolicy | None,
    visit: Visit | None,
    desk_free_at: dt.datetime | None,
) -> None:
    """Walk-in: from the desk becoming free (the previous visitor in the service queue finished),
    or the visitor's arrival if it was already free, to the call. Real minutes."""
    if pst.sla_state in FINAL_STATES:
        return
    _set_policy(pst, policy)
    if policy is None or visit is None:
        pst.sla_state, pst.sla_due_at = SLAState.NONE, None
        return
    start = max(visit.issued_at, desk_free_at) if desk_free_at else visit.issued_at
    pst.sla_started_at = start
    due = start + dt.timedelta(minutes=policy.target)
    pst.sla_due_at = due
    stop = visit.called_at
    if stop is None and visit.outcome == Visit.Outcome.NO_SHOW:
        stop = visit.finished_at  # left (or was dropped) before being called
    if stop is None:
        pst.sla_state = SLAState.RUNNING  # central cannot know the call before the branch syncs it
        return
    pst.sla_stopped_at = stop
    pst.sla_elapsed_seconds = _seconds(stop - start)
    if stop <= due:
        pst.sla_state = SLAState.MET
    else:
        pst.sla_state, pst.sla_breached_at = SLAState.BREACHED, due


def _desk_free_at(visit: Visit, finishes: Sequence[tuple[int, dt.datetime]]) -> dt.datetime | None:
    """The last time a visitor of the same service queue and day finished before this one was
    called (or before now, while waiting)."""
    limit = visit.called_at
    if limit is None and visit.outcome == Visit.Outcome.NO_SHOW:
        limit = visit.finished_at
    latest = None
    for visit_id, finished in finishes:
        if visit_id == visit.pk or (limit is not None and finished > limit):
            continue
        if latest is None or finished > latest:
            latest = finished
    return latest


def queue_finishes(
    visits: Iterable[Visit],
) -> dict[tuple[int, int, dt.date], list[tuple[int, dt.datetime]]]:
    """Finish times of every visit in the service queues (branch, service, day) of ``visits``, in
    one query per 200 queues."""
    keys = sorted({(v.branch_id, v.service_id, v.service_day) for v in visits})
    found: dict[tuple[int, int, dt.date], list[tuple[int, dt.datetime]]] = defaultdict(list)
    for index in range(0, len(keys), 200):
        condition = Q()
        for branch_id, service_id, day in keys[index : index + 200]:
            condition |= Q(branch_id=branch_id, service_id=service_id, service_day=day)
        rows = Visit.objects.filter(condition, finished_at__isnull=False).values_list(
            "branch_id", "service_id", "service_day", "pk", "finished_at"
        )
        for branch_id, service_id, day, pk, finished in rows:
            found[(branch_id, service_id, day)].append((pk, finished))
    return found


def evaluate(
    pst: PSTTicket,
    now: dt.datetime,
    policies: PolicyTable,
    finishes: dict[tuple[int, int, dt.date], list[tuple[int, dt.datetime]]] | None = None,
) -> list[str]:
    """Bring ``pst``'s clock up to date in memory; the names of the fields that changed."""
    before = snapshot(pst)
    complaint = _complaint_of(pst)
    if complaint is not None:
        evaluate_complaint(pst, now, complaint, calendar_for(pst.branch))
    elif pst.channel.online:
        evaluate_online(pst, now, policies.for_ticket(pst), calendar_for(pst.branch))
    else:
        visit = visit_of(pst)
        desk_free = None
        if visit is not None:
            if finishes is None:
                finishes = queue_finishes([visit])
            queue = finishes.get((visit.branch_id, visit.service_id, visit.service_day), [])
            desk_free = _desk_free_at(visit, queue)
        _evaluate_walkin(pst, policies.for_ticket(pst), visit, desk_free)
    return changed_fields(pst, before)


def evaluated_now(pst: PSTTicket, now: dt.datetime | None = None) -> PSTTicket:
    """``pst`` with its clock brought up to ``now`` in memory, exactly as the next ``pst_sla_tick``
    will store it; nothing is saved. A page that shows one ticket (its panel) shows this, so what
    it says about the clock agrees with the visit's own times even before cron has run (a call
    synced a minute ago is a met clock, not an overdue one). A clock that cannot be evaluated is
    shown as stored (the tick logs it)."""
    if pst.sla_state in FINAL_STATES:
        return pst
    before = snapshot(pst)
    try:
        evaluate(pst, checked_now(now), PolicyTable.load())
    except Exception as exc:
        restore(pst, before)
        logger.warning("ticket #%s: clock shown as stored: %s", pst.ticket_id, exc)
    return pst


def restore(pst: PSTTicket, before: tuple[Any, ...]) -> None:
    for name, value in zip(CLOCK_FIELDS, before, strict=True):
        setattr(pst, "sla_policy_id" if name == "sla_policy" else name, value)


def stop_clock(pst: PSTTicket, at: dt.datetime, calendar: WorkingCalendar) -> None:
    """Record that the clock stopped at ``at`` (a pause in progress ends there too)."""
    if pst.sla_stopped_at is not None:
        return
    if pst.sla_paused_since is not None:
        if at > pst.sla_paused_since:
            worked = calendar.working_time_between(pst.sla_paused_since, at)
            pst.sla_paused_seconds += _seconds(worked)
        pst.sla_paused_since = None
    pst.sla_stopped_at = at


def end_pause(pst: PSTTicket, at: dt.datetime, calendar: WorkingCalendar) -> None:
    pst.waiting_for_visitor_since = None
    if pst.sla_paused_since is not None:
        if at > pst.sla_paused_since:
            worked = calendar.working_time_between(pst.sla_paused_since, at)
            pst.sla_paused_seconds += _seconds(worked)
        pst.sla_paused_since = None
