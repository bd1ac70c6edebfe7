"""The plugin's pages, included by the site under a prefix of its choice (e.g. ``pst/``)."""

from django.urls import path

from pst_helpdesk_ext.views import sla, staff, triage

app_name = "pst"
urlpatterns = [
    path("", staff.overview, name="overview"),
    path("tickets/", staff.ticket_list, name="tickets"),
    path("triage/", triage.triage, name="triage"),
    *sla.urlpatterns,  # the SLA clock's staff buttons (docs/sla.md)
]
