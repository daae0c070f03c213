"""Every change to a hall's configuration bumps its ``config_version`` in the same transaction.

A hall's configuration (its own settings, its services, its counters and the services each
serves) is read on every ticket and call, and changes a few times a day. Processes keep it
(``services.hall_config``) and compare the version on each use: one primary-key read instead
of loading the hall, its services and its counters.

The rule lives here, once, for every path that changes configuration (the API, the
administration pages, imports, the demo, a counter opened with other services): the ORM
reports what a flush changed, and the hall of each changed row gets ``version + 1``.
A counter opening or closing, or the staff member at it, is live state, not configuration.
"""

from __future__ import annotations

from itertools import chain

from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session

from .orm import Counter, Hall, ServiceType

_COUNTER_CONFIG = ("number", "name", "display_mode", "active", "hall_id", "services")
_HALL_LIVE = ("config_version",)


def _changed(obj, names) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _hall_of_change(obj) -> int | None:
    if isinstance(obj, Hall):
        names = [a.key for a in inspect(Hall).column_attrs if a.key not in _HALL_LIVE]
        return obj.id if _changed(obj, names) else None
    if isinstance(obj, ServiceType):
        return obj.hall_id
    if isinstance(obj, Counter):
        return obj.hall_id if _changed(obj, _COUNTER_CONFIG) else None
    return None


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context, _instances) -> None:
    halls = {_hall_of_change(obj) for obj in chain(session.new, session.dirty, session.deleted)}
    halls.discard(None)
    if halls:
        session.info.setdefault("config_changed", set()).update(halls)


@event.listens_for(Session, "after_flush")
def _bump_versions(session: Session, _context) -> None:
    halls = session.info.pop("config_changed", None)
    if halls:
        session.execute(
            update(Hall)
            .where(Hall.id.in_(sorted(halls)))
            .values(config_version=Hall.config_version + 1)
            .execution_options(synchronize_session=False)
        )
