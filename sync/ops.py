"""The walk-in operations a branch records and central applies.

This module owns the *payload* contract of every op kind: what a branch puts in an op and what
central may rely on after decoding it. The envelope (op_id, seq, hlc, ...) is ``Op`` below.

Rules:
- Payloads carry facts measured at the branch. Durations measured on the branch clock travel as
  seconds (``wait_seconds``, ``service_seconds``) because branch wall clocks can be wrong; branch
  timestamps travel too, but central treats them as "branch says" and records its own receive time.
- No full identity number ever appears here: only ``id_hash`` (keyed HMAC, hex) and ``id_last4``.
- Every payload is a frozen, strict msgspec Struct: unknown fields are refused, types are checked.
- ``entity_id`` of every op is the visit id (a UUID string made at the branch) except where noted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec

from sync.vocabulary import IKM_ELEMENTS

# Kinds, in the order a visit usually goes through them.
VISIT_CREATED = "visit.created"
GUESTBOOK_RECORDED = "guestbook.recorded"
VISIT_CALLED = "visit.called"
VISIT_NO_SHOW = "visit.no_show"
VISIT_SERVED = "visit.served"
CONSULTATION_NOTED = "consultation.noted"
VISIT_RESOLVED = "visit.resolved"
VISIT_ESCALATED = "visit.escalated"
RATING_GIVEN = "rating.given"
COMPLAINT_FILED = "complaint.filed"
# A desk's pause (``entity_id`` is the pause id, a UUID made at the branch, not a visit id).
DESK_PAUSED = "desk.paused"
DESK_RESUMED = "desk.resumed"

ServiceCode = Literal["konsultasi", "perpustakaan", "penjualan", "rekomendasi"]
Subject = Literal["data", "metadata", "classification"]
FollowUpMode = Literal["online", "in_person", "zoom"]
IdType = Literal["ktp", "sim", "passport", "kitas", "student_card", "other"]
# IKM_ELEMENTS is the shared vocabulary's (re-exported here for the payload rules).

QUEUE_NUMBER_RE = re.compile(r"^[A-Z]-\d{3,4}$")
Seconds = Annotated[int, msgspec.Meta(ge=0, le=7 * 24 * 3600)]
ShortText = Annotated[str, msgspec.Meta(max_length=200)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000)]
Desk = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
IsoTime = Annotated[str, msgspec.Meta(min_length=19, max_length=40)]  # branch clock, ISO 8601
Score = Annotated[int, msgspec.Meta(ge=1, le=4)]


class Op(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One change recorded at a branch: the unit of sync, applied at central at most once.

    ``op_id`` is a UUIDv7 string made at the branch (dedup key at central, with the branch);
    ``seq`` is the branch's contiguous sequence number (apply order); ``hlc`` a hybrid logical
    clock reading (ms << 16 | counter) from the branch; ``payload`` is checked against ``kind`` by
    ``decode_payload`` at central, so one bad op is rejected alone.
    """

    op_id: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
        ),
    ]
    seq: Annotated[int, msgspec.Meta(ge=1, le=2**62)]
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    entity_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    hlc: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    payload: dict[str, Any]


class _Payload(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class VisitCreated(_Payload, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    service: ServiceCode
    queue_number: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]-\d{3,4}$")]
    service_day: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    issued_at: IsoTime
    # The check-in code of the appointment the visitor came for (kiosk check-in); left out of
    # the payload when empty, so a central that predates it still takes ordinary visits.
    appointment: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Z]{6,8}$|^$")] = ""


class GuestbookRecorded(_Payload, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    institution: ShortText
    email: Annotated[str, msgspec.Meta(max_length=254)]
    phone: Annotated[str, msgspec.Meta(max_length=30)]
    id_type: IdType
    id_hash: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
    id_last4: Annotated[str, msgspec.Meta(pattern=r"^\d{4}$|^$")]
    purpose: LongText
    consent: bool
    recorded_at: IsoTime


class VisitCalled(_Payload, frozen=True, forbid_unknown_fields=True):
    desk: Desk
    called_at: IsoTime
    wait_seconds: Seconds
    recall: bool = False


class VisitNoShow(_Payload, frozen=True, forbid_unknown_fields=True):
    desk: Desk
    at: IsoTime


class VisitServed(_Payload, frozen=True, forbid_unknown_fields=True):
    desk: Desk
    officer: ShortText
    started_at: IsoTime


class ConsultationNoted(_Payload, frozen=True, forbid_unknown_fields=True):
    subject: Subject
    notes: LongText
    officer: ShortText


class VisitResolved(_Payload, frozen=True, forbid_unknown_fields=True):
    outcome: Literal["resolved", "referred"]
    finished_at: IsoTime
    service_seconds: Seconds
    referred_to: ServiceCode | None = None
    note: LongText = ""


class VisitEscalated(_Payload, frozen=True, forbid_unknown_fields=True):
    follow_up: FollowUpMode
    note: LongText
    finished_at: IsoTime
    service_seconds: Seconds


class RatingGiven(_Payload, frozen=True, forbid_unknown_fields=True):
    scores: dict[str, Score]
    overall: Score
    comment: LongText = ""


class ComplaintFiled(_Payload, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A complaint is anonymous unless the visitor gave ``reply_to`` for an answer.

    Defaults are left out on the wire, so an anonymous complaint is the same message as before
    ``reply_to`` existed (a central that predates it still takes it).
    """

    tier: Annotated[int, msgspec.Meta(ge=1, le=4)]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]
    lapor_ref: Annotated[str, msgspec.Meta(max_length=64)] = ""
    reply_to: Annotated[str, msgspec.Meta(max_length=254)] = ""


PauseReason = Literal["istirahat", "sholat", "rapat", "lainnya"]


class DeskPaused(_Payload, frozen=True, forbid_unknown_fields=True):
    """A desk stopped calling visitors (break, prayer, meeting, other) at ``started_at``."""

    desk: Desk
    reason: PauseReason
    started_at: IsoTime


class DeskResumed(_Payload, frozen=True, forbid_unknown_fields=True):
    """The pause named by ``entity_id`` ended; ``paused_seconds`` measured on the branch clock."""

    desk: Desk
    ended_at: IsoTime
    paused_seconds: Seconds


PAYLOAD_TYPES: dict[str, type[_Payload]] = {
    VISIT_CREATED: VisitCreated,
    GUESTBOOK_RECORDED: GuestbookRecorded,
    VISIT_CALLED: VisitCalled,
    VISIT_NO_SHOW: VisitNoShow,
    VISIT_SERVED: VisitServed,
    CONSULTATION_NOTED: ConsultationNoted,
    VISIT_RESOLVED: VisitResolved,
    VISIT_ESCALATED: VisitEscalated,
    RATING_GIVEN: RatingGiven,
    COMPLAINT_FILED: ComplaintFiled,
    DESK_PAUSED: DeskPaused,
    DESK_RESUMED: DeskResumed,
}
KINDS = frozenset(PAYLOAD_TYPES)

# The free-text fields of each payload, where a person may type anything (an ID number too): the
# branch masks NIK-shaped numbers in them before an op enters its outbox, central again before it
# stores them (``personal_data.mask_nik_in_text`` of each program).
FREE_TEXT_FIELDS: dict[type[_Payload], tuple[str, ...]] = {
    GuestbookRecorded: ("institution", "purpose"),
    ConsultationNoted: ("notes",),
    VisitResolved: ("note",),
    VisitEscalated: ("note",),
    RatingGiven: ("comment",),
    ComplaintFiled: ("text",),
}


class PayloadError(ValueError):
    """An op payload that does not fit its kind. ``code`` is the wire rejection code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def decode_payload(kind: str, payload: object) -> _Payload:
    """Validate a decoded (dict) payload against its kind; raise PayloadError with a code."""
    payload_type = PAYLOAD_TYPES.get(kind)
    if payload_type is None:
        raise PayloadError("unknown_kind", f"unknown op kind {kind!r}")
    try:
        value = msgspec.convert(payload, payload_type)
    except msgspec.ValidationError as exc:
        raise PayloadError("invalid_payload", f"{kind}: {exc}") from None
    if isinstance(value, RatingGiven):
        unknown = sorted(set(value.scores) - set(IKM_ELEMENTS))
        if unknown:
            raise PayloadError("invalid_payload", f"{kind}: unknown IKM elements {unknown}")
    return value


def replace_free_text(value: _Payload, transform: Callable[[str], str]) -> _Payload:
    """``value`` with ``transform`` applied to each of its free-text fields (the same value when
    nothing changed)."""
    changed = {}
    for name in FREE_TEXT_FIELDS.get(type(value), ()):
        text = getattr(value, name)
        new = transform(text)
        if new != text:
            changed[name] = new
    return msgspec.structs.replace(value, **changed) if changed else value


def encode_payload(value: _Payload) -> dict[str, object]:
    """A payload struct as the plain mapping that goes into an op."""
    return msgspec.to_builtins(value)  # type: ignore[no-any-return]
