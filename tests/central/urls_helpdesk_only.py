"""A site half-way through installing the plugin: in INSTALLED_APPS, its URLs not mounted yet."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("helpdesk.urls", namespace="helpdesk")),
]
