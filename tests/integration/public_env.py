"""What the remote-ticket and appointment tests share: an app with its SMS gateway (the outbox, read
back by the tests) on a real database with the test's clock, and the texts the outbox "sent"."""
from __future__ import annotations

from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.bootstrap import Runtime, bootstrap
from app.storage.orm import SmsOutboxMessage

from ..conftest import FAST_HASH, Clock
from ..world import World, build_world


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
