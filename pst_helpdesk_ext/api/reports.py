"""SLA compliance report: ``GET /api/pst/reports/sla/``.

Which tickets count: PST tickets whose clock *started* in the period (``from``..``to``, whole days
in the site's TIME_ZONE), i.e. the requests that became complete (online) or whose wait began
(walk-in) then, among the queues the user may open (helpdesk's per-queue permissions). Each row
says how many of them met or breached the standard, how many are still open (running, at risk,
paused), and the compliance: met / (met + breached), null when none ended yet. Rows are split by
kind (walk-in / online / complaint) too, because their elapsed times are in different units (real
seconds / working seconds) against different standards, and a mixed average would mean nothing. A
complaint is its own kind whatever its channel.

One aggregate query per request, whatever the number of tickets (indexes: state and branch,
channel, category with state).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pst_helpdesk_ext.api.filters import BranchScopedSerializer, CodeField, query_data
from pst_helpdesk_ext.api.permissions import IsHelpdeskStaff
from pst_helpdesk_ext.models import Channel, PSTTicket, ServiceCategory
from pst_helpdesk_ext.services.queries import accessible_tickets_q, date_order_error
from pst_helpdesk_ext.services.sla_report import GROUPS, PERIODS, sla_report

DEFAULT_DAYS: Final = 30
MAX_DAYS: Final = 3 * 366
QUERY_NAMES: Final = ("branch", "channel", "category", "from", "to", "group_by")


class SLAReportQuerySerializer(BranchScopedSerializer):
    """Query parameters of the SLA report (``from`` and ``to`` are Python keywords, hence
    ``get_fields``)."""

    channel = CodeField(
        queryset=Channel.objects.all(),
        unknown_message=_("Unknown channel {value}."),
        help_text=_("Only this channel: walk_in, web, whatsapp, email."),
    )
    category = CodeField(
        queryset=ServiceCategory.objects.filter(kind=ServiceCategory.Kind.SERVICE),
        unknown_message=_("Unknown PST service {value}."),
        help_text=_("Only this PST service, e.g. konsultasi."),
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False,
            help_text=_("First day (YYYY-MM-DD) the clocks started; default 30 days before to."),
        )
        fields["to"] = serializers.DateField(
            required=False, help_text=_("Last day (YYYY-MM-DD) the clocks started; default today.")
        )
        fields["group_by"] = serializers.CharField(
            required=False,
            default="branch",
            help_text=_(
                "Comma-separated, any of branch, channel, category, officer (the user the "
                "ticket is assigned to) and one period (day, week, month); default branch."
            ),
        )
        return fields

    def validate_group_by(self, value: str) -> list[str]:
        groups = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [g for g in groups if g not in GROUPS]
        if unknown or not groups:
            raise serializers.ValidationError(
                _("Unknown grouping %(value)s; use any of %(known)s, comma-separated.")
                % {"value": ", ".join(unknown) or repr(value), "known": ", ".join(GROUPS)}
            )
        if len([g for g in groups if g in PERIODS]) > 1:
            raise serializers.ValidationError(
                _("Group by one period only (day, week or month), not %(value)s.")
                % {"value": value}
            )
        return list(dict.fromkeys(groups))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = timezone.localdate()
        end = attrs.get("to") or today
        start = attrs.get("from") or end - dt.timedelta(days=DEFAULT_DAYS)
        order_error = date_order_error(start, end)
        if order_error:
            raise serializers.ValidationError({"to": order_error})
        if (end - start).days > MAX_DAYS:
            raise serializers.ValidationError(
                {
                    "from": _(
                        "The period %(start)s to %(end)s is longer than %(max)s days; report "
                        "on a shorter period (several requests, if needed)."
                    )
                    % {"start": start, "end": end, "max": MAX_DAYS}
                }
            )
        attrs["from"], attrs["to"] = start, end
        return attrs


class SLAReportRowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=("walk_in", "online", "complaint"))
    branch = serializers.CharField(allow_null=True, required=False)
    channel = serializers.CharField(allow_null=True, required=False)
    category = serializers.CharField(allow_null=True, required=False)
    officer = serializers.CharField(
        allow_null=True, required=False, help_text="username of the assigned user"
    )
    period = serializers.DateField(required=False, help_text="First day of the period")
    total = serializers.IntegerField()
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    open = serializers.IntegerField(help_text="running, at risk or paused")
    compliance = serializers.FloatField(
        allow_null=True, help_text="met / (met + breached), 0..1; null when none ended"
    )
    avg_elapsed_seconds = serializers.FloatField(
        allow_null=True, help_text="walk-in: real seconds waited; online: working seconds"
    )


class SLAReportSerializer(serializers.Serializer):
    group_by = serializers.ListField(child=serializers.CharField())
    timezone = serializers.CharField()
    rows = SLAReportRowSerializer(many=True)
    totals = SLAReportRowSerializer(many=True, help_text="one row per kind")

    def get_fields(self) -> dict[str, serializers.Field]:
        # The period as asked for (``from`` and ``to`` are Python keywords).
        return {
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            **super().get_fields(),
        }


class SLAReportView(APIView):
    """SLA compliance per branch, channel, service and period, for the queues you may open."""

    permission_classes = (IsHelpdeskStaff,)
    schema = AutoSchema()

    @extend_schema(parameters=[SLAReportQuerySerializer], responses=SLAReportSerializer)
    def get(self, request: Request) -> Response:
        query = SLAReportQuerySerializer(
            data=query_data(request, QUERY_NAMES), context={"request": request}
        )
        query.is_valid(raise_exception=True)
        data = query.validated_data
        tickets = PSTTicket.objects.filter(accessible_tickets_q(request.user, "ticket__"))
        for name in ("branch", "channel", "category"):
            if data.get(name) is not None:
                tickets = tickets.filter(**{name: data[name]})
        report = sla_report(tickets, data["from"], data["to"], data["group_by"])
        return Response(SLAReportSerializer(report).data)
