"""Staff report page: satisfaction index (IKM), walk-in volumes and waits, with downloads.

Thin: numbers come from ``services.reports.build_report`` (the exports, API and command render
the same report), charts from ``charts``. Staff only (helpdesk's decorator), and only what
helpdesk's per-queue permissions let the user see.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from helpdesk.decorators import helpdesk_staff_member_required

from pst_helpdesk_ext import charts
from pst_helpdesk_ext.dates import MAX_REPORT_DAYS
from pst_helpdesk_ext.forms import PSTFilterForm
from pst_helpdesk_ext.models import ServiceCategory
from pst_helpdesk_ext.services import reports

FORMATS = ("html", "csv", "xlsx", "json")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportFilterForm(PSTFilterForm):
    """The IKM report's filters: by PST service (not subject), and a download format."""

    field_order = ("branch", "service", "channel")
    category = None
    period_max_days = MAX_REPORT_DAYS
    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=ServiceCategory.objects.filter(kind=ServiceCategory.Kind.SERVICE),
        required=False,
        to_field_name="code",
        empty_label=_("all"),
        error_messages={"invalid_choice": _("Unknown service %(value)s.")},
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    format = forms.ChoiceField(
        choices=[(f, f) for f in FORMATS],
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("Unknown format %(value)s; use csv, xlsx or json.")},
    )

    def filters(self) -> reports.ReportFilters:
        return reports.ReportFilters.from_data(self.cleaned_data)


def download_name(report: reports.IkmReport, extension: str) -> str:
    parts = ["ikm"]
    filters = report.filters
    if filters.branch:
        parts.append(filters.branch.code)
    if filters.date_from:
        parts.append(filters.date_from.isoformat())
    if filters.date_to:
        parts.append(filters.date_to.isoformat())
    return "-".join(parts) + "." + extension


@helpdesk_staff_member_required
def ikm_report(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return render(
            request, "pst_helpdesk_ext/report_ikm.html", {"form": form, "report": None}, status=400
        )
    filters = form.filters() if form.is_bound else reports.ReportFilters()
    report = reports.build_report(filters, request.user)
    fmt = (form.cleaned_data.get("format") if form.is_bound else "") or "html"
    if fmt == "csv":
        response = HttpResponse(reports.report_csv(report), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(reports.report_xlsx(report), content_type=XLSX)
    elif fmt == "json":
        from django.http import JsonResponse

        return JsonResponse(reports.report_json(report), json_dumps_params={"ensure_ascii": False})
    else:
        query = request.GET.copy()
        query.pop("format", None)
        return render(
            request,
            "pst_helpdesk_ext/report_ikm.html",
            {
                "form": form,
                "report": report,
                "query": query.urlencode(),
                "element_chart": charts.element_bars(report.overall.ikm),
                "trend_chart": charts.trend_line([(g.code, g.ikm.index) for g in report.months]),
                "grades": charts.GRADE_COLOURS,
            },
        )
    response["Content-Disposition"] = f'attachment; filename="{download_name(report, fmt)}"'
    return response
