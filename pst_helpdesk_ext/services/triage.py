"""Triage of open PST tickets against their service clocks, for provincial staff.

What this module owns: which tickets the triage page lists and in what order, the counts per
clock state, the time left on each listed clock, the walk-in wait picture per branch and day, and
the per-ticket SLA timeline. It reads the clock fields that ``services/sla.py`` keeps current and
never writes them.

Rules:
- Every list starts from ``services.queries`` (``pst_tickets_for``, ``branches_for``), so
  helpdesk's per-queue permissions apply exactly as on the other PST pages; the wait picture is
  an aggregate per branch over the branches the user may open (see ``wait_picture``).
- "Open" is helpdesk's own notion: the ticket's status is in ``TICKET_OPEN_STATUSES``.
- A page costs a fixed number of queries whatever the number of tickets: one aggregate for the
  counts per state (the page's total is their sum, so the paginator never counts again), one
  that orders the open tickets' ids and cuts the page, one for those rows with every relation
  joined, one for the wait picture. Nothing per row.
- Order (the "time left" order): clocks already past their due time first (breached, or running
  and not yet marked by ``pst_sla_tick``), then running and at-risk clocks by due time, then
  paused ones, clocks not started, met, and tickets without a standard; ties by due time, then
  ticket number. Due times are absolute, so this is the order in which deadlines fall.
- Time left is *working* time on the branch's calendar for online standards and complaints
  (they are counted in working days) and plain time for walk-in standards (minutes of waiting).
- Wait picture percentiles use the nearest-rank method on the measured waits of called visitors
  (``Visit.wait_seconds``; the branch measures them as durations, so branch clock errors do not
  enter): median = value at rank ceil(n/2), p90 = value at rank ceil(0.9 n).
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _
from helpdesk import settings as helpdesk_settings

from pst_helpdesk_ext.calendar import WorkingCalendar
from pst_helpdesk_ext.models import (
    Branch,
    Channel,
    PSTTicket,
    ServiceCategory,
    SLAState,
    Visit,
)
from pst_helpdesk_ext.services.queries import (
    WALK_IN_WAIT_STANDARD,
    TicketFilters,
    filter_pst_tickets,
    pst_tickets_for,
)
from pst_helpdesk_ext.services.sla import calendar_for, complaint_facts, complaint_of, is_complaint

User = Any

TRIAGE_PAGE_SIZE = 25
#: The longest period the wait picture shows at once (a month, printable on one page).
WAIT_PICTURE_MAX_DAYS = 31
WAIT_PICTURE_DEFAULT_DAYS = 7

#: States in the order the page shows their counts (most urgent first).
STATE_ORDER: tuple[str, ...] = (
    SLAState.BREACHED,
    SLAState.AT_RISK,
    SLAState.RUNNING,
    SLAState.PAUSED,
    SLAState.PENDING,
    SLAState.MET,
    SLAState.NONE,
)
RUNNING_STATES = (SLAState.RUNNING, SLAState.AT_RISK)


def open_statuses() -> tuple[int, ...]:
    """helpdesk's open statuses, read when asked (a site may set its own)."""
    return tuple(int(s) for s in helpdesk_settings.TICKET_OPEN_STATUSES)


@dataclass(frozen=True)
class TriageFilters:
    """Validated filters of the triage page (built by its form)."""

    branch: Branch | None = None
    channel: Channel | None = None
    category: ServiceCategory | None = None
    states: tuple[str, ...] = ()
    wait_from: datetime.date | None = None
    wait_to: datetime.date | None = None

    def ticket_filters(self) -> TicketFilters:
        return TicketFilters(branch=self.branch, channel=self.channel, category=self.category)


def open_pst_tickets(user: User, filters: TriageFilters) -> QuerySet[PSTTicket]:
    """Open PST tickets the user may see, narrowed by every filter except the state."""
    tickets = pst_tickets_for(user).filter(ticket__status__in=open_statuses())
    return filter_pst_tickets(tickets, filters.ticket_filters()).select_related("sla_policy")


def state_counts(tickets: QuerySet[PSTTicket]) -> dict[str, int]:
    """Tickets per clock state, every state present (zero when none): one aggregate query.

    One row of conditional counts rather than a GROUP BY: grouping by state invites SQLite to
    walk the (state, due) index and look every ticket up at random, which at 100,000 tickets
    is several times slower than the scan this query gets.
    """
    counts = tickets.order_by().aggregate(
        **{state: Count("pk", filter=Q(sla_state=state)) for state in STATE_ORDER}
    )
    return {state: int(counts[state] or 0) for state in STATE_ORDER}


def urgency_rank(now: datetime.datetime) -> Case:
    """The first sort key of the triage order (see the module rules)."""
    return Case(
        When(sla_state=SLAState.BREACHED, then=Value(0)),
        When(sla_state__in=RUNNING_STATES, sla_due_at__lt=now, then=Value(0)),
        When(sla_state__in=RUNNING_STATES, then=Value(1)),
        When(sla_state=SLAState.PAUSED, then=Value(2)),
        When(sla_state=SLAState.PENDING, then=Value(3)),
        When(sla_state=SLAState.MET, then=Value(4)),
        default=Value(5),
        output_field=IntegerField(),
    )


def by_time_left(tickets: QuerySet[PSTTicket], now: datetime.datetime) -> QuerySet[PSTTicket]:
    return tickets.annotate(triage_rank=urgency_rank(now)).order_by(
        "triage_rank", F("sla_due_at").asc(nulls_last=True), "ticket_id"
    )


def rows_in_order(user: User, ids: Sequence[int]) -> list[PSTTicket]:
    """The page's tickets with every relation joined, in the order of ``ids``.

    Why two steps: ordering the open tickets is a sort of all of them (tens of thousands at
    100,000 tickets). Sorting only their ids and due times, then joining the relations for the
    25 chosen, keeps that sort narrow; joining first made the database carry every joined row
    through the sort. The permission rule is applied again here, as everywhere.
    """
    if not ids:
        return []
    # ``ticket__pst_complaint``: which rows are complaints (working-day clocks), in the same query.
    rows = pst_tickets_for(user).filter(pk__in=list(ids))
    by_id = {pst.pk: pst for pst in rows.select_related("sla_policy", "ticket__pst_complaint")}
    return [by_id[pk] for pk in ids if pk in by_id]


class CountedPaginator(Paginator):
    """A paginator told its total (the sum of the state counts) instead of counting again."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


# --- time left ---------------------------------------------------------------------------------


def calendar_of(pst: PSTTicket) -> WorkingCalendar:
    """The calendar the ticket's clock runs on, exactly as ``services.sla`` chooses it."""
    return calendar_for(pst.branch)


def counts_working_time(pst: PSTTicket) -> bool:
    """Online standards count working time; walk-in standards count minutes of waiting."""
    policy = pst.sla_policy
    if policy is not None:
        return policy.kind != "walk_in"
    if is_complaint(pst):  # complaint deadlines are working days, whatever the channel
        return True
    return bool(pst.channel.online)


def time_left(pst: PSTTicket, now: datetime.datetime) -> datetime.timedelta | None:
    """Time left on the clock (negative when overdue); None when no deadline applies now.

    A paused clock's time left is frozen at the moment it paused: the pause moves the deadline
    later by as much working time as it lasts.
    """
    if pst.sla_due_at is None or pst.sla_state not in (*RUNNING_STATES, SLAState.PAUSED):
        if pst.sla_state == SLAState.BREACHED and pst.sla_due_at is not None:
            # Late by as much as the clock ran past its due time: up to its stop (the call, the
            # answer), or up to now while it still runs.
            return -_between(pst, pst.sla_due_at, pst.sla_stopped_at or now)
        return None
    at = pst.sla_paused_since if pst.sla_state == SLAState.PAUSED and pst.sla_paused_since else now
    return _between(pst, at, pst.sla_due_at)


def _between(pst: PSTTicket, a: datetime.datetime, b: datetime.datetime) -> datetime.timedelta:
    if counts_working_time(pst):
        return calendar_of(pst).working_time_between(a, b)
    return b - a


@dataclass(frozen=True)
class TriageRow:
    pst: PSTTicket
    time_left: datetime.timedelta | None
    overdue: bool
    timezone: str

    @property
    def working_time(self) -> bool:
        return counts_working_time(self.pst)


def is_overdue(pst: PSTTicket, now: datetime.datetime) -> bool:
    """Breached, or running past its due time and not yet marked by ``pst_sla_tick``."""
    if pst.sla_state == SLAState.BREACHED:
        return True
    return pst.sla_state in RUNNING_STATES and pst.sla_due_at is not None and pst.sla_due_at < now


def triage_rows(tickets: Iterable[PSTTicket], now: datetime.datetime) -> list[TriageRow]:
    return [
        TriageRow(
            pst=pst,
            time_left=time_left(pst, now),
            overdue=is_overdue(pst, now),
            timezone=pst.branch.timezone if pst.branch is not None else "",
        )
        for pst in tickets
    ]


def state_choices() -> list[tuple[str, str]]:
    labels = dict(SLAState.choices)
    return [(state, labels[state]) for state in STATE_ORDER]


# --- the walk-in wait picture ---------------------------------------------------------------------


@dataclass(frozen=True)
class WaitStats:
    """The waits of one branch on one day (or over the period)."""

    visits: int
    median: int
    p90: int
    longest: int
    within: int  # waits within the standard

    @property
    def within_share(self) -> float:
        return self.within / self.visits if self.visits else 0.0

    @property
    def within_percent(self) -> int:
        return round(100 * self.within_share)


def nearest_rank(sorted_values: Sequence[int], fraction: float) -> int:
    """The nearest-rank percentile of sorted values (rank ceil(fraction * n), 1-based)."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def wait_stats(waits: Sequence[int], standard_seconds: int) -> WaitStats:
    ordered = sorted(waits)
    return WaitStats(
        visits=len(ordered),
        median=nearest_rank(ordered, 0.5),
        p90=nearest_rank(ordered, 0.9),
        longest=ordered[-1],
        within=sum(1 for w in ordered if w <= standard_seconds),
    )


@dataclass
class BranchWaits:
    branch: Branch
    days: list[WaitStats | None] = field(default_factory=list)
    period: WaitStats | None = None


@dataclass
class WaitPicture:
    days: list[datetime.date]
    rows: list[BranchWaits]
    standard_seconds: int
    #: The right end of the bars' scale: the period's longest p90, at least twice the standard.
    scale_seconds: int

    @property
    def visits(self) -> int:
        return sum(row.period.visits for row in self.rows if row.period)


def default_wait_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    return today - datetime.timedelta(days=WAIT_PICTURE_DEFAULT_DAYS - 1), today


def wait_picture(
    branches: Sequence[Branch],
    filters: TriageFilters,
    day_from: datetime.date,
    day_to: datetime.date,
) -> WaitPicture:
    """Waits of called walk-in visitors per branch (rows) and service day (columns), one query.

    ``branches`` must be ``branches_for(user)`` (the page has them for its filter): the picture
    is a per-branch aggregate, so it counts every called visitor of the branches whose queue the
    user may open (helpdesk's ``can_access_queue``), and nothing of any other branch. It reads
    only the visit table through its (branch, day) index; joining each visit's ticket for the
    ticket-level rule made it read thousands of tickets for a week of a province. A branch filter
    narrows the rows to it; the category filter applies to the visit's service or the ticket's
    consultation subject, as on the ticket lists.
    """
    standard = int(WALK_IN_WAIT_STANDARD.total_seconds())
    if filters.branch is not None:
        branches = [b for b in branches if b.pk == filters.branch.pk]
    visits: QuerySet[Visit] = Visit.objects.filter(
        branch__in=[b.pk for b in branches],
        service_day__gte=day_from,
        service_day__lte=day_to,
        wait_seconds__isnull=False,
    )
    if filters.category is not None:
        visits = visits.filter(
            Q(service=filters.category) | Q(pst_ticket__subject=filters.category)
        )
    per_day: dict[tuple[int, datetime.date], list[int]] = defaultdict(list)
    per_branch: dict[int, list[int]] = defaultdict(list)
    for branch_id, day, wait in visits.order_by().values_list(
        "branch_id", "service_day", "wait_seconds"
    ):
        per_day[branch_id, day].append(wait)
        per_branch[branch_id].append(wait)
    days = [day_from + datetime.timedelta(days=n) for n in range((day_to - day_from).days + 1)]
    rows = []
    for branch in branches:
        row = BranchWaits(branch=branch)
        for day in days:
            waits = per_day.get((branch.pk, day))
            row.days.append(wait_stats(waits, standard) if waits else None)
        if per_branch.get(branch.pk):
            row.period = wait_stats(per_branch[branch.pk], standard)
        rows.append(row)
    p90s = [row.period.p90 for row in rows if row.period] + [
        cell.p90 for row in rows for cell in row.days if cell
    ]
    scale = max([2 * standard, *p90s])
    return WaitPicture(days=days, rows=rows, standard_seconds=standard, scale_seconds=scale)


# --- the per-ticket SLA timeline ------------------------------------------------------------------


#: Events at the same instant are shown in this order (a breach is noted at the due time).
TIMELINE_KINDS = (
    "received",
    "complete",
    "started",
    "at_risk",
    "waiting",
    "paused",
    "due",
    "breached",
    "escalated",
    "answered",
    "stopped",
)


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime.datetime
    kind: str
    label: Any
    detail: Any = ""


def sla_timeline(pst: PSTTicket, now: datetime.datetime) -> list[TimelineEvent]:
    """What happened to the ticket's clock, in time order (from the clock fields)."""
    events: list[TimelineEvent] = [
        TimelineEvent(pst.ticket.created, "received", _("Request received"))
    ]
    if pst.complete_at:
        events.append(TimelineEvent(pst.complete_at, "complete", _("Request marked complete")))
    if pst.sla_started_at:
        events.append(TimelineEvent(pst.sla_started_at, "started", _("Clock started")))
    if pst.sla_at_risk_at:
        events.append(TimelineEvent(pst.sla_at_risk_at, "at_risk", _("At risk")))
    if pst.sla_paused_since:
        events.append(
            TimelineEvent(pst.sla_paused_since, "paused", _("Paused: waiting for the visitor"))
        )
    waiting = pst.waiting_for_visitor_since
    if waiting and waiting != pst.sla_paused_since:
        events.append(TimelineEvent(waiting, "waiting", _("Waiting for the visitor")))
    if pst.sla_breached_at:
        events.append(TimelineEvent(pst.sla_breached_at, "breached", _("Standard breached")))
    if pst.sla_escalated_at:
        events.append(TimelineEvent(pst.sla_escalated_at, "escalated", _("Escalated")))
    if pst.sla_stopped_at:
        label = (
            _("Clock stopped: standard met")
            if pst.sla_state == SLAState.MET
            else _("Clock stopped")
        )
        events.append(TimelineEvent(pst.sla_stopped_at, "stopped", label))
    complaint = complaint_of(pst)
    if complaint is not None and pst.sla_started_at is not None:
        # A complaint owes two things: the first answer and the settlement (docs/sla.md).
        facts = complaint_facts(pst, complaint, now, calendar_of(pst))
        if facts.responded is not None and facts.responded != facts.settled:
            events.append(TimelineEvent(facts.responded, "answered", _("Complainant answered")))
        events.append(TimelineEvent(facts.respond_due, "due", _("First answer due")))
        events.append(
            TimelineEvent(
                facts.settle_due,
                "due",
                _("Settlement due (%(tier)s)") % {"tier": complaint.get_tier_display()},
            )
        )
    elif pst.sla_due_at and not pst.sla_stopped_at:
        events.append(TimelineEvent(pst.sla_due_at, "due", _("Due")))
    elif pst.sla_due_at:
        events.append(TimelineEvent(pst.sla_due_at, "due", _("Was due")))
    events.sort(key=lambda e: (e.at, TIMELINE_KINDS.index(e.kind)))
    return events
