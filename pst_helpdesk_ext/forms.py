"""The filter form the staff pages share (ticket list, triage, IKM report).

Days are typed dd/mm/yyyy (``DayField``; ISO yyyy-mm-dd too, as links and the API write them),
never through the browser's date picker, whose format follows the browser's language, not the
page's (docs/reports.md, "Dates on the filters").

Branch, channel and service-or-subject are chosen by code, with one wording for an unknown code
on every page, and the branch choices are only the branches whose queue the user may open
(helpdesk's per-queue permissions), so a page can never be filtered wider than the user may see.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from pst_helpdesk_ext.dates import INVALID_DAY, day_error, period_error, validate_day
from pst_helpdesk_ext.models import Channel, ServiceCategory
from pst_helpdesk_ext.services.queries import branches_for


class PSTFilterForm(forms.Form):
    """Base of the staff pages' filter forms. A page's form adds its own fields (and may drop a
    shared one by setting it to ``None``); Bootstrap classes follow each field's kind."""

    branch = forms.ModelChoiceField(
        label=_("Branch office"),
        queryset=None,
        required=False,
        to_field_name="code",
        empty_label=_("all"),
        error_messages={"invalid_choice": _("Unknown branch office %(value)s.")},
    )
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("all"),
        error_messages={"invalid_choice": _("Unknown channel %(value)s.")},
    )
    category = forms.ModelChoiceField(
        label=_("Service or subject"),
        queryset=ServiceCategory.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("all"),
        error_messages={"invalid_choice": _("Unknown service or subject %(value)s.")},
    )

    #: The (start, end) date fields whose order ``clean`` checks; ``None`` for a form that checks
    #: its period itself.
    period_fields: tuple[str, str] | None = ("date_from", "date_to")
    #: The longest period the page accepts (None: any length; ``dates.MAX_REPORT_DAYS`` for a
    #: report).
    period_max_days: int | None = None

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches_for(user)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                field.widget.attrs["class"] = "form-select form-select-sm"
            elif isinstance(field, DayField):
                field.widget.attrs["class"] = "form-control form-control-sm"
            elif isinstance(field, forms.DateField):
                field.widget.attrs["class"] = "form-control form-control-sm"
                # Every date filter refuses days no record can have (``dates``), by name.
                field.validators.append(validate_day)
                field.error_messages["invalid"] = INVALID_DAY
            elif isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.period_fields is not None:
            start_name, end_name = self.period_fields
            message = period_error(
                data.get(start_name),
                data.get(end_name),
                max_days=self.period_max_days,
                show=show_day,
            )
            if message and end_name not in self.errors:
                self.add_error(end_name, message)
        return data


def service_field() -> forms.ModelChoiceField:
    """A filter by PST service (not consultation subject), by its code."""
    return forms.ModelChoiceField(
        label=_("Service"),
        queryset=ServiceCategory.objects.filter(kind=ServiceCategory.Kind.SERVICE),
        required=False,
        to_field_name="code",
        empty_label=_("all"),
        error_messages={"invalid_choice": _("Unknown service %(value)s.")},
    )


#: How the staff filters write a day (docs/reports.md, "Dates on the filters").
DAY_FORMAT: Final = "%d/%m/%Y"
_DMY: Final = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO: Final = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DIGITS: Final = re.compile(r"(\d{2})(\d{2})(\d{4})")
#: Longer than any way of writing a day: refused before it is parsed (and shown back cut).
MAX_DAY_CHARS: Final = 20
#: How much of a refused day is shown back in its input.
KEPT_DAY_CHARS: Final = 100


def show_day(day: dt.date) -> str:
    """A day as the filters write it (dd/mm/yyyy), in their messages."""
    return day.strftime(DAY_FORMAT)


def parse_day(text: str) -> dt.date:
    """A day typed in a filter: dd/mm/yyyy (also with - or . between, or ddmmyyyy for a phone's
    number pad), or ISO yyyy-mm-dd (links, the API, a browser's date picker). ValueError if it is
    none of these or no such day."""
    text = text.strip()
    if match := _ISO.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DMY.fullmatch(text) or _DIGITS.fullmatch(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise ValueError(text)
    return dt.date(year, month, day)


def validate_typed_day(value: dt.date | None) -> None:
    """``dates.validate_day`` with the day written as the filters write it."""
    message = day_error(value, show=show_day)
    if message:
        raise ValidationError(message, code="day_out_of_range")


class DayInput(forms.TextInput):
    """A text input for a day, dd/mm/yyyy whatever the browser's language (a browser's
    ``<input type=date>`` follows the browser's locale, not the page's)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            attrs={
                "placeholder": _("dd/mm/yyyy"),
                "inputmode": "numeric",
                "autocomplete": "off",
                "maxlength": MAX_DAY_CHARS,
                "size": 10,
                **(attrs or {}),
            }
        )

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, dt.date):
            return show_day(value)
        return super().format_value(value)


class DayField(forms.DateField):
    """A filter's day: typed dd/mm/yyyy (or ISO yyyy-mm-dd), within the days PST records cover
    (``dates``); a refused value is shown back as typed, with the reason."""

    widget = DayInput
    default_error_messages = {
        "invalid": _("Enter the day as dd/mm/yyyy, for example 31/03/2026."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(validate_typed_day)

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Shown back as typed, but not a pasted page: enough to see what went wrong.
        return data[:KEPT_DAY_CHARS] if isinstance(data, str) else data

    def to_python(self, value: Any) -> dt.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = str(value)
        if len(text) > MAX_DAY_CHARS:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return parse_day(text)
        except (ValueError, OverflowError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


def date_field(label: Any, help_text: Any = "") -> forms.DateField:
    return DayField(label=label, required=False, help_text=help_text)
