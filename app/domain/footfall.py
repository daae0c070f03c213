"""Door counts: what a reported minute must be, the hall's occupancy, and its load state.

A sensor reports people crossing its counting line per minute: ``in`` from the
negative to the positive side of the line, ``out`` the reverse (see
``sensors/``). A sensor mounted the other way round is registered ``reversed``,
and the hall's figures swap its two directions.

Occupancy is in minus out since the hall opened today, never negative: a minute
whose net would take it below zero (staff who came in before opening and leave,
a missed entry) leaves it at zero. It restarts every business day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import Invalid
from .hours import WEEKDAYS, OpeningHours

MAX_PER_MINUTE = 1000  # people through one sensor's line in one minute: more is a fault
MAX_BATCH = 2000  # minutes per request
FUTURE_SLACK = timedelta(seconds=120)  # a sensor's clock may run this far ahead of ours

BUSY, NORMAL, IDLE = "busy", "normal", "idle"


@dataclass(frozen=True)
class MinuteCount:
    """One sensor's crossings in one minute, as reported (not yet turned by ``reversed``)."""

    sensor: str
    minute: datetime  # aware, at a whole minute
    in_count: int
    out_count: int


def check_batch(counts: list[MinuteCount], now: datetime, opened_at: datetime | None) -> None:
    """Raise ``Invalid`` naming the first bad entry as ``counts[i].<field>``; else return."""
    if not counts:
        raise Invalid("the batch is empty", field="counts")
    if len(counts) > MAX_BATCH:
        raise Invalid(f"at most {MAX_BATCH} minutes per request, got {len(counts)}", field="counts")
    seen: dict[tuple[str, datetime], int] = {}
    for i, c in enumerate(counts):
        where = f"counts[{i}]"
        if c.minute.tzinfo is None:
            raise Invalid(
                "give the minute with its UTC offset, e.g. 2026-11-22T09:15:00+08:00", field=f"{where}.minute"
            )
        if c.minute.second or c.minute.microsecond:
            raise Invalid("a minute starts at second 0", field=f"{where}.minute")
        if c.minute > now + FUTURE_SLACK:
            raise Invalid(f"{c.minute.isoformat()} is in the future", field=f"{where}.minute")
        if opened_at is not None and c.minute < opened_at:
            raise Invalid(
                f"{c.minute.isoformat()} is before the hall opened ({opened_at.isoformat()})", field=f"{where}.minute"
            )
        for name, value in (("in", c.in_count), ("out", c.out_count)):
            if value < 0:
                raise Invalid(f"a count cannot be negative ({value})", field=f"{where}.{name}")
            if value > MAX_PER_MINUTE:
                raise Invalid(
                    f"{value} people in one minute through one sensor is more than {MAX_PER_MINUTE}",
                    field=f"{where}.{name}",
                )
        key = (c.sensor, c.minute.astimezone(UTC))
        if key in seen:
            raise Invalid(
                f"sensor {c.sensor!r} minute {c.minute.isoformat()} is also counts[{seen[key]}]",
                field=f"{where}.minute",
            )
        seen[key] = i


def hour_of(minute: datetime) -> datetime:
    return minute.replace(minute=0, second=0, microsecond=0)


def oriented(in_count: int, out_count: int, reversed_: bool) -> tuple[int, int]:
    """(entering, leaving) for a sensor's raw (in, out)."""
    return (out_count, in_count) if reversed_ else (in_count, out_count)


def occupancy_after(minutes: Iterable[tuple[int, int]]) -> int:
    """People inside after these (entering, leaving) minutes, in time order, never below zero."""
    people = 0
    for entering, leaving in minutes:
        people = max(0, people + entering - leaving)
    return people


def count_start(day: date, zone: ZoneInfo, hours: OpeningHours) -> datetime:
    """When today's occupancy starts: the hall's first opening time that day, else local midnight (UTC)."""
    spans = hours.days.get(WEEKDAYS[day.weekday()], ())
    first = min((start for start, _end in spans), default=time(0, 0))
    return datetime.combine(day, first, tzinfo=zone).astimezone(UTC)


# --------------------------------------------------------------------------- load state


@dataclass(frozen=True)
class LoadRules:
    """When a hall counts as busy or idle (per hall, ``halls.load_rules``)."""

    busy_occupancy: int = 40  # people inside
    idle_occupancy: int = 5
    busy_waiting_per_counter: float = 6.0  # tickets waiting per open counter

    FIELDS = ("busy_occupancy", "idle_occupancy", "busy_waiting_per_counter")

    @classmethod
    def from_dict(cls, data: Mapping | None) -> LoadRules:
        data = data or {}
        return cls(**{k: data[k] for k in cls.FIELDS if k in data})

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.FIELDS}


def load_rules_problems(data: Mapping) -> list[tuple[str, str]]:
    """(field, message) for each bad setting in a partial ``load_rules`` object."""
    problems = []
    for key, value in data.items():
        if key not in LoadRules.FIELDS:
            problems.append((key, f"unknown setting; use {', '.join(LoadRules.FIELDS)}"))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            problems.append((key, "must be a number, 0 or more"))
    if not problems:
        rules = LoadRules.from_dict(data)
        if rules.idle_occupancy >= rules.busy_occupancy:
            problems.append(("idle_occupancy", "must be below busy_occupancy"))
    return problems


def load_state(occupancy: int | None, waiting: int, open_counters: int, rules: LoadRules) -> str:
    """Busy, normal or idle, from people inside (None: the hall has no door counter) and the queue.

    Busy: too many inside, or too many tickets waiting for each open counter (a
    hall with people waiting and no counter open is busy). Idle: almost nobody
    inside (or, without door counts, nobody waiting) and nobody waiting beyond one
    per open counter. Normal otherwise.
    """
    per_counter = waiting / open_counters if open_counters else (float("inf") if waiting else 0.0)
    if per_counter >= rules.busy_waiting_per_counter or (occupancy is not None and occupancy >= rules.busy_occupancy):
        return BUSY
    quiet_queue = per_counter <= 1.0
    if occupancy is None:
        return IDLE if waiting == 0 else NORMAL
    return IDLE if occupancy <= rules.idle_occupancy and quiet_queue else NORMAL


def load_reasons(occupancy: int | None, waiting: int, open_counters: int, rules: LoadRules) -> list[dict]:
    """Why the hall is in its state: codes with their figures, for pages to put into words."""
    state = load_state(occupancy, waiting, open_counters, rules)
    per_counter = round(waiting / open_counters, 1) if open_counters else None
    reasons: list[dict] = []
    if state == BUSY:
        if occupancy is not None and occupancy >= rules.busy_occupancy:
            reasons.append({"code": "busy_inside", "n": occupancy, "limit": rules.busy_occupancy})
        if waiting and not open_counters:
            reasons.append({"code": "no_counter", "n": waiting})
        elif per_counter is not None and waiting / open_counters >= rules.busy_waiting_per_counter:
            reasons.append({"code": "busy_queue", "n": per_counter, "limit": rules.busy_waiting_per_counter})
    elif state == IDLE:
        if occupancy is not None:
            reasons.append({"code": "idle_inside", "n": occupancy, "limit": rules.idle_occupancy})
        reasons.append({"code": "quiet_queue" if waiting else "nobody_waiting"})
    else:
        if occupancy is not None:
            reasons.append(
                {"code": "normal_inside", "n": occupancy, "busy": rules.busy_occupancy, "idle": rules.idle_occupancy}
            )
        if waiting and per_counter is not None:
            reasons.append({"code": "normal_queue", "n": per_counter, "limit": rules.busy_waiting_per_counter})
        else:
            reasons.append({"code": "nobody_waiting"})
    if occupancy is None:
        reasons.append({"code": "no_door_counter"})
    return reasons
