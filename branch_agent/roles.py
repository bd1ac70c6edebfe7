"""Staff roles and the checks views use. A branch admin may do everything staff can do.

Roles are Django groups (seeded by migrations 0002 and 0004). The kiosk, display board and rating
kiosk need no login and can only issue numbers, show calls and take ratings.

Front office and desk are separate roles, for offices that keep the guest book and the desks
apart. A one-person office gives its officer ``front_and_desk``: one account that may do both.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

FRONT_OFFICE = "front_office"
DESK_OFFICER = "desk_officer"
FRONT_AND_DESK = "front_and_desk"
BRANCH_ADMIN = "branch_admin"
BRANCH_HEAD = "branch_head"  # the head of office: today's figures (seeded by migration 0006)
ROLES = {
    FRONT_OFFICE: _("front office"),
    DESK_OFFICER: _("desk officer"),
    FRONT_AND_DESK: _("front office and desk"),
    BRANCH_ADMIN: _("branch admin"),
    BRANCH_HEAD: _("head of office"),
}
# A role that includes others: holding it counts as holding each of them.
INCLUDES = {FRONT_AND_DESK: frozenset({FRONT_OFFICE, DESK_OFFICER})}


def roles_of(user: Any) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_pst_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            cached = cached | {BRANCH_ADMIN}
        for role in list(cached):
            cached = cached | INCLUDES.get(role, frozenset())
        user._pst_roles = cached
    return cached


def has_role(user: Any, *roles: str) -> bool:
    mine = roles_of(user)
    return BRANCH_ADMIN in mine or bool(mine & set(roles))


def is_staff_member(user: Any) -> bool:
    return bool(roles_of(user))


def role_required(
    *roles: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Login, then the role (any of ``roles``; admins always); a clear 403 page otherwise."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if roles and not has_role(request.user, *roles):
                needed = ", ".join(str(ROLES[r]) for r in roles)
                return render(
                    request, "branch_agent/forbidden.html", {"needed": needed}, status=403
                )
            if not roles and not is_staff_member(request.user):
                return render(request, "branch_agent/forbidden.html", {"needed": ""}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
