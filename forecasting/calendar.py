"""Which days a hall's customers treat as working days: public holidays and China's 调休.

China moves working days around its public holidays (调休): the Saturday or Sunday next to
a long holiday becomes a working day, and a hall's traffic on it looks like a working
day's. ``chinesecalendar`` knows the State Council's schedule for 2004–2026; beyond that
``holidays`` knows the holidays themselves but not the moved working days; a year that
neither knows falls back to a plain Monday–Friday rule. Other countries come from
``holidays`` (an ISO code, optionally with a subdivision: ``"NZ-AUK"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import holidays as holidays_lib


@dataclass(frozen=True)
class DayInfo:
    """What kind of day ``date`` is for the people who come to a hall."""

    is_workday: bool
    is_holiday: bool  # a public holiday (not a plain weekend)
    is_adjusted_workday: bool  # a Saturday or Sunday made a working day (调休)
    holiday_name: str | None


class UnknownCountry(ValueError):
    """The country code is not one ``holidays`` knows."""


def check_country(country: str) -> str:
    """The code unchanged when it is usable; UnknownCountry naming it otherwise."""
    code, subdiv = _split(country)
    try:
        holidays_lib.country_holidays(code, subdiv=subdiv, years=2020)
    except (NotImplementedError, KeyError) as error:
        raise UnknownCountry(f"unknown country code {country!r}: {error}") from None
    return country


def day_info(day: date, country: str = "CN") -> DayInfo:
    """Holiday and working-day status of ``day``; never raises for a year a library lacks."""
    if hasattr(day, "date"):  # a datetime: its calendar day
        day = day.date()
    return _day_info(day, country.upper())


@lru_cache(maxsize=65536)
def _day_info(day: date, country: str) -> DayInfo:
    if country == "CN":
        known = _chinese_calendar(day)
        if known is not None:
            return known
    holiday_name = _holidays_name(day, country)
    if holiday_name is not None:
        return DayInfo(False, True, False, holiday_name)
    return DayInfo(day.weekday() < 5, False, False, None)


def _chinese_calendar(day: date) -> DayInfo | None:
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:  # a year outside the library's schedule
        return None
    name = str(name) if name is not None else None
    if not on_holiday:
        return DayInfo(True, False, day.weekday() >= 5, name if day.weekday() >= 5 else None)
    # on_holiday with a name: a public holiday; without: an ordinary weekend
    return DayInfo(False, name is not None, False, name)


def _holidays_name(day: date, country: str) -> str | None:
    table = _holiday_table(country, day.year)
    return None if table is None else table.get(day)


@lru_cache(maxsize=512)
def _holiday_table(country: str, year: int):
    code, subdiv = _split(country)
    try:
        return holidays_lib.country_holidays(code, subdiv=subdiv, years=year)
    except (NotImplementedError, KeyError, ValueError):  # neither knows: weekday rule
        return None


def _split(country: str) -> tuple[str, str | None]:
    code, _, subdiv = country.upper().partition("-")
    return code, subdiv or None


def days_to_next_holiday(day: date, country: str = "CN", horizon: int = 7) -> int:
    """Days until the next public holiday, capped at ``horizon`` (the run-up shifts traffic)."""
    for ahead in range(1, horizon):
        if day_info(day + timedelta(days=ahead), country).is_holiday:
            return ahead
    return horizon


def days_since_last_holiday(day: date, country: str = "CN", horizon: int = 7) -> int:
    """Days since the last public holiday, capped at ``horizon`` (the backlog after it)."""
    for back in range(1, horizon):
        if day_info(day - timedelta(days=back), country).is_holiday:
            return back
    return horizon
