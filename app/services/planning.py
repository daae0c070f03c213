"""Forecast and counter plan per hall: arrival history, the nightly forecast, the intraday update.

The forecasting maths lives in the ``forecasting`` package (no Flask, no database); this
module reads the history it learns from, stores what it says, and turns forecasts into
counters needed and a day's plan.

History: ``arrival_slots`` holds tickets taken per service and interval; each finished
business day of a hall is rolled up into it once (``roll_up_arrivals``). Only intervals
inside opening hours exist for the forecaster: a closed hall has no arrivals, not zeros.
"""

from __future__ import annotations

import logging
import math
import time as clock
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from threadpoolctl import threadpool_limits

from forecasting.erlang import counters_needed
from forecasting.model import ArrivalForecaster, SlotForecast, intraday_adjust
from forecasting.plan import open_counts, plan_day

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain.appointments import BookingRules, booked_work_in, forecast_days
from ..domain.errors import Invalid
from ..domain.hours import Closures, OpeningHours, business_day, parse_zone
from ..domain.staffing import StaffingRules, open_slots
from ..storage.orm import (
    ArrivalRollup,
    ArrivalSlot,
    Counter,
    CounterPlan,
    ForecastSlot,
    Hall,
    ServiceType,
    Ticket,
    counter_services,
)
from .config import _get

log = logging.getLogger(__name__)

HISTORY_DAYS = 400  # a year and a month: the forecaster's year-ago features need 392 days
SHARE_DAYS = 28  # service shares of arrivals are taken from the last four weeks
FORECAST_DAYS = 2  # today and tomorrow


# --------------------------------------------------------------------------- history


def _slot_start(at: datetime, minutes: int) -> datetime:
    """The UTC start of the interval holding ``at`` (interval boundaries are whole minutes past the hour)."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % minutes, second=0, microsecond=0)


def roll_up_arrivals(rt: Runtime, hall_id: int, interval_minutes: int = 15) -> int:
    """Roll every finished business day of the hall not yet rolled up into ``arrival_slots``.

    Returns the number of days rolled up. Safe to run again: a day is rolled up once.
    """
    with rt.uow() as tx:
        s = tx.session
        hall = _get(s, Hall, hall_id, "hall_id")
        today = business_day(rt.now(), parse_zone(hall.timezone))
        done = set(s.execute(select(ArrivalRollup.business_day).where(ArrivalRollup.hall_id == hall_id)).scalars())
        days = sorted(
            set(
                s.execute(
                    select(Ticket.business_day).distinct().where(Ticket.hall_id == hall_id, Ticket.business_day < today)
                ).scalars()
            )
            - done
        )
        now = rt.now()
        for day in days:
            counts: dict[tuple[int, datetime], int] = defaultdict(int)
            for service_id, issued_at in s.execute(
                select(Ticket.service_id, Ticket.issued_at).where(Ticket.hall_id == hall_id, Ticket.business_day == day)
            ):
                counts[(service_id, _slot_start(issued_at, interval_minutes))] += 1
            if counts:
                s.execute(
                    insert(ArrivalSlot),
                    [
                        {"service_id": sid, "slot": slot, "hall_id": hall_id, "arrivals": n}
                        for (sid, slot), n in counts.items()
                    ],
                )
            s.add(ArrivalRollup(hall_id=hall_id, business_day=day, made_at=now))
        tx.commit()
    return len(days)


def import_arrival_history(rt: Runtime, hall_id: int, rows: list[tuple[int, datetime, int]]) -> int:
    """Load past arrivals (service id, interval start, count), e.g. from the queue system a hall
    used before; their business days count as rolled up. Days already present are refused."""
    with rt.uow() as tx:
        s = tx.session
        hall = _get(s, Hall, hall_id, "hall_id")
        zone = parse_zone(hall.timezone)
        services = set(s.execute(select(ServiceType.id).where(ServiceType.hall_id == hall_id)).scalars())
        days = set()
        for i, (service_id, slot, count) in enumerate(rows):
            if service_id not in services:
                raise Invalid(f"service {service_id} is not a service of hall {hall_id}", field=f"rows[{i}].service_id")
            if count < 0:
                raise Invalid("arrivals cannot be negative", field=f"rows[{i}].arrivals")
            days.add(business_day(slot, zone))
        clash = (
            s.execute(
                select(ArrivalRollup.business_day).where(
                    ArrivalRollup.hall_id == hall_id, ArrivalRollup.business_day.in_(days)
                )
            )
            .scalars()
            .first()
        )
        if clash is not None:
            raise Invalid(f"arrivals of {clash} are already recorded", field="rows")
        if rows:
            s.execute(
                insert(ArrivalSlot),
                [{"service_id": sid, "slot": slot, "hall_id": hall_id, "arrivals": n} for sid, slot, n in rows if n],
            )
        now = rt.now()
        s.add_all(ArrivalRollup(hall_id=hall_id, business_day=d, made_at=now) for d in sorted(days))
        tx.commit()
    return len(days)


@dataclass(frozen=True)
class HallHistory:
    """What the forecaster learns from: hall totals per open interval, and each service's share."""

    totals: list[tuple[datetime, float]]  # naive local slot starts, open slots only
    shares: dict[int, dict[int, float]]  # hour of day -> service id -> share of arrivals
    days: int


def hall_history(s, hall: Hall, until: date, minutes: int, days: int = HISTORY_DAYS) -> HallHistory:
    """Totals per open slot (zeros included) for the rolled-up days before ``until``."""
    zone = parse_zone(hall.timezone)
    hours = OpeningHours.parse(hall.opening_hours)
    rolled = sorted(
        d
        for d in s.execute(
            select(ArrivalRollup.business_day).where(
                ArrivalRollup.hall_id == hall.id,
                ArrivalRollup.business_day < until,
                ArrivalRollup.business_day >= until - timedelta(days=days),
            )
        ).scalars()
    )
    if not rolled:
        return HallHistory([], {}, 0)
    lo = datetime.combine(rolled[0], datetime.min.time(), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(until, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    per_slot: dict[datetime, float] = defaultdict(float)
    by_hour: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    share_from = until - timedelta(days=SHARE_DAYS)
    for service_id, slot, n in s.execute(
        select(ArrivalSlot.service_id, ArrivalSlot.slot, ArrivalSlot.arrivals).where(
            ArrivalSlot.hall_id == hall.id, ArrivalSlot.slot >= lo, ArrivalSlot.slot < hi
        )
    ):
        local = slot.astimezone(zone).replace(tzinfo=None)
        per_slot[local] += n
        if local.date() >= share_from:
            by_hour[local.hour][service_id] += n
    totals = []
    for day in rolled:
        for slot in open_slots(hours, day, minutes):
            totals.append((slot, per_slot.get(slot, 0.0)))
    shares = {
        hour: {sid: n / sum(counts.values()) for sid, n in counts.items()}
        for hour, counts in by_hour.items()
        if sum(counts.values()) > 0
    }
    return HallHistory(totals, shares, len(rolled))


def _service_share(shares: dict[int, dict[int, float]], services: list[ServiceNeeds], hour: int) -> dict[int, float]:
    """Each service's share of arrivals at this hour: learnt, else the day's, else equal."""
    learnt = shares.get(hour)
    if not learnt:
        merged: dict[int, float] = defaultdict(float)
        for per_hour in shares.values():
            for sid, share in per_hour.items():
                merged[sid] += share
        learnt = merged
    known = {svc.id: learnt.get(svc.id, 0.0) for svc in services}
    total = sum(known.values())
    if total <= 0:
        return {svc.id: 1 / len(services) for svc in services}
    return {sid: share / total for sid, share in known.items()}


def poisson_upper(mean: float, q: float = 0.9) -> float:
    """The q-quantile of a Poisson count with this mean (the least a service's upper bound can be)."""
    if mean <= 0:
        return 0.0
    k, term = 0, math.exp(-mean)
    total = term
    while total < q:
        k += 1
        term *= mean / k
        total += term
    return float(k)


# --------------------------------------------------------------------------- forecasting


def forecast_hall(rt: Runtime, hall_id: int, source: str = "nightly") -> dict:
    """Roll up history, fit, forecast today and tomorrow, plan counters; store it all. Returns a summary."""
    started = clock.perf_counter()
    with rt.reader() as tx:
        hall = _get(tx.session, Hall, hall_id, "hall_id")
        rules = StaffingRules.from_dict(hall.staffing)
        booking = BookingRules.from_dict(hall.booking)
    roll_up_arrivals(rt, hall_id, rules.interval_minutes)
    with rt.reader() as tx:
        s = tx.session
        hall = _get(s, Hall, hall_id, "hall_id")
        zone = parse_zone(hall.timezone)
        today = business_day(rt.now(), zone)
        history = hall_history(s, hall, today, rules.interval_minutes)
        services = _active_services(s, hall_id)
        active_counters = s.execute(
            select(func.count()).select_from(Counter).where(Counter.hall_id == hall_id, Counter.active.is_(True))
        ).scalar_one()
        hours = OpeningHours.parse(hall.opening_hours)
        closures = Closures.parse(hall.closures)  # a holiday closure: no arrivals, no counters planned
    days = [today + timedelta(days=i) for i in range(forecast_days(booking, FORECAST_DAYS))]
    slots = [
        slot for day in days if not closures.closed_on(day) for slot in open_slots(hours, day, rules.interval_minutes)
    ]
    fit_started = clock.perf_counter()
    forecaster = ArrivalForecaster(interval_minutes=rules.interval_minutes, country=rules.country)
    # one thread: OpenMP threads fighting over a busy machine's cores made a 3 s fit take 50 s, and the
    # web process and the other halls' jobs need the rest of the machine
    with threadpool_limits(limits=1):
        forecaster.fit(history.totals)
        forecasts = forecaster.forecast(slots, history.totals) if slots else []
    fit_s = clock.perf_counter() - fit_started
    model = {
        "history_days": history.days,
        "slots": len(history.totals),
        "fit_s": round(fit_s, 3),
        "source": source,
        "model": type(forecaster).__name__,
    }
    _store(rt, hall_id, zone, rules, services, active_counters, history.shares, forecasts, days, model, source, booking)
    return {
        "hall_id": hall_id,
        "days": [d.isoformat() for d in days],
        "slots": len(forecasts),
        "history_days": history.days,
        "fit_s": round(fit_s, 3),
        "seconds": round(clock.perf_counter() - started, 3),
    }


def _needs_for(
    rules: StaffingRules, services: list[ServiceNeeds], share: dict[int, float], fc: SlotForecast, cap: int
) -> tuple[dict[int, tuple[float, float, float, float, int]], int]:
    """Per service (mean, p10, p50, p90, needed) and the hall's pooled need for one interval."""
    patience = rules.patience_s or None
    per_service = {}
    for svc in services:
        w = share.get(svc.id, 0.0)
        mean = w * fc.mean
        upper = max(w * fc.p90, poisson_upper(mean))
        needed = _at_least_the_load(
            counters_needed(
                upper,
                rules.interval_minutes,
                svc.handle_time_s,
                svc.target_wait_s,
                rules.target_share,
                patience,
                max_counters=max(cap, 1),
            ),
            upper,
            rules.interval_minutes,
            svc.handle_time_s,
            cap,
        )
        per_service[svc.id] = (mean, w * fc.p10, w * fc.p50, upper, needed)
    # counters serve several services: the hall's need pools them, with the mix's handle time and target
    handle = sum(share.get(s.id, 0) * s.handle_time_s for s in services) or 300
    target = sum(share.get(s.id, 0) * s.target_wait_s for s in services) or 900
    pooled = _at_least_the_load(
        counters_needed(
            fc.p90, rules.interval_minutes, handle, target, rules.target_share, patience, max_counters=max(cap, 1)
        ),
        fc.p90,
        rules.interval_minutes,
        handle,
        cap,
    )
    return per_service, pooled


def _slot_rows(
    hall_id: int,
    zone,
    rules: StaffingRules,
    services: list[ServiceNeeds],
    shares,
    fc: SlotForecast,
    cap: int,
    now: datetime,
    source: str,
) -> list[dict]:
    """The ``forecast_slots`` rows of one interval: the hall's (first; its need within the hall's
    minimum and cap) and one per service, from the service shares of that hour."""
    at = fc.slot.replace(tzinfo=zone).astimezone(UTC)
    share = _service_share(shares, services, fc.slot.hour) if services else {}
    per_service, pooled = _needs_for(rules, services, share, fc, cap)
    rows = [
        {
            "hall_id": hall_id,
            "service_id": None,
            "slot": at,
            "mean": fc.mean,
            "p10": fc.p10,
            "p50": fc.p50,
            "p90": fc.p90,
            "needed": min(max(pooled, rules.min_counters), cap),
            "made_at": now,
            "source": source,
        }
    ]
    for sid, (mean, p10, p50, p90, needed) in per_service.items():
        rows.append(
            {
                "hall_id": hall_id,
                "service_id": sid,
                "slot": at,
                "mean": mean,
                "p10": p10,
                "p50": p50,
                "p90": p90,
                "needed": needed,
                "made_at": now,
                "source": source,
            }
        )
    return rows


def _at_least_the_load(needed: int, arrivals: float, interval_minutes: int, handle_s: float, cap: int) -> int:
    """Never plan fewer counters than the work needs: Erlang A meets a wait target partly by
    customers giving up, and a plan that counts on people leaving is not a plan."""
    load = arrivals * handle_s / (interval_minutes * 60.0)
    return min(max(needed, math.ceil(load - 1e-9)), max(cap, 1))


def _store(
    rt: Runtime,
    hall_id: int,
    zone,
    rules: StaffingRules,
    services: list[ServiceNeeds],
    active_counters: int,
    shares,
    forecasts: list[SlotForecast],
    days: list[date],
    model: dict,
    source: str,
    booking: BookingRules | None = None,
) -> None:
    """Store the forecast and each day's counter plan. The plan serves the forecast walk-ins and the
    appointments booked so far (their work spread over their slots, as counters on top)."""
    cap = rules.counters_cap(active_counters)
    now = rt.now()
    rows, needs_by_day = [], defaultdict(list)
    for fc in forecasts:
        slot_rows = _slot_rows(hall_id, zone, rules, services, shares, fc, cap, now, source)
        needs_by_day[fc.slot.date()].append((slot_rows[0]["slot"], slot_rows[0]["needed"]))
        rows += slot_rows
    lo = datetime.combine(days[0], datetime.min.time(), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    if booking is not None and booking.enabled:
        from .appointments import booked_work

        booked = booked_work(rt, hall_id, lo, hi)
        interval_s = rules.interval_minutes * 60
        for day, needs in needs_by_day.items():
            needs_by_day[day] = [
                (
                    slot,
                    min(
                        cap,
                        n
                        + math.ceil(
                            booked_work_in(slot, rules.interval_minutes, booked, booking.slot_minutes) / interval_s
                            - 1e-9
                        ),
                    ),
                )
                for slot, n in needs
            ]
    with rt.uow() as tx:
        s = tx.session
        s.execute(
            delete(ForecastSlot).where(ForecastSlot.hall_id == hall_id, ForecastSlot.slot >= lo, ForecastSlot.slot < hi)
        )
        if rows:
            s.execute(insert(ForecastSlot), rows)
        for day in days:
            needs = needs_by_day.get(day, [])
            s.execute(delete(CounterPlan).where(CounterPlan.hall_id == hall_id, CounterPlan.business_day == day))
            if not needs:
                continue
            shifts = plan_day(
                [n for _, n in needs],
                rules.interval_minutes,
                rules.min_counters,
                cap,
                max(1, rules.min_shift_minutes // rules.interval_minutes),
            )
            s.add(
                CounterPlan(
                    hall_id=hall_id,
                    business_day=day,
                    interval_minutes=rules.interval_minutes,
                    first_slot=needs[0][0],
                    needs=[n for _, n in needs],
                    shifts=[
                        {"counter": sh.counter_index, "start": sh.start_interval, "end": sh.end_interval}
                        for sh in shifts
                    ],
                    made_at=now,
                    model=model,
                )
            )
        tx.record(ev.ForecastUpdated(hall_id=hall_id, source=source))
        tx.commit()


def intraday_update(rt: Runtime, hall_id: int) -> int:
    """Rescale the rest of today's forecast by the arrivals so far. Returns the slots changed."""
    with rt.reader() as tx:
        s = tx.session
        hall = _get(s, Hall, hall_id, "hall_id")
        rules = StaffingRules.from_dict(hall.staffing)
        zone = parse_zone(hall.timezone)
        now = rt.now()
        today = business_day(now, zone)
        lo = datetime.combine(today, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        hi = lo + timedelta(days=1)
        stored = (
            s.execute(
                select(ForecastSlot)
                .where(ForecastSlot.hall_id == hall_id, ForecastSlot.slot >= lo, ForecastSlot.slot < hi)
                .order_by(ForecastSlot.slot)
            )
            .scalars()
            .all()
        )
        if not stored:
            return 0
        actual = _actual_arrivals(s, hall_id, today, rules.interval_minutes)
        services = _active_services(s, hall_id)
        active_counters = s.execute(
            select(func.count()).select_from(Counter).where(Counter.hall_id == hall_id, Counter.active.is_(True))
        ).scalar_one()
        shares = hall_history(s, hall, today, rules.interval_minutes, days=SHARE_DAYS).shares
        forecasts = [
            SlotForecast(r.slot.astimezone(zone).replace(tzinfo=None), r.mean, r.p10, r.p50, r.p90)
            for r in stored
            if r.service_id is None
        ]
    actual_local = {slot.astimezone(zone).replace(tzinfo=None): float(n) for slot, n in actual.items()}
    adjusted = intraday_adjust(forecasts, actual_local, now.astimezone(zone).replace(tzinfo=None))
    changed = [a for a, f in zip(adjusted, forecasts) if (a.mean, a.p90) != (f.mean, f.p90)]
    if not changed:
        return 0
    cap = rules.counters_cap(active_counters)
    rows = [
        row for fc in changed for row in _slot_rows(hall_id, zone, rules, services, shares, fc, cap, now, "intraday")
    ]
    with rt.uow() as tx:
        tx.session.execute(
            delete(ForecastSlot).where(
                ForecastSlot.hall_id == hall_id, ForecastSlot.slot.in_({row["slot"] for row in rows})
            )
        )
        tx.session.execute(insert(ForecastSlot), rows)
        tx.record(ev.ForecastUpdated(hall_id=hall_id, source="intraday"))
        tx.commit()
    return len(changed)


def _actual_arrivals(s, hall_id: int, day: date, minutes: int) -> dict[datetime, int]:
    """Tickets taken per interval (UTC start) on a business day, straight from the tickets."""
    counts: dict[datetime, int] = defaultdict(int)
    for (issued_at,) in s.execute(
        select(Ticket.issued_at).where(Ticket.hall_id == hall_id, Ticket.business_day == day)
    ):
        counts[_slot_start(issued_at, minutes)] += 1
    return counts


# --------------------------------------------------------------------------- reading


def hall_forecast(rt: Runtime, hall_id: int, day: date | None = None) -> dict:
    """A day's forecast band, actual arrivals, needs and planned counters per interval, for the dashboard."""
    with rt.reader() as tx:
        s = tx.session
        hall = _get(s, Hall, hall_id, "hall_id")
        zone = parse_zone(hall.timezone)
        rules = StaffingRules.from_dict(hall.staffing)
        now = rt.now()
        day = day or business_day(now, zone)
        lo = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        hi = lo + timedelta(days=1)
        rows = (
            s.execute(
                select(ForecastSlot)
                .where(ForecastSlot.hall_id == hall_id, ForecastSlot.slot >= lo, ForecastSlot.slot < hi)
                .order_by(ForecastSlot.slot)
            )
            .scalars()
            .all()
        )
        plan = s.get(CounterPlan, (hall_id, day))
        if day < business_day(now, zone):
            actual: dict[datetime, int] = defaultdict(int)
            for slot, n in s.execute(
                select(ArrivalSlot.slot, ArrivalSlot.arrivals).where(
                    ArrivalSlot.hall_id == hall_id, ArrivalSlot.slot >= lo, ArrivalSlot.slot < hi
                )
            ):
                actual[slot] += n
            if not actual:
                actual = _actual_arrivals(s, hall_id, day, rules.interval_minutes)
        else:
            actual = _actual_arrivals(s, hall_id, day, rules.interval_minutes)
        open_now = s.execute(
            select(func.count())
            .select_from(Counter)
            .where(Counter.hall_id == hall_id, Counter.active.is_(True), Counter.is_open.is_(True))
        ).scalar_one()
        services = {svc.id: svc for svc in _active_services(s, hall_id)}
        planned = planned_by_slot(plan) if plan else {}
        slots = []
        per_service: dict[int, list[dict]] = defaultdict(list)
        for r in rows:
            point = {
                "slot": r.slot.astimezone(zone).isoformat(),
                "mean": round(r.mean, 2),
                "p10": round(r.p10, 2),
                "p50": round(r.p50, 2),
                "p90": round(r.p90, 2),
                "needed": r.needed,
            }
            if r.service_id is None:
                slots.append(
                    {
                        **point,
                        "actual": actual.get(r.slot) if r.slot <= now else None,
                        "planned": planned.get(r.slot),
                        "source": r.source,
                    }
                )
            elif r.service_id in services:
                per_service[r.service_id].append(point)
        return {
            "hall_id": hall_id,
            "date": day.isoformat(),
            "interval_minutes": rules.interval_minutes,
            "timezone": hall.timezone,
            "open_counters_now": open_now,
            "made_at": rows[0].made_at.isoformat() if rows else None,
            "model": plan.model if plan else {},
            "slots": slots,
            "services": [
                {"id": sid, "name_zh": services[sid].name_zh, "name_en": services[sid].name_en, "slots": pts}
                for sid, pts in sorted(per_service.items())
            ],
            "plan": _plan_view(plan, zone) if plan else None,
            "rules": rules.to_dict(),
        }


def planned_by_slot(plan: CounterPlan) -> dict[datetime, int]:
    from forecasting.plan import Shift

    n = len(plan.needs)
    counts = open_counts([Shift(x["counter"], x["start"], x["end"]) for x in plan.shifts], n)
    step = timedelta(minutes=plan.interval_minutes)
    return {plan.first_slot + i * step: counts[i] for i in range(n)}


def _plan_view(plan: CounterPlan, zone) -> dict:
    step = timedelta(minutes=plan.interval_minutes)

    def at(i: int) -> str:
        return (plan.first_slot + i * step).astimezone(zone).strftime("%H:%M")

    return {
        "business_day": plan.business_day.isoformat(),
        "made_at": plan.made_at.isoformat(),
        "peak_needed": max(plan.needs or [0]),
        "counter_hours": round(sum(x["end"] - x["start"] for x in plan.shifts) * plan.interval_minutes / 60, 2),
        "shifts": [
            {"counter": x["counter"] + 1, "from": at(x["start"]), "to": at(x["end"])}
            for x in sorted(plan.shifts, key=lambda x: (x["counter"], x["start"]))
        ],
    }


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class ServiceNeeds:
    """What the staffing maths needs of a service (read once, used outside the session)."""

    id: int
    name_zh: str
    name_en: str
    handle_time_s: int
    target_wait_s: int


def _active_services(s, hall_id: int) -> list[ServiceNeeds]:
    # handle and target times are validated on the way in; a row edited by hand still must not stop the plan
    rows = s.execute(
        select(ServiceType)
        .where(ServiceType.hall_id == hall_id, ServiceType.active.is_(True))
        .order_by(ServiceType.prefix)
    ).scalars()
    return [
        ServiceNeeds(x.id, x.name_zh, x.name_en, max(x.handle_time_s or 300, 10), max(x.target_wait_s or 0, 0))
        for x in rows
    ]


def open_counters_by_service(s, hall_id: int) -> dict[int, int]:
    """Open counters that serve each service, now."""
    rows = s.execute(
        select(counter_services.c.service_id, func.count())
        .select_from(counter_services)
        .join(Counter, Counter.id == counter_services.c.counter_id)
        .where(Counter.hall_id == hall_id, Counter.active.is_(True), Counter.is_open.is_(True))
        .group_by(counter_services.c.service_id)
    ).all()
    return {sid: n for sid, n in rows}


def halls_to_forecast(rt: Runtime) -> list[int]:
    with rt.reader() as tx:
        return list(tx.session.execute(select(Hall.id).where(Hall.active.is_(True)).order_by(Hall.id)).scalars())


def forecast_due(rt: Runtime, hall_id: int, nightly_hour: int = 2) -> bool:
    """A hall is forecast in its local small hours, and whenever it has no plan for today."""
    with rt.reader() as tx:
        hall = _get(tx.session, Hall, hall_id, "hall_id")
        zone = parse_zone(hall.timezone)
        local = rt.now().astimezone(zone)
        if local.hour == nightly_hour:
            return True
        return tx.session.get(CounterPlan, (hall_id, local.date())) is None
