"""SLA clocks: the PST service standard measured on every PST ticket (docs/sla.md has the rules).

Layout: ``policy`` (policies, calendars, the clock's constants), ``clock`` (the pure evaluation:
facts + now -> state, no writes), ``actions`` (staff and visitor facts, and what helpdesk's
signals mean to a clock), ``tick`` (the cron run and its report). This package's namespace is
its public API, the names below; callers use ``sla.<name>``.

Rules this module keeps:
- The clock state on ``PSTTicket`` is a pure function of recorded *facts* (when the request became
  complete, pauses, when the clock stopped, the walk-in visit's times) and of *now*. Every instant
  it stores is derived from those facts (the breach time is the due time, "at risk since" is the
  instant the threshold was crossed), so evaluating twice gives the same row: ``pst_sla_tick`` is
  idempotent, whenever and however often cron runs it.
- ``met`` and ``breached`` are final: the standard is about the first answer (online) or the call
  (walk-in); a later reply or a reopening does not restart it.
- Facts come from helpdesk's own history: staff actions here record a follow-up through
  ``helpdesk.update_ticket.update_ticket`` (via ``helpdesk_gateway``), and the receivers read
  the follow-ups helpdesk writes (``update_ticket_done``). Breaches, escalations and inactivity
  closes are follow-ups too, with the notifications helpdesk sends for them.
- Online clocks run in working time on the branch's ``WorkingCalendar``; walk-in clocks run in
  real minutes (the office is open while a visitor waits in its queue).
- The walk-in intake inserts rows without signals, so walk-in clocks are evaluated from ``Visit``
  rows by ``pst_sla_tick`` (and by ``walkin_visits_changed`` for a caller that wants them at once).
- A complaint (a ticket with a ``Complaint``, whatever its channel) runs on its own clock, in
  working time: the first answer within ``COMPLAINT_FIRST_RESPONSE_DAYS``, the settlement by its
  tier's deadline (``Complaint.due_at``); computed from helpdesk's history each time.
- One ticket that cannot be evaluated never stops the tick: it is logged with its id and the
  reason, counted in ``TickReport.errors`` and left as it was; the others are done.
"""

from pst_helpdesk_ext.services.sla.actions import (
    SLAActionError,
    followup_recorded,
    mark_request_complete,
    recompute,
    request_submitted,
    ticket_created,
    visitor_replied,
    wait_for_visitor,
)
from pst_helpdesk_ext.services.sla.clock import (
    ComplaintFacts,
    complaint_facts,
    complaint_of,
    evaluated_now,
    is_complaint,
    preload_complaints,
)
from pst_helpdesk_ext.services.sla.policy import (
    CLOCK_FIELDS,
    COMPLAINT_TIER_WORKING_DAYS,
    FINAL_STATES,
    OPEN_CLOCK_STATES,
    STOP_STATUSES,
    ZONE_LABELS,
    PolicyTable,
    calendar_for,
    complaint_due_at,
    local_label,
)
from pst_helpdesk_ext.services.sla.tick import (
    TickReport,
    recompute_all,
    tick,
    walkin_visits_changed,
)

__all__ = [
    "CLOCK_FIELDS",
    "COMPLAINT_TIER_WORKING_DAYS",
    "FINAL_STATES",
    "OPEN_CLOCK_STATES",
    "STOP_STATUSES",
    "ZONE_LABELS",
    "ComplaintFacts",
    "PolicyTable",
    "SLAActionError",
    "TickReport",
    "calendar_for",
    "complaint_due_at",
    "complaint_facts",
    "complaint_of",
    "evaluated_now",
    "followup_recorded",
    "is_complaint",
    "local_label",
    "mark_request_complete",
    "preload_complaints",
    "recompute",
    "recompute_all",
    "request_submitted",
    "tick",
    "ticket_created",
    "visitor_replied",
    "wait_for_visitor",
    "walkin_visits_changed",
]
