"""Wires the adapters together once: database, event bus, clock. Entry points call ``bootstrap``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from .domain.hours import utcnow
from .storage.caches import Kept
from .storage.db import EventBus, UnitOfWork, make_engine, write_gate


@dataclass
class Runtime:
    """Everything a service function needs from the outside world."""

    engine: Engine
    session_factory: sessionmaker
    read_session_factory: sessionmaker
    bus: EventBus
    clock: Callable[[], datetime] = utcnow
    enforce_opening_hours: bool = True
    settings: dict = field(default_factory=dict)
    write_gate: object = None
    # kept between requests, each bounded (storage.caches): the least recently used goes first
    hall_configs: Kept = field(default_factory=lambda: Kept(5_000))  # hall id -> its configuration (services.hall_config)
    counter_halls: Kept = field(default_factory=lambda: Kept(100_000))  # counter id -> hall id; counters never move
    device_seen: Kept = field(default_factory=lambda: Kept(100_000))  # device id -> monotonic time its last_seen_at was noted
    devices_heard: set = field(default_factory=set)  # devices whose last_seen_at is to be written (services.auth)
    pairing_requests: Kept = field(default_factory=lambda: Kept(10_000))  # client address -> times it asked for a code
    guide_pin_failures: Kept = field(default_factory=lambda: Kept(10_000))  # see services.auth.check_guide_pin

    def __post_init__(self) -> None:
        if self.write_gate is None:
            # SQLite has one writer at a time: writers queue on a gate (threads and processes)
            # rather than in SQLite's busy handler, which sleeps and is unfair (p99 of seconds
            # under load). PostgreSQL needs none.
            self.write_gate = write_gate(self.engine)

    def uow(self) -> UnitOfWork:
        """A write transaction (serialised on SQLite)."""
        return UnitOfWork(self.session_factory, self.bus, self.write_gate, self.clock)

    def reader(self) -> UnitOfWork:
        """A read-only transaction: on SQLite it does not take the write lock."""
        return UnitOfWork(self.read_session_factory, self.bus, clock=self.clock)

    def now(self) -> datetime:
        return self.clock()

    @property
    def writes_queue(self) -> bool:
        """Whether write transactions go one at a time through the write gate (SQLite). Then what a
        request only reads (a new ticket's place in line and wait) is read after its commit, in a
        reader that holds no other writer up; elsewhere a request is one transaction."""
        return self.write_gate is not None


def clock_from(start: datetime, origin: float | None = None) -> Callable[[], datetime]:
    """A clock that reads ``start`` when ``time.monotonic()`` reads ``origin`` (default: now), and
    runs on at real speed from there.

    A job's own instant travels this way to the processes that share its work, and servers
    started by a test run on the test's day and hour rather than the wall clock's (the monotonic
    clock is the machine's, so the test and its servers read the same time)."""
    origin = time.monotonic() if origin is None else origin
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def bootstrap(database_url: str, clock: Callable[[], datetime] = utcnow, **settings) -> Runtime:
    """The runtime of one process. Its bus names the events with durable follow-ups from
    ``event_handlers.EVENT_HANDLERS``, so every process that commits writes their outbox rows, with
    a web app or without; the handlers of the process itself are subscribed by ``create_app``."""
    from .event_handlers import durable_events  # it names the services, which import this module

    engine = make_engine(database_url)
    read_engine = engine.execution_options(sqlite_begin="DEFERRED")
    return Runtime(
        engine=engine,
        session_factory=sessionmaker(engine, expire_on_commit=False),
        read_session_factory=sessionmaker(read_engine, expire_on_commit=False),
        bus=EventBus(durable=durable_events()),
        clock=clock,
        enforce_opening_hours=settings.pop("enforce_opening_hours", True),
        settings=settings,
    )
