"""Prometheus metrics of every role, and who counts what.

Nothing is counted twice, although every process publishes its events to the feed and, in
production, every live process hears every event of every process:

- **What happens** (tickets issued and called, waits, SMS sent, job runs, HTTP requests) is
  counted by the process that did it, from its own event bus (``count_committed``) or its
  own code: a web worker counts the tickets it issued, the scheduler the SMS it sent. Events
  heard through the feed are never counted.
- **Levels** (tickets waiting, counters open) are kept by the process that holds the screens,
  because it hears every event (``QueueLevels``): each live process in production (each has
  the whole picture: take the ``max`` over them), the one web process in the embedded default.
  They start from one read of the database and follow the events from there; a gap in a
  hall's event numbers, or a service the process does not know yet, reads that hall again,
  and every ``resync_s`` all halls are read again. Never a query per scrape.

Labels are bounded: the hall's code, the service's code, a route's rule, a job's name;
never a ticket, a number or a person.

The web role runs several gunicorn workers: ``deploy/gunicorn/web.conf.py`` gives them one
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) and ``render`` adds the
workers' files up. The live and scheduler roles are one process each and serve their own.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter as Tally
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST, disable_created_metrics

from ..domain import events as ev

log = logging.getLogger(__name__)
disable_created_metrics()  # the *_created series double the output and nothing here reads them
CONTENT_TYPE = CONTENT_TYPE_LATEST

# ----------------------------------------------------------------------------- the metrics

TICKETS_ISSUED = Counter("hallq_tickets_issued", "Tickets issued, by the process that issued them.",
                         ["hall", "service", "channel"])
TICKETS_CALLED = Counter("hallq_tickets_called", "First calls of tickets (recalls not counted).", ["hall"])
CALLED_OVER_TARGET = Counter("hallq_tickets_called_over_target",
                             "First calls after a wait longer than the service's target wait.", ["hall"])
WAIT = Histogram("hallq_wait_seconds", "A ticket's wait when it is called (from queueing to the call).", ["hall"],
                 buckets=(30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200))
TICKETS_WAITING = Gauge("hallq_tickets_waiting", "Tickets waiting now, per service (kept from the events).",
                        ["hall", "service"], multiprocess_mode="livemax")
COUNTERS_OPEN = Gauge("hallq_counters_open", "Counters open now (kept from the events).", ["hall"],
                      multiprocess_mode="livemax")
SCREENS = Gauge("hallq_live_screens_connected", "Screens connected to this process.", ["role"],
                multiprocess_mode="livesum")
MESSAGES_SENT = Counter("hallq_live_messages_sent", "Socket.IO messages handed to screens (one per screen).")
MESSAGES_DROPPED = Counter("hallq_live_messages_dropped",
                           "Messages not queued for a screen that was too far behind (it resynchronises).")
SMS_SENT = Counter("hallq_sms_sent", "Survey SMS send attempts by outcome: sent, retrying (a failure that will "
                   "be tried again), failed, not_sent (skipped), lost (the sender stopped mid-send).",
                   ["gateway", "outcome"])
JOB_DURATION = Histogram("hallq_job_duration_seconds", "How long a scheduled job's run took.", ["job"],
                         buckets=(0.05, 0.25, 1, 5, 15, 60, 300, 900, 1800, 3600))
JOB_FAILURES = Counter("hallq_job_failures", "Scheduled job runs that failed, and halls a run failed for.", ["job"])
JOB_LAST_SUCCESS = Gauge("hallq_job_last_success_timestamp_seconds", "When the job last ran to the end (Unix time).",
                         ["job"], multiprocess_mode="livemax")
OUTBOX_EVENTS = Gauge("hallq_outbox_events", "Durable follow-ups of committed events (the survey after a finish) "
                      "in the outbox: pending (not yet delivered) and failed (given up after every attempt).",
                      ["state"], multiprocess_mode="livemax")
LEASE_HELD = Gauge("hallq_scheduler_lease_held", "1 while this scheduler holds the lease and runs the jobs.",
                   multiprocess_mode="livemax")
HTTP_DURATION = Histogram("http_request_duration_seconds", "HTTP requests by route (its rule), method and status.",
                          ["route", "method", "status"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(route: str | None, method: str, status: int, seconds: float) -> None:
    """One HTTP request; a path that matched no route is ``unmatched`` (never the path itself)."""
    HTTP_DURATION.labels(route or "unmatched", method if method in METHODS else "other", str(status)).observe(seconds)


def render() -> bytes:
    """This process's metrics, or with ``PROMETHEUS_MULTIPROC_DIR`` every web worker's added up."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


# ----------------------------------------------------------------------------- what this process did

def count_committed(rt):
    """A bus subscriber counting what this process committed (see the module's docstring)."""

    def count(evt: ev.Event) -> None:
        if isinstance(evt, ev.TicketIssued):
            hall, service = _names(rt, evt.hall_id, evt.service_id)
            TICKETS_ISSUED.labels(hall, service, evt.channel).inc()
        elif isinstance(evt, ev.RemoteTicketTaken):
            hall, service = _names(rt, evt.hall_id, evt.service_id)
            TICKETS_ISSUED.labels(hall, service, "remote").inc()
        elif isinstance(evt, ev.TicketCalled) and evt.recall == 0:
            hall, _ = _names(rt, evt.hall_id)
            TICKETS_CALLED.labels(hall).inc()
            if evt.waited_s is not None:
                WAIT.labels(hall).observe(evt.waited_s)
                target = _target(rt, evt.hall_id, evt.service_id)
                if target is not None and evt.waited_s > target:
                    CALLED_OVER_TARGET.labels(hall).inc()

    return count


def _names(rt, hall_id: int, service_id: int | None = None) -> tuple[str, str]:
    """The hall's and the service's codes from this process's copy of the hall's configuration,
    which the use case that recorded the event has just read."""
    conf = rt.hall_configs.get(hall_id)
    if conf is None:
        return f"#{hall_id}", f"#{service_id}"
    service = conf.services.get(service_id)
    return conf.code, service.code if service is not None else f"#{service_id}"


def _target(rt, hall_id: int, service_id: int) -> int | None:
    conf = rt.hall_configs.get(hall_id)
    service = conf.services.get(service_id) if conf is not None else None
    return service.target_wait_s if service is not None else None


# ----------------------------------------------------------------------------- levels from every event

@dataclass
class _HallLevels:
    code: str
    services: dict[int, str]  # service id -> code
    seq: int  # the number of the last event applied
    waiting: dict[int, int] = field(default_factory=dict)  # ticket id -> service id
    open: set[int] = field(default_factory=set)  # counter ids

    def apply(self, payload: dict) -> bool:
        """Apply one event; False if it names a service this copy does not know (read the hall again)."""
        name, ticket = payload["event"], payload.get("ticket_id")
        if name in ("TicketIssued", "TicketCheckedIn", "TicketTransferred"):
            service = payload.get("service_id", payload.get("to_service_id"))
            if service not in self.services:
                return False
            self.waiting[ticket] = service
        elif name in ("TicketCalled", "TicketCancelled", "TicketNoShow", "ServiceStarted", "ServiceFinished"):
            self.waiting.pop(ticket, None)
        elif name == "CounterOpened":
            self.open.add(payload["counter_id"])
        elif name == "CounterClosed":
            self.open.discard(payload["counter_id"])
        elif name == "HallSettingsChanged":
            return False  # services may have been added or renamed
        return True

    def publish(self) -> None:
        per_service = Tally(self.waiting.values())
        for service_id, code in self.services.items():
            TICKETS_WAITING.labels(self.code, code).set(per_service.get(service_id, 0))
        COUNTERS_OPEN.labels(self.code).set(len(self.open))


class QueueLevels:
    """Waiting tickets and open counters of every hall, replicated from every committed event.

    ``heard`` takes each event the feed hands to this process's hub (numbered per hall, in
    order). Nothing is kept until the first scrape (``activate``): then every hall is read from
    the database (``services.levels``), and a hall is read again after a gap in its numbers, when
    an event names a service this copy does not know, and every ``resync_s``. Events heard while
    a hall is being read are kept and applied after it, from the number the read is known to hold.
    """

    def __init__(self, rt, feed, start_task, serving=lambda: True, resync_s: float = 300.0) -> None:
        self._rt, self._feed, self._start_task, self._serving = rt, feed, start_task, serving
        self._resync_s = resync_s
        self._lock = threading.Lock()
        self._halls: dict[int, _HallLevels] = {}
        self._pending: dict[int, list[dict]] = {}  # hall -> events heard while it waits to be read
        self._wake = threading.Event()
        self._active = False
        self._full_read_at: float | None = None

    def activate(self) -> None:
        """Start keeping the levels (the first scrape): nobody reads them before."""
        with self._lock:
            if not self._active:
                self._active = True
                self._start_task(self._work)

    def heard(self, payload: dict) -> None:
        if self._active:
            with self._lock:
                self._hear(payload)

    def levels(self, hall_id: int) -> dict | None:
        """What this process holds for a hall, by service code."""
        with self._lock:
            hall = self._halls.get(hall_id)
            if hall is None:
                return None
            return {"seq": hall.seq, "waiting": dict(Tally(hall.services[s] for s in hall.waiting.values())),
                    "counters_open": len(hall.open)}

    def _hear(self, payload: dict) -> None:
        hall_id, seq = payload["hall_id"], payload.get("seq", 0)
        if hall_id in self._pending:
            self._pending[hall_id].append(payload)
            return
        hall = self._halls.get(hall_id)
        if hall is not None and seq <= hall.seq:
            return  # already held (read with the hall, or heard twice)
        if hall is None or seq != hall.seq + 1 or not hall.apply(payload):
            self._pending[hall_id] = [payload]
            self._wake.set()
            return
        hall.seq = seq
        hall.publish()

    def _work(self) -> None:
        while self._serving():
            self._wake.clear()
            try:
                if self._full_read_at is None or time.monotonic() - self._full_read_at >= self._resync_s:
                    self._read_all()
                with self._lock:
                    halls = list(self._pending)
                for hall_id in halls:
                    self._read(hall_id)
            except Exception:  # noqa: BLE001 - the database may be down: try again soon
                log.exception("metrics: reading the queue's levels failed; trying again in 5 s")
                time.sleep(5)
                continue
            self._wake.wait(min(self._resync_s, 60))

    def _read_all(self) -> None:
        from ..services import levels

        hall_ids = levels.hall_ids(self._rt)
        with self._lock:
            for hall_id in set(hall_ids) | set(self._halls):
                self._pending.setdefault(hall_id, [])
        self._full_read_at = time.monotonic()

    def _read(self, hall_id: int) -> None:
        from ..services import levels

        seq = self._feed.current(hall_id)  # first: the state read next holds at least this much
        state = levels.hall_levels(self._rt, hall_id)
        with self._lock:
            heard = self._pending.pop(hall_id, [])
            old = self._halls.pop(hall_id, None)
            if old is not None:
                _forget(old, state)
            if state is None:  # no such hall (any more)
                return
            hall = self._halls[hall_id] = _HallLevels(state["code"], state["services"], seq, state["waiting"],
                                                      state["open"])
            hall.publish()
            for payload in sorted(heard, key=lambda p: p.get("seq", 0)):
                self._hear(payload)


def _forget(old: _HallLevels, state: dict | None) -> None:
    """Series of a hall or services that are gone (or renamed) stop being reported."""
    for service_id, code in old.services.items():
        if state is None or state["code"] != old.code or state["services"].get(service_id) != code:
            try:
                TICKETS_WAITING.remove(old.code, code)
            except KeyError:
                pass
    if state is None or state["code"] != old.code:
        try:
            COUNTERS_OPEN.remove(old.code)
        except KeyError:
            pass


# ----------------------------------------------------------------------------- screens

def count_messages(sent: int, dropped: int) -> None:
    if sent:
        MESSAGES_SENT.inc(sent)
    if dropped:
        MESSAGES_DROPPED.inc(dropped)
