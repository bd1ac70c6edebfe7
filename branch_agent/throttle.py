"""Limits on the office LAN: queue numbers per kiosk device and per minute, and login attempts.

Rules:
- In memory, in the one agent process (waitress threads share it): a limit never writes to the
  store and never waits on anything; a restart forgets the counts, which only ever lets more
  through, never blocks a person for good.
- A device is the client address the request came from (waitress drops proxy headers), so one
  kiosk, dispenser or script on the LAN has its own budget, and all of them share a total one.
- Issuing takes a place in the window before the number is made and gives it back when no new
  number was made (a repeated request with the same token, a refusal): repeats never count.
- Login: every failed attempt counts for the account and for the address, within the lockout
  window; once either has reached its limit every attempt is refused (even with the right
  password) until the oldest failure leaves the window. A good login clears the account.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass

from django.http import HttpRequest

log = logging.getLogger("branch_agent.security")

MINUTE = 60.0


def clock() -> float:
    """The windows' clock (monotonic; a test moves it instead of sleeping)."""
    return time.monotonic()


MAX_KEYS = 10_000  # a LAN has far fewer devices; beyond this the oldest keys are dropped


def client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:64]


class Window:
    """Moments per key within the last ``seconds``; thread safe."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def _fresh(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= MAX_KEYS:
                self._hits.pop(next(iter(self._hits)))
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        return hits

    def wait(self, limits: list[tuple[str, int]]) -> float:
        """Seconds until every key is below its limit (0: it is now)."""
        with self._lock:
            return self._wait(limits, clock())

    def _wait(self, limits: list[tuple[str, int]], now: float) -> float:
        longest = 0.0
        for key, limit in limits:
            hits = self._fresh(key, now)
            if len(hits) >= limit:
                longest = max(longest, hits[len(hits) - limit] + self.seconds - now)
        return longest

    def take(self, limits: list[tuple[str, int]]) -> tuple[float, float]:
        """Take a place under every limit at once: (0, moment) when taken, else (wait, 0)."""
        with self._lock:
            now = clock()
            wait = self._wait(limits, now)
            if wait > 0:
                return wait, 0.0
            for key, _limit in limits:
                self._hits[key].append(now)
            return 0.0, now

    def add(self, keys: list[str]) -> int:
        """Count one more for every key; the largest count now held."""
        with self._lock:
            now = clock()
            most = 0
            for key in keys:
                hits = self._fresh(key, now)
                hits.append(now)
                most = max(most, len(hits))
            return most

    def give_back(self, keys: list[str], moment: float) -> None:
        with self._lock:
            for key in keys:
                hits = self._hits.get(key)
                if hits is not None and moment in hits:
                    hits.remove(moment)

    def clear(self, keys: list[str] | None = None) -> None:
        with self._lock:
            if keys is None:
                self._hits.clear()
            for key in keys or ():
                self._hits.pop(key, None)


# --- queue numbers ---------------------------------------------------------------------------

issuing = Window(MINUTE)
_refusals = Window(MINUTE)  # refused requests per device: only the first of a minute is logged
ALL_KIOSKS = "issue:*"


@dataclass
class Place:
    """A place taken in the issuing window; ``release()`` when no number was made."""

    keys: list[str]
    moment: float

    def release(self) -> None:
        issuing.give_back(self.keys, self.moment)


def issued_before(token: str | None) -> object | None:
    """The visit a repeated request (same token) already got, so a repeat is answered with its
    number even when the device has used up its minute."""
    if not token:
        return None
    from branch_agent.models import FormToken

    used = FormToken.objects.select_related("visit").filter(token=token, action="issue").first()
    return used.visit if used is not None else None


def wait_message(seconds: float) -> str:
    """'Too many numbers from this kiosk ... wait N seconds', in the page's language."""
    from django.utils.translation import ngettext

    wait = max(1, math.ceil(seconds))
    return ngettext(
        "Too many queue numbers were taken in the last minute. Please wait %(seconds)d second"
        " and try again, or ask the front office.",
        "Too many queue numbers were taken in the last minute. Please wait %(seconds)d seconds"
        " and try again, or ask the front office.",
        wait,
    ) % {"seconds": wait}


def take_issue_place(request: HttpRequest) -> Place | float:
    """A place for one new queue number from this device, or the seconds to wait."""
    from branch_agent.conf import agent_settings

    keys = [f"issue:{client_address(request)}", ALL_KIOSKS]
    wait, moment = issuing.take(
        [
            (keys[0], agent_settings.issue_per_device_per_minute),
            (keys[1], agent_settings.issue_per_minute),
        ]
    )
    if wait > 0:
        refused = _refusals.add([keys[0]])
        if refused == 1:  # the first refusal of this device in the window; a flood is one line
            log.warning(
                "queue numbers refused: device %s over its limit (%d a minute per device, %d for"
                " all kiosks); retry in %.0f s (later refusals of this minute are counted, not"
                " logged)",
                client_address(request),
                agent_settings.issue_per_device_per_minute,
                agent_settings.issue_per_minute,
                wait,
            )
        return wait
    return Place(keys, moment)


# --- logins ----------------------------------------------------------------------------------

_login_windows: dict[float, Window] = {}
_login_lock = threading.Lock()


def _logins() -> Window:
    from branch_agent.conf import agent_settings

    seconds = float(agent_settings.login_lockout_seconds)
    with _login_lock:
        window = _login_windows.get(seconds)
        if window is None:
            window = _login_windows[seconds] = Window(seconds)
        return window


def _login_keys(username: str, address: str) -> tuple[str, str]:
    return f"login-account:{username.strip().casefold()[:150]}", f"login-address:{address}"


def login_wait(username: str, address: str) -> float:
    """Seconds this account or address must wait before another attempt (0: go ahead)."""
    from branch_agent.conf import agent_settings

    account, place = _login_keys(username, address)
    return _logins().wait(
        [
            (account, agent_settings.login_failures_per_account),
            (place, agent_settings.login_failures_per_address),
        ]
    )


def login_failed(username: str, address: str) -> int:
    """Count a failed attempt; how many failures the account or address now holds."""
    return _logins().add(list(_login_keys(username, address)))


def login_succeeded(username: str, address: str) -> None:
    _logins().clear([_login_keys(username, address)[0]])


def reset() -> None:
    """Forget every count (tests; a restart does the same)."""
    issuing.clear()
    _refusals.clear()
    live_views.clear()
    with _login_lock:
        for window in _login_windows.values():
            window.clear()


# --- the visitor's live page (guest Wi-Fi) ---------------------------------------------------

LIVE_VIEWS_PER_DEVICE_PER_MINUTE = 30  # the page polls every 15 s; reloads and a few tabs fit
live_views = Window(MINUTE)


def take_live_view(request: HttpRequest) -> float:
    """Count one live-page request from this device: 0 when allowed, else seconds to wait."""
    wait, _moment = live_views.take(
        [(f"live:{client_address(request)}", LIVE_VIEWS_PER_DEVICE_PER_MINUTE)]
    )
    return wait
