"""Service-level reports (服务指标报表): waits, handle times, busy hours and no-shows, from the tickets'
state histories, for every hall, counter, staff member and service.

Storage: two roll-up tables, made by ``rebuild`` from the tickets and their events (exact and
idempotent: a day's rows are deleted and written again in one transaction):

- ``kpi_days``: per hall, business day, local hour the ticket was taken, service, counter and
  staff member who served it last, tier and channel (kiosk, staff, system, remote, appointment):
  the additive counts of ``domain.kpi.Counts``;
- ``kpi_hall_days``: the same per hall and day, with the day's busy hour and its waits.

The scheduler rebuilds the recent days every 15 minutes (``rebuild_recent``): reports are at most
that late; the live pages show the queue as it is. Reports read only the roll-ups: a head-office
month is one row per hall and day, and its channel mix the month's ``kpi_days`` summed per hall and
channel. A hall's appointment punctuality is read from its appointments (``appointments``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, text

from ..bootstrap import Runtime
from ..domain import kpi
from ..domain.appointments import BookingRules
from ..domain.errors import Invalid, NotFound
from ..domain.hours import business_day, local_time, parse_zone
from ..domain.model import Channel
from ..domain.satisfaction import Period
from ..storage.orm import (
    Appointment,
    City,
    Counter,
    CounterPause,
    CounterSession,
    FootfallHour,
    Hall,
    Region,
    ServiceType,
    Staff,
    Ticket,
    TicketEvent,
    kpi_days,
    kpi_hall_days,
)
from .satisfaction import line_names

DAY_CHUNK = 7  # days read per pass when rebuilding a long range


# --------------------------------------------------------------------------- building the roll-ups

_LOCK_KEY = 0x6B706931  # pg_advisory_xact_lock: one writer of the service-level roll-ups at a time


def rebuild(rt: Runtime, first: date, last: date, hall_ids: Iterable[int] | None = None) -> dict:
    """Recompute the roll-ups of business days ``first``..``last`` (every hall, or ``hall_ids``),
    a week at a time: the tickets are read and counted outside any write transaction (kiosks and
    counters keep writing meanwhile, SQLite included), then each week's rows are replaced in one
    short transaction (on PostgreSQL under a lock, so two rebuilds of the same days never clash).
    A ticket that changes between the read and the write is right at the next rebuild."""
    halls = sorted(set(hall_ids)) if hall_ids is not None else None
    totals = {"tickets": 0, "rows": 0, "hall_days": 0}
    day = first
    while day <= last:
        upto = min(day + timedelta(days=DAY_CHUNK - 1), last)
        with rt.reader() as tx:
            counted = count_days(tx.session, day, upto, halls)
        with rt.uow() as tx:
            write_days(tx.session, tx.dialect, day, upto, halls, counted)
            tx.commit()
        for k in totals:
            totals[k] += counted[k] if k == "tickets" else len(counted[k])
        day = upto + timedelta(days=1)
    return {"first_day": first.isoformat(), "last_day": last.isoformat(), **totals}


def rebuild_recent(rt: Runtime) -> dict:
    """The scheduler's quarter-hour: yesterday and today, in every hall's zone."""
    today = rt.now().date()
    return rebuild(rt, today - timedelta(days=2), today + timedelta(days=1))


def rebuild_today(rt: Runtime) -> dict:
    """The scheduler's minute: the business day that is today in each active hall's zone (one day
    for a deployment in one zone), so that today's figures are at most a minute old."""
    now = rt.now()
    with rt.reader() as tx:
        zones = set(tx.session.execute(select(Hall.timezone).where(Hall.active.is_(True)).distinct()).scalars())
    days = sorted({business_day(now, parse_zone(zone)) for zone in zones}) or [now.date()]
    return rebuild(rt, days[0], days[-1])


def write_days(s, dialect: str, first: date, last: date, halls: list[int] | None, counted: dict) -> None:
    """Replace the roll-up rows of the days with ``counted`` (from ``count_days``)."""
    if dialect == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    for table in (kpi_days, kpi_hall_days):
        where = [table.c.day >= first, table.c.day <= last]
        if halls is not None:
            where.append(table.c.hall_id.in_(halls))
        s.execute(delete(table).where(*where))
    for table, batch in ((kpi_days, counted["rows"]), (kpi_hall_days, counted["hall_days"])):
        for lo in range(0, len(batch), 5000):
            s.execute(table.insert(), batch[lo : lo + 5000])


def count_days(s, first: date, last: date, halls: list[int] | None = None) -> dict:
    """Read the tickets of ``first``..``last`` with their histories and count them into roll-up rows."""
    about = _halls(s, halls)
    where = [Ticket.business_day >= first, Ticket.business_day <= last]
    if halls is not None:
        where.append(Ticket.hall_id.in_(halls))
    tickets = s.execute(
        select(
            Ticket.id,
            Ticket.hall_id,
            Ticket.business_day,
            Ticket.issued_at,
            Ticket.service_id,
            Ticket.tier,
            Ticket.channel,
        )
        .where(*where)
        .order_by(Ticket.id)
    ).all()
    if not tickets:
        return {"tickets": 0, "rows": [], "hall_days": []}
    steps: dict[int, list[kpi.Step]] = defaultdict(list)
    events = (
        select(
            TicketEvent.ticket_id,
            TicketEvent.kind,
            TicketEvent.at,
            TicketEvent.counter_id,
            TicketEvent.staff_id,
            TicketEvent.duration_s,
            TicketEvent.service_id,
        )
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(*where)
        .order_by(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.id)
    )
    for ticket_id, kind, at, counter_id, staff_id, duration_s, service_id in s.execute(events):
        steps[ticket_id].append(kpi.Step(kind, at, counter_id, staff_id, duration_s, service_id))
    rows: dict[tuple, kpi.Counts] = {}
    hall_days: dict[tuple, kpi.Counts] = {}
    hours: dict[tuple, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for ticket_id, hall_id, day, issued_at, service_id, tier, channel in tickets:
        zone, targets = about[hall_id]
        history = steps.get(ticket_id, [])
        visit = kpi.read_visit(history)
        service_id = kpi.service_taken(history, service_id)
        hour = local_time(issued_at, zone).hour
        target = targets.get(service_id)
        key = (
            hall_id,
            day,
            hour,
            service_id,
            visit.counter_id or 0,
            visit.staff_id or 0,
            tier,
            channel or Channel.KIOSK.value,
        )
        rows.setdefault(key, kpi.Counts()).add(visit, target)
        hall_days.setdefault((hall_id, day), kpi.Counts()).add(visit, target)
        per_hour = hours[(hall_id, day)][hour]
        per_hour[0] += 1
        if visit.wait_s is not None:
            per_hour[1] += 1
            per_hour[2] += round(visit.wait_s)
    keys = ("hall_id", "day", "hour", "service_id", "counter_id", "staff_id", "tier", "channel")
    detail = [{**dict(zip(keys, k)), **c.to_row()} for k, c in rows.items()]
    summary = []
    for (hall_id, day), c in hall_days.items():
        by_hour = hours[(hall_id, day)]
        busy = kpi.busy_hour({h: v[0] for h, v in by_hour.items()})
        b = by_hour.get(busy, [0, 0, 0]) if busy is not None else [0, 0, 0]
        summary.append(
            {
                "hall_id": hall_id,
                "day": day,
                **c.to_row(),
                "busy_hour": busy,
                "busy_arrivals": b[0],
                "busy_waited": b[1],
                "busy_wait_sum_s": b[2],
            }
        )
    return {"tickets": len(tickets), "rows": detail, "hall_days": summary}


def _halls(s, halls: list[int] | None) -> dict[int, tuple]:
    """Each hall's zone and its services' target waits."""
    query = select(Hall.id, Hall.timezone)
    if halls is not None:
        query = query.where(Hall.id.in_(halls))
    out: dict[int, tuple[Any, dict]] = {hall_id: (parse_zone(zone), {}) for hall_id, zone in s.execute(query)}
    services = select(ServiceType.id, ServiceType.hall_id, ServiceType.target_wait_s)
    if halls is not None:
        services = services.where(ServiceType.hall_id.in_(halls))
    for service_id, hall_id, target in s.execute(services):
        if hall_id in out:
            out[hall_id][1][service_id] = target
    return out


# --------------------------------------------------------------------------- reading


def _sum_columns(table) -> list:
    return [func.sum(table.c[name]) for name in kpi.ROW_COLUMNS]


def _counts(row, offset: int) -> kpi.Counts:
    return kpi.Counts.from_row({name: row[offset + i] for i, name in enumerate(kpi.ROW_COLUMNS)})


def _line(counts: kpi.Counts, busy: tuple[int, int] | None = None) -> dict:
    line = kpi.figures(counts)
    if busy is not None:
        waited, wait_sum = busy
        line["busy_hour_wait_avg_s"] = wait_sum / waited if waited else None
    return line


def _name(x) -> dict:
    return {"id": x.id, "code": x.code, "name_zh": x.name_zh, "name_en": x.name_en}


def wait_histogram(counts: kpi.Counts) -> list[dict]:
    """The waits counted in each bin (``to_s`` None: the open last bin)."""
    return [
        {"from_s": lo, "to_s": hi, "count": n}
        for lo, hi, n in zip(kpi.WAIT_BINS, kpi.WAIT_BINS[1:] + (None,), counts.wait_bins)
    ]


def rank(lines: list[dict], field: str = "rank") -> list[dict]:
    """Best first: the share served within target, then the shorter average wait; lines without a
    finished wait get no rank and go last."""

    def key(x):
        return (-(x["within_target_rate"] or 0), x["wait_avg_s"] or 0)

    ranked = sorted((x for x in lines if x["waited"]), key=key)
    rest = [x for x in lines if not x["waited"]]
    for i, x in enumerate(ranked):
        x[field] = ranked[i - 1][field] if i and key(ranked[i - 1]) == key(x) else i + 1
    for x in rest:
        x[field] = None
    return ranked + rest


CHANNELS = tuple(c.value for c in Channel)
# the channels' names in the reports and their files (the pages show these too)
CHANNEL_NAMES = {
    "kiosk": ("现场取号机", "Kiosk"),
    "staff": ("工作人员", "Staff"),
    "system": ("系统", "System"),
    "remote": ("远程取号", "Remote"),
    "appointment": ("预约", "Appointment"),
}
BEFORE_COMING = ("remote", "appointment")  # the channels of customers who queued before they came


def channel_mix(mix: dict[str, int]) -> dict:
    """A place's tickets by channel (every channel, zeros included) and the share taken before
    coming (remote and appointment; None without tickets)."""
    channels = {c: int(mix.get(c, 0)) for c in CHANNELS}
    total = sum(channels.values())
    return {
        "channels": channels,
        "remote_appointment_share": sum(channels[c] for c in BEFORE_COMING) / total if total else None,
    }


def _channel_mix(s, period: Period, hall_ids: list[int]) -> dict[int, dict[str, int]]:
    """Tickets per hall and channel in the period (``kpi_days`` by its key's prefix, hall and day)."""
    d = kpi_days
    out: dict[int, dict[str, int]] = defaultdict(dict)
    if not hall_ids:
        return out
    for hall_id, channel, n in s.execute(
        select(d.c.hall_id, d.c.channel, func.sum(d.c.arrivals))
        .where(d.c.hall_id.in_(hall_ids), d.c.day >= period.first, d.c.day <= period.last)
        .group_by(d.c.hall_id, d.c.channel)
    ):
        out[hall_id][channel] = int(n or 0)
    return out


def _add_mix(into: dict[str, int], mix: dict[str, int]) -> None:
    for channel, n in mix.items():
        into[channel] = into.get(channel, 0) + n


def head_office_report(rt: Runtime, period: Period) -> dict:
    """Every hall's service levels for the period, rolled up city → region → all (percentiles from
    the merged histograms: exact roll-ups, not averages of averages), each level ranked; each line
    with its channel mix (``channels``: tickets by channel, ``remote_appointment_share``)."""
    h = kpi_hall_days
    with rt.reader() as tx:
        s = tx.session
        rows = s.execute(
            select(h.c.hall_id, func.sum(h.c.busy_waited), func.sum(h.c.busy_wait_sum_s), *_sum_columns(h))
            .where(h.c.day >= period.first, h.c.day <= period.last)
            .group_by(h.c.hall_id)
        ).all()
        by_hall = {r[0]: (_counts(r, 3), (int(r[1] or 0), int(r[2] or 0))) for r in rows}
        mixes = _channel_mix(s, period, sorted(by_hall))
        halls = s.execute(
            select(Hall.id, Hall.code, Hall.name_zh, Hall.name_en, City, Region)
            .join(City, Hall.city_id == City.id)
            .join(Region, City.region_id == Region.id)
            .where(Hall.active.is_(True) | Hall.id.in_(list(by_hall)))
            .order_by(Region.code, City.code, Hall.code)
        ).all()
        regions: dict[int, dict] = {}
        for hall_id, code, name_zh, name_en, city, region in halls:
            counts, busy = by_hall.get(hall_id, (kpi.Counts(), (0, 0)))
            mix = mixes.get(hall_id, {})
            r = regions.setdefault(
                region.id, {**_name(region), "cities": {}, "_c": kpi.Counts(), "_b": [0, 0], "_m": {}}
            )
            c = r["cities"].setdefault(
                city.id, {**_name(city), "halls": [], "_c": kpi.Counts(), "_b": [0, 0], "_m": {}}
            )
            c["halls"].append(
                {
                    "id": hall_id,
                    "code": code,
                    "name_zh": name_zh,
                    "name_en": name_en,
                    **_line(counts, busy),
                    **channel_mix(mix),
                }
            )
            for node in (r, c):
                node["_c"].merge(counts)
                node["_b"][0] += busy[0]
                node["_b"][1] += busy[1]
                _add_mix(node["_m"], mix)
    total, total_busy, total_mix = kpi.Counts(), [0, 0], {}  # type: kpi.Counts, list[int], dict
    out = []
    inner = ("halls", "cities", "_c", "_b", "_m")
    for r in regions.values():
        cities = []
        for c in r["cities"].values():
            cities.append(
                {
                    **{k: v for k, v in c.items() if k not in inner},
                    **_line(c["_c"], tuple(c["_b"])),
                    **channel_mix(c["_m"]),
                    "wait_histogram": wait_histogram(c["_c"]),
                    "halls": rank(c["halls"], "rank_in_city"),
                }
            )
        rank([x for c in cities for x in c["halls"]], "rank_in_region")
        out.append(
            {
                **{k: v for k, v in r.items() if k not in inner},
                **_line(r["_c"], tuple(r["_b"])),
                **channel_mix(r["_m"]),
                "wait_histogram": wait_histogram(r["_c"]),
                "cities": rank(cities, "rank_in_region"),
            }
        )
        total.merge(r["_c"])
        total_busy[0] += r["_b"][0]
        total_busy[1] += r["_b"][1]
        _add_mix(total_mix, r["_m"])
    return {
        "period": period.to_dict(),
        "totals": {
            **_line(total, (total_busy[0], total_busy[1])),
            **channel_mix(total_mix),
            "wait_histogram": wait_histogram(total),
        },
        "regions": rank(out, "rank"),
    }


BREAKDOWNS = ("counter", "staff", "service", "tier", "channel", "hour", "weekday", "day")


def hall_report(rt: Runtime, hall_id: int, period: Period, by: str = "counter") -> dict:
    """One hall's service levels for the period by counter, staff member, service, customer tier,
    channel (kiosk, staff, system, remote, appointment), hour of day, weekday or business day;
    counters, staff and services are ranked. Comparisons: each line's and the totals' ``previous``
    (the period before), and ``city``: the hall's city, all its halls. ``appointments``: how the
    appointments booked for the period's days went (``domain.kpi.punctuality``)."""
    if by not in BREAKDOWNS:
        raise Invalid(f"by is one of {', '.join(BREAKDOWNS)}", field="by")
    before = previous_period(period)
    with rt.reader() as tx:
        s = tx.session
        hall = s.get(Hall, hall_id)
        if hall is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        grouped = _grouped(s, hall_id, period, by)
        earlier = _grouped(s, hall_id, before, by) if by != "day" else {}
        busy, busy_before = _busy(s, [hall_id], period), _busy(s, [hall_id], before)
        city_halls = list(s.execute(select(Hall.id).where(Hall.city_id == hall.city_id)).scalars())
        h = kpi_hall_days
        city_row = s.execute(
            select(*_sum_columns(h)).where(h.c.hall_id.in_(city_halls), h.c.day >= period.first, h.c.day <= period.last)
        ).one()
        city = _line(_counts(city_row, 0), _busy(s, city_halls, period))
        city.update({"halls": len(city_halls), **_name(s.get(City, hall.city_id))})
        names = line_names(s, by, hall_id)
        about = _name(hall)
        norm = {
            x.id: x.handle_time_s
            for x in s.execute(select(ServiceType).where(ServiceType.hall_id == hall_id)).scalars()
        }
        staff_norm = _staff_norms(s, hall_id, period, norm) if by == "staff" else {}
        zone = parse_zone(hall.timezone)
        open_s = counter_open_seconds(s, hall_id, period, zone, rt.now())
        paused_s = counter_paused_seconds(s, hall_id, period, zone, rt.now())
        door = _door_counts(s, hall_id, period, zone)
        d = kpi_hall_days
        counted_days = sorted(day for day, n in door.items() if n)
        arrivals_counted = (
            int(
                s.execute(
                    select(func.coalesce(func.sum(d.c.arrivals), 0)).where(
                        d.c.hall_id == hall_id, d.c.day.in_(counted_days)
                    )
                ).scalar_one()
            )
            if counted_days
            else 0
        )
        door_in = sum(door.values())
        appointments = appointment_punctuality(s, hall, period)
    lines = [{**names.get(k, _unnamed(by, k)), **_line(c)} for k, c in grouped.items()]
    if by in ("counter", "staff", "service"):
        have = {x["key"] for x in lines}
        lines += [{**label, **_line(kpi.Counts())} for key, label in names.items() if key not in have]
        lines = rank(sorted(lines, key=lambda x: str(x["key"])))
    elif by == "channel":
        lines.sort(key=lambda x: (CHANNELS.index(x["key"]) if x["key"] in CHANNELS else len(CHANNELS), x["key"]))
    else:
        lines.sort(key=lambda x: x["key"])
    for x in lines:
        if by != "day":
            x["previous"] = _brief(_line(earlier.get(x["key"], kpi.Counts())))
        if by == "service":
            x["handle_norm_s"] = norm.get(x["key"])
        if by == "staff":
            x["handle_norm_s"] = staff_norm.get(x["key"])
        if by == "counter":
            handle = grouped[x["key"]].handle_sum_s if x["key"] in grouped else 0
            x["open_s"] = open_s.get(x["key"], 0)
            x["paused_s"] = paused_s.get(x["key"], 0)  # within open_s: open, but not calling
            x["utilisation"] = handle / x["open_s"] if x["open_s"] else None
    total = kpi.combine(grouped.values())
    totals = _line(total, busy)
    all_open = sum(open_s.values())
    totals.update(
        {
            "open_s": all_open,
            "paused_s": sum(paused_s.values()),
            "utilisation": total.handle_sum_s / all_open if all_open else None,
            # tickets per person at the door, over the days the door counters counted
            "door_in": door_in,
            "conversion": arrivals_counted / door_in if door_in else None,
            "wait_histogram": wait_histogram(total),
        }
    )
    return {
        "period": period.to_dict(),
        "hall": about,
        "by": by,
        "totals": totals,
        "previous": {"period": before.to_dict(), **_brief(_line(kpi.combine(earlier.values()), busy_before))},
        "city": city,
        "appointments": appointments,
        "lines": lines,
    }


def appointment_punctuality(s, hall: Hall, period: Period) -> dict:
    """The hall's appointments booked for the period's days, by how they went, the grace time
    being the hall's booking rules' (``booking_enabled``: whether it takes appointments now)."""
    rules = BookingRules.from_dict(hall.booking)
    rows = s.execute(
        select(Appointment.state, Appointment.slot_start, Appointment.checked_in_at).where(
            Appointment.hall_id == hall.id,
            Appointment.business_day >= period.first,
            Appointment.business_day <= period.last,
        )
    ).all()
    return {
        **kpi.punctuality(rows, rules.grace_minutes * 60),
        "grace_minutes": rules.grace_minutes,
        "booking_enabled": rules.enabled,
    }


BRIEF = (
    "arrivals",
    "served",
    "wait_avg_s",
    "wait_p90_s",
    "within_target_rate",
    "handle_avg_s",
    "no_show_rate",
    "busy_hour_wait_avg_s",
)


def _brief(line: dict) -> dict:
    return {k: line.get(k) for k in BRIEF}


def previous_period(period: Period) -> Period:
    """The day, week or month before."""
    from ..domain.satisfaction import period_of

    return period_of(period.kind, period.first - timedelta(days=1))


def _grouped(s, hall_id: int, period: Period, by: str) -> dict:
    d = kpi_days
    where = [d.c.hall_id == hall_id, d.c.day >= period.first, d.c.day <= period.last]
    if by == "weekday":
        grouped: dict = defaultdict(kpi.Counts)
        for r in s.execute(select(d.c.day, *_sum_columns(d)).where(*where).group_by(d.c.day)):
            grouped[r[0].weekday()].merge(_counts(r, 1))
        return dict(grouped)
    column = {
        "counter": d.c.counter_id,
        "staff": d.c.staff_id,
        "service": d.c.service_id,
        "tier": d.c.tier,
        "channel": d.c.channel,
        "hour": d.c.hour,
        "day": d.c.day,
    }[by]
    return {r[0]: _counts(r, 1) for r in s.execute(select(column, *_sum_columns(d)).where(*where).group_by(column))}


def _busy(s, hall_ids: list[int], period: Period) -> tuple[int, int]:
    h = kpi_hall_days
    row = s.execute(
        select(func.sum(h.c.busy_waited), func.sum(h.c.busy_wait_sum_s)).where(
            h.c.hall_id.in_(hall_ids), h.c.day >= period.first, h.c.day <= period.last
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def _local_range(period: Period, zone) -> tuple[datetime, datetime]:
    """The period's days in the hall's zone, as UTC instants [start, end)."""
    start = datetime.combine(period.first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(period.last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def counter_open_seconds(s, hall_id: int, period: Period, zone, now: datetime) -> dict[int, float]:
    """Each counter's open time within the period (sessions clipped to it; one still open counts to now)."""
    return _seconds_by_counter(
        s, CounterSession, CounterSession.opened_at, CounterSession.closed_at, hall_id, period, zone, now
    )


def counter_paused_seconds(s, hall_id: int, period: Period, zone, now: datetime) -> dict[int, float]:
    """Each counter's paused time within the period (its own category: open, but not calling)."""
    return _seconds_by_counter(
        s, CounterPause, CounterPause.started_at, CounterPause.ended_at, hall_id, period, zone, now
    )


def _seconds_by_counter(s, model, began, ended, hall_id: int, period: Period, zone, now: datetime) -> dict[int, float]:
    start, end = _local_range(period, zone)
    out: dict[int, float] = defaultdict(float)
    for counter_id, since, until in s.execute(
        select(model.counter_id, began, ended).where(
            model.hall_id == hall_id, began < end, or_(ended.is_(None), ended > start)
        )
    ):
        span = (min(until or now, end) - max(since, start)).total_seconds()
        if span > 0:
            out[counter_id] += span
    return dict(out)


def _door_counts(s, hall_id: int, period: Period, zone) -> dict[date, int]:
    """People the hall's door counters saw come in, per local day of the period (no entry: no counts)."""
    start, end = _local_range(period, zone)
    days: dict[date, int] = defaultdict(int)
    for hour, n in s.execute(
        select(FootfallHour.hour, FootfallHour.in_count).where(
            FootfallHour.hall_id == hall_id, FootfallHour.hour >= start, FootfallHour.hour < end
        )
    ):
        days[local_time(hour, zone).date()] += int(n or 0)
    return dict(days)


def _staff_norms(s, hall_id: int, period: Period, norm: Mapping[int, int | None]) -> dict[int, float]:
    """Each staff member's expected handle time: the hall's norm of each service, weighted by how many
    customers of it they served (productivity is judged against the mix they had)."""
    d = kpi_days
    weights: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
    for staff_id, service_id, handled in s.execute(
        select(d.c.staff_id, d.c.service_id, func.sum(d.c.handled))
        .where(d.c.hall_id == hall_id, d.c.day >= period.first, d.c.day <= period.last)
        .group_by(d.c.staff_id, d.c.service_id)
    ):
        if handled and (service_norm := norm.get(service_id)):
            weights[staff_id][0] += service_norm * int(handled)
            weights[staff_id][1] += int(handled)
    return {k: v[0] / v[1] for k, v in weights.items() if v[1]}


WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _unnamed(by: str, key) -> dict:
    if by == "day":
        return {"key": key.isoformat() if hasattr(key, "isoformat") else str(key)}
    if by == "weekday":
        return {"key": key, "label_zh": WEEKDAYS_ZH[key], "label_en": WEEKDAYS_EN[key]}
    if by == "hour":
        return {"key": key, "label_zh": f"{key}:00-{key + 1}:00", "label_en": f"{key:02d}:00-{key + 1:02d}:00"}
    if by == "tier":
        return {"key": key}
    if by == "channel":
        zh, en = CHANNEL_NAMES.get(key, (key, key))
        return {"key": key, "label_zh": zh, "label_en": en}
    return {"key": key, "name": "—" if key == 0 else str(key)}  # 0: no counter / staff member (never called)


def heatmap(rt: Runtime, hall_id: int, period: Period) -> dict:
    """Average wait and arrivals per weekday and local hour over the period: where the week hurts."""
    d = kpi_days
    with rt.reader() as tx:
        s = tx.session
        if s.get(Hall, hall_id) is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        rows = s.execute(
            select(
                d.c.day,
                d.c.hour,
                func.sum(d.c.arrivals),
                func.sum(d.c.waited),
                func.sum(d.c.wait_sum_s),
                func.count(func.distinct(d.c.day)),
            )
            .where(d.c.hall_id == hall_id, d.c.day >= period.first, d.c.day <= period.last)
            .group_by(d.c.day, d.c.hour)
        ).all()
    cells: dict[tuple[int, int], list] = defaultdict(lambda: [0, 0, 0, set()])
    for day, hour, arrivals, waited, wait_sum, _ in rows:
        cell = cells[(day.weekday(), hour)]
        cell[0] += int(arrivals or 0)
        cell[1] += int(waited or 0)
        cell[2] += int(wait_sum or 0)
        cell[3].add(day)
    out = [
        {
            "weekday": wd,
            "hour": hour,
            "arrivals": c[0],
            "days": len(c[3]),
            "arrivals_per_day": c[0] / len(c[3]),
            "wait_avg_s": c[2] / c[1] if c[1] else None,
        }
        for (wd, hour), c in sorted(cells.items())
    ]
    return {"period": period.to_dict(), "hall_id": hall_id, "cells": out}


# --------------------------------------------------------------------------- the tickets behind a figure

TICKET_FILTERS = ("hour", "counter_id", "staff_id", "service_id", "tier", "channel", "outcome", "weekday")
LIST_LIMIT = 2000


def ticket_list(
    rt: Runtime, hall_id: int, period: Period, filters: dict | None = None, limit: int = LIST_LIMIT
) -> dict:
    """The tickets a report line counts, read from their histories as the roll-ups read them: each
    with its wait, handle time, outcome and who served it last. ``filters``: ``hour`` (local hour
    taken), ``weekday`` (0 Monday), ``counter_id`` / ``staff_id`` (0: none), ``service_id`` (the
    service taken), ``tier``, ``channel``, ``outcome``. Latest first; at most ``limit`` (``truncated``
    says so)."""
    filters = {k: v for k, v in (filters or {}).items() if v is not None}
    unknown = set(filters) - set(TICKET_FILTERS)
    if unknown:
        raise Invalid(f"filter by one of {', '.join(TICKET_FILTERS)}", field=sorted(unknown)[0])
    if "outcome" in filters and filters["outcome"] not in kpi.OUTCOMES:
        raise Invalid(f"outcome is one of {', '.join(kpi.OUTCOMES)}", field="outcome")
    if "channel" in filters and filters["channel"] not in CHANNELS:
        raise Invalid(f"channel is one of {', '.join(CHANNELS)}", field="channel")
    with rt.reader() as tx:
        s = tx.session
        hall = s.get(Hall, hall_id)
        if hall is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        zone = parse_zone(hall.timezone)
        where = [Ticket.hall_id == hall_id, Ticket.business_day >= period.first, Ticket.business_day <= period.last]
        tickets = s.execute(
            select(
                Ticket.id,
                Ticket.label,
                Ticket.business_day,
                Ticket.issued_at,
                Ticket.service_id,
                Ticket.tier,
                Ticket.channel,
            )
            .where(*where)
            .order_by(Ticket.id.desc())
        ).all()
        steps: dict[int, list[kpi.Step]] = defaultdict(list)
        for row in s.execute(
            select(
                TicketEvent.ticket_id,
                TicketEvent.kind,
                TicketEvent.at,
                TicketEvent.counter_id,
                TicketEvent.staff_id,
                TicketEvent.duration_s,
                TicketEvent.service_id,
            )
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(*where)
            .order_by(TicketEvent.ticket_id, TicketEvent.at, TicketEvent.id)
        ):
            steps[row[0]].append(kpi.Step(*row[1:]))
        services = {
            x.id: (f"{x.prefix} {x.name_zh}", x.target_wait_s)
            for x in s.execute(select(ServiceType).where(ServiceType.hall_id == hall_id)).scalars()
        }
        counters = {x.id: x.number for x in s.execute(select(Counter).where(Counter.hall_id == hall_id)).scalars()}
        staff = {x.id: x.name for x in s.execute(select(Staff).where(Staff.hall_id == hall_id)).scalars()}
        about = _name(hall)
    out: list[dict] = []
    matched = 0
    for ticket_id, label, day, issued_at, current_service, tier, channel in tickets:
        history = steps.get(ticket_id, [])
        visit = kpi.read_visit(history)
        service_id = kpi.service_taken(history, current_service)
        local = local_time(issued_at, zone)
        facts = {
            "hour": local.hour,
            "weekday": day.weekday(),
            "counter_id": visit.counter_id or 0,
            "staff_id": visit.staff_id or 0,
            "service_id": service_id,
            "tier": tier,
            "channel": channel,
            "outcome": visit.outcome,
        }
        if any(facts[k] != v for k, v in filters.items()):
            continue
        matched += 1
        if len(out) >= limit:
            continue
        service_name, target = services.get(service_id, ("", None))
        out.append(
            {
                "id": ticket_id,
                "label": label,
                "business_day": day.isoformat(),
                "issued_local": local.strftime("%Y-%m-%d %H:%M"),
                "service_id": service_id,
                "service": service_name,
                "tier": tier,
                "channel": channel,
                "outcome": visit.outcome,
                "wait_s": visit.wait_s,
                "handle_s": visit.handle_s,
                "within_target": (visit.wait_s <= target) if visit.wait_s is not None and target else None,
                "transfers": visit.transfers,
                "counter_id": visit.counter_id,
                "counter": counters.get(visit.counter_id or 0, ""),
                "staff_id": visit.staff_id,
                "staff": staff.get(visit.staff_id or 0, ""),
            }
        )
    return {
        "period": period.to_dict(),
        "hall": about,
        "filters": filters,
        "matched": matched,
        "truncated": matched > len(out),
        "tickets": out,
    }


def day_trend(rt: Runtime, period: Period, hall_ids: set[int] | None = None) -> list[dict]:
    """Tickets and the average wait per business day across the halls (None: every hall)."""
    h = kpi_hall_days
    where = [h.c.day >= period.first, h.c.day <= period.last]
    if hall_ids is not None:
        where.append(h.c.hall_id.in_(sorted(hall_ids)))
    with rt.reader() as tx:
        rows = tx.session.execute(
            select(h.c.day, func.sum(h.c.arrivals), func.sum(h.c.waited), func.sum(h.c.wait_sum_s))
            .where(*where)
            .group_by(h.c.day)
        ).all()
    return [
        {
            "key": day.isoformat(),
            "arrivals": int(arrivals or 0),
            "wait_avg_s": int(wait_sum or 0) / int(waited) if waited else None,
        }
        for day, arrivals, waited, wait_sum in sorted(rows)
    ]


def busy_hour_arrivals(rt: Runtime, hall_id: int, until: date, days: int = 28) -> float | None:
    """Tickets taken in a day's busiest hour, on average over the ``days`` before ``until`` (the
    calling rule's preview); None when the hall has no rolled-up day yet."""
    h = kpi_hall_days
    with rt.reader() as tx:
        value = tx.session.execute(
            select(func.avg(h.c.busy_arrivals)).where(
                h.c.hall_id == hall_id,
                h.c.day < until,
                h.c.day >= until - timedelta(days=days),
                h.c.busy_hour.is_not(None),
            )
        ).scalar()
    return float(value) if value else None
