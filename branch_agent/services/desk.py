"""The service desk: call the next visitor, call again, mark absent, start, finish with the
consultation and its outcome, and send the visitor to the desk's rating kiosk.

Each write checks the visit is at this desk in the state the action needs, and records its op in
the same transaction; the service time runs from the start (or the call, when finished straight
from called) to the finish.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from branch_agent import outbox
from branch_agent.conf import agent_settings
from branch_agent.models import Consultation, Rating, ServiceCategory, Visit
from branch_agent.personal_data import mask_nik_in_text
from branch_agent.services.common import Refused, form_submit, iso, now_local, visit_in_write
from branch_agent.services.waiting import wait_seconds
from sync import ops


def check_desk(desk: str) -> str:
    desk = str(desk).strip()
    if not desk.isdigit() or not 1 <= int(desk) <= agent_settings.desks:
        raise Refused(
            _("Desk %(desk)s does not exist; this office has desks 1 to %(count)d.")
            % {"desk": desk, "count": agent_settings.desks},
            field="desk",
            code="unknown_desk",
        )
    return desk


def at_desk(desk: str) -> Visit | None:
    """The visitor currently called to, or being served at, a desk."""
    return (
        Visit.objects.select_related("service")
        .filter(desk=desk, status__in=(Visit.Status.CALLED, Visit.Status.SERVING))
        .order_by("-last_call_at")
        .first()
    )


def call_next(
    desk: str,
    *,
    services: Iterable[str] | None = None,
    token: str | None = None,
    now: dt.datetime | None = None,
) -> Visit | None:
    """Call the longest-waiting visitor (in the desk's services) to ``desk``; None if nobody."""
    desk = check_desk(desk)
    moment = now_local(now)
    with outbox.write():
        submit = form_submit(token, "call")
        if submit.repeat:
            return submit.earlier_visit
        current = at_desk(desk)
        if current is not None:
            raise Refused(
                _("Desk %(desk)s still has %(number)s; finish it or mark it absent first.")
                % {"desk": desk, "number": current.queue_number},
                code="desk_busy",
            )
        query = Visit.objects.select_related("service").filter(
            service_day=moment.date(), status=Visit.Status.WAITING
        )
        if services:
            query = query.filter(service__code__in=list(services))
        visit = query.order_by("issued_at", "number").first()
        if visit is None:
            submit.record(None)
            return None
        waited = wait_seconds(visit, moment)
        visit.status = Visit.Status.CALLED
        visit.desk = desk
        visit.called_at = visit.last_call_at = moment
        visit.call_count = 1
        visit.wait_seconds = waited
        visit.save()
        submit.record(visit)
        outbox.record(
            ops.VISIT_CALLED,
            str(visit.pk),
            ops.VisitCalled(desk=desk, called_at=iso(moment), wait_seconds=waited),
        )
    return visit


def _at_this_desk(visit_id: uuid.UUID | str, desk: str, *states: str) -> Visit:
    visit = visit_in_write(visit_id)
    if visit.desk != desk or visit.status not in states:
        raise Refused(
            _("%(number)s is %(status)s, not waiting at desk %(desk)s for this action.")
            % {"number": visit.queue_number, "status": visit.get_status_display(), "desk": desk},
            code="wrong_state",
        )
    return visit


def recall(
    visit_id: uuid.UUID | str,
    desk: str,
    *,
    token: str | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    desk = check_desk(desk)
    moment = now_local(now)
    with outbox.write():
        submit = form_submit(token, "recall")
        if submit.earlier_visit is not None:
            return submit.earlier_visit
        visit = _at_this_desk(visit_id, desk, Visit.Status.CALLED)
        visit.call_count += 1
        visit.last_call_at = moment
        visit.save(update_fields=["call_count", "last_call_at"])
        submit.record(visit)
        outbox.record(
            ops.VISIT_CALLED,
            str(visit.pk),
            ops.VisitCalled(
                desk=desk,
                called_at=iso(moment),
                wait_seconds=visit.wait_seconds or 0,
                recall=True,
            ),
        )
    return visit


def no_show(
    visit_id: uuid.UUID | str,
    desk: str,
    *,
    token: str | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    desk = check_desk(desk)
    moment = now_local(now)
    with outbox.write():
        submit = form_submit(token, "no_show")
        if submit.earlier_visit is not None:
            return submit.earlier_visit
        visit = _at_this_desk(visit_id, desk, Visit.Status.CALLED)
        visit.status = Visit.Status.NO_SHOW
        visit.finished_at = moment  # the queue moves on: the next visitor's clock starts now
        visit.save(update_fields=["status", "finished_at"])
        submit.record(visit)
        outbox.record(ops.VISIT_NO_SHOW, str(visit.pk), ops.VisitNoShow(desk=desk, at=iso(moment)))
    return visit


def start_service(
    visit_id: uuid.UUID | str,
    desk: str,
    *,
    officer: str,
    token: str | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    desk = check_desk(desk)
    moment = now_local(now)
    with outbox.write():
        submit = form_submit(token, "start")
        if submit.earlier_visit is not None:
            return submit.earlier_visit
        visit = _at_this_desk(visit_id, desk, Visit.Status.CALLED)
        visit.status = Visit.Status.SERVING
        visit.served_at = moment
        visit.officer = officer[:200]
        visit.save(update_fields=["status", "served_at", "officer"])
        submit.record(visit)
        outbox.record(
            ops.VISIT_SERVED,
            str(visit.pk),
            ops.VisitServed(desk=desk, officer=visit.officer, started_at=iso(moment)),
        )
    return visit


@dataclass(frozen=True)
class Conclusion:
    subject: str
    notes: str
    outcome: str  # resolved / referred / escalated
    follow_up: str = ""  # escalated: online / in_person / zoom
    referred_to: str = ""  # referred: a service code
    send_to_rating: bool = True


def finish(
    visit_id: uuid.UUID | str,
    desk: str,
    conclusion: Conclusion,
    *,
    officer: str,
    token: str | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Record the consultation and its outcome, end the visit, and optionally open the rating."""
    desk = check_desk(desk)
    moment = now_local(now)
    if conclusion.subject not in Consultation.Subject.values:
        raise Refused(_("Choose the subject of the consultation."), field="subject")
    if conclusion.outcome not in Visit.Outcome.values:
        raise Refused(_("Choose how the consultation ended."), field="outcome")
    if conclusion.outcome == Visit.Outcome.ESCALATED and (
        conclusion.follow_up not in Visit.FollowUp.values
    ):
        raise Refused(
            _("Choose how the follow-up happens: online, in person or Zoom."), field="follow_up"
        )
    referred = None
    if conclusion.outcome == Visit.Outcome.REFERRED:
        referred = ServiceCategory.objects.filter(
            code=conclusion.referred_to, kind=ServiceCategory.Kind.SERVICE
        ).first()
        if referred is None:
            raise Refused(
                _("Choose the PST service the visitor is referred to."), field="referred_to"
            )
    with outbox.write():
        submit = form_submit(token, "finish")
        if submit.earlier_visit is not None:
            return submit.earlier_visit
        visit = _at_this_desk(visit_id, desk, Visit.Status.CALLED, Visit.Status.SERVING)
        started = visit.served_at or visit.last_call_at or moment
        if visit.served_at is None:  # "finish" straight from called: the service starts now
            visit.served_at = started = moment
            visit.officer = officer[:200]
            outbox.record(
                ops.VISIT_SERVED,
                str(visit.pk),
                ops.VisitServed(desk=desk, officer=visit.officer, started_at=iso(moment)),
            )
        service_seconds = max(0, int((moment - started).total_seconds()))
        visit.status = Visit.Status.FINISHED
        visit.finished_at = moment
        visit.service_seconds = service_seconds
        visit.outcome = conclusion.outcome
        visit.follow_up = (
            conclusion.follow_up if conclusion.outcome == Visit.Outcome.ESCALATED else ""
        )
        visit.referred_to = referred
        if conclusion.send_to_rating:
            # One visitor at a time per rating kiosk: the newest one the desk sends.
            Visit.objects.filter(rating_desk=desk).exclude(pk=visit.pk).update(rating_desk="")
            visit.rating_desk = desk
            visit.rating_requested_at = moment
        visit.save()
        notes = mask_nik_in_text(conclusion.notes.strip())
        # The subject is always recorded (and reaches central), with or without notes.
        Consultation.objects.create(
            visit=visit,
            subject=conclusion.subject,
            notes=notes,
            officer=officer[:200],
            created=moment,
        )
        outbox.record(
            ops.CONSULTATION_NOTED,
            str(visit.pk),
            ops.ConsultationNoted(
                subject=conclusion.subject,  # type: ignore[arg-type]
                notes=notes,
                officer=officer[:200],
            ),
        )
        if conclusion.outcome == Visit.Outcome.ESCALATED:
            outbox.record(
                ops.VISIT_ESCALATED,
                str(visit.pk),
                ops.VisitEscalated(
                    follow_up=conclusion.follow_up,  # type: ignore[arg-type]
                    note=notes,
                    finished_at=iso(moment),
                    service_seconds=service_seconds,
                ),
            )
        else:
            outbox.record(
                ops.VISIT_RESOLVED,
                str(visit.pk),
                ops.VisitResolved(
                    outcome=conclusion.outcome,  # type: ignore[arg-type]
                    finished_at=iso(moment),
                    service_seconds=service_seconds,
                    referred_to=referred.code if referred else None,  # type: ignore[arg-type]
                ),
            )
        submit.record(visit)
    return visit


def send_to_rating(
    visit_id: uuid.UUID | str, desk: str, *, now: dt.datetime | None = None
) -> Visit:
    """Open the rating kiosk of ``desk`` for a finished visitor (again)."""
    desk = check_desk(desk)
    with outbox.write():
        visit = visit_in_write(visit_id)
        if visit.status != Visit.Status.FINISHED or Rating.objects.filter(visit=visit).exists():
            raise Refused(
                _("%(number)s cannot rate now: the visit is not finished or was already rated.")
                % {"number": visit.queue_number},
                code="wrong_state",
            )
        Visit.objects.filter(rating_desk=desk).exclude(pk=visit.pk).update(rating_desk="")
        visit.rating_desk = desk
        visit.rating_requested_at = now_local(now)
        visit.save(update_fields=["rating_desk", "rating_requested_at"])
    return visit
