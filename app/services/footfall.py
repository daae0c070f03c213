"""Door counts: sensors of a hall, batch ingestion, the day's figures and live occupancy.

Storage is one row per sensor and minute (``footfall_minutes``, raw as reported)
and one per sensor and hour (``footfall_hours``), kept in step in the same
transaction. The latest report of a minute is the truth: an agent may post the
minute still in progress and post it again when it grows, and a retry of a batch
already stored changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import bindparam, delete, func, insert, select, update

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain.cells import safe_cell
from ..domain.errors import Forbidden, Invalid, NotFound
from ..domain.footfall import (
    LoadRules,
    MinuteCount,
    check_batch,
    count_start,
    hour_of,
    load_reasons,
    load_state,
    occupancy_after,
    oriented,
)
from ..domain.hours import Closures, OpeningHours, business_day, open_at, parse_zone
from ..domain.model import DeviceKind
from ..storage.orm import Device, FootfallHour, FootfallMinute, FootfallSensor, Hall, rows_changed, table
from .config import _commit, _get

STALE_AFTER = timedelta(minutes=10)  # an active sensor silent this long while the hall is open is shown as stale


# --------------------------------------------------------------------------- sensors


def sensor_view(s: FootfallSensor) -> dict:
    return {
        "id": s.id,
        "hall_id": s.hall_id,
        "device_id": s.device_id,
        "code": s.code,
        "name_zh": s.name_zh,
        "name_en": s.name_en,
        "door": s.door,
        "kind": s.kind,
        "reversed": s.reversed,
        "in_totals": s.in_totals,
        "active": s.active,
        "last_report_at": _iso(s.last_report_at),
        "last_minute": _iso(s.last_minute),
    }


def list_sensors(rt: Runtime, hall_id: int) -> list[dict]:
    with rt.reader() as tx:
        _get(tx.session, Hall, hall_id, "hall_id")
        rows = tx.session.execute(
            select(FootfallSensor).where(FootfallSensor.hall_id == hall_id).order_by(FootfallSensor.code)
        ).scalars()
        return [sensor_view(r) for r in rows]


def register_sensor(rt: Runtime, hall_id: int, data: dict) -> dict:
    with rt.uow() as tx:
        _get(tx.session, Hall, hall_id, "hall_id")
        _check_device(tx.session, hall_id, data["device_id"])
        sensor = FootfallSensor(hall_id=hall_id, created_at=rt.now(), active=True, **data)
        tx.session.add(sensor)
        return _commit(tx, rt.now(), sensor, sensor_view, unique_field="code", before=None)


def update_sensor(rt: Runtime, sensor_id: int, changes: dict) -> dict:
    with rt.uow() as tx:
        sensor = _get(tx.session, FootfallSensor, sensor_id, "sensor_id")
        before = sensor_view(sensor)
        if "device_id" in changes:
            _check_device(tx.session, sensor.hall_id, changes["device_id"])
        for key, value in changes.items():
            setattr(sensor, key, value)
        return _commit(tx, rt.now(), sensor, sensor_view, unique_field="code", before=before)


def sensor_hall(rt: Runtime, sensor_id: int) -> int:
    with rt.reader() as tx:
        return _get(tx.session, FootfallSensor, sensor_id, "sensor_id").hall_id


def _check_device(s, hall_id: int, device_id: int) -> None:
    device = s.get(Device, device_id)
    if device is None or device.hall_id != hall_id:
        raise Invalid(f"no device {device_id} in this hall", field="device_id")
    if device.kind != DeviceKind.SENSOR.value or not device.active:
        raise Invalid(f"device {device_id} is not an active sensor device", field="device_id")


# --------------------------------------------------------------------------- ingestion


def ingest(rt: Runtime, device_id: int, hall_id: int, counts: list[MinuteCount]) -> dict:
    """Store a batch of minutes from one sensor device: all of it, or (on any bad entry) none of it."""
    now = rt.now()
    with rt.uow() as tx:
        s = tx.session
        hall = s.get(Hall, hall_id)
        if hall is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        zone = parse_zone(hall.timezone)
        opened_at = datetime.combine(hall.opened_on, time(0), tzinfo=zone) if hall.opened_on else None
        check_batch(counts, now, opened_at)
        sensors = _sensors_for_batch(s, tx.dialect, hall, device_id, counts)

        by_key = {(sensors[c.sensor].id, c.minute.astimezone(UTC)): c for c in counts}
        first, last = min(m for _, m in by_key), max(m for _, m in by_key)
        ids = {sid for sid, _ in by_key}
        existing = {
            (r.sensor_id, r.minute): (r.in_count, r.out_count)
            for r in s.execute(
                select(
                    FootfallMinute.sensor_id, FootfallMinute.minute, FootfallMinute.in_count, FootfallMinute.out_count
                ).where(
                    FootfallMinute.sensor_id.in_(ids), FootfallMinute.minute >= first, FootfallMinute.minute <= last
                )
            )
        }

        new_rows: list[dict] = []
        changed_rows: list[dict] = []
        hour_delta: dict[tuple[int, datetime], list[int]] = defaultdict(lambda: [0, 0])
        for (sensor_id, minute), c in by_key.items():
            before = existing.get((sensor_id, minute))
            if before == (c.in_count, c.out_count):
                continue
            row = {
                "sensor_id": sensor_id,
                "minute": minute,
                "hall_id": hall_id,
                "in_count": c.in_count,
                "out_count": c.out_count,
                "received_at": now,
            }
            (new_rows if before is None else changed_rows).append(row)
            delta = hour_delta[(sensor_id, hour_of(minute))]
            delta[0] += c.in_count - (before[0] if before else 0)
            delta[1] += c.out_count - (before[1] if before else 0)
        if new_rows:
            s.execute(insert(_MINUTES), new_rows)
        if changed_rows:
            s.execute(_UPDATE_MINUTE, [{f"b_{k}": v for k, v in row.items()} for row in changed_rows])
        _roll_up(s, hall_id, hour_delta)
        stored, replaced = len(new_rows), len(changed_rows)
        unchanged = len(by_key) - stored - replaced

        for sensor in sensors.values():
            sensor.last_report_at = now
            latest = max(m for sid, m in by_key if sid == sensor.id)
            if sensor.last_minute is None or latest > sensor.last_minute:
                sensor.last_minute = latest
        device = s.get(Device, device_id)
        if device is not None:
            device.last_seen_at = now
        if stored or replaced:
            tx.record(ev.FootfallCounted(hall_id=hall_id, minutes=stored + replaced, latest_minute=last.isoformat()))
        tx.commit()
    return {"stored": stored, "replaced": replaced, "unchanged": unchanged}


def _sensors_for_batch(s, dialect: str, hall: Hall, device_id: int, counts: list[MinuteCount]) -> dict:
    """The batch's sensors, locked (PostgreSQL) so two batches of one sensor take turns."""
    query = (
        select(FootfallSensor)
        .where(FootfallSensor.hall_id == hall.id, FootfallSensor.code.in_({c.sensor for c in counts}))
        .order_by(FootfallSensor.id)
    )
    if dialect == "postgresql":
        query = query.with_for_update()
    sensors = {r.code: r for r in s.execute(query).scalars()}
    for i, c in enumerate(counts):
        sensor = sensors.get(c.sensor)
        if sensor is None:
            raise Invalid(f"no sensor {c.sensor!r} in hall {hall.code}; register it first", field=f"counts[{i}].sensor")
        if not sensor.active:
            raise Invalid(f"sensor {c.sensor!r} is retired", field=f"counts[{i}].sensor")
        if sensor.device_id != device_id:
            raise Forbidden(f"sensor {c.sensor!r} reports through another device", field=f"counts[{i}].sensor")
    return sensors


_MINUTES, _HOURS = table(FootfallMinute), table(FootfallHour)  # bulk statements work on the tables
_UPDATE_MINUTE = (
    update(_MINUTES)
    .where(_MINUTES.c.sensor_id == bindparam("b_sensor_id"), _MINUTES.c.minute == bindparam("b_minute"))
    .values(
        in_count=bindparam("b_in_count"), out_count=bindparam("b_out_count"), received_at=bindparam("b_received_at")
    )
)
_UPDATE_HOUR = (
    update(_HOURS)
    .where(_HOURS.c.sensor_id == bindparam("b_sensor_id"), _HOURS.c.hour == bindparam("b_hour"))
    .values(in_count=_HOURS.c.in_count + bindparam("b_in"), out_count=_HOURS.c.out_count + bindparam("b_out"))
)


def _roll_up(s, hall_id: int, hour_delta: dict) -> None:
    """Add each (sensor, hour)'s change to its roll-up row (the sensors are locked: no one else writes them)."""
    if not hour_delta:
        return
    ids = {sid for sid, _ in hour_delta}
    hours = {h for _, h in hour_delta}
    existing = {
        tuple(r)
        for r in s.execute(
            select(FootfallHour.sensor_id, FootfallHour.hour).where(
                FootfallHour.sensor_id.in_(ids), FootfallHour.hour.in_(hours)
            )
        )
    }
    new_rows, changes = [], []
    for (sensor_id, hour), (d_in, d_out) in hour_delta.items():
        if (sensor_id, hour) in existing:
            changes.append({"b_sensor_id": sensor_id, "b_hour": hour, "b_in": d_in, "b_out": d_out})
        else:
            new_rows.append(
                {"sensor_id": sensor_id, "hour": hour, "hall_id": hall_id, "in_count": d_in, "out_count": d_out}
            )
    if new_rows:
        s.execute(insert(_HOURS), new_rows)
    if changes:
        s.execute(_UPDATE_HOUR, changes)


def prune_minutes(rt: Runtime, keep_days: int) -> int:
    """Delete per-minute rows older than ``keep_days`` (their hours stay). Returns how many went."""
    cutoff = rt.now() - timedelta(days=keep_days)
    with rt.uow() as tx:
        gone = rows_changed(tx.session.execute(delete(FootfallMinute).where(FootfallMinute.minute < cutoff)))
        tx.commit()
    return gone or 0


# --------------------------------------------------------------------------- reading


def _day_minutes(s, hall_id: int, start: datetime, end: datetime) -> list[tuple[datetime, int, int]]:
    """(minute, entering, leaving) summed over the hall's counted sensors, in time order."""
    rows = s.execute(
        select(FootfallMinute.minute, FootfallMinute.in_count, FootfallMinute.out_count, FootfallSensor.reversed)
        .join(FootfallSensor, FootfallSensor.id == FootfallMinute.sensor_id)
        .where(
            FootfallMinute.hall_id == hall_id,
            FootfallMinute.minute >= start,
            FootfallMinute.minute < end,
            FootfallSensor.in_totals.is_(True),
        )
    ).all()
    return _entering_leaving(rows)


def _entering_leaving(rows) -> list[tuple[datetime, int, int]]:
    """Rows of (time, in, out, sensor reversed) summed per time as (time, entering, leaving), in order."""
    totals: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    for at, in_count, out_count, reversed_ in rows:
        entering, leaving = oriented(in_count, out_count, reversed_)
        totals[at][0] += entering
        totals[at][1] += leaving
    return [(at, e, o) for at, (e, o) in sorted(totals.items())]


def _has_counted_sensor(s, hall_id: int) -> bool:
    return (
        s.execute(
            select(func.count())
            .select_from(FootfallSensor)
            .where(
                FootfallSensor.hall_id == hall_id, FootfallSensor.active.is_(True), FootfallSensor.in_totals.is_(True)
            )
        ).scalar_one()
        > 0
    )


def live_load(
    s, hall_id: int, zone, hours: OpeningHours, rules: LoadRules, now: datetime, waiting: int, open_counters: int
) -> dict:
    """The hall's people inside now and its load state, for the live hall snapshot."""
    occupancy = entering = leaving = None
    if _has_counted_sensor(s, hall_id):
        day = business_day(now, zone)
        midnight = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        start = count_start(day, zone, hours)
        minutes = _day_minutes(s, hall_id, midnight, now + timedelta(minutes=2))
        occupancy = occupancy_after((e, o) for m, e, o in minutes if m >= start)
        entering = sum(e for _, e, _ in minutes)
        leaving = sum(o for _, _, o in minutes)
    return {
        "occupancy": occupancy,
        "in": entering,
        "out": leaving,
        "waiting": waiting,
        "open_counters": open_counters,
        "state": load_state(occupancy, waiting, open_counters, rules),
        "reasons": load_reasons(occupancy, waiting, open_counters, rules),
        "rules": rules.to_dict(),
    }


def hall_day(rt: Runtime, hall_id: int, day: date | None = None, interval_min: int = 15) -> dict:
    """One business day of a hall's door counts: totals, per-interval series, occupancy, sensors."""
    with rt.reader() as tx:
        s = tx.session
        hall = _get(s, Hall, hall_id, "hall_id")
        zone = parse_zone(hall.timezone)
        now = rt.now()
        today = business_day(now, zone)
        day = day or today
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        start_utc = midnight.astimezone(UTC)
        end_utc = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        opens = count_start(day, zone, OpeningHours.parse(hall.opening_hours))
        minutes = _day_minutes(s, hall.id, start_utc, end_utc)

        series = _series(minutes, zone, opens, interval_min)
        occupancy = series[-1]["occupancy"] if series else 0
        sensors = (
            s.execute(select(FootfallSensor).where(FootfallSensor.hall_id == hall.id).order_by(FootfallSensor.code))
            .scalars()
            .all()
        )
        per_sensor = {
            sid: (i, o)
            for sid, i, o in s.execute(
                select(FootfallMinute.sensor_id, func.sum(FootfallMinute.in_count), func.sum(FootfallMinute.out_count))
                .where(
                    FootfallMinute.hall_id == hall.id,
                    FootfallMinute.minute >= start_utc,
                    FootfallMinute.minute < end_utc,
                )
                .group_by(FootfallMinute.sensor_id)
            ).all()
        }
        open_now = open_at(OpeningHours.parse(hall.opening_hours), Closures.parse(hall.closures), now.astimezone(zone))
        return {
            "hall": {
                "id": hall.id,
                "code": hall.code,
                "name_zh": hall.name_zh,
                "name_en": hall.name_en,
                "timezone": hall.timezone,
            },
            "date": day.isoformat(),
            "interval_min": interval_min,
            "in": sum(e for _, e, _ in minutes),
            "out": sum(o for _, _, o in minutes),
            "occupancy": occupancy if minutes or day == today else None,
            "counting_from": opens.astimezone(zone).isoformat(),
            "series": series,
            "sensors": [
                {
                    **sensor_view(x),
                    "today": _sensor_today(x, per_sensor),
                    "stale": _stale(x, now, open_now and day == today),
                }
                for x in sensors
            ],
        }


def _series(minutes: list, zone, opens: datetime, interval_min: int) -> list[dict]:
    """Per interval from the first to the last with counts (empty ones too): in, out, people inside at its end."""
    if not minutes:
        return []
    step = timedelta(minutes=interval_min)

    def slot_of(at: datetime) -> datetime:  # whole intervals of the hall's local time
        local = at.astimezone(zone)
        return local.replace(minute=local.minute - local.minute % interval_min, second=0, microsecond=0)

    slot, last = slot_of(minutes[0][0]), slot_of(minutes[-1][0])
    series, i, occupancy = [], 0, 0
    while slot <= last:
        entering = leaving = 0
        while i < len(minutes) and minutes[i][0] < slot + step:
            minute, e, o = minutes[i]
            entering, leaving = entering + e, leaving + o
            if minute >= opens:
                occupancy = max(0, occupancy + e - o)
            i += 1
        series.append({"start": slot.isoformat(), "in": entering, "out": leaving, "occupancy": occupancy})
        slot += step
    return series


def _sensor_today(sensor: FootfallSensor, per_sensor: dict) -> dict:
    raw_in, raw_out = per_sensor.get(sensor.id, (0, 0))
    entering, leaving = oriented(int(raw_in or 0), int(raw_out or 0), sensor.reversed)
    return {"in": entering, "out": leaving}


def _stale(sensor: FootfallSensor, now: datetime, hall_open: bool) -> bool:
    if not sensor.active or not hall_open:
        return False
    return sensor.last_report_at is None or now - sensor.last_report_at > STALE_AFTER


def hourly(rt: Runtime, hall_id: int, start: date, end: date) -> list[dict]:
    """Hourly (entering, leaving) of the hall's counted sensors, local days ``start`` to ``end`` inclusive."""
    with rt.reader() as tx:
        s = tx.session
        hall = _get(s, Hall, hall_id, "hall_id")
        zone = parse_zone(hall.timezone)
        lo = datetime.combine(start, time(0), tzinfo=zone).astimezone(UTC)
        hi = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        rows = s.execute(
            select(FootfallHour.hour, FootfallHour.in_count, FootfallHour.out_count, FootfallSensor.reversed)
            .join(FootfallSensor, FootfallSensor.id == FootfallHour.sensor_id)
            .where(
                FootfallHour.hall_id == hall.id,
                FootfallHour.hour >= lo,
                FootfallHour.hour < hi,
                FootfallSensor.in_totals.is_(True),
            )
        ).all()
        return [{"hour": h.astimezone(zone).isoformat(), "in": e, "out": o} for h, e, o in _entering_leaving(rows)]


def hourly_csv(rows: list[dict]) -> str:
    """The hourly series as CSV that Excel opens with Chinese headings intact (UTF-8 with BOM)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["时段 hour", "进入 in", "离开 out"])
    for row in rows:
        writer.writerow([safe_cell(v) for v in (row["hour"], row["in"], row["out"])])
    return out.getvalue()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
