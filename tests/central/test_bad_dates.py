"""Bad dates on the report and triage filters answer 400 (API) or a form error naming the field
(pages), never a 500 (issue 14, item 7): year 1, year 0000, year 9999, garbage, reversed and
huge ranges. The rule lives once, in the shared date fields (``pst_helpdesk_ext.dates``)."""

from __future__ import annotations

from typing import Any

import pytest

from pst_helpdesk_ext.services.branches import create_branch
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db

BAD_DAYS = ["9999-12-31", "0001-01-01", "0000-01-01", "2026-13-40", "kemarin", "1-1-1"]


@pytest.fixture
def staff_client(client: Any) -> Any:
    create_branch("1222", "Labuhanbatu Selatan")
    client.force_login(make_staff("petugas", superuser=True))
    return client


API = [
    ("/api/pst/reports/sla/", "from"),
    ("/api/pst/reports/sla/", "to"),
    ("/api/pst/reports/ikm/", "date_from"),
    ("/api/pst/reports/ikm/", "date_to"),
    ("/api/pst/tickets/", "date_from"),
    ("/api/pst/tickets/", "date_to"),
]
PAGES = [
    ("/pst/reports/ikm/", "date_from"),
    ("/pst/reports/ikm/", "date_to"),
    ("/pst/triage/", "wait_from"),
    ("/pst/triage/", "wait_to"),
    ("/pst/tickets/", "date_from"),
    ("/pst/tickets/", "date_to"),
]


@pytest.mark.parametrize("day", BAD_DAYS)
@pytest.mark.parametrize(("url", "name"), API)
def test_api_answers_400_naming_the_parameter(staff_client, url, name, day):
    response = staff_client.get(url, {name: day}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400, response.content[:300]
    assert name in response.json()


@pytest.mark.parametrize("day", BAD_DAYS)
@pytest.mark.parametrize(("url", "name"), PAGES)
def test_page_shows_a_form_error_on_the_field(staff_client, url, name, day):
    response = staff_client.get(url, {name: day})
    assert response.status_code in (200, 400), response.content[:300]
    form = response.context["form"]
    assert name in form.errors, form.errors


@pytest.mark.parametrize(
    ("url", "start", "end"),
    [
        ("/api/pst/reports/sla/", "from", "to"),
        ("/api/pst/reports/ikm/", "date_from", "date_to"),
        ("/api/pst/tickets/", "date_from", "date_to"),
    ],
)
def test_api_refuses_reversed_and_huge_ranges(staff_client, url, start, end):
    reversed_range = staff_client.get(url, {start: "2026-03-10", end: "2026-03-01"})
    assert reversed_range.status_code == 400 and end in reversed_range.json()
    if url != "/api/pst/tickets/":  # a ticket list may span any period; a report may not
        huge = staff_client.get(url, {start: "2000-01-01", end: "2026-03-01"})
        assert huge.status_code == 400 and {start, end} & set(huge.json())


@pytest.mark.parametrize(
    ("url", "start", "end"),
    [
        ("/pst/reports/ikm/", "date_from", "date_to"),
        ("/pst/triage/", "wait_from", "wait_to"),
        ("/pst/tickets/", "date_from", "date_to"),
    ],
)
def test_pages_refuse_reversed_and_huge_ranges(staff_client, url, start, end):
    periods = [{start: "2026-03-10", end: "2026-03-01"}]
    if url != "/pst/tickets/":  # a ticket list may span any period; a report may not
        periods.append({start: "2000-01-01", end: "2026-03-01"})
    for params in periods:
        response = staff_client.get(url, params)
        assert response.status_code in (200, 400)
        assert end in response.context["form"].errors


def test_a_good_period_still_works(staff_client):
    assert (
        staff_client.get(
            "/api/pst/reports/sla/", {"from": "2026-03-01", "to": "2026-03-31"}
        ).status_code
        == 200
    )
    assert (
        staff_client.get(
            "/api/pst/reports/ikm/", {"date_from": "2026-03-01", "date_to": "2026-03-31"}
        ).status_code
        == 200
    )
    page = staff_client.get("/pst/triage/", {"wait_from": "2026-03-01", "wait_to": "2026-03-07"})
    assert page.status_code == 200 and not page.context["form"].errors


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_ikm_report_command_names_the_option(day):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as refused:
        call_command("pst_ikm_report", "--to", day, "--format", "json")
    assert "--to" in str(refused.value) and day in str(refused.value)
