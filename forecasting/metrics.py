"""Forecast accuracy: MAE, MASE, band coverage and bias on the busiest slots."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta


def mae(actual: Sequence[float], forecast: Sequence[float]) -> float:
    """Mean absolute error; NaN for no slots."""
    _same_length(actual, forecast)
    if not actual:
        return math.nan
    return sum(abs(a - f) for a, f in zip(actual, forecast)) / len(actual)


def mase(actual: Sequence[float], forecast: Sequence[float], scale: float) -> float:
    """MAE divided by ``scale`` (the in-sample MAE of the seasonal-naive forecast)."""
    if not scale > 0:
        return math.nan
    return mae(actual, forecast) / scale


def seasonal_naive_scale(history: Mapping[datetime, float], lag: timedelta = timedelta(days=7)) -> float:
    """In-sample MAE of "same slot, ``lag`` back" over the slots of ``history`` whose slot
    ``lag`` back is also in it (open then too); NaN when there is none."""
    errors = [abs(count - history[slot - lag]) for slot, count in history.items() if slot - lag in history]
    return sum(errors) / len(errors) if errors else math.nan


def coverage(actual: Sequence[float], upper: Sequence[float]) -> float:
    """Share of actuals at or below the upper bound."""
    _same_length(actual, upper)
    if not actual:
        return math.nan
    return sum(a <= u for a, u in zip(actual, upper)) / len(actual)


def interval_coverage(actual: Sequence[float], lower: Sequence[float], upper: Sequence[float]) -> float:
    """Share of actuals within [lower, upper]."""
    _same_length(actual, lower)
    _same_length(actual, upper)
    if not actual:
        return math.nan
    return sum(lo <= a <= hi for a, lo, hi in zip(actual, lower, upper)) / len(actual)


def peak_bias(days: Sequence[tuple[Sequence[float], Sequence[float]]], top_share: float = 0.1) -> float:
    """Mean of (forecast - actual) over each day's busiest slots.

    ``days``: per day, (actuals, forecasts) of its slots. A day's busiest slots are the
    ``max(1, round(top_share * n))`` slots with the most actual arrivals (ties: earliest
    first). Negative: peaks under-forecast.
    """
    errors: list[float] = []
    for actual, forecast in days:
        _same_length(actual, forecast)
        if not actual:
            continue
        k = max(1, round(top_share * len(actual)))
        top = sorted(range(len(actual)), key=lambda i: (-actual[i], i))[:k]
        errors.extend(forecast[i] - actual[i] for i in top)
    return sum(errors) / len(errors) if errors else math.nan


def _same_length(a: Sequence, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} actuals but {len(b)} forecasts")
