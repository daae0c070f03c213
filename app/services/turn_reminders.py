"""The waiting customer's SMS (issue 22): "your turn soon" and "you are called" (domain.reminders).

The scheduler runs ``send_turn_reminders`` every 15 seconds. It reads the open tickets that
carry a mobile number and have a reminder still to come (the partial index on tickets with a
number keeps that read small), counts the people ahead of each waiting one exactly as its
phone page does (queue.people_ahead; in each queue group only until one is past the threshold),
and for each reminder due:

1. claims it in ``turn_reminders`` (its primary key: one per ticket and kind, whichever
   scheduler runs), with its outcome already known when nothing is to be sent: the hall's
   survey quiet hours, a number that opted out, a number that cannot be read;
2. after the commit, sends it through the surveys' gateway and records sent or failed.

A process that dies between 1 and 2 loses that one message (at most once, as the appointment
reminders): a reminder late or twice is worse than none.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Runtime
from ..domain import reminders as rules
from ..domain.hours import business_day, local_time
from ..domain.model import TicketState
from ..domain.survey import BadMsisdn, SurveySettings
from ..sms.gateway import OutgoingSms
from ..storage.orm import Hall, SmsOptOut, Ticket, TurnReminder, table, ticket_in_state
from . import notices, queue, surveys
from .hall_config import HallConfig, hall_config
from .mobiles import msisdn

log = logging.getLogger(__name__)

TICKETS = table(Ticket)
REMINDERS = table(TurnReminder)
WAITING = TicketState.WAITING.value
AT_COUNTER = (TicketState.CALLED.value, TicketState.SERVING.value)


def _none_yet(kind: str):
    return ~exists().where(REMINDERS.c.ticket_id == TICKETS.c.id, REMINDERS.c.kind == kind)


# Open tickets with a number and a reminder to come: waiting without "soon", or called (since
# ``fresh_since``) without "called", each queue group in its order (see send_turn_reminders).
# ``closed_at IS NULL`` with ``mobile IS NOT NULL`` is the partial index ix_tickets_with_mobile.
_DUE = (
    select(*TICKETS.c)
    .where(
        TICKETS.c.mobile.is_not(None),
        TICKETS.c.closed_at.is_(None),
        or_(
            and_(ticket_in_state(WAITING), _none_yet(rules.SOON)),
            and_(
                ticket_in_state(*AT_COUNTER),
                _none_yet(rules.CALLED),
                TICKETS.c.called_at >= bindparam("fresh_since", type_=TICKETS.c.called_at.type),
            ),
        ),
    )
    .order_by(
        TICKETS.c.hall_id,
        TICKETS.c.service_id,
        TICKETS.c.tier,
        TICKETS.c.target_counter_id,
        TICKETS.c.queued_at,
        TICKETS.c.id,
    )
    .limit(bindparam("limit"))
)


def send_turn_reminders(rt: Runtime, limit: int = 500) -> dict:
    """Send the reminders due now; returns how many of each went, and how many were skipped or failed."""
    now = rt.now()
    done = {rules.SOON: 0, rules.CALLED: 0, rules.SKIPPED: 0, rules.FAILED: 0}
    with rt.reader() as tx:
        s = tx.session
        due, beyond = [], set()
        for ticket in s.execute(_DUE, {"fresh_since": now - rules.CALLED_FRESH, "limit": limit}):
            conf = hall_config(rt, s, ticket.hall_id, missing_ok=True)
            if conf is None or ticket.business_day != business_day(now, conf.zone):
                continue  # a past day's ticket, about to be expired
            if ticket.state == WAITING:
                # within one queue group (service, tier, target counter) the people ahead only grow
                # with the place in line: once one is beyond the threshold, so are all after it
                group = (ticket.hall_id, ticket.service_id, ticket.tier, ticket.target_counter_id)
                if group in beyond:
                    continue
                reminder = _soon(s, conf, ticket, now)
                if reminder is None:
                    beyond.add(group)
                    continue
            else:
                reminder = _called(conf, ticket, now)
                if reminder is None:
                    continue
            due.append((conf, ticket, *reminder))
    for conf, ticket, kind, text in due:
        outcome = _send(rt, conf, ticket, kind, text, now)
        if outcome is not None:
            done[kind if outcome == rules.SENT else outcome] += 1
    return done


def _soon(s, conf: HallConfig, ticket, now: datetime) -> tuple[str, str] | None:
    """The "your turn soon" reminder of a waiting ticket, with its text, if it is due."""
    service = conf.services.get(ticket.service_id)
    if service is None or service.remind_ahead <= 0:
        return None
    ahead = queue.people_ahead(s, ticket, now, conf)
    if not rules.soon_due(ahead, service.remind_ahead):
        return None
    return rules.SOON, rules.soon_text(conf.name_zh, ticket.label, ahead)


def _called(conf: HallConfig, ticket, now: datetime) -> tuple[str, str] | None:
    """The "you are called" reminder of a ticket at a counter, with its text, if it is still worth it."""
    counter = conf.counters.get(ticket.counter_id)
    if counter is None or ticket.called_at is None or not rules.called_due(ticket.called_at, now):
        return None
    return rules.CALLED, rules.called_text(conf.name_zh, ticket.label, counter.number)


def _send(rt: Runtime, conf: HallConfig, ticket, kind: str, text: str, now: datetime) -> str | None:
    """Claim the reminder (with what it comes to if nothing is to be sent), then send it; its
    outcome, or None if another process had claimed it."""
    try:
        number = surveys.setup(rt).vault.protect(_msisdn(ticket.mobile))
    except BadMsisdn:
        number = None
    with rt.uow() as tx:
        skip = _why_not(tx.session, conf, number, now)
        try:
            tx.session.execute(
                insert(REMINDERS).values(
                    ticket_id=ticket.id,
                    kind=kind,
                    hall_id=ticket.hall_id,
                    at=now,
                    outcome=rules.SKIPPED if skip else rules.SENDING,
                )
            )
            tx.commit()
        except IntegrityError:
            return None
    if skip:
        log.info("turn reminder %s of ticket %s skipped: %s", kind, ticket.id, skip)
        return rules.SKIPPED
    problem = notices.send_sms(
        rt,
        OutgoingSms(to=_msisdn(ticket.mobile), text=text, reference=f"turn-{ticket.id}-{kind}"),
        f"the {kind} reminder of ticket {ticket.id}",
    )
    outcome = rules.SENT if problem is None else rules.FAILED
    with rt.uow() as tx:
        tx.session.execute(
            update(REMINDERS)
            .where(REMINDERS.c.ticket_id == ticket.id, REMINDERS.c.kind == kind)
            .values(outcome=outcome)
        )
        tx.commit()
    return outcome


def _why_not(s, conf: HallConfig, number, now: datetime) -> str | None:
    """Why nothing is to be sent (unreadable number, opted out, quiet hours), or None."""
    if number is None:
        return "the number cannot be read"
    if s.get(SmsOptOut, number.key) is not None:
        return "the number opted out"
    quiet = SurveySettings.from_dict(s.execute(select(Hall.survey).where(Hall.id == conf.id)).scalar()).quiet_hours
    if quiet is not None and quiet.contains(local_time(now, conf.zone).time()):
        return "the hall's quiet hours"
    return None


def _msisdn(mobile: str) -> str:
    return msisdn(mobile)
