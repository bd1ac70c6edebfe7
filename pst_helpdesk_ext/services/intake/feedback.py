"""Handlers of what the visitor said about a visit: ``rating.given`` (one rating per ticket, its
own record, no follow-up) and ``complaint.filed`` (a new ticket in the complaints queue, linked
to the visit's ticket; announced after commit as helpdesk announces a new ticket).
"""

from __future__ import annotations

from helpdesk.models import Queue, Ticket

from pst_helpdesk_ext.models import Complaint
from pst_helpdesk_ext.services.bulk_insert import NewRow, id_of
from pst_helpdesk_ext.services.intake.context import Intake, IntakeRejection
from sync import ops as op_kinds
from sync.ops import Op
from sync.store import APPLIED, Result

_OPEN = Ticket.OPEN_STATUS


def rating_given(run: Intake, op: Op, p: op_kinds.RatingGiven) -> Result:
    state = run.state_of(op)
    if state.has_rating:
        raise IntakeRejection(
            "duplicate_rating",
            run._("Visit %(visit)s (ticket %(ticket)s) already has a rating; one per ticket.")
            % {"visit": op.entity_id, "ticket": state.ticket.pk or run._("new")},
        )
    state.has_rating = True
    run.batch.ratings.append(
        NewRow(
            ticket=state.ticket,
            branch=run.branch,
            scores=dict(p.scores),
            overall=p.overall,
            comment=p.comment,
            created=run.received_at,
        )
    )
    # No follow-up: the rating is its own record (shown in the ticket's PST panel), and a
    # comment on a resolved ticket would replace its resolution (update_ticket's rule).
    return APPLIED


def complaint_filed(run: Intake, op: Op, p: op_kinds.ComplaintFiled) -> Result:
    state = run.state_of(op)
    queue = _complaints_queue(run)
    tier = Complaint.Tier(p.tier)
    filed_at = min(run.hlc_time(op), run.received_at)
    ticket = NewRow(
        title=(
            run._("Complaint about walk-in %(number)s at %(branch)s")
            % {"number": state.visit.queue_number, "branch": run.branch.name}
        )[:200],
        queue=queue,
        created=filed_at,
        modified=run.received_at,
        status=_OPEN,
        description=p.text,
        priority=3,
        # Anonymous unless the visitor gave an address for the answer (``reply_to``).
        submitter_email=p.reply_to or None,
    )
    pst = NewRow(
        ticket=ticket,
        branch=run.branch,
        channel_id=id_of(state.pst, "channel"),
        category_id=id_of(state.visit, "service"),
        visitor=state.visitor if p.reply_to else None,
        created=run.received_at,
    )
    run.batch.new_tickets.append(ticket)
    run.batch.new_psts.append(pst)
    run.batch.complaints.append(
        NewRow(
            ticket=ticket,
            about=state.ticket,
            branch=run.branch,
            tier=tier.value,
            lapor_ref=p.lapor_ref,
            created=run.received_at,
        )
    )
    run.batch.followups.append(run.rules.opening(ticket, filed_at, p.text))
    run.batch.complaint_tickets.append(ticket)
    # The visit's ticket gets no follow-up: the complaint links to it (Complaint.about).
    return APPLIED


def _complaints_queue(run: Intake) -> Queue:
    if run.complaints_queue is None:
        from pst_helpdesk_ext.services.branches import ensure_complaints_queue

        run.complaints_queue = ensure_complaints_queue()
    return run.complaints_queue
