"""Hybrid logical clock readings for ops: ``wall_ms << 16 | counter``, never going back.

Why: branch wall clocks can be wrong and can jump back (a dead CMOS battery, a manual fix); an
op's ``hlc`` still orders a branch's ops causally and stays close to wall time. Central never orders
by it (``seq`` does that); it is a "branch says when" that cannot run backwards. Pure: the caller
passes the wall clock in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
MAX_HLC = 2**63 - 1


def pack(wall_ms: int, counter: int = 0) -> int:
    if wall_ms < 0 or not 0 <= counter <= COUNTER_MASK:
        raise ValueError(f"hlc parts out of range: wall_ms={wall_ms}, counter={counter}")
    return wall_ms << COUNTER_BITS | counter


def unpack(hlc: int) -> tuple[int, int]:
    """``(wall_ms, counter)`` of a reading."""
    return hlc >> COUNTER_BITS, hlc & COUNTER_MASK


@dataclass
class HybridClock:
    """One branch's clock; ``last`` is the newest reading handed out (persist it, or the outbox's
    highest ``hlc``, to keep monotonicity across restarts)."""

    last: int = 0

    def tick(self, wall_ms: int) -> int:
        """A reading for a new local event: above ``last``, and at least the wall clock."""
        reading = max(pack(max(wall_ms, 0)), self.last + 1)
        if reading > MAX_HLC:
            raise OverflowError("hlc reached its maximum")
        self.last = reading
        return reading

    def observe(self, remote: int, wall_ms: int) -> int:
        """Merge a reading seen from elsewhere (e.g. central's ``server_time``); returns the new
        ``last``. Later ticks are above both clocks."""
        self.last = max(self.last, remote)
        return self.tick(wall_ms)
