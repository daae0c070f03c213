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

The history is held as a grid, one row per day and one column per slot of the day, NaN
where closed, so that every lag is an array shift (a year of 15-minute slots in ~20 ms).
"""
from __future__ import annotations

import calendar as std_calendar
import warnings
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

import numpy as np

from . import calendar as hall_calendar

FEATURE_NAMES = (
    "hour", "weekday", "is_workday", "is_holiday", "is_adjusted_workday",
    "days_to_holiday", "days_since_holiday", "day_of_month", "days_to_month_end",
    "last_day_total", "daily_mean_7d", "daily_mean_28d",
    "same_slot_1w", "same_slot_2w", "same_slot_mean_4w", "same_slot_mean_7d",
)
LOOKBACK_DAYS = 28


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
    """Counts as a (day, slot of day) array from ``first_day`` - 28 days to ``last_day``."""

    def __init__(self, series: Iterable[tuple[datetime, float]], interval_minutes: int,
                 first_day: date, last_day: date) -> None:
        self.interval = interval_minutes
        self.start = first_day - timedelta(days=LOOKBACK_DAYS)
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
            totals = np.where(np.isnan(v).all(axis=1), np.nan, np.nansum(v, axis=1))
            unique_days = np.unique(days)
            day_part = {d: self._day_features(grid.start + timedelta(days=int(d)), totals, d)
                        for d in unique_days}
            weekly = np.stack([v[days - 7 * k, columns] for k in (1, 2, 3, 4)], axis=1)
            daily = np.stack([v[days - k, columns] for k in range(1, 8)], axis=1)
            slot_part = np.column_stack([
                weekly[:, 0], weekly[:, 1], np.nanmean(weekly, axis=1), np.nanmean(daily, axis=1),
            ])
        hour = np.array([s.hour + s.minute / 60.0 for s in slots])
        day_rows = np.array([day_part[d] for d in days])
        return np.column_stack([hour, day_rows, slot_part])

    def _day_features(self, day: date, totals: np.ndarray, index: int) -> tuple[float, ...]:
        info = hall_calendar.day_info(day, self.country)
        last_7 = totals[index - 7:index][::-1]
        seen = last_7[~np.isnan(last_7)]
        month_days = std_calendar.monthrange(day.year, day.month)[1]
        return (
            float(day.weekday()), float(info.is_workday), float(info.is_holiday),
            float(info.is_adjusted_workday),
            float(hall_calendar.days_to_next_holiday(day, self.country)),
            float(hall_calendar.days_since_last_holiday(day, self.country)),
            float(day.day), float(month_days - day.day),
            float(seen[0]) if len(seen) else np.nan,
            float(np.nanmean(last_7)), float(np.nanmean(totals[index - 28:index])),
        )
