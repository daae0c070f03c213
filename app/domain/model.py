"""Tickets, tiers, roles and the ticket life cycle.

Pure standard library: nothing here knows about Flask, SQLAlchemy or HTTP.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from .errors import IllegalTransition


class TicketState(str, enum.Enum):
    """Where a ticket is in its life.

    ``transferred`` is not a resting state: a transfer is recorded in the
    history and the ticket goes straight back to ``waiting`` for its new
    service, keeping its original place in time.
    """

    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    REMOTE = "remote"  # taken on the phone (远程取号), keeps its place, called only once checked in at the hall


OPEN_STATES = frozenset({TicketState.WAITING, TicketState.CALLED, TicketState.SERVING})
AT_COUNTER_STATES = frozenset({TicketState.CALLED, TicketState.SERVING})
TRANSFER_NOTE_MAX = 200  # characters of the note a transfer carries to the next counter


class PauseReason(str, enum.Enum):
    """Why an open counter stops calling for a while (issue 22)."""

    BREAK = "break"  # 小休
    TRAINING = "training"  # 业务学习
    SYSTEM = "system"  # 系统故障


class Tier(str, enum.Enum):
    """Customer tiers. Priority comes from the hall's calling policy, not from here."""

    ORDINARY = "ordinary"
    STAR = "star"  # 星级客户 (three stars and up)
    VIP = "vip"  # 钻石 / 金卡 VIP
    GREEN = "green"  # 绿色通道: elderly, disabled, pregnant


class Role(str, enum.Enum):
    """What a staff account may do; see app/web/auth.py for the access rules."""

    COUNTER_STAFF = "counter_staff"
    HALL_MANAGER = "hall_manager"
    HEAD_OFFICE = "head_office"
    ADMIN = "admin"


class DeviceKind(str, enum.Enum):
    KIOSK = "kiosk"
    DISPLAY = "display"
    COUNTER_DISPLAY = "counter_display"
    SENSOR = "sensor"


class Action(str, enum.Enum):
    """What can happen to a ticket; each is one event kind in its history."""

    ISSUE = "issued"
    CALL = "called"
    RECALL = "recalled"
    START = "serving"
    FINISH = "finished"
    NO_SHOW = "no_show"
    CANCEL = "cancelled"
    TRANSFER = "transferred"
    EXPIRE = "expired"  # still open when its business day ended, or a remote ticket not checked in in time
    CHECK_IN = "checked_in"  # a remote ticket's customer arrived: it enters the calling order


class Channel(str, enum.Enum):
    """How a ticket was taken: the service-level reports and the console tell them apart."""

    KIOSK = "kiosk"  # at a kiosk of the hall
    STAFF = "staff"  # by a staff member (the floor guide's tablet, the console)
    SYSTEM = "system"  # by no caller (imports, tests, the demo)
    REMOTE = "remote"  # on the customer's phone, before arriving
    APPOINTMENT = "appointment"  # a booked slot, checked in at the hall


# (state before, action) -> state after.  Anything not listed is refused.
_TRANSITIONS: dict[tuple[TicketState, Action], TicketState] = {
    (TicketState.WAITING, Action.CALL): TicketState.CALLED,
    (TicketState.WAITING, Action.CANCEL): TicketState.CANCELLED,
    (TicketState.CALLED, Action.RECALL): TicketState.CALLED,
    (TicketState.CALLED, Action.START): TicketState.SERVING,
    (TicketState.CALLED, Action.NO_SHOW): TicketState.NO_SHOW,
    (TicketState.CALLED, Action.TRANSFER): TicketState.WAITING,
    (TicketState.CALLED, Action.FINISH): TicketState.FINISHED,
    (TicketState.SERVING, Action.FINISH): TicketState.FINISHED,
    (TicketState.SERVING, Action.TRANSFER): TicketState.WAITING,
    (TicketState.WAITING, Action.EXPIRE): TicketState.CANCELLED,
    (TicketState.CALLED, Action.EXPIRE): TicketState.CANCELLED,
    (TicketState.SERVING, Action.EXPIRE): TicketState.CANCELLED,
    (TicketState.REMOTE, Action.CHECK_IN): TicketState.WAITING,
    (TicketState.REMOTE, Action.CANCEL): TicketState.CANCELLED,
    (TicketState.REMOTE, Action.EXPIRE): TicketState.CANCELLED,
}


# what a counter's console calls each move it may make with the ticket at it
COUNTER_ACTIONS = {
    Action.RECALL: "recall",
    Action.START: "start",
    Action.FINISH: "finish",
    Action.NO_SHOW: "no-show",
    Action.TRANSFER: "transfer",
}


def actions_at_counter(state: TicketState | str) -> list[str]:
    """The moves the state machine allows now on the ticket at a counter, by the console's names
    (its buttons follow this list, so the browser keeps no copy of the machine)."""
    return [name for action, name in COUNTER_ACTIONS.items() if (TicketState(state), action) in _TRANSITIONS]


def next_state(state: TicketState, action: Action) -> TicketState:
    """The state after ``action``, or IllegalTransition (HTTP 409) if not allowed.

    Finishing straight from ``called`` is allowed because many halls never press
    "start": the service time then runs from the call.
    """
    try:
        return _TRANSITIONS[(TicketState(state), action)]
    except KeyError:
        raise IllegalTransition(
            f"cannot {action.name.lower().replace('_', '-')} a ticket that is {TicketState(state).value}",
            state=TicketState(state).value,
            action=action.value,
        ) from None


def ticket_label(prefix: str, number: int) -> str:
    """The number customers see and hear: A001 ... A999, then A1000 and on."""
    return f"{prefix}{number:03d}"


@dataclass(frozen=True)
class WaitingTicket:
    """What the calling rule needs to know of a waiting ticket."""

    id: int
    service_id: int
    tier: Tier
    queued_at: datetime  # original issue time; kept across transfers
    target_counter_id: int | None = None


@dataclass(frozen=True)
class ServiceTargets:
    """Per service: the target wait in seconds (for the overtaking rule)."""

    target_wait_s: dict[int, int]

    def target(self, service_id: int) -> int:
        return self.target_wait_s.get(service_id, 0)


def held_by_another(is_open: bool, holder_id: int | None, staff_id: int | None) -> bool:
    """An open counter is held by the staff member who opened it (or took it over): anyone else acts at
    it only after taking it over. ``staff_id`` None: the system itself (the scheduler, tests)."""
    return is_open and holder_id is not None and staff_id is not None and staff_id != holder_id
