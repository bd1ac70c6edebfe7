"""Op ids and the hybrid logical clock, in one place: UUIDv7 and ``wall_ms << 16 | counter``.

What it owns: how an op's ``op_id`` (UUIDv7, RFC 9562) and ``hlc`` (hybrid logical clock reading)
are made and read, for the branch agent's outbox, central's intake and the simulation alike.
Pure: the caller passes the wall clock in milliseconds (and, for a replayable run, the random
bits); nothing here reads a clock except the defaults of ``uuid7``.

Why an HLC: branch wall clocks can be wrong and can jump back (a dead CMOS battery, a manual fix);
an op's ``hlc`` still orders a branch's ops causally and stays close to wall time. Central never
orders by it (``seq`` does that); it is a "branch says when" that cannot run backwards.

Rules:
- A reading is ``wall_ms << COUNTER_BITS | counter`` (``pack``/``unpack``); ``next_reading`` is the
  one way to take a new one: above the last, and at least the wall clock.
- ``wall_ms``/``wall_time`` read the physical part back (what "the branch clock said" is);
  ``wall_time`` raises OverflowError/OSError/ValueError for a reading no datetime can hold.
- An op id is a UUIDv7: 48-bit Unix ms, version 7, 74 random bits, variant 10; sortable by creation.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
MAX_HLC = 2**63 - 1
RANDOM_BITS = 74  # of a UUIDv7


def pack(wall_ms: int, counter: int = 0) -> int:
    if wall_ms < 0 or not 0 <= counter <= COUNTER_MASK:
        raise ValueError(f"hlc parts out of range: wall_ms={wall_ms}, counter={counter}")
    return wall_ms << COUNTER_BITS | counter


def unpack(hlc: int) -> tuple[int, int]:
    """``(wall_ms, counter)`` of a reading."""
    return hlc >> COUNTER_BITS, hlc & COUNTER_MASK


def wall_ms(hlc: int) -> int:
    """The physical part of a reading: the branch's wall clock in Unix milliseconds."""
    return hlc >> COUNTER_BITS


def wall_time(hlc: int) -> dt.datetime:
    """The physical part of a reading as an aware UTC datetime (may raise, see the rules)."""
    return dt.datetime.fromtimestamp(wall_ms(hlc) / 1000, tz=dt.UTC)


def from_wall_time(when: dt.datetime) -> int:
    """A reading for a known time, counter 0 (demo data and tests that write ops by hand)."""
    return pack(int(when.timestamp() * 1000))


def next_reading(last: int, wall_ms: int) -> int:
    """A reading for a new local event: above ``last``, and at least the wall clock."""
    reading = max(pack(max(wall_ms, 0)), last + 1)
    if reading > MAX_HLC:
        raise OverflowError("hlc reached its maximum")
    return reading


@dataclass
class HybridClock:
    """One branch's clock; ``last`` is the newest reading handed out (persist it, or the outbox's
    highest ``hlc``, to keep monotonicity across restarts)."""

    last: int = 0

    def tick(self, wall_ms: int) -> int:
        """A reading for a new local event: above ``last``, and at least the wall clock."""
        self.last = next_reading(self.last, wall_ms)
        return self.last

    def observe(self, remote: int, wall_ms: int) -> int:
        """Merge a reading seen from elsewhere (e.g. central's ``server_time``); returns the new
        ``last``. Later ticks are above both clocks."""
        self.last = max(self.last, remote)
        return self.tick(wall_ms)


def uuid7(wall_ms: int, random_bits: int | None = None) -> str:
    """A UUIDv7 string for ``wall_ms``; ``random_bits`` (74 bits) from the OS unless given (a
    seeded simulation passes its own, to replay exactly)."""
    rand = int.from_bytes(os.urandom(10), "big") if random_bits is None else random_bits
    rand &= (1 << RANDOM_BITS) - 1
    rand_a, rand_b = rand >> 62, rand & ((1 << 62) - 1)
    value = (wall_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def clock_skew(branch_time: float, central_time: float) -> float:
    """The one clock-skew convention of both programs (``clock_skew``, ``clock_skew_seconds``):
    the branch's wall clock minus central's, in seconds; positive when the branch clock is ahead."""
    return branch_time - central_time
