"""Downloads of the staff lists (PST tickets, walk-in visits with the guest book): the filtered
list whole, in the spreadsheet's CSV dialect, XLSX with a method sheet, JSON; personal data masked
unless the user has the permission and asks, and every unmasked download recorded."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import openpyxl
import pytest
from django.contrib.auth.models import Permission

from pst_helpdesk_ext.models import PersonalDataExport
from pst_helpdesk_ext.services.exports import BOM
from pst_helpdesk_ext.services.list_exports import mask_email, mask_name, mask_phone
from tests.central import test_ui as ui
from tests.central.test_ui import make_pst_ticket, make_staff, make_visitor

pytestmark = pytest.mark.django_db
branch, per_queue_permissions = ui.branch, ui.per_queue_permissions
VISITS = "/pst/visits/"
TICKETS = "/pst/tickets/"


@pytest.fixture
def visits(branch) -> list[Any]:
    first = make_pst_ticket(
        branch, visitor=make_visitor("Siti Aminah", last4="0001"), walk_in={"wait_seconds": 450}
    )
    second = make_pst_ticket(
        branch,
        title="Data inflasi",
        visitor=make_visitor(
            "Rahmat Hidayat", last4="0002", email="rahmat@usu.ac.id", phone="0812-9876-5432"
        ),
        walk_in={"queue_number": "K-008", "wait_seconds": 95},
    )
    return [first, second]


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(response: Any, separator: str) -> list[dict[str, str]]:
    text = body(response).decode("utf-8")
    assert text.startswith(BOM), "Excel needs the byte-order mark to read the accents"
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=separator))


def test_masks():
    assert mask_name("Rahmat  Hidayat") == "R*** H***"
    assert mask_email("rahmat@usu.ac.id") == "r***@usu.ac.id"
    assert mask_phone("0812-9876-5432") == "********5432"
    assert (mask_name(""), mask_email(""), mask_phone("")) == ("", "", "")


def test_visit_list_page_masks_names_for_staff_without_the_permission(client, visits):
    client.force_login(make_staff("petugas", superuser=False, queues=()))
    staff = make_staff("kasubag", superuser=True)
    client.force_login(staff)
    html = client.get(VISITS, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Siti Aminah" in html  # a superuser has every permission
    plain = make_staff("loket")
    plain.user_permissions.add(*Permission.objects.filter(codename__startswith="queue_"))
    client.force_login(plain)
    with_queue = client.get(VISITS, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Siti Aminah" not in with_queue and "S*** A***" in with_queue
    assert "XLSX with personal data" not in with_queue


def test_visit_csv_in_indonesian_uses_semicolon_and_decimal_comma(client, visits):
    client.force_login(make_staff("kasubag", superuser=True))
    rows = csv_rows(client.get(VISITS, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="id"), ";")
    assert len(rows) == 2
    waits = sorted(row["Tunggu (menit)"] for row in rows)
    assert waits == ["1,6", "7,5"]  # 95 s and 450 s
    assert {row["Pengunjung"] for row in rows} == {"S*** A***", "R*** H***"}
    assert {row["Nomor identitas (disamarkan)"] for row in rows} == {
        "************0001",
        "************0002",
    }
    assert not PersonalDataExport.objects.exists()


def test_visit_csv_in_english_and_by_choice(client, visits):
    client.force_login(make_staff("kasubag", superuser=True))
    english = csv_rows(client.get(VISITS, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="en"), ",")
    assert sorted(row["Wait (minutes)"] for row in english) == ["1.6", "7.5"]
    assert {row["Outcome"] for row in english} == {"needs follow-up"}
    chosen = client.get(
        VISITS, {"format": "csv", "sep": "tab", "decimal": "comma"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert sorted(row["Wait (minutes)"] for row in csv_rows(chosen, "\t")) == ["1,6", "7,5"]


def test_personal_data_download_needs_the_permission_and_is_recorded(client, visits):
    plain = make_staff("loket")
    plain.user_permissions.add(*Permission.objects.filter(codename__startswith="queue_"))
    client.force_login(plain)
    refused = client.get(VISITS, {"format": "xlsx", "personal": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 403 and b"Can view visitor" in refused.content
    assert not PersonalDataExport.objects.exists()
    plain.user_permissions.add(Permission.objects.get(codename="view_visitor"))
    plain = type(plain).objects.get(pk=plain.pk)  # permissions are cached per user object
    client.force_login(plain)
    response = client.get(
        VISITS,
        {"format": "xlsx", "personal": "1", "outcome": "escalated"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(body(response)))
    data, method = book.worksheets
    header, *rows = list(data.iter_rows(values_only=True))
    names = {row[header.index("Visitor")] for row in rows}
    assert names == {"Siti Aminah", "Rahmat Hidayat"}
    assert {row[header.index("ID number (masked)")] for row in rows} == {
        "************0001",
        "************0002",
    }
    notes = dict(method.iter_rows(values_only=True))
    assert "recorded" in notes["Method"] and notes["Outcome"] == "needs follow-up"
    [log] = PersonalDataExport.objects.all()
    assert (log.username, log.what, log.file_format, log.rows) == ("loket", "visits", "xlsx", 2)


def test_ticket_list_downloads_the_whole_filtered_list_as_json(client, visits, branch):
    for index in range(30):  # more than a page of the list
        make_pst_ticket(branch, title=f"Permintaan {index}", channel="web")
    client.force_login(make_staff("kasubag", superuser=True))
    response = client.get(TICKETS, {"format": "json", "channel": "web"}, HTTP_ACCEPT_LANGUAGE="en")
    data = json.loads(body(response))
    assert len(data["rows"]) == 30
    assert {c["key"] for c in data["columns"]} >= {"ticket", "status", "visitor_name"}
    assert data["filters"] == {"Channel": "Web form"} or list(data["filters"]) == ["Channel"]
    walk_in = json.loads(body(client.get(TICKETS, {"format": "json", "channel": "walk_in"})))
    assert sorted(r["wait_minutes"] for r in walk_in["rows"]) == [1.6, 7.5]


def test_downloads_respect_per_queue_permissions(
    client,
    per_queue_permissions,
    visits,
    branch,
):
    from pst_helpdesk_ext.services.branches import create_branch

    other = create_branch("1207", "Labuhanbatu")
    make_pst_ticket(other, visitor=make_visitor("Orang Lain", last4="0003"), walk_in={})
    client.force_login(make_staff("petugas1222", queues=(branch.queue,)))
    rows = csv_rows(client.get(VISITS, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="en"), ",")
    assert {row["Branch office"] for row in rows} == {"Labuhanbatu Selatan"}


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"format": "pdf"}, "Unknown format pdf"),
        ({"format": "csv", "sep": "pipe"}, "Unknown separator pipe"),
        ({"format": "csv", "sep": "comma", "decimal": "comma"}, "cannot be both"),
        ({"format": "csv", "date_from": "2026-03-31", "date_to": "2026-03-01"}, "before"),
        ({"format": "csv", "outcome": "lost"}, "lost"),
    ],
)
def test_bad_download_requests_are_clear_400s(client, visits, params, text):
    client.force_login(make_staff("kasubag", superuser=True))
    response = client.get(VISITS, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert text in response.content.decode()


def test_bad_filters_on_the_page_keep_what_was_typed(client, visits):
    client.force_login(make_staff("kasubag", superuser=True))
    response = client.get(
        VISITS, {"date_from": "2026-03-31", "date_to": "2026-03-01"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="2026-03-31"' in html and 'value="2026-03-01"' in html
    assert "before the start date" in html


def test_the_visit_list_says_called_and_being_served_for_visits_in_progress(client, branch):
    from pst_helpdesk_ext.models import Visit

    pst = make_pst_ticket(branch, visitor=make_visitor(), walk_in={})
    Visit.objects.filter(pst_ticket=pst).update(
        outcome=Visit.Outcome.WAITING, served_at=None, finished_at=None
    )
    client.force_login(make_staff("kasubag", superuser=True))
    assert ">dipanggil<" in client.get(VISITS, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    Visit.objects.filter(pst_ticket=pst).update(served_at=pst.visit.called_at)
    assert ">being served<" in client.get(VISITS, HTTP_ACCEPT_LANGUAGE="en").content.decode()
