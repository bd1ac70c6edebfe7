from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("pst/", include("pst_helpdesk_ext.urls")),
    path("api/pst/", include("pst_helpdesk_ext.api.urls")),
    path("", include("helpdesk.urls", namespace="helpdesk")),
]
