"""Pages of the office floor: the wait on the ticket, the visitor's live page (QR code), desk
pauses and the head of office's page. Thin views over ``branch_agent.floor`` and ``pauses``.

Rules:
- The live page needs no login (visitors on the guest Wi-Fi open it from the ticket's QR code):
  it is found only by the link's unguessable token, shows no personal data, and every request
  counts against the LAN throttle per device (``throttle.take_live_view``): 429 beyond it.
- The head's page is for the head of office (``branch_head``) and branch admins.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib import messages
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from branch_agent import floor, pauses, roles, services, throttle
from branch_agent.models import DeskPause, Visit

LIVE_REFRESH_SECONDS = 15

log = logging.getLogger("branch_agent.store")


# --- The ticket ------------------------------------------------------------------------------


def ticket_context(request: HttpRequest, visit: Visit) -> dict[str, Any]:
    """What the ticket (screen and print) adds: position, estimated wait and the QR code."""
    guess = floor.estimate(visit)
    context: dict[str, Any] = {
        "position": floor.position(visit),
        "estimate": guess,
        "estimate_text": guess.text() if guess else floor.not_enough_data(),
        "live_url": None,
        "live_qr": None,
    }
    base = floor.lan_base_url(request.get_host(), request.get_port(), request.scheme or "http")
    if base is not None:
        try:
            link = floor.link_for(visit)
        except DatabaseError as exc:  # the store cannot write: the ticket still shows, no QR
            log.warning("no live-page link for the ticket (store cannot write): %s", exc)
            return context
        url = base + reverse("branch_agent:live", args=[link.token])
        context["live_url"] = url
        context["live_qr"] = floor.qr_svg(url)
    return context


# --- The visitor's live page -----------------------------------------------------------------


def _throttled(request: HttpRequest) -> HttpResponse | None:
    wait = throttle.take_live_view(request)
    if wait <= 0:
        return None
    message = _("Too many requests from this device. Please wait %(seconds)d seconds.") % {
        "seconds": max(1, int(wait + 0.999))
    }
    if request.path.endswith(".json"):
        response: HttpResponse = JsonResponse({"error": "rate_limited", "message": message})
        response.status_code = 429
    else:
        response = render(request, "branch_agent/live.html", {"limited": message}, status=429)
    response["Retry-After"] = str(max(1, int(wait + 0.999)))
    return response


def _live_visit(token: str) -> Visit:
    visit = floor.visit_by_token(token)
    if visit is None:
        raise Http404
    return visit


@never_cache
@require_GET
def live(request: HttpRequest, token: str) -> HttpResponse:
    limited = _throttled(request)
    if limited is not None:
        return limited
    visit = _live_visit(token)
    return render(
        request,
        "branch_agent/live.html",
        {
            "state": floor.live_state(visit),
            "token": token,
            "refresh_seconds": LIVE_REFRESH_SECONDS,
        },
    )


@never_cache
@require_GET
def live_json(request: HttpRequest, token: str) -> HttpResponse:
    limited = _throttled(request)
    if limited is not None:
        return limited
    return JsonResponse(floor.live_state(_live_visit(token)))


# --- Desk pauses -----------------------------------------------------------------------------


@roles.role_required(roles.DESK_OFFICER)
@require_POST
def desk_pause(request: HttpRequest, desk: str) -> HttpResponse:
    try:
        desk = services.check_desk(desk)
    except services.Refused:
        raise Http404 from None
    try:
        if request.POST.get("action") == "resume":
            pauses.resume(desk)
            messages.success(request, _("Desk %(desk)s resumed.") % {"desk": desk})
        else:
            row = pauses.pause(
                desk,
                request.POST.get("reason", ""),
                by=(request.user.get_full_name() or request.user.get_username()),
            )
            messages.info(request, pauses.describe(row))
    except services.Refused as exc:
        messages.error(request, exc.message)
    return redirect("branch_agent:desk", desk=desk)


def desk_context(desk: str) -> dict[str, Any]:
    """The pause controls of the desk page."""
    return {"pause": pauses.open_pause(desk), "pause_reasons": DeskPause.Reason.choices}


# --- The head's page -------------------------------------------------------------------------


@roles.role_required(roles.BRANCH_HEAD)
def head(request: HttpRequest) -> HttpResponse:
    day = None
    status = 200
    raw = request.GET.get("day", "").strip()
    if raw:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            messages.error(
                request,
                _("%(value)s is not a date (use YYYY-MM-DD); showing today.") % {"value": raw[:20]},
            )
            status = 400
    figures = floor.head_figures(day=day)
    return render(
        request,
        "branch_agent/head.html",
        {"f": figures, "target_minutes": figures.target_seconds // 60},
        status=status,
    )
