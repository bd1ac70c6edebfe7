"""Compensation for a breached standard: recorded on the ticket page (only for a breach, once,
refused input kept as typed), counted on the SLA report and carried in its breach download."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from pst_helpdesk_ext.models import Compensation
from tests.central import test_sla_web as sla_web
from tests.central import test_ui as ui
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db
admin_user, report_data, other_branch, branch = (
    sla_web.admin_user,
    sla_web.report_data,
    sla_web.other_branch,
    sla_web.branch,
)
per_queue_permissions = ui.per_queue_permissions


def url(pst) -> str:
    return reverse("pst:sla_compensation", args=[pst.ticket_id])


def ticket_page(client, pst) -> str:
    return client.get(
        reverse("helpdesk:view", args=[pst.ticket_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()


def test_a_breach_gets_a_form_and_its_compensation_is_recorded(client, admin_user, report_data):
    late = report_data["late"]
    client.force_login(admin_user)
    assert 'id="pst-compensation-form"' in ticket_page(client, late)
    assert 'id="pst-compensation-form"' not in ticket_page(client, report_data["met1"])
    response = client.post(
        url(late),
        {"kind": "free_data", "note": "Publikasi Kabupaten Dalam Angka", "given_on": "2026-03-11"},
    )
    assert response.status_code == 302
    given = Compensation.objects.get(pst_ticket=late)
    assert (given.kind, str(given.given_on), given.recorded_by) == (
        "free_data",
        "2026-03-11",
        admin_user,
    )
    html = ticket_page(client, late)
    assert 'id="pst-compensation-recorded"' in html and "data or publication free of charge" in html


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"kind": "other", "note": ""}, "Describe what was given."),
        ({"kind": "gold"}, "Choose what was given."),
        ({"kind": "apology", "given_on": "2099-01-01"}, "cannot be after today"),
        ({"kind": "apology", "given_on": "2026-02-01"}, "before the clock started"),
        ({"kind": "apology", "given_on": "1 Maret"}, "YYYY-MM-DD"),
        ({"kind": "other", "note": "x" * 501}, "at most 500"),
    ],
)
def test_refused_input_says_why_saves_nothing_and_keeps_what_was_typed(
    client, admin_user, report_data, data, text
):
    late = report_data["late"]
    client.force_login(admin_user)
    response = client.post(url(late), data, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    html = response.content.decode()
    assert text in html
    # The reason is also beside the form the officer is looking at, not only at the top.
    form = html[html.index('id="pst-compensation-form"') :]
    assert text in form[: form.index("</form>")]
    assert response.redirect_chain[-1][0].endswith("#pst-compensation")
    assert not Compensation.objects.exists()
    if data.get("note") and len(data["note"]) < 100:
        assert f'value="{data["note"]}"' in html
    if data.get("kind") == "other":
        assert '<option value="other" selected>' in html


def test_only_a_breach_and_only_once(client, admin_user, report_data):
    client.force_login(admin_user)
    response = client.post(
        url(report_data["met1"]), {"kind": "apology"}, HTTP_ACCEPT_LANGUAGE="en", follow=True
    )
    assert "only for a breached service standard" in response.content.decode()
    late = report_data["late"]
    client.post(url(late), {"kind": "apology", "given_on": "2026-03-12"})
    again = client.post(url(late), {"kind": "souvenir"}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "already recorded" in again.content.decode()
    assert list(Compensation.objects.values_list("kind", flat=True)) == ["apology"]


def test_get_and_other_queues_are_refused(client, per_queue_permissions, report_data):
    late = report_data["late"]
    client.force_login(make_staff("tamu"))
    assert client.get(url(late)).status_code == 405
    assert client.post(url(late), {"kind": "apology"}).status_code == 403
    assert not Compensation.objects.exists()


def test_sla_report_counts_and_exports_compensation(client, admin_user, report_data):
    late = report_data["late"]
    client.force_login(admin_user)
    query = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    page = client.get("/pst/reports/sla/", query, HTTP_ACCEPT_LANGUAGE="en")
    assert page.context["page"].compensated == 0
    assert "Compensation recorded for 0 of 1 breaches." in page.content.decode()
    client.post(url(late), {"kind": "priority", "given_on": "2026-03-12"})
    page = client.get("/pst/reports/sla/", query, HTTP_ACCEPT_LANGUAGE="en")
    report = page.context["page"]
    assert (report.compensated, report.compensation_per_kind) == (1, [("priority service", 1)])
    download = client.get(
        "/pst/reports/sla/",
        {**query, "download": "breaches", "format": "json"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    [row] = json.loads(b"".join(download.streaming_content))["rows"]
    # JSON is for machines: the kind's code, its label beside it (docs/reports.md, Downloads).
    assert (row["compensation"], row["compensation_label"], row["compensation_given_on"]) == (
        "priority",
        "priority service",
        "2026-03-12",
    )


def test_a_nik_typed_in_the_note_is_stored_masked(client, admin_user, report_data):
    client.force_login(admin_user)
    client.post(
        url(report_data["late"]),
        {"kind": "other", "note": "Voucher untuk 1222014708950002", "given_on": "2026-03-12"},
    )
    note = Compensation.objects.get().note
    assert "1222014708950002" not in note and note.startswith("Voucher untuk ")
