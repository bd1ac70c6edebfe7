"""A visit this PC's disk lost after central had it comes back from the down-feed (issue 17,
sync/recovery.py), and the desk finishes it offline like any other."""

import pytest

from branch_agent import services
from branch_agent.models import (
    GuestBookEntry,
    OutboxOp,
    ServiceCategory,
    SyncState,
    TicketUpdate,
    Visit,
)
from branch_agent.recovery import NOT_RECOVERED_KIND, RECOVERED_KIND
from branch_agent.sync_store import SqliteBranchStore
from sync import ops
from sync.recovery import FACTS_KEY
from sync.store import ChangesPage, FeedEntry
from tests.agent.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return SqliteBranchStore()


def facts(visit, **changes):
    return {
        "service": visit.service.code,
        "queue_number": visit.queue_number,
        "service_day": visit.service_day.isoformat(),
        "issued_at": visit.issued_at.isoformat(),
        "stage": "waiting",
        "outcome": "",
        "desk": "",
        **changes,
    }


def status_row(feed_id, entity_id, visit_facts, *, owner="branch", status=1, label="Terbuka"):
    payload = {
        "ticket_id": 500 + feed_id,
        "status": status,
        "status_label": label,
        "open": status == 1,
        "owner": owner,
        "at": "2026-03-17T09:30:00+07:00",
    }
    if visit_facts is not None:
        payload[FACTS_KEY] = visit_facts
    return FeedEntry(feed_id, "ticket.status", entity_id, payload)


def lose(visit):
    """What a restored backup or a lost disk tail leaves: the visit and its ops never happened
    here, while central already applied them."""
    OutboxOp.objects.filter(entity_id=str(visit.pk)).delete()
    Visit.objects.filter(pk=visit.pk).delete()


def apply(store, *items, cursor=None):
    start = SyncState.objects.get().feed_cursor if cursor is None else cursor
    store.apply_changes(ChangesPage(start, max(i.feed_id for i in items), items, False))


def test_a_lost_visit_comes_back_and_the_desk_finishes_it(store):
    first = services.issue_number("konsultasi", now=at(9)).visit
    lost = services.issue_number("konsultasi", now=at(9, 1)).visit
    services.call_next("2", now=at(9, 5))  # first goes to desk 2
    services.call_next("1", now=at(9, 6))  # lost goes to desk 1
    lost = Visit.objects.get(pk=lost.pk)
    row = status_row(1, str(lost.pk), facts(lost, stage="called", desk="1"))
    lose(lost)

    apply(store, row)

    back = Visit.objects.get(pk=lost.pk)
    assert (back.queue_number, back.service.code, back.service_day, back.issued_at) == (
        lost.queue_number,
        "konsultasi",
        lost.service_day,
        lost.issued_at,
    )
    assert (back.number, back.status, back.desk) == (2, Visit.Status.CALLED, "1")
    assert (back.central_status, back.central_ticket_id) == ("Terbuka", 501)
    note = TicketUpdate.objects.get(kind=RECOVERED_KIND)
    assert (
        note.visit == back and lost.queue_number in note.text and "buku tamu" in note.text
    )  # the office language
    assert not GuestBookEntry.objects.filter(visit=back).exists()
    # The desk it was called to serves and finishes it; the ops go to central like any other.
    services.start_service(back.pk, "1", officer="desk", now=at(9, 8))
    conclusion = services.Conclusion(subject="data", notes="PDRB 2024", outcome="resolved")
    services.finish(back.pk, "1", conclusion, officer="desk", now=at(9, 20))
    assert Visit.objects.get(pk=back.pk).status == Visit.Status.FINISHED
    kinds = list(
        OutboxOp.objects.filter(entity_id=str(back.pk))
        .order_by("seq")
        .values_list("kind", flat=True)
    )
    assert kinds[0] == ops.VISIT_SERVED and ops.VISIT_RESOLVED in kinds
    # The kiosk never issues the recovered number again.
    assert services.issue_number("konsultasi", now=at(9, 30)).visit.number == 3
    assert first.number == 1


def test_a_position_given_out_again_meanwhile_moves_the_recovered_visit_after_it(store):
    lost = services.issue_number("konsultasi", now=at(9)).visit
    row = status_row(1, str(lost.pk), facts(lost))
    lose(lost)
    again = services.issue_number("konsultasi", now=at(9, 2)).visit  # the PC reused K-001
    assert again.queue_number == lost.queue_number

    apply(store, row)

    back = Visit.objects.get(pk=lost.pk)
    assert (back.queue_number, back.number, back.status) == (lost.queue_number, 2, "waiting")
    assert services.issue_number("konsultasi", now=at(9, 5)).visit.number == 3


def test_replaying_the_row_or_a_snapshot_changes_nothing(store):
    lost = services.issue_number("konsultasi", now=at(9)).visit
    row = status_row(1, str(lost.pk), facts(lost))
    lose(lost)
    apply(store, row)
    before = (
        list(Visit.objects.values_list("pk", "number", "status", "central_status")),
        list(TicketUpdate.objects.values_list("key", "visit_id")),
    )
    apply(store, row, cursor=0)  # the same page again
    store.apply_changes(ChangesPage(1, 1, (row,), False, snapshot=True))
    after = (
        list(Visit.objects.values_list("pk", "number", "status", "central_status")),
        list(TicketUpdate.objects.values_list("key", "visit_id")),
    )
    assert after == before


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (None, "no visit facts"),
        ({"service": "konsultasi", "queue_number": "7"}, "do not fit"),
        ("not-a-mapping", "do not fit"),
    ],
)
def test_a_row_without_usable_facts_is_kept_as_news_and_the_page_still_applies(store, bad, reason):
    lost = services.issue_number("konsultasi", now=at(9)).visit
    kept = services.issue_number("konsultasi", now=at(9, 1)).visit
    lose(lost)
    broken = status_row(1, str(lost.pk), bad)
    fine = status_row(2, str(kept.pk), facts(kept), label="Ditutup", status=4)

    apply(store, broken, fine)

    assert not Visit.objects.filter(pk=lost.pk).exists()
    why = TicketUpdate.objects.get(kind=NOT_RECOVERED_KIND)
    assert why.entity_id == str(lost.pk) and reason in why.text
    status = TicketUpdate.objects.get(kind="ticket.status")  # the status is news for staff
    assert (status.entity_id, status.status, status.visit) == (str(lost.pk), "Terbuka", None)
    assert Visit.objects.get(pk=kept.pk).central_status == "Ditutup"
    assert SyncState.objects.get().feed_cursor == 2


def test_a_service_this_pc_does_not_know_is_not_guessed(store):
    lost = services.issue_number("konsultasi", now=at(9)).visit
    lose(lost)
    ServiceCategory.objects.filter(code="rekomendasi").delete()  # not synced here yet
    apply(store, status_row(1, str(lost.pk), facts(lost, service="rekomendasi")))
    assert not Visit.objects.filter(pk=lost.pk).exists()
    why = TicketUpdate.objects.get(kind=NOT_RECOVERED_KIND)
    assert "'rekomendasi' is not known on this PC" in why.text


def test_a_central_owned_ticket_is_not_taken_back(store):
    lost = services.issue_number("konsultasi", now=at(9)).visit
    lose(lost)
    row = status_row(1, str(lost.pk), facts(lost), owner="central", status=2, label="Dibuka lagi")
    apply(store, row)
    assert not Visit.objects.filter(pk=lost.pk).exists()
    update = TicketUpdate.objects.get()
    assert (update.kind, update.status, update.visit) == ("ticket.status", "Dibuka lagi", None)
