"""Domain events: what happened, recorded by services, dispatched after commit."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Event:
    hall_id: int

    @property
    def name(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict:
        """The payload screens receive (without the ticket's public token). Every field is a plain
        value (numbers, text, None), so the fields are copied as they are (``asdict`` would copy
        each recursively, the larger part of publishing an event)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "public_token"}
        return {"event": self.name, **data}


@dataclass(frozen=True)
class TicketIssued(Event):
    ticket_id: int
    label: str
    service_id: int
    tier: str
    channel: str = "system"  # kiosk (a kiosk device), staff (a staff member's token), system (neither)


@dataclass(frozen=True)
class RemoteTicketTaken(Event):
    """A customer took a number on their phone: it holds its place but is not in the calling order
    until they check in (``TicketCheckedIn``); screens need not count it yet."""

    ticket_id: int
    label: str
    service_id: int
    tier: str
    check_in_by: str  # ISO time


@dataclass(frozen=True)
class TicketCheckedIn(Event):
    """A remote ticket's customer arrived and checked in: from now on it waits to be called."""

    ticket_id: int
    label: str
    service_id: int
    tier: str
    public_token: str | None = None  # routes the event to the customer's phone; never broadcast


@dataclass(frozen=True)
class AppointmentChanged(Event):
    """An appointment was booked, cancelled or rescheduled (``change``): the manager's page refreshes."""

    appointment_id: int
    change: str  # booked | cancelled | rescheduled | checked_in | no_show
    service_id: int
    slot_start: str  # ISO time


@dataclass(frozen=True)
class TicketCalled(Event):
    ticket_id: int
    label: str
    service_id: int
    counter_id: int
    counter_number: int
    recall: int  # 0 for the first call, 1, 2 ... for recalls
    public_token: str | None = None  # routes the event to the customer's phone; never broadcast
    waited_s: int | None = None  # a first call: seconds from queueing to the call, as the console shows it
    call_id: int | None = None  # the call's entry in the ticket's history (also in the snapshot's recent calls)


@dataclass(frozen=True)
class ServiceStarted(Event):
    ticket_id: int
    label: str
    counter_id: int


@dataclass(frozen=True)
class ServiceFinished(Event):
    ticket_id: int
    label: str
    service_id: int
    counter_id: int
    staff_id: int | None
    handle_s: float
    has_mobile: bool
    public_token: str | None = None  # routes the event to the customer's phone; never broadcast


@dataclass(frozen=True)
class TicketNoShow(Event):
    ticket_id: int
    label: str
    counter_id: int
    public_token: str | None = None  # routes the event to the customer's phone; never broadcast


@dataclass(frozen=True)
class TicketCancelled(Event):
    ticket_id: int
    label: str
    public_token: str | None = None  # routes the event to the customer's phone; never broadcast


@dataclass(frozen=True)
class TicketTransferred(Event):
    ticket_id: int
    label: str
    from_service_id: int
    to_service_id: int
    from_counter_id: int
    to_counter_id: int | None
    public_token: str | None = None  # routes the event to the customer's phone; never broadcast


@dataclass(frozen=True)
class CounterOpened(Event):
    counter_id: int
    staff_id: int | None


@dataclass(frozen=True)
class CounterClosed(Event):
    counter_id: int


@dataclass(frozen=True)
class CounterPaused(Event):
    """An open counter stopped calling for a while (``reason``: model.PauseReason)."""

    counter_id: int
    reason: str


@dataclass(frozen=True)
class CounterResumed(Event):
    counter_id: int


@dataclass(frozen=True)
class CounterTakenOver(Event):
    """Another staff member took over an open counter (its console is told; the customer at it stays)."""

    counter_id: int
    from_staff_id: int | None
    to_staff_id: int
    to_name: str


@dataclass(frozen=True)
class FootfallCounted(Event):
    """Door counts arrived for the hall (new or corrected minutes)."""

    minutes: int
    latest_minute: str  # ISO time of the latest minute in the batch


@dataclass(frozen=True)
class HallSettingsChanged(Event):
    """A hall's settings changed (texts, hours, rules): screens take a fresh snapshot."""


@dataclass(frozen=True)
class PeakWarningChanged(Event):
    """A peak warning was raised, updated, acknowledged or resolved (``change`` says which)."""

    warning_id: int
    change: str  # raised | updated | acknowledged | resolved
    kind: str  # forecast | live
    severity: str
    service_id: int | None
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class ForecastUpdated(Event):
    """A new forecast and counter plan for the hall (nightly or intraday)."""

    source: str


@dataclass(frozen=True)
class SurveyRated(Event):
    """A customer's reply rated a survey (counted once). No number and no comment: screens hear this."""

    survey_id: int
    score: int
    satisfied: bool
    staff_id: int | None
    counter_id: int | None


@dataclass(frozen=True)
class FollowUpOpened(Event):
    """A low rating or a complaint opened a follow-up case, due for a first response at ``due_at``."""

    case_id: int
    survey_id: int
    reason: str  # low_rating | complaint
    due_at: str  # ISO time
    assigned_to: int | None


@dataclass(frozen=True)
class FollowUpChanged(Event):
    """A follow-up case got its first response or was closed (``change`` says which)."""

    case_id: int
    change: str  # responded | closed
