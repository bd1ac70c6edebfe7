"""Central trusts a branch only with its own records (issue 14): a branch's implausible times,
poison ops and another branch's visitor hash are rejected or contained, on the real store and
intake (SQLite; the poison op is a real database failure raised by a trigger)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from django.db import connection
from django.test import override_settings
from helpdesk.models import FollowUp, Ticket

from pst_helpdesk_ext.models import (
    AppliedOp,
    BranchSyncState,
    Complaint,
    GuestBookEntry,
    PSTTicket,
    Visit,
    Visitor,
)
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.sync_store import APPLY_FAILED
from sync.store import StoreUnavailable
from tests.central.test_intake import RECEIVED, WalkinOps, apply, id_hash, ticket_of
from tests.central.test_sync_store import NOW, Server

NIK = "1222011708900001"


@pytest.fixture
def branch(db):
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta")


@pytest.fixture
def other_branch(db):
    return create_branch("1201", "Nias", "Asia/Jakarta")


@pytest.fixture
def store() -> Server:
    return Server()


def with_time(op, field: str, value: str):
    """``op`` with one payload field replaced (same op id and seq)."""
    return msgspec.structs.replace(op, payload={**op.payload, field: value})


# --- item 1: plausible times ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("9999-12-31T23:59:59+07:00", "year 9999"),
        ("0001-01-01T00:00:00+14:00", "year 1, before UTC can hold it"),
        ("0001-01-02T00:00:00+07:00", "year 1"),
        ((RECEIVED + dt.timedelta(days=4)).isoformat(), "four days ahead of central"),
        ((RECEIVED - dt.timedelta(days=800)).isoformat(), "older than the window"),
    ],
)
def test_an_implausible_issue_time_is_rejected_with_a_code_and_the_rest_applies(
    store, branch, value, why
):
    factory = WalkinOps(start=RECEIVED - dt.timedelta(hours=2))
    bad_visit, good_visit = factory.new_visit_id(), factory.new_visit_id()
    created = factory.created(bad_visit)
    bad = with_time(created, "issued_at", value)
    bad = with_time(bad, "service_day", value[:10])
    good = [factory.created(good_visit, 2), factory.guestbook(good_visit)]
    result = store.apply_batch("1222", [bad, *good], now=NOW)
    assert [(r.op_id, r.code) for r in result.rejected] == [(bad.op_id, "implausible_time")], why
    assert "issued_at" in result.rejected[0].message
    assert result.accepted == tuple(op.op_id for op in good)
    assert result.hwm_seq == good[-1].seq  # the mark moves past the rejected op
    assert not Visit.objects.filter(origin_id=bad_visit).exists()
    assert Visit.objects.filter(origin_id=good_visit).exists()
    row = AppliedOp.objects.get(op_id=bad.op_id)  # recorded for staff (admin, overview)
    assert (row.result, row.code) == ("rejected", "implausible_time")
    assert BranchSyncState.objects.get(branch=branch).rejected_count == 1
    # A resend gets the same rejection, never an apply.
    again = store.apply_batch("1222", [bad], now=NOW + 5)
    assert [(r.op_id, r.code) for r in again.rejected] == [(bad.op_id, "implausible_time")]


def test_a_step_far_from_its_visit_or_a_service_day_off_its_issue_time_is_rejected(branch):
    factory = WalkinOps(start=RECEIVED - dt.timedelta(hours=3))
    visit = factory.new_visit_id()
    created = factory.created(visit)
    called = factory.called(visit)
    # A call ten days after the number was issued (inside the window around receipt).
    late_call = with_time(
        called,
        "called_at",
        (RECEIVED - dt.timedelta(hours=3) + dt.timedelta(days=10)).isoformat(),
    )
    other = factory.new_visit_id()
    wrong_day = with_time(factory.created(other, 2), "service_day", "2026-03-10")
    outcomes = apply(branch, [created, late_call, wrong_day], RECEIVED + dt.timedelta(days=11))
    assert [(o.result, o.code) for o in outcomes] == [
        ("applied", ""),
        ("rejected", "implausible_time"),
        ("rejected", "implausible_time"),
    ]
    assert "called_at" in outcomes[1].detail and "service_day" in outcomes[2].detail
    assert Visit.objects.get(origin_id=visit).called_at is None


def test_an_implausible_hybrid_clock_never_dates_a_follow_up(branch):
    factory = WalkinOps(start=RECEIVED - dt.timedelta(hours=1))
    visit = factory.new_visit_id()
    created = factory.created(visit)
    note = msgspec.structs.replace(factory.noted(visit), hlc=2**63 - 1)  # year 6400
    complaint = msgspec.structs.replace(factory.complaint(visit), hlc=0)  # 1970
    outcomes = apply(branch, [created, note, complaint])
    assert {o.result for o in outcomes} == {"applied"}
    dates = FollowUp.objects.values_list("date", flat=True)
    assert all(RECEIVED - dt.timedelta(days=1) < date <= RECEIVED for date in dates)
    assert Complaint.objects.get().ticket.created == RECEIVED


@override_settings(PST_HELPDESK={"SYNC_TIME_PAST_DAYS": "a year"})
def test_a_bad_window_setting_is_centrals_fault_and_applies_nothing(store, branch):
    from django.core.exceptions import ImproperlyConfigured

    ops = WalkinOps(start=RECEIVED - dt.timedelta(hours=1)).complete_visit()
    with pytest.raises(ImproperlyConfigured, match="SYNC_TIME_PAST_DAYS"):
        store.apply_batch("1222", ops, now=NOW)
    assert not AppliedOp.objects.exists() and not Visit.objects.exists()


# --- item 2: a poison op is rejected, the ops behind it go on -------------------------------


def sqlite_trigger(sql: str):
    if connection.vendor != "sqlite":
        pytest.skip("the poison trigger is written for SQLite")
    with connection.cursor() as cursor:
        cursor.execute(sql)


def test_a_poison_op_is_rejected_and_the_ops_behind_it_apply(store, branch):
    # A real database failure, deterministic for one op: a trigger refuses queue number K-666.
    sqlite_trigger(
        "CREATE TRIGGER poison BEFORE INSERT ON pst_helpdesk_ext_visit "
        "WHEN NEW.queue_number = 'K-666' BEGIN SELECT RAISE(ABORT, 'poison'); END"
    )
    factory = WalkinOps(start=RECEIVED - dt.timedelta(hours=2))
    before = factory.complete_visit(number=1)
    poison_visit = factory.new_visit_id()
    poison = factory.created(poison_visit, 666)
    after = factory.complete_visit(number=2)
    ops = [*before, poison, *after]
    result = store.apply_batch("1222", ops, now=NOW)
    assert [(r.op_id, r.code) for r in result.rejected] == [(poison.op_id, APPLY_FAILED)]
    assert "IntegrityError" in result.rejected[0].message
    assert len(result.accepted) == len(ops) - 1
    assert result.hwm_seq == ops[-1].seq
    assert Visit.objects.count() == 2 and not Visit.objects.filter(origin_id=poison_visit)
    state = BranchSyncState.objects.get(branch=branch)
    assert (state.hwm_seq, state.rejected_count) == (ops[-1].seq, 1)
    # Exactly once: a resend is answered from the ledger, nothing applied twice.
    counts = (Ticket.objects.count(), FollowUp.objects.count())
    again = store.apply_batch("1222", ops, now=NOW + 10)
    assert again.rejected == result.rejected and sorted(again.accepted) == sorted(result.accepted)
    assert (Ticket.objects.count(), FollowUp.objects.count()) == counts


def test_a_transient_fault_is_retried_not_rejected(store, branch):
    # A trigger writing to a table that does not exist: an OperationalError, as a database that
    # went away or a lock timeout raises. Nothing may be recorded: the branch sends it again.
    sqlite_trigger(
        "CREATE TRIGGER flaky BEFORE INSERT ON pst_helpdesk_ext_visit "
        "BEGIN INSERT INTO no_such_table VALUES (1); END"
    )
    ops = WalkinOps(start=RECEIVED - dt.timedelta(hours=1)).complete_visit()
    with pytest.raises(StoreUnavailable):
        store.apply_batch("1222", ops, now=NOW)
    assert not AppliedOp.objects.exists()
    assert BranchSyncState.objects.get(branch=branch).hwm_seq == 0
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER flaky")
    result = store.apply_batch("1222", ops, now=NOW + 30)
    assert len(result.accepted) == len(ops) and not result.rejected


# --- item 3: a branch's guest book never changes another branch's visitor -------------------


def test_another_branchs_visitor_hash_is_a_link_never_an_overwrite(store, branch, other_branch):
    home = WalkinOps(seed=1, start=RECEIVED - dt.timedelta(hours=2))
    visit = home.new_visit_id()
    store.apply_batch("1222", [home.created(visit), home.guestbook(visit, id_number=NIK)], now=NOW)
    theirs = PSTTicket.objects.get(origin_id=visit).visitor
    shown = (theirs.name, theirs.email, theirs.phone)

    # Nias's key pushes a guest book carrying the same keyed hash with other details.
    forger = WalkinOps(seed=2, start=RECEIVED - dt.timedelta(hours=1))
    own = forger.new_visit_id()
    created = forger.created(own)
    forged = forger.guestbook(
        own, id_number=NIK, name="Penipu", email="penipu@example.com", phone="0800000000"
    )
    result = store.apply_batch("1201", [created, forged], now=NOW + 60)
    assert len(result.accepted) == 2

    theirs.refresh_from_db()
    assert (theirs.name, theirs.email, theirs.phone) == shown
    assert ticket_of(branch, visit).submitter_email == "siti@example.org"
    mine = PSTTicket.objects.get(origin_id=own).visitor
    assert mine.pk != theirs.pk and mine.branch == other_branch and theirs.branch == branch
    # The same person at two branches: linked by the hash.
    assert mine.id_hash == theirs.id_hash == id_hash(NIK)
    assert set(
        Visitor.objects.filter(id_hash=id_hash(NIK)).values_list("branch__code", flat=True)
    ) == {"1222", "1201"}

    # A returning visitor at the same branch is still recognised (one row, latest details).
    again = home.new_visit_id()
    store.apply_batch(
        "1222",
        [home.created(again, 2), home.guestbook(again, id_number=NIK, phone="081111111111")],
        now=NOW + 120,
    )
    assert Visitor.objects.filter(branch=branch).count() == 1
    theirs.refresh_from_db()
    assert theirs.phone == "081111111111"


# --- NIK in free text -------------------------------------------------------------------------


def test_a_nik_typed_into_free_text_is_masked_before_central_stores_it(branch):
    factory = WalkinOps(start=RECEIVED - dt.timedelta(hours=1))
    visit = factory.new_visit_id()
    ops = [
        factory.created(visit),
        factory.guestbook(visit, purpose=f"Data kemiskinan, NIK saya {NIK}"),
        factory.op(
            "consultation.noted",
            visit,
            {"subject": "data", "notes": "NIK 1222 0117 0890 0001 dicek", "officer": "Budi"},
        ),
        factory.resolved(visit, note="Nomor 12.22.01.170890.0001 sudah diverifikasi"),
        factory.op("complaint.filed", visit, {"tier": 1, "text": f"Saya {NIK} menunggu lama"}),
    ]
    assert {o.result for o in apply(branch, ops)} == {"applied"}
    stored = [
        *FollowUp.objects.values_list("comment", flat=True),
        *GuestBookEntry.objects.values_list("purpose", flat=True),
        *Complaint.objects.values_list("ticket__description", flat=True),
        *Ticket.objects.values_list("resolution", flat=True),
    ]
    text = "\n".join(s for s in stored if s)
    for shape in (NIK, "1222 0117 0890 0001", "12.22.01.170890.0001"):
        assert shape not in text
    assert text.count("************0001") >= 4
    assert GuestBookEntry.objects.get().purpose == "Data kemiskinan, NIK saya ************0001"


def test_the_migration_gives_each_branch_its_own_copy_of_a_shared_visitor(
    store, branch, other_branch
):
    """Rows from before 0009: one visitor that two branches' guest books point at."""
    import importlib

    from django.apps import apps

    scope_visitors = importlib.import_module(
        "pst_helpdesk_ext.migrations.0009_visitor_branch"
    ).scope_visitors
    a, b = WalkinOps(seed=1, start=RECEIVED - dt.timedelta(hours=2)), WalkinOps(seed=2)
    first, second = a.new_visit_id(), b.new_visit_id()
    store.apply_batch("1222", [a.created(first), a.guestbook(first, id_number=NIK)], now=NOW)
    b.clock = RECEIVED - dt.timedelta(hours=1)
    store.apply_batch("1201", [b.created(second), b.guestbook(second, id_number=NIK)], now=NOW)
    shared = PSTTicket.objects.get(origin_id=first).visitor
    GuestBookEntry.objects.update(visitor=shared)
    PSTTicket.objects.filter(visitor__isnull=False).update(visitor=shared)
    Visitor.objects.exclude(pk=shared.pk).delete()
    Visitor.objects.update(branch=None)
    online = Visitor.objects.create(name="Daring", id_hash="")

    scope_visitors(apps, None)

    shared.refresh_from_db()
    assert shared.branch == branch
    copy = PSTTicket.objects.get(origin_id=second).visitor
    assert copy.pk != shared.pk and copy.branch == other_branch
    assert (copy.name, copy.email, copy.id_hash) == (shared.name, shared.email, shared.id_hash)
    assert GuestBookEntry.objects.get(visit__origin_id=second).visitor == copy
    assert PSTTicket.objects.get(origin_id=first).visitor == shared
    online.refresh_from_db()
    assert online.branch is None


@pytest.mark.parametrize("where", ["kind", "entity_id", "payload_key", "payload_value"])
def test_a_nul_character_in_any_field_of_an_op_never_jams_the_branch(store, branch, where):
    """A NUL character in an op's kind, its entity id, or its payload (quoted back in the
    rejection) is answered like any other bad op, and the ops behind it apply: on PostgreSQL,
    which refuses NUL in text, the ledger keeps U+FFFD in its place (it used to fail the whole
    batch outside the op-by-op retry, so the branch re-sent it for ever)."""
    factory = WalkinOps(start=RECEIVED - dt.timedelta(hours=2))
    visit = factory.new_visit_id()
    bad = {
        "kind": lambda: factory.op("visit.bogus\x00", visit, {}),
        "entity_id": lambda: factory.created(visit[:-1] + "\x00"),
        "payload_key": lambda: factory.op("visit.called", visit, {"desk": "1", "bogus\x00": 1}),
        "payload_value": lambda: factory.op("visit.called", visit, {"desk": "\x00", "at": 5}),
    }[where]()
    other = factory.new_visit_id()
    good = [factory.created(other), factory.called(other), factory.served(other)]
    ops = [bad, *good]
    result = store.apply_batch("1222", ops, now=NOW)
    assert result.hwm_seq == ops[-1].seq
    assert set(result.accepted) >= {op.op_id for op in good}
    assert Visit.objects.get(origin_id=other).served_at is not None
    recorded = AppliedOp.objects.get(op_id=bad.op_id)
    assert "\x00" not in recorded.kind + recorded.entity_id + recorded.code + recorded.detail
    answered = {*result.accepted, *(r.op_id for r in result.rejected)}
    assert bad.op_id in answered
    again = store.apply_batch("1222", ops, now=NOW + 5)  # the re-send gets the same answers
    assert again.accepted == result.accepted and again.rejected == result.rejected


def test_a_nul_character_poisons_one_op_on_postgresql_and_the_rest_apply(store, branch):
    """PostgreSQL refuses a NUL character in text, deterministically: the guest book carrying
    one is rejected alone (``apply_failed``), inside the batch's transaction, and the visit and
    the ops behind it apply."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL refuses NUL in text; SQLite stores it")
    factory = WalkinOps(start=RECEIVED - dt.timedelta(hours=2))
    visit = factory.new_visit_id()
    created = factory.created(visit)
    poison = factory.guestbook(visit, purpose="Data\x00PDRB")
    rest = [factory.called(visit), factory.served(visit), factory.resolved(visit)]
    ops = [created, poison, *rest]
    result = store.apply_batch("1222", ops, now=NOW)
    assert [(r.op_id, r.code) for r in result.rejected] == [(poison.op_id, APPLY_FAILED)]
    assert result.accepted == tuple(op.op_id for op in [created, *rest])
    assert result.hwm_seq == ops[-1].seq
    assert not GuestBookEntry.objects.exists()
    assert Visit.objects.get(origin_id=visit).outcome == Visit.Outcome.RESOLVED
    again = store.apply_batch("1222", ops, now=NOW + 5)
    assert again.rejected == result.rejected
