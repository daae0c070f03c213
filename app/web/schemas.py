"""Request bodies of the API (and of the pages' forms). Pydantic validates them and names the bad field.

Text that is stored in a column is declared with ``text(column)``: its limit is the column's own
(``storage.orm``), so a value PostgreSQL would refuse (and SQLite would store whole) is a 422 naming
the field. No text anywhere in a body may hold a NUL or a lone surrogate (``domain.values``), and
days are within the years the system plans and reports.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ..domain import kpi
from ..domain.kiosks import IDLE_S_DEFAULT, IDLE_S_MAX, IDLE_S_MIN
from ..domain.model import DeviceKind, Role, Tier
from ..domain.satisfaction import PERIODS
from ..domain.model import TRANSFER_NOTE_MAX, PauseReason
from ..domain.reminders import REMIND_AHEAD_DEFAULT, REMIND_AHEAD_MAX
from ..domain.values import FIRST_DAY, FIRST_TIME, LAST_DAY, LAST_TIME, text_problem
from ..services import audit, report_files, satisfaction, service_levels, surveys
from ..storage.orm import City, Counter, Device, FootfallSensor, Hall, Region, ServiceType, Staff, VipMember

Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Seconds = Annotated[int, Field(ge=0, le=24 * 3600)]
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]


def _instant(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError("naive_time", "give the time with its UTC offset, e.g. 2026-12-01T08:00:00+08:00")
    if not FIRST_TIME <= value <= LAST_TIME:
        raise PydanticCustomError("time_range", f"must be from {FIRST_DAY} to {LAST_DAY}")
    return value


Instant = Annotated[datetime, AfterValidator(_instant)]  # an aware time within the years of Day


def text(column, *, min_length: int = 0, max_length: int | None = None, **field) -> Any:
    """Text stored in ``column`` (an ORM attribute): at most as long as the column takes, or
    ``max_length`` when that is shorter."""
    limit = column.property.columns[0].type.length
    return Annotated[str, Field(min_length=min_length or None, max_length=min(limit, max_length or limit), **field)]


NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
Code = text(Hall.code, min_length=1, pattern=NAME_PATTERN)  # the same length for regions, cities, services
Prefix = text(ServiceType.prefix, min_length=1, pattern=r"^[A-Z]{1,2}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value):
        """Every text in the body, however nested (a survey's templates too), can be stored."""
        problem = text_problem(value)
        if problem:
            raise PydanticCustomError("unstorable_text", problem)
        return value


class LoginBody(Strict):
    username: text(Staff.username, min_length=1)
    password: Annotated[str, Field(min_length=1, max_length=200)]


class RegionBody(Strict):
    code: text(Region.code, min_length=1, pattern=NAME_PATTERN)
    name_zh: text(Region.name_zh, min_length=1)
    name_en: text(Region.name_en) = ""


class CityBody(Strict):
    region_id: Id
    code: text(City.code, min_length=1, pattern=NAME_PATTERN)
    name_zh: text(City.name_zh, min_length=1)
    name_en: text(City.name_en) = ""


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
    country: Annotated[str, Field(max_length=2, pattern=r"^[A-Z]{2}$",
                                  description="holidays and adjusted working days (an ISO code the forecaster has "
                                              "a calendar for)")] | None = None


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
    name_zh: text(Hall.name_zh, min_length=1)
    name_en: text(Hall.name_en) = ""
    address: text(Hall.address) = ""
    timezone: text(Hall.timezone) = "Asia/Shanghai"
    opening_hours: dict[str, list[list[str]]] = Field(
        default_factory=dict, examples=[{"mon": [["08:30", "18:00"]], "sat": [["09:00", "17:00"]]}]
    )
    calling_policy: CallingPolicyBody | None = None
    opened_on: Day | None = Field(default=None, description="The day the hall opened (default today); "
                                   "door counts before it are refused")
    load_rules: LoadRulesBody | None = None
    staffing: StaffingBody | None = None
    survey: dict[str, Any] | None = _survey_settings()
    closures: list[ClosureBody] | None = Field(default=None, description="days the hall is shut (holidays)")
    green_channel: GreenChannelBody | None = None
    remote_queue: RemoteQueueBody | None = None
    booking: BookingBody | None = None


class ClosureBody(Strict):
    date: Day
    note: Annotated[str, Field(max_length=100)] = ""


class GreenChannelBody(Strict):
    enabled: bool | None = None
    self_declare: bool | None = Field(default=None, description="the kiosk issues it without the floor guide's PIN")
    note_zh: Annotated[str, Field(max_length=200)] | None = None
    note_en: Annotated[str, Field(max_length=200)] | None = None


class RemoteQueueBody(Strict):
    enabled: bool | None = Field(default=None, description="customers may take a number on their phone")
    check_in_minutes: Annotated[int, Field(ge=10, le=240)] | None = Field(
        default=None, description="minutes from taking the number to checking in at the kiosk")
    codes_per_number_per_hour: Annotated[int, Field(ge=1, le=1000)] | None = None
    codes_per_address_per_hour: Annotated[int, Field(ge=1, le=1000)] | None = None


class BookingBody(Strict):
    enabled: bool | None = Field(default=None, description="customers may book a service, day and slot")
    share: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="share of the counter plan's spare capacity offered for booking")
    slot_minutes: Literal[15, 30, 60] | None = None
    horizon_days: Annotated[int, Field(ge=0, le=30)] | None = None
    head_start_minutes: Annotated[int, Field(ge=0, le=60)] | None = Field(
        default=None, description="a checked-in appointment queues as if it came this long before its slot")
    early_minutes: Annotated[int, Field(ge=0, le=240)] | None = None
    grace_minutes: Annotated[int, Field(ge=0, le=60)] | None = None
    no_show_limit: Annotated[int, Field(ge=1, le=20)] | None = None
    no_show_window_days: Annotated[int, Field(ge=1, le=365)] | None = None
    block_days: Annotated[int, Field(ge=0, le=365)] | None = None


class VipMemberBody(Strict):
    mobile: Annotated[str, Field(min_length=1, max_length=24)]
    star_level: Annotated[int, Field(ge=1, le=7, description="3-4 stars queue as star, 5-7 as VIP")]
    name: text(VipMember.name) = ""
    valid_until: Day | None = None
    note: text(VipMember.note) = ""


class VipMemberPatch(Strict):
    star_level: Annotated[int, Field(ge=1, le=7)] | None = None
    name: text(VipMember.name) | None = None
    valid_until: Day | None = None
    note: text(VipMember.note) | None = None
    active: bool | None = None


class MediaPatch(Strict):
    title: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    seconds: Annotated[float, Field(ge=3, le=60, description="an image's time on screen")] | None = None
    position: Annotated[int, Field(ge=1, le=1000, description="its place in the order, from 1")] | None = None
    active: bool | None = None


class ScreenBody(Strict):
    call_zh: Annotated[str, Field(max_length=300, description="e.g. 请{label}号到{counter}号窗口办理")] | None = None
    call_en: Annotated[str, Field(max_length=300)] | None = None
    notice_zh: Annotated[str, Field(max_length=300, description="the display's rolling message line")] | None = None
    notice_en: Annotated[str, Field(max_length=300)] | None = None


class GuidePinBody(Strict):
    pin: Annotated[str, Field(max_length=8, pattern=r"^\d{4,8}$", description="4-8 digits; null removes it")] | None


class GuidePinCheckBody(Strict):
    pin: Annotated[str, Field(max_length=8, pattern=r"^\d{1,8}$", description="what the floor guide typed")]


class PrinterBody(Strict):
    kind: Literal["none", "network", "usb", "file"]
    host: Annotated[str, Field(max_length=253)] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=30)] | None = None
    usb_vendor_id: int | Annotated[str, Field(max_length=16)] | None = None
    usb_product_id: int | Annotated[str, Field(max_length=16)] | None = None
    path: Annotated[str, Field(max_length=1024)] | None = None
    chars_per_line: Annotated[int, Field(ge=16, le=64)] | None = None
    encoding: Annotated[str, Field(max_length=32)] | None = None
    qr_native: bool | None = None


class KioskBody(Strict):
    """A kiosk's own settings (PUT: what is left out takes its default)."""

    elder_mode: bool = Field(default=False, description="elder-friendly mode (适老化): larger type and keys, "
                                                          "fewer words, spoken prompts")
    idle_s: int = Field(default=IDLE_S_DEFAULT, ge=IDLE_S_MIN, le=IDLE_S_MAX,
                        description="seconds untouched before the kiosk returns to its start screen")


class HallPatch(Strict):
    code: Code | None = None
    name_zh: text(Hall.name_zh, min_length=1) | None = None
    name_en: text(Hall.name_en) | None = None
    address: text(Hall.address) | None = None
    timezone: text(Hall.timezone) | None = None
    opening_hours: dict[str, list[list[str]]] | None = None
    calling_policy: CallingPolicyBody | None = None
    screen: ScreenBody | None = None
    opened_on: Day | None = None
    load_rules: LoadRulesBody | None = None
    staffing: StaffingBody | None = None
    survey: dict[str, Any] | None = _survey_settings()
    closures: list[ClosureBody] | None = Field(default=None, description="days the hall is shut (holidays)")
    green_channel: GreenChannelBody | None = None
    remote_queue: RemoteQueueBody | None = None
    booking: BookingBody | None = None
    active: bool | None = None


# the "your turn soon" SMS at this many people ahead; 0 sends none (domain.reminders)
RemindAhead = Annotated[int, Field(ge=0, le=REMIND_AHEAD_MAX)]


class ServiceBody(Strict):
    code: text(ServiceType.code, min_length=1, pattern=NAME_PATTERN)
    prefix: Prefix
    name_zh: text(ServiceType.name_zh, min_length=1)
    name_en: text(ServiceType.name_en) = ""
    target_wait_s: Seconds = 900
    handle_time_s: Annotated[int, Field(ge=10, le=4 * 3600)] = 300
    self_service_zh: text(ServiceType.self_service_zh) | None = None
    self_service_en: text(ServiceType.self_service_en) | None = None
    remind_ahead: RemindAhead = REMIND_AHEAD_DEFAULT


class ServicePatch(Strict):
    code: text(ServiceType.code, min_length=1, pattern=NAME_PATTERN) | None = None
    prefix: Prefix | None = None
    name_zh: text(ServiceType.name_zh, min_length=1) | None = None
    name_en: text(ServiceType.name_en) | None = None
    target_wait_s: Seconds | None = None
    handle_time_s: Annotated[int, Field(ge=10, le=4 * 3600)] | None = None
    self_service_zh: text(ServiceType.self_service_zh) | None = None
    self_service_en: text(ServiceType.self_service_en) | None = None
    active: bool | None = None
    remind_ahead: RemindAhead | None = None


class CounterBody(Strict):
    number: Annotated[int, Field(ge=1, le=999)]
    name: text(Counter.name) = ""
    service_ids: list[Id] = Field(default_factory=list)
    display_mode: Literal["full", "number"] = Field(default="full", description="the small screen above the "
                                                   "window: number, name and services, or the number alone")


class CounterPatch(Strict):
    number: Annotated[int, Field(ge=1, le=999)] | None = None
    name: text(Counter.name) | None = None
    service_ids: list[Id] | None = None
    display_mode: Literal["full", "number"] | None = None
    active: bool | None = None


Email = text(Staff.email, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
             description="where stored reports are mailed (hall managers)")


class StaffBody(Strict):
    username: text(Staff.username, min_length=2, pattern=r"^[A-Za-z0-9_.-]+$")
    name: text(Staff.name, min_length=1)
    staff_number: text(Staff.staff_number) = ""
    email: Email | None = None
    password: Annotated[str, Field(min_length=8, max_length=200)]
    role: Role
    hall_id: Id | None = None
    region_id: Id | None = Field(default=None, description="head office of this region only (omit: the whole company)")


class StaffPatch(Strict):
    name: text(Staff.name, min_length=1) | None = None
    staff_number: text(Staff.staff_number) | None = None
    email: Email | None = None
    password: Annotated[str, Field(min_length=8, max_length=200)] | None = None
    role: Role | None = None
    hall_id: Id | None = None
    region_id: Annotated[int, Field(ge=0, le=2**31 - 1, description="a head office's region; 0: the whole company")] | None = None
    active: bool | None = None


class DeviceBody(Strict):
    kind: DeviceKind
    name: text(Device.name, min_length=1)
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


class CodeRequestBody(Strict):
    mobile: Annotated[str, Field(max_length=20, description="11-digit mainland mobile; +86 optional")]
    purpose: Literal["join", "book"] = Field(default="join", description="a remote ticket (join) or an appointment (book)")


class BookBody(Strict):
    service_id: Id
    slot_start: Instant = Field(description="the slot's start, as the slots listing gives it")
    mobile: Annotated[str, Field(max_length=20)]
    code: Annotated[str, Field(max_length=12, description="the 6 digits of the SMS (a code asked with purpose book)")]


class RescheduleBody(Strict):
    slot_start: Instant


class RemoteJoinBody(Strict):
    service_id: Id
    mobile: Annotated[str, Field(max_length=20)]
    code: Annotated[str, Field(max_length=12, description="the 6 digits of the SMS")]


class CheckInBody(Strict):
    scan: Annotated[str, Field(max_length=300, description="what the scanner read from the ticket's QR code "
                                                           "(its page's address or its token)")] | None = None
    mobile: Annotated[str, Field(max_length=20)] | None = None
    code: Annotated[str, Field(max_length=12, description="the check-in code of the confirmation SMS")] | None = None
    as_walk_in: bool = Field(default=False, description="an appointment too early for its slot queues from now")


class OpenCounterBody(Strict):
    service_ids: list[Id] | None = Field(default=None, description="Services served from now on; omit to keep")


class CounterActionBody(Strict):
    ticket_id: Id | None = Field(default=None, description="The ticket the console shows; refused if it moved on")


class CallTicketBody(Strict):
    label: Annotated[str, Field(min_length=2, max_length=8, pattern=r"^[A-Za-z0-9]+$",
                                description="the ticket's number as customers see it, e.g. A012")]


class PauseBody(Strict):
    reason: PauseReason = Field(description="break (小休), training (业务学习) or system (系统故障)")


class TransferBody(Strict):
    to_service_id: Id
    to_counter_id: Id | None = None
    ticket_id: Id | None = None
    note: Annotated[str, Field(max_length=TRANSFER_NOTE_MAX)] | None = Field(
        default=None, description="What the next counter should know; shown there with the ticket's transfers")


SensorCode = text(FootfallSensor.code, min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")


class SensorBody(Strict):
    code: SensorCode = Field(description="the sensor's name in its agent's config and in reports, e.g. door1-cam")
    name_zh: text(FootfallSensor.name_zh, min_length=1)
    name_en: text(FootfallSensor.name_en) = ""
    door: text(FootfallSensor.door) = ""
    kind: Literal["camera", "infrared"]
    device_id: Id = Field(description="the sensor device (kind sensor) that reports for it")
    reversed: bool = Field(default=False, description="true when its 'in' direction is people leaving the hall")
    in_totals: bool = Field(default=True, description="false for a second counter on a door already counted")


class SensorPatch(Strict):
    name_zh: text(FootfallSensor.name_zh, min_length=1) | None = None
    name_en: text(FootfallSensor.name_en) | None = None
    door: text(FootfallSensor.door) | None = None
    device_id: Id | None = None
    reversed: bool | None = None
    in_totals: bool | None = None
    active: bool | None = None


class MinuteCountBody(Strict):
    sensor: SensorCode
    minute: Instant = Field(
        description="the minute's start with its UTC offset, e.g. 2026-11-22T09:15:00+08:00")
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
    name: text(Device.name, min_length=1)
    counter_id: Id | None = None


class OutboxReplyBody(Strict):
    to: Id = Field(description="the outbox message answered (its id): the reply comes from its recipient")
    text: Annotated[str, Field(max_length=1600, description="what the customer replies, e.g. 1 or 4 等太久了")]


# --------------------------------------------------------------------------- query strings

class Query(BaseModel):
    """A query string: each parameter parsed and checked as a body's field is (a 422 naming it);
    an empty value counts as absent, and parameters no route reads are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


Format = Literal["json", "csv", "xlsx"]
NoneId = Annotated[int, Field(ge=0, le=2**31 - 1, description="0: none")]


class MediaUploadQuery(Query):
    title: Annotated[str, Field(max_length=100, description="what it shows, for the administration page")] | None = None
    seconds: Annotated[float, Field(ge=3, le=60, description="an image's time on screen (default 10)")] | None = None

    _storable = field_validator("title", mode="after")(Strict._storable.__func__)


class DayQuery(Query):
    date: Day | None = Field(default=None, description="YYYY-MM-DD, the hall's local day (default today)")


class PeriodQuery(Query):
    period: Literal[PERIODS] | None = Field(default=None, description="default month")
    date: Day | None = Field(default=None, description="any day in the period (default today)")
    format: Format | None = None


class WaitBandsQuery(PeriodQuery):
    hall_id: Id | None = None


class HallSatisfactionQuery(PeriodQuery):
    by: Literal[satisfaction.BREAKDOWNS] | None = Field(default=None, description="default staff (day with staff_id)")
    min_ratings: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    staff_id: Id | None = None


class HallServiceLevelsQuery(PeriodQuery):
    by: Literal[service_levels.BREAKDOWNS] | None = Field(default=None, description="default counter")


class TicketsQuery(PeriodQuery):
    hour: Annotated[int, Field(ge=0, le=23)] | None = None
    weekday: Annotated[int, Field(ge=0, le=6, description="0: Monday")] | None = None
    counter_id: NoneId | None = None
    staff_id: NoneId | None = None
    service_id: NoneId | None = None
    tier: Tier | None = None
    channel: Literal[service_levels.CHANNELS] | None = Field(default=None, description="how the ticket was taken")
    outcome: Literal[kpi.OUTCOMES] | None = None


class ReportFilesQuery(Query):
    kind: Literal[report_files.KINDS] | None = None


class AuditQuery(Query):
    entity: Literal[audit.ENTITIES] | None = None
    entity_id: Id | None = None
    hall_id: Id | None = None
    actor_id: Id | None = None
    since: Instant | None = Field(default=None, description="with its UTC offset, e.g. 2026-12-01T08:00:00+08:00")
    until: Instant | None = None
    before_id: Id | None = Field(default=None, description="the next page: the last answer's next_before_id")
    limit: Annotated[int, Field(ge=1, le=audit.PAGE)] | None = None


class FootfallQuery(DayQuery):
    interval: Literal["5", "10", "15", "30", "60"] = Field(default="15", description="minutes per step of the series")


class HourlyFootfallQuery(Query):
    """``from`` and ``to`` are required; the view says so after the caller's access (a stranger learns nothing)."""

    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None
    format: Literal["json", "csv"] | None = None


class WarningsQuery(Query):
    all: bool = Field(default=False, description="the latest 100 of any state, not only the standing ones")


class PageQuery(Query):
    """Cursor paging, latest first: ``before`` is the ``next_before`` of the previous page."""

    before: Id | None = Field(default=None, description="the previous page's next_before")
    limit: Annotated[int, Field(ge=1, le=500, description="rows per page (default 100)")] = 100
    since: Instant | None = Field(default=None, description="on or after this instant (ISO 8601 with offset)")
    until: Instant | None = Field(default=None, description="before this instant")


class SurveysQuery(PageQuery):
    state: Literal["scheduled", "sending", "sent", "failed", "skipped"] | None = None


class OutboxQuery(PageQuery):
    pass


class RepliesQuery(PageQuery):
    outcome: Literal[surveys.OUTCOMES] | None = None


class FollowUpsQuery(Query):
    state: Literal["open", "overdue", "closed", "all"] | None = Field(default=None, description="default open")
    hall_id: Id | None = None
