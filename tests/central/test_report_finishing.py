"""What a supervisor sees finishing the reports (issue 19): the charts' numbers in the page's
language, machine codes in the SLA JSON download (as the API gives them), the period in every
download's file name, days typed dd/mm/yyyy, and a clear message (never a 500) for bad input on
every report and list page, in every format, with what was typed kept."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.utils import translation

from pst_helpdesk_ext import charts
from pst_helpdesk_ext.forms import DayField, parse_day
from pst_helpdesk_ext.ikm import compute_ikm
from pst_helpdesk_ext.services.exports import file_stem, safe_stem
from tests.central import test_sla_web as sla_web
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db
admin_user, branch, report_data, other_branch = (
    sla_web.admin_user,
    sla_web.branch,
    sla_web.report_data,
    sla_web.other_branch,
)

PAGES = (
    "/pst/reports/ikm/",
    "/pst/reports/sla/",
    "/pst/reports/service-times/",
    "/pst/reports/data-needs/",
    "/pst/tickets/",
    "/pst/visits/",
)
FORMATS = ("", "csv", "xlsx", "json")


def svg_text(svg: str) -> str:
    """What a chart prints (text and tooltips), without its markup and coordinates."""
    return re.sub(r"<style>.*?</style>|<[^>]*>", " ", str(svg))


# 1. Charts --------------------------------------------------------------------------------------


def all_charts() -> list[str]:
    months = [("2026-01", Decimal("81.25")), ("2026-02", Decimal("90.50"))]
    ikm = compute_ikm([{f"U{i}": 3 + (i % 2) for i in range(1, 10)}] * 4)
    return [
        charts.element_bars(ikm),
        charts.trend_line(months),
        charts.compliance_lines([("online", [("2026-01", Decimal("66.7"))])]),
        charts.hour_bars([(8, 2, Decimal("2.5")), (10, 1, Decimal("1.5"))]),
    ]


def test_charts_write_decimal_commas_in_indonesian_and_points_in_english():
    with translation.override("id"):
        indonesian = [svg_text(chart) for chart in all_charts()]
    with translation.override("en"):
        english = [svg_text(chart) for chart in all_charts()]
    for text in indonesian:
        assert not re.search(r"\d\.\d", text), text
        assert re.search(r"\d,\d", text), text
    for text in english:
        assert not re.search(r"\d,\d", text), text
        assert re.search(r"\d\.\d", text), text
    # The grade bands, tooltips and labels included.
    assert "88,31" in indonesian[1] and "90,50" in indonesian[1] and "81,25" in indonesian[1]
    assert "66,7" in indonesian[2] and "2,5" in indonesian[3]


def test_chart_coordinates_stay_numbers_svg_reads(client, admin_user, report_data):
    client.force_login(admin_user)
    html = client.get(
        "/pst/reports/sla/",
        {"date_from": "2026-03-01", "date_to": "2026-03-31"},
        HTTP_ACCEPT_LANGUAGE="id",
    ).content.decode()
    svg = html[html.index('id="pst-sla-trend-chart"') :]
    svg = svg[: svg.index("</svg>")]
    assert "75,0" in svg_text(svg) and "75.0" not in svg_text(svg)
    for value in re.findall(r'(?:x|y|cx|cy|x1|x2|y1|y2)="([^"]*)"', svg):
        float(value)  # a coordinate with a decimal comma would not parse (nor render)


# 2. SLA JSON downloads: codes like the API ------------------------------------------------------


def test_sla_json_download_gives_the_apis_codes_with_labels_beside(client, admin_user, report_data):
    client.force_login(admin_user)
    period = {"date_from": "2026-03-01", "date_to": "2026-03-31", "group": "branch"}
    response = client.get(
        "/pst/reports/sla/", {**period, "format": "json"}, HTTP_ACCEPT_LANGUAGE="id"
    )
    body = json.loads(b"".join(response.streaming_content))
    api = client.get(
        "/api/pst/reports/sla/", {"from": "2026-03-01", "to": "2026-03-31", "group_by": "branch"}
    ).json()
    [total, *rows] = body["rows"]
    assert total["kind"] in {"walk_in", "online", "complaint"} and total["branch"] is None
    assert [(r["kind"], r["branch"], r["total"]) for r in rows] == [
        (r["kind"], r["branch"], r["total"]) for r in api["rows"]
    ]
    # The data are online requests: the code, and the Indonesian label beside it.
    assert {(r["kind"], r["kind_label"]) for r in body["rows"]} == {("online", "daring")}
    assert {"key": "kind", "label": "Jenis", "label_key": "kind_label"} in body["columns"]
    by_branch = {r["branch"]: r["branch_label"] for r in rows}
    assert by_branch["1222"] == "Labuhanbatu Selatan"

    breaches = client.get(
        "/pst/reports/sla/",
        {**period, "format": "json", "download": "breaches"},
        HTTP_ACCEPT_LANGUAGE="id",
    )
    [breach] = json.loads(b"".join(breaches.streaming_content))["rows"]
    assert (breach["kind"], breach["branch"]) == ("online", "1222")
    assert breach["kind_label"] == "daring" and breach["branch_label"] == "Labuhanbatu Selatan"

    # People's files keep the labels only.
    csv_text = b"".join(
        client.get(
            "/pst/reports/sla/", {**period, "format": "csv"}, HTTP_ACCEPT_LANGUAGE="id"
        ).streaming_content
    ).decode()
    assert "Labuhanbatu Selatan" in csv_text and "\r\ndaring;" in csv_text
    assert "online;" not in csv_text


# 3. File names ----------------------------------------------------------------------------------


def test_file_stem_names_the_period_and_stays_ascii():
    nov = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert file_stem("sla", *nov) == "pst-sla-2026-11-01_2026-11-30"
    assert file_stem("tickets", None, None) == "pst-tickets-all-dates"
    assert file_stem("visits", nov[0], None, branch="1222") == "pst-visits-1222-from-2026-11-01"
    assert file_stem("visits", None, nov[1]) == "pst-visits-until-2026-11-30"
    assert safe_stem('a"b\r\nc; ñ/..') == "a-b-c"


NAMES = {
    "/pst/reports/ikm/": "pst-ikm-2026-03-01_2026-03-31",
    "/pst/reports/sla/": "pst-sla-2026-03-01_2026-03-31",
    "/pst/reports/service-times/": "pst-service-times-2026-03-01_2026-03-31",
    "/pst/reports/data-needs/": "pst-data-needs-2026-03-01_2026-03-31",
    "/pst/tickets/": "pst-tickets-2026-03-01_2026-03-31",
    "/pst/visits/": "pst-visits-2026-03-01_2026-03-31",
}


@pytest.mark.parametrize("fmt", FORMATS[1:])
@pytest.mark.parametrize("url", PAGES)
def test_every_download_is_named_with_its_period(client, admin_user, url, fmt):
    client.force_login(admin_user)
    response = client.get(url, {"date_from": "01/03/2026", "date_to": "2026-03-31", "format": fmt})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{NAMES[url]}.{fmt}"'


@pytest.mark.parametrize("url", ["/pst/tickets/", "/pst/visits/"])
def test_a_list_with_no_period_says_so(client, admin_user, url):
    client.force_login(admin_user)
    response = client.get(url, {"format": "csv"})
    what = url.strip("/").split("/")[-1]
    assert response["Content-Disposition"] == f'attachment; filename="pst-{what}-all-dates.csv"'


# 4. Days typed dd/mm/yyyy -----------------------------------------------------------------------


def test_parse_day_reads_day_month_year_and_iso():
    march = dt.date(2026, 3, 31)
    for typed in (
        "31/03/2026",
        "31/3/2026",
        " 31-03-2026 ",
        "31.03.2026",
        "31032026",
        "2026-03-31",
    ):
        assert parse_day(typed) == march, typed
    assert parse_day("1/2/2026") == dt.date(2026, 2, 1)  # day first, never month first
    for typed in ("03/31/2026", "2026/03/31", "kemarin", "31/03/26", "2026-02-30", ""):
        with pytest.raises(ValueError):
            parse_day(typed)


def test_day_field_shows_a_day_as_dd_mm_yyyy_in_a_text_input():
    field = DayField(required=False)
    with translation.override("en"):
        html = field.widget.render("date_from", dt.date(2026, 3, 1))
    assert 'type="text"' in html and 'value="01/03/2026"' in html
    assert 'placeholder="dd/mm/yyyy"' in html and 'inputmode="numeric"' in html


@pytest.mark.parametrize("url", PAGES)
def test_no_report_filter_uses_the_browsers_date_picker(client, admin_user, url):
    client.force_login(admin_user)
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert 'type="date"' not in html
    assert re.search(r'<input type="text" name="date_to"[^>]*inputmode="numeric"', html)


# 5. Bad input on every page and format ----------------------------------------------------------

BAD = [
    # (params, message, kept): kept = the values that must be shown back as typed
    ({"date_from": "31/03/2026", "date_to": "01/03/2026"}, "01/03/2026 is before the start date"),
    ({"date_from": "01/01/2020", "date_to": "2026-01-01"}, "covers at most"),
    ({"date_from": "01/01/1999"}, "outside the days PST records cover"),
    ({"date_to": "kemarin"}, "Enter the day as dd/mm/yyyy"),
    ({"date_to": "31/02/2026"}, "Enter the day as dd/mm/yyyy"),
    ({"date_from": "9" * 500}, "Enter the day as dd/mm/yyyy"),
    ({"branch": "9999"}, "Unknown branch office 9999"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        (url, params, message)
        for url in PAGES
        for params, message in BAD
        # The ticket list may span any period (a report may not).
        if not (url == "/pst/tickets/" and message == "covers at most")
    ],
)
def test_bad_filters_are_a_clear_message_on_every_page_and_format(
    client, admin_user, url, fmt, params, message
):
    client.force_login(admin_user)
    response = client.get(url, {**params, "format": fmt}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert message in html, html[:2000]
    for name in ("date_from", "date_to"):
        if name in params:
            assert f'value="{params[name][:100]}"' in html


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_sla_grouping_is_a_clear_message(client, admin_user, fmt):
    client.force_login(admin_user)
    response = client.get(
        "/pst/reports/sla/", {"group": "province", "format": fmt}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400 and "province" in response.content.decode()


@pytest.mark.parametrize("url", ["/pst/tickets/", "/pst/visits/"])
def test_a_refused_list_download_shows_the_list_page_with_the_reason(client, url):
    client.force_login(make_staff("kasubag", superuser=True))
    response = client.get(
        url, {"format": "csv", "sep": "comma", "decimal": "comma"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "cannot be both" in response.content.decode()
