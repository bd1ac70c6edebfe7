"""The context of one intake call: what it loaded, the plausibility of branch times, and the
helpers every handler uses to change a visit (``set``, ``follow_up``, ``stamp``...).

What it owns:
- ``Intake``: the branch, central's receive time, the windows branch times must fall in, the
  rows the ops may touch (read up front by ``load`` in a fixed number of queries, visits and
  their tickets locked), the batch language's messages, and the ``Batch`` being built.
- ``IntakeRejection``: an op that can never apply (``code`` goes on the wire, ``message`` to
  staff). Handlers raise it before they change anything.
- Clocks: times in payloads are "branch says", checked against the window around central's
  receive time (``SYNC_TIME_PAST_DAYS``, ``SYNC_TIME_FUTURE_SECONDS``) and, for a step of a
  visit, against the visit's issue time (``SYNC_VISIT_SPAN_DAYS``). Follow-up dates use the
  branch time, clamped to never be later than the receive time nor earlier than the ticket's
  last follow-up (``stamp``), so a wrong branch clock cannot reorder a ticket's history.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import get_language, gettext
from helpdesk.models import FollowUp, Queue

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.helpdesk_gateway import NewFollowUp, UpdateTicketRules
from pst_helpdesk_ext.models import (
    Branch,
    Channel,
    Rating,
    ServiceCategory,
    Visit,
    Visitor,
)
from pst_helpdesk_ext.services.bulk_insert import NewRow, Row
from pst_helpdesk_ext.services.intake.batch import Batch, VisitState
from sync import ids
from sync import ops as op_kinds
from sync.ops import Op

ONE_US = dt.timedelta(microseconds=1)


class IntakeRejection(Exception):
    """An op that can never apply. ``code`` goes on the wire, ``message`` to staff."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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


class Intake:
    """One intake call: its context, its loaded rows and the batch it builds."""

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
        self.language = get_language()  # for the categories' names (``name_in``)
        self.rules = UpdateTicketRules(self._)
        self.states: dict[str, VisitState] = {}
        self.visitors: dict[str, Row] = {}  # id_hash -> visitor (loaded or new)
        self.services: dict[str, ServiceCategory] = {}
        self.subjects: dict[str, ServiceCategory] = {}
        self.walk_in_id: int | None = None  # the walk-in channel's
        self.complaints_queue: Queue | None = None
        self.batch = Batch()
        # Visits that checked in for an appointment: (code, origin id, queue number).
        self.check_ins: list[tuple[str, str, str]] = []

    def load(self, decoded: Sequence[tuple[Op, Any]]) -> None:
        """Everything the ops may touch, in a fixed number of queries."""
        # The reference rows: the categories, with the walk-in channel's id on each (one
        # round trip for both).
        walk_in = Channel.objects.filter(code=Channel.WALK_IN).values("pk")[:1]
        for category in ServiceCategory.objects.annotate(walk_in_id=Subquery(walk_in)):
            self.walk_in_id = category.walk_in_id
            if category.kind == ServiceCategory.Kind.SERVICE:
                self.services[category.code] = category
            else:
                self.subjects[category.code] = category
        if any(op.kind == op_kinds.VISIT_CREATED for op, _p in decoded):
            if self.walk_in_id is None:  # no category to carry it (or no channel)
                self.walk_in_id = walk_in.values_list("pk", flat=True).first()
            if self.walk_in_id is None:
                raise ImproperlyConfigured(
                    "The walk_in channel is missing; run `manage.py pst_restore_reference_data`."
                )
        # Every visit named, those this batch creates too: one may exist already (a duplicate).
        entity_ids = {op.entity_id for op, _p in decoded}
        if entity_ids:
            # Locking the visits and their tickets: a staff change committed meanwhile cannot be
            # overwritten by a status read before it (PostgreSQL; SQLite serialises writers).
            # With each, in the same statement (one round trip), its ticket's last follow-up
            # date and whether it was rated.
            ticket = OuterRef("pst_ticket__ticket_id")
            visits = (
                Visit.objects.filter(branch=self.branch, origin_id__in=entity_ids)
                .select_related("pst_ticket__ticket", "pst_ticket__visitor", "guestbook")
                .select_for_update(of=("self", "pst_ticket__ticket"))
                .annotate(
                    last_followup=Subquery(
                        FollowUp.objects.filter(ticket_id=ticket)
                        .order_by("-date")
                        .values("date")[:1]
                    ),
                    rated=Exists(Rating.objects.filter(ticket_id=ticket)),
                )
            )
            visits = list(visits)
            rated = {visit.pst_ticket.ticket_id for visit in visits if visit.rated}
            last_dates = {visit.pst_ticket.ticket_id: visit.last_followup for visit in visits}
            for visit in visits:
                ticket = visit.pst_ticket.ticket
                if ticket.queue_id == self.queue.pk:
                    ticket.queue = self.queue
                guestbook = getattr(visit, "guestbook", None)
                self.states[visit.origin_id] = VisitState(
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

    def state_of(self, op: Op) -> VisitState:
        state = self.states.get(op.entity_id)
        if state is None:
            raise IntakeRejection(
                "unknown_entity",
                self._("%(kind)s refers to visit %(visit)s, which central has never received.")
                % {"kind": op.kind, "visit": op.entity_id},
            )
        return state

    def time(self, name: str, value: str, state: VisitState | None = None) -> dt.datetime:
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
        if not self.within_window(parsed):
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
                    "received": self.local(self.received_at),
                    "earliest": self.local(self.earliest),
                    "latest": self.local(self.latest),
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
                        "issued": self.local(issued),
                    },
                )
        return parsed

    def local(self, when: dt.datetime) -> str:
        """A time as the branch's staff read it: in the branch's timezone, to the second."""
        return when.astimezone(self.tz).isoformat(sep=" ", timespec="seconds")

    def within_window(self, when: dt.datetime) -> bool:
        try:
            # The UTC form too: a time near year 1 or 9999 that only overflows there (as the
            # database driver would convert it) is as implausible as one outside the window.
            when.astimezone(dt.UTC)
            return self.earliest <= when <= self.latest
        except (OverflowError, ValueError):
            return False

    def hlc_time(self, op: Op) -> dt.datetime:
        """The branch clock when the op was recorded (physical part of its hybrid clock); central's
        receive time when that is not a plausible time."""
        try:
            when = ids.wall_time(op.hlc)
        except (OverflowError, OSError, ValueError):
            return self.received_at
        return when if self.within_window(when) else self.received_at

    def stamp(self, state: VisitState, branch_time: dt.datetime) -> dt.datetime:
        """A follow-up date: branch time, not after receipt, strictly after the last one."""
        date = min(branch_time, self.received_at)
        date = max(date, state.last_date + ONE_US)
        state.last_date = date
        return date

    def service(self, name: str, code: str) -> ServiceCategory:
        service = self.services.get(code)
        if service is None:
            raise IntakeRejection(
                "unknown_service",
                self._("%(field)s: %(value)r is not a PST service known at central.")
                % {"field": name, "value": code},
            )
        return service

    def set(self, state: VisitState, target: str, **values: Any) -> None:
        if target == "ticket":
            obj, fields = state.ticket, state.ticket_fields
        elif target == "visit":
            obj, fields = state.visit, state.visit_fields
        else:
            obj, fields = state.pst, state.pst_fields
        for name, value in values.items():
            if isinstance(value, NewRow) and not isinstance(obj, NewRow):
                self.batch.pending_links.append((obj, f"{name}_id", value))
            else:
                setattr(obj, name, value)
        fields.update(values)

    def assign(self, obj: Row, name: str, value: Any) -> None:
        """Set a field; a loaded instance pointing at a new row gets its id after the insert."""
        if isinstance(value, NewRow) and not isinstance(obj, NewRow):
            self.batch.pending_links.append((obj, f"{name}_id", value))
        else:
            setattr(obj, name, value)

    def follow_up(
        self,
        state: VisitState,
        date: dt.datetime,
        comment: str,
        *,
        public: bool = False,
        new_status: int | None = None,
        time_spent: dt.timedelta | None = None,
    ) -> NewFollowUp:
        """A follow-up exactly as ``helpdesk.update_ticket.update_ticket`` writes it (no user;
        the rules are the gateway's), added to the batch with its changes to the ticket."""
        followup, changes = self.rules.update(
            state.ticket, date, comment, public=public, new_status=new_status, time_spent=time_spent
        )
        if "status" in changes:
            self.batch.tell(state)
        self.set(state, "ticket", **changes, modified=self.received_at)
        self.batch.followups.append(followup)
        return followup

    def duration(self, seconds: int) -> str:
        minutes, rest = divmod(seconds, 60)
        if minutes and rest:
            return self._("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": rest}
        if minutes:
            return self._("%(minutes)d min") % {"minutes": minutes}
        return self._("%(seconds)d s") % {"seconds": rest}
