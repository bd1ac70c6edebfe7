"""The SLA report as people read it: labelled rows, the breaches, a monthly trend, downloads.

What it owns: turning ``sla_report.sla_report`` (the aggregate the API returns) into what the staff
page and its downloads show: branch, channel, service and officer names instead of codes, kinds
and percentages in words, the list of breached clocks (each linked to its ticket), and the
compliance per month and kind for the trend chart. The numbers are the API's: the page calls the
same function on the same tickets (``tickets_for``), so the two cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import localize
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from pst_helpdesk_ext.models import Branch, Channel, PSTTicket, ServiceCategory
from pst_helpdesk_ext.services import compensation
from pst_helpdesk_ext.services.exports import Coded, Column, Table
from pst_helpdesk_ext.services.queries import accessible_tickets_q
from pst_helpdesk_ext.services.sla_report import PERIODS, breaches, sla_report_with_trend

#: The breaches listed on the page (all of them are in the downloads).
BREACHES_ON_PAGE = 100


def _english() -> bool:
    return (get_language() or "id").startswith("en")


def kind_label(kind: str) -> str:
    return {
        "walk_in": _("walk-in (called within 10 minutes)"),
        "online": _("online (answered within the working days of its service)"),
        "complaint": _("complaint (settled by its tier's deadline)"),
    }.get(kind, kind)


def short_kind_label(kind: str) -> str:
    return {"walk_in": _("walk-in"), "online": _("online"), "complaint": _("complaint")}.get(
        kind, kind
    )


def tickets_for(user: Any, filters: dict[str, Any]) -> QuerySet[PSTTicket]:
    """The PST tickets the user may open, narrowed by branch, channel and service (category)."""
    tickets = PSTTicket.objects.filter(accessible_tickets_q(user, "ticket__"))
    for name in ("branch", "channel", "category"):
        if filters.get(name) is not None:
            tickets = tickets.filter(**{name: filters[name]})
    return tickets


class Names:
    """Code -> name of the branches, channels, services and officers of a report (a query each)."""

    def __init__(self, language_en: bool) -> None:
        self.en = language_en
        self.branch = dict(Branch.objects.values_list("code", "name"))
        field = "name_en" if language_en else "name_id"
        self.channel = dict(Channel.objects.values_list("code", field))
        self.category = dict(ServiceCategory.objects.values_list("code", field))
        self.officer: dict[str, str] = {}

    def load_officers(self, usernames: set[str]) -> None:
        users = get_user_model().objects.filter(username__in=usernames)
        self.officer = {u.get_username(): (u.get_full_name() or u.get_username()) for u in users}

    def of(self, group: str, code: str | None) -> str:
        if code is None:
            return _("(none)") if group == "officer" else _("(unknown)")
        return getattr(self, group, {}).get(code) or code


def percent(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(str(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def minutes_or_days(kind: str, seconds: float | None) -> Decimal | None:
    """Average elapsed time in the unit of its standard: minutes (walk-in), working hours else."""
    if seconds is None:
        return None
    divisor = 60 if kind == "walk_in" else 3600
    return (Decimal(str(seconds)) / divisor).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Row:
    kind: str
    groups: list[tuple[str, str | None, str]]  # (group, code, name)
    period: dt.date | None
    total: int
    met: int
    breached: int
    open: int
    compliance_pct: Decimal | None
    avg_elapsed: Decimal | None

    @property
    def kind_label(self) -> str:
        return short_kind_label(self.kind)

    @property
    def unit(self) -> str:
        return _("minutes") if self.kind == "walk_in" else _("working hours")

    @property
    def breached_share(self) -> int:
        ended = self.met + self.breached
        return round(100 * self.breached / ended) if ended else 0


@dataclass
class SlaPage:
    start: dt.date
    end: dt.date
    group_by: list[str]
    report: dict[str, Any]
    rows: list[Row]
    totals: list[Row]
    trend: dict[str, list[tuple[str, Decimal | None]]]
    breaches: QuerySet[PSTTicket]
    breach_count: int
    compensated: int = 0
    compensation_per_kind: list[tuple[str, int]] = field(default_factory=list)

    @property
    def group_columns(self) -> list[str]:
        return [g for g in self.group_by if g not in PERIODS]

    @property
    def period_group(self) -> str | None:
        return next((g for g in self.group_by if g in PERIODS), None)


def _row(data: dict[str, Any], groups: Sequence[str], names: Names) -> Row:
    return Row(
        kind=data["kind"],
        groups=[(g, data.get(g), names.of(g, data.get(g))) for g in groups],
        period=data.get("period"),
        total=data["total"],
        met=data["met"],
        breached=data["breached"],
        open=data["open"],
        compliance_pct=percent(data["compliance"]),
        avg_elapsed=minutes_or_days(data["kind"], data["avg_elapsed_seconds"]),
    )


def build(
    user: Any, filters: dict[str, Any], start: dt.date, end: dt.date, group_by: list[str]
) -> SlaPage:
    tickets = tickets_for(user, filters)
    report, monthly = sla_report_with_trend(tickets, start, end, group_by)
    names = Names(language_en=_english())
    if "officer" in group_by:
        names.load_officers({r["officer"] for r in report["rows"] if r.get("officer")})
    groups = [g for g in group_by if g not in PERIODS]
    trend: dict[str, list[tuple[str, Decimal | None]]] = {}
    for data in monthly["rows"]:
        month = data["period"].strftime("%Y-%m")
        trend.setdefault(data["kind"], []).append((month, percent(data["compliance"])))
    listed = breaches(tickets, start, end).select_related("compensation")
    compensated = compensation.figures(listed)
    return SlaPage(
        start=start,
        end=end,
        group_by=group_by,
        report=report,
        rows=[_row(r, groups, names) for r in report["rows"]],
        totals=[_row(r, [], names) for r in report["totals"]],
        trend=trend,
        breaches=listed,
        # The clocks ``listed`` holds, counted by the aggregate already read (no second count).
        breach_count=sum(total["breached"] for total in report["totals"]),
        compensated=compensated["compensated"],
        compensation_per_kind=compensated["per_kind"],
    )


def group_rows_html(page: SlaPage) -> SafeString:
    """The rows of the page's "per group" table, as its template wrote them (hundreds of rows for
    a national user per branch and officer: built here, the template engine took most of the
    page's time). Numbers localised as the template localises them, every text escaped as
    ``format_html`` escapes it; written with plain string formatting (``format_html`` per cell
    was most of this function's time) and each distinct number localised once."""
    dash = "—"
    localized: dict[tuple[type, str], str] = {}

    def escape(text: Any) -> str:
        return html.escape(str(text))  # what ``format_html`` does to a value (none is safe)

    def number(value: Any) -> str:
        key = (type(value), str(value))
        text = localized.get(key)
        if text is None:
            text = localized[key] = escape(localize(value))
        return text

    out = []
    for row in page.rows:
        low = row.compliance_pct is not None and row.compliance_pct < 80
        cells = [f"<td>{escape(row.kind_label)}</td>"]
        cells += [f"<td>{escape(name)}</td>" for _g, _code, name in row.groups]
        if page.period_group:
            cells.append(f"<td>{escape(row.period.isoformat() if row.period else '')}</td>")
        cells += [
            f'<td class="pst-num">{number(value)}</td>'
            for value in (row.total, row.met, row.breached, row.open)
        ]
        compliance = dash if row.compliance_pct is None else number(row.compliance_pct)
        cells.append(
            f'<td class="pst-num{" pst-low" if low else ""}" data-compliance>{compliance}</td>'
        )
        average = (
            dash if row.avg_elapsed is None else f"{number(row.avg_elapsed)} {escape(row.unit)}"
        )
        cells.append(f'<td class="pst-num">{average}</td>')
        attributes = "".join(
            f' data-{escape(g)}="{escape("" if code is None else code)}"'
            for g, code, _n in row.groups
        )
        out.append(f'<tr data-kind="{escape(row.kind)}"{attributes}>{"".join(cells)}</tr>\n')
    return SafeString("".join(out))


def summary_table(page: SlaPage, filters: dict[str, str]) -> Table:
    """The compliance rows as a download (same numbers as the page and the API)."""
    group_names = {
        "branch": _("Branch office"),
        "channel": _("Channel"),
        "category": _("Service"),
        "officer": _("Officer"),
    }
    columns = [Column("kind", _("Kind"), coded=True)]
    columns += [Column(g, group_names[g], coded=True) for g in page.group_columns]
    if page.period_group:
        columns.append(Column("period", _("Period starting")))
    columns += [
        Column("total", _("Clocks")),
        Column("met", _("Met")),
        Column("breached", _("Breached")),
        Column("open", _("Still open")),
        Column("compliance_pct", _("Compliance (%)")),
        Column("avg_elapsed", _("Average time (walk-in: minutes; else working hours)")),
    ]

    def rows() -> Iterator[list[Any]]:
        everything = _("All")
        for row in [*page.totals, *page.rows]:
            # Codes for JSON (as the API gives them), labels for people (``Coded``).
            out: list[Any] = [Coded(row.kind, row.kind_label)]
            out += [Coded(code, name) for _g, code, name in row.groups] or [
                Coded(None, everything)
            ] * len(page.group_columns)
            if page.period_group:
                out.append(row.period)
            out += [row.total, row.met, row.breached, row.open, row.compliance_pct]
            out.append(row.avg_elapsed)
            yield out

    return Table(
        name=f"sla-{page.start.isoformat()}-{page.end.isoformat()}",
        title=_("SLA compliance"),
        columns=columns,
        rows=rows(),
        method=method_note(),
        filters=filters,
    )


def breaches_table(page: SlaPage, filters: dict[str, str]) -> Table:
    """Every breach of the period, one row each (the page lists the first ``BREACHES_ON_PAGE``)."""
    columns = [
        Column("ticket", _("Ticket")),
        Column("title", _("Title")),
        Column("kind", _("Kind"), coded=True),
        Column("branch", _("Branch office"), coded=True),
        Column("channel", _("Channel"), coded=True),
        Column("service", _("Service"), coded=True),
        Column("officer", _("Officer"), coded=True),
        Column("started", _("Clock started")),
        Column("due", _("Due")),
        Column("elapsed", _("Time taken (walk-in: minutes; else working hours)")),
        Column("compensation", _("Compensation"), coded=True),
        Column("compensation_note", _("What was given")),
        Column("compensation_given_on", _("Given on")),
    ]
    names = Names(language_en=_english())

    def rows() -> Iterator[list[Any]]:
        for pst in page.breaches.iterator(chunk_size=2000):
            ticket = pst.ticket
            officer = ticket.assigned_to
            yield [
                ticket.ticket,
                ticket.title,
                Coded(pst.sla_kind, short_kind_label(pst.sla_kind)),
                Coded(pst.branch.code, pst.branch.name) if pst.branch else Coded(None, ""),
                Coded(pst.channel.code, names.of("channel", pst.channel.code)),
                Coded(pst.category.code, names.of("category", pst.category.code))
                if pst.category
                else Coded(None, ""),
                Coded(officer.get_username(), officer.get_full_name() or officer.get_username())
                if officer
                else Coded(None, ""),
                pst.sla_started_at,
                pst.sla_due_at,
                minutes_or_days(pst.sla_kind, pst.sla_elapsed_seconds),
                *_compensation_cells(pst),
            ]

    return Table(
        name=f"sla-breaches-{page.start.isoformat()}-{page.end.isoformat()}",
        title=_("SLA breaches"),
        columns=columns,
        rows=rows(),
        method=method_note(),
        filters=filters,
    )


def _compensation_cells(pst: PSTTicket) -> list[Any]:
    given = getattr(pst, "compensation", None)
    if given is None:
        return [Coded(None, ""), "", None]
    return [Coded(given.kind, given.get_kind_display()), given.note, given.given_on]


def method_note() -> str:
    return _(
        "Clocks that started in the period (days in %(zone)s): walk-ins called within their "
        "standard (10 minutes after the desk became free, shorter for some services), online "
        "requests answered within the working days of their service (Indonesian working days: "
        "weekends, national holidays and collective leave do not count), complaints settled by "
        "their tier's deadline. Compliance = met / (met + breached); clocks still open are not "
        "counted yet. Only the tickets of the queues you may open. Same numbers as "
        "/api/pst/reports/sla/."
    ) % {"zone": timezone.get_current_timezone_name()}
