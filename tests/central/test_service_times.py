"""The service-time report (``/pst/reports/service-times/``) against figures computed by hand.

Three visits at desk "Meja 1" of 1222 on 17 March 2026 (Jakarta time), officer Budi, each served
for 30 minutes (``make_pst_ticket``: called at issue + wait, finished at issue + 40 min):

    issued 08:05, wait  7 min (420 s) -> called 08:12, finished 08:45
    issued 08:50, wait  1 min  (60 s) -> called 08:51, finished 09:30   idle 08:45-08:51 =  6 min
    issued 10:00, wait 15 min (900 s) -> called 10:15, finished 10:40   idle 09:30-10:15 = 45 min

Waits sorted 60, 420, 900 s: mean 460 s = 7.7 min, median (nearest rank 2) 7.0, 90th percentile
(rank 3) 15.0, longest 15.0; within 10 minutes 2 of 3 = 66.7 %. Idle 51.0 min. Bands (0-5, 5-10,
10-15, 15-30, 30-60, 60+): waits 1, 1, 0, 1, 0, 0; service times (30 min each) 0, 0, 0, 0, 3, 0.
Numbers issued per hour: 08 -> 2, 10 -> 1 on one day. Budi has 3 measured visits, below the
anonymity minimum of 5: hidden.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.service_times import percentile
from tests.central import test_ui as ui
from tests.central.test_ui import make_pst_ticket, make_staff, make_visitor

pytestmark = pytest.mark.django_db
branch, per_queue_permissions = ui.branch, ui.per_queue_permissions
PAGE = "/pst/reports/service-times/"
JAKARTA = ZoneInfo("Asia/Jakarta")
DAY = {"date_from": "2026-03-17", "date_to": "2026-03-17"}


@pytest.fixture
def day(branch):
    for hour, minute, wait, number in (
        (8, 5, 420, "K-001"),
        (8, 50, 60, "K-002"),
        (10, 0, 900, "K-003"),
    ):
        issued = dt.datetime(2026, 3, 17, hour, minute, tzinfo=JAKARTA)
        make_pst_ticket(
            branch,
            visitor=make_visitor(last4=number[-4:].replace("-", "0")),
            walk_in={"issued_at": issued, "wait_seconds": wait, "queue_number": number},
        )


def test_percentile_is_nearest_rank():
    assert percentile([60, 420, 900], 0.5) == 420
    assert percentile([60, 420, 900], 0.9) == 900
    assert percentile([5], 0.9) == 5 and percentile([], 0.5) is None
    assert percentile(list(range(1, 11)), 0.9) == 9


def test_figures_equal_the_hand_computed_ones(client, day):
    client.force_login(make_staff("kepala", superuser=True))
    response = client.get(PAGE, DAY, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    report = response.context["report"]
    o = report.overall
    assert (o.visits, o.measured) == (3, 3)
    assert (o.wait_mean, o.wait_median, o.wait_p90, o.wait_max) == (
        Decimal("7.7"),
        Decimal("7.0"),
        Decimal("15.0"),
        Decimal("15.0"),
    )
    assert o.within_standard_pct == Decimal("66.7")
    assert (o.service_mean, o.service_median, o.service_p90) == (Decimal("30.0"),) * 3
    assert o.idle_minutes == Decimal("51.0")
    assert o.wait_bands == [1, 1, 0, 1, 0, 0] and o.service_bands == [0, 0, 0, 0, 3, 0]
    assert [(h, n) for h, n, _avg in report.hours] == [(8, 2), (10, 1)]
    assert report.busiest_hour == 8 and report.days == 1
    [desk] = report.groups["desk"]
    assert (desk.label, desk.idle_minutes) == ("Labuhanbatu Selatan · Meja 1", Decimal("51.0"))
    assert desk.hidden_reason  # 3 measured visits: the IKM report's desk rule hides it too
    assert report.groups["branch"][0].idle_minutes == Decimal("51.0")
    [officer] = report.groups["officer"]
    assert officer.hidden_reason and "5 measured visits" in officer.hidden_reason
    html = response.content.decode()
    assert 'id="pst-times-wait-median">7.0<' in html and "66.7 %" in html
    officer_row = re.search(r'<tr data-key="1222/Budi" data-hidden="1">.*?</tr>', html, re.S)
    assert officer_row and "7.7" not in officer_row.group(0)


def test_downloads_carry_the_same_figures(client, day):
    client.force_login(make_staff("kepala", superuser=True))
    data = json.loads(
        b"".join(
            client.get(PAGE, {**DAY, "format": "json"}, HTTP_ACCEPT_LANGUAGE="en").streaming_content
        )
    )
    overall = data["rows"][0]
    assert (overall["visits"], overall["wait_median"], overall["wait_p90"]) == (3, 7, 15)
    assert overall["within_standard_pct"] == 66.7 and overall["idle_minutes"] == 51
    officer = next(r for r in data["rows"] if r["group"] == "Officer")
    assert officer["wait_mean"] is None  # hidden in the download too
    xlsx = client.get(PAGE, {**DAY, "format": "xlsx"}, HTTP_ACCEPT_LANGUAGE="id")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    header, first, *_rest = list(book.worksheets[0].iter_rows(values_only=True))
    assert first[header.index("Tunggu, median (menit)")] == 7
    csv_id = b"".join(
        client.get(PAGE, {**DAY, "format": "csv"}, HTTP_ACCEPT_LANGUAGE="id").streaming_content
    ).decode("utf-8-sig")
    assert ";7,7;" in csv_id


def test_only_the_users_queues_count(client, per_queue_permissions, day, branch):
    other = create_branch("1207", "Labuhanbatu")
    make_pst_ticket(other, visitor=make_visitor(last4="0009"), walk_in={"wait_seconds": 3000})
    client.force_login(make_staff("petugas1222", queues=(branch.queue,)))
    report = client.get(PAGE, DAY).context["report"]
    assert report.overall.visits == 3


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "before the start date"),
        ({"date_from": "2020-01-01", "date_to": "2026-01-01"}, "a report covers at most"),
        ({"service": "zzz"}, "Unknown service zzz"),
        ({"format": "doc"}, "Unknown format doc"),
    ],
)
def test_bad_input_is_a_clear_message(client, params, text):
    client.force_login(make_staff("kepala", superuser=True))
    response = client.get(PAGE, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and text in response.content.decode()


def test_empty_selection_says_so(client):
    client.force_login(make_staff("kepala", superuser=True))
    html = client.get(PAGE, DAY, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No walk-in visit in this period and selection." in html
