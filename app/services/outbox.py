"""The transactional outbox's delivery: the durable follow-ups of committed events, run after the
commit, at least once.

The unit of work (``storage.db.UnitOfWork``) writes each recorded event that has durable handlers
to ``event_outbox`` in the transaction that recorded it; ``deliver`` (the scheduler's
``deliver_events``, every 15 seconds) then:

- claims the due rows in one statement (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two schedulers
  take different rows; SQLite: the write transaction is already the only one): each claimed row
  counts an attempt and is due again ``CLAIM_FOR`` later, so a process that dies while delivering
  leaves it to be delivered again, not lost;
- runs the event's handlers (``app.event_handlers.EVENT_HANDLERS``), each in its own transactions,
  outside the claim's;
- marks it done; or, if a handler failed, due again after a backoff (``BACKOFF_S``), and failed for
  good after ``MAX_ATTEMPTS``, with a log line naming the event, the row and the exception's type
  and place (never the payload nor the exception's text, which may quote a statement's values).

A row may be delivered twice (a crash after a handler's effect, before the row is marked done; a
claim that lapsed while its handler was still running): every durable handler is idempotent.
Delivered rows are deleted after ``KEEP_DONE``; failed rows stay, for an operator to read.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import and_, delete, func, select, update

from ..bootstrap import Runtime
from ..domain.events import Event
from ..storage.db import OUTBOX
from ..storage.orm import rows_changed

log = logging.getLogger(__name__)

# a durable handler: (runtime, the event), its own transactions; idempotent
DurableHandler = Callable[[Runtime, Any], object]

BACKOFF_S = (60, 300, 900, 3600, 4 * 3600)  # after the 1st, 2nd, ... failed attempt
MAX_ATTEMPTS = len(BACKOFF_S) + 1  # then the row is failed
CLAIM_FOR = timedelta(minutes=5)  # a claimed row is due again if its delivery has not ended by then
KEEP_DONE = timedelta(days=7)
BATCH = 200

_PENDING = and_(OUTBOX.c.done_at.is_(None), OUTBOX.c.failed_at.is_(None))


def deliver(
    rt: Runtime,
    handlers: Mapping[type[Event], Sequence[DurableHandler]],
    limit: int = BATCH,
) -> dict:
    """Run the durable handlers of the due outbox rows; counts of ``delivered``, ``retrying``,
    ``failed`` and ``pruned`` (delivered rows past ``KEEP_DONE``)."""
    by_name = {event_type.__name__: (event_type, tuple(found)) for event_type, found in handlers.items() if found}
    claimed, pruned = _claim(rt, limit)
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    for row in claimed:
        event_type, runs = by_name.get(row.event, (None, ()))
        try:
            if event_type is None:
                raise LookupError(f"no durable handler for {row.event}")
            evt = event_type(**row.payload)
            for handler in runs:
                handler(rt, evt)
        except Exception as exc:
            counts[_failed(rt, row, exc)] += 1
        else:
            _done(rt, row.id)
            counts["delivered"] += 1
    return {**counts, "pruned": pruned}


def _claim(rt: Runtime, limit: int) -> tuple[list[_Row], int]:
    """The due rows, claimed; and how many delivered rows past ``KEEP_DONE`` were deleted (the same
    write transaction: on SQLite each one waits for the counters' writes)."""
    with rt.uow() as tx:
        now = rt.now()
        pruned = rows_changed(tx.session.execute(delete(OUTBOX).where(OUTBOX.c.done_at < now - KEEP_DONE)))
        due = (
            select(OUTBOX.c.id)
            .where(_PENDING, OUTBOX.c.next_at <= now)
            .order_by(OUTBOX.c.next_at, OUTBOX.c.id)
            .limit(limit)
        )
        if tx.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        claimed = (
            tx.session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(due.scalar_subquery()), _PENDING)
                .values(attempts=OUTBOX.c.attempts + 1, next_at=now + CLAIM_FOR)
                .returning(OUTBOX.c.id, OUTBOX.c.event, OUTBOX.c.payload, OUTBOX.c.attempts)
            )
            .mappings()
            .all()
        )
        tx.commit()
    return sorted((_Row(**r) for r in claimed), key=lambda r: r.id), pruned


class _Row(NamedTuple):
    id: int
    event: str
    payload: dict
    attempts: int


def _done(rt: Runtime, row_id: int) -> None:
    with rt.uow() as tx:
        tx.session.execute(update(OUTBOX).where(OUTBOX.c.id == row_id).values(done_at=rt.now(), last_error=None))
        tx.commit()


def _failed(rt: Runtime, row: _Row, exc: Exception) -> str:
    """Due again after the backoff, or failed after the last attempt: ``retrying`` or ``failed``."""
    error = _where(exc)
    with rt.uow() as tx:
        now = rt.now()
        if row.attempts >= MAX_ATTEMPTS:
            values: dict = {"failed_at": now, "last_error": error}
        else:
            values = {"next_at": now + timedelta(seconds=BACKOFF_S[row.attempts - 1]), "last_error": error}
        tx.session.execute(update(OUTBOX).where(OUTBOX.c.id == row.id).values(**values))
        tx.commit()
    if "failed_at" in values:
        log.error("outbox: %s (row %d) failed after %d attempts, given up: %s", row.event, row.id, row.attempts, error)
        return "failed"
    log.warning(
        "outbox: %s (row %d) failed, attempt %d of %d; again at %s: %s",
        row.event,
        row.id,
        row.attempts,
        MAX_ATTEMPTS,
        values["next_at"].isoformat(),
        error,
    )
    return "retrying"


def _where(exc: Exception) -> str:
    """The exception's type and the line that raised it: enough to find it, and no personal data
    (an exception's text may quote a statement's values, a mobile number among them)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno}"[:200]


def pending(rt: Runtime) -> dict:
    """How many rows wait for delivery, and how many failed for good."""
    with rt.reader() as tx:
        s = tx.session
        waiting = s.execute(select(func.count()).select_from(OUTBOX).where(_PENDING)).scalar_one()
        failed = s.execute(select(func.count()).select_from(OUTBOX).where(OUTBOX.c.failed_at.is_not(None))).scalar_one()
    return {"pending": waiting, "failed": failed}
