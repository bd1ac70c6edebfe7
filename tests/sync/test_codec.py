"""The wire codec: every message round-trips; everything else is refused with the right code."""

import pickle

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import codec
from sync.codec import (
    FROM_BRANCH,
    FROM_CENTRAL,
    MAX_BATCH_OPS,
    MAX_BODY_BYTES,
    Ack,
    Changes,
    CodecError,
    Error,
    ErrorCode,
    Hello,
    Item,
    LocalProtocolError,
    Ping,
    Pong,
    Pull,
    Push,
    RejectedOp,
    UnsupportedProtocol,
    Welcome,
    decode,
    encode,
)
from sync.ops import Op

OP_ID = "019cf8c2-de0e-7d75-806c-a2d0056942fc"


def op(seq: int, op_id: str | None = None, **payload: object) -> Op:
    op_id = op_id or f"019cf8c2-de0e-7d75-806c-{seq:012x}"
    return Op(op_id=op_id, seq=seq, kind="visit.called", entity_id="v1", hlc=seq, payload=payload)


HELLO = Hello(
    protocol=1,
    agent_version="0.1.0",
    boot_id="b00t",
    next_seq=1,
    feed_cursor=0,
    branch_time=1_773_700_000.5,
)
EXAMPLES = [
    HELLO,
    Welcome(hwm_seq=7, feed_head=12, server_time=1_773_700_001.0, session=3),
    Push(batch_id=1, session=3, ops=[op(8, desk="1"), op(9)]),
    Ack(
        batch_id=1,
        session=3,
        accepted=[OP_ID],
        rejected=[RejectedOp(op_id="x", code="invalid_payload", message="overall: 9 > 4")],
        hwm_seq=9,
    ),
    Pull(cursor=12, max=500),
    Changes(
        from_=12,
        to=14,
        items=[Item(feed_id=13, kind="ticket.status", entity_id="v1", payload={"status": "open"})],
        more=False,
        snapshot=False,
    ),
    Changes(from_=0, to=14, items=[], more=False, snapshot=True),
    Ping(),
    Pong(),
    Error(code="bad_body", message="PUSH: expected int", ref=4),
]


def body(**fields: object) -> bytes:
    return msgspec.msgpack.encode(fields)


def refused(frames, accept=None) -> str:
    with pytest.raises(CodecError) as caught:
        decode(frames, accept)
    return caught.value.code


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message):
    frames = encode(message)
    assert frames[0] == message.TYPE
    assert decode(frames) == message
    assert decode([memoryview(frames[0]), bytearray(frames[1])]) == message


def test_directions_are_disjoint_and_cover_every_type():
    assert set(codec.MESSAGE_TYPES) == FROM_BRANCH | FROM_CENTRAL
    assert not FROM_BRANCH & FROM_CENTRAL
    assert refused(encode(Pong()), FROM_BRANCH) == ErrorCode.UNEXPECTED
    assert refused(encode(HELLO), FROM_CENTRAL) == ErrorCode.UNEXPECTED


@pytest.mark.parametrize("frames", [[], [b"PING"], [b"PING", b"\x80", b""]])
def test_wrong_frame_count(frames):
    assert refused(frames) == ErrorCode.BAD_FRAMES


@pytest.mark.parametrize("name", [b"", b"ping", b"NOPE", b"X" * 17, b"\xff\xfe"])
def test_unknown_type(name):
    assert refused([name, b"\x80"]) == ErrorCode.UNKNOWN_TYPE


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # no body at all
        b"\xc1",  # never-used msgpack byte
        b"\x81\xa4from",  # truncated map
        b"\x80\x00",  # trailing bytes
        b"\x90",  # an array, not a map
        pickle.dumps({"cursor": 1, "max": 2}),  # pickle is just bad bytes here
    ],
)
def test_bad_msgpack_is_bad_body(raw):
    assert refused([b"PULL", raw]) == ErrorCode.BAD_BODY


@pytest.mark.parametrize(
    "fields",
    [
        {"cursor": 1},  # missing field
        {"cursor": 1, "max": 10, "branch": "1222"},  # unknown field
        {"cursor": "1", "max": 10},  # wrong type
        {"cursor": -1, "max": 10},  # out of range
        {"cursor": 1, "max": 0},
        {"cursor": 1, "max": codec.MAX_PAGE_ITEMS + 1},
        {"cursor": 1.5, "max": 10},
    ],
)
def test_bad_fields_are_bad_body(fields):
    assert refused([b"PULL", body(**fields)]) == ErrorCode.BAD_BODY


def test_error_names_the_field():
    with pytest.raises(CodecError) as caught:
        decode([b"PULL", body(cursor=1, max="ten")])
    assert "$.max" in caught.value.message


def test_a_body_never_names_a_branch():
    fields = msgspec.structs.asdict(HELLO) | {"branch": "1222"}
    assert refused([b"HELLO", body(**fields)]) == ErrorCode.BAD_BODY


def test_unknown_protocol_version_is_refused_before_the_rest_of_the_hello():
    # A future HELLO may carry fields this version does not know: the version decides first.
    fields = msgspec.structs.asdict(HELLO) | {"protocol": 2, "capabilities": ["zstd"]}
    with pytest.raises(UnsupportedProtocol) as caught:
        decode([b"HELLO", body(**fields)])
    assert caught.value.code == ErrorCode.UNSUPPORTED_PROTOCOL
    assert caught.value.version == 2
    assert refused([b"HELLO", body(protocol="one")]) == ErrorCode.BAD_BODY


def test_body_over_the_limit_is_refused_unread():
    assert refused([b"PULL", b"\x00" * (MAX_BODY_BYTES + 1)]) == ErrorCode.TOO_LARGE


def test_too_many_ops():
    ops = [op(n) for n in range(1, MAX_BATCH_OPS + 2)]
    frames = (b"PUSH", msgspec.msgpack.encode(Push(batch_id=1, session=1, ops=ops)))
    assert refused(frames) == ErrorCode.TOO_LARGE


@pytest.mark.parametrize(
    "ops",
    [
        [op(2), op(1)],  # not increasing
        [op(1), op(1, op_id="019cf8c2-de0e-7d75-806c-000000000099")],  # same seq
        [op(1, op_id=OP_ID), op(2, op_id=OP_ID)],  # same op twice
    ],
)
def test_batch_order_and_uniqueness(ops):
    frames = (b"PUSH", msgspec.msgpack.encode(Push(batch_id=1, session=1, ops=ops)))
    assert refused(frames) == ErrorCode.BAD_BATCH


def test_op_envelope_is_validated():
    bad = msgspec.structs.asdict(op(1)) | {"op_id": "not-a-uuid7"}
    assert refused([b"PUSH", body(batch_id=1, session=1, ops=[bad])]) == ErrorCode.BAD_BODY


def item(feed_id: int) -> dict[str, object]:
    return {"feed_id": feed_id, "kind": "k", "entity_id": "e", "payload": {}}


@pytest.mark.parametrize(
    "changes",
    [
        {"from": 5, "to": 4, "items": [], "more": False, "snapshot": False},
        {"from": 5, "to": 9, "items": [item(5)], "more": False, "snapshot": False},
        {"from": 5, "to": 9, "items": [item(10)], "more": False, "snapshot": False},
        {"from": 0, "to": 9, "items": [item(7), item(6)], "more": True, "snapshot": False},
        {"from": 0, "to": 9, "items": [], "more": True, "snapshot": True},
    ],
)
def test_inconsistent_changes_are_refused(changes):
    assert refused([b"CHANGES", msgspec.msgpack.encode(changes)]) == ErrorCode.BAD_BODY


def test_snapshot_may_go_below_from_when_central_was_reset():
    snapshot = {
        "from": 50,
        "to": 9,
        "items": [{"feed_id": 9, "kind": "k", "entity_id": "e", "payload": {}}],
        "more": False,
        "snapshot": True,
    }
    message = decode([b"CHANGES", msgspec.msgpack.encode(snapshot)])
    assert isinstance(message, Changes) and message.to == 9


def test_deep_nesting_is_bad_body_not_a_crash():
    _, raw = encode(Push(batch_id=1, session=1, ops=[op(1, x=None)]))
    deep = b"\x91" * 200_000 + b"\xc0"  # an array in an array in ... as the payload's x
    assert raw.count(b"\xa1x\xc0") == 1
    assert refused([b"PUSH", raw.replace(b"\xa1x\xc0", b"\xa1x" + deep)]) == ErrorCode.BAD_BODY


def test_invalid_utf8_is_bad_body():
    assert refused([b"HELLO", b"\x81\xa2\xc3\x28\x01"]) == ErrorCode.BAD_BODY


@pytest.mark.parametrize("value", [2**64, object(), 1j])
def test_encoding_what_msgpack_cannot_carry_is_local_misuse(value):
    with pytest.raises(LocalProtocolError) as caught:
        encode(Push(batch_id=1, session=1, ops=[op(1, value=value)]))
    assert caught.value.code == ErrorCode.BAD_BODY


def test_encoding_an_oversized_message_is_local_misuse():
    huge = op(1, notes="x" * (MAX_BODY_BYTES + 1))
    with pytest.raises(LocalProtocolError) as caught:
        encode(Push(batch_id=1, session=1, ops=[huge]))
    assert caught.value.code == ErrorCode.TOO_LARGE


# -- property-based: the decoder never does anything but return a message or raise CodecError


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=4))
def test_random_frames_never_escape_codec_error(frames):
    try:
        decode(frames)
    except CodecError as exc:
        assert exc.code in set(ErrorCode)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXAMPLES), st.data())
def test_truncated_messages_are_refused(message, data):
    name, raw = encode(message)
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    assert refused([name, raw[:cut]]) in {ErrorCode.BAD_BODY}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXAMPLES), st.data())
def test_mutated_messages_decode_valid_or_are_refused(message, data):
    name, raw = encode(message)
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    value = data.draw(st.integers(min_value=0, max_value=255))
    mutated = raw[:position] + bytes([value]) + raw[position + 1 :]
    try:
        decoded = decode([name, mutated])
    except CodecError:
        return
    # Whatever got through is a fully valid message of the type the frame named.
    assert type(decoded) is type(message)
    assert decode(encode(decoded)) == decoded


int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
json_like = st.recursive(
    st.none() | st.booleans() | int64 | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.text(max_size=12), json_like, max_size=6),
    st.sampled_from(sorted(FROM_BRANCH | FROM_CENTRAL)),
)
def test_arbitrary_maps_are_valid_or_refused(fields, name):
    try:
        decoded = decode([name, msgspec.msgpack.encode(fields)])
    except CodecError:
        return
    assert name == decoded.TYPE


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.builds(
            dict,
            notes=st.text(max_size=200),
            wait_seconds=st.integers(min_value=0, max_value=10**6),
            nested=json_like,
        ),
        min_size=1,
        max_size=20,
    )
)
def test_valid_pushes_round_trip(payloads):
    ops = [
        Op(
            op_id=f"019cf8c2-de0e-7d75-806c-{n:012x}",
            seq=n,
            kind="consultation.noted",
            entity_id="v",
            hlc=n,
            payload=p,
        )
        for n, p in enumerate(payloads, 1)
    ]
    push = Push(batch_id=9, session=2, ops=ops)
    assert decode(encode(push)) == push
