"""The hall's VIP roster (贵宾名单) and how it, and the green-channel rules, shape a ticket's tier.

A roster number is stored as survey numbers are (cipher text, lookup key, masked form; see
services.protect): pages and the API show it masked, and a ticket's mobile number finds its entry
by the key alone. Entries are never deleted: history refers to them through the audit trail;
``active: false`` takes one off.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Runtime
from ..domain.errors import Conflict, Forbidden, Invalid, NotFound
from ..domain.model import Tier
from ..domain.roster import GreenChannel, member_tier, star_level_problem, tier_for_level
from ..domain.survey import BadMsisdn
from ..storage.orm import Hall, VipMember
from . import audit
from .mobiles import msisdn

FIELDS = ("name", "star_level", "valid_until", "note", "active")


def _vault(rt: Runtime):
    sms = rt.settings.get("sms")
    if sms is None:
        raise RuntimeError("the number vault is not configured (services.surveys.configure)")
    return sms.vault


def member_view(m: VipMember) -> dict:
    return {
        "id": m.id,
        "hall_id": m.hall_id,
        "mobile": m.number_masked,
        "name": m.name,
        "star_level": m.star_level,
        "tier": tier_for_level(m.star_level).value,
        "valid_until": m.valid_until.isoformat() if m.valid_until else None,
        "note": m.note,
        "active": m.active,
    }


def number(raw) -> str:
    """A roster number as stored (E.164 digits, mainland by default); 400 naming ``mobile``."""
    try:
        return msisdn(None if raw is None else str(raw).strip())
    except BadMsisdn as exc:
        raise Invalid(str(exc), field="mobile") from None


def check_fields(data: dict) -> dict:
    """The editable fields, checked and converted (``valid_until`` from text); 400 naming the field."""
    out = {}
    for key, value in data.items():
        if key not in FIELDS:
            raise Invalid(f"unknown field {key!r}", field=key)
        if key == "star_level":
            problem = star_level_problem(value)
            if problem:
                raise Invalid(problem, field="star_level")
        elif key == "valid_until" and isinstance(value, str):
            try:
                value = date.fromisoformat(value) if value.strip() else None
            except ValueError:
                raise Invalid(f"{value!r} is not a date YYYY-MM-DD", field="valid_until", code="date_format") from None
        elif key in ("name", "note") and (not isinstance(value, str) or len(value) > (100 if key == "name" else 200)):
            raise Invalid(f"{key} is text of at most {100 if key == 'name' else 200} characters", field=key)
        elif key == "active" and not isinstance(value, bool):
            raise Invalid("active is true or false", field="active")
        out[key] = value
    return out


def list_members(rt: Runtime, hall_id: int) -> list[dict]:
    with rt.reader() as tx:
        if tx.session.get(Hall, hall_id) is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        rows = tx.session.execute(
            select(VipMember).where(VipMember.hall_id == hall_id).order_by(VipMember.star_level.desc(), VipMember.id)
        ).scalars()
        return [member_view(m) for m in rows]


def reveal_numbers(rt: Runtime, hall_id: int) -> dict[int, str]:
    """Member id → full number, for the roster's export (administrators and the hall's manager)."""
    vault = _vault(rt)
    with rt.reader() as tx:
        rows = tx.session.execute(select(VipMember.id, VipMember.number_cipher).where(VipMember.hall_id == hall_id))
        return {ident: vault.reveal(cipher) for ident, cipher in rows}


def find_member(s, rt: Runtime, hall_id: int, msisdn: str) -> VipMember | None:
    return find_members(s, rt, hall_id, [msisdn]).get(msisdn)


def find_members(s, rt: Runtime, hall_id: int, numbers: list[str], chunk: int = 500) -> dict[str, VipMember]:
    """Number → the hall's roster entry, for many numbers at once (an import): one query per ``chunk``."""
    vault = _vault(rt)
    by_key = {vault.key(n): n for n in numbers}
    keys = sorted(by_key)
    found = {}
    for i in range(0, len(keys), chunk):
        for member in s.execute(
            select(VipMember).where(VipMember.hall_id == hall_id, VipMember.number_key.in_(keys[i : i + chunk]))
        ).scalars():
            found[by_key[member.number_key]] = member
    return found


def protect(rt: Runtime, msisdn: str):
    """The number as stored (cipher, key, masked): done before a write transaction, it costs time."""
    return _vault(rt).protect(msisdn)


def new_member(rt: Runtime, hall_id: int, msisdn: str, fields: dict, protected=None) -> VipMember:
    protected = protected or _vault(rt).protect(msisdn)
    return VipMember(
        hall_id=hall_id,
        number_key=protected.key,
        number_cipher=protected.cipher,
        number_masked=protected.masked,
        name=fields.get("name", ""),
        star_level=fields["star_level"],
        valid_until=fields.get("valid_until"),
        note=fields.get("note", ""),
        active=fields.get("active", True),
    )


def add_member(rt: Runtime, hall_id: int, data: dict) -> dict:
    data = dict(data)
    msisdn = number(data.pop("mobile", None))
    if "star_level" not in data:
        raise Invalid("star_level is required", field="star_level")
    fields = check_fields(data)
    with rt.uow() as tx:
        s = tx.session
        if s.get(Hall, hall_id) is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        if find_member(s, rt, hall_id, msisdn) is not None:
            raise Conflict("this number is already on the hall's roster", field="mobile", code="on_roster_already")
        member = new_member(rt, hall_id, msisdn, fields)
        s.add(member)
        try:
            s.flush()
        except IntegrityError:
            raise Conflict(
                "this number is already on the hall's roster", field="mobile", code="on_roster_already"
            ) from None
        view = member_view(member)
        audit.record(s, rt.now(), "create", "vip", member.id, hall_id, None, view)
        tx.commit()
        return view


def update_member(rt: Runtime, member_id: int, changes: dict) -> dict:
    if "mobile" in changes:
        raise Invalid("a roster entry's number cannot change: add the new number, deactivate the old", field="mobile")
    changes = check_fields(changes)
    with rt.uow() as tx:
        s = tx.session
        member = s.get(VipMember, member_id)
        if member is None:
            raise NotFound(f"no roster entry {member_id}", field="member_id")
        before = member_view(member)
        for key, value in changes.items():
            setattr(member, key, value)
        s.flush()
        view = member_view(member)
        audit.record(s, rt.now(), "update", "vip", member.id, member.hall_id, before, view)
        tx.commit()
        return view


def member_hall(rt: Runtime, member_id: int) -> int:
    with rt.reader() as tx:
        member = tx.session.get(VipMember, member_id)
        if member is None:
            raise NotFound(f"no roster entry {member_id}", field="member_id")
        return member.hall_id


def green_self_declared(rt: Runtime, hall_id: int) -> bool:
    """The kiosk may issue green-channel tickets on the customer's word (no floor guide's PIN)."""
    with rt.reader() as tx:
        hall = tx.session.get(Hall, hall_id)
        return hall is not None and GreenChannel.from_dict(hall.green_channel).self_declare


def ticket_tier(
    rt: Runtime, s, hall_id: int, green: GreenChannel, tier: Tier, mobile: str | None, day: date
) -> tuple[Tier, bool]:
    """The tier a new ticket queues in, and whether the roster gave it. A green-channel ticket where
    the hall has switched the channel off is refused; an ordinary request with a number on the
    roster (active, not lapsed) takes the member's tier; a tier asked for is never lowered."""
    if tier == Tier.GREEN and not green.enabled:
        raise Forbidden("this hall has no green channel", field="tier")
    if tier != Tier.ORDINARY or mobile is None or "sms" not in rt.settings:
        return tier, False
    member = find_member(s, rt, hall_id, number(mobile))
    if member is None:
        return tier, False
    found = member_tier(member.star_level, member.valid_until, member.active, day)
    return found, found != Tier.ORDINARY
