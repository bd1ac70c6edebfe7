"""Appointments at the branch: ``appointment.upsert`` from the down-feed through the sync store,
the kiosk check-in (refusals, one number per code, the op carrying the code) and the desk."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from branch_agent import appointments, services
from branch_agent.models import Appointment, OutboxOp, Visit
from branch_agent.sync_store import SqliteBranchStore
from sync.ops import VisitCreated, decode_payload
from sync.store import ChangesPage, FeedEntry
from tests.agent.conftest import at

pytestmark = pytest.mark.django_db


def upsert(feed_id, pk, code, *, status="booked", start=None, service="konsultasi"):
    start = start or at(10, 0)
    return FeedEntry(
        feed_id,
        "appointment.upsert",
        str(pk),
        {
            "id": pk,
            "code": code,
            "status": status,
            "service": service,
            "start": start.astimezone(dt.UTC).isoformat(),
            "minutes": 45,
            "topic": "Data kemiskinan ************1234",
            "ticket_id": 77,
            "ticket_ref": "labuhanbatu-77",
        },
    )


def feed(*entries, cursor=0):
    top = max(entry.feed_id for entry in entries)
    SqliteBranchStore().apply_changes(ChangesPage(cursor, top, tuple(entries), False))


def test_the_feed_brings_updates_and_cancels_appointments():
    feed(upsert(5, 1, "ABC234"))
    appointment = Appointment.objects.get(central_id=1)
    assert (appointment.code, appointment.status, appointment.minutes) == ("ABC234", "booked", 45)
    assert appointment.start == at(10, 0) and appointment.ticket_id == 77
    feed(upsert(6, 1, "ABC234", start=at(11, 30)), cursor=5)  # rescheduled
    assert Appointment.objects.get(central_id=1).start == at(11, 30)
    feed(upsert(7, 1, "ABC234", status="cancelled"), cursor=6)
    assert Appointment.objects.get(central_id=1).status == "cancelled"


@pytest.mark.parametrize(
    "payload",
    [
        {"id": 2, "code": "ab", "status": "booked", "start": "2026-03-17T03:00:00+00:00"},
        {"id": 2, "code": "ABC234", "status": "lost", "start": "2026-03-17T03:00:00+00:00"},
        {"id": 2, "code": "ABC234", "status": "booked", "start": "tomorrow"},
        {"id": "2", "code": "ABC234", "status": "booked", "start": "2026-03-17T03:00:00+00:00"},
    ],
)
def test_a_malformed_feed_item_is_skipped_and_the_page_still_applies(payload):
    store = SqliteBranchStore()
    store.apply_changes(
        ChangesPage(
            0, 9, (FeedEntry(8, "appointment.upsert", "2", payload), upsert(9, 3, "XYZ789")), False
        )
    )
    assert list(Appointment.objects.values_list("central_id", flat=True)) == [3]
    assert store.feed_cursor() == 9


def test_a_good_code_gives_a_number_in_the_service_queue_and_the_op_carries_it():
    feed(upsert(5, 1, "ABC234"))
    issued = appointments.check_in(" abc-234 ", token="t" * 20, now=at(9, 50))
    visit = issued.visit
    assert (
        issued.created
        and visit.service.code == "konsultasi"
        and visit.queue_number.startswith("K-")
    )
    appointment = Appointment.objects.get(central_id=1)
    assert (appointment.status, appointment.visit_id) == ("checked_in", visit.pk)
    op = OutboxOp.objects.get(entity_id=str(visit.pk), kind="visit.created")
    payload = decode_payload(op.kind, op.payload)
    assert isinstance(payload, VisitCreated) and payload.appointment == "ABC234"
    # The same submit again (a double tap): the same number, nothing new written.
    again = appointments.check_in("ABC234", token="t" * 20, now=at(9, 51))
    assert not again.created and again.visit.pk == visit.pk
    assert Visit.objects.count() == 1
    # Central has not heard of the check-in yet: a feed update keeps it.
    feed(upsert(6, 1, "ABC234", start=at(10, 15)), cursor=5)
    assert Appointment.objects.get(central_id=1).status == "checked_in"


def test_an_ordinary_number_sends_no_appointment_field():
    visit = services.issue_number("konsultasi", now=at(9)).visit
    op = OutboxOp.objects.get(entity_id=str(visit.pk))
    assert "appointment" not in op.payload


@pytest.mark.parametrize(
    ("typed", "status", "day", "code", "words"),
    [
        ("", "booked", 17, "empty_code", "Type the check-in code"),
        ("QQQ999", "booked", 17, "unknown_code", "QQQ-999 is not an appointment"),
        ("ABC234", "cancelled", 17, "cancelled", "cancelled"),
        ("ABC234", "checked_in", 17, "used", "already used"),
        ("ABC234", "booked", 18, "other_day", "not today"),
        ("ABC234", "booked", 16, "other_day", "was on"),
    ],
)
def test_a_code_that_cannot_check_in_is_refused_with_its_reason(typed, status, day, code, words):
    feed(upsert(5, 1, "ABC234", status=status, start=at(10, 0, day=day)))
    with pytest.raises(services.Refused) as refused, translation.override("en"):
        appointments.check_in(typed, token="u" * 20, now=at(9, 0))
    assert refused.value.code == code and words in refused.value.message
    assert Visit.objects.count() == 0 and OutboxOp.objects.count() == 0


def test_a_used_code_is_refused_the_second_time():
    feed(upsert(5, 1, "ABC234"))
    appointments.check_in("ABC234", token="a" * 20, now=at(9))
    with pytest.raises(services.Refused) as refused:
        appointments.check_in("ABC234", token="b" * 20, now=at(9, 5))
    assert refused.value.code == "used"
    assert Visit.objects.count() == 1


def test_the_kiosk_page_keeps_the_typed_code_and_offers_a_normal_number(client):
    feed(upsert(5, 1, "ABC234", start=dt.datetime.now(dt.UTC) + dt.timedelta(days=3)))
    url = reverse("branch_agent:kiosk_appointment")
    response = client.post(url, {"code": "abc-234", "token": "k" * 20})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="abc-234"' in page and 'aria-invalid="true"' in page
    assert "bukan hari ini" in page and reverse("branch_agent:kiosk") in page
    assert "Ambil nomor antrean biasa saja" in page
    page = client.post(url, {"code": "abc-234", "token": "l" * 20, "lang": "en"}).content.decode()
    assert "not today" in page and "Take a normal number instead" in page
    assert 'name="lang" value="en"' in page and "/kiosk/?lang=en" in page


def test_the_desk_sees_the_appointment_of_the_number_it_called(client, users):
    feed(upsert(5, 1, "ABC234", start=dt.datetime.now(dt.UTC)))
    visit = appointments.check_in("ABC234", token="d" * 20).visit
    services.call_next("1", token="e" * 20)
    client.force_login(users["desk_officer"])
    page = client.get(reverse("branch_agent:desk", args=["1"])).content.decode()
    assert visit.queue_number in page and 'id="desk-appointment"' in page
    assert "Data kemiskinan ************1234" in page and "#77" in page and "labuhanbatu-77" in page


def test_old_appointments_are_dropped_as_new_ones_arrive():
    now = dt.datetime.now(dt.UTC)
    feed(upsert(5, 1, "OLD234", start=now - appointments.KEEP - dt.timedelta(hours=1)))
    feed(upsert(6, 2, "NEW234", start=now + dt.timedelta(days=1)), cursor=5)
    assert list(Appointment.objects.values_list("code", flat=True)) == ["NEW234"]
