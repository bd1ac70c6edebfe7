"""The working calendar of a PST office: when the office is open, and service deadlines on it.

This module owns the arithmetic of *working time* (DOMAIN.md, "Working days in Indonesia" and
"Service clocks"). It is pure: no database, no settings, no clock; callers pass aware datetimes in
and get aware datetimes (in the calendar's timezone) back. A ``Branch`` feeds it through
``WorkingCalendar.from_config(branch_json)``; ``WorkingCalendar()`` has the defaults below.

Which days are open, in this order (the first rule that matches decides):
1. an *extra closed* date of the office is closed;
2. an *extra open* date is open, with its own hours or else the hours of its weekday (the first
   open weekday's hours when that weekday is normally closed);
3. an Indonesian public holiday (``holidays.Indonesia``, category PUBLIC) is closed;
4. a *cuti bersama* day (category GOVERNMENT) is closed unless the office keeps it open;
5. otherwise the weekly hours apply: the Ramadan week during Ramadan, the regular week otherwise.

Defaults: ``Asia/Jakarta`` (WIB); Mon-Fri 08:00-15:30 with no break (the PST units' published
hours); public holidays and cuti bersama closed; during Ramadan the civil-service Ramadan week
(Perpres 21/2023, SE MenPAN-RB 6/2023: 32.5 h from 08:00): Mon-Thu 08:00-15:00 with a
12:00-12:30 break, Fri 08:00-15:30 with a 11:30-12:30 break. Ramadan is taken as the 30 days
before Idul Fitri (1 Syawal) as the ``holidays`` package dates it; an office can give the exact
period instead (``ramadan.periods``), which replaces the automatic dates of the Ramadan it falls in.

The deadline rule ("n working days"):
- The clock starts at ``start``, or at the next opening when ``start`` is outside opening hours
  (at night, on a weekend or holiday, during a break).
- The day on which it starts is day 0 and does not count; the deadline is the closing time of the
  n-th working day after it. So 2026-03-17 (Tue) + 3 working days = 2026-03-27 15:30 WIB with
  cuti bersama closed, and 2026-03-23 15:30 with public holidays only. n = 0 is the closing
  time of day 0.
- Pauses (waiting for the visitor) shift the deadline by the *working* time they lasted:
  ``deadline(start, n, paused)`` = ``add_working_time(add_working_days(start, n), paused)``.

Performance: deadlines walk days, never minutes. Holiday sets are built once per year per process
and the opening segments of each date once per calendar, so a deadline costs microseconds.

Zones: Indonesian zones have no daylight saving time. For other zones the arithmetic stays correct
in real (UTC) time; an opening time that falls in a DST gap moves with the gap.

Size: over 500 lines on purpose: one pure rule (open days, hours, deadlines on working time) with
the validation of the admin's calendar JSON; splitting it would split one algorithm.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import holidays
from django.core.exceptions import ValidationError
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

__all__ = [
    "CalendarError",
    "DayHours",
    "DayInfo",
    "RamadanSchedule",
    "WorkingCalendar",
    "validate_calendar_config",
]

UTC: Final = dt.UTC
DAY_KEYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIMEZONE_ALIASES: Final = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
# A calendar with this many consecutive closed days ahead is treated as broken rather than walked
# forever (e.g. every weekday closed by extra dates); a year covers any real closure.
MAX_CLOSED_RUN_DAYS: Final = 400
ONE_DAY: Final = dt.timedelta(days=1)
ZERO: Final = dt.timedelta(0)
RAMADAN_LENGTH_DAYS: Final = 30

_TIME_RE = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")


class CalendarError(ValidationError, ValueError):
    """An invalid calendar or argument. A ValidationError (forms, model clean, checks show its
    message) and a ValueError (plain Python callers); ``str()`` is the translated message."""

    def __init__(
        self,
        message: Any,
        *,
        code: str,
        params: Mapping[str, Any] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, code=code, params=dict(params or {}))
        self.field = field

    def __str__(self) -> str:
        return str(self.message) % self.params if self.params else str(self.message)


def _fmt(value: dt.time) -> str:
    return value.strftime("%H:%M")


def _parse_time(value: Any, where: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = _TIME_RE.match(value) if isinstance(value, str) else None
    if match:
        hour, minute = int(match[1]), int(match[2])
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    raise CalendarError(
        _("%(day)s: %(value)s is not a time of day; write hours as HH:MM-HH:MM, e.g. 08:00-15:30."),
        code="invalid_time",
        params={"day": where, "value": repr(value)},
    )


def _parse_date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise CalendarError(
            _("%(where)s: %(value)s is a date and time; give a date (YYYY-MM-DD)."),
            code="invalid_date",
            params={"where": where, "value": value.isoformat()},
        )
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CalendarError(
        _("%(where)s: %(value)s is not a date; write dates as YYYY-MM-DD."),
        code="invalid_date",
        params={"where": where, "value": repr(value)},
    )


@dataclass(frozen=True, slots=True)
class DayHours:
    """Opening hours of one day: open-close, minus breaks. Validated on construction."""

    open: dt.time
    close: dt.time
    breaks: tuple[tuple[dt.time, dt.time], ...] = ()
    # The day's label, for error messages only.
    where: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        day = self.where if self.where is not None else _("Opening hours")
        if self.close <= self.open:
            raise CalendarError(
                _("%(day)s: closing time %(close)s is not after opening time %(open)s."),
                code="close_before_open",
                params={"day": day, "open": _fmt(self.open), "close": _fmt(self.close)},
            )
        ordered = sorted(self.breaks)
        for start, end in ordered:
            if end <= start:
                raise CalendarError(
                    _("%(day)s: break %(start)s-%(end)s ends before it starts."),
                    code="break_reversed",
                    params={"day": day, "start": _fmt(start), "end": _fmt(end)},
                )
            if start < self.open or end > self.close:
                raise CalendarError(
                    _(
                        "%(day)s: break %(start)s-%(end)s is outside the opening hours "
                        "%(open)s-%(close)s."
                    ),
                    code="break_outside_hours",
                    params={
                        "day": day,
                        "start": _fmt(start),
                        "end": _fmt(end),
                        "open": _fmt(self.open),
                        "close": _fmt(self.close),
                    },
                )
        for (s1, e1), (s2, e2) in itertools.pairwise(ordered):
            if s2 < e1:
                raise CalendarError(
                    _("%(day)s: breaks %(first)s and %(second)s overlap."),
                    code="breaks_overlap",
                    params={
                        "day": day,
                        "first": f"{_fmt(s1)}-{_fmt(e1)}",
                        "second": f"{_fmt(s2)}-{_fmt(e2)}",
                    },
                )
        object.__setattr__(self, "breaks", tuple(ordered))
        if not self.segments:
            raise CalendarError(
                _("%(day)s: the breaks leave no opening time in %(open)s-%(close)s."),
                code="no_opening_time",
                params={"day": day, "open": _fmt(self.open), "close": _fmt(self.close)},
            )

    @property
    def segments(self) -> tuple[tuple[dt.time, dt.time], ...]:
        """The open stretches of the day, in order, breaks taken out."""
        segments: list[tuple[dt.time, dt.time]] = []
        cursor = self.open
        for start, end in self.breaks:
            if start > cursor:
                segments.append((cursor, start))
            cursor = max(cursor, end)
        if self.close > cursor:
            segments.append((cursor, self.close))
        return tuple(segments)

    @property
    def duration(self) -> dt.timedelta:
        base = dt.date(2000, 1, 1)
        return sum(
            (dt.datetime.combine(base, e) - dt.datetime.combine(base, s) for s, e in self.segments),
            ZERO,
        )

    @classmethod
    def parse(cls, value: Any, where: Any) -> DayHours | None:
        """From config: None (closed), "08:00-15:30", "08:00-12:00,13:00-15:30" (open stretches)
        or {"open": "08:00", "close": "15:30", "breaks": [["12:00", "13:00"]]}."""
        if value is None or isinstance(value, DayHours):
            return value
        if isinstance(value, str):
            stretches = []
            for part in value.split(","):
                bounds = part.split("-")
                if len(bounds) != 2:
                    raise CalendarError(
                        _(
                            "%(day)s: %(value)s is not opening hours; write HH:MM-HH:MM, "
                            "e.g. 08:00-15:30 or 08:00-12:00,13:00-15:30."
                        ),
                        code="invalid_hours",
                        params={"day": where, "value": repr(value)},
                    )
                stretches.append((_parse_time(bounds[0], where), _parse_time(bounds[1], where)))
            stretches.sort()
            breaks = tuple(
                (prev_end, next_start)
                for (_s, prev_end), (next_start, _e) in itertools.pairwise(stretches)
            )
            return cls(stretches[0][0], stretches[-1][1], breaks, where=where)
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {"open", "close", "breaks"})
            if unknown or "open" not in value or "close" not in value:
                raise CalendarError(
                    _(
                        "%(day)s: opening hours need the keys open and close (and optionally "
                        "breaks), not %(value)s."
                    ),
                    code="invalid_hours",
                    params={"day": where, "value": ", ".join(map(str, value)) or "{}"},
                )
            raw_breaks = value.get("breaks") or ()
            breaks = []
            for item in raw_breaks:
                if isinstance(item, str):
                    item = item.split("-")
                if not isinstance(item, list | tuple) or len(item) != 2:
                    raise CalendarError(
                        _("%(day)s: break %(value)s is not a pair of times like 12:00-13:00."),
                        code="invalid_break",
                        params={"day": where, "value": repr(item)},
                    )
                breaks.append((_parse_time(item[0], where), _parse_time(item[1], where)))
            return cls(
                _parse_time(value["open"], where),
                _parse_time(value["close"], where),
                tuple(breaks),
                where=where,
            )
        raise CalendarError(
            _("%(day)s: %(value)s is not opening hours; write HH:MM-HH:MM, e.g. 08:00-15:30."),
            code="invalid_hours",
            params={"day": where, "value": repr(value)},
        )

    def to_config(self) -> dict[str, Any]:
        return {
            "open": _fmt(self.open),
            "close": _fmt(self.close),
            "breaks": [[_fmt(s), _fmt(e)] for s, e in self.breaks],
        }

    def __str__(self) -> str:
        return ", ".join(f"{_fmt(s)}-{_fmt(e)}" for s, e in self.segments)


Week = tuple[DayHours | None, ...]


def _week(value: Mapping[Any, Any] | Iterable[Any], label: Any = None) -> Week:
    """Seven entries (Monday first) from {"mon": ..., ...} or {0: ...} or a 7-item sequence.

    A mapping gives the whole week: days it leaves out are closed.
    """
    days: list[Any] = [None] * 7
    if isinstance(value, Mapping):
        for key, hours in value.items():
            index = DAY_KEYS.index(key) if key in DAY_KEYS else key
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= 6:
                raise CalendarError(
                    _("%(key)s is not a day of the week; use %(known)s."),
                    code="unknown_day",
                    params={"key": repr(key), "known": ", ".join(DAY_KEYS)},
                )
            days[index] = hours
    else:
        days = list(value)
        if len(days) != 7:
            raise CalendarError(
                _("A week has 7 days (Monday first), not %(count)s."),
                code="invalid_week",
                params={"count": len(days)},
            )
    week = tuple(
        DayHours.parse(hours, _day_label(index, label)) for index, hours in enumerate(days)
    )
    if not any(week):
        raise CalendarError(
            _("%(week)s: the office is closed every day of the week; open at least one day."),
            code="never_open",
            params={"week": label or _("Weekly hours")},
        )
    return week


class _DayLabel:
    """Lazy "Monday" / "Monday (Ramadan)" for messages, translated when rendered."""

    def __init__(self, index: int, suffix: Any) -> None:
        self.index, self.suffix = index, suffix

    def __str__(self) -> str:
        name = str(WEEKDAYS[self.index])
        return f"{name} ({self.suffix})" if self.suffix else name


def _day_label(index: int, suffix: Any) -> _DayLabel:
    return _DayLabel(index, suffix)


def _week_config(week: Week) -> dict[str, Any]:
    return {DAY_KEYS[i]: (hours.to_config() if hours else None) for i, hours in enumerate(week)}


def _first_open(week: Week) -> DayHours:
    return next(hours for hours in week if hours)


DEFAULT_WEEK: Final[Week] = (*(DayHours(dt.time(8), dt.time(15, 30)),) * 5, None, None)
DEFAULT_RAMADAN_WEEK: Final[Week] = (
    *(DayHours(dt.time(8), dt.time(15), ((dt.time(12), dt.time(12, 30)),)),) * 4,
    DayHours(dt.time(8), dt.time(15, 30), ((dt.time(11, 30), dt.time(12, 30)),)),
    None,
    None,
)


@dataclass(frozen=True, slots=True)
class RamadanSchedule:
    """Hours during Ramadan, and which days are Ramadan.

    ``auto``: the 30 days before each Idul Fitri of the ``holidays`` package. ``periods``: exact
    (first day, last day) ranges; one replaces the automatic dates of the Ramadan it overlaps.
    """

    weekly: Week = DEFAULT_RAMADAN_WEEK
    auto: bool = True
    periods: tuple[tuple[dt.date, dt.date], ...] = ()

    def __post_init__(self) -> None:
        for start, end in self.periods:
            if end < start:
                raise CalendarError(
                    _("Ramadan period %(start)s to %(end)s ends before it starts."),
                    code="ramadan_reversed",
                    params={"start": start.isoformat(), "end": end.isoformat()},
                )
        object.__setattr__(self, "periods", tuple(sorted(self.periods)))

    def contains(self, day: dt.date) -> bool:
        for start, end in self.periods:
            if start <= day <= end:
                return True
        if not self.auto:
            return False
        auto = _auto_ramadan_containing(day)
        if auto is None:
            return False
        # An explicit period that overlaps this Ramadan replaces its automatic dates.
        return not any(s <= auto[1] and auto[0] <= e for s, e in self.periods)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RamadanSchedule:
        if not isinstance(config, Mapping):
            raise CalendarError(
                _("ramadan must be a mapping (or null for no Ramadan hours), not %(value)s."),
                code="invalid_ramadan",
                params={"value": repr(config)},
            )
        unknown = sorted(set(config) - {"weekly", "auto", "periods"})
        if unknown:
            raise CalendarError(
                _("Unknown Ramadan setting %(key)s; known settings: %(known)s."),
                code="unknown_setting",
                params={"key": ", ".join(unknown), "known": "weekly, auto, periods"},
            )
        label = _("Ramadan")
        weekly = (
            _week(config["weekly"], label)
            if config.get("weekly") is not None
            else DEFAULT_RAMADAN_WEEK
        )
        auto = _bool(config.get("auto", True), "ramadan.auto")
        periods = []
        for item in config.get("periods") or ():
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise CalendarError(
                    _("Ramadan period %(value)s is not a pair of dates [first, last]."),
                    code="invalid_ramadan",
                    params={"value": repr(item)},
                )
            periods.append(
                (_parse_date(item[0], "ramadan.periods"), _parse_date(item[1], "ramadan.periods"))
            )
        return cls(weekly, auto, tuple(periods))

    def to_config(self) -> dict[str, Any]:
        return {
            "weekly": _week_config(self.weekly),
            "auto": self.auto,
            "periods": [[s.isoformat(), e.isoformat()] for s, e in self.periods],
        }


def _bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    raise CalendarError(
        _("%(key)s must be true or false, not %(value)s."),
        code="invalid_bool",
        params={"key": key, "value": repr(value)},
    )


# --- Holidays, built once per year and process ---------------------------------------------


@dataclass(frozen=True, slots=True)
class _YearHolidays:
    public: frozenset[dt.date]
    cuti_bersama: frozenset[dt.date]
    names_id: Mapping[dt.date, str]
    names_en: Mapping[dt.date, str]
    eid_al_fitr: tuple[dt.date, ...]


_EID_NAMES: Final = frozenset({"Eid al-Fitr", "Eid al-Fitr (estimated)"})


@functools.lru_cache(maxsize=128)
def _year_holidays(year: int) -> _YearHolidays:
    categories = (holidays.PUBLIC, holidays.GOVERNMENT)
    names_en = holidays.Indonesia(years=year, categories=categories, language="en_US")
    names_id = holidays.Indonesia(years=year, categories=categories, language="id")
    public = holidays.Indonesia(years=year, categories=(holidays.PUBLIC,), language="en_US")
    cuti = holidays.Indonesia(years=year, categories=(holidays.GOVERNMENT,))
    eid = tuple(sorted(d for d in public if _EID_NAMES.intersection(public.get_list(d))))
    return _YearHolidays(
        public=frozenset(public),
        cuti_bersama=frozenset(cuti) - frozenset(public),
        names_id=dict(names_id.items()),
        names_en=dict(names_en.items()),
        eid_al_fitr=eid,
    )


@functools.lru_cache(maxsize=4096)
def _auto_ramadan_containing(day: dt.date) -> tuple[dt.date, dt.date] | None:
    """(first, last) day of the automatic Ramadan containing ``day``, if any."""
    for year in (day.year, day.year + 1):
        for eid in _year_holidays(year).eid_al_fitr:
            first, last = eid - dt.timedelta(days=RAMADAN_LENGTH_DAYS), eid - ONE_DAY
            if first <= day <= last:
                return first, last
    return None


# --- The calendar ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayInfo:
    """What a date is in a calendar: its hours (None when closed) and why."""

    date: dt.date
    hours: DayHours | None
    # regular, ramadan, extra_open, weekly_closed, public_holiday, cuti_bersama, extra_closed
    kind: str
    holiday_name_id: str = ""
    holiday_name_en: str = ""

    @property
    def is_open(self) -> bool:
        return self.hours is not None


Segment = tuple[dt.datetime, dt.datetime]  # UTC instants [start, end)
_DEFAULT_RAMADAN = RamadanSchedule()
_CONFIG_KEYS: Final = (
    "timezone",
    "weekly",
    "ramadan",
    "public_holidays",
    "cuti_bersama_open",
    "extra_closed",
    "extra_open",
)


class WorkingCalendar:
    """An office's opening hours and holidays; deadlines and working time on them."""

    __slots__ = (
        "_cache",
        "cuti_bersama_open",
        "extra_closed",
        "extra_open",
        "public_holidays",
        "ramadan",
        "tz",
        "weekly",
    )

    def __init__(
        self,
        *,
        timezone: str | zoneinfo.ZoneInfo = "Asia/Jakarta",
        weekly: Mapping[Any, Any] | Iterable[Any] | None = None,
        ramadan: RamadanSchedule | None = _DEFAULT_RAMADAN,
        public_holidays: bool = True,
        cuti_bersama_open: bool = False,
        extra_closed: Iterable[dt.date | str] = (),
        extra_open: Mapping[Any, Any] | Iterable[dt.date | str] = (),
    ) -> None:
        self.tz = _zone(timezone)
        self.weekly: Week = DEFAULT_WEEK if weekly is None else _week(weekly)
        self.ramadan = ramadan
        self.public_holidays = _bool(public_holidays, "public_holidays")
        self.cuti_bersama_open = _bool(cuti_bersama_open, "cuti_bersama_open")
        if isinstance(extra_closed, str | bytes | Mapping):
            raise CalendarError(
                _("extra_closed must be a list of dates (YYYY-MM-DD), not %(value)s."),
                code="invalid_dates",
                params={"value": repr(extra_closed)},
            )
        self.extra_closed = frozenset(_parse_date(d, "extra_closed") for d in extra_closed)
        opened: dict[dt.date, DayHours | None] = {}
        if isinstance(extra_open, Mapping):
            for key, hours in extra_open.items():
                day = _parse_date(key, "extra_open")
                opened[day] = DayHours.parse(hours, day.isoformat())
        elif isinstance(extra_open, str | bytes):
            raise CalendarError(
                _("extra_open must be a list of dates (YYYY-MM-DD), not %(value)s."),
                code="invalid_dates",
                params={"value": repr(extra_open)},
            )
        else:
            for item in extra_open:
                opened[_parse_date(item, "extra_open")] = None
        both = sorted(self.extra_closed & opened.keys())
        if both:
            raise CalendarError(
                _("%(date)s is both an extra closed date and an extra open date."),
                code="closed_and_open",
                params={"date": both[0].isoformat()},
            )
        # None: open with the weekday's (or first open weekday's) hours.
        self.extra_open: Mapping[dt.date, DayHours | None] = opened
        self._cache: dict[dt.date, tuple[DayInfo, tuple[Segment, ...], dt.timedelta]] = {}

    # -- configuration ---------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> WorkingCalendar:
        """From JSON-friendly settings (a Branch field); None or {} gives the defaults."""
        if config is None:
            return cls()
        if not isinstance(config, Mapping):
            raise CalendarError(
                _("A working calendar is a mapping of settings, not %(value)s."),
                code="invalid_config",
                params={"value": repr(config)},
            )
        unknown = sorted(set(config) - set(_CONFIG_KEYS))
        if unknown:
            raise CalendarError(
                _("Unknown calendar setting %(key)s; known settings: %(known)s."),
                code="unknown_setting",
                params={"key": ", ".join(map(str, unknown)), "known": ", ".join(_CONFIG_KEYS)},
            )
        kwargs: dict[str, Any] = {}
        for key in ("timezone", "weekly", "public_holidays", "cuti_bersama_open"):
            if config.get(key) is not None:
                kwargs[key] = config[key]
        if "ramadan" in config:
            value = config["ramadan"]
            kwargs["ramadan"] = None if value is None else RamadanSchedule.from_config(value)
        kwargs["extra_closed"] = config.get("extra_closed") or ()
        kwargs["extra_open"] = config.get("extra_open") or ()
        return cls(**kwargs)

    @classmethod
    def cached(cls, config: Mapping[str, Any] | None) -> WorkingCalendar:
        """``from_config`` shared per distinct config, so a process computing many deadlines for a
        branch reuses one calendar and its per-date cache (calendars never change once built)."""
        try:
            key = json.dumps(config, sort_keys=True, default=str)
        except (TypeError, ValueError):
            return cls.from_config(config)  # not JSON-like; from_config says what is wrong
        return _cached_calendar(key)

    def to_config(self) -> dict[str, Any]:
        return {
            "timezone": self.tz.key,
            "weekly": _week_config(self.weekly),
            "ramadan": self.ramadan.to_config() if self.ramadan else None,
            "public_holidays": self.public_holidays,
            "cuti_bersama_open": self.cuti_bersama_open,
            "extra_closed": sorted(d.isoformat() for d in self.extra_closed),
            "extra_open": {
                d.isoformat(): (hours.to_config() if hours else None)
                for d, hours in sorted(self.extra_open.items())
            },
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingCalendar):
            return NotImplemented
        return self.to_config() == other.to_config()

    def __hash__(self) -> int:
        return hash(repr(self.to_config()))

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(timezone={self.tz.key!r}, "
            f"weekly={[str(h) if h else None for h in self.weekly]!r}, "
            f"cuti_bersama_open={self.cuti_bersama_open}, ramadan={self.ramadan is not None})"
        )

    # -- days ------------------------------------------------------------------------------

    def day_info(self, day: dt.date) -> DayInfo:
        """Whether ``day`` (a local date) is open, with which hours, and why."""
        return self._day(day)[0]

    def hours_on(self, day: dt.date) -> DayHours | None:
        return self._day(day)[0].hours

    def is_working_day(self, day: dt.date) -> bool:
        return self._day(day)[0].hours is not None

    def _day(self, day: dt.date) -> tuple[DayInfo, tuple[Segment, ...], dt.timedelta]:
        try:
            return self._cache[day]
        except KeyError:
            pass
        info = self._resolve(day)
        segments: tuple[Segment, ...] = ()
        total = ZERO
        if info.hours is not None:
            segments = tuple(
                (
                    dt.datetime.combine(day, start, self.tz).astimezone(UTC),
                    dt.datetime.combine(day, end, self.tz).astimezone(UTC),
                )
                for start, end in info.hours.segments
            )
            total = sum((end - start for start, end in segments), ZERO)
        if len(self._cache) > 50_000:  # a long-running process walking decades; start afresh
            self._cache.clear()
        entry = self._cache[day] = (info, segments, total)
        return entry

    def _resolve(self, day: dt.date) -> DayInfo:
        if day in self.extra_closed:
            return DayInfo(day, None, "extra_closed")
        in_ramadan = self.ramadan is not None and self.ramadan.contains(day)
        week = self.ramadan.weekly if in_ramadan and self.ramadan else self.weekly
        if day in self.extra_open:
            hours = self.extra_open[day] or week[day.weekday()] or _first_open(week)
            return DayInfo(day, hours, "extra_open")
        year = _year_holidays(day.year)
        names = {"holiday_name_id": year.names_id.get(day, ""), "holiday_name_en": ""}
        names["holiday_name_en"] = year.names_en.get(day, "")
        if self.public_holidays and day in year.public:
            return DayInfo(day, None, "public_holiday", **names)
        if not self.cuti_bersama_open and day in year.cuti_bersama:
            return DayInfo(day, None, "cuti_bersama", **names)
        hours = week[day.weekday()]
        if hours is None:
            return DayInfo(day, None, "weekly_closed")
        return DayInfo(day, hours, "ramadan" if in_ramadan else "regular")

    # -- instants --------------------------------------------------------------------------

    def _utc(self, at: dt.datetime, name: str) -> dt.datetime:
        if not isinstance(at, dt.datetime):
            raise CalendarError(
                _("%(name)s must be a datetime, not %(value)s."),
                code="not_a_datetime",
                params={"name": name, "value": repr(at)},
            )
        if at.tzinfo is None or at.utcoffset() is None:
            raise CalendarError(
                _(
                    "%(name)s %(value)s has no timezone; pass an aware datetime "
                    "(e.g. django.utils.timezone.now())."
                ),
                code="naive_datetime",
                params={"name": name, "value": at.isoformat()},
            )
        return at.astimezone(UTC)

    def _local_date(self, utc: dt.datetime) -> dt.date:
        return utc.astimezone(self.tz).date()

    def _local(self, utc: dt.datetime) -> dt.datetime:
        return utc.astimezone(self.tz)

    def _no_opening(self, day: dt.date) -> CalendarError:
        return CalendarError(
            _("The calendar has no opening in the %(count)s days after %(date)s."),
            code="never_open",
            params={"count": MAX_CLOSED_RUN_DAYS, "date": day.isoformat()},
        )

    def is_open(self, at: dt.datetime) -> bool:
        """True when ``at`` falls in opening hours (opening instant included, closing excluded)."""
        utc = self._utc(at, "at")
        return any(start <= utc < end for start, end in self._day(self._local_date(utc))[1])

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """``at`` itself when open, else the next opening (local time)."""
        return self._local(self._next_open_utc(self._utc(at, "at")))

    def _next_open_utc(self, utc: dt.datetime) -> dt.datetime:
        day = self._local_date(utc)
        for _offset in range(MAX_CLOSED_RUN_DAYS + 1):
            for start, end in self._day(day)[1]:
                if utc < end:
                    return max(start, utc)
            day += ONE_DAY
        raise self._no_opening(self._local_date(utc))

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The deadline for "``days`` working days" from ``start`` (see the module's rule)."""
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            raise CalendarError(
                _("The number of working days must be a whole number >= 0, not %(value)s."),
                code="invalid_days",
                params={"value": repr(days)},
            )
        day = self._local_date(self._next_open_utc(self._utc(start, "start")))
        closed_run = 0
        while days:
            day += ONE_DAY
            if self._day(day)[1]:
                days -= 1
                closed_run = 0
            else:
                closed_run += 1
                if closed_run > MAX_CLOSED_RUN_DAYS:
                    raise self._no_opening(day - dt.timedelta(days=closed_run))
        return self._local(self._day(day)[1][-1][1])

    def add_working_time(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The instant at which ``duration`` of working time has passed since ``start``.

        A zero duration returns ``start`` itself; otherwise the result lies inside opening hours
        or at a closing time (when the time runs out exactly there).
        """
        utc = self._utc(start, "start")
        if not isinstance(duration, dt.timedelta) or duration < ZERO:
            raise CalendarError(
                _("The working time to add must be a duration >= 0, not %(value)s."),
                code="invalid_duration",
                params={"value": repr(duration)},
            )
        if not duration:
            return self._local(utc)
        remaining = duration
        day = self._local_date(utc)
        closed_run = 0
        while True:
            _info, segments, total = self._day(day)
            if not segments:
                closed_run += 1
                if closed_run > MAX_CLOSED_RUN_DAYS:
                    raise self._no_opening(day - dt.timedelta(days=closed_run))
            elif utc <= segments[0][0] and remaining > total:
                remaining -= total  # the whole day passes
                closed_run = 0
            else:
                closed_run = 0
                for seg_start, seg_end in segments:
                    if seg_end <= utc:
                        continue
                    begin = max(seg_start, utc)
                    available = seg_end - begin
                    if remaining <= available:
                        return self._local(begin + remaining)
                    remaining -= available
            day += ONE_DAY

    def working_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Opening time between two instants; negative when ``b`` is before ``a``."""
        ua, ub = self._utc(a, "a"), self._utc(b, "b")
        if ub < ua:
            return -self._between(ub, ua)
        return self._between(ua, ub)

    def _between(self, ua: dt.datetime, ub: dt.datetime) -> dt.timedelta:
        first, last = self._local_date(ua), self._local_date(ub)
        total = ZERO
        day = first
        while day <= last:
            _info, segments, day_total = self._day(day)
            if first < day < last:
                total += day_total
            else:
                for start, end in segments:
                    lo, hi = max(start, ua), min(end, ub)
                    if hi > lo:
                        total += hi - lo
            day += ONE_DAY
        return total

    def deadline(
        self, start: dt.datetime, working_days: int, paused: dt.timedelta = ZERO
    ) -> dt.datetime:
        """The SLA due time: ``working_days`` after ``start``, pushed back by the working time the
        clock was paused (sum ``working_time_between`` over the pauses)."""
        return self.add_working_time(self.add_working_days(start, working_days), paused)


@functools.lru_cache(maxsize=1024)
def _cached_calendar(key: str) -> WorkingCalendar:
    return WorkingCalendar.from_config(json.loads(key))


def validate_calendar_config(value: Mapping[str, Any] | None) -> None:
    """Django field validator for a JSON calendar config (e.g. a Branch field): raises the
    CalendarError (a ValidationError) that names the day and hours at fault."""
    WorkingCalendar.from_config(value)


def _zone(value: str | zoneinfo.ZoneInfo) -> zoneinfo.ZoneInfo:
    if isinstance(value, zoneinfo.ZoneInfo):
        return value
    if isinstance(value, str):
        name = TIMEZONE_ALIASES.get(value.strip().upper(), value.strip())
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    raise CalendarError(
        _(
            "%(value)s is not a known timezone; use an IANA name such as Asia/Jakarta (WIB), "
            "Asia/Makassar (WITA) or Asia/Jayapura (WIT)."
        ),
        code="unknown_timezone",
        params={"value": repr(value)},
        field="timezone",
    )
