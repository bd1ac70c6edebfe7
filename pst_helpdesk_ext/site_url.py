"""The site's public address in the links that leave it (e-mails, WhatsApp messages).

django-helpdesk builds every absolute link from the Sites framework (``helpdesk.lib.
build_base_url``: ``http[s]://`` + the current Site's domain, https when
``HELPDESK_USE_HTTPS_IN_EMAIL_LINK``), and so do the plugin's rating links. A fresh site's domain
is ``example.com``. ``PST_HELPDESK['PUBLIC_BASE_URL']`` names the real address once, in settings;
after each ``migrate`` the current Site carries its host (and port), so helpdesk's links and the
plugin's agree. The system checks ``pst_helpdesk_ext.E040``/``W040``-``W042`` report what is left.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError

from pst_helpdesk_ext.conf import pst_settings

log = logging.getLogger("pst.site_url")

#: The Sites framework's default domain: links on it reach nobody.
PLACEHOLDER_DOMAINS = frozenset({"example.com", "www.example.com", "configure-django-sites.com"})


def parse_base_url(value: Any) -> tuple[str, str]:
    """``(scheme, host[:port])`` of a PUBLIC_BASE_URL; ValueError naming what is wrong."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// address with a host")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{value!r} must be only scheme, host and port (no path, query or user)")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port") from None
    return parts.scheme, parts.netloc.lower()


def configured_domain() -> str | None:
    """The host[:port] PUBLIC_BASE_URL names, or None when it is unset or invalid."""
    value = pst_settings.PUBLIC_BASE_URL
    if not value:
        return None
    try:
        return parse_base_url(value)[1]
    except ValueError:
        return None


def sync_site_domain(using: str = "default", **kwargs: Any) -> None:
    """post_migrate: the current Site takes PUBLIC_BASE_URL's host (a no-op when unset)."""
    domain = configured_domain()
    if domain is None or "django.contrib.sites" not in settings.INSTALLED_APPS:
        return
    from django.contrib.sites.models import Site

    site_id = getattr(settings, "SITE_ID", 1)
    try:
        site, created = Site.objects.using(using).get_or_create(
            pk=site_id, defaults={"domain": domain, "name": domain}
        )
    except DatabaseError:  # the sites table is not there yet (a partial migrate)
        return
    if not created and site.domain != domain:
        log.info("Site %s: domain %s -> %s (PUBLIC_BASE_URL)", site_id, site.domain, domain)
        site.domain = domain
        if site.name in PLACEHOLDER_DOMAINS:
            site.name = domain
        site.save(using=using)
    Site.objects.clear_cache()
