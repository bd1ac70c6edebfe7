"""A NIK typed into free text that central stores through the plugin's own paths (a WhatsApp
chat message, a complaint, an online request) is masked to its last 4 digits before it is stored.
The walk-in records' free text is covered in tests/central/test_sync_trust.py."""

from __future__ import annotations

import datetime as dt

import pytest
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.models import ServiceCategory
from pst_helpdesk_ext.services import complaints, online, whatsapp
from pst_helpdesk_ext.services.branches import create_branch

pytestmark = pytest.mark.django_db

NIK, GROUPED = "1222011708900001", "1222 0117 0890 0001"


@pytest.fixture
def branch():
    return create_branch("1222", "Labuhanbatu Selatan")


def stored_text() -> str:
    rows = [
        *Ticket.objects.values_list("title", "description", "resolution"),
        *FollowUp.objects.values_list("title", "comment"),
    ]
    return "\n".join(str(value) for row in rows for value in row if value)


def assert_masked(text: str) -> None:
    for shape in (NIK, GROUPED, "12.22.01.170890.0001"):
        assert shape not in text
    assert "************0001" in text


def test_a_nik_in_a_whatsapp_message_is_masked(django_capture_on_commit_callbacks):
    message = whatsapp.IncomingMessage(
        "6281234567890", "wamid.NIK", dt.datetime.now(dt.UTC), "text", f"NIK saya {GROUPED}"
    )
    with django_capture_on_commit_callbacks(execute=True):
        followup = whatsapp.receive_message(message)
    assert followup.comment == "NIK saya ************0001"
    assert_masked(stored_text())


def test_a_nik_in_a_complaint_is_masked(branch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        complaint = complaints.file_complaint(
            text=f"Antrean lama. NIK {NIK}", email="siti@example.com", branch=branch
        )
    assert complaint.ticket.description == "Antrean lama. NIK ************0001"
    assert_masked(stored_text())


def test_a_nik_in_an_online_request_is_masked(branch, django_capture_on_commit_callbacks):
    data = online.RequestData(
        email="siti@example.com",
        name="Siti",
        institution="",
        branch=branch,
        subject=ServiceCategory.objects.get(code="data"),
        title=f"Data untuk {NIK}",
        question="Saya (NIK 12.22.01.170890.0001) membutuhkan data kemiskinan per kecamatan.",
        indicator="Kemiskinan",
        purpose=f"Skripsi, NIK {GROUPED}",
    )
    with django_capture_on_commit_callbacks(execute=True):
        online.submit_request(data)
    assert_masked(stored_text())
