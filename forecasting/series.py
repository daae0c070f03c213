"""Arrival series as ``timestamp,count`` CSV files: read, write, coarsen, and build from the
queue log.

A series lists OPEN slots only: a slot the hall was closed is absent (a gap), and an open
slot where nobody came is present with count 0. Timestamps are ISO, naive local time, the
start of the slot. A count written as empty or ``nan`` is a missing reading (a sensor gap):
it is left out like a closed slot.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from .queue_log import Call, arrivals_per_interval

Series = list[tuple[datetime, float]]
HEADER = ["timestamp", "count"]


class SeriesError(ValueError):
    """A series file or option that cannot be used; the message names it."""


INTERVALS = (15, 30, 60)


def parse_interval(text: str) -> int:
    """Minutes in an interval written ``15min``, ``30min``, ``60min`` or ``1h`` (or ``15``)."""
    match = re.fullmatch(r"\s*(\d+)\s*(min|m|h)?\s*", text or "")
    minutes = int(match.group(1)) * (60 if match.group(2) == "h" else 1) if match else None
    if minutes not in INTERVALS:
        raise SeriesError(f"--interval {text!r}: expected 15min, 30min, 1h or 60min")
    return minutes


def read_series(path: Path | str) -> Series:
    """The series in ``path``, in time order; SeriesError naming the file and line if bad."""
    path = Path(path)
    try:
        handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed by the with below, once the error is told apart
    except OSError as error:
        raise SeriesError(f"{path}: cannot read: {error.strerror or error}") from None
    seen: dict[datetime, float] = {}
    with handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None or [h.strip().lower() for h in header[:2]] != HEADER:
            raise SeriesError(f"{path}: the first line must be the header 'timestamp,count', got {header!r}")
        for line, row in enumerate(rows, start=2):
            if not row or not "".join(row).strip():
                continue
            slot, count = _parse_row(path, line, row)
            if slot in seen:
                raise SeriesError(f"{path}:{line}: timestamp {slot.isoformat()} appears twice")
            if count is not None:
                seen[slot] = count
    return sorted(seen.items())


def _parse_row(path: Path, line: int, row: list[str]) -> tuple[datetime, float | None]:
    if len(row) < 2:
        raise SeriesError(f"{path}:{line}: expected 'timestamp,count', got {row!r}")
    try:
        slot = datetime.fromisoformat(row[0].strip())
    except ValueError:
        raise SeriesError(f"{path}:{line}: bad timestamp {row[0]!r} (ISO, naive local time)") from None
    if slot.tzinfo is not None:
        raise SeriesError(f"{path}:{line}: timestamp {row[0]!r} has a time zone; use naive local time")
    text = row[1].strip()
    if text.lower() in ("", "nan", "na"):
        return slot, None
    try:
        count = float(text)
    except ValueError:
        raise SeriesError(f"{path}:{line}: bad count {text!r}") from None
    if count < 0 or math.isinf(count):
        raise SeriesError(f"{path}:{line}: count {text!r} must be a non-negative number")
    return slot, (None if math.isnan(count) else count)


def write_series(path: Path | str, series: Iterable[tuple[datetime, float]]) -> None:
    """Write ``series`` as ``timestamp,count``, in time order."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for slot, count in sorted(series):
            out.writerow([slot.isoformat(timespec="minutes"), f"{count:g}"])


def check_interval(series: Sequence[tuple[datetime, float]], minutes: int, name: str = "series") -> None:
    """SeriesError naming the first timestamp that does not start a ``minutes`` interval, or
    saying so when no two slots of a day are closer than a coarser interval (an hourly
    series read as 15-minute slots would look closed three quarters of the time)."""
    for slot, _ in series:
        if slot.second or slot.microsecond or (slot.hour * 60 + slot.minute) % minutes:
            raise SeriesError(
                f"{name}: timestamp {slot.isoformat()} does not start a {minutes}-minute interval (wrong --interval?)"
            )
    starts = sorted(slot for slot, _ in series)
    gaps = [(b - a).total_seconds() / 60 for a, b in itertools.pairwise(starts) if a.date() == b.date()]
    if gaps and min(gaps) > minutes:
        raise SeriesError(f"{name}: slots are at least {min(gaps):g} minutes apart, not {minutes} (wrong --interval?)")


def resample(series: Iterable[tuple[datetime, float]], minutes: int) -> Series:
    """Sum into coarser ``minutes`` slots. A coarse slot is open when any of its fine slots
    was open; its count is the sum of those open fine slots."""
    step = minutes * 60
    sums: dict[datetime, float] = defaultdict(float)
    for slot, count in series:
        midnight = datetime(slot.year, slot.month, slot.day)
        seconds = int((slot - midnight).total_seconds())
        sums[midnight + timedelta(seconds=seconds - seconds % step)] += count
    return sorted(sums.items())


def from_queue_log(calls: Sequence[Call], interval_minutes: int = 15, min_share: float = 0.5) -> Series:
    """Arrivals per OPEN slot of the queue log.

    The log has no opening hours, and calls trickle in at night (answered by the voice
    menu, some by a night agent). A slot of the day is taken as open on a weekday when
    agents served at least one call in it on at least ``min_share`` of that weekday's
    dates in the log; a date with no served call at all is closed. Arrivals (phantoms
    left out) in open slots are counted, zeros included; arrivals outside are dropped.
    """
    step = timedelta(minutes=interval_minutes)
    served = arrivals_per_interval([c for c in calls if c.served], interval_minutes)
    arrivals = arrivals_per_interval(calls, interval_minutes)
    dates = sorted({c.arrived.date() for c in calls})
    open_dates = {s.date() for s in served}
    slots_per_day = (24 * 60) // interval_minutes
    counts_by_weekday: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    n_by_weekday: dict[int, int] = defaultdict(int)
    for day in dates:
        n_by_weekday[day.weekday()] += 1
    for slot in served:
        index = (slot.hour * 60 + slot.minute) // interval_minutes
        counts_by_weekday[slot.weekday()][index] += 1
    series: Series = []
    for day in dates:
        if day not in open_dates:
            continue
        hours = counts_by_weekday[day.weekday()]
        midnight = datetime(day.year, day.month, day.day)
        for index in range(slots_per_day):
            if hours.get(index, 0) >= min_share * n_by_weekday[day.weekday()]:
                slot = midnight + index * step
                series.append((slot, float(arrivals.get(slot, 0))))
    return series


def day_slots(series: Sequence[tuple[datetime, float]], day: date) -> list[datetime]:
    """The open slots of ``day`` in ``series``."""
    return [s for s, _ in series if s.date() == day]
