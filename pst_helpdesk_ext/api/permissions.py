"""Who may use the PST API: helpdesk's API convention, staff only.

django-helpdesk's own API (``helpdesk.views.api``) lets in active ``is_staff`` users with DRF's
``IsAdminUser`` and the site's DRF authentication classes (session and basic auth by default; the
example site adds token auth). The PST API does the same, and then narrows every queryset to the
queues the user may open (``services.queries``), as helpdesk's ``accessible_tickets()`` does.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsHelpdeskStaff(BasePermission):
    message = _("Only active helpdesk staff may use the PST API.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)
