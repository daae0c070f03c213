"""The demo halls' past weeks: customers served, ticket by ticket, with each ticket's state history
and, for those who left a mobile number, the SMS survey and its answer.

Everything downstream reads these rows as it would read a real hall's: the forecaster learns its
arrivals from them (``planning.roll_up_arrivals``), the satisfaction reports count the surveys
(``satisfaction.rebuild``), the service-level reports read the ticket histories. The numbers are
invented (a Poisson arrival process shaped like a hall's day; waits longer at the rush; scores
worse after long waits and for one slower clerk); the rows are of the same kind the queue writes.
"""
from __future__ import annotations

import math
import random
import secrets
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple

from sqlalchemy import func, select

from .bootstrap import Runtime
from .domain.hours import OpeningHours, business_day, parse_zone
from .domain.model import Action, TicketState
from .domain.staffing import open_slots
from .domain.survey import SurveySettings
from .services import planning, satisfaction, service_levels
from .storage.db import advance_id_sequence
from .storage.orm import (
    Counter, CounterSession, Hall, ServiceType, Staff, Survey, Ticket, TicketEvent, counter_services,
)

SLOT_MINUTES = 15
MOBILE_SHARE = 0.65      # customers who leave a mobile number (and so get a survey)
RESPONSE_RATE = 0.78     # of those, who answer it
NO_SHOW, CANCELLED = 0.04, 0.02
TRANSFERRED = 0.015      # of those served: sent on to another service (e.g. a SIM change that needs broadband)
SLOW_CLERK = 4           # the demo's staff member "04" is slower and rated lower


class Service(NamedTuple):
    id: int
    prefix: str
    handle_time_s: int


class Clerk(NamedTuple):
    id: int
    slow: bool


COMMENTS_BAD = ("排队太久了", "等了很久，窗口太少", "办理太慢", "态度一般", "说明不清楚")
COMMENTS_GOOD = ("服务很周到", "很满意，谢谢", "办理很快")


# share of arrivals per service prefix, and a weekday's level against Monday's
SERVICE_MIX = {"A": 0.40, "B": 0.25, "C": 0.12, "D": 0.10, "E": 0.05, "F": 0.08}
WEEKDAY_LEVEL = (1.0, 0.9, 0.85, 0.9, 1.0, 1.15, 1.05)
HISTORY_WEEKS = 10


def arrival_rate(local: datetime) -> float:
    """Tickets per 15 minutes: a late-morning rush, an afternoon hump, busier at the weekend and at
    the month's start and end (bill days)."""
    hour = local.hour + local.minute / 60
    if hour < 8 or hour >= 20:
        return 0.05
    shape = 2.0 + 12.0 * math.exp(-((hour - 10.25) ** 2) / 0.6) + 7.0 * math.exp(-((hour - 15.5) ** 2) / 1.5)
    bill_days = 1.25 if local.day <= 3 or local.day >= 27 else 1.0
    return shape * WEEKDAY_LEVEL[local.weekday()] * bill_days


def poisson(rng: random.Random, rate: float) -> int:
    """Knuth's method: fine for the small rates of a 15-minute slot."""
    limit, k, p = math.exp(-rate), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def seed_served_history(rt: Runtime, hall_id: int, first: date, survey_settings: dict, seed: int = 11) -> dict:
    """Served customers of every open interval from ``first`` to yesterday (the hall's zone): tickets,
    their events, their surveys; then the arrival and satisfaction roll-ups, as the nightly jobs
    would make them. Returns counts."""
    rng = random.Random(seed + hall_id)
    with rt.reader() as tx:
        s = tx.session
        hall = s.get(Hall, hall_id)
        zone = parse_zone(hall.timezone)
        hours = OpeningHours.parse(hall.opening_hours)
        services = {x.prefix: Service(x.id, x.prefix, x.handle_time_s or 300)
                    for x in s.execute(select(ServiceType).where(ServiceType.hall_id == hall_id)).scalars()}
        counters = list(s.execute(select(Counter.id).where(Counter.hall_id == hall_id).order_by(Counter.number))
                        .scalars())
        served_by: dict[int, set[int]] = {}
        for counter_id, service_id in s.execute(select(counter_services.c.counter_id, counter_services.c.service_id)
                                                .where(counter_services.c.counter_id.in_(counters))):
            served_by.setdefault(counter_id, set()).add(service_id)
        staff = [Clerk(i, (number or "").endswith(f"{SLOW_CLERK:03d}")) for i, number in s.execute(
            select(Staff.id, Staff.staff_number).where(Staff.hall_id == hall_id, Staff.role == "counter_staff")
            .order_by(Staff.staff_number))]
    settings = SurveySettings.from_dict(survey_settings)
    scale = settings.scale
    good_grades = sorted(scale.satisfied_values, reverse=scale.higher_is_better)  # best first
    bad_grades = sorted(set(scale.values) - scale.satisfied_values)
    today = business_day(rt.now(), zone)
    # who works where: the i-th clerk at the i-th counter
    clerk_at = {c: staff[i % len(staff)] for i, c in enumerate(counters)} if staff else {}
    tickets, events, surveys = [], [], []
    shifts: dict[tuple[date, int], list] = {}  # (day, counter) -> [first call, last close]: its session
    numbers: dict[tuple[str, date], int] = {}
    ticket_id = _next_id(rt, Ticket)
    day = first
    while day < today:
        for slot in open_slots(hours, day, SLOT_MINUTES):
            rate = arrival_rate(slot)
            for prefix, share in SERVICE_MIX.items():
                service = services.get(prefix)
                if service is None:
                    continue
                for _ in range(poisson(rng, rate * share)):
                    local = slot + timedelta(seconds=rng.randrange(SLOT_MINUTES * 60))
                    issued = local.replace(tzinfo=zone).astimezone(timezone.utc)
                    n = numbers[(prefix, day)] = numbers.get((prefix, day), 0) + 1
                    ticket_id += 1
                    onward = None
                    if rng.random() < TRANSFERRED:
                        other = rng.choice([x for x in services.values() if x.id != service.id])
                        onward = (other, [c for c in counters if other.id in served_by.get(c, ())])
                    made = _served(rng, ticket_id, hall_id, service, day, n, issued, rate,
                                   [c for c in counters if service.id in served_by.get(c, ())], clerk_at, onward)
                    tickets.append(made["ticket"])
                    done = made["ticket"]
                    if made.get("counter"):
                        shift = shifts.setdefault((day, made["counter"]), [done["called_at"], done["closed_at"]])
                        shift[0], shift[1] = min(shift[0], done["called_at"]), max(shift[1], done["closed_at"])
                    events += made["events"]
                    if made["ticket"]["state"] == TicketState.FINISHED.value and rng.random() < MOBILE_SHARE:
                        surveys.append(_survey(rng, made, settings, good_grades, bad_grades))
        day += timedelta(days=1)
    with rt.uow() as tx:
        s = tx.session
        # each counter opened a quarter of an hour before its first customer and closed after its last
        sessions = [{"hall_id": hall_id, "counter_id": counter, "staff_id": clerk_at[counter].id if counter in clerk_at
                     else None, "opened_at": first_call - timedelta(minutes=15),
                     "closed_at": last_close + timedelta(minutes=15)}
                    for (_, counter), (first_call, last_close) in sorted(shifts.items())]
        for model, rows in ((Ticket, tickets), (TicketEvent, events), (Survey, surveys), (CounterSession, sessions)):
            for lo in range(0, len(rows), 5000):  # every row has every column: one executemany each
                s.execute(model.__table__.insert(), rows[lo:lo + 5000])
        advance_id_sequence(s, Ticket.__table__)  # the tickets came with their ids: issue goes on after them
        tx.commit()
    rolled = planning.roll_up_arrivals(rt, hall_id)
    satisfaction.rebuild(rt, first, today - timedelta(days=1), [hall_id])
    service_levels.rebuild(rt, first, today, [hall_id])
    return {"days": rolled, "tickets": len(tickets), "surveys": len(surveys),
            "ratings": sum(1 for x in surveys if x["score"] is not None)}


def _next_id(rt: Runtime, model) -> int:
    with rt.reader() as tx:
        return tx.session.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()


def _served(rng: random.Random, ticket_id: int, hall_id: int, service: Service, day: date, number: int,
            issued: datetime, rate: float, counters: list[int], clerk_at: dict[int, Clerk],
            onward: tuple[Service, list[int]] | None = None) -> dict:
    """One customer's visit: waiting, then called, served and finished (or a no-show, or gone); with
    ``onward`` (another service and its counters), transferred there after the first service, waiting
    again and served there."""
    label = f"{service.prefix}{number:03d}"
    tier = "vip" if rng.random() < 0.05 else ("green" if rng.random() < 0.01 else "ordinary")
    mean_wait = 120 + 55 * rate  # seconds: longer at the rush
    wait = min(int(rng.expovariate(1 / mean_wait)), 3 * 3600)
    if tier != "ordinary":
        wait //= 3
    ticket = {"id": ticket_id, "hall_id": hall_id, "service_id": service.id, "business_day": day,
              "prefix": service.prefix, "number": number, "label": label, "tier": tier, "mobile": None,
              "public_token": secrets.token_hex(16), "issued_at": issued, "queued_at": issued, "recalls": 0,
              "counter_id": None, "target_counter_id": None, "staff_id": None, "called_at": None, "started_at": None,
              "issued_by_device_id": None}
    events = [_event(ticket_id, hall_id, Action.ISSUE, issued, service.id, detail={"tier": tier})]
    roll = rng.random()
    if roll < CANCELLED or not counters:
        gone = issued + timedelta(seconds=wait)
        events.append(_event(ticket_id, hall_id, Action.CANCEL, gone, service.id))
        return {"ticket": {**ticket, "state": TicketState.CANCELLED.value, "closed_at": gone}, "events": events}
    counter = rng.choice(counters)
    clerk = clerk_at.get(counter)
    clerk_id = clerk.id if clerk else None
    called = issued + timedelta(seconds=wait)
    events.append(_event(ticket_id, hall_id, Action.CALL, called, service.id, counter, clerk_id))
    base = {**ticket, "counter_id": counter, "staff_id": clerk_id, "called_at": called}
    if roll < CANCELLED + NO_SHOW:
        gone = called + timedelta(seconds=90)
        events.append(_event(ticket_id, hall_id, Action.NO_SHOW, gone, service.id, counter, clerk_id))
        return {"ticket": {**base, "state": TicketState.NO_SHOW.value, "closed_at": gone, "counter_id": None},
                "events": events, "counter": counter}
    started = called + timedelta(seconds=rng.randint(15, 60))
    slow = 1.3 if clerk is not None and clerk.slow else 1.0
    handle = max(30, int(rng.gammavariate(2.0, service.handle_time_s * slow / 2)))
    finished = started + timedelta(seconds=handle)
    events.append(_event(ticket_id, hall_id, Action.START, started, service.id, counter, clerk_id))
    if onward is not None and onward[1]:
        target, their_counters = onward
        events.append(_event(ticket_id, hall_id, Action.TRANSFER, finished, service.id, counter, clerk_id, handle,
                             detail={"to_service_id": target.id, "to_counter_id": None}))
        again = int(rng.expovariate(1 / 240))
        counter = rng.choice(their_counters)
        clerk = clerk_at.get(counter)
        clerk_id = clerk.id if clerk else None
        called = finished + timedelta(seconds=again)
        started = called + timedelta(seconds=rng.randint(15, 60))
        handle2 = max(30, int(rng.gammavariate(2.0, target.handle_time_s / 2)))
        done = started + timedelta(seconds=handle2)
        events += [_event(ticket_id, hall_id, Action.CALL, called, target.id, counter, clerk_id),
                   _event(ticket_id, hall_id, Action.START, started, target.id, counter, clerk_id),
                   _event(ticket_id, hall_id, Action.FINISH, done, target.id, counter, clerk_id, handle2)]
        moved = {**base, "service_id": target.id, "counter_id": counter, "staff_id": clerk_id, "called_at": called}
        return {"ticket": {**moved, "state": TicketState.FINISHED.value, "started_at": started, "closed_at": done,
                           "counter_id": None}, "events": events, "wait_s": wait + again, "slow": slow > 1,
                "counter": counter}
    events.append(_event(ticket_id, hall_id, Action.FINISH, finished, service.id, counter, clerk_id, handle))
    # a closed ticket holds no counter (as the queue leaves it); who served it is in its events
    return {"ticket": {**base, "state": TicketState.FINISHED.value, "started_at": started, "closed_at": finished,
                       "counter_id": None}, "events": events, "wait_s": wait, "slow": slow > 1, "counter": counter}


def _event(ticket_id, hall_id, action: Action, at, service_id, counter_id=None, staff_id=None, duration_s=None,
           detail=None) -> dict:
    return {"ticket_id": ticket_id, "hall_id": hall_id, "kind": action.value, "at": at, "service_id": service_id,
            "counter_id": counter_id, "staff_id": staff_id, "duration_s": duration_s, "detail": detail}


def _survey(rng: random.Random, made: dict, settings: SurveySettings, good: list[int], bad: list[int]) -> dict:
    t = made["ticket"]
    sent = t["closed_at"] + timedelta(minutes=settings.delay_minutes)
    p_good = 0.97 - 0.25 * min(made["wait_s"] / 2400, 1) - (0.1 if made["slow"] else 0)
    score = comment = None
    if rng.random() < RESPONSE_RATE:
        if rng.random() < p_good:
            score = good[0] if rng.random() < 0.65 or len(good) == 1 else good[1]
            comment = rng.choice(COMMENTS_GOOD) if rng.random() < 0.05 else None
        else:
            score = rng.choice(bad)
            comment = rng.choice(COMMENTS_BAD) if rng.random() < 0.4 else None
    rated = sent + timedelta(seconds=rng.randint(30, 4 * 3600)) if score is not None else None
    return {"ticket_id": t["id"], "hall_id": t["hall_id"], "service_id": t["service_id"], "counter_id": made["counter"],
            "staff_id": t["staff_id"], "business_day": t["business_day"], "finished_at": t["closed_at"],
            "wait_s": made["wait_s"], "number_masked": f"13{rng.randint(0, 9)}****{rng.randint(0, 9999):04d}",
            "state": "sent", "send_at": sent, "attempts": 1, "sent_at": sent, "gateway": "outbox",
            "reference": "sv" + secrets.token_hex(8), "text": "（演示历史 demo history）",
            "scale_name": settings.scale.name, "scale": settings.to_dict(), "expires_at": sent + timedelta(hours=48),
            "score": score, "satisfied": (score in settings.scale.satisfied_values) if score is not None else None,
            "comment": comment, "rated_at": rated, "created_at": t["closed_at"]}
