"""The customer's SMS while waiting (issue 22): "your turn soon" and "you are called".

The kiosk asks for a mobile number "for queue reminders" (排队提醒). Two reminders follow a ticket:

``soon``
    once the people ahead of it are at most the service's ``remind_ahead`` (default 3; 0 sends
    none), while it waits;
``called``
    when it is called, unless that call is older than ``CALLED_FRESH`` (the customer is at the
    counter, or gone, by then).

Each is sent once (claimed before it is sent), never in the hall's survey quiet hours and never
to a number that opted out, through the surveys' gateway (services.turn_reminders). Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta

SOON = "soon"
CALLED = "called"
KINDS = (SOON, CALLED)

REMIND_AHEAD_DEFAULT = 3
REMIND_AHEAD_MAX = 20
CALLED_FRESH = timedelta(minutes=3)

# what became of a claimed reminder (``sending`` until the gateway answers)
SENDING, SENT, FAILED, SKIPPED = "sending", "sent", "failed", "skipped"


def soon_due(people_ahead: int, remind_ahead: int) -> bool:
    """Is the "your turn soon" SMS due for a waiting ticket with ``people_ahead`` before it?"""
    return remind_ahead > 0 and 0 <= people_ahead <= remind_ahead


def called_due(called_at: datetime, now: datetime) -> bool:
    """Is the "you are called" SMS still worth sending?"""
    return timedelta(0) <= now - called_at <= CALLED_FRESH


def soon_text(hall_zh: str, label: str, people_ahead: int) -> str:
    """The "your turn soon" message, in Chinese then English, with no personal data."""
    if people_ahead == 0:
        return (
            f"【{hall_zh}】您的{label}号即将叫到，下一位就是您，请留意叫号。"
            f"Ticket {label}: you are next, please stay near the counters."
        )
    return (
        f"【{hall_zh}】您的{label}号前面还有{people_ahead}位，请回到等候区留意叫号。"
        f"Ticket {label}: {people_ahead} ahead of you, please come back to the waiting area."
    )


def called_text(hall_zh: str, label: str, counter_number: int) -> str:
    """The "you are called" message."""
    return (
        f"【{hall_zh}】请{label}号到{counter_number}号窗口办理。Ticket {label}: please go to counter {counter_number}."
    )
