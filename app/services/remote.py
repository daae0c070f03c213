"""Remote tickets (远程取号): the public page per hall, one-time SMS codes, joining from a phone,
checking in at the kiosk, and releasing tickets whose customer never came (domain.remote has
the rules).

A customer proves their mobile number with a code sent through the same SMS gateway as the
surveys, and gets an ordinary ticket in state ``remote``: it keeps its place in line from the
moment it was taken, but no counter calls it until the customer checks in at the kiosk (by
scanning the ticket's QR code on their phone, or typing their number and the check-in code of
the confirmation SMS). Mobile numbers, codes and client addresses are stored only as keyed
hashes (services.protect), except the ticket's own number, kept for its survey as every
ticket's is.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import select, text, update

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain import policy as rules
from ..domain.errors import Conflict, Invalid, NotFound, TooMany, Unavailable
from ..domain.hours import business_day, local_time
from ..domain.model import Action, Channel, TicketState, Tier
from ..domain.remote import (
    BOOK,
    CHECK_IN,
    CODE_LIFETIME,
    CODE_TRIES,
    JOIN,
    RESEND_AFTER,
    check_in_deadline,
    clean_code,
    closing_time,
    code_refusal,
    expired,
    new_code,
)
from ..domain.survey import mask_msisdn
from ..sms.gateway import OutgoingSms
from ..storage.orm import Hall, MobileCode, Ticket, rows_changed, table, ticket_in_state
from . import mobiles, notices, queue, roster, surveys
from .hall_config import HallConfig, hall_config

TICKETS = table(Ticket)
CODES = table(MobileCode)
REMOTE = TicketState.REMOTE.value
STILL_OURS = [TicketState.REMOTE.value, TicketState.WAITING.value, TicketState.CALLED.value, TicketState.SERVING.value]
REFUSALS = {
    "resend_too_soon": "a code was just sent to this number: wait {s} seconds before asking again",
    "number_limit": "too many codes for this number: try again in {s} seconds",
    "address_limit": "too many codes from this address: try again in {s} seconds",
}


# --------------------------------------------------------------------------- the hall's public page


def hall_by_code(rt: Runtime, code: str) -> int:
    """The id of the active hall with this code (the public page's address); 404 otherwise."""
    with rt.reader() as tx:
        hall_id = tx.session.execute(select(Hall.id).where(Hall.code == code, Hall.active.is_(True))).scalar()
    if hall_id is None:
        raise NotFound(f"no hall {code!r}", field="hall_code")
    return hall_id


def public_hall(rt: Runtime, hall_id: int) -> dict:
    """What anyone may see of a hall before coming: whether it is open, takes remote tickets and
    appointments (how far ahead, the no-show policy), and per open service the people waiting and
    the estimated wait. Nothing about staff."""
    snap = queue.hall_snapshot(rt, hall_id)
    hall = snap["hall"]
    remote = hall["remote_queue"]
    with rt.reader() as tx:
        conf = hall_config(rt, tx.session, hall_id)
    booking = conf.booking
    return {
        "hall": {
            key: hall[key]
            for key in ("id", "code", "name_zh", "name_en", "timezone", "open_now", "issuing", "opens_at")
        },
        "remote": {
            "enabled": remote["enabled"],
            "check_in_minutes": remote["check_in_minutes"],
            "taking": remote["enabled"] and hall["issuing"],
        },
        "booking": {
            "enabled": booking.enabled,
            "horizon_days": booking.horizon_days,
            "slot_minutes": booking.slot_minutes,
            "today": snap["business_day"],
            "policy": booking.describe(),
        },
        "at": snap["at"],
        "services": [
            {
                key: svc[key]
                for key in ("id", "prefix", "name_zh", "name_en", "waiting", "open_counters", "estimated_wait_s")
            }
            for svc in snap["services"]
        ],
    }


# --------------------------------------------------------------------------- one-time codes


def check_mobile(mobile: str | None) -> str:
    """A mainland mobile number (11 digits, +86 optional); 422 naming ``mobile`` otherwise."""
    number = mobiles.mainland_mobile(mobile) if mobile else None
    if number is None:
        raise Invalid(
            "the mobile number is 11 digits starting with 1, e.g. 13800138000", field="mobile", code="mobile_format"
        )
    return number


def _taking(rt: Runtime, conf: HallConfig, now: datetime) -> None:
    """409 unless the hall takes remote tickets now: switched on, and open for tickets."""
    if not conf.remote.enabled:
        raise Conflict(
            f"{conf.name_zh} does not take remote tickets; take a ticket at the kiosk",
            field="hall_id",
            code="remote_off",
        )
    queue.refuse_if_closed(rt, conf, now, business_day(now, conf.zone))


class NumberKeys:
    """Keyed hashes (SMS_DATA_KEY) of what a code is tied to: never a number or a code in plain."""

    def __init__(self, rt: Runtime, mobile: str) -> None:
        self.vault = surveys.setup(rt).vault
        self.msisdn = "86" + mobile
        self.number = self.vault.key(self.msisdn)

    def code(self, purpose: str, code: str) -> str:
        return self.vault.key(f"code:{purpose}:{self.number}:{code}")

    def address(self, address: str | None) -> str | None:
        return self.vault.key(f"address:{address}") if address else None


def store_code(
    s,
    keys: NumberKeys,
    purpose: str,
    code: str,
    hall_id: int,
    now: datetime,
    expires_at: datetime,
    *,
    address_key: str | None = None,
    ticket_id: int | None = None,
    appointment_id: int | None = None,
) -> int:
    """A one-time code, stored hashed and tied to the number (and to what it checks in, if anything); its id."""
    return s.execute(
        CODES.insert()
        .values(
            hall_id=hall_id,
            purpose=purpose,
            number_key=keys.number,
            address_key=address_key,
            code_hash=keys.code(purpose, code),
            created_at=now,
            expires_at=expires_at,
            attempts=0,
            ticket_id=ticket_id,
            appointment_id=appointment_id,
        )
        .returning(CODES.c.id)
    ).scalar_one()


def _serialise(tx, key: str) -> None:
    """PostgreSQL: one transaction at a time per number (codes counted and issued, or a code tried);
    SQLite's write transactions are serial already."""
    if tx.dialect == "postgresql":
        tx.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def send_code(rt: Runtime, hall_id: int, mobile: str | None, address: str | None, purpose: str = JOIN) -> dict:
    """Send a one-time code to prove a mobile number before taking a remote ticket (``purpose``
    join) or booking an appointment (book).

    At most one a minute and a few an hour to a number, and so many an hour from one client
    address (the hall's settings); a code lives ten minutes. The code is stored hashed, and
    sent after commit: if the gateway fails, the code is marked unsent and the answer is 503.
    """
    mobile = check_mobile(mobile)
    keys = NumberKeys(rt, mobile)
    address_key = keys.address(address)
    with rt.uow() as tx:
        s = tx.session
        conf = hall_config(rt, s, hall_id)
        now = rt.now()
        if purpose == BOOK:
            if not conf.booking.enabled:
                raise Conflict(
                    f"{conf.name_zh} takes no appointments; take a ticket at the hall",
                    field="hall_id",
                    code="booking_off",
                )
        else:
            _taking(rt, conf, now)
        _serialise(tx, keys.number)
        since = now - CODE_LIFETIME * 6  # the limits look back an hour, over both kinds of code
        asked = CODES.c.purpose.in_([JOIN, BOOK])
        to_number = list(
            s.execute(
                select(CODES.c.created_at).where(CODES.c.number_key == keys.number, asked, CODES.c.created_at > since)
            ).scalars()
        )
        from_address = (
            list(
                s.execute(
                    select(CODES.c.created_at).where(
                        CODES.c.address_key == address_key, asked, CODES.c.created_at > since
                    )
                ).scalars()
            )
            if address_key
            else []
        )
        refusal = code_refusal(now, to_number, from_address, conf.remote)
        if refusal is not None:
            raise TooMany(
                REFUSALS[refusal.reason].format(s=refusal.retry_after_s),
                field="mobile",
                code=refusal.reason,
                retry_after_s=refusal.retry_after_s,
            )
        code = new_code()
        code_id = store_code(s, keys, purpose, code, hall_id, now, now + CODE_LIFETIME, address_key=address_key)
        tx.commit()
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    if purpose == BOOK:
        message = (
            f"【{conf.name_zh}】预约验证码 {code}，{minutes}分钟内有效，请勿告诉他人。"
            f"Your code for an appointment: {code} (valid {minutes} min)."
        )
    else:
        message = (
            f"【{conf.name_zh}】远程取号验证码 {code}，{minutes}分钟内有效，请勿告诉他人。"
            f"Your code for a remote ticket: {code} (valid {minutes} min)."
        )
    _send(rt, code_id, OutgoingSms(to=keys.msisdn, text=message, reference=f"code-{code_id}"), required=True)
    return {
        "sent": True,
        "mobile_masked": mask_msisdn(keys.msisdn),
        "expires_at": (now + CODE_LIFETIME).isoformat(),
        "resend_after_s": int(RESEND_AFTER.total_seconds()),
    }


def _send(rt: Runtime, code_id: int, message: OutgoingSms, required: bool) -> bool:
    """Hand one message to the gateway; a failure is kept on the code (no number in the log).
    ``required``: the customer cannot go on without it, so a failure is 503."""
    problem = notices.send_sms(rt, message, f"code {code_id}")
    if problem is None:
        return True
    with rt.uow() as tx:
        tx.session.execute(update(CODES).where(CODES.c.id == code_id).values(send_error=problem))
        tx.commit()
    if required:
        raise Unavailable(
            "the SMS could not be sent just now; try again in a minute", field="mobile", code="sms_not_sent"
        )
    return False


def try_code(tx, keys: NumberKeys, purpose: str, hall_id: int, code: str, now: datetime):
    """The newest live code of this purpose for the number at the hall, if ``code`` is it; a wrong
    code counts a try (committed), and after CODE_TRIES the code is dead whatever is typed."""
    s = tx.session
    _serialise(tx, keys.number)
    mine = [CODES.c.number_key == keys.number, CODES.c.hall_id == hall_id, CODES.c.purpose == purpose]
    if purpose != CHECK_IN:  # a join or book code is good once, for minutes, and only if it went out
        mine += [CODES.c.used_at.is_(None), CODES.c.send_error.is_(None), CODES.c.expires_at > now]
    # a check-in code stays with its ticket: checked in already, released or late, the ticket says so
    rows = s.execute(
        select(CODES).where(*mine).order_by(CODES.c.id.desc()).limit(1 if purpose != CHECK_IN else 20)
    ).all()
    if purpose == CHECK_IN:  # a number may hold several (a remote ticket, appointments): the one typed
        given = keys.code(purpose, code)
        match = next((r for r in rows if hmac.compare_digest(r.code_hash, given)), None)
        if match is not None and match.attempts < CODE_TRIES:
            return match
    row = rows[0] if rows else None  # wrong tries count against the newest
    if row is None:
        if purpose != CHECK_IN:
            raise Invalid(
                "there is no valid code for this number: ask for a new one", field="code", code="code_expired"
            )
        raise NotFound(
            "no remote ticket waits for check-in with this number here", field="mobile", code="no_remote_ticket"
        )
    if row.attempts >= CODE_TRIES:
        raise TooMany(
            "too many wrong codes for this number: ask for a new one"
            if purpose != CHECK_IN
            else "too many wrong codes: scan the QR code on your phone or ask the floor guide",
            field="code",
            code="code_locked",
        )
    if not hmac.compare_digest(row.code_hash, keys.code(purpose, code)):
        s.execute(update(CODES).where(CODES.c.id == row.id).values(attempts=CODES.c.attempts + 1))
        tx.commit()
        left = CODE_TRIES - row.attempts - 1
        raise Invalid(f"the code is wrong ({left} tries left)", field="code", code="code_wrong", tries_left=left)
    return row


# --------------------------------------------------------------------------- joining from the phone


def join(rt: Runtime, hall_id: int, service_id: int, mobile: str | None, code: str | None) -> dict:
    """Take a ticket from the phone with the code just sent to ``mobile``.

    The ticket keeps its place from now and waits for check-in until the hall's window ends (or
    the hall closes). One open remote ticket per number and hall. A VIP on the hall's roster
    gets their tier, the number being proven. The confirmation SMS carries the check-in code.
    """
    mobile = check_mobile(mobile)
    code = clean_code(code)
    keys = NumberKeys(rt, mobile)
    with rt.uow() as tx:
        s = tx.session
        conf = hall_config(rt, s, hall_id)
        service = conf.service(service_id)
        now = rt.now()
        _taking(rt, conf, now)
        day = business_day(now, conf.zone)
        row = try_code(tx, keys, JOIN, hall_id, code, now)
        held = s.execute(
            select(TICKETS.c.label).where(
                TICKETS.c.hall_id == hall_id,
                TICKETS.c.business_day == day,
                TICKETS.c.mobile == mobile,
                TICKETS.c.channel == Channel.REMOTE.value,
                ticket_in_state(*STILL_OURS),
            )
        ).scalar()
        if held is not None:
            raise Conflict(
                f"this number already has ticket {held} here today",
                field="mobile",
                code="remote_ticket_held",
                label=held,
            )
        used = s.execute(update(CODES).where(CODES.c.id == row.id, CODES.c.used_at.is_(None)).values(used_at=now))
        if rows_changed(used) != 1:
            raise Conflict("this code was used just now; ask for a new one", field="code", code="code_used")
        tier, on_roster = roster.ticket_tier(rt, s, hall_id, conf.green_channel, Tier.ORDINARY, mobile, day)
        closes = closing_time(conf.opening_hours, local_time(now, conf.zone)) if rt.enforce_opening_hours else None
        deadline = check_in_deadline(now, conf.remote, closes.astimezone(UTC) if closes else None)
        values = queue.insert_ticket(
            tx,
            conf,
            service,
            tier,
            mobile,
            now,
            day,
            state=TicketState.REMOTE,
            channel=Channel.REMOTE,
            check_in_by=deadline,
        )
        queue.log_event(
            s,
            values["id"],
            hall_id,
            service.id,
            Action.ISSUE,
            now,
            detail={"tier": tier.value, "channel": Channel.REMOTE.value, **({"roster": True} if on_roster else {})},
        )
        check_in_code = new_code()
        check_in_id = store_code(s, keys, CHECK_IN, check_in_code, hall_id, now, deadline, ticket_id=values["id"])
        tx.record(
            ev.RemoteTicketTaken(hall_id, values["id"], values["label"], service.id, tier.value, deadline.isoformat())
        )
        tx.commit()
    by = local_time(deadline, conf.zone).strftime("%H:%M")
    message = (
        f"【{conf.name_zh}】您已远程取号 {values['label']}（{service.name_zh}），请于{by}前到店，"
        f"在取号机扫描手机上的二维码，或输入手机号和签到码 {check_in_code} 签到，签到后按顺序叫号。"
        f"Ticket {values['label']}: check in at the kiosk by {by} with code {check_in_code}."
    )
    _send(rt, check_in_id, OutgoingSms(to=keys.msisdn, text=message, reference=f"code-{check_in_id}"), required=False)
    return queue.ticket_status(rt, values["public_token"], with_token=True)


# --------------------------------------------------------------------------- checking in at the hall


def token_of_scan(scan: str) -> str:
    """The ticket's token from what a kiosk's scanner typed: the phone page's address
    (``https://…/t/<token>``) or the bare token."""
    scan = (scan or "").strip()
    path = urlsplit(scan).path if "://" in scan else scan
    token = path.rstrip("/").rsplit("/", 1)[-1]
    if not token or len(token) > 64 or not all((ch.isascii() and ch.isalnum()) or ch in "-_" for ch in token):
        raise Invalid("this is not a ticket's QR code", field="scan", code="scan_format")
    return token


def check_in(
    rt: Runtime,
    hall_id: int,
    caller,
    *,
    scan: str | None = None,
    mobile: str | None = None,
    code: str | None = None,
    as_walk_in: bool = False,
) -> dict:
    """A remote ticket's or an appointment's customer arrived: from now on the ticket is called in
    its place (an appointment's: its slot's, services.appointments.arrive).

    By the QR code of the ticket's or the appointment's page (``scan``), or by mobile number and
    the check-in code of the confirmation SMS. A ticket already checked in, released, or of
    another hall is a 409 or 404 that says so; a wrong code counts a try against that code. An
    appointment too early is 409 ``appointment_early`` unless ``as_walk_in`` (queue from now).
    """
    from . import appointments

    if not scan and not (mobile and code):
        raise Invalid(
            "scan the QR code, or give the mobile number and the check-in code", field="scan", code="check_in_what"
        )
    token = token_of_scan(scan) if scan else None
    if not scan:
        mobile, code = check_mobile(mobile), clean_code(code)
    with rt.uow() as tx:
        s = tx.session
        p = queue.authorised(rt, s, caller, rules.may_issue_ticket, hall_id, "checking in at this hall")
        conf = hall_config(rt, s, hall_id)
        now = rt.now()
        booked = None
        if token is not None:
            ticket = s.execute(select(*TICKETS.c).where(TICKETS.c.public_token == token)).first()
            if ticket is None:
                booked = appointments.find_for_scan(s, token)
            if booked is None and (ticket is None or ticket.hall_id != hall_id):
                raise NotFound("no ticket of this hall has this QR code", field="scan", code="no_remote_ticket")
        else:
            assert mobile is not None and code is not None  # checked above: a scan, or both
            row = try_code(tx, NumberKeys(rt, mobile), CHECK_IN, hall_id, code, now)
            if row.appointment_id is not None:
                booked = appointments.find_by_id(s, row.appointment_id)
            else:
                ticket = s.execute(select(*TICKETS.c).where(TICKETS.c.id == row.ticket_id)).first()
        if booked is not None:
            token = appointments.arrive(rt, tx, conf, booked, now, as_walk_in)
        else:
            token = _arrive(tx, conf, ticket, now, p.staff_id).public_token
        tx.commit()
    return queue.ticket_status(rt, token, with_token=True)


def _arrive(tx, conf: HallConfig, ticket, now: datetime, staff_id: int | None):
    """remote → waiting, or a 409 saying why not (checked in already, released, ended)."""
    s = tx.session
    if ticket.state != REMOTE:
        if ticket.checked_in_at is not None and ticket.state in STILL_OURS:
            raise Conflict(
                f"{ticket.label} is checked in already", field="scan", code="checked_in_already", label=ticket.label
            )
        if ticket.channel != Channel.REMOTE.value:
            raise Conflict(
                f"{ticket.label} was taken at the hall: no check-in needed",
                field="scan",
                code="not_remote",
                label=ticket.label,
            )
        raise Conflict(
            f"{ticket.label} is {ticket.state}: take a new ticket",
            field="scan",
            code="remote_ended",
            label=ticket.label,
            state=ticket.state,
        )
    if expired(now, ticket.check_in_by):
        _release(tx, ticket, now)
        tx.commit()
        by = local_time(ticket.check_in_by, conf.zone).strftime("%H:%M")
        raise Conflict(
            f"{ticket.label} was to check in by {by}: take a new ticket",
            field="scan",
            code="remote_expired",
            label=ticket.label,
            by=by,
        )
    ticket = queue.transition(s, ticket, Action.CHECK_IN, now, None, staff_id, checked_in_at=now)
    s.execute(update(CODES).where(CODES.c.ticket_id == ticket.id, CODES.c.used_at.is_(None)).values(used_at=now))
    tx.record(
        ev.TicketCheckedIn(ticket.hall_id, ticket.id, ticket.label, ticket.service_id, ticket.tier, ticket.public_token)
    )
    return ticket


def _release(tx, ticket, now: datetime) -> None:
    queue.transition(
        tx.session, ticket, Action.EXPIRE, now, None, None, closed_at=now, detail={"reason": "not_checked_in"}
    )
    tx.record(ev.TicketCancelled(ticket.hall_id, ticket.id, ticket.label, ticket.public_token))


def release_due(rt: Runtime, limit: int = 500) -> int:
    """Release the remote tickets whose check-in deadline has passed (the scheduler, every minute):
    each in its own transaction, so one checked in meanwhile is simply left alone."""
    now = rt.now()
    with rt.reader() as tx:
        due = list(
            tx.session.execute(
                select(TICKETS.c.id)
                .where(ticket_in_state(REMOTE), TICKETS.c.check_in_by <= now)
                .order_by(TICKETS.c.check_in_by)
                .limit(limit)
            ).scalars()
        )
    released = 0
    for ticket_id in due:
        with rt.uow() as tx:
            ticket = tx.session.execute(
                select(*TICKETS.c).where(TICKETS.c.id == ticket_id, ticket_in_state(REMOTE))
            ).first()
            if ticket is None:
                continue
            _release(tx, ticket, now)
            tx.commit()
            released += 1
    return released
