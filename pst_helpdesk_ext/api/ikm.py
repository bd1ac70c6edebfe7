"""``/api/pst/reports/ikm/``: the satisfaction report as JSON (the same ``IkmReport`` the staff
page, the exports and ``pst_ikm_report`` render). Staff only, narrowed to the user's queues;
parameters validated, a bad one is a 400 naming it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pst_helpdesk_ext.api.filters import BranchScopedSerializer, CodeField, query_data
from pst_helpdesk_ext.api.permissions import IsHelpdeskStaff
from pst_helpdesk_ext.dates import MAX_REPORT_DAYS, period_error
from pst_helpdesk_ext.models import Channel, ServiceCategory
from pst_helpdesk_ext.services import reports

PARAMETERS = ("branch", "service", "channel", "date_from", "date_to")


class IkmQuerySerializer(BranchScopedSerializer):
    service = CodeField(
        queryset=ServiceCategory.objects.filter(kind=ServiceCategory.Kind.SERVICE),
        unknown_message=_("Unknown service {value}."),
        help_text=_("PST service code, e.g. konsultasi."),
    )
    channel = CodeField(
        queryset=Channel.objects.all(),
        unknown_message=_("Unknown channel {value}."),
        help_text=_("Channel code: walk_in, web, whatsapp, email."),
    )
    date_from = serializers.DateField(
        required=False, help_text=_("First day of the period (YYYY-MM-DD), inclusive.")
    )
    date_to = serializers.DateField(
        required=False, help_text=_("Last day of the period (YYYY-MM-DD), inclusive.")
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        error = period_error(attrs.get("date_from"), attrs.get("date_to"), max_days=MAX_REPORT_DAYS)
        if error:
            raise serializers.ValidationError({"date_to": error})
        return attrs

    def filters(self) -> reports.ReportFilters:
        return reports.ReportFilters.from_data(self.validated_data)


class IkmReportView(APIView):
    """Satisfaction index (IKM, PermenPAN-RB 14/2017) overall and per branch office, service,
    channel and month, with walk-in visit volumes and waiting times."""

    permission_classes = (IsHelpdeskStaff,)
    schema = AutoSchema()

    @extend_schema(parameters=[IkmQuerySerializer], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        query = IkmQuerySerializer(
            data=query_data(request, PARAMETERS), context={"request": request}
        )
        unknown = sorted(set(request.query_params) - {*PARAMETERS, "format"})
        if unknown:
            raise serializers.ValidationError(
                {
                    name: [
                        _("Unknown parameter; use %(known)s.") % {"known": ", ".join(PARAMETERS)}
                    ]
                    for name in unknown
                }
            )
        query.is_valid(raise_exception=True)
        report = reports.build_report(query.filters(), request.user)
        return Response(reports.report_json(report))
