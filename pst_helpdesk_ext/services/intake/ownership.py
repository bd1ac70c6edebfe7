"""The ownership rule as the intake applies it (DESIGN.md, "Ownership, not merging").

The ticket of a visit is the branch's until the visit is escalated or central changes its status,
then it is central's (``feed.ticket_owner``). The rule itself is ``sync.ownership.decide``, the one
the simulation and the memory stores run; this module turns its verdict into words. A lifecycle op
(no-show, resolved, escalated) changes the ticket's status only when the ticket is still the
branch's and the visit still in progress (``lifecycle_conflict`` is None); otherwise it is applied
as a private note (``note``: result ``noted``) and the visit row is left alone, and the branch is
told the ticket's state after the batch.
"""

from __future__ import annotations

from pst_helpdesk_ext.models import Visit
from pst_helpdesk_ext.services import feed
from pst_helpdesk_ext.services.intake.batch import VisitState
from pst_helpdesk_ext.services.intake.context import Intake
from sync import ownership as rule
from sync.ops import Op
from sync.store import NOTED, Result


def lifecycle_conflict(run: Intake, state: VisitState, kind: str) -> str | None:
    """Why a lifecycle op of the branch no longer fits the ticket; None when it fits
    (``sync.ownership.decide``: the ticket is still the branch's and the visit in progress)."""
    visit = state.visit
    verdict = rule.decide(kind, feed.visit_ticket(state.ticket, visit))
    if verdict.reason == rule.NOTE_ESCALATED:
        return run._("the visit was escalated, so its ticket is handled by central")
    if verdict.reason == rule.NOTE_CENTRAL_CHANGED:
        return run._("central changed the ticket to %(status)s") % {
            "status": run.rules.status_labels.get(state.ticket.status, state.ticket.status)
        }
    if verdict.reason == rule.NOTE_ENDED:
        return run._("the visit had already ended at the branch (%(outcome)s)") % {
            "outcome": Visit.Outcome(visit.outcome).label
        }
    return None


def note(run: Intake, state: VisitState, op: Op, fact: str, reason: str) -> Result:
    """The ownership rule: a branch fact that no longer fits becomes a private note."""
    comment = run._(
        "Branch %(branch)s reported: %(fact)s\n\nNot applied to the ticket's status because "
        "%(reason)s."
    ) % {"branch": run.branch.code, "fact": fact, "reason": reason}
    run.follow_up(state, run.stamp(state, run.hlc_time(op)), comment)
    run.batch.tell(state)
    return NOTED
