"""Configuration use cases: the organisation tree, halls, services, counters, staff.

Nothing that history refers to is deleted: halls, services, counters and staff are
deactivated instead (``active: false``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from forecasting.calendar import UnknownCountry, check_country

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain.appointments import BookingRules, booking_rules_problems
from ..domain.calling import CallingPolicy
from ..domain.errors import Conflict, Invalid, NotFound
from ..domain.footfall import LoadRules, load_rules_problems
from ..domain.hours import Closures, OpeningHours, business_day, parse_zone
from ..domain.model import Role
from ..domain.remote import RemoteQueue, remote_queue_problems
from ..domain.roster import GreenChannel, green_channel_problems
from ..domain.screens import screen_problems, screen_settings
from ..domain.staffing import StaffingRules, staffing_rules_problems
from ..domain.survey import SurveySettings, survey_settings_problems
from ..storage.orm import City, Counter, Device, FootfallSensor, Hall, Region, ServiceType, Staff
from . import audit
from .auth import device_view, hash_password

HALL_SCOPED_ROLES = {Role.COUNTER_STAFF, Role.HALL_MANAGER}


# --------------------------------------------------------------------------- views


def region_view(r: Region) -> dict:
    return {"id": r.id, "code": r.code, "name_zh": r.name_zh, "name_en": r.name_en}


def city_view(c: City) -> dict:
    return {"id": c.id, "region_id": c.region_id, "code": c.code, "name_zh": c.name_zh, "name_en": c.name_en}


def hall_view(h: Hall) -> dict:
    return {
        "id": h.id,
        "city_id": h.city_id,
        "code": h.code,
        "name_zh": h.name_zh,
        "name_en": h.name_en,
        "address": h.address,
        "timezone": h.timezone,
        "opening_hours": h.opening_hours,
        "calling_policy": CallingPolicy.from_dict(h.calling_policy).to_dict(),
        "calling_rule": CallingPolicy.from_dict(h.calling_policy).describe(),
        "screen": screen_settings(h.screen),
        "priority_pin_set": h.priority_pin_hash is not None,
        "opened_on": h.opened_on.isoformat() if h.opened_on else None,
        "load_rules": LoadRules.from_dict(h.load_rules).to_dict(),
        "staffing": StaffingRules.from_dict(h.staffing).to_dict(),
        "survey": SurveySettings.from_dict(h.survey).to_dict(),
        "closures": Closures.parse(h.closures).to_list(),
        "green_channel": GreenChannel.from_dict(h.green_channel).to_dict(),
        "remote_queue": RemoteQueue.from_dict(h.remote_queue).to_dict(),
        "booking": BookingRules.from_dict(h.booking).to_dict(),
        "active": h.active,
    }


def service_view(s: ServiceType) -> dict:
    return {
        "id": s.id,
        "hall_id": s.hall_id,
        "code": s.code,
        "prefix": s.prefix,
        "name_zh": s.name_zh,
        "name_en": s.name_en,
        "target_wait_s": s.target_wait_s,
        "handle_time_s": s.handle_time_s,
        "self_service_zh": s.self_service_zh,
        "self_service_en": s.self_service_en,
        "active": s.active,
        "remind_ahead": s.remind_ahead,
    }


def counter_view(c: Counter) -> dict:
    return {
        "id": c.id,
        "hall_id": c.hall_id,
        "number": c.number,
        "name": c.name,
        "is_open": c.is_open,
        "staff_id": c.staff_id,
        "service_ids": [s.id for s in c.services],
        "display_mode": c.display_mode,
        "active": c.active,
    }


def staff_view(s: Staff) -> dict:
    return {
        "id": s.id,
        "username": s.username,
        "name": s.name,
        "staff_number": s.staff_number,
        "email": s.email,
        "role": s.role,
        "hall_id": s.hall_id,
        "region_id": s.region_id,
        "active": s.active,
    }


# --------------------------------------------------------------------------- organisation


def list_regions(rt: Runtime) -> list[dict]:
    with rt.reader() as tx:
        return [region_view(r) for r in tx.session.execute(select(Region).order_by(Region.code)).scalars()]


def create_region(rt: Runtime, data: dict) -> dict:
    return _create(rt, Region(**data), region_view, unique_field="code")


def list_cities(rt: Runtime) -> list[dict]:
    with rt.reader() as tx:
        return [city_view(c) for c in tx.session.execute(select(City).order_by(City.code)).scalars()]


def create_city(rt: Runtime, data: dict) -> dict:
    with rt.reader() as tx:
        _get(tx.session, Region, data["region_id"], "region_id")
    return _create(rt, City(**data), city_view, unique_field="code")


def list_halls(rt: Runtime, hall_ids: set[int] | None = None) -> list[dict]:
    """All halls, or only ``hall_ids`` (a manager's own)."""
    with rt.reader() as tx:
        query = select(Hall).order_by(Hall.code)
        if hall_ids is not None:
            query = query.where(Hall.id.in_(hall_ids))
        return [hall_view(h) for h in tx.session.execute(query).scalars()]


def get_hall(rt: Runtime, hall_id: int) -> dict:
    with rt.reader() as tx:
        return hall_view(_get(tx.session, Hall, hall_id, "hall_id"))


def region_hall_ids(rt: Runtime, region_id: int) -> set[int]:
    with rt.reader() as tx:
        return set(
            tx.session.execute(
                select(Hall.id).join(City, Hall.city_id == City.id).where(City.region_id == region_id)
            ).scalars()
        )


def hall_place(rt: Runtime, hall_id: int) -> dict:
    """Where a hall sits: its region, city and itself (names and codes), one query."""
    with rt.reader() as tx:
        found = tx.session.execute(
            select(Hall, City, Region)
            .join(City, Hall.city_id == City.id)
            .join(Region, City.region_id == Region.id)
            .where(Hall.id == hall_id)
        ).first()
        if found is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        hall, city, region = found
        return {
            "region": region_view(region),
            "city": city_view(city),
            "hall": {k: v for k, v in hall_view(hall).items() if k in ("id", "code", "name_zh", "name_en")},
        }


def create_hall(rt: Runtime, data: dict) -> dict:
    _check_hall_settings(data)
    if data.get("opened_on") is None:
        data["opened_on"] = business_day(rt.now(), parse_zone(data.get("timezone", "Asia/Shanghai")))
    with rt.reader() as tx:
        _get(tx.session, City, data["city_id"], "city_id")
    return _create(rt, Hall(**data), hall_view, unique_field="code")


def update_hall(rt: Runtime, hall_id: int, changes: dict) -> dict:
    """Change a hall's settings in one transaction: its settings objects change field by field,
    merged into what is stored with the hall's row locked, so two administrators editing different
    fields at once both keep their edit."""
    with rt.uow() as tx:
        hall = tx.session.get(Hall, hall_id, with_for_update=True)
        if hall is None:
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        changes = _merged_into(hall, dict(changes))
        _check_hall_settings(changes)
        before = hall_view(hall)
        for key, value in changes.items():
            setattr(hall, key, value)
        view = _commit(tx, rt.now(), hall, hall_view, "code", before=before)
    rt.bus.publish([ev.HallSettingsChanged(hall_id=hall_id)])  # committed: screens refresh
    return view


_MERGED_SETTINGS = ("screen", "load_rules", "staffing", "survey", "green_channel", "remote_queue", "booking")


def _merged_into(hall: Hall, changes: dict) -> dict:
    """The changes with each settings object merged into the hall's stored one."""
    if isinstance(changes.get("calling_policy"), dict):
        current, new = dict(hall.calling_policy or {}), changes["calling_policy"]
        changes["calling_policy"] = {
            **current,
            **new,
            "head_start_s": {**(current.get("head_start_s") or {}), **(new.get("head_start_s") or {})},
        }
    for key in _MERGED_SETTINGS:
        if isinstance(changes.get(key), dict):
            stored = dict(getattr(hall, key) or {})
            if key == "survey" and "scale" in changes[key]:
                # a new scale: the stored satisfied / follow-up grades were the old scale's
                stored = {k: v for k, v in stored.items() if k not in ("satisfied", "follow_up")}
            changes[key] = {**stored, **changes[key]}
    return changes


def _check_hall_settings(data: dict) -> None:
    if "screen" in data:
        for field, message in screen_problems(data["screen"]):
            raise Invalid(message, field=f"screen.{field}")
    if "timezone" in data:
        parse_zone(data["timezone"])
    if isinstance(data.get("opened_on"), str):
        data["opened_on"] = date.fromisoformat(data["opened_on"])
    for key, problems in (
        ("load_rules", load_rules_problems),
        ("staffing", staffing_rules_problems),
        ("survey", survey_settings_problems),
    ):
        if key in data:
            if not isinstance(data[key], dict):
                raise Invalid(f"{key} is a JSON object of settings", field=key)
            for field, message in problems(data[key]):
                raise Invalid(message, field=f"{key}.{field}")
    if "country" in data.get("staffing", {}):
        _check_country(data["staffing"]["country"])
    if "opening_hours" in data:
        OpeningHours.parse(data["opening_hours"])
    if "closures" in data:
        data["closures"] = Closures.parse(data["closures"]).to_list()
    if "green_channel" in data:
        for field, message in green_channel_problems(data["green_channel"]):
            raise Invalid(message, field=f"green_channel.{field}")
    if "remote_queue" in data:
        for field, message in remote_queue_problems(data["remote_queue"]):
            raise Invalid(message, field=f"remote_queue.{field}")
    if "booking" in data:
        for field, message in booking_rules_problems(data["booking"]):
            raise Invalid(message, field=f"booking.{field}")
    if "calling_policy" in data:
        policy = CallingPolicy.from_dict(data["calling_policy"])
        wrong = policy.validate()
        if wrong:
            field, message = wrong[0]
            raise Invalid(message, field=f"calling_policy.{field}")
        data["calling_policy"] = policy.to_dict()


def _check_country(country: str) -> None:
    """The forecaster plans by the country's holidays: a code it has no calendar for would fail every
    forecast of the hall, so it is refused here."""
    try:
        check_country(country)
    except UnknownCountry:
        raise Invalid(
            f"the forecaster has no holiday calendar for {country!r}; use an ISO code such as CN",
            field="staffing.country",
        ) from None


# --------------------------------------------------------------------------- services, counters


def list_services(rt: Runtime, hall_id: int) -> list[dict]:
    with rt.reader() as tx:
        _get(tx.session, Hall, hall_id, "hall_id")
        rows = tx.session.execute(
            select(ServiceType).where(ServiceType.hall_id == hall_id).order_by(ServiceType.prefix)
        ).scalars()
        return [service_view(s) for s in rows]


def create_service(rt: Runtime, hall_id: int, data: dict) -> dict:
    with rt.reader() as tx:
        _get(tx.session, Hall, hall_id, "hall_id")
    return _create(rt, ServiceType(hall_id=hall_id, **data), service_view, unique_field="prefix")


COPIED_FIELDS = (
    "code",
    "prefix",
    "name_zh",
    "name_en",
    "target_wait_s",
    "handle_time_s",
    "self_service_zh",
    "self_service_en",
    "active",
    "remind_ahead",
)


def copy_services(rt: Runtime, from_hall_id: int, to_hall_id: int) -> dict:
    """Copy another hall's service catalogue (most halls share one): each of its service types whose
    prefix this hall does not use yet is created here, in one transaction, each audited; the others
    are left as they are and listed as skipped."""
    if from_hall_id == to_hall_id:
        raise Invalid("pick another hall to copy from", field="from_hall_id", code="copy_same_hall")
    with rt.uow() as tx:
        s = tx.session
        _get(s, Hall, to_hall_id, "hall_id")
        _get(s, Hall, from_hall_id, "from_hall_id")
        have = set(s.execute(select(ServiceType.prefix).where(ServiceType.hall_id == to_hall_id)).scalars())
        created, skipped = [], []
        for source in (
            s.execute(select(ServiceType).where(ServiceType.hall_id == from_hall_id).order_by(ServiceType.prefix))
            .scalars()
            .all()
        ):
            if source.prefix in have:
                skipped.append(source.prefix)
                continue
            row = ServiceType(hall_id=to_hall_id, **{k: getattr(source, k) for k in COPIED_FIELDS})
            s.add(row)
            s.flush()
            view = service_view(row)
            audit.record(s, rt.now(), "create", "service", row.id, to_hall_id, None, view)
            created.append(view)
        tx.commit()
    return {"created": created, "skipped": skipped}


def update_service(rt: Runtime, service_id: int, changes: dict) -> dict:
    return _update(rt, ServiceType, service_id, "service_id", changes, service_view, unique_field="prefix")


def service_hall(rt: Runtime, service_id: int) -> int:
    with rt.reader() as tx:
        return _get(tx.session, ServiceType, service_id, "service_id").hall_id


def list_counters(rt: Runtime, hall_id: int) -> list[dict]:
    with rt.reader() as tx:
        _get(tx.session, Hall, hall_id, "hall_id")
        rows = tx.session.execute(select(Counter).where(Counter.hall_id == hall_id).order_by(Counter.number)).scalars()
        return [counter_view(c) for c in rows]


def _served(service_ids) -> list[int]:
    """A counter with no service could never call anyone: refused, naming the field."""
    if not service_ids:
        raise Invalid(
            "a counter serves at least one service: pick its services",
            field="service_ids",
            code="counter_without_services",
        )
    return service_ids


def create_counter(rt: Runtime, hall_id: int, data: dict) -> dict:
    service_ids = data.pop("service_ids", [])
    with rt.uow() as tx:
        s = tx.session
        _get(s, Hall, hall_id, "hall_id")
        _served(service_ids)
        counter = Counter(hall_id=hall_id, is_open=False, **data)
        counter.services = hall_services(s, hall_id, service_ids)
        s.add(counter)
        return _commit(tx, rt.now(), counter, counter_view, unique_field="number", before=None)


def update_counter(rt: Runtime, counter_id: int, changes: dict) -> dict:
    with rt.uow() as tx:
        s = tx.session
        counter = _get(s, Counter, counter_id, "counter_id")
        before = counter_view(counter)
        if "service_ids" in changes:
            counter.services = hall_services(s, counter.hall_id, _served(changes.pop("service_ids")))
        for key, value in changes.items():
            setattr(counter, key, value)
        return _commit(tx, rt.now(), counter, counter_view, unique_field="number", before=before)


def counter_hall(rt: Runtime, counter_id: int) -> int:
    """The hall of a counter (remembered: a counter never moves to another hall)."""
    hall_id = rt.counter_halls.get(counter_id)
    if hall_id is None:
        with rt.reader() as tx:
            hall_id = rt.counter_halls[counter_id] = _get(tx.session, Counter, counter_id, "counter_id").hall_id
    return hall_id


def hall_services(s, hall_id: int, service_ids: list[int]) -> list[ServiceType]:
    """The hall's service types with these ids; 404 naming ``service_ids`` if any is not the hall's."""
    found = (
        s.execute(select(ServiceType).where(ServiceType.id.in_(service_ids), ServiceType.hall_id == hall_id))
        .scalars()
        .all()
    )
    missing = sorted(set(service_ids) - {x.id for x in found})
    if missing:
        raise NotFound(f"no service {missing} in hall {hall_id}", field="service_ids", code="service_not_in_hall")
    return list(found)


# --------------------------------------------------------------------------- staff, devices


def names_by_id(rt: Runtime, hall_ids: set[int] | None) -> dict:
    """Counter numbers and staff names (with their staff numbers) by id, for the halls given (None:
    all): what pages add to the API's ids."""
    with rt.reader() as tx:
        counters = select(Counter.id, Counter.number)
        staff = select(Staff.id, Staff.name, Staff.staff_number)
        if hall_ids is not None:
            counters = counters.where(Counter.hall_id.in_(hall_ids))
            staff = staff.where(Staff.hall_id.in_(hall_ids))
        return {
            "counters": {i: number for i, number in tx.session.execute(counters)},
            "staff": {i: (f"{name} ({no})" if no else name) for i, name, no in tx.session.execute(staff)},
        }


def hall_and_company_staff_names(rt: Runtime, hall_id: int) -> dict[int, str]:
    """The names of a hall's own staff and of those above every hall (administrators, head office)."""
    with rt.reader() as tx:
        rows = tx.session.execute(
            select(Staff.id, Staff.name).where(or_(Staff.hall_id == hall_id, Staff.hall_id.is_(None)))
        ).all()
    return {staff_id: name for staff_id, name in rows}


def list_staff(rt: Runtime, hall_id: int | None = None) -> list[dict]:
    with rt.reader() as tx:
        query = select(Staff).order_by(Staff.username)
        if hall_id is not None:
            query = query.where(Staff.hall_id == hall_id)
        return [staff_view(s) for s in tx.session.execute(query).scalars()]


def get_staff(rt: Runtime, staff_id: int) -> dict:
    with rt.reader() as tx:
        return staff_view(_get(tx.session, Staff, staff_id, "staff_id"))


def create_staff(rt: Runtime, data: dict) -> dict:
    password = data.pop("password")
    _check_staff_hall(rt, data)
    return _create(rt, Staff(password_hash=hash_password(rt, password), **data), staff_view, unique_field="username")


def update_staff(rt: Runtime, staff_id: int, changes: dict) -> dict:
    if changes.get("region_id") == 0:  # back to the whole company
        changes["region_id"] = None
    if "password" in changes:
        changes["password_hash"] = hash_password(rt, changes.pop("password"))
    with rt.reader() as tx:
        current = staff_view(_get(tx.session, Staff, staff_id, "staff_id"))
    _check_staff_hall(rt, {**current, **changes})
    result = _update(rt, Staff, staff_id, "staff_id", changes, staff_view, unique_field="username")
    return result


def _check_staff_hall(rt: Runtime, data: dict) -> None:
    role = Role(data["role"])
    if role in HALL_SCOPED_ROLES and data.get("hall_id") is None:
        raise Invalid(f"a {role.value} belongs to a hall", field="hall_id")
    if data.get("region_id") is not None:
        if role != Role.HEAD_OFFICE:
            raise Invalid("only a head-office account is limited to a region", field="region_id")
        with rt.reader() as tx:
            _get(tx.session, Region, data["region_id"], "region_id")
    if data.get("hall_id") is not None:
        with rt.reader() as tx:
            _get(tx.session, Hall, data["hall_id"], "hall_id")


def list_devices(rt: Runtime, hall_id: int) -> list[dict]:
    with rt.reader() as tx:
        _get(tx.session, Hall, hall_id, "hall_id")
        rows = tx.session.execute(select(Device).where(Device.hall_id == hall_id).order_by(Device.id)).scalars()
        return [device_view(d) for d in rows]


# --------------------------------------------------------------------------- helpers


def _get(s, model, ident: int, field: str):
    row = s.get(model, ident)
    if row is None:
        raise NotFound(f"no {model.__tablename__.rstrip('s')} {ident}", field=field)
    return row


ENTITY = {
    Region: "region",
    City: "city",
    Hall: "hall",
    ServiceType: "service",
    Counter: "counter",
    Staff: "staff",
    FootfallSensor: "sensor",
}
SECRET_FIELDS = {"password": "password_hash"}  # a change given as ``password`` is stored as its hash


def _hall_of(row) -> int | None:
    return row.id if isinstance(row, Hall) else getattr(row, "hall_id", None)


def _create(rt: Runtime, row, view, unique_field: str) -> dict:
    with rt.uow() as tx:
        tx.session.add(row)
        return _commit(tx, rt.now(), row, view, unique_field, before=None)


def _update(rt: Runtime, model, ident: int, field: str, changes: dict, view, unique_field: str) -> dict:
    with rt.uow() as tx:
        row = _get(tx.session, model, ident, field)
        before = view(row)
        for key, value in changes.items():
            setattr(row, key, value)
        secrets = tuple(k for k, stored in SECRET_FIELDS.items() if stored in changes)
        return _commit(tx, rt.now(), row, view, unique_field, before=before, secrets=secrets)


def _commit(tx, now, row, view, unique_field: str, before: dict | None, secrets: tuple[str, ...] = ()) -> dict:
    """Flush, build the view, write the audit entry, commit; a unique clash becomes 409 naming the field."""
    try:
        tx.session.flush()
        result = view(row)
        audit.record(
            tx.session,
            now,
            "create" if before is None else "update",
            ENTITY[type(row)],
            row.id,
            _hall_of(row),
            before,
            result,
            secrets,
        )
        tx.commit()
        return result
    except IntegrityError:
        raise Conflict(f"{unique_field} is already taken", field=unique_field, code="taken") from None
