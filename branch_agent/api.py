"""The local JSON API for hardware on the office LAN (ticket dispensers, button boxes).

Permissions are the UI's: issuing a number and reading the queue need no login (like the kiosk),
and issuing is limited per device (client address) and for all kiosks per minute (``[limits]``
in agent.toml; over it: 429 ``too_many`` with ``Retry-After``; a repeated ``request_id`` is
always answered);
desk actions and the sync status need a staff account with the role, given either as a device
token (``Authorization: Bearer pst_...`` from ``pst-branch-agent createtoken``) or as the browser
session (then with the CSRF header, like any form). Writes accept only ``application/json``, which
a cross-site HTML form cannot send. Errors are ``{"error": code, "message": text, "field": name}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from branch_agent import roles, services, throttle
from branch_agent.models import ApiToken


def error(status: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    return JsonResponse({"error": code, "message": message, "field": field}, status=status)


def _json_body(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    if request.content_type != "application/json":
        return error(415, "unsupported_media_type", _("Send the body as application/json."))
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalid_json", _("The body is not valid JSON."))
    if not isinstance(body, dict):
        return error(400, "invalid_json", _("The body must be a JSON object."))
    return body


def _token_user(request: HttpRequest) -> Any:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    row = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=services.token_hash(header[7:].strip()))
        .first()
    )
    return row.user if row and row.user.is_active else AnonymousUser()


def staff_api(*needed: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = _token_user(request)
            if user is None:  # no token: the browser session, with CSRF like any form
                user = request.user
                if request.method not in ("GET", "HEAD", "OPTIONS"):
                    reason = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
                        request, None, (), {}
                    )
                    if reason is not None:
                        return error(403, "csrf", _("Missing or wrong CSRF token."))
            if not getattr(user, "is_authenticated", False):
                return error(401, "unauthenticated", _("Log in or send a device token."))
            allowed = roles.has_role(user, *needed) if needed else roles.is_staff_member(user)
            if not allowed:
                return error(403, "forbidden", _("This account lacks the role for this action."))
            request.user = user
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _visit_json(visit: Any) -> dict[str, Any]:
    return {
        "visit_id": str(visit.pk),
        "queue_number": visit.queue_number,
        "service": visit.service_id,
        "service_day": visit.service_day.isoformat(),
        "status": visit.status,
        "issued_at": timezone.localtime(visit.issued_at).isoformat(),
        "desk": visit.desk or None,
    }


@csrf_exempt
@never_cache
def queue_issue(request: HttpRequest) -> HttpResponse:
    """POST {"service": "konsultasi", "request_id": "..."} -> 201 the new number (200 on repeat)."""
    if request.method != "POST":
        return error(405, "method_not_allowed", _("Use POST."))
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    service = body.get("service")
    request_id = body.get("request_id")
    if not isinstance(service, str) or not service:
        return error(400, "invalid", _('Give the service code, e.g. "konsultasi".'), "service")
    if request_id is not None and (
        not isinstance(request_id, str) or not 8 <= len(request_id) <= 64
    ):
        return error(400, "invalid", _("request_id must be 8 to 64 characters."), "request_id")
    token = f"api:{request_id}" if request_id else None
    place = throttle.take_issue_place(request)
    if not isinstance(place, throttle.Place):
        repeat = throttle.issued_before(token)
        if repeat is not None:  # a repeat is answered, whatever the limit
            return JsonResponse(_visit_json(repeat), status=200)
        response = error(429, "too_many", throttle.wait_message(place))
        response["Retry-After"] = str(max(1, int(place + 0.999)))
        return response
    try:
        issued = services.issue_number(service, token=token)
    except services.Refused as exc:
        place.release()
        return error(400, exc.code, exc.message, exc.field)
    except BaseException:
        place.release()
        raise
    if not issued.created:
        place.release()
    return JsonResponse(_visit_json(issued.visit), status=201 if issued.created else 200)


@never_cache
def queue_status(request: HttpRequest) -> HttpResponse:
    from branch_agent.views import board_state

    return JsonResponse(board_state())


@staff_api(roles.DESK_OFFICER)
@never_cache
def desk_call_next(request: HttpRequest, desk: str) -> HttpResponse:
    """POST {"request_id": "..."} -> the visitor called to this desk, or 204 when nobody waits."""
    if request.method != "POST":
        return error(405, "method_not_allowed", _("Use POST."))
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    request_id = body.get("request_id")
    if request_id is not None and (
        not isinstance(request_id, str) or not 8 <= len(request_id) <= 64
    ):
        return error(400, "invalid", _("request_id must be 8 to 64 characters."), "request_id")
    try:
        visit = services.call_next(desk, token=f"api:{request_id}" if request_id else None)
    except services.Refused as exc:
        status = 404 if exc.code == "unknown_desk" else 409
        return error(status, exc.code, exc.message, exc.field)
    if visit is None:
        return HttpResponse(status=204)
    return JsonResponse(_visit_json(visit))


@staff_api()
@never_cache
def sync_status(request: HttpRequest) -> HttpResponse:
    return JsonResponse(services.sync_view().as_json())
