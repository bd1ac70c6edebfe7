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

from pst_helpdesk_ext.forms import PSTFilterForm
from pst_helpdesk_ext.services.queries import (
    WALK_IN_WAIT_STANDARD,
    TicketFilters,
    branches_for,
    filter_pst_tickets,
    pst_tickets_for,
    ticket_status_choices,
)

TICKETS_PER_PAGE = 25


class TicketFilterForm(PSTFilterForm):
    """The filters of the PST ticket list; choices are limited to what the user may see."""

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
        super().__init__(*args, user=user, **kwargs)
        self.fields["status"].choices = ticket_status_choices()

    def filters(self) -> TicketFilters:
        return TicketFilters.from_data(self.cleaned_data)


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
