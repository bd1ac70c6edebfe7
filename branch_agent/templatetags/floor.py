"""Template tags of the floor screens: the office's logo, the running text, the kiosk's language
(``branch_agent.floor_settings``)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse

from branch_agent import floor_settings

register = template.Library()


@register.simple_tag
def office_logo_url() -> str:
    """The logo's URL (changing when the logo does, so screens never show an old one), or ""."""
    path = floor_settings.logo_path()
    if path is None:
        return ""
    return f"{reverse('branch_agent:office_logo')}?v={int(path.stat().st_mtime)}"


@register.simple_tag
def running_text() -> str:
    return floor_settings.load().running_text


@register.simple_tag
def kiosk_idle_seconds() -> int:
    return floor_settings.KIOSK_IDLE_SECONDS


@register.simple_tag
def default_language() -> str:
    """The office's default language (``[web] language``): every visitor starts in it."""
    return settings.LANGUAGE_CODE
