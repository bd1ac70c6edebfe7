"""The walk-in flow at the branch: every rule and every write, called by views, the API and tests.

Rules:
- Each write is one IMMEDIATE transaction holding the domain rows and their outbox op (see
  ``branch_agent.outbox``); nothing here touches the network, so no request waits on central.
- A repeated submit (same form token or API request id) returns the first result and writes
  nothing; two numbers or two visits never come from one click.
- Refusals raise ``Refused`` with a translated message naming the value; callers show it as is.
- Times are the branch's clock. Durations (wait, service time) are measured here and travel as
  seconds; the walk-in clock starts at the previous finish in the same service queue, or at the
  visitor's own arrival when nobody was ahead, and stops at the first call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from branch_agent import outbox
from branch_agent.conf import agent_settings
from branch_agent.models import (
    IKM_FIELDS,
    ApiToken,
    Complaint,
    Consultation,
    FormToken,
    GuestBookEntry,
    OutboxOp,
    Rating,
    ServiceCategory,
    SyncState,
    TicketUpdate,
    Visit,
)
from branch_agent.personal_data import mask_nik_in_text
from sync import ops

log = logging.getLogger("branch_agent.store")

MAX_NUMBER_PER_DAY = 9999
RATING_WINDOW = dt.timedelta(hours=2)  # a visitor sent to the rating kiosk can rate this long


class Refused(Exception):
    """A request the flow cannot take, with a message for staff or the visitor."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


def now_local(now: dt.datetime | None = None) -> dt.datetime:
    return timezone.localtime(now or timezone.now())


def _iso(moment: dt.datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def _used(token: str | None, action: str) -> FormToken | None:
    if not token:
        return None
    return FormToken.objects.select_related("visit").filter(token=token, action=action).first()


def _use(token: str | None, action: str, visit: Visit | None) -> None:
    if token:
        FormToken.objects.create(token=token, action=action, visit=visit)


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def _visit_in_write(visit_id: uuid.UUID | str) -> Visit:
    """The visit, read inside the caller's write transaction (the process write lock and BEGIN
    IMMEDIATE already serialise writers, so no row lock is needed)."""
    try:
        return Visit.objects.select_related("service").get(pk=visit_id)
    except (Visit.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Refused(_("No visit %(id)s.") % {"id": visit_id}, code="unknown_visit") from None


# --- Kiosk -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    visit: Visit
    created: bool  # False: a repeated request, answered with the number it got the first time


def issue_number(
    service_code: str,
    *,
    token: str | None = None,
    now: dt.datetime | None = None,
    appointment: str = "",
) -> Issued:
    """Give the next queue number of a service today (K-001, K-002, ... per service per day);
    ``appointment``: the check-in code it was given for (``branch_agent.appointments``)."""
    service = ServiceCategory.objects.filter(
        code=service_code, kind=ServiceCategory.Kind.SERVICE, active=True
    ).first()
    if service is None or not service.queue_letter:
        raise Refused(
            _("%(service)s is not a service with a queue here.") % {"service": service_code},
            field="service",
            code="unknown_service",
        )
    moment = now_local(now)
    with outbox.write():
        used = _used(token, "issue")
        if used is not None and used.visit is not None:
            return Issued(used.visit, created=False)
        day = moment.date()
        last = Visit.objects.filter(service=service, service_day=day).aggregate(n=Max("number"))
        number = (last["n"] or 0) + 1
        if number > MAX_NUMBER_PER_DAY:
            raise Refused(_("The queue of %(service)s is full for today.") % {"service": service})
        visit = Visit.objects.create(
            service=service,
            service_day=day,
            number=number,
            queue_number=f"{service.queue_letter}-{number:03d}",
            issued_at=moment,
        )
        _use(token, "issue", visit)
        outbox.record(
            ops.VISIT_CREATED,
            str(visit.pk),
            ops.VisitCreated(
                service=service.code,  # type: ignore[arg-type]
                queue_number=visit.queue_number,
                service_day=day.isoformat(),
                issued_at=_iso(moment),
                appointment=appointment,
            ),
        )
    return Issued(visit, created=True)


# --- Front office ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GuestBookData:
    """A guest-book entry as validated by the form: the ID number is already hashed."""

    name: str
    institution: str
    email: str
    phone: str
    id_type: str
    id_hash: str
    id_last4: str
    purpose: str
    consent: bool


def record_guestbook(
    visit_id: uuid.UUID | str,
    data: GuestBookData,
    *,
    recorded_by: str = "",
    token: str | None = None,
    now: dt.datetime | None = None,
) -> GuestBookEntry:
    if not data.consent:
        raise Refused(_("The visitor must agree to the processing of their data."), field="consent")
    # A NIK typed into the free text is kept as its last 4 digits only, here and on the wire.
    data = dataclasses.replace(
        data,
        institution=mask_nik_in_text(data.institution),
        purpose=mask_nik_in_text(data.purpose),
    )
    moment = now_local(now)
    with outbox.write():
        used = _used(token, "guestbook")
        if used is not None and used.visit is not None:
            return used.visit.guestbook
        visit = _visit_in_write(visit_id)
        if GuestBookEntry.objects.filter(visit=visit).exists():
            raise Refused(
                _("%(number)s already has a guest-book entry.") % {"number": visit.queue_number},
                code="duplicate",
            )
        if visit.status == Visit.Status.NO_SHOW:
            raise Refused(
                _("%(number)s was marked as not present.") % {"number": visit.queue_number}
            )
        entry = GuestBookEntry.objects.create(
            visit=visit,
            name=data.name,
            institution=data.institution,
            email=data.email,
            phone=data.phone,
            id_type=data.id_type,
            id_hash=data.id_hash,
            id_last4=data.id_last4,
            purpose=data.purpose,
            consent=data.consent,
            recorded_at=moment,
            recorded_by=recorded_by,
        )
        _use(token, "guestbook", visit)
        outbox.record(
            ops.GUESTBOOK_RECORDED,
            str(visit.pk),
            ops.GuestbookRecorded(
                name=data.name,
                institution=data.institution,
                email=data.email,
                phone=data.phone,
                id_type=data.id_type,  # type: ignore[arg-type]
                id_hash=data.id_hash,
                id_last4=data.id_last4,
                purpose=data.purpose,
                consent=data.consent,
                recorded_at=_iso(moment),
            ),
        )
    return entry


def returning_visits(id_hash: str, *, exclude: Visit | None = None) -> int:
    """How often this ID was seen before (by its keyed hash): front office greets returners."""
    query = GuestBookEntry.objects.filter(id_hash=id_hash)
    if exclude is not None:
        query = query.exclude(visit=exclude)
    return query.count()


# --- Walk-in clock ---------------------------------------------------------------------------


def last_finish(service: ServiceCategory, day: dt.date, at: dt.datetime) -> dt.datetime | None:
    found = Visit.objects.filter(
        service=service, service_day=day, finished_at__isnull=False, finished_at__lte=at
    ).aggregate(m=Max("finished_at"))
    return found["m"]


def wait_clock_start(visit: Visit, at: dt.datetime) -> dt.datetime:
    """When this visitor's wait began: the latest finish in the queue, or their own arrival."""
    finished = last_finish(visit.service, visit.service_day, at)
    return max(visit.issued_at, finished) if finished else visit.issued_at


def wait_seconds(visit: Visit, at: dt.datetime) -> int:
    return max(0, int((at - wait_clock_start(visit, at)).total_seconds()))


@dataclass(frozen=True)
class Waiting:
    visit: Visit
    wait_seconds: int
    level: str  # "ok", "near" (from 80% of the target) or "over"
    has_guestbook: bool


def wait_level(seconds: int) -> str:
    target = agent_settings.wait_target_seconds
    if seconds >= target:
        return "over"
    return "near" if seconds >= target * 0.8 else "ok"


def waiting_list(
    *, services: Iterable[str] | None = None, now: dt.datetime | None = None
) -> list[Waiting]:
    """Today's waiting visitors in call order, with their running wait on the branch clock."""
    moment = now_local(now)
    query = Visit.objects.select_related("service", "guestbook").filter(
        service_day=moment.date(), status=Visit.Status.WAITING
    )
    if services:
        query = query.filter(service__code__in=list(services))
    finishes: dict[str, dt.datetime | None] = {}
    result = []
    for visit in query.order_by("issued_at", "number"):
        if visit.service_id not in finishes:
            finishes[visit.service_id] = last_finish(visit.service, visit.service_day, moment)
        finished = finishes[visit.service_id]
        start = max(visit.issued_at, finished) if finished else visit.issued_at
        seconds = max(0, int((moment - start).total_seconds()))
        result.append(Waiting(visit, seconds, wait_level(seconds), hasattr(visit, "guestbook")))
    return result


# --- Desk ------------------------------------------------------------------------------------


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
        used = _used(token, "call")
        if used is not None:
            return used.visit
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
            _use(token, "call", None)
            return None
        waited = wait_seconds(visit, moment)
        visit.status = Visit.Status.CALLED
        visit.desk = desk
        visit.called_at = visit.last_call_at = moment
        visit.call_count = 1
        visit.wait_seconds = waited
        visit.save()
        _use(token, "call", visit)
        outbox.record(
            ops.VISIT_CALLED,
            str(visit.pk),
            ops.VisitCalled(desk=desk, called_at=_iso(moment), wait_seconds=waited),
        )
    return visit


def _at_this_desk(visit_id: uuid.UUID | str, desk: str, *states: str) -> Visit:
    visit = _visit_in_write(visit_id)
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
        used = _used(token, "recall")
        if used is not None and used.visit is not None:
            return used.visit
        visit = _at_this_desk(visit_id, desk, Visit.Status.CALLED)
        visit.call_count += 1
        visit.last_call_at = moment
        visit.save(update_fields=["call_count", "last_call_at"])
        _use(token, "recall", visit)
        outbox.record(
            ops.VISIT_CALLED,
            str(visit.pk),
            ops.VisitCalled(
                desk=desk,
                called_at=_iso(moment),
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
        used = _used(token, "no_show")
        if used is not None and used.visit is not None:
            return used.visit
        visit = _at_this_desk(visit_id, desk, Visit.Status.CALLED)
        visit.status = Visit.Status.NO_SHOW
        visit.finished_at = moment  # the queue moves on: the next visitor's clock starts now
        visit.save(update_fields=["status", "finished_at"])
        _use(token, "no_show", visit)
        outbox.record(ops.VISIT_NO_SHOW, str(visit.pk), ops.VisitNoShow(desk=desk, at=_iso(moment)))
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
        used = _used(token, "start")
        if used is not None and used.visit is not None:
            return used.visit
        visit = _at_this_desk(visit_id, desk, Visit.Status.CALLED)
        visit.status = Visit.Status.SERVING
        visit.served_at = moment
        visit.officer = officer[:200]
        visit.save(update_fields=["status", "served_at", "officer"])
        _use(token, "start", visit)
        outbox.record(
            ops.VISIT_SERVED,
            str(visit.pk),
            ops.VisitServed(desk=desk, officer=visit.officer, started_at=_iso(moment)),
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
        used = _used(token, "finish")
        if used is not None and used.visit is not None:
            return used.visit
        visit = _at_this_desk(visit_id, desk, Visit.Status.CALLED, Visit.Status.SERVING)
        started = visit.served_at or visit.last_call_at or moment
        if visit.served_at is None:  # "finish" straight from called: the service starts now
            visit.served_at = started = moment
            visit.officer = officer[:200]
            outbox.record(
                ops.VISIT_SERVED,
                str(visit.pk),
                ops.VisitServed(desk=desk, officer=visit.officer, started_at=_iso(moment)),
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
                    finished_at=_iso(moment),
                    service_seconds=service_seconds,
                ),
            )
        else:
            outbox.record(
                ops.VISIT_RESOLVED,
                str(visit.pk),
                ops.VisitResolved(
                    outcome=conclusion.outcome,  # type: ignore[arg-type]
                    finished_at=_iso(moment),
                    service_seconds=service_seconds,
                    referred_to=referred.code if referred else None,  # type: ignore[arg-type]
                ),
            )
        _use(token, "finish", visit)
    return visit


def send_to_rating(
    visit_id: uuid.UUID | str, desk: str, *, now: dt.datetime | None = None
) -> Visit:
    """Open the rating kiosk of ``desk`` for a finished visitor (again)."""
    desk = check_desk(desk)
    with outbox.write():
        visit = _visit_in_write(visit_id)
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


# --- Rating kiosk ----------------------------------------------------------------------------


def rating_pending(desk: str, *, now: dt.datetime | None = None) -> Visit | None:
    """The visitor the rating kiosk of ``desk`` is waiting for, if any."""
    moment = now_local(now)
    return (
        Visit.objects.select_related("service")
        .filter(
            rating_desk=desk,
            status=Visit.Status.FINISHED,
            rating__isnull=True,
            rating_requested_at__gte=moment - RATING_WINDOW,
        )
        .order_by("-rating_requested_at")
        .first()
    )


@dataclass(frozen=True)
class RatingData:
    scores: Mapping[str, int]  # "U1".."U9" -> 1..4
    overall: int
    comment: str = ""
    complaint: str = ""
    reply_to: str = ""  # the e-mail the visitor chose to give for an answer; "" = anonymous


def give_rating(
    visit_id: uuid.UUID | str,
    data: RatingData,
    *,
    token: str | None = None,
    now: dt.datetime | None = None,
) -> Rating:
    """Save the IKM survey (and a complaint, when the visitor wrote one) for a served visit."""
    missing = [name for name in ops.IKM_ELEMENTS if data.scores.get(name) not in (1, 2, 3, 4)]
    if missing:
        raise Refused(
            _("Answer every question (missing: %(elements)s).") % {"elements": ", ".join(missing)},
            field=missing[0].lower(),
        )
    if data.overall not in (1, 2, 3, 4):
        raise Refused(_("Give an overall score from 1 to 4."), field="overall")
    moment = now_local(now)
    with outbox.write():
        used = _used(token, "rating")
        if used is not None and used.visit is not None:
            return used.visit.rating
        visit = _visit_in_write(visit_id)
        if visit.status != Visit.Status.FINISHED or not visit.rating_desk:
            raise Refused(_("This visit is not waiting for a rating."), code="wrong_state")
        if Rating.objects.filter(visit=visit).exists():
            raise Refused(_("This visit was already rated. Thank you!"), code="duplicate")
        rating = Rating.objects.create(
            visit=visit,
            overall=data.overall,
            comment=mask_nik_in_text(data.comment.strip()),
            created=moment,
            **{name: data.scores[name.upper()] for name in IKM_FIELDS},
        )
        visit.rating_desk = ""
        visit.save(update_fields=["rating_desk"])
        _use(token, "rating", visit)
        outbox.record(
            ops.RATING_GIVEN,
            str(visit.pk),
            ops.RatingGiven(
                scores={k: int(v) for k, v in rating.scores.items()},
                overall=rating.overall,
                comment=rating.comment,
            ),
        )
        if data.complaint.strip():
            complaint = Complaint.objects.create(
                visit=visit, text=mask_nik_in_text(data.complaint.strip()), created=moment
            )
            outbox.record(
                ops.COMPLAINT_FILED,
                str(visit.pk),
                ops.ComplaintFiled(
                    tier=complaint.tier, text=complaint.text, reply_to=data.reply_to.strip()
                ),
            )
    return rating


# --- Sync status -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedOp:
    op_id: str
    seq: int
    kind: str
    entity_id: str
    code: str
    message: str
    at: dt.datetime | None
    queue_number: str


@dataclass(frozen=True)
class CentralLoss:
    """Central was restored from an older backup and had lost records this branch sent
    (protocol 6.6): ``resent`` of them were sent again from this PC, ``unrecoverable`` were no
    longer kept here (older than the local retention period) and must be entered at central."""

    at: dt.datetime
    first_seq: int
    last_seq: int
    resent: int
    unrecoverable: int

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "resent": self.resent,
            "unrecoverable": self.unrecoverable,
        }


@dataclass(frozen=True)
class SyncView:
    online: bool
    pending_ops: int
    last_sync_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_error: str
    feed_cursor: int
    next_seq: int
    clock_skew_seconds: int | None
    rejected: list[RejectedOp]
    central_updates: int
    central_lost: CentralLoss | None = None

    @property
    def key_problem(self) -> bool:
        """The link is down because of a key: this branch's key files, central's key in
        agent.toml, or a branch key central does not know (the badge says so)."""
        code = self.last_error.partition(": ")[0]
        return not self.online and code in ("keys", "wrong_server_key", "not_enrolled")

    @property
    def problem(self) -> str:
        """The last sync problem, in words for staff (the worker stores "code: detail")."""
        if not self.last_error:
            return ""
        code, _sep, detail = self.last_error.partition(": ")
        explained = {
            "unreachable": _(
                "Central cannot be reached (no internet or central is down). Everything is saved"
                " here and will be sent automatically."
            ),
            "not_enrolled": _(
                "Central refused this branch's key: it is not enrolled yet, or it was revoked."
                " Ask the central admin to run `pst_branch enrol` with the key from"
                " `pst-branch-agent init`."
            ),
            "wrong_server_key": _(
                "The secure handshake with central failed: check [central] server_public_key in"
                " agent.toml."
            ),
            "keys": _("The branch key files cannot be used: %(detail)s") % {"detail": detail},
            "central_error": _("Central reported a problem: %(detail)s") % {"detail": detail},
            "upgrade_needed": _("Central needs a newer version of this agent. Please upgrade."),
            "internal": _("The sync worker hit an error and restarts by itself: %(detail)s")
            % {"detail": detail},
        }
        return explained.get(code, self.last_error)

    def as_json(self) -> dict[str, Any]:
        return {
            "online": self.online,
            "pending_ops": self.pending_ops,
            "last_sync_at": self.last_sync_at.isoformat() if self.last_sync_at else None,
            "last_attempt_at": self.last_attempt_at.isoformat() if self.last_attempt_at else None,
            "last_error": self.last_error or None,
            "feed_cursor": self.feed_cursor,
            "next_seq": self.next_seq,
            "clock_skew_seconds": self.clock_skew_seconds,
            "rejected_ops": [
                {
                    "op_id": r.op_id,
                    "seq": r.seq,
                    "kind": r.kind,
                    "code": r.code,
                    "message": r.message,
                    "queue_number": r.queue_number,
                }
                for r in self.rejected
            ],
            "problem": self.problem or None,
            "key_problem": self.key_problem,
            "central_updates_unseen": self.central_updates,
            "central_lost": self.central_lost.as_json() if self.central_lost else None,
        }


def sync_view(*, include_dismissed: bool = False) -> SyncView:
    state = SyncState.objects.get(id=1)
    rejected_rows = OutboxOp.objects.filter(state=OutboxOp.State.REJECTED)
    if not include_dismissed:
        rejected_rows = rejected_rows.filter(dismissed=False)
    rows = list(rejected_rows.order_by("-seq")[:50])
    numbers = dict(
        Visit.objects.filter(pk__in=[_uuid_or_none(r.entity_id) for r in rows]).values_list(
            "pk", "queue_number"
        )
    )
    return SyncView(
        online=state.online,
        pending_ops=OutboxOp.objects.filter(state=OutboxOp.State.PENDING).count(),
        last_sync_at=state.last_success_at,
        last_attempt_at=state.last_attempt_at,
        last_error=state.last_error,
        feed_cursor=state.feed_cursor,
        next_seq=state.next_seq,
        clock_skew_seconds=state.clock_skew_seconds,
        rejected=[
            RejectedOp(
                r.op_id,
                r.seq,
                r.kind,
                r.entity_id,
                r.reject_code,
                r.reject_message,
                r.done_at,
                numbers.get(_uuid_or_none(r.entity_id), ""),
            )
            for r in rows
        ],
        central_updates=TicketUpdate.objects.filter(seen=False).count(),
        central_lost=(
            CentralLoss(
                state.central_lost_at,
                state.central_lost_first_seq,
                state.central_lost_last_seq,
                state.central_lost_resent,
                state.central_lost_unrecoverable,
            )
            if state.central_lost_at
            else None
        ),
    )


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def dismiss_rejected(op_id: str) -> None:
    with outbox.write():
        OutboxOp.objects.filter(op_id=op_id, state=OutboxOp.State.REJECTED).update(dismissed=True)


def dismiss_central_lost() -> None:
    with outbox.write():
        SyncState.objects.filter(id=1).update(central_lost_at=None)


def mark_updates_seen(visit_id: uuid.UUID | str) -> None:
    with outbox.write():
        visit = _visit_in_write(visit_id)
        TicketUpdate.objects.filter(visit=visit, seen=False).update(seen=True)


# --- Retention ------------------------------------------------------------------------------


def purge_personal_data(*, days: int | None = None, now: dt.datetime | None = None) -> int:
    """Blank the guest-book personal data of visits older than ``days`` whose records central
    already has (nothing of the visit still in the outbox), and delete the records central
    acknowledged before that day (kept until then to send again if central is restored from an
    older backup; they carry the same personal data). Central keeps its own copy under its
    retention rule; the office PC keeps only what the day's work needs. Returns how many
    guest-book entries were blanked."""
    keep_days = agent_settings.local_retention_days if days is None else days
    cutoff = now_local(now).date() - dt.timedelta(days=keep_days)
    start_of_cutoff = timezone.make_aware(dt.datetime.combine(cutoff, dt.time.min))
    with outbox.write():
        forgotten, _kinds = OutboxOp.objects.filter(
            state=OutboxOp.State.ACKED, done_at__lt=start_of_cutoff
        ).delete()
        if forgotten:
            log.info("deleted %d records central acknowledged before %s", forgotten, cutoff)
        waiting = OutboxOp.objects.filter(state=OutboxOp.State.PENDING).values("entity_id")
        entries = GuestBookEntry.objects.filter(visit__service_day__lt=cutoff).exclude(
            name="", email="", id_hash=""
        )
        entries = entries.exclude(
            visit_id__in=[
                uid for uid in (_uuid_or_none(row["entity_id"]) for row in waiting) if uid
            ]
        )
        return entries.update(
            name="", institution="", email="", phone="", id_hash="", id_last4="", purpose=""
        )


# --- Device tokens ---------------------------------------------------------------------------


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(user: Any, name: str) -> str:
    """A new device token for ``user``; only its hash is stored, the raw token is shown once."""
    raw = "pst_" + secrets.token_urlsafe(30)
    with outbox.write():
        ApiToken.objects.create(key_hash=token_hash(raw), name=name[:100], user=user)
    return raw


# --- Today at a glance -----------------------------------------------------------------------


@dataclass(frozen=True)
class DaySummary:
    issued: int
    waiting: int
    served: int
    no_show: int
    escalated: int
    median_wait_seconds: int | None
    within_target: int  # called within the target, of those called
    called: int
    ratings: int
    average_overall: float | None

    @property
    def within_target_percent(self) -> int | None:
        return round(100 * self.within_target / self.called) if self.called else None


def day_summary(*, now: dt.datetime | None = None) -> DaySummary:
    """Today's walk-in service against its standard, for the staff start page."""
    today = now_local(now).date()
    visits = list(
        Visit.objects.filter(service_day=today).values_list("status", "outcome", "wait_seconds")
    )
    waits = sorted(w for _status, _outcome, w in visits if w is not None)
    target = agent_settings.wait_target_seconds
    overall = list(
        Rating.objects.filter(visit__service_day=today).values_list("overall", flat=True)
    )
    return DaySummary(
        issued=len(visits),
        waiting=sum(1 for s, _o, _w in visits if s == Visit.Status.WAITING),
        served=sum(1 for s, _o, _w in visits if s == Visit.Status.FINISHED),
        no_show=sum(1 for s, _o, _w in visits if s == Visit.Status.NO_SHOW),
        escalated=sum(1 for _s, o, _w in visits if o == Visit.Outcome.ESCALATED),
        median_wait_seconds=waits[len(waits) // 2] if waits else None,
        within_target=sum(1 for w in waits if w <= target),
        called=len(waits),
        ratings=len(overall),
        average_overall=round(sum(overall) / len(overall), 2) if overall else None,
    )
