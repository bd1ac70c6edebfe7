"""The IKM report: the staff page, CSV, XLSX, the JSON API and ``pst_ikm_report`` show the same
numbers for one fixture, the hand-computed index among them; bad parameters are clear 400s and
CommandErrors; per-queue permissions narrow what a user sees."""

from __future__ import annotations

import csv
import datetime
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from helpdesk import settings as helpdesk_settings
from openpyxl import load_workbook

from pst_helpdesk_ext.models import Rating
from pst_helpdesk_ext.services.branches import create_branch
from tests.central.test_ui import JAKARTA, make_pst_ticket, make_staff

pytestmark = pytest.mark.django_db

ALL = [f"U{n}" for n in range(1, 10)]


def rate(branch, scores, *, channel="web", category="konsultasi", day=(2026, 3, 17)):
    pst = make_pst_ticket(branch, channel=channel, category=category)
    created = datetime.datetime(*day, 10, 0, tzinfo=JAKARTA)
    return Rating.objects.create(
        ticket=pst.ticket, branch=branch, scores=scores, overall=4, created=created
    )


@pytest.fixture
def world():
    south = create_branch("1222", "Labuhanbatu Selatan")
    north = create_branch("1223", "Labuhanbatu Utara")
    # 1222: one respondent all 4, one all 3 -> every NRR 3.5, IKM 3.5 x 25 = 87.50 (B, Baik).
    rate(south, dict.fromkeys(ALL, 4))
    rate(south, dict.fromkeys(ALL, 3), channel="walk_in", day=(2026, 4, 2))
    # 1223: U9 unanswered by its only respondent: the index averages U1..U8 (1/8) = 2.0 -> 50.00.
    rate(north, dict.fromkeys(ALL[:8], 2), category="perpustakaan", day=(2026, 4, 20))
    return south, north


def test_hand_computed_index(world):
    out = io.StringIO()
    call_command("pst_ikm_report", "--branch", "1222", "--format", "json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["overall"]["index"] == "87.50"
    assert report["overall"]["grade"]["letter"] == "B"
    assert report["overall"]["respondents"] == 2
    assert {e["nrr"] for e in report["overall"]["elements"]} == {"3.5000"}
    out = io.StringIO()
    call_command("pst_ikm_report", "--branch", "1223", "--format", "json", stdout=out)
    north = json.loads(out.getvalue())["overall"]
    assert north["index"] == "50.00" and north["missing_elements"] == ["U9"]


def test_page_csv_xlsx_api_and_command_show_the_same_numbers(world, client, tmp_path):
    admin = make_staff("kepala", superuser=True)
    client.force_login(admin)
    query = {"date_from": "2026-01-01", "date_to": "2026-12-31"}
    api = client.get(reverse("pst_api:report-ikm"), query)
    assert api.status_code == 200, api.content
    data = api.json()
    groups = [data["overall"], *data["branches"], *data["services"], *data["channels"]]
    groups += data["months"]
    expected = [(g["respondents"], g["index"], [e["nrr"] for e in g["elements"]]) for g in groups]
    assert [g["code"] for g in data["branches"]] == ["1222", "1223"]
    assert [g["code"] for g in data["months"]] == ["2026-03", "2026-04"]

    def from_rows(rows):
        return [
            (
                int(row[3]),
                None
                if row[23] in ("", None)
                else str(Decimal(str(row[23])).quantize(Decimal("0.01"))),
                [
                    None if v in ("", None) else str(Decimal(str(v)).quantize(Decimal("0.0001")))
                    for v in row[4:13]
                ],
            )
            for row in rows
        ]

    page_csv = client.get(
        reverse("pst:report_ikm"), {**query, "format": "csv", "sep": "comma", "decimal": "point"}
    )
    assert page_csv.status_code == 200
    text = b"".join(page_csv.streaming_content).decode("utf-8-sig")
    assert from_rows(list(csv.reader(io.StringIO(text)))[1:]) == expected
    # By default the reader's spreadsheet: Indonesian gets semicolons and decimal commas.
    indonesian = client.get(
        reverse("pst:report_ikm"), {**query, "format": "csv"}, HTTP_ACCEPT_LANGUAGE="id"
    )
    text = b"".join(indonesian.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
    assert from_rows([[v.replace(",", ".") for v in row] for row in rows]) == expected
    assert any("," in value for row in rows for value in row[4:13])

    page_json = client.get(reverse("pst:report_ikm"), {**query, "format": "json"})
    assert page_json["Content-Disposition"].startswith('attachment; filename="pst-ikm-')
    assert page_json.json()["overall"] == data["overall"]
    page_xlsx = client.get(reverse("pst:report_ikm"), {**query, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(page_xlsx.content))["IKM"]
    assert from_rows([list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]) == expected

    out = io.StringIO()
    call_command("pst_ikm_report", "--from", "2026-01-01", "--to", "2026-12-31", stdout=out)
    assert from_rows(list(csv.reader(io.StringIO(out.getvalue())))[1:]) == expected
    target = tmp_path / "ikm.xlsx"
    call_command(
        "pst_ikm_report",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--format",
        "xlsx",
        "--output",
        str(target),
        stdout=io.StringIO(),
    )
    sheet = load_workbook(target)["IKM"]
    assert from_rows([list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]) == expected
    out = io.StringIO()
    call_command(
        "pst_ikm_report",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--format",
        "json",
        stdout=out,
    )
    command_json = json.loads(out.getvalue())
    for key in ("overall", "branches", "services", "channels", "months", "visits"):
        assert command_json[key] == data[key]

    # The page prints the same decimals, in the reader's notation (Indonesian: decimal comma).
    for language, point in (("en", "."), ("id", ",")):
        page = client.get(reverse("pst:report_ikm"), query, HTTP_ACCEPT_LANGUAGE=language)
        assert page.status_code == 200
        html = page.content.decode()
        index = data["overall"]["index"].replace(".", point)
        assert f'id="pst-ikm-index">{index}<' in html
        assert f'id="pst-ikm-respondents">{data["overall"]["respondents"]}<' in html
        for group in data["branches"]:
            assert f"<strong>{group['index'].replace('.', point)}</strong>" in html
        for element in data["overall"]["elements"]:
            assert element["nrr"].replace(".", point) in html
        assert 'id="pst-element-chart"' in html and 'id="pst-trend-chart"' in html


def test_per_queue_permissions(world, client, settings):
    south, _north = world
    settings.HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = True
    helpdesk_settings.HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = True
    try:
        client.force_login(make_staff("pst1222", queues=(south.queue,)))
        data = client.get(reverse("pst_api:report-ikm")).json()
        assert [g["code"] for g in data["branches"]] == ["1222"]
        assert data["overall"]["respondents"] == 2
        refused = client.get(reverse("pst_api:report-ikm"), {"branch": "1223"})
        assert refused.status_code == 400 and "1223" in refused.json()["branch"][0]
    finally:
        helpdesk_settings.HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = False


@pytest.mark.parametrize(
    ("params", "field", "text"),
    [
        ({"branch": "9999"}, "branch", "9999"),
        ({"service": "kopi"}, "service", "kopi"),
        ({"channel": "fax"}, "channel", "fax"),
        ({"date_from": "17-03-2026"}, "date_from", "YYYY"),
        ({"date_from": "2026-04-01", "date_to": "2026-03-01"}, "date_to", "before"),
        ({"year": "2026"}, "year", "Unknown parameter"),
    ],
)
def test_api_bad_parameters_are_400(world, client, params, field, text):
    client.force_login(make_staff("kepala", superuser=True))
    response = client.get(reverse("pst_api:report-ikm"), params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert text in " ".join(response.json()[field])


def test_api_needs_staff_and_is_in_the_schema(world, client):
    assert client.get(reverse("pst_api:report-ikm")).status_code in (401, 403)
    client.force_login(make_staff("kepala", superuser=True))
    schema = client.get(reverse("pst_api:schema"), {"format": "json"}).json()
    path = next(p for p in schema["paths"] if p.endswith("/reports/ikm/"))
    names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
    assert {"branch", "service", "channel", "date_from", "date_to"} <= names


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--branch", "9999"], "9999"),
        (["--from", "2026/01/01"], "YYYY-MM-DD"),
        (["--from", "2026-05-01", "--to", "2026-01-01"], "before"),
        (["--format", "pdf"], "csv, xlsx or json"),
        (["--format", "xlsx"], "--output"),
        (["--output", "/nonexistent-dir/x.csv"], "Cannot write"),
    ],
)
def test_command_bad_arguments(world, args, text):
    with translation.override("en"), pytest.raises(CommandError, match=text):
        call_command("pst_ikm_report", *args, stdout=io.StringIO())
    assert not any(Path(a).exists() for a in args if a.startswith("/nonexistent"))


def test_command_errors_in_indonesian():
    with translation.override("id"), pytest.raises(CommandError, match="bukan 'pdf'"):
        call_command("pst_ikm_report", "--format", "pdf", stdout=io.StringIO())


def test_page_bad_filter_is_400_and_staff_only(world, client):
    assert client.get(reverse("pst:report_ikm")).status_code == 302  # to the login
    client.force_login(make_staff("kepala", superuser=True))
    response = client.get(reverse("pst:report_ikm"), {"branch": "9999"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "9999" in response.content.decode()


def test_page_and_json_show_the_sla_compliance_of_the_api(world, client):
    """The report's SLA card counts what /api/pst/reports/sla/ counts for the same branch."""
    from pst_helpdesk_ext.models import PSTTicket, SLAState

    south, north = world
    started = datetime.datetime(2026, 3, 17, 9, 0, tzinfo=JAKARTA)
    states = [SLAState.MET, SLAState.MET, SLAState.MET, SLAState.BREACHED, SLAState.RUNNING]
    for state in states:
        pst = make_pst_ticket(south, channel="web")
        PSTTicket.objects.filter(pk=pst.pk).update(sla_state=state, sla_started_at=started)
    pst = make_pst_ticket(north, channel="web")  # another branch: not in 1222's figures
    PSTTicket.objects.filter(pk=pst.pk).update(sla_state=SLAState.BREACHED, sla_started_at=started)
    client.force_login(make_staff("provinsi", superuser=True))
    period = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    api = client.get(
        "/api/pst/reports/sla/", {"branch": "1222", "from": "2026-03-01", "to": "2026-03-31"}
    ).json()
    (online,) = [row for row in api["totals"] if row["kind"] == "online"]
    assert (online["met"], online["breached"], online["open"], online["compliance"]) == (
        3,
        1,
        1,
        0.75,
    )
    html = client.get(
        reverse("pst:report_ikm"), {"branch": "1222", **period}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    card = html[html.index('id="pst-sla"') :]
    row = card[card.index('data-level="all" data-kind="online"') :].split("</tr>")[0]
    cells = [cell.split(">")[-1] for cell in row.split("</td>")[2:7]]
    assert cells == ["5", "3", "1", "1", "75"]
    data = client.get("/api/pst/reports/ikm/", {"branch": "1222", **period}).json()
    figures = ("kind", "total", "met", "breached", "open", "compliance")
    assert [{k: row[k] for k in figures} for row in data["sla"]["totals"]] == [
        {k: row[k] for k in figures} for row in api["totals"]
    ]
