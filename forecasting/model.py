"""Arrivals per open slot: a mean and a p10/p50/p90 band, one model set per hall.

Gradient-boosted trees (scikit-learn's HistGradientBoostingRegressor) on the features of
``features.py``: a Poisson-loss model for the mean (what staffing needs) and one
quantile-loss model per quantile. Beside them, two small models forecast the same thing
another way: the day's total (as a ratio to the last 7 days' mean daily total, from the
calendar, recent daily totals and the same weekday a year back) times each slot's share of
the day (from the calendar and the slot's recent and year-ago shares). That product is
averaged half and half with the slot trees' mean and with their p50: on the eight
Auckland backtest windows it cut the p50's MASE from 0.785 to 0.728 of seasonal naive's
(``bench/FORECAST_FIGURES.md``), and, unlike trees on raw counts, it follows a level the
hall never had before (so the blend goes half way). It is left out with fewer than 28
training days that have a known 7-day level (about 35 days of history).

Every model tried on real arrivals under-forecasts peaks, so the band is calibrated: the
slot trees are fitted without the last weeks of the history (up to 28 days), and the
quantile trees' misses on those weeks set how far to move the upper and lower bounds
(split-conformal, scaled like Poisson noise, ``sqrt(p50)``). Those trees are kept: their
lag features still see the latest weeks when forecasting, and refitting on everything
(``refit=True``) doubles the fitting time for no gain measured. The two small models take
no part in the calibration and are fitted on everything.

A hall with little history (fewer than ``min_history_days`` open days) gets the
recent-average baseline with a Poisson band; one with no history gets zeros, with a note.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from scipy.stats import poisson
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from .baselines import recent_average
from .calendar import check_country
from .features import LOOKBACK_DAYS, YEAR, FeatureBuilder, History, SlotGrid, origin_of


@dataclass(frozen=True)
class SlotForecast:
    """Forecast arrivals in the open slot starting at ``slot`` (naive local time)."""

    slot: datetime
    mean: float
    p10: float
    p50: float
    p90: float
    note: str = ""  # set when the forecast is a fallback: why


MODEL, BASELINE, EMPTY = "model", "baseline", "empty"
# the day-total x shape forecast is blended in with these weights on the slot trees' mean
# and p50; it needs this many training days with a known recent level
MEAN_WEIGHT, MID_WEIGHT = 0.5, 0.5
MIN_DAYS_FOR_SHAPE = 28
DAY_PARAMS = dict(max_iter=40, learning_rate=0.2, min_samples_leaf=10)
SHARE_PARAMS = dict(max_iter=30, learning_rate=0.3)


class ArrivalForecaster:
    """Fit on a hall's history of open slots; forecast whole days from the previous midnight.

    ``quantiles`` are the (low, middle, high) quantiles reported as p10, p50 and p90.
    ``threads`` caps the OpenMP threads of the trees (None: all cores). One is the default:
    a year of one hall fits as fast on one thread as on two, the nightly job runs one hall
    per core, and OpenMP threads on a busy machine can slow a fit down tenfold.

    After ``fit``, ``mode`` says what answers: "model" (the trees), "baseline" (fewer than
    ``min_history_days`` open days: the recent average with a Poisson band) or "empty" (no
    history: zeros). Every fallback forecast carries a ``note``.
    """

    def __init__(
        self,
        interval_minutes: int = 15,
        country: str = "CN",
        quantiles: tuple[float, float, float] = (0.1, 0.5, 0.9),
        *,
        min_history_days: int = 28,
        calibration_days: int = 28,
        refit: bool = False,
        max_iter: int = 60,
        learning_rate: float = 0.15,
        max_leaf_nodes: int = 15,
        random_state: int = 0,
        threads: int | None = 1,
    ) -> None:
        if not 0 < quantiles[0] < quantiles[1] < quantiles[2] < 1:
            raise ValueError(f"quantiles must rise within (0, 1): {quantiles}")
        if interval_minutes <= 0 or (24 * 60) % interval_minutes:
            raise ValueError(f"interval_minutes must divide a day: {interval_minutes}")
        self.interval_minutes = interval_minutes
        self.country = check_country(country)
        self.quantiles = tuple(quantiles)
        self.min_history_days = min_history_days
        self.calibration_days = calibration_days
        self.refit = refit
        self.threads = threads
        self._params = dict(
            max_iter=max_iter,
            learning_rate=learning_rate,
            max_leaf_nodes=max_leaf_nodes,
            min_samples_leaf=20,
            early_stopping=False,
            random_state=random_state,
        )
        self._features = FeatureBuilder(country)
        self.mode = EMPTY
        self._models: dict[str, HistGradientBoostingRegressor] = {}
        self.band_shift = (0.0, 0.0)  # conformal shift of (low, high), in sqrt(p50) units
        self.calibration_coverage: dict[str, float] = {}

    # --- fitting -------------------------------------------------------------------------
    def fit(self, history: Sequence[tuple[datetime, float]]) -> ArrivalForecaster:
        """Learn from ``history``: (slot start, count) of OPEN slots only, any order."""
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            return self._fit(history)

    def _fit(self, history: Sequence[tuple[datetime, float]]) -> ArrivalForecaster:
        known = History(history)
        self._check_slots(known.counts)
        days = known.days()
        if not days:
            self.mode = EMPTY
            return self
        if len(days) < self.min_history_days or sum(known.counts.values()) <= 0:
            self.mode = BASELINE
            return self
        # the first week has no lag features at all: only what follows it is learned from
        first = datetime.combine(days[0], datetime.min.time()) + timedelta(days=7)
        slots = sorted(s for s in known.counts if s >= first)
        grid = SlotGrid(known.counts.items(), self.interval_minutes, days[0], days[-1])
        rows = _Rows.build(slots, known, grid, self._features)
        models = self._calibrate(slots, rows.X, rows.y)
        if models is None or self.refit:
            models = self._fit_models(rows.X, rows.y)
        # the day-total and share models are small and not part of the band's
        # calibration: always fitted on everything
        self._models = {**models, **self._fit_shape_models(rows)}
        self.mode = MODEL
        return self

    def _fit_models(self, X: np.ndarray, y: np.ndarray) -> dict[str, HistGradientBoostingRegressor]:
        """The slot models: mean, low, mid, high."""
        models = {"mean": HistGradientBoostingRegressor(loss="poisson", **self._params)}
        for name, q in zip(("low", "mid", "high"), self.quantiles):
            models[name] = HistGradientBoostingRegressor(loss="quantile", quantile=q, **self._params)
        for model in models.values():
            model.fit(X, y)
        return models

    def _fit_shape_models(self, rows: _Rows) -> dict:
        """With enough days: the day-total model ("day") and the intraday-share model
        ("share"), whose product is blended into the slot models' mean and p50."""
        models: dict = {}
        usable = np.isfinite(rows.level) & (rows.level > 0)
        if usable.sum() >= MIN_DAYS_FOR_SHAPE:
            # the trees learn the day's total as a ratio to the last 7 days' mean daily
            # total, so a level they never saw still works (unweighted: sample weights
            # make scikit-learn's binning twenty times slower)
            level = rows.level[usable]
            models["day"] = HistGradientBoostingRegressor(loss="poisson", **{**self._params, **DAY_PARAMS}).fit(
                _known_columns(rows.D[usable]), rows.day_total[usable] / level
            )
            positive = rows.slot_day_total > 0
            models["share"] = HistGradientBoostingRegressor(loss="poisson", **{**self._params, **SHARE_PARAMS}).fit(
                _known_columns(rows.S[positive]), rows.y[positive] / rows.slot_day_total[positive]
            )
        return models

    def _calibrate(self, slots: list[datetime], X: np.ndarray, y: np.ndarray):
        """Shift the band so the last weeks' misses match the nominal quantiles.

        Returns the models fitted without those weeks, or None when the history is too
        short to spare them (then the band is the raw quantiles).
        """
        train_days = sorted({s.date() for s in slots})
        n_cal = min(self.calibration_days, len(train_days) // 4)
        self.band_shift, self.calibration_coverage = (0.0, 0.0), {}
        if n_cal < 5:
            return None
        cut = datetime.combine(train_days[-n_cal], datetime.min.time())
        early = np.array([s < cut for s in slots])
        if early.sum() < 200 or y[early].sum() <= 0:
            return None
        models = self._fit_models(X[early], y[early])
        low, mid, high = self._raw_quantiles(models, X[~early])
        scale = np.sqrt(np.maximum(mid, 1.0))
        truth = y[~early]
        self.band_shift = (
            _conformal((low - truth) / scale, 1.0 - self.quantiles[0]),
            _conformal((truth - high) / scale, self.quantiles[2]),
        )
        lo, hi = low - self.band_shift[0] * scale, high + self.band_shift[1] * scale
        self.calibration_coverage = {
            "days": float(n_cal),
            "high_before": float(np.mean(truth <= high)),
            "high_after": float(np.mean(truth <= hi)),
            "low_before": float(np.mean(truth >= low)),
            "low_after": float(np.mean(truth >= lo)),
        }
        return models

    def _raw_quantiles(self, models, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        stacked = np.sort(np.vstack([models[n].predict(X) for n in ("low", "mid", "high")]), axis=0)
        return stacked[0], stacked[1], stacked[2]

    def _check_slots(self, slots) -> None:
        step = self.interval_minutes
        for slot in slots:
            if slot.second or slot.microsecond or (slot.hour * 60 + slot.minute) % step:
                raise ValueError(f"slot {slot.isoformat()} does not start a {step}-minute interval")

    # --- forecasting ---------------------------------------------------------------------
    def forecast(self, slots: Sequence[datetime], history: Sequence[tuple[datetime, float]]) -> list[SlotForecast]:
        """Forecast each open slot in ``slots`` (in slot order) from ``history`` before the
        midnight of the first slot's day. Later days of a multi-day forecast use the
        earlier days' mean forecasts in place of their unknown counts."""
        with threadpool_limits(limits=self.threads, user_api="openmp"):
            return self._forecast(slots, history)

    def _forecast(self, slots: Sequence[datetime], history: Sequence[tuple[datetime, float]]) -> list[SlotForecast]:
        slots = sorted(slots)
        if not slots:
            return []
        self._check_slots(slots)
        origin = origin_of(slots[0])
        known = [(s, c) for s, c in history if s < origin]
        if not known:
            return [SlotForecast(s, 0.0, 0.0, 0.0, 0.0, "no history: zeros") for s in slots]
        if self.mode != MODEL:
            return self._baseline_forecast(slots, History(known))
        grid = SlotGrid(
            known, self.interval_minutes, origin.date(), slots[-1].date(), lookback_days=YEAR + LOOKBACK_DAYS
        )
        out: list[SlotForecast] = []
        for day_slots in _by_day(slots):
            day = self._forecast_day(day_slots, grid)
            for f in day:
                grid.set(f.slot, f.mean)
            out.extend(day)
        return out

    def _forecast_day(self, slots: list[datetime], grid: SlotGrid) -> list[SlotForecast]:
        X = self._features.rows(slots, grid)
        low, mid, high = self._raw_quantiles(self._models, X)
        scale = np.sqrt(np.maximum(mid, 1.0))
        low = low - self.band_shift[0] * scale
        high = high + self.band_shift[1] * scale
        mean = np.maximum(self._models["mean"].predict(X), 0.0)
        shaped = self._day_times_shape(slots, grid)
        if shaped is not None:
            mean = MEAN_WEIGHT * mean + (1.0 - MEAN_WEIGHT) * shaped
            mid = MID_WEIGHT * mid + (1.0 - MID_WEIGHT) * shaped
        mid = np.maximum(mid, 0.0)
        low = np.clip(low, 0.0, mid)
        high = np.maximum(high, mid)
        return [
            SlotForecast(s, float(m), float(a), float(b), float(c))
            for s, m, a, b, c in zip(slots, mean, low, mid, high)
        ]

    def _day_times_shape(self, slots: list[datetime], grid: SlotGrid) -> np.ndarray | None:
        """The day's forecast total times each slot's forecast share of it (``slots``: one
        day's); None without those models or any recent daily level."""
        if "day" not in self._models:
            return None
        D, level = self._features.day_rows([grid.index(slots[0])[0]], grid)
        if not (np.isfinite(level[0]) and level[0] > 0):
            return None
        total = max(float(self._models["day"].predict(D)[0]) * level[0], 0.0)
        # the shares are not rescaled to sum to one over ``slots``: those may be part of a day
        return total * np.maximum(self._models["share"].predict(self._features.share_rows(slots, grid)), 0.0)

    def _baseline_forecast(self, slots: list[datetime], known: History) -> list[SlotForecast]:
        means = recent_average(slots, known)
        note = f"short history ({len(known.days())} days): recent average, Poisson band"
        out = []
        for slot, m in zip(slots, means):
            lo, mid, hi = (float(poisson.ppf(q, m)) if m > 0 else 0.0 for q in self.quantiles)
            out.append(SlotForecast(slot, float(m), lo, mid, hi, note))
        return out


@dataclass
class _Rows:
    """Training rows: per slot (X, y), per day (D, day_total, level) and per slot for the
    shares (S, slot_day_total: the total of the slot's day)."""

    X: np.ndarray
    y: np.ndarray
    D: np.ndarray
    day_total: np.ndarray
    level: np.ndarray
    S: np.ndarray
    slot_day_total: np.ndarray

    @classmethod
    def build(cls, slots: list[datetime], known: History, grid: SlotGrid, features: FeatureBuilder) -> _Rows:
        X = features.rows(slots, grid)
        y = np.array([known.counts[s] for s in slots])
        days = sorted({s.date() for s in slots})
        day_index = [grid.index(datetime.combine(d, datetime.min.time()))[0] for d in days]
        D, level = features.day_rows(day_index, grid)
        return cls(
            X,
            y,
            D,
            np.array([known.day_totals[d] for d in days]),
            level,
            features.share_rows(slots, grid),
            np.array([known.day_totals[s.date()] for s in slots]),
        )


def _known_columns(X: np.ndarray) -> np.ndarray:
    """``X`` with each all-NaN column (a year-ago feature on less than a year of history)
    set to zero: scikit-learn cannot bin a column with no value, and a constant one is
    never split on, so the column is ignored whatever it holds when forecasting."""
    empty = np.isnan(X).all(axis=0)
    if not empty.any():
        return X
    X = X.copy()
    X[:, empty] = 0.0
    return X


def _conformal(scores: np.ndarray, level: float) -> float:
    """The split-conformal quantile of ``scores`` (finite-sample corrected)."""
    n = len(scores)
    rank = min(1.0, math.ceil((n + 1) * level) / n)
    return float(np.quantile(scores, rank, method="higher"))


def _by_day(slots: list[datetime]) -> list[list[datetime]]:
    days: dict = {}
    for slot in slots:
        days.setdefault(slot.date(), []).append(slot)
    return list(days.values())


# --- intraday ----------------------------------------------------------------------------
def intraday_adjust(
    forecasts: list[SlotForecast],
    actuals: dict[datetime, float],
    now: datetime,
    *,
    prior_arrivals: float = 30.0,
    bounds: tuple[float, float] = (0.5, 2.0),
    interval_minutes: int | None = None,
) -> list[SlotForecast]:
    """Today's forecasts with the rest of the day rescaled by how today is going so far.

    The slots of ``forecasts`` that have ended by ``now`` and have an actual count are
    compared with their forecast means: the factor is ``(actual + k) / (forecast + k)``
    with ``k = prior_arrivals`` (a Gamma prior on the day's level: with few arrivals
    seen, the factor stays near 1; with many it approaches the plain ratio), clamped to
    ``bounds``. Returned: ``forecasts`` in the same order, one for one; the slots of
    ``now``'s day not yet ended (the one running at ``now`` included) have mean and band
    multiplied by the factor and a note saying so; the others are returned unchanged.
    """
    if not forecasts:
        return []
    step = timedelta(minutes=interval_minutes or _interval_of(forecasts))
    done = [f for f in forecasts if f.slot + step <= now and f.slot in actuals]
    seen = sum(actuals[f.slot] for f in done)
    expected = sum(f.mean for f in done)
    factor = (seen + prior_arrivals) / (expected + prior_arrivals)
    factor = min(max(factor, bounds[0]), bounds[1])
    if factor == 1.0:
        return list(forecasts)
    note = f"intraday x{factor:.2f} ({seen:g} seen, {expected:.1f} expected)"
    return [
        replace(f, mean=f.mean * factor, p10=f.p10 * factor, p50=f.p50 * factor, p90=f.p90 * factor, note=note)
        if f.slot.date() == now.date() and f.slot + step > now
        else f
        for f in forecasts
    ]


def _interval_of(forecasts: list[SlotForecast]) -> float:
    """The smallest gap between forecast slots, in minutes (15 when there is one slot)."""
    starts = sorted({f.slot for f in forecasts})
    gaps = [(b - a).total_seconds() / 60 for a, b in itertools.pairwise(starts)]
    return min(gaps) if gaps else 15.0
