"""Walk-in intake: the ops a branch recorded become django-helpdesk tickets, in bulk.

What it owns: turning decoded walk-in ops (``sync.ops``) of one branch into helpdesk tickets in the
branch's queue, with PST side rows (PSTTicket, Visit, GuestBookEntry, Visitor, Rating, Complaint).
The sync store calls it with the ops of one PUSH that central has not seen before; it records
nothing about ops itself (``AppliedOp`` is the store's), it returns one outcome per op.

Rules:
- One call is one transaction (a savepoint inside the store's) and a constant number of queries
  whatever the number of visits: everything that exists is read up front, every new row is written
  with ``bulk_create`` and every changed row with ``bulk_update``. Never a query per op.
- The history reads as helpdesk's own ``update_ticket`` writes it, so the ticket page, reports and
  later staff updates see nothing unusual: a new ticket opens like helpdesk's ``TicketForm``
  (follow-up "Ticket Opened", public, the description as comment); every later step is a follow-up
  titled with the ticket title, plus " and <Status>" (in the active language, followup_titles.py)
  with ``new_status`` and a ``TicketChange``
  (field "Status", old and new display strings) when the status changes, ``resolution`` set as
  ``update_ticket`` sets it, ``email_recipients`` an empty list. Strings are written in the
  queue's language, like helpdesk's e-mails. Branch text is never rendered as a template.
- Live news only: helpdesk's notifications, signals and webhooks fire after commit for what is news
  now (a visit escalated for follow-up notifies the queue and sends ``update_ticket_done`` for the
  escalation follow-up; a complaint notifies the complaints queue and sends ``new_ticket_done``;
  ``visit_finished`` announces a resolved visit with an e-mail, for the rating link), never once per
  historical step of a visit that already ended at the branch.
- Ownership, not merging (DESIGN.md): the ticket of a visit is the branch's until the visit is
  escalated or central changes its status, then it is central's (``feed.ticket_owner``). A
  lifecycle op (no-show, resolved, escalated) changes the ticket's status only when the ticket
  is still the branch's and the visit still in progress; otherwise it is applied as a private
  note (result ``noted``) and the visit row is left alone. Other ops (called, served, notes,
  guest book, rating, complaint) are the branch's records and always apply.
- The down-feed, in the same transaction: one ``ticket.status`` row per ticket whose status or
  owner the batch changed, or whose op became a note (its state after the batch), so a branch
  that acted on a stale view, or lost its disk, converges on central's view.
- An op that can never apply is rejected with a code and a message naming the field and value
  (``invalid_payload``, ``unknown_kind``, ``unknown_entity``, ``unknown_service``,
  ``duplicate_entity``, ``duplicate_rating``); it changes nothing and the ops behind it still apply.
- Clocks: times in payloads are "branch says" and are stored as sent on the visit; durations travel
  and are stored as seconds; the visit records central's receive time. Follow-up dates use the
  branch time, clamped to never be later than the receive time nor earlier than the ticket's last
  follow-up, so a wrong branch clock cannot reorder a ticket's history.
- A branch's ops change only that branch's records: visits are looked up by (branch, visit id)
  (another branch's visit id is ``unknown_entity``), visitors by (branch, ``id_hash``): the same
  person at another branch is another ``Visitor`` row with the same hash (a link, never an
  overwrite of what central shows on the other branch's tickets).
- Personal data: a visitor is recognised by the keyed ``id_hash``; only the last 4 digits of an ID
  number exist here. A NIK-shaped number in a free-text field (``sync.ops.FREE_TEXT_FIELDS``) is
  masked to its last 4 digits before anything is stored. Names, e-mails and phone numbers go to
  ``Visitor`` only (and the e-mail, with consent, to ``Ticket.submitter_email`` so helpdesk can
  write to the visitor), never into follow-up text, rejection messages or logs.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.db import connections, router, transaction
from django.db.models import Max
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext
from helpdesk.lib import safe_template_context
from helpdesk.models import FollowUp, Queue, Ticket, TicketChange
from helpdesk.signals import update_ticket_done

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.followup_titles import status_title
from pst_helpdesk_ext.models import (
    Branch,
    Channel,
    Complaint,
    GuestBookEntry,
    PSTTicket,
    Rating,
    ServiceCategory,
    Visit,
    Visitor,
)
from pst_helpdesk_ext.personal_data import mask_nik_in_text
from pst_helpdesk_ext.services import feed
from pst_helpdesk_ext.services.complaints import announce_new_ticket
from sync import ops as op_kinds
from sync.ops import Op, PayloadError, decode_payload
from sync.store import APPLIED, NOTED, REJECTED, Result

logger = logging.getLogger("pst.intake")

# The ``sender`` of helpdesk signals sent by the intake: receivers (the down-feed) recognise the
# branch's own news by it and do not echo it back to the branch.
INTAKE_SENDER = "pst_helpdesk_ext.intake"

#: Sent after commit, once per walk-in visit that ended at the branch as resolved or referred and
#: whose visitor left an e-mail address with consent: when the later of those two facts reaches
#: central. The hook for the rating link. Keyword arguments: ``visit`` (Visit), ``ticket``
#: (helpdesk Ticket), ``email`` (str). Sender: the ``Visit`` class.
visit_finished = Signal()


_OPEN = Ticket.OPEN_STATUS
_RESOLVED = Ticket.RESOLVED_STATUS
_CLOSED = Ticket.CLOSED_STATUS
_ONE_US = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class OpOutcome:
    """What became of one op: ``result`` is applied, noted or rejected (then ``code`` says why)."""

    op_id: str
    seq: int
    kind: str
    entity_id: str
    result: Result
    code: str = ""
    detail: str = ""


class IntakeRejection(Exception):
    """An op that can never apply. ``code`` goes on the wire, ``message`` to staff."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def apply_walkin_ops(
    branch: Branch, ops: Sequence[Op], received_at: dt.datetime
) -> list[OpOutcome]:
    """Apply ``ops`` of ``branch`` (new to central) in seq order; one outcome per op, same order.

    Runs in one transaction (joins the caller's); notifications and signals run after commit.
    """
    ordered = sorted(ops, key=lambda op: op.seq)
    language = branch.queue.locale or settings.LANGUAGE_CODE
    with translation.override(language), transaction.atomic():
        intake = _Intake(branch, received_at)
        outcomes = intake.run(ordered)
    return outcomes


# --- the batch ----------------------------------------------------------------------------------


class NewRow:
    """A row to insert, as plain attributes named after its model's fields (a relation holds the
    related row or model instance; its id is read when this row is inserted). A batch makes
    thousands of these; model instances would cost ten times as much to build."""

    pk: int | None = None

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


# A walk-in ticket, its PST row and its visit: model instances when they exist at central, new
# rows when this batch creates them. Both are read and written through the same attributes.
Row = Any


@dataclass(eq=False)
class _VisitState:
    visit: Row
    pst: Row
    ticket: Row
    new: bool
    guestbook: Row | None
    last_date: dt.datetime
    has_rating: bool
    visitor: Row | None  # who the guest book says came (a loaded or new Visitor)
    ticket_fields: set[str] = field(default_factory=set)
    visit_fields: set[str] = field(default_factory=set)
    pst_fields: set[str] = field(default_factory=set)
    finished_now: bool = False
    email_now: bool = False


@dataclass(eq=False, slots=True)
class _NewFollowUp:
    """A follow-up to insert (a plain record: a batch makes thousands, model instances cost)."""

    ticket: Row
    date: dt.datetime
    title: str
    comment: str
    public: bool
    new_status: int | None = None
    time_spent: dt.timedelta | None = None
    change: tuple[str, str, str] | None = None  # TicketChange (field, old, new)
    pk: int | None = None


def _window_setting(name: str, unit: str, most: int) -> dt.timedelta:
    """A plausibility window from ``PST_HELPDESK[name]``; a bad value is central's fault
    (ImproperlyConfigured: the batch is retried once it is fixed), never the ops'."""
    value = getattr(pst_settings, name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= most:
        raise ImproperlyConfigured(
            f"PST_HELPDESK[{name!r}] must be a whole number of {unit} from 1 to {most}; "
            f"it is {value!r}"
        )
    return dt.timedelta(**{unit: value})


class _Intake:
    def __init__(self, branch: Branch, received_at: dt.datetime) -> None:
        self.branch = branch
        self.queue: Queue = branch.queue
        self.received_at = received_at
        self.tz = zoneinfo.ZoneInfo(branch.timezone)
        # Branch times are plausible inside this window around central's receive time.
        self.earliest = received_at - _window_setting("SYNC_TIME_PAST_DAYS", "days", 3650)
        self.latest = received_at + _window_setting(
            "SYNC_TIME_FUTURE_SECONDS", "seconds", 30 * 86400
        )
        self.visit_span = _window_setting("SYNC_VISIT_SPAN_DAYS", "days", 366)
        # The batch runs under one language: look each message up once, not once per op.
        self._ = functools.lru_cache(maxsize=None)(gettext)
        self.states: dict[str, _VisitState] = {}
        self.visitors: dict[str, Row] = {}  # id_hash -> visitor (loaded or new)
        self.services: dict[str, ServiceCategory] = {}
        self.subjects: dict[str, ServiceCategory] = {}
        self.walk_in: Channel | None = None
        self.status_labels = {code: str(label) for code, label in Ticket.STATUS_CHOICES}
        self.status_field = self._("Status")
        self.opened = self._("Ticket Opened")
        # Rows to write.
        self.new_tickets: list[NewRow] = []
        self.new_psts: list[NewRow] = []
        self.new_visits: list[NewRow] = []
        self.new_visitors: list[NewRow] = []
        self.changed_visitors: dict[int, Visitor] = {}
        self.new_guestbooks: list[NewRow] = []
        self.changed_guestbooks: dict[int, GuestBookEntry] = {}
        self.followups: list[_NewFollowUp] = []
        self.ratings: list[NewRow] = []
        self.complaints: list[NewRow] = []
        # Loaded rows pointing at new ones: (instance, field attname, new row), set after insert.
        self.pending_links: list[tuple[Any, str, NewRow]] = []
        # After commit.
        self.escalations: list[_NewFollowUp] = []
        self.complaint_tickets: list[NewRow] = []
        # Tickets whose status or owner this batch changed, or whose op became a note: the
        # branch is told their state after the batch (sync/store.py, apply_batch).
        self.told: dict[int, _VisitState] = {}
        self._complaints_queue: Queue | None = None
        # Visits that checked in for an appointment: (code, origin id, queue number).
        self.check_ins: list[tuple[str, str, str]] = []

    # -- driver

    def run(self, ops: Sequence[Op]) -> list[OpOutcome]:
        decoded: list[tuple[Op, Any]] = []
        outcomes: dict[int, OpOutcome] = {}
        for index, op in enumerate(ops):
            try:
                decoded.append((op, _mask_free_text(decode_payload(op.kind, op.payload))))
            except PayloadError as exc:
                outcomes[index] = _outcome(op, REJECTED, exc.code, exc.message)
                decoded.append((op, None))
        self._load([(op, payload) for op, payload in decoded if payload is not None])
        handlers: dict[str, Callable[[Op, Any], Result]] = {
            op_kinds.VISIT_CREATED: self._visit_created,
            op_kinds.GUESTBOOK_RECORDED: self._guestbook_recorded,
            op_kinds.VISIT_CALLED: self._visit_called,
            op_kinds.VISIT_NO_SHOW: self._visit_no_show,
            op_kinds.VISIT_SERVED: self._visit_served,
            op_kinds.CONSULTATION_NOTED: self._consultation_noted,
            op_kinds.VISIT_RESOLVED: self._visit_resolved,
            op_kinds.VISIT_ESCALATED: self._visit_escalated,
            op_kinds.RATING_GIVEN: self._rating_given,
            op_kinds.COMPLAINT_FILED: self._complaint_filed,
        }
        for index, (op, payload) in enumerate(decoded):
            if payload is None:
                continue
            try:
                # Each handler validates everything before it changes anything, so a rejection
                # leaves the batch as it was.
                result = handlers[op.kind](op, payload)
            except IntakeRejection as exc:
                outcomes[index] = _outcome(op, REJECTED, exc.code, exc.message)
            else:
                outcomes[index] = _outcome(op, result)
        self._flush()
        if self.check_ins:
            from pst_helpdesk_ext.services.appointments import link_check_ins

            link_check_ins(self.branch, self.check_ins)
        self._after_commit()
        return [outcomes[index] for index in range(len(ops))]

    def _load(self, decoded: Sequence[tuple[Op, Any]]) -> None:
        """Everything the ops may touch, in a fixed number of queries."""
        for category in ServiceCategory.objects.all():
            if category.kind == ServiceCategory.Kind.SERVICE:
                self.services[category.code] = category
            else:
                self.subjects[category.code] = category
        if any(op.kind == op_kinds.VISIT_CREATED for op, _p in decoded):
            self.walk_in = Channel.objects.filter(code=Channel.WALK_IN).first()
            if self.walk_in is None:
                raise ImproperlyConfigured(
                    "The walk_in channel is missing; run `manage.py migrate pst_helpdesk_ext`."
                )
        # Every visit named, those this batch creates too: one may exist already (a duplicate).
        entity_ids = {op.entity_id for op, _p in decoded}
        if entity_ids:
            # Locking the visits and their tickets: a staff change committed meanwhile cannot be
            # overwritten by a status read before it (PostgreSQL; SQLite serialises writers).
            visits = (
                Visit.objects.filter(branch=self.branch, origin_id__in=entity_ids)
                .select_related("pst_ticket__ticket", "pst_ticket__visitor", "guestbook")
                .select_for_update(of=("self", "pst_ticket__ticket"))
            )
            visits = list(visits)
            ticket_ids = [visit.pst_ticket.ticket_id for visit in visits]
            rated = set(
                Rating.objects.filter(ticket_id__in=ticket_ids).values_list("ticket_id", flat=True)
            )
            last_dates = dict(
                FollowUp.objects.filter(ticket_id__in=ticket_ids)
                .values_list("ticket_id")
                .annotate(last=Max("date"))
                .values_list("ticket_id", "last")
            )
            for visit in visits:
                ticket = visit.pst_ticket.ticket
                if ticket.queue_id == self.queue.pk:
                    ticket.queue = self.queue
                guestbook = getattr(visit, "guestbook", None)
                self.states[visit.origin_id] = _VisitState(
                    visit=visit,
                    pst=visit.pst_ticket,
                    ticket=ticket,
                    new=False,
                    guestbook=guestbook,
                    last_date=last_dates.get(ticket.pk) or ticket.created,
                    has_rating=ticket.pk in rated,
                    visitor=visit.pst_ticket.visitor,
                )
        hashes = {
            payload.id_hash
            for op, payload in decoded
            if op.kind == op_kinds.GUESTBOOK_RECORDED and payload.id_hash
        }
        if hashes:
            # Only this branch's visitors: another branch's visitor with the same hash is the
            # same person, linked by the hash, and never changed by this branch's guest book.
            # The newest wins when a hash is found twice in the branch (two desks raced once).
            own = Visitor.objects.filter(branch=self.branch, id_hash__in=hashes)
            for visitor in own.order_by("id"):
                self.visitors[visitor.id_hash] = visitor

    # -- helpers

    def _state(self, op: Op) -> _VisitState:
        state = self.states.get(op.entity_id)
        if state is None:
            raise IntakeRejection(
                "unknown_entity",
                self._("%(kind)s refers to visit %(visit)s, which central has never received.")
                % {"kind": op.kind, "visit": op.entity_id},
            )
        return state

    def _time(self, name: str, value: str, state: _VisitState | None = None) -> dt.datetime:
        """A branch time from a payload, checked for plausibility (``implausible_time``): within
        the window around central's receive time and, for a step of a visit, near the visit's
        issue time. A time outside them would break every later computation on the ticket."""
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise IntakeRejection(
                "invalid_payload",
                self._("%(field)s: %(value)r is not an ISO 8601 date and time.")
                % {"field": name, "value": value},
            ) from None
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=self.tz)
        if not self._within_window(parsed):
            raise IntakeRejection(
                "implausible_time",
                self._(
                    "%(field)s: %(value)r is not a plausible time. Central received it at "
                    "%(received)s and accepts branch times from %(earliest)s to %(latest)s; "
                    "check the date, time and timezone of the branch PC."
                )
                % {
                    "field": name,
                    "value": value,
                    "received": self._local(self.received_at),
                    "earliest": self._local(self.earliest),
                    "latest": self._local(self.latest),
                },
            )
        if state is not None:
            issued = state.visit.issued_at
            if abs(parsed - issued) > self.visit_span:
                raise IntakeRejection(
                    "implausible_time",
                    self._(
                        "%(field)s: %(value)r is more than %(days)d days away from the time the "
                        "visit's number was issued (%(issued)s); check the branch PC's clock."
                    )
                    % {
                        "field": name,
                        "value": value,
                        "days": self.visit_span.days,
                        "issued": self._local(issued),
                    },
                )
        return parsed

    def _local(self, when: dt.datetime) -> str:
        """A time as the branch's staff read it: in the branch's timezone, to the second."""
        return when.astimezone(self.tz).isoformat(sep=" ", timespec="seconds")

    def _within_window(self, when: dt.datetime) -> bool:
        try:
            # The UTC form too: a time near year 1 or 9999 that only overflows there (as the
            # database driver would convert it) is as implausible as one outside the window.
            when.astimezone(dt.UTC)
            return self.earliest <= when <= self.latest
        except (OverflowError, ValueError):
            return False

    def _hlc_time(self, op: Op) -> dt.datetime:
        """The branch clock when the op was recorded (physical part of its hybrid clock); central's
        receive time when that is not a plausible time."""
        try:
            when = dt.datetime.fromtimestamp((op.hlc >> 16) / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return self.received_at
        return when if self._within_window(when) else self.received_at

    def _stamp(self, state: _VisitState, branch_time: dt.datetime) -> dt.datetime:
        """A follow-up date: branch time, not after receipt, strictly after the last one."""
        date = min(branch_time, self.received_at)
        date = max(date, state.last_date + _ONE_US)
        state.last_date = date
        return date

    def _service(self, name: str, code: str) -> ServiceCategory:
        service = self.services.get(code)
        if service is None:
            raise IntakeRejection(
                "unknown_service",
                self._("%(field)s: %(value)r is not a PST service known at central.")
                % {"field": name, "value": code},
            )
        return service

    def _set(self, state: _VisitState, target: str, **values: Any) -> None:
        obj = {"ticket": state.ticket, "visit": state.visit, "pst": state.pst}[target]
        fields = {"ticket": state.ticket_fields, "visit": state.visit_fields}.get(
            target, state.pst_fields
        )
        for name, value in values.items():
            self._assign(obj, name, value)
            fields.add(name)

    def _assign(self, obj: Row, name: str, value: Any) -> None:
        """Set a field; a loaded instance pointing at a new row gets its id after the insert."""
        if isinstance(value, NewRow) and not isinstance(obj, NewRow):
            self.pending_links.append((obj, f"{name}_id", value))
        else:
            setattr(obj, name, value)

    def _follow_up(
        self,
        state: _VisitState,
        date: dt.datetime,
        comment: str,
        *,
        public: bool = False,
        new_status: int | None = None,
        time_spent: dt.timedelta | None = None,
    ) -> _NewFollowUp:
        """A follow-up exactly as ``helpdesk.update_ticket.update_ticket`` writes it (no user)."""
        ticket = state.ticket
        followup = _NewFollowUp(ticket, date, ticket.title, comment, public, time_spent=time_spent)
        if new_status is not None and new_status != ticket.status:
            old_label = self.status_labels.get(ticket.status, str(ticket.status))
            new_label = self.status_labels.get(new_status, str(new_status))
            followup.new_status = new_status
            followup.title = status_title(ticket.title, new_label)
            followup.change = (self.status_field, old_label, new_label)
            self._set(state, "ticket", status=new_status)
            self.told[id(state)] = state
        # update_ticket's rule, quirk included: any follow-up on a resolved ticket (or a closed
        # one without a resolution) becomes its resolution, as a staff comment there would.
        status = ticket.status
        if status in (_RESOLVED, _CLOSED) and (status == _RESOLVED or ticket.resolution is None):
            self._set(state, "ticket", resolution=comment)
        self._set(state, "ticket", modified=self.received_at)
        self.followups.append(followup)
        return followup

    def _duration(self, seconds: int) -> str:
        minutes, rest = divmod(seconds, 60)
        if minutes and rest:
            return self._("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": rest}
        if minutes:
            return self._("%(minutes)d min") % {"minutes": minutes}
        return self._("%(seconds)d s") % {"seconds": rest}

    def _lifecycle_conflict(self, state: _VisitState) -> str | None:
        """Why a lifecycle op of the branch no longer fits the ticket; None when it fits: the
        ticket is still the branch's (feed.ticket_owner) and the visit still in progress."""
        visit = state.visit
        if visit.outcome == Visit.Outcome.ESCALATED:
            return self._("the visit was escalated, so its ticket is handled by central")
        if feed.ticket_owner(state.ticket, visit) == feed.CENTRAL_OWNER:
            return self._("central changed the ticket to %(status)s") % {
                "status": self.status_labels.get(state.ticket.status, state.ticket.status)
            }
        if visit.outcome != Visit.Outcome.WAITING:
            return self._("the visit had already ended at the branch (%(outcome)s)") % {
                "outcome": Visit.Outcome(visit.outcome).label
            }
        return None

    def _note(self, state: _VisitState, op: Op, fact: str, reason: str) -> Result:
        """The ownership rule: a branch fact that no longer fits becomes a private note."""
        comment = self._(
            "Branch %(branch)s reported: %(fact)s\n\nNot applied to the ticket's status because "
            "%(reason)s."
        ) % {"branch": self.branch.code, "fact": fact, "reason": reason}
        self._follow_up(state, self._stamp(state, self._hlc_time(op)), comment)
        self.told[id(state)] = state
        return NOTED

    # -- handlers, one per op kind

    def _visit_created(self, op: Op, p: op_kinds.VisitCreated) -> Result:
        existing = self.states.get(op.entity_id)
        if existing is not None:
            raise IntakeRejection(
                "duplicate_entity",
                self._("Visit %(visit)s already exists at central (queue number %(number)s).")
                % {"visit": op.entity_id, "number": existing.visit.queue_number},
            )
        service = self._service("service", p.service)
        issued_at = self._time("issued_at", p.issued_at)
        try:
            service_day = dt.date.fromisoformat(p.service_day)
        except ValueError:
            raise IntakeRejection(
                "invalid_payload",
                self._("%(field)s: %(value)r is not a date (YYYY-MM-DD).")
                % {"field": "service_day", "value": p.service_day},
            ) from None
        local_day = issued_at.astimezone(self.tz).date()
        if abs((service_day - local_day).days) > 1:
            raise IntakeRejection(
                "implausible_time",
                self._(
                    "service_day: %(value)s does not match issued_at %(issued)s (%(day)s in the "
                    "branch's timezone %(tz)s)."
                )
                % {
                    "value": p.service_day,
                    "issued": p.issued_at,
                    "day": local_day.isoformat(),
                    "tz": self.branch.timezone,
                },
            )
        assert self.walk_in is not None
        created = min(issued_at, self.received_at)
        service_name = service.name
        title = self._("Walk-in %(number)s: %(service)s") % {
            "number": p.queue_number,
            "service": service_name,
        }
        description = self._(
            "Walk-in visit at %(branch)s, queue number %(number)s for %(service)s, issued "
            "%(issued)s (branch clock)."
        ) % {
            "branch": self.branch.name,
            "number": p.queue_number,
            "service": service_name,
            "issued": p.issued_at,
        }
        if p.appointment:
            self.check_ins.append((p.appointment, op.entity_id, p.queue_number))
        ticket = NewRow(
            title=title[:200],
            queue=self.queue,
            created=created,
            modified=self.received_at,
            status=_OPEN,
            description=description,
            priority=3,
            submitter_email=None,
            resolution=None,
        )
        pst = NewRow(
            ticket=ticket,
            branch=self.branch,
            channel=self.walk_in,
            category=service,
            subject=None,
            visitor=None,
            origin_id=op.entity_id,
            created=self.received_at,
        )
        visit = NewRow(
            pst_ticket=pst,
            branch=self.branch,
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
            received_at=self.received_at,
        )
        pst.visit = visit  # the reverse side, as a loaded PSTTicket has it
        state = _VisitState(
            visit=visit,
            pst=pst,
            ticket=ticket,
            new=True,
            guestbook=None,
            last_date=created - _ONE_US,
            has_rating=False,
            visitor=None,
        )
        self.states[op.entity_id] = state
        self.told[id(state)] = state
        self.new_tickets.append(ticket)
        self.new_psts.append(pst)
        self.new_visits.append(visit)
        # As helpdesk's TicketForm opens a ticket: public, the description as comment.
        self.followups.append(
            _NewFollowUp(ticket, self._stamp(state, created), self.opened, description, True)
        )
        return APPLIED

    def _guestbook_recorded(self, op: Op, p: op_kinds.GuestbookRecorded) -> Result:
        state = self._state(op)
        if p.email:
            try:
                validate_email(p.email)
            except ValidationError:
                raise IntakeRejection(
                    "invalid_payload",
                    self._("email: %(value)r is not a valid e-mail address.") % {"value": p.email},
                ) from None
        recorded_at = self._time("recorded_at", p.recorded_at, state)
        visitor = self.visitors.get(p.id_hash)
        details = {
            "name": p.name,
            "institution": p.institution,
            "email": p.email,
            "phone": p.phone,
            "id_type": p.id_type,
            "id_last4": p.id_last4,
        }
        if visitor is None:
            visitor = NewRow(
                id_hash=p.id_hash,
                branch=self.branch,
                created=self.received_at,
                purged_at=None,
                **details,
            )
            self.visitors[p.id_hash] = visitor
            self.new_visitors.append(visitor)
        else:
            # A returning visitor: the latest guest book is what they told us last.
            for name, value in details.items():
                setattr(visitor, name, value)
            visitor.purged_at = None
            if not isinstance(visitor, NewRow):
                self.changed_visitors[visitor.pk] = visitor
        entry = state.guestbook
        if entry is None:
            entry = NewRow(
                visit=state.visit,
                visitor=visitor,
                purpose=p.purpose,
                consent=p.consent,
                recorded_at=recorded_at,
            )
            state.guestbook = entry
            self.new_guestbooks.append(entry)
        else:
            # The front office corrected the entry: the branch's record, last write wins.
            self._assign(entry, "visitor", visitor)
            entry.purpose, entry.consent, entry.recorded_at = p.purpose, p.consent, recorded_at
            if not isinstance(entry, NewRow):
                self.changed_guestbooks[entry.pk] = entry
        self._set(state, "pst", visitor=visitor)
        state.visitor = visitor
        email = p.email if (p.email and p.consent) else None
        if email != state.ticket.submitter_email:
            self._set(state, "ticket", submitter_email=email)
            state.email_now = bool(email)
        comment = self._("Guest book recorded.")
        if p.institution:
            institution = self._("Institution: %(institution)s.")
            comment += " " + institution % {"institution": p.institution}
        if p.purpose:
            comment += "\n\n" + self._("Purpose: %(purpose)s") % {"purpose": p.purpose}
        self._follow_up(state, self._stamp(state, recorded_at), comment)
        return APPLIED

    def _visit_called(self, op: Op, p: op_kinds.VisitCalled) -> Result:
        state = self._state(op)
        called_at = self._time("called_at", p.called_at, state)
        visit = state.visit
        # A call is a record, never a status change: after a no-show (final at the branch) or
        # an escalation it is only a follow-up; the wait is measured to the first call.
        if not p.recall or visit.called_at is None:
            self._set(state, "visit", called_at=called_at, wait_seconds=p.wait_seconds)
        self._set(state, "visit", desk=p.desk)
        if p.recall:
            comment = self._("Called again to desk %(desk)s.") % {"desk": p.desk}
        else:
            comment = self._("Called to desk %(desk)s after waiting %(wait)s.") % {
                "desk": p.desk,
                "wait": self._duration(p.wait_seconds),
            }
        self._follow_up(state, self._stamp(state, called_at), comment)
        return APPLIED

    def _visit_no_show(self, op: Op, p: op_kinds.VisitNoShow) -> Result:
        state = self._state(op)
        at = self._time("at", p.at, state)
        comment = self._("Did not come forward when called to desk %(desk)s.") % {"desk": p.desk}
        conflict = self._lifecycle_conflict(state)
        if conflict:
            return self._note(state, op, comment, conflict)
        self._set(state, "visit", outcome=Visit.Outcome.NO_SHOW, finished_at=at, desk=p.desk)
        self._follow_up(state, self._stamp(state, at), comment, new_status=_CLOSED)
        return APPLIED

    def _visit_served(self, op: Op, p: op_kinds.VisitServed) -> Result:
        state = self._state(op)
        started_at = self._time("started_at", p.started_at, state)
        self._set(state, "visit", served_at=started_at, desk=p.desk)
        if p.officer:
            self._set(state, "visit", officer=p.officer)
            comment = self._("Service started at desk %(desk)s by %(officer)s.") % {
                "desk": p.desk,
                "officer": p.officer,
            }
        else:
            comment = self._("Service started at desk %(desk)s.") % {"desk": p.desk}
        self._follow_up(state, self._stamp(state, started_at), comment)
        return APPLIED

    def _consultation_noted(self, op: Op, p: op_kinds.ConsultationNoted) -> Result:
        state = self._state(op)
        subject = self.subjects.get(p.subject)
        if subject is None:
            raise IntakeRejection(
                "unknown_subject",
                self._("subject: %(value)r is not a consultation subject known at central.")
                % {"value": p.subject},
            )
        self._set(state, "pst", subject=subject)
        if p.officer and not state.visit.officer:
            self._set(state, "visit", officer=p.officer)
        comment = self._("Consultation note (%(subject)s):") % {"subject": subject.name}
        if p.officer:
            comment = self._("Consultation note (%(subject)s, %(officer)s):") % {
                "subject": subject.name,
                "officer": p.officer,
            }
        self._follow_up(state, self._stamp(state, self._hlc_time(op)), f"{comment}\n\n{p.notes}")
        return APPLIED

    def _visit_resolved(self, op: Op, p: op_kinds.VisitResolved) -> Result:
        state = self._state(op)
        finished_at = self._time("finished_at", p.finished_at, state)
        referred_to = (
            self._service("referred_to", p.referred_to) if p.referred_to is not None else None
        )
        if p.outcome == "referred":
            target = referred_to.name if referred_to else self._("another service")
            comment = self._("Referred to %(service)s after %(duration)s of service.") % {
                "service": target,
                "duration": self._duration(p.service_seconds),
            }
        else:
            comment = self._("Resolved at the desk after %(duration)s of service.") % {
                "duration": self._duration(p.service_seconds)
            }
        if p.note:
            comment = f"{comment}\n\n{p.note}"
        conflict = self._lifecycle_conflict(state)
        if conflict:
            return self._note(state, op, comment, conflict)
        self._set(
            state,
            "visit",
            outcome=Visit.Outcome.REFERRED if p.outcome == "referred" else Visit.Outcome.RESOLVED,
            finished_at=finished_at,
            service_seconds=p.service_seconds,
            referred_to=referred_to,
        )
        state.finished_now = True
        self._follow_up(
            state,
            self._stamp(state, finished_at),
            comment,
            public=True,
            new_status=_RESOLVED,
            time_spent=dt.timedelta(seconds=p.service_seconds),
        )
        return APPLIED

    def _visit_escalated(self, op: Op, p: op_kinds.VisitEscalated) -> Result:
        state = self._state(op)
        finished_at = self._time("finished_at", p.finished_at, state)
        mode = Visit.FollowUp(p.follow_up)
        comment = self._("Needs follow-up (%(mode)s) after %(duration)s of service.") % {
            "mode": mode.label,
            "duration": self._duration(p.service_seconds),
        }
        if p.note:
            comment = f"{comment}\n\n{p.note}"
        conflict = self._lifecycle_conflict(state)
        if conflict:
            return self._note(state, op, comment, conflict)
        self._set(
            state,
            "visit",
            outcome=Visit.Outcome.ESCALATED,
            follow_up=mode.value,
            finished_at=finished_at,
            service_seconds=p.service_seconds,
        )
        followup = self._follow_up(
            state,
            self._stamp(state, finished_at),
            comment,
            time_spent=dt.timedelta(seconds=p.service_seconds),
        )
        self.escalations.append(followup)
        self.told[id(state)] = state  # its owner is central now
        return APPLIED

    def _rating_given(self, op: Op, p: op_kinds.RatingGiven) -> Result:
        state = self._state(op)
        if state.has_rating:
            raise IntakeRejection(
                "duplicate_rating",
                self._("Visit %(visit)s (ticket %(ticket)s) already has a rating; one per ticket.")
                % {"visit": op.entity_id, "ticket": state.ticket.pk or self._("new")},
            )
        state.has_rating = True
        self.ratings.append(
            NewRow(
                ticket=state.ticket,
                branch=self.branch,
                scores=dict(p.scores),
                overall=p.overall,
                comment=p.comment,
                created=self.received_at,
            )
        )
        # No follow-up: the rating is its own record (shown in the ticket's PST panel), and a
        # comment on a resolved ticket would replace its resolution (update_ticket's rule).
        return APPLIED

    def _complaint_filed(self, op: Op, p: op_kinds.ComplaintFiled) -> Result:
        state = self._state(op)
        queue = self._complaints()
        tier = Complaint.Tier(p.tier)
        filed_at = min(self._hlc_time(op), self.received_at)
        ticket = NewRow(
            title=(
                self._("Complaint about walk-in %(number)s at %(branch)s")
                % {"number": state.visit.queue_number, "branch": self.branch.name}
            )[:200],
            queue=queue,
            created=filed_at,
            modified=self.received_at,
            status=_OPEN,
            description=p.text,
            priority=3,
            # Anonymous unless the visitor gave an address for the answer (``reply_to``).
            submitter_email=p.reply_to or None,
        )
        pst = NewRow(
            ticket=ticket,
            branch=self.branch,
            channel_id=_id_of(state.pst, "channel"),
            category_id=_id_of(state.visit, "service"),
            visitor=state.visitor if p.reply_to else None,
            created=self.received_at,
        )
        self.new_tickets.append(ticket)
        self.new_psts.append(pst)
        self.complaints.append(
            NewRow(
                ticket=ticket,
                about=state.ticket,
                branch=self.branch,
                tier=tier.value,
                lapor_ref=p.lapor_ref,
                created=self.received_at,
            )
        )
        self.followups.append(_NewFollowUp(ticket, filed_at, self.opened, p.text, True))
        self.complaint_tickets.append(ticket)
        # The visit's ticket gets no follow-up: the complaint links to it (Complaint.about).
        return APPLIED

    def _complaints(self) -> Queue:
        if self._complaints_queue is None:
            from pst_helpdesk_ext.services.branches import ensure_complaints_queue

            self._complaints_queue = ensure_complaints_queue()
        return self._complaints_queue

    # -- writing

    def _flush(self) -> None:
        # Parents before children; each insert gives its rows the ids the children read.
        insert_rows(Ticket, self.new_tickets)
        insert_rows(Visitor, self.new_visitors)
        insert_rows(PSTTicket, self.new_psts)
        insert_rows(Visit, self.new_visits)
        insert_rows(GuestBookEntry, self.new_guestbooks)
        if self.followups:
            ids = _FOLLOWUP_ROWS.insert(
                [
                    (
                        f.ticket.pk,
                        f.date,
                        f.title,
                        f.comment,
                        f.public,
                        f.new_status,
                        f.time_spent,
                    )
                    for f in self.followups
                ],
                returning=True,
            )
            for followup, pk in zip(self.followups, ids, strict=True):
                followup.pk = pk
            changes = [(f.pk, *f.change) for f in self.followups if f.change is not None]
            if changes:
                _TICKET_CHANGE_ROWS.insert(changes)
        insert_rows(Rating, self.ratings)
        insert_rows(Complaint, self.complaints)
        for obj, attname, row in self.pending_links:
            setattr(obj, attname, row.pk)
        if self.changed_visitors:
            Visitor.objects.bulk_update(
                list(self.changed_visitors.values()),
                ["name", "institution", "email", "phone", "id_type", "id_last4", "purged_at"],
            )
        if self.changed_guestbooks:
            GuestBookEntry.objects.bulk_update(
                list(self.changed_guestbooks.values()),
                ["visitor", "purpose", "consent", "recorded_at"],
            )
        existing = [state for state in self.states.values() if not state.new]
        _bulk_update(Ticket, [(s.ticket, s.ticket_fields) for s in existing])
        _bulk_update(Visit, [(s.visit, s.visit_fields) for s in existing])
        _bulk_update(PSTTicket, [(s.pst, s.pst_fields) for s in existing])
        if self.told:
            # In this transaction, the state after the batch of every ticket it changed (and of
            # those whose op became a note, where the branch acted on a stale view): a branch
            # that loses its disk, or reads from an old cursor, converges on central's view.
            feed.publish_ticket_states(self.branch, [(s.ticket, s.pst) for s in self.told.values()])

    def _after_commit(self) -> None:
        finished = [
            state.visit.pk
            for state in self.states.values()
            if (state.finished_now or state.email_now)
            and state.visit.outcome in (Visit.Outcome.RESOLVED, Visit.Outcome.REFERRED)
            and state.ticket.submitter_email
        ]
        news = _News(
            escalations=[followup.pk for followup in self.escalations],
            complaints=[ticket.pk for ticket in self.complaint_tickets],
            finished=finished,
        )
        if news:
            transaction.on_commit(lambda: _announce(news), robust=True)


# --- bulk inserts -------------------------------------------------------------------------------

# Field types whose Python values both drivers (sqlite3, psycopg) take as they are.
_AS_IS = frozenset(
    {
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "BooleanField",
        "ForeignKey",
        "OneToOneField",
    }
)


class RowInserter:
    """Multi-row ``INSERT ... RETURNING id`` for one model, without building model instances.

    Why not ``bulk_create``: it costs about a millisecond per visit in model instantiation and
    per-value SQL compilation, which alone would cap the intake below its target. This writes
    the same columns with the same values: each value goes through its field's own
    ``get_db_prep_save`` (skipped for the types the drivers take as they are; a value repeated in
    a column is converted once), ``constants`` are columns with one value for every row, columns
    not named take their field's default (which must then be a constant), statements are cut to
    the backend's parameter limit, and ids come back in row order, as ``bulk_create`` relies on.
    Like ``bulk_create`` it sends no signals and calls no ``save()``.
    """

    def __init__(
        self,
        model: type[Any],
        fields: Sequence[str] | None = None,
        constants: dict[str, Any] | None = None,
    ) -> None:
        meta = model._meta
        concrete = [f for f in meta.concrete_fields if not f.primary_key]
        named = concrete if fields is None else [meta.get_field(name) for name in fields]
        fixed = {meta.get_field(name): value for name, value in (constants or {}).items()}
        for f in concrete:
            if f in named or f in fixed:
                continue
            if f.has_default() and callable(f.default):
                raise ImproperlyConfigured(
                    f"{model.__name__}.{f.name}: its default differs per row; name it"
                )
            fixed[f] = f.get_default()
        self.model = model
        self.named = named
        self.fixed = list(fixed.items())
        self.columns = [f.column for f in named] + [f.column for f, _value in self.fixed]
        self.table = meta.db_table
        self.pk_column = meta.pk.column

    def insert(
        self,
        rows: Sequence[Sequence[Any]],
        *,
        returning: bool = False,
        prepared: frozenset[str] = frozenset(),
    ) -> list[int]:
        """Insert ``rows`` (values of the named fields, in order); the new ids if ``returning``.
        Fields in ``prepared`` hold values already in their database form."""
        if not rows:
            return []
        # The real connection, not the ``django.db.connection`` proxy: tens of thousands of
        # field conversions each look it up.
        connection = connections[router.db_for_write(self.model)]
        if returning and not connection.features.can_return_rows_from_bulk_insert:
            raise ImproperlyConfigured(
                "The walk-in intake needs a database that returns ids from a bulk insert "
                "(PostgreSQL, or SQLite 3.35 or later)."
            )
        constant = [f.get_db_prep_save(value, connection) for f, value in self.fixed]
        adapt_datetime = connection.ops.adapt_datetimefield_value
        columns: list[list[Any]] = []
        for index, f in enumerate(self.named):
            raw = [row[index] for row in rows]
            kind = f.get_internal_type()
            if kind in _AS_IS or f.name in prepared:
                columns.append(raw)
                continue
            converted: dict[Any, Any] = {}
            column = []
            for value in raw:
                try:
                    column.append(converted[value])
                except (KeyError, TypeError):  # new, or unhashable (a JSON list)
                    if kind == "DateTimeField" and isinstance(value, dt.datetime) and value.tzinfo:
                        # What the field's get_db_prep_save does to an aware datetime, minus
                        # its checks for naive ones.
                        db_value = adapt_datetime(value)
                    else:
                        db_value = f.get_db_prep_save(value, connection)
                    column.append(db_value)
                    if isinstance(value, dt.datetime | uuid.UUID | str | int):
                        converted[value] = db_value
            columns.append(column)
        quote = connection.ops.quote_name
        # Only identifiers from the model's meta, quoted; every value is a bound parameter.
        names = ", ".join(quote(c) for c in self.columns)
        head = f"INSERT INTO {quote(self.table)} ({names}) "
        tail = f" RETURNING {quote(self.pk_column)}" if returning else ""
        ids: list[int] = []
        if connection.vendor == "postgresql":
            # One array per column, as Django's own bulk_create does on PostgreSQL: the client
            # binds a handful of parameters instead of parsing a statement with thousands.
            types = [
                f.db_type(connection).split("(")[0]
                for f in [*self.named, *(f for f, _ in self.fixed)]
            ]
            arrays = columns + [[value] * len(rows) for value in constant]
            unnest = ", ".join(f"(%s)::{db_type}[]" for db_type in types)
            with connection.cursor() as cursor:
                cursor.execute(f"{head}SELECT * FROM UNNEST({unnest}){tail}", arrays)  # noqa: S608
                if returning:
                    ids.extend(row[0] for row in cursor.fetchall())
            return ids
        values = [[*row, *constant] for row in zip(*columns, strict=True)]
        placeholders = "(" + ", ".join(["%s"] * len(self.columns)) + ")"
        max_params = connection.features.max_query_params or 30_000
        per_statement = max(1, max_params // len(self.columns))
        with connection.cursor() as cursor:
            for start in range(0, len(values), per_statement):
                chunk = values[start : start + per_statement]
                params = [value for row in chunk for value in row]
                cursor.execute(
                    head + "VALUES " + ", ".join([placeholders] * len(chunk)) + tail, params
                )
                if returning:
                    ids.extend(row[0] for row in cursor.fetchall())
        return ids


_ROW_INSERTERS: dict[type[Any], RowInserter] = {}
_MISSING = object()


def insert_rows(model: type[Any], rows: Sequence[NewRow]) -> None:
    """Insert new rows of ``model`` and give each its id. A field the row does not name takes
    its default (a callable one, like a ticket's secret key, is called for each row)."""
    if not rows:
        return
    inserter = _ROW_INSERTERS.get(model)
    if inserter is None:
        inserter = _ROW_INSERTERS[model] = RowInserter(model)
    plan = []
    for f in inserter.named:
        default = f.get_default if f.has_default() and callable(f.default) else None
        plan.append((f.name, f.attname if f.is_relation else None, default, f.get_default()))
    values = []
    for row in rows:
        given = row.__dict__
        record = []
        for name, attname, default, constant in plan:
            value = given.get(name, _MISSING)
            if attname is not None:
                if value is _MISSING:
                    value = given.get(attname, _MISSING)
                elif value is not None:
                    value = value.pk
            if value is _MISSING:
                value = default() if default is not None else constant
            record.append(value)
        values.append(record)
    for row, pk in zip(rows, inserter.insert(values, returning=True), strict=True):
        row.pk = pk


def _id_of(row: Row, relation: str) -> int | None:
    """The id a (loaded or new) row points at through ``relation``."""
    if isinstance(row, NewRow):
        related = row.__dict__.get(relation)
        return related.pk if related is not None else row.__dict__.get(f"{relation}_id")
    return getattr(row, f"{relation}_id")  # type: ignore[no-any-return]


_FOLLOWUP_ROWS = RowInserter(
    FollowUp,
    [
        "ticket",
        "date",
        "title",
        "comment",
        "public",
        "new_status",
        "time_spent",
    ],
    # update_ticket records whom it e-mailed; for a step that happened at the branch, nobody.
    constants={"email_recipients": []},
)
_TICKET_CHANGE_ROWS = RowInserter(TicketChange, ["followup", "field", "old_value", "new_value"])


def _mask_free_text(payload: Any) -> Any:
    """A NIK typed into a free-text field is masked before it is stored (the branch masks too,
    before its outbox; this covers an older or a hostile agent)."""
    return op_kinds.replace_free_text(payload, mask_nik_in_text)


def _outcome(op: Op, result: Result, code: str = "", detail: str = "") -> OpOutcome:
    return OpOutcome(op.op_id, op.seq, op.kind, op.entity_id, result, code, detail)


def _bulk_update(model: type[Any], rows: Iterable[tuple[Any, set[str]]]) -> None:
    """One UPDATE for all changed rows of a model, over the union of their changed fields.

    The rows were read under a row lock in this transaction, so writing an unchanged field back
    writes the value that is there.
    """
    changed = [(obj, fields) for obj, fields in rows if fields]
    if not changed:
        return
    fields = sorted(set().union(*(fields for _obj, fields in changed)))
    if len(changed) == 1:
        # Usually just the visit that straddles two batches: a plain UPDATE is cheaper to build
        # than bulk_update's CASE expression, and still one query.
        obj = changed[0][0]
        attnames = [model._meta.get_field(name).attname for name in fields]
        values = {attname: getattr(obj, attname) for attname in attnames}
        model.objects.filter(pk=obj.pk).update(**values)
        return
    model.objects.bulk_update([obj for obj, _f in changed], fields)


# --- live news, after commit --------------------------------------------------------------------


@dataclass(frozen=True)
class _News:
    """What a committed batch announces (ids: the rows are read fresh after commit)."""

    escalations: list[int]  # follow-ups that escalated a visit
    complaints: list[int]  # complaint tickets
    finished: list[int]  # visits resolved or referred, with an e-mail to send the rating link to

    def __bool__(self) -> bool:
        return bool(self.escalations or self.complaints or self.finished)


def _announce(news: _News) -> None:
    """After commit: helpdesk's notifications and signals for what is news, a few queries for the
    whole batch. A failing receiver is logged; the batch stays committed and acknowledged."""
    if news.escalations:
        escalations = FollowUp.objects.filter(pk__in=news.escalations)
        for followup in escalations.select_related("ticket__queue").order_by("id"):
            _announce_escalation(followup.ticket, followup)
    if news.complaints:
        for ticket in Ticket.objects.filter(pk__in=news.complaints).select_related("queue"):
            # A complaint is news: the complaints queue and the complainant hear of it.
            announce_new_ticket(ticket, sender=INTAKE_SENDER)
    if news.finished and visit_finished.has_listeners(Visit):
        visits = Visit.objects.filter(pk__in=news.finished).select_related(
            "pst_ticket__ticket__queue"
        )
        for visit in visits.order_by("id"):
            ticket = visit.pst_ticket.ticket
            if not ticket.submitter_email:
                continue
            for receiver, error in visit_finished.send_robust(
                sender=Visit, visit=visit, ticket=ticket, email=ticket.submitter_email
            ):
                if isinstance(error, Exception):
                    logger.error("visit_finished receiver %r failed: %s", receiver, error)


def _announce_escalation(ticket: Ticket, followup: FollowUp) -> None:
    """The queue hears of a visit that needs follow-up, through helpdesk's own templates and
    signal (so its webhooks fire), exactly as if the ticket had been opened for the queue now."""
    queue = ticket.queue
    sent_to: set[str] = set()
    # Ticket.send would deliver these roles to nobody: skip rendering its context.
    has_recipient = bool(queue.new_ticket_cc or queue.updated_ticket_cc) or (
        queue.enable_notifications_on_email_events and ticket.ticketcc_set.exists()
    )
    if has_recipient:
        with translation.override(queue.locale or settings.LANGUAGE_CODE):
            context = safe_template_context(ticket)
            context["comment"] = followup.comment
            ticket.send(
                {
                    "new_ticket_cc": ("newticket_cc", context),
                    "ticket_cc": ("newticket_cc", context),
                },
                sent_to=sent_to,
                fail_silently=True,
            )
    if sent_to:
        followup.email_recipients = sorted(sent_to)
        FollowUp.objects.filter(pk=followup.pk).update(email_recipients=followup.email_recipients)
    for receiver, error in update_ticket_done.send_robust(sender=INTAKE_SENDER, followup=followup):
        if isinstance(error, Exception):
            logger.error("update_ticket_done receiver %r failed: %s", receiver, error)


# --- online tickets -----------------------------------------------------------------------------

# Who sends helpdesk's ``new_ticket_done``, and the PST channel that means.
ONLINE_SENDER_CHANNELS = {
    "TicketForm": Channel.WEB,
    "PublicTicketForm": Channel.WEB,
    "create_object_from_email_message": Channel.EMAIL,
}


def record_online_ticket(ticket: Ticket, *, sender: object) -> PSTTicket | None:
    """A ticket opened through helpdesk itself (web form, e-mail) gets its PST row: the channel it
    came by and the branch whose queue it is in. Idempotent; the request is not complete yet (the
    online SLA clock starts when staff mark it complete, DOMAIN.md)."""
    channel_code = ONLINE_SENDER_CHANNELS.get(str(sender))
    if channel_code is None:
        return None  # the intake's own tickets, or another app's: not ours to classify
    channel = Channel.objects.filter(code=channel_code).first()
    if channel is None:
        return None
    pst, _created = PSTTicket.objects.get_or_create(
        ticket=ticket,
        defaults={
            "channel": channel,
            "branch": Branch.objects.filter(queue_id=ticket.queue_id).first(),
        },
    )
    return pst
