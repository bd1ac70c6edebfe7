"""Rate limits of the public pages: what one client address, and what one target e-mail address,
may do in a while (SECURITY.md, "The public boundary").

What is limited: every public action that sends an e-mail or opens a ticket (the request page's
verification link and its request, a complaint, a rating, helpdesk's own public ticket form and
password reset, through ``PublicThrottleMiddleware``). Three limits, in ``PST_HELPDESK``:

- ``PUBLIC_LIMIT_PER_CLIENT`` ``(count, seconds)``: actions per client address;
- ``PUBLIC_LIMIT_PER_EMAIL`` ``(count, seconds)``: e-mails the site sends to one address;
- ``PUBLIC_DAILY_SENDS_PER_EMAIL``: e-mails to one address in 24 hours, whatever the client.

Rules:
- Counters live in Django's cache (a sliding log of times per key), so no table is needed. With
  the default ``LocMemCache`` each server process counts alone: a site with several processes
  needs a shared cache (``DatabaseCache``, Redis); ``manage.py check`` warns when DEBUG is off
  (``pst_helpdesk_ext.W301``).
- Keys hold no personal data in clear: the e-mail address and the client address are hashed
  with a key (HMAC with ``SECRET_KEY``).
- The client address is ``REMOTE_ADDR``. Behind a reverse proxy, list the proxy's addresses in
  ``PUBLIC_TRUSTED_PROXIES``: the address is then the right-most ``X-Forwarded-For`` entry that is
  not a trusted proxy (a client cannot forge its way past the proxy that appended it).
- Not atomic: two requests at the same instant may both pass the last free place (a limit can be
  exceeded by the number of concurrent requests, never by a flood).
- A refusal says how long to wait; it is logged (logger ``pst.throttle``) with the limit's name and
  the hashed key, never the e-mail address.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, ngettext

from pst_helpdesk_ext.conf import pst_settings

logger = logging.getLogger("pst.throttle")

DAY = 24 * 3600


@dataclass(frozen=True)
class Refused:
    """A limit that is reached: which one, and how many seconds until one more is allowed."""

    limit: str
    wait_seconds: int

    def message(self, *, kept: bool = True) -> str:
        """What to tell the person, in the active language, naming the wait (``kept``: the
        refused form is shown again with what was typed)."""
        minutes = max(1, math.ceil(self.wait_seconds / 60))
        if minutes >= 120:
            hours = math.ceil(minutes / 60)
            wait = ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
        else:
            wait = ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
        if self.limit == "client" and kept:
            return gettext(
                "Too many requests from your connection. Please try again in %(wait)s; what "
                "you typed is kept below."
            ) % {"wait": wait}
        if self.limit == "client":
            return gettext(
                "Too many requests from your connection. Please try again in %(wait)s."
            ) % {"wait": wait}
        return gettext(
            "We have already sent several e-mails to this address. Please check your inbox "
            "(and spam folder), or try again in %(wait)s."
        ) % {"wait": wait}

    def both_languages(self) -> list[str]:
        """The message in Indonesian and in English (the rating and complaint pages are shown
        in both languages, whatever the browser asks for)."""
        texts = []
        for language in ("id", "en"):
            with translation.override(language):
                texts.append(self.message())
        return texts


def _hash(value: str) -> str:
    """A keyed hash (HMAC with SECRET_KEY): the cache and the log never hold the address, nor a
    plain hash of it that a list of addresses could be tried against."""
    return salted_hmac("pst.throttle", value.strip().lower()).hexdigest()[:32]


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind trusted proxies the first untrusted hop of
    X-Forwarded-For counted from the right."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    networks = _trusted_networks()
    if not networks or not _in(remote, networks):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _valid_ip(hop):
            return remote  # a forged or broken header: count the proxy, not the junk
        if not _in(hop, networks):
            return hop
    return remote


def _trusted_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The trusted proxies; an entry that is not an address is skipped (check E202 names it)."""
    networks = []
    for entry in pst_settings.PUBLIC_TRUSTED_PROXIES or ():
        try:
            networks.append(ipaddress.ip_network(str(entry), strict=False))
        except ValueError:
            continue
    return networks


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _in(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in networks)


def _check(key: str, count: int, seconds: int, now: float) -> tuple[list[float], int | None]:
    """The log of ``key`` within the window, and the wait when it is full (None: room left)."""
    times = [t for t in (cache.get(key) or []) if t > now - seconds]
    if len(times) >= count:
        return times, max(1, math.ceil(times[-count] + seconds - now))
    return times, None


def _limits(request: HttpRequest, email: str | None) -> list[tuple[str, str, int, int]]:
    count, seconds = pst_settings.PUBLIC_LIMIT_PER_CLIENT
    limits = [("client", f"pst:throttle:client:{_hash(client_address(request))}", count, seconds)]
    if email:
        count, seconds = pst_settings.PUBLIC_LIMIT_PER_EMAIL
        digest = _hash(email)
        limits.append(("email", f"pst:throttle:email:{digest}", count, seconds))
        limits.append(
            (
                "email_day",
                f"pst:throttle:day:{digest}",
                pst_settings.PUBLIC_DAILY_SENDS_PER_EMAIL,
                DAY,
            )
        )
    return limits


def hit(action: str, request: HttpRequest, email: str | None = None) -> Refused | None:
    """Count one public ``action`` by this client (and one e-mail to ``email``, when it sends
    one). Nothing is counted when a limit is reached: the refusal is returned instead, and
    logged."""
    now = time.time()
    checked = []
    for name, key, count, seconds in _limits(request, email):
        times, wait = _check(key, count, seconds, now)
        if wait is not None:
            logger.warning(
                "public limit reached: %s on %s (key %s, %d in %d s); refused, retry in %d s",
                name,
                action,
                key.rsplit(":", 1)[-1][:12],
                count,
                seconds,
                wait,
            )
            return Refused(name, wait)
        checked.append((key, times, seconds))
    for key, times, seconds in checked:
        cache.set(key, [*times, now], timeout=seconds)
    return None
