"""Queue use cases: issue, call, recall, start, finish, no-show, transfer, cancel; status views.

Each public function is one transaction. State changes are compare-and-set
updates (``WHERE state = <what we read>``), so two devices acting on one ticket
can never both succeed; the database's unique indexes back up the rest.
"""
from __future__ import annotations

import re
import secrets
from datetime import date, datetime

from sqlalchemy import Boolean, Integer, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain.calling import TIE_ALL, TIE_LOWER_ID, CallingPolicy, ahead_bounds, calling_order
from ..domain.errors import Conflict, CounterBusy, HallClosed, IllegalTransition, Invalid, NotFound
from ..domain.estimate import MAX_SAMPLES, ServiceLoad, effective_counters, estimate_wait_s, recent_handle_time
from ..domain.hours import Closures, OpeningHours, open_at, business_day, local_time, parse_zone
from ..domain.roster import GreenChannel
from ..domain.screens import screen_settings
from ..domain.model import AT_COUNTER_STATES, Action, ServiceTargets, TicketState, Tier, WaitingTicket, next_state, ticket_label
from ..storage.orm import (
    Counter, CounterSession, Hall, ServiceType, Ticket, TicketEvent, TicketSequence, counter_services,
)
from . import roster
from .config import hall_services
from .footfall import live_load

_MAINLAND_MOBILE = re.compile(r"^(?:\+?86)?(1\d{10})$")


# --------------------------------------------------------------------------- issue

def issue_ticket(
    rt: Runtime,
    hall_id: int,
    service_id: int,
    tier: str = "ordinary",
    mobile: str | None = None,
    device_id: int | None = None,
) -> dict:
    """Issue the next number of a service at a hall; returns the ticket with people ahead and wait."""
    tier = _parse_tier(tier)
    mobile = normalise_mobile(mobile)
    with rt.uow() as tx:
        s = tx.session
        hall = _hall(s, hall_id)
        service = _service_of_hall(s, hall, service_id)
        now = rt.now()
        zone = parse_zone(hall.timezone)
        day = business_day(now, zone)
        closures = Closures.parse(hall.closures)
        if rt.enforce_opening_hours and closures.closed_on(day):
            raise HallClosed(f"the hall is closed today ({closures.days[day] or 'closure'})", field="hall_id")
        if rt.enforce_opening_hours and not OpeningHours.parse(hall.opening_hours).is_open(local_time(now, zone)):
            raise HallClosed("the hall is closed now; tickets are issued during opening hours", field="hall_id")
        tier, on_roster = roster.ticket_tier(rt, s, hall, tier, mobile, day)
        number = _next_number(s, tx.dialect, hall.id, service.prefix, day)
        ticket = Ticket(
            hall_id=hall.id, service_id=service.id, business_day=day, prefix=service.prefix,
            number=number, label=ticket_label(service.prefix, number), tier=tier.value, mobile=mobile,
            public_token=secrets.token_urlsafe(16), state=TicketState.WAITING.value,
            issued_at=now, queued_at=now, recalls=0, issued_by_device_id=device_id,
        )
        s.add(ticket)
        s.flush()
        _log(s, ticket, Action.ISSUE, now, detail={"tier": tier.value, **({"roster": True} if on_roster else {})})
        tx.record(ev.TicketIssued(hall.id, ticket.id, ticket.label, service.id, tier.value))
        tx.commit()
    # The estimate is read after commit, so the number's lock is held for three statements only.
    with rt.reader() as rx:
        return _ticket_view(rx.session, rx.session.get(Ticket, ticket.id), rx.session.get(Hall, hall_id), now,
                            with_token=True)


def _next_number(session, dialect: str, hall_id: int, prefix: str, day: date) -> int:
    """Atomic per (hall, prefix, day) counter: an upsert that returns the new value."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(TicketSequence)
        .values(hall_id=hall_id, prefix=prefix, business_day=day, last_number=1)
        .on_conflict_do_update(
            index_elements=["hall_id", "prefix", "business_day"],
            set_={"last_number": TicketSequence.last_number + 1},
        )
        .returning(TicketSequence.last_number)
    )
    return session.execute(stmt).scalar_one()


# --------------------------------------------------------------------------- counter actions

def call_next(rt: Runtime, counter_id: int, staff_id: int | None = None) -> dict:
    """Call the next waiting ticket by the hall's calling rule; ``ticket`` is None when nobody waits."""
    with rt.uow() as tx:
        s = tx.session
        counter = _open_counter(s, counter_id, lock=True)  # one call at a counter at a time (PostgreSQL)
        _refuse_if_busy(s, counter)
        hall = s.get(Hall, counter.hall_id)
        now = rt.now()
        day = business_day(now, parse_zone(hall.timezone))
        policy = CallingPolicy.from_dict(hall.calling_policy)
        service_ids = {svc.id for svc in counter.services if svc.active}
        ticket = _claim_best(tx, hall.id, day, service_ids, counter, staff_id, now, _targets(s, hall.id), policy)
        if ticket is None:
            return {"counter": _counter_brief(counter), "ticket": None}
        _log(s, ticket, Action.CALL, now, counter.id, staff_id)
        tx.record(ev.TicketCalled(hall.id, ticket.id, ticket.label, ticket.service_id, counter.id, counter.number, 0,
                                  ticket.public_token))
        view = {"counter": _counter_brief(counter), "ticket": _at_counter_view(s, ticket, now)}
        _commit_counter_change(tx, counter)
        return view


CANDIDATES_PER_GROUP = 3
CLAIM_ROUNDS = 20


def _claim_best(tx, hall_id, day, service_ids, counter, staff_id, now, targets, policy) -> Ticket | None:
    """Claim the first ticket in calling order; if other counters take the candidates first, look again."""
    for _ in range(CLAIM_ROUNDS):
        candidates = _call_candidates(tx.session, hall_id, day, service_ids, counter.id)
        if not candidates:
            return None
        for candidate in calling_order(candidates, counter.id, service_ids, now, targets, policy):
            ticket = _claim(tx, candidate.id, counter, staff_id, now)
            if ticket is not None:
                return ticket
    raise Conflict("other counters are calling the same customers right now; call again", field="counter_id")


def _call_candidates(s, hall_id: int, day: date, service_ids: set[int], counter_id: int) -> list[WaitingTicket]:
    """The oldest few waiting tickets of each (service, tier, target counter) group this counter may call.

    Within one group the calling rule's order is plain queue order (same target,
    same head start), so the rule's first choice is always among these heads, and
    the database, not Python, walks a long queue.
    """
    rank = func.row_number().over(
        partition_by=(Ticket.service_id, Ticket.tier, Ticket.target_counter_id),
        order_by=(Ticket.queued_at, Ticket.id),
    ).label("rank")
    mine = or_(and_(Ticket.service_id.in_(service_ids), Ticket.target_counter_id.is_(None)),
               Ticket.target_counter_id == counter_id)
    sub = select(Ticket.id, Ticket.service_id, Ticket.tier, Ticket.queued_at, Ticket.target_counter_id, rank).where(
        Ticket.hall_id == hall_id, Ticket.business_day == day, Ticket.state == TicketState.WAITING.value, mine
    ).subquery()
    rows = s.execute(select(sub).where(sub.c.rank <= CANDIDATES_PER_GROUP))
    return [WaitingTicket(r.id, r.service_id, Tier(r.tier), r.queued_at, r.target_counter_id) for r in rows]


def _claim(tx, ticket_id: int, counter: Counter, staff_id: int | None, now: datetime) -> Ticket | None:
    """Take one waiting ticket for this counter, or None if another counter got it first.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` passes over a ticket another counter is
    claiming right now instead of waiting for it. Everywhere: the update only
    succeeds if the ticket is still waiting (compare-and-set).
    """
    s = tx.session
    if tx.dialect == "postgresql":
        locked = s.execute(
            select(Ticket.id).where(Ticket.id == ticket_id, Ticket.state == TicketState.WAITING.value)
            .with_for_update(skip_locked=True)
        ).first()
        if locked is None:
            return None
    try:
        result = s.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.state == TicketState.WAITING.value)
            .values(state=TicketState.CALLED.value, counter_id=counter.id, staff_id=staff_id,
                    called_at=now, recalls=0, target_counter_id=None)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError:  # uq_ticket_at_counter: another call at this counter won
        raise CounterBusy(f"counter {counter.number} already has a customer; finish it first",
                          field="counter_id") from None
    if result.rowcount != 1:
        return None
    ticket = s.get(Ticket, ticket_id)
    s.refresh(ticket)
    return ticket


def recall(rt: Runtime, counter_id: int, staff_id: int | None = None, ticket_id: int | None = None) -> dict:
    """Announce the counter's called ticket again (at most the hall's max recalls)."""
    with rt.uow() as tx:
        s, counter, ticket, hall, now = _current(rt, tx, counter_id, ticket_id)
        policy = CallingPolicy.from_dict(hall.calling_policy)
        if ticket.recalls >= policy.max_recalls:
            raise Conflict(f"{ticket.label} was already recalled {ticket.recalls} times; mark it no-show",
                           field="ticket_id")
        _transition(s, ticket, Action.RECALL, now, counter.id, staff_id, recalls=ticket.recalls + 1)
        tx.record(ev.TicketCalled(hall.id, ticket.id, ticket.label, ticket.service_id, counter.id,
                                  counter.number, ticket.recalls, ticket.public_token))
        view = {"counter": _counter_brief(counter), "ticket": _at_counter_view(s, ticket, now)}
        tx.commit()
        return view


def start_service(rt: Runtime, counter_id: int, staff_id: int | None = None, ticket_id: int | None = None) -> dict:
    """The customer has arrived at the counter: service time starts now."""
    with rt.uow() as tx:
        s, counter, ticket, hall, now = _current(rt, tx, counter_id, ticket_id)
        _transition(s, ticket, Action.START, now, counter.id, staff_id, started_at=now)
        tx.record(ev.ServiceStarted(hall.id, ticket.id, ticket.label, counter.id))
        view = {"counter": _counter_brief(counter), "ticket": _at_counter_view(s, ticket, now)}
        tx.commit()
        return view


def finish_service(rt: Runtime, counter_id: int, staff_id: int | None = None, ticket_id: int | None = None) -> dict:
    """Service done; the counter is free. Emits ServiceFinished (which later triggers the SMS survey)."""
    with rt.uow() as tx:
        s, counter, ticket, hall, now = _current(rt, tx, counter_id, ticket_id)
        handle_s = _handle_seconds(ticket, now)
        _transition(s, ticket, Action.FINISH, now, counter.id, staff_id, duration_s=handle_s,
                    closed_at=now, counter_id=None, started_at=ticket.started_at or ticket.called_at)
        tx.record(ev.ServiceFinished(hall.id, ticket.id, ticket.label, ticket.service_id, counter.id,
                                     staff_id, handle_s, ticket.mobile is not None, ticket.public_token))
        view = {"counter": _counter_brief(counter), "ticket": _ticket_brief(ticket)}
        tx.commit()
        return view


def mark_no_show(rt: Runtime, counter_id: int, staff_id: int | None = None, ticket_id: int | None = None) -> dict:
    """The called customer did not come, after the hall's minimum number of recalls."""
    with rt.uow() as tx:
        s, counter, ticket, hall, now = _current(rt, tx, counter_id, ticket_id)
        policy = CallingPolicy.from_dict(hall.calling_policy)
        if ticket.state == TicketState.CALLED.value and ticket.recalls < policy.recalls_before_no_show:
            raise Conflict(
                f"recall {ticket.label} at least {policy.recalls_before_no_show} time(s) before marking no-show",
                field="ticket_id",
            )
        _transition(s, ticket, Action.NO_SHOW, now, counter.id, staff_id, closed_at=now, counter_id=None)
        tx.record(ev.TicketNoShow(hall.id, ticket.id, ticket.label, counter.id, ticket.public_token))
        view = {"counter": _counter_brief(counter), "ticket": _ticket_brief(ticket)}
        tx.commit()
        return view


def transfer(
    rt: Runtime,
    counter_id: int,
    to_service_id: int,
    to_counter_id: int | None = None,
    staff_id: int | None = None,
    ticket_id: int | None = None,
) -> dict:
    """Send the counter's customer to another service (and optionally one counter), keeping their place in time."""
    with rt.uow() as tx:
        s, counter, ticket, hall, now = _current(rt, tx, counter_id, ticket_id)
        service = _service_of_hall(s, hall, to_service_id, field="to_service_id")
        target = None
        if to_counter_id is not None:
            target = s.get(Counter, to_counter_id)
            if target is None or target.hall_id != hall.id or not target.active:
                raise NotFound(f"no counter {to_counter_id} in this hall", field="to_counter_id")
            if target.id == counter.id:
                raise Invalid("cannot transfer a ticket to the counter it is at", field="to_counter_id")
        from_service = ticket.service_id
        handle_s = _handle_seconds(ticket, now)
        _transition(
            s, ticket, Action.TRANSFER, now, counter.id, staff_id, duration_s=handle_s,
            detail={"to_service_id": service.id, "to_counter_id": to_counter_id},
            service_id=service.id, counter_id=None, target_counter_id=to_counter_id,
            called_at=None, started_at=None, recalls=0, staff_id=None,
        )
        tx.record(ev.TicketTransferred(hall.id, ticket.id, ticket.label, from_service, service.id,
                                       counter.id, to_counter_id, ticket.public_token))
        view = {"counter": _counter_brief(counter), "ticket": _ticket_brief(ticket)}
        tx.commit()
        return view


def cancel_ticket(rt: Runtime, public_token: str) -> dict:
    """The customer gives up their place (from their phone)."""
    with rt.uow() as tx:
        s = tx.session
        ticket = _ticket_by_token(s, public_token)
        now = rt.now()
        _transition(s, ticket, Action.CANCEL, now, None, None, closed_at=now)
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
        halls = [(h.id, h.timezone) for h in tx.session.execute(select(Hall)).scalars()]
    closed = 0
    for hall_id, zone in halls:
        with rt.uow() as tx:
            s = tx.session
            now = rt.now()
            stale = s.execute(select(Ticket).where(
                Ticket.hall_id == hall_id, Ticket.business_day < business_day(now, parse_zone(zone)),
                Ticket.state.in_([TicketState.WAITING.value, *[x.value for x in AT_COUNTER_STATES]]),
            )).scalars().all()
            for ticket in stale:
                _transition(s, ticket, Action.EXPIRE, now, ticket.counter_id, None, closed_at=now, counter_id=None)
                tx.record(ev.TicketCancelled(hall_id, ticket.id, ticket.label, ticket.public_token))
            tx.commit()
            closed += len(stale)
    return closed


def open_counter(rt: Runtime, counter_id: int, staff_id: int | None, service_ids: list[int] | None = None) -> dict:
    """Open a counter for calling, with the staff member at it and optionally the services it serves today."""
    with rt.uow() as tx:
        s = tx.session
        counter = _counter(s, counter_id, lock=True)  # one session at a time, even for two clicks at once
        if staff_id is not None:
            elsewhere = s.execute(
                select(Counter.number).where(Counter.staff_id == staff_id, Counter.is_open.is_(True),
                                             Counter.id != counter.id)
            ).scalar()
            if elsewhere is not None:
                raise Conflict(f"you are still signed in at counter {elsewhere}; close it first", field="counter_id")
        if service_ids is not None:
            counter.services = hall_services(s, counter.hall_id, service_ids)
        now = rt.now()
        _end_session(s, counter.id, now)  # reopened with another staff member: a new session
        s.add(CounterSession(hall_id=counter.hall_id, counter_id=counter.id, staff_id=staff_id, opened_at=now))
        counter.is_open = True
        counter.staff_id = staff_id
        counter.opened_at = now
        tx.record(ev.CounterOpened(counter.hall_id, counter.id, staff_id))
        return _commit_counter_change(tx, counter, view=True)


def close_counter(rt: Runtime, counter_id: int) -> dict:
    """Close a counter; refused while a customer is at it."""
    with rt.uow() as tx:
        s = tx.session
        counter = _counter(s, counter_id, lock=True)  # waits for a call in progress at this counter
        _refuse_if_busy(s, counter)
        _end_session(s, counter.id, rt.now())
        counter.is_open = False
        counter.staff_id = None
        counter.opened_at = None
        tx.record(ev.CounterClosed(counter.hall_id, counter.id))
        return _commit_counter_change(tx, counter, view=True)


def _end_session(s, counter_id: int, now: datetime) -> None:
    """Close the counter's open session (its open time ends now)."""
    s.execute(update(CounterSession).where(CounterSession.counter_id == counter_id, CounterSession.closed_at.is_(None))
              .values(closed_at=now).execution_options(synchronize_session=False))


def _commit_counter_change(tx, counter: Counter, view: bool = False):
    try:
        result = _counter_brief(counter) if view else None
        tx.commit()
        return result
    except IntegrityError:
        raise CounterBusy(f"counter {counter.number} already has a customer; finish it first",
                          field="counter_id") from None


# --------------------------------------------------------------------------- views

def ticket_status(rt: Runtime, public_token: str) -> dict:
    """The customer's view of their ticket: state, people ahead, estimated wait, counter when called."""
    with rt.reader() as tx:
        s = tx.session
        ticket = _ticket_by_token(s, public_token)
        hall = s.get(Hall, ticket.hall_id)
        return _ticket_view(s, ticket, hall, rt.now())


def ticket_statuses(rt: Runtime, public_tokens: list[str]) -> dict[str, dict]:
    """Many customers' views at once (the phone pages of a hall after a change): the hall's
    queue is read once, then only each ticket's place in line. Unknown tokens are left out."""
    with rt.reader() as tx:
        s = tx.session
        now = rt.now()
        tickets = s.execute(select(Ticket).where(Ticket.public_token.in_(public_tokens))).scalars().all()
        views, contexts = {}, {}
        for ticket in sorted(tickets, key=lambda t: t.hall_id):
            hall = s.get(Hall, ticket.hall_id)
            if ticket.hall_id not in contexts and ticket.state == TicketState.WAITING.value:
                contexts[ticket.hall_id] = _QueueContext.load(s, hall, business_day(now, parse_zone(hall.timezone)))
            views[ticket.public_token] = _ticket_view(s, ticket, hall, now, ctx=contexts.get(ticket.hall_id))
        return views


def counter_state(rt: Runtime, counter_id: int) -> dict:
    """What a counter console shows: the counter, its current ticket, and its queue in calling order."""
    with rt.reader() as tx:
        s = tx.session
        counter = _counter(s, counter_id)
        hall = s.get(Hall, counter.hall_id)
        now = rt.now()
        current = _active_ticket(s, counter.id)
        day = business_day(now, parse_zone(hall.timezone))
        service_ids = {svc.id for svc in counter.services if svc.active}
        waiting = _waiting_tickets(s, hall.id, day, service_ids, counter.id)
        order = calling_order(waiting, counter.id, service_ids, now, _targets(s, hall.id),
                              CallingPolicy.from_dict(hall.calling_policy))
        labels = dict(s.execute(select(Ticket.id, Ticket.label).where(Ticket.id.in_([t.id for t in order[:50]]))).all())
        return {
            "counter": _counter_brief(counter),
            "ticket": _at_counter_view(s, current, now) if current else None,
            "waiting": len(order),
            "next": [
                {"id": t.id, "label": labels[t.id], "tier": t.tier.value, "service_id": t.service_id,
                 "waited_s": round((now - t.queued_at).total_seconds())}
                for t in order[:50]
            ],
        }


def hall_snapshot(rt: Runtime, hall_id: int) -> dict:
    """A hall's live queue: per service waiting and estimated wait, counters, recent calls."""
    with rt.reader() as tx:
        s = tx.session
        hall = _hall(s, hall_id)
        now = rt.now()
        zone = parse_zone(hall.timezone)
        day = business_day(now, zone)
        ctx = _QueueContext.load(s, hall, day)
        services = []
        for svc in ctx.services.values():
            if not svc.active:
                continue
            waiting = ctx.waiting_by_service.get(svc.id, 0)
            load = ctx.service_load(svc.id)
            services.append({
                **_service_brief(svc),
                "waiting": waiting,
                "open_counters": sum(1 for c in ctx.open_counters if svc.id in c.service_ids),
                "handle_time_s": round(load.handle_time_s),
                "estimated_wait_s": estimate_wait_s(waiting, load),
            })
        counters = s.execute(select(Counter).where(Counter.hall_id == hall.id, Counter.active.is_(True))
                             .order_by(Counter.number)).scalars().all()
        serving = {t.counter_id: t for t in s.execute(
            select(Ticket).where(Ticket.hall_id == hall.id, Ticket.state.in_([x.value for x in AT_COUNTER_STATES]))
        ).scalars()}
        return {
            "hall": {"id": hall.id, "code": hall.code, "name_zh": hall.name_zh, "name_en": hall.name_en,
                     "timezone": hall.timezone,
                     "open_now": open_at(OpeningHours.parse(hall.opening_hours), Closures.parse(hall.closures),
                                         local_time(now, zone)),
                     "green_channel": GreenChannel.from_dict(hall.green_channel).to_dict(),
                     "screen": screen_settings(hall.screen), "priority_pin_set": hall.priority_pin_hash is not None},
            "business_day": day.isoformat(),
            "at": now.isoformat(),
            "services": services,
            "counters": [
                {**_counter_brief(c),
                 "ticket": _ticket_brief(serving[c.id]) if c.id in serving else None}
                for c in counters
            ],
            "recent_calls": _recent_calls(s, hall.id, day, zone),
            "load": live_load(s, hall, now, sum(ctx.waiting_by_service.values()), len(ctx.open_counters)),
        }


def _recent_calls(s, hall_id: int, day: date, zone, limit: int = 10) -> list[dict]:
    rows = s.execute(
        select(TicketEvent.at, TicketEvent.kind, Ticket.label, Counter.number)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .join(Counter, Counter.id == TicketEvent.counter_id)
        .where(TicketEvent.hall_id == hall_id, Ticket.business_day == day,
               TicketEvent.kind.in_([Action.CALL.value, Action.RECALL.value]))
        .order_by(TicketEvent.id.desc()).limit(limit)
    ).all()
    return [{"label": r.label, "counter_number": r.number, "at": r.at.isoformat(),
             "recall": r.kind == Action.RECALL.value} for r in rows]


class _QueueContext:
    """What wait estimates need, loaded in a few queries for one hall and day."""

    def __init__(self, day, services, waiting_by_service, open_counters, busy_counters, samples):
        self.day = day
        self.services: dict[int, ServiceType] = services
        self.waiting_by_service: dict[int, int] = waiting_by_service
        self.open_counters = open_counters
        self.busy_counters = busy_counters
        self.samples = samples

    @classmethod
    def load(cls, s, hall: Hall, day: date, service_id: int | None = None) -> "_QueueContext":
        services = {svc.id: svc for svc in s.execute(select(ServiceType).where(ServiceType.hall_id == hall.id)).scalars()}
        waiting_by_service = dict(s.execute(
            select(Ticket.service_id, func.count())
            .where(Ticket.hall_id == hall.id, Ticket.business_day == day, Ticket.state == TicketState.WAITING.value,
                   Ticket.target_counter_id.is_(None))
            .group_by(Ticket.service_id)
        ).all())
        open_rows = s.execute(
            select(Counter.id, counter_services.c.service_id)
            .join(counter_services, counter_services.c.counter_id == Counter.id)
            .where(Counter.hall_id == hall.id, Counter.is_open.is_(True), Counter.active.is_(True))
        ).all()
        by_counter: dict[int, set[int]] = {}
        for counter_id, svc_id in open_rows:
            by_counter.setdefault(counter_id, set()).add(svc_id)
        open_counters = [_OpenCounter(cid, frozenset(svcs)) for cid, svcs in by_counter.items()]
        busy = set(s.execute(_BUSY_COUNTERS, {"counters": list(by_counter)}).scalars()) if by_counter else set()
        return cls(day, services, waiting_by_service, open_counters, busy, _handle_samples(s, hall.id, service_id))

    def service_load(self, service_id: int) -> ServiceLoad:
        svc = self.services[service_id]
        serving_it = [c for c in self.open_counters if service_id in c.service_ids]
        return ServiceLoad(
            capacity=effective_counters(service_id, (c.service_ids for c in serving_it), self.waiting_by_service),
            idle_counters=sum(1 for c in serving_it if c.id not in self.busy_counters),
            handle_time_s=recent_handle_time(self.samples.get(service_id, []), svc.handle_time_s),
        )


class _OpenCounter:
    __slots__ = ("id", "service_ids")

    def __init__(self, id: int, service_ids: frozenset[int]):
        self.id = id
        self.service_ids = service_ids


def _handle_samples(s, hall_id: int, service_id: int | None) -> dict[int, list[float]]:
    """Up to MAX_SAMPLES most recent real handle times per service (one query, a window function)."""
    if service_id is not None:  # one service: the index on (service_id, kind, id) answers directly
        rows = s.execute(
            select(TicketEvent.duration_s).where(
                TicketEvent.service_id == service_id,
                TicketEvent.kind.in_([Action.FINISH.value, Action.TRANSFER.value]),
                TicketEvent.duration_s.is_not(None),
            ).order_by(TicketEvent.id.desc()).limit(MAX_SAMPLES)
        ).scalars().all()
        return {service_id: list(rows)}
    rank = func.row_number().over(partition_by=TicketEvent.service_id, order_by=TicketEvent.id.desc()).label("rank")
    inner = select(TicketEvent.service_id, TicketEvent.duration_s, rank).where(
        TicketEvent.hall_id == hall_id,
        TicketEvent.kind.in_([Action.FINISH.value, Action.TRANSFER.value]),
        TicketEvent.duration_s.is_not(None),
    )
    if service_id is not None:
        inner = inner.where(TicketEvent.service_id == service_id)
    sub = inner.subquery()
    samples: dict[int, list[float]] = {}
    for svc_id, duration in s.execute(select(sub.c.service_id, sub.c.duration_s).where(sub.c.rank <= MAX_SAMPLES)
                                      .order_by(sub.c.service_id, sub.c.rank)):
        samples.setdefault(svc_id, []).append(duration)
    return samples


def _people_ahead(s, ticket: Ticket, now: datetime, targets: ServiceTargets, policy: CallingPolicy) -> int:
    """Waiting tickets called before this one: counted by the database with the rule's per-tier bounds."""
    params = {"hall_id": ticket.hall_id, "day": ticket.business_day, "service_id": ticket.service_id,
              "me": ticket.id, "target_counter_id": ticket.target_counter_id}
    for tier, (bound, tie) in ahead_bounds(_waiting_ticket(ticket), now, targets, policy).items():
        params[f"bound_{tier.value}"] = bound
        params[f"tie_all_{tier.value}"] = tie == TIE_ALL
        params[f"tie_id_{tier.value}"] = tie == TIE_LOWER_ID
    return s.execute(_PEOPLE_AHEAD, params).scalar_one()


def _people_ahead_statement():
    """Built once: the bounds and tie rules of calling.ahead_bounds are parameters."""
    def before(tier: Tier):
        bound = bindparam(f"bound_{tier.value}", type_=Ticket.queued_at.type)
        at_bound = and_(Ticket.queued_at == bound, or_(
            bindparam(f"tie_all_{tier.value}", type_=Boolean),
            and_(bindparam(f"tie_id_{tier.value}", type_=Boolean), Ticket.id < bindparam("me"))))
        return and_(Ticket.tier == tier.value, or_(Ticket.queued_at < bound, at_bound))

    target = bindparam("target_counter_id", type_=Integer)
    return select(func.count()).where(
        Ticket.hall_id == bindparam("hall_id"), Ticket.business_day == bindparam("day"),
        Ticket.state == TicketState.WAITING.value, Ticket.service_id == bindparam("service_id"),
        or_(and_(target.is_(None), Ticket.target_counter_id.is_(None)), Ticket.target_counter_id == target),
        Ticket.id != bindparam("me"),
        or_(*[before(tier) for tier in Tier]),
    )


_PEOPLE_AHEAD = _people_ahead_statement()
# The partial unique index on tickets(counter_id) for called/serving answers this.
_BUSY_COUNTERS = select(Ticket.counter_id).where(
    Ticket.counter_id.in_(bindparam("counters", expanding=True)),
    Ticket.state.in_([x.value for x in AT_COUNTER_STATES]),
)


def _ticket_view(s, ticket: Ticket, hall: Hall, now: datetime, with_token: bool = False,
                 ctx: "_QueueContext | None" = None) -> dict:
    view = _ticket_brief(ticket)
    service = s.get(ServiceType, ticket.service_id)
    view["service"] = _service_brief(service)
    view["hall"] = {"id": hall.id, "name_zh": hall.name_zh, "name_en": hall.name_en, "timezone": hall.timezone}
    if ticket.state == TicketState.WAITING.value:
        if ctx is None or ticket.business_day != ctx.day:
            ctx = _QueueContext.load(s, hall, ticket.business_day, service_id=ticket.service_id)
        ahead = _people_ahead(s, ticket, now, _targets_from(ctx.services), CallingPolicy.from_dict(hall.calling_policy))
        view["people_ahead"] = ahead
        view["estimated_wait_s"] = estimate_wait_s(ahead, ctx.service_load(ticket.service_id))
    else:
        view["people_ahead"] = 0
        view["estimated_wait_s"] = 0 if ticket.state in (TicketState.CALLED.value, TicketState.SERVING.value) else None
    if ticket.counter_id is not None:
        counter = s.get(Counter, ticket.counter_id)
        view["counter"] = _counter_brief(counter)
    if with_token:
        view["public_token"] = ticket.public_token
    return view


def _at_counter_view(s, ticket: Ticket, now: datetime) -> dict:
    view = _ticket_brief(ticket)
    view["mobile_tail"] = ticket.mobile[-4:] if ticket.mobile else None
    view["waited_s"] = round(((ticket.called_at or now) - ticket.queued_at).total_seconds())
    view["service"] = _service_brief(s.get(ServiceType, ticket.service_id))
    return view


def _ticket_brief(ticket: Ticket) -> dict:
    return {
        "id": ticket.id,
        "label": ticket.label,
        "service_id": ticket.service_id,
        "tier": ticket.tier,
        "state": ticket.state,
        "issued_at": ticket.issued_at.isoformat(),
        "called_at": ticket.called_at.isoformat() if ticket.called_at else None,
        "recalls": ticket.recalls,
    }


def _service_brief(svc: ServiceType) -> dict:
    return {"id": svc.id, "prefix": svc.prefix, "code": svc.code, "name_zh": svc.name_zh, "name_en": svc.name_en,
            "target_wait_s": svc.target_wait_s,
            "self_service_zh": svc.self_service_zh, "self_service_en": svc.self_service_en}


def _counter_brief(counter: Counter) -> dict:
    return {"id": counter.id, "number": counter.number, "name": counter.name, "is_open": counter.is_open,
            "staff_id": counter.staff_id, "service_ids": [svc.id for svc in counter.services],
            "display_mode": counter.display_mode}


# --------------------------------------------------------------------------- helpers

def _transition(s, ticket: Ticket, action: Action, now: datetime, at_counter: int | None, by_staff: int | None,
                duration_s: float | None = None, detail: dict | None = None, **values) -> None:
    """Apply one life-cycle step as a compare-and-set on (state, recalls), then log it."""
    new_state = next_state(TicketState(ticket.state), action)
    old_service = ticket.service_id
    result = s.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.state == ticket.state, Ticket.recalls == ticket.recalls)
        .values(state=new_state.value, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise IllegalTransition(f"{ticket.label} was changed by someone else just now; reload", field="ticket_id")
    s.refresh(ticket)
    _log(s, ticket, action, now, at_counter, by_staff, duration_s, detail, service_id=old_service)


def _log(s, ticket: Ticket, action: Action, at: datetime, counter_id=None, staff_id=None,
         duration_s=None, detail=None, service_id=None) -> None:
    s.add(TicketEvent(ticket_id=ticket.id, hall_id=ticket.hall_id, kind=action.value, at=at,
                      service_id=service_id or ticket.service_id, counter_id=counter_id, staff_id=staff_id,
                      duration_s=duration_s, detail=detail))


def _current(rt: Runtime, tx, counter_id: int, ticket_id: int | None):
    s = tx.session
    counter = _counter(s, counter_id)
    ticket = _active_ticket(s, counter.id)
    if ticket is None:
        raise IllegalTransition(f"counter {counter.number} has no customer called", field="counter_id")
    if ticket_id is not None and ticket.id != ticket_id:
        raise IllegalTransition(f"ticket {ticket_id} is not at counter {counter.number}; it has {ticket.label}",
                                field="ticket_id")
    return s, counter, ticket, s.get(Hall, counter.hall_id), rt.now()


def _active_ticket(s, counter_id: int) -> Ticket | None:
    return s.execute(
        select(Ticket).where(Ticket.counter_id == counter_id, Ticket.state.in_([x.value for x in AT_COUNTER_STATES]))
    ).scalar_one_or_none()


def _refuse_if_busy(s, counter: Counter) -> None:
    current = _active_ticket(s, counter.id)
    if current is not None:
        raise CounterBusy(
            f"counter {counter.number} still has {current.label} ({current.state}); finish, transfer or mark no-show first",
            field="counter_id",
        )


def _waiting_tickets(s, hall_id: int, day: date, service_ids: set[int] | None, counter_id: int | None) -> list[WaitingTicket]:
    query = select(Ticket.id, Ticket.service_id, Ticket.tier, Ticket.queued_at, Ticket.target_counter_id).where(
        Ticket.hall_id == hall_id, Ticket.business_day == day, Ticket.state == TicketState.WAITING.value
    )
    if service_ids is not None:
        clause = Ticket.service_id.in_(service_ids)
        if counter_id is not None:
            clause = clause | (Ticket.target_counter_id == counter_id)
        query = query.where(clause)
    return [WaitingTicket(r.id, r.service_id, Tier(r.tier), r.queued_at, r.target_counter_id) for r in s.execute(query)]


def _waiting_ticket(ticket: Ticket) -> WaitingTicket:
    return WaitingTicket(ticket.id, ticket.service_id, Tier(ticket.tier), ticket.queued_at, ticket.target_counter_id)


def _targets(s, hall_id: int) -> ServiceTargets:
    rows = s.execute(select(ServiceType.id, ServiceType.target_wait_s).where(ServiceType.hall_id == hall_id)).all()
    return ServiceTargets(dict(rows))


def _targets_from(services: dict[int, ServiceType]) -> ServiceTargets:
    return ServiceTargets({sid: svc.target_wait_s for sid, svc in services.items()})


def _handle_seconds(ticket: Ticket, now: datetime) -> float:
    started = ticket.started_at or ticket.called_at or now
    return max(0.0, (now - started).total_seconds())


def _hall(s, hall_id: int) -> Hall:
    hall = s.get(Hall, hall_id)
    if hall is None or not hall.active:
        raise NotFound(f"no hall {hall_id}", field="hall_id")
    return hall


def _service_of_hall(s, hall: Hall, service_id: int, field: str = "service_id") -> ServiceType:
    service = s.get(ServiceType, service_id)
    if service is None or service.hall_id != hall.id:
        raise NotFound(f"no service {service_id} in hall {hall.code}", field=field)
    if not service.active:
        raise Conflict(f"service {service.prefix} ({service.name_zh}) is not offered now", field=field)
    return service


def _counter(s, counter_id: int, lock: bool = False) -> Counter:
    """The counter; ``lock`` takes its row lock (SELECT ... FOR UPDATE; SQLite's BEGIN IMMEDIATE already serialises)."""
    counter = s.get(Counter, counter_id, with_for_update=True if lock else None)
    if counter is None or not counter.active:
        raise NotFound(f"no counter {counter_id}", field="counter_id")
    return counter


def _open_counter(s, counter_id: int, lock: bool = False) -> Counter:
    counter = _counter(s, counter_id, lock)
    if not counter.is_open:
        raise Conflict(f"counter {counter.number} is closed; open it first", field="counter_id")
    return counter


def _ticket_by_token(s, token: str) -> Ticket:
    ticket = s.execute(select(Ticket).where(Ticket.public_token == token)).scalar_one_or_none()
    if ticket is None:
        raise NotFound("no such ticket", field="token")
    return ticket


def _parse_tier(tier: str) -> Tier:
    try:
        return Tier(tier)
    except ValueError:
        raise Invalid(f"unknown tier {tier!r}; one of {', '.join(t.value for t in Tier)}", field="tier") from None


def normalise_mobile(mobile: str | None) -> str | None:
    """A mainland mobile number: 11 digits starting with 1; +86 / 86 / spaces / dashes accepted."""
    if mobile is None or str(mobile).strip() == "":
        return None
    match = _MAINLAND_MOBILE.match(re.sub(r"[\s-]", "", str(mobile)))
    if match is None:
        raise Invalid("mobile must be an 11-digit mainland number starting with 1", field="mobile")
    return match.group(1)
