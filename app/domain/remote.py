"""Remote tickets (远程取号): a customer takes a number on their phone before they arrive.

The rules, with no database and no clock of their own:

- a hall offers it or not, and says how long a customer has to arrive (``RemoteQueue``);
- the customer proves their mobile number with a one-time SMS code, sent at most so often
  to one number and from one address (``code_refusal``), tried a few times at most
  (``CODE_TRIES``), valid for minutes (``CODE_LIFETIME``);
- the ticket keeps its place in line from the moment it was taken, but is not called until the
  customer checks in at the kiosk; one not checked in by its deadline (``check_in_deadline``:
  the hall's window, and never after the hall closes that day) is released.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta

from .errors import Invalid
from .hours import WEEKDAYS, OpeningHours

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
CODE_TRIES = 5  # wrong tries before a code is dead
RESEND_AFTER = timedelta(seconds=60)  # one code a minute to a number
CODE_WINDOW = timedelta(hours=1)
CHECK_IN_MINUTES = (10, 240)  # the shortest and longest window a hall may set

JOIN, BOOK, CHECK_IN = "join", "book", "check_in"  # what a code is for: a remote ticket, an appointment, arriving


@dataclass(frozen=True)
class RemoteQueue:
    """A hall's remote-ticket settings (``halls.remote``)."""

    enabled: bool = False
    check_in_minutes: int = 60  # from taking the number to checking in at the kiosk
    codes_per_number_per_hour: int = 5  # SMS codes one mobile number may ask for
    codes_per_address_per_hour: int = 20  # and one client address (a NAT'd phone network shares one)

    @classmethod
    def from_dict(cls, data: dict | None) -> RemoteQueue:
        data = data or {}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_dict(self) -> dict:
        return asdict(self)


def remote_queue_problems(data) -> list[tuple[str, str]]:
    """(field, message) for each wrong setting of a (partial) remote-queue object."""
    if not isinstance(data, dict):
        return [("remote_queue", "remote_queue is a JSON object of settings")]
    problems = []
    low, high = CHECK_IN_MINUTES
    for key, value in data.items():
        if key not in RemoteQueue.__dataclass_fields__:
            problems.append((key, f"unknown setting {key!r}; one of {', '.join(RemoteQueue.__dataclass_fields__)}"))
        elif key == "enabled" and not isinstance(value, bool):
            problems.append((key, "enabled is true or false"))
        elif key == "check_in_minutes" and (type(value) is not int or not low <= value <= high):
            problems.append((key, f"check_in_minutes is a whole number of minutes from {low} to {high}"))
        elif key.startswith("codes_per_") and (type(value) is not int or not 1 <= value <= 1000):
            problems.append((key, f"{key} is a whole number from 1 to 1000"))
    return problems


@dataclass(frozen=True)
class Refusal:
    """Why no code is sent now, and when to ask again."""

    reason: str  # resend_too_soon | number_limit | address_limit
    retry_after_s: int


def code_refusal(
    now: datetime, to_number: list[datetime], from_address: list[datetime], settings: RemoteQueue
) -> Refusal | None:
    """Whether a new code may go to a number now, given when codes went to that number and from
    that address (any times; only the last hour counts). None: send it."""

    def retry(times: list[datetime], span: timedelta, limit: int) -> int | None:
        recent = sorted(t for t in times if now - t < span)
        if len(recent) < limit:
            return None
        return max(1, int((recent[-limit] + span - now).total_seconds() + 0.999))

    wait = retry(to_number, RESEND_AFTER, 1)
    if wait is not None:
        return Refusal("resend_too_soon", wait)
    wait = retry(to_number, CODE_WINDOW, settings.codes_per_number_per_hour)
    if wait is not None:
        return Refusal("number_limit", wait)
    wait = retry(from_address, CODE_WINDOW, settings.codes_per_address_per_hour)
    if wait is not None:
        return Refusal("address_limit", wait)
    return None


def new_code() -> str:
    """Six random digits (from the OS's CSPRNG), leading zeros kept."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def clean_code(text: str | None, field: str = "code") -> str:
    """The digits a customer typed (spaces and dashes dropped); 422 naming ``field`` otherwise."""
    digits = "".join(ch for ch in (text or "") if ch not in " -")
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise Invalid(f"the code is the {CODE_DIGITS} digits in the SMS", field=field, code="code_format")
    return digits


def closing_time(hours: OpeningHours, local: datetime) -> datetime | None:
    """When the span the hall is open in at ``local`` ends (a local time), or None if it is closed."""
    now = local.time()
    spans = sorted(hours.days.get(WEEKDAYS[local.weekday()], ()))
    for i, (start, end) in enumerate(spans):
        if start <= now < end or (end == time.max and now >= start):
            for next_start, next_end in spans[i + 1 :]:  # spans that touch are one opening
                if next_start != end:
                    break
                end = next_end
            if end == time.max:  # open until midnight
                return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            return local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return None


def check_in_deadline(taken_at: datetime, settings: RemoteQueue, closes_at: datetime | None) -> datetime:
    """By when a remote ticket taken at ``taken_at`` must be checked in: the hall's window, but never
    after the hall closes (``closes_at``, same zone as ``taken_at``; None: no closing known)."""
    deadline = taken_at + timedelta(minutes=settings.check_in_minutes)
    return min(deadline, closes_at) if closes_at is not None else deadline


def expired(now: datetime, deadline: datetime | None) -> bool:
    """A remote ticket not checked in by its deadline is released."""
    return deadline is not None and now >= deadline
