"""The satisfaction (IKM) report: one computation, several renderings that show the same numbers.

What it owns: reading ratings and walk-in visits for a filter (branch, service, channel, period)
within what a user may see, grouping them (all, per branch, per service, per channel, per month),
and rendering the result as JSON-ready data, CSV and XLSX in the layout of BPS's yearly
satisfaction reporting (per-element NRR, weighted NRR, unit value, IKM, grade, respondents).

Rules:
- ``build_report`` is the only place ratings are read and ``compute_ikm`` the only place an index
  is computed: the staff page, the exports, ``/api/pst/reports/ikm/`` and ``pst_ikm_report`` all
  render one ``IkmReport``, so they cannot disagree. Decimals stay decimals until printed.
- Permissions: ``user=None`` is the command line (everything); a user sees ratings and visits of
  the tickets helpdesk lets them open (``services.queries``).
- Periods are calendar days in the site's timezone, on the rating's date (``Rating.created``) and
  the visit's service day; months are labelled ``YYYY-MM``.
- The service of a rating is the PST service of its ticket; its channel is the ticket's channel.
- SLA compliance is a slot (``IkmReport.sla``, filled by ``sla_compliance``) for the SLA report.
- Per desk and per officer (``staff_figures``): the IKM is shown only for a group of at least
  ``PST_HELPDESK['REPORT_MIN_RESPONDENTS']`` respondents (default 5), the service and wait times
  only for at least as many measured visits; below it the row keeps its counts and says why
  its figures are hidden (ratings are anonymous to the staff rated). The exports carry the same.

Size: over 500 lines on purpose: one report computed once and rendered three ways (page data, CSV,
XLSX); the renderings must show the same numbers, so they live beside the computation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.ikm import ELEMENTS, IkmResult, compute_ikm
from pst_helpdesk_ext.models import (
    Branch,
    Channel,
    PSTTicket,
    Rating,
    ServiceCategory,
    SLAState,
    Visit,
)
from pst_helpdesk_ext.services.queries import (
    WALK_IN_WAIT_STANDARD,
    accessible_tickets_q,
    visits_for,
)
from pst_helpdesk_ext.services.sla_report import sla_report

User = AbstractBaseUser | AnonymousUser

LEVELS = ("all", "branch", "service", "channel", "month")
NO_CODE = "-"


@dataclass(frozen=True)
class ReportFilters:
    branch: Branch | None = None
    service: ServiceCategory | None = None
    channel: Channel | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ReportFilters:
        """From the cleaned data of the report page's form or the API's serializer (same names)."""
        return cls(
            branch=data.get("branch"),
            service=data.get("service"),
            channel=data.get("channel"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )

    def as_dict(self) -> dict[str, str | None]:
        return {
            "branch": self.branch.code if self.branch else None,
            "service": self.service.code if self.service else None,
            "channel": self.channel.code if self.channel else None,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }


@dataclass(frozen=True)
class Group:
    """The IKM of one slice of the ratings (a level and the code of the slice)."""

    level: str
    code: str
    name_id: str
    name_en: str
    ikm: IkmResult

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "id").startswith("en") else self.name_id

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "code": self.code,
            "name_id": self.name_id,
            "name_en": self.name_en,
            **self.ikm.as_dict(),
        }


@dataclass(frozen=True)
class VisitFigures:
    """Walk-in volume and waits of one slice: ``served`` visits have a measured wait."""

    level: str
    code: str
    name: str
    visits: int
    served: int
    wait_total_seconds: int
    within_standard: int  # walk-in clocks met
    clocks_ended: int = 0  # walk-in clocks met or breached

    @property
    def wait_avg_minutes(self) -> Decimal | None:
        if not self.served:
            return None
        minutes = Decimal(self.wait_total_seconds) / Decimal(60 * self.served)
        return minutes.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def within_standard_pct(self) -> Decimal | None:
        """Met / (met + breached) of the visits' walk-in service clocks: the very clocks the SLA
        table counts, so the two tables of a report can never disagree. A clock still open (the
        call not synced yet, or not evaluated by ``pst_sla_tick`` yet) is not counted."""
        if not self.clocks_ended:
            return None
        pct = Decimal(100 * self.within_standard) / Decimal(self.clocks_ended)
        return pct.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    def as_dict(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "level": self.level,
            "code": self.code,
            "name": self.name,
            "visits": self.visits,
            "served": self.served,
            "wait_avg_minutes": text(self.wait_avg_minutes),
            "within_standard": self.within_standard,
            "clocks_ended": self.clocks_ended,
            "within_standard_pct": text(self.within_standard_pct),
        }


@dataclass(frozen=True)
class StaffFigures:
    """IKM and service times of one desk or one officer of a branch, shown only for groups big
    enough that no answer can be traced to a visitor (``PST_HELPDESK['REPORT_MIN_RESPONDENTS']``,
    DOMAIN.md "Ratings are anonymous to the people rated"). Below it the figures are ``None`` and
    ``hidden_reason`` says why; the counts themselves are shown."""

    level: str  # "desk" or "officer"
    branch: str  # branch code
    name: str  # the desk or the officer as the branch recorded them
    respondents: int  # ratings of visits served there
    served: int  # visits with a measured service time
    ikm: IkmResult | None  # None when hidden
    service_avg_minutes: Decimal | None  # None when hidden (or nothing measured)
    wait_avg_minutes: Decimal | None
    min_respondents: int

    @property
    def ikm_hidden(self) -> bool:
        return self.respondents < self.min_respondents

    @property
    def times_hidden(self) -> bool:
        return self.served < self.min_respondents

    @property
    def hidden_reason(self) -> str:
        """Why figures of this row are not shown ("" when all are)."""
        reasons = []
        if self.ikm_hidden:
            reasons.append(
                _(
                    "IKM hidden: %(count)d respondents, fewer than %(min)d (ratings stay "
                    "anonymous to the staff rated)."
                )
                % {"count": self.respondents, "min": self.min_respondents}
            )
        if self.times_hidden:
            reasons.append(
                _("Service times hidden: %(count)d visits measured, fewer than %(min)d.")
                % {"count": self.served, "min": self.min_respondents}
            )
        return " ".join(reasons)

    def as_dict(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "level": self.level,
            "branch": self.branch,
            "name": self.name,
            "respondents": self.respondents,
            "served": self.served,
            "ikm": self.ikm.as_dict() if self.ikm is not None else None,
            "service_avg_minutes": text(self.service_avg_minutes),
            "wait_avg_minutes": text(self.wait_avg_minutes),
            "hidden_reason": self.hidden_reason or None,
        }


def min_respondents() -> int:
    return int(pst_settings.REPORT_MIN_RESPONDENTS)


def _minutes(total_seconds: int, count: int) -> Decimal | None:
    if not count:
        return None
    minutes = Decimal(total_seconds) / Decimal(60 * count)
    return minutes.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def staff_figures(
    ratings: QuerySet[Rating], visits: QuerySet[Visit], level: str
) -> list[StaffFigures]:
    """Per desk (``level="desk"``) or per officer (``"officer"``) of each branch: the IKM of the
    ratings of visits served there and the average service and wait times, each shown only for
    groups of at least ``REPORT_MIN_RESPONDENTS``. Two queries."""
    minimum = min_respondents()
    answers: dict[tuple[str, str], list[dict[str, int]]] = defaultdict(list)
    for branch, name, scores in ratings.order_by().values_list(
        "ticket__pst__visit__branch__code", f"ticket__pst__visit__{level}", "scores"
    ):
        if branch and name and scores:
            answers[(branch, name)].append(scores)
    times: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for branch, name, service, wait in visits.order_by().values_list(
        "branch__code", level, "service_seconds", "wait_seconds"
    ):
        if not name:
            continue
        figures = times[(branch, name)]
        if service is not None:
            figures[0] += 1
            figures[1] += service
        if wait is not None:
            figures[2] += 1
            figures[3] += wait
    rows = []
    for key in sorted(set(answers) | set(times)):
        responses = answers.get(key, [])
        served, service_total, waited, wait_total = times.get(key, [0, 0, 0, 0])
        show_ikm = len(responses) >= minimum
        show_times = served >= minimum
        rows.append(
            StaffFigures(
                level=level,
                branch=key[0],
                name=key[1],
                respondents=len(responses),
                served=served,
                ikm=compute_ikm(responses) if show_ikm else None,
                service_avg_minutes=_minutes(service_total, served) if show_times else None,
                wait_avg_minutes=_minutes(wait_total, waited) if show_times else None,
                min_respondents=minimum,
            )
        )
    return rows


@dataclass(frozen=True)
class IkmReport:
    filters: ReportFilters
    generated_at: dt.datetime
    overall: Group
    branches: list[Group]
    services: list[Group]
    channels: list[Group]
    months: list[Group]
    visits: list[VisitFigures]  # the total first, then per branch, then per month
    sla: Any = None  # SLA compliance, filled by ``sla_compliance`` once the SLA report exists
    wait_standard_minutes: int = field(default=int(WALK_IN_WAIT_STANDARD.total_seconds() // 60))
    desks: list[StaffFigures] = field(default_factory=list)
    officers: list[StaffFigures] = field(default_factory=list)
    min_respondents: int = 5

    def groups(self) -> list[Group]:
        """Every slice in the order of the exports: all, branches, services, channels, months."""
        return [self.overall, *self.branches, *self.services, *self.channels, *self.months]

    def as_dict(self) -> dict[str, Any]:
        return {
            "filters": self.filters.as_dict(),
            "generated_at": self.generated_at.isoformat(),
            "method": method_note(),
            "overall": self.overall.as_dict(),
            "branches": [g.as_dict() for g in self.branches],
            "services": [g.as_dict() for g in self.services],
            "channels": [g.as_dict() for g in self.channels],
            "months": [g.as_dict() for g in self.months],
            "visits": [v.as_dict() for v in self.visits],
            "wait_standard_minutes": self.wait_standard_minutes,
            "sla": self.sla,
            "min_respondents": self.min_respondents,
            "desks": [d.as_dict() for d in self.desks],
            "officers": [o.as_dict() for o in self.officers],
        }


def method_note() -> str:
    return _(
        "IKM per PermenPAN-RB 14/2017: NRR per element = sum of scores / respondents who "
        "answered it (4 decimals); index = mean of the NRRs with the exact weight 1/9 (not the "
        "printed 0.111) x 25, rounded to 2 decimals only at the end. An element nobody answered "
        "is left out and the index averages the answered ones (1/k); it is listed as unanswered."
    )


# --- reading ------------------------------------------------------------------------------------


def ratings_for(user: User | None) -> QuerySet[Rating]:
    ratings = Rating.objects.all()
    if user is not None:
        ratings = ratings.filter(accessible_tickets_q(user, "ticket__"))
    return ratings


def filter_ratings(ratings: QuerySet[Rating], filters: ReportFilters) -> QuerySet[Rating]:
    if filters.branch is not None:
        ratings = ratings.filter(branch=filters.branch)
    if filters.service is not None:
        ratings = ratings.filter(ticket__pst__category=filters.service)
    if filters.channel is not None:
        ratings = ratings.filter(ticket__pst__channel=filters.channel)
    if filters.date_from is not None:
        ratings = ratings.filter(created__date__gte=filters.date_from)
    if filters.date_to is not None:
        ratings = ratings.filter(created__date__lte=filters.date_to)
    return ratings


def filter_report_visits(visits: QuerySet[Visit], filters: ReportFilters) -> QuerySet[Visit]:
    if filters.channel is not None and filters.channel.code != Channel.WALK_IN:
        return visits.none()  # visits are walk-ins
    if filters.branch is not None:
        visits = visits.filter(branch=filters.branch)
    if filters.service is not None:
        visits = visits.filter(service=filters.service)
    if filters.date_from is not None:
        visits = visits.filter(service_day__gte=filters.date_from)
    if filters.date_to is not None:
        visits = visits.filter(service_day__lte=filters.date_to)
    return visits


def build_report(filters: ReportFilters, user: User | None = None) -> IkmReport:
    """The whole report in a fixed number of queries."""
    ratings = filter_ratings(ratings_for(user), filters)
    visits = filter_report_visits(visits_for_report(user), filters)
    rows = ratings.values_list(
        "scores",
        "created",
        "branch__code",
        "branch__name",
        "ticket__pst__category__code",
        "ticket__pst__category__name_id",
        "ticket__pst__category__name_en",
        "ticket__pst__channel__code",
        "ticket__pst__channel__name_id",
        "ticket__pst__channel__name_en",
    )
    everything: list[dict[str, int]] = []
    slices: dict[str, dict[str, list[dict[str, int]]]] = {
        level: defaultdict(list) for level in LEVELS
    }
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for (
        scores,
        created,
        branch_code,
        branch_name,
        service_code,
        service_id,
        service_en,
        channel_code,
        channel_id,
        channel_en,
    ) in rows.order_by("created", "pk"):
        if not scores:
            continue  # nothing answered: not a respondent (compute_ikm refuses it)
        everything.append(scores)
        month = timezone.localtime(created).strftime("%Y-%m")
        keys = {
            "branch": (branch_code or NO_CODE, branch_name or "", branch_name or ""),
            "service": (service_code or NO_CODE, service_id or "", service_en or ""),
            "channel": (channel_code or NO_CODE, channel_id or "", channel_en or ""),
            "month": (month, month, month),
        }
        for level, (code, name_id, name_en) in keys.items():
            slices[level][code].append(scores)
            names[(level, code)] = (name_id or _unknown("id"), name_en or _unknown("en"))

    def groups(level: str) -> list[Group]:
        return [
            Group(level, code, *names[(level, code)], compute_ikm(responses))
            for code, responses in sorted(slices[level].items())
        ]

    return IkmReport(
        filters=filters,
        generated_at=timezone.now(),
        overall=Group("all", "", "Semua", "All", compute_ikm(everything)),
        branches=groups("branch"),
        services=groups("service"),
        channels=groups("channel"),
        months=groups("month"),
        visits=visit_figures(visits),
        sla=sla_compliance(filters, user),
        desks=staff_figures(ratings, visits, "desk"),
        officers=staff_figures(ratings, visits, "officer"),
        min_respondents=min_respondents(),
    )


def _unknown(language: str) -> str:
    return "(tidak diketahui)" if language == "id" else "(unknown)"


def visits_for_report(user: User | None) -> QuerySet[Visit]:
    return Visit.objects.all() if user is None else visits_for(user)


def visit_figures(visits: QuerySet[Visit]) -> list[VisitFigures]:
    """Volume, measured waits and the share within the standard per slice. "Within the standard"
    is the verdict of each visit's walk-in service clock (``services.sla``: from the desk
    becoming free to the call, against the visit's service standard), not a second reading of
    the wait: the SLA table of the same report counts the same clocks."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    names: dict[tuple[str, str], str] = {}
    rows = visits.order_by().values_list(
        "branch__code", "branch__name", "service_day", "wait_seconds", "pst_ticket__sla_state"
    )
    for branch_code, branch_name, day, wait, state in rows:
        for key, name in (
            (("all", ""), ""),
            (("branch", branch_code), branch_name),
            (("month", day.strftime("%Y-%m")), day.strftime("%Y-%m")),
        ):
            figures = totals[key]
            names[key] = name
            figures[0] += 1
            if wait is not None:
                figures[1] += 1
                figures[2] += wait
            figures[3] += state == SLAState.MET
            figures[4] += state in (SLAState.MET, SLAState.BREACHED)
    totals.setdefault(("all", ""), [0, 0, 0, 0, 0])
    names.setdefault(("all", ""), "")
    order = {"all": 0, "branch": 1, "month": 2}
    return [
        VisitFigures(level, code, names[(level, code)], *totals[(level, code)])
        for level, code in sorted(totals, key=lambda key: (order[key[0]], key[1]))
    ]


#: The first day of an SLA period when the report has no "from" (clocks started before PST did).
SLA_EPOCH = dt.date(2000, 1, 1)


def sla_compliance(filters: ReportFilters, user: User | None) -> dict[str, Any]:
    """SLA compliance for the same filters and queues, per branch, as ``/api/pst/reports/sla/``
    computes it (clocks that started in the period), JSON-ready (dates as ISO strings)."""
    tickets = PSTTicket.objects.all()
    if user is not None:
        tickets = tickets.filter(accessible_tickets_q(user, "ticket__"))
    if filters.branch is not None:
        tickets = tickets.filter(branch=filters.branch)
    if filters.service is not None:
        tickets = tickets.filter(category=filters.service)
    if filters.channel is not None:
        tickets = tickets.filter(channel=filters.channel)
    start = filters.date_from or SLA_EPOCH
    end = filters.date_to or timezone.localdate()
    report = sla_report(tickets, start, end, ["branch"])
    for key in ("from", "to"):
        report[key] = report[key].isoformat()
    names = dict(Branch.objects.values_list("code", "name"))
    for row in report["rows"]:
        row["branch_name"] = names.get(row["branch"], "")
    return report


# --- exports -------------------------------------------------------------------------------------


def level_label(level: str) -> str:
    return {
        "all": _("all"),
        "branch": _("branch office"),
        "service": _("service"),
        "channel": _("channel"),
        "month": _("month"),
    }[level]


def table_header() -> list[str]:
    """Columns of the BPS-style table (one row per slice), in the active language."""
    return [
        _("Level"),
        _("Code"),
        _("Name"),
        _("Respondents"),
        *(_("NRR %(element)s") % {"element": e.code} for e in ELEMENTS),
        *(_("Weighted NRR %(element)s") % {"element": e.code} for e in ELEMENTS),
        _("Unit value (weighted NRR total)"),
        _("IKM"),
        _("Grade"),
        _("Service quality"),
        _("Unanswered elements"),
    ]


def table_rows(report: IkmReport) -> list[list[Any]]:
    """One row per slice; numbers as Decimal (None for no value), as every export prints them."""
    rows = []
    for group in report.groups():
        ikm = group.ikm
        rows.append(
            [
                level_label(group.level),
                group.code,
                group.name,
                ikm.respondents,
                *(e.nrr for e in ikm.elements),
                *(e.weighted for e in ikm.elements),
                ikm.unit_value,
                ikm.index,
                ikm.grade.letter if ikm.grade else None,
                ikm.grade.label if ikm.grade else None,
                " ".join(ikm.missing_elements),
            ]
        )
    return rows


def visits_header() -> list[str]:
    return [
        _("Level"),
        _("Code"),
        _("Name"),
        _("Walk-in visits"),
        _("Visits with a measured wait"),
        _("Average wait (minutes)"),
        _("Called within the standard"),
        _("Within the standard (%)"),
    ]


def visits_rows(report: IkmReport) -> list[list[Any]]:
    return [
        [
            level_label(v.level),
            v.code,
            v.name,
            v.visits,
            v.served,
            v.wait_avg_minutes,
            v.within_standard,
            v.within_standard_pct,
        ]
        for v in report.visits
    ]


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def report_csv(report: IkmReport) -> str:
    """The IKM table as CSV (UTF-8, comma, decimals with a point, as statistics tools read it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table_header())
    for row in table_rows(report):
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def staff_header() -> list[str]:
    return [
        _("Level"),
        _("Branch office"),
        _("Name"),
        _("Respondents"),
        "IKM",
        _("Visits with a measured service time"),
        _("Average service time (minutes)"),
        _("Average wait (minutes)"),
        _("Note"),
    ]


def staff_rows(report: IkmReport) -> list[list[Any]]:
    labels = {"desk": _("desk"), "officer": _("officer")}
    return [
        [
            labels[row.level],
            row.branch,
            row.name,
            row.respondents,
            row.ikm.index if row.ikm is not None else None,
            row.served,
            row.service_avg_minutes,
            row.wait_avg_minutes,
            row.hidden_reason,
        ]
        for row in [*report.desks, *report.officers]
    ]


def report_xlsx(report: IkmReport) -> bytes:
    """The same table in a workbook: IKM, walk-in visits, and the method (how it was computed)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "IKM"
    _write_sheet(sheet, table_header(), table_rows(report), Font, get_column_letter)
    visits = book.create_sheet(_("Visits"))
    _write_sheet(visits, visits_header(), visits_rows(report), Font, get_column_letter)
    staff = book.create_sheet(_("Desks and officers"))
    _write_sheet(staff, staff_header(), staff_rows(report), Font, get_column_letter)
    notes = book.create_sheet(_("Method"))
    notes.append([method_note()])
    notes.append([_("Filters"), *(f"{k}={v}" for k, v in report.filters.as_dict().items() if v)])
    notes.append([_("Generated at"), timezone.localtime(report.generated_at).isoformat()])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write_sheet(
    sheet: Any, header: list[str], rows: Iterable[list[Any]], font: Any, column: Any
) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell, value in zip(sheet[sheet.max_row], row, strict=True):
            if isinstance(value, Decimal):
                places = -value.as_tuple().exponent  # type: ignore[operator]
                cell.number_format = "0." + "0" * places if places > 0 else "0"
    sheet.freeze_panes = "D2"
    for index in range(1, len(header) + 1):
        sheet.column_dimensions[column(index)].width = 14 if index > 3 else 22


def report_json(report: IkmReport) -> dict[str, Any]:
    return report.as_dict()
