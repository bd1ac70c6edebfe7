"""The WhatsApp Business Cloud API webhook, at ``<api prefix>/whatsapp/webhook/``.

A plain Django view, not a DRF one: the signature covers the raw body, so nothing may parse it
first. GET answers Meta's subscription handshake; POST needs ``X-Hub-Signature-256``. Thin: the
rules are in ``services.whatsapp``.
"""

from __future__ import annotations

import json
import logging

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    JsonResponse,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.services import whatsapp

logger = logging.getLogger("pst.whatsapp")

# Far above any real webhook body (a few KB), far below what would hurt.
MAX_BODY_BYTES = 1024 * 1024


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        challenge = whatsapp.handshake_challenge(request.GET.dict())
        if challenge is None:
            return HttpResponseForbidden("verify token mismatch")
        return HttpResponse(challenge, content_type="text/plain")
    header = (request.META.get("CONTENT_LENGTH") or "0").strip()
    if not (header.isascii() and header.isdigit()):
        logger.warning("WhatsApp webhook: Content-Length %r is not a number; refused", header[:40])
        return HttpResponseBadRequest(
            "Content-Length must be the body's size in bytes (a whole number).",
            content_type="text/plain",
        )
    if len(header) > 12 or int(header) > MAX_BODY_BYTES:
        logger.warning("WhatsApp webhook: body of %s bytes; refused", header[:40])
        return HttpResponse(
            f"Body too large: at most {MAX_BODY_BYTES} bytes.",
            status=413,
            content_type="text/plain",
        )
    raw = request.body
    secret = pst_settings.WHATSAPP_APP_SECRET
    if not whatsapp.signature_is_valid(raw, request.headers.get(whatsapp.SIGNATURE_HEADER), secret):
        logger.warning("WhatsApp webhook: bad or missing signature; refused")
        return HttpResponseForbidden("bad signature")
    depth = whatsapp.json_depth(raw)
    if depth > whatsapp.MAX_JSON_DEPTH:
        logger.warning("WhatsApp webhook: signed body nested %d deep; refused", depth)
        return HttpResponseBadRequest(
            f"JSON body nested too deeply: at most {whatsapp.MAX_JSON_DEPTH} levels.",
            content_type="text/plain",
        )
    try:
        payload = json.loads(raw)
    except ValueError:
        logger.warning("WhatsApp webhook: signed body is not JSON; acknowledged and ignored")
        return JsonResponse({"ignored": 1})
    result = whatsapp.handle_webhook(payload)
    return JsonResponse(
        {
            "created": result.created,
            "duplicates": result.duplicates,
            "statuses": result.statuses,
            "ignored": result.ignored,
        }
    )
