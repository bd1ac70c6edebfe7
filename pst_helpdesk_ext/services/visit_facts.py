"""The desk facts a ``ticket.status`` feed row carries for a ticket that is still the branch's.

Why (sync/recovery.py, docs/protocol.md "A visit the branch lost"): a branch whose disk lost a
visit after central had it (a lost disk tail, a PC restored from a backup) learns of it again only
from the feed. The ticket stays the branch's, so the branch takes it back from these facts and its
staff finish it offline; central keeps no second queue of them.

Rules:
- Only rows of branch-owned tickets carry facts; central-owned ones are central's to work on.
- Desk facts only (service, queue number, service day, issue time, desk, stage): never the
  guest-book entry or anything else about the visitor.
- Service codes are read once per batch of rows (``codes``), so a batch's query count stays flat.
"""

from __future__ import annotations

from typing import Any

from pst_helpdesk_ext.models import ServiceCategory, Visit
from sync.recovery import FACTS_KEY, Stage, VisitFacts, facts_payload


def _stage(visit: Visit) -> Stage:
    if visit.outcome == Visit.Outcome.NO_SHOW:
        return "no_show"
    if visit.outcome != Visit.Outcome.WAITING:
        return "finished"
    if visit.served_at is not None:
        return "serving"
    return "called" if visit.called_at is not None else "waiting"


def _service_code(visit: Visit, codes: dict[int, str]) -> str:
    service_id = visit.__dict__.get("service_id")
    if service_id is None:  # a row the intake is about to insert: it holds the service itself
        return str(visit.service.code)
    if service_id not in codes:
        codes.update(ServiceCategory.objects.values_list("pk", "code"))
    return codes[service_id]


def visit_facts(
    visit: Visit | None, *, branch_owned: bool, codes: dict[int, str] | None = None
) -> dict[str, Any]:
    """``{FACTS_KEY: facts}`` to merge into a ``ticket.status`` payload, or ``{}``. ``codes``
    caches service codes by id over many rows (filled on first use)."""
    if visit is None or not branch_owned:
        return {}
    outcome = visit.outcome if visit.outcome != Visit.Outcome.WAITING else ""
    facts = VisitFacts(
        service=_service_code(visit, {} if codes is None else codes),  # type: ignore[arg-type]
        queue_number=visit.queue_number,
        service_day=visit.service_day.isoformat(),
        issued_at=visit.issued_at.isoformat(),
        stage=_stage(visit),
        outcome="" if outcome == Visit.Outcome.NO_SHOW else outcome,  # type: ignore[arg-type]
        desk=visit.desk or "",
    )
    return {FACTS_KEY: facts_payload(facts)}
