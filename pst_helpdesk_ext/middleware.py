"""``PublicThrottleMiddleware``: the public rate limits (``throttle``) on helpdesk's own public
forms, which the plugin does not own: the generic public ticket form (``helpdesk:home``,
``helpdesk:submit``, ``helpdesk:submit_iframe``), the password reset and a visitor's comment
on their ticket (``helpdesk:update``). A POST over a limit gets
a 429 page in Indonesian and English naming the wait; helpdesk's view is not run, so no ticket is
opened and no e-mail is sent. Signed-in staff are not limited.

Add it to ``MIDDLEWARE`` after ``AuthenticationMiddleware`` (README, "Install"); system check
``pst_helpdesk_ext.W202`` says when it is missing. The plugin's own public pages (request,
complaint, rating) count in their views, where a refusal keeps what the visitor typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from pst_helpdesk_ext import throttle

#: helpdesk's public views that open a ticket or send an e-mail, and the field naming the address.
LIMITED_VIEWS = {
    "helpdesk:home": "submitter_email",
    "helpdesk:submit": "submitter_email",
    "helpdesk:submit_iframe": "submitter_email",
    "helpdesk:password_reset": "email",
    # A visitor's comment on their ticket (from the public view, with the ticket's key): e-mails
    # the staff and the ticket's CCs, so it counts per client (no address of its own).
    "helpdesk:update": "",
}


class PublicThrottleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.method != "POST":
            return None
        match = getattr(request, "resolver_match", None)
        field = LIMITED_VIEWS.get(match.view_name if match else "")
        if field is None:
            return None
        from helpdesk.decorators import is_helpdesk_staff

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and is_helpdesk_staff(user):
            return None
        email = str(request.POST.get(field, "")).strip() if field else ""
        limited = throttle.hit(match.view_name, request, email or None)
        if limited is None:
            return None
        return too_many(request, limited)


def too_many(request: HttpRequest, limited: throttle.Refused) -> HttpResponse:
    """The 429 page: the wait in both languages, and the way back."""
    texts = []
    for language in ("id", "en"):
        with translation.override(language):
            texts.append((language, limited.message(kept=False)))
    response = render(request, "pst_helpdesk_ext/throttled.html", {"texts": texts}, status=429)
    response["Retry-After"] = str(limited.wait_seconds)
    return response
