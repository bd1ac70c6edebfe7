"""SLA compliance: how many clocks met or breached their standard, per branch, channel, service
and period. One aggregate query, whatever the number of tickets (indexes: state and branch,
channel, category with state). Used by ``/api/pst/reports/sla/`` and the report page.

Which tickets count: PST tickets whose clock *started* in the period (whole days in the site's
TIME_ZONE), among those the caller passes (already limited to the queues the user may open).
Rows are split by kind (walk-in / online / complaint): their elapsed times are in different units
(real seconds / working seconds) against different standards, so a mixed average would mean
nothing. A complaint is its own kind whatever its channel (a kiosk complaint is a walk-in-channel
ticket, but runs on the complaint clock, not the 10-minute one). Compliance is
met / (met + breached), None while none ended.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from django.db.models import Avg, Case, CharField, Count, Q, QuerySet, Value, When
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from pst_helpdesk_ext.models import PSTTicket, SLAState

GROUPS: Final = ("branch", "channel", "category", "officer", "day", "week", "month")
#: The column each non-period grouping reads (the officer: the user the ticket is assigned to).
GROUP_COLUMNS: Final = {
    "branch": "branch__code",
    "channel": "channel__code",
    "category": "category__code",
    "officer": "ticket__assigned_to__username",
}
PERIODS: Final = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
OPEN_STATES: Final = (SLAState.RUNNING, SLAState.AT_RISK, SLAState.PAUSED)


def compliance(met: int, breached: int) -> float | None:
    ended = met + breached
    return round(met / ended, 4) if ended else None


def started_between(
    tickets: QuerySet[PSTTicket], start: dt.date, end: dt.date
) -> QuerySet[PSTTicket]:
    """The tickets whose clock started on the days ``start``..``end`` (site time zone)."""
    zone = timezone.get_current_timezone()
    lower = dt.datetime.combine(start, dt.time(), zone)
    upper = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
    return tickets.filter(sla_started_at__gte=lower, sla_started_at__lt=upper)


def with_kind(tickets: QuerySet[PSTTicket]) -> QuerySet[PSTTicket]:
    """Annotate ``sla_kind``: complaint, online or walk_in (see the module's docstring)."""
    return tickets.annotate(
        sla_kind=Case(
            When(ticket__pst_complaint__isnull=False, then=Value("complaint")),
            When(channel__online=True, then=Value("online")),
            default=Value("walk_in"),
            output_field=CharField(),
        )
    )


def breaches(tickets: QuerySet[PSTTicket], start: dt.date, end: dt.date) -> QuerySet[PSTTicket]:
    """The breached clocks that started in the period, latest first, with what a list shows."""
    return (
        with_kind(started_between(tickets, start, end))
        .filter(sla_state=SLAState.BREACHED)
        .select_related("ticket__queue", "ticket__assigned_to", "branch", "channel", "category")
        .order_by("-sla_started_at", "-pk")
    )


def sla_report(
    tickets: QuerySet[PSTTicket], start: dt.date, end: dt.date, groups: list[str]
) -> dict[str, Any]:
    """Compliance of the clocks that started between ``start`` and ``end`` (inclusive)."""
    zone = timezone.get_current_timezone()
    rows = with_kind(started_between(tickets, start, end))
    columns = {"kind": "sla_kind"}
    for group in groups:
        if group in PERIODS:
            rows = rows.annotate(period=PERIODS[group]("sla_started_at", tzinfo=zone))
            columns["period"] = "period"
        else:
            columns[group] = GROUP_COLUMNS[group]
    aggregates = {
        "total": Count("pk"),
        "met": Count("pk", filter=Q(sla_state=SLAState.MET)),
        "breached": Count("pk", filter=Q(sla_state=SLAState.BREACHED)),
        "open": Count("pk", filter=Q(sla_state__in=OPEN_STATES)),
        "avg_elapsed_seconds": Avg(
            "sla_elapsed_seconds", filter=Q(sla_state__in=(SLAState.MET, SLAState.BREACHED))
        ),
    }
    values = list(rows.values(*columns.values()).annotate(**aggregates).order_by(*columns.values()))
    out_rows = []
    totals: dict[str, dict[str, Any]] = {}
    for value in values:
        row = {name: value[column] for name, column in columns.items()}
        if "period" in row and isinstance(row["period"], dt.datetime):
            row["period"] = row["period"].astimezone(zone).date()
        for key in ("total", "met", "breached", "open"):
            row[key] = value[key]
        row["compliance"] = compliance(value["met"], value["breached"])
        avg = value["avg_elapsed_seconds"]
        row["avg_elapsed_seconds"] = round(float(avg), 1) if avg is not None else None
        out_rows.append(row)
        total = totals.setdefault(
            row["kind"],
            {"kind": row["kind"], "total": 0, "met": 0, "breached": 0, "open": 0, "_sum": 0.0},
        )
        for key in ("total", "met", "breached", "open"):
            total[key] += value[key]
        if avg is not None:
            total["_sum"] += float(avg) * (value["met"] + value["breached"])
    total_rows = []
    for kind in sorted(totals):
        total = totals[kind]
        ended = total["met"] + total["breached"]
        total["compliance"] = compliance(total["met"], total["breached"])
        total["avg_elapsed_seconds"] = round(total.pop("_sum") / ended, 1) if ended else None
        total_rows.append(total)
    return {
        "from": start,
        "to": end,
        "group_by": groups,
        "timezone": str(zone),
        "rows": out_rows,
        "totals": total_rows,
    }
