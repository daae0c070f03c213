"""What the remote-ticket and appointment tests share: an app with its SMS gateway (the outbox, read
back by the tests) on a real database with the test's clock, and the texts the outbox "sent"."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.bootstrap import Runtime, bootstrap
from app.storage.orm import SmsOutboxMessage

from ..conftest import FAST_HASH, Clock
from ..world import World, build_world

THREADS_TIMEOUT_S = 60


@dataclass
class Env:
    rt: Runtime
    world: World
    clock: Clock
    app: object

    @property
    def client(self) -> FlaskClient:
        return self.app.test_client()


def make_env(database_url: str, clock: Clock) -> Env:
    """The app is made first: it sets up the SMS gateway. Dispose of ``env.rt.engine`` after."""
    rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt,
                      "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef"})
    return Env(rt, build_world(rt), clock, app)


def outbox(rt) -> list[str]:
    """The texts the outbox gateway "sent", oldest first."""
    with rt.reader() as tx:
        return list(tx.session.execute(select(SmsOutboxMessage.text).order_by(SmsOutboxMessage.id)).scalars())


def all_at_once(n: int, action) -> list:
    """``action(i)`` in ``n`` threads released together; their results (or exceptions) in order."""
    barrier = threading.Barrier(n, timeout=THREADS_TIMEOUT_S)
    outcomes: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = action(i)
        except BaseException as exc:  # noqa: BLE001 - examined by the test
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(THREADS_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return outcomes
