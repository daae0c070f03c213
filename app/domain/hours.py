"""Opening hours and the local business day of a hall."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import Invalid

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {name!r}", field="timezone") from None


def _parse_hhmm(text: str, field: str) -> time:
    if not isinstance(text, str) or not _HHMM.match(text):
        raise Invalid(f"{text!r} is not a time of day HH:MM", field=field, code="time_format")
    if text == "24:00":
        return time.max
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class OpeningHours:
    """Per weekday, a list of (open, close) local times. A missing day is closed."""

    days: Mapping[str, tuple[tuple[time, time], ...]]

    @classmethod
    def parse(cls, data: Mapping, field: str = "opening_hours") -> OpeningHours:
        """From JSON like ``{"mon": [["08:30", "18:00"]], ...}``; names the bad field."""
        if not isinstance(data, Mapping):
            raise Invalid("opening hours must be an object keyed by weekday", field=field)
        days = {}
        for day, spans in data.items():
            if day not in WEEKDAYS:
                raise Invalid(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}", field=f"{field}.{day}")
            parsed = []
            for i, span in enumerate(spans or []):
                if not isinstance(span, (list, tuple)) or len(span) != 2:
                    raise Invalid("each span is [open, close]", field=f"{field}.{day}[{i}]")
                start = _parse_hhmm(span[0], f"{field}.{day}[{i}]")
                end = _parse_hhmm(span[1], f"{field}.{day}[{i}]")
                if end <= start:
                    raise Invalid(
                        "closing time must be after opening time", field=f"{field}.{day}[{i}]", code="hours_order"
                    )
                parsed.append((start, end))
            _refuse_overlap(parsed, f"{field}.{day}")
            days[day] = tuple(parsed)
        return cls(days)

    def is_open(self, local: datetime) -> bool:
        spans = self.days.get(WEEKDAYS[local.weekday()], ())
        now = local.time()
        return any(start <= now < end or (end == time.max and now >= start) for start, end in spans)


def _refuse_overlap(spans: list[tuple[time, time]], field: str) -> None:
    """Periods of one day may touch (12:00-12:00) but not overlap: 08:30-12:00 and 11:00-13:00 is
    a typing mistake, not a plan."""
    ordered = sorted(spans)
    for (_, end), (start, _) in itertools.pairwise(ordered):
        if start < end:
            raise Invalid(
                f"periods of one day overlap: one starts at {start:%H:%M} before another ends at "
                f"{'24:00' if end == time.max else format(end, '%H:%M')}",
                field=field,
                code="hours_overlap",
                starts=f"{start:%H:%M}",
                ends="24:00" if end == time.max else format(end, "%H:%M"),
            )


def local_time(at: datetime, zone: ZoneInfo) -> datetime:
    """``at`` must be timezone-aware (UTC in this code base)."""
    return at.astimezone(zone)


def business_day(at: datetime, zone: ZoneInfo) -> date:
    """The hall's local calendar date: ticket numbers restart at local midnight."""
    return local_time(at, zone).date()


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Closures:
    """Days a hall is shut whatever its weekday hours say (holidays, works): ``[{"date", "note"}]``."""

    days: Mapping[date, str]

    @classmethod
    def parse(cls, data, field: str = "closures") -> Closures:
        if data is None:
            return cls({})
        if not isinstance(data, (list, tuple)):
            raise Invalid('closures are a list of {"date": "YYYY-MM-DD", "note": "..."}', field=field)
        days = {}
        for i, item in enumerate(data):
            if not isinstance(item, Mapping) or not isinstance(item.get("date"), str):
                raise Invalid('each closure is {"date": "YYYY-MM-DD", "note": "..."}', field=f"{field}[{i}]")
            try:
                day = date.fromisoformat(item["date"])
            except ValueError:
                raise Invalid(
                    f"{item['date']!r} is not a date YYYY-MM-DD", field=f"{field}[{i}].date", code="date_format"
                ) from None
            note = item.get("note") or ""
            if not isinstance(note, str) or len(note) > 100:
                raise Invalid("a closure's note is text of at most 100 characters", field=f"{field}[{i}].note")
            if day in days:
                raise Invalid(f"{day} is listed twice", field=f"{field}[{i}].date", code="day_twice")
            days[day] = note
        return cls(days)

    def to_list(self) -> list[dict]:
        return [{"date": d.isoformat(), "note": self.days[d]} for d in sorted(self.days)]

    def closed_on(self, day: date) -> bool:
        return day in self.days


def open_at(hours: OpeningHours, closures: Closures, local: datetime) -> bool:
    """Open at this local time: within the weekday's hours and not a closure day."""
    return not closures.closed_on(local.date()) and hours.is_open(local)


def next_opening(hours: OpeningHours, closures: Closures, local: datetime, days: int = 14) -> datetime | None:
    """When the hall opens next after ``local`` (a local time, while it is closed): the next span's
    start on a day that is not a closure, within ``days``; None if it does not open in that time."""
    for ahead in range(days + 1):
        day = local.date() + timedelta(days=ahead)
        if closures.closed_on(day):
            continue
        for start, _end in sorted(hours.days.get(WEEKDAYS[day.weekday()], ())):
            opens = datetime.combine(day, start, tzinfo=local.tzinfo)
            if opens > local:
                return opens
    return None
