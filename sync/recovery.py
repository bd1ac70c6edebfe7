"""What a branch needs to take back a visit its own disk lost after central had it.

The problem (issue 17, found by the simulation): a branch whose disk loses a visit after central
applied it (a lost disk tail, or the PC restored from a backup) learns of that ticket again only
from the down-feed. The ticket is still the branch's (ownership rule: nobody escalated or changed
it), so no one at central works on it, and without its desk facts the branch cannot show it either.

The decision (docs/protocol.md, "A visit the branch lost"): every ``ticket.status`` row of a ticket
that is the branch's carries the visit's desk facts under ``"visit"`` (``VisitFacts``). A branch
that does not hold the visit re-creates it from them as a recovered record, in the transaction that
applies the row, and its staff finish it offline like any other. Central keeps ownership as the
rule says; nothing changes hands.

Rules:
- Desk facts only: service, queue number, service day, issue time, the desk and the stage the
  visit reached. Never personal data: the guest-book entry (name, contact, ID hash) is not sent
  back; the recovered visit has none, and staff are told so.
- Facts ride only on rows of branch-owned tickets, and central only writes a branch rows of that
  branch's own tickets (the feed is per branch; the branch's identity comes from CURVE), so a
  branch can only ever recover its own records.
- A row without facts (an older central) or with facts that do not decode is not fatal: the
  branch keeps the status as news for staff and recovers nothing from it.
- Pure and typed: both programs and the simulation's memory central use this one definition.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from sync.ops import IsoTime, ServiceCode

FACTS_KEY = "visit"  # where the facts sit in a ``ticket.status`` payload

Stage = Literal["waiting", "called", "serving", "finished", "no_show"]
FinishedOutcome = Literal["", "resolved", "referred", "escalated"]

# The memory central's ticket statuses (sync/memory.py) as the stage a desk shows.
STAGE_OF_STATUS: dict[str, Stage] = {
    "waiting": "waiting",
    "called": "called",
    "serving": "serving",
    "no_show": "no_show",
    "resolved": "finished",
    "escalated": "finished",
}


class VisitFacts(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """The desk facts of one visit, as central holds them (unknown fields: a newer central)."""

    service: ServiceCode
    queue_number: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]-\d{3,4}$")]
    service_day: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    issued_at: IsoTime
    stage: Stage = "waiting"
    outcome: FinishedOutcome = ""
    desk: Annotated[str, msgspec.Meta(max_length=40)] = ""


class FactsError(ValueError):
    """A ``ticket.status`` row whose visit facts are missing or do not fit ``VisitFacts``."""


def facts_payload(facts: VisitFacts) -> dict[str, Any]:
    """The facts as the plain mapping that goes under ``FACTS_KEY``."""
    return msgspec.to_builtins(facts)  # type: ignore[no-any-return]


def decode_facts(status_payload: dict[str, Any]) -> VisitFacts:
    """The visit facts of a ``ticket.status`` payload; ``FactsError`` says what is wrong."""
    raw = status_payload.get(FACTS_KEY)
    if raw is None:
        raise FactsError("the row carries no visit facts (a central older than this agent)")
    try:
        return msgspec.convert(raw, VisitFacts)
    except msgspec.ValidationError as exc:
        raise FactsError(f"visit facts do not fit: {exc}") from None


def queue_position(queue_number: str) -> int:
    """The number within its service day of a queue number (``K-007`` is 7)."""
    return int(queue_number.partition("-")[2])


__all__ = [
    "FACTS_KEY",
    "STAGE_OF_STATUS",
    "FactsError",
    "VisitFacts",
    "decode_facts",
    "facts_payload",
    "queue_position",
]
