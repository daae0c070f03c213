"""Who is calling: staff (password, then a session or a bearer token) and devices (a bearer token)."""
from __future__ import annotations

import hashlib
import time
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..bootstrap import Runtime
from ..domain.errors import Forbidden, Invalid, NotFound, Unauthorized
from ..domain.model import DeviceKind, Role
from ..domain.screens import pin_problem
from ..storage.orm import ApiToken, Counter, Device, Hall, Staff
from . import audit

STAFF_TOKEN_PREFIX = "st_"
DEVICE_TOKEN_PREFIX = "dv_"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. Access rules live in ``app/web/access.py``."""

    kind: str  # "staff" or "device"
    id: int
    name: str
    hall_id: int | None
    role: Role | None = None
    device_kind: DeviceKind | None = None
    counter_id: int | None = None
    region_id: int | None = None  # head office of one region (None: the whole company)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "name": self.name, "hall_id": self.hall_id,
                "role": self.role.value if self.role else None,
                "device_kind": self.device_kind.value if self.device_kind else None,
                "counter_id": self.counter_id}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(rt: Runtime, password: str) -> str:
    """scrypt by default; tests and benchmarks may set a cheaper method (PASSWORD_HASH_METHOD)."""
    return generate_password_hash(password, method=rt.settings.get("password_hash_method") or "scrypt")


def verify_login(rt: Runtime, username: str, password: str) -> Principal:
    """Check a username and password; the same message for either being wrong."""
    with rt.reader() as tx:
        staff = tx.session.execute(select(Staff).where(Staff.username == username)).scalar_one_or_none()
        if staff is None or not staff.active or not check_password_hash(staff.password_hash, password):
            raise Unauthorized("wrong username or password", field="password")
        return _staff_principal(staff)


def issue_api_token(rt: Runtime, staff_id: int) -> str:
    """A new bearer token for a staff member; only its hash is stored."""
    token = STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = rt.now()
    ttl = timedelta(hours=rt.settings.get("api_token_ttl_hours", 12))
    with rt.uow() as tx:
        tx.session.add(ApiToken(staff_id=staff_id, token_hash=hash_token(token), created_at=now,
                                expires_at=now + ttl, revoked=False))
        tx.commit()
    return token


def revoke_api_token(rt: Runtime, token: str) -> None:
    with rt.uow() as tx:
        row = tx.session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).scalar_one_or_none()
        if row is not None:
            row.revoked = True
        tx.commit()
    forget_principals(rt)


PRINCIPAL_CACHE_S = 30.0


def principal_for_token(rt: Runtime, token: str) -> Principal | None:
    """The staff member or device holding ``token``, or None if it is unknown, expired or revoked.

    Answers are kept for 30 s per process (every kiosk and console request carries a
    token). Revoking a token or changing a staff account or device in this process
    forgets them at once; another process notices within 30 s.
    """
    digest = hash_token(token)
    cached = rt.principal_cache.get(digest)
    if cached is not None:
        principal, expires_at, kept_until = cached
        if time.monotonic() < kept_until and (expires_at is None or rt.now() < expires_at):
            if principal.kind == "device":
                touch_device(rt, principal.id)
            return principal
    principal, expires_at = _load_principal(rt, token, digest)
    if principal is not None:
        rt.principal_cache[digest] = (principal, expires_at, time.monotonic() + PRINCIPAL_CACHE_S)
        if principal.kind == "device":
            touch_device(rt, principal.id)
    return principal


SEEN_EVERY_S = 60  # a device's last_seen_at is written at most this often per process
ONLINE_WITHIN = timedelta(minutes=3)  # a screen's socket speaks at least every 80 s (live.js watchdog)


def touch_device(rt: Runtime, device_id: int) -> None:
    """Note that a device was heard from (its token used, its screen's socket alive): the
    administrators' device list shows when, and whether it looks healthy."""
    last = rt.device_seen.get(device_id)
    if last is not None and time.monotonic() - last < SEEN_EVERY_S:
        return
    rt.device_seen[device_id] = time.monotonic()
    with rt.uow() as tx:
        tx.session.execute(update(Device).where(Device.id == device_id).values(last_seen_at=rt.now()))
        tx.commit()


def device_health(device: dict, now: datetime) -> str:
    """``online`` (heard within 3 minutes), ``silent`` (heard before), ``never`` or ``revoked``."""
    if not device["active"]:
        return "revoked"
    if device["last_seen_at"] is None:
        return "never"
    return "online" if now - datetime.fromisoformat(device["last_seen_at"]) <= ONLINE_WITHIN else "silent"


def forget_principals(rt: Runtime) -> None:
    """After a change to staff accounts, devices or tokens."""
    rt.principal_cache.clear()


def _load_principal(rt: Runtime, token: str, digest: str):
    with rt.reader() as tx:
        s = tx.session
        if token.startswith(DEVICE_TOKEN_PREFIX):
            device = s.execute(select(Device).where(Device.token_hash == digest)).scalar_one_or_none()
            if device is None or not device.active:
                return None, None
            return Principal("device", device.id, device.name, device.hall_id,
                             device_kind=DeviceKind(device.kind), counter_id=device.counter_id), None
        row = s.execute(
            select(Staff, ApiToken.expires_at, ApiToken.revoked)
            .join(ApiToken, ApiToken.staff_id == Staff.id)
            .where(ApiToken.token_hash == digest)
        ).first()
        if row is None or row.revoked or row.expires_at <= rt.now() or not row.Staff.active:
            return None, None
        return _staff_principal(row.Staff), row.expires_at


def principal_for_staff(rt: Runtime, staff_id: int) -> Principal | None:
    """For a signed-in browser session."""
    with rt.reader() as tx:
        staff = tx.session.get(Staff, staff_id)
        if staff is None or not staff.active:
            return None
        return _staff_principal(staff)


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
        device = Device(hall_id=hall_id, kind=DeviceKind(kind).value, name=name, counter_id=counter_id,
                        token_hash=hash_token(token), created_at=rt.now(), active=True)
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
    forget_principals(rt)
    return view


def device_view(device: Device) -> dict:
    return {"id": device.id, "hall_id": device.hall_id, "kind": device.kind, "name": device.name,
            "counter_id": device.counter_id, "active": device.active,
            "created_at": device.created_at.isoformat(),
            "last_seen_at": device.last_seen_at.isoformat() if device.last_seen_at else None,
            "settings": dict(device.settings or {})}


def _staff_principal(staff: Staff) -> Principal:
    return Principal("staff", staff.id, staff.name, staff.hall_id, role=Role(staff.role), region_id=staff.region_id)


# --------------------------------------------------------------------------- the floor guide's PIN

GUIDE_PIN_TRIES = 5  # wrong PINs a kiosk may enter ...
GUIDE_PIN_LOCK_S = 300  # ... before it must wait this long


def set_guide_pin(rt: Runtime, hall_id: int, pin: str | None) -> dict:
    """Set (or with None, remove) the PIN the floor guide types at a kiosk for a priority ticket."""
    if pin is not None and (problem := pin_problem(pin)):
        raise Invalid(problem, field="pin")
    with rt.uow() as tx:
        hall = tx.session.get(Hall, hall_id)
        if hall is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        had = hall.priority_pin_hash is not None
        hall.priority_pin_hash = hash_password(rt, pin) if pin is not None else None
        audit.record(tx.session, rt.now(), "update", "hall", hall_id, hall_id, {"guide_pin": "set" if had else "none"},
                     {"guide_pin": "a new PIN" if pin is not None else "none"})  # never the PIN itself
        tx.commit()
    return {"hall_id": hall_id, "priority_pin_set": pin is not None}


def verify_guide_pin(rt: Runtime, hall_id: int, pin: str | None, device_id: int) -> None:
    """A kiosk issues a star, VIP or green-channel ticket only with the floor guide's PIN.

    Wrong PINs are counted per kiosk; after ``GUIDE_PIN_TRIES`` the kiosk is refused until
    ``GUIDE_PIN_LOCK_S`` seconds have passed since the last wrong one, so a PIN cannot be
    guessed at the kiosk. A kiosk with no wrong PIN for that long starts counting afresh.
    """
    failures = rt.guide_pin_failures  # device id -> (wrong PINs, time of the last one)
    now_s = time.monotonic()
    count, last = failures.get(device_id, (0, 0.0))
    if now_s - last >= GUIDE_PIN_LOCK_S:
        count = 0
    if count >= GUIDE_PIN_TRIES:
        raise Forbidden("too many wrong PINs at this kiosk; ask the floor guide to wait 5 minutes", field="guide_pin")
    with rt.reader() as tx:
        hall = tx.session.get(Hall, hall_id)
        stored = hall.priority_pin_hash if hall else None
    if stored is None:
        raise Forbidden("this hall has no floor guide PIN: priority tickets come from staff", field="guide_pin")
    if not pin or not check_password_hash(stored, pin):
        failures[device_id] = (count + 1, now_s)
        raise Forbidden("wrong floor guide PIN", field="guide_pin")
    failures.pop(device_id, None)


# --------------------------------------------------------------------------- device settings

def device_by_id(rt: Runtime, device_id: int) -> dict:
    """A device with its settings (e.g. the kiosk's printer)."""
    with rt.reader() as tx:
        device = tx.session.get(Device, device_id)
        if device is None:
            raise NotFound(f"no device {device_id}", field="device_id")
        return device_view(device)


def set_device_printer(rt: Runtime, device_id: int, printer: dict) -> dict:
    """Store a kiosk's ticket printer (validated by the driver); returns the device."""
    from kiosk.printer import PrinterConfig

    try:
        checked = PrinterConfig.from_dict(printer).to_dict()
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        raise Invalid(message or str(exc), field=field if message else "printer") from exc
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
