"""SLA policies, calendars and the vocabulary of the clock (docs/sla.md has the rules).

What it owns: which policy applies to a ticket (``PolicyTable``: the most specific active policy
of its kind), the working calendar a clock runs on (``calendar_for``: the branch's, falling back
to the defaults when a stored one no longer validates), complaint deadlines per tier
(``complaint_due_at``), how an instant is shown to the office (``local_label``), and the clock's
constants (stop statuses, open and final states, the stored clock fields). Reads only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Final

from django.utils import timezone
from django.utils.translation import gettext_lazy
from helpdesk.models import Ticket

from pst_helpdesk_ext.calendar import CalendarError, WorkingCalendar
from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.models import (
    Branch,
    Complaint,
    PSTTicket,
    SLAPolicy,
    SLAState,
    Visit,
)

logger = logging.getLogger("pst.sla")


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
            visit = visit_of(pst)
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


def visit_of(pst: PSTTicket) -> Visit | None:
    try:
        return pst.visit
    except Visit.DoesNotExist:
        return None


def checked_now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return timezone.now()
    if timezone.is_naive(now):
        raise CalendarError(
            gettext_lazy("%(name)s %(value)s has no timezone; pass an aware datetime."),
            code="naive_datetime",
            params={"name": "now", "value": now.isoformat()},
        )
    return now
