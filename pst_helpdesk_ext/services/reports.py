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
from django.db.models import Count, IntegerField, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncMonth
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.ikm import ELEMENTS, IkmResult, compute_ikm_totals
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
from sync.vocabulary import IKM_ELEMENTS

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


STAFF_LEVELS = ("desk", "officer")


def staff_figures(
    ratings: QuerySet[Rating], visits: QuerySet[Visit]
) -> tuple[list[StaffFigures], list[StaffFigures]]:
    """Per desk and per officer of each branch (the desks, then the officers): the IKM of the
    ratings of visits served there and the average service and wait times, each shown only for
    groups of at least ``REPORT_MIN_RESPONDENTS``. Two queries, summed in the database per
    branch, desk and officer (a row per pair that served, whatever the number of visits)."""
    minimum = min_respondents()
    visit = "ticket__pst__visit__"
    answers: dict[tuple[str, str, str], ScoreTally] = defaultdict(ScoreTally)
    rated = (
        ratings.order_by()
        .filter(**{f"{visit}branch__isnull": False})
        .values(f"{visit}branch__code", f"{visit}desk", f"{visit}officer")
        .annotate(**score_sums())
    )
    for row in rated:
        if not row["respondents"]:
            continue
        scores = sums_of(row)
        for level in STAFF_LEVELS:
            name = row[f"{visit}{level}"]
            if name:
                answers[(level, row[f"{visit}branch__code"], name)].add_sums(scores)
    times: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    measured = (
        visits.order_by()
        .values("branch__code", "desk", "officer")
        .annotate(
            served=Count("service_seconds"),
            service_total=Sum("service_seconds"),
            waited=Count("wait_seconds"),
            wait_total=Sum("wait_seconds"),
        )
    )
    for row in measured:
        for level in STAFF_LEVELS:
            if row[level]:
                figures = times[(level, row["branch__code"], row[level])]
                figures[0] += row["served"]
                figures[1] += row["service_total"] or 0
                figures[2] += row["waited"]
                figures[3] += row["wait_total"] or 0
    rows: dict[str, list[StaffFigures]] = {level: [] for level in STAFF_LEVELS}
    for key in sorted(set(answers) | set(times)):
        tally = answers.get(key, ScoreTally())
        served, service_total, waited, wait_total = times.get(key, (0, 0, 0, 0))
        show_ikm = tally.respondents >= minimum
        show_times = served >= minimum
        rows[key[0]].append(
            StaffFigures(
                level=key[0],
                branch=key[1],
                name=key[2],
                respondents=tally.respondents,
                served=served,
                ikm=tally.ikm() if show_ikm else None,
                service_avg_minutes=_minutes(service_total, served) if show_times else None,
                wait_avg_minutes=_minutes(wait_total, waited) if show_times else None,
                min_respondents=minimum,
            )
        )
    return rows["desk"], rows["officer"]


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
    # Days in the site's time zone as a range of instants (what ``created__date`` means, in a
    # form the (branch, created) index and the planner's estimates can use).
    if filters.date_from is not None:
        ratings = ratings.filter(created__gte=day_start(filters.date_from))
    if filters.date_to is not None:
        ratings = ratings.filter(created__lt=day_start(filters.date_to + dt.timedelta(days=1)))
    return ratings


def day_start(day: dt.date) -> dt.datetime:
    """Midnight starting ``day`` in the site's time zone."""
    return dt.datetime.combine(day, dt.time(), timezone.get_current_timezone())


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


def score_sums() -> dict[str, Any]:
    """Aggregates of a ratings query: its respondents (ratings with at least one element
    answered: one with nothing answered is no respondent, ``compute_ikm`` refuses it) and, per
    element, the sum of the scores and how many answered it (a key left out, or JSON null, is
    not counted): what ``compute_ikm_totals`` takes (``ScoreTally`` reads them back). A slice
    whose ratings answered nothing has 0 respondents and is no slice of the report.

    The respondents are counted, not filtered in ``WHERE``: PostgreSQL cannot estimate a JSON
    key test and, believing a few dozen rows come, joins the tickets row by row."""
    sums: dict[str, Any] = {
        "respondents": Count("pk", filter=Q(scores__has_any_keys=list(IKM_ELEMENTS)))
    }
    for code in IKM_ELEMENTS:
        answer = KT(f"scores__{code}")
        sums[f"total_{code}"] = Sum(Cast(answer, IntegerField()))
        sums[f"answers_{code}"] = Count(answer)
    return sums


#: The sums of a row of ``score_sums``, in the order ``ScoreTally`` keeps them.
SUM_KEYS: tuple[str, ...] = (
    "respondents",
    *(f"total_{code}" for code in IKM_ELEMENTS),
    *(f"answers_{code}" for code in IKM_ELEMENTS),
)


def sums_of(row: dict[str, Any]) -> list[int]:
    """A row of ``score_sums`` as ``ScoreTally`` adds it (a sum over no answer is 0, not None)."""
    return [row[key] or 0 for key in SUM_KEYS]


@dataclass
class ScoreTally:
    """Respondents and per element the score sum and answer count of a slice of the ratings,
    added up from rows of ``score_sums`` (a slice is the sum of the smaller slices in it). Kept
    as one list of integers in ``SUM_KEYS`` order: a report adds a few thousand rows into
    hundreds of slices, element by element through dictionaries it took a tenth of the page."""

    sums: list[int] = field(default_factory=lambda: [0] * len(SUM_KEYS))

    @classmethod
    def of(cls, row: dict[str, Any]) -> ScoreTally:
        tally = cls()
        tally.add(row)
        return tally

    @property
    def respondents(self) -> int:
        return self.sums[0]

    @property
    def totals(self) -> dict[str, int]:
        return dict(zip(IKM_ELEMENTS, self.sums[1 : 1 + len(IKM_ELEMENTS)], strict=True))

    @property
    def answers(self) -> dict[str, int]:
        return dict(zip(IKM_ELEMENTS, self.sums[1 + len(IKM_ELEMENTS) :], strict=True))

    def add(self, row: dict[str, Any]) -> None:
        self.add_sums(sums_of(row))

    def add_sums(self, sums: list[int]) -> None:
        """Add the ``sums_of`` a row (read once however many slices it is added to)."""
        self.sums = [mine + theirs for mine, theirs in zip(self.sums, sums, strict=True)]

    def ikm(self) -> IkmResult:
        return compute_ikm_totals(self.respondents, self.totals, self.answers)


def build_report(filters: ReportFilters, user: User | None = None) -> IkmReport:
    """The whole report in a fixed number of queries, each summed in the database: its rows are
    slices (branch and month, service and channel, desk, officer), never ratings or visits."""
    ratings = filter_ratings(ratings_for(user), filters)
    visits = filter_report_visits(visits_for_report(user), filters)
    # One aggregate at the finest grain the page needs (branch, month, service, channel: a few
    # thousand rows at national scale), added up here in each direction: one scan of the ratings
    # and one reading of their JSON scores, where a query per direction read them twice.
    # Months of the rating's date in the site's time zone, as the date filters read it.
    month = TruncMonth("created", tzinfo=timezone.get_current_timezone())
    service, channel = "ticket__pst__category", "ticket__pst__channel"
    finest = (
        ratings.order_by()
        .values(
            "branch__code",
            "branch__name",
            f"{service}__code",
            f"{service}__name_id",
            f"{service}__name_en",
            f"{channel}__code",
            f"{channel}__name_id",
            f"{channel}__name_en",
            month=month,
        )
        .annotate(**score_sums())
    )

    everything = ScoreTally()
    slices: dict[str, dict[str, ScoreTally]] = {level: defaultdict(ScoreTally) for level in LEVELS}
    names: dict[tuple[str, str], tuple[str, str]] = {}

    def add(level: str, code: Any, name_id: Any, name_en: Any, sums: list[int]) -> None:
        code = code or NO_CODE
        slices[level][code].add_sums(sums)
        names[(level, code)] = (name_id or _unknown("id"), name_en or _unknown("en"))

    labels: dict[Any, str] = {}
    for row in finest:
        sums = sums_of(row)
        if not sums[0]:
            continue  # only ratings that answered nothing: no slice, adds nothing
        everything.add_sums(sums)
        month_start = row["month"]
        label = labels.get(month_start) or labels.setdefault(
            month_start, month_start.strftime("%Y-%m")
        )
        add("branch", row["branch__code"], row["branch__name"], row["branch__name"], sums)
        add("month", label, label, label, sums)
        add("service", *(row[f"{service}__{key}"] for key in ("code", "name_id", "name_en")), sums)
        add("channel", *(row[f"{channel}__{key}"] for key in ("code", "name_id", "name_en")), sums)

    def groups(level: str) -> list[Group]:
        return [
            Group(level, code, *names[(level, code)], tally.ikm())
            for code, tally in sorted(slices[level].items())
        ]

    desks, officers = staff_figures(ratings, visits)
    return IkmReport(
        filters=filters,
        generated_at=timezone.now(),
        overall=Group("all", "", "Semua", "All", everything.ikm()),
        branches=groups("branch"),
        services=groups("service"),
        channels=groups("channel"),
        months=groups("month"),
        visits=visit_figures(visits),
        sla=sla_compliance(filters, user),
        desks=desks,
        officers=officers,
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
    the wait: the SLA table of the same report counts the same clocks. One query, summed per
    branch and month of the service day in the database (one query with the desk and officer
    sums, per branch, month, desk and officer, was no faster at 100,000 tickets and gave Python
    twenty times the rows)."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    names: dict[tuple[str, str], str] = {}
    state = "pst_ticket__sla_state"
    rows = (
        visits.order_by()
        .values("branch__code", "branch__name", month=TruncMonth("service_day"))
        .annotate(
            visits=Count("pk"),
            served=Count("wait_seconds"),
            wait_total=Sum("wait_seconds"),
            met=Count("pk", filter=Q(**{state: SLAState.MET})),
            ended=Count("pk", filter=Q(**{f"{state}__in": (SLAState.MET, SLAState.BREACHED)})),
        )
    )
    for row in rows:
        label = row["month"].strftime("%Y-%m")
        for key, name in (
            (("all", ""), ""),
            (("branch", row["branch__code"]), row["branch__name"]),
            (("month", label), label),
        ):
            figures = totals[key]
            names[key] = name
            figures[0] += row["visits"]
            figures[1] += row["served"]
            figures[2] += row["wait_total"] or 0
            figures[3] += row["met"]
            figures[4] += row["ended"]
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
