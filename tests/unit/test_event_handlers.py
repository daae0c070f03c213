"""What follows each domain event is declared once (app.event_handlers): every event class is in the
table, so a new one cannot be forgotten; the bus hands an event only to the handlers that follow it."""
import inspect

from app import event_handlers
from app.domain import events as ev
from app.services import surveys
from app.storage.db import EventBus

EVENT_CLASSES = {c for _, c in inspect.getmembers(ev, inspect.isclass)
                 if issubclass(c, ev.Event) and c is not ev.Event and c.__module__ == ev.__name__}


def test_every_domain_event_is_in_the_table():
    assert len(EVENT_CLASSES) >= 20
    assert EVENT_CLASSES - set(event_handlers.EVENT_HANDLERS) == set()  # add the new event's row
    assert set(event_handlers.EVENT_HANDLERS) - EVENT_CLASSES == set()


def test_every_event_reaches_the_screens_and_the_log_and_a_finish_makes_its_survey_through_the_outbox():
    for event_type, follows in event_handlers.EVENT_HANDLERS.items():
        assert {event_handlers.SCREENS, event_handlers.LOG} <= set(follows.after_commit), event_type
    assert set(event_handlers.durable_events()) == {ev.ServiceFinished}
    needs_row = event_handlers.durable_events()[ev.ServiceFinished]
    assert needs_row(ev.ServiceFinished(1, 2, "A001", 3, 4, 5, 61.5, True))
    assert not needs_row(ev.ServiceFinished(1, 2, "A001", 3, 4, 5, 61.5, False))  # no number: no survey, no row
    assert event_handlers.durable_handlers() == {ev.ServiceFinished: (surveys.survey_after_finish,)}
    counted = {t for t, f in event_handlers.EVENT_HANDLERS.items() if event_handlers.METRICS in f.after_commit}
    assert counted == {ev.TicketIssued, ev.RemoteTicketTaken, ev.TicketCalled}  # what count_committed counts


def test_a_durable_event_is_made_again_from_its_outbox_payload():
    finished = ev.ServiceFinished(1, 2, "A001", 3, 4, 5, 61.5, True, public_token="secret")
    payload = finished.to_dict()
    del payload["event"]
    assert ev.ServiceFinished(**payload) == ev.ServiceFinished(1, 2, "A001", 3, 4, 5, 61.5, True)


def test_the_bus_hands_an_event_to_the_handlers_of_its_type_and_to_those_of_every_event():
    bus, heard = EventBus(), []
    bus.subscribe(lambda e: heard.append(("all", e.name)))
    bus.subscribe(lambda e: heard.append(("paused", e.name)), ev.CounterPaused)
    bus.subscribe(lambda e: 1 / 0, ev.CounterPaused)  # a failing handler stops no other
    bus.subscribe(lambda e: heard.append(("both", e.name)), ev.CounterPaused, ev.CounterResumed)
    bus.publish([ev.CounterPaused(1, 7, "break"), ev.CounterResumed(1, 7), ev.CounterClosed(1, 7)])
    assert heard == [("all", "CounterPaused"), ("paused", "CounterPaused"), ("both", "CounterPaused"),
                     ("all", "CounterResumed"), ("both", "CounterResumed"), ("all", "CounterClosed")]
