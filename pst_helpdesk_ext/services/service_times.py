"""Service-time report (the figures queue systems give a head of office): waits, service times
and desk idle time per branch, desk, officer, service and day, as distributions, and the busiest
hours.

What it owns: reading the walk-in visits of a selection once (one query, ``values_list``) and
computing, per group:
- **wait**: from the number being issued to the call (``Visit.wait_seconds``, measured at the
  branch); count, mean, median, 90th percentile, longest, and the share called within the
  10-minute standard (by the wait itself; the SLA report judges the clock from the desk becoming
  free, which can only be shorter);
- **service time**: from the start of service to its end (``service_seconds``); mean, median, 90th
  percentile;
- **idle time** of a desk: the gaps between the end of one service and the next call at the same
  desk on the same day (a desk's first call of the day and breaks longer than ``IDLE_GAP_LIMIT``
  are not idle time, they are the desk being closed);
- the **distribution** of waits and service times in bands (0-5, 5-10, 10-15, 15-30, 30-60, 60+
  minutes);
- the **busiest hours**: numbers issued per hour of the day (branch local time), on average per
  service day of the selection.

Rules: percentiles by the nearest-rank method on whole seconds (the same on every database);
figures of a desk or an officer are shown only when they rest on at least
``REPORT_MIN_RESPONDENTS`` measured waits and service times (the anonymity rule of the IKM
report's desk and officer figures); only the visits of the queues the user may open
(``queries.visits_for``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import BigIntegerField, Func, QuerySet
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from pst_helpdesk_ext.models import Branch, ServiceCategory, Visit
from pst_helpdesk_ext.services.exports import Column, Table

GROUPS: Final = ("branch", "desk", "officer", "service", "day")
BANDS_MINUTES: Final = (5, 10, 15, 30, 60)  # upper bounds; the last band is 60+
STANDARD_SECONDS: Final = 10 * 60
PERCENTILES: Final = (0.5, 0.9)  # median, 90th percentile
IDLE_GAP_LIMIT: Final = dt.timedelta(hours=2)
IDLE_GAP_MICROSECONDS: Final = int(IDLE_GAP_LIMIT.total_seconds()) * 1_000_000


def band_labels() -> list[str]:
    labels, lower = [], 0
    for upper in BANDS_MINUTES:
        labels.append(_("%(low)d–%(high)d min") % {"low": lower, "high": upper})
        lower = upper
    labels.append(_("%(low)d+ min") % {"low": lower})
    return labels


def percentile(values: Sequence[int], share: float) -> int | None:
    """Nearest-rank percentile of sorted ``values`` (None for none)."""
    if not values:
        return None
    rank = max(math.ceil(share * len(values)), 1)
    return values[rank - 1]


def minutes(seconds: float | int | None) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(seconds) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Figures:
    """The figures of one group, as the database aggregated them (see ``build``)."""

    group: str
    key: str
    label: str
    visits: int = 0
    measured: int = 0  # visits with a measured wait
    wait_sum: int = 0
    wait_longest: int | None = None
    wait_within: int = 0  # waits of at most STANDARD_SECONDS
    wait_median_seconds: int | None = None
    wait_p90_seconds: int | None = None
    wait_bands: list[int] = field(default_factory=lambda: [0] * (len(BANDS_MINUTES) + 1))
    service_count: int = 0  # visits with a measured service time
    service_sum: int = 0
    service_median_seconds: int | None = None
    service_p90_seconds: int | None = None
    service_bands: list[int] = field(default_factory=lambda: [0] * (len(BANDS_MINUTES) + 1))
    idle_seconds: int = 0
    hidden_reason: str = ""

    @property
    def wait_mean(self) -> Decimal | None:
        return minutes(self.wait_sum / self.measured) if self.measured else None

    @property
    def wait_median(self) -> Decimal | None:
        return minutes(self.wait_median_seconds)

    @property
    def wait_p90(self) -> Decimal | None:
        return minutes(self.wait_p90_seconds)

    @property
    def wait_max(self) -> Decimal | None:
        return minutes(self.wait_longest)

    @property
    def within_standard_pct(self) -> Decimal | None:
        if not self.measured:
            return None
        return (Decimal(100 * self.wait_within) / self.measured).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )

    @property
    def service_mean(self) -> Decimal | None:
        return minutes(self.service_sum / self.service_count) if self.service_count else None

    @property
    def service_median(self) -> Decimal | None:
        return minutes(self.service_median_seconds)

    @property
    def service_p90(self) -> Decimal | None:
        return minutes(self.service_p90_seconds)

    @property
    def idle_minutes(self) -> Decimal | None:
        return minutes(self.idle_seconds) if self.group in ("desk", "branch", "all") else None


@dataclass
class ServiceTimes:
    overall: Figures
    groups: dict[str, list[Figures]]
    hours: list[tuple[int, int, Decimal]]  # (hour, numbers issued, average per service day)
    days: int  # service days in the selection
    min_measured: int

    @property
    def band_labels(self) -> list[str]:
        return band_labels()

    @property
    def bands(self) -> list[tuple[str, int, int]]:
        """(band, waits in it, service times in it) of the whole selection."""
        return list(
            zip(band_labels(), self.overall.wait_bands, self.overall.service_bands, strict=True)
        )

    @property
    def busiest_hour(self) -> int | None:
        return max(self.hours, key=lambda h: h[1])[0] if self.hours else None


def _figures(
    group: str, key: str, label: str, visits: int, waits: list[int], services: list[int]
) -> Figures:
    """The figures of one group from its measures (sorted here, in C; then every figure is a sum,
    a look-up or a bisection)."""
    waits.sort()
    services.sort()
    return Figures(
        group,
        key,
        label,
        visits=visits,
        measured=len(waits),
        wait_sum=sum(waits),
        wait_longest=waits[-1] if waits else None,
        wait_within=bisect.bisect_right(waits, STANDARD_SECONDS),
        wait_median_seconds=percentile(waits, PERCENTILES[0]),
        wait_p90_seconds=percentile(waits, PERCENTILES[1]),
        wait_bands=_bands(waits),
        service_count=len(services),
        service_sum=sum(services),
        service_median_seconds=percentile(services, PERCENTILES[0]),
        service_p90_seconds=percentile(services, PERCENTILES[1]),
        service_bands=_bands(services),
    )


def _bands(ordered: list[int]) -> list[int]:
    """Counts per band of sorted ``ordered`` (a band holds values below its upper bound)."""
    below = [bisect.bisect_left(ordered, upper * 60) for upper in BANDS_MINUTES]
    return [high - low for low, high in zip([0, *below], [*below, len(ordered)], strict=True)]


class EpochMicroseconds(Func):
    """A stored datetime as whole microseconds since 1970-01-01 UTC, an integer made by the
    database: exact, and read without building (and time-zone converting) a datetime per row,
    which was most of the report's time. SQLite stores ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC;
    PostgreSQL's whole seconds and microseconds are read apart so that no float rounds them."""

    output_field = BigIntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        # '%%%%s' becomes strftime's '%s' once Django has filled in the template and the
        # parameters.
        template = (
            "(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) * 1000000"
            " + CAST(substr(%(expressions)s || '.000000', 21, 6) AS INTEGER))"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, Any]:
        template = (
            "(CAST(EXTRACT(EPOCH FROM date_trunc('second', %(expressions)s)) AS BIGINT) * 1000000"
            " + MOD(CAST(EXTRACT(MICROSECONDS FROM %(expressions)s) AS BIGINT), 1000000))"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


Measured = dict[tuple[Any, ...], Figures]


def _aggregate_python(
    visits: QuerySet[Visit], branches: dict[int, tuple[str, str, ZoneInfo]]
) -> tuple[Measured, dict[int, int]]:
    """Every group's figures from the visits read once as plain integer tuples (times as whole
    microseconds made by the database), grouped in one pass and sorted per group in C; keys: ()
    overall, (group, ...) per group. Also the numbers issued per local hour."""
    sql, params = (
        visits.order_by()
        .annotate(
            issued_us=EpochMicroseconds("issued_at"),
            called_us=EpochMicroseconds("called_at"),
            finished_us=EpochMicroseconds("finished_at"),
        )
        .values_list(
            "branch_id",
            "desk",
            "officer",
            "service_id",
            "service_day",
            "issued_us",
            "called_us",
            "finished_us",
            "wait_seconds",
            "service_seconds",
        )
        .query.sql_with_params()
    )
    # key -> [visits, waits, service times]
    measures: dict[tuple[Any, ...], list[Any]] = {}
    per_hour: dict[int, int] = defaultdict(int)
    desk_services: dict[tuple[Any, ...], list[tuple[int, int]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(5000):
            for branch, desk, officer, service, day, issued, called, finished, w, s in chunk:
                keys = [(), ("branch", branch), ("service", service), ("day", day)]
                if desk:
                    keys.append(("desk", branch, desk))
                    if called is not None and finished is not None:
                        desk_services[(branch, day, desk)].append((called, finished))
                if officer:
                    keys.append(("officer", branch, officer))
                for key in keys:
                    entry = measures.get(key)
                    if entry is None:
                        entry = measures[key] = [0, [], []]
                    entry[0] += 1
                    if w is not None:
                        entry[1].append(w)
                    if s is not None:
                        entry[2].append(s)
                # The local hour changes on a whole second: the second is enough.
                per_hour[
                    dt.datetime.fromtimestamp(issued // 1_000_000, branches[branch][2]).hour
                ] += 1
    measured = {key: _figures("", "", "", *entry) for key, entry in measures.items()}
    for (branch, _day, desk), spans in desk_services.items():
        spans.sort()
        idle = 0
        for (_start, end), (next_start, _next_end) in itertools.pairwise(spans):
            gap = next_start - end  # microseconds
            if 0 < gap <= IDLE_GAP_MICROSECONDS:
                idle += gap // 1_000_000  # whole seconds, as int(timedelta.total_seconds())
        for key in (("desk", branch, desk), ("branch", branch), ()):
            measured[key].idle_seconds += idle
    return measured, per_hour


# The grouping sets of the PostgreSQL query, by the value GROUPING() gives each: a bit per
# column of GROUPING_COLUMNS, set when the row does not group by that column.
GROUPING_COLUMNS: Final = ("branch_id", "desk", "officer", "service_id", "service_day", "hour")
GROUPING_SETS: Final = {
    "": (),
    "branch": ("branch_id",),
    "service": ("service_id",),
    "day": ("service_day",),
    "desk": ("branch_id", "desk"),
    "officer": ("branch_id", "officer"),
    "hour": ("hour",),
}


def _grouping(columns: tuple[str, ...]) -> int:
    return sum(
        1 << (len(GROUPING_COLUMNS) - 1 - i)
        for i, column in enumerate(GROUPING_COLUMNS)
        if column not in columns
    )


def ranks_sql(column: str) -> str:
    """[median, 90th percentile] of ``column`` as PostgreSQL ranks them: ``percentile_disc(p)``
    is the first value (in order, nulls left out) whose position reaches p of the n values, the
    ceil(p * n)-th and at least the first, computed in double precision as ``percentile`` computes
    it: the nearest rank (tested on every size up to a few hundred and on larger ones)."""
    return f"percentile_disc(ARRAY{list(PERCENTILES)}::float8[]) WITHIN GROUP (ORDER BY {column})"


def _measure_sql(column: str) -> str:
    """count, sum, longest, [median, 90th percentile] (``ranks_sql``) and the bands of one
    measure."""
    bounds = [0, *(upper * 60 for upper in BANDS_MINUTES)]
    bands = [
        f"COUNT(*) FILTER (WHERE {column} >= {low} AND {column} < {high})"
        for low, high in itertools.pairwise(bounds)
    ]
    bands.append(f"COUNT(*) FILTER (WHERE {column} >= {bounds[-1]})")
    return ", ".join(
        [
            f"COUNT({column})",
            f"SUM({column})",
            f"MAX({column})",
            ranks_sql(column),
            *bands,
        ]
    )


def _aggregate_postgres(visits: QuerySet[Visit]) -> tuple[Measured, dict[int, int]]:
    """Every group's figures and the numbers issued per local hour, aggregated by PostgreSQL in
    one query: one scan of the visits, every group by ``GROUPING SETS``, the percentiles by
    ``percentile_disc`` (an ordered-set aggregate: each group's values sorted once), a desk's idle
    gaps by ``LAG`` over its services of the day (one sort), the local hour by the branch's time
    zone. Python only reads a row per group (about a thousand at national scale)."""
    inner, params = (
        visits.order_by()
        .values_list(
            "branch_id",
            "desk",
            "officer",
            "service_id",
            "service_day",
            "issued_at",
            "called_at",
            "finished_at",
            "wait_seconds",
            "service_seconds",
            "branch__timezone",
        )
        .query.sql_with_params()
    )
    sets = ", ".join(f"({', '.join(columns)})" for columns in GROUPING_SETS.values())
    # The local hour is taken before the window, so that the rows sorted for it are narrower
    # (measured a fifth faster than after it).
    sql = f"""
        SELECT GROUPING({", ".join(GROUPING_COLUMNS)}), {", ".join(GROUPING_COLUMNS)},
            COUNT(*), COUNT(*) FILTER (WHERE w <= {STANDARD_SECONDS}),
            {_measure_sql("w")}, {_measure_sql("s")},
            SUM(FLOOR(EXTRACT(EPOCH FROM gap))::bigint)
                FILTER (WHERE gap > INTERVAL '0'
                    AND gap <= INTERVAL '{IDLE_GAP_MICROSECONDS} microseconds')
        FROM (
            SELECT branch_id, desk, officer, service_id, service_day, w, s, hour,
                CASE WHEN span THEN called_at - LAG(finished_at) OVER (
                    PARTITION BY branch_id, service_day, desk, span
                    ORDER BY called_at, finished_at
                ) END AS gap
            FROM (
                SELECT branch_id, desk, officer, service_id, service_day, called_at, finished_at,
                    w, s,
                    EXTRACT(HOUR FROM issued_at AT TIME ZONE
                        COALESCE(NULLIF(tz, ''), 'Asia/Jakarta'))::int AS hour,
                    (desk <> '' AND called_at IS NOT NULL AND finished_at IS NOT NULL) AS span
                FROM ({inner}) AS selection (
                    branch_id, desk, officer, service_id, service_day, issued_at, called_at,
                    finished_at, w, s, tz
                )
            ) AS visit
        ) AS measure
        GROUP BY GROUPING SETS ({sets})
    """  # noqa: S608 -- only the selection's own SQL and constants are formatted in
    by_grouping = {_grouping(columns): group for group, columns in GROUPING_SETS.items()}
    measured: Measured = {}
    per_hour: dict[int, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            grouping, branch, desk, officer, service, day, hour, visits_count, within = row[:9]
            group = by_grouping[grouping]
            if group == "hour":
                per_hour[hour] = visits_count
                continue
            key: tuple[Any, ...] = {
                "": (),
                "branch": ("branch", branch),
                "service": ("service", service),
                "day": ("day", day),
                "desk": ("desk", branch, desk),
                "officer": ("officer", branch, officer),
            }[group]
            if group in ("desk", "officer") and not key[-1]:
                continue  # the visits without a desk or an officer
            w_count, w_sum, w_max, w_ranks, *w_bands = row[9:19]
            s_count, s_sum, _s_max, s_ranks, *s_bands = row[19:29]
            idle = row[29]
            measured[key] = Figures(
                "",
                "",
                "",
                visits=visits_count,
                measured=w_count,
                wait_sum=int(w_sum or 0),
                wait_longest=w_max,
                wait_within=within,
                wait_median_seconds=w_ranks[0] if w_ranks else None,
                wait_p90_seconds=w_ranks[1] if w_ranks else None,
                wait_bands=w_bands,
                service_count=s_count,
                service_sum=int(s_sum or 0),
                service_median_seconds=s_ranks[0] if s_ranks else None,
                service_p90_seconds=s_ranks[1] if s_ranks else None,
                service_bands=s_bands,
                idle_seconds=int(idle or 0) if group in ("", "branch", "desk") else 0,
            )
    return measured, per_hour


def build(visits: QuerySet[Visit], min_measured: int) -> ServiceTimes:
    """All figures of the selection, from one query over the visits and one each for the names of
    the branches and services, whatever the number of visits. On PostgreSQL the database ranks,
    counts and sums every group in that one query (``_aggregate_postgres``); elsewhere (SQLite)
    the query reads only the columns the figures need, as plain integer tuples, and Python ranks
    them (``_aggregate_python``). Both give the same figures (tested visit by visit on both)."""
    from django.utils.translation import get_language

    english = (get_language() or "id").startswith("en")
    branches = {
        pk: (code, name, ZoneInfo(zone or "Asia/Jakarta"))
        for pk, code, name, zone in Branch.objects.values_list("pk", "code", "name", "timezone")
    }
    services = {
        pk: (code, name)
        for pk, code, name in ServiceCategory.objects.values_list(
            "pk", "code", "name_en" if english else "name_id"
        )
    }
    if connection.vendor == "postgresql":
        measured, per_hour = _aggregate_postgres(visits)
    else:
        measured, per_hour = _aggregate_python(visits, branches)
    overall = measured.pop((), None) or Figures("all", "", "")
    overall.group, overall.key, overall.label = "all", "", _("All")
    groups: dict[str, dict[str, Figures]] = {g: {} for g in GROUPS}
    for (group, first, *rest), figures in measured.items():
        if group == "service":
            key, label = services[first]
        elif group == "day":
            day = first if isinstance(first, dt.date) else dt.date.fromisoformat(first)
            key = label = day.isoformat()
        else:
            code, name, _zone = branches[first]
            if group == "branch":
                key, label = code, f"{code} {name}"
            elif group == "desk":
                key, label = f"{code}/{rest[0]}", f"{name} · {rest[0]}"
            else:
                key, label = f"{code}/{rest[0]}", f"{rest[0]} ({name})"
        figures.group, figures.key, figures.label = group, key, label
        groups[group][key] = figures
    for figures in [*groups["officer"].values(), *groups["desk"].values()]:
        # The IKM report's rule for desks and officers: every figure shown rests on at least
        # ``min_measured`` measured visits (waits and service times alike).
        if min(figures.measured, figures.service_count) < min_measured:
            figures.hidden_reason = _(
                "Fewer than %(min)d measured visits: not shown, so that no visit can be traced."
            ) % {"min": min_measured}
    day_count = max(len(groups["day"]), 1)
    hours = [
        (
            hour,
            count,
            (Decimal(count) / day_count).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        )
        for hour, count in sorted(per_hour.items())
    ]
    return ServiceTimes(
        overall=overall,
        groups={g: sorted(f.values(), key=lambda x: x.key) for g, f in groups.items()},
        hours=hours,
        days=len(groups["day"]),
        min_measured=min_measured,
    )


def rows_html(group: str, rows: list[Figures]) -> SafeString:
    """The rows of a group's table on the page, as its template wrote them (hundreds of desks and
    officers for a national user: built here, the template engine took most of the page's time).
    Numbers localised as the template localises them; hidden figures stay hidden."""
    dash = "—"
    with_idle = group in ("desk", "branch")
    first = format_html(' class="{}"', "text-nowrap") if group == "day" else ""  # a day on one line
    # The numbers repeat (minutes to a tenth): each distinct one is localised once, then its
    # cell is reused; (type, text) tells 5 from 5.0.
    cells_of: dict[tuple[type, str], str] = {}

    def number_cell(value: Any) -> str:
        if value is None:
            return f'<td class="pst-num">{dash}</td>'
        key = (type(value), str(value))
        cell = cells_of.get(key)
        if cell is None:
            cell = cells_of[key] = format_html('<td class="pst-num">{}</td>', localize(value))
        return cell

    out = []
    for f in rows:
        cells = []
        if f.hidden_reason:
            cells.append(
                format_html(
                    '<td{}>{}<div class="small text-body-secondary">{}</div></td>',
                    first,
                    f.label,
                    f.hidden_reason,
                )
            )
        else:
            cells.append(format_html("<td{}>{}</td>", first, f.label))
        cells.append(number_cell(f.visits))
        if f.hidden_reason:
            cells.append(
                format_html('<td class="pst-num" colspan="{}">—</td>', 8 if with_idle else 7)
            )
        else:
            values = [
                f.wait_mean,
                f.wait_median,
                f.wait_p90,
                f.wait_max,
                f.within_standard_pct,
                f.service_median,
                f.service_p90,
            ]
            if with_idle:
                values.append(f.idle_minutes)
            cells += [number_cell(value) for value in values]
        # The cells are safe already (escaped by format_html): joined, not escaped again.
        out.append(
            format_html(
                '<tr data-key="{}"{}>{}</tr>\n',
                f.key,
                mark_safe(' data-hidden="1"') if f.hidden_reason else "",
                mark_safe("".join(cells)),  # noqa: S308
            )
        )
    return mark_safe("".join(out))  # noqa: S308 -- rows made by format_html


def group_label(group: str) -> str:
    return {
        "all": _("All"),
        "branch": _("Branch office"),
        "desk": _("Desk"),
        "officer": _("Officer"),
        "service": _("Service"),
        "day": _("Day"),
    }[group]


def table(report: ServiceTimes, filters: dict[str, str], name: str) -> Table:
    """Every group's figures as one download (hidden officer figures stay hidden)."""
    labels = band_labels()
    columns = [
        Column("group", _("Per")),
        Column("name", _("Name")),
        Column("visits", _("Visits")),
        Column("measured", _("Visits with a measured wait")),
        Column("wait_mean", _("Wait, mean (min)")),
        Column("wait_median", _("Wait, median (min)")),
        Column("wait_p90", _("Wait, 90th percentile (min)")),
        Column("wait_max", _("Wait, longest (min)")),
        Column("within_standard_pct", _("Called within 10 minutes (%)")),
        Column("service_mean", _("Service time, mean (min)")),
        Column("service_median", _("Service time, median (min)")),
        Column("service_p90", _("Service time, 90th percentile (min)")),
        Column("idle_minutes", _("Desk idle time (min)")),
        *(
            Column(f"wait_band_{i}", _("Waits %(band)s") % {"band": b})
            for i, b in enumerate(labels)
        ),
        *(
            Column(f"service_band_{i}", _("Service times %(band)s") % {"band": b})
            for i, b in enumerate(labels)
        ),
    ]

    def rows() -> Iterator[list[Any]]:
        for figures in [report.overall, *(f for g in GROUPS for f in report.groups[g])]:
            head = [group_label(figures.group), figures.label, figures.visits]
            if figures.hidden_reason:
                yield [*head, *([None] * (len(columns) - 3))]
                continue
            yield [
                *head,
                figures.measured,
                figures.wait_mean,
                figures.wait_median,
                figures.wait_p90,
                figures.wait_max,
                figures.within_standard_pct,
                figures.service_mean,
                figures.service_median,
                figures.service_p90,
                figures.idle_minutes,
                *figures.wait_bands,
                *figures.service_bands,
            ]

    return Table(
        name=name,
        title=_("Service times"),
        columns=columns,
        rows=rows(),
        method=method_note(report.min_measured),
        filters=filters,
    )


def method_note(min_measured: int) -> str:
    return _(
        "Walk-in visits of the selection. Wait: from the number being issued to the call; "
        "service time: from the start of service to its end; both measured at the branch. "
        "Median and 90th percentile by the nearest-rank method. Desk idle time: gaps of up to 2 "
        "hours between the end of a service and the next call at the same desk the same day. "
        "'Called within 10 minutes' judges the wait itself; the SLA report judges the clock from "
        "the desk becoming free. The figures of a desk or an officer are shown only from %(min)d "
        "measured visits."
    ) % {"min": min_measured}
