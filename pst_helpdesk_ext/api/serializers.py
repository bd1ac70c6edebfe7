"""Read-only representations of PST data for the API.

Rules: references are by code (branch ``1222``, channel ``walk_in``, category ``konsultasi``), the
codes branches and reports use; a visitor is shown with the masked ID only (the full number is never
stored) and without the ID hash; every field read here is loaded by the viewset's
``select_related`` so a page costs the same few queries whatever its size.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pst_helpdesk_ext.models import (
    Branch,
    BranchSyncState,
    Channel,
    PSTTicket,
    ServiceCategory,
    SLAPolicy,
    SLAState,
    Visit,
    Visitor,
)
from pst_helpdesk_ext.services.queries import wait_exceeds_standard


class BranchSyncStateSerializer(serializers.ModelSerializer):
    class Meta:
        model = BranchSyncState
        fields = (
            "last_seen_at",
            "hwm_seq",
            "applied_count",
            "rejected_count",
            "clock_skew_seconds",
            "agent_version",
        )


class BranchSerializer(serializers.ModelSerializer):
    queue = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    can_sync = serializers.BooleanField(read_only=True)
    sync_state = serializers.SerializerMethodField()

    class Meta:
        model = Branch
        fields = (
            "code",
            "name",
            "timezone",
            "queue",
            "active",
            "can_sync",
            "key_enrolled_at",
            "key_revoked_at",
            "sync_state",
        )

    @extend_schema_field(BranchSyncStateSerializer(allow_null=True))
    def get_sync_state(self, branch: Branch) -> dict[str, Any] | None:
        try:
            state = branch.sync_state
        except BranchSyncState.DoesNotExist:
            return None
        return BranchSyncStateSerializer(state).data


class ServiceCategorySerializer(serializers.ModelSerializer):
    # Every nullable relation is allow_null, so the schema says null may come (schemathesis found
    # nulls the published schema forbade: a client generated from it would choke on them).
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = ServiceCategory
        fields = ("code", "kind", "name_id", "name_en", "parent", "queue_letter", "order", "active")


class ChannelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ("code", "name_id", "name_en", "online", "order")


class VisitorSerializer(serializers.ModelSerializer):
    masked_id = serializers.CharField(read_only=True)
    purged = serializers.SerializerMethodField()

    class Meta:
        model = Visitor
        fields = ("name", "institution", "email", "phone", "id_type", "masked_id", "purged")

    def get_purged(self, visitor: Visitor) -> bool:
        return visitor.purged_at is not None


class VisitSerializer(serializers.ModelSerializer):
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True)
    service = serializers.SlugRelatedField(slug_field="code", read_only=True)
    referred_to = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    ticket = serializers.IntegerField(source="pst_ticket.ticket_id", read_only=True)
    wait_over_standard = serializers.SerializerMethodField()

    class Meta:
        model = Visit
        fields = (
            "id",
            "ticket",
            "branch",
            "origin_id",
            "service",
            "queue_number",
            "service_day",
            "issued_at",
            "called_at",
            "served_at",
            "finished_at",
            "desk",
            "officer",
            "wait_seconds",
            "wait_over_standard",
            "service_seconds",
            "outcome",
            "follow_up",
            "referred_to",
            "received_at",
        )

    def get_wait_over_standard(self, visit: Visit) -> bool | None:
        return wait_exceeds_standard(visit)


class SLAPolicySerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    unit = serializers.SerializerMethodField(help_text="minutes (walk-in) or working_days (online)")

    class Meta:
        model = SLAPolicy
        fields = (
            "id",
            "kind",
            "category",
            "channel",
            "target",
            "unit",
            "start_rule",
            "at_risk_percent",
            "escalate",
            "inactivity_close_days",
        )

    def get_unit(self, policy: SLAPolicy) -> str:
        return "minutes" if policy.kind == SLAPolicy.Kind.WALK_IN else "working_days"


class TicketSLASerializer(serializers.Serializer):
    """The ticket's service clock (docs/sla.md). Instants are ISO 8601; durations in seconds
    (walk-in: real time; online: working time on the branch's calendar). Instants and the
    elapsed time are null until the clock reaches them (``allow_null``: the schema must say so,
    or a client generated from it rejects every ticket whose clock has not started)."""

    state = serializers.ChoiceField(source="sla_state", choices=SLAState.choices, read_only=True)
    state_display = serializers.CharField(source="get_sla_state_display", read_only=True)
    policy = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField(source="sla_started_at", read_only=True, allow_null=True)
    due_at = serializers.DateTimeField(source="sla_due_at", read_only=True, allow_null=True)
    paused_since = serializers.DateTimeField(
        source="sla_paused_since", read_only=True, allow_null=True
    )
    paused_seconds = serializers.IntegerField(source="sla_paused_seconds", read_only=True)
    stopped_at = serializers.DateTimeField(source="sla_stopped_at", read_only=True, allow_null=True)
    elapsed_seconds = serializers.IntegerField(
        source="sla_elapsed_seconds", read_only=True, allow_null=True
    )
    at_risk_at = serializers.DateTimeField(source="sla_at_risk_at", read_only=True, allow_null=True)
    breached_at = serializers.DateTimeField(
        source="sla_breached_at", read_only=True, allow_null=True
    )
    escalated_at = serializers.DateTimeField(
        source="sla_escalated_at", read_only=True, allow_null=True
    )
    waiting_for_visitor_since = serializers.DateTimeField(read_only=True, allow_null=True)

    @extend_schema_field(SLAPolicySerializer(allow_null=True))
    def get_policy(self, pst: PSTTicket) -> dict[str, Any] | None:
        if pst.sla_policy_id is None:
            return None
        # One query per request for the (few) policies, not a join per row.
        policies = self.context.get("_sla_policies")
        if policies is None:
            policies = {
                p.pk: SLAPolicySerializer(p).data
                for p in SLAPolicy.objects.select_related("category", "channel")
            }
            self.context["_sla_policies"] = policies
        return policies.get(pst.sla_policy_id)


class PSTTicketSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="ticket_id", read_only=True)
    queue = serializers.CharField(source="ticket.queue.slug", read_only=True)
    title = serializers.CharField(source="ticket.title", read_only=True)
    status = serializers.IntegerField(source="ticket.status", read_only=True)
    status_display = serializers.CharField(source="ticket.get_status_display", read_only=True)
    priority = serializers.IntegerField(source="ticket.priority", read_only=True)
    created = serializers.DateTimeField(source="ticket.created", read_only=True)
    modified = serializers.DateTimeField(source="ticket.modified", read_only=True)
    assigned_to = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    category = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    subject = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    visitor = VisitorSerializer(read_only=True, allow_null=True)
    visit = serializers.SerializerMethodField()
    sla = TicketSLASerializer(source="*", read_only=True)

    class Meta:
        model = PSTTicket
        fields = (
            "id",
            "queue",
            "title",
            "status",
            "status_display",
            "priority",
            "created",
            "modified",
            "assigned_to",
            "url",
            "branch",
            "channel",
            "category",
            "subject",
            "origin_id",
            "complete_at",
            "visitor",
            "visit",
            "sla",
        )

    def get_assigned_to(self, pst: PSTTicket) -> str | None:
        user = pst.ticket.assigned_to
        return user.get_username() if user is not None else None

    def get_url(self, pst: PSTTicket) -> str:
        path = pst.ticket.get_absolute_url()
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else str(path)

    @extend_schema_field(VisitSerializer(allow_null=True))
    def get_visit(self, pst: PSTTicket) -> dict[str, Any] | None:
        try:
            visit = pst.visit
        except Visit.DoesNotExist:
            return None
        visit.pst_ticket = pst  # already loaded: the visit's ticket is this one
        return VisitSerializer(visit, context=self.context).data
