"""Django admin of the PST models, through the test client."""

from __future__ import annotations

import uuid

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from helpdesk.models import Queue, Ticket

from pst_helpdesk_ext.models import (
    AppliedOp,
    Appointment,
    Branch,
    BranchSyncState,
    Compensation,
    Complaint,
    DeskPause,
    FeedHead,
    FeedItem,
    GuestBookEntry,
    OnlineRequest,
    PersonalDataExport,
    Rating,
    RatingInvitation,
    ServiceCategory,
    Visitor,
    WhatsAppMessage,
    WhatsAppThread,
)
from tests.central import test_ui as ui
from tests.central.test_ui import FULL_NIK, make_staff

pytestmark = pytest.mark.django_db
admin_user, branch = ui.admin_user, ui.branch


@pytest.fixture
def one_of_each(branch) -> dict[str, object]:
    """At least one row of every PST model, made the way the plugin makes them."""
    visitor = ui.make_visitor()
    pst = ui.make_pst_ticket(branch, visitor=visitor, walk_in={})
    complaints = Queue.objects.create(title="Pengaduan", slug="pst-pengaduan")
    complaint_ticket = Ticket.objects.create(title="Keluhan", queue=complaints)
    Rating.objects.create(
        ticket=pst.ticket, branch=branch, scores={f"U{n}": 4 for n in range(1, 10)}, overall=4
    )
    Complaint.objects.create(ticket=complaint_ticket, about=pst.ticket, branch=branch, tier=2)
    RatingInvitation.objects.create(ticket=pst.ticket)
    AppliedOp.objects.create(
        branch=branch,
        op_id=uuid.uuid4(),
        seq=1,
        kind="visit.created",
        entity_id=pst.origin_id,
        result=AppliedOp.Result.REJECTED,
        code="invalid_payload",
        detail="queue_number: 'X1' does not match",
    )
    FeedItem.objects.create(branch=branch, kind="ticket.status", entity_id="x", payload={"s": 1})
    FeedHead.objects.get_or_create(pk=1)
    OnlineRequest.objects.create(pst_ticket=pst, search_query="kemiskinan")
    Appointment.objects.create(
        ticket=pst.ticket,
        branch=branch,
        service=pst.category or ServiceCategory.objects.get(code="konsultasi"),
        start=timezone.now(),
        minutes=30,
        code="ABC234",
    )
    thread = WhatsAppThread.objects.create(pst_ticket=pst, wa_id="6281234567890")
    WhatsAppMessage.objects.create(
        thread=thread, message_id="wamid.X", direction="in", status="received"
    )
    Compensation.objects.create(pst_ticket=pst, kind="apology", given_on=pst.created.date())
    DeskPause.objects.create(
        branch=branch,
        origin_id="pause-1",
        desk="1",
        reason="sholat",
        service_day=pst.created.date(),
        started_at=pst.created,
    )
    PersonalDataExport.objects.create(
        username="admin", what="visits", filters={}, file_format="xlsx", rows=1
    )
    return {"visitor": visitor, "pst": pst}


def pst_models() -> list[type]:
    return list(apps.get_app_config("pst_helpdesk_ext").get_models())


def test_every_model_is_in_the_admin():
    missing = [m.__name__ for m in pst_models() if not admin.site.is_registered(m)]
    assert missing == []


def test_every_changelist_and_change_page_loads(client, admin_user, one_of_each):
    client.force_login(admin_user)
    for model in pst_models():
        meta = model._meta
        base = f"admin:{meta.app_label}_{meta.model_name}"
        response = client.get(reverse(f"{base}_changelist"))
        assert response.status_code == 200, model.__name__
        obj = model.objects.first()
        assert obj is not None, f"no {model.__name__} to open"
        response = client.get(reverse(f"{base}_change", args=[obj.pk]))
        assert response.status_code == 200, model.__name__
        # Search and filters do not break the changelist.
        response = client.get(reverse(f"{base}_changelist"), {"q": "1222"})
        assert response.status_code == 200, model.__name__


def test_visitor_admin_shows_the_masked_id_only(client, admin_user, one_of_each):
    client.force_login(admin_user)
    visitor = one_of_each["visitor"]
    for url in (
        reverse("admin:pst_helpdesk_ext_visitor_changelist"),
        reverse("admin:pst_helpdesk_ext_visitor_change", args=[visitor.pk]),
        reverse("admin:pst_helpdesk_ext_guestbookentry_changelist"),
        reverse("admin:pst_helpdesk_ext_pstticket_changelist"),
    ):
        html = client.get(url).content.decode()
        assert "************0001" in html, url
        assert visitor.id_hash not in html and FULL_NIK not in html, url
    form = client.get(reverse("admin:pst_helpdesk_ext_visitor_change", args=[visitor.pk]))
    assert 'name="id_last4"' not in form.content.decode()
    assert 'name="id_hash"' not in form.content.decode()


def test_sync_state_applied_ops_and_feed_are_read_only(client, admin_user, one_of_each, branch):
    client.force_login(admin_user)
    state = BranchSyncState.objects.get(branch=branch)
    state.hwm_seq, state.rejected_count, state.clock_skew_seconds = 41, 1, 200
    state.last_seen_at = timezone.now()
    state.save()
    url = reverse("admin:pst_helpdesk_ext_branchsyncstate_change", args=[state.pk])
    html = client.get(url).content.decode()
    assert "41" in html and "200" in html and 'name="_save"' not in html
    client.post(url, {"hwm_seq": 0})
    state.refresh_from_db()
    assert state.hwm_seq == 41
    changelist = client.get(reverse("admin:pst_helpdesk_ext_branch_changelist")).content.decode()
    assert "200" in changelist  # clock skew shown on the branch list
    op = AppliedOp.objects.get()
    op_url = reverse("admin:pst_helpdesk_ext_appliedop_change", args=[op.pk])
    assert 'name="_save"' not in client.get(op_url).content.decode()
    rejected = client.get(
        reverse("admin:pst_helpdesk_ext_appliedop_changelist"), {"result": "rejected"}
    )
    assert "invalid_payload" in rejected.content.decode()
    for name in ("branchsyncstate", "appliedop", "feeditem", "visit", "rating"):
        assert client.get(reverse(f"admin:pst_helpdesk_ext_{name}_add")).status_code == 403


def test_adding_a_branch_creates_its_queue_and_sync_state(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:pst_helpdesk_ext_branch_add"),
        {"code": "1210", "name": "Batu Bara", "timezone": "Asia/Jakarta", "email": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    branch = Branch.objects.get(code="1210")
    assert branch.queue.slug == "pst-1210" and branch.queue.locale == "id"
    assert BranchSyncState.objects.filter(branch=branch).exists()


def test_adding_a_bad_branch_names_the_field_and_saves_nothing(client, admin_user, branch):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:pst_helpdesk_ext_branch_add"),
        {"code": "12", "name": "Salah", "timezone": "Asia/Atlantis"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Asia/Atlantis" in html and "1222" in html  # the code rule's example, the bad zone
    response = client.post(
        reverse("admin:pst_helpdesk_ext_branch_add"),
        {"code": "1222", "name": "Lagi", "timezone": "Asia/Jakarta"},
    )
    assert response.status_code == 200
    assert Branch.objects.count() == 1 and Queue.objects.count() == 1


def test_erase_personal_data_action(client, admin_user, one_of_each):
    client.force_login(admin_user)
    visitor: Visitor = one_of_each["visitor"]
    response = client.post(
        reverse("admin:pst_helpdesk_ext_visitor_changelist"),
        {"action": "erase_personal_data", "_selected_action": [visitor.pk]},
    )
    assert response.status_code == 302
    visitor.refresh_from_db()
    assert visitor.purged_at is not None
    assert client.get(response["Location"]).status_code == 200  # the list after the erasure
    visitor.refresh_from_db()
    assert visitor.purged_at is not None and visitor.name == "" and visitor.id_last4 == ""
    assert GuestBookEntry.objects.get(visitor=visitor).purpose == ""
    change = reverse("admin:pst_helpdesk_ext_visitor_change", args=[visitor.pk])
    assert client.get(change).status_code == 200


def test_view_only_staff_cannot_erase(client, one_of_each):
    viewer = make_staff("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_visitor"))
    client.force_login(viewer)
    url = reverse("admin:pst_helpdesk_ext_visitor_changelist")
    html = client.get(url).content.decode()
    assert "erase_personal_data" not in html
    visitor = one_of_each["visitor"]
    client.post(url, {"action": "erase_personal_data", "_selected_action": [visitor.pk]})
    visitor.refresh_from_db()
    assert visitor.purged_at is None
