"""The plugin's pages, included by the site under a prefix of its choice (e.g. ``pst/``)."""

from django.urls import path

from pst_helpdesk_ext.views import ratings, reports, staff

app_name = "pst"
urlpatterns = [
    path("", staff.overview, name="overview"),
    path("tickets/", staff.ticket_list, name="tickets"),
    path("reports/ikm/", reports.ikm_report, name="report_ikm"),
    # Public: the satisfaction survey and complaints.
    path("rate/done/<str:done>/", ratings.rate_done, name="rate_done"),
    path("rate/<str:token>/", ratings.rate, name="rate"),
    path("complaint/", ratings.complain, name="complain"),
]
