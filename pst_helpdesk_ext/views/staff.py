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

from pst_helpdesk_ext.dates import MAX_REPORT_DAYS
from pst_helpdesk_ext.forms import PSTFilterForm, date_field, service_field
from pst_helpdesk_ext.models import Visit
from pst_helpdesk_ext.services import exports, list_exports
from pst_helpdesk_ext.services.queries import (
    WALK_IN_WAIT_STANDARD,
    TicketFilters,
    branches_for,
    filter_pst_tickets,
    pst_tickets_for,
    ticket_status_choices,
    visits_for,
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
    date_from = date_field(_("Created from"))
    date_to = date_field(_("Created until"))

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


def export_errors(request: HttpRequest) -> list[str]:
    """Why the download options asked for were refused (empty when none was asked or all good)."""
    if not request.GET.get("format"):
        return []
    export = exports.ExportForm(request.GET)
    if export.is_valid():
        return []
    return [str(e) for errors in export.errors.values() for e in errors]


def _filter_text(field: forms.Field, value: Any) -> str:
    """A filter's value as the page showed it (a choice's label, not its code)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
        labels = dict(field.choices)
        values = [labels.get(v, v) for v in values]
    return ", ".join(str(v) for v in values)


def _download(
    request: HttpRequest, what: str, form: forms.Form, queryset: Any, make_table: Any
) -> HttpResponse | None:
    """The list as a download when ``format`` is asked for and the filters are good; None for
    the HTML page (which shows why a download was refused: ``export_errors``).

    Personal data is masked unless the user has the permission and asked (``personal=1``); an
    unmasked download is recorded before it starts."""
    export = exports.ExportForm(request.GET)
    if not request.GET.get("format"):
        return None
    if not export.is_valid() or not form.is_valid():
        # Refused: the list page answers (400) with the reasons beside the filters as typed.
        return None
    personal = request.GET.get("personal") == "1"
    if personal and not list_exports.may_see_personal_data(request.user):
        return HttpResponse(
            _(
                "You may not download personal data: ask an administrator for the permission "
                '"Can view visitor", or download without personal data.'
            ),
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    labels = {
        str(form.fields[name].label): _filter_text(form.fields[name], value)
        for name, value in form.cleaned_data.items()
        if value not in (None, "", [], ()) and name in form.fields
    }
    stem = list_exports.download_stem(what, form.cleaned_data)
    fmt = export.cleaned_data["format"]
    if personal:
        list_exports.log_personal_data_export(request.user, what, labels, fmt, queryset.count())
    table = make_table(queryset, personal=personal, filters=labels, name=stem)
    return exports.response(request, table, fmt, export.dialect())


@helpdesk_staff_member_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    form = TicketFilterForm(request.GET or None, user=request.user)
    tickets = pst_tickets_for(request.user)
    if form.is_bound and form.is_valid():
        tickets = filter_pst_tickets(tickets, form.filters())
    elif form.is_bound:
        tickets = tickets.none()
    download = _download(request, "tickets", form, tickets, list_exports.tickets_table)
    if download is not None:
        return download
    page = Paginator(tickets, TICKETS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    for name in ("page", "format", "sep", "decimal", "personal"):
        query.pop(name, None)
    refused = export_errors(request)
    return render(
        request,
        "pst_helpdesk_ext/ticket_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "may_see_personal_data": list_exports.may_see_personal_data(request.user),
            "wait_standard_seconds": int(WALK_IN_WAIT_STANDARD.total_seconds()),
            "export_errors": refused,
        },
        status=400 if refused or (form.is_bound and not form.is_valid()) else 200,
    )


VISITS_PER_PAGE = 50


class VisitFilterForm(PSTFilterForm):
    """The walk-in visit list's filters: branch, service, service days, outcome."""

    field_order = ("branch", "service", "date_from", "date_to", "outcome")
    channel = None
    category = None
    period_max_days = MAX_REPORT_DAYS
    service = service_field()
    date_from = date_field(_("Service day from"))
    date_to = date_field(_("Until"))
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("", _("all")), *Visit.Outcome.choices],
        required=False,
        error_messages={"invalid_choice": _("Unknown outcome %(value)s.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].widget.attrs["class"] = "form-select form-select-sm"

    def narrow(self, visits: Any) -> Any:
        data = self.cleaned_data
        if data.get("branch") is not None:
            visits = visits.filter(branch=data["branch"])
        if data.get("service") is not None:
            visits = visits.filter(service=data["service"])
        if data.get("date_from"):
            visits = visits.filter(service_day__gte=data["date_from"])
        if data.get("date_to"):
            visits = visits.filter(service_day__lte=data["date_to"])
        if data.get("outcome"):
            visits = visits.filter(outcome=data["outcome"])
        return visits


@helpdesk_staff_member_required
def visit_list(request: HttpRequest) -> HttpResponse:
    """Walk-in visits and their guest-book entries (masked), with downloads."""
    form = VisitFilterForm(request.GET or None, user=request.user)
    visits = visits_for(request.user).select_related("guestbook", "guestbook__visitor")
    if form.is_bound and form.is_valid():
        visits = form.narrow(visits)
    elif form.is_bound:
        visits = visits.none()
    download = _download(request, "visits", form, visits, list_exports.visits_table)
    if download is not None:
        return download
    page = Paginator(visits, VISITS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    for name in ("page", "format", "sep", "decimal", "personal"):
        query.pop(name, None)
    refused = export_errors(request)
    return render(
        request,
        "pst_helpdesk_ext/visit_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "may_see_personal_data": list_exports.may_see_personal_data(request.user),
            "mask_name": list_exports.mask_name,
            "export_errors": refused,
        },
        status=400 if refused or (form.is_bound and not form.is_valid()) else 200,
    )
