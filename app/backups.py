"""Backups that restore: the database and the keys it cannot be read without, in one archive.

``flask --app app backup PATH`` writes a gzipped tar archive (mode 0600) holding

- ``database.sqlite3``: a consistent copy made with SQLite's online backup API while the
  server keeps running, or ``database.pgdump``: ``pg_dump --format=custom`` of PostgreSQL;
- ``keys.json``: ``SECRET_KEY`` (signs browser sessions) and ``SMS_DATA_KEY`` (encrypts and
  keys the customers' mobile numbers: without it every protected number in the backup is
  unreadable, and the VIP roster can no longer be matched);
- ``manifest.json``: what it is, when, from which schema revision, and how many rows.

``flask --app app restore PATH`` puts it back into the configured database (refusing one that
already holds halls, unless ``--force``) and the keys into the instance folder, unless the
environment sets them (then they must match the archive's: a different key would leave the
restored numbers unreadable).

The archive holds secrets: keep it where the database itself may be kept.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

FORMAT = 1
COUNTED = ("halls", "tickets", "ticket_events", "surveys", "staff", "vip_members")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


def backup(database_url: str, keys: dict[str, str], path: Path, now: datetime) -> dict:
    """Write the archive to ``path``; returns its manifest."""
    url = make_url(database_url)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        if url.get_backend_name() == "sqlite":
            name = "database.sqlite3"
            _sqlite_copy(url.database, work / name)
        elif url.get_backend_name() == "postgresql":
            name = "database.pgdump"
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(work / name),
                  _libpq(database_url)], "pg_dump")
        else:
            raise BackupError(f"no backup for {url.get_backend_name()} databases")
        manifest = {"format": FORMAT, "created_at": now.isoformat(), "database": url.get_backend_name(),
                    "file": name, "schema_revision": _revision(database_url), "rows": _rows(database_url)}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
            tar.add(work / name, arcname=name)
            _add_json(tar, "keys.json", {k: v for k, v in keys.items() if v})
            _add_json(tar, "manifest.json", manifest)
    return manifest


def restore(database_url: str, path: Path, instance: Path, configured_keys: dict[str, str],
            force: bool = False) -> dict:
    """Restore the archive at ``path`` into ``database_url`` and the keys into ``instance``; returns its manifest."""
    url = make_url(database_url)
    with tarfile.open(path, "r:gz") as tar:
        manifest = _read_json(tar, "manifest.json")
        keys = _read_json(tar, "keys.json")
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{path} is not a backup of this product (format {manifest.get('format')!r})")
        if manifest["database"] != url.get_backend_name():
            raise BackupError(f"the backup is of a {manifest['database']} database; DATABASE_URL is "
                              f"{url.get_backend_name()}")
        for name, value in configured_keys.items():
            if value and keys.get(name) and value != keys[name]:
                raise BackupError(f"{name} in the environment differs from the backup's: the restored data "
                                  f"would be unreadable; unset it or set it to the backup's")
        if not force and _holds_halls(database_url):
            raise BackupError("the database already holds halls; restore into an empty one, or use --force")
        with tempfile.TemporaryDirectory() as work:
            tar.extract(manifest["file"], work, filter="data")
            dump = Path(work) / manifest["file"]
            if manifest["database"] == "sqlite":
                _sqlite_copy(str(dump), url.database)
            else:
                _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                      "--dbname", _libpq(database_url), str(dump)], "pg_restore")
    instance.mkdir(parents=True, exist_ok=True)
    for name, file in (("SECRET_KEY", "secret_key"), ("SMS_DATA_KEY", "sms_data_key")):
        if keys.get(name) and not configured_keys.get(name):
            target = instance / file
            target.write_text(keys[name])
            target.chmod(0o600)
    return manifest


def _sqlite_copy(source: str, target: str | Path) -> None:
    """A consistent copy while writers go on (SQLite's online backup API, page by page)."""
    if not Path(source).exists():
        raise BackupError(f"no SQLite database at {source}")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()


def _libpq(database_url: str) -> str:
    """The URL as PostgreSQL's own tools take it (without SQLAlchemy's driver name)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(argv: list[str], tool: str) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-500:]}")


def _revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            if "alembic_version" not in inspect(conn).get_table_names():
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def _rows(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in COUNTED if t in present}
    finally:
        engine.dispose()


def _holds_halls(database_url: str) -> bool:
    return _rows(database_url).get("halls", 0) > 0


def _add_json(tar: tarfile.TarFile, name: str, data: dict) -> None:
    raw = json.dumps(data, ensure_ascii=False, indent=1).encode()
    info = tarfile.TarInfo(name)
    info.size = len(raw)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(raw))


def _read_json(tar: tarfile.TarFile, name: str) -> dict:
    try:
        return json.loads(tar.extractfile(name).read())
    except (KeyError, AttributeError, ValueError):
        raise BackupError(f"the archive has no readable {name}: not a backup of this product") from None
