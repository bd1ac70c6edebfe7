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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, DateField, Q, QuerySet, Sum, Value, When
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


def month_started(start: dt.date, end: dt.date, zone: dt.tzinfo) -> Case:
    """The first day of the month (in ``zone``) in which a clock of ``start``..``end`` started:
    what ``TruncMonth("sla_started_at", tzinfo=zone)`` gives, as comparisons with the months'
    boundaries (at most 37 in a report's three years), which every database makes without
    converting each row's time (SQLite would call Python for each)."""
    whens = []
    month = start.replace(day=1)
    while month <= end:
        following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        upper = dt.datetime.combine(following, dt.time(), zone)
        whens.append(When(sla_started_at__lt=upper, then=Value(month)))
        month = following
    return Case(*whens, default=Value(None), output_field=DateField())


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
    return _report(_counted(tickets, start, end, groups), start, end, groups)


def sla_report_with_trend(
    tickets: QuerySet[PSTTicket], start: dt.date, end: dt.date, groups: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``sla_report(..., groups)`` and ``sla_report(..., ["month"])`` (the trend a page draws)
    from one aggregate query: counted per ``groups`` and month, then added up both ways."""
    counted = _counted(tickets, start, end, groups, per_month=True)
    return (
        _report(counted, start, end, groups),
        _report(counted, start, end, ["month"]),
    )


_KEYS: Final = ("total", "met", "breached", "open", "elapsed_sum", "elapsed_n")


@contextmanager
def _room_to_group() -> Iterator[None]:
    """PostgreSQL estimates the groups of a month expression as the distinct start times it
    reads (about 100,000 clocks at national scale, for a handful of months), so unless the hash of
    that many groups fits in ``work_mem`` it sorts every clock on disk instead (measured: 0.9-1.1 s
    of the SLA page at 100,000 tickets, 0.6-0.8 s with 32 MB). ``SET LOCAL`` gives this
    transaction 32 MB; other databases are left as they are."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '32MB'")
        yield


def _counted(
    tickets: QuerySet[PSTTicket],
    start: dt.date,
    end: dt.date,
    groups: list[str],
    per_month: bool = False,
) -> list[dict[str, Any]]:
    """The aggregate query: per kind, each of ``groups`` (and the month, with ``per_month``), the
    clocks, met, breached, open, and the sum and number of elapsed times of the ended clocks, in
    the database's order of those columns. Each row holds ``kind``, its groups' names, ``period``
    and ``month`` (the start of the day/week/month and of the month, in the site's zone)."""
    zone = timezone.get_current_timezone()
    rows = with_kind(started_between(tickets, start, end))
    columns = {"kind": "sla_kind"}
    for group in groups:
        if group == "month":
            rows = rows.annotate(period=month_started(start, end, zone))
            columns["period"] = "period"
        elif group in PERIODS:
            rows = rows.annotate(period=PERIODS[group]("sla_started_at", tzinfo=zone))
            columns["period"] = "period"
        else:
            columns[group] = GROUP_COLUMNS[group]
    if per_month and "month" not in groups:
        rows = rows.annotate(trend_month=month_started(start, end, zone))
        columns["month"] = "trend_month"
    ended = Q(sla_state__in=(SLAState.MET, SLAState.BREACHED))
    aggregates = {
        "total": Count("pk"),
        "met": Count("pk", filter=Q(sla_state=SLAState.MET)),
        "breached": Count("pk", filter=Q(sla_state=SLAState.BREACHED)),
        "open": Count("pk", filter=Q(sla_state__in=OPEN_STATES)),
        "elapsed_sum": Sum("sla_elapsed_seconds", filter=ended),
        "elapsed_n": Count("sla_elapsed_seconds", filter=ended),
    }
    out = []
    with _room_to_group():
        names = list(columns.values())
        values = list(rows.values(*names).annotate(**aggregates).order_by(*names))
    for value in values:
        row = {name: value[column] for name, column in columns.items()}
        for name in ("period", "month"):
            if isinstance(row.get(name), dt.datetime):
                row[name] = row[name].astimezone(zone).date()
        if "month" in groups:
            row["month"] = row["period"]
        out.append({**row, **{key: value[key] or 0 for key in _KEYS}})
    return out


def _report(
    counted: list[dict[str, Any]], start: dt.date, end: dt.date, groups: list[str]
) -> dict[str, Any]:
    """The report of ``groups`` from counted rows of those groups or finer (added up, in the
    order the database gave them)."""
    zone = timezone.get_current_timezone()
    names = ["kind", *("period" if g in PERIODS else g for g in groups)]
    if groups == ["month"]:
        names = ["kind", "month"]
    added: dict[tuple[Any, ...], dict[str, Any]] = {}
    for value in counted:
        key = tuple(value[name] for name in names)
        row = added.get(key)
        if row is None:
            row = {"period" if name == "month" else name: value[name] for name in names}
            row = added[key] = {**row, **dict.fromkeys(_KEYS, 0)}
        for k in _KEYS:
            row[k] += value[k]
    out_rows = []
    totals: dict[str, dict[str, Any]] = {}
    for row in added.values():
        elapsed_sum, elapsed_n = row.pop("elapsed_sum"), row.pop("elapsed_n")
        # The mean of the ended clocks' elapsed times (what AVG gives: None without any).
        avg = elapsed_sum / elapsed_n if elapsed_n else None
        row["compliance"] = compliance(row["met"], row["breached"])
        row["avg_elapsed_seconds"] = round(avg, 1) if avg is not None else None
        out_rows.append(row)
        total = totals.setdefault(
            row["kind"],
            {"kind": row["kind"], "total": 0, "met": 0, "breached": 0, "open": 0, "_sum": 0.0},
        )
        for key in ("total", "met", "breached", "open"):
            total[key] += row[key]
        if avg is not None:
            total["_sum"] += avg * (row["met"] + row["breached"])
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
