"""The plugin's pages, included by the site under a prefix of its choice (e.g. ``pst/``)."""

from django.urls import path

from pst_helpdesk_ext import views

app_name = "pst"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("tickets/", views.ticket_list, name="tickets"),
]
