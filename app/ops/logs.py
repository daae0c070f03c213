"""Structured logs: JSON lines on stderr, one a line.

Every line carries the time, level, logger, role and process, the message, the fields the
code passed (``extra={...}``), and the id of the HTTP request it happened in: the web layer
sets ``REQUEST_ID`` for the request, so a service's log line carries it too, and each event the
request committed takes it through Redis to the live processes (``live_feed``). The events a
request commits ride on the request's own line, as ``events`` (one line a request, what it did
in it: ``REQUEST_EVENTS``, held by the web layer); an event committed outside a request (the
scheduler, a command) gets a line of its own (``log_events``). ``LOG_LEVEL`` (default ``INFO``)
sets the level; ``LOG_FORMAT=text`` gives plain lines for a person at a terminal.

No secrets and no personal data: the code logs ids and codes, never a mobile number, a token,
a password or a request's path (a phone page's path holds its ticket's token). As a second
line of defence every line is scrubbed of what looks like a mainland mobile number, a bearer
token or a secret in a query string.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("hallq_request_id", default=None)
# the events committed while the web layer handles a request, for the request's line; None outside one
REQUEST_EVENTS: ContextVar[list[dict] | None] = ContextVar("hallq_request_events", default=None)

_SCRUB = (
    (re.compile(r"(?<![\d.])(?:\+?86[- ]?)?1[3-9]\d{9}(?![\d.])"), "[mobile]"),
    (re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),
    (re.compile(r"(?i)\b(secret|token|password|passwd|key|auth|signature|sig)=[^&\s\"']+"), r"\1=[redacted]"),
)
# attributes every LogRecord has: whatever else is on a record came from ``extra``
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module's docstring)."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "role": self.role,
            "pid": record.process,
            "msg": scrub(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(name)s %(levelname)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure(role: str) -> None:
    """This process's logging: one handler on stderr, JSON (or ``LOG_FORMAT=text``), ``LOG_LEVEL``."""
    handler = logging.StreamHandler(sys.stderr)
    text = os.environ.get("LOG_FORMAT", "json").lower() == "text"
    handler.setFormatter(TextFormatter() if text else JsonFormatter(role))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    for noisy in ("apscheduler.executors.default", "apscheduler.scheduler", "alembic"):  # a line per run, per plugin
        logging.getLogger(noisy).setLevel(logging.WARNING)


EVENTS_LOG = logging.getLogger("hallq.events")


def log_events(logger: logging.Logger = EVENTS_LOG):
    """A bus subscriber: each event this process committed, logged with its request id: held for
    the request's own line when a request committed it (``REQUEST_EVENTS``), else a line of its own.
    The event's screen payload: ids, codes, labels and counts, never the ticket's token."""

    def write(evt) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        fields = evt.to_dict()
        held = REQUEST_EVENTS.get()
        if held is not None:
            held.append(fields)
        else:
            write_event_line(fields, logger)

    return write


def write_event_line(fields: dict, logger: logging.Logger = EVENTS_LOG) -> None:
    """One event's own line (``fields``: its screen payload, ``event`` its name)."""
    fields = dict(fields)
    name = fields.pop("event")
    logger.info("event %s", name, extra={"event": name, "fields": fields})
