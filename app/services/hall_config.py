"""A hall's configuration as every ticket and call reads it, kept per process.

Its settings, its services and its counters (with the services each serves) change a few
times a day but are read on every issue, call and screen refresh. Each process keeps the
last copy it loaded, with the hall's ``config_version``; every use reads that one column
(by primary key, in the use case's own transaction) and loads the hall again only when the
version moved. Every change bumps the version in its own transaction
(``storage.config_versions``), so no process ever uses a configuration older than its
transaction can see, whichever process made the change.

What is live, not configuration: whether a counter is open and who sits at it, the tickets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, overload
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from ..domain.appointments import BookingRules
from ..domain.calling import CallingPolicy
from ..domain.errors import Conflict, NotFound
from ..domain.footfall import LoadRules
from ..domain.hours import Closures, OpeningHours, parse_zone
from ..domain.model import ServiceTargets
from ..domain.remote import RemoteQueue
from ..domain.roster import GreenChannel
from ..storage.orm import Counter, Hall, ServiceType, counter_services, table


@dataclass(frozen=True)
class ServiceConf:
    id: int
    prefix: str
    code: str
    name_zh: str
    name_en: str
    target_wait_s: int
    handle_time_s: int
    self_service_zh: str | None
    self_service_en: str | None
    active: bool
    remind_ahead: int = 3  # the "your turn soon" SMS at this many people ahead (0: none)

    def brief(self) -> dict:
        """The service as tickets and screens show it."""
        return {
            "id": self.id,
            "prefix": self.prefix,
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "target_wait_s": self.target_wait_s,
            "self_service_zh": self.self_service_zh,
            "self_service_en": self.self_service_en,
        }


@dataclass(frozen=True)
class CounterConf:
    id: int
    number: int
    name: str
    display_mode: str
    active: bool
    service_ids: tuple[int, ...]  # in prefix order


@dataclass(frozen=True)
class HallConfig:
    id: int
    version: int
    code: str
    name_zh: str
    name_en: str
    timezone: str
    zone: ZoneInfo
    active: bool
    opening_hours: OpeningHours
    closures: Closures
    policy: CallingPolicy
    green_channel: GreenChannel
    remote: RemoteQueue
    booking: BookingRules
    load_rules: LoadRules
    screen: dict
    priority_pin_set: bool
    services: dict[int, ServiceConf]  # in id order
    counters: dict[int, CounterConf]
    targets: ServiceTargets = field(compare=False)

    def service(self, service_id: int, field_name: str = "service_id") -> ServiceConf:
        """An offered service of this hall; 404 if it is not the hall's, 409 if it is switched off."""
        svc = self.services.get(service_id)
        if svc is None:
            raise NotFound(f"no service {service_id} in hall {self.code}", field=field_name)
        if not svc.active:
            raise Conflict(f"service {svc.prefix} ({svc.name_zh}) is not offered now", field=field_name)
        return svc

    def brief(self) -> dict:
        return {"id": self.id, "name_zh": self.name_zh, "name_en": self.name_en, "timezone": self.timezone}


HALLS = table(Hall)
_VERSION = select(HALLS.c.config_version, HALLS.c.active).where(HALLS.c.id == bindparam("hall_id"))
# in the hall's order, as the administration lists them (by prefix: A, B, C): kiosk, display and console
_SERVICES = (
    select(ServiceType).where(ServiceType.hall_id == bindparam("hall_id")).order_by(ServiceType.prefix, ServiceType.id)
)
_COUNTERS = (
    select(Counter.id, Counter.number, Counter.name, Counter.display_mode, Counter.active)
    .where(Counter.hall_id == bindparam("hall_id"))
    .order_by(Counter.id)
)
_SERVED = (
    select(counter_services.c.counter_id, counter_services.c.service_id)
    .join(Counter, Counter.id == counter_services.c.counter_id)
    .join(ServiceType, ServiceType.id == counter_services.c.service_id)
    .where(Counter.hall_id == bindparam("hall_id"))
    .order_by(ServiceType.prefix)
)


@overload
def hall_config(rt, s, hall_id: int, missing_ok: Literal[False] = False, version: int | None = None) -> HallConfig: ...


@overload
def hall_config(rt, s, hall_id: int, missing_ok: bool, version: int | None = None) -> HallConfig | None: ...


def hall_config(rt, s, hall_id: int, missing_ok: bool = False, version: int | None = None) -> HallConfig | None:
    """The hall's configuration as of this transaction (``s``); 404 naming ``hall_id`` when there is
    no such active hall (or None with ``missing_ok``). ``version``: the hall's version as this
    transaction already read it (with a counter, say), saving the read."""
    kept = rt.hall_configs.get(hall_id)
    if version is None or kept is None or kept.version != version:
        row = s.connection().execute(_VERSION, {"hall_id": hall_id}).first()
        if row is None or not row.active:
            if missing_ok:
                return None
            raise NotFound(f"no hall {hall_id}", field="hall_id")
        version = row.config_version
    if kept is not None and kept.version == version:
        return kept
    loaded = _load(s, hall_id)
    rt.hall_configs[hall_id] = loaded
    return loaded


def _load(s, hall_id: int) -> HallConfig:
    hall = s.get(Hall, hall_id, populate_existing=True)
    services = {
        svc.id: ServiceConf(
            svc.id,
            svc.prefix,
            svc.code,
            svc.name_zh,
            svc.name_en,
            svc.target_wait_s,
            svc.handle_time_s,
            svc.self_service_zh,
            svc.self_service_en,
            svc.active,
            svc.remind_ahead,
        )
        for svc in s.execute(_SERVICES, {"hall_id": hall_id}).scalars()
    }
    served: dict[int, list[int]] = {}
    for counter_id, service_id in s.execute(_SERVED, {"hall_id": hall_id}):
        served.setdefault(counter_id, []).append(service_id)
    counters = {
        r.id: CounterConf(r.id, r.number, r.name, r.display_mode, r.active, tuple(served.get(r.id, ())))
        for r in s.execute(_COUNTERS, {"hall_id": hall_id})
    }
    return HallConfig(
        id=hall.id,
        version=hall.config_version,
        code=hall.code,
        name_zh=hall.name_zh,
        name_en=hall.name_en,
        timezone=hall.timezone,
        zone=parse_zone(hall.timezone),
        active=hall.active,
        opening_hours=OpeningHours.parse(hall.opening_hours),
        closures=Closures.parse(hall.closures),
        policy=CallingPolicy.from_dict(hall.calling_policy),
        green_channel=GreenChannel.from_dict(hall.green_channel),
        remote=RemoteQueue.from_dict(hall.remote_queue),
        booking=BookingRules.from_dict(hall.booking),
        load_rules=LoadRules.from_dict(hall.load_rules),
        screen=dict(hall.screen or {}),
        priority_pin_set=hall.priority_pin_hash is not None,
        services=services,
        counters=counters,
        targets=ServiceTargets({sid: svc.target_wait_s for sid, svc in services.items()}),
    )
