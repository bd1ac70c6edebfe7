"""The office floor's screens: what the head of office sets for the kiosk and the display board
(a running text line and the office's logo), the visitor's language at the kiosk, and the board's
list of the last calls.

Rules:
- The settings live in the data directory next to ``agent.toml``: ``floor.json`` (the running
  text) and ``office-logo.png`` / ``office-logo.jpg``. Both are written whole (a temp file, then a
  rename), so a power cut leaves the old or the new value, never half of one. A missing or broken
  ``floor.json`` shows no running text; the board and kiosk never fail because of it.
- The logo is a PNG or JPEG of at most ``LOGO_MAX_BYTES`` (checked by its first bytes, not its
  name); never SVG, which could carry script.
- The kiosk's language belongs to one visitor: it is carried in the URL (``?lang=en``) and the
  kiosk form, never in the browser's language cookie, so every new page without it (after a
  ticket, after the idle timeout) is in the office's default language.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from branch_agent import roles
from branch_agent.conf import agent_settings
from branch_agent.models import Visit

log = logging.getLogger(__name__)

FLOOR_FILE = "floor.json"
LOGO_STEM = "office-logo"
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg"}
LOGO_MAX_BYTES = 512 * 1024
RUNNING_TEXT_MAX = 300
RECENT_CALLS = 6
KIOSK_IDLE_SECONDS = 60  # a kiosk left in another language returns to the default after this


@dataclass(frozen=True)
class FloorSettings:
    running_text: str = ""


def _home() -> Path:
    return agent_settings.home


def load() -> FloorSettings:
    path = _home() / FLOOR_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return FloorSettings()
    except (OSError, ValueError) as exc:
        log.warning("%s cannot be read (%s): the board shows no running text", path, exc)
        return FloorSettings()
    text = raw.get("running_text", "") if isinstance(raw, dict) else ""
    return FloorSettings(running_text=text[:RUNNING_TEXT_MAX] if isinstance(text, str) else "")


def _write_whole(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(floor: FloorSettings) -> None:
    payload = json.dumps({"running_text": floor.running_text}, ensure_ascii=False, indent=1)
    _write_whole(_home() / FLOOR_FILE, payload.encode("utf-8"))


def logo_path() -> Path | None:
    for suffix in LOGO_TYPES:
        path = _home() / f"{LOGO_STEM}{suffix}"
        if path.is_file():
            return path
    return None


def logo_kind(data: bytes) -> str | None:
    """The logo's file suffix from its first bytes, or None when it is no PNG or JPEG."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    return None


def save_logo(data: bytes) -> None:
    suffix = logo_kind(data)
    if suffix is None:
        raise ValueError("not a PNG or JPEG")
    _write_whole(_home() / f"{LOGO_STEM}{suffix}", data)
    for other in LOGO_TYPES:
        if other != suffix:
            (_home() / f"{LOGO_STEM}{other}").unlink(missing_ok=True)


def remove_logo() -> None:
    for suffix in LOGO_TYPES:
        (_home() / f"{LOGO_STEM}{suffix}").unlink(missing_ok=True)


def recent_calls(limit: int = RECENT_CALLS) -> list[dict[str, Any]]:
    """Today's last calls, newest first: number and desk only (what the board shows)."""
    rows = (
        Visit.objects.filter(service_day=timezone.localdate(), last_call_at__isnull=False)
        .exclude(desk="")
        .order_by("-last_call_at")
        .values("queue_number", "desk", "last_call_at")[:limit]
    )
    return [
        {
            "queue_number": r["queue_number"],
            "desk": r["desk"],
            "called_at": r["last_call_at"].isoformat(),
        }
        for r in rows
    ]


# --- The visitor's language at the kiosk ------------------------------------------------------


def kiosk_languages() -> list[tuple[str, str]]:
    return [(code, name) for code, name in settings.LANGUAGES]


def visitor_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Render a kiosk page in the visitor's language (``lang`` in the query or the form), else in
    the office's default, whatever the browser's cookie or Accept-Language say; a redirect to
    another kiosk page keeps the visitor's choice."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        known = dict(settings.LANGUAGES)
        chosen = request.POST.get("lang") or request.GET.get("lang") or ""
        language = chosen if chosen in known else settings.LANGUAGE_CODE
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
        response.headers["Content-Language"] = language
        if language != settings.LANGUAGE_CODE and isinstance(response, HttpResponseRedirect):
            target = urlsplit(response["Location"])
            if not target.netloc and target.path.startswith(reverse("branch_agent:kiosk")):
                joiner = "&" if target.query else "?"
                response["Location"] = response["Location"] + joiner + urlencode({"lang": language})
        return response

    return wrapped


# --- The head of office's page ----------------------------------------------------------------


class FloorSettingsForm(forms.Form):
    running_text = forms.CharField(
        label=gettext_lazy("Running text on the display board"),
        max_length=RUNNING_TEXT_MAX,
        required=False,
        help_text=gettext_lazy(
            "One line that runs along the bottom of the board, e.g. opening hours or an"
            " announcement. Leave empty for none."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    logo = forms.FileField(
        label=gettext_lazy("Office logo"),
        required=False,
        help_text=gettext_lazy(
            "A PNG or JPEG file of at most 512 KB, shown on the kiosk and the board."
        ),
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(label=gettext_lazy("Remove the logo"), required=False)

    def clean_running_text(self) -> str:
        return " ".join(self.cleaned_data["running_text"].split())

    def clean_logo(self) -> bytes | None:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        if upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(
                _("The logo is %(size)d KB; the limit is 512 KB. Save it smaller and try again.")
                % {"size": upload.size // 1024}
            )
        data = upload.read()
        if logo_kind(data) is None:
            raise forms.ValidationError(
                _("The logo must be a PNG or JPEG picture; this file is neither.")
            )
        return data


@never_cache
@roles.role_required(roles.BRANCH_ADMIN)
def settings_page(request: HttpRequest) -> HttpResponse:
    current = load()
    if request.method == "POST":
        form = FloorSettingsForm(request.POST, request.FILES)
        if form.is_valid():
            save(FloorSettings(running_text=form.cleaned_data["running_text"]))
            if form.cleaned_data["logo"]:
                save_logo(form.cleaned_data["logo"])
            elif form.cleaned_data["remove_logo"]:
                remove_logo()
            messages.success(request, _("Saved: the kiosk and the board show it at once."))
            return redirect("branch_agent:floor_settings")
        status = 400
    else:
        form = FloorSettingsForm(initial={"running_text": current.running_text})
        status = 200
    return render(
        request,
        "branch_agent/floor_settings.html",
        {"form": form, "has_logo": logo_path() is not None},
        status=status,
    )


@require_GET
def office_logo(request: HttpRequest) -> HttpResponse:
    path = logo_path()
    if path is None:
        raise Http404
    response = HttpResponse(path.read_bytes(), content_type=LOGO_TYPES[path.suffix])
    response["Cache-Control"] = "no-cache"
    return response
