#!/usr/bin/env python3
"""Staffing benchmark: the models against the real queue log, and how fast the staffing maths runs.

    python bench/queue_log_calibration.py [--log PATH] [--interval-minutes 60] [--seed 1]

1. Reads the real log (``../shared/data/queue-log``, "Anonymous Bank", Feb 1999) and replays
   it (``forecasting.calibration.calibrate``): per hour of the working days (Sun-Thu), the
   observed share waiting, mean wait and share abandoned against Erlang C, Erlang A and the
   simulation, with servers counted as named agents, effective servers (busy while somebody
   waits), the peak and the mean number busy, and named x a ratio fitted on the first half.
   Errors are MAE across intervals weighted by arrivals (and the weighted bias).
2. Times: reading the log, the calibration, one month's simulation replay, a busy hall day
   (about 1,000 customers, 10 counters, priority tiers), ``counters_needed`` (Erlang C and A)
   and ``plan_day`` (96 quarter hours).
3. Times are also given as a ratio to a fixed pure-Python reference workload (heap and dict
   operations, like the simulator's) run right before every timed run, so runs compare on a
   noisy shared machine: ``timings_per_reference`` is the median over the runs of each run's time
   over the reference's just before it. Each timing in seconds is the fastest of its runs.

Progress and a table go to stderr; the last line on stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forecasting.calibration import calibrate, observe, replay  # noqa: E402
from forecasting.erlang import counters_needed  # noqa: E402
from forecasting.plan import plan_day  # noqa: E402
from forecasting.queue_log import DEFAULT_PATH, read_calls  # noqa: E402
from forecasting.simulation import (  # noqa: E402
    Exponential, Lognormal, ServiceSpec, counters_from_counts, generate_customers, simulate,
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def reference_workload() -> None:
    """Fixed pure-Python work: 200,000 heap pushes and pops with dict updates (seeded)."""
    rng = random.Random(0)
    heap: list[tuple[float, int]] = []
    seen: dict[int, float] = {}
    for i in range(200_000):
        heapq.heappush(heap, (rng.random(), i))
        if i % 2:
            at, j = heapq.heappop(heap)
            seen[j] = at
    while heap:
        at, j = heapq.heappop(heap)
        seen[j] = at


REFERENCE: list[float] = []  # every reference time measured in this run
RATIOS: dict[str, list[float]] = {}  # per workload: its time / the reference's just before it


def fastest(fn, repeat: int, name: str) -> tuple[float, object]:
    """Fastest of ``repeat`` runs; right before each, the reference workload runs too."""
    best, value = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        reference_workload()
        REFERENCE.append(time.perf_counter() - started)
        started = time.perf_counter()
        value = fn()
        took = time.perf_counter() - started
        best = min(best, took)
        RATIOS.setdefault(name, []).append(took / REFERENCE[-1])
    return best, value


def busy_day(seed: int):
    """A busy hall: four services, 8:00-20:00, about 1,000 customers, 10 counters, 12 % VIPs."""
    specs = {s: ServiceSpec(s, Lognormal(300, 0.8), Exponential(1200), 900) for s in "ABCD"}
    rates = {(s, t): [18.0 if t == "ordinary" else 2.5] * 12 for s in "ABCD" for t in ("ordinary", "vip")}
    customers = generate_customers(rates, 3600, specs, seed)
    return simulate(customers, counters_from_counts([10] * 12, 3600, "ABCD"), 3600)


def erlang_workload() -> int:
    """A day's needs for 7 services x 48 half hours, half with patience (Erlang A)."""
    total = 0
    for slot in range(48):
        for service in range(7):
            arrivals = 5 + (slot * 7 + service * 13) % 40
            patience = 900 if service % 2 else None
            total += counters_needed(arrivals, 30, 180 + 40 * service, 600, 0.8, patience, 20)
    return total


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--log", type=Path, default=DEFAULT_PATH)
    p.add_argument("--interval-minutes", type=int, default=60)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    if not args.log.is_file():
        log(f"no queue log at {args.log}")
        return 2

    log("reading the log ...")
    read_s, calls = fastest(lambda: read_calls(args.log), args.repeat, "read_log_s")
    log(f"  {len(calls)} calls in {read_s:.3f} s")
    log("calibrating (Erlang C, Erlang A, simulation) ...")
    cal_s, report = fastest(lambda: calibrate(calls, args.interval_minutes, seed=args.seed), args.repeat, "calibrate_s")
    intervals = observe(calls, args.interval_minutes)
    replay_s, _ = fastest(lambda: replay(calls, intervals, "effective", args.interval_minutes, args.seed),
                          args.repeat, "replay_month_s")
    log("busy day, Erlang, plan ...")
    day_s, day = fastest(lambda: busy_day(args.seed), args.repeat, "busy_day_s")
    erlang_s, _ = fastest(erlang_workload, args.repeat, "erlang_day_336_calls_s")
    needs = [max(1, round(6 + 4 * math.sin(i / 96 * 2 * math.pi * 2))) for i in range(96)]  # two peaks
    plan_s, shifts = fastest(lambda: plan_day(needs, 15, 1, 10, 8), args.repeat, "plan_day_96_s")

    ref_s = min(REFERENCE)
    log(f"reference workload: fastest {ref_s:.3f} s, slowest {max(REFERENCE):.3f} s of {len(REFERENCE)}")
    log("")
    log(f"{'model':<24} {'MAE share waiting':>18} {'MAE mean wait s':>16} {'MAE abandoned':>14}"
        f" {'bias waiting':>13} {'bias abandoned':>15}")
    for name, e in report.errors.items():
        log(f"{name:<24} {e['mae_share_waiting']:>18.3f} {e['mae_mean_wait_s']:>16.1f} {e['mae_abandon_share']:>14.3f}"
            f" {e['bias_share_waiting']:>13.3f} {e['bias_abandon_share']:>15.3f}")
    log(f"observed: {json.dumps({k: round(v, 3) for k, v in report.observed.items()})}")

    timings = {"reference_s": ref_s, "read_log_s": read_s, "calibrate_s": cal_s, "replay_month_s": replay_s,
               "busy_day_s": day_s, "erlang_day_336_calls_s": erlang_s, "plan_day_96_s": plan_s}
    out = {
        "bench": "queue_log_calibration", "machine": machine(), "interval_minutes": args.interval_minutes,
        "seed": args.seed, "calls": len(calls), "observed": {k: round(v, 4) for k, v in report.observed.items()},
        "errors": {name: {k: round(v, 4) for k, v in e.items()} for name, e in report.errors.items()},
        "errors_second_half": {name: {k: round(v, 4) for k, v in e.items()}
                               for name, e in report.errors_second_half.items()},
        "busy_day_customers": len(day.customers), "plan_shifts": len(shifts),
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "reference_slowest_s": round(max(REFERENCE), 4),
        "timings_per_reference": {k: round(statistics.median(v), 3) for k, v in RATIOS.items()},
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
