"""The filter form the staff pages share (ticket list, triage, IKM report).

Branch, channel and service-or-subject are chosen by code, with one wording for an unknown code
on every page, and the branch choices are only the branches whose queue the user may open
(helpdesk's per-queue permissions), so a page can never be filtered wider than the user may see.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pst_helpdesk_ext.dates import INVALID_DAY, period_error, validate_day
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
                data.get(start_name), data.get(end_name), max_days=self.period_max_days
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


def date_field(label: Any, help_text: Any = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=help_text,
    )
