"""The IKM report's per-desk and per-officer tables in Chromium (desk 1366x768, phone 390x844):
a desk below the minimum shows its counts and the reason, never its IKM."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from pst_helpdesk_ext.services.branches import create_branch
from tests.browser import chromium_fixture, helpdesk_login, record_requests, screenshot
from tests.central.test_reports_staff import served_and_rated

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "kepala-pw-1222"
chromium = chromium_fixture(scope="module")


@pytest.fixture
def rated_day() -> None:
    branch = create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")
    served_and_rated(branch, 5, "Meja 1", "Budi Santoso", 16)
    served_and_rated(branch, 3, "Meja 2", "Rina Lubis", 17)
    get_user_model().objects.create_user(
        "kepala", "kepala@example.bps.go.id", PASSWORD, is_staff=True, is_superuser=True
    )


@pytest.mark.parametrize(("width", "height", "name"), [(1366, 768, "desk"), (390, 844, "phone")])
def test_small_desks_say_why_their_figures_are_hidden(
    rated_day, live_server, chromium, width, height, name
):
    base = live_server.url
    page = chromium.new_page(locale="id-ID", viewport={"width": width, "height": height})
    requests = record_requests(page, base)
    try:
        helpdesk_login(page, base, "kepala", PASSWORD)
        page.goto(f"{base}/pst/reports/ikm/?date_from=2026-03-01&date_to=2026-03-31")
        page.wait_for_selector("#pst-desks")
        shown = page.locator('#pst-desks tr[data-name="Meja 1"]').inner_text()
        hidden_row = page.locator('#pst-desks tr[data-name="Meja 2"]')
        reason = hidden_row.locator(".pst-hidden-reason")
        assert "100" in shown  # all scored 4: IKM 100.00
        assert "100" not in hidden_row.locator("td.pst-num").all_inner_texts()[1]
        # The reason is readable without scrolling the table sideways, on a phone too.
        box = reason.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width
        assert "kurang dari 5" in reason.inner_text() and reason.is_visible()
        assert page.locator('#pst-officers tr[data-name="Rina Lubis"][data-hidden]').count() == 1
        page.locator("#pst-desks").scroll_into_view_if_needed()
        screenshot(page, f"ikm_desks_{name}")
        import os

        if os.environ.get("PST_SCREENSHOT_DIR"):
            page.locator("#pst-desks-card").screenshot(
                path=os.path.join(os.environ["PST_SCREENSHOT_DIR"], f"ikm_desks_card_{name}.png")
            )
    finally:
        page.close()
    assert requests.external == [], requests.external
