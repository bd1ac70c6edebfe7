"""The down-feed's payloads, typed: what central writes in each feed row and what a branch reads.

What it owns: one dataclass per feed kind (next to the typed ops of ``sync.ops``), built by
central (``pst_helpdesk_ext.services.feed``: ``as_payload()``) and parsed by the agent
(``branch_agent.sync_store``: ``parse(payload)``). The wire format is the plain mapping
``as_payload()`` returns (field order as declared); it is the one documented in
docs/protocol.md, section 7.1 (and the header of ``pst_helpdesk_ext.services.feed``).

Rules:
- Parsing is lenient, because a newer or older central may send more, less or other: a missing
  field or one of the wrong type takes its default, text is cut to the branch's column size,
  unknown fields are ignored. A feed item is never refused for its payload (the agent skips what
  it cannot use, e.g. a category without code or kind). Booleans never count as numbers.
- Kinds: ``category.upsert``, ``channel.upsert``, ``kb_category.upsert``, ``kb.upsert`` (reference
  data, for every branch), ``<family>.delete`` (``Deleted``), ``ticket.status`` and
  ``ticket.reply`` (one branch's tickets; entity: the visit id the branch gave),
  ``appointment.upsert`` (one branch's in-person appointments; entity: central's id),
  ``feed.start``.
- Never personal data: no names, e-mails, phone numbers or ID digits of visitors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sync.vocabulary import BRANCH

CATEGORY_UPSERT = "category.upsert"
CHANNEL_UPSERT = "channel.upsert"
KB_CATEGORY_UPSERT = "kb_category.upsert"
KB_UPSERT = "kb.upsert"
TICKET_STATUS = "ticket.status"
TICKET_REPLY = "ticket.reply"
FEED_START = "feed.start"
APPOINTMENT_UPSERT = "appointment.upsert"
REFERENCE_FAMILIES = ("category", "channel", "kb_category", "kb")


def _int(payload: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = payload.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _text(payload: Mapping[str, Any], key: str, limit: int) -> str:
    value = payload.get(key)
    return value[:limit] if isinstance(value, str) else ""


def parse_time(value: object) -> dt.datetime | None:
    """An ISO 8601 time from a payload (naive ones are UTC); None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class _Payload:
    def as_payload(self) -> dict[str, Any]:
        """The wire mapping (what the feed row holds)."""
        return asdict(self)  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True)
class CategoryUpsert(_Payload):
    id: int
    code: str
    kind: str
    parent: str | None
    name_id: str
    name_en: str
    queue_letter: str
    order: int
    active: bool

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> CategoryUpsert:
        kind = p.get("kind")
        parent = p.get("parent")
        return cls(
            id=_int(p, "id"),
            code=_text(p, "code", 40),
            kind=kind if isinstance(kind, str) else "",
            parent=parent if isinstance(parent, str) else None,
            name_id=_text(p, "name_id", 120),
            name_en=_text(p, "name_en", 120),
            queue_letter=_text(p, "queue_letter", 1),
            order=_int(p, "order"),
            active=bool(p.get("active", True)),
        )


@dataclass(frozen=True)
class ChannelUpsert(_Payload):
    id: int
    code: str
    name_id: str
    name_en: str
    online: bool
    order: int


@dataclass(frozen=True)
class KbCategoryUpsert(_Payload):
    id: int
    slug: str
    name: str
    title: str
    description: str
    language: str  # the queue's locale; "" when the texts' language is not known

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> KbCategoryUpsert:
        return cls(
            id=_int(p, "id"),
            slug=_text(p, "slug", 100),
            name=_text(p, "name", 200),
            title=_text(p, "title", 200),
            description=_text(p, "description", 20_000),
            language=_text(p, "language", 16),
        )


@dataclass(frozen=True)
class KbUpsert(_Payload):
    id: int
    category: int
    title: str
    question: str
    answer: str
    order: int
    updated: str | None  # ISO 8601

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> KbUpsert:
        return cls(
            id=_int(p, "id"),
            category=_int(p, "category"),
            title=_text(p, "title", 300),
            question=_text(p, "question", 100_000),
            answer=_text(p, "answer", 200_000),
            order=_int(p, "order"),
            updated=_text(p, "updated", 40),
        )


@dataclass(frozen=True)
class Deleted(_Payload):
    """``<family>.delete``: the entity with central id ``id`` is gone."""

    id: int

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> Deleted:
        return cls(id=_int(p, "id"))


@dataclass(frozen=True)
class TicketStatus(_Payload):
    """The status of one of the branch's tickets as central holds it (``owner``: BRANCH or
    CENTRAL, ``sync.ownership``). ``status`` and ``at`` are kept as sent: with the entity they
    key the branch's record of the news, so a repeated row is recognised."""

    ticket_id: int
    status: Any
    status_label: str
    open: bool | None  # None: not said
    owner: str
    at: Any

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> TicketStatus:
        owner = p.get("owner")
        return cls(
            ticket_id=_int(p, "ticket_id"),
            status=p.get("status"),
            status_label=_text(p, "status_label", 80) or str(p.get("status", "")),
            open=bool(p.get("open")) if "open" in p else None,
            owner=owner if isinstance(owner, str) else "",
            at=p.get("at"),
        )

    @property
    def owned_by_branch(self) -> bool:
        return self.owner == BRANCH

    @property
    def at_time(self) -> dt.datetime | None:
        return parse_time(self.at)


@dataclass(frozen=True)
class TicketReply(_Payload):
    """A public reply central's staff wrote on one of the branch's tickets."""

    ticket_id: int
    followup_id: int
    comment: str
    at: str | None

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> TicketReply:
        at = p.get("at")
        return cls(
            ticket_id=_int(p, "ticket_id"),
            followup_id=_int(p, "followup_id"),
            comment=_text(p, "comment", 100_000),
            at=at if isinstance(at, str) else None,
        )

    @property
    def at_time(self) -> dt.datetime | None:
        return parse_time(self.at)


@dataclass(frozen=True)
class AppointmentUpsert(_Payload):
    """An in-person follow-up appointment at the branch, as the kiosk and the desk need it: its
    check-in code, status, service, time and the online ticket it follows (no personal data:
    the topic is the ticket's title with any NIK masked)."""

    id: int
    code: str
    status: str
    service: str
    start: str
    minutes: int
    topic: str
    ticket_id: int  # 0: not said
    ticket_ref: str

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> AppointmentUpsert:
        start = p.get("start")
        return cls(
            id=_int(p, "id"),
            code=_text(p, "code", 12),
            status=_text(p, "status", 20),
            service=_text(p, "service", 40),
            start=start if isinstance(start, str) else "",
            minutes=_int(p, "minutes"),
            topic=_text(p, "topic", 200),
            ticket_id=_int(p, "ticket_id"),
            ticket_ref=_text(p, "ticket_ref", 120),
        )

    @property
    def start_time(self) -> dt.datetime | None:
        return parse_time(self.start)
