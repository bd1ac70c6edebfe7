"""Complaints: real helpdesk tickets in the complaints queue with the tier's working-day
deadline on the branch calendar (hand-computed), from the public form, the rating form and the
branch kiosk (through sync); bad input refused with nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.models import Complaint
from pst_helpdesk_ext.services import complaints
from pst_helpdesk_ext.services.branches import create_branch
from tests.central.test_intake import WalkinOps, apply
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db

WIB = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture
def branch():
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")


def test_tier_deadlines_on_the_branch_calendar(branch):
    filed = dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB)  # Tuesday
    # 18, 20, 23, 24 March are cuti bersama (closed), 19 and 21 holidays: day 1 is 25 March.
    assert complaints.complaint_deadline(branch, filed, 1) == dt.datetime(
        2026, 3, 26, 15, 30, tzinfo=WIB
    )
    assert complaints.complaint_deadline(
        branch, filed, 2
    ) == branch.working_calendar.add_working_days(filed, 5)
    assert complaints.complaint_deadline(
        branch, filed, 4
    ) == branch.working_calendar.add_working_days(filed, 60)


def test_a_complaint_is_a_helpdesk_ticket_with_its_deadline(
    branch, django_capture_on_commit_callbacks
):
    filed = dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB)
    with django_capture_on_commit_callbacks(execute=True):
        complaint = complaints.file_complaint(
            text="Antrean terlalu lama",
            email="siti@example.com",
            branch=branch,
            tier=2,
            lapor_ref=" lap-123456 ",
            filed_at=filed,
        )
    ticket = complaint.ticket
    assert ticket.queue.slug == "pst-pengaduan" and ticket.status == Ticket.OPEN_STATUS
    assert complaint.due_at == branch.working_calendar.add_working_days(filed, 5)
    assert ticket.due_date == complaint.due_at
    assert complaint.lapor_ref == "LAP-123456"
    assert FollowUp.objects.filter(
        ticket=ticket, public=True, comment="Antrean terlalu lama"
    ).exists()
    assert ticket.pst.branch == branch
    assert any("siti@example.com" in m.to for m in mail.outbox)  # helpdesk's new-ticket mail
    complaints.change_tier(complaint, 1)
    complaint.refresh_from_db()
    assert complaint.due_at == dt.datetime(2026, 3, 26, 15, 30, tzinfo=WIB)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": "  "}, "text"),
        ({"lapor_ref": "??"}, "lapor_ref"),
        ({"tier": 7}, "tier"),
        ({"email": "not-an-address"}, "email"),
    ],
)
def test_bad_complaints_store_nothing(branch, kwargs, field):
    values = {"text": "Petugas tidak ramah", "email": "siti@example.com", "branch": branch}
    values.update(kwargs)
    with pytest.raises(ValidationError) as error:
        complaints.file_complaint(**values)
    assert field in error.value.message_dict
    assert not Complaint.objects.exists() and not Ticket.objects.exists()


def test_kiosk_complaints_through_sync_get_their_deadline(
    branch, django_capture_on_commit_callbacks
):
    factory = WalkinOps()
    ops = factory.complete_visit()
    visit = ops[0].entity_id
    ops.append(factory.complaint(visit, tier=3))
    with django_capture_on_commit_callbacks(execute=True):
        apply(branch, ops)
    complaint = Complaint.objects.get()
    expected = branch.working_calendar.add_working_days(complaint.ticket.created, 14)
    assert complaint.due_at == expected
    assert Ticket.objects.get(pk=complaint.ticket_id).due_date == expected


def test_public_complaint_page(branch, client):
    page = client.get(reverse("pst:complain"))
    assert page.status_code == 200
    bad = client.post(
        reverse("pst:complain"),
        {"email": "siti@example.com", "branch": "1222", "text": "x", "lapor_ref": "$"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 400 and "LAPOR" in bad.content.decode()
    assert not Complaint.objects.exists()
    done = client.post(
        reverse("pst:complain"),
        {"email": "siti@example.com", "branch": "1222", "text": "Data tidak lengkap"},
    )
    assert done.status_code == 200
    complaint = Complaint.objects.get()
    assert complaint.branch == branch and complaint.tier == 1
    assert complaint.ticket.ticket in done.content.decode()


def test_admin_tier_change_recounts_the_deadline(branch, client):
    filed = dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB)
    complaint = complaints.file_complaint(
        text="Antrean lama", email="siti@example.com", branch=branch, tier=2, filed_at=filed
    )
    admin = make_staff("admin", superuser=True)
    client.force_login(admin)
    url = reverse("admin:pst_helpdesk_ext_complaint_change", args=[complaint.pk])
    bad = client.post(url, {"tier": "1", "lapor_ref": "??"})
    assert bad.status_code == 200 and "LAPOR" in bad.content.decode()
    complaint.refresh_from_db()
    assert complaint.tier == 2
    client.post(url, {"tier": "1", "lapor_ref": "lap-99"})
    complaint.refresh_from_db()
    assert complaint.tier == 1 and complaint.lapor_ref == "LAP-99"
    assert complaint.due_at == dt.datetime(2026, 3, 26, 15, 30, tzinfo=WIB)
    assert Ticket.objects.get(pk=complaint.ticket_id).due_date == complaint.due_at
