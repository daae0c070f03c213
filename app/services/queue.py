"""Queue use cases: issue, call, recall, start, finish, no-show, transfer, cancel; status views.

Each public function is one transaction, the caller's authentication and access check
included when it is given a ``caller`` (the API's hot path). State changes are
compare-and-set updates (``WHERE state = <what we read>``) that return the new row, so two
devices acting on one ticket can never both succeed and nothing is read twice; the
database's unique indexes back up the rest. The hall's configuration (services, counters,
calling rule, hours) comes from the process's copy, checked against its version in the
same transaction (``hall_config``). Statements are built once, with bound parameters.
"""

from __future__ import annotations

import functools
import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Integer, and_, bindparam, exists, func, insert, or_, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain import policy as rules
from ..domain.calling import TIE_ALL, TIE_LOWER_ID, ahead_bounds, calling_order
from ..domain.errors import (
    Conflict,
    CounterBusy,
    CounterHeld,
    Forbidden,
    HallClosed,
    IllegalTransition,
    Invalid,
    NotFound,
)
from ..domain.estimate import MAX_SAMPLES, ServiceLoad, effective_counters, estimate_wait_s, recent_handle_time
from ..domain.hours import business_day, local_time, next_opening, open_at, parse_zone
from ..domain.kiosks import self_service_first
from ..domain.model import (
    AT_COUNTER_STATES,
    Action,
    Channel,
    DeviceKind,
    PauseReason,
    TicketState,
    Tier,
    WaitingTicket,
    actions_at_counter,
    held_by_another,
    next_state,
    ticket_label,
)
from ..domain.principal import Principal
from ..domain.screens import screen_settings
from ..storage.orm import (
    Counter,
    CounterPause,
    CounterSession,
    Hall,
    Staff,
    Ticket,
    TicketEvent,
    TicketSequence,
    has_handle_time,
    table,
    ticket_in_state,
)
from . import audit, auth, hall_media, mobiles, roster
from .config import hall_services
from .footfall import live_load
from .hall_config import HallConfig, hall_config

TICKETS = table(Ticket)
EVENTS = table(TicketEvent)
COUNTERS = table(Counter)
AT_COUNTER = [x.value for x in AT_COUNTER_STATES]
WAITING = TicketState.WAITING.value
REMOTE = TicketState.REMOTE.value
# Written out, not bound (storage.orm.ticket_in_state): the partial unique index uq_ticket_at_counter
# (counter_id WHERE state IN ('called', 'serving')) serves a query only when its condition is the index's.
AT_COUNTER_NOW = ticket_in_state(TicketState.CALLED.value, TicketState.SERVING.value)  # the index's order
IS_WAITING = ticket_in_state(WAITING)


# --------------------------------------------------------------------------- issue


def issue_ticket(
    rt: Runtime,
    hall_id: int,
    service_id: int,
    tier: str = "ordinary",
    mobile: str | None = None,
    device_id: int | None = None,
    *,
    caller: auth.Credential | None = None,
    guide_pin: str | None = None,
) -> dict:
    """Issue the next number of a service at a hall; returns the ticket with people ahead and wait.

    With ``caller``, the caller is authenticated and checked in the same transaction: the
    hall's kiosks, staff and manager, or an administrator. A kiosk asking for a priority tier
    needs the floor guide's PIN (checked before, never inside, the transaction: a password
    hash takes a tenth of a second), unless the hall lets customers declare the green
    channel themselves.
    """
    tier = _parse_tier(tier)
    mobile = mobiles.mainland_mobile(mobile)
    if caller is not None and tier != Tier.ORDINARY:
        _check_priority_at_kiosk(rt, hall_id, tier, caller, guide_pin)
    with rt.uow() as tx:
        s = tx.session
        if caller is not None:
            p = authorised(rt, s, caller, rules.may_issue_ticket, hall_id, "issuing tickets for this hall")
            device_id = p.device_id
        conf = hall_config(rt, s, hall_id)
        service = conf.service(service_id)
        now = rt.now()
        day = business_day(now, conf.zone)
        refuse_if_closed(rt, conf, now, day)
        tier, on_roster = roster.ticket_tier(rt, s, hall_id, conf.green_channel, tier, mobile, day)
        channel = Channel.KIOSK if device_id is not None else Channel.STAFF if caller is not None else Channel.SYSTEM
        values = insert_ticket(
            tx, conf, service, tier, mobile, now, day, state=TicketState.WAITING, channel=channel, device_id=device_id
        )
        log_event(
            s,
            values["id"],
            hall_id,
            service.id,
            Action.ISSUE,
            now,
            detail={"tier": tier.value, **({"roster": True} if on_roster else {})},
        )
        tx.record(ev.TicketIssued(hall_id, values["id"], values["label"], service.id, tier.value, channel.value))
        issued = _Issued(**values)
        if not rt.writes_queue:  # one transaction: the place in line and the wait read before the commit
            view = ticket_view(rt, s, issued, conf, now, with_token=True)
        tx.commit()
    if rt.writes_queue:  # three reads the next kiosk's writer need not wait for
        with rt.reader() as tx:
            view = ticket_view(rt, tx.session, issued, conf, now, with_token=True)
    return view


def refuse_if_closed(rt: Runtime, conf: HallConfig, now: datetime, day: date) -> None:
    """409 when the hall issues no tickets now (a closure day, or outside its hours)."""
    if rt.enforce_opening_hours and conf.closures.closed_on(day):
        raise HallClosed(f"the hall is closed today ({conf.closures.days[day] or 'closure'})", field="hall_id")
    if rt.enforce_opening_hours and not conf.opening_hours.is_open(local_time(now, conf.zone)):
        raise HallClosed("the hall is closed now; tickets are issued during opening hours", field="hall_id")


def insert_ticket(
    tx,
    conf: HallConfig,
    service,
    tier: Tier,
    mobile: str | None,
    now: datetime,
    day: date,
    *,
    state: TicketState,
    channel: Channel,
    device_id: int | None = None,
    check_in_by: datetime | None = None,
    queued_at: datetime | None = None,
    checked_in_at: datetime | None = None,
) -> dict:
    """The service's next number today and a ticket holding it, in ``tx``; the ticket's columns
    (``id`` included). Its place in line is from now (``queued_at``), even for a remote ticket; an
    appointment's is its own (domain.appointments.queue_time)."""
    s = tx.session
    number = (
        s.connection()
        .execute(_next_number_statement(tx.dialect), {"hall_id": conf.id, "prefix": service.prefix, "day": day})
        .scalar_one()
    )
    values = {
        "hall_id": conf.id,
        "service_id": service.id,
        "business_day": day,
        "prefix": service.prefix,
        "number": number,
        "label": ticket_label(service.prefix, number),
        "tier": tier.value,
        "mobile": mobile,
        "public_token": secrets.token_urlsafe(16),
        "state": state.value,
        "issued_at": now,
        "queued_at": queued_at or now,
        "counter_id": None,
        "target_counter_id": None,
        "staff_id": None,
        "recalls": 0,
        "called_at": None,
        "started_at": None,
        "closed_at": None,
        "issued_by_device_id": device_id,
        "channel": channel.value,
        "check_in_by": check_in_by,
        "checked_in_at": checked_in_at,
    }
    values["id"] = s.connection().execute(_INSERT_TICKET, values).scalar_one()
    return values


class _Issued:
    """A ticket just inserted, as the views read a ticket row."""

    def __init__(self, **values) -> None:
        self.__dict__.update(values)


def _check_priority_at_kiosk(rt: Runtime, hall_id: int, tier: Tier, caller, guide_pin: str | None) -> None:
    """A kiosk's priority ticket needs the floor guide's PIN (see ``issue_ticket``); staff need none."""
    with rt.reader() as tx:
        p = authorised(rt, tx.session, caller, rules.may_issue_ticket, hall_id, "issuing tickets for this hall")
        if p.device_kind != DeviceKind.KIOSK:
            return
        green_on_word = tier == Tier.GREEN and hall_config(rt, tx.session, hall_id).green_channel.self_declare
    if not green_on_word:
        auth.verify_guide_pin(rt, hall_id, guide_pin, p.id)


def check_guide_pin(rt: Runtime, hall_id: int, pin: str, caller) -> dict:
    """At a kiosk of the hall, as the floor guide types the PIN: whether it is right, before the
    customer chooses a service (``outcome``: right, wrong, locked, none)."""
    with rt.reader() as tx:
        p = authorised(rt, tx.session, caller, rules.may_issue_ticket, hall_id, "issuing tickets for this hall")
    if p.device_kind != DeviceKind.KIOSK:
        raise Forbidden("only a kiosk checks the floor guide's PIN", field="Authorization")
    outcome = auth.check_guide_pin(rt, hall_id, pin, p.id)
    return {"hall_id": hall_id, "valid": outcome == auth.PIN_RIGHT, "outcome": outcome}


def authorised(rt: Runtime, s, caller, allowed, hall_id: int, what: str) -> Principal:
    """The caller, read in this transaction, if ``allowed(principal, hall_id)``; 401 or 403 otherwise."""
    p = auth.authenticate(rt, s, caller)
    rules.require(allowed(p, hall_id), what)
    return p


@functools.cache
def _next_number_statement(dialect: str):
    """Atomic per (hall, prefix, day) counter: an upsert that returns the new value."""
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert_(TicketSequence)
        .values(hall_id=bindparam("hall_id"), prefix=bindparam("prefix"), business_day=bindparam("day"), last_number=1)
        .on_conflict_do_update(
            index_elements=["hall_id", "prefix", "business_day"],
            set_={"last_number": TicketSequence.last_number + 1},
        )
        .returning(TicketSequence.last_number)
    )


_INSERT_TICKET = insert(TICKETS).returning(TICKETS.c.id)
_INSERT_EVENT = insert(EVENTS)


# --------------------------------------------------------------------------- counter actions


def _free_to_call(counter) -> None:
    """A call needs the counter open, not paused, and without a customer."""
    if not counter.is_open:
        raise Conflict(
            f"counter {counter.number} is closed; open it first",
            field="counter_id",
            code="counter_closed",
            counter_number=counter.number,
        )
    if counter.ticket is not None:
        raise CounterBusy(
            f"counter {counter.number} still has {counter.ticket.label} ({counter.ticket.state}); "
            "finish, transfer or mark no-show first",
            field="counter_id",
            counter_number=counter.number,
            label=counter.ticket.label,
        )
    if counter.paused_at is not None:
        raise Conflict(
            f"counter {counter.number} is paused; resume it first",
            field="counter_id",
            code="counter_paused",
            counter_number=counter.number,
        )


def call_next(
    rt: Runtime, counter_id: int, staff_id: int | None = None, *, caller: auth.Credential | None = None
) -> dict:
    """Call the next waiting ticket by the hall's calling rule; ``ticket`` is None when nobody waits."""
    with rt.uow() as tx:
        s, counter, conf, staff_id = _at_counter(rt, tx, counter_id, staff_id, caller, lock=True)
        _free_to_call(counter)
        now = rt.now()
        day = business_day(now, conf.zone)
        serves = conf.counters[counter.id].service_ids
        service_ids = {sid for sid in serves if conf.services[sid].active}
        ticket = _claim_best(tx, conf, day, service_ids, counter, staff_id, now)
        brief = _counter_brief(conf, counter)
        if ticket is None:
            return {"counter": brief, "ticket": None}
        call_id = log_event(s, ticket.id, conf.id, ticket.service_id, Action.CALL, now, counter.id, staff_id)
        tx.record(_called(conf, ticket, counter, call_id, now))
        view = {"counter": brief, "ticket": _at_counter_view(s, conf, ticket, now)}
        _commit_counter_change(tx, counter)
        return view


_WAITING_BY_LABEL = select(TICKETS.c.id, TICKETS.c.state, TICKETS.c.service_id, TICKETS.c.target_counter_id).where(
    TICKETS.c.hall_id == bindparam("hall_id"),
    TICKETS.c.business_day == bindparam("day"),
    TICKETS.c.label == bindparam("label"),
)


def call_ticket(
    rt: Runtime, counter_id: int, label: str, staff_id: int | None = None, *, caller: auth.Credential | None = None
) -> dict:
    """Call one ticket by its number, out of turn (指定叫号): a customer who stepped out and came
    back, or a ticket the manager points to. Only today's ticket of this hall, still waiting, for a
    service this counter serves (or sent to this counter); taken as a call-next takes one (so two
    counters never get it), and kept in the ticket's history as called out of turn."""
    label = (label or "").strip().upper()
    with rt.uow() as tx:
        s, counter, conf, staff_id = _at_counter(rt, tx, counter_id, staff_id, caller, lock=True)
        _free_to_call(counter)
        now = rt.now()
        row = (
            s.connection()
            .execute(_WAITING_BY_LABEL, {"hall_id": conf.id, "day": business_day(now, conf.zone), "label": label})
            .first()
        )
        if row is None:
            raise NotFound(f"no ticket {label} today in this hall", field="label", code="no_such_ticket", label=label)
        if row.state != WAITING:
            raise Conflict(
                f"{label} is not waiting (it is {row.state})", field="label", code="not_waiting", label=label
            )
        if row.service_id not in conf.counters[counter.id].service_ids and row.target_counter_id != counter.id:
            raise Conflict(
                f"counter {counter.number} does not serve {label}'s service",
                field="label",
                code="not_served_here",
                label=label,
                counter_number=counter.number,
            )
        ticket = _claim(tx, row.id, counter, staff_id, now)
        if ticket is None:
            raise Conflict(
                f"{label} was called by another counter just now", field="label", code="not_waiting", label=label
            )
        call_id = log_event(
            s,
            ticket.id,
            conf.id,
            ticket.service_id,
            Action.CALL,
            now,
            counter.id,
            staff_id,
            detail={"out_of_turn": True},
        )
        tx.record(_called(conf, ticket, counter, call_id, now))
        view = {"counter": _counter_brief(conf, counter), "ticket": _at_counter_view(s, conf, ticket, now)}
        _commit_counter_change(tx, counter)
        return view


def _called(conf: HallConfig, ticket, counter, call_id: int, now: datetime | None = None) -> ev.TicketCalled:
    """What the screens announce: a first call (with how long the customer waited, from ``now``) or,
    without ``now``, a recall (its count); ``call_id`` is the call's entry in the ticket's history,
    which the hall's snapshot lists with its recent calls (``_recent_calls``)."""
    first = now is not None
    return ev.TicketCalled(
        conf.id,
        ticket.id,
        ticket.label,
        ticket.service_id,
        counter.id,
        counter.number,
        recall=0 if first else ticket.recalls,
        public_token=ticket.public_token,
        waited_s=waited_s(ticket, now) if now is not None else None,
        call_id=call_id,
    )


CANDIDATES_PER_GROUP = 3
CLAIM_ROUNDS = 20


def _claim_best(tx, conf: HallConfig, day, service_ids, counter, staff_id, now):
    """Claim the first ticket in calling order; if other counters take (or, on PostgreSQL, are taking)
    the candidates first, look again further down the queue, past the ones tried."""
    passed: list[int] = []
    for _ in range(CLAIM_ROUNDS):
        candidates = _call_candidates(tx.session, conf.id, day, service_ids, counter.id, passed)
        if not candidates:
            return None
        for candidate in calling_order(candidates, counter.id, service_ids, now, conf.targets, conf.policy):
            ticket = _claim(tx, candidate.id, counter, staff_id, now)
            if ticket is not None:
                return ticket
            passed.append(candidate.id)
    raise Conflict(
        "other counters are calling the same customers right now; call again",
        field="counter_id",
        code="calls_contended",
    )


_CANDIDATE_COLUMNS = (
    TICKETS.c.id,
    TICKETS.c.service_id,
    TICKETS.c.tier,
    TICKETS.c.queued_at,
    TICKETS.c.target_counter_id,
)


@functools.lru_cache(maxsize=128)
def _candidates_statement(services: int, passing: bool):
    """The oldest few waiting tickets of each (service, tier) group a counter may call, and those sent
    to this counter (transfers to it: few).

    Within one group the calling rule's order is plain queue order (same target, same head
    start), so the rule's first choice is always among these heads. Each group is one short
    range of the index on (hall, day, state, service, tier, target counter, queued_at), read in its
    order, however long the queue. ``passing``: leave out the tickets in ``passed`` (a second round);
    the first round has none, and an empty ``NOT IN`` still costs SQLite a subquery per group.
    """
    today = and_(TICKETS.c.business_day == bindparam("day"), IS_WAITING)
    if passing:
        today = and_(today, TICKETS.c.id.not_in(bindparam("passed", expanding=True)))
    waiting = and_(TICKETS.c.hall_id == bindparam("hall_id"), today)
    heads = [
        select(*_CANDIDATE_COLUMNS)
        .where(
            waiting,
            TICKETS.c.service_id == bindparam(f"service_{i}"),
            TICKETS.c.tier == tier.value,
            TICKETS.c.target_counter_id.is_(None),
        )
        .order_by(TICKETS.c.queued_at, TICKETS.c.id)
        .limit(CANDIDATES_PER_GROUP)
        .subquery()
        .select()
        for i in range(services)
        for tier in Tier
    ]
    # The counter implies its hall: without the hall, only the small index of tickets sent to a
    # counter serves this part. With it, PostgreSQL took the queue's index (the hall, the day and
    # the state lead it), which holds the target counter last: every waiting ticket of the hall read.
    sent_here = select(*_CANDIDATE_COLUMNS).where(TICKETS.c.target_counter_id == bindparam("counter_id"), today)
    return union_all(*heads, sent_here)


def _call_candidates(
    s, hall_id: int, day: date, service_ids: set[int], counter_id: int, passed: list[int]
) -> list[WaitingTicket]:
    params = {
        "hall_id": hall_id,
        "day": day,
        "counter_id": counter_id,
        **{f"service_{i}": sid for i, sid in enumerate(sorted(service_ids))},
    }
    if passed:
        params["passed"] = passed
    rows = s.connection().execute(_candidates_statement(len(service_ids), bool(passed)), params)
    return [WaitingTicket(r.id, r.service_id, Tier(r.tier), r.queued_at, r.target_counter_id) for r in rows]


def _claim_statement(skip_locked: bool):
    """One statement takes a waiting ticket for a counter and returns it. PostgreSQL: ``FOR UPDATE
    SKIP LOCKED`` passes over a ticket another counter is claiming right now instead of waiting for
    it. Everywhere: only a ticket still waiting is taken (compare-and-set)."""
    values = {
        "state": TicketState.CALLED.value,
        "counter_id": bindparam("counter_id"),
        "staff_id": bindparam("staff_id"),
        "called_at": bindparam("now"),
        "recalls": 0,
        "target_counter_id": None,
    }
    still_waiting = and_(TICKETS.c.id == bindparam("ticket_id"), IS_WAITING)
    if skip_locked:
        chosen = select(TICKETS.c.id).where(still_waiting).with_for_update(skip_locked=True).scalar_subquery()
        where = and_(TICKETS.c.id == chosen, IS_WAITING)
    else:
        where = still_waiting
    return update(TICKETS).where(where).values(values).returning(*TICKETS.c)


_CLAIM = {False: _claim_statement(False), True: _claim_statement(True)}


def _claim(tx, ticket_id: int, counter, staff_id: int | None, now: datetime):
    """Take one waiting ticket for this counter, or None if another counter got it first."""
    try:
        return (
            tx.session.connection()
            .execute(
                _CLAIM[tx.dialect == "postgresql"],
                {"ticket_id": ticket_id, "counter_id": counter.id, "staff_id": staff_id, "now": now},
            )
            .first()
        )
    except IntegrityError:  # uq_ticket_at_counter: another call at this counter won
        raise CounterBusy(
            f"counter {counter.number} already has a customer; finish it first", field="counter_id"
        ) from None


def recall(
    rt: Runtime,
    counter_id: int,
    staff_id: int | None = None,
    ticket_id: int | None = None,
    *,
    caller: auth.Credential | None = None,
) -> dict:
    """Announce the counter's called ticket again (at most the hall's max recalls)."""
    with rt.uow() as tx:
        s, counter, ticket, conf, now, staff_id = _current(rt, tx, counter_id, ticket_id, staff_id, caller)
        if ticket.recalls >= conf.policy.max_recalls:
            raise Conflict(
                f"{ticket.label} was already recalled {ticket.recalls} times; mark it no-show",
                field="ticket_id",
                code="recall_limit",
                label=ticket.label,
                recalls=ticket.recalls,
            )
        ticket, call_id = logged_transition(
            s, ticket, Action.RECALL, now, counter.id, staff_id, recalls=ticket.recalls + 1
        )
        tx.record(_called(conf, ticket, counter, call_id))
        view = {"counter": _counter_brief(conf, counter), "ticket": _at_counter_view(s, conf, ticket, now)}
        tx.commit()
        return view


def start_service(
    rt: Runtime,
    counter_id: int,
    staff_id: int | None = None,
    ticket_id: int | None = None,
    *,
    caller: auth.Credential | None = None,
) -> dict:
    """The customer has arrived at the counter: service time starts now."""
    with rt.uow() as tx:
        s, counter, ticket, conf, now, staff_id = _current(rt, tx, counter_id, ticket_id, staff_id, caller)
        ticket = transition(s, ticket, Action.START, now, counter.id, staff_id, started_at=now)
        tx.record(ev.ServiceStarted(conf.id, ticket.id, ticket.label, counter.id))
        view = {"counter": _counter_brief(conf, counter), "ticket": _at_counter_view(s, conf, ticket, now)}
        tx.commit()
        return view


def finish_service(
    rt: Runtime,
    counter_id: int,
    staff_id: int | None = None,
    ticket_id: int | None = None,
    *,
    caller: auth.Credential | None = None,
) -> dict:
    """Service done; the counter is free. Emits ServiceFinished (which later triggers the SMS survey)."""
    with rt.uow() as tx:
        s, counter, ticket, conf, now, staff_id = _current(rt, tx, counter_id, ticket_id, staff_id, caller)
        handle_s = _handle_seconds(ticket, now)
        ticket = transition(
            s,
            ticket,
            Action.FINISH,
            now,
            counter.id,
            staff_id,
            duration_s=handle_s,
            closed_at=now,
            counter_id=None,
            started_at=ticket.started_at or ticket.called_at,
        )
        tx.record(
            ev.ServiceFinished(
                conf.id,
                ticket.id,
                ticket.label,
                ticket.service_id,
                counter.id,
                staff_id,
                handle_s,
                ticket.mobile is not None,
                ticket.public_token,
            )
        )
        view = {"counter": _counter_brief(conf, counter), "ticket": _ticket_brief(ticket)}
        tx.commit()
        return view


def mark_no_show(
    rt: Runtime,
    counter_id: int,
    staff_id: int | None = None,
    ticket_id: int | None = None,
    *,
    caller: auth.Credential | None = None,
) -> dict:
    """The called customer did not come, after the hall's minimum number of recalls."""
    with rt.uow() as tx:
        s, counter, ticket, conf, now, staff_id = _current(rt, tx, counter_id, ticket_id, staff_id, caller)
        needed = conf.policy.recalls_before_no_show
        if ticket.state == TicketState.CALLED.value and ticket.recalls < needed:
            raise Conflict(
                f"recall {ticket.label} at least {needed} time(s) before marking no-show",
                field="ticket_id",
                code="recall_first",
                label=ticket.label,
                needed=needed,
            )
        ticket = transition(s, ticket, Action.NO_SHOW, now, counter.id, staff_id, closed_at=now, counter_id=None)
        tx.record(ev.TicketNoShow(conf.id, ticket.id, ticket.label, counter.id, ticket.public_token))
        view = {"counter": _counter_brief(conf, counter), "ticket": _ticket_brief(ticket)}
        tx.commit()
        return view


def transfer(
    rt: Runtime,
    counter_id: int,
    to_service_id: int,
    to_counter_id: int | None = None,
    staff_id: int | None = None,
    ticket_id: int | None = None,
    *,
    note: str | None = None,
    caller: auth.Credential | None = None,
) -> dict:
    """Send the counter's customer to another service (and optionally one counter), keeping their
    place in time; ``note`` goes with them and the next counter sees it with where they have been."""
    with rt.uow() as tx:
        s, counter, ticket, conf, now, staff_id = _current(rt, tx, counter_id, ticket_id, staff_id, caller)
        service = conf.service(to_service_id, "to_service_id")
        if to_counter_id is not None:
            target = conf.counters.get(to_counter_id)
            if target is None or not target.active:
                raise NotFound(f"no counter {to_counter_id} in this hall", field="to_counter_id")
            if target.id == counter.id:
                raise Invalid(
                    "cannot transfer a ticket to the counter it is at", field="to_counter_id", code="same_counter"
                )
        from_service = ticket.service_id
        handle_s = _handle_seconds(ticket, now)
        ticket = transition(
            s,
            ticket,
            Action.TRANSFER,
            now,
            counter.id,
            staff_id,
            duration_s=handle_s,
            detail={
                "to_service_id": service.id,
                "to_counter_id": to_counter_id,
                **({"note": note.strip()} if note and note.strip() else {}),
            },
            service_id=service.id,
            counter_id=None,
            target_counter_id=to_counter_id,
            called_at=None,
            started_at=None,
            recalls=0,
            staff_id=None,
            transfers=ticket.transfers + 1,
        )
        tx.record(
            ev.TicketTransferred(
                conf.id,
                ticket.id,
                ticket.label,
                from_service,
                service.id,
                counter.id,
                to_counter_id,
                ticket.public_token,
            )
        )
        view = {"counter": _counter_brief(conf, counter), "ticket": _ticket_brief(ticket)}
        tx.commit()
        return view


def cancel_ticket(rt: Runtime, public_token: str) -> dict:
    """The customer gives up their place (from their phone)."""
    with rt.uow() as tx:
        s = tx.session
        ticket = ticket_by_token(s, public_token)
        now = rt.now()
        ticket = transition(s, ticket, Action.CANCEL, now, None, None, closed_at=now)
        tx.record(ev.TicketCancelled(ticket.hall_id, ticket.id, ticket.label, ticket.public_token))
        view = _ticket_brief(ticket)
        tx.commit()
        return view


def expire_past_days(rt: Runtime) -> int:
    """Close tickets left open when their hall's business day ended (run by the scheduler).

    Without this, a ticket left "called" yesterday would keep its counter busy today.
    Each hall is one transaction; returns how many tickets were closed.
    """
    with rt.reader() as tx:
        halls = [(h.id, h.timezone) for h in tx.session.execute(select(Hall.id, Hall.timezone))]
    closed = 0
    for hall_id, zone in halls:
        with rt.uow() as tx:
            s = tx.session
            now = rt.now()
            stale = s.execute(
                select(*TICKETS.c).where(
                    TICKETS.c.hall_id == hall_id,
                    TICKETS.c.business_day < business_day(now, parse_zone(zone)),
                    ticket_in_state(WAITING, REMOTE, *AT_COUNTER),
                )
            ).all()
            for ticket in stale:
                transition(s, ticket, Action.EXPIRE, now, ticket.counter_id, None, closed_at=now, counter_id=None)
                tx.record(ev.TicketCancelled(hall_id, ticket.id, ticket.label, ticket.public_token))
            tx.commit()
            closed += len(stale)
    return closed


def open_counter(
    rt: Runtime,
    counter_id: int,
    staff_id: int | None,
    service_ids: list[int] | None = None,
    *,
    caller: auth.Credential | None = None,
) -> dict:
    """Open a counter for calling, with the staff member at it and optionally the services it serves today."""
    with rt.uow() as tx:
        s, counter, staff_id = _operated_counter(rt, tx, counter_id, staff_id, caller)  # one session at a time
        if staff_id is not None:
            elsewhere = s.execute(
                select(Counter.number).where(
                    Counter.staff_id == staff_id, Counter.is_open.is_(True), Counter.id != counter.id
                )
            ).scalar()
            if elsewhere is not None:
                raise Conflict(
                    f"you are still signed in at counter {elsewhere}; close it first",
                    field="counter_id",
                    code="signed_in_elsewhere",
                    elsewhere=elsewhere,
                )
        if service_ids is not None:
            counter.services = hall_services(s, counter.hall_id, service_ids)
        now = rt.now()
        _end_session(s, counter.id, now)  # reopened with another staff member: a new session
        s.add(CounterSession(hall_id=counter.hall_id, counter_id=counter.id, staff_id=staff_id, opened_at=now))
        counter.is_open = True
        counter.staff_id = staff_id
        counter.opened_at = now
        tx.record(ev.CounterOpened(counter.hall_id, counter.id, staff_id))
        return _commit_counter_change(tx, counter, view=_orm_counter_brief(counter))


def close_counter(rt: Runtime, counter_id: int, *, caller: auth.Credential | None = None) -> dict:
    """Close a counter; refused while a customer is at it."""
    with rt.uow() as tx:
        s, counter, _ = _operated_counter(rt, tx, counter_id, None, caller)  # waits for a call in progress here
        _refuse_with_customer(s, counter)
        _end_session(s, counter.id, rt.now())
        _end_pause(s, counter, rt.now())
        counter.is_open = False
        counter.staff_id = None
        counter.opened_at = None
        tx.record(ev.CounterClosed(counter.hall_id, counter.id))
        return _commit_counter_change(tx, counter, view=_orm_counter_brief(counter))


def take_over_counter(
    rt: Runtime, counter_id: int, staff_id: int | None = None, *, caller: auth.Credential | None = None
) -> dict:
    """Take over an open counter another staff member holds (a colleague's break, a shift change): the
    taker holds it from now, with the customer at it if any. Audited; the first console is told
    (``CounterTakenOver``)."""
    with rt.uow() as tx:
        s = tx.session
        if caller is not None:
            taker = authorised(
                rt,
                s,
                caller,
                rules.may_operate_counter,
                _hall_of_counter(rt, s, counter_id),
                "operating a counter of this hall",
            )
            audit.acting_as(taker)  # the trail names who took it over
            staff_id = taker.staff_id
        if staff_id is None:
            raise Invalid("only a staff member takes a counter over", field="counter_id")
        counter = _counter(s, counter_id, lock=True)
        if not counter.is_open:
            raise Conflict(
                f"counter {counter.number} is closed; open it instead",
                field="counter_id",
                code="counter_closed",
                counter_number=counter.number,
            )
        if counter.staff_id == staff_id:
            return _orm_counter_brief(counter)  # already theirs
        elsewhere = s.execute(
            select(Counter.number).where(
                Counter.staff_id == staff_id, Counter.is_open.is_(True), Counter.id != counter.id
            )
        ).scalar()
        if elsewhere is not None:
            raise Conflict(
                f"you are still signed in at counter {elsewhere}; close it first",
                field="counter_id",
                code="signed_in_elsewhere",
                elsewhere=elsewhere,
            )
        now = rt.now()
        before = {"staff_id": counter.staff_id}
        _end_session(s, counter.id, now)
        s.add(CounterSession(hall_id=counter.hall_id, counter_id=counter.id, staff_id=staff_id, opened_at=now))
        from_staff, counter.staff_id = counter.staff_id, staff_id
        name = s.execute(select(Staff.name).where(Staff.id == staff_id)).scalar() or ""
        audit.record(s, now, "take_over", "counter", counter.id, counter.hall_id, before, {"staff_id": staff_id})
        tx.record(ev.CounterTakenOver(counter.hall_id, counter.id, from_staff, staff_id, name))
        return _commit_counter_change(tx, counter, view=_orm_counter_brief(counter))


def _end_session(s, counter_id: int, now: datetime) -> None:
    """Close the counter's open session (its open time ends now)."""
    s.execute(
        update(CounterSession)
        .where(CounterSession.counter_id == counter_id, CounterSession.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )


def pause_counter(
    rt: Runtime, counter_id: int, reason: str, staff_id: int | None = None, *, caller: auth.Credential | None = None
) -> dict:
    """Stop calling at an open counter for a while (小休, 业务学习, 系统故障): refused with a customer
    at it, or if it is paused already; the display and the manager's page show it paused."""
    why = PauseReason(reason)
    with rt.uow() as tx:
        s, counter, staff_id = _operated_counter(rt, tx, counter_id, staff_id, caller)
        if not counter.is_open:
            raise Conflict(
                f"counter {counter.number} is closed; open it first",
                field="counter_id",
                code="counter_closed",
                counter_number=counter.number,
            )
        if counter.paused_at is not None:
            raise Conflict(
                f"counter {counter.number} is paused already",
                field="counter_id",
                code="counter_paused",
                counter_number=counter.number,
            )
        _refuse_with_customer(s, counter)
        now = rt.now()
        counter.paused_at, counter.pause_reason = now, why.value
        s.add(
            CounterPause(
                hall_id=counter.hall_id, counter_id=counter.id, staff_id=staff_id, reason=why.value, started_at=now
            )
        )
        tx.record(ev.CounterPaused(counter.hall_id, counter.id, why.value))
        return _commit_counter_change(tx, counter, view=_orm_counter_brief(counter))


def resume_counter(
    rt: Runtime, counter_id: int, staff_id: int | None = None, *, caller: auth.Credential | None = None
) -> dict:
    """Call again at a paused counter."""
    with rt.uow() as tx:
        s, counter, staff_id = _operated_counter(rt, tx, counter_id, staff_id, caller)
        if counter.paused_at is None:
            raise Conflict(
                f"counter {counter.number} is not paused",
                field="counter_id",
                code="counter_not_paused",
                counter_number=counter.number,
            )
        _end_pause(s, counter, rt.now())
        tx.record(ev.CounterResumed(counter.hall_id, counter.id))
        return _commit_counter_change(tx, counter, view=_orm_counter_brief(counter))


def _operated_counter(rt: Runtime, tx, counter_id: int, staff_id, caller):
    """The counter (ORM, locked) for a change by who works it: authorised, and refused if another holds it."""
    s = tx.session
    if caller is not None:
        staff_id = authorised(
            rt,
            s,
            caller,
            rules.may_operate_counter,
            _hall_of_counter(rt, s, counter_id),
            "operating a counter of this hall",
        ).staff_id
    counter = _counter(s, counter_id, lock=True)
    _refuse_if_held(s, counter.number, counter.is_open, counter.staff_id, staff_id)
    return s, counter, staff_id


def _refuse_with_customer(s, counter: Counter) -> None:
    """409 while a customer is at the counter (closing or pausing it waits for them)."""
    current = _active_ticket(s, counter.id)
    if current is not None:
        raise CounterBusy(
            f"counter {counter.number} still has {current.label} ({current.state}); "
            "finish, transfer or mark no-show first",
            field="counter_id",
            counter_number=counter.number,
            label=current.label,
        )


def _end_pause(s, counter: Counter, now: datetime) -> None:
    """End the counter's pause, if any (resumed, or the counter closed)."""
    if counter.paused_at is None:
        return
    s.execute(
        update(CounterPause)
        .where(CounterPause.counter_id == counter.id, CounterPause.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    counter.paused_at = counter.pause_reason = None


def _commit_counter_change(tx, counter, view=None):
    try:
        tx.commit()
        return view
    except IntegrityError:
        raise CounterBusy(
            f"counter {counter.number} already has a customer; finish it first", field="counter_id"
        ) from None


# --------------------------------------------------------------------------- views


def ticket_status(rt: Runtime, public_token: str, with_token: bool = False) -> dict:
    """The customer's view of their ticket: state, people ahead, estimated wait, counter when called."""
    with rt.reader() as tx:
        s = tx.session
        ticket = ticket_by_token(s, public_token)
        return ticket_view(rt, s, ticket, hall_config(rt, s, ticket.hall_id), rt.now(), with_token=with_token)


def ticket_statuses(rt: Runtime, public_tokens: list[str]) -> dict[str, dict]:
    """Many customers' views at once (the phone pages of a hall after a change): the hall's
    queue is read once, then only each ticket's place in line. Unknown tokens are left out."""
    with rt.reader() as tx:
        s = tx.session
        now = rt.now()
        tickets = s.execute(select(*TICKETS.c).where(TICKETS.c.public_token.in_(public_tokens))).all()
        views, contexts, configs = {}, {}, {}
        for ticket in sorted(tickets, key=lambda t: t.hall_id):
            if ticket.hall_id not in configs:
                configs[ticket.hall_id] = hall_config(rt, s, ticket.hall_id)
            conf = configs[ticket.hall_id]
            if ticket.hall_id not in contexts and ticket.state in (WAITING, REMOTE):
                contexts[ticket.hall_id] = _QueueContext.load(s, conf, business_day(now, conf.zone))
            views[ticket.public_token] = ticket_view(rt, s, ticket, conf, now, ctx=contexts.get(ticket.hall_id))
        return views


def counter_state(rt: Runtime, counter_id: int) -> dict:
    """What a counter console shows: the counter, its current ticket, and its queue in calling order."""
    with rt.reader() as tx:
        s = tx.session
        counter = _counter_row(rt, s, counter_id)
        conf = hall_config(rt, s, counter.hall_id, version=counter.config_version)
        now = rt.now()
        current = counter.ticket
        day = business_day(now, conf.zone)
        service_ids = {sid for sid in conf.counters[counter.id].service_ids if conf.services[sid].active}
        waiting = _waiting_tickets(s, conf.id, day, service_ids, counter.id)
        order = calling_order(waiting, counter.id, service_ids, now, conf.targets, conf.policy)
        shown = {
            r.id: r
            for r in s.execute(
                select(
                    TICKETS.c.id, TICKETS.c.label, TICKETS.c.channel, TICKETS.c.queued_at, TICKETS.c.checked_in_at
                ).where(TICKETS.c.id.in_([t.id for t in order[:50]]))
            )
        }
        holder = None
        if counter.is_open and counter.staff_id is not None:  # who the console should see at it
            holder = {
                "id": counter.staff_id,
                "name": s.execute(select(Staff.name).where(Staff.id == counter.staff_id)).scalar(),
            }
        return {
            "counter": _counter_brief(conf, counter),
            "holder": holder,
            "ticket": _at_counter_view(s, conf, current, now) if current else None,
            "waiting": len(order),
            "next": [
                {
                    "id": t.id,
                    "label": shown[t.id].label,
                    "channel": shown[t.id].channel,
                    "tier": t.tier.value,
                    "service_id": t.service_id,
                    "waited_s": max(0, waited_s(shown[t.id], now)),
                }  # in the hall: an appointment from check-in
                for t in order[:50]
            ],
        }


_HALL_COUNTERS = (
    select(COUNTERS.c.id, COUNTERS.c.is_open, COUNTERS.c.staff_id, COUNTERS.c.paused_at, COUNTERS.c.pause_reason)
    .where(COUNTERS.c.hall_id == bindparam("hall_id"), COUNTERS.c.active.is_(True))
    .order_by(COUNTERS.c.number)
)
_AT_COUNTERS = select(*TICKETS.c).where(TICKETS.c.hall_id == bindparam("hall_id"), AT_COUNTER_NOW)


def hall_snapshot(rt: Runtime, hall_id: int) -> dict:
    """A hall's live queue: per service waiting and estimated wait, counters, recent calls."""
    with rt.reader() as tx:
        s = tx.session
        conf = hall_config(rt, s, hall_id)
        now = rt.now()
        day = business_day(now, conf.zone)
        ctx = _QueueContext.load(s, conf, day)
        services = []
        for svc in conf.services.values():
            if not svc.active:
                continue
            waiting = ctx.waiting_by_service.get(svc.id, 0)
            load = ctx.service_load(svc.id)
            services.append(
                {
                    **svc.brief(),
                    "waiting": waiting,
                    "open_counters": sum(1 for c in ctx.open_counters if svc.id in c.service_ids),
                    "handle_time_s": round(load.handle_time_s),
                    "estimated_wait_s": (wait_s := estimate_wait_s(waiting, load)),
                    "self_service_first": self_service_first(svc.self_service_zh, wait_s),
                }
            )
        serving = {t.counter_id: t for t in s.connection().execute(_AT_COUNTERS, {"hall_id": hall_id})}
        counters = [
            {**_counter_brief(conf, c), "ticket": _ticket_brief(serving[c.id]) if c.id in serving else None}
            for c in s.connection().execute(_HALL_COUNTERS, {"hall_id": hall_id})
        ]
        local = local_time(now, conf.zone)
        open_now = open_at(conf.opening_hours, conf.closures, local)
        opens = None if open_now else next_opening(conf.opening_hours, conf.closures, local)
        return {
            "hall": {
                "id": conf.id,
                "code": conf.code,
                "name_zh": conf.name_zh,
                "name_en": conf.name_en,
                "timezone": conf.timezone,
                "open_now": open_now,
                # whether a kiosk issues tickets now (ENFORCE_OPENING_HOURS=0: whatever the hours say)
                "issuing": open_now or not rt.enforce_opening_hours,
                "opens_at": opens.isoformat() if opens else None,
                "green_channel": conf.green_channel.to_dict(),
                "remote_queue": conf.remote.to_dict(),
                "booking": {"enabled": conf.booking.enabled},
                "screen": screen_settings(conf.screen),
                "priority_pin_set": conf.priority_pin_set,
            },
            "business_day": day.isoformat(),
            "at": now.isoformat(),
            "services": services,
            "counters": counters,
            "recent_calls": _recent_calls(s, conf, day),
            "media": hall_media.playlist(s, hall_id),  # the displays' media area, beside the calls
            "load": live_load(
                s,
                conf.id,
                conf.zone,
                conf.opening_hours,
                conf.load_rules,
                now,
                sum(ctx.waiting_by_service.values()),
                len(ctx.open_counters),
            ),
        }


_RECENT_CALLS = (
    select(EVENTS.c.id, EVENTS.c.at, EVENTS.c.kind, EVENTS.c.counter_id, EVENTS.c.ticket_id, TICKETS.c.label)
    .join(TICKETS, TICKETS.c.id == EVENTS.c.ticket_id)
    .where(
        EVENTS.c.hall_id == bindparam("hall_id"),
        TICKETS.c.business_day == bindparam("day"),
        EVENTS.c.kind.in_([Action.CALL.value, Action.RECALL.value]),
        EVENTS.c.counter_id.is_not(None),
    )
    .order_by(EVENTS.c.id.desc())
    .limit(bindparam("limit"))
)


def _recent_calls(s, conf: HallConfig, day: date, limit: int = 10) -> list[dict]:
    """The latest calls, newest first, one line a ticket: a recall (or a call at another counter after a
    transfer) moves its ticket's line to the top instead of adding a second one. ``call_id`` is the
    call's own (its ``TicketCalled`` carries it too): a display that missed a call's delta finds the
    call here, in the next snapshot, and tells it from one it already announced."""
    calls, seen = [], set()
    for r in s.connection().execute(_RECENT_CALLS, {"hall_id": conf.id, "day": day, "limit": limit * 4}):
        if r.label in seen:
            continue
        seen.add(r.label)
        calls.append(
            {
                "call_id": r.id,
                "ticket_id": r.ticket_id,
                "label": r.label,
                "counter_id": r.counter_id,
                "counter_number": conf.counters[r.counter_id].number,
                "at": r.at.isoformat(),
                "recall": r.kind == Action.RECALL.value,
            }
        )
    return calls[:limit]


class _QueueContext:
    """What wait estimates need, loaded in a few queries for one hall and day."""

    ahead: Any = None  # the people-ahead bounds of one ticket, when loaded for one (load(..., ahead_of=...))

    def __init__(self, conf, day, waiting_by_service, open_counters, busy_counters, samples):
        self.conf = conf
        self.day = day
        self.waiting_by_service: dict[int, int] = waiting_by_service
        self.open_counters = open_counters
        self.busy_counters = busy_counters
        self.samples = samples

    @classmethod
    def load(
        cls, s, conf: HallConfig, day: date, service_id: int | None = None, ahead_params: dict | None = None
    ) -> _QueueContext:
        """``ahead_params``: also count the people ahead of that ticket (of the general queue) in the
        same statement (``ahead``); ``waiting_by_service`` then says only whether anyone waits
        (1 or 0), which is all the estimate asks of the other services."""
        params = {"hall_id": conf.id, "day": day}
        ahead = None
        if ahead_params is not None:
            services = list(conf.services)
            row = (
                s.connection()
                .execute(
                    _ahead_and_waiting_statement(len(services)),
                    {**ahead_params, **{f"service_{i}": sid for i, sid in enumerate(services)}},
                )
                .one()
            )
            ahead = row[0]
            waiting_by_service = {sid: int(bool(anyone)) for sid, anyone in zip(services, row[1:], strict=True)}
        else:
            waiting_by_service = dict(s.connection().execute(_WAITING_BY_SERVICE, params).all())
        open_counters, busy = [], set()
        for counter_id, is_busy in s.connection().execute(_OPEN_COUNTERS, params):
            served = conf.counters[counter_id].service_ids
            if served:
                open_counters.append(_OpenCounter(counter_id, frozenset(served)))
                if is_busy:
                    busy.add(counter_id)
        wanted = [service_id] if service_id is not None else list(conf.services)
        ctx = cls(conf, day, waiting_by_service, open_counters, busy, _handle_samples(s, wanted))
        ctx.ahead = ahead
        return ctx

    def service_load(self, service_id: int) -> ServiceLoad:
        svc = self.conf.services[service_id]
        serving_it = [c for c in self.open_counters if service_id in c.service_ids]
        return ServiceLoad(
            capacity=effective_counters(service_id, (c.service_ids for c in serving_it), self.waiting_by_service),
            idle_counters=sum(1 for c in serving_it if c.id not in self.busy_counters),
            handle_time_s=recent_handle_time(self.samples.get(service_id, []), svc.handle_time_s),
        )


_WAITING_BY_SERVICE = (
    select(TICKETS.c.service_id, func.count())
    .where(
        TICKETS.c.hall_id == bindparam("hall_id"),
        TICKETS.c.business_day == bindparam("day"),
        IS_WAITING,
        TICKETS.c.target_counter_id.is_(None),
    )
    .group_by(TICKETS.c.service_id)
)
# The partial unique index on tickets(counter_id) for called/serving answers the busy test.
_OPEN_COUNTERS = select(
    COUNTERS.c.id,
    exists().where(TICKETS.c.counter_id == COUNTERS.c.id, AT_COUNTER_NOW).label("busy"),
).where(COUNTERS.c.hall_id == bindparam("hall_id"), COUNTERS.c.is_open.is_(True), COUNTERS.c.active.is_(True))


class _OpenCounter:
    __slots__ = ("id", "service_ids")

    def __init__(self, id: int, service_ids: frozenset[int]):
        self.id = id
        self.service_ids = service_ids


def _samples_of(service_id):
    """The last handle times of one service, newest first: the last entries of the partial index that
    holds only handle times (``ix_ticket_events_handle_times``), with no sort."""
    return (
        select(EVENTS.c.service_id, EVENTS.c.duration_s)
        .where(EVENTS.c.service_id == service_id, has_handle_time())
        .order_by(EVENTS.c.id.desc())
        .limit(MAX_SAMPLES)
    )


_SAMPLES_ONE = _samples_of(bindparam("service_id"))


@functools.lru_cache(maxsize=64)
def _samples_statement(count: int):
    """The last handle times of ``count`` services in one statement: each part bounded by the index,
    never a window over every finished ticket of the hall."""
    parts = [_samples_of(bindparam(f"service_{i}")).subquery().select() for i in range(count)]
    return union_all(*parts)


def _handle_samples(s, service_ids: list[int]) -> dict[int, list[float]]:
    """Up to MAX_SAMPLES most recent real handle times per service, newest first."""
    samples: dict[int, list[float]] = {}
    if not service_ids:
        return samples
    if len(service_ids) == 1:
        rows = s.connection().execute(_SAMPLES_ONE, {"service_id": service_ids[0]})
    else:
        rows = s.connection().execute(
            _samples_statement(len(service_ids)), {f"service_{i}": sid for i, sid in enumerate(service_ids)}
        )
    for svc_id, duration in rows:
        samples.setdefault(svc_id, []).append(duration)
    return samples


def _ahead_params(ticket, now: datetime, conf: HallConfig) -> dict:
    """The rule's per-tier bounds for ``ticket`` as the parameters of the people-ahead condition."""
    params = {
        "hall_id": ticket.hall_id,
        "day": ticket.business_day,
        "service_id": ticket.service_id,
        "me": ticket.id,
        "target_counter_id": ticket.target_counter_id,
    }
    for tier, (bound, tie) in ahead_bounds(_waiting_ticket(ticket), now, conf.targets, conf.policy).items():
        params[f"bound_{tier.value}"] = bound
        params[f"tie_all_{tier.value}"] = tie == TIE_ALL
        params[f"tie_id_{tier.value}"] = tie == TIE_LOWER_ID
    return params


def people_ahead(s, ticket, now: datetime, conf: HallConfig) -> int:
    """Waiting tickets called before this one: counted by the database with the rule's per-tier bounds."""
    return s.connection().execute(_PEOPLE_AHEAD, _ahead_params(ticket, now, conf)).scalar_one()


def _called_before_me():
    """A waiting ticket of the same service that the calling rule takes before ``me`` (the per-tier
    bounds and tie rules of calling.ahead_bounds are parameters)."""

    def before(tier: Tier):
        bound = bindparam(f"bound_{tier.value}", type_=TICKETS.c.queued_at.type)
        at_bound = and_(
            TICKETS.c.queued_at == bound,
            or_(
                bindparam(f"tie_all_{tier.value}", type_=Boolean),
                and_(bindparam(f"tie_id_{tier.value}", type_=Boolean), TICKETS.c.id < bindparam("me")),
            ),
        )
        return and_(TICKETS.c.tier == tier.value, or_(TICKETS.c.queued_at < bound, at_bound))

    return and_(
        TICKETS.c.service_id == bindparam("service_id"),
        TICKETS.c.id != bindparam("me"),
        or_(*[before(tier) for tier in Tier]),
    )


def _people_ahead_statement():
    """Built once: how many waiting tickets the rule calls before ``me``."""
    target = bindparam("target_counter_id", type_=Integer)
    return select(func.count()).where(
        TICKETS.c.hall_id == bindparam("hall_id"),
        TICKETS.c.business_day == bindparam("day"),
        IS_WAITING,
        or_(and_(target.is_(None), TICKETS.c.target_counter_id.is_(None)), TICKETS.c.target_counter_id == target),
        _called_before_me(),
    )


_PEOPLE_AHEAD = _people_ahead_statement()


@functools.lru_cache(maxsize=64)
def _ahead_and_waiting_statement(services: int):
    """A ticket in the general queue (no target counter): its place in line, counted over its own
    service's waiting tickets, and for each of the hall's ``services`` whether anyone waits in the
    general queue (one probe of the queue's index each). One row: ``ahead``, then one flag per
    service. It was one pass over every waiting ticket of the hall, which grew with the whole
    hall's queue for a question about one service."""
    general = and_(
        TICKETS.c.hall_id == bindparam("hall_id"),
        TICKETS.c.business_day == bindparam("day"),
        IS_WAITING,
        TICKETS.c.target_counter_id.is_(None),
    )
    ahead = select(func.count()).where(general, _called_before_me()).scalar_subquery()
    anyone = [
        exists().where(general, TICKETS.c.service_id == bindparam(f"service_{i}", type_=Integer)).label(f"w{i}")
        for i in range(services)
    ]
    return select(ahead.label("ahead"), *anyone)


def ticket_view(
    rt: Runtime, s, ticket, conf: HallConfig, now: datetime, with_token: bool = False, ctx: _QueueContext | None = None
) -> dict:
    view = _ticket_brief(ticket)
    view["service"] = conf.services[ticket.service_id].brief()
    view["hall"] = conf.brief()
    if ticket.state in (WAITING, REMOTE):  # a remote ticket's place is kept: it learns its wait too
        if ctx is None or ticket.business_day != ctx.day:
            general = ticket.target_counter_id is None
            ctx = _QueueContext.load(
                s,
                conf,
                ticket.business_day,
                service_id=ticket.service_id,
                ahead_params=_ahead_params(ticket, now, conf) if general else None,
            )
            ahead = ctx.ahead if general else people_ahead(s, ticket, now, conf)
        else:
            ahead = people_ahead(s, ticket, now, conf)
        view["people_ahead"] = ahead
        view["estimated_wait_s"] = estimate_wait_s(ahead, ctx.service_load(ticket.service_id))
    else:
        view["people_ahead"] = 0
        view["estimated_wait_s"] = 0 if ticket.state in AT_COUNTER else None
    if ticket.counter_id is not None:
        view["counter"] = _counter_brief(conf, _counter_row(rt, s, ticket.counter_id))
    if with_token:
        view["public_token"] = ticket.public_token
    return view


def _at_counter_view(s, conf: HallConfig, ticket, now: datetime) -> dict:
    view = _ticket_brief(ticket)
    view["mobile_tail"] = ticket.mobile[-4:] if ticket.mobile else None
    view["waited_s"] = waited_s(ticket, ticket.called_at or now)
    view["service"] = conf.services[ticket.service_id].brief()
    view["actions"] = actions_at_counter(ticket.state)
    if ticket.transfers:  # read only for the few transferred: an ordinary call reads nothing more
        view["history"] = transfer_history(s, conf, ticket.id)
    return view


_TRANSFERS = (
    select(EVENTS.c.at, EVENTS.c.counter_id, EVENTS.c.service_id, EVENTS.c.duration_s, EVENTS.c.detail)
    .where(EVENTS.c.ticket_id == bindparam("ticket_id"), EVENTS.c.kind == Action.TRANSFER.value)
    .order_by(EVENTS.c.id)
)


def transfer_history(s, conf: HallConfig, ticket_id: int) -> list[dict]:
    """Where a transferred customer has been, oldest first: each counter, the service it served
    them for, how long, and the note it sent along."""
    steps = []
    for r in s.connection().execute(_TRANSFERS, {"ticket_id": ticket_id}):
        counter = conf.counters.get(r.counter_id)
        steps.append(
            {
                "counter_number": counter.number if counter else None,
                "service_id": r.service_id,
                "at": r.at.isoformat(),
                "served_s": round(r.duration_s) if r.duration_s is not None else None,
                "note": (r.detail or {}).get("note"),
            }
        )
    return steps


def waited_s(ticket, at: datetime) -> int:
    """Seconds the customer has waited in the hall by ``at``: from queueing, or for a remote
    ticket from checking in (it kept its place from before, but the customer was not here)."""
    return round((at - (ticket.checked_in_at or ticket.queued_at)).total_seconds())


def _ticket_brief(ticket) -> dict:
    return {
        "id": ticket.id,
        "label": ticket.label,
        "service_id": ticket.service_id,
        "tier": ticket.tier,
        "state": ticket.state,
        "issued_at": ticket.issued_at.isoformat(),
        "called_at": ticket.called_at.isoformat() if ticket.called_at else None,
        "recalls": ticket.recalls,
        "channel": ticket.channel,
        "check_in_by": ticket.check_in_by.isoformat() if ticket.check_in_by else None,
        "checked_in_at": ticket.checked_in_at.isoformat() if ticket.checked_in_at else None,
    }


def _counter_brief(conf: HallConfig, counter) -> dict:
    """A counter as screens show it: its configuration, and whether it is open and who is at it."""
    c = conf.counters[counter.id]
    return {
        "id": c.id,
        "number": c.number,
        "name": c.name,
        "is_open": counter.is_open,
        "staff_id": counter.staff_id,
        "service_ids": list(c.service_ids),
        "display_mode": c.display_mode,
        **_pause_brief(counter),
    }


def _pause_brief(counter) -> dict:
    """``paused``: the reason of the counter's pause now (model.PauseReason), or None; since when."""
    return {
        "paused": counter.pause_reason if counter.paused_at is not None else None,
        "paused_at": counter.paused_at.isoformat() if counter.paused_at is not None else None,
    }


def _orm_counter_brief(counter: Counter) -> dict:
    return {
        "id": counter.id,
        "number": counter.number,
        "name": counter.name,
        "is_open": counter.is_open,
        "staff_id": counter.staff_id,
        "service_ids": [svc.id for svc in counter.services],
        "display_mode": counter.display_mode,
        **_pause_brief(counter),
    }


# --------------------------------------------------------------------------- helpers


@functools.cache
def _update_statement(keys: tuple[str, ...], state: str):
    """A compare-and-set on (state, recalls) that sets ``keys`` and returns the new row; one per set of
    columns and state it leaves (the state written out: storage.orm.ticket_in_state)."""
    return (
        update(TICKETS)
        .where(TICKETS.c.id == bindparam("t_id"), ticket_in_state(state), TICKETS.c.recalls == bindparam("t_recalls"))
        .values({key: bindparam(f"v_{key}") for key in keys})
        .returning(*TICKETS.c)
    )


def transition(*args, **values):
    """Apply one life-cycle step as a compare-and-set on (state, recalls), log it, return the new row
    (``logged_transition``'s arguments)."""
    return logged_transition(*args, **values)[0]


def logged_transition(
    s,
    ticket,
    action: Action,
    now: datetime,
    at_counter: int | None,
    by_staff: int | None,
    duration_s: float | None = None,
    detail: dict | None = None,
    **values,
):
    """One life-cycle step (``transition``): the new row and the id of the step's entry in the ticket's history."""
    new_state = next_state(TicketState(ticket.state), action)
    values["state"] = new_state.value
    keys = tuple(sorted(values))
    row = (
        s.connection()
        .execute(
            _update_statement(keys, ticket.state),
            {"t_id": ticket.id, "t_recalls": ticket.recalls, **{f"v_{key}": values[key] for key in keys}},
        )
        .first()
    )
    if row is None:
        raise IllegalTransition(f"{ticket.label} was changed by someone else just now; reload", field="ticket_id")
    event_id = log_event(
        s, ticket.id, ticket.hall_id, ticket.service_id, action, now, at_counter, by_staff, duration_s, detail
    )
    return row, event_id


def log_event(
    s,
    ticket_id: int,
    hall_id: int,
    service_id: int,
    action: Action,
    at: datetime,
    counter_id=None,
    staff_id=None,
    duration_s=None,
    detail=None,
) -> int:
    """Write one step of a ticket's history; its id (a single-row insert hands it back without a query)."""
    result = s.connection().execute(
        _INSERT_EVENT,
        {
            "ticket_id": ticket_id,
            "hall_id": hall_id,
            "kind": action.value,
            "at": at,
            "service_id": service_id,
            "counter_id": counter_id,
            "staff_id": staff_id,
            "duration_s": duration_s,
            "detail": detail,
        },
    )
    return result.inserted_primary_key[0]


class _CounterRow:
    """A counter's live state (open, who is at it), its hall's configuration version and the ticket at
    it, read in one statement."""

    __slots__ = (
        "config_version",
        "hall_id",
        "id",
        "is_open",
        "number",
        "pause_reason",
        "paused_at",
        "staff_id",
        "ticket",
    )

    def __init__(self, row) -> None:
        self.id, self.hall_id, self.is_open, self.staff_id = row.c_id, row.c_hall_id, row.c_is_open, row.c_staff_id
        self.paused_at, self.pause_reason = row.c_paused_at, row.c_pause_reason
        self.config_version = row.c_config_version
        self.ticket = row if row.id is not None else None  # the tickets' columns under their own names
        self.number: int | None = None  # from the hall's configuration


def _counter_statement(lock: bool):
    halls = table(Hall)
    query = (
        select(
            COUNTERS.c.id.label("c_id"),
            COUNTERS.c.hall_id.label("c_hall_id"),
            COUNTERS.c.is_open.label("c_is_open"),
            COUNTERS.c.staff_id.label("c_staff_id"),
            COUNTERS.c.active.label("c_active"),
            halls.c.config_version.label("c_config_version"),
            COUNTERS.c.paused_at.label("c_paused_at"),
            COUNTERS.c.pause_reason.label("c_pause_reason"),
            *TICKETS.c,
        )
        .join(halls, halls.c.id == COUNTERS.c.hall_id)
        .outerjoin(TICKETS, and_(TICKETS.c.counter_id == COUNTERS.c.id, AT_COUNTER_NOW))
        .where(COUNTERS.c.id == bindparam("counter_id"))
    )
    return query.with_for_update(of=COUNTERS) if lock else query


_COUNTER = {False: _counter_statement(False), True: _counter_statement(True)}


def _counter_row(rt: Runtime, s, counter_id: int, lock: bool = False) -> _CounterRow:
    """The counter with its live state and its customer, locked (PostgreSQL: one call at a counter at a
    time; SQLite's BEGIN IMMEDIATE already serialises); 404 naming ``counter_id`` if there is no such
    active counter."""
    row = s.connection().execute(_COUNTER[lock], {"counter_id": counter_id}).first()
    if row is None or not row.c_active:
        raise NotFound(f"no counter {counter_id}", field="counter_id")
    rt.counter_halls[counter_id] = row.c_hall_id
    return _CounterRow(row)


def _at_counter(rt: Runtime, tx, counter_id: int, staff_id, caller, lock: bool = False):
    """The session, the counter (locked) with its customer, its hall's configuration and the staff
    member acting; with ``caller``, authenticated and checked (operating a counter of this hall) in
    this transaction."""
    s = tx.session
    if caller is not None:
        p = authorised(
            rt,
            s,
            caller,
            rules.may_operate_counter,
            _hall_of_counter(rt, s, counter_id),
            "operating a counter of this hall",
        )
        staff_id = p.staff_id
    counter = _counter_row(rt, s, counter_id, lock)
    conf = hall_config(rt, s, counter.hall_id, version=counter.config_version)
    counter.number = number = conf.counters[counter.id].number
    _refuse_if_held(s, number, counter.is_open, counter.staff_id, staff_id)
    return s, counter, conf, staff_id


def _refuse_if_held(s, number: int, is_open: bool, holder_id: int | None, staff_id: int | None) -> None:
    """409 naming who holds the counter, when it is someone else (see ``model.held_by_another``)."""
    if held_by_another(is_open, holder_id, staff_id):
        name = s.execute(select(Staff.name).where(Staff.id == holder_id)).scalar() or ""
        raise CounterHeld(
            f"counter {number} is in use by {name}; take it over to act at it",
            field="counter_id",
            holder_id=holder_id,
            holder_name=name,
        )


def _hall_of_counter(rt: Runtime, s, counter_id: int) -> int:
    """The counter's hall (remembered: a counter never moves); 404 before any access rule is told."""
    hall_id = rt.counter_halls.get(counter_id)
    if hall_id is None:
        hall_id = s.execute(select(COUNTERS.c.hall_id).where(COUNTERS.c.id == counter_id)).scalar()
        if hall_id is None:
            raise NotFound(f"no counter {counter_id}", field="counter_id")
        rt.counter_halls[counter_id] = hall_id
    return hall_id


def _current(rt: Runtime, tx, counter_id: int, ticket_id: int | None, staff_id, caller):
    s, counter, conf, staff_id = _at_counter(rt, tx, counter_id, staff_id, caller)
    ticket = counter.ticket
    if ticket is None:
        raise IllegalTransition(f"counter {counter.number} has no customer called", field="counter_id")
    if ticket_id is not None and ticket.id != ticket_id:
        raise IllegalTransition(
            f"ticket {ticket_id} is not at counter {counter.number}; it has {ticket.label}", field="ticket_id"
        )
    return s, counter, ticket, conf, rt.now(), staff_id


_ACTIVE_TICKET = select(*TICKETS.c).where(TICKETS.c.counter_id == bindparam("counter_id"), AT_COUNTER_NOW)


def _active_ticket(s, counter_id: int):
    return s.connection().execute(_ACTIVE_TICKET, {"counter_id": counter_id}).first()


def _waiting_tickets(
    s, hall_id: int, day: date, service_ids: set[int] | None, counter_id: int | None
) -> list[WaitingTicket]:
    query = select(
        TICKETS.c.id, TICKETS.c.service_id, TICKETS.c.tier, TICKETS.c.queued_at, TICKETS.c.target_counter_id
    ).where(TICKETS.c.hall_id == hall_id, TICKETS.c.business_day == day, IS_WAITING)
    if service_ids is not None:
        clause: Any = TICKETS.c.service_id.in_(service_ids)
        if counter_id is not None:
            clause = clause | (TICKETS.c.target_counter_id == counter_id)
        query = query.where(clause)
    return [WaitingTicket(r.id, r.service_id, Tier(r.tier), r.queued_at, r.target_counter_id) for r in s.execute(query)]


def _waiting_ticket(ticket) -> WaitingTicket:
    return WaitingTicket(ticket.id, ticket.service_id, Tier(ticket.tier), ticket.queued_at, ticket.target_counter_id)


def _handle_seconds(ticket, now: datetime) -> float:
    started = ticket.started_at or ticket.called_at or now
    return max(0.0, (now - started).total_seconds())


def _counter(s, counter_id: int, lock: bool = False) -> Counter:
    """The counter as an ORM object (opening and closing change it); ``lock`` takes its row lock."""
    counter = s.get(Counter, counter_id, with_for_update=True if lock else None)
    if counter is None or not counter.active:
        raise NotFound(f"no counter {counter_id}", field="counter_id")
    return counter


def ticket_by_token(s, token: str):
    ticket = s.execute(select(*TICKETS.c).where(TICKETS.c.public_token == token)).first()
    if ticket is None:
        raise NotFound("no such ticket", field="token")
    return ticket


def _parse_tier(tier: str) -> Tier:
    try:
        return Tier(tier)
    except ValueError:
        raise Invalid(f"unknown tier {tier!r}; one of {', '.join(t.value for t in Tier)}", field="tier") from None
