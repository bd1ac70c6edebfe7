"""The plugin's pages, included by the site under a prefix of its choice (e.g. ``pst/``)."""

from django.urls import path
from django.views.i18n import set_language

from pst_helpdesk_ext.views import (
    conversation,
    online,
    ratings,
    reports,
    sla,
    staff,
    triage,
    visitor,
)

app_name = "pst"
urlpatterns = [
    path("", staff.overview, name="overview"),
    path("tickets/", staff.ticket_list, name="tickets"),
    path("visits/", staff.visit_list, name="visits"),
    path(
        "tickets/<int:ticket_id>/conversation/",
        conversation.conversation,
        name="online_conversation",
    ),
    # Public: the online consultation request (docs/online.md).
    path("request/", online.start, name="online_start"),
    path("request/verify/<str:token>/", online.verify, name="online_verify"),
    path("request/search/", online.search, name="online_search"),
    path("request/article/<int:item_id>/", online.article, name="online_article"),
    path("request/ask/", online.ask, name="online_ask"),
    path("request/done/<int:ticket_id>/", online.done, name="online_done"),
    # Public: the visitor's own page of a consultation, behind its signed link.
    path("consultation/link/", visitor.resend, name="visitor_resend"),
    path("consultation/<int:ticket_id>/<str:token>/", visitor.page, name="visitor_page"),
    path(
        "consultation/<int:ticket_id>/<str:token>/file/<int:attachment_id>/",
        visitor.attachment,
        name="visitor_file",
    ),
    # The language switch of the PST bar and the public frame (Django's own view).
    path("language/", set_language, name="set_language"),
    path("reports/ikm/", reports.ikm_report, name="report_ikm"),
    path("reports/sla/", reports.sla_report_page, name="report_sla"),
    path("reports/data-needs/", reports.data_needs_page, name="report_data_needs"),
    path("reports/service-times/", reports.service_times_page, name="report_service_times"),
    # Public: the satisfaction survey and complaints.
    path("rate/done/<str:done>/", ratings.rate_done, name="rate_done"),
    path("rate/<str:token>/", ratings.rate, name="rate"),
    path("complaint/", ratings.complain, name="complain"),
    path("triage/", triage.triage, name="triage"),
    *sla.urlpatterns,  # the SLA clock's staff buttons (docs/sla.md)
]
