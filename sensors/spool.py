"""The agent's on-disk spool: every footfall count, per sensor and minute, until the server has it.

One SQLite file in WAL mode. A row per (sensor, minute UTC) holds the minute's running
``in``/``out`` totals and two numbers: ``version`` (bumped by every change) and
``sent_version`` (the version the server last acknowledged). A row is *pending* while
``version > sent_version``, so an increment that arrives while a post is in flight leaves
the row pending and it goes again with the larger values; the server keeps the latest
value per (sensor, minute), so sending a row twice never counts twice.

Durability: every ``add`` is its own committed transaction (``synchronous=FULL``), so a
kill -9 or a power cut loses at most the increments whose ``add`` had not returned yet:
the crossing or MQTT message being recorded at that instant. An MQTT message is only
acknowledged to the broker after its ``add`` returned, so the broker redelivers it.

Also kept here, because they must survive an agent restart as the counts do: the ids of
recent MQTT increment messages (QoS-1 redelivery is deduplicated), the last cumulative
totals of each infrared counter, the dead letters (rows the server will never accept) and
a few facts for ``--status`` (last delivery, last error).

Thread-safe: one connection behind a lock. Other processes (``--status``) may read at the
same time; only one process delivers (see :meth:`Spool.lock_for_delivery`).
"""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

MESSAGE_IDS_KEPT = 10_000  # per sensor
_PRUNE_IDS_EVERY = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counts (
    sensor       TEXT    NOT NULL,
    minute       INTEGER NOT NULL,          -- Unix seconds (UTC) at the start of the minute
    in_count     INTEGER NOT NULL DEFAULT 0,
    out_count    INTEGER NOT NULL DEFAULT 0,
    version      INTEGER NOT NULL DEFAULT 0,
    sent_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sensor, minute)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counts_pending ON counts (minute) WHERE version > sent_version;
CREATE TABLE IF NOT EXISTS dead_letters (
    sensor    TEXT    NOT NULL,
    minute    INTEGER NOT NULL,
    in_count  INTEGER NOT NULL,
    out_count INTEGER NOT NULL,
    status    INTEGER,                      -- HTTP status of the refusal
    code      TEXT,
    field     TEXT,
    message   TEXT,
    failed_at INTEGER NOT NULL,
    PRIMARY KEY (sensor, minute)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS message_ids (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    sensor     TEXT NOT NULL,
    message_id TEXT NOT NULL,
    UNIQUE (sensor, message_id)
);
CREATE INDEX IF NOT EXISTS message_ids_by_sensor ON message_ids (sensor, seq);
CREATE TABLE IF NOT EXISTS device_totals (
    sensor     TEXT PRIMARY KEY,
    in_total   INTEGER,
    out_total  INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Row:
    """One (sensor, minute) as read from the spool; ``version`` is what ``mark_sent`` acknowledges."""
    sensor: str
    minute: int  # Unix seconds, UTC, a whole minute
    in_: int
    out: int
    version: int

    @property
    def key(self) -> tuple[str, int]:
        return self.sensor, self.minute

    def minute_iso(self) -> str:
        return datetime.fromtimestamp(self.minute, timezone.utc).isoformat()


@dataclass(frozen=True)
class DeadLetter:
    sensor: str
    minute: int
    in_: int
    out: int
    status: int | None
    code: str | None
    field: str | None
    message: str | None
    failed_at: int


@dataclass(frozen=True)
class Refusal:
    """Why the server refused a row: its HTTP status and error body."""
    status: int | None
    code: str | None = None
    field: str | None = None
    message: str | None = None


class SpoolLocked(RuntimeError):
    """Another process (a running agent) delivers from this spool."""


def minute_of(at: datetime | float | int) -> int:
    """The start of the UTC minute holding ``at`` (an aware datetime or Unix seconds), as Unix seconds."""
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("a time without a UTC offset is ambiguous")
        at = at.timestamp()
    return int(at // 60) * 60


class Spool:
    """See the module docstring. ``clock`` gives Unix seconds (``time.time``)."""

    def __init__(self, path: str | os.PathLike, *, clock: Callable[[], float] = time.time,
                 synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._lock:
            self._db.executescript(_SCHEMA)
        self._ids_added: dict[str, int] = {}
        self._lock_file = None

    # ------------------------------------------------------------------ plumbing

    def _write(self):
        return _Transaction(self._db, self._lock)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def lock_for_delivery(self) -> None:
        """Take the one-deliverer lock (a file lock beside the spool), held until ``close``.

        Two deliverers on one spool could post an older value of a minute after a newer one;
        the server keeps the latest it receives, so a count would be lost. Raises SpoolLocked.
        """
        f = open(self.path.with_name(self.path.name + ".lock"), "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise SpoolLocked(f"another agent is delivering from {self.path}") from None
        self._lock_file = f

    # ------------------------------------------------------------------ counting

    def add(self, sensor: str, at: datetime | float | None = None, in_: int = 0, out: int = 0) -> None:
        """Add ``in_``/``out`` people to ``sensor``'s minute holding ``at`` (now by default); committed on return."""
        if in_ == 0 and out == 0:
            return
        with self._write() as db:
            self._add(db, sensor, self._minute(at), in_, out)

    def add_message(self, sensor: str, message_id: str, at: datetime | float | None = None,
                    in_: int = 0, out: int = 0) -> bool:
        """Count an increment message once: False (and nothing counted) if ``message_id`` was seen for ``sensor``."""
        with self._write() as db:
            try:
                db.execute("INSERT INTO message_ids (sensor, message_id) VALUES (?, ?)", (sensor, message_id))
            except sqlite3.IntegrityError:
                return False
            self._add(db, sensor, self._minute(at), in_, out)
            self._maybe_prune_ids(db, sensor)
        return True

    def add_totals(self, sensor: str, in_total: int | None, out_total: int | None,
                   increment: Callable[[int | None, int], int], at: datetime | float | None = None
                   ) -> tuple[int, int]:
        """Record a counter's cumulative totals; count ``increment(previous, current)`` for each. Returns (in, out)."""
        with self._write() as db:
            prev = db.execute("SELECT in_total, out_total FROM device_totals WHERE sensor = ?", (sensor,)).fetchone()
            prev_in, prev_out = prev if prev else (None, None)
            d_in = increment(prev_in, in_total) if in_total is not None else 0
            d_out = increment(prev_out, out_total) if out_total is not None else 0
            db.execute(
                "INSERT INTO device_totals (sensor, in_total, out_total, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (sensor) DO UPDATE SET in_total = coalesce(excluded.in_total, in_total), "
                "out_total = coalesce(excluded.out_total, out_total), updated_at = excluded.updated_at",
                (sensor, in_total, out_total, int(self._clock())))
            if d_in or d_out:
                self._add(db, sensor, self._minute(at), d_in, d_out)
        return d_in, d_out

    def _minute(self, at: datetime | float | None) -> int:
        return minute_of(self._clock() if at is None else at)

    @staticmethod
    def _add(db: sqlite3.Connection, sensor: str, minute: int, in_: int, out: int) -> None:
        if in_ < 0 or out < 0:
            raise ValueError("counts are never negative")
        db.execute(
            "INSERT INTO counts (sensor, minute, in_count, out_count, version) VALUES (?, ?, ?, ?, 1) "
            "ON CONFLICT (sensor, minute) DO UPDATE SET in_count = in_count + excluded.in_count, "
            "out_count = out_count + excluded.out_count, version = version + 1",
            (sensor, minute, in_, out))

    def _maybe_prune_ids(self, db: sqlite3.Connection, sensor: str) -> None:
        n = self._ids_added[sensor] = self._ids_added.get(sensor, 0) + 1
        if n % _PRUNE_IDS_EVERY:
            return
        db.execute(
            "DELETE FROM message_ids WHERE sensor = ? AND seq <= (SELECT seq FROM message_ids WHERE sensor = ? "
            "ORDER BY seq DESC LIMIT 1 OFFSET ?)", (sensor, sensor, MESSAGE_IDS_KEPT))

    # ------------------------------------------------------------------ delivering

    def pending(self, limit: int = 500, skip: Iterable[tuple[str, int]] = (),
                skip_sensors: Iterable[str] = ()) -> list[Row]:
        """Up to ``limit`` rows changed since last acknowledged, oldest minute first.

        Rows whose (sensor, minute) is in ``skip``, or whose sensor is in ``skip_sensors``, are left out.
        """
        skip, skip_sensors = set(skip), sorted(set(skip_sensors))
        not_in = f"AND sensor NOT IN ({', '.join('?' * len(skip_sensors))})" if skip_sensors else ""
        with self._lock:
            cur = self._db.execute(
                "SELECT sensor, minute, in_count, out_count, version FROM counts WHERE version > sent_version "
                f"{not_in} ORDER BY minute, sensor LIMIT ?", (*skip_sensors, limit + len(skip)))
            rows = [Row(*r) for r in cur.fetchall()]
        return [r for r in rows if r.key not in skip][:limit]

    def mark_sent(self, rows: Iterable[Row]) -> None:
        """The server holds these rows' values: a row changed since it was read stays pending."""
        with self._write() as db:
            db.executemany(
                "UPDATE counts SET sent_version = ? WHERE sensor = ? AND minute = ? AND sent_version < ?",
                [(r.version, r.sensor, r.minute, r.version) for r in rows])

    def dead_letter(self, rows: Iterable[Row], refusal: Refusal) -> None:
        """Move rows the server will never accept out of the way, with the refusal, kept for ``--status``.

        The current values of the row move (any increment since it was read included); a dead
        letter for the same minute adds up, so it always holds the minute's counted total.
        """
        now = int(self._clock())
        with self._write() as db:
            for r in rows:
                cur = db.execute("SELECT in_count, out_count FROM counts WHERE sensor = ? AND minute = ?", r.key)
                found = cur.fetchone()
                if found is None:
                    continue
                db.execute(
                    "INSERT INTO dead_letters (sensor, minute, in_count, out_count, status, code, field, message, "
                    "failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sensor, minute) DO UPDATE SET "
                    "in_count = in_count + excluded.in_count, out_count = out_count + excluded.out_count, "
                    "status = excluded.status, code = excluded.code, field = excluded.field, "
                    "message = excluded.message, failed_at = excluded.failed_at",
                    (*r.key, *found, refusal.status, refusal.code, refusal.field, refusal.message, now))
                db.execute("DELETE FROM counts WHERE sensor = ? AND minute = ?", r.key)

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        with self._lock:
            cur = self._db.execute(
                "SELECT sensor, minute, in_count, out_count, status, code, field, message, failed_at "
                "FROM dead_letters ORDER BY minute, sensor LIMIT ?", (-1 if limit is None else limit,))
            return [DeadLetter(*r) for r in cur.fetchall()]

    def requeue_dead_letters(self) -> int:
        """Put every dead letter back to be sent again (after the cause was fixed). Returns how many."""
        with self._write() as db:
            dead = db.execute("SELECT sensor, minute, in_count, out_count FROM dead_letters").fetchall()
            for sensor, minute, in_, out in dead:
                self._add(db, sensor, minute, in_, out)
            db.execute("DELETE FROM dead_letters")
        return len(dead)

    def prune(self, keep_days: float = 7) -> int:
        """Forget delivered rows whose minute is older than ``keep_days``. Returns how many."""
        cutoff = self._clock() - keep_days * 86400
        with self._write() as db:
            return db.execute("DELETE FROM counts WHERE version = sent_version AND minute < ?", (cutoff,)).rowcount

    # ------------------------------------------------------------------ state

    def set_meta(self, key: str, value) -> None:
        with self._write() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                       "value = excluded.value", (key, json.dumps(value, ensure_ascii=False)))

    def meta(self, key: str, default=None):
        with self._lock:
            found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else default

    def pending_summary(self) -> tuple[int, int, int | None]:
        """(pending minutes, sensors among them, oldest pending minute or None)."""
        with self._lock:
            return self._db.execute(
                "SELECT count(*), count(DISTINCT sensor), min(minute) FROM counts WHERE version > sent_version"
            ).fetchone()

    def rows(self, sensor: str | None = None) -> list[Row]:
        """Every row still in the spool (delivered or not), for tests and ``--status``."""
        with self._lock:
            cur = self._db.execute(
                "SELECT sensor, minute, in_count, out_count, version FROM counts "
                "WHERE ?1 IS NULL OR sensor = ?1 ORDER BY minute, sensor", (sensor,))
            return [Row(*r) for r in cur.fetchall()]

    def totals(self) -> dict[str, tuple[int, int]]:
        """Per sensor, (in, out) summed over the rows still in the spool."""
        with self._lock:
            cur = self._db.execute("SELECT sensor, sum(in_count), sum(out_count) FROM counts GROUP BY sensor")
            return {s: (i, o) for s, i, o in cur.fetchall()}


class _Transaction:
    """``with``: the spool lock and one IMMEDIATE transaction, committed on success, rolled back on error."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self.lock.release()
