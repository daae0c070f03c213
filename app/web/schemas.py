"""Request bodies of the API. Pydantic validates them and names the bad field."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.model import DeviceKind, Role, Tier

Name = Annotated[str, Field(min_length=1, max_length=100)]
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Prefix = Annotated[str, Field(min_length=1, max_length=2, pattern=r"^[A-Z]{1,2}$")]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Seconds = Annotated[int, Field(ge=0, le=24 * 3600)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class RegionBody(Strict):
    code: Code
    name_zh: Name
    name_en: str = ""


class CityBody(Strict):
    region_id: Id
    code: Code
    name_zh: Name
    name_en: str = ""


class CallingPolicyBody(Strict):
    head_start_s: dict[Tier, Annotated[int, Field(ge=0, le=4 * 3600)]] | None = None
    overdue_overtakes: bool | None = None
    recalls_before_no_show: Annotated[int, Field(ge=0, le=10)] | None = None
    max_recalls: Annotated[int, Field(ge=0, le=10)] | None = None


class LoadRulesBody(Strict):
    busy_occupancy: Annotated[int, Field(ge=1, le=100000, description="people inside: busy at or above")] | None = None
    idle_occupancy: Annotated[int, Field(ge=0, le=100000, description="people inside: idle at or below")] | None = None
    busy_waiting_per_counter: Annotated[float, Field(gt=0, le=1000)] | None = None


class StaffingBody(Strict):
    min_counters: Annotated[int, Field(ge=0, le=200, description="counters open at any open time")] | None = None
    max_counters: Annotated[int, Field(ge=0, le=200, description="0: every active counter")] | None = None
    target_share: Annotated[float, Field(ge=0.05, le=0.999, description="share served within target")] | None = None
    patience_s: Annotated[int, Field(ge=0, le=86400, description="mean patience (Erlang A); 0: Erlang C")] | None = None
    min_shift_minutes: Annotated[int, Field(ge=15, le=720)] | None = None
    interval_minutes: Literal[15, 30, 60] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="holidays and adjusted working days")] | None = None


def _survey_settings():
    """The hall's ``survey`` object: checked field by field by ``domain.survey.survey_settings_problems``."""
    return Field(
        default=None,
        description="SMS survey settings (partial): enabled, scale (four_grade, five_point or a list of grades), "
                    "satisfied, follow_up, template_zh, template_en, delay_minutes, quiet_hours "
                    '(["21:00", "08:00"] or null), reply_expiry_hours, follow_up_hours',
        examples=[{"scale": "five_point", "delay_minutes": 10, "quiet_hours": ["21:00", "08:00"]}],
    )


class HallBody(Strict):
    city_id: Id
    code: Code
    name_zh: Name
    name_en: str = ""
    address: str = ""
    timezone: str = "Asia/Shanghai"
    opening_hours: dict[str, list[list[str]]] = Field(
        default_factory=dict, examples=[{"mon": [["08:30", "18:00"]], "sat": [["09:00", "17:00"]]}]
    )
    calling_policy: CallingPolicyBody | None = None
    opened_on: date | None = Field(default=None, description="The day the hall opened (default today); "
                                   "door counts before it are refused")
    load_rules: LoadRulesBody | None = None
    staffing: StaffingBody | None = None
    survey: dict[str, Any] | None = _survey_settings()
    closures: list[ClosureBody] | None = Field(default=None, description="days the hall is shut (holidays)")
    green_channel: GreenChannelBody | None = None


class ClosureBody(Strict):
    date: date
    note: Annotated[str, Field(max_length=100)] = ""


class GreenChannelBody(Strict):
    enabled: bool | None = None
    self_declare: bool | None = Field(default=None, description="the kiosk issues it without the floor guide's PIN")
    note_zh: Annotated[str, Field(max_length=200)] | None = None
    note_en: Annotated[str, Field(max_length=200)] | None = None


class VipMemberBody(Strict):
    mobile: Annotated[str, Field(min_length=1, max_length=24)]
    star_level: Annotated[int, Field(ge=1, le=7, description="3-4 stars queue as star, 5-7 as VIP")]
    name: Annotated[str, Field(max_length=100)] = ""
    valid_until: date | None = None
    note: Annotated[str, Field(max_length=200)] = ""


class VipMemberPatch(Strict):
    star_level: Annotated[int, Field(ge=1, le=7)] | None = None
    name: Annotated[str, Field(max_length=100)] | None = None
    valid_until: date | None = None
    note: Annotated[str, Field(max_length=200)] | None = None
    active: bool | None = None


class ScreenBody(Strict):
    call_zh: Annotated[str, Field(max_length=300, description="e.g. 请{label}号到{counter}号窗口办理")] | None = None
    call_en: Annotated[str, Field(max_length=300)] | None = None
    notice_zh: Annotated[str, Field(max_length=300, description="the display's rolling message line")] | None = None
    notice_en: Annotated[str, Field(max_length=300)] | None = None


class GuidePinBody(Strict):
    pin: Annotated[str, Field(pattern=r"^\d{4,8}$", description="4-8 digits; null removes it")] | None


class PrinterBody(Strict):
    kind: Literal["none", "network", "usb", "file"]
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=30)] | None = None
    usb_vendor_id: int | str | None = None
    usb_product_id: int | str | None = None
    path: str | None = None
    chars_per_line: Annotated[int, Field(ge=16, le=64)] | None = None
    encoding: str | None = None
    qr_native: bool | None = None


class HallPatch(Strict):
    code: Code | None = None
    name_zh: Name | None = None
    name_en: str | None = None
    address: str | None = None
    timezone: str | None = None
    opening_hours: dict[str, list[list[str]]] | None = None
    calling_policy: CallingPolicyBody | None = None
    screen: ScreenBody | None = None
    opened_on: date | None = None
    load_rules: LoadRulesBody | None = None
    staffing: StaffingBody | None = None
    survey: dict[str, Any] | None = _survey_settings()
    closures: list[ClosureBody] | None = Field(default=None, description="days the hall is shut (holidays)")
    green_channel: GreenChannelBody | None = None
    active: bool | None = None


class ServiceBody(Strict):
    code: Code
    prefix: Prefix
    name_zh: Name
    name_en: str = ""
    target_wait_s: Seconds = 900
    handle_time_s: Annotated[int, Field(ge=10, le=4 * 3600)] = 300
    self_service_zh: str | None = None
    self_service_en: str | None = None


class ServicePatch(Strict):
    code: Code | None = None
    prefix: Prefix | None = None
    name_zh: Name | None = None
    name_en: str | None = None
    target_wait_s: Seconds | None = None
    handle_time_s: Annotated[int, Field(ge=10, le=4 * 3600)] | None = None
    self_service_zh: str | None = None
    self_service_en: str | None = None
    active: bool | None = None


class CounterBody(Strict):
    number: Annotated[int, Field(ge=1, le=999)]
    name: str = ""
    service_ids: list[Id] = Field(default_factory=list)
    display_mode: Literal["full", "number"] = Field(default="full", description="the small screen above the "
                                                   "window: number, name and services, or the number alone")


class CounterPatch(Strict):
    number: Annotated[int, Field(ge=1, le=999)] | None = None
    name: str | None = None
    service_ids: list[Id] | None = None
    display_mode: Literal["full", "number"] | None = None
    active: bool | None = None


Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                             description="where stored reports are mailed (hall managers)")]


class StaffBody(Strict):
    username: Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: Name
    staff_number: str = ""
    email: Email | None = None
    password: Annotated[str, Field(min_length=8, max_length=200)]
    role: Role
    hall_id: Id | None = None
    region_id: Id | None = Field(default=None, description="head office of this region only (omit: the whole company)")


class StaffPatch(Strict):
    name: Name | None = None
    staff_number: str | None = None
    email: Email | None = None
    password: Annotated[str, Field(min_length=8, max_length=200)] | None = None
    role: Role | None = None
    hall_id: Id | None = None
    region_id: Annotated[int, Field(ge=0, le=2**31 - 1, description="a head office's region; 0: the whole company")] | None = None
    active: bool | None = None


class DeviceBody(Strict):
    kind: DeviceKind
    name: Name
    counter_id: Id | None = None


class IssueBody(Strict):
    service_id: Id
    tier: Tier = Tier.ORDINARY
    mobile: Annotated[str, Field(max_length=20)] | None = Field(
        default=None, description="For the post-service SMS survey; 11-digit mainland mobile"
    )
    guide_pin: Annotated[str, Field(max_length=8)] | None = Field(
        default=None, description="The floor guide's PIN: a kiosk needs it for star, VIP and green-channel tickets"
    )


class OpenCounterBody(Strict):
    service_ids: list[Id] | None = Field(default=None, description="Services served from now on; omit to keep")


class CounterActionBody(Strict):
    ticket_id: Id | None = Field(default=None, description="The ticket the console shows; refused if it moved on")


class TransferBody(Strict):
    to_service_id: Id
    to_counter_id: Id | None = None
    ticket_id: Id | None = None


SensorCode = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]


class SensorBody(Strict):
    code: SensorCode = Field(description="the sensor's name in its agent's config and in reports, e.g. door1-cam")
    name_zh: Name
    name_en: str = ""
    door: Annotated[str, Field(max_length=100)] = ""
    kind: Literal["camera", "infrared"]
    device_id: Id = Field(description="the sensor device (kind sensor) that reports for it")
    reversed: bool = Field(default=False, description="true when its 'in' direction is people leaving the hall")
    in_totals: bool = Field(default=True, description="false for a second counter on a door already counted")


class SensorPatch(Strict):
    name_zh: Name | None = None
    name_en: str | None = None
    door: Annotated[str, Field(max_length=100)] | None = None
    device_id: Id | None = None
    reversed: bool | None = None
    in_totals: bool | None = None
    active: bool | None = None


class MinuteCountBody(Strict):
    sensor: SensorCode
    minute: datetime = Field(description="the minute's start with its UTC offset, e.g. 2026-11-22T09:15:00+08:00")
    in_: Annotated[int, Field(alias="in", ge=0, le=1000)]
    out: Annotated[int, Field(ge=0, le=1000)]


class FootfallBatchBody(Strict):
    counts: Annotated[list[MinuteCountBody], Field(min_length=1, max_length=2000)]


class CloseFollowUpBody(Strict):
    resolution: Annotated[str, Field(min_length=1, max_length=4000,
                                     description="what was done for the customer (required)")]


class PairingCodeBody(Strict):
    kind: Literal["kiosk", "display"] = Field(description="what the new device is")


class CollectBody(Strict):
    claim: Annotated[str, Field(min_length=16, max_length=100, description="the secret given with the code")]


class PairBody(Strict):
    code: Annotated[str, Field(min_length=6, max_length=8, description="the six digits on the new device's screen")]
    name: Name
    counter_id: Id | None = None


class OutboxReplyBody(Strict):
    to: Id = Field(description="the outbox message answered (its id): the reply comes from its recipient")
    text: Annotated[str, Field(max_length=1600, description="what the customer replies, e.g. 1 or 4 等太久了")]
