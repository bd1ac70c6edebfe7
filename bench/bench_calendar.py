"""Working-calendar deadlines: mean microseconds per "n working days" deadline.

Figures (last line, JSON): ``calendar_deadline_us`` (WorkingCalendar.add_working_days, holidays
already loaded for the years involved, the per-calendar day cache cold for each pass over a fresh
calendar) and ``calendar_deadline_naive_us``, a minute-walking baseline that finds the same
deadline by stepping one minute at a time and asking ``is_open``. Both compute the same answers;
the script checks that before printing.

Run: ``python -m bench.bench_calendar [--runs N] [--days 3]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import time
from zoneinfo import ZoneInfo

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

import django

django.setup()

from bench.common import emit  # noqa: E402
from pst_helpdesk_ext.calendar import WorkingCalendar  # noqa: E402

MINUTE = dt.timedelta(minutes=1)


def naive_deadline(cal: WorkingCalendar, start: dt.datetime, days: int) -> dt.datetime:
    """The obvious way: walk minutes, count the working days seen after day 0, stop at the close
    of the n-th one. Minute-aligned starts only (the benchmark uses those)."""
    at = start.astimezone(cal.tz)
    while not cal.is_open(at):  # the clock starts at the next opening
        at += MINUTE
    day0 = at.date()
    seen = 0
    last_open: dt.datetime | None = at if days == 0 else None
    current: dt.date | None = None
    while True:
        if cal.is_open(at):
            if at.date() != day0 and at.date() != current:
                current = at.date()
                seen += 1
            if seen == days and (days == 0 or current == at.date()):
                last_open = at
        elif last_open is not None and at.date() != last_open.date():
            return last_open + MINUTE
        at += MINUTE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000, help="deadlines to time")
    parser.add_argument("--naive-runs", type=int, default=40, help="baseline deadlines to time")
    parser.add_argument("--days", type=int, default=3, help="working days per deadline")
    opts = parser.parse_args()

    rng = random.Random(20260317)
    tz = ZoneInfo("Asia/Jakarta")
    base = dt.datetime(2025, 1, 1, tzinfo=tz)
    starts = [base + rng.randrange(3 * 365 * 24 * 60) * MINUTE for _ in range(opts.runs)]
    WorkingCalendar().add_working_days(starts[0], 0)  # import-time and holiday warm-up
    for year in range(2025, 2029):
        WorkingCalendar().is_working_day(dt.date(year, 6, 1))

    # Fresh calendar per batch of 100, so most lookups pay the per-date work a new branch would.
    elapsed = 0.0
    results = []
    for batch in range(0, len(starts), 100):
        cal = WorkingCalendar()
        chunk = starts[batch : batch + 100]
        began = time.perf_counter()
        for start in chunk:
            results.append(cal.add_working_days(start, opts.days))
        elapsed += time.perf_counter() - began
    fast_us = elapsed / len(starts) * 1e6

    cal = WorkingCalendar()
    naive_starts = starts[: opts.naive_runs]
    began = time.perf_counter()
    naive = [naive_deadline(cal, start, opts.days) for start in naive_starts]
    naive_us = (time.perf_counter() - began) / len(naive_starts) * 1e6
    mismatches = [
        (s, a, b) for s, a, b in zip(naive_starts, results, naive, strict=False) if a != b
    ]
    if mismatches:
        raise SystemExit(f"baseline disagrees with WorkingCalendar: {mismatches[:3]}")

    print(f"{'deadline of ' + str(opts.days) + ' working days':<34} {'mean µs':>10}")
    print(f"{'WorkingCalendar.add_working_days':<34} {fast_us:>10.1f}")
    print(f"{'naive minute walk (baseline)':<34} {naive_us:>10.1f}  ({naive_us / fast_us:.0f}x)")
    emit(
        {
            "calendar_deadline_us": round(fast_us, 2),
            "calendar_deadline_naive_us": round(naive_us, 1),
        }
    )


if __name__ == "__main__":
    main()
