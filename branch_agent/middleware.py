"""Turns a store that cannot write (disk full, read-only, locked) into a clear answer.

The write's transaction has rolled back, so nothing was half-saved; the person is told that the
record was NOT saved and what to do, instead of a bare 500. API paths get JSON.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from branch_agent.services import Refused

log = logging.getLogger("branch_agent.store")


def store_problem(exc: Exception) -> tuple[str, str]:
    text = str(exc).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return "store_full", _(
            "The disk of this PC is full. Free some space (or call the branch admin), then try"
            " again."
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return "store_read_only", _(
            "The data file cannot be written (read-only or missing). Call the branch admin."
        )
    if "locked" in text or "busy" in text:
        return "store_busy", _("The data file is busy. Wait a moment and try again.")
    return "store_error", _(
        "The data could not be saved. Try again; if it repeats, call the branch admin."
    )


class StoreErrorMiddleware:
    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, Refused):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"error": exc.code, "message": exc.message, "field": exc.field}, status=400
                )
            return render(
                request, "branch_agent/refused.html", {"message": exc.message}, status=400
            )
        if not isinstance(exc, DatabaseError):
            return None
        code, message = store_problem(exc)
        log.error("store write failed path=%s code=%s error=%s", request.path, code, exc)
        if request.path.startswith("/api/"):
            return JsonResponse({"error": code, "message": message, "saved": False}, status=503)
        return render(
            request, "branch_agent/store_error.html", {"message": message, "code": code}, status=503
        )
