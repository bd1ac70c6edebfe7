"""Per-desk and per-officer figures of the IKM report appear only for groups of at least
``REPORT_MIN_RESPONDENTS`` respondents (issue 13, defect 3, report part): ratings are anonymous to
the staff rated."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command

from pst_helpdesk_ext.models import Visit
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from pst_helpdesk_ext.services.reports import ReportFilters, build_report, report_xlsx
from tests.central.test_intake import WalkinOps
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db
WIB = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture
def branch():
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")


def served_and_rated(branch, count: int, desk: str, officer: str, day: int) -> None:
    ops = WalkinOps(start=dt.datetime(2026, 3, day, 8, tzinfo=WIB), seed=day)
    ids = [ops.new_visit_id() for _ in range(count)]
    batch = []
    for number, visit in enumerate(ids, start=1):
        batch += [ops.created(visit, number), ops.called(visit, wait=120), ops.served(visit)]
        batch += [ops.resolved(visit), ops.rating(visit, overall=4)]
    apply_walkin_ops(branch, batch, dt.datetime(2026, 3, day, 17, tzinfo=WIB))
    Visit.objects.filter(origin_id__in=ids).update(desk=desk, officer=officer)


@pytest.fixture
def day(branch) -> None:
    served_and_rated(branch, 5, "Meja 1", "Budi Santoso", 16)  # exactly the minimum
    served_and_rated(branch, 3, "Meja 2", "Rina Lubis", 17)  # below it


def test_desks_and_officers_below_the_minimum_are_hidden_with_the_reason(day):
    report = build_report(ReportFilters())
    desks = {row.name: row for row in report.desks}
    assert desks["Meja 1"].respondents == 5 and desks["Meja 1"].ikm.index is not None
    assert desks["Meja 1"].service_avg_minutes == 15 and not desks["Meja 1"].hidden_reason
    small = desks["Meja 2"]
    assert (small.respondents, small.ikm, small.service_avg_minutes) == (3, None, None)
    assert "3" in small.hidden_reason and "5" in small.hidden_reason
    officers = {row.name: row for row in report.officers}
    assert officers["Budi Santoso"].ikm is not None and officers["Rina Lubis"].ikm is None
    data = report.as_dict()
    assert data["min_respondents"] == 5
    hidden = next(d for d in data["desks"] if d["name"] == "Meja 2")
    assert hidden["ikm"] is None and hidden["hidden_reason"]


def test_the_minimum_is_a_setting(day, settings):
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "REPORT_MIN_RESPONDENTS": 3}
    desks = {row.name: row for row in build_report(ReportFilters()).desks}
    assert desks["Meja 2"].ikm is not None
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "REPORT_MIN_RESPONDENTS": 6}
    desks = {row.name: row for row in build_report(ReportFilters()).desks}
    assert desks["Meja 1"].ikm is None and desks["Meja 1"].service_avg_minutes is None
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "REPORT_MIN_RESPONDENTS": 0}
    out = io.StringIO()
    call_command("check", stdout=out, stderr=out, fail_level="CRITICAL")
    assert "REPORT_MIN_RESPONDENTS" in out.getvalue()


def test_page_api_and_workbook_show_the_same_rule(day, client: Any):
    client.force_login(make_staff("petugas", superuser=True))
    html = client.get("/pst/reports/ikm/").content.decode()
    assert 'id="pst-desks"' in html and 'id="pst-officers"' in html
    row = html[html.index('data-name="Meja 2"') :]
    assert 'data-hidden="1"' in row[:100]
    api = client.get("/api/pst/reports/ikm/").json()
    assert next(d for d in api["desks"] if d["name"] == "Meja 2")["ikm"] is None
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(report_xlsx(build_report(ReportFilters()))))
    sheet = book.worksheets[2]
    rows = {r[2]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["Meja 2"][4] is None and rows["Meja 2"][8]
    assert rows["Meja 1"][4] is not None
