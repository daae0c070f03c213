#!/usr/bin/env python3
"""Appointments spread the peak (issue 18): a real day of the bank log replayed with bookings.

    python bench/appointments_bench.py [--date 990202] [--share-booked 0.2] [--seed 7] [--log PATH]

What it does
------------
1. **The day.** Reads the real log (``../shared/data/queue-log``, "Anonymous Bank", February
   1999; ``forecasting.queue_log``) and takes one working day (Sunday-Thursday): ``--date
   YYMMDD``, default the busiest one (the most customers who reached the agents' queue,
   ``forecasting.calibration.queue_population``: 990202, 1,766). Every customer keeps their
   real arrival time and real service time; as in ``forecasting.calibration.replay``, one who
   hung up gets a service time drawn from the served calls, keeps the wait they gave up after
   as patience, and a served one gets their wait plus an exponential remainder with that
   half-hour's mean patience (pooled over the month). All of it is drawn once per seed and is
   the same in every run (common random numbers).
2. **The counters**, per half hour, the same in every run of a staffing, two ways (both run):
   - ``effective``: the log's **effective servers**, the time-average number of agents busy
     while somebody waited (``forecasting.calibration.observe``; a fractional server is open
     for that share of the half hour). This is what the bank really had at work, and the
     staffing that makes the simulation reproduce the log's waits;
   - ``plan``: the product's own plan for the day's counts: ``forecasting.erlang.counters_needed``
     (Erlang A, 80 % within 60 s, the day's mean service time, the half hour's mean patience)
     on the day's real arrivals per half hour (a perfect forecast of the total, bookers
     included: the plan is made before anyone books), then ``forecasting.plan.plan_day``
     (blocks of at least 2 h, at most 12 counters).
3. **Run A, the reference**: the day as it happened, everybody walks in at their real time.
4. **Run B**: ``--share-booked`` (0.2) of the customers, drawn with the seed, book ahead, one
   after the other in a random (seeded) order, through the product's rules
   (``app/domain/appointments.py``, ``BookingRules()``: 30-minute slots, head start 10 min,
   share 0.5, grace 10 min, check-in opens 60 min before):
   - **capacity** per slot = ``slot_capacity``: the counters' seconds in the slot beyond the
     forecast walk-ins' work, times the share 0.5. The "forecast" of the walk-ins is the day's
     own count of the customers who do not book, per half hour, raised to its **Poisson p90**
     (a perfect mean forecast with the upper band a forecaster would give it), times the day's
     mean service time (what the product does with ``service.handle_time_s``); the counters are
     the staffing's (with ``effective``, a fractional number, as the simulation opens them). A
     booking takes the day's mean service time of capacity (``bookable``);
   - a customer takes **the slot containing their real arrival time** if it has room, otherwise
     **the nearest slot with room** (by distance from the slot's middle to their arrival time,
     the earlier on a tie) within ``--max-move-minutes`` (120); none: the booking is
     **refused** and they walk in at their real time, as in A;
   - a booked customer **checks in** at the slot start plus a normal offset (mean
     ``--arrive-early-minutes`` 8 min early, sd ``--arrive-sd-minutes`` 8 min; never before
     check-in opens); ``--no-show`` (0.05) of them never come. They keep their own service time
     and patience;
   - their **place in line** is ``queue_time`` (slot start minus the 10-minute head start;
     later than the grace time: from check-in, as a walk-in).
5. **Run B, no capacity rule** (for comparison, not the product): the same bookers, each in the
   slot of their own arrival whatever the capacity, so appointments are only a priority, not a
   spreading of the demand. Two more runs of it take the product's two changes apart (only the
   walk-ins' mean wait is reported for them): **priority only** (booked customers come at their
   real arrival time but are queued at their slot's start minus the head start) and **check-in
   only** (they come at their check-in time but are queued from then, with no priority).

How appointment priority is simulated
-------------------------------------
``forecasting.simulation.simulate`` runs the day: a customer **enters the hall at check-in**
(their ``arrived``), and a counter falling free calls by the core's calling rule
(``app/domain/calling.py``, ``priority_key``): overdue first (waited past the 900 s target
since ``queued_at``), oldest first; otherwise by ``queued_at`` minus the tier's head start;
ties by ``queued_at``, then id. ``queued_at`` is the arrival time for a walk-in, and
``queue_time(...)`` for a checked-in appointment, exactly as the product stores it in the
ticket's ``queued_at`` (``app/services/appointments.py``). For walk-ins that is
``forecasting.simulation.head_start_rule()``'s key (same code, ``queued_at`` = ``arrived``); the
rule here only lets a customer's ``queued_at`` differ from the moment they walked in, which a
simulated ``arrived`` cannot do alone (it would either put the customer in the hall before they
came, or queue them from check-in). Everybody is the ``ordinary`` tier.

Figures
-------
Waits are in seconds, from entering the hall (check-in for appointments) to the call, or to
giving up for those who hang up. **Walk-ins** are the customers who did not get a booking (the
80 % who never tried, plus those refused); the same people are measured in A and B. The
**peak wait** is the highest, over the day's half hours (by the time the walk-in arrived; only
half hours with at least 10 walk-ins), of the walk-ins' mean wait; the **peak P90** the highest
half-hour 90th percentile. Because the worst half hour is a small sample (30-70 walk-ins) and
moves from run to run, the walk-ins' mean wait over the day's **busiest two hours** by real
arrivals (a window fixed for all runs) is given too. Ratios are B / A. A booked customer is
**called within their slot** when they were called before the slot ended (of those who came;
the late ones who queued as walk-ins and those who gave up count as not called within it; the
share among those called is given too). **Entries peak**: the most customers entering the hall
in one half hour (real arrivals for walk-ins, check-ins for appointments), to see whether the
bookings flatten the demand. The log's own figures for the day (its real waits) are printed
to show how close run A is.

Only the seed's figures are in the table; ``--spread-seeds`` (20) other seeds (seed + 1000 +
k: other bookers, booking order, check-in times, no-shows and the random draws of step 1)
give the min / median / max of the ratios. The table goes to stdout, then one JSON line;
progress to stderr. Without the log (no ``../shared/data``) it says so and exits 0 (skipped).
About 10 s on a 2-core machine (one core).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.domain.appointments import (  # noqa: E402
    LATE, BookingRules, PlanInterval, arrival, bookable, queue_time, slot_capacity,
)
from forecasting.calibration import ISRAELI_WORKDAYS, observe, queue_population  # noqa: E402
from forecasting.erlang import counters_needed  # noqa: E402
from forecasting.plan import open_counts, plan_day  # noqa: E402
from forecasting.queue_log import DEFAULT_PATH, Call, read_calls  # noqa: E402
from forecasting.simulation import (  # noqa: E402
    DEFAULT_HEAD_START_S, ORDINARY, Customer, SimulationResult, counters_from_counts, simulate,
)

SERVICE = "call"
TARGET_WAIT_S = 900.0       # the product's default service target (services.target_wait_s)
MIN_WALK_INS_FOR_PEAK = 10  # a half hour with fewer walk-ins is not a candidate for the peak
PLAN_TARGET = (60.0, 0.8)   # the "plan" staffing: 80 % within 60 s (Erlang A)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the day

@dataclass
class Day:
    day: date
    origin: datetime                 # the day's midnight
    step: int                        # seconds per half hour (= the slot)
    arrived: np.ndarray              # per customer: real arrival, seconds from midnight
    handle: np.ndarray               # service time, s
    patience: np.ndarray             # s
    counts: list[int]                # arrivals per half hour
    effective: list[float]           # effective servers per half hour
    patience_by_slot: list[float]    # mean patience per half hour (pooled over the month)
    mean_handle_s: float

    @property
    def n(self) -> int:
        return len(self.arrived)


def _seconds(at: datetime, origin: datetime) -> float:
    return (at - origin).total_seconds()


def load_day(population: list[Call], observed: list, day: date, step: int, seed: int) -> Day:
    """The day's queued customers with their draws (see the module docstring, 1); ``population``
    is the month's ``queue_population``, ``observed`` its ``observe`` by half hour."""
    rng = np.random.default_rng([seed, 1])
    origin = datetime.combine(day, datetime.min.time())
    people = [c for c in population if c.arrived.date() == day]
    intervals = {int(_seconds(i.start, origin) // step): i for i in observed if i.start.date() == day}
    n_slots = 86400 // step
    served = np.array([c.service_s for c in people if c.served], dtype=float)
    month_served = np.array([c.service_s for c in population if c.served], dtype=float)
    arrived, handle, patience = [], [], []
    for c in people:
        t = _seconds(c.arrived, origin)
        slot = intervals.get(int(t // step))
        mean_patience = slot.mean_patience_s if slot else math.inf
        if c.abandoned:
            h, p = float(rng.choice(month_served)), float(c.waited_s)
        else:
            extra = rng.exponential(mean_patience) if math.isfinite(mean_patience) else math.inf
            h, p = float(c.service_s), c.waited_s + extra
        arrived.append(t)
        handle.append(h)
        patience.append(p)
    arrived_a = np.array(arrived)
    counts = np.bincount((arrived_a // step).astype(int), minlength=n_slots).tolist()
    return Day(day, origin, step, arrived_a, np.array(handle), np.array(patience), counts,
               [intervals[i].effective_servers if i in intervals else 0.0 for i in range(n_slots)],
               [intervals[i].mean_patience_s if i in intervals else math.inf for i in range(n_slots)],
               float(served.mean()))


def effective_counters(d: Day) -> list[float]:
    return list(d.effective)


def planned_counters(d: Day) -> list[int]:
    """Erlang A for the day's real counts, then shift blocks (see the module docstring, 2)."""
    target_s, share = PLAN_TARGET
    needs = [counters_needed(n, d.step // 60, d.mean_handle_s, target_s, share,
                             p if math.isfinite(p) else None, 12) if n else 0
             for n, p in zip(d.counts, d.patience_by_slot)]
    shifts = plan_day(needs, d.step // 60, 0, 12, 4)
    return open_counts(shifts, len(needs))


# --------------------------------------------------------------------------- booking

def poisson_p90(mean: float) -> int:
    """The smallest k with P(Poisson(mean) <= k) >= 0.9."""
    if mean <= 0:
        return 0
    k, p = 0, math.exp(-mean)
    cdf = p
    while cdf < 0.9:
        k += 1
        p *= mean / k
        cdf += p
    return k


@dataclass
class Bookings:
    slot: dict[int, int] = field(default_factory=dict)   # customer -> slot index
    refused: list[int] = field(default_factory=list)
    moved: int = 0                                         # booked in another slot than their arrival's
    capacity_s: list[float] = field(default_factory=list)  # per slot, counter-seconds offered


def book(d: Day, counters: list[float], bookers: list[int], rules: BookingRules, capped: bool,
         max_move_s: float) -> Bookings:
    """Each booker in turn takes their arrival's slot, else the nearest slot with room (module docstring, 4)."""
    step = d.step
    assert rules.slot_minutes * 60 == step, "the plan's interval is the slot"
    n_slots = len(counters)
    booking = set(bookers)
    walk_ins = np.bincount((d.arrived[[i for i in range(d.n) if i not in booking]] // step).astype(int),
                           minlength=n_slots)
    plan = [PlanInterval(d.origin + timedelta(seconds=k * step), step // 60, counters[k],
                         poisson_p90(float(walk_ins[k])) * d.mean_handle_s)
            for k in range(n_slots) if counters[k] > 0]
    capacity = [slot_capacity(plan, d.origin + timedelta(seconds=k * step), rules) for k in range(n_slots)]
    used = [0.0] * n_slots
    out = Bookings(capacity_s=capacity)
    for i in bookers:
        own = int(d.arrived[i] // step)
        if not capped:
            out.slot[i] = own
            used[own] += d.mean_handle_s
            continue
        order = sorted((abs((k + 0.5) * step - d.arrived[i]), k) for k in range(n_slots))
        for distance, k in order:
            if k != own and distance > max_move_s:
                break
            if bookable(capacity[k], used[k], d.mean_handle_s) >= 1:
                out.slot[i] = k
                used[k] += d.mean_handle_s
                out.moved += k != own
                break
        if i not in out.slot:
            out.refused.append(i)
    return out


# --------------------------------------------------------------------------- the calling rule

def core_rule(queued_at: dict[int, float], head_start_s=DEFAULT_HEAD_START_S):
    """``app.domain.calling.priority_key`` with each ticket's own ``queued_at`` (module docstring)."""
    def key(c: Customer, now: float) -> tuple:
        q = queued_at.get(c.id, c.arrived)
        if now - q > c.target_wait_s:
            return (0, q, c.id)
        return (1, q - head_start_s.get(c.tier, 0.0), q, c.id)

    def rule(candidates: list[Customer], now: float) -> Customer:
        return min(candidates, key=lambda c: key(c, now))

    return rule


# --------------------------------------------------------------------------- one run

@dataclass
class Run:
    result: SimulationResult
    walk_ins: list[int]                     # customer ids measured as walk-ins
    booked: dict[int, tuple[float, float]]  # showed booked customer -> (slot start, slot end)
    late: int = 0
    no_shows: int = 0


PRODUCT, PRIORITY_ONLY, CHECK_IN_ONLY = "product", "priority_only", "check_in_only"


def run(d: Day, counters: list[float], bookings: Bookings | None, rules: BookingRules, seed: int,
        no_show: float, early_min: float, sd_min: float, mode: str = PRODUCT) -> Run:
    """One simulated day. ``mode`` (for the decomposition only): ``priority_only``, a booked customer
    comes at their real time but is queued at their slot's start minus the head start;
    ``check_in_only``, they come at their check-in time but are queued from then, like a walk-in."""
    rng = np.random.default_rng([seed, 3])
    # drawn for every customer, so that a customer's draw does not depend on who else booked
    offsets = rng.normal(-early_min * 60, sd_min * 60, d.n)
    stays_home = rng.random(d.n) < no_show
    customers, queued, booked, late, no_shows = [], {}, {}, 0, 0
    slots = bookings.slot if bookings else {}
    for i in range(d.n):
        if i in slots:
            if stays_home[i]:
                no_shows += 1
                continue
            start = slots[i] * d.step
            check_in = max(start + offsets[i], start - rules.early_minutes * 60, 0.0)  # not before the day
            slot_start, now = d.origin + timedelta(seconds=start), d.origin + timedelta(seconds=check_in)
            if arrival(now, slot_start, rules) == LATE:  # queue_time gives "now": queued as a walk-in
                late += 1
                queued[i] = check_in
            else:
                queued[i] = _seconds(queue_time(now, slot_start, rules), d.origin)
            booked[i] = (start, start + d.step)
            at = check_in
            if mode == PRIORITY_ONLY:
                at, queued[i] = float(d.arrived[i]), start - rules.head_start_minutes * 60.0
            elif mode == CHECK_IN_ONLY:
                queued[i] = at
        else:
            at = float(d.arrived[i])
        customers.append(Customer(i, SERVICE, ORDINARY, at, float(d.handle[i]), float(d.patience[i]),
                                  TARGET_WAIT_S))
    customers.sort(key=lambda c: (c.arrived, c.id))
    n_intervals = len(counters) + 1
    result = simulate(customers, counters_from_counts(list(counters) + [0.0], d.step, [SERVICE]), d.step,
                      core_rule(queued), n_intervals)
    walk_ins = [i for i in range(d.n) if i not in slots]
    return Run(result, walk_ins, booked, late, no_shows)


def wait_figures(r: Run, ids: list[int], step: int, window: range) -> dict:
    """Mean, P90, peak (worst half hour's mean) and peak P90 of the given customers' waits, and
    their mean wait when they arrived in ``window`` (half hours: the day's busiest two hours)."""
    by_id = {c.id: c for c in r.result.customers}
    chosen = [by_id[i] for i in ids]
    waits = np.array([c.wait_s for c in chosen])
    groups: dict[int, list[float]] = {}
    for c in chosen:
        groups.setdefault(int(c.arrived // step), []).append(c.wait_s)
    halves = {k: v for k, v in groups.items() if len(v) >= MIN_WALK_INS_FOR_PEAK}
    in_window = [w for k in window for w in groups.get(k, [])]
    peak_k = max(halves, key=lambda k: (np.mean(halves[k]), -k))
    p90_k = max(halves, key=lambda k: (np.percentile(halves[k], 90), -k))
    return {
        "customers": len(chosen), "mean_wait_s": float(waits.mean()), "p90_wait_s": float(np.percentile(waits, 90)),
        "abandoned_share": sum(c.abandoned for c in chosen) / len(chosen),
        "peak_mean_wait_s": float(np.mean(halves[peak_k])), "peak_at": _clock(peak_k * step),
        "peak_p90_wait_s": float(np.percentile(halves[p90_k], 90)), "peak_p90_at": _clock(p90_k * step),
        "busiest_2h_mean_wait_s": float(np.mean(in_window)),
        "by_half_hour": {_clock(k * step): round(float(np.mean(v)), 1) for k, v in sorted(groups.items())},
    }


def booked_figures(r: Run) -> dict:
    by_id = {c.id: c for c in r.result.customers}
    people = [(by_id[i], end) for i, (_, end) in r.booked.items()]
    if not people:
        return {"showed": 0, "within_slot_share": None, "mean_wait_s": None, "p90_wait_s": None,
                "abandoned": 0, "late_as_walk_in": r.late, "no_shows": r.no_shows}
    waits = np.array([c.wait_s for c, _ in people])
    within = sum(1 for c, end in people if c.start is not None and c.start <= end)
    called = sum(1 for c, _ in people if c.start is not None)
    return {"showed": len(people), "within_slot_share": within / len(people),
            "called_within_slot": within, "within_slot_share_of_called": within / called if called else math.nan,
            "mean_wait_s": float(waits.mean()),
            "p90_wait_s": float(np.percentile(waits, 90)), "abandoned": sum(c.abandoned for c, _ in people),
            "late_as_walk_in": r.late, "no_shows": r.no_shows}


def _clock(seconds: float) -> str:
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}"


# --------------------------------------------------------------------------- one seed

def scenario(d: Day, counters: list[float], args, rules: BookingRules, seed: int) -> dict:
    """Runs A, B and B without the capacity rule for one staffing and seed; their figures."""
    rng = np.random.default_rng([seed, 2])
    n_book = round(args.share_booked * d.n)
    bookers = [int(i) for i in rng.permutation(rng.choice(d.n, n_book, replace=False))]
    draws = (args.no_show, args.arrive_early_minutes, args.arrive_sd_minutes)
    a = run(d, counters, None, rules, seed, *draws)
    capped = book(d, counters, bookers, rules, True, args.max_move_minutes * 60)
    b = run(d, counters, capped, rules, seed, *draws)
    uncapped = book(d, counters, bookers, rules, False, 0)
    b0 = run(d, counters, uncapped, rules, seed, *draws)
    # the busiest two hours of the day by real arrivals (the same window in every run)
    first = max(range(len(d.counts) - 3), key=lambda k: (sum(d.counts[k:k + 4]), -k))
    window = range(first, first + 4)

    def entries_peak(r: Run) -> int:  # most customers entering the hall in a half hour
        return int(np.bincount([int(c.arrived // d.step) for c in r.result.customers]).max())

    out = {"bookers": n_book, "counter_hours": sum(counters) * d.step / 3600,
           "busiest_2h": f"{_clock(first * d.step)}-{_clock((first + 4) * d.step)}", "entries_peak_A": entries_peak(a),
           "capacity_offered": round(sum(capped.capacity_s) / d.mean_handle_s, 1),
           "slots_with_room": sum(1 for c in capped.capacity_s if c >= d.mean_handle_s)}
    for name, r, bk in (("B", b, capped), ("B_no_capacity_rule", b0, uncapped)):
        a_same = wait_figures(a, r.walk_ins, d.step, window)
        mine = wait_figures(r, r.walk_ins, d.step, window)
        out[name] = {
            "booked": len(bk.slot), "refused": len(bk.refused), "moved": bk.moved, "entries_peak": entries_peak(r),
            "walk_ins_A": a_same, "walk_ins": mine, "booked_customers": booked_figures(r),
            "ratio_peak_mean": mine["peak_mean_wait_s"] / a_same["peak_mean_wait_s"],
            "ratio_peak_p90": mine["peak_p90_wait_s"] / a_same["peak_p90_wait_s"],
            "ratio_mean": mine["mean_wait_s"] / a_same["mean_wait_s"],
            "ratio_p90": mine["p90_wait_s"] / a_same["p90_wait_s"],
            "ratio_busiest_2h": mine["busiest_2h_mean_wait_s"] / a_same["busiest_2h_mean_wait_s"],
        }
    out["A_everybody"] = wait_figures(a, list(range(d.n)), d.step, window)
    # why: the no-capacity-rule bookings with only the priority, or only the check-in times
    a_mean = out["B_no_capacity_rule"]["walk_ins_A"]["mean_wait_s"]
    for mode in (PRIORITY_ONLY, CHECK_IN_ONLY):
        r = run(d, counters, uncapped, rules, seed, *draws, mode=mode)
        mean = wait_figures(r, r.walk_ins, d.step, window)["mean_wait_s"]
        out["B_no_capacity_rule"][f"ratio_mean_{mode}"] = mean / a_mean
    return out


# --------------------------------------------------------------------------- report

def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def print_table(name: str, d: Day, s: dict) -> None:
    b, b0, a_all = s["B"], s["B_no_capacity_rule"], s["A_everybody"]
    print(f"\nstaffing: {name} ({s['counter_hours']:.1f} counter-hours; the capacity rule offers room for "
          f"{s['capacity_offered']:.0f} bookings, in {s['slots_with_room']} slots); busiest 2 h by arrivals "
          f"{s['busiest_2h']}")
    print(f"{'run':<40} {'cust.':>6} {'mean s':>7} {'P90 s':>6} {'peak s (at)':>15} {'peak P90 (at)':>16} "
          f"{'busiest 2h':>10} {'aband.':>6} {'entries peak':>12}")

    def row(label: str, f: dict, entries: int | None) -> None:
        print(f"{label:<40} {f['customers']:>6} {f['mean_wait_s']:>7.1f} {f['p90_wait_s']:>6.0f} "
              f"{f['peak_mean_wait_s']:>7.1f} ({f['peak_at']}) {f['peak_p90_wait_s']:>8.0f} ({f['peak_p90_at']}) "
              f"{f['busiest_2h_mean_wait_s']:>10.1f} {f['abandoned_share']:>6.3f} {entries if entries else '':>12}")

    row("A: everybody walks in", a_all, s["entries_peak_A"])
    for label, x in (("B", b), ("B, no capacity rule", b0)):
        row(f"A: the walk-ins of {label}", x["walk_ins_A"], None)
        row(f"{label}: walk-ins", x["walk_ins"], x["entries_peak"])
        k = x["booked_customers"]
        print(f"    {label}: walk-ins B/A: peak {x['ratio_peak_mean']:.3f}, peak P90 {x['ratio_peak_p90']:.3f}, "
              f"busiest 2 h {x['ratio_busiest_2h']:.3f}, mean {x['ratio_mean']:.3f}, P90 {x['ratio_p90']:.3f}")
        if k["showed"]:
            print(f"    {label}: {s['bookers']} wanted to book, {x['booked']} booked ({x['moved']} in another "
                  f"slot), {x['refused']} refused; {k['no_shows']} no-shows, {k['showed']} came "
                  f"({k['late_as_walk_in']} too late: walk-ins); called within their slot "
                  f"{k['called_within_slot']} = {k['within_slot_share']:.3f} (of those called "
                  f"{k['within_slot_share_of_called']:.3f}); their wait mean "
                  f"{k['mean_wait_s']:.1f} s, P90 {k['p90_wait_s']:.0f} s; {k['abandoned']} gave up")
        else:
            print(f"    {label}: {s['bookers']} wanted to book, none booked ({x['refused']} refused)")
    print(f"    why (B, no capacity rule), walk-ins' mean wait B/A with only the priority (booked customers come "
          f"at their real time): {b0['ratio_mean_priority_only']:.3f}; with only the check-in times (no priority): "
          f"{b0['ratio_mean_check_in_only']:.3f}; both (the product): {b0['ratio_mean']:.3f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--log", type=Path, default=DEFAULT_PATH)
    p.add_argument("--date", help="YYMMDD, a working day of the log (default: the busiest)")
    p.add_argument("--share-booked", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--spread-seeds", type=int, default=20, help="other seeds for the range of the ratios")
    p.add_argument("--max-move-minutes", type=float, default=120)
    p.add_argument("--arrive-early-minutes", type=float, default=8)
    p.add_argument("--arrive-sd-minutes", type=float, default=8)
    p.add_argument("--no-show", type=float, default=0.05)
    args = p.parse_args()
    if not args.log.is_file():
        data = args.log.parent.parent  # ../shared/data for the default log
        why = f"{data} is absent" if not data.is_dir() else "the file is missing"
        print(f"appointments_bench: skipped: no queue log at {args.log} ({why}); nothing measured")
        return 0

    started = time.perf_counter()
    rules = BookingRules(enabled=True)
    step = rules.slot_minutes * 60
    log("reading the log ...")
    calls = read_calls(args.log)
    population = queue_population(calls)
    per_day: dict[date, int] = {}
    for c in population:
        per_day[c.arrived.date()] = per_day.get(c.arrived.date(), 0) + 1
    if args.date:
        day = datetime.strptime(args.date, "%y%m%d").date()
        if day not in per_day:
            p.error(f"no customers on {args.date} in the log")
    else:
        day = max((d for d in per_day if d.weekday() in ISRAELI_WORKDAYS), key=lambda d: (per_day[d], d))
    log(f"day {day:%y%m%d} ({day:%a}), {per_day[day]} customers; simulating ...")
    real = [c for c in population if c.arrived.date() == day]
    real_waits = np.array([c.waited_s for c in real], dtype=float)
    the_log = {"mean_wait_s": float(real_waits.mean()), "p90_wait_s": float(np.percentile(real_waits, 90)),
               "abandoned_share": sum(c.abandoned for c in real) / len(real)}

    observed = observe(calls, step // 60)
    staffings = {}
    results, spread = {}, {}
    for seed in [args.seed] + [args.seed + 1000 + k for k in range(args.spread_seeds)]:
        d = load_day(population, observed, day, step, seed)
        if not staffings:
            staffings = {"effective": effective_counters(d), "plan": planned_counters(d)}
        for name, counters in staffings.items():
            s = scenario(d, counters, args, rules, seed)
            if seed == args.seed:
                results[name], main_day = s, d
            for variant in ("B", "B_no_capacity_rule"):
                x = s[variant]
                rows = spread.setdefault(name, {}).setdefault(variant, {})
                for key in ("ratio_peak_mean", "ratio_peak_p90", "ratio_busiest_2h", "ratio_mean", "ratio_p90",
                            f"ratio_mean_{PRIORITY_ONLY}", f"ratio_mean_{CHECK_IN_ONLY}"):
                    if key in x:
                        rows.setdefault(key, []).append(x[key])
                rows.setdefault("within_slot_share", []).append(x["booked_customers"]["within_slot_share"])
                rows.setdefault("within_slot_of_called", []).append(
                    x["booked_customers"].get("within_slot_share_of_called"))
                rows.setdefault("moved", []).append(x["moved"])
                rows.setdefault("refused", []).append(x["refused"])
    elapsed = time.perf_counter() - started

    d = main_day
    print(f"Appointments bench: {day:%Y-%m-%d} ({day:%A}), {d.n} customers, mean service {d.mean_handle_s:.1f} s, "
          f"{args.share_booked:.0%} book ahead, seed {args.seed}; waits in s; peak = worst half hour "
          f"(>= {MIN_WALK_INS_FOR_PEAK} walk-ins) by arrival")
    print(f"the log itself that day: mean wait {the_log['mean_wait_s']:.1f} s, P90 {the_log['p90_wait_s']:.0f} s, "
          f"abandoned {the_log['abandoned_share']:.3f}")
    for name in staffings:
        print_table(name, d, results[name])
    print(f"\nover seeds {args.seed} and {args.spread_seeds} others (min / median / max):")
    summary = {}
    for name, variants in spread.items():
        for variant, rows in variants.items():
            cells = {k: [min(v), statistics.median(v), max(v)] for k, v in rows.items() if None not in v}
            summary.setdefault(name, {})[variant] = {k: [round(x, 3) for x in v] for k, v in cells.items()}
            form = {"moved": "{:.0f}", "refused": "{:.0f}"}
            print(f"  {name:<9} {variant:<19} " + "  ".join(
                f"{k} " + "/".join(form.get(k, "{:.2f}").format(x) for x in v) for k, v in cells.items()))
    print(f"\n{elapsed:.1f} s")

    def rounded(x):
        if isinstance(x, np.generic):
            x = x.item()
        if isinstance(x, float):
            return round(x, 4)
        if isinstance(x, dict):
            return {k: rounded(v) for k, v in x.items()}
        if isinstance(x, list):
            return [rounded(v) for v in x]
        return x

    out = {"bench": "appointments", "machine": machine(), "date": f"{day:%y%m%d}", "customers": d.n,
           "mean_handle_s": d.mean_handle_s, "the_log": the_log, "share_booked": args.share_booked, "seed": args.seed,
           "rules": rules.to_dict(), "max_move_minutes": args.max_move_minutes,
           "arrive_early_minutes": args.arrive_early_minutes, "arrive_sd_minutes": args.arrive_sd_minutes,
           "no_show": args.no_show,
           "counters": {k: [round(float(c), 2) for c in v] for k, v in staffings.items()},
           "results": rounded(results), "spread": summary, "elapsed_s": round(elapsed, 2)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
