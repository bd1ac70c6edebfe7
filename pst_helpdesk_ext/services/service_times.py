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

import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from pst_helpdesk_ext.models import Visit
from pst_helpdesk_ext.services.exports import Column, Table

GROUPS: Final = ("branch", "desk", "officer", "service", "day")
BANDS_MINUTES: Final = (5, 10, 15, 30, 60)  # upper bounds; the last band is 60+
STANDARD_SECONDS: Final = 10 * 60
IDLE_GAP_LIMIT: Final = dt.timedelta(hours=2)


def band_labels() -> list[str]:
    labels, lower = [], 0
    for upper in BANDS_MINUTES:
        labels.append(_("%(low)d–%(high)d min") % {"low": lower, "high": upper})
        lower = upper
    labels.append(_("%(low)d+ min") % {"low": lower})
    return labels


def _band(seconds: int) -> int:
    for index, upper in enumerate(BANDS_MINUTES):
        if seconds < upper * 60:
            return index
    return len(BANDS_MINUTES)


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
    """The figures of one group."""

    group: str
    key: str
    label: str
    visits: int = 0
    waits: list[int] = field(default_factory=list)
    services: list[int] = field(default_factory=list)
    idle_seconds: int = 0
    hidden_reason: str = ""

    def add(self, wait: int | None, service: int | None) -> None:
        self.visits += 1
        if wait is not None:
            self.waits.append(wait)
        if service is not None:
            self.services.append(service)

    def done(self) -> None:
        self.waits.sort()
        self.services.sort()

    @property
    def measured(self) -> int:
        return len(self.waits)

    @property
    def wait_mean(self) -> Decimal | None:
        return minutes(sum(self.waits) / len(self.waits)) if self.waits else None

    @property
    def wait_median(self) -> Decimal | None:
        return minutes(percentile(self.waits, 0.5))

    @property
    def wait_p90(self) -> Decimal | None:
        return minutes(percentile(self.waits, 0.9))

    @property
    def wait_max(self) -> Decimal | None:
        return minutes(self.waits[-1]) if self.waits else None

    @property
    def within_standard_pct(self) -> Decimal | None:
        if not self.waits:
            return None
        within = sum(1 for w in self.waits if w <= STANDARD_SECONDS)
        return (Decimal(100 * within) / len(self.waits)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )

    @property
    def service_mean(self) -> Decimal | None:
        return minutes(sum(self.services) / len(self.services)) if self.services else None

    @property
    def service_median(self) -> Decimal | None:
        return minutes(percentile(self.services, 0.5))

    @property
    def service_p90(self) -> Decimal | None:
        return minutes(percentile(self.services, 0.9))

    @property
    def idle_minutes(self) -> Decimal | None:
        return minutes(self.idle_seconds) if self.group in ("desk", "branch", "all") else None

    def bands(self, values: Iterable[int]) -> list[int]:
        counts = [0] * (len(BANDS_MINUTES) + 1)
        for value in values:
            counts[_band(value)] += 1
        return counts

    @property
    def wait_bands(self) -> list[int]:
        return self.bands(self.waits)

    @property
    def service_bands(self) -> list[int]:
        return self.bands(self.services)


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


def build(visits: QuerySet[Visit], min_measured: int) -> ServiceTimes:
    """All figures of the selection, from one query."""
    rows = visits.order_by().values_list(
        "branch__code",
        "branch__name",
        "branch__timezone",
        "desk",
        "officer",
        "service__code",
        "service__name_id",
        "service__name_en",
        "service_day",
        "issued_at",
        "called_at",
        "finished_at",
        "wait_seconds",
        "service_seconds",
    )
    from django.utils.translation import get_language

    english = (get_language() or "id").startswith("en")
    overall = Figures("all", "", _("All"))
    groups: dict[str, dict[str, Figures]] = {g: {} for g in GROUPS}
    per_hour: dict[int, int] = defaultdict(int)
    days: set[tuple[str, dt.date]] = set()
    desk_services: dict[tuple[str, dt.date, str], list[tuple[dt.datetime, dt.datetime]]] = (
        defaultdict(list)
    )
    zones: dict[str, ZoneInfo] = {}
    for (
        branch_code,
        branch_name,
        zone_name,
        desk,
        officer,
        service_code,
        service_id,
        service_en,
        day,
        issued,
        called,
        finished,
        wait,
        service,
    ) in rows.iterator(chunk_size=5000):
        overall.add(wait, service)
        keys = {
            "branch": (branch_code, f"{branch_code} {branch_name}"),
            "service": (service_code, service_en if english else service_id),
            "day": (day.isoformat(), day.isoformat()),
        }
        if desk:
            keys["desk"] = (f"{branch_code}/{desk}", f"{branch_name} · {desk}")
        if officer:
            keys["officer"] = (f"{branch_code}/{officer}", f"{officer} ({branch_name})")
        for group, (key, label) in keys.items():
            figures = groups[group].get(key)
            if figures is None:
                figures = groups[group][key] = Figures(group, key, label)
            figures.add(wait, service)
        zone = zones.get(zone_name or "")
        if zone is None:
            zone = zones[zone_name or ""] = ZoneInfo(zone_name or "Asia/Jakarta")
        per_hour[issued.astimezone(zone).hour] += 1
        days.add((branch_code, day))
        if desk and called is not None and finished is not None:
            desk_services[(branch_code, day, desk)].append((called, finished))
    for (branch_code, _day, desk), spans in desk_services.items():
        spans.sort()
        idle = 0
        for (_start, end), (next_start, _next_end) in itertools.pairwise(spans):
            gap = next_start - end
            if dt.timedelta(0) < gap <= IDLE_GAP_LIMIT:
                idle += int(gap.total_seconds())
        groups["desk"][f"{branch_code}/{desk}"].idle_seconds += idle
        groups["branch"][branch_code].idle_seconds += idle
        overall.idle_seconds += idle
    overall.done()
    for figures_of_group in groups.values():
        for figures in figures_of_group.values():
            figures.done()
    for figures in [*groups["officer"].values(), *groups["desk"].values()]:
        # The IKM report's rule for desks and officers: every figure shown rests on at least
        # ``min_measured`` measured visits (waits and service times alike).
        if min(figures.measured, len(figures.services)) < min_measured:
            figures.hidden_reason = _(
                "Fewer than %(min)d measured visits: not shown, so that no visit can be traced."
            ) % {"min": min_measured}
    day_count = max(len({d for _b, d in days}), 1)
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
        days=len({d for _b, d in days}),
        min_measured=min_measured,
    )


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
