"""Features of one open slot, using only what was known at the forecast's origin.

The origin is the midnight before the forecast day: the nightly job forecasts a whole day
at once, so a feature may use any slot before that midnight and none after. Closed slots
are absent from the history: "no data" (NaN), never a zero.

Features (one row per slot):
time of day; day of week; working day, public holiday and adjusted working day (调休);
days to the next and since the last holiday (capped at 7); day of month and days to the
month's end (bill days); the last open day's total and the mean daily total over the last
7 and 28 days; the same slot 1 and 2 weeks back; the mean of the same slot over the last
4 same weekdays and over the last 7 days. NaN means "unknown", which the gradient
boosting models handle natively.

Two smaller feature sets serve the day-total-times-shape part of the model
(``day_rows`` and ``share_rows``): per day, the calendar (with the month) and the recent
daily totals as ratios to the last 7 days' mean daily total (``level_7d``, which scales
the target), and how the same weekday 52 weeks back compared with the 28 days before it;
per slot, the calendar (with the month) and the slot's share of its day's total one week
back, over the last 4 same weekdays, over the last 7 days and 52 weeks back. The year-ago
features need a grid reaching that far back (``lookback_days``); without it they are NaN.

The history is held as a grid, one row per day and one column per slot of the day, NaN
where closed, so that every lag is an array shift (a year of 15-minute slots in ~20 ms).
"""

from __future__ import annotations

import calendar as std_calendar
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

import numpy as np

from . import calendar as hall_calendar

FEATURE_NAMES = (
    "hour",
    "weekday",
    "is_workday",
    "is_holiday",
    "is_adjusted_workday",
    "days_to_holiday",
    "days_since_holiday",
    "day_of_month",
    "days_to_month_end",
    "last_day_total",
    "daily_mean_7d",
    "daily_mean_28d",
    "same_slot_1w",
    "same_slot_2w",
    "same_slot_mean_4w",
    "same_slot_mean_7d",
)
DAY_FEATURE_NAMES = (
    "weekday",
    "is_workday",
    "is_holiday",
    "days_to_holiday",
    "days_since_holiday",
    "day_of_month",
    "month",
    "level_7d",
    "last_day_ratio",
    "level_28d_ratio",
    "same_weekday_1w_ratio",
    "same_weekday_2w_ratio",
    "same_weekday_3w_ratio",
    "same_weekday_4w_ratio",
    "same_weekday_median_ratio",
    "year_ago_ratio",
)
SHARE_FEATURE_NAMES = (
    "hour",
    "weekday",
    "is_holiday",
    "is_workday",
    "days_to_holiday",
    "days_since_holiday",
    "share_1w",
    "share_mean_4w",
    "share_mean_7d",
    "month",
    "share_year_ago",
)
LOOKBACK_DAYS = 28
YEAR = 364  # 52 weeks: the same weekday a year back


class History:
    """Counts per open slot with daily totals, looked up by slot (for the baselines)."""

    def __init__(self, series: Iterable[tuple[datetime, float]] = ()) -> None:
        self.counts: dict[datetime, float] = {}
        self.day_totals: dict[date, float] = defaultdict(float)
        for slot, count in series:
            self.add(slot, float(count))

    def add(self, slot: datetime, count: float) -> None:
        old = self.counts.get(slot)
        if old is not None:
            self.day_totals[slot.date()] -= old
        self.counts[slot] = count
        self.day_totals[slot.date()] += count

    def __len__(self) -> int:
        return len(self.counts)

    def days(self) -> list[date]:
        return sorted(self.day_totals)


def origin_of(slot: datetime) -> datetime:
    """Midnight before ``slot``: when its day's forecast is made."""
    return datetime(slot.year, slot.month, slot.day)


class SlotGrid:
    """Counts as a (day, slot of day) array from ``first_day`` - ``lookback_days`` (28, or
    more to reach a year back) to ``last_day``."""

    def __init__(
        self,
        series: Iterable[tuple[datetime, float]],
        interval_minutes: int,
        first_day: date,
        last_day: date,
        lookback_days: int = LOOKBACK_DAYS,
    ) -> None:
        if lookback_days < LOOKBACK_DAYS:
            raise ValueError(f"lookback_days must be at least {LOOKBACK_DAYS}: {lookback_days}")
        self.interval = interval_minutes
        self.start = first_day - timedelta(days=lookback_days)
        n_days = (last_day - self.start).days + 1
        self.values = np.full((n_days, 24 * 60 // interval_minutes), np.nan)
        for slot, count in series:
            day, column = self.index(slot)
            if 0 <= day < n_days:
                self.values[day, column] = count

    def index(self, slot: datetime) -> tuple[int, int]:
        return (slot.date() - self.start).days, (slot.hour * 60 + slot.minute) // self.interval

    def set(self, slot: datetime, count: float) -> None:
        day, column = self.index(slot)
        self.values[day, column] = count


class FeatureBuilder:
    """Feature rows for slots from a SlotGrid, for one country's calendar."""

    def __init__(self, country: str = "CN") -> None:
        self.country = country
        self._calendar: dict[date, tuple[float, ...]] = {}

    def calendar_of(self, day: date) -> tuple[float, ...]:
        """(weekday, workday, holiday, adjusted workday, days to / since a holiday), cached."""
        found = self._calendar.get(day)
        if found is None:
            info = hall_calendar.day_info(day, self.country)
            found = self._calendar[day] = (
                float(day.weekday()),
                float(info.is_workday),
                float(info.is_holiday),
                float(info.is_adjusted_workday),
                float(hall_calendar.days_to_next_holiday(day, self.country)),
                float(hall_calendar.days_since_last_holiday(day, self.country)),
            )
        return found

    def day_rows(self, days: Sequence[int], grid: SlotGrid) -> tuple[np.ndarray, np.ndarray]:
        """Day-total features for grid day indices ``days``, from the grid's days before
        each; and each day's ``level_7d`` (NaN when the last 7 days are all unknown)."""
        if len(days) == 0:
            return np.empty((0, len(DAY_FEATURE_NAMES))), np.empty(0)
        totals = _day_totals(grid.values)
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN means: unknown
            for d in days:
                if d < LOOKBACK_DAYS:
                    raise ValueError("a day before the grid's first day")
                day = grid.start + timedelta(days=int(d))
                weekday, workday, holiday, _, to_holiday, since_holiday = self.calendar_of(day)
                level = np.nanmean(totals[d - 7 : d])
                weekly = totals[[d - 7, d - 14, d - 21, d - 28]] / level
                year_ago = totals[d - YEAR] / np.nanmean(totals[d - YEAR - 28 : d - YEAR]) if d >= YEAR + 28 else np.nan
                rows.append(
                    (
                        weekday,
                        workday,
                        holiday,
                        to_holiday,
                        since_holiday,
                        float(day.day),
                        float(day.month),
                        level,
                        totals[d - 1] / level,
                        np.nanmean(totals[d - 28 : d]) / level,
                        *weekly,
                        np.nanmedian(weekly),
                        year_ago,
                    )
                )
        X = np.array(rows, dtype=float)
        X[~np.isfinite(X)] = np.nan  # a ratio to a zero level: unknown
        return X, X[:, DAY_FEATURE_NAMES.index("level_7d")]

    def share_rows(self, slots: Sequence[datetime], grid: SlotGrid) -> np.ndarray:
        """Intraday-shape features: one row per slot, from the grid's days before its day."""
        if not slots:
            return np.empty((0, len(SHARE_FEATURE_NAMES)))
        days, columns = (np.array(a, dtype=int) for a in zip(*(grid.index(s) for s in slots)))
        if days.min() < LOOKBACK_DAYS:
            raise ValueError("a slot before the grid's first day")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            share = grid.values / _day_totals(grid.values)[:, None]
            weekly = np.stack([share[days - 7 * k, columns] for k in (1, 2, 3, 4)], axis=1)
            daily = np.stack([share[days - k, columns] for k in range(1, 8)], axis=1)
            slot_part = np.column_stack([weekly[:, 0], np.nanmean(weekly, axis=1), np.nanmean(daily, axis=1)])
        day_part = {}
        for d in np.unique(days):
            day = grid.start + timedelta(days=int(d))
            weekday, workday, holiday, _, to_holiday, since_holiday = self.calendar_of(day)
            day_part[d] = (weekday, holiday, workday, to_holiday, since_holiday)
        hour = np.array([s.hour + s.minute / 60.0 for s in slots])
        month = np.array([float(s.month) for s in slots])
        year_ago = np.where(days >= YEAR, share[np.maximum(days - YEAR, 0), columns], np.nan)
        return np.column_stack([hour, np.array([day_part[d] for d in days]), slot_part, month, year_ago])

    def rows(self, slots: Sequence[datetime], grid: SlotGrid) -> np.ndarray:
        """One feature row per slot; each uses only the grid's days before the slot's day."""
        if not slots:
            return np.empty((0, len(FEATURE_NAMES)))
        days, columns = (np.array(a, dtype=int) for a in zip(*(grid.index(s) for s in slots)))
        if days.min() < LOOKBACK_DAYS:
            raise ValueError("a slot before the grid's first day")
        v = grid.values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN means: unknown
            totals = _day_totals(v)
            unique_days = np.unique(days)
            day_part = {d: self._day_features(grid.start + timedelta(days=int(d)), totals, d) for d in unique_days}
            weekly = np.stack([v[days - 7 * k, columns] for k in (1, 2, 3, 4)], axis=1)
            daily = np.stack([v[days - k, columns] for k in range(1, 8)], axis=1)
            slot_part = np.column_stack(
                [
                    weekly[:, 0],
                    weekly[:, 1],
                    np.nanmean(weekly, axis=1),
                    np.nanmean(daily, axis=1),
                ]
            )
        hour = np.array([s.hour + s.minute / 60.0 for s in slots])
        day_rows = np.array([day_part[d] for d in days])
        return np.column_stack([hour, day_rows, slot_part])

    def _day_features(self, day: date, totals: np.ndarray, index: int) -> tuple[float, ...]:
        last_7 = totals[index - 7 : index][::-1]
        seen = last_7[~np.isnan(last_7)]
        month_days = std_calendar.monthrange(day.year, day.month)[1]
        return (
            *self.calendar_of(day),
            float(day.day),
            float(month_days - day.day),
            float(seen[0]) if len(seen) else np.nan,
            float(np.nanmean(last_7)),
            float(np.nanmean(totals[index - 28 : index])),
        )


def _day_totals(values: np.ndarray) -> np.ndarray:
    """Each grid day's total over its known slots; NaN for a day with none."""
    known = ~np.isnan(values)
    return np.where(known.any(axis=1), np.where(known, values, 0.0).sum(axis=1), np.nan)
