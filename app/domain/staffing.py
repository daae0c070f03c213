"""A hall's staffing rules (``halls.staffing``) and the open slots of its days. Standard library only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta

from .hours import WEEKDAYS, OpeningHours


@dataclass(frozen=True)
class StaffingRules:
    """How a hall plans its counters from the forecast."""

    min_counters: int = 1  # open at any open time
    max_counters: int = 0  # 0: every active counter of the hall
    target_share: float = 0.8  # share served within each service's target wait
    patience_s: int = 900  # mean patience before giving up (no-shows), for Erlang A; 0: Erlang C
    min_shift_minutes: int = 120  # a counter opened by the plan stays open at least this long
    interval_minutes: int = 15  # forecast interval
    country: str = "CN"  # public holidays and adjusted working days (调休)

    @classmethod
    def from_dict(cls, data: Mapping | None) -> StaffingRules:
        data = data or {}
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def counters_cap(self, active_counters: int) -> int:
        return min(self.max_counters, active_counters) if self.max_counters else active_counters


_LIMITS = {
    "min_counters": (0, 200),
    "max_counters": (0, 200),
    "target_share": (0.05, 0.999),
    "patience_s": (0, 24 * 3600),
    "min_shift_minutes": (15, 12 * 60),
    "interval_minutes": (15, 60),
}


def staffing_rules_problems(data: Mapping) -> list[tuple[str, str]]:
    """(field, message) for each bad setting in a partial ``staffing`` object."""
    names = [f.name for f in fields(StaffingRules)]
    problems = []
    for key, value in data.items():
        if key not in names:
            problems.append((key, f"unknown setting; use {', '.join(names)}"))
        elif key == "country":
            if not (isinstance(value, str) and len(value) == 2 and value.isalpha() and value.isupper()):
                problems.append((key, "a two-letter ISO country code such as CN"))
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append((key, "must be a number"))
        elif not _LIMITS[key][0] <= value <= _LIMITS[key][1]:
            problems.append((key, f"must be between {_LIMITS[key][0]} and {_LIMITS[key][1]}"))
        elif key == "interval_minutes" and value not in (15, 30, 60):
            problems.append((key, "must be 15, 30 or 60"))
    if not problems:
        rules = StaffingRules.from_dict(data)
        if rules.max_counters and rules.min_counters > rules.max_counters:
            problems.append(("min_counters", "must not be above max_counters"))
    return problems


def open_slots(hours: OpeningHours, day: date, interval_minutes: int) -> list[datetime]:
    """The starts (naive local) of the day's intervals that begin while the hall is open."""
    spans = hours.days.get(WEEKDAYS[day.weekday()], ())
    step = timedelta(minutes=interval_minutes)
    midnight = datetime.combine(day, time(0))
    slots = []
    at = midnight
    while at.date() == day:
        clock = at.time()
        if any(start <= clock < end or (end == time.max and clock >= start) for start, end in spans):
            slots.append(at)
        at += step
    return slots
