"""Fixtures: real databases made by the real migrations, a settable clock, a small hall.

SQLite: the migrated schema is built once per run and copied for each test.
PostgreSQL: one database per run (``hallq_test_<pid>``), migrated once, emptied
between tests. PostgreSQL must be running (``.ci/run`` starts it); tests that need
it fail, not skip, when it is down.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.bootstrap import bootstrap
from app.cli import migrate
from app.storage.orm import Base

from .world import World, build_world

FAST_HASH = "pbkdf2:sha256:1000"  # the real scrypt costs 0.14 s a password
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class Clock:
    """A clock the test moves by hand; starts on a Monday 10:00 in Shanghai."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path):
    path = tmp_path / "hallq.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def pg_database():
    name = f"hallq_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_database):
    engine = create_engine(pg_database)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """Runs the test on both databases."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def rt(sqlite_url, clock):
    runtime = bootstrap(sqlite_url, clock=clock, password_hash_method=FAST_HASH)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def world(rt) -> World:
    return build_world(rt)


@pytest.fixture
def app(rt, tmp_path):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt,
                       "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef", "MEDIA_FOLDER": str(tmp_path / "media")})


@pytest.fixture
def client(app):
    return app.test_client()
