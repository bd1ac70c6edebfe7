"""The PST REST API: read-only, staff only, narrowed to the queues each user may open.

Rules:
- Same conventions as django-helpdesk's API (``helpdesk.views.api``): the site's DRF
  authentication classes (session, basic, token), staff only, helpdesk's per-queue permissions.
- Read-only: tickets change through helpdesk (``update_ticket``) and walk-in records through sync,
  so the API has no write path that could bypass either.
- Filters are validated (``filters.py``): a bad value is a 400 naming the field, never a 500 and
  never silently ignored. Lists are paginated and cost a fixed number of queries.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from pst_helpdesk_ext.api.filters import TicketQuerySerializer, VisitQuerySerializer, query_data
from pst_helpdesk_ext.api.permissions import IsHelpdeskStaff
from pst_helpdesk_ext.api.serializers import (
    BranchSerializer,
    ChannelSerializer,
    PSTTicketSerializer,
    ServiceCategorySerializer,
    VisitSerializer,
)
from pst_helpdesk_ext.models import Channel, PSTTicket, ServiceCategory, Visit
from pst_helpdesk_ext.services.queries import (
    branches_for,
    filter_pst_tickets,
    filter_visits,
    pst_tickets_for,
    visits_for,
)

PAGE_NUMBER = re.compile(r"^(?:[1-9]\d{0,8}|last)$")


class PstPagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        # DRF answers a malformed page number with 404; it is bad input, so 400 naming the field.
        page = request.query_params.get(self.page_query_param)
        if page is not None and not PAGE_NUMBER.match(page):
            raise serializers.ValidationError(
                {self.page_query_param: [_("%(value)s is not a page number.") % {"value": page}]}
            )
        return super().paginate_queryset(queryset, request, view)


#: A code as SlugField accepts it (ServiceCategory.code, Channel.code).
SLUG = r"[-a-zA-Z0-9_]{1,40}"


class PstViewSetMixin:
    permission_classes = (IsHelpdeskStaff,)
    pagination_class = PstPagination
    schema = AutoSchema()  # documented even where DEFAULT_SCHEMA_CLASS is DRF's own


class BranchViewSet(PstViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Branch offices (regency PST units) whose helpdesk queue you may open."""

    serializer_class = BranchSerializer
    lookup_field = "code"
    lookup_value_regex = r"\d{4}"

    def get_queryset(self) -> QuerySet[Any]:
        return branches_for(self.request.user)


class ServiceCategoryViewSet(PstViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """PST services and consultation subjects (reference data)."""

    serializer_class = ServiceCategorySerializer
    lookup_field = "code"
    lookup_value_regex = SLUG  # anything else is a 404 before the database (NUL: a 500 on PG)
    queryset = ServiceCategory.objects.select_related("parent").order_by("kind", "order", "code")


class ChannelViewSet(PstViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Channels a request can come through (reference data)."""

    serializer_class = ChannelSerializer
    lookup_field = "code"
    lookup_value_regex = SLUG  # anything else is a 404 before the database (NUL: a 500 on PG)
    queryset = Channel.objects.order_by("order", "code")


@extend_schema_view(list=extend_schema(parameters=[TicketQuerySerializer]))
class PSTTicketViewSet(PstViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """helpdesk tickets with their PST data; the id is helpdesk's ticket id."""

    serializer_class = PSTTicketSerializer
    lookup_field = "ticket_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = r"\d{1,9}"  # helpdesk's ticket id is a 32-bit integer: longer is a 404
    filter_names = ("branch", "channel", "category", "status", "date_from", "date_to")

    def get_queryset(self) -> QuerySet[PSTTicket]:
        tickets = pst_tickets_for(self.request.user)
        if self.action != "list":
            return tickets
        query = TicketQuerySerializer(
            data=query_data(self.request, self.filter_names), context={"request": self.request}
        )
        query.is_valid(raise_exception=True)
        return filter_pst_tickets(tickets, query.filters())


@extend_schema_view(list=extend_schema(parameters=[VisitQuerySerializer]))
class VisitViewSet(PstViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Walk-in visits and their queue tickets, as recorded at the branches."""

    serializer_class = VisitSerializer
    lookup_value_regex = r"\d{1,18}"  # a 64-bit id: longer is a 404, not a database error

    def get_queryset(self) -> QuerySet[Visit]:
        visits = visits_for(self.request.user)
        if self.action != "list":
            return visits
        query = VisitQuerySerializer(
            data=query_data(self.request, ("branch", "day")), context={"request": self.request}
        )
        query.is_valid(raise_exception=True)
        return filter_visits(visits, query.filters())
