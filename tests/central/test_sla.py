"""SLA clocks on real helpdesk tickets: policies, the online clock (complete, pause, answer),
walk-in clocks from synced visits, and ``pst_sla_tick`` at frozen instants (idempotent; breaches,
escalations and 7-day closes as helpdesk history)."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone, translation
from helpdesk.models import FollowUp, Queue, Ticket, TicketChange
from helpdesk.signals import new_ticket_done, update_ticket_done
from helpdesk.update_ticket import update_ticket

from pst_helpdesk_ext.calendar import CalendarError
from pst_helpdesk_ext.models import (
    Branch,
    Channel,
    PSTTicket,
    ServiceCategory,
    SLAPolicy,
    SLAState,
    validate_branch_calendar,
)
from pst_helpdesk_ext.services import sla
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from tests.central.test_intake import WalkinOps
from tests.central.test_ui import make_staff

pytestmark = pytest.mark.django_db
WIB = dt.timezone(dt.timedelta(hours=7))


def wib(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WIB)


@pytest.fixture(autouse=True)
def english() -> Any:
    """Messages to staff in English here (the site default is Indonesian); ticket history is
    written in the queue's language whatever the active one."""
    with translation.override("en"):
        yield


@pytest.fixture
def branch() -> Branch:
    return create_branch("1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.org")


@pytest.fixture
def staff(branch: Branch) -> Any:
    return make_staff("petugas", superuser=True)


def online_ticket(
    branch: Branch, *, category: str = "konsultasi", created: dt.datetime | None = None
) -> PSTTicket:
    """A ticket submitted on helpdesk's public form, as helpdesk announces it."""
    ticket = Ticket.objects.create(
        title="Data kemiskinan per kecamatan",
        queue=branch.queue,
        submitter_email="siti@example.org",
        description="Mohon data kemiskinan per kecamatan 2025.",
    )
    if created is not None:
        Ticket.objects.filter(pk=ticket.pk).update(created=created)
        ticket.refresh_from_db()
    new_ticket_done.send(sender="PublicTicketForm", ticket=ticket)
    pst = PSTTicket.objects.get(ticket=ticket)
    if category:
        pst.category = ServiceCategory.objects.get(code=category)
        pst.save(update_fields=["category"])
    return pst


def visitor_email_reply(ticket: Ticket, at: dt.datetime, text: str = "Terlampir KTP saya.") -> None:
    """A reply by e-mail, written and announced as helpdesk's e-mail import does."""
    followup = FollowUp(
        ticket=ticket,
        title="E-Mail Received from siti@example.org",
        date=at,
        public=True,
        comment=text,
        message_id=f"<reply-{at.timestamp()}@example.org>",
    )
    followup.save()
    update_ticket_done.send(sender="create_object_from_email_message", followup=followup)


def fresh(pst: PSTTicket) -> PSTTicket:
    return PSTTicket.objects.select_related("ticket", "sla_policy").get(pk=pst.pk)


def tick(now: dt.datetime) -> dict[str, Any]:
    out = StringIO()
    call_command("pst_sla_tick", f"--now={now.isoformat()}", "--json", stdout=out)
    import json

    return json.loads(out.getvalue())


def history(ticket: Ticket) -> list[tuple[str, bool, int | None]]:
    return [
        (f.title, f.public, f.new_status) for f in ticket.followup_set.order_by("date", "pk").all()
    ]


# --- policies ------------------------------------------------------------------------------------


def test_seeded_policies_follow_the_domain_table():
    table = sla.PolicyTable.load()
    walk_in = Channel.objects.get(code="walk_in")
    web = Channel.objects.get(code="web")
    code = {c.code: c.pk for c in ServiceCategory.objects.all()}
    assert table.resolve("walk_in", code["konsultasi"], walk_in.pk).target == 10
    assert table.resolve("walk_in", code["perpustakaan"], walk_in.pk).target == 5
    assert table.resolve("online", code["konsultasi"], web.pk).target == 3
    assert table.resolve("online", code["penjualan"], web.pk).target == 10
    assert table.resolve("online", code["rekomendasi"], web.pk).target == 30
    assert table.resolve("online", None, web.pk).target == 3
    default = table.resolve("online", None, None)
    assert default.start_rule == SLAPolicy.StartRule.ON_COMPLETE
    assert default.inactivity_close_days == 7 and default.escalate


def test_policy_uniqueness_treats_any_as_a_value():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        SLAPolicy.objects.create(kind="online", target=5)  # a second online default
    penjualan = ServiceCategory.objects.get(code="penjualan")
    with pytest.raises(IntegrityError), transaction.atomic():
        SLAPolicy.objects.create(kind="online", category=penjualan, target=5)


def test_policy_kind_must_fit_the_channel():
    policy = SLAPolicy(kind="walk_in", channel=Channel.objects.get(code="whatsapp"), target=10)
    with pytest.raises(ValidationError) as caught:
        policy.full_clean()
    assert "WhatsApp is an online channel" in str(caught.value)


# --- calendars -----------------------------------------------------------------------------------


def test_branch_calendar_takes_the_branch_timezone(branch):
    branch.timezone = "Asia/Makassar"
    branch.calendar = {"cuti_bersama_open": True}
    cal = branch.working_calendar
    assert cal.tz.key == "Asia/Makassar" and cal.cuti_bersama_open
    assert branch.working_calendar is cal  # shared per config
    due = cal.add_working_days(dt.datetime(2026, 3, 17, 2, tzinfo=dt.UTC), 3)  # 10:00 WITA
    assert due.isoformat() == "2026-03-23T15:30:00+08:00"


def test_branch_calendar_refuses_a_timezone_key_and_bad_hours():
    with pytest.raises(ValidationError, match="timezone field"):
        validate_branch_calendar({"timezone": "Asia/Jakarta"})
    with (
        translation.override("en"),
        pytest.raises(ValidationError, match="Friday: closing time 08:00 is not after opening"),
    ):
        validate_branch_calendar({"weekly": {"fri": "15:30-08:00"}})
    with (
        translation.override("id"),
        pytest.raises(ValidationError, match="Jumat: jam tutup 08:00 tidak sesudah jam buka"),
    ):
        validate_branch_calendar({"weekly": {"fri": "15:30-08:00"}})
    validate_branch_calendar({})


def test_invalid_stored_calendar_falls_back_to_defaults_in_the_branch_zone(branch, caplog):
    Branch.objects.filter(pk=branch.pk).update(calendar={"weekly": {"mon": "09:00-08:00"}})
    branch.refresh_from_db()
    cal = sla.calendar_for(branch)
    assert cal.tz.key == "Asia/Jakarta" and cal.weekly[0] is not None
    assert "invalid working calendar" in caplog.text


def test_complaint_due_at_by_tier(branch):
    start = wib(2026, 3, 17, 10)
    # 18-24 March: cuti bersama, holidays, weekend; then 25, 26, 27, 30, 31 March.
    assert sla.complaint_due_at(branch, 1, start) == wib(2026, 3, 26, 15, 30)  # 2 wd
    assert sla.complaint_due_at(branch, 2, start) == wib(2026, 3, 31, 15, 30)  # 5 wd
    assert sla.complaint_due_at(None, 2, start) == wib(2026, 3, 31, 15, 30)
    cal = branch.working_calendar
    assert sla.complaint_due_at(branch, 3, start) == cal.add_working_days(start, 14)
    assert sla.complaint_due_at(branch, 4, start) == cal.add_working_days(start, 60)
    with pytest.raises(CalendarError, match="5 is not a complaint tier"):
        sla.complaint_due_at(branch, 5, start)


# --- the online clock ----------------------------------------------------------------------------


def test_new_online_ticket_waits_pending_until_marked_complete(branch):
    pst = fresh(online_ticket(branch))
    assert pst.channel.code == "web"
    assert pst.sla_state == SLAState.PENDING and pst.sla_due_at is None
    assert pst.sla_policy.target == 3


def test_on_submission_policy_starts_at_submission(branch):
    SLAPolicy.objects.filter(kind="online", category=None, channel=None).update(
        start_rule=SLAPolicy.StartRule.ON_SUBMISSION
    )
    pst = fresh(online_ticket(branch, created=wib(2026, 3, 17, 10)))
    assert pst.sla_state in (SLAState.RUNNING, SLAState.BREACHED)
    assert pst.sla_started_at == wib(2026, 3, 17, 10)
    assert pst.sla_due_at == wib(2026, 3, 27, 15, 30)


def test_mark_complete_starts_the_clock_with_a_private_followup(branch, staff):
    pst = online_ticket(branch)
    followup = sla.mark_request_complete(pst, user=staff, at=wib(2026, 3, 17, 10))
    pst = fresh(pst)
    assert pst.sla_started_at == wib(2026, 3, 17, 10) == pst.complete_at
    # 18, 20, 23, 24 March cuti bersama; 19, 21 holidays: the example.
    assert pst.sla_due_at == wib(2026, 3, 27, 15, 30)
    assert pst.sla_state == SLAState.RUNNING
    assert not followup.public and followup.user == staff
    assert "2026-03-27 15:30 WIB" in followup.comment  # queue locale id
    with pytest.raises(sla.SLAActionError, match="already marked complete"):
        sla.mark_request_complete(pst, user=staff, at=wib(2026, 3, 17, 11))


def test_walk_in_ticket_cannot_be_marked_complete(branch, staff):
    from tests.central.test_ui import make_pst_ticket

    pst = make_pst_ticket(branch, walk_in={})
    with pytest.raises(sla.SLAActionError, match="walk-in visit"):
        sla.mark_request_complete(pst, user=staff)


def test_first_public_staff_answer_stops_the_clock(branch, staff):
    pst = online_ticket(branch)
    sla.mark_request_complete(pst, user=staff, at=timezone.now() - dt.timedelta(hours=1))
    pst = fresh(pst)
    update_ticket(staff, pst.ticket, comment="Private note", public=False)
    assert fresh(pst).sla_stopped_at is None
    followup = update_ticket(staff, pst.ticket, comment="Tabel terlampir.", public=True)
    pst = fresh(pst)
    assert pst.sla_stopped_at == followup.date
    assert pst.sla_state == SLAState.MET
    assert pst.waiting_for_visitor_since == followup.date
    assert pst.sla_elapsed_seconds is not None


def test_answer_before_anyone_marked_complete_counts_as_complete_and_met(branch, staff):
    pst = online_ticket(branch)
    followup = update_ticket(staff, pst.ticket, comment="Datanya ada di sini.", public=True)
    pst = fresh(pst)
    assert pst.sla_state == SLAState.MET
    assert pst.complete_at == pst.sla_started_at == pst.sla_stopped_at == followup.date


def test_resolved_without_a_started_clock_has_no_standard(branch, staff):
    pst = online_ticket(branch)
    update_ticket(staff, pst.ticket, comment="", new_status=Ticket.RESOLVED_STATUS)
    assert fresh(pst).sla_state == SLAState.NONE


def test_pause_moves_the_due_time_by_the_working_time_waited(branch, staff):
    pst = online_ticket(branch)
    sla.mark_request_complete(pst, user=staff, at=wib(2026, 3, 17, 10))
    mail.outbox.clear()
    followup = sla.wait_for_visitor(
        pst, user=staff, at=wib(2026, 3, 25, 14), comment="Mohon kirim surat pengantar."
    )
    assert followup.public and "surat pengantar" in followup.comment
    assert any("siti@example.org" in m.to for m in mail.outbox)  # helpdesk e-mailed the visitor
    pst = fresh(pst)
    assert pst.sla_state == SLAState.PAUSED and pst.sla_paused_since == wib(2026, 3, 25, 14)
    assert pst.sla_stopped_at is None  # a question is not the answer
    # The visitor answers the next day at 09:00: paused 1.5 h (25th) + 1 h (26th) of working time.
    visitor_email_reply(pst.ticket, wib(2026, 3, 26, 9))
    pst = fresh(pst)
    assert pst.sla_paused_since is None and pst.waiting_for_visitor_since is None
    assert pst.sla_paused_seconds == int(2.5 * 3600)
    assert pst.sla_state == SLAState.RUNNING
    # due 27th 15:30 + 2.5 working hours = Monday 30th 10:30
    assert pst.sla_due_at == wib(2026, 3, 30, 10, 30)


def test_tick_marks_at_risk_then_breach_escalates_once_and_is_idempotent(branch, staff):
    owner = make_staff("pemilik", superuser=True)
    pst = online_ticket(branch)
    Ticket.objects.filter(pk=pst.ticket_id).update(assigned_to=owner)
    sla.mark_request_complete(pst, user=staff, at=wib(2026, 3, 17, 10))
    # Tue 17th 10:00 + 3 working days (18-24 closed) = 27th 15:30. The 17th is in Ramadan
    # (10:00-12:00, 12:30-15:00: 4.5 h), then 3 x 7.5 h: 27 h of work. 75 % = 20.25 h:
    # 4.5 (17th) + 7.5 (25th) + 7.5 (26th) + 0.75 -> 27th 08:45.
    assert tick(wib(2026, 3, 26, 12))["changed"] == 0
    assert fresh(pst).sla_state == SLAState.RUNNING
    first = tick(wib(2026, 3, 27, 9))
    pst = fresh(pst)
    assert pst.sla_state == SLAState.AT_RISK
    assert pst.sla_at_risk_at == wib(2026, 3, 27, 8, 45)
    assert first["changed"] == 1
    assert tick(wib(2026, 3, 27, 9))["changed"] == 0
    mail.outbox.clear()
    report = tick(wib(2026, 3, 27, 16))
    assert report["breaches_noted"] == 1 and report["escalated"] == 1
    pst = fresh(pst)
    assert pst.sla_state == SLAState.BREACHED
    assert pst.sla_breached_at == wib(2026, 3, 27, 15, 30)
    assert pst.sla_escalated_at == wib(2026, 3, 27, 16) == pst.sla_breach_noted_at
    ticket = pst.ticket
    assert ticket.priority == 2 and ticket.last_escalation == wib(2026, 3, 27, 16)
    note = ticket.followup_set.get(title="Standar layanan terlampaui")
    assert not note.public and "2026-03-27 15:30 WIB" in note.comment
    change = TicketChange.objects.get(followup=note)
    assert (change.old_value, change.new_value) == ("3", "2")
    assert any(owner.email in m.to for m in mail.outbox)  # helpdesk told the owner
    assert not any("siti@example.org" in m.to for m in mail.outbox)  # a staff note only
    rows_before = FollowUp.objects.count()
    again = tick(wib(2026, 3, 27, 16))
    assert (again["changed"], again["breaches_noted"], again["escalated"]) == (0, 0, 0)
    later = tick(wib(2026, 4, 3, 9))
    assert later["breaches_noted"] == 0 and FollowUp.objects.count() == rows_before
    assert fresh(pst).ticket.priority == 2


def test_late_answer_is_a_breach_noted_without_escalation(branch, staff, settings):
    # The answer is written now (real time) on a request due in March: allow old breaches here.
    settings.PST_HELPDESK = {**settings.PST_HELPDESK, "SLA_BREACH_NOTE_MAX_AGE_DAYS": 36500}
    pst = online_ticket(branch)
    sla.mark_request_complete(pst, user=staff, at=wib(2026, 3, 17, 10))
    pst = fresh(pst)
    pst.sla_started_at = pst.complete_at = wib(2026, 3, 2, 10)  # long ago
    pst.save()
    update_ticket(staff, pst.ticket, comment="Maaf terlambat; data terlampir.", public=True)
    pst = fresh(pst)
    assert pst.sla_state == SLAState.BREACHED and pst.sla_stopped_at is not None
    report = tick(pst.sla_stopped_at + dt.timedelta(minutes=1))
    assert report["breaches_noted"] == 1 and report["escalated"] == 0
    assert fresh(pst).ticket.priority == 3


def test_resolution_by_a_path_without_signal_stops_the_clock_at_the_next_tick(branch, staff):
    pst = online_ticket(branch)
    sla.mark_request_complete(pst, user=staff, at=wib(2026, 3, 17, 10))
    Ticket.objects.filter(pk=pst.ticket_id).update(
        status=Ticket.RESOLVED_STATUS, modified=wib(2026, 3, 18, 9)
    )
    report = tick(wib(2026, 3, 30, 9))
    pst = fresh(pst)
    assert pst.sla_stopped_at == wib(2026, 3, 18, 9)
    assert pst.sla_state == SLAState.MET
    assert report["escalated"] == 0


def test_seven_day_close_is_public_bilingual_history_and_a_reply_reopens(branch, staff):
    pst = online_ticket(branch)
    sla.mark_request_complete(pst, user=staff, at=wib(2026, 3, 17, 10))
    asked = sla.wait_for_visitor(pst, user=staff, at=wib(2026, 3, 18, 9), comment="KTP?")
    assert asked.public
    assert tick(wib(2026, 3, 25, 8, 59))["closed"] == 0  # 7 days less a minute
    mail.outbox.clear()
    report = tick(wib(2026, 3, 25, 9))
    assert report["closed"] == 1
    pst = fresh(pst)
    ticket = pst.ticket
    assert ticket.status == Ticket.CLOSED_STATUS
    closing = ticket.followup_set.get(new_status=Ticket.CLOSED_STATUS)
    assert closing.public and "7 hari" in closing.comment and "membalas" in closing.comment
    assert TicketChange.objects.filter(followup=closing, field="Status").exists()
    assert any("siti@example.org" in m.to for m in mail.outbox)  # helpdesk e-mailed the visitor
    assert pst.waiting_for_visitor_since is None and pst.sla_stopped_at == wib(2026, 3, 25, 9)
    assert pst.sla_state == SLAState.MET  # paused the whole time: no breach
    assert tick(wib(2026, 3, 25, 9)) == {**report, "changed": 0, "closed": 0, "evaluated": 0}
    # English queue: English message.
    Queue.objects.filter(pk=branch.queue_id).update(locale="en")
    other = online_ticket(branch)
    sla.wait_for_visitor(other, user=staff, at=wib(2026, 3, 18, 9), comment="ID card?")
    tick(wib(2026, 3, 26, 9))
    text = fresh(other).ticket.followup_set.get(new_status=Ticket.CLOSED_STATUS).comment
    assert "7 days" in text and "reply" in text
    # The visitor replies by e-mail: helpdesk reopens the ticket, the wait is over.
    ticket.status = Ticket.REOPENED_STATUS
    ticket.save()
    visitor_email_reply(ticket, wib(2026, 3, 26, 10))
    assert fresh(pst).waiting_for_visitor_since is None


def test_policy_without_inactivity_close_never_closes(branch, staff):
    SLAPolicy.objects.update(inactivity_close_days=0)
    pst = online_ticket(branch)
    sla.wait_for_visitor(pst, user=staff, at=wib(2026, 3, 18, 9), comment="KTP?")
    assert tick(wib(2026, 5, 1, 9))["closed"] == 0
    assert fresh(pst).ticket.status == Ticket.OPEN_STATUS


def test_recompute_all_and_bad_now(branch):
    pst = online_ticket(branch)
    PSTTicket.objects.filter(pk=pst.pk).update(sla_state=SLAState.NONE, sla_policy=None)
    out = StringIO()
    call_command("pst_sla_tick", "--recompute", "--now=2026-03-17T10:00:00+07:00", stdout=out)
    assert fresh(pst).sla_state == SLAState.PENDING
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("pst_sla_tick", "--now=yesterday")


# --- walk-in clocks ------------------------------------------------------------------------------


def test_walk_in_clock_from_synced_visits(branch):
    ops = WalkinOps(start=wib(2026, 3, 17, 8))
    a, b, c = ops.new_visit_id(), ops.new_visit_id(), ops.new_visit_id()
    batch = [
        ops.created(a, 1),  # 08:00:30
        ops.created(b, 2),  # 08:01:00 (arrives while A waits)
        ops.called(a, wait=60),  # 08:02:00: the desk was free, A waited 1.5 min
        ops.served(a),  # 08:02:30
        ops.resolved(a),  # 08:07:30: A finished
        ops.called(b, wait=14 * 60),  # 08:21:30: B called 14 min after A finished
        ops.created(c, 3, service="perpustakaan"),  # 08:22:00
        ops.called(c, wait=4 * 60),  # 08:26:00: 4 min, standard 5
    ]
    apply_walkin_ops(branch, batch, wib(2026, 3, 17, 8, 30))
    report = tick(wib(2026, 3, 17, 8, 31))
    clocks = {
        p.origin_id: p
        for p in PSTTicket.objects.select_related("sla_policy", "ticket").filter(branch=branch)
    }
    assert clocks[a].sla_state == SLAState.MET and clocks[a].sla_elapsed_seconds == 90
    assert clocks[b].sla_started_at == wib(2026, 3, 17, 8, 7, 30)  # A finished, not B's arrival
    assert clocks[b].sla_state == SLAState.BREACHED
    assert clocks[b].sla_breached_at == wib(2026, 3, 17, 8, 17, 30)
    assert clocks[b].sla_elapsed_seconds == 14 * 60
    assert clocks[c].sla_policy.target == 5 and clocks[c].sla_state == SLAState.MET
    assert report["breaches_noted"] == 1 and report["escalated"] == 0
    note = clocks[b].ticket.followup_set.get(title="Standar layanan terlampaui")
    assert not note.public and "14" in note.comment
    assert tick(wib(2026, 3, 17, 8, 31))["changed"] == 0


def test_walk_in_breach_note_keeps_the_resolution(branch):
    ops = WalkinOps(start=wib(2026, 3, 17, 8))
    a = ops.new_visit_id()
    batch = [ops.created(a, 1), ops.called(a, wait=30 * 60), ops.served(a), ops.resolved(a)]
    apply_walkin_ops(branch, batch, wib(2026, 3, 17, 9))
    ticket = Ticket.objects.get(pst__origin_id=a)
    resolution = ticket.resolution
    assert ticket.status == Ticket.RESOLVED_STATUS and resolution
    tick(wib(2026, 3, 17, 9, 1))
    ticket.refresh_from_db()
    assert ticket.resolution == resolution and ticket.status == Ticket.RESOLVED_STATUS
    assert ticket.followup_set.filter(title="Standar layanan terlampaui").count() == 1


def test_walkin_visits_changed_evaluates_at_once(branch):
    ops = WalkinOps(start=wib(2026, 3, 17, 8))
    a = ops.new_visit_id()
    apply_walkin_ops(branch, [ops.created(a, 1)], wib(2026, 3, 17, 8, 2))
    pst = PSTTicket.objects.get(origin_id=a)
    assert sla.walkin_visits_changed([pst.visit.pk], wib(2026, 3, 17, 8, 2)) == 1
    pst = fresh(pst)
    assert pst.sla_state == SLAState.RUNNING
    assert pst.sla_due_at == pst.visit.issued_at + dt.timedelta(minutes=10)


def test_breach_found_long_after_it_happened_is_kept_without_a_history_note(branch):
    ops = WalkinOps(start=wib(2026, 3, 17, 8))
    a = ops.new_visit_id()
    apply_walkin_ops(branch, [ops.created(a, 1), ops.called(a, wait=30 * 60)], wib(2026, 3, 17, 9))
    report = tick(wib(2026, 4, 20, 9))  # a month later (e.g. `--recompute` after an upgrade)
    assert (report["breaches_noted"], report["breaches_too_old"]) == (0, 1)
    pst = fresh(PSTTicket.objects.get(origin_id=a))
    assert pst.sla_state == SLAState.BREACHED and pst.sla_breach_noted_at == wib(2026, 4, 20, 9)
    assert not pst.ticket.followup_set.filter(title="Standar layanan terlampaui").exists()
    assert tick(wib(2026, 4, 20, 9))["breaches_too_old"] == 0


def test_breached_clock_resolved_without_signal_gets_its_stop(branch, staff):
    pst = online_ticket(branch)
    sla.mark_request_complete(pst, user=staff, at=wib(2026, 3, 17, 10))
    tick(wib(2026, 3, 30, 9))
    assert fresh(pst).sla_state == SLAState.BREACHED
    Ticket.objects.filter(pk=pst.ticket_id).update(
        status=Ticket.CLOSED_STATUS, modified=wib(2026, 3, 31, 9)
    )
    assert tick(wib(2026, 4, 1, 9))["stopped_without_signal"] == 1
    pst = fresh(pst)
    assert pst.sla_state == SLAState.BREACHED and pst.sla_stopped_at == wib(2026, 3, 31, 9)
    # 17th (Ramadan) 4.5 h + 25-27th 22.5 h + 30th 7.5 h + 31st 08:00-09:00.
    assert pst.sla_elapsed_seconds == int((4.5 + 22.5 + 7.5 + 1) * 3600)


def snapshot() -> dict[str, Any]:
    """Everything a tick may change: clock fields, tickets, history, mail."""
    from pst_helpdesk_ext.services.sla import CLOCK_FIELDS

    names = ["sla_policy_id" if f == "sla_policy" else f for f in CLOCK_FIELDS]
    return {
        "clocks": list(PSTTicket.objects.order_by("pk").values_list("pk", *names)),
        "tickets": list(
            Ticket.objects.order_by("pk").values_list(
                "pk", "status", "priority", "resolution", "last_escalation"
            )
        ),
        "followups": list(FollowUp.objects.order_by("pk").values_list("pk", "title", "comment")),
        "changes": TicketChange.objects.count(),
        "mails": len(mail.outbox),
    }


def test_second_tick_at_the_same_instant_changes_nothing_at_all(branch, staff):
    """A mixed office: running, at-risk, paused, breached, idle-for-7-days online requests and
    walk-ins met and breached. The first tick acts; the second finds nothing to do."""
    running, at_risk, paused, breached, idle = (online_ticket(branch) for _ in range(5))
    sla.mark_request_complete(running, user=staff, at=wib(2026, 3, 26, 14))
    sla.mark_request_complete(at_risk, user=staff, at=wib(2026, 3, 17, 9))  # due 27th 15:30
    sla.mark_request_complete(paused, user=staff, at=wib(2026, 3, 25, 9))
    sla.wait_for_visitor(paused, user=staff, at=wib(2026, 3, 26, 9), comment="KTP?")
    sla.mark_request_complete(breached, user=staff, at=wib(2026, 3, 16, 9))  # due 26th 15:30
    sla.wait_for_visitor(idle, user=staff, at=wib(2026, 3, 20, 9), comment="Surat?")
    ops = WalkinOps(start=wib(2026, 3, 27, 8))
    a, b = ops.new_visit_id(), ops.new_visit_id()
    apply_walkin_ops(
        branch,
        [ops.created(a, 1), ops.called(a, wait=60), ops.created(b, 2), ops.called(b, 20 * 60)],
        wib(2026, 3, 27, 9),
    )
    now = wib(2026, 3, 27, 10)
    first = tick(now)
    assert first["breaches_noted"] == 2 and first["escalated"] == 1 and first["closed"] == 1
    states = {p.pk: p.sla_state for p in PSTTicket.objects.all()}
    assert states[running.pk] == SLAState.RUNNING and states[paused.pk] == SLAState.PAUSED
    assert states[at_risk.pk] == SLAState.AT_RISK and states[breached.pk] == SLAState.BREACHED
    before = snapshot()
    second = tick(now)
    assert (second["changed"], second["breaches_noted"], second["closed"]) == (0, 0, 0)
    assert snapshot() == before
