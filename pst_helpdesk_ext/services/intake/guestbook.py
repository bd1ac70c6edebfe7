"""Handler of ``guestbook.recorded``: who came (a ``Visitor`` of this branch, recognised by the
keyed ``id_hash``; the latest guest book is what they told us last), the guest book entry (the
front office may correct it: last write wins) and, with consent, the e-mail helpdesk writes to.
Names, e-mails and phone numbers go to ``Visitor`` only, never into follow-up text.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from pst_helpdesk_ext.services.bulk_insert import NewRow
from pst_helpdesk_ext.services.intake.context import Intake, IntakeRejection
from sync import ops as op_kinds
from sync.ops import Op
from sync.store import APPLIED, Result


def guestbook_recorded(run: Intake, op: Op, p: op_kinds.GuestbookRecorded) -> Result:
    state = run.state_of(op)
    if p.email:
        try:
            validate_email(p.email)
        except ValidationError:
            raise IntakeRejection(
                "invalid_payload",
                run._("email: %(value)r is not a valid e-mail address.") % {"value": p.email},
            ) from None
    recorded_at = run.time("recorded_at", p.recorded_at, state)
    visitor = run.visitors.get(p.id_hash)
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
            branch=run.branch,
            created=run.received_at,
            purged_at=None,
            **details,
        )
        run.visitors[p.id_hash] = visitor
        run.batch.new_visitors.append(visitor)
    else:
        # A returning visitor: the latest guest book is what they told us last.
        for name, value in details.items():
            setattr(visitor, name, value)
        visitor.purged_at = None
        if not isinstance(visitor, NewRow):
            run.batch.changed_visitors[visitor.pk] = visitor
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
        run.batch.new_guestbooks.append(entry)
    else:
        # The front office corrected the entry: the branch's record, last write wins.
        run.assign(entry, "visitor", visitor)
        entry.purpose, entry.consent, entry.recorded_at = p.purpose, p.consent, recorded_at
        if not isinstance(entry, NewRow):
            run.batch.changed_guestbooks[entry.pk] = entry
    run.set(state, "pst", visitor=visitor)
    state.visitor = visitor
    email = p.email if (p.email and p.consent) else None
    if email != state.ticket.submitter_email:
        run.set(state, "ticket", submitter_email=email)
        state.email_now = bool(email)
    comment = run._("Guest book recorded.")
    if p.institution:
        institution = run._("Institution: %(institution)s.")
        comment += " " + institution % {"institution": p.institution}
    if p.purpose:
        comment += "\n\n" + run._("Purpose: %(purpose)s") % {"purpose": p.purpose}
    run.follow_up(state, run.stamp(state, recorded_at), comment)
    return APPLIED
