"""Writing ops into the outbox, inside the caller's transaction.

Rules:
- ``record`` must run inside ``transaction.atomic()`` (the service layer's): the op and the domain
  rows it describes commit together or not at all. It refuses to run outside one.
- ``seq`` comes from the single ``SyncState`` row, read and raised in the same IMMEDIATE
  transaction, so seqs are contiguous and never reused by this store.
- ``op_id`` and ``hlc`` are made by ``sync.ids`` (UUIDv7; ``ms << 16 | counter`` on the branch
  clock, never going back even if the clock does).
- Every payload is built as its ``sync.ops`` struct first, so a payload central would refuse as
  malformed can never be written here.
- A NIK-shaped number in a payload's free-text fields (``sync.ops.FREE_TEXT_FIELDS``) is masked
  to its last 4 digits before the op is written: it never goes on the wire.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import msgspec
from django.db import connection, transaction

from branch_agent.models import OutboxOp, SyncState
from branch_agent.personal_data import mask_nik_in_text
from sync import ids
from sync.ops import PAYLOAD_TYPES, Op, encode_payload, replace_free_text

# Set after every commit that added an op, so the sync worker sends it at once (never awaited by
# the request: setting an event does not block).
changed = threading.Event()


def new_op_id(now_ms: int | None = None) -> str:
    """A UUIDv7 (``sync.ids.uuid7``) for now, or for ``now_ms``."""
    return ids.uuid7(int(time.time() * 1000) if now_ms is None else now_ms)


def next_hlc(last: int, now_ms: int | None = None) -> int:
    """The next hybrid clock reading after ``last`` (``sync.ids.next_reading``) on this clock."""
    return ids.next_reading(last, int(time.time() * 1000) if now_ms is None else now_ms)


def record(kind: str, entity_id: str, payload: msgspec.Struct) -> OutboxOp:
    """Append one op for ``entity_id`` to the outbox, in the current transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("outbox.record must run inside the write's transaction.atomic()")
    expected = PAYLOAD_TYPES[kind]
    if not isinstance(payload, expected):
        raise TypeError(f"{kind} needs a {expected.__name__} payload, got {type(payload)}")
    state = SyncState.objects.select_for_update().get(id=1)
    op = Op(
        op_id=new_op_id(),
        seq=state.next_seq,
        kind=kind,
        entity_id=entity_id,
        hlc=next_hlc(state.last_hlc),
        # A NIK typed into a free-text field never goes on the wire (services mask it before
        # the local row is written too; this is the net for every op).
        payload=encode_payload(replace_free_text(payload, mask_nik_in_text)),
    )
    SyncState.objects.filter(id=1).update(next_seq=op.seq + 1, last_hlc=op.hlc)
    transaction.on_commit(changed.set)
    return OutboxOp.objects.create(
        op_id=op.op_id,
        seq=op.seq,
        kind=op.kind,
        entity_id=op.entity_id,
        hlc=op.hlc,
        payload=op.payload,
    )


def as_op(row: OutboxOp) -> Op:
    return Op(
        op_id=row.op_id,
        seq=row.seq,
        kind=row.kind,
        entity_id=row.entity_id,
        hlc=row.hlc,
        payload=row.payload,
    )


# One writer at a time in this process. SQLite allows one writer anyway; taking this lock first
# means a request waits on a Python lock (woken the moment the other write commits) instead of in
# SQLite's busy handler, which sleeps in growing steps and made p99 latency jump under sync load.
_write_lock = threading.RLock()


@contextlib.contextmanager
def write() -> Iterator[None]:
    """The transaction every write of the agent uses: process write lock, then BEGIN IMMEDIATE."""
    with _write_lock, transaction.atomic():
        yield
