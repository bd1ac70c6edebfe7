"""The front office: the guest book of a visit (consent required, the ID number already hashed
by the form, a NIK typed into free text kept as its last 4 digits only) and how often an ID was
seen before."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass

from django.utils.translation import gettext as _

from branch_agent import outbox
from branch_agent.models import GuestBookEntry, Visit
from branch_agent.personal_data import mask_nik_in_text
from branch_agent.services.common import Refused, form_submit, iso, now_local, visit_in_write
from sync import ops


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
        submit = form_submit(token, "guestbook")
        if submit.earlier_visit is not None:
            return submit.earlier_visit.guestbook
        visit = visit_in_write(visit_id)
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
        submit.record(visit)
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
                recorded_at=iso(moment),
            ),
        )
    return entry


def returning_visits(id_hash: str, *, exclude: Visit | None = None) -> int:
    """How often this ID was seen before (by its keyed hash): front office greets returners."""
    query = GuestBookEntry.objects.filter(id_hash=id_hash)
    if exclude is not None:
        query = query.exclude(visit=exclude)
    return query.count()
