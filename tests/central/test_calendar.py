"""The working calendar against hand-computed cases, bad configurations and properties.

Dates checked by hand against the 2026 Indonesian calendar (``holidays`` package): cuti bersama
02-16, 03-18, 03-20, 03-23, 03-24, 05-15, 05-28, 12-24; public holidays include 03-19 (Nyepi),
03-21/22 (Idul Fitri), 08-17, 12-25. Automatic Ramadan 1447: 2026-02-19 .. 2026-03-20.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pst_helpdesk_ext.calendar import (
    CalendarError,
    DayHours,
    RamadanSchedule,
    WorkingCalendar,
    validate_calendar_config,
)

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")
UTC = dt.UTC
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


def wib(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WIB)


DEFAULT = WorkingCalendar()
PUBLIC_ONLY = WorkingCalendar(cuti_bersama_open=True)


# --- The deadline rule -----------------------------------------------------------------------


def test_domain_example_cuti_bersama_closed():
    assert DEFAULT.add_working_days(wib(2026, 3, 17, 10), 3) == wib(2026, 3, 27, 15, 30)


def test_domain_example_public_holidays_only():
    assert PUBLIC_ONLY.add_working_days(wib(2026, 3, 17, 10), 3) == wib(2026, 3, 23, 15, 30)


def test_deadline_is_aware_in_the_calendar_zone():
    due = DEFAULT.add_working_days(dt.datetime(2026, 3, 17, 3, tzinfo=UTC), 3)
    assert due.tzinfo == WIB and due.utcoffset() == 7 * H


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Friday + 3 skips the weekend.
        (wib(2026, 7, 10, 10), 3, wib(2026, 7, 15, 15, 30)),
        # Saturday: the clock starts Monday 08:00, Monday is day 0.
        (wib(2026, 7, 11, 9), 3, wib(2026, 7, 16, 15, 30)),
        # Tuesday after closing: Wednesday is day 0.
        (wib(2026, 7, 14, 16), 3, wib(2026, 7, 20, 15, 30)),
        # Tuesday exactly at closing: closed, so Wednesday is day 0.
        (wib(2026, 7, 14, 15, 30), 3, wib(2026, 7, 20, 15, 30)),
        # Tuesday before opening: Tuesday is day 0.
        (wib(2026, 7, 14, 7), 3, wib(2026, 7, 17, 15, 30)),
        # Tuesday one minute before closing: still day 0.
        (wib(2026, 7, 14, 15, 29), 3, wib(2026, 7, 17, 15, 30)),
        # 0 working days: the close of day 0.
        (wib(2026, 7, 14, 10), 0, wib(2026, 7, 14, 15, 30)),
        (wib(2026, 7, 11, 10), 0, wib(2026, 7, 13, 15, 30)),
        # Independence Day (Mon 08-17) is skipped.
        (wib(2026, 8, 14, 10), 1, wib(2026, 8, 18, 15, 30)),
        # Christmas: 12-24 cuti bersama, 12-25 public holiday.
        (wib(2026, 12, 23, 10), 2, wib(2026, 12, 29, 15, 30)),
        # The complaint tiers: 14 working days across Idul Fitri 2026.
        (wib(2026, 3, 10, 9), 14, wib(2026, 4, 7, 15, 30)),
    ],
)
def test_add_working_days_hand_computed(start, days, due):
    assert DEFAULT.add_working_days(start, days) == due


def test_christmas_with_cuti_bersama_open():
    assert PUBLIC_ONLY.add_working_days(wib(2026, 12, 23, 10), 2) == wib(2026, 12, 28, 15, 30)


def test_fourteen_days_across_idul_fitri_counted_by_hand():
    # From Tue 03-10 (day 0): 11, 12, 13 (Ramadan), 16, 17, 25, 26, 27, 30, 31, 04-01, 04-02,
    # (04-03 Good Friday), 04-06, 04-07 -> the 14th working day is Tuesday 04-07.
    days = [
        d
        for d in (dt.date(2026, 3, 10) + dt.timedelta(n) for n in range(1, 40))
        if DEFAULT.is_working_day(d)
    ]
    assert days[13] == dt.date(2026, 4, 7)
    assert dt.date(2026, 4, 3) not in days


def test_pauses_shift_the_deadline_by_paused_working_time():
    start = wib(2026, 7, 14, 10)
    paused = DEFAULT.working_time_between(wib(2026, 7, 15, 14), wib(2026, 7, 16, 10))
    assert paused == dt.timedelta(hours=3, minutes=30)  # Wed 14:00-15:30 + Thu 08:00-10:00
    # Base deadline Fri 15:30; 3.5 h of working time later is Monday 11:30.
    assert DEFAULT.deadline(start, 3, paused) == wib(2026, 7, 20, 11, 30)
    assert DEFAULT.deadline(start, 3) == wib(2026, 7, 17, 15, 30)


def test_pause_over_a_weekend_costs_nothing():
    assert (
        DEFAULT.working_time_between(wib(2026, 7, 17, 15, 30), wib(2026, 7, 20, 8))
        == dt.timedelta()
    )


# --- Ramadan hours ---------------------------------------------------------------------------


def test_ramadan_week_is_the_civil_service_32_5_hours():
    # Mon 2026-03-02 .. Fri 03-06 lies inside Ramadan 1447 with no holiday.
    week = DEFAULT.working_time_between(wib(2026, 3, 2), wib(2026, 3, 7))
    assert week == dt.timedelta(hours=32, minutes=30)
    assert DEFAULT.working_time_between(wib(2026, 4, 6), wib(2026, 4, 11)) == 5 * 7.5 * H


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (wib(2026, 3, 2, 14, 59), True),  # Monday in Ramadan
        (wib(2026, 3, 2, 15, 10), False),  # closes 15:00
        (wib(2026, 3, 2, 12, 15), False),  # break 12:00-12:30
        (wib(2026, 3, 2, 12, 30), True),
        (wib(2026, 3, 6, 12, 15), False),  # Friday break 11:30-12:30
        (wib(2026, 3, 6, 11, 29), True),
        (wib(2026, 3, 6, 15, 15), True),  # Friday closes 15:30
        (wib(2026, 4, 6, 15, 10), True),  # after Ramadan: regular 15:30
        (wib(2026, 4, 6, 12, 15), True),  # regular hours have no break
        (wib(2026, 2, 18, 15, 10), True),  # the day before 1 Ramadan
        (wib(2026, 2, 19, 15, 10), False),  # 1 Ramadan 1447
        (wib(2025, 3, 3, 15, 10), False),  # Ramadan 1446 (Idul Fitri 2025-03-31)
    ],
)
def test_ramadan_hours(at, open_):
    assert DEFAULT.is_open(at) is open_


def test_ramadan_day_info():
    info = DEFAULT.day_info(dt.date(2026, 3, 2))
    assert info.kind == "ramadan" and str(info.hours) == "08:00-12:00, 12:30-15:00"
    assert DEFAULT.add_working_days(wib(2026, 3, 2, 10), 0) == wib(2026, 3, 2, 15)


def test_ramadan_deadline_ends_at_ramadan_closing():
    # Mon 03-02 + 3 -> Thu 03-05, which closes at 15:00 during Ramadan.
    assert DEFAULT.add_working_days(wib(2026, 3, 2, 10), 3) == wib(2026, 3, 5, 15)


def test_explicit_ramadan_period_replaces_automatic_dates():
    late_start = WorkingCalendar(
        ramadan=RamadanSchedule(periods=((dt.date(2026, 2, 20), dt.date(2026, 3, 20)),))
    )
    assert not DEFAULT.is_open(wib(2026, 2, 19, 15, 10))
    assert late_start.is_open(wib(2026, 2, 19, 15, 10))
    assert not late_start.is_open(wib(2026, 2, 20, 12, 0))  # Friday Ramadan break
    early = WorkingCalendar.from_config({"ramadan": {"periods": [["2026-02-18", "2026-03-19"]]}})
    assert early.day_info(dt.date(2026, 2, 18)).kind == "ramadan"


def test_no_ramadan_hours():
    cal = WorkingCalendar.from_config({"ramadan": None})
    assert cal.is_open(wib(2026, 3, 2, 15, 10))
    assert cal.day_info(dt.date(2026, 3, 2)).kind == "regular"


def test_custom_ramadan_week():
    cal = WorkingCalendar.from_config({"ramadan": {"weekly": {"mon": "09:00-14:00"}}})
    assert not cal.is_open(wib(2026, 3, 2, 8, 30))
    assert not cal.is_open(wib(2026, 3, 3, 10))  # Tuesday closed in this Ramadan week
    assert cal.add_working_days(wib(2026, 3, 2, 10), 1) == wib(2026, 3, 9, 14)


# --- Timezones -------------------------------------------------------------------------------


def test_wita_office_keeps_its_own_local_hours():
    wita = WorkingCalendar(timezone="Asia/Makassar")
    # 07:30 WIB is 08:30 WITA: open in Makassar, not yet in Jakarta.
    assert wita.is_open(wib(2026, 7, 14, 7, 30))
    assert not DEFAULT.is_open(wib(2026, 7, 14, 7, 30))
    due = wita.add_working_days(wib(2026, 7, 14, 10), 3)
    assert due == dt.datetime(2026, 7, 17, 15, 30, tzinfo=WITA)
    assert due.astimezone(UTC) == dt.datetime(2026, 7, 17, 7, 30, tzinfo=UTC)


def test_wit_office_and_the_same_instant():
    instant = dt.datetime(2026, 7, 14, 8, tzinfo=UTC)  # 15:00 WIB (open), 17:00 WIT (closed)
    wit = WorkingCalendar.from_config({"timezone": "WIT"})
    assert wit.tz.key == "Asia/Jayapura"
    assert DEFAULT.add_working_days(instant, 3) == wib(2026, 7, 17, 15, 30)
    assert wit.add_working_days(instant, 3) == dt.datetime(2026, 7, 20, 15, 30, tzinfo=WIT)
    assert wit.next_open(instant) == dt.datetime(2026, 7, 15, 8, tzinfo=WIT)


def test_a_dst_zone_counts_real_time():
    # Not an Indonesian case: Amsterdam moves from CET to CEST on Sunday 2026-03-29 at 02:00.
    ams = ZoneInfo("Europe/Amsterdam")
    cal = WorkingCalendar(
        timezone="Europe/Amsterdam", weekly={"fri": "08:00-15:30", "sun": "01:00-04:00"}
    )
    sunday = cal.working_time_between(
        dt.datetime(2026, 3, 29, tzinfo=ams), dt.datetime(2026, 3, 30, tzinfo=ams)
    )
    assert sunday == 2 * H  # 01:00 CET .. 04:00 CEST is two real hours
    assert cal.add_working_time(dt.datetime(2026, 3, 29, 1, tzinfo=ams), 90 * M) == dt.datetime(
        2026, 3, 29, 3, 30, tzinfo=ams
    )


# --- Breaks, open instants, extra dates ------------------------------------------------------

CIVIL = WorkingCalendar(
    weekly={
        "mon": {"open": "07:30", "close": "16:00", "breaks": [["12:00", "13:00"]]},
        "tue": "07:30-12:00,13:00-16:00",
        "fri": {"open": "07:30", "close": "16:30", "breaks": [["11:30", "13:00"]]},
    },
    ramadan=None,
)


def test_breaks():
    monday = dt.date(2026, 7, 13)
    assert CIVIL.hours_on(monday) == CIVIL.hours_on(monday + dt.timedelta(1))
    assert CIVIL.working_time_between(wib(2026, 7, 13, 11), wib(2026, 7, 13, 14)) == 2 * H
    assert CIVIL.add_working_time(wib(2026, 7, 13, 11, 30), H) == wib(2026, 7, 13, 13, 30)
    assert not CIVIL.is_open(wib(2026, 7, 13, 12, 30))
    assert CIVIL.next_open(wib(2026, 7, 13, 12, 30)) == wib(2026, 7, 13, 13)
    # Perpres 21/2023's week: 37.5 h... for the days configured here (Mon, Tue, Fri).
    assert CIVIL.working_time_between(wib(2026, 7, 13), wib(2026, 7, 18)) == 7.5 * 3 * H
    assert not CIVIL.is_working_day(dt.date(2026, 7, 15))  # Wednesday not configured


def test_open_and_close_instants():
    assert DEFAULT.is_open(wib(2026, 7, 14, 8))
    assert not DEFAULT.is_open(wib(2026, 7, 14, 15, 30))
    assert DEFAULT.next_open(wib(2026, 7, 14, 10)) == wib(2026, 7, 14, 10)
    assert DEFAULT.next_open(wib(2026, 7, 17, 15, 30)) == wib(2026, 7, 20, 8)
    assert DEFAULT.next_open(wib(2026, 3, 17, 16)) == wib(2026, 3, 25, 8)  # Nyepi + Lebaran


def test_add_working_time_runs_out_at_closing():
    assert DEFAULT.add_working_time(wib(2026, 7, 14, 14), 90 * M) == wib(2026, 7, 14, 15, 30)
    assert DEFAULT.add_working_time(wib(2026, 7, 14, 14), 91 * M) == wib(2026, 7, 15, 8, 1)
    assert DEFAULT.add_working_time(wib(2026, 7, 11, 14), dt.timedelta()) == wib(2026, 7, 11, 14)
    # Three full days of working time from Friday evening.
    assert DEFAULT.add_working_time(wib(2026, 7, 10, 18), 22.5 * H) == wib(2026, 7, 15, 15, 30)


def test_working_time_between_is_signed():
    a, b = wib(2026, 7, 14, 9), wib(2026, 7, 15, 9)
    assert DEFAULT.working_time_between(a, b) == 7.5 * H
    assert DEFAULT.working_time_between(b, a) == -7.5 * H


def test_extra_closed_and_open_dates():
    cal = WorkingCalendar.from_config(
        {
            "extra_closed": ["2026-07-15"],
            "extra_open": {"2026-07-18": None, "2026-07-25": "08:00-12:00", "2026-08-17": None},
        }
    )
    # Tue + 3: Wed 15 closed, Thu 16, Fri 17, and Saturday 18 opened for the day.
    assert cal.add_working_days(wib(2026, 7, 14, 10), 3) == wib(2026, 7, 18, 15, 30)
    assert cal.day_info(dt.date(2026, 7, 15)).kind == "extra_closed"
    assert cal.day_info(dt.date(2026, 7, 18)).kind == "extra_open"
    # A Saturday opened without hours gets the first open weekday's hours.
    assert cal.hours_on(dt.date(2026, 7, 18)) == DayHours(dt.time(8), dt.time(15, 30))
    assert cal.add_working_days(wib(2026, 7, 24, 10), 1) == wib(2026, 7, 25, 12)
    # A public holiday kept open gets its weekday's hours.
    assert cal.hours_on(dt.date(2026, 8, 17)) == DayHours(dt.time(8), dt.time(15, 30))
    # A list of dates works too.
    listed = WorkingCalendar(extra_open=["2026-07-18"], extra_closed=[dt.date(2026, 7, 15)])
    assert listed.is_open(wib(2026, 7, 18, 9)) and not listed.is_open(wib(2026, 7, 15, 9))


def test_holiday_names_in_both_languages():
    info = DEFAULT.day_info(dt.date(2026, 8, 17))
    assert info.kind == "public_holiday" and not info.is_open
    assert info.holiday_name_en == "Independence Day"
    assert "Kemerdekaan" in info.holiday_name_id
    assert DEFAULT.day_info(dt.date(2026, 3, 18)).kind == "cuti_bersama"
    assert DEFAULT.day_info(dt.date(2026, 7, 18)).kind == "weekly_closed"


def test_public_holidays_can_be_ignored():
    cal = WorkingCalendar(public_holidays=False, cuti_bersama_open=True)
    assert cal.is_open(wib(2026, 8, 17, 9))


# --- Configuration ---------------------------------------------------------------------------


def test_defaults_and_config_round_trip():
    assert WorkingCalendar.from_config(None) == WorkingCalendar.from_config({}) == DEFAULT
    config = CIVIL.to_config()
    assert json.loads(json.dumps(config)) == config
    assert WorkingCalendar.from_config(config) == CIVIL
    full = WorkingCalendar.from_config(
        {
            "timezone": "WITA",
            "cuti_bersama_open": True,
            "extra_closed": ["2026-07-15"],
            "extra_open": {"2026-07-18": "08:00-12:00"},
            "ramadan": {"periods": [["2026-02-19", "2026-03-20"]], "auto": False},
        }
    )
    assert WorkingCalendar.from_config(json.loads(json.dumps(full.to_config()))) == full
    assert full.to_config()["timezone"] == "Asia/Makassar"
    assert hash(full) == hash(WorkingCalendar.from_config(full.to_config()))
    assert DEFAULT.to_config()["weekly"]["sat"] is None
    assert "Asia/Jakarta" in repr(DEFAULT)


def test_cached_calendars_are_shared_per_config():
    config = {"timezone": "Asia/Makassar", "extra_closed": ["2026-07-15"]}
    first = WorkingCalendar.cached(config)
    assert first is WorkingCalendar.cached(dict(reversed(config.items())))
    assert first == WorkingCalendar.from_config(config)
    assert WorkingCalendar.cached(None) is WorkingCalendar.cached(None) == DEFAULT
    with pytest.raises(CalendarError):
        WorkingCalendar.cached({"timezone": "Nowhere/Town"})


def test_config_validator_for_a_model_field():
    from django import forms

    class BranchForm(forms.Form):
        calendar = forms.JSONField(validators=[validate_calendar_config])

    form = BranchForm({"calendar": '{"weekly": {"fri": "15:30-08:00"}}'})
    with translation.override("en"):
        assert not form.is_valid()
        assert form.errors["calendar"] == [
            "Friday: closing time 08:00 is not after opening time 15:30."
        ]
    assert BranchForm({"calendar": '{"timezone": "WITA"}'}).is_valid()


def test_time_with_a_dot_is_accepted():
    cal = WorkingCalendar(weekly={"mon": "08.00-15.30"})
    assert cal.hours_on(dt.date(2026, 7, 13)) == DayHours(dt.time(8), dt.time(15, 30))


def error(config) -> CalendarError:
    with pytest.raises(CalendarError) as caught:
        WorkingCalendar.from_config(config)
    assert isinstance(caught.value, ValueError)
    return caught.value


@pytest.mark.parametrize(
    ("config", "code", "fragments"),
    [
        ({"weekly": {"mon": "15:30-08:00"}}, "close_before_open", ["Monday", "15:30", "08:00"]),
        (
            {"weekly": {"tue": {"open": "08:00", "close": "08:00"}}},
            "close_before_open",
            ["Tuesday", "08:00"],
        ),
        (
            {
                "weekly": {
                    "wed": {
                        "open": "08:00",
                        "close": "16:00",
                        "breaks": [["12:00", "13:00"], ["12:30", "13:30"]],
                    }
                }
            },
            "breaks_overlap",
            ["Wednesday", "12:00-13:00", "12:30-13:30"],
        ),
        (
            {
                "weekly": {
                    "thu": {"open": "08:00", "close": "15:30", "breaks": [["15:00", "16:00"]]}
                }
            },
            "break_outside_hours",
            ["Thursday", "15:00-16:00", "08:00-15:30"],
        ),
        (
            {"weekly": {"fri": {"open": "08:00", "close": "15:30", "breaks": ["13:00-12:00"]}}},
            "break_reversed",
            ["Friday", "13:00-12:00"],
        ),
        (
            {
                "weekly": {
                    "mon": {"open": "08:00", "close": "12:00", "breaks": [["08:00", "12:00"]]}
                }
            },
            "no_opening_time",
            ["Monday", "08:00-12:00"],
        ),
        ({"timezone": "Asia/Jakartaa"}, "unknown_timezone", ["Asia/Jakartaa", "Asia/Makassar"]),
        ({"timezone": 7}, "unknown_timezone", ["7"]),
        ({"weekly": {"mon": "8-15"}}, "invalid_time", ["Monday", "8"]),
        ({"weekly": {"mon": "25:00-26:00"}}, "invalid_time", ["Monday", "25:00"]),
        ({"weekly": {"mon": "08:00"}}, "invalid_hours", ["Monday", "08:00"]),
        ({"weekly": {"mon": 8}}, "invalid_hours", ["Monday"]),
        ({"weekly": {"mon": {"open": "08:00"}}}, "invalid_hours", ["Monday", "open"]),
        ({"weekly": {"funday": "08:00-15:00"}}, "unknown_day", ["funday", "mon"]),
        ({"weekly": {}}, "never_open", ["closed every day"]),
        ({"weekly": {"sat": None}}, "never_open", ["closed every day"]),
        (
            {"ramadan": {"weekly": {"mon": "14:00-09:00"}}},
            "close_before_open",
            ["Monday (Ramadan)", "14:00", "09:00"],
        ),
        ({"ramadan": {"periods": [["2026-03-20", "2026-02-19"]]}}, "ramadan_reversed", ["2026"]),
        ({"ramadan": {"periods": ["2026-02-19"]}}, "invalid_ramadan", ["2026-02-19"]),
        ({"ramadan": {"length": 29}}, "unknown_setting", ["length"]),
        ({"ramadan": "yes"}, "invalid_ramadan", ["yes"]),
        ({"ramadan": {"auto": "no"}}, "invalid_bool", ["ramadan.auto", "no"]),
        ({"extra_closed": ["2026-13-01"]}, "invalid_date", ["extra_closed", "2026-13-01"]),
        ({"extra_closed": "2026-07-01"}, "invalid_dates", ["extra_closed"]),
        (
            {"extra_closed": ["2026-07-15"], "extra_open": ["2026-07-15"]},
            "closed_and_open",
            ["2026-07-15"],
        ),
        ({"extra_open": {"2026-07-18": "12:00-08:00"}}, "close_before_open", ["2026-07-18"]),
        ({"cuti_bersama_open": "yes"}, "invalid_bool", ["cuti_bersama_open"]),
        ({"hours": {}}, "unknown_setting", ["hours", "weekly"]),
        ([1, 2], "invalid_config", ["[1, 2]"]),
    ],
)
def test_invalid_calendar_is_refused_with_a_clear_message(config, code, fragments):
    err = error(config)
    assert err.code == code
    with translation.override("en"):
        message = str(err)
        for fragment in fragments:
            assert fragment in message, message
        # Django's forms and checks read the same message from the ValidationError side.
        assert err.messages == [message]


def test_messages_are_translated():
    err = error({"weekly": {"mon": "15:30-08:00"}})
    with translation.override("id"):
        assert "Senin" in str(err)
    with translation.override("en"):
        assert "Monday" in str(err)


def test_timezone_error_names_the_field():
    assert error({"timezone": "Mars/Olympus"}).field == "timezone"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: DEFAULT.add_working_days(dt.datetime(2026, 7, 14, 10), 3), "naive_datetime"),
        (lambda: DEFAULT.is_open(dt.date(2026, 7, 14)), "not_a_datetime"),
        (lambda: DEFAULT.add_working_days(wib(2026, 7, 14), -1), "invalid_days"),
        (lambda: DEFAULT.add_working_days(wib(2026, 7, 14), 1.5), "invalid_days"),
        (lambda: DEFAULT.add_working_days(wib(2026, 7, 14), True), "invalid_days"),
        (lambda: DEFAULT.add_working_time(wib(2026, 7, 14), -H), "invalid_duration"),
        (lambda: DEFAULT.add_working_time(wib(2026, 7, 14), 3), "invalid_duration"),
        (lambda: DEFAULT.working_time_between(wib(2026, 7, 14), "now"), "not_a_datetime"),
    ],
)
def test_bad_arguments(call, code):
    with pytest.raises(CalendarError) as caught:
        call()
    assert caught.value.code == code


def test_a_calendar_closed_for_good_fails_instead_of_looping():
    closed = [dt.date(2026, 1, 1) + dt.timedelta(n) for n in range(800)]
    cal = WorkingCalendar(extra_closed=closed)
    with pytest.raises(CalendarError) as caught:
        cal.add_working_days(wib(2026, 1, 1), 1)
    assert caught.value.code == "never_open"
    with pytest.raises(CalendarError):
        cal.next_open(wib(2026, 1, 1))
    with pytest.raises(CalendarError):
        cal.add_working_time(wib(2026, 1, 1), H)


# --- Properties ------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=dt.timedelta(), max_value=dt.timedelta(hours=400))
CALENDARS = [DEFAULT, PUBLIC_ONLY, CIVIL, WorkingCalendar(timezone="Asia/Jayapura")]
calendars = st.sampled_from(CALENDARS)
fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(calendars, instants, durations)
def test_adding_working_time_is_measured_back_exactly(cal, a, d):
    end = cal.add_working_time(a, d)
    assert cal.working_time_between(a, end) == d
    assert end >= a


@fast
@given(calendars, instants, instants, instants)
def test_working_time_is_additive_and_antisymmetric(cal, a, b, c):
    a, b, c = sorted((a, b, c))
    ab, bc = cal.working_time_between(a, b), cal.working_time_between(b, c)
    assert ab + bc == cal.working_time_between(a, c)
    assert cal.working_time_between(c, a) == -(ab + bc)
    assert ab >= dt.timedelta()


@fast
@given(calendars, instants, st.integers(min_value=0, max_value=40))
def test_deadline_is_the_close_of_the_nth_working_day(cal, a, n):
    due = cal.add_working_days(a, n)
    assert due.tzinfo == cal.tz
    assert cal.is_open(due - dt.timedelta(microseconds=1)) and not cal.is_open(due)
    day0 = cal.next_open(a).date()
    between = [
        day0 + dt.timedelta(k)
        for k in range(1, (due.date() - day0).days)
        if cal.is_working_day(day0 + dt.timedelta(k))
    ]
    assert len(between) == max(n - 1, 0)
    assert (due.date() == day0) == (n == 0)
    assert cal.add_working_days(a, n + 1) > due


@fast
@given(calendars, instants, instants, st.integers(min_value=0, max_value=10))
def test_later_start_never_gives_earlier_deadline(cal, a, b, n):
    a, b = sorted((a, b))
    assert cal.add_working_days(a, n) <= cal.add_working_days(b, n)


@fast
@given(calendars, instants)
def test_next_open_is_the_first_open_instant(cal, a):
    nxt = cal.next_open(a)
    assert nxt >= a and cal.is_open(nxt)
    assert cal.working_time_between(a, nxt) == dt.timedelta()
    assert (nxt == a) == cal.is_open(a)


minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def random_day_hours(draw):
    if draw(st.booleans()):
        return None
    a, b = sorted(draw(st.lists(minutes, min_size=2, max_size=2, unique=True)))
    hours = {"open": f"{a // 60:02d}:{a % 60:02d}", "close": f"{b // 60:02d}:{b % 60:02d}"}
    if b - a >= 3 and draw(st.booleans()):
        s, e = sorted(
            draw(st.lists(st.integers(a + 1, b - 1), min_size=2, max_size=2, unique=True))
        )
        hours["breaks"] = [[f"{s // 60:02d}:{s % 60:02d}", f"{e // 60:02d}:{e % 60:02d}"]]
    return hours


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(random_day_hours(), min_size=7, max_size=7),
    st.sampled_from(["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]),
    st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 28)),
    st.integers(min_value=0, max_value=3 * 24 * 60),
)
def test_random_calendars_agree_with_counting_minutes(week, zone, start, span):
    assume(any(week))
    cal = WorkingCalendar(weekly=week, timezone=zone, ramadan=None)
    a = start.replace(second=0, microsecond=0, tzinfo=cal.tz)
    b = a + span * M
    counted = sum(cal.is_open(a + k * M) for k in range(span))
    assert cal.working_time_between(a, b) == counted * M
