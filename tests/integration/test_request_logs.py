"""One log line a request, carrying what it committed (``events``); an event committed outside a
request, or by a request whose line was never written, still gets a line of its own."""
from __future__ import annotations

import json
import logging

from app.domain import events as ev
from app.ops import logs
from app.services import queue

from ..world import bearer


def test_a_request_writes_one_line_carrying_the_events_it_committed(app, client, world, caplog):
    h = world.one
    caplog.set_level(logging.INFO)
    r = client.post(f"/api/v1/halls/{h.id}/tickets", json={"service_id": h.services["A"]},
                    headers=bearer(h.tokens["kiosk"]))
    assert r.status_code == 201
    lines = [rec for rec in caplog.records if rec.name in ("hallq.request", "hallq.events")]
    [line] = lines  # no line of its own for the event
    assert line.name == "hallq.request" and line.status == 201
    [issued] = line.events
    assert issued["event"] == "TicketIssued" and issued["label"] == r.json["label"]
    assert issued["ticket_id"] == r.json["id"] and "public_token" not in issued
    text = logs.JsonFormatter("web").format(line)
    assert json.loads(text)["events"][0]["event"] == "TicketIssued"
    assert r.json["public_token"] not in text  # the phone page's token stays out of the logs


def test_an_event_committed_outside_a_request_gets_its_own_line(app, rt, world, caplog):
    h = world.one
    caplog.set_level(logging.INFO)
    queue.issue_ticket(rt, h.id, h.services["A"])  # the scheduler or a command: no request
    [line] = [rec for rec in caplog.records if rec.name == "hallq.events"]
    assert line.event == "TicketIssued" and line.fields["label"] == "A001"


def test_events_a_requests_line_did_not_carry_get_their_own_lines_when_it_ends(app, caplog):
    caplog.set_level(logging.INFO)
    write = logs.log_events()
    with app.test_request_context("/api/v1/anything"):
        app.preprocess_request()  # the request's context: its events are held for its line
        write(ev.CounterPaused(1, 7, "break"))
        assert [rec for rec in caplog.records if rec.name == "hallq.events"] == []
        app.do_teardown_request()  # it failed before its line was written
    [line] = [rec for rec in caplog.records if rec.name == "hallq.events"]
    assert line.event == "CounterPaused" and line.fields["counter_id"] == 7
    assert logs.REQUEST_EVENTS.get() is None  # left with the request
