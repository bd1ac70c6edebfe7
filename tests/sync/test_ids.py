"""Op ids and hybrid logical clock readings (``sync.ids``): readings never go back, whatever the
wall clock does; ids and readings are made and read back in one place."""

import datetime as dt
import uuid

import pytest

from sync.ids import (
    COUNTER_BITS,
    MAX_HLC,
    HybridClock,
    from_wall_time,
    next_reading,
    pack,
    unpack,
    uuid7,
    wall_ms,
    wall_time,
)


def test_readings_follow_the_wall_clock():
    clock = HybridClock()
    assert clock.tick(1_000) == pack(1_000)
    assert clock.tick(1_000) == pack(1_000, 1)  # same millisecond: the counter moves
    assert clock.tick(2_000) == pack(2_000)


def test_a_wall_clock_that_jumps_back_does_not_move_readings_back():
    clock = HybridClock()
    first = clock.tick(5_000)
    later = [clock.tick(1_000) for _ in range(3)]  # someone set the clock back
    assert later == [first + 1, first + 2, first + 3]
    assert unpack(later[-1]) == (5_000, 3)


def test_observing_a_later_clock_moves_ahead_of_it():
    clock = HybridClock()
    clock.tick(1_000)
    seen = pack(9_000, 7)
    assert clock.observe(seen, wall_ms=1_001) == seen + 1
    assert clock.tick(1_002) > seen


def test_restart_from_the_last_reading():
    clock = HybridClock(last=pack(7_000, 2))
    assert clock.tick(6_000) == pack(7_000, 3)


@pytest.mark.parametrize(("wall_ms", "counter"), [(-1, 0), (0, 1 << COUNTER_BITS), (0, -1)])
def test_parts_out_of_range(wall_ms, counter):
    with pytest.raises(ValueError):
        pack(wall_ms, counter)


# -- one module for ids and the clock (sync.ids): what the outbox, intake and the simulation use


def test_next_reading_is_the_clock_tick():
    assert next_reading(0, 5_000) == pack(5_000)
    assert next_reading(pack(5_000), 4_000) == pack(5_000) + 1  # the clock went back
    assert next_reading(7, -3) == 8  # a clock before 1970 reads as 0: the counter moves
    with pytest.raises(OverflowError):
        next_reading(MAX_HLC, 0)


def test_the_wall_time_reads_back_what_was_packed():
    when = dt.datetime(2026, 3, 17, 2, 30, 0, 123000, tzinfo=dt.UTC)
    reading = from_wall_time(when)
    assert wall_ms(reading + 5) == 1_773_714_600_123  # the counter is not part of the time
    assert wall_time(reading + 5) == when
    assert wall_time(MAX_HLC).year == 6429  # a time, if implausible: callers check their window


def test_uuid7_carries_its_millisecond_and_version():
    text = uuid7(1_773_714_600_123, random_bits=(1 << 74) - 1)
    value = uuid.UUID(text)
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert value.int >> 80 == 1_773_714_600_123
    assert uuid7(1, 5) == uuid7(1, 5) != uuid7(1, 6)  # given bits replay exactly
    assert uuid7(1) != uuid7(1)  # from the OS otherwise
    assert uuid7(2, 0) > uuid7(1, (1 << 74) - 1)  # sortable by time
