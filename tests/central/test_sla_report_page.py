"""The SLA report page (``/pst/reports/sla/``) and its downloads, against figures known by hand.

The data (``test_sla_web.report_data``): clocks started in March 2026; in 1222 two met and one
breached online request and one still running, in 1207 one met. So: 5 clocks, 3 met, 1 breached,
1 open, compliance 3 / 4 = 75.0 %; 1222 alone 2 / 3 = 66.7 %.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import openpyxl
import pytest
from django.urls import reverse
from helpdesk.models import Ticket

from pst_helpdesk_ext.services.exports import BOM
from tests.central import test_sla_web as sla_web
from tests.central import test_ui as ui
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db
admin_user, branch, report_data, other_branch = (
    sla_web.admin_user,
    sla_web.branch,
    sla_web.report_data,
    sla_web.other_branch,
)
per_queue_permissions = ui.per_queue_permissions
PAGE = "/pst/reports/sla/"
MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


def page(client: Any, language: str = "en", **params: Any) -> Any:
    return client.get(PAGE, {**MARCH, **params}, HTTP_ACCEPT_LANGUAGE=language)


def rows_of(content: bytes, separator: str) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[1:]), delimiter=separator))


def test_page_shows_the_hand_counted_figures_with_names_not_codes(client, admin_user, report_data):
    client.force_login(admin_user)
    response = page(client, group="branch")
    assert response.status_code == 200
    html = response.content.decode()
    report = response.context["page"]
    [total] = report.totals
    assert (total.total, total.met, total.breached, total.open) == (5, 3, 1, 1)
    assert str(total.compliance_pct) == "75.0"
    by_branch = {row.groups[0][1]: row for row in report.rows}
    assert str(by_branch["1222"].compliance_pct) == "66.7"
    assert by_branch["1222"].groups[0][2] == "Labuhanbatu Selatan"
    assert "Labuhanbatu Selatan" in html and "66.7" in html
    # The one breach is listed and linked to its helpdesk ticket.
    late = report_data["late"].ticket
    assert report.breach_count == 1
    assert f'href="{reverse("helpdesk:view", args=[late.pk])}"' in html
    assert "&amp;download=breaches&amp;format=xlsx" in html and "&amp;amp;" not in html


def test_page_numbers_are_the_apis(client, admin_user, report_data):
    client.force_login(admin_user)
    api = client.get(
        "/api/pst/reports/sla/",
        {"from": "2026-03-01", "to": "2026-03-31", "group_by": "branch,month"},
    ).json()
    report = page(client, group="branch", period="month").context["page"]
    assert report.report["rows"] == [
        {**row, "period": row["period"]} for row in report.report["rows"]
    ]
    assert [(r["branch"], r["total"], r["met"], r["breached"], r["open"]) for r in api["rows"]] == [
        (r.groups[0][1], r.total, r.met, r.breached, r.open) for r in report.rows
    ]


def test_csv_follows_the_language_and_the_users_choice(client, admin_user, report_data):
    client.force_login(admin_user)
    indonesian = page(client, "id", format="csv")
    assert indonesian["Content-Type"].startswith("text/csv")
    assert "attachment" in indonesian["Content-Disposition"]
    rows = rows_of(b"".join(indonesian.streaming_content), ";")
    assert rows[0][:2] == ["Jenis", "Kantor cabang"] or rows[0][0] == "Jenis"
    assert any("75,0" in row for row in rows)
    english = rows_of(b"".join(page(client, "en", format="csv").streaming_content), ",")
    assert english[0][0] == "Kind" and any("75.0" in row for row in english)
    chosen = page(client, "en", format="csv", sep="semicolon", decimal="comma")
    assert any("75,0" in row for row in rows_of(b"".join(chosen.streaming_content), ";"))


def test_xlsx_has_the_numbers_and_a_method_sheet(client, admin_user, report_data):
    client.force_login(admin_user)
    response = page(client, "en", format="xlsx", group="branch")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    data, method = book.worksheets
    values = [list(row) for row in data.iter_rows(values_only=True)]
    assert values[0][0] == "Kind"
    total = values[1]
    assert total[2:7] == [5, 3, 1, 1, 75.0] or total[2:7] == [5, 3, 1, 1, "75.0"]
    notes = dict(method.iter_rows(values_only=True))
    assert notes["Report"] == "SLA compliance" and "met / (met + breached)" in notes["Method"]
    assert notes["Period"] == "2026-03-01 – 2026-03-31"


def test_breaches_download_lists_every_breach(client, admin_user, report_data):
    client.force_login(admin_user)
    response = page(client, "en", format="json", download="breaches")
    body = json.loads(b"".join(response.streaming_content))
    assert [row["ticket"] for row in body["rows"]] == [report_data["late"].ticket.ticket]
    assert body["rows"][0]["kind"] == "online" and body["method"]


def test_officer_grouping_names_the_assigned_user(client, admin_user, report_data):
    officer = make_staff("rina", superuser=True)
    officer.first_name, officer.last_name = "Rina", "Siregar"
    officer.save()
    Ticket.objects.filter(pk=report_data["late"].ticket_id).update(assigned_to=officer)
    client.force_login(admin_user)
    report = page(client, group="officer").context["page"]
    names = {row.groups[0][2]: (row.met, row.breached) for row in report.rows}
    assert names["Rina Siregar"] == (0, 1)


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "before the start date"),
        ({"date_from": "2020-01-01", "date_to": "2026-01-01"}, "a report covers at most"),
        ({"date_from": "31-13-2026"}, "dd/mm/yyyy"),
        ({"date_from": "31/03/2026", "date_to": "01/03/2026"}, "01/03/2026 is before"),
        ({"format": "pdf"}, "Unknown format pdf"),
        ({"format": "csv", "sep": "comma", "decimal": "comma"}, "cannot be both"),
        ({"group": "province"}, "province"),
    ],
)
def test_bad_input_is_a_clear_message_and_keeps_what_was_typed(client, admin_user, params, text):
    client.force_login(admin_user)
    response = client.get(PAGE, {"branch": "", **params}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    assert text in html
    for name in ("date_from", "date_to"):
        if name in params:
            assert f'value="{params[name]}"' in html


def test_page_respects_per_queue_permissions(
    client,
    per_queue_permissions,
    report_data,
    branch,
):
    client.force_login(make_staff("petugas1222", queues=(branch.queue,)))
    report = page(client, group="branch").context["page"]
    assert [row.groups[0][1] for row in report.rows] == ["1222"]
    client.force_login(make_staff("tanpaakses"))
    assert page(client).context["page"].totals == []
    client.logout()
    assert page(client).status_code == 302


def test_page_reads_in_indonesian(client, admin_user, report_data):
    client.force_login(admin_user)
    html = page(client, "id", group="branch").content.decode()
    body = html[html.index('id="pst-report-filters"') :]
    visible = re.sub(r"<style.*?</style>|<[^>]+>", " ", body, flags=re.S)
    for english in ("Clocks started", "Still open", "Compliance", "breach", "Kind", "Officer"):
        assert english not in visible
    assert "Standar layanan terpenuhi" in visible and "1 pelanggaran" in visible
