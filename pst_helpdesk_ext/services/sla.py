"""SLA clocks: the PST service standard measured on every PST ticket (docs/sla.md has the rules).

Rules this module keeps:
- The clock state on ``PSTTicket`` is a pure function of recorded *facts* (when the request became
  complete, pauses, when the clock stopped, the walk-in visit's times) and of *now*. Every instant
  it stores is derived from those facts (the breach time is the due time, "at risk since" is the
  instant the threshold was crossed), so evaluating twice gives the same row: ``pst_sla_tick`` is
  idempotent, whenever and however often cron runs it.
- ``met`` and ``breached`` are final: the standard is about the first answer (online) or the call
  (walk-in); a later reply or a reopening does not restart it.
- Facts come from helpdesk's own history: staff actions here record a follow-up through
  ``helpdesk.update_ticket.update_ticket``, and the receivers read the follow-ups helpdesk writes
  (``update_ticket_done``). Breaches, escalations and inactivity closes are follow-ups too, with the
  notifications helpdesk sends for them.
- Online clocks run in working time on the branch's ``WorkingCalendar``; walk-in clocks run in
  real minutes (the office is open while a visitor waits in its queue).
- The walk-in intake inserts rows without signals, so walk-in clocks are evaluated from ``Visit``
  rows by ``pst_sla_tick`` (and by ``walkin_visits_changed`` for a caller that wants them at once).
- A complaint (a ticket with a ``Complaint``, whatever its channel) runs on its own clock, in
  working time: the first answer within ``COMPLAINT_FIRST_RESPONSE_DAYS``, the settlement by its
  tier's deadline (``Complaint.due_at``); computed from helpdesk's history each time.
- One ticket that cannot be evaluated never stops the tick: it is logged with its id and the
  reason, counted in ``TickReport.errors`` and left as it was; the others are done.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from helpdesk.models import FollowUp, Ticket
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.calendar import CalendarError, WorkingCalendar
from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import (
    Branch,
    Complaint,
    OnlineRequest,
    PSTTicket,
    SLAPolicy,
    SLAState,
    Visit,
)

logger = logging.getLogger("pst.sla")

__all__ = [
    "COMPLAINT_TIER_WORKING_DAYS",
    "PolicyTable",
    "SLAActionError",
    "TickReport",
    "calendar_for",
    "complaint_due_at",
    "complaint_facts",
    "complaint_of",
    "evaluated_now",
    "followup_recorded",
    "is_complaint",
    "mark_request_complete",
    "preload_complaints",
    "recompute",
    "recompute_all",
    "tick",
    "ticket_created",
    "visitor_replied",
    "wait_for_visitor",
    "walkin_visits_changed",
]

#: Complaint tiers (Complaint.Tier) -> working days (DOMAIN.md, "Complaints").
COMPLAINT_TIER_WORKING_DAYS: Final = {1: 2, 2: 5, 3: 14, 4: 60}

#: Helpdesk statuses that end a request: the clock stops there.
STOP_STATUSES: Final = (Ticket.RESOLVED_STATUS, Ticket.CLOSED_STATUS, Ticket.DUPLICATE_STATUS)
#: Clock states the tick re-evaluates as time passes.
OPEN_CLOCK_STATES: Final = (SLAState.RUNNING, SLAState.AT_RISK, SLAState.PAUSED)
FINAL_STATES: Final = (SLAState.MET, SLAState.BREACHED)

ZONE_LABELS: Final = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}

# Written fields, for update_fields / bulk_update.
CLOCK_FIELDS: Final = (
    "sla_policy",
    "sla_state",
    "complete_at",
    "sla_started_at",
    "sla_due_at",
    "sla_paused_since",
    "sla_paused_seconds",
    "sla_stopped_at",
    "sla_elapsed_seconds",
    "sla_at_risk_at",
    "sla_breached_at",
    "sla_breach_noted_at",
    "sla_escalated_at",
    "waiting_for_visitor_since",
)

# Set while this module itself calls update_ticket: the receivers then leave the follow-up alone
# (its effect on the clock is applied here, in the same transaction).
_own_update: contextvars.ContextVar[bool] = contextvars.ContextVar("pst_sla_own", default=False)


class SLAActionError(ValidationError):
    """A staff action that does not apply to the ticket as it is; the message says why and what
    to do instead (shown to staff as it is, in their language)."""


# --- policies and calendars ---------------------------------------------------------------------


class PolicyTable:
    """The active policies, loaded once (a handful of rows), resolved in Python per ticket.

    The most specific policy of the ticket's kind wins: category and channel both named, then the
    category named (any channel), then the channel named (any service), then the default. A service
    standard is per service (SIPPN publishes one page per service), so the category outranks the
    channel.
    """

    def __init__(self, policies: Iterable[SLAPolicy]) -> None:
        self._by_key: dict[tuple[str, int | None, int | None], SLAPolicy] = {
            (p.kind, p.category_id, p.channel_id): p for p in policies
        }

    @classmethod
    def load(cls) -> PolicyTable:
        return cls(SLAPolicy.objects.filter(active=True))

    def for_ticket(self, pst: PSTTicket) -> SLAPolicy | None:
        """The policy of ``pst``: online or walk-in by its channel; a walk-in's service is its
        visit's service queue."""
        online = pst.channel.online
        category = pst.category_id
        if not online:
            visit = _visit_of(pst)
            if visit is not None:
                category = visit.service_id
        kind = SLAPolicy.Kind.ONLINE if online else SLAPolicy.Kind.WALK_IN
        return self.resolve(kind, category, pst.channel_id)

    def resolve(
        self, kind: str, category_id: int | None, channel_id: int | None
    ) -> SLAPolicy | None:
        for key in (
            (kind, category_id, channel_id),
            (kind, category_id, None),
            (kind, None, channel_id),
            (kind, None, None),
        ):
            policy = self._by_key.get(key)
            if policy is not None:
                return policy
        return None

    @property
    def min_inactivity_days(self) -> int:
        """The shortest inactivity close in force (0: none), to select candidates cheaply."""
        days = [p.inactivity_close_days for p in self._by_key.values()]
        days.append(pst_settings.SLA_INACTIVITY_CLOSE_DAYS)
        return min((d for d in days if d), default=0)


def calendar_for(branch: Branch | None) -> WorkingCalendar:
    """The branch's working calendar; the defaults (in the default timezone) without a branch.

    A stored calendar that no longer validates (system check E010 reports it) falls back to the
    defaults in the branch's timezone, logged, so one bad row never stops the clocks of all.
    """
    if branch is None:
        return WorkingCalendar.cached({"timezone": pst_settings.DEFAULT_TIMEZONE})
    try:
        return branch.working_calendar
    except CalendarError as exc:
        logger.warning("branch %s: invalid working calendar (%s); using the defaults", branch, exc)
        try:
            return WorkingCalendar.cached({"timezone": branch.timezone})
        except CalendarError:
            return WorkingCalendar.cached({"timezone": pst_settings.DEFAULT_TIMEZONE})


def complaint_due_at(branch: Branch | None, tier: int, start: dt.datetime) -> dt.datetime:
    """When a complaint of ``tier`` (Complaint.Tier: 1..4 = 2/5/14/60 working days) filed at
    ``start`` is due, on the branch's calendar (the deadline rule of the README)."""
    try:
        days = COMPLAINT_TIER_WORKING_DAYS[int(tier)]
    except (KeyError, TypeError, ValueError):
        raise CalendarError(
            gettext_lazy("%(value)s is not a complaint tier; use one of %(known)s."),
            code="invalid_tier",
            params={
                "value": repr(tier),
                "known": ", ".join(f"{t.value} ({t.label})" for t in Complaint.Tier),
            },
        ) from None
    return calendar_for(branch).add_working_days(start, days)


def local_label(at: dt.datetime | None, calendar: WorkingCalendar) -> str:
    """``2026-03-27 15:30 WIB``: an instant as the office reads it."""
    if at is None:
        return "—"
    zone = calendar.tz.key
    return f"{at.astimezone(calendar.tz):%Y-%m-%d %H:%M} {ZONE_LABELS.get(zone, zone)}"


# --- evaluation: facts + now -> state -----------------------------------------------------------


def _snapshot(pst: PSTTicket) -> tuple[Any, ...]:
    return tuple(
        getattr(pst, "sla_policy_id" if name == "sla_policy" else name) for name in CLOCK_FIELDS
    )


def _changed(pst: PSTTicket, before: tuple[Any, ...]) -> list[str]:
    after = _snapshot(pst)
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


def _evaluate_online(
    pst: PSTTicket, now: dt.datetime, policy: SLAPolicy | None, calendar: WorkingCalendar
) -> None:
    complaint = _complaint_of(pst)
    if complaint is not None:  # a complaint filed online runs on the complaint clock
        _evaluate_complaint(pst, now, complaint, calendar)
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


# --- complaints --------------------------------------------------------------------------------


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


def _evaluate_complaint(
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


def _queue_finishes(
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


def _evaluate(
    pst: PSTTicket,
    now: dt.datetime,
    policies: PolicyTable,
    finishes: dict[tuple[int, int, dt.date], list[tuple[int, dt.datetime]]] | None = None,
) -> list[str]:
    """Bring ``pst``'s clock up to date in memory; the names of the fields that changed."""
    before = _snapshot(pst)
    complaint = _complaint_of(pst)
    if complaint is not None:
        _evaluate_complaint(pst, now, complaint, calendar_for(pst.branch))
    elif pst.channel.online:
        _evaluate_online(pst, now, policies.for_ticket(pst), calendar_for(pst.branch))
    else:
        visit = _visit_of(pst)
        desk_free = None
        if visit is not None:
            if finishes is None:
                finishes = _queue_finishes([visit])
            queue = finishes.get((visit.branch_id, visit.service_id, visit.service_day), [])
            desk_free = _desk_free_at(visit, queue)
        _evaluate_walkin(pst, policies.for_ticket(pst), visit, desk_free)
    return _changed(pst, before)


def _visit_of(pst: PSTTicket) -> Visit | None:
    try:
        return pst.visit
    except Visit.DoesNotExist:
        return None


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return timezone.now()
    if timezone.is_naive(now):
        raise CalendarError(
            gettext_lazy("%(name)s %(value)s has no timezone; pass an aware datetime."),
            code="naive_datetime",
            params={"name": "now", "value": now.isoformat()},
        )
    return now


def recompute(pst_ticket: PSTTicket, now: dt.datetime | None = None) -> list[str]:
    """Re-evaluate one ticket's clock from its facts and save what changed (its field names)."""
    changed = _evaluate(pst_ticket, _now(now), PolicyTable.load())
    if changed:
        pst_ticket.save(update_fields=changed)
    return changed


def evaluated_now(pst: PSTTicket, now: dt.datetime | None = None) -> PSTTicket:
    """``pst`` with its clock brought up to ``now`` in memory, exactly as the next ``pst_sla_tick``
    will store it; nothing is saved. A page that shows one ticket (its panel) shows this, so what
    it says about the clock agrees with the visit's own times even before cron has run (a call
    synced a minute ago is a met clock, not an overdue one). A clock that cannot be evaluated is
    shown as stored (the tick logs it)."""
    if pst.sla_state in FINAL_STATES:
        return pst
    before = _snapshot(pst)
    try:
        _evaluate(pst, _now(now), PolicyTable.load())
    except Exception as exc:
        _restore(pst, before)
        logger.warning("ticket #%s: clock shown as stored: %s", pst.ticket_id, exc)
    return pst


def walkin_visits_changed(visit_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Evaluate the walk-in clocks of these visits now (the intake may call this after commit;
    ``pst_sla_tick`` does the same for every visit whose clock is still open). Returns the number
    of tickets whose clock changed."""
    psts = list(
        PSTTicket.objects.filter(visit__pk__in=list(visit_ids)).select_related(
            "channel", "branch", "visit", "sla_policy", "ticket"
        )
    )
    return _save_evaluated(psts, _now(now), PolicyTable.load())


def recompute_all(
    now: dt.datetime | None = None, queryset: Any = None, report: TickReport | None = None
) -> int:
    """Re-evaluate the clocks of ``queryset`` (default: every PST ticket) in batches; the number
    whose clock changed. Final clocks (met, breached) stay as they are. With ``report``, a ticket
    that fails is counted there and the others are still done."""
    now = _now(now)
    policies = PolicyTable.load()
    rows = PSTTicket.objects.all() if queryset is None else queryset
    changed = 0
    for chunk in _chunks(_clocks_to_evaluate(rows), pst_settings.SLA_TICK_BATCH_SIZE):
        changed += _save_evaluated(chunk, now, policies, report)
    return changed


def _save_evaluated(
    psts: list[PSTTicket],
    now: dt.datetime,
    policies: PolicyTable,
    report: TickReport | None = None,
) -> int:
    """Evaluate ``psts`` and write the clocks that changed; the number written.

    With a ``report`` (the tick, ``recompute_all``) a ticket that cannot be evaluated or saved is
    logged with its id and reason, counted in ``report.errors`` and left as it was; the others
    are still done. Without one the error is raised (a caller acting on its own tickets)."""
    walkins = [v for v in (_visit_of(p) for p in psts if not p.channel.online) if v is not None]
    finishes = _queue_finishes(walkins) if walkins else {}
    preload_complaints(psts)
    changed_rows: list[PSTTicket] = []
    changed_fields: set[str] = set()
    for pst in psts:
        before = _snapshot(pst)
        try:
            changed = _evaluate(pst, now, policies, finishes)
        except Exception as exc:
            if report is None:
                raise
            _restore(pst, before)
            report.failed(pst, exc)
            continue
        if changed:
            changed_rows.append(pst)
            changed_fields.update(changed)
    if not changed_rows:
        return 0
    try:
        _write_clocks(changed_rows, sorted(changed_fields))
    except Exception:
        if report is None:
            raise
        # One row the database refuses must not lose the others: write them one by one.
        written = 0
        for pst in changed_rows:
            try:
                _write_clocks([pst], sorted(changed_fields))
                written += 1
            except Exception as exc:
                report.failed(pst, exc)
        return written
    return len(changed_rows)


def _restore(pst: PSTTicket, before: tuple[Any, ...]) -> None:
    for name, value in zip(CLOCK_FIELDS, before, strict=True):
        setattr(pst, "sla_policy_id" if name == "sla_policy" else name, value)


def _write_clocks(rows: Sequence[PSTTicket], names: Sequence[str]) -> None:
    """Save ``names`` of ``rows``: one parameterised UPDATE run with ``executemany``.

    Why not ``bulk_update``: its ``CASE WHEN`` per field and row costs milliseconds per row at
    tick sizes; the same values through each field's ``get_db_prep_save`` in one prepared
    statement cost microseconds. Like ``bulk_update`` it sends no signals.
    """
    meta = PSTTicket._meta
    fields = [meta.get_field(name) for name in names]
    connection = connections[router.db_for_write(PSTTicket)]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    statement = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 - identifiers from meta
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk]
        for row in rows
    ]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.executemany(statement, params)


# --- facts from staff and visitors --------------------------------------------------------------


def _locked(pst_ticket: PSTTicket) -> PSTTicket:
    return (
        PSTTicket.objects.select_for_update(of=("self",))
        .select_related("channel", "branch", "ticket", "ticket__queue", "sla_policy")
        .get(pk=pst_ticket.pk)
    )


@contextlib.contextmanager
def _as_own_update() -> Iterator[None]:
    token = _own_update.set(True)
    try:
        yield
    finally:
        _own_update.reset(token)


def _followup(
    ticket: Ticket,
    user: Any,
    *,
    title: str,
    comment: str,
    public: bool,
    **changes: Any,
) -> FollowUp:
    """A follow-up through helpdesk's own ``update_ticket`` (history, notifications, signal).

    ``update_ticket`` gives a resolved ticket the comment of any follow-up as its resolution (its
    status is re-applied); a note from us must not replace the staff's resolution, so it is kept.
    """
    resolution = ticket.resolution
    with _as_own_update():
        followup = update_ticket(
            user if user is not None else AnonymousUser(),
            ticket,
            comment=comment,
            public=public,
            **changes,
        )
    # update_ticket's ``title`` renames the *ticket*; the follow-up's own title says what happened.
    FollowUp.objects.filter(pk=followup.pk).update(title=title[:200])
    followup.title = title[:200]
    if "new_status" not in changes and ticket.resolution != resolution:
        ticket.resolution = resolution
        Ticket.objects.filter(pk=ticket.pk).update(resolution=resolution)
    return followup


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


def _stop(pst: PSTTicket, at: dt.datetime, calendar: WorkingCalendar) -> None:
    """Record that the clock stopped at ``at`` (a pause in progress ends there too)."""
    if pst.sla_stopped_at is not None:
        return
    if pst.sla_paused_since is not None:
        if at > pst.sla_paused_since:
            worked = calendar.working_time_between(pst.sla_paused_since, at)
            pst.sla_paused_seconds += _seconds(worked)
        pst.sla_paused_since = None
    pst.sla_stopped_at = at


def mark_request_complete(
    pst_ticket: PSTTicket, *, user: Any, at: dt.datetime | None = None
) -> FollowUp:
    """Staff say the request is clear and its requirements complete: the online clock starts.

    Records a private follow-up (through ``update_ticket``) with the due time. A visitor the
    ticket was waiting for is no longer waited for (their part is done).
    """
    at = _now(at)
    with transaction.atomic():
        pst = _locked(pst_ticket)
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
        before = _snapshot(pst)
        pst.complete_at = at
        pst.sla_started_at = at
        pst.waiting_for_visitor_since = None
        pst.sla_paused_since = None
        _evaluate_online(pst, at, PolicyTable.load().for_ticket(pst), calendar)
        pst.save(update_fields=_changed(pst, before))
        with translation.override(_ticket_language(pst.ticket)):
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
            followup = _followup(
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
    at = _now(at)
    comment = (comment or "").strip()
    with transaction.atomic():
        pst = _locked(pst_ticket)
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
        before = _snapshot(pst)
        # The 7-day close counts from the last message the visitor has not answered.
        pst.waiting_for_visitor_since = at
        if pst.sla_state in (SLAState.RUNNING, SLAState.AT_RISK) and pst.sla_paused_since is None:
            pst.sla_paused_since = at
        _evaluate_online(pst, at, PolicyTable.load().for_ticket(pst), calendar_for(pst.branch))
        pst.save(update_fields=_changed(pst, before))
        with translation.override(_ticket_language(pst.ticket)):
            followup = _followup(
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
    at = _now(at)
    with transaction.atomic():
        pst = _locked(pst_ticket)
        if pst.waiting_for_visitor_since is None and pst.sla_paused_since is None:
            if user is not None:
                raise SLAActionError(
                    _("Ticket #%(ticket)s is not waiting for the visitor."),
                    code="not_waiting",
                    params={"ticket": pst.ticket_id},
                )
            return None
        calendar = calendar_for(pst.branch)
        before = _snapshot(pst)
        _end_pause(pst, at, calendar)
        if pst.channel.online:
            _evaluate_online(pst, at, PolicyTable.load().for_ticket(pst), calendar)
        pst.save(update_fields=_changed(pst, before))
        followup = None
        if user is not None:
            with translation.override(_ticket_language(pst.ticket)):
                followup = _followup(
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


def _end_pause(pst: PSTTicket, at: dt.datetime, calendar: WorkingCalendar) -> None:
    pst.waiting_for_visitor_since = None
    if pst.sla_paused_since is not None:
        if at > pst.sla_paused_since:
            worked = calendar.working_time_between(pst.sla_paused_since, at)
            pst.sla_paused_seconds += _seconds(worked)
        pst.sla_paused_since = None


def _copy_clock(source: PSTTicket, target: PSTTicket) -> None:
    """The caller's instance sees the saved clock."""
    if source is target:
        return
    for name in CLOCK_FIELDS:
        attname = "sla_policy_id" if name == "sla_policy" else name
        setattr(target, attname, getattr(source, attname))


def _ticket_language(ticket: Ticket) -> str:
    """The language of messages on a ticket: its queue's locale, else Indonesian (PST's public)."""
    locale = (getattr(ticket.queue, "locale", "") or "").strip()
    return locale.split("-")[0].split("_")[0] if locale else "id"


# --- receivers' work ----------------------------------------------------------------------------


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
        pst = _locked(pst_ticket)
        created = pst.ticket.created
        if pst.sla_stopped_at is not None or pst.sla_started_at != created:
            return  # stopped already, or started by staff: their word stands
        before = _snapshot(pst)
        pst.complete_at = pst.sla_started_at = pst.sla_at_risk_at = None
        _evaluate_online(
            pst, timezone.now(), PolicyTable.load().for_ticket(pst), calendar_for(pst.branch)
        )
        pst.save(update_fields=_changed(pst, before))
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
    from pst_helpdesk_ext.services.intake import INTAKE_SENDER

    if _own_update.get() or sender == INTAKE_SENDER:
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
            locked = _locked(pst)
            before = _snapshot(locked)
            _evaluate_complaint(
                locked, followup.date, _complaint_of(locked), calendar_for(locked.branch)
            )
            changed = _changed(locked, before)
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
        pst = _locked(pst)
        calendar = calendar_for(pst.branch)
        before = _snapshot(pst)
        if staff_answer and pst.sla_stopped_at is None:
            if pst.sla_started_at is None and pst.complete_at is None:
                # Answered before anyone marked it complete: it was clear enough to answer.
                pst.complete_at = at
            _stop(pst, at, calendar)
        elif ended:
            _stop(pst, at, calendar)
        if staff_answer and not ended:
            pst.waiting_for_visitor_since = at
        _evaluate_online(pst, at, PolicyTable.load().for_ticket(pst), calendar)
        changed = _changed(pst, before)
        if changed:
            pst.save(update_fields=changed)


# --- the tick -----------------------------------------------------------------------------------


@dataclass
class TickReport:
    """What one ``tick`` did (the command prints it)."""

    now: dt.datetime
    evaluated: int = 0
    changed: int = 0
    stopped_without_signal: int = 0
    breaches_noted: int = 0
    breaches_too_old: int = 0
    escalated: int = 0
    closed: int = 0
    errors: list[str] = field(default_factory=list)

    def failed(self, pst: PSTTicket, exc: BaseException) -> None:
        """One ticket could not be processed: log its id and the reason, count it, go on."""
        reason = f"{type(exc).__name__}: {exc}"
        logger.error("SLA tick: ticket #%s skipped: %s", pst.ticket_id, reason, exc_info=exc)
        self.errors.append(f"#{pst.ticket_id}: {reason}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "evaluated": self.evaluated,
            "changed": self.changed,
            "stopped_without_signal": self.stopped_without_signal,
            "breaches_noted": self.breaches_noted,
            "breaches_too_old": self.breaches_too_old,
            "escalated": self.escalated,
            "closed": self.closed,
            "errors": len(self.errors),
        }


def _tick_psts(queryset: Any) -> Any:
    return queryset.select_related(
        "channel", "branch", "ticket", "ticket__queue", "sla_policy", "visit"
    ).order_by("pk")


def _clocks_to_evaluate(queryset: Any) -> Any:
    """Only what evaluation reads (channel, branch, the walk-in visit): a tick over thousands of
    clocks builds four model instances per row instead of seven. The ticket itself is read
    only for a clock starting at submission, once."""
    return queryset.select_related("channel", "branch", "visit").order_by("pk")


def tick(now: dt.datetime | None = None, *, batch_size: int | None = None) -> TickReport:
    """One cron run: evaluate every open clock at ``now``, note breaches in the ticket history
    (escalating by one priority step where the policy says so), close online conversations whose
    visitor has not answered for the policy's days. Running it twice at the same ``now`` changes
    nothing the second time."""
    now = _now(now)
    report = TickReport(now=now)
    policies = PolicyTable.load()
    size = batch_size or pst_settings.SLA_TICK_BATCH_SIZE
    _stop_unsignalled(now, policies, report)
    open_clocks = PSTTicket.objects.filter(
        Q(sla_state__in=OPEN_CLOCK_STATES)
        | Q(sla_state=SLAState.PENDING, channel__online=False)
        | Q(sla_state=SLAState.PENDING, sla_started_at__isnull=True, complete_at__isnull=False)
        | Q(sla_state=SLAState.PENDING, ticket__pst_complaint__isnull=False)
    )
    for chunk in _chunks(_clocks_to_evaluate(open_clocks), size):
        report.evaluated += len(chunk)
        report.changed += _save_evaluated(chunk, now, policies, report)
    unnoted = PSTTicket.objects.filter(
        sla_state=SLAState.BREACHED, sla_breach_noted_at__isnull=True
    )
    # A breach found long after it happened (old visits synced late, or `--recompute` on a site's
    # history) is kept on the ticket, not written into old tickets' history and mailed around.
    old = now - dt.timedelta(days=pst_settings.SLA_BREACH_NOTE_MAX_AGE_DAYS)
    report.breaches_too_old = unnoted.filter(sla_breached_at__lt=old).update(
        sla_breach_noted_at=now
    )
    for pst in _tick_psts(unnoted).iterator(chunk_size=size):
        _guarded(report, pst, lambda p=pst: _note_breach(p, now, report))
    days = policies.min_inactivity_days
    if days:
        idle = PSTTicket.objects.filter(
            channel__online=True,
            waiting_for_visitor_since__lte=now - dt.timedelta(days=days),
            ticket__status__in=Ticket.OPEN_STATUSES,
        )
        for pst in _tick_psts(idle).iterator(chunk_size=size):
            _guarded(report, pst, lambda p=pst: _close_inactive(p, now, policies, report))
    return report


def _chunks(queryset: Any, size: int) -> Iterator[list[PSTTicket]]:
    chunk: list[PSTTicket] = []
    for pst in queryset.iterator(chunk_size=size):
        chunk.append(pst)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _guarded(report: TickReport, pst: PSTTicket, action: Any) -> None:
    """One ticket's failure is logged and counted, and does not stop the others (its own
    changes are rolled back: the action runs in a savepoint)."""
    try:
        with transaction.atomic():
            action()
    except Exception as exc:  # one bad ticket must not stop the tick
        report.failed(pst, exc)


def _stop_unsignalled(now: dt.datetime, policies: PolicyTable, report: TickReport) -> None:
    """Tickets resolved or closed by a path that sends no helpdesk signal (helpdesk's API PATCH,
    kanban): their clock stops at the follow-up that set the status, else the last change."""
    rows = (
        PSTTicket.objects.filter(
            Q(channel__online=True) | Q(ticket__pst_complaint__isnull=False),
            sla_stopped_at__isnull=True,
            ticket__status__in=STOP_STATUSES,
        )
        .exclude(sla_state__in=(SLAState.MET, SLAState.NONE))
        .distinct()
    )
    for pst in _tick_psts(rows):
        _guarded(report, pst, lambda p=pst: _stop_one_unsignalled(p, now, policies, report))


def _stop_one_unsignalled(
    pst: PSTTicket, now: dt.datetime, policies: PolicyTable, report: TickReport
) -> None:
    at = (
        FollowUp.objects.filter(ticket_id=pst.ticket_id, new_status__in=STOP_STATUSES)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    ) or pst.ticket.modified
    at = min(at, now)
    locked = _locked(pst)
    if locked.sla_stopped_at is not None:
        return
    calendar = calendar_for(locked.branch)
    before = _snapshot(locked)
    _stop(locked, at, calendar)
    _evaluate_online(locked, now, policies.for_ticket(locked), calendar)
    locked.save(update_fields=_changed(locked, before))
    report.stopped_without_signal += 1


def _note_breach(pst: PSTTicket, now: dt.datetime, report: TickReport) -> None:
    """Write the breach into the ticket's history once; escalate an open ticket when its policy
    says so (one priority step, as helpdesk's escalate_tickets does, through update_ticket)."""
    with transaction.atomic():
        pst = _locked(pst)
        if pst.sla_breach_noted_at is not None or pst.sla_state != SLAState.BREACHED:
            return
        ticket = pst.ticket
        calendar = calendar_for(pst.branch)
        policy = pst.sla_policy
        escalate = (
            policy is not None
            and policy.escalate
            and pst.channel.online
            and pst.sla_stopped_at is None  # answered late: nothing left to hurry
            and ticket.status in Ticket.OPEN_STATUSES
            and pst.sla_escalated_at is None
            and ticket.priority > 1
        )
        with translation.override(_ticket_language(ticket)):
            comment = _breach_comment(pst, calendar)
            if escalate:
                comment += " " + _("Priority raised from %(old)s to %(new)s.") % {
                    "old": ticket.get_priority_display(),
                    "new": dict(Ticket.PRIORITY_CHOICES).get(ticket.priority - 1),
                }
            changes: dict[str, Any] = {"priority": ticket.priority - 1} if escalate else {}
            _followup(
                ticket,
                None,
                title=_("Service standard breached"),
                comment=comment,
                public=False,
                **changes,
            )
        pst.sla_breach_noted_at = now
        fields = ["sla_breach_noted_at"]
        if escalate:
            pst.sla_escalated_at = now
            fields.append("sla_escalated_at")
            Ticket.objects.filter(pk=ticket.pk).update(last_escalation=now)
            report.escalated += 1
        pst.save(update_fields=fields)
        report.breaches_noted += 1


def _breach_comment(pst: PSTTicket, calendar: WorkingCalendar) -> str:
    policy = pst.sla_policy
    complaint = _complaint_of(pst)
    if complaint is not None:
        facts = complaint_facts(pst, complaint, pst.sla_breached_at or timezone.now(), calendar)
        if pst.sla_breached_at == facts.respond_due and facts.respond_due < facts.settle_due:
            return _(
                "Complaint standard breached: no answer to the complainant by %(due)s "
                "(standard: first answer within %(days)s working days)."
            ) % {
                "due": local_label(facts.respond_due, calendar),
                "days": pst_settings.COMPLAINT_FIRST_RESPONSE_DAYS,
            }
        return _("Complaint standard breached: not settled by %(due)s (%(tier)s).") % {
            "due": local_label(facts.settle_due, calendar),
            "tier": complaint.get_tier_display(),
        }
    if not pst.channel.online:
        waited = (pst.sla_elapsed_seconds or 0) // 60
        return _(
            "Walk-in standard breached: the visitor was called %(waited)s minutes after the desk "
            "became free (standard: %(target)s minutes)."
        ) % {"waited": waited, "target": policy.target if policy else "?"}
    if pst.sla_stopped_at is not None:
        return _(
            "Service standard breached: answered %(at)s, due %(due)s (standard: %(days)s working "
            "days from the complete request)."
        ) % {
            "at": local_label(pst.sla_stopped_at, calendar),
            "due": local_label(pst.sla_due_at, calendar),
            "days": policy.target if policy else "?",
        }
    return _(
        "Service standard breached: no answer yet, due %(due)s (standard: %(days)s working days "
        "from the complete request)."
    ) % {"due": local_label(pst.sla_due_at, calendar), "days": policy.target if policy else "?"}


def _close_inactive(
    pst: PSTTicket, now: dt.datetime, policies: PolicyTable, report: TickReport
) -> None:
    """Close an online conversation whose visitor has not answered for the policy's days, with a
    public follow-up telling them why and that a reply reopens it (helpdesk e-mails it)."""
    with transaction.atomic():
        pst = _locked(pst)
        policy = policies.for_ticket(pst)
        days = policy.inactivity_close_days if policy else pst_settings.SLA_INACTIVITY_CLOSE_DAYS
        since = pst.waiting_for_visitor_since
        if (
            not days
            or since is None
            or since > now - dt.timedelta(days=days)
            or pst.ticket.status not in Ticket.OPEN_STATUSES
        ):
            return
        calendar = calendar_for(pst.branch)
        with translation.override(_ticket_language(pst.ticket)):
            _followup(
                pst.ticket,
                None,
                title=_("Closed: no answer from the visitor"),
                comment=_(
                    "We are closing this conversation because we have not received your answer "
                    "for %(days)s days (since %(since)s). If you still need help, just reply to "
                    "this message: your reply reopens the request."
                )
                % {"days": days, "since": local_label(since, calendar)},
                public=True,
                new_status=Ticket.CLOSED_STATUS,
            )
        before = _snapshot(pst)
        pst.waiting_for_visitor_since = None
        if pst.sla_started_at is not None or pst.sla_state == SLAState.PENDING:
            _stop(pst, now, calendar)
        _evaluate_online(pst, now, policy, calendar)
        pst.save(update_fields=_changed(pst, before))
        report.closed += 1
