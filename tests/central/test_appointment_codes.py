"""In-person appointments get a check-in code: shown to the visitor (follow-up, e-mail, visitor
page with a QR), sent down the feed to their branch only, replaced when rescheduled, cancelled;
a branch's ``visit.created`` with the code links the walk-in to the online ticket."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.models import Appointment as Booking
from pst_helpdesk_ext.models import FeedItem, PSTTicket
from pst_helpdesk_ext.services import appointments, feed, visitor
from pst_helpdesk_ext.services.appointments import Appointment
from pst_helpdesk_ext.services.branches import create_branch
from tests.central.test_intake import WIB, WalkinOps, apply, results, ticket_of
from tests.central.test_ui import make_staff
from tests.central.test_visitor_page import EMAIL, page_url, submit

pytestmark = pytest.mark.django_db
CODE = re.compile(r"\b([2-9A-HJKMNP-Z]{3})-([2-9A-HJKMNP-Z]{3})\b")


@pytest.fixture
def branch() -> Any:
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta")


@pytest.fixture
def other_branch() -> Any:
    return create_branch("1201", "Nias", "Asia/Jakarta")


@pytest.fixture
def staff() -> Any:
    return make_staff("petugas", superuser=True)


def book(ticket: Ticket, branch: Any, staff: Any, start: dt.datetime) -> Booking:
    appointments.record_appointment(
        ticket,
        Appointment(appointments.IN_PERSON, start, dt.timedelta(minutes=45), branch=branch),
        user=staff,
    )
    return Booking.objects.filter(ticket=ticket).latest("pk")


def rows(branch: Any) -> list[FeedItem]:
    return list(
        feed.visible_items(branch, after=0, up_to=feed.head()).filter(kind="appointment.upsert")
    )


def test_an_in_person_appointment_gets_a_code_the_visitor_sees_in_both_languages(
    client: Client, branch: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    start = timezone.now() + dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(ticket, branch, staff, start)
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{6}", booking.code)
    shown = appointments.display_code(booking.code)
    assert booking.status == "booked" and booking.service.code == "konsultasi"
    assert booking.followup is not None and shown in booking.followup.comment
    (message,) = [m for m in mail.outbox if EMAIL in m.to]
    assert shown in message.body
    ((name, png, mimetype),) = [a for a in message.attachments if a[0].endswith(".png")]
    assert (name, mimetype) == ("check-in-code.png", "image/png")
    assert png.startswith(b"\x89PNG") and png == appointments.code_qr_png(booking.code)
    for query, words in (("", "Kode check-in"), ("?lang=en", "Check-in code")):
        html = client.get(page_url(ticket) + query).content.decode()
        assert f'data-code="{shown}"' in html and words in html
        assert 'class="pst-checkin-qr"' in html and "<svg" in html  # the QR, made here


def test_a_zoom_appointment_has_no_code(branch: Any, staff: Any) -> None:
    ticket = Ticket.objects.create(title="Data", queue=branch.queue)
    followup = appointments.record_appointment(
        ticket,
        Appointment(
            appointments.ZOOM,
            timezone.now() + dt.timedelta(days=1),
            dt.timedelta(minutes=30),
            meeting_url="https://zoom.us/j/1",
        ),
        user=staff,
    )
    assert not Booking.objects.exists() and not CODE.search(followup.comment)


def test_only_the_branch_gets_its_appointments_without_personal_data(
    branch: Any, other_branch: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    Ticket.objects.filter(pk=ticket.pk).update(title="Data kemiskinan 1234567890123456")
    ticket.refresh_from_db()
    booking = book(ticket, branch, staff, timezone.now() + dt.timedelta(days=1))
    (row,) = rows(branch)
    assert rows(other_branch) == []
    assert row.entity_id == str(booking.pk)
    payload = row.payload
    assert payload["code"] == booking.code and payload["status"] == "booked"
    assert payload["service"] == "konsultasi" and payload["minutes"] == 45
    assert payload["ticket_id"] == ticket.pk
    assert payload["topic"] == "Data kemiskinan ************3456"
    text = repr(payload)
    for personal in ("Siti", "siti@example.com", "Universitas", "1234567890123456"):
        assert personal not in text


def test_rescheduling_cancels_the_old_code_and_cancel_tells_the_branch(
    branch: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    first = book(ticket, branch, staff, timezone.now() + dt.timedelta(days=1))
    second = book(ticket, branch, staff, timezone.now() + dt.timedelta(days=3))
    first.refresh_from_db()
    assert (first.status, second.status) == ("cancelled", "booked")
    assert [(r.entity_id, r.payload["status"]) for r in rows(branch)] == [
        (str(first.pk), "booked"),
        (str(first.pk), "cancelled"),
        (str(second.pk), "booked"),
    ]
    # The visitor's page shows the new code only; the old appointment says it no longer works.
    newest, older = visitor.appointments_of(ticket)
    assert newest["code"] == appointments.display_code(second.code) and "qr" in newest
    assert older["booking"].status == "cancelled" and "code" not in older
    assert appointments.cancel(second) and not appointments.cancel(second)
    assert rows(branch)[-1].payload["status"] == "cancelled"
    assert Booking.objects.get(pk=second.pk).status == "cancelled"


def test_a_snapshot_carries_the_branchs_coming_appointments(
    branch: Any, other_branch: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    old = book(ticket, branch, staff, timezone.now() - dt.timedelta(days=5))
    coming = book(ticket, branch, staff, timezone.now() + dt.timedelta(days=2))
    up_to = feed.ensure_started()
    entries = [e for _id, e in feed.snapshot_entries(branch, cursor=0, up_to=up_to)]
    mine = [e for e in entries if e.kind == "appointment.upsert"]
    assert [e.entity_id for e in mine] == [str(coming.pk)]
    assert old.pk != coming.pk
    others = feed.snapshot_entries(other_branch, cursor=0, up_to=up_to)
    assert not [e for _id, e in others if e.kind == "appointment.upsert"]


def test_a_visit_with_the_code_links_the_walk_in_to_the_online_ticket(
    branch: Any, other_branch: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    online = submit(branch, django_capture_on_commit_callbacks)
    booking = book(online, branch, staff, dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB))
    ops = WalkinOps()
    visit = ops.new_visit_id()
    created = ops.created(visit)
    created = created.__class__(
        **{
            **{f: getattr(created, f) for f in created.__struct_fields__},
            "payload": {**created.payload, "appointment": booking.code},
        }
    )
    # The same code from another branch links nothing there (trust boundary).
    stranger = WalkinOps(seed=2)
    foreign = stranger.created(stranger.new_visit_id())
    foreign = foreign.__class__(
        **{
            **{f: getattr(foreign, f) for f in foreign.__struct_fields__},
            "payload": {**foreign.payload, "appointment": booking.code},
        }
    )
    assert results(apply(other_branch, [foreign])) == [("applied", "")]
    assert Booking.objects.get(pk=booking.pk).status == "booked"
    assert results(apply(branch, [created])) == [("applied", "")]
    booking.refresh_from_db()
    assert booking.status == "checked_in" and booking.visit_origin_id == visit
    assert booking.queue_number == "K-001" and booking.checked_in_at is not None
    walk_in = ticket_of(branch, visit)
    note = FollowUp.objects.get(ticket=walk_in, comment__contains=f"#{online.pk} (")
    assert not note.public and appointments.display_code(booking.code) in note.comment
    online_note = FollowUp.objects.filter(ticket=online, public=False).latest("pk")
    assert "K-001" in online_note.comment and "Labuhanbatu Selatan" in online_note.comment
    # Linked once: a second check-in with the same code (a restored store) changes nothing.
    again = WalkinOps(seed=3)
    repeat = again.created(again.new_visit_id(), number=2)
    repeat = repeat.__class__(
        **{
            **{f: getattr(repeat, f) for f in repeat.__struct_fields__},
            "payload": {**repeat.payload, "appointment": booking.code},
        }
    )
    assert results(apply(branch, [repeat])) == [("applied", "")]
    booking.refresh_from_db()
    assert booking.visit_origin_id == visit and booking.queue_number == "K-001"
    assert FollowUp.objects.filter(ticket=online, comment__contains="K-00").count() == 1
    assert PSTTicket.objects.filter(origin_id=visit).count() == 1


def test_staff_cancel_an_appointment_in_the_admin(
    client: Client, branch: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = submit(branch, django_capture_on_commit_callbacks)
    booking = book(ticket, branch, staff, timezone.now() + dt.timedelta(days=1))
    client.force_login(staff)
    url = reverse("admin:pst_helpdesk_ext_appointment_changelist")
    assert booking.code in client.get(url).content.decode()
    response = client.post(
        url, {"action": "cancel_appointments", "_selected_action": [booking.pk]}, follow=True
    )
    assert response.status_code == 200
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"
    assert rows(branch)[-1].payload["status"] == "cancelled"
