"""Engines and the unit of work: one use case, one transaction, events after commit."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..domain.events import Event
from ..domain.hours import utcnow
from . import (
    config_versions,  # noqa: F401 - every configuration change bumps its hall's version
    credentials,  # noqa: F401 - a new password or a deactivation ends the account's tokens and sessions
)
from .orm import OutboxEvent, table

log = logging.getLogger(__name__)


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with the settings this application relies on.

    SQLite: WAL so readers never block the writer, foreign keys on, and every
    write transaction opened with ``BEGIN IMMEDIATE`` so writers are serialised
    by the database itself (two kiosks, one number), across threads and processes.
    Both: a pool sized for a threaded web worker (16 threads). SQLAlchemy's default keeps 5
    connections and closes the overflow after each use, so with more threads most requests
    opened a connection, ran its pragmas and, on SQLite, compiled every statement again
    (a fresh connection has an empty statement cache): a ticket cost twice its CPU under load
    (BENCHMARKS.md, "The hot path").
    """
    if "poolclass" not in kwargs and url != "sqlite://" and ":memory:" not in url:
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _serialise_sqlite_writes(engine)
        return engine
    kwargs.setdefault("pool_recycle", 1800)  # instead of a ping on every checkout
    return create_engine(url, **kwargs)


def _serialise_sqlite_writes(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        # On the driver's connection: through SQLAlchemy's execution (a context, events, a result)
        # the BEGIN cost more than the rest of opening the transaction.
        conn.connection.driver_connection.execute(f"BEGIN {mode}")


class SqliteWriteGate:
    """One writer at a time on a SQLite database, across the threads of a process and the processes
    of the machine: a lock in the process, then an exclusive ``flock`` on a file beside the database.

    SQLite itself has one writer at a time; a writer that meets another waits in its busy handler,
    which sleeps (1, 2, 5 … 100 ms) and is unfair: a second web worker then cost more than it
    brought (BENCHMARKS.md, "The hot path"). Waiters on ``flock`` sleep in the kernel and wake
    the moment the holder lets go, so several worker processes share one database's writes
    without polling. The kernel lets go of a dead process's lock itself (kill -9 included).
    """

    def __init__(self, database_path: str) -> None:
        self.path = database_path + ".write-lock"
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _descriptor(self) -> int:
        # Opened by each process for itself: a descriptor inherited through fork shares its lock
        # with the parent's, and flock would not keep the two apart.
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        assert self._fd is not None
        return self._fd


def write_gate(engine: Engine):
    """What a write transaction holds on ``engine``: on a SQLite file, a ``SqliteWriteGate``; on an
    in-memory SQLite database (one process), a lock; on PostgreSQL nothing (it has row locks)."""
    if engine.dialect.name != "sqlite":
        return None
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return threading.Lock()
    return SqliteWriteGate(os.path.abspath(path))


def advance_id_sequence(session, table) -> None:
    """After rows were inserted with their own ids: the next id the database hands out follows
    them. PostgreSQL's sequence does not see explicit ids; SQLite takes max(id) + 1 anyway."""
    if session.bind.dialect.name == "postgresql":
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
            )
        )


Handler = Callable[[Event], None]


class EventBus:
    """Hands committed domain events to this process's handlers (screens, metrics, the log), and
    names the events whose durable handlers run through the outbox (``durable``).

    ``app.event_handlers.EVENT_HANDLERS`` says which is which. A failing handler is logged and does
    not stop the others: the transaction has already committed, and the queue must keep moving.
    """

    def __init__(self, durable: Mapping[type[Event], Callable[[Event], bool]] | None = None) -> None:
        self._handlers: list[Handler] = []  # every event
        self._by_type: dict[type[Event], list[Handler]] = {}
        # event type -> whether one event of it needs its outbox row, written by the unit of work before the commit
        self.durable = dict(durable or {})

    def subscribe(self, handler: Handler, *event_types: type[Event]) -> None:
        """``handler`` hears the events of ``event_types``, or every event when none is named."""
        if not event_types:
            self._handlers.append(handler)
        for event_type in event_types:
            self._by_type.setdefault(event_type, []).append(handler)

    def publish(self, events: list[Event]) -> None:
        for evt in events:
            for handler in (*self._handlers, *self._by_type.get(type(evt), ())):
                try:
                    handler(evt)
                except Exception:
                    log.exception("event handler %r failed on %s", handler, evt.name)


class UnitOfWork:
    """``with uow() as tx: ...; tx.commit()``. Without commit, everything rolls back."""

    def __init__(
        self, session_factory: sessionmaker, bus: EventBus, gate=None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._session_factory = session_factory
        self._bus = bus
        self._clock = clock  # the outbox rows' time
        self._gate = gate  # a lock held for the whole write transaction, or None
        self._holding = False
        self.session: Session
        self.events: list[Event] = []

    def __enter__(self) -> UnitOfWork:
        if self._gate is not None:
            self._gate.acquire()
            self._holding = True
        self.session = self._session_factory()
        self.events = []
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.session.rollback()
            self.session.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self._gate.release()

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def record(self, evt: Event) -> None:
        self.events.append(evt)

    def commit(self) -> None:
        durable = [evt for evt in self.events if (needed := self._bus.durable.get(type(evt))) and needed(evt)]
        if durable:  # one statement, and nothing at all for the events only this process follows
            at = self._clock()
            self.session.connection().execute(
                _WRITE_OUTBOX,
                [{"event": e.name, "payload": _payload(e), "created_at": at, "next_at": at} for e in durable],
            )
        self.session.commit()
        self._release()  # the next writer may go while subscribers run
        events, self.events = self.events, []
        self._bus.publish(events)


OUTBOX = table(OutboxEvent)
_WRITE_OUTBOX = insert(OUTBOX)  # through the session's connection: a Core insert, not the ORM's


def _payload(evt: Event) -> dict:
    """What the outbox keeps of an event: its fields (without the ticket's public token), from which
    ``type(evt)(**payload)`` makes it again."""
    payload = evt.to_dict()
    del payload["event"]
    return payload
