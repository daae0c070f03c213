"""Backtest the arrival forecaster and both baselines on a ``timestamp,count`` series.

    python -m forecasting.backtest SERIES.csv --interval 15min --holdout-days N [--country CN]

Fits once on every day but the last N calendar days (ending on the series' last date),
then forecasts each held-out day that has open slots from its previous midnight, with the
history up to that midnight (actuals of earlier held-out days included, as the nightly
job would have them). Progress goes to stderr; the last line on stdout is one JSON object:

- ``model_mae`` (of p50, the median forecast), ``model_mean_mae`` (of the mean),
  ``seasonal_naive_mae``, ``recent_average_mae`` and the ``*_mase`` of each: MAE divided by
  the in-sample MAE of "same slot last week" on the training part;
- ``coverage_p90``: share of actuals <= p90; ``coverage_p10_p90``: share within [p10, p90];
- ``peak_bias`` (p50) and ``peak_bias_p90``: mean of forecast - actual over each held-out
  day's busiest 10 % of slots (at least one), by actual count; negative = peaks
  under-forecast; ``seasonal_naive_peak_bias`` likewise;
- ``fit_seconds``, ``forecast_seconds``, ``slots``, ``days``, ``training_days``.

A bad file or option: a message naming it on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from . import metrics
from .baselines import recent_average, seasonal_naive
from .calendar import UnknownCountry, check_country
from .features import History
from .model import ArrivalForecaster
from .series import SeriesError, check_interval, parse_interval, read_series


def run_backtest(
    series: Sequence[tuple[datetime, float]],
    interval_minutes: int,
    holdout_days: int,
    country: str = "CN",
    progress: Callable[[str], None] = lambda _: None,
    **forecaster_options,
) -> dict:
    """The figures described in the module docstring, as a dict."""
    if holdout_days < 1:
        raise SeriesError(f"--holdout-days {holdout_days}: must be at least 1")
    if not series:
        raise SeriesError("the series has no counts")
    last_day = max(s for s, _ in series).date()
    cut = datetime.combine(last_day - timedelta(days=holdout_days - 1), datetime.min.time())
    training = [(s, c) for s, c in series if s < cut]
    if not training:
        raise SeriesError(
            f"--holdout-days {holdout_days}: leaves no training data "
            f"(the series covers {len({s.date() for s, _ in series})} days)"
        )
    forecaster = ArrivalForecaster(interval_minutes=interval_minutes, country=country, **forecaster_options)
    started = time.perf_counter()
    forecaster.fit(training)
    fit_seconds = time.perf_counter() - started
    progress(
        f"fitted on {len({s.date() for s, _ in training})} days, {len(training)} slots "
        f"in {fit_seconds:.2f} s ({forecaster.mode}; calibration {forecaster.calibration_coverage})"
    )

    known = History(series)
    scale = metrics.seasonal_naive_scale(History(training).counts)
    actual, p10, p50, p90, mean, naive, average, days = [], [], [], [], [], [], [], []
    forecast_seconds = 0.0
    for day in sorted({s.date() for s, _ in series if s >= cut}):
        slots = sorted(s for s in known.counts if s.date() == day)
        before = [(s, c) for s, c in series if s < datetime.combine(day, datetime.min.time())]
        started = time.perf_counter()
        out = forecaster.forecast(slots, before)
        forecast_seconds += time.perf_counter() - started
        truth = [known.counts[s] for s in slots]
        actual += truth
        p10 += [f.p10 for f in out]
        p50 += [f.p50 for f in out]
        p90 += [f.p90 for f in out]
        mean += [f.mean for f in out]
        naive_day = seasonal_naive(slots, before)
        naive += naive_day
        average += recent_average(slots, before)
        days.append((truth, [f.p50 for f in out], [f.p90 for f in out], naive_day))
        progress(
            f"{day} {day.strftime('%a')}: {len(slots)} slots, actual {sum(truth):g}, "
            f"p50 {sum(f.p50 for f in out):.0f}, naive {sum(naive_day):.0f}"
        )
    result = {
        "model_mae": metrics.mae(actual, p50),
        "model_mase": metrics.mase(actual, p50, scale),
        "model_mean_mae": metrics.mae(actual, mean),
        "model_mean_mase": metrics.mase(actual, mean, scale),
        "seasonal_naive_mae": metrics.mae(actual, naive),
        "seasonal_naive_mase": metrics.mase(actual, naive, scale),
        "recent_average_mae": metrics.mae(actual, average),
        "recent_average_mase": metrics.mase(actual, average, scale),
        "coverage_p90": metrics.coverage(actual, p90),
        "coverage_p10_p90": metrics.interval_coverage(actual, p10, p90),
        "peak_bias": metrics.peak_bias([(d[0], d[1]) for d in days]),
        "peak_bias_p90": metrics.peak_bias([(d[0], d[2]) for d in days]),
        "seasonal_naive_peak_bias": metrics.peak_bias([(d[0], d[3]) for d in days]),
        "peak_definition": "mean forecast - actual over each held-out day's top 10% slots by actual",
        "mase_scale": scale,
        "fit_seconds": fit_seconds,
        "forecast_seconds": forecast_seconds,
        "mode": forecaster.mode,
        "slots": len(actual),
        "days": len(days),
        "training_days": len({s.date() for s, _ in training}),
        "training_slots": len(training),
        "interval_minutes": interval_minutes,
        "country": country,
    }
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m forecasting.backtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("series", help="CSV with header timestamp,count (open slots only)")
    parser.add_argument("--interval", default="15min", help="15min, 30min, 1h or 60min (default 15min)")
    parser.add_argument("--holdout-days", type=int, required=True, help="last N days to forecast")
    parser.add_argument("--country", default="CN", help="holiday calendar: CN (default) or an ISO code")
    args = parser.parse_args(argv)
    progress = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    try:
        minutes = parse_interval(args.interval)
        check_country(args.country)
        series = read_series(args.series)
        check_interval(series, minutes, args.series)
        result = run_backtest(series, minutes, args.holdout_days, args.country, progress)
    except (SeriesError, UnknownCountry) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
