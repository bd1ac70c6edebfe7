"""Staff login and logout: Django's views, with login throttling and logging around them.

Rules:
- Failed logins count per account and per client address (``branch_agent.throttle``); over the
  limit the login page answers 429 with the wait, for the right password too, and keeps the user
  name typed. Every refused attempt is logged with account and address, never the password.
- Sessions are server-side (``django.contrib.sessions`` in the store): logout deletes the
  session, so a copied cookie stops working at logout.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

from branch_agent import throttle

log = logging.getLogger("branch_agent.security")


def lockout_message(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many wrong passwords. Logging in is paused for %(minutes)d minute; try again"
        " then, or ask the branch admin to check the account.",
        "Too many wrong passwords. Logging in is paused for %(minutes)d minutes; try again"
        " then, or ask the branch admin to check the account.",
        minutes,
    ) % {"minutes": minutes}


class LoginView(auth_views.LoginView):
    template_name = "branch_agent/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:150]
        address = throttle.client_address(request)
        wait = throttle.login_wait(username, address)
        if wait > 0:
            log.warning(
                "login refused (locked for %.0f s more): account=%r address=%s",
                wait,
                username,
                address,
            )
            form = self.get_form()
            context = self.get_context_data(form=form, locked_message=lockout_message(wait))
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        username = str(self.request.POST.get("username", ""))[:150]
        address = throttle.client_address(self.request)
        failures = throttle.login_failed(username, address)
        log.warning(
            "login refused (wrong user name or password, failure %d): account=%r address=%s",
            failures,
            username,
            address,
        )
        wait = throttle.login_wait(username, address)
        if wait > 0:  # this failure reached the limit: say so now, not at the next try
            context = self.get_context_data(form=form, locked_message=lockout_message(wait))
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        typed = str(self.request.POST.get("username", ""))[:150]
        throttle.login_succeeded(typed, throttle.client_address(self.request))
        log.info(
            "login: account=%r address=%s",
            form.get_user().get_username(),
            throttle.client_address(self.request),
        )
        return super().form_valid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            log.info(
                "logout: account=%r address=%s",
                request.user.get_username(),
                throttle.client_address(request),
            )
        return super().post(request, *args, **kwargs)
