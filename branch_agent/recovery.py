"""Taking back a visit this PC's disk lost after central had it (sync/recovery.py, issue 17).

What it owns: turning a ``ticket.status`` feed row of a branch-owned ticket this store does not
hold into a recovered ``Visit``, so the desk can see and finish it with no network.

Rules:
- Runs inside the sync store's transaction that applies the feed page (``apply_changes``): the
  visit appears with the cursor that carried it, or not at all.
- Only desk facts come back (service, queue number, day, issue time, desk, stage). The guest-book
  entry is not sent down, so a recovered visit has none; staff are told so on the Sync page.
- The queue number is kept as central holds it (the visitor holds that paper). Its position in
  the day is the number's own unless this PC has meanwhile given that position to another
  visitor; then it takes the next free one, so numbers issued from now on never repeat it.
- Nothing is lost on bad input: a row whose facts are missing or do not fit, or name a service
  this PC does not know, becomes an update for staff (the status, and why it was not recovered),
  logged with the visit id.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from branch_agent.models import ServiceCategory, TicketUpdate, Visit
from sync.recovery import FactsError, VisitFacts, decode_facts, queue_position
from sync.store import FeedEntry

log = logging.getLogger("branch_agent.sync")

RECOVERED_KIND = "visit.recovered"
NOT_RECOVERED_KIND = "visit.not_recovered"

LOCAL_STATUS = {
    "waiting": Visit.Status.WAITING,
    "called": Visit.Status.CALLED,
    "serving": Visit.Status.SERVING,
    "finished": Visit.Status.FINISHED,
    "no_show": Visit.Status.NO_SHOW,
}


def recover_visit(item: FeedEntry) -> Visit | None:
    """The visit of ``item`` (a ``ticket.status`` row of a branch-owned ticket this store lacks),
    re-created from its facts; None, with an update for staff, when it cannot be."""
    try:
        visit_id = uuid.UUID(item.entity_id)
        facts = decode_facts(item.payload)
        service = ServiceCategory.objects.filter(code=facts.service).first()
        if service is None:
            raise FactsError(f"service {facts.service!r} is not known on this PC yet")
        issued_at = dt.datetime.fromisoformat(facts.issued_at)
        service_day = dt.date.fromisoformat(facts.service_day)
    except (FactsError, ValueError) as exc:
        log.warning(
            "visit %s not recovered from feed row %d: %s", item.entity_id, item.feed_id, exc
        )
        _tell_staff(
            item,
            None,
            NOT_RECOVERED_KIND,
            _("This PC lost this visit and could not take it back from central: %(reason)s")
            % {"reason": exc},
        )
        return None
    if issued_at.tzinfo is None:
        issued_at = issued_at.replace(tzinfo=dt.UTC)
    visit = Visit.objects.create(
        id=visit_id,
        service=service,
        service_day=service_day,
        number=_free_position(service, service_day, queue_position(facts.queue_number)),
        queue_number=facts.queue_number,
        issued_at=issued_at,
        **_stage_fields(facts),
    )
    log.warning(
        "visit %s (%s of %s) recovered from central: this PC had lost it",
        item.entity_id,
        facts.queue_number,
        facts.service_day,
    )
    _tell_staff(
        item,
        visit,
        RECOVERED_KIND,
        _(
            "%(number)s came back from central: this PC had lost it (a restored backup or a"
            " lost disk write). Its guest-book entry is not on this PC."
        )
        % {"number": facts.queue_number},
    )
    return visit


def _free_position(service: ServiceCategory, day: dt.date, wanted: int) -> int:
    taken = Visit.objects.filter(service=service, service_day=day)
    if wanted > 0 and not taken.filter(number=wanted).exists():
        return wanted
    return (taken.aggregate(top=Max("number"))["top"] or 0) + 1


def _stage_fields(facts: VisitFacts) -> dict[str, object]:
    fields: dict[str, object] = {"status": LOCAL_STATUS[facts.stage], "desk": facts.desk}
    if facts.stage == "finished":
        fields["outcome"] = facts.outcome or Visit.Outcome.RESOLVED
    return fields


def _tell_staff(item: FeedEntry, visit: Visit | None, kind: str, text: str) -> None:
    TicketUpdate.objects.get_or_create(
        key=f"{kind}:{item.entity_id}",
        defaults={
            "feed_id": item.feed_id,
            "visit": visit,
            "entity_id": item.entity_id[:64],
            "kind": kind,
            "status": str(item.payload.get("status_label") or item.payload.get("status", ""))[:80],
            "text": text,
            "at": timezone.now(),
        },
    )
