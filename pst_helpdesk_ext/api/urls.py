"""The PST REST API, included by the site under ``api/pst/``.

The schema at ``schema/`` describes this API only (not the rest of the site), wherever the site
mounts it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import include, path, reverse
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import APIRootView, DefaultRouter

from pst_helpdesk_ext.api import ikm, views, whatsapp
from pst_helpdesk_ext.api.permissions import IsHelpdeskStaff
from pst_helpdesk_ext.api.reports import SLAReportView


class PstApiRoot(APIRootView):
    """The PST API: branch offices, service categories, channels, tickets and walk-in visits;
    the SLA compliance report at ``reports/sla/``."""

    permission_classes = (IsHelpdeskStaff,)


class PstRouter(DefaultRouter):
    APIRootView = PstApiRoot


router = PstRouter()
router.register("branches", views.BranchViewSet, basename="branch")
router.register("categories", views.ServiceCategoryViewSet, basename="category")
router.register("channels", views.ChannelViewSet, basename="channel")
router.register("tickets", views.PSTTicketViewSet, basename="ticket")
router.register("visits", views.VisitViewSet, basename="visit")

#: Endpoints beside the router's viewsets (documented in the schema too).
extra_urls = [
    path("reports/ikm/", ikm.IkmReportView.as_view(), name="report-ikm"),
    path("reports/sla/", SLAReportView.as_view(), name="report-sla"),
]


class PstSchemaView(SpectacularAPIView):
    """OpenAPI 3 schema of the PST API (YAML, or JSON with ``?format=json``).

    Titled and versioned by the plugin, whatever the site's SPECTACULAR_SETTINGS (unset, they
    would give a schema titled "" version 0.0.0); left out of the site's own schema (it is no
    endpoint of the API, and drf-spectacular's deploy check would warn about it)."""

    custom_settings = {
        "TITLE": "PST helpdesk API",
        "DESCRIPTION": "BPS PST: branch offices, service categories, channels, tickets, walk-in "
        "visits and the SLA and IKM reports (read-only, staff only).",
        "VERSION": "1",
    }
    schema = None  # not part of any generated schema

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Generate from this API's own routes, mounted where the site mounted them.
        prefix = reverse("pst_api:api-root").lstrip("/")
        self.patterns = [path(prefix, include([*extra_urls, *router.urls]))]
        return super().get(request, *args, **kwargs)


app_name = "pst_api"
urlpatterns = [
    path("schema/", PstSchemaView.as_view(), name="schema"),
    path("whatsapp/webhook/", whatsapp.webhook, name="whatsapp-webhook"),
    *extra_urls,
    path("", include(router.urls)),
]
