"""Backups that restore: ``flask backup`` on a running instance, ``flask restore`` into a fresh one, and
the tickets, the surveys and the customers' protected numbers read back there."""
from __future__ import annotations

import os
import tarfile
import uuid

import pytest
from sqlalchemy import create_engine, select, text

from app import config as settings
from app import create_app
from app import event_handlers
from app.bootstrap import bootstrap
from app.services import queue, surveys
from app.storage.orm import Survey, Ticket

from ..conftest import FAST_HASH, PG_ADMIN_URL
from ..world import build_world

MOBILE = "13800138000"


@pytest.fixture
def target_url(database_url, tmp_path):
    """An empty database of the same kind as the source, for the restore."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"hallq_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_app(url: str, instance, monkeypatch, rt=None):
    monkeypatch.setattr(settings, "INSTANCE_DIR", instance)
    for name in ("SECRET_KEY", "SMS_DATA_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = {"DATABASE_URL": url, "SECRET_KEY": "", "SMS_DATA_KEY": "", "PASSWORD_HASH_METHOD": FAST_HASH}
    return create_app({**config, "RUNTIME": rt} if rt else config)


def served_with_a_survey(rt, world) -> int:
    hall = world.one
    from app.services import config

    config.update_hall(rt, hall.id, {"survey": {"delay_minutes": 0, "quiet_hours": None}})
    ticket = queue.issue_ticket(rt, hall.id, hall.services["A"], mobile=MOBILE)
    queue.open_counter(rt, hall.counters[1], hall.staff["s1"])
    queue.call_next(rt, hall.counters[1])
    queue.finish_service(rt, hall.counters[1])
    event_handlers.deliver(rt)  # its survey
    assert surveys.dispatch(rt)["sent"] == 1
    return ticket["id"]


def test_a_backup_restored_into_a_fresh_instance_reads_back_tickets_surveys_and_numbers(
        database_url, target_url, clock, tmp_path, monkeypatch):
    source_rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH, enforce_opening_hours=False)
    source = make_app(database_url, tmp_path / "source", monkeypatch, source_rt)
    world = build_world(source_rt)
    ticket_id = served_with_a_survey(source_rt, world)
    labels = {t.id: t.label for t in _rows(source_rt, Ticket)}
    archive = tmp_path / "backups" / "hallq-2026-11-23.tar.gz"

    made = source.test_cli_runner().invoke(args=["backup", str(archive)])
    assert made.exit_code == 0, made.output
    assert "tickets" in made.output and oct(archive.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(archive) as tar:
        assert {"manifest.json", "keys.json"} <= set(tar.getnames())
    source_key = (tmp_path / "source" / "sms_data_key").read_text()
    source_rt.engine.dispose()

    target = make_app(target_url, tmp_path / "target", monkeypatch)  # a new machine: new instance, new keys
    assert (tmp_path / "target" / "secret_key").read_text() != (tmp_path / "source" / "secret_key").read_text()
    restored = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert (tmp_path / "target" / "sms_data_key").read_text() == source_key
    assert (tmp_path / "target" / "secret_key").read_text() == (tmp_path / "source" / "secret_key").read_text()

    rt = bootstrap(target_url, clock=clock, password_hash_method=FAST_HASH)
    try:
        surveys.configure(rt, {"SMS_GATEWAY": "outbox"}, tmp_path / "target")  # the key restored beside the data
        assert {t.id: t.label for t in _rows(rt, Ticket)} == labels
        [survey] = _rows(rt, Survey)
        assert survey.ticket_id == ticket_id and survey.number_masked == "138****8000"
        assert rt.settings["sms"].vault.reveal(survey.number_cipher) == "86" + MOBILE  # kept in E.164 digits
        again = queue.issue_ticket(rt, world.one.id, world.one.services["A"])  # and the queue goes on
        assert again["label"] == "A002"
    finally:
        rt.engine.dispose()


def test_a_restore_refuses_a_database_that_already_holds_halls_and_a_key_that_differs(
        database_url, clock, tmp_path, monkeypatch):
    rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    app = make_app(database_url, tmp_path / "instance", monkeypatch, rt)
    build_world(rt)
    archive = tmp_path / "backup.tar.gz"
    assert app.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code == 0

    refused = app.test_cli_runner().invoke(args=["restore", str(archive)])
    assert refused.exit_code != 0 and "already holds halls" in refused.output

    monkeypatch.setenv("SMS_DATA_KEY", "another-key-that-would-leave-numbers-unreadable")
    refused = app.test_cli_runner().invoke(args=["restore", "--force", str(archive)])
    assert refused.exit_code != 0 and "SMS_DATA_KEY" in refused.output
    rt.engine.dispose()


def _rows(rt, model) -> list:
    """The table's rows as plain records (read inside the transaction)."""
    with rt.reader() as tx:
        return list(tx.session.execute(select(model.__table__)).all())


def test_something_that_is_not_a_backup_is_refused_naming_why(sqlite_url, tmp_path, monkeypatch):
    app = make_app(sqlite_url, tmp_path / "instance", monkeypatch)
    junk = tmp_path / "junk.tar.gz"
    with tarfile.open(junk, "w:gz") as tar:
        tar.add(os.devnull, arcname="hello.txt")
    refused = app.test_cli_runner().invoke(args=["restore", str(junk)])
    assert refused.exit_code != 0 and "manifest.json" in refused.output
