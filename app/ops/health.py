"""Readiness: can this process do its work now? The database answers, its schema is at the
code's migration, and Redis answers when the deployment has one (``SOCKETIO_MESSAGE_QUEUE``).

Liveness is ``/healthz`` (the process answers; it touches nothing). Readiness is what a proxy
or an orchestrator polls to take a web or live process out of rotation, and what an operator
reads first: each check says ``ok`` or why not, never a password or an address.
"""
from __future__ import annotations

import functools
import threading

from sqlalchemy import text

TIMEOUT_S = 2.0
_redis_clients: dict[str, object] = {}
_redis_lock = threading.Lock()


@functools.cache
def code_revisions() -> frozenset[str]:
    """The migration heads the code expects (read once from ``migrations/``)."""
    from alembic.script import ScriptDirectory

    from ..cli import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def readiness(rt, message_queue: str | None) -> tuple[bool, dict]:
    """(ready, checks): ``database``, ``migrations`` and, with a message queue, ``redis``."""
    checks = {"database": "ok", "migrations": "ok"}
    try:
        with rt.reader() as tx:  # a read transaction: on SQLite it does not take the write lock
            tx.session.execute(text("SELECT 1"))
            checks["migrations"] = _schema(tx.session)
    except Exception as exc:  # noqa: BLE001 - whatever it is, this process cannot work now
        checks["database"] = f"unreachable ({type(exc).__name__})"
        checks["migrations"] = "unknown"
    if message_queue:
        checks["redis"] = _ping(message_queue)
    return all(v == "ok" for v in checks.values()), checks


def _schema(s) -> str:
    wanted = code_revisions()
    try:
        with s.begin_nested():  # PostgreSQL: a missing table must not abort the transaction
            revisions = set(s.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except Exception:  # noqa: BLE001 - no such table: never migrated
        return "no schema: run flask --app app db upgrade"
    if revisions == wanted:
        return "ok"
    return f"the database is at {', '.join(sorted(revisions)) or 'no revision'}, the code wants {', '.join(sorted(wanted))}"


def _ping(url: str) -> str:
    try:
        _redis(url).ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"unreachable ({type(exc).__name__})"


def _redis(url: str):
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            import redis

            client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S,
                                                                socket_connect_timeout=TIMEOUT_S)
        return client
