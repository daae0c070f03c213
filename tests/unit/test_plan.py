"""A day's counter plan in shift blocks."""
from __future__ import annotations

import itertools
import random

import pytest

from forecasting.plan import Shift, open_counts, plan_day


def counter_intervals(shifts):
    return sum(s.end_interval - s.start_interval for s in shifts)


def decomposes_into_blocks(counts, length):
    """Can these counts be made of blocks at least ``length`` long? (Each close needs an open
    ``length`` intervals earlier: Hall's condition on the cumulative opens and closes.)"""
    padded = [0, *counts, 0]
    opens = [max(b - a, 0) for a, b in zip(padded, padded[1:])]   # at interval t
    closes = [max(a - b, 0) for a, b in zip(padded, padded[1:])]  # at boundary t (block ends before t)
    for t in range(len(closes)):
        if sum(closes[: t + 1]) > sum(opens[: max(t - length + 1, 0)]):
            return False
    return True


def brute_force_cost(need, cap, length):
    """Fewest counter-intervals over every count profile between the need and the cap."""
    best = None
    for counts in itertools.product(*[range(r, cap + 1) for r in need]):
        if (best is None or sum(counts) < best) and decomposes_into_blocks(counts, length):
            best = sum(counts)
    return best


def test_every_interval_gets_its_need():
    needs = [1, 1, 2, 3, 5, 6, 6, 4, 3, 3, 2, 2, 4, 5, 5, 3, 2, 1, 1, 1]
    counts = open_counts(plan_day(needs, 30, 0, 10, 4), len(needs))
    assert all(c >= n for c, n in zip(counts, needs))


def test_every_block_lasts_at_least_the_minimum():
    needs = [0, 1, 3, 0, 0, 4, 1, 0, 2, 2, 0, 0, 5, 0, 1, 1]
    shifts = plan_day(needs, 15, 0, 6, 5)
    assert shifts and all(s.end_interval - s.start_interval >= 5 for s in shifts)
    assert all(0 <= s.start_interval < s.end_interval <= len(needs) for s in shifts)


def test_a_day_shorter_than_the_minimum_block_is_one_block_per_counter():
    shifts = plan_day([1, 3, 2], 60, 1, 5, 8)
    assert sorted(shifts) == [Shift(0, 0, 3), Shift(1, 0, 3), Shift(2, 0, 3)]


def test_the_hall_minimum_is_always_open_and_the_maximum_never_exceeded():
    needs = [0, 0, 9, 9, 9, 9, 1, 0, 0, 0, 12, 12]
    counts = open_counts(plan_day(needs, 60, 2, 7, 2), len(needs))
    assert min(counts) >= 2 and max(counts) <= 7
    assert counts[2:6] == [7, 7, 7, 7] and counts[10:] == [7, 7]


def test_a_peak_adds_counters_only_around_it():
    needs = [2] * 16 + [5] * 4 + [2] * 16
    counts = open_counts(plan_day(needs, 15, 1, 8, 8), len(needs))
    assert counts[:12] == [2] * 12 and counts[24:] == [2] * 12  # the extra 8-interval blocks sit on the peak
    assert all(c == 5 for c in counts[16:20])
    # cheaper than three extra 8-interval blocks (96): two early shifts and two late ones overlap on
    # the peak, one 8-interval block makes the fifth
    assert counter_intervals(plan_day(needs, 15, 1, 8, 8)) == 88


def test_overlapping_blocks_beat_a_layer_per_counter():
    # layer by layer would open counter 0 all day (12) and counter 1 for 8: 20; two staggered blocks: 16
    shifts = plan_day([1] * 4 + [2] * 4 + [1] * 4, 15, 0, 5, 8)
    assert counter_intervals(shifts) == 16 and len(shifts) == 2


@pytest.mark.parametrize("seed", range(6))
def test_the_plan_has_as_few_counter_hours_as_an_exhaustive_search(seed):
    rng = random.Random(seed)
    need = [rng.randint(0, 3) for _ in range(7)]
    shifts = plan_day(need, 15, 0, 3, 3)
    counts = open_counts(shifts, len(need))
    assert all(c >= n for c, n in zip(counts, need)) and max(counts) <= 3
    assert sum(counts) == brute_force_cost(need, 3, 3)


def test_one_counter_gets_one_long_block_not_a_chain_of_short_ones():
    shifts = plan_day([1] * 40, 15, 1, 4, 8)
    assert shifts == [Shift(0, 0, 40)]


def test_the_same_needs_give_the_same_plan():
    rng = random.Random(8)
    needs = [rng.randint(0, 9) for _ in range(48)]
    assert plan_day(needs, 15, 1, 8, 8) == plan_day(list(needs), 15, 1, 8, 8)


def test_no_needs_open_nothing_unless_the_hall_has_a_minimum():
    assert plan_day([0, 0, 0, 0], 15, 0, 5, 2) == []
    assert plan_day([], 15, 1, 5, 2) == []
    assert open_counts(plan_day([0, 0, 0, 0], 15, 1, 5, 2), 4) == [1, 1, 1, 1]


def test_a_counter_never_holds_two_blocks_at_once():
    rng = random.Random(2)
    shifts = plan_day([rng.randint(0, 6) for _ in range(64)], 15, 0, 6, 6)
    by_counter = {}
    for s in shifts:
        by_counter.setdefault(s.counter_index, []).append(s)
    for mine in by_counter.values():
        for a, b in zip(mine, mine[1:]):
            assert a.end_interval < b.start_interval  # touching blocks would have been merged


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        plan_day([1, 2], 15, 3, 2)
    with pytest.raises(ValueError):
        plan_day([1, 2], 15, 0, 2, 0)
