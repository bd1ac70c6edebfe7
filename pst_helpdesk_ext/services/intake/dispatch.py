"""The intake's entry point: decode a branch's ops, dispatch each by kind to its handler, write the
batch, schedule its announcements.

What it owns: ``apply_walkin_ops`` (one call is one transaction, inside the sync store's, and a
constant number of queries whatever the number of visits), ``HANDLERS`` (op kind
-> handler), ``OpOutcome`` (one per op, in the order given). An op whose payload does not decode
is rejected with the decoder's code; a handler's ``IntakeRejection`` rejects its op and changes
nothing, and the ops behind it still apply. A NIK-shaped number in a free-text field
(``sync.ops.FREE_TEXT_FIELDS``) is masked to its last 4 digits before anything sees it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation

from pst_helpdesk_ext.models import Branch
from pst_helpdesk_ext.personal_data import mask_nik_in_text
from pst_helpdesk_ext.services import intake_pauses
from pst_helpdesk_ext.services.intake import announce, feedback, guestbook, visits
from pst_helpdesk_ext.services.intake.batch import write
from pst_helpdesk_ext.services.intake.context import Intake, IntakeRejection
from sync import ops as op_kinds
from sync.ops import Op, PayloadError, decode_payload
from sync.store import REJECTED, Result

Handler = Callable[[Intake, Op, Any], Result]

#: Op kind -> its handler ``(run, op, decoded payload) -> result``.
HANDLERS: dict[str, Handler] = {
    op_kinds.VISIT_CREATED: visits.visit_created,
    op_kinds.GUESTBOOK_RECORDED: guestbook.guestbook_recorded,
    op_kinds.VISIT_CALLED: visits.visit_called,
    op_kinds.VISIT_NO_SHOW: visits.visit_no_show,
    op_kinds.VISIT_SERVED: visits.visit_served,
    op_kinds.CONSULTATION_NOTED: visits.consultation_noted,
    op_kinds.VISIT_RESOLVED: visits.visit_resolved,
    op_kinds.VISIT_ESCALATED: visits.visit_escalated,
    op_kinds.RATING_GIVEN: feedback.rating_given,
    op_kinds.COMPLAINT_FILED: feedback.complaint_filed,
    **intake_pauses.HANDLERS,
}


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


def apply_walkin_ops(
    branch: Branch, ops: Sequence[Op], received_at: dt.datetime, *, savepoint: bool = True
) -> list[OpOutcome]:
    """Apply ``ops`` of ``branch`` (new to central) in seq order; one outcome per op, same order.

    Runs in one transaction (joins the caller's, in a savepoint unless ``savepoint`` is False:
    then a failure leaves the caller's transaction to be rolled back whole, and the caller saves
    two round trips); notifications and signals run after commit.
    """
    ordered = sorted(ops, key=lambda op: op.seq)
    language = branch.queue.locale or settings.LANGUAGE_CODE
    with translation.override(language), transaction.atomic(savepoint=savepoint):
        outcomes = _run(Intake(branch, received_at), ordered)
    return outcomes


def _run(run: Intake, ops: Sequence[Op]) -> list[OpOutcome]:
    decoded: list[tuple[Op, Any]] = []
    outcomes: dict[int, OpOutcome] = {}
    for index, op in enumerate(ops):
        try:
            decoded.append((op, _mask_free_text(decode_payload(op.kind, op.payload))))
        except PayloadError as exc:
            outcomes[index] = _outcome(op, REJECTED, exc.code, exc.message)
            decoded.append((op, None))
    run.load([(op, payload) for op, payload in decoded if payload is not None])
    intake_pauses.load(run, [op for op, payload in decoded if payload is not None])
    for index, (op, payload) in enumerate(decoded):
        if payload is None:
            continue
        try:
            # Each handler validates everything before it changes anything, so a rejection
            # leaves the batch as it was.
            result = HANDLERS[op.kind](run, op, payload)
        except IntakeRejection as exc:
            outcomes[index] = _outcome(op, REJECTED, exc.code, exc.message)
        else:
            outcomes[index] = _outcome(op, result)
    codes = {category.pk: code for code, category in run.services.items()}
    codes.update((category.pk, code) for code, category in run.subjects.items())
    write(run.batch, run.branch, run.states.values(), codes)
    intake_pauses.write(run)
    if run.check_ins:
        from pst_helpdesk_ext.services.appointments import link_check_ins

        link_check_ins(run.branch, run.check_ins)
    announce.schedule(run)
    return [outcomes[index] for index in range(len(ops))]


def _mask_free_text(payload: Any) -> Any:
    """A NIK typed into a free-text field is masked before it is stored (the branch masks too,
    before its outbox; this covers an older or a hostile agent)."""
    return op_kinds.replace_free_text(payload, mask_nik_in_text)


def _outcome(op: Op, result: Result, code: str = "", detail: str = "") -> OpOutcome:
    return OpOutcome(op.op_id, op.seq, op.kind, op.entity_id, result, code, detail)
