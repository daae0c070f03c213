"""What the queue's level gauges start from (``ops.metrics.QueueLevels``): a hall's waiting
tickets and open counters, read once, then kept current from the events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select

from ..bootstrap import Runtime
from ..domain.model import TicketState
from ..storage.orm import Counter, Hall, ServiceType, Ticket, ticket_in_state

# A ticket waits on its business day: the scheduler closes what is left of a day within ten
# minutes of its end, so two days back (in any time zone) hold every waiting ticket, and the
# queue's index (hall, day, state, ...) reads only them.
DAYS_BACK = 2

_HALL = select(Hall.code).where(Hall.id == bindparam("hall_id"), Hall.active.is_(True))
_SERVICES = select(ServiceType.id, ServiceType.code).where(ServiceType.hall_id == bindparam("hall_id"))
_WAITING = select(Ticket.id, Ticket.service_id).where(
    Ticket.hall_id == bindparam("hall_id"),
    Ticket.business_day >= bindparam("since"),
    ticket_in_state(TicketState.WAITING.value),
)
_OPEN = select(Counter.id).where(Counter.hall_id == bindparam("hall_id"), Counter.is_open.is_(True))


def hall_ids(rt: Runtime) -> list[int]:
    """The active halls."""
    with rt.reader() as tx:
        return list(tx.session.execute(select(Hall.id).where(Hall.active.is_(True))).scalars())


def hall_levels(rt: Runtime, hall_id: int) -> dict | None:
    """The hall's code, its services' codes, its waiting tickets (id -> service id) and its open
    counters, in one transaction; None if there is no such active hall."""
    with rt.reader() as tx:
        s = tx.session
        code = s.execute(_HALL, {"hall_id": hall_id}).scalar()
        if code is None:
            return None
        since = (rt.now() - timedelta(days=DAYS_BACK)).date()
        return {
            "code": code,
            "services": dict(s.execute(_SERVICES, {"hall_id": hall_id}).all()),
            "waiting": dict(s.execute(_WAITING, {"hall_id": hall_id, "since": since}).all()),
            "open": set(s.execute(_OPEN, {"hall_id": hall_id}).scalars()),
        }
