"""Plugin pages inside the helpdesk UI. Thin: queries and rules live in ``services.queries``.

Every page is for helpdesk staff (helpdesk's own ``helpdesk_staff_member_required``) and lists only
what helpdesk's per-queue permissions let the user see.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from helpdesk.decorators import helpdesk_staff_member_required

from pst_helpdesk_ext.models import Channel, ServiceCategory
from pst_helpdesk_ext.services.queries import (
    WALK_IN_WAIT_STANDARD,
    TicketFilters,
    branches_for,
    filter_pst_tickets,
    pst_tickets_for,
    ticket_status_choices,
)

TICKETS_PER_PAGE = 25


class TicketFilterForm(forms.Form):
    """The filters of the PST ticket list; choices are limited to what the user may see."""

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
    status = forms.TypedMultipleChoiceField(
        label=_("Status"),
        choices=(),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Unknown status %(value)s.")},
    )
    date_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Created until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches_for(user)
        self.fields["status"].choices = ticket_status_choices()
        for name in ("branch", "channel", "category"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
        for name in ("date_from", "date_to"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-sm"
        self.fields["status"].widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error(
                "date_to",
                _("%(end)s is before the start date %(start)s.") % {"end": end, "start": start},
            )
        return data

    def filters(self) -> TicketFilters:
        data = self.cleaned_data
        return TicketFilters(
            branch=data.get("branch"),
            channel=data.get("channel"),
            category=data.get("category"),
            statuses=tuple(data.get("status") or ()),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


@helpdesk_staff_member_required
def overview(request: HttpRequest) -> HttpResponse:
    return render(
        request, "pst_helpdesk_ext/overview.html", {"branches": branches_for(request.user)}
    )


@helpdesk_staff_member_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    form = TicketFilterForm(request.GET or None, user=request.user)
    tickets = pst_tickets_for(request.user)
    if form.is_bound and form.is_valid():
        tickets = filter_pst_tickets(tickets, form.filters())
    elif form.is_bound:
        tickets = tickets.none()
    page = Paginator(tickets, TICKETS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "pst_helpdesk_ext/ticket_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "wait_standard_seconds": int(WALK_IN_WAIT_STANDARD.total_seconds()),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )
