"""Who is calling: staff (password, then a browser session or a bearer token) and devices (a bearer token).

A staff member's bearer tokens and browser sessions are rows of one table (``ApiToken``; only a
hash of each secret is kept), read on every use: signing out revokes one, a password change or a
deactivation revokes them all (``storage.credentials``), and every process refuses them at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain.errors import Forbidden, Invalid, NotFound, Unauthorized
from ..domain.kiosks import KioskSettings
from ..domain.model import DeviceKind, Role
from ..domain.principal import Principal
from ..domain.printers import PrinterConfig, PrinterPlaces
from ..domain.screens import pin_problem
from ..storage.orm import ApiToken, Counter, Device, Hall, Staff
from . import audit

STAFF_TOKEN_PREFIX = "st_"
SESSION_TOKEN_PREFIX = "ss_"  # a browser session's secret, kept in its signed cookie; never a bearer token
DEVICE_TOKEN_PREFIX = "dv_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(rt: Runtime, password: str) -> str:
    """scrypt by default; tests and benchmarks may set a cheaper method (PASSWORD_HASH_METHOD)."""
    return generate_password_hash(password, method=rt.settings.get("password_hash_method") or "scrypt")


_dummy_hashes: dict[str, str] = {}  # hash method -> the hash of a password nobody has


def _dummy_hash(rt: Runtime) -> str:
    method = rt.settings.get("password_hash_method") or "scrypt"
    if method not in _dummy_hashes:
        _dummy_hashes[method] = hash_password(rt, secrets.token_urlsafe(16))
    return _dummy_hashes[method]


def verify_login(rt: Runtime, username: str, password: str) -> Principal:
    """Check a username and password; the same message for either being wrong.

    An unknown or inactive username costs a password check too (against a hash of a password
    nobody has), so the time of the answer does not tell which usernames exist."""
    with rt.reader() as tx:
        staff = tx.session.execute(select(Staff).where(Staff.username == username)).scalar_one_or_none()
        usable = staff is not None and staff.active
        matches = check_password_hash(
            staff.password_hash if staff is not None and staff.active else _dummy_hash(rt), password
        )
        if not (staff is not None and usable and matches):
            raise Unauthorized("wrong username or password", field="password")
        return _staff_principal(staff)


def issue_api_token(rt: Runtime, staff_id: int) -> str:
    """A new bearer token for a staff member; only its hash is stored."""
    return _issue(rt, staff_id, STAFF_TOKEN_PREFIX)


def start_session(rt: Runtime, staff_id: int) -> str:
    """A new browser session for a staff member: its secret goes in the session cookie, its hash
    in the table of tokens, so the server can end it (sign-out, a password change)."""
    return _issue(rt, staff_id, SESSION_TOKEN_PREFIX)


def _issue(rt: Runtime, staff_id: int, prefix: str) -> str:
    token = prefix + secrets.token_urlsafe(32)
    now = rt.now()
    ttl = timedelta(hours=rt.settings.get("api_token_ttl_hours", 12))
    with rt.uow() as tx:
        tx.session.add(
            ApiToken(
                staff_id=staff_id, token_hash=hash_token(token), created_at=now, expires_at=now + ttl, revoked=False
            )
        )
        tx.commit()
    return token


def revoke_api_token(rt: Runtime, token: str) -> None:
    """Sign out: the bearer token or browser session stops working in every process at once."""
    with rt.uow() as tx:
        row = tx.session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).scalar_one_or_none()
        if row is not None:
            row.revoked = True
        tx.commit()


end_session = revoke_api_token


@dataclass(frozen=True)
class Credential:
    """What a request presents: a bearer token, or the secret of a signed-in browser session."""

    token: str | None = None
    session: str | None = None


# Built once: the statements of every request's authentication (bound parameters, compiled once)
_DEVICES, _STAFF, _TOKENS = Device.__table__.c, Staff.__table__.c, ApiToken.__table__.c
_DEVICE_BY_TOKEN = select(_DEVICES.id, _DEVICES.name, _DEVICES.hall_id, _DEVICES.kind, _DEVICES.counter_id).where(
    _DEVICES.token_hash == bindparam("digest"), _DEVICES.active.is_(True)
)
_STAFF_COLUMNS = (_STAFF.id, _STAFF.name, _STAFF.hall_id, _STAFF.role, _STAFF.region_id)
_STAFF_BY_TOKEN = (
    select(*_STAFF_COLUMNS, _TOKENS.expires_at)
    .join(ApiToken.__table__, _TOKENS.staff_id == _STAFF.id)
    .where(_TOKENS.token_hash == bindparam("digest"), _TOKENS.revoked.is_(False), _STAFF.active.is_(True))
)


def principal_in(rt: Runtime, s, credential: Credential) -> Principal | None:
    """Who presents ``credential``, read in the caller's transaction ``s`` (nothing is kept between
    requests: a revoked token or a deactivated account is refused by every process at once).
    None when the token or session is unknown, expired or revoked, or the account or device is
    inactive. A session's secret works only from its cookie, never as a bearer token."""
    if credential.token is not None:
        if credential.token.startswith(DEVICE_TOKEN_PREFIX):
            row = s.connection().execute(_DEVICE_BY_TOKEN, {"digest": hash_token(credential.token)}).first()
            if row is None:
                return None
            _heard_from(rt, row.id)
            return Principal(
                "device", row.id, row.name, row.hall_id, device_kind=DeviceKind(row.kind), counter_id=row.counter_id
            )
        return None if credential.token.startswith(SESSION_TOKEN_PREFIX) else _staff_in(rt, s, credential.token)
    if credential.session is not None and credential.session.startswith(SESSION_TOKEN_PREFIX):
        return _staff_in(rt, s, credential.session)
    return None


def _staff_in(rt: Runtime, s, secret: str) -> Principal | None:
    row = s.connection().execute(_STAFF_BY_TOKEN, {"digest": hash_token(secret)}).first()
    if row is None or row.expires_at <= rt.now():
        return None
    return _staff_row_principal(row)


def authenticate(rt: Runtime, s, credential: Credential | None) -> Principal:
    """``principal_in``, or 401."""
    principal = principal_in(rt, s, credential) if credential is not None else None
    if principal is None:
        raise Unauthorized(
            "the token is unknown, expired or revoked"
            if credential and credential.token
            else "sign in first: send Authorization: Bearer <token>",
            field="Authorization",
        )
    return principal


def principal_for_token(rt: Runtime, token: str) -> Principal | None:
    """The staff member or device holding ``token``, or None if it is unknown, expired or revoked."""
    with rt.reader() as tx:
        principal = principal_in(rt, tx.session, Credential(token=token))
    write_devices_seen(rt)
    return principal


def _staff_row_principal(row) -> Principal:
    return Principal("staff", row.id, row.name, row.hall_id, role=Role(row.role), region_id=row.region_id)


SEEN_EVERY_S = 60  # a device's last_seen_at is written at most this often per process
ONLINE_WITHIN = timedelta(minutes=3)  # a screen's socket speaks at least every 80 s (live.js watchdog)


def touch_device(rt: Runtime, device_id: int) -> None:
    """Note that a device was heard from (its token used, its screen's socket alive): the
    administrators' device list shows when, and whether it looks healthy."""
    _heard_from(rt, device_id)
    write_devices_seen(rt)


def _heard_from(rt: Runtime, device_id: int) -> None:
    """Remember to write the device's last-seen time (at most once a minute per process); written
    by ``write_devices_seen`` after the request, never inside the transaction that authenticated."""
    last = rt.device_seen.get(device_id)
    if last is None or time.monotonic() - last >= SEEN_EVERY_S:
        rt.device_seen[device_id] = time.monotonic()
        rt.devices_heard.add(device_id)


def write_devices_seen(rt: Runtime) -> None:
    """Write the last-seen time of the devices heard from since the last write (its own transaction)."""
    if not rt.devices_heard:
        return
    heard = sorted(rt.devices_heard)
    rt.devices_heard.difference_update(heard)
    with rt.uow() as tx:
        tx.session.execute(update(Device).where(Device.id.in_(heard)).values(last_seen_at=rt.now()))
        tx.commit()


def device_health(device: dict, now: datetime) -> str:
    """``online`` (heard within 3 minutes), ``silent`` (heard before), ``never`` or ``revoked``."""
    if not device["active"]:
        return "revoked"
    if device["last_seen_at"] is None:
        return "never"
    return "online" if now - datetime.fromisoformat(device["last_seen_at"]) <= ONLINE_WITHIN else "silent"


def principal_for_session(rt: Runtime, secret: str) -> Principal | None:
    """The staff member of a signed-in browser session, or None if it has ended or expired."""
    with rt.reader() as tx:
        return principal_in(rt, tx.session, Credential(session=secret))


def register_device(rt: Runtime, hall_id: int, kind: str, name: str, counter_id: int | None = None) -> dict:
    """Register a kiosk or screen for a hall; the token is returned once and never shown again."""
    token = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with rt.uow() as tx:
        s = tx.session
        if s.get(Hall, hall_id) is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        if counter_id is not None:
            counter = s.get(Counter, counter_id)
            if counter is None or counter.hall_id != hall_id:
                raise NotFound(f"no counter {counter_id} in hall {hall_id}", field="counter_id")
        device = Device(
            hall_id=hall_id,
            kind=DeviceKind(kind).value,
            name=name,
            counter_id=counter_id,
            token_hash=hash_token(token),
            created_at=rt.now(),
            active=True,
        )
        s.add(device)
        s.flush()
        view = device_view(device)
        audit.record(s, rt.now(), "create", "device", device.id, hall_id, None, view)
        tx.commit()
    return {**view, "token": token}


def deactivate_device(rt: Runtime, device_id: int) -> dict:
    """Revoke a device: its token stops working at once (the row stays: history refers to it)."""
    with rt.uow() as tx:
        device = tx.session.get(Device, device_id)
        if device is None:
            raise NotFound(f"no device {device_id}", field="device_id")
        before = device_view(device)
        device.active = False
        view = device_view(device)
        audit.record(tx.session, rt.now(), "update", "device", device_id, device.hall_id, before, view)
        tx.commit()
    return view


def device_view(device: Device) -> dict:
    return {
        "id": device.id,
        "hall_id": device.hall_id,
        "kind": device.kind,
        "name": device.name,
        "counter_id": device.counter_id,
        "active": device.active,
        "created_at": device.created_at.isoformat(),
        "last_seen_at": device.last_seen_at.isoformat() if device.last_seen_at else None,
        "settings": dict(device.settings or {}),
    }


def _staff_principal(staff: Staff) -> Principal:
    return Principal("staff", staff.id, staff.name, staff.hall_id, role=Role(staff.role), region_id=staff.region_id)


# --------------------------------------------------------------------------- the floor guide's PIN

GUIDE_PIN_TRIES = 5  # wrong PINs a kiosk may enter ...
GUIDE_PIN_LOCK_S = 300  # ... before it must wait this long


def set_guide_pin(rt: Runtime, hall_id: int, pin: str | None) -> dict:
    """Set (or with None, remove) the PIN the floor guide types at a kiosk for a priority ticket."""
    if pin is not None and (problem := pin_problem(pin)):
        raise Invalid(problem, field="pin", code="pin_format")
    with rt.uow() as tx:
        hall = tx.session.get(Hall, hall_id)
        if hall is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        had = hall.priority_pin_hash is not None
        hall.priority_pin_hash = hash_password(rt, pin) if pin is not None else None
        audit.record(
            tx.session,
            rt.now(),
            "update",
            "hall",
            hall_id,
            hall_id,
            {"guide_pin": "set" if had else "none"},
            {"guide_pin": "a new PIN" if pin is not None else "none"},
        )  # never the PIN itself
        tx.commit()
    return {"hall_id": hall_id, "priority_pin_set": pin is not None}


def verify_guide_pin(rt: Runtime, hall_id: int, pin: str | None, device_id: int) -> None:
    """A kiosk issues a star, VIP or green-channel ticket only with the floor guide's PIN.

    Wrong PINs are counted per kiosk; after ``GUIDE_PIN_TRIES`` the kiosk is refused until
    ``GUIDE_PIN_LOCK_S`` seconds have passed since the last wrong one, so a PIN cannot be
    guessed at the kiosk. A kiosk with no wrong PIN for that long starts counting afresh.
    """
    outcome = check_guide_pin(rt, hall_id, pin, device_id)
    if outcome != PIN_RIGHT:
        raise Forbidden(_PIN_REFUSALS[outcome], field="guide_pin", code=f"pin_{outcome}")


PIN_RIGHT, PIN_WRONG, PIN_LOCKED, PIN_NONE = "right", "wrong", "locked", "none"
_PIN_REFUSALS = {
    PIN_WRONG: "wrong floor guide PIN",
    PIN_LOCKED: "too many wrong PINs at this kiosk; ask the floor guide to wait 5 minutes",
    PIN_NONE: "this hall has no floor guide PIN: priority tickets come from staff",
}


def check_guide_pin(rt: Runtime, hall_id: int, pin: str | None, device_id: int) -> str:
    """``PIN_RIGHT``, ``PIN_WRONG`` (counted), ``PIN_LOCKED`` (too many wrong ones at this kiosk) or
    ``PIN_NONE`` (the hall has none). The kiosk asks at once, when the guide types it, and again
    with the ticket: both count against the same kiosk."""
    failures = rt.guide_pin_failures  # device id -> (wrong PINs, time of the last one)
    now_s = time.monotonic()
    count, last = failures.get(device_id, (0, 0.0))
    if now_s - last >= GUIDE_PIN_LOCK_S:
        count = 0
    if count >= GUIDE_PIN_TRIES:
        return PIN_LOCKED
    with rt.reader() as tx:
        hall = tx.session.get(Hall, hall_id)
        stored = hall.priority_pin_hash if hall else None
    if stored is None:
        return PIN_NONE
    if not pin or not check_password_hash(stored, pin):
        failures[device_id] = (count + 1, now_s)
        return PIN_WRONG
    failures.pop(device_id, None)
    return PIN_RIGHT


# --------------------------------------------------------------------------- device settings


def device_by_id(rt: Runtime, device_id: int) -> dict:
    """A device with its settings (e.g. the kiosk's printer)."""
    with rt.reader() as tx:
        device = tx.session.get(Device, device_id)
        if device is None:
            raise NotFound(f"no device {device_id}", field="device_id")
        return device_view(device)


def printer_places(rt: Runtime) -> PrinterPlaces:
    """Where the server may print kiosks' tickets (PRINTER_FOLDER, PRINTER_HOSTS; set by
    ``create_app``). A runtime without them prints to no file and no network printer."""
    return rt.settings.get("printers") or PrinterPlaces()


def set_device_printer(rt: Runtime, device_id: int, printer: dict) -> dict:
    """Store a kiosk's ticket printer (validated by the driver; a file or network printer only
    where ``printer_places`` allows); returns the device."""
    try:
        checked = PrinterConfig.from_dict(printer).to_dict()
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        raise Invalid(message or str(exc), field=field if message else "printer") from exc
    if problem := printer_places(rt).problem(checked):
        raise Invalid(problem[1], field=problem[0])
    with rt.uow() as tx:
        device = tx.session.get(Device, device_id)
        if device is None:
            raise NotFound(f"no device {device_id}", field="device_id")
        if device.kind != DeviceKind.KIOSK.value:
            raise Invalid("only a kiosk has a ticket printer", field="device_id")
        before = device_view(device)
        device.settings = {**(device.settings or {}), "printer": checked}
        view = device_view(device)
        audit.record(tx.session, rt.now(), "update", "device", device_id, device.hall_id, before, view)
        tx.commit()
    return view


def kiosk_settings(rt: Runtime, device_id: int) -> dict:
    """A kiosk's own settings, the defaults filled in: elder-friendly mode and idle time (what the
    kiosk's page runs with)."""
    with rt.reader() as tx:
        device = _kiosk(tx.session, device_id)
        return KioskSettings.from_dict((device.settings or {}).get("kiosk")).to_dict()


def set_kiosk_settings(rt: Runtime, device_id: int, elder_mode: bool, idle_s: int) -> dict:
    """Switch a kiosk's elder-friendly mode (适老化) and set its idle time; returns the device. The
    hall's screens hear of it (``HallSettingsChanged``), so the kiosk's open page takes them at once."""
    settings = KioskSettings(elder_mode=elder_mode, idle_s=idle_s)
    if problem := settings.problem():
        raise Invalid(problem[1], field=problem[0])
    with rt.uow() as tx:
        device = _kiosk(tx.session, device_id)
        before = device_view(device)
        device.settings = {**(device.settings or {}), "kiosk": settings.to_dict()}
        view = device_view(device)
        audit.record(tx.session, rt.now(), "update", "device", device_id, device.hall_id, before, view)
        tx.record(ev.HallSettingsChanged(hall_id=device.hall_id))
        tx.commit()
    return view


def _kiosk(s, device_id: int) -> Device:
    device = s.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}", field="device_id")
    if device.kind != DeviceKind.KIOSK.value:
        raise Invalid("only a kiosk has kiosk settings", field="device_id")
    return device
