"""The PST public frame: the office's name and logo, and where visitors' questions go."""

from __future__ import annotations

from typing import Any

from django import template
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext

from pst_helpdesk_ext.conf import pst_settings

register = template.Library()


def request_url() -> str:
    """The PST request page, or "" while the site has not mounted the plugin's URLs."""
    try:
        return reverse("pst:online_start")
    except NoReverseMatch:
        return ""


@register.simple_tag
def pst_office() -> dict[str, Any]:
    """What the public frame shows: ``name``, ``logo`` (a URL or ""), ``request_url`` (the PST
    request page, "" when not mounted) and ``public_form`` (helpdesk's own submit form is
    offered: PST_HELPDESK['PUBLIC_TICKET_FORM'], or always while the PST flow is not mounted)."""
    logo = str(pst_settings.OFFICE_LOGO or "")
    if logo and not logo.startswith(("http://", "https://", "/")):
        logo = static(logo)
    url = request_url()
    name = str(pst_settings.OFFICE_NAME or "")
    return {
        "name": name or gettext("BPS Integrated Statistical Services"),
        "logo": logo,
        "request_url": url,
        "public_form": bool(pst_settings.PUBLIC_TICKET_FORM) or not url,
    }
