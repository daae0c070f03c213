"""Structured logs: one JSON object a line, the request id on every line of a request, nothing
that identifies a customer or opens an account."""
from __future__ import annotations

import json
import logging

from app.domain import events as ev
from app.ops import logs


def record(msg: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    rec = logging.LogRecord("hallq.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    rec.__dict__.update(extra)
    return rec


def test_a_line_is_one_json_object_with_time_level_logger_role_and_message():
    line = logs.JsonFormatter("web").format(record("counter %s opened", 3))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "warning" and entry["logger"] == "hallq.test" and entry["role"] == "web"
    assert entry["msg"] == "counter 3 opened" and entry["ts"].endswith("Z") and isinstance(entry["pid"], int)
    assert "request_id" not in entry


def test_every_line_logged_during_a_request_carries_its_id_and_the_fields_passed():
    token = logs.REQUEST_ID.set("4f2a" * 8)
    try:
        entry = json.loads(logs.JsonFormatter("web").format(record("issued", hall_id=1, route="/api/v1/x")))
    finally:
        logs.REQUEST_ID.reset(token)
    assert entry["request_id"] == "4f2a" * 8
    assert entry["hall_id"] == 1 and entry["route"] == "/api/v1/x"


def test_an_exception_stays_on_its_one_line():
    try:
        raise ValueError("bad value")
    except ValueError:
        import sys

        line = logs.JsonFormatter("scheduler").format(record("job failed", exc_info=sys.exc_info()))
    assert "\n" not in line
    assert "ValueError: bad value" in json.loads(line)["exc"]


def test_mobile_numbers_tokens_and_secrets_are_scrubbed_from_every_line():
    text = ("sms to 13800138000 and +86 13912345678 failed: GET /sms/kannel/inbound?secret=abcdEFGH1234_-x&from=1 "
            "Authorization: Bearer dv_0123456789abcdefghij password=hunter2")
    entry = json.loads(logs.JsonFormatter("web").format(record(text, note="call 15012345678")))
    for secret in ("13800138000", "13912345678", "abcdEFGH1234_-x", "dv_0123456789abcdefghij", "hunter2",
                   "15012345678"):
        assert secret not in json.dumps(entry)
    assert "[mobile]" in entry["msg"] and "secret=[redacted]" in entry["msg"]
    assert "ticket 1234" in logs.scrub("ticket 1234 at 2026-11-23 10:00")  # ids and times stay


def test_a_committed_event_is_logged_without_the_tickets_token(caplog):
    write = logs.log_events()
    with caplog.at_level(logging.INFO, logger="hallq.events"):
        write(ev.TicketCalled(1, 7, "A001", 2, 3, 1, 0, public_token="secret-token-of-the-phone", waited_s=60))
    (rec,) = caplog.records
    assert rec.event == "TicketCalled" and rec.fields["label"] == "A001" and rec.fields["waited_s"] == 60
    assert "secret-token-of-the-phone" not in logs.JsonFormatter("web").format(rec)
