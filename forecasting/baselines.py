"""The two forecasts any model must beat, from the same history and the same origin.

Both see only the history before the midnight of the first slot's day (the origin), as
the model does. A closed slot is absent from history; when the slot a baseline wants is
absent (the hall was closed, or a new hall), each says below what it falls back to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from .features import History, origin_of

WEEK = timedelta(days=7)
HistoryLike = History | Sequence[tuple[datetime, float]]


def as_history(history: HistoryLike) -> History:
    return history if isinstance(history, History) else History(history)


def seasonal_naive(slots: Sequence[datetime], history: HistoryLike) -> list[float]:
    """The same slot one week back; when it is unknown, 2, 3, then 4 weeks back; then the
    recent average (a closed week-ago slot is no evidence of a quiet slot)."""
    known = as_history(history).counts
    if not slots:
        return []
    origin = origin_of(min(slots))
    fallback = recent_average(slots, history)
    out = []
    for slot, spare in zip(slots, fallback):
        value = next((known[s] for s in (slot - k * WEEK for k in (1, 2, 3, 4)) if s < origin and s in known), None)
        out.append(spare if value is None else value)
    return out


def recent_average(slots: Sequence[datetime], history: HistoryLike, weeks: int = 4) -> list[float]:
    """Mean of the same slot over the last ``weeks`` same weekdays it was open; when it
    was never open then, the mean of the same time of day over the last 28 days; else 0."""
    known = as_history(history).counts
    if not slots:
        return []
    origin = origin_of(min(slots))
    by_time = None  # built only when a slot was never open in the last weeks
    out = []
    for slot in slots:
        seen = [known[s] for s in (slot - k * WEEK for k in range(1, weeks + 1)) if s < origin and s in known]
        if seen:
            out.append(sum(seen) / len(seen))
        else:
            by_time = by_time if by_time is not None else _time_of_day_means(known, origin)
            out.append(by_time.get(slot.time(), 0.0))
    return out


def _time_of_day_means(known: dict[datetime, float], origin: datetime) -> dict:
    start = origin - timedelta(days=28)
    sums: dict = {}
    for slot, count in known.items():
        if start <= slot < origin:
            total, n = sums.get(slot.time(), (0.0, 0))
            sums[slot.time()] = (total + count, n + 1)
    return {t: total / n for t, (total, n) in sums.items()}
