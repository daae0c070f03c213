"""Bulk import and export of a hall's staff, counters and VIP roster (批量导入导出).

``plan`` reads a file and says what each row would do, writing nothing; ``apply`` reads the same
file again (a plan sent back by a browser is never trusted), plans it against the database inside
the write transaction and stores every create and update there, each with its audit entry, or
nothing. ``export`` and ``template`` write files with the columns the import reads.

Staff are only ever imported into the hall the import is for: a username that belongs to
another hall's staff, or to a head-office or admin account, is rejected, never moved. The
reading, checking and comparing is ``domain.imports``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Runtime
from ..domain import imports
from ..domain.errors import Conflict, Invalid, NotFound
from ..storage.orm import Counter, Hall, ServiceType, Staff, VipMember
from . import audit, auth, config, import_files, mobiles, roster

ENTITY = {"staff": "staff", "counters": "counter", "vip": "vip"}
CHUNK = 500  # keys per IN (...) query
HASH_THREADS = min(4, os.cpu_count() or 1)  # a staff file's passwords are hashed this many at a time


@dataclass
class _Stored:
    """What exists for the file's keys: key → fields as ``domain.imports`` compares them, and
    key → the row itself (to update); the hall's services by prefix (counters)."""

    fields: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)
    services: dict[str, ServiceType] = field(default_factory=dict)
    prefixes: frozenset[str] = frozenset()


def plan(rt: Runtime, hall_id: int, kind: str, filename: str, content: bytes, manager_only: bool = False) -> dict:
    """A dry run: for each data row what importing the file would do, and why a row is rejected."""
    entries, ignored = _read(kind, filename, content)
    with rt.reader() as tx:
        s = tx.session
        _hall(s, hall_id)
        stored = _load(s, rt, hall_id, kind, entries)
        lines = imports.plan_lines(kind, entries, stored.fields, _rules(hall_id, manager_only, stored))
    return imports.summary(kind, lines, ignored)


def apply(
    rt: Runtime,
    hall_id: int,
    kind: str,
    filename: str,
    content: bytes,
    only_valid: bool = False,
    manager_only: bool = False,
) -> dict:
    """Store the file's creates and updates in one transaction. Rejected rows refuse the whole
    file unless ``only_valid``, when they are skipped."""
    entries, _ = _read(kind, filename, content)
    # before the transaction, which holds SQLite's one write lock: a password hash takes 0.14 s,
    # encrypting a number a little; inside it only the lookups and one batch of writes
    prepared = _prepare(rt, kind, entries)
    try:
        with rt.uow() as tx:
            s = tx.session
            _hall(s, hall_id)
            stored = _load(s, rt, hall_id, kind, entries)
            lines = imports.plan_lines(kind, entries, stored.fields, _rules(hall_id, manager_only, stored))
            rejected = sum(1 for line in lines if line.action == "reject")
            if rejected and not only_valid:
                raise Invalid(
                    f"the file has {rejected} rejected rows; fix them or apply the valid rows only", field="file"
                )
            now = rt.now()
            created = []
            for line, entry in zip(lines, entries):
                if line.action == "create":
                    created.append(
                        _create(s, rt, hall_id, kind, entry.key, line.values, stored, prepared.get(line.line))
                    )
                elif line.action == "update":
                    _update(
                        s, rt, now, hall_id, kind, stored.rows[entry.key], line.values, stored, prepared.get(line.line)
                    )
            s.flush()  # the new rows in one batch: their ids for the audit entries
            view = VIEWS[kind]
            for row in created:
                audit.record(s, now, "create", ENTITY[kind], row.id, hall_id, None, view(row))
            tx.commit()
    except IntegrityError:
        raise Conflict("another change to these rows came first; nothing was stored, try again", field="file") from None
    counts = {action: sum(1 for line in lines if line.action == action) for action in imports.ACTIONS}
    return {
        "created": counts["create"],
        "updated": counts["update"],
        "unchanged": counts["unchanged"],
        "skipped": counts["reject"],
    }


def export(rt: Runtime, hall_id: int, kind: str, fmt: str) -> tuple[bytes, str, str]:
    """The hall's staff (never a password), counters or VIP roster (full numbers) as a file the
    import reads back unchanged: (content, file name, mimetype)."""
    _check_kind(kind)
    _check_format(fmt)
    with rt.reader() as tx:
        s = tx.session
        hall = _hall(s, hall_id)
        code = hall.code
        found: Any
        if kind == "staff":
            found = s.execute(select(Staff).where(Staff.hall_id == hall_id).order_by(Staff.username)).scalars()
            records = [_staff_fields(x) for x in found]
        elif kind == "counters":
            found = s.execute(select(Counter).where(Counter.hall_id == hall_id).order_by(Counter.number)).scalars()
            records = [_counter_fields(x) for x in found]
        else:
            found = s.execute(
                select(VipMember)
                .where(VipMember.hall_id == hall_id)
                .order_by(VipMember.star_level.desc(), VipMember.id)
            ).scalars()
            records = [{"id": x.id, **_member_fields(x)} for x in found]
    if kind == "vip":
        numbers = roster.reveal_numbers(rt, hall_id)
        records = [{**r, "mobile": _national(numbers[r.pop("id")])} for r in records if r["id"] in numbers]
    return import_files.write_table(kind, fmt, records), f"{code}-{kind}.{fmt}", import_files.MIMETYPES[fmt]


def template(kind: str, fmt: str) -> tuple[bytes, str, str]:
    """An empty file to start from: the headers and one example row."""
    _check_kind(kind)
    _check_format(fmt)
    return (
        import_files.write_table(kind, fmt, [imports.EXAMPLES[kind]]),
        f"{kind}-template.{fmt}",
        import_files.MIMETYPES[fmt],
    )


# --------------------------------------------------------------------------- reading and what exists


def _read(kind: str, filename: str, content: bytes) -> tuple[list[imports.Entry], list[str]]:
    _check_kind(kind)
    rows = import_files.read_table(filename, content, kind)
    if not rows:
        raise Invalid("the file has no rows under its header", field="file")
    return imports.read_entries(kind, rows, mobiles.msisdn), imports.ignored_columns(kind, rows)


def _load(s, rt: Runtime, hall_id: int, kind: str, entries: list[imports.Entry]) -> _Stored:
    stored = _Stored()
    keys = sorted({e.key for e in entries if e.key is not None})
    if kind == "staff":
        for i in range(0, len(keys), CHUNK):
            for staff in s.execute(select(Staff).where(Staff.username.in_(keys[i : i + CHUNK]))).scalars():
                stored.rows[staff.username] = staff
                stored.fields[staff.username] = {**_staff_fields(staff), "hall_id": staff.hall_id}
    elif kind == "counters":
        services = s.execute(select(ServiceType).where(ServiceType.hall_id == hall_id)).scalars().all()
        stored.services = {x.prefix: x for x in services}
        stored.prefixes = frozenset(x.prefix for x in services if x.active)
        for counter in s.execute(select(Counter).where(Counter.hall_id == hall_id)).scalars():
            stored.rows[counter.number] = counter
            stored.fields[counter.number] = _counter_fields(counter)
    else:
        for msisdn, member in roster.find_members(s, rt, hall_id, keys, CHUNK).items():
            stored.rows[msisdn] = member
            stored.fields[msisdn] = _member_fields(member)
    return stored


def _rules(hall_id: int, manager_only: bool, stored: _Stored) -> imports.Rules:
    return imports.Rules(hall_id=hall_id, manager_only=manager_only, prefixes=stored.prefixes)


def _staff_fields(x: Staff) -> dict:
    return {
        "username": x.username,
        "name": x.name,
        "staff_number": x.staff_number,
        "role": x.role,
        "email": x.email,
        "active": x.active,
    }


def _counter_fields(x: Counter) -> dict:
    return {
        "number": x.number,
        "name": x.name,
        "services": tuple(sorted(s.prefix for s in x.services)),
        "display_mode": x.display_mode,
        "active": x.active,
    }


def _member_fields(x: VipMember) -> dict:
    return {
        "name": x.name,
        "star_level": x.star_level,
        "valid_until": x.valid_until,
        "note": x.note,
        "active": x.active,
    }


def _national(msisdn: str) -> str:
    """A mainland number as people write it (13800138000); others with their "+"."""
    return msisdn[2:] if msisdn.startswith("86") and len(msisdn) == 13 else "+" + msisdn


def _prepare(rt: Runtime, kind: str, entries: list[imports.Entry]) -> dict:
    """Line → what is slow to make for each readable row: the hash of a staff row's password, a
    roster number's protected form."""
    if kind == "staff":
        # scrypt releases the GIL: hashed side by side on the machine's cores (each holds 32 MiB)
        given = [e for e in entries if "password" in e.values and not e.problems]
        with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:
            hashes = pool.map(lambda e: auth.hash_password(rt, e.values["password"]), given)
            return {e.line: h for e, h in zip(given, hashes)}
    if kind == "vip":
        return {e.line: roster.protect(rt, e.key) for e in entries if e.key is not None and not e.problems}
    return {}


# --------------------------------------------------------------------------- writing


def _create(s, rt: Runtime, hall_id: int, kind: str, key, values: dict, stored: _Stored, prepared):
    """A new row, added to the session (flushed with the others, then audited)."""
    row: Any
    if kind == "staff":
        row = Staff(
            username=key,
            name=values["name"],
            staff_number=values["staff_number"],
            email=values["email"],
            role=values["role"],
            hall_id=hall_id,
            active=values["active"],
            password_hash=prepared or auth.hash_password(rt, values["password"]),
        )
    elif kind == "counters":
        row = Counter(
            hall_id=hall_id,
            number=key,
            name=values["name"],
            is_open=False,
            display_mode=values["display_mode"],
            active=values["active"],
        )
        row.services = [stored.services[p] for p in values["services"]]
    else:
        row = roster.new_member(rt, hall_id, key, values, prepared)
    s.add(row)
    return row


VIEWS: dict[str, Callable[[Any], dict]] = {
    "staff": config.staff_view,
    "counters": config.counter_view,
    "vip": roster.member_view,
}


def _update(s, rt: Runtime, now, hall_id: int, kind: str, row, values: dict, stored: _Stored, prepared) -> None:
    """Change a stored row and audit it (``prepared``: a staff row's new password hash)."""
    view = VIEWS[kind]
    before = view(row)
    secrets: tuple[str, ...] = ()
    for name, value in values.items():
        if name == "password":
            row.password_hash = prepared or auth.hash_password(rt, value)
            secrets = ("password",)
        elif name == "services":
            row.services = [stored.services[p] for p in value]
        else:
            setattr(row, name, value)
    audit.record(s, now, "update", ENTITY[kind], row.id, hall_id, before, view(row), secrets)


# --------------------------------------------------------------------------- checks


def _hall(s, hall_id: int) -> Hall:
    hall = s.get(Hall, hall_id)
    if hall is None:
        raise NotFound(f"no hall {hall_id}", field="hall_id")
    return hall


def _check_kind(kind: str) -> None:
    if kind not in imports.KINDS:
        raise Invalid(f"kind is one of {', '.join(imports.KINDS)}", field="kind")


def _check_format(fmt: str) -> None:
    if fmt not in imports.FORMATS:
        raise Invalid(f"format is one of {', '.join(imports.FORMATS)}", field="format")
