"""Values both databases store and every computation survives: text without NUL or lone surrogates,
days and times within the years the system plans and reports. Standard library only.

Python accepts more than the databases do: PostgreSQL refuses a NUL character in any text, a lone
surrogate is not UTF-8 (neither database stores it), and a date near year 1 or 9999 overflows as
soon as a report reaches for the month after it or a time zone moves it across midnight. Every
edge (the API's bodies and query strings, the pages' forms) checks with these, so a refusal names
its field instead of failing later in storage or arithmetic.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from .errors import Invalid

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)  # Chinese holidays are known to 2099 (forecasting.calendar)
FIRST_TIME = datetime.combine(FIRST_DAY, time(0), tzinfo=UTC)
LAST_TIME = datetime.combine(LAST_DAY, time.max, tzinfo=UTC)

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value) -> str | None:
    """Why ``value`` (text, or lists and objects holding text) cannot be stored; None when it can."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = _UNSTORABLE.search(item)
            if found:
                return (
                    "must not contain a NUL character"
                    if found.group() == "\x00"
                    else "must not contain a lone surrogate (text that is not Unicode)"
                )
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return None


def check_text(value, field: str):
    """``value`` unchanged when it can be stored; Invalid naming ``field`` otherwise."""
    problem = text_problem(value)
    if problem:
        raise Invalid(f"{field} {problem}", field=field)
    return value


def day_problem(day: date) -> str | None:
    if not FIRST_DAY <= day <= LAST_DAY:
        return f"must be a day from {FIRST_DAY} to {LAST_DAY}"
    return None


def parse_day(text: str, field: str) -> date:
    """A day written YYYY-MM-DD within FIRST_DAY..LAST_DAY; Invalid naming ``field`` otherwise."""
    try:
        day = date.fromisoformat(check_text(text, field))
    except (TypeError, ValueError):
        raise Invalid(f"{field} is a day, YYYY-MM-DD", field=field) from None
    problem = day_problem(day)
    if problem:
        raise Invalid(f"{field} {problem}", field=field)
    return day
