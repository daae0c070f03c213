"""What operators and their tools read from a web or live process: ``/metrics`` (Prometheus),
``/readyz`` (readiness), and for every request its id, its duration and one log line.

``/healthz`` (liveness, in ``pages``) stays outside all of this: it touches nothing, is not
timed and not logged, and stays the benchmarks' ceiling. The proxy in front does not pass
``/metrics`` or ``/readyz`` on (``deploy/nginx/hallq.conf``): Prometheus and the proxy's
health checks reach each process on its own port.
"""
from __future__ import annotations

import logging
import random
import re
import time

from flask import Blueprint, Flask, Response, current_app, g, request

from ..ops import health, logs, metrics

bp = Blueprint("ops", __name__)
log = logging.getLogger("hallq.request")

UNTIMED = frozenset({"/healthz"})
UNLOGGED = frozenset({"/healthz", "/readyz", "/metrics"})  # polled every few seconds: noise
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")  # nginx's $request_id: 32 hex digits


def init_app(app: Flask) -> None:
    """Call first in ``create_app``: the request id is set before any other hook runs."""
    app.before_request(_started)
    app.after_request(_finished)
    app.teardown_request(_request_ended)
    app.register_blueprint(bp)


def _started() -> None:
    if request.path in UNTIMED:
        return
    g.ops_started = time.perf_counter()
    given = request.headers.get("X-Request-Id", "")
    g.ops_request_id = logs.REQUEST_ID.set(given if _REQUEST_ID.match(given) else new_request_id())
    g.ops_events = logs.REQUEST_EVENTS.set([])  # what the request commits rides on its line


def new_request_id() -> str:
    """32 hex digits, as nginx's ``$request_id``: unique enough to find a request's lines, and not
    a secret, so drawn from the process's own generator (reseeded in each forked worker) rather
    than the system's random source, which ``uuid4`` reads on every request."""
    return f"{random.getrandbits(128):032x}"


def _finished(response: Response) -> Response:
    started = g.pop("ops_started", None)
    if started is None:
        return response
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else None
    metrics.observe_request(route, request.method, response.status_code, seconds)
    response.headers["X-Request-Id"] = logs.REQUEST_ID.get() or ""
    if request.path not in UNLOGGED:
        fields = {"method": request.method, "route": route or "unmatched", "status": response.status_code,
                  "duration_ms": round(seconds * 1000, 1)}
        events = logs.REQUEST_EVENTS.get()
        if events:
            fields["events"] = events[:]
            events.clear()
        log.info("%s %s %s", request.method, route or "unmatched", response.status_code, extra=fields)
    return response


def _request_ended(_exc=None) -> None:
    """After every request, however it ended: events its line did not carry (it failed before the
    line, or its route is not logged) get lines of their own; then the request's context is left."""
    events_token = g.pop("ops_events", None)
    if events_token is not None:
        for fields in logs.REQUEST_EVENTS.get() or ():
            logs.write_event_line(fields)
        logs.REQUEST_EVENTS.reset(events_token)
    token = g.pop("ops_request_id", None)
    if token is not None:
        logs.REQUEST_ID.reset(token)


@bp.get("/metrics")
def metrics_endpoint():
    """Prometheus text format: this process's metrics (a web role: all its workers')."""
    levels = current_app.extensions.get("hallq_levels")
    if levels is not None:
        levels.activate()  # the queue's levels are kept from the first scrape on
    return Response(metrics.render(), mimetype=None, content_type=metrics.CONTENT_TYPE)


@bp.get("/readyz")
def readyz():
    """Readiness: 200 when the database and Redis answer and the schema is current, else 503 and why."""
    ready, checks = health.readiness(current_app.extensions["hallq"], current_app.config["SOCKETIO_MESSAGE_QUEUE"])
    return {"ready": ready, "role": current_app.config["ROLE"], "checks": checks}, 200 if ready else 503
