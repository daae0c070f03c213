"""A lease in the database: which scheduler process runs the jobs.

Two scheduler processes may be started (a deploy overlapping the old one, an operator's
mistake); exactly one acts. The holder renews its lease well inside its lifetime; when
the holder dies the lease lapses and another process takes it over. Works the same on
SQLite and PostgreSQL: one conditional UPDATE, or an INSERT that only one can win.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Runtime
from ..storage.orm import SchedulerLease, rows_changed


def acquire(rt: Runtime, name: str, holder: str, ttl_s: float) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False while another holder's lease runs."""
    now = rt.now()
    expires = now + timedelta(seconds=ttl_s)
    with rt.uow() as tx:
        taken = rows_changed(
            tx.session.execute(
                update(SchedulerLease)
                .where(
                    SchedulerLease.name == name, (SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now)
                )
                .values(holder=holder, expires_at=expires)
            )
        )
        if taken:
            tx.commit()
            return True
        try:
            tx.session.add(SchedulerLease(name=name, holder=holder, expires_at=expires))
            tx.session.flush()
        except IntegrityError:  # it exists and someone else holds it
            return False
        tx.commit()
        return True


def release(rt: Runtime, name: str, holder: str) -> None:
    """Give the lease up at a clean shutdown, so a standby takes over at once."""
    with rt.uow() as tx:
        tx.session.execute(delete(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder))
        tx.commit()
