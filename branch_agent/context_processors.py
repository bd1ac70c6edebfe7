"""The sync badge every staff page shows (online/offline, ops waiting, last success)."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest

from branch_agent import roles, services
from branch_agent.conf import agent_settings


def agent(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "branch_name": agent_settings.branch_name,
        "branch_code": agent_settings.branch_code,
    }
    user = getattr(request, "user", None)
    if user is not None and roles.is_staff_member(user):
        try:
            context["sync"] = services.sync_view()
        except DatabaseError:
            context["sync"] = None
        context["my_roles"] = roles.roles_of(user)
        context["can_front"] = roles.has_role(user, roles.FRONT_OFFICE)
        context["can_desk"] = roles.has_role(user, roles.DESK_OFFICER)
    return context
