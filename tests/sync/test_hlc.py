"""Hybrid logical clock readings never go back, whatever the wall clock does."""

import pytest

from sync.hlc import COUNTER_BITS, HybridClock, pack, unpack


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
