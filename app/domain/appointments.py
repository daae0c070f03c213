"""Appointments (预约): a service, a day and a time slot, booked ahead from the phone.

The rules, with no database and no clock of their own:

- **Capacity from the plan.** The slots offered are what the hall's counter plan can serve
  beyond the forecast walk-ins (their upper band, p90), times the hall's share
  (``BookingRules.share``), counted in counter-seconds: a booking of a service takes its
  handle time. A hall never books what its plan cannot serve (``slot_capacity``,
  ``bookable``); a day without a plan offers nothing.
- **In the calling order.** A checked-in appointment takes its place in line as if it had
  arrived ``head_start_minutes`` before its slot (``queue_time``). The calling rule then does
  the rest: it is called ahead of walk-ins who arrived after that time and behind those who
  came earlier, so no walk-in is overtaken by an appointment whose slot starts more than the
  head start after the walk-in arrived, and never by more appointments than the share of the
  spare capacity booked in that time. The overdue rule stays above it all, for both: an overdue
  walk-in goes first, and so does an appointment overdue by its own service's target (measured
  from its queue time), as any overdue ticket does.
- **Early and late.** Check-in opens ``early_minutes`` before the slot (an earlier customer may
  wait or join as a walk-in); one more than ``grace_minutes`` late joins as a walk-in.
- **No-shows.** ``no_show_limit`` missed appointments within ``no_show_window_days`` block
  booking for ``block_days`` (``blocked_until``); the rule is shown before booking.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

SLOT_MINUTES = (15, 30, 60)


@dataclass(frozen=True)
class BookingRules:
    """A hall's appointment settings (``halls.booking``)."""

    enabled: bool = False
    share: float = 0.5  # of the plan's spare capacity offered for booking
    slot_minutes: int = 30
    horizon_days: int = 7  # how far ahead a day can be booked (today counts as 0)
    head_start_minutes: int = 10  # a checked-in appointment queues as if it came this long before its slot
    early_minutes: int = 60  # check-in opens this long before the slot
    grace_minutes: int = 10  # later than this after the slot starts: a walk-in
    no_show_limit: int = 3
    no_show_window_days: int = 30
    block_days: int = 30

    @classmethod
    def from_dict(cls, data: Mapping | None) -> BookingRules:
        data = data or {}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> dict[str, str]:
        """The no-show policy and the slot rules in words, shown to the customer before booking."""
        return {
            "zh": (
                f"请在预约时段开始前 {self.early_minutes} 分钟内到店签到，迟到超过 {self.grace_minutes} 分钟"
                f"将按现场排队办理。{self.no_show_window_days} 天内爽约 {self.no_show_limit} 次，"
                f"{self.block_days} 天内不能预约。"
            ),
            "en": (
                f"Check in at the kiosk from {self.early_minutes} min before your slot; more than "
                f"{self.grace_minutes} min late, you queue as a walk-in. {self.no_show_limit} missed "
                f"appointments within {self.no_show_window_days} days block booking for {self.block_days} days."
            ),
        }


_INT_RANGES: dict[str, tuple[int, int] | None] = {
    "slot_minutes": None,
    "horizon_days": (0, 30),
    "head_start_minutes": (0, 60),
    "early_minutes": (0, 240),
    "grace_minutes": (0, 60),
    "no_show_limit": (1, 20),
    "no_show_window_days": (1, 365),
    "block_days": (0, 365),
}


def booking_rules_problems(data) -> list[tuple[str, str]]:
    """(field, message) for each wrong setting of a (partial) booking object."""
    if not isinstance(data, dict):
        return [("booking", "booking is a JSON object of settings")]
    problems = []
    for key, value in data.items():
        if key not in BookingRules.__dataclass_fields__:
            problems.append((key, f"unknown setting {key!r}; one of {', '.join(BookingRules.__dataclass_fields__)}"))
        elif key == "enabled" and not isinstance(value, bool):
            problems.append((key, "enabled is true or false"))
        elif key == "share" and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1):
            problems.append((key, "share is a fraction from 0 to 1 of the spare capacity"))
        elif key == "slot_minutes" and value not in SLOT_MINUTES:
            problems.append((key, f"slot_minutes is one of {', '.join(map(str, SLOT_MINUTES))}"))
        elif (bounds := _INT_RANGES.get(key)) is not None:
            low, high = bounds
            if type(value) is not int or not low <= value <= high:
                problems.append((key, f"{key} is a whole number from {low} to {high}"))
    return problems


# --------------------------------------------------------------------------- capacity


@dataclass(frozen=True)
class PlanInterval:
    """One interval of a day's counter plan: when it starts, how long, counters planned open, and
    the forecast walk-ins' work in it (counter-seconds: p90 arrivals times handle time, all services)."""

    start: datetime
    minutes: int
    counters: int
    walk_in_work_s: float


def slot_capacity(intervals: Iterable[PlanInterval], slot_start: datetime, rules: BookingRules) -> float:
    """Counter-seconds a slot offers for booking: the planned counters' time beyond the forecast
    walk-ins' work, over the plan's intervals overlapping the slot (an interval longer than the slot
    gives it the share of its time that falls inside), times the hall's share; a deficit in one
    interval counts against the others. No planned interval overlapping: nothing."""
    slot_end = slot_start + timedelta(minutes=rules.slot_minutes)
    spare, planned = 0.0, False
    for i in intervals:
        length = timedelta(minutes=i.minutes)
        overlap = (min(slot_end, i.start + length) - max(slot_start, i.start)).total_seconds()
        if overlap > 0:
            planned = True
            spare += (i.counters * i.minutes * 60 - i.walk_in_work_s) * overlap / length.total_seconds()
    return max(0.0, spare) * rules.share if planned else 0.0


def bookable(capacity_s: float, booked_s: float, handle_s: float) -> int:
    """How many more appointments of a service (``handle_s`` each) fit in what is left."""
    if handle_s <= 0:
        return 0
    return max(0, math.floor((capacity_s - booked_s) / handle_s + 1e-9))


def slot_starts(opening: Iterable[tuple[datetime, datetime]], minutes: int) -> list[datetime]:
    """The slots of a day: every ``minutes`` from each opening span's start, wholly inside it."""
    out = []
    step = timedelta(minutes=minutes)
    for start, end in opening:
        at = start
        while at + step <= end:
            out.append(at)
            at += step
    return out


def booked_work_in(
    interval_start: datetime, interval_minutes: int, booked: Mapping[datetime, float], slot_minutes: int
) -> float:
    """Counter-seconds of bookings that fall in one plan interval: a slot's bookings spread evenly
    over the slot (the counter plan adds counters for them)."""
    end = interval_start + timedelta(minutes=interval_minutes)
    slot = timedelta(minutes=slot_minutes)
    total = 0.0
    for start, work in booked.items():
        overlap = (min(end, start + slot) - max(interval_start, start)).total_seconds()
        if overlap > 0:
            total += work * overlap / slot.total_seconds()
    return total


def forecast_days(rules: BookingRules, default: int) -> int:
    """How many days (from today) the nightly forecast and plan cover: the booking horizon too, so
    that every bookable day has a plan to offer slots from."""
    return max(default, rules.horizon_days + 1) if rules.enabled else default


def bookable_day(day: date, today: date, rules: BookingRules) -> bool:
    """Within the booking horizon (today up to ``horizon_days`` ahead)."""
    return 0 <= (day - today).days <= rules.horizon_days


# --------------------------------------------------------------------------- arriving

ON_TIME, EARLY, LATE = "on_time", "early", "late"


def arrival(now: datetime, slot_start: datetime, rules: BookingRules) -> str:
    """Whether a customer checking in now is in time for their slot (``on_time``), before check-in
    opens (``early``) or past the grace time (``late``: they queue as a walk-in)."""
    if now < slot_start - timedelta(minutes=rules.early_minutes):
        return EARLY
    if now > slot_start + timedelta(minutes=rules.grace_minutes):
        return LATE
    return ON_TIME


def queue_time(now: datetime, slot_start: datetime, rules: BookingRules, as_walk_in: bool = False) -> datetime:
    """The place in line of an appointment checked in now: as if it had come ``head_start_minutes``
    before its slot; a late customer, or one who chooses to, queues from now as walk-ins do."""
    if as_walk_in or arrival(now, slot_start, rules) == LATE:
        return now
    return slot_start - timedelta(minutes=rules.head_start_minutes)


def blocked_until(no_shows: Iterable[datetime], now: datetime, rules: BookingRules) -> datetime | None:
    """When a number may book again: each no-show that makes ``no_show_limit`` within the window
    (it and those before it) blocks booking for ``block_days`` from it. None: it may book now."""
    window, block = timedelta(days=rules.no_show_window_days), timedelta(days=rules.block_days)
    times = sorted(t for t in no_shows if t <= now)
    until = None
    for k, t in enumerate(times):
        if sum(1 for u in times[: k + 1] if t - window <= u) >= rules.no_show_limit and t + block > now:
            until = max(until or t + block, t + block)
    return until


def missed(now: datetime, slot_start: datetime, rules: BookingRules) -> bool:
    """A booked appointment not checked in by the end of its grace time is a no-show."""
    return now > slot_start + timedelta(minutes=rules.grace_minutes)
