from django.contrib import admin
from django.urls import include, path

from pst_helpdesk_ext.views.favicon import favicon

urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("pst/", include("pst_helpdesk_ext.urls")),
    path("api/pst/", include("pst_helpdesk_ext.api.urls")),
    path("", include("helpdesk.urls", namespace="helpdesk")),
]
