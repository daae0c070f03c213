"""Errors the domain and services raise; the web layer maps each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base class. ``code`` is a stable machine-readable name; ``status`` the HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, code: str | None = None, **detail):
        """``code``: a finer stable name than the class's (``counter_closed`` for a Conflict), which
        screens translate through the catalogue; ``detail``: the values its text needs."""
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        self.detail = detail


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request is well formed but the current state forbids it."""

    status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class CounterBusy(Conflict):
    code = "counter_busy"


class HallClosed(Conflict):
    code = "hall_closed"


class CounterHeld(Conflict):
    """The counter is open with another staff member at it: take it over explicitly first."""

    code = "counter_held"


class Invalid(DomainError):
    """A value that parsed but makes no sense (422)."""

    status = 422
    code = "invalid"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class TooMany(DomainError):
    """Too many requests of one kind from one place in a short time (a public endpoint's guard)."""

    status = 429
    code = "too_many_requests"


class Unavailable(DomainError):
    """A part this request needs (the SMS gateway) is down for now: try again later."""

    status = 503
    code = "unavailable"
