"""Staff report pages: satisfaction index (IKM), walk-in volumes and waits, service standards
(SLA) compliance and breaches, with downloads.

Thin: numbers come from ``services.reports.build_report`` (the exports, API and command render
the same report), charts from ``charts``. Staff only (helpdesk's decorator), and only what
helpdesk's per-queue permissions let the user see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from helpdesk.decorators import helpdesk_staff_member_required

from pst_helpdesk_ext import charts
from pst_helpdesk_ext.dates import MAX_REPORT_DAYS, period_error
from pst_helpdesk_ext.forms import PSTFilterForm, date_field, service_field, show_day
from pst_helpdesk_ext.ikm import ELEMENTS
from pst_helpdesk_ext.services import data_needs, exports, reports, service_times, sla_page
from pst_helpdesk_ext.services.queries import visits_for

FORMATS = ("html", "csv", "xlsx", "json")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportFilterForm(PSTFilterForm):
    """The IKM report's filters: by PST service (not subject), and a download format."""

    field_order = ("branch", "service", "channel")
    category = None
    period_max_days = MAX_REPORT_DAYS
    service = service_field()
    date_from = date_field(_("From"))
    date_to = date_field(_("Until"))
    format = forms.ChoiceField(
        choices=[(f, f) for f in FORMATS],
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("Unknown format %(value)s; use csv, xlsx or json.")},
    )

    def filters(self) -> reports.ReportFilters:
        return reports.ReportFilters.from_data(self.cleaned_data)


def download_name(report: reports.IkmReport, extension: str) -> str:
    """``pst-ikm-2026-01-01_2026-03-31.xlsx`` (``exports.file_stem``: branch and period)."""
    filters = report.filters
    stem = exports.file_stem("ikm", filters.date_from, filters.date_to, branch=filters.branch)
    return f"{stem}.{extension}"


@helpdesk_staff_member_required
def ikm_report(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET or None, user=request.user)
    if form.is_bound and not form.is_valid():
        return render(
            request, "pst_helpdesk_ext/report_ikm.html", {"form": form, "report": None}, status=400
        )
    options = request.GET.copy()
    options.pop("format", None)  # the page's own field (it also knows "html")
    export = exports.ExportForm(options)
    if not export.is_valid():
        return render(
            request,
            "pst_helpdesk_ext/report_ikm.html",
            {"form": form, "export": export, "report": None},
            status=400,
        )
    filters = form.filters() if form.is_bound else reports.ReportFilters()
    report = reports.build_report(filters, request.user)
    fmt = (form.cleaned_data.get("format") if form.is_bound else "") or "html"
    if fmt == "csv":
        # For the reader's spreadsheet: Indonesian gets semicolons and decimal commas unless the
        # link asks otherwise (``pst_ikm_report`` keeps comma and point for statistics tools).
        table = exports.Table(
            name=download_name(report, "csv").removesuffix(".csv"),
            title=str(_("Satisfaction index (IKM)")),
            columns=[
                exports.Column(str(i), label) for i, label in enumerate(reports.table_header())
            ],
            rows=reports.table_rows(report),
        )
        return exports.response(request, table, "csv", export.dialect())
    elif fmt == "xlsx":
        response = HttpResponse(reports.report_xlsx(report), content_type=XLSX)
    elif fmt == "json":
        from django.http import JsonResponse

        # A download like the other formats (the same data is at /api/pst/reports/ikm/).
        response = JsonResponse(
            reports.report_json(report), json_dumps_params={"ensure_ascii": False}
        )
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
                "dialect": exports.CsvDialect.for_language(),
                "elements": ELEMENTS,
            },
        )
    response["Content-Disposition"] = f'attachment; filename="{download_name(report, fmt)}"'
    return response


SLA_GROUPS = ("branch", "channel", "category", "officer")


def page_query(params: Any, cleaned: dict[str, Any]) -> Any:
    """The query string of what the page shows, for its download links: the filters as given
    (defaults filled in, so a download holds exactly the period on screen), no download options."""
    query = params.copy()
    for name in ("format", "download", "sep", "decimal"):
        query.pop(name, None)
    query["date_from"], query["date_to"] = cleaned["start"].isoformat(), cleaned["end"].isoformat()
    return query


class PeriodReportForm(PSTFilterForm):
    """A report's filters with a period that defaults to the ``default_days`` before today.

    ``cleaned_data`` gains ``start`` and ``end`` (the days reported on); ``filter_labels`` gives
    the filters as a download's method sheet prints them (labels and names, not codes)."""

    period_max_days = MAX_REPORT_DAYS
    default_days = 30
    label_fields: tuple[str, ...] = ("branch", "channel", "category")
    date_to = date_field(_("Until"), _("Default: today."))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        end = data.get("date_to") or timezone.localdate()
        start = data.get("date_from") or end - dt.timedelta(days=self.default_days)
        data["start"], data["end"] = start, end
        if not self.errors:
            message = period_error(start, end, max_days=MAX_REPORT_DAYS, show=show_day)
            if message:
                self.add_error("date_to" if data.get("date_to") else "date_from", message)
        return data

    def filter_labels(self) -> dict[str, str]:
        data = self.cleaned_data
        labels = {str(_("Period")): f"{data['start'].isoformat()} – {data['end'].isoformat()}"}
        for name in self.label_fields:
            if name in self.fields and data.get(name) is not None:
                labels[str(self.fields[name].label)] = str(data[name])
        return labels


class SLAReportForm(PeriodReportForm):
    """The SLA report's filters: what the API takes, as a form with labels."""

    field_order = ("branch", "channel", "category", "date_from", "date_to", "group", "period")
    category = service_field()
    date_from = date_field(_("Clocks started from"), _("Default: 30 days before the end."))
    group = forms.MultipleChoiceField(
        label=_("Per"),
        choices=[
            ("branch", _("branch office")),
            ("channel", _("channel")),
            ("category", _("service")),
            ("officer", _("officer")),
        ],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Unknown grouping %(value)s.")},
    )
    period = forms.ChoiceField(
        label=_("And per"),
        choices=[
            ("", _("whole period")),
            ("day", _("day")),
            ("week", _("week")),
            ("month", _("month")),
        ],
        required=False,
        error_messages={"invalid_choice": _("Unknown period %(value)s; use day, week or month.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].widget.attrs["class"] = "form-select form-select-sm"

    def group_by(self) -> list[str]:
        groups = [g for g in SLA_GROUPS if g in (self.cleaned_data.get("group") or [])]
        if self.cleaned_data.get("period"):
            groups.append(self.cleaned_data["period"])
        return groups


@helpdesk_staff_member_required
def sla_report_page(request: HttpRequest) -> HttpResponse:
    """Compliance with the service standards per branch, channel, service, officer and period,
    the breaches (linked), a monthly trend, downloads. Same numbers as ``/api/pst/reports/sla/``."""
    data = request.GET.copy()
    if not data:
        data["group"] = "branch"
    form = SLAReportForm(data, user=request.user)
    export = exports.ExportForm(request.GET)
    context: dict[str, Any] = {"form": form, "export": export, "page": None}
    if not (form.is_valid() and export.is_valid()):
        return render(request, "pst_helpdesk_ext/report_sla.html", context, status=400)
    cleaned = form.cleaned_data
    page = sla_page.build(request.user, cleaned, cleaned["start"], cleaned["end"], form.group_by())
    fmt = export.cleaned_data.get("format")
    download = request.GET.get("download", "summary")
    if fmt:
        labels = form.filter_labels()
        table = (
            sla_page.breaches_table(page, labels)
            if download == "breaches"
            else sla_page.summary_table(page, labels)
        )
        table.name = exports.file_stem(
            "sla-breaches" if download == "breaches" else "sla",
            cleaned["start"],
            cleaned["end"],
            branch=cleaned.get("branch"),
        )
        return exports.response(request, table, fmt, export.dialect())
    query = page_query(data, cleaned)
    context.update(
        page=page,
        query=query.urlencode(),
        breaches=page.breaches[: sla_page.BREACHES_ON_PAGE],
        group_rows=sla_page.group_rows_html(page),
        trend_chart=charts.compliance_lines(
            [(sla_page.short_kind_label(kind), points) for kind, points in page.trend.items()]
        ),
        dialect=exports.CsvDialect.for_language(),
    )
    return render(request, "pst_helpdesk_ext/report_sla.html", context)


class ServiceTimesForm(PeriodReportForm):
    """The service-time report's filters: branch, service, service days."""

    field_order = ("branch", "service", "date_from", "date_to")
    channel = None
    category = None
    label_fields = ("branch", "service")
    service = service_field()
    date_from = date_field(_("Service day from"), _("Default: 30 days before the end."))


@helpdesk_staff_member_required
def service_times_page(request: HttpRequest) -> HttpResponse:
    """Waits, service times and desk idle time per branch, desk, officer, service and day, as
    distributions, and the busiest hours; with downloads."""
    form = ServiceTimesForm(request.GET, user=request.user)
    export = exports.ExportForm(request.GET)
    context: dict[str, Any] = {"form": form, "export": export, "report": None}
    if not (form.is_valid() and export.is_valid()):
        return render(request, "pst_helpdesk_ext/report_service_times.html", context, status=400)
    data = form.cleaned_data
    visits = visits_for(request.user).filter(
        service_day__gte=data["start"], service_day__lte=data["end"]
    )
    if data.get("branch") is not None:
        visits = visits.filter(branch=data["branch"])
    if data.get("service") is not None:
        visits = visits.filter(service=data["service"])
    report = service_times.build(visits, reports.min_respondents())
    fmt = export.cleaned_data.get("format")
    if fmt:
        stem = exports.file_stem(
            "service-times", data["start"], data["end"], branch=data.get("branch")
        )
        table = service_times.table(report, form.filter_labels(), stem)
        return exports.response(request, table, fmt, export.dialect())
    query = page_query(request.GET, data)
    context.update(
        report=report,
        start=data["start"],
        end=data["end"],
        query=query.urlencode(),
        dialect=exports.CsvDialect.for_language(),
        hours_chart=charts.hour_bars(report.hours),
        sections=[
            (
                group,
                service_times.group_label(group),
                service_times.rows_html(group, report.groups[group])
                if report.groups[group]
                else "",
            )
            for group in service_times.GROUPS
        ],
    )
    return render(request, "pst_helpdesk_ext/report_service_times.html", context)


class DataNeedsForm(PeriodReportForm):
    """The data-needs report's filters: branch, channel, days the requests were created."""

    field_order = ("branch", "channel", "date_from", "date_to")
    category = None
    default_days = 365
    date_from = date_field(_("Requests from"), _("Default: 365 days before the end."))


@helpdesk_staff_member_required
def data_needs_page(request: HttpRequest) -> HttpResponse:
    """What data people asked for, walk-in and online, with downloads."""
    form = DataNeedsForm(request.GET, user=request.user)
    export = exports.ExportForm(request.GET)
    context: dict[str, Any] = {"form": form, "export": export, "report": None}
    if not (form.is_valid() and export.is_valid()):
        return render(request, "pst_helpdesk_ext/report_data_needs.html", context, status=400)
    data = form.cleaned_data
    tickets = sla_page.tickets_for(request.user, {"branch": data.get("branch")})
    if data.get("channel") is not None:
        tickets = tickets.filter(channel=data["channel"])
    zone = timezone.get_current_timezone()
    tickets = tickets.filter(
        ticket__created__gte=dt.datetime.combine(data["start"], dt.time(), zone),
        ticket__created__lt=dt.datetime.combine(
            data["end"] + dt.timedelta(days=1), dt.time(), zone
        ),
    )
    english = (request.LANGUAGE_CODE or "id").startswith("en")
    report = data_needs.build(tickets, english)
    fmt = export.cleaned_data.get("format")
    if fmt:
        stem = exports.file_stem(
            "data-needs", data["start"], data["end"], branch=data.get("branch")
        )
        return exports.response(
            request, data_needs.table(report, form.filter_labels(), stem), fmt, export.dialect()
        )
    query = page_query(request.GET, data)
    context.update(
        report=report,
        start=data["start"],
        end=data["end"],
        query=query.urlencode(),
        dialect=exports.CsvDialect.for_language(),
    )
    return render(request, "pst_helpdesk_ext/report_data_needs.html", context)
