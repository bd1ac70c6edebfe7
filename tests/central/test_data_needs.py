"""The data-needs report (``/pst/reports/data-needs/``) against counts made by hand.

Walk-in: two consultations on subject "data" (guest-book purposes "Skripsi" and " skripsi ").
Online: three web requests on "data" asking for the indicator "Angka Kemiskinan" twice (spelled
two ways) and "IPM" once, regions, periods, purposes,
one search that found nothing ("harga cabai"), articles opened (one article twice).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from helpdesk.models import KBCategory, KBItem

from pst_helpdesk_ext.models import OnlineRequest
from pst_helpdesk_ext.services.data_needs import normalise
from tests.central import test_ui as ui
from tests.central.test_ui import make_pst_ticket, make_staff, make_visitor

pytestmark = pytest.mark.django_db
branch, per_queue_permissions = ui.branch, ui.per_queue_permissions
PAGE = "/pst/reports/data-needs/"
WHEN = dt.datetime(2026, 3, 17, 9, tzinfo=dt.UTC)
PERIOD = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


@pytest.fixture
def requests(branch):
    category = KBCategory.objects.create(title="Data", slug="data", description="", public=True)
    article = KBItem.objects.create(
        category=category, title="Cara mencari data kemiskinan", question="?", answer="!"
    )
    for purpose in ("Skripsi", " skripsi "):
        make_pst_ticket(branch, visitor=make_visitor(), walk_in={"purpose": purpose}, created=WHEN)
    asked = [
        ("Angka Kemiskinan", "Labuhanbatu", "2024", "Skripsi", "", 4, [article.pk]),
        (
            "angka  kemiskinan.",
            "Labuhanbatu",
            "2023",
            "Perencanaan",
            "harga cabai",
            0,
            [article.pk],
        ),
        ("IPM", "Sumatera Utara", "2024", "Skripsi", "", 2, []),
    ]
    for indicator, region, period, purpose, query, results, opened in asked:
        pst = make_pst_ticket(branch, channel="web", title=indicator, created=WHEN)
        OnlineRequest.objects.create(
            pst_ticket=pst,
            indicator=indicator,
            region=region,
            period=period,
            purpose=purpose,
            search_query=query,
            search_results=results,
            articles_opened=opened,
        )
    return article


def test_normalise_ignores_case_spacing_and_edge_punctuation():
    assert normalise("  Angka  Kemiskinan. ") == normalise("angka kemiskinan") == "angka kemiskinan"
    assert normalise("...") == ""


def test_counts_equal_the_hand_counted_ones(client, requests):
    client.force_login(make_staff("kepala", superuser=True))
    response = client.get(PAGE, PERIOD, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.requests, report.walk_in, report.online) == (5, 2, 3)

    def table(section):
        return {i.label: (i.walk_in, i.online) for i in report.sections[section]}

    assert table("indicator") == {"Angka Kemiskinan": (0, 2), "IPM": (0, 1)}
    assert table("purpose") == {"Skripsi": (2, 2), "Perencanaan": (0, 1)}
    assert table("region") == {"Labuhanbatu": (0, 2), "Sumatera Utara": (0, 1)}
    assert table("period") == {"2024": (0, 2), "2023": (0, 1)}
    assert table("unanswered") == {"harga cabai": (0, 1)}
    assert table("article") == {"Cara mencari data kemiskinan": (0, 2)}
    subjects = table("subject")
    assert sum(w for w, _o in subjects.values()) == 2 and sum(o for _w, o in subjects.values()) == 3
    html = response.content.decode()
    assert "Angka Kemiskinan" in html and "harga cabai" in html


def test_download_carries_the_same_counts(client, requests):
    client.force_login(make_staff("kepala", superuser=True))
    response = client.get(PAGE, {**PERIOD, "format": "json"}, HTTP_ACCEPT_LANGUAGE="en")
    rows = json.loads(b"".join(response.streaming_content))["rows"]
    purposes = {r["item"]: r["total"] for r in rows if r["section"] == "purpose"}
    assert purposes == {"Skripsi": 4, "Perencanaan": 1}
    # A JSON file is for machines: the section's code, as stable as the API's; its label beside.
    assert {r["section_label"] for r in rows if r["section"] == "purpose"} == {"Purposes of use"}


def test_period_and_channel_narrow_it(client, requests):
    client.force_login(make_staff("kepala", superuser=True))
    walk_in = client.get(PAGE, {**PERIOD, "channel": "walk_in"}).context["report"]
    assert (walk_in.requests, walk_in.online) == (2, 0)
    april = client.get(PAGE, {"date_from": "2026-04-01", "date_to": "2026-04-30"})
    assert april.context["report"].requests == 0


def test_only_the_users_queues(client, per_queue_permissions, requests):
    client.force_login(make_staff("tanpaakses"))
    assert client.get(PAGE, PERIOD).context["report"].requests == 0


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "before the start date"),
        ({"channel": "fax"}, "Unknown channel fax"),
        ({"format": "csv", "decimal": "dot"}, "Unknown decimal mark dot"),
    ],
)
def test_bad_input_is_a_clear_message(client, params, text):
    client.force_login(make_staff("kepala", superuser=True))
    response = client.get(PAGE, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and text in response.content.decode()
