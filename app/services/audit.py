"""The audit trail (操作日志): who changed what configuration, when, before and after.

Every change made through the configuration services (organisation, halls and their settings,
services, counters, staff, devices, the floor guide's PIN, a kiosk's printer) writes one entry in
the same transaction as the change, so an entry exists exactly when the change does. Who: the
caller the web layer resolved for the request (``acting_as``), else "system" (the command line,
the scheduler, the demo). Secrets never enter it: a new password or PIN is recorded as changed,
not by value.

Entries are append-only: the application has no way to change or delete one, and the database
refuses it too (triggers on ``audit_entries``, PostgreSQL and SQLite: migration 0009).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..bootstrap import Runtime
from ..domain.errors import Invalid
from ..storage.orm import AuditEntry

SECRET = "••••"  # what a password or PIN change shows instead of the value
ENTITIES = ("region", "city", "hall", "service", "counter", "staff", "device", "sensor", "vip", "media")
PAGE = 200


@dataclass(frozen=True)
class Actor:
    kind: str  # staff | device | system
    id: int | None
    name: str


SYSTEM = Actor("system", None, "system")
_actor: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)


def acting_as(principal) -> None:
    """The web layer, once it knows who calls: changes made from here on (this request's thread)
    are theirs, until ``clear``."""
    _actor.set(SYSTEM if principal is None else Actor(principal.kind, principal.id, principal.name))


def clear() -> None:
    """The request is over: back to "system"."""
    _actor.set(SYSTEM)


def current() -> Actor:
    return _actor.get()


def changed_fields(before: dict | None, after: dict | None) -> list[str]:
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def record(
    s,
    at: datetime,
    action: str,
    entity: str,
    entity_id: int,
    hall_id: int | None,
    before: dict | None,
    after: dict | None,
    secrets: tuple[str, ...] = (),
) -> None:
    """One entry in the caller's transaction; an update that changed nothing records nothing.
    ``secrets``: fields changed whose values are not kept (shown as ``SECRET``)."""
    if before is not None and after is not None:
        before = {**before, **{k: SECRET for k in secrets}}
        after = {**after, **{k: SECRET + " " for k in secrets}}  # differ, so the field shows as changed
    changed = changed_fields(before, after)
    if action == "update" and not changed:
        return
    who = current()
    s.add(
        AuditEntry(
            at=at,
            actor_kind=who.kind,
            actor_id=who.id,
            actor_name=who.name[:100],
            action=action,
            entity=entity,
            entity_id=entity_id,
            hall_id=hall_id,
            before=_plain(before),
            after=_plain(after),
            changed=changed,
        )
    )


def _plain(view: dict | None) -> dict | None:
    """A view as JSON can hold it (dates as text)."""
    if view is None:
        return None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in view.items()}


def list_entries(
    rt: Runtime,
    hall_scope: set[int] | None,
    entity: str | None = None,
    entity_id: int | None = None,
    hall_id: int | None = None,
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = PAGE,
) -> dict:
    """Entries, latest first, filtered; ``hall_scope`` (a manager: their hall) limits to those halls'
    entries. Paging: pass the last entry's id as ``before_id``."""
    if entity is not None and entity not in ENTITIES:
        raise Invalid(f"entity is one of {', '.join(ENTITIES)}", field="entity")
    query = select(AuditEntry)
    if hall_scope is not None:
        query = query.where(AuditEntry.hall_id.in_(sorted(hall_scope)))
    for column, value in (
        (AuditEntry.entity, entity),
        (AuditEntry.entity_id, entity_id),
        (AuditEntry.hall_id, hall_id),
        (AuditEntry.actor_id, actor_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    with rt.reader() as tx:
        rows = tx.session.execute(query.order_by(AuditEntry.id.desc()).limit(limit + 1)).scalars().all()
        entries = [entry_view(e) for e in rows[:limit]]
    return {"entries": entries, "next_before_id": entries[-1]["id"] if len(rows) > limit else None}


def entry_view(e: AuditEntry) -> dict:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "actor": {"kind": e.actor_kind, "id": e.actor_id, "name": e.actor_name},
        "action": e.action,
        "entity": e.entity,
        "entity_id": e.entity_id,
        "hall_id": e.hall_id,
        "changed": list(e.changed or []),
        "before": e.before,
        "after": e.after,
    }
