"""What follows a state change, in one place (issue 19): ``EVENT_HANDLERS`` for the domain events,
``FOLLOWS_BY_TIME`` for what the clock starts instead.

For each event of ``app/domain/events.py``, ``EVENT_HANDLERS`` names the handlers that follow it:

``after_commit``
    Run in this process by the runtime's ``EventBus`` once the transaction has committed (subscribed
    by ``create_app`` through ``subscribe``): the live feed to the screens, the metrics, the log
    line. Lost if the process dies right after the commit, which they may be: screens resync from
    the database (a gap in their feed's numbers), and a count or a log line is only that.
``durable``
    Run through the transactional outbox (``services.outbox``): the unit of work writes the event
    to ``event_outbox`` in the transaction that recorded it (for the events named here only:
    ``durable_events``, which ``bootstrap`` gives every runtime's bus), and the scheduler's
    ``deliver_events`` job runs these handlers after the commit, every 15 seconds, retrying a
    failure with a backoff. Nothing is lost when a process dies between the commit and the
    handler; a handler may run twice, so each is idempotent. A handler takes the runtime and the
    event, and does its work in its own transactions (what it needs beyond the event it reads then).

An event no handler follows is listed with ``Follows()``; every event class is in the table
(``tests/unit/test_event_handlers.py``), so a new one cannot be forgotten.

Not follow-ups, and so not here: the audit trail is written in the change's own transaction
(``services.audit``), and the ticket's history (``ticket_events``) in the move's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .domain import events as ev
from .services import outbox, surveys
from .services.outbox import DurableHandler

if TYPE_CHECKING:
    from flask import Flask

    from .bootstrap import Runtime

Handler = Callable[[ev.Event], None]


@dataclass(frozen=True)
class InProcess:
    """An after-commit handler, made when an app starts (it needs the app's feed or the runtime)."""

    name: str
    make: Callable[[Flask, Runtime], Handler]
    once_per_runtime: bool = False  # not once per app (tests build several apps on one runtime)


def _screens(app: Flask, rt: Runtime) -> Handler:
    return app.extensions["hallq_feed"].publish


def _metrics(app: Flask, rt: Runtime) -> Handler:
    from .ops import metrics

    return metrics.count_committed(rt)


def _log(app: Flask, rt: Runtime) -> Handler:
    from .ops import logs

    return logs.log_events()


# web.live_feed: each event to the processes that hold the screens (a delta; a fresh snapshot
# after HallSettingsChanged), and to the customer's phone when it carries the ticket's token
SCREENS = InProcess("web.live_feed", _screens)
# ops.metrics.count_committed: tickets issued and called, waits (Prometheus)
METRICS = InProcess("ops.metrics.count_committed", _metrics, once_per_runtime=True)
# ops.logs.log_events: each event logged with its request id, on the request's own line when a request committed it
LOG = InProcess("ops.logs.log_events", _log, once_per_runtime=True)


def _always(evt: ev.Event) -> bool:
    return True


@dataclass(frozen=True)
class Durable:
    """A durable handler, and which events of its type it follows (``needed``): an event no durable
    handler needs writes no outbox row, so a finish without a mobile number costs no statement more."""

    run: DurableHandler
    needed: Callable[[Any], bool] = _always


@dataclass(frozen=True)
class Follows:
    after_commit: tuple[InProcess, ...] = ()
    durable: tuple[Durable, ...] = ()


SEEN = (SCREENS, LOG)  # what every event has: the screens hear it, the log says it
COUNTED = (SCREENS, METRICS, LOG)

EVENT_HANDLERS: dict[type[ev.Event], Follows] = {
    ev.TicketIssued: Follows(COUNTED),
    ev.RemoteTicketTaken: Follows(COUNTED),
    ev.TicketCheckedIn: Follows(SEEN),
    ev.AppointmentChanged: Follows(SEEN),
    ev.TicketCalled: Follows(COUNTED),
    ev.ServiceStarted: Follows(SEEN),
    ev.ServiceFinished: Follows(SEEN, durable=(Durable(surveys.survey_after_finish, surveys.survey_may_follow),)),
    ev.TicketNoShow: Follows(SEEN),
    ev.TicketCancelled: Follows(SEEN),
    ev.TicketTransferred: Follows(SEEN),
    ev.CounterOpened: Follows(SEEN),
    ev.CounterClosed: Follows(SEEN),
    ev.CounterPaused: Follows(SEEN),
    ev.CounterResumed: Follows(SEEN),
    ev.CounterTakenOver: Follows(SEEN),
    ev.FootfallCounted: Follows(SEEN),
    ev.HallSettingsChanged: Follows(SEEN),
    ev.PeakWarningChanged: Follows(SEEN),
    ev.ForecastUpdated: Follows(SEEN),
    ev.SurveyRated: Follows(SEEN),
    ev.FollowUpOpened: Follows(SEEN),
    ev.FollowUpChanged: Follows(SEEN),
}


@dataclass(frozen=True)
class ByTime:
    every: str
    does: str


# What follows by the clock rather than by an event: scheduler jobs (app/scheduler.py, under these
# ids), each claiming its rows before acting, so that a second scheduler or a rerun does nothing twice.
FOLLOWS_BY_TIME: dict[str, ByTime] = {
    "deliver_events": ByTime("15 s", "the durable handlers above, through the outbox (services.outbox)"),
    "dispatch_surveys": ByTime(
        "1 min", "due surveys sent, failed sends retried with a backoff, lost sends failed (services.surveys)"
    ),
    "turn_reminders": ByTime(
        "15 s", "'your turn soon' and 'please go to counter N' SMS, once per ticket and kind (services.turn_reminders)"
    ),
    "release_remote": ByTime("1 min", "remote tickets not checked in by their deadline released (services.remote)"),
    "appointments": ByTime("1 min", "appointment reminders and no-shows (services.appointments)"),
    "expire_past_days": ByTime("10 min", "tickets left open from an earlier business day closed (services.queue)"),
    "rollup_today": ByTime("1 min", "today's service-level roll-ups rebuilt (services.service_levels)"),
    "peak_check": ByTime("1 min", "forecast and live peak warnings raised or resolved (services.peaks)"),
}


def durable_events(
    table: Mapping[type[ev.Event], Follows] = EVENT_HANDLERS,
) -> dict[type[ev.Event], Callable[[ev.Event], bool]]:
    """The events the unit of work writes to the outbox: for each type with durable handlers, whether
    one event of it needs its row (some handler's ``needed``)."""
    return {event_type: _any_needs(follows.durable) for event_type, follows in table.items() if follows.durable}


def _any_needs(durable: tuple[Durable, ...]) -> Callable[[ev.Event], bool]:
    if len(durable) == 1:
        return durable[0].needed
    return lambda evt: any(d.needed(evt) for d in durable)


def durable_handlers(
    table: Mapping[type[ev.Event], Follows] = EVENT_HANDLERS,
) -> dict[type[ev.Event], tuple[DurableHandler, ...]]:
    """What the outbox's delivery runs for each event type (each handler checks again what it needs)."""
    return {
        event_type: tuple(d.run for d in follows.durable) for event_type, follows in table.items() if follows.durable
    }


def deliver(rt: Runtime) -> dict:
    """The outbox's due rows through their durable handlers (the scheduler's ``deliver_events``)."""
    return outbox.deliver(rt, durable_handlers())


def subscribe(app: Flask, rt: Runtime) -> None:
    """The after-commit handlers on the runtime's bus, each for the events that name it; those
    ``once_per_runtime`` only by the first app built on this runtime."""
    first = not getattr(rt, "watched", False)
    rt.watched = True
    wanted: dict[InProcess, list[type[ev.Event]]] = {}
    for event_type, follows in EVENT_HANDLERS.items():
        for handler in follows.after_commit:
            wanted.setdefault(handler, []).append(event_type)
    for handler, event_types in wanted.items():
        if first or not handler.once_per_runtime:
            rt.bus.subscribe(handler.make(app, rt), *event_types)
