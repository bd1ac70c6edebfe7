"""The new report pages in Chromium at a desk PC (1366x768) and a phone (390x844): every filter
can be reached and used (the SLA page's grouping boxes were once covered by the results), the
download links carry the period on screen, nothing asks the internet."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.browser import chromium_fixture, helpdesk_login, record_requests, screenshot
from tests.central import test_sla_web as sla_web

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
branch, report_data, other_branch = sla_web.branch, sla_web.report_data, sla_web.other_branch

PASSWORD = "kepala-pw-1222"
chromium = chromium_fixture(scope="module")


@pytest.mark.parametrize(("width", "height", "name"), [(1366, 768, "desk"), (390, 844, "phone")])
def test_sla_page_filters_are_usable_and_downloads_hold_the_period(
    report_data, live_server, chromium, width, height, name
):
    get_user_model().objects.create_user(
        "kepala", "kepala@example.bps.go.id", PASSWORD, is_staff=True, is_superuser=True
    )
    base = live_server.url
    page = chromium.new_page(locale="id-ID", viewport={"width": width, "height": height})
    requests = record_requests(page, base)
    try:
        helpdesk_login(page, base, "kepala", PASSWORD)
        page.goto(f"{base}/pst/reports/sla/?date_from=2026-03-01&date_to=2026-03-31&group=branch")
        page.wait_for_selector("#pst-sla-totals")
        # Every grouping box can be clicked where it is (nothing lies on top of it).
        for value in ("channel", "category", "officer"):
            page.locator(f'#pst-report-filters input[name="group"][value="{value}"]').click()
        page.locator("#pst-report-filters button[type=submit]").click()
        page.wait_for_selector("#pst-sla-rows")
        url = page.url
        for value in ("branch", "channel", "category", "officer"):
            assert f"group={value}" in url
        link = page.locator("#pst-sla-downloads a").first.get_attribute("href")
        assert "date_from=2026-03-01" in link and "group=officer" in link and "format=csv" in link
        assert not link.startswith("?&")
        # The page fits the screen's width (tables scroll inside their own box).
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"sla_report_{name}")
    finally:
        page.close()
    assert requests.external == [], requests.external


def test_days_are_typed_day_first_whatever_the_browsers_language(
    report_data, live_server, chromium
):
    """A US-English browser (whose date picker would say mm/dd/yyyy): the day is typed dd/mm/yyyy
    all the same, the report covers March (not 3 January to 3 December); a reversed period is
    refused beside the field with what was typed still in the inputs."""
    get_user_model().objects.create_user(
        "kepala", "kepala@example.bps.go.id", PASSWORD, is_staff=True, is_superuser=True
    )
    base = live_server.url
    page = chromium.new_page(locale="en-US", viewport={"width": 390, "height": 844})
    try:
        helpdesk_login(page, base, "kepala", PASSWORD)
        page.goto(f"{base}/pst/reports/sla/")
        start = page.locator('#pst-report-filters input[name="date_from"]')
        end = page.locator('#pst-report-filters input[name="date_to"]')
        assert start.get_attribute("type") == "text"
        assert start.get_attribute("inputmode") == "numeric"
        start.fill("01/03/2026")
        end.fill("31/03/2026")
        page.locator("#pst-report-filters button[type=submit]").click()
        page.wait_for_selector("#pst-sla-totals")
        heading = page.inner_text("#pst-sla-summary h2")
        assert "March 1, 2026" in heading and "March 31, 2026" in heading
        link = page.locator("#pst-sla-downloads a").first.get_attribute("href")
        assert "date_from=2026-03-01" in link and "date_to=2026-03-31" in link

        start.fill("31/03/2026")
        end.fill("01/03/2026")
        page.locator("#pst-report-filters button[type=submit]").click()
        page.wait_for_selector("#pst-report-filters [role=alert]")
        assert "01/03/2026" in page.inner_text("#pst-report-filters [role=alert]")
        assert start.input_value() == "31/03/2026" and end.input_value() == "01/03/2026"
        assert page.locator("#pst-sla-totals").count() == 0
    finally:
        page.close()
