"""The wire format of the sync protocol: typed, validated messages as two frames ``[type, body]``.

What it owns: every message and field, their limits, the wire error codes, and the two error
classes the cores raise or report. ``docs/protocol.md`` is the same contract in prose.

Rules:
- A message is exactly two frames: an ASCII type name (``b"PUSH"``) and a MessagePack map. Nothing
  else is ever decoded: no pickle, no extension types, no trailing bytes, no unknown fields.
- Every limit is checked before a message reaches a core; a message that breaks one raises
  ``CodecError`` carrying the wire error code the receiver answers with (``ERROR{code}``).
- Versioning: the ``protocol`` field of ``HELLO`` is read first, on its own, so a peer speaking
  another version gets ``unsupported_protocol`` even if the rest of its HELLO looks different.
- Encoding is one msgspec call; structs are reused, never built per field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final

import msgspec

from sync import PROTOCOL_VERSION
from sync.ops import Op

SUPPORTED_PROTOCOLS: Final = frozenset({PROTOCOL_VERSION})
MAX_BODY_BYTES: Final = 4 * 1024 * 1024  # a body over this is refused unread
MAX_BATCH_OPS: Final = 500  # ops in one PUSH
MAX_PAGE_ITEMS: Final = 50_000  # items in one CHANGES (a snapshot is one page; bytes bind first)
MAX_TYPE_BYTES: Final = 16


class ErrorCode(StrEnum):
    """The ``code`` of an ``ERROR`` message."""

    BAD_FRAMES = "bad_frames"  # not exactly two frames
    UNKNOWN_TYPE = "unknown_type"  # the type frame names no message
    UNEXPECTED = "unexpected"  # a message the receiver never accepts (e.g. WELCOME at central)
    TOO_LARGE = "too_large"  # body over MAX_BODY_BYTES, or more than MAX_BATCH_OPS ops
    BAD_BODY = "bad_body"  # not MessagePack, wrong types, missing or unknown fields, bad values
    BAD_BATCH = "bad_batch"  # ops not in strictly increasing seq, or an op id twice
    UNSUPPORTED_PROTOCOL = "unsupported_protocol"
    HELLO_REQUIRED = "hello_required"  # PUSH or PULL before a HELLO on this server
    STALE_SESSION = "stale_session"  # PUSH under a session a later HELLO replaced
    REFUSED = "refused"  # unknown or deactivated branch
    UNAVAILABLE = "unavailable"  # central could not commit now; nothing was applied; retry


class ProtocolError(Exception):
    """Base of the two error classes; ``code`` is a wire error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class LocalProtocolError(ProtocolError):
    """The caller misused the API (wrong state, bad argument, a message too big to send)."""


class RemoteProtocolError(ProtocolError):
    """The peer misbehaved: what it sent breaks the protocol."""


class CodecError(RemoteProtocolError):
    """Received frames that are not a valid message."""


class UnsupportedProtocol(CodecError):
    def __init__(self, version: int) -> None:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_PROTOCOLS))
        super().__init__(
            ErrorCode.UNSUPPORTED_PROTOCOL,
            f"protocol {version} is not supported; this peer speaks {supported}",
        )
        self.version = version


@dataclass(frozen=True)
class Send:
    """An event of either core: the transport sends these two frames to the peer."""

    frames: tuple[bytes, bytes]


# -- field types ---------------------------------------------------------------------------------

Seq = Annotated[int, msgspec.Meta(ge=0, le=2**62)]
NextSeq = Annotated[int, msgspec.Meta(ge=1, le=2**62 + 1)]
Cursor = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
FeedId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
BatchId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
Session = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
UnixTime = Annotated[float, msgspec.Meta(ge=0, le=1e11)]  # seconds since 1970, UTC
OpId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]


class Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    TYPE: ClassVar[bytes]


class Hello(Message, frozen=True, forbid_unknown_fields=True):
    """Branch -> central, first on every connection."""

    TYPE: ClassVar[bytes] = b"HELLO"
    protocol: Annotated[int, msgspec.Meta(ge=1, le=65535)]
    agent_version: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    boot_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    next_seq: NextSeq
    feed_cursor: Cursor
    branch_time: UnixTime


class Welcome(Message, frozen=True, forbid_unknown_fields=True):
    TYPE: ClassVar[bytes] = b"WELCOME"
    hwm_seq: Seq
    feed_head: Cursor
    server_time: UnixTime
    session: Session


class Push(Message, frozen=True, forbid_unknown_fields=True):
    TYPE: ClassVar[bytes] = b"PUSH"
    batch_id: BatchId
    session: Session
    ops: list[Op]


class RejectedOp(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    op_id: OpId
    code: Code
    message: Text = ""


class Ack(Message, frozen=True, forbid_unknown_fields=True):
    TYPE: ClassVar[bytes] = b"ACK"
    batch_id: BatchId
    session: Session  # the PUSH's session: with batch_id, names the batch answered
    accepted: list[OpId]
    rejected: list[RejectedOp]
    hwm_seq: Seq


class Pull(Message, frozen=True, forbid_unknown_fields=True):
    TYPE: ClassVar[bytes] = b"PULL"
    cursor: Cursor
    max: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_ITEMS)]


class Item(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    feed_id: FeedId
    kind: Code
    entity_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    payload: dict[str, Any]


class Changes(Message, frozen=True, forbid_unknown_fields=True):
    TYPE: ClassVar[bytes] = b"CHANGES"
    from_: Cursor = msgspec.field(name="from")
    to: Cursor
    items: list[Item]
    more: bool
    snapshot: bool


class Ping(Message, frozen=True, forbid_unknown_fields=True):
    TYPE: ClassVar[bytes] = b"PING"


class Pong(Message, frozen=True, forbid_unknown_fields=True):
    TYPE: ClassVar[bytes] = b"PONG"


class Error(Message, frozen=True, forbid_unknown_fields=True):
    TYPE: ClassVar[bytes] = b"ERROR"
    code: Code
    message: Text
    ref: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0  # the batch_id it answers, or 0


MESSAGE_TYPES: Final[dict[bytes, type[Message]]] = {
    cls.TYPE: cls for cls in (Hello, Welcome, Push, Ack, Pull, Changes, Ping, Pong, Error)
}
FROM_BRANCH: Final = frozenset({b"HELLO", b"PUSH", b"PULL", b"PING"})
FROM_CENTRAL: Final = frozenset({b"WELCOME", b"ACK", b"CHANGES", b"PONG", b"ERROR"})


class _HelloVersion(msgspec.Struct):
    protocol: int


_encoder = msgspec.msgpack.Encoder()
_decoders = {name: msgspec.msgpack.Decoder(cls) for name, cls in MESSAGE_TYPES.items()}
_version_decoder = msgspec.msgpack.Decoder(_HelloVersion)


def encode(message: Message) -> tuple[bytes, bytes]:
    """The two frames of ``message``. Raises LocalProtocolError if the body is over the limit."""
    try:
        body = _encoder.encode(message)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        # An op payload holding what MessagePack cannot carry: the producer broke the op contract.
        raise LocalProtocolError(
            ErrorCode.BAD_BODY, f"{message.TYPE.decode()} cannot be encoded: {exc}"
        ) from None
    if len(body) > MAX_BODY_BYTES:
        raise LocalProtocolError(
            ErrorCode.TOO_LARGE,
            f"{message.TYPE.decode()} body is {len(body)} bytes, over {MAX_BODY_BYTES}",
        )
    return message.TYPE, body


def decode(frames: Sequence[Any], accept: frozenset[bytes] | None = None) -> Message:
    """The message in ``frames`` (bytes-like), fully validated; ``accept`` limits the types.

    Raises CodecError (or its UnsupportedProtocol) with the wire code to answer."""
    if len(frames) != 2:
        raise CodecError(
            ErrorCode.BAD_FRAMES, f"a message is 2 frames [type, body], got {len(frames)}"
        )
    head, body = memoryview(frames[0]), memoryview(frames[1])
    if head.nbytes > MAX_TYPE_BYTES:
        raise CodecError(ErrorCode.UNKNOWN_TYPE, f"type frame of {head.nbytes} bytes")
    name = head.tobytes()
    decoder = _decoders.get(name)
    if decoder is None:
        raise CodecError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {name!r}")
    if accept is not None and name not in accept:
        raise CodecError(ErrorCode.UNEXPECTED, f"{name.decode()} is not accepted here")
    if body.nbytes > MAX_BODY_BYTES:
        raise CodecError(
            ErrorCode.TOO_LARGE,
            f"{name.decode()} body is {body.nbytes} bytes, over {MAX_BODY_BYTES}",
        )
    try:
        if name == b"HELLO":
            version = _version_decoder.decode(body).protocol
            if version not in SUPPORTED_PROTOCOLS:
                raise UnsupportedProtocol(version)
        message: Message = decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, RecursionError) as exc:
        # ValueError: invalid UTF-8 in a string; RecursionError: absurdly deep nesting.
        raise CodecError(ErrorCode.BAD_BODY, f"{name.decode()}: {exc}") from None
    _check(message)
    return message


def _check(message: Message) -> None:
    """The rules a schema cannot say: list limits with their own code, order, uniqueness."""
    if isinstance(message, Push):
        if len(message.ops) > MAX_BATCH_OPS:
            raise CodecError(
                ErrorCode.TOO_LARGE, f"PUSH has {len(message.ops)} ops, over {MAX_BATCH_OPS}"
            )
        previous = 0
        op_ids: set[str] = set()
        for op in message.ops:
            if op.seq <= previous:
                raise CodecError(
                    ErrorCode.BAD_BATCH, f"PUSH ops not in increasing seq at seq {op.seq}"
                )
            if op.op_id in op_ids:
                raise CodecError(ErrorCode.BAD_BATCH, f"PUSH has op {op.op_id} twice")
            previous = op.seq
            op_ids.add(op.op_id)
    elif isinstance(message, Ack):
        if len(message.accepted) + len(message.rejected) > MAX_BATCH_OPS:
            raise CodecError(ErrorCode.TOO_LARGE, f"ACK answers over {MAX_BATCH_OPS} ops")
    elif isinstance(message, Changes):
        if len(message.items) > MAX_PAGE_ITEMS:
            raise CodecError(
                ErrorCode.TOO_LARGE,
                f"CHANGES has {len(message.items)} items, over {MAX_PAGE_ITEMS}",
            )
        if message.snapshot and message.more:
            raise CodecError(ErrorCode.BAD_BODY, "CHANGES: a snapshot is one page (more: false)")
        if not message.snapshot and message.to < message.from_:
            raise CodecError(
                ErrorCode.BAD_BODY, f"CHANGES: to {message.to} is below from {message.from_}"
            )
        low = 0 if message.snapshot else message.from_
        for item in message.items:
            if not low < item.feed_id <= message.to:
                raise CodecError(
                    ErrorCode.BAD_BODY,
                    f"CHANGES: feed_id {item.feed_id} unordered or not in ({low}, {message.to}]",
                )
            if not message.snapshot:
                low = item.feed_id
