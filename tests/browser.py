"""What the browser tests share: Debian's Chromium driven by Playwright, the request log behind
the "no page reaches the internet" checks, and the two login forms.

Chromium is ``/usr/bin/chromium`` (or ``$CHROMIUM``) launched through ``executable_path``, never a
browser from ``playwright install``; a missing binary fails the test, it never skips it. A test
module takes its browser with ``chromium = chromium_fixture()`` (``scope="module"`` to share one
browser across the module's tests, ``name=`` for another fixture name).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """A Chromium for as long as the block runs, closed however the block ends."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is needed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


def chromium_fixture(*, scope: str = "function", name: str = "chromium") -> Any:
    """A pytest fixture giving a launched Chromium, to assign in a test module.

    Playwright's sync API runs an event loop in the test's thread; Django then refuses database
    calls made there (fixtures, teardown) unless told that this thread is not async code, so the
    fixture sets ``DJANGO_ALLOW_ASYNC_UNSAFE`` while the browser lives (and only then).
    """

    @pytest.fixture(scope=scope, name=name)
    def chromium() -> Iterator[Any]:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
            with launched_chromium() as browser:
                yield browser

    return chromium


@dataclass
class RequestLog:
    """Every URL a page or browser context requested, to prove no page loads from elsewhere."""

    base: str
    seen: list[str] = field(default_factory=list)

    @property
    def external(self) -> list[str]:
        return [url for url in self.seen if not url.startswith(self.base)]

    def watch(self, target: Any) -> RequestLog:
        """Log the requests of ``target`` too (a Playwright page or browser context)."""
        target.on("request", lambda request: self.seen.append(request.url))
        return self


def record_requests(target: Any, base: str) -> RequestLog:
    """Log the requests of ``target`` (a Playwright page or browser context); ``base`` is the
    site under test, anything else is external."""
    return RequestLog(base).watch(target)


def helpdesk_login(page: Any, base: str, username: str, password: str) -> None:
    """Log in through helpdesk's own login page of the central site."""
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[role=form] button[type=submit]")
    page.wait_for_load_state()


def agent_login(
    page: Any, base: str, username: str, password: str, timeout: float = 30_000
) -> None:
    """Log in to the branch agent and wait for its home page."""
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/", timeout=timeout)


def screenshot(page: Any, name: str) -> None:
    """With PST_SCREENSHOT_DIR set, keep a full-page screenshot (to look at the layout)."""
    folder = os.environ.get("PST_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)
