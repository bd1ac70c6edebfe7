"""The ownership rule: what a branch's op may do to the ticket of a visit, decided in one place.

What it owns: ``decide(op_kind, ticket) -> Verdict``, the rule central's intake applies to every
op (``pst_helpdesk_ext.services.intake``), the rule the down-feed uses to say whose a ticket is
(``owner``, used by ``pst_helpdesk_ext.services.feed.ticket_owner``) and the rule the simulation's
reference stores apply (``sync.memory``), so the simulation proves the rule that ships. Pure: no
Django, no I/O; the callers map their rows to ``VisitTicket`` and the verdict back to their rows.

The rule (DESIGN.md, ownership, not merging):
- A visit's ticket is the branch's from ``visit.created`` until the visit is escalated or central
  changes the ticket's status away from what the branch's own ops left it in; then it is
  central's (``owner``).
- A lifecycle op (no-show, resolved, escalated) finishes the visit and sets the ticket's status
  only while the ticket is the branch's and the visit is still in progress (outcome ``waiting``);
  otherwise it becomes a note on the ticket (``NOTE``, with the reason), status untouched.
- Every other op (called, served, consultation note, guest book, rating, complaint) is a record of
  the branch's and never changes the ticket's status: a call is a record, never a status change.
- ``visit.created`` of a visit central knows is a duplicate; any other op of a visit central does
  not know refers to an unknown entity (both ``REJECT``, with the wire rejection code).
"""

from __future__ import annotations

from dataclasses import dataclass

from sync import ops as kinds
from sync.vocabulary import (
    BRANCH,
    CENTRAL,
    OUTCOME_ESCALATED,
    OUTCOME_NO_SHOW,
    OUTCOME_RESOLVED,
    OUTCOME_WAITING,
)

# What each lifecycle op makes of the visit (``visit.resolved`` may say "referred" in its payload:
# the caller records that detail; for the rule it is a resolution like any other).
LIFECYCLE: dict[str, str] = {
    kinds.VISIT_NO_SHOW: OUTCOME_NO_SHOW,
    kinds.VISIT_RESOLVED: OUTCOME_RESOLVED,
    kinds.VISIT_ESCALATED: OUTCOME_ESCALATED,
}

# Verdicts.
CREATE = "create"  # a new visit: its ticket opens, the branch's, outcome waiting
APPLY = "apply"  # a lifecycle op that fits: the visit ends with ``outcome``, owner ``owner``
RECORD = "record"  # a record of the branch's: stored, no status change
NOTE = "note"  # a lifecycle op that no longer fits: a note on the ticket, nothing else changes
REJECT = "reject"  # can never apply: ``reason`` is the wire rejection code

# Why a lifecycle op became a note (the callers word it for people).
NOTE_ESCALATED = "escalated"  # the visit was escalated: central handles the ticket
NOTE_CENTRAL_CHANGED = "central_changed"  # central changed the ticket's status
NOTE_ENDED = "ended"  # the visit had already ended at the branch


@dataclass(frozen=True)
class VisitTicket:
    """What the rule needs to know of a visit's ticket as central holds it."""

    outcome: str  # the visit's outcome (``OUTCOME_WAITING`` while it is in progress)
    owner: str  # BRANCH or CENTRAL (``owner``)


@dataclass(frozen=True)
class Verdict:
    action: str  # CREATE, APPLY, RECORD, NOTE or REJECT
    reason: str = ""  # NOTE: one of NOTE_*; REJECT: the rejection code
    outcome: str = ""  # CREATE and APPLY: the visit's outcome after the op
    owner: str = ""  # CREATE and APPLY: the ticket's owner after the op

    @property
    def changes_status(self) -> bool:
        return self.action in (CREATE, APPLY)


def owner(outcome: str | None, status_as_branch_left: bool) -> str:
    """Whose a visit's ticket is: central's when there is no visit, when it was escalated or when
    its status is not the one the branch's own ops left (``status_as_branch_left`` False, i.e.
    central changed it); the branch's otherwise."""
    if outcome is None or outcome == OUTCOME_ESCALATED or not status_as_branch_left:
        return CENTRAL
    return BRANCH


def decide(op_kind: str, ticket: VisitTicket | None) -> Verdict:
    """The verdict on one op of kind ``op_kind`` about a visit whose ticket is ``ticket`` (None:
    central does not know the visit). The payload is checked elsewhere (``sync.ops``)."""
    if op_kind == kinds.VISIT_CREATED:
        if ticket is not None:
            return Verdict(REJECT, "duplicate_entity")
        return Verdict(CREATE, outcome=OUTCOME_WAITING, owner=BRANCH)
    if ticket is None:
        return Verdict(REJECT, "unknown_entity")
    if op_kind not in LIFECYCLE:
        return Verdict(RECORD)
    if ticket.outcome == OUTCOME_ESCALATED:
        return Verdict(NOTE, NOTE_ESCALATED)
    if ticket.owner == CENTRAL:
        return Verdict(NOTE, NOTE_CENTRAL_CHANGED)
    if ticket.outcome != OUTCOME_WAITING:
        return Verdict(NOTE, NOTE_ENDED)
    outcome = LIFECYCLE[op_kind]
    return Verdict(
        APPLY, outcome=outcome, owner=CENTRAL if outcome == OUTCOME_ESCALATED else BRANCH
    )
