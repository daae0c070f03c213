"""Appointments (预约): the slots a hall offers from its counter plan and forecast, booking with a
one-time SMS code, the appointment's page (cancel, reschedule), arriving at the kiosk, no-shows
and reminders. The rules are in domain.appointments.

A slot's capacity is read from the day's counter plan and forecast whenever it is needed, and a
booking holds its service's handle time in ``appointment_slots``, raised in one statement only
while it stays within that capacity: two customers never both take the last place. Checked in,
an appointment becomes an ordinary ticket (channel ``appointment``) whose place in line is its
slot's (minus the hall's head start), so the calling rule needs nothing new.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain.appointments import (
    EARLY,
    LATE,
    BookingRules,
    PlanInterval,
    arrival,
    blocked_until,
    bookable,
    bookable_day,
    missed,
    queue_time,
    slot_capacity,
    slot_starts,
)
from ..domain.errors import Conflict, Invalid, NotFound
from ..domain.hours import WEEKDAYS, business_day, local_time
from ..domain.model import Action, Channel, TicketState, Tier
from ..domain.remote import BOOK, CHECK_IN, clean_code, new_code
from ..domain.survey import SurveySettings
from ..sms.gateway import OutgoingSms
from ..storage.orm import (
    Appointment,
    AppointmentSlot,
    CounterPlan,
    ForecastSlot,
    Hall,
    MobileCode,
    SmsOptOut,
    rows_changed,
    table,
)
from . import notices, queue, roster, surveys
from .hall_config import HallConfig, hall_config
from .planning import planned_by_slot

APPOINTMENTS = table(Appointment)
SLOTS = table(AppointmentSlot)
CODES = table(MobileCode)
BOOKED, CHECKED_IN, CANCELLED, NO_SHOW = "booked", "checked_in", "cancelled", "no_show"
DAY_BEFORE = timedelta(hours=24)
SOON = timedelta(minutes=60)


# --------------------------------------------------------------------------- capacity


def _booking_on(conf: HallConfig) -> BookingRules:
    if not conf.booking.enabled:
        raise Conflict(
            f"{conf.name_zh} takes no appointments; take a ticket at the hall", field="hall_id", code="booking_off"
        )
    return conf.booking


def _day_bounds(day: date, zone) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)


def _plan_intervals(s, conf: HallConfig, day: date) -> list[PlanInterval] | None:
    """The day's counter plan as intervals with the forecast walk-ins' work; None without a plan.

    The work is the hall's p90 arrivals times the mix's handle time (the services' means weight
    their handle times), as the plan pooled them: the services' own p90s summed would overstate
    the hall's upper band and leave no room anywhere. Without the hall's row, the services' own."""
    plan = s.get(CounterPlan, (conf.id, day))
    if plan is None:
        return None
    counters = planned_by_slot(plan)
    lo, hi = _day_bounds(day, conf.zone)
    hall_p90: dict[datetime, float] = {}
    own: dict[datetime, float] = {}
    mix: dict[datetime, list[float]] = {}
    for slot, service_id, mean, p90 in s.execute(
        select(ForecastSlot.slot, ForecastSlot.service_id, ForecastSlot.mean, ForecastSlot.p90).where(
            ForecastSlot.hall_id == conf.id, ForecastSlot.slot >= lo, ForecastSlot.slot < hi
        )
    ):
        if service_id is None:
            hall_p90[slot] = p90
            continue
        svc = conf.services.get(service_id)
        if svc is not None:
            own[slot] = own.get(slot, 0.0) + p90 * svc.handle_time_s
            weights = mix.setdefault(slot, [0.0, 0.0])
            weights[0] += mean * svc.handle_time_s
            weights[1] += mean
    handles = [svc.handle_time_s for svc in conf.services.values() if svc.active] or [300]

    def work(slot: datetime) -> float:
        if slot not in hall_p90:
            return own.get(slot, 0.0)
        weighted, total = mix.get(slot, (0.0, 0.0))
        return hall_p90[slot] * (weighted / total if total > 0 else sum(handles) / len(handles))

    return [PlanInterval(start, plan.interval_minutes, n, work(start)) for start, n in counters.items()]


def _slot_times(conf: HallConfig, day: date, rules: BookingRules) -> list[datetime]:
    """The day's slots (UTC), inside its opening hours; none on a closure day."""
    if conf.closures.closed_on(day):
        return []
    spans = []
    for start, end in conf.opening_hours.days.get(WEEKDAYS[day.weekday()], ()):
        local_end = (
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=conf.zone)
            if end == time.max
            else datetime.combine(day, end, tzinfo=conf.zone)
        )
        spans.append((datetime.combine(day, start, tzinfo=conf.zone), local_end))
    return [at.astimezone(UTC) for at in slot_starts(sorted(spans), rules.slot_minutes)]


def _capacities(s, conf: HallConfig, day: date, rules: BookingRules) -> tuple[bool, dict[datetime, float]]:
    """Whether the day has a plan, and each slot's capacity for booking (counter-seconds)."""
    intervals = _plan_intervals(s, conf, day)
    if intervals is None:
        return False, {}
    return True, {at: slot_capacity(intervals, at, rules) for at in _slot_times(conf, day, rules)}


def _booked(s, hall_id: int, starts) -> dict[datetime, float]:
    starts = list(starts)
    if not starts:
        return {}
    return dict(
        s.execute(
            select(SLOTS.c.slot_start, SLOTS.c.booked_s).where(
                SLOTS.c.hall_id == hall_id, SLOTS.c.slot_start.in_(starts)
            )
        ).all()
    )


def day_slots(rt: Runtime, hall_id: int, day: date | None = None) -> dict:
    """The slots of a day (default today) a customer may book, each with how many more of each
    service fit; a day without a counter plan yet offers none and says so (``planned``)."""
    with rt.reader() as tx:
        s = tx.session
        conf = hall_config(rt, s, hall_id)
        rules = _booking_on(conf)
        now = rt.now()
        today = business_day(now, conf.zone)
        day = day or today
        if not bookable_day(day, today, rules):
            raise Invalid(
                f"appointments are booked from today up to {rules.horizon_days} days ahead",
                field="day",
                code="day_out_of_range",
            )
        planned, capacity = _capacities(s, conf, day, rules)
        booked = _booked(s, hall_id, capacity)
        step = timedelta(minutes=rules.slot_minutes)
        slots = []
        for at, cap in sorted(capacity.items()):
            if at <= now:
                continue
            left = {
                sid: bookable(cap, booked.get(at, 0.0), svc.handle_time_s)
                for sid, svc in conf.services.items()
                if svc.active
            }
            slots.append(
                {
                    "start": at.isoformat(),
                    "end": (at + step).isoformat(),
                    "local": local_time(at, conf.zone).strftime("%H:%M"),
                    "services": left,
                }
            )
        return {
            "hall": conf.brief(),
            "day": day.isoformat(),
            "planned": planned,
            "slot_minutes": rules.slot_minutes,
            "horizon_days": rules.horizon_days,
            "policy": rules.describe(),
            "services": [
                {"id": svc.id, "prefix": svc.prefix, "name_zh": svc.name_zh, "name_en": svc.name_en}
                for svc in conf.services.values()
                if svc.active
            ],
            "slots": slots,
        }


def _take(tx, hall_id: int, slot_start: datetime, work_s: float, capacity_s: float) -> bool:
    """Hold ``work_s`` of the slot if it still fits (one statement: the last place goes once)."""
    s = tx.session
    insert_ = postgresql.insert if tx.dialect == "postgresql" else sqlite.insert
    s.execute(
        insert_(SLOTS)
        .values(hall_id=hall_id, slot_start=slot_start, booked_s=0.0)
        .on_conflict_do_nothing(index_elements=["hall_id", "slot_start"])
    )
    taken = s.execute(
        update(SLOTS)
        .where(
            SLOTS.c.hall_id == hall_id, SLOTS.c.slot_start == slot_start, SLOTS.c.booked_s + work_s <= capacity_s + 1e-6
        )
        .values(booked_s=SLOTS.c.booked_s + work_s)
    )
    return rows_changed(taken) == 1


def _give_back(s, hall_id: int, slot_start: datetime, work_s: float) -> None:
    s.execute(
        update(SLOTS)
        .where(SLOTS.c.hall_id == hall_id, SLOTS.c.slot_start == slot_start)
        .values(
            booked_s=func.max(SLOTS.c.booked_s - work_s, 0.0)
            if s.get_bind().dialect.name == "sqlite"
            else func.greatest(SLOTS.c.booked_s - work_s, 0.0)
        )
    )


def _hold_slot(tx, conf: HallConfig, rules: BookingRules, service, slot_start: datetime, now: datetime) -> None:
    """The slot is one the hall offers, in the future and within the horizon, and there is room for
    this service in it; the room is held. 422/409 naming ``slot_start`` otherwise."""
    day = business_day(slot_start, conf.zone)
    if slot_start <= now:
        raise Invalid("this slot has begun or is over: choose a later one", field="slot_start", code="slot_past")
    if not bookable_day(day, business_day(now, conf.zone), rules):
        raise Invalid(
            f"appointments are booked from today up to {rules.horizon_days} days ahead",
            field="slot_start",
            code="day_out_of_range",
        )
    _, capacity = _capacities(tx.session, conf, day, rules)
    if slot_start not in capacity:
        raise Conflict(
            "the hall offers no such slot (closed, or no counter plan for that day yet)",
            field="slot_start",
            code="slot_unavailable",
        )
    if not _take(tx, conf.id, slot_start, service.handle_time_s, capacity[slot_start]):
        raise Conflict("this slot is fully booked: choose another", field="slot_start", code="slot_full")


# --------------------------------------------------------------------------- booking


def book(
    rt: Runtime, hall_id: int, service_id: int, slot_start: datetime, mobile: str | None, code: str | None
) -> dict:
    """Book a service and slot with the code just sent to ``mobile`` (purpose ``book``).

    Refused for a wrong code (counted as a try), a number the no-show policy blocks or one holding
    another appointment that day at this hall, and a slot the hall does not offer or has filled."""
    from . import remote

    mobile = remote.check_mobile(mobile)
    code = clean_code(code)
    keys = remote.NumberKeys(rt, mobile)
    with rt.uow() as tx:
        s = tx.session
        conf = hall_config(rt, s, hall_id)
        rules = _booking_on(conf)
        service = conf.service(service_id)
        now = rt.now()
        row = remote.try_code(tx, keys, BOOK, hall_id, code, now)
        no_shows = s.execute(
            select(APPOINTMENTS.c.slot_start).where(
                APPOINTMENTS.c.number_key == keys.number,
                APPOINTMENTS.c.hall_id == hall_id,
                APPOINTMENTS.c.state == NO_SHOW,
            )
        ).scalars()
        until = blocked_until(list(no_shows), now, rules)
        if until is not None:
            raise Conflict(
                f"after {rules.no_show_limit} missed appointments this number may book again "
                f"from {local_time(until, conf.zone):%Y-%m-%d}",
                field="mobile",
                code="booking_blocked",
                until=until.isoformat(),
            )
        day = business_day(slot_start, conf.zone)
        held = s.execute(
            select(APPOINTMENTS.c.slot_start).where(
                APPOINTMENTS.c.number_key == keys.number,
                APPOINTMENTS.c.hall_id == hall_id,
                APPOINTMENTS.c.business_day == day,
                APPOINTMENTS.c.state == BOOKED,
            )
        ).scalar()
        if held is not None:
            raise Conflict(
                f"this number has an appointment here that day at {local_time(held, conf.zone):%H:%M}",
                field="mobile",
                code="appointment_held",
                at=held.isoformat(),
            )
        _hold_slot(tx, conf, rules, service, slot_start, now)
        used = s.execute(update(CODES).where(CODES.c.id == row.id, CODES.c.used_at.is_(None)).values(used_at=now))
        if rows_changed(used) != 1:
            raise Conflict("this code was used just now; ask for a new one", field="code", code="code_used")
        number = keys.vault.protect(keys.msisdn)
        token = secrets.token_urlsafe(16)
        appointment_id = s.execute(
            APPOINTMENTS.insert()
            .values(
                hall_id=hall_id,
                service_id=service.id,
                business_day=day,
                slot_start=slot_start,
                slot_minutes=rules.slot_minutes,
                work_s=float(service.handle_time_s),
                state=BOOKED,
                number_cipher=number.cipher,
                number_key=number.key,
                number_masked=number.masked,
                public_token=token,
                created_at=now,
                **_reminders_due(slot_start, now),
            )
            .returning(APPOINTMENTS.c.id)
        ).scalar_one()
        check_in_code = new_code()
        code_id = remote.store_code(
            s,
            keys,
            CHECK_IN,
            check_in_code,
            hall_id,
            now,
            slot_start + timedelta(minutes=rules.grace_minutes),
            appointment_id=appointment_id,
        )
        tx.record(ev.AppointmentChanged(hall_id, appointment_id, "booked", service.id, slot_start.isoformat()))
        tx.commit()
    at = local_time(slot_start, conf.zone)
    text = (
        f"【{conf.name_zh}】您已预约 {at:%m月%d日 %H:%M} 办理{service.name_zh}，请提前到店在取号机扫描预约页二维码，"
        f"或输入手机号和签到码 {check_in_code} 签到。Appointment {at:%m-%d %H:%M}: check in at the kiosk "
        f"with code {check_in_code}."
    )
    _send(rt, code_id, keys.msisdn, text)
    return appointment_status(rt, token)


def _reminders_due(slot_start: datetime, now: datetime) -> dict:
    """A reminder already due when the appointment is booked (or moved) is not sent: the
    confirmation says it all. Marked as done, so the reminder job never reads it again."""
    return {
        "reminded_day_before_at": now if slot_start - now <= DAY_BEFORE else None,
        "reminded_soon_at": now if slot_start - now <= SOON else None,
    }


def _send(rt: Runtime, code_id: int | None, msisdn: str, text: str, reference: str | None = None) -> bool:
    reference = reference or f"code-{code_id}"
    return notices.send_sms(rt, OutgoingSms(to=msisdn, text=text, reference=reference), reference) is None


# --------------------------------------------------------------------------- the appointment's page


def _by_token(s, token: str):
    row = s.execute(select(APPOINTMENTS).where(APPOINTMENTS.c.public_token == token)).first()
    if row is None:
        raise NotFound("no such appointment", field="token")
    return row


def appointment_status(rt: Runtime, token: str) -> dict:
    """What the appointment's page shows: the service, slot, state, when check-in opens; its ticket
    once checked in."""
    with rt.reader() as tx:
        s = tx.session
        a = _by_token(s, token)
        conf = hall_config(rt, s, a.hall_id)
        return _view(s, conf, a)


def _view(s, conf: HallConfig, a) -> dict:
    rules = conf.booking
    svc = conf.services.get(a.service_id)
    ticket_token = None
    if a.ticket_id is not None:
        ticket_token = s.execute(select(queue.TICKETS.c.public_token).where(queue.TICKETS.c.id == a.ticket_id)).scalar()
    return {
        "id": a.id,
        "state": a.state,
        "public_token": a.public_token,
        "hall": {**conf.brief(), "code": conf.code},
        "service": svc.brief() if svc else None,
        "business_day": a.business_day.isoformat(),
        "slot_start": a.slot_start.isoformat(),
        "slot_end": (a.slot_start + timedelta(minutes=a.slot_minutes)).isoformat(),
        "check_in_from": (a.slot_start - timedelta(minutes=rules.early_minutes)).isoformat(),
        "late_after": (a.slot_start + timedelta(minutes=rules.grace_minutes)).isoformat(),
        "mobile_masked": a.number_masked,
        "ticket_token": ticket_token,
        "policy": rules.describe(),
    }


def cancel(rt: Runtime, token: str) -> dict:
    """The customer cancels from the appointment's page; its room in the slot is given back."""
    with rt.uow() as tx:
        s = tx.session
        a = _by_token(s, token)
        conf = hall_config(rt, s, a.hall_id)
        _still_booked(a, "cancel")
        now = rt.now()
        changed = s.execute(
            update(APPOINTMENTS)
            .where(APPOINTMENTS.c.id == a.id, APPOINTMENTS.c.state == BOOKED)
            .values(state=CANCELLED, changed_at=now)
        )
        if rows_changed(changed) != 1:
            raise Conflict("the appointment changed just now; reload", field="token", code="appointment_changed")
        _give_back(s, a.hall_id, a.slot_start, a.work_s)
        s.execute(update(CODES).where(CODES.c.appointment_id == a.id, CODES.c.used_at.is_(None)).values(used_at=now))
        tx.record(ev.AppointmentChanged(a.hall_id, a.id, "cancelled", a.service_id, a.slot_start.isoformat()))
        tx.commit()
        return _view(s, conf, _by_token(s, token))


def reschedule(rt: Runtime, token: str, slot_start: datetime) -> dict:
    """Move a booked appointment to another slot of the same hall and service: the new room is held
    first, then the old given back, in one transaction; reminders start again."""
    with rt.uow() as tx:
        s = tx.session
        a = _by_token(s, token)
        conf = hall_config(rt, s, a.hall_id)
        rules = _booking_on(conf)
        _still_booked(a, "reschedule")
        if slot_start == a.slot_start:
            raise Invalid("that is the appointment's slot already", field="slot_start", code="same_slot")
        now = rt.now()
        service = conf.service(a.service_id)
        day = business_day(slot_start, conf.zone)
        held = s.execute(
            select(APPOINTMENTS.c.slot_start).where(
                APPOINTMENTS.c.number_key == a.number_key,
                APPOINTMENTS.c.hall_id == a.hall_id,
                APPOINTMENTS.c.business_day == day,
                APPOINTMENTS.c.state == BOOKED,
                APPOINTMENTS.c.id != a.id,
            )
        ).scalar()
        if held is not None:
            raise Conflict(
                f"this number has an appointment here that day at {local_time(held, conf.zone):%H:%M}",
                field="slot_start",
                code="appointment_held",
                at=held.isoformat(),
            )
        _hold_slot(tx, conf, rules, service, slot_start, now)
        _give_back(s, a.hall_id, a.slot_start, a.work_s)
        s.execute(
            update(APPOINTMENTS)
            .where(APPOINTMENTS.c.id == a.id)
            .values(
                slot_start=slot_start,
                business_day=business_day(slot_start, conf.zone),
                slot_minutes=rules.slot_minutes,
                work_s=float(service.handle_time_s),
                changed_at=now,
                **_reminders_due(slot_start, now),
            )
        )
        s.execute(
            update(CODES)
            .where(CODES.c.appointment_id == a.id, CODES.c.used_at.is_(None))
            .values(expires_at=slot_start + timedelta(minutes=rules.grace_minutes))
        )
        tx.record(ev.AppointmentChanged(a.hall_id, a.id, "rescheduled", a.service_id, slot_start.isoformat()))
        tx.commit()
        return _view(s, conf, _by_token(s, token))


def _still_booked(a, what: str) -> None:
    if a.state != BOOKED:
        raise Conflict(
            f"cannot {what} an appointment that is {a.state.replace('_', ' ')}",
            field="token",
            code="appointment_not_booked",
            state=a.state,
        )


# --------------------------------------------------------------------------- arriving


def find_for_scan(s, token: str):
    """The appointment whose page's QR code the kiosk scanned, or None."""
    return s.execute(select(APPOINTMENTS).where(APPOINTMENTS.c.public_token == token)).first()


def find_by_id(s, appointment_id: int):
    return s.execute(select(APPOINTMENTS).where(APPOINTMENTS.c.id == appointment_id)).first()


def arrive(rt: Runtime, tx, conf: HallConfig, a, now: datetime, as_walk_in: bool = False) -> str:
    """The customer of appointment ``a`` is at the kiosk: a ticket in the calling order, in the
    slot's place (or from now, when late or by choice); returns the ticket's token. Too early:
    409 ``appointment_early`` with when check-in opens (the kiosk offers to queue now instead)."""
    s = tx.session
    rules = conf.booking
    if a.hall_id != conf.id:
        raise NotFound("no appointment of this hall has this QR code", field="scan", code="no_remote_ticket")
    if a.state == CHECKED_IN:
        raise Conflict(
            "this appointment is checked in already",
            field="scan",
            code="checked_in_already",
            label=s.execute(select(queue.TICKETS.c.label).where(queue.TICKETS.c.id == a.ticket_id)).scalar() or "",
        )
    if a.state != BOOKED:
        raise Conflict(
            f"this appointment is {a.state.replace('_', ' ')}: take a ticket",
            field="scan",
            code="appointment_ended",
            state=a.state,
        )
    when = arrival(now, a.slot_start, rules)
    other_day = business_day(a.slot_start, conf.zone) != business_day(now, conf.zone)
    if when == EARLY and (not as_walk_in or other_day):  # a later day's booking is not today's walk-in
        opens = a.slot_start - timedelta(minutes=rules.early_minutes)
        shown = local_time(opens, conf.zone).strftime("%m-%d %H:%M" if other_day else "%H:%M")
        raise Conflict(
            f"check-in for this appointment opens at {shown}",
            field="scan",
            code="appointment_other_day" if other_day else "appointment_early",
            opens_at=opens.isoformat(),
            opens=shown,
        )
    walk_in = as_walk_in or when == LATE
    service = conf.service(a.service_id, "scan")
    day = business_day(now, conf.zone)
    queue.refuse_if_closed(rt, conf, now, day)
    mobile = None
    if a.number_cipher:
        try:
            mobile = surveys.setup(rt).vault.reveal(a.number_cipher)[-11:]
        except ValueError:
            mobile = None
    tier, on_roster = roster.ticket_tier(rt, s, conf.id, conf.green_channel, Tier.ORDINARY, mobile, day)
    values = queue.insert_ticket(
        tx,
        conf,
        service,
        tier,
        mobile,
        now,
        day,
        state=TicketState.WAITING,
        channel=Channel.APPOINTMENT,
        queued_at=queue_time(now, a.slot_start, rules, walk_in),
        checked_in_at=now,
    )
    queue.log_event(
        s,
        values["id"],
        conf.id,
        service.id,
        Action.ISSUE,
        now,
        detail={
            "tier": tier.value,
            "channel": Channel.APPOINTMENT.value,
            "appointment_id": a.id,
            **({"as_walk_in": True} if walk_in else {}),
            **({"roster": True} if on_roster else {}),
        },
    )
    changed = s.execute(
        update(APPOINTMENTS)
        .where(APPOINTMENTS.c.id == a.id, APPOINTMENTS.c.state == BOOKED)
        .values(state=CHECKED_IN, checked_in_at=now, ticket_id=values["id"], changed_at=now)
    )
    if rows_changed(changed) != 1:
        raise Conflict("this appointment was checked in just now", field="scan", code="checked_in_already", label="")
    s.execute(update(CODES).where(CODES.c.appointment_id == a.id, CODES.c.used_at.is_(None)).values(used_at=now))
    tx.record(
        ev.TicketIssued(conf.id, values["id"], values["label"], service.id, tier.value, Channel.APPOINTMENT.value)
    )
    tx.record(ev.AppointmentChanged(conf.id, a.id, "checked_in", service.id, a.slot_start.isoformat()))
    return values["public_token"]


# --------------------------------------------------------------------------- jobs


def mark_no_shows(rt: Runtime, limit: int = 500) -> int:
    """Booked appointments whose grace time is over become no-shows (the no-show policy counts them)."""
    now = rt.now()
    marked = 0
    with rt.reader() as tx:
        due = tx.session.execute(
            select(APPOINTMENTS.c.id, APPOINTMENTS.c.hall_id, APPOINTMENTS.c.slot_start)
            .where(APPOINTMENTS.c.state == BOOKED, APPOINTMENTS.c.slot_start < now)
            .order_by(APPOINTMENTS.c.slot_start)
            .limit(limit)
        ).all()
    for appointment_id, hall_id, slot_start in due:
        with rt.uow() as tx:
            conf = hall_config(rt, tx.session, hall_id, missing_ok=True)
            rules = conf.booking if conf else BookingRules()
            if not missed(now, slot_start, rules):
                continue
            changed = tx.session.execute(
                update(APPOINTMENTS)
                .where(APPOINTMENTS.c.id == appointment_id, APPOINTMENTS.c.state == BOOKED)
                .values(state=NO_SHOW, changed_at=now)
            )
            if rows_changed(changed):
                service_id = tx.session.execute(
                    select(APPOINTMENTS.c.service_id).where(APPOINTMENTS.c.id == appointment_id)
                ).scalar_one()
                tx.record(ev.AppointmentChanged(hall_id, appointment_id, "no_show", service_id, slot_start.isoformat()))
            tx.commit()
            marked += rows_changed(changed)
    return marked


def send_reminders(rt: Runtime, limit: int = 500) -> dict:
    """The day-before reminder (from 24 hours ahead) and the one an hour before the slot, each once
    (claimed before it is sent), for appointments booked before it was due; none to a number that
    opted out, and none in the hall's quiet hours (the day-before one waits for the morning)."""
    now = rt.now()
    sent = {"day_before": 0, "soon": 0, "skipped": 0}
    with rt.reader() as tx:
        due = tx.session.execute(
            select(APPOINTMENTS)
            .where(
                APPOINTMENTS.c.state == BOOKED,
                APPOINTMENTS.c.slot_start > now,
                APPOINTMENTS.c.slot_start <= now + DAY_BEFORE,
                (APPOINTMENTS.c.reminded_day_before_at.is_(None) | APPOINTMENTS.c.reminded_soon_at.is_(None)),
            )
            .order_by(APPOINTMENTS.c.slot_start)
            .limit(limit)
        ).all()
    for a in due:
        soon = a.slot_start - now <= SOON
        kind = "soon" if soon else "day_before"
        column = APPOINTMENTS.c.reminded_soon_at if soon else APPOINTMENTS.c.reminded_day_before_at
        if getattr(a, column.name) is not None or a.created_at > a.slot_start - (SOON if soon else DAY_BEFORE):
            continue  # sent already, or booked after it was due (the confirmation said it all)
        with rt.uow() as tx:
            s = tx.session
            conf = hall_config(rt, s, a.hall_id, missing_ok=True)
            if conf is None:
                continue
            quiet = SurveySettings.from_dict(
                s.execute(select(Hall.survey).where(Hall.id == a.hall_id)).scalar()
            ).quiet_hours
            if not soon and quiet is not None and quiet.contains(local_time(now, conf.zone).time()):
                continue
            claimed = s.execute(
                update(APPOINTMENTS)
                .where(APPOINTMENTS.c.id == a.id, column.is_(None), APPOINTMENTS.c.state == BOOKED)
                .values({column.name: now})
            )
            opted_out = s.get(SmsOptOut, a.number_key) is not None
            tx.commit()
        if rows_changed(claimed) != 1:
            continue
        if opted_out or not a.number_cipher:
            sent["skipped"] += 1
            continue
        svc = conf.services.get(a.service_id)
        at = local_time(a.slot_start, conf.zone)
        same_day = business_day(a.slot_start, conf.zone) == business_day(now, conf.zone)
        text = (
            f"【{conf.name_zh}】提醒：您预约了{'今天' if same_day else '明天'} {at:%H:%M} 办理"
            f"{svc.name_zh if svc else ''}，请按时到店签到。Reminder: your appointment at {at:%H:%M}."
        )
        try:
            msisdn = surveys.setup(rt).vault.reveal(a.number_cipher)
        except ValueError:
            sent["skipped"] += 1
            continue
        if _send(rt, None, msisdn, text, reference=f"appt-{a.id}-{kind}"):
            sent[kind] += 1
    return sent


# --------------------------------------------------------------------------- the manager's view


def bookings_against_capacity(rt: Runtime, hall_id: int, day: date | None = None) -> dict:
    """A day's (default today's) bookings per slot against what the plan lets the hall book
    (counter-seconds and appointments by state), for the manager's page."""
    with rt.reader() as tx:
        s = tx.session
        conf = hall_config(rt, s, hall_id)
        rules = conf.booking
        day = day or business_day(rt.now(), conf.zone)
        planned, capacity = _capacities(s, conf, day, rules)
        booked = _booked(s, hall_id, capacity)
        counts: dict[datetime, dict[str, int]] = {}
        for at, state, n in s.execute(
            select(APPOINTMENTS.c.slot_start, APPOINTMENTS.c.state, func.count())
            .where(APPOINTMENTS.c.hall_id == hall_id, APPOINTMENTS.c.business_day == day)
            .group_by(APPOINTMENTS.c.slot_start, APPOINTMENTS.c.state)
        ):
            counts.setdefault(at, {})[state] = n
        starts = sorted(set(capacity) | set(counts))
        return {
            "hall": conf.brief(),
            "day": day.isoformat(),
            "enabled": rules.enabled,
            "planned": planned,
            "share": rules.share,
            "slots": [
                {
                    "start": at.isoformat(),
                    "local": local_time(at, conf.zone).strftime("%H:%M"),
                    "capacity_s": round(capacity.get(at, 0.0)),
                    "booked_s": round(booked.get(at, 0.0)),
                    "appointments": counts.get(at, {}),
                }
                for at in starts
            ],
        }


def booked_work(rt: Runtime, hall_id: int, since: datetime, until: datetime) -> dict[datetime, float]:
    """Counter-seconds held by bookings per slot start (the forecast plans counters for them)."""
    with rt.reader() as tx:
        return dict(
            tx.session.execute(
                select(SLOTS.c.slot_start, SLOTS.c.booked_s).where(
                    SLOTS.c.hall_id == hall_id, and_(SLOTS.c.slot_start >= since, SLOTS.c.slot_start < until)
                )
            ).all()
        )
