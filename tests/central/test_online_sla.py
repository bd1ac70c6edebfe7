"""The online channel drives the SLA clock: the request page's completeness decides whether an
"at submission" clock starts, and a visitor's WhatsApp reply ends a "waiting for the visitor"
pause. Real helpdesk tickets, the real webhook view and the real signals (after commit)."""

from __future__ import annotations

from typing import Any

import pytest
from helpdesk.models import Ticket

from pst_helpdesk_ext.models import PSTTicket, ServiceCategory, SLAPolicy, SLAState
from pst_helpdesk_ext.services import online, sla
from pst_helpdesk_ext.services.branches import create_branch
from tests.central.test_ui import make_staff
from tests.central.test_whatsapp import envelope, text_message, whatsapp_settings

pytestmark = pytest.mark.django_db
# The WhatsApp tests' settings (app secret, logging sender), shared.
whatsapp_settings = whatsapp_settings


def submit(branch: Any, *, complete: bool, capture: Any) -> PSTTicket:
    data = online.RequestData(
        email="siti@example.com",
        name="Siti Aminah",
        institution="Universitas Labuhanbatu",
        branch=branch,
        subject=ServiceCategory.objects.get(code="data"),
        title="Data kemiskinan kecamatan",
        question="Berapa jumlah penduduk miskin per kecamatan tahun 2024?",
        indicator="Penduduk miskin" if complete else "",
        region="Labuhanbatu Selatan" if complete else "",
        period="2024" if complete else "",
        purpose="Skripsi" if complete else "",
    )
    assert (online.missing_for_completeness(data) == []) is complete
    with capture(execute=True):
        pst = online.submit_request(data)
    pst.refresh_from_db()
    return pst


@pytest.fixture
def at_submission() -> None:
    """Online consultations start their clock at submission (the form collects the request)."""
    SLAPolicy.objects.filter(kind=SLAPolicy.Kind.ONLINE).update(
        start_rule=SLAPolicy.StartRule.ON_SUBMISSION
    )


def test_at_submission_a_complete_request_starts_the_clock(
    at_submission: None, django_capture_on_commit_callbacks: Any
) -> None:
    pst = submit(
        create_branch("1222", "Labuhanbatu Selatan"),
        complete=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert pst.sla_state == SLAState.RUNNING
    assert pst.sla_started_at == pst.ticket.created and pst.sla_due_at is not None


def test_at_submission_an_incomplete_request_waits_for_staff(
    at_submission: None, django_capture_on_commit_callbacks: Any
) -> None:
    pst = submit(
        create_branch("1222", "Labuhanbatu Selatan"),
        complete=False,
        capture=django_capture_on_commit_callbacks,
    )
    assert pst.sla_state == SLAState.PENDING
    assert pst.sla_started_at is None and pst.complete_at is None
    sla.recompute(pst)  # the tick re-evaluates it: still pending
    pst.refresh_from_db()
    assert pst.sla_state == SLAState.PENDING
    sla.mark_request_complete(pst, user=make_staff("petugas"))
    pst.refresh_from_db()
    assert pst.sla_state == SLAState.RUNNING


def test_on_complete_policy_a_complete_request_still_waits_for_staff(
    django_capture_on_commit_callbacks: Any,
) -> None:
    pst = submit(
        create_branch("1222", "Labuhanbatu Selatan"),
        complete=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert pst.sla_state == SLAState.PENDING


def test_a_whatsapp_reply_ends_the_wait_for_the_visitor(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.central.test_whatsapp import post

    with django_capture_on_commit_callbacks(execute=True):
        post(client, envelope([text_message("Mau tanya data KBLI", wamid="wamid.S1")]))
    pst = PSTTicket.objects.get()
    staff = make_staff("petugas")
    sla.mark_request_complete(pst, user=staff)
    with django_capture_on_commit_callbacks(execute=True):
        sla.wait_for_visitor(pst, user=staff, comment="Untuk tahun berapa datanya?")
    pst.refresh_from_db()
    assert pst.sla_state == SLAState.PAUSED and pst.waiting_for_visitor_since is not None
    with django_capture_on_commit_callbacks(execute=True):
        post(client, envelope([text_message("Tahun 2024", wamid="wamid.S2")]))
    pst.refresh_from_db()
    assert pst.waiting_for_visitor_since is None and pst.sla_paused_since is None
    assert pst.sla_state in (SLAState.RUNNING, SLAState.AT_RISK)
    assert Ticket.objects.get().followup_set.filter(comment__contains="Tahun 2024").exists()
