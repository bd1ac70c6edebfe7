"""The walk-in flow's rules, driven through the service layer on the real SQLite store."""

import pytest
from django.db import connection

from branch_agent import services
from branch_agent.models import OutboxOp, SyncState, Visit
from sync import ops
from tests.agent.conftest import at

pytestmark = pytest.mark.django_db


def guest(**overrides):
    values = {
        "name": "Siti Aminah",
        "institution": "Universitas Sumatera Utara",
        "email": "siti@example.ac.id",
        "phone": "0812",
        "id_type": "ktp",
        "id_hash": "a" * 64,
        "id_last4": "0001",
        "purpose": "PDRB data",
        "consent": True,
    }
    values.update(overrides)
    return services.GuestBookData(**values)


def test_numbers_count_per_service_per_day():
    k1 = services.issue_number("konsultasi", now=at(8)).visit
    k2 = services.issue_number("konsultasi", now=at(8, 1)).visit
    p1 = services.issue_number("perpustakaan", now=at(8, 2)).visit
    next_day = services.issue_number("konsultasi", now=at(8, day=18)).visit
    assert [k1.queue_number, k2.queue_number, p1.queue_number] == ["K-001", "K-002", "P-001"]
    assert next_day.queue_number == "K-001"
    assert str(next_day.service_day) == "2026-03-18"


def test_each_write_commits_with_its_outbox_op_in_contiguous_seq():
    visit = services.issue_number("konsultasi", now=at(8)).visit
    services.record_guestbook(visit.pk, guest(), now=at(8, 1))
    rows = list(OutboxOp.objects.order_by("seq"))
    assert [(r.seq, r.kind) for r in rows] == [(1, ops.VISIT_CREATED), (2, ops.GUESTBOOK_RECORDED)]
    assert all(r.entity_id == str(visit.pk) for r in rows)
    for row in rows:  # every payload fits the wire contract
        ops.decode_payload(row.kind, row.payload)
        assert row.op_id[14] == "7"  # UUIDv7
    assert rows[0].hlc < rows[1].hlc
    assert SyncState.objects.get().next_seq == 3


def test_a_failed_write_leaves_neither_rows_nor_op():
    visit = services.issue_number("konsultasi", now=at(8)).visit
    services.record_guestbook(visit.pk, guest(), now=at(8, 1))
    with pytest.raises(services.Refused):
        services.record_guestbook(visit.pk, guest(name="Other"), now=at(8, 2))
    assert OutboxOp.objects.count() == 2
    assert SyncState.objects.get().next_seq == 3


def test_the_domain_row_rolls_back_when_the_op_cannot_be_written(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(services.outbox, "record", broken)
    with pytest.raises(RuntimeError):
        services.issue_number("konsultasi", now=at(8))
    assert Visit.objects.count() == 0


def test_a_repeated_token_returns_the_first_number():
    first = services.issue_number("konsultasi", token="tok-1", now=at(8))
    again = services.issue_number("konsultasi", token="tok-1", now=at(8, 0, 1))
    assert first.created and not again.created
    assert again.visit.pk == first.visit.pk
    assert Visit.objects.count() == 1 and OutboxOp.objects.count() == 1


def test_unknown_service_is_refused_naming_it():
    with pytest.raises(services.Refused, match="bakery"):
        services.issue_number("bakery")
    assert Visit.objects.count() == 0


def test_wait_clock_starts_at_arrival_when_nobody_is_ahead():
    visit = services.issue_number("konsultasi", now=at(9)).visit
    called = services.call_next("1", now=at(9, 4, 30))
    assert called.pk == visit.pk
    assert called.wait_seconds == 270


def test_wait_clock_starts_at_the_previous_finish_in_the_same_queue():
    first = services.issue_number("konsultasi", now=at(9)).visit
    second = services.issue_number("konsultasi", now=at(9, 1)).visit
    services.issue_number("perpustakaan", now=at(9, 2))
    services.call_next("1", services=["konsultasi"], now=at(9, 2))
    services.start_service(first.pk, "1", officer="desk", now=at(9, 3))
    conclusion = services.Conclusion(subject="data", notes="PDRB 2024", outcome="resolved")
    services.finish(first.pk, "1", conclusion, officer="desk", now=at(9, 20))
    # A finish in another service queue does not restart the konsultasi clock.
    called = services.call_next("1", services=["konsultasi"], now=at(9, 26))
    assert called.pk == second.pk
    assert called.wait_seconds == 6 * 60


def test_waiting_list_flags_visitors_near_and_over_the_target():
    services.issue_number("konsultasi", now=at(10))
    services.issue_number("konsultasi", now=at(10, 2))
    services.issue_number("konsultasi", now=at(10, 5))
    rows = services.waiting_list(now=at(10, 11))
    assert [(r.wait_seconds, r.level) for r in rows] == [(660, "over"), (540, "near"), (360, "ok")]


def test_the_whole_visit_produces_the_ops_central_expects():
    visit = services.issue_number("konsultasi", now=at(8)).visit
    services.record_guestbook(visit.pk, guest(), now=at(8, 1))
    services.call_next("2", now=at(8, 3))
    services.recall(visit.pk, "2", now=at(8, 4))
    services.start_service(visit.pk, "2", officer="Budi", now=at(8, 5))
    services.finish(
        visit.pk,
        "2",
        services.Conclusion(
            subject="metadata", notes="Asked about SAKERNAS", outcome="escalated", follow_up="zoom"
        ),
        officer="Budi",
        now=at(8, 15),
    )
    rating = services.give_rating(
        visit.pk,
        services.RatingData(
            scores={f"U{i}": 4 for i in range(1, 10)}, overall=4, complaint="The room was hot"
        ),
        now=at(8, 16),
    )
    assert rating.overall == 4
    kinds = list(OutboxOp.objects.order_by("seq").values_list("kind", flat=True))
    assert kinds == [
        ops.VISIT_CREATED,
        ops.GUESTBOOK_RECORDED,
        ops.VISIT_CALLED,
        ops.VISIT_CALLED,
        ops.VISIT_SERVED,
        ops.CONSULTATION_NOTED,
        ops.VISIT_ESCALATED,
        ops.RATING_GIVEN,
        ops.COMPLAINT_FILED,
    ]
    escalated = OutboxOp.objects.get(kind=ops.VISIT_ESCALATED).payload
    assert escalated["service_seconds"] == 600 and escalated["follow_up"] == "zoom"
    visit.refresh_from_db()
    assert visit.status == Visit.Status.FINISHED and visit.rating_desk == ""


def test_a_busy_desk_cannot_call_another_visitor():
    services.issue_number("konsultasi", now=at(8))
    services.issue_number("konsultasi", now=at(8, 1))
    services.call_next("1", now=at(8, 2))
    with pytest.raises(services.Refused, match="K-001"):
        services.call_next("1", now=at(8, 3))
    assert services.call_next("2", now=at(8, 3)).queue_number == "K-002"


def test_no_show_moves_the_queue_clock():
    services.issue_number("konsultasi", now=at(8))
    second = services.issue_number("konsultasi", now=at(8, 1)).visit
    first = services.call_next("1", now=at(8, 2))
    services.no_show(first.pk, "1", now=at(8, 7))
    called = services.call_next("1", now=at(8, 9))
    assert called.pk == second.pk and called.wait_seconds == 120


def test_rating_needs_every_element_and_only_once():
    visit = services.issue_number("konsultasi", now=at(8)).visit
    services.call_next("1", now=at(8, 1))
    services.finish(
        visit.pk,
        "1",
        services.Conclusion(subject="data", notes="", outcome="resolved"),
        officer="x",
        now=at(8, 5),
    )
    assert services.rating_pending("1", now=at(8, 6)).pk == visit.pk
    partial = services.RatingData(scores={"U1": 4}, overall=3)
    with pytest.raises(services.Refused, match="U2"):
        services.give_rating(visit.pk, partial, now=at(8, 6))
    full = services.RatingData(scores={f"U{i}": 3 for i in range(1, 10)}, overall=3)
    services.give_rating(visit.pk, full, now=at(8, 6))
    with pytest.raises(services.Refused):
        services.give_rating(visit.pk, full, now=at(8, 7))
    assert services.rating_pending("1", now=at(8, 7)) is None


def test_the_store_runs_in_wal_with_full_sync(tmp_path):
    import sqlite3

    from branch_agent.djsettings import SQLITE_INIT

    db = sqlite3.connect(tmp_path / "x.sqlite3")
    db.executescript(SQLITE_INIT)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_retention_blanks_old_personal_data_once_central_has_it():
    from branch_agent.models import GuestBookEntry
    from branch_agent.sync_store import SqliteBranchStore

    old = services.issue_number("konsultasi", now=at(8, day=1)).visit
    services.record_guestbook(old.pk, guest(), now=at(8, 1, day=1))
    unsent = services.issue_number("konsultasi", now=at(9, day=1)).visit
    services.record_guestbook(unsent.pk, guest(name="Budi"), now=at(9, 1, day=1))
    recent = services.issue_number("konsultasi", now=at(8, day=17)).visit
    services.record_guestbook(recent.pk, guest(name="Ani"), now=at(8, 1, day=17))
    store = SqliteBranchStore()
    sent = [op.op_id for op in store.pending_ops(100) if op.entity_id != str(unsent.pk)]
    store.acknowledge(sent, [], hwm_seq=0)

    assert services.purge_personal_data(days=7, now=at(12, day=17)) == 1
    purged = GuestBookEntry.objects.get(visit=old)
    assert (purged.name, purged.email, purged.id_hash, purged.id_last4) == ("", "", "", "")
    assert purged.id_type == "ktp" and purged.consent  # statistics stay
    assert GuestBookEntry.objects.get(visit=unsent).name == "Budi"  # not at central yet
    assert GuestBookEntry.objects.get(visit=recent).name == "Ani"
    assert services.purge_personal_data(days=7, now=at(12, day=17)) == 0


def test_day_summary_measures_today_against_the_standard():
    fast = services.issue_number("konsultasi", now=at(8)).visit
    slow = services.issue_number("konsultasi", now=at(8)).visit
    gone = services.issue_number("perpustakaan", now=at(8)).visit
    services.issue_number("konsultasi", now=at(8, 30))
    services.call_next("1", services=["konsultasi"], now=at(8, 5))
    services.finish(
        fast.pk, "1", services.Conclusion("data", "", "resolved"), officer="x", now=at(8, 6)
    )
    services.give_rating(
        fast.pk, services.RatingData({f"U{i}": 4 for i in range(1, 10)}, 4), now=at(8, 7)
    )
    services.call_next("1", services=["konsultasi"], now=at(8, 20))  # 14 min after the finish
    services.finish(
        slow.pk,
        "1",
        services.Conclusion("data", "n", "escalated", "zoom"),
        officer="x",
        now=at(8, 25),
    )
    services.call_next("2", services=["perpustakaan"], now=at(8, 7))
    services.no_show(gone.pk, "2", now=at(8, 9))
    summary = services.day_summary(now=at(9))
    assert (summary.issued, summary.waiting, summary.served, summary.no_show) == (4, 1, 2, 1)
    assert summary.escalated == 1 and summary.called == 3
    assert summary.within_target == 2 and summary.within_target_percent == 67
    assert summary.median_wait_seconds == 7 * 60
    assert (summary.ratings, summary.average_overall) == (1, 4.0)
    assert services.day_summary(now=at(9, day=18)).issued == 0


def test_a_nik_typed_into_free_text_is_masked_before_the_store_and_the_outbox():
    nik, grouped = "1222011708900001", "1222 0117 0890 0001"
    visit = services.issue_number("konsultasi", now=at(8)).visit
    entry = services.record_guestbook(
        visit.pk, guest(purpose=f"Data PDRB, NIK {nik}", institution=grouped), now=at(8, 1)
    )
    services.call_next("2", now=at(8, 3))
    services.finish(
        visit.pk,
        "2",
        services.Conclusion(subject="data", notes=f"NIK {grouped} dicek", outcome="resolved"),
        officer="Budi",
        now=at(8, 15),
    )
    services.give_rating(
        visit.pk,
        services.RatingData(
            scores={f"U{i}": 4 for i in range(1, 10)},
            overall=4,
            comment=f"Saya {nik}",
            complaint=f"12.22.01.170890.0001 {nik}",
        ),
        now=at(8, 16),
    )
    entry.refresh_from_db()
    assert entry.purpose == "Data PDRB, NIK ************0001"
    assert entry.institution == "************0001"
    wire = repr(list(OutboxOp.objects.values_list("payload", flat=True)))
    stored = repr(
        [
            entry.purpose,
            *visit.consultations.values_list("notes", flat=True),
            visit.rating.comment,
            *visit.complaints.values_list("text", flat=True),
        ]
    )
    for text in (wire, stored):
        for shape in (nik, grouped, "12.22.01.170890.0001"):
            assert shape not in text
    assert wire.count("************0001") >= 5
