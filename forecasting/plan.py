"""A day's counter plan: which counters open when, as staff shift blocks.

Given the counters needed per interval, choose shift blocks (a counter open from one
interval to another, at least ``min_block_intervals`` long) so that every interval has
at least its need open (clipped to the hall's minimum and maximum), with the fewest
counter-hours, and among plans with those, the fewest blocks.

This is solved exactly: the block-covering problem is an integer programme whose
constraint matrix has consecutive ones in each column (an interval matrix), which is
totally unimodular, so HiGHS solves it at once. A day of 96 quarter hours has about
4,000 candidate blocks and solves in milliseconds. Blocks are then handed to counters
(interval colouring: the lowest-numbered counter free at the block's start), so a
counter may get a morning and an evening block (a split shift), each long enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csc_matrix


@dataclass(frozen=True, order=True)
class Shift:
    """Counter ``counter_index`` (0-based) open for intervals ``start_interval`` .. ``end_interval - 1``."""

    counter_index: int
    start_interval: int
    end_interval: int


def open_counts(shifts: list[Shift], n_intervals: int) -> list[int]:
    """Counters open per interval under a plan."""
    counts = [0] * n_intervals
    for shift in shifts:
        for i in range(max(shift.start_interval, 0), min(shift.end_interval, n_intervals)):
            counts[i] += 1
    return counts


def required(needs: list[int], min_counters: int, max_counters: int) -> list[int]:
    """The counters each interval must have: the need, at least the minimum, at most the maximum."""
    return [min(max(int(n), min_counters), max_counters) for n in needs]


def plan_day(
    needs: list[int], interval_minutes: int, min_counters: int, max_counters: int, min_block_intervals: int = 8
) -> list[Shift]:
    """Shift blocks covering ``needs`` (clipped to [min_counters, max_counters]) with the fewest counter-hours.

    Every block lasts at least ``min_block_intervals`` (or the whole day when the day is
    shorter). Opening never exceeds ``max_counters``. Deterministic: the same input gives
    the same plan. ``interval_minutes`` is only checked; the plan is in intervals.
    """
    if interval_minutes <= 0 or min_block_intervals <= 0:
        raise ValueError("interval_minutes and min_block_intervals must be positive")
    if min_counters < 0 or max_counters < min_counters:
        raise ValueError("need 0 <= min_counters <= max_counters")
    need = required(needs, min_counters, max_counters)
    n = len(need)
    if n == 0 or max(need) == 0:
        return []
    blocks = _cheapest_blocks(need, max_counters, min(min_block_intervals, n))
    return _assign(blocks)


def _cheapest_blocks(need: list[int], cap: int, length: int) -> list[tuple[int, int]]:
    n = len(need)
    # a block of 2L or more splits into two of at least L with the same cover and cost, so the
    # candidates are the blocks of L .. 2L - 1 (and the whole day); touching ones are merged later
    pairs = sorted({(s, e) for s in range(n) for e in range(s + length, min(s + 2 * length, n + 1))} | {(0, n)})
    starts, ends = np.array([s for s, _ in pairs]), np.array([e for _, e in pairs])
    # interval i is covered by block j when start_j <= i < end_j
    rows: list[int] = []
    cols: list[int] = []
    for j, (s, e) in enumerate(zip(starts, ends)):
        rows.extend(range(s, e))
        cols.extend([j] * (e - s))
    cover = csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(starts)))
    # counter-intervals, plus a tie-break below one interval in total: among the cheapest plans, fewest blocks
    cost = (ends - starts) + 1.0 / (n * cap + 1)
    result = milp(
        cost,
        constraints=LinearConstraint(cover, np.array(need, dtype=float), float(cap)),
        integrality=np.ones(len(starts)),
        bounds=Bounds(0, max(need)),
    )
    if not result.success:  # cannot happen: max(need) full-day blocks always fit under the cap
        raise RuntimeError(f"no counter plan found: {result.message}")
    chosen: list[tuple[int, int]] = []
    for j in map(int, np.flatnonzero(np.round(result.x) > 0)):
        chosen.extend([(int(starts[j]), int(ends[j]))] * round(result.x[j]))
    return sorted(chosen, key=lambda b: (b[0], -b[1]))


def _assign(blocks: list[tuple[int, int]]) -> list[Shift]:
    """Hand blocks to counters, lowest-numbered first; a block that starts as another ends extends it."""
    shifts: list[list[list[int]]] = []  # per counter: its blocks as [start, end]
    for start, end in blocks:
        k = next((k for k, mine in enumerate(shifts) if mine[-1][1] == start), None)
        if k is not None:
            shifts[k][-1][1] = end
            continue
        k = next((k for k, mine in enumerate(shifts) if mine[-1][1] < start), len(shifts))
        if k == len(shifts):
            shifts.append([])
        shifts[k].append([start, end])
    return sorted(Shift(k, s, e) for k, mine in enumerate(shifts) for s, e in mine)
