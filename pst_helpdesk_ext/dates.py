"""The days a staff filter or report may be asked about, checked once for every page and API.

Every date filter of the staff pages (``forms.PSTFilterForm``) and of the PST API
(``api.filters.BranchScopedSerializer``) gets ``validate_day``: a day must lie between
``EARLIEST_DAY`` and a year after today. Year 1 or 9999 is never a PST service day, and such
days overflow the period arithmetic downstream (the day after 9999-12-31 does not exist), so
they are refused where they come in, as a form error or a 400 naming the field. A period that
ends before it starts, or is longer than a report's limit, is refused the same way
(``period_error``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

#: No PST record is older (the service and its statistics began long after).
EARLIEST_DAY: Final = dt.date(2000, 1, 1)
#: A period may end this far after today (a report for the rest of the year, a future appointment).
DAYS_AHEAD: Final = 366
#: The longest period one report covers (ask for several, if needed).
MAX_REPORT_DAYS: Final = 3 * 366

INVALID_DAY: Final = gettext_lazy("Enter the day as YYYY-MM-DD, for example 2026-03-31.")


def latest_day(today: dt.date | None = None) -> dt.date:
    return (today or timezone.localdate()) + dt.timedelta(days=DAYS_AHEAD)


def day_error(
    value: dt.date | None, *, show: Callable[[dt.date], str] = dt.date.isoformat
) -> str | None:
    """Why no PST record can have the day ``value`` (None when one can), the days written by
    ``show`` (ISO for the API, dd/mm/yyyy for the staff filters)."""
    if value is None:
        return None
    latest = latest_day()
    if EARLIEST_DAY <= value <= latest:
        return None
    return _(
        "%(value)s is outside the days PST records cover; give a day from %(first)s to %(last)s."
    ) % {"value": show(value), "first": show(EARLIEST_DAY), "last": show(latest)}


def validate_day(value: dt.date | None) -> None:
    """Refuse a day no PST record can have (a validator for date fields)."""
    message = day_error(value)
    if message:
        raise ValidationError(message, code="day_out_of_range")


def period_error(
    start: dt.date | None,
    end: dt.date | None,
    *,
    max_days: int | None = None,
    show: Callable[[dt.date], str] = dt.date.isoformat,
) -> str | None:
    """Why the period ``start``..``end`` cannot be reported on (None when it can): it ends before
    it starts, or it is longer than ``max_days``. Days are written by ``show``."""
    if start and end and start > end:
        return _("%(end)s is before the start date %(start)s.") % {
            "end": show(end),
            "start": show(start),
        }
    if max_days and start and end and (end - start).days + 1 > max_days:
        return _(
            "The period %(start)s to %(end)s is %(days)d days; a report covers at most %(max)d. "
            "Choose a shorter period (several reports, if needed)."
        ) % {
            "start": show(start),
            "end": show(end),
            "days": (end - start).days + 1,
            "max": max_days,
        }
    return None
