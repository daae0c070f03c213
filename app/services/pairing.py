"""Pairing a new device (设备配对) without editing files or copying tokens.

1. The new kiosk or display, opened with no token, asks for a code (``request_code``): six digits
   to show big on its screen, and a secret ``claim`` it keeps to itself.
2. An administrator types the code in (``pair``), choosing the hall, a name and, for a counter's
   screen, the counter: the device is registered (``auth.register_device``, audited) and its token
   set aside for the code.
3. The device, polling with its claim (``collect``), receives the token once and keeps it; the
   code is spent. A code lasts ``CODE_MINUTES``; an unknown, expired or spent code is refused.

The code alone never yields a token (the claim is needed, and only its hash is stored), so a code
read off a screen by someone else is of no use to them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from sqlalchemy import delete, select, update

from ..bootstrap import Runtime
from ..domain.errors import Conflict, Invalid, NotFound, TooMany
from ..domain.model import DeviceKind
from ..storage.orm import PairingCode, rows_changed
from . import auth

CODE_MINUTES = 15
PAIRABLE = (DeviceKind.KIOSK.value, DeviceKind.DISPLAY.value)
CODES_PER_CLIENT = 20  # new codes one address may ask for per ``CODES_WINDOW_S`` (a hall's new screens, retries)
CODES_WINDOW_S = 600
KEEP_DAYS = 7  # spent and expired codes are deleted after this


def check_rate(rt: Runtime, client: str) -> None:
    """A public endpoint's guard, per server process: an address asking for more than
    ``CODES_PER_CLIENT`` codes in ``CODES_WINDOW_S`` is told to wait (429). A screen asks once per
    15 minutes while it waits to be paired."""
    now = time.monotonic()
    recent = [t for t in rt.pairing_requests.get(client, ()) if now - t < CODES_WINDOW_S]
    if len(recent) >= CODES_PER_CLIENT:
        rt.pairing_requests[client] = recent
        raise TooMany(
            f"too many pairing codes from this address; try again in {CODES_WINDOW_S // 60} minutes", field="kind"
        )
    rt.pairing_requests[client] = recent + [now]  # the least recent of 10,000 addresses is forgotten


def expire(rt: Runtime) -> dict:
    """The scheduler's tidy-up: an expired code's uncollected token is wiped, and the device it was
    made for (paired but never started) revoked, audited as the system's; codes older than
    ``KEEP_DAYS`` are deleted."""
    now = rt.now()
    with rt.uow() as tx:
        s = tx.session
        stale = (
            s.execute(select(PairingCode).where(PairingCode.expires_at <= now, PairingCode.token.is_not(None)))
            .scalars()
            .all()
        )
        devices = [p.device_id for p in stale if p.device_id is not None]
        for p in stale:
            p.token = None
        deleted = rows_changed(
            s.execute(
                delete(PairingCode)
                .where(PairingCode.expires_at <= now - timedelta(days=KEEP_DAYS))
                .execution_options(synchronize_session=False)
            )
        )
        tx.commit()
    for device_id in devices:
        auth.deactivate_device(rt, device_id)
    return {"wiped": len(stale), "revoked": len(devices), "deleted": deleted}


def _hash(claim: str) -> str:
    return hashlib.sha256(claim.encode()).hexdigest()


def request_code(rt: Runtime, kind: str) -> dict:
    """A fresh code for a new device of ``kind`` (kiosk or display), and its secret claim."""
    if kind not in PAIRABLE:
        raise Invalid(f"kind is one of {', '.join(PAIRABLE)}", field="kind")
    now = rt.now()
    claim = secrets.token_urlsafe(24)
    with rt.uow() as tx:
        s = tx.session
        for _ in range(20):  # six digits: pick one no live code uses
            code = f"{secrets.randbelow(10**6):06d}"
            if (
                s.execute(select(PairingCode.id).where(PairingCode.code == code, PairingCode.expires_at > now)).first()
                is None
            ):
                break
        else:
            raise Conflict("too many devices are pairing right now; try again in a minute", field="kind")
        s.add(
            PairingCode(
                code=code,
                claim_hash=_hash(claim),
                kind=kind,
                created_at=now,
                expires_at=now + timedelta(minutes=CODE_MINUTES),
            )
        )
        tx.commit()
    return {
        "code": code,
        "claim": claim,
        "kind": kind,
        "expires_at": (now + timedelta(minutes=CODE_MINUTES)).isoformat(),
        "poll_after_s": 3,
    }


def _live(s, code: str, now) -> PairingCode:
    found = (
        s.execute(
            select(PairingCode)
            .where(PairingCode.code == code, PairingCode.expires_at > now)
            .order_by(PairingCode.id.desc())
        )
        .scalars()
        .first()
    )
    if found is None:
        raise NotFound(
            "no such code, or it has expired: ask the device for a new one", field="code", code="pairing_code_unknown"
        )
    return found


def pair(rt: Runtime, code: str, hall_id: int, name: str, counter_id: int | None = None) -> dict:
    """Register the device showing ``code`` at ``hall_id``; its token waits for the device to collect it."""
    code = (code or "").replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        raise Invalid("the code is the six digits shown on the new device", field="code", code="pairing_code_format")
    with rt.reader() as tx:
        found = _live(tx.session, code, rt.now())
        if found.device_id is not None:
            raise Conflict("this code has already been used to pair a device", field="code", code="pairing_code_used")
        kind, pairing_id = found.kind, found.id
    if counter_id is not None and kind != DeviceKind.DISPLAY.value:
        raise Invalid("only a display shows one counter; leave the counter empty for a kiosk", field="counter_id")
    if counter_id is not None:
        kind = DeviceKind.COUNTER_DISPLAY.value  # the small screen above one window
    device = auth.register_device(rt, hall_id, kind, name, counter_id)
    with rt.uow() as tx:
        won = rows_changed(
            tx.session.execute(
                update(PairingCode)
                .where(PairingCode.id == pairing_id, PairingCode.device_id.is_(None))
                .values(device_id=device["id"], token=device["token"])
                .execution_options(synchronize_session=False)
            )
        )
        if won != 1:  # two administrators typed the same code at once: the other one won
            tx.session.rollback()
            auth.deactivate_device(rt, device["id"])
            raise Conflict("this code has already been used to pair a device", field="code", code="pairing_code_used")
        tx.commit()
    return {k: v for k, v in device.items() if k != "token"}


def collect(rt: Runtime, code: str, claim: str) -> dict:
    """The device's poll: ``waiting`` until paired, then its token once (``paired``), then ``collected``."""
    now = rt.now()
    with rt.uow() as tx:
        s = tx.session
        found = (
            s.execute(select(PairingCode).where(PairingCode.code == code).order_by(PairingCode.id.desc()).limit(5))
            .scalars()
            .all()
        )
        mine = next((p for p in found if hmac.compare_digest(p.claim_hash, _hash(claim or ""))), None)
        if mine is None:
            raise NotFound("no such code for this device", field="code")
        if mine.token is None:
            if mine.collected_at is not None:
                return {"state": "collected"}
            return {
                "state": "expired" if mine.expires_at <= now else "waiting",
                "expires_at": mine.expires_at.isoformat(),
            }
        token, device_id = mine.token, mine.device_id
        mine.token = None
        mine.collected_at = now
        tx.commit()
    assert device_id is not None  # paired: a device was made with the token
    return {"state": "paired", "token": token, "device": auth.device_by_id(rt, device_id)}
