"""The triage page: open PST tickets across branches by time left, and the walk-in wait picture.

Thin: the rules live in ``services.triage``. For helpdesk staff only (helpdesk's own decorator);
lists only what helpdesk's per-queue permissions let the user see. A bad filter value is a 400
page that names the value and lists nothing (never a 500, never a silently wider list).
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from helpdesk.decorators import helpdesk_staff_member_required

from pst_helpdesk_ext.forms import PSTFilterForm
from pst_helpdesk_ext.services.intake_pauses import pause_picture
from pst_helpdesk_ext.services.queries import date_order_error
from pst_helpdesk_ext.services.triage import (
    STATE_ORDER,
    TRIAGE_PAGE_SIZE,
    WAIT_PICTURE_MAX_DAYS,
    CountedPaginator,
    TriageFilters,
    by_time_left,
    default_wait_period,
    open_pst_tickets,
    rows_in_order,
    state_choices,
    state_counts,
    triage_rows,
    wait_picture,
)


class TriageFilterForm(PSTFilterForm):
    """Filters of the triage page; branch choices are limited to what the user may see."""

    period_fields = None  # the wait period has defaults and a longest span: ``clean`` below
    state = forms.MultipleChoiceField(
        label=_("Service clock"),
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Unknown service clock state %(value)s.")},
    )
    wait_from = forms.DateField(
        label=_("Waits from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    wait_to = forms.DateField(
        label=_("Waits until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["state"].choices = state_choices()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        today = timezone.localdate()
        default_from, default_to = default_wait_period(today)
        start = data.get("wait_from")
        end = data.get("wait_to")
        if start is None and end is None:
            start, end = default_from, default_to
        elif start is None:
            start = end - datetime.timedelta(days=6)
        elif end is None:
            end = min(start + datetime.timedelta(days=6), max(start, today))
        order_error = date_order_error(start, end)
        if order_error:
            self.add_error("wait_to", order_error)
        elif (end - start).days + 1 > WAIT_PICTURE_MAX_DAYS:
            self.add_error(
                "wait_to",
                _(
                    "The wait picture shows at most %(max)d days at once; %(start)s to %(end)s "
                    "is %(days)d days. Choose a shorter period."
                )
                % {
                    "max": WAIT_PICTURE_MAX_DAYS,
                    "start": start,
                    "end": end,
                    "days": (end - start).days + 1,
                },
            )
        data["wait_from"], data["wait_to"] = start, end
        return data

    def filters(self) -> TriageFilters:
        data = self.cleaned_data
        return TriageFilters(
            branch=data.get("branch"),
            channel=data.get("channel"),
            category=data.get("category"),
            states=tuple(data.get("state") or ()),
            wait_from=data["wait_from"],
            wait_to=data["wait_to"],
        )


@helpdesk_staff_member_required
def triage(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    if not data.get("wait_from") and not data.get("wait_to"):
        # Show the period the wait picture uses, so the date fields are never blank.
        start, end = default_wait_period(timezone.localdate())
        data["wait_from"], data["wait_to"] = start.isoformat(), end.isoformat()
    form = TriageFilterForm(data, user=request.user)
    context: dict[str, Any] = {"form": form, "state_order": STATE_ORDER}
    if not form.is_valid():
        return render(request, "pst_helpdesk_ext/triage.html", context, status=400)
    filters = form.filters()
    now = timezone.now()
    tickets = open_pst_tickets(request.user, filters)
    counts = state_counts(tickets)
    shown = tickets.filter(sla_state__in=filters.states) if filters.states else tickets
    total = sum(counts[s] for s in filters.states) if filters.states else sum(counts.values())
    ordered_ids = by_time_left(shown, now).values_list("pk", flat=True)
    paginator = CountedPaginator(ordered_ids, TRIAGE_PAGE_SIZE, count=total)
    page = paginator.get_page(request.GET.get("page"))
    branches = list(form.fields["branch"].queryset)
    query = request.GET.copy()
    query.pop("page", None)
    without_state = query.copy()
    without_state.pop("state", None)
    waits = wait_picture(branches, filters, filters.wait_from, filters.wait_to)
    context.update(
        {
            "filters": filters,
            "page": page,
            "rows": triage_rows(rows_in_order(request.user, list(page.object_list)), now),
            "counts": [(state, label, counts[state]) for state, label in state_choices()],
            "total_open": sum(counts.values()),
            "query": query.urlencode(),
            "query_without_state": without_state.urlencode(),
            "waits": waits,
            "pauses": pause_picture(waits),
            "now": now,
            "branch_choices": [("", form.fields["branch"].empty_label)]
            + [(b.code, str(b)) for b in branches],
        }
    )
    return render(request, "pst_helpdesk_ext/triage.html", context)
