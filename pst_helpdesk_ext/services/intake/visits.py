"""Handlers of a visit's own steps at the branch: created, called, no-show, served, consultation
noted, resolved (or referred), escalated. One function per op kind: ``(run, op, payload) ->
result``; each validates everything before it changes anything (``IntakeRejection``), then adds
its rows and follow-ups to ``run.batch``. Lifecycle steps (no-show, resolved, escalated) go
through the ownership rule (``ownership.lifecycle_conflict``); the others are the branch's
records and always apply.
"""

from __future__ import annotations

import datetime as dt

from helpdesk.models import Ticket

from pst_helpdesk_ext.models import Visit
from pst_helpdesk_ext.services.bulk_insert import NewRow
from pst_helpdesk_ext.services.intake.batch import VisitState
from pst_helpdesk_ext.services.intake.context import ONE_US, Intake, IntakeRejection
from pst_helpdesk_ext.services.intake.ownership import lifecycle_conflict, note
from sync import ops as op_kinds
from sync.ops import Op
from sync.store import APPLIED, Result

_OPEN = Ticket.OPEN_STATUS
_RESOLVED = Ticket.RESOLVED_STATUS
_CLOSED = Ticket.CLOSED_STATUS


def visit_created(run: Intake, op: Op, p: op_kinds.VisitCreated) -> Result:
    existing = run.states.get(op.entity_id)
    if existing is not None:
        raise IntakeRejection(
            "duplicate_entity",
            run._("Visit %(visit)s already exists at central (queue number %(number)s).")
            % {"visit": op.entity_id, "number": existing.visit.queue_number},
        )
    service = run.service("service", p.service)
    issued_at = run.time("issued_at", p.issued_at)
    try:
        service_day = dt.date.fromisoformat(p.service_day)
    except ValueError:
        raise IntakeRejection(
            "invalid_payload",
            run._("%(field)s: %(value)r is not a date (YYYY-MM-DD).")
            % {"field": "service_day", "value": p.service_day},
        ) from None
    local_day = issued_at.astimezone(run.tz).date()
    if abs((service_day - local_day).days) > 1:
        raise IntakeRejection(
            "implausible_time",
            run._(
                "service_day: %(value)s does not match issued_at %(issued)s (%(day)s in the "
                "branch's timezone %(tz)s)."
            )
            % {
                "value": p.service_day,
                "issued": p.issued_at,
                "day": local_day.isoformat(),
                "tz": run.branch.timezone,
            },
        )
    assert run.walk_in_id is not None
    created = min(issued_at, run.received_at)
    service_name = service.name_in(run.language)
    title = run._("Walk-in %(number)s: %(service)s") % {
        "number": p.queue_number,
        "service": service_name,
    }
    description = run._(
        "Walk-in visit at %(branch)s, queue number %(number)s for %(service)s, issued "
        "%(issued)s (branch clock)."
    ) % {
        "branch": run.branch.name,
        "number": p.queue_number,
        "service": service_name,
        "issued": p.issued_at,
    }
    if p.appointment:
        run.check_ins.append((p.appointment, op.entity_id, p.queue_number))
    ticket = NewRow(
        title=title[:200],
        queue=run.queue,
        created=created,
        modified=run.received_at,
        status=_OPEN,
        description=description,
        priority=3,
        submitter_email=None,
        resolution=None,
    )
    pst = NewRow(
        ticket=ticket,
        branch=run.branch,
        channel_id=run.walk_in_id,
        category=service,
        subject=None,
        visitor=None,
        origin_id=op.entity_id,
        created=run.received_at,
    )
    visit = NewRow(
        pst_ticket=pst,
        branch=run.branch,
        origin_id=op.entity_id,
        service=service,
        queue_number=p.queue_number,
        service_day=service_day,
        issued_at=issued_at,
        called_at=None,
        served_at=None,
        finished_at=None,
        desk="",
        officer="",
        wait_seconds=None,
        service_seconds=None,
        outcome=Visit.Outcome.WAITING.value,
        follow_up="",
        referred_to=None,
        received_at=run.received_at,
    )
    pst.visit = visit  # the reverse side, as a loaded PSTTicket has it
    state = VisitState(
        visit=visit,
        pst=pst,
        ticket=ticket,
        new=True,
        guestbook=None,
        last_date=created - ONE_US,
        has_rating=False,
        visitor=None,
    )
    run.states[op.entity_id] = state
    run.batch.tell(state)
    run.batch.new_tickets.append(ticket)
    run.batch.new_psts.append(pst)
    run.batch.new_visits.append(visit)
    # As helpdesk's TicketForm opens a ticket: public, the description as comment.
    run.batch.followups.append(run.rules.opening(ticket, run.stamp(state, created), description))
    return APPLIED


def visit_called(run: Intake, op: Op, p: op_kinds.VisitCalled) -> Result:
    state = run.state_of(op)
    called_at = run.time("called_at", p.called_at, state)
    visit = state.visit
    # A call is a record, never a status change: after a no-show (final at the branch) or
    # an escalation it is only a follow-up; the wait is measured to the first call.
    if not p.recall or visit.called_at is None:
        run.set(state, "visit", called_at=called_at, wait_seconds=p.wait_seconds)
    run.set(state, "visit", desk=p.desk)
    if p.recall:
        comment = run._("Called again to desk %(desk)s.") % {"desk": p.desk}
    else:
        comment = run._("Called to desk %(desk)s after waiting %(wait)s.") % {
            "desk": p.desk,
            "wait": run.duration(p.wait_seconds),
        }
    run.follow_up(state, run.stamp(state, called_at), comment)
    return APPLIED


def visit_no_show(run: Intake, op: Op, p: op_kinds.VisitNoShow) -> Result:
    state = run.state_of(op)
    at = run.time("at", p.at, state)
    comment = run._("Did not come forward when called to desk %(desk)s.") % {"desk": p.desk}
    conflict = lifecycle_conflict(run, state, op.kind)
    if conflict:
        return note(run, state, op, comment, conflict)
    run.set(state, "visit", outcome=Visit.Outcome.NO_SHOW, finished_at=at, desk=p.desk)
    run.follow_up(state, run.stamp(state, at), comment, new_status=_CLOSED)
    return APPLIED


def visit_served(run: Intake, op: Op, p: op_kinds.VisitServed) -> Result:
    state = run.state_of(op)
    started_at = run.time("started_at", p.started_at, state)
    run.set(state, "visit", served_at=started_at, desk=p.desk)
    if p.officer:
        run.set(state, "visit", officer=p.officer)
        comment = run._("Service started at desk %(desk)s by %(officer)s.") % {
            "desk": p.desk,
            "officer": p.officer,
        }
    else:
        comment = run._("Service started at desk %(desk)s.") % {"desk": p.desk}
    run.follow_up(state, run.stamp(state, started_at), comment)
    return APPLIED


def consultation_noted(run: Intake, op: Op, p: op_kinds.ConsultationNoted) -> Result:
    state = run.state_of(op)
    subject = run.subjects.get(p.subject)
    if subject is None:
        raise IntakeRejection(
            "unknown_subject",
            run._("subject: %(value)r is not a consultation subject known at central.")
            % {"value": p.subject},
        )
    run.set(state, "pst", subject=subject)
    if p.officer and not state.visit.officer:
        run.set(state, "visit", officer=p.officer)
    subject_name = subject.name_in(run.language)
    comment = run._("Consultation note (%(subject)s):") % {"subject": subject_name}
    if p.officer:
        comment = run._("Consultation note (%(subject)s, %(officer)s):") % {
            "subject": subject_name,
            "officer": p.officer,
        }
    run.follow_up(state, run.stamp(state, run.hlc_time(op)), f"{comment}\n\n{p.notes}")
    return APPLIED


def visit_resolved(run: Intake, op: Op, p: op_kinds.VisitResolved) -> Result:
    state = run.state_of(op)
    finished_at = run.time("finished_at", p.finished_at, state)
    referred_to = run.service("referred_to", p.referred_to) if p.referred_to is not None else None
    if p.outcome == "referred":
        target = referred_to.name if referred_to else run._("another service")
        comment = run._("Referred to %(service)s after %(duration)s of service.") % {
            "service": target,
            "duration": run.duration(p.service_seconds),
        }
    else:
        comment = run._("Resolved at the desk after %(duration)s of service.") % {
            "duration": run.duration(p.service_seconds)
        }
    if p.note:
        comment = f"{comment}\n\n{p.note}"
    conflict = lifecycle_conflict(run, state, op.kind)
    if conflict:
        return note(run, state, op, comment, conflict)
    run.set(
        state,
        "visit",
        outcome=Visit.Outcome.REFERRED if p.outcome == "referred" else Visit.Outcome.RESOLVED,
        finished_at=finished_at,
        service_seconds=p.service_seconds,
        referred_to=referred_to,
    )
    state.finished_now = True
    run.follow_up(
        state,
        run.stamp(state, finished_at),
        comment,
        public=True,
        new_status=_RESOLVED,
        time_spent=dt.timedelta(seconds=p.service_seconds),
    )
    return APPLIED


def visit_escalated(run: Intake, op: Op, p: op_kinds.VisitEscalated) -> Result:
    state = run.state_of(op)
    finished_at = run.time("finished_at", p.finished_at, state)
    mode = Visit.FollowUp(p.follow_up)
    comment = run._("Needs follow-up (%(mode)s) after %(duration)s of service.") % {
        "mode": mode.label,
        "duration": run.duration(p.service_seconds),
    }
    if p.note:
        comment = f"{comment}\n\n{p.note}"
    conflict = lifecycle_conflict(run, state, op.kind)
    if conflict:
        return note(run, state, op, comment, conflict)
    run.set(
        state,
        "visit",
        outcome=Visit.Outcome.ESCALATED,
        follow_up=mode.value,
        finished_at=finished_at,
        service_seconds=p.service_seconds,
    )
    followup = run.follow_up(
        state,
        run.stamp(state, finished_at),
        comment,
        time_spent=dt.timedelta(seconds=p.service_seconds),
    )
    run.batch.escalations.append(followup)
    run.batch.tell(state)  # its owner is central now
    return APPLIED
