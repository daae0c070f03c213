"""What the API answers: one model per shape, named on its route (``Api.route(returns=...)``) and so in
the OpenAPI document. The use cases build plain dictionaries (``services.*``); these models describe
them for clients and for the fuzzing test, which checks every answer against them. Fields a later
version may add are allowed; fields listed are always there (``None`` where the type says so).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Time = str  # ISO 8601 with its UTC offset
Day = str  # YYYY-MM-DD
Figure = float | None  # a rate, an average or a percentile: None when nothing was counted


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


def listing(name: str, key: str, item: type, paged: bool = False) -> type[Out]:
    """``{key: [item, ...]}``: the answer of a list route; ``paged``: with ``next_before``, the
    cursor of the next page (null on the last)."""
    from pydantic import create_model

    fields = {key: (list[item], ...)}
    if paged:
        fields["next_before"] = (int | None, Field(default=None, description="pass as `before` for the next page"))
    return create_model(name, __base__=Out, **fields)


# --------------------------------------------------------------------------- who is calling

class Principal(Out):
    id: int
    kind: str = Field(description="staff or device")
    name: str
    role: str | None
    hall_id: int | None
    counter_id: int | None
    device_kind: str | None
    csrf_token: str | None = Field(default=None, description="a signed-in browser session's, for X-CSRF-Token")


class Token(Out):
    token: str
    principal: Principal


class Revoked(Out):
    revoked: bool


# --------------------------------------------------------------------------- organisation

class Region(Out):
    id: int
    code: str
    name_zh: str
    name_en: str


class City(Region):
    region_id: int


class HeadStarts(Out):
    ordinary: int
    star: int
    vip: int
    green: int


class CallingPolicy(Out):
    head_start_s: HeadStarts
    overdue_overtakes: bool
    recalls_before_no_show: int
    max_recalls: int


class Words(Out):
    zh: str
    en: str


class Screen(Out):
    call_zh: str
    call_en: str
    notice_zh: str
    notice_en: str


class LoadRules(Out):
    busy_occupancy: int
    idle_occupancy: int
    busy_waiting_per_counter: float


class Staffing(Out):
    min_counters: int
    max_counters: int
    target_share: float
    patience_s: int
    min_shift_minutes: int
    interval_minutes: int
    country: str


class SurveySettings(Out):
    enabled: bool
    scale: str | list[Any]
    satisfied: list[int]
    follow_up: list[int]
    template_zh: str
    template_en: str
    delay_minutes: int
    quiet_hours: list[str] | None
    reply_expiry_hours: int
    follow_up_hours: int


class Closure(Out):
    date: Day
    note: str


class GreenChannel(Out):
    enabled: bool
    self_declare: bool
    note_zh: str
    note_en: str


class RemoteQueue(Out):
    enabled: bool
    check_in_minutes: int
    codes_per_number_per_hour: int
    codes_per_address_per_hour: int


class Booking(Out):
    enabled: bool
    share: float
    slot_minutes: int
    horizon_days: int
    head_start_minutes: int
    early_minutes: int
    grace_minutes: int
    no_show_limit: int
    no_show_window_days: int
    block_days: int


class Hall(Out):
    id: int
    city_id: int
    code: str
    name_zh: str
    name_en: str
    address: str
    timezone: str
    opening_hours: dict[str, list[list[str]]] = Field(description="weekday (mon-sun) to [open, close] spans")
    calling_policy: CallingPolicy
    calling_rule: Words
    screen: Screen
    priority_pin_set: bool
    opened_on: Day | None
    load_rules: LoadRules
    staffing: Staffing
    survey: SurveySettings
    closures: list[Closure]
    green_channel: GreenChannel
    remote_queue: RemoteQueue
    booking: Booking
    active: bool


class Service(Out):
    id: int
    hall_id: int
    code: str
    prefix: str
    name_zh: str
    name_en: str
    target_wait_s: int
    handle_time_s: int
    self_service_zh: str | None
    self_service_en: str | None
    active: bool
    remind_ahead: int


class CounterBrief(Out):
    id: int
    number: int
    name: str
    is_open: bool
    staff_id: int | None
    service_ids: list[int]
    display_mode: str
    paused: str | None = Field(default=None, description="the reason of its pause now (break, training, system)")
    paused_at: Time | None = None


class Counter(CounterBrief):
    hall_id: int
    active: bool


class Staff(Out):
    id: int
    username: str
    name: str
    staff_number: str
    email: str | None
    role: str
    hall_id: int | None
    region_id: int | None
    active: bool


class VipMember(Out):
    id: int
    hall_id: int
    mobile: str = Field(description="masked")
    star_level: int
    tier: str
    name: str
    valid_until: Day | None
    note: str
    active: bool


class GuidePin(Out):
    hall_id: int
    priority_pin_set: bool


class GuidePinChecked(Out):
    hall_id: int
    valid: bool
    outcome: Literal["right", "wrong", "locked", "none"]


class Device(Out):
    id: int
    hall_id: int
    kind: str
    name: str
    counter_id: int | None
    created_at: Time
    last_seen_at: Time | None
    settings: dict[str, Any]
    active: bool


class Media(Out):
    id: int
    hall_id: int
    title: str
    kind: Literal["image", "video"]
    content_type: str
    size_bytes: int
    width: int
    height: int
    seconds: float = Field(description="an image's time on screen; a video's length")
    position: int = Field(description="its place in the displays' order, from 1")
    active: bool
    url: str = Field(description="where the displays fetch it")
    created_at: Time


class NewDevice(Device):
    token: str = Field(description="shown this once")


class KioskSettings(Out):
    elder_mode: bool = Field(description="elder-friendly mode (适老化)")
    idle_s: int = Field(description="seconds untouched before the kiosk returns to its start screen")


class PairingCode(Out):
    code: str
    claim: str
    kind: str
    expires_at: Time
    poll_after_s: int


class Pairing(Out):
    state: str = Field(description="waiting, paired (with the token, once) or collected")
    expires_at: Time | None = None
    token: str | None = None
    device: Device | None = None


# --------------------------------------------------------------------------- tickets and counters

class ServiceBrief(Out):
    id: int
    code: str
    prefix: str
    name_zh: str
    name_en: str
    target_wait_s: int
    self_service_zh: str | None
    self_service_en: str | None


class HallBrief(Out):
    id: int
    name_zh: str
    name_en: str
    timezone: str


class Ticket(Out):
    id: int
    label: str
    service_id: int
    tier: str
    state: str
    issued_at: Time
    called_at: Time | None
    recalls: int
    channel: str = Field(description="kiosk, staff, system or remote (taken on the customer's phone)")
    check_in_by: Time | None = Field(description="a remote ticket: when it is released if not checked in")
    checked_in_at: Time | None = None


class TransferStep(Out):
    """One counter a transferred customer was at before, oldest first."""

    counter_number: int | None
    service_id: int = Field(description="the service it was served for there")
    at: Time = Field(description="when it was transferred on")
    served_s: int | None = Field(description="how long that counter served it")
    note: str | None = Field(description="what that counter wrote for the next one")


class CalledTicket(Ticket):
    """A ticket as the counter's console shows it."""

    service: ServiceBrief | None = None
    waited_s: int | None = None
    mobile_tail: str | None = None
    actions: list[Literal["recall", "start", "finish", "no-show", "transfer"]] = Field(
        default_factory=list, description="what the counter may do next with it (the state machine's moves)")
    history: list[TransferStep] | None = Field(default=None, description="a transferred ticket's earlier counters")


class IssuedTicket(Ticket):
    """A ticket as its customer sees it: place, wait and the token of the phone page."""

    hall: HallBrief
    service: ServiceBrief
    people_ahead: int
    estimated_wait_s: int | None
    public_token: str | None = None
    counter: CounterBrief | None = None


class PublicHallInfo(Out):
    id: int
    code: str
    name_zh: str
    name_en: str
    timezone: str
    open_now: bool
    issuing: bool
    opens_at: Time | None


class PublicRemote(Out):
    enabled: bool
    check_in_minutes: int
    taking: bool = Field(description="a remote ticket can be taken now (switched on and the hall open)")


class PublicBooking(Out):
    enabled: bool = Field(description="the hall takes appointments (预约)")
    horizon_days: int = Field(description="a day can be booked from today up to this many days ahead")
    slot_minutes: int
    today: Day = Field(description="the hall's business day now: the first day that can be booked")
    policy: Words = Field(description="the check-in rules and the no-show policy, shown before booking")


class PublicService(Out):
    id: int
    prefix: str
    name_zh: str
    name_en: str
    waiting: int
    open_counters: int
    estimated_wait_s: int | None


class PublicHall(Out):
    """What anyone may see of a hall before coming."""

    hall: PublicHallInfo
    remote: PublicRemote
    booking: PublicBooking
    at: Time
    services: list[PublicService]


class AppointmentView(Out):
    """An appointment as its page shows it."""

    id: int
    state: str = Field(description="booked, checked_in, cancelled or no_show")
    public_token: str
    hall: HallBrief
    service: ServiceBrief | None
    business_day: Day
    slot_start: Time
    slot_end: Time
    check_in_from: Time
    late_after: Time = Field(description="checking in after this, the customer queues as a walk-in")
    mobile_masked: str
    ticket_token: str | None = Field(description="the ticket's page, once checked in")
    policy: Words


class DaySlot(Out):
    start: Time
    end: Time
    local: str
    services: dict[str, int] = Field(description="service id: how many more appointments fit")


class SlotService(Out):
    id: int
    prefix: str
    name_zh: str
    name_en: str


class DaySlots(Out):
    hall: HallBrief
    day: Day
    planned: bool = Field(description="false: no counter plan for the day yet, so nothing is offered")
    slot_minutes: int
    horizon_days: int
    policy: Words
    services: list[SlotService]
    slots: list[DaySlot]


class SlotBookings(Out):
    start: Time
    local: str
    capacity_s: int
    booked_s: int
    appointments: dict[str, int]


class DayBookings(Out):
    hall: HallBrief
    day: Day
    enabled: bool
    planned: bool
    share: float
    slots: list[SlotBookings]


class CodeSent(Out):
    sent: bool
    mobile_masked: str
    expires_at: Time
    resend_after_s: int


class Printed(Out):
    ok: bool
    label: str
    code: str
    message_zh: str
    message_en: str


class CounterAction(Out):
    counter: CounterBrief
    ticket: CalledTicket | None


class Waiting(Out):
    id: int
    label: str
    channel: str = Field(description="kiosk, staff, system or remote (taken on the customer's phone, checked in)")
    service_id: int
    tier: str
    waited_s: int


class Holder(Out):
    id: int
    name: str | None


class CounterState(CounterAction):
    holder: Holder | None = Field(None, description="who works at the open counter (others must take it over)")
    waiting: int
    next: list[Waiting]


class QueueCounter(CounterBrief):
    ticket: Ticket | None


class QueueService(Out):
    id: int
    code: str
    prefix: str
    name_zh: str
    name_en: str
    target_wait_s: int
    handle_time_s: int
    waiting: int
    open_counters: int
    estimated_wait_s: int | None
    self_service_first: bool = Field(description="the kiosk suggests the service's self-service way before "
                                     "issuing (a long wait; never for a priority ticket)")


class RecentCall(Out):
    label: str
    counter_number: int
    at: Time
    recall: bool


class LoadReason(Out):
    code: str


class Load(Out):
    state: str
    occupancy: int | None
    waiting: int
    open_counters: int
    reasons: list[LoadReason]
    rules: LoadRules


class PlaylistItem(Out):
    id: int
    kind: Literal["image", "video"]
    url: str
    seconds: float = Field(description="an image's time on screen; a video's length")
    title: str


class QueueHall(HallBrief):
    code: str
    open_now: bool
    priority_pin_set: bool
    screen: Screen
    green_channel: GreenChannel
    remote_queue: RemoteQueue
    booking: dict[str, bool] = Field(description="enabled: the hall takes appointments (the kiosk checks them in)")


class HallQueue(Out):
    at: Time
    business_day: Day
    hall: QueueHall
    services: list[QueueService]
    counters: list[QueueCounter]
    recent_calls: list[RecentCall]
    media: list[PlaylistItem] = Field(description="what the displays play beside the calls, in order")
    load: Load


# --------------------------------------------------------------------------- footfall

class DoorCount(Out):
    in_: int = Field(alias="in")
    out: int


class Sensor(Out):
    id: int
    hall_id: int
    code: str
    name_zh: str
    name_en: str
    door: str
    kind: str
    device_id: int
    reversed: bool
    in_totals: bool
    active: bool
    last_minute: Time | None
    last_report_at: Time | None


class SensorToday(Sensor):
    stale: bool
    today: DoorCount


class CountsTaken(Out):
    stored: int
    replaced: int
    unchanged: int


class FootfallStep(DoorCount):
    start: Time
    occupancy: int


class FootfallDay(DoorCount):
    hall: HallBrief
    date: Day
    counting_from: Time | None
    interval_min: int
    occupancy: int
    sensors: list[SensorToday]
    series: list[FootfallStep]


class FootfallHour(DoorCount):
    hour: Time


# --------------------------------------------------------------------------- forecast and warnings

class ForecastSlot(Out):
    slot: Time
    mean: float
    p10: float
    p50: float
    p90: float
    needed: int


class HallSlot(ForecastSlot):
    actual: int | None
    planned: int
    source: str


class ServiceForecast(Out):
    id: int
    name_zh: str
    name_en: str
    slots: list[ForecastSlot]


class Shift(Out):
    counter: int
    from_: Time = Field(alias="from")
    to: Time


class CounterPlan(Out):
    business_day: Day
    made_at: Time
    peak_needed: int
    counter_hours: float
    shifts: list[Shift]


class Forecast(Out):
    hall_id: int
    date: Day
    timezone: str
    interval_minutes: int
    made_at: Time | None
    model: dict[str, Any] = Field(description="the model that made it: name, history days, fit time ({} before the first)")
    rules: Staffing
    open_counters_now: int
    slots: list[HallSlot]
    services: list[ServiceForecast]
    plan: CounterPlan | None


class ForecastMade(Out):
    hall_id: int
    days: list[Day]
    slots: int
    history_days: int
    fit_s: float
    seconds: float


class Warning(Out):
    id: int
    hall_id: int
    kind: str
    severity: str
    service_id: int | None
    window_start: Time | None
    window_end: Time | None
    figure: float | None
    counters_needed: int | None
    counters_open: int | None
    message_zh: str
    message_en: str
    raised_at: Time
    updated_at: Time
    resolved_at: Time | None
    acknowledged_at: Time | None
    acknowledged_by: int | None


class HallOverview(Out):
    hall_id: int
    code: str
    name_zh: str
    name_en: str
    waiting: int
    open_counters: int
    warnings: int
    unacknowledged: int
    worst: str | None
    messages_zh: list[str]
    messages_en: list[str]


# --------------------------------------------------------------------------- surveys

class SurveyView(Out):
    id: int
    ticket_id: int
    hall_id: int
    service_id: int
    counter_id: int | None
    staff_id: int | None
    business_day: Day
    finished_at: Time
    wait_s: int | None
    mobile: str = Field(description="masked")
    state: str
    send_at: Time
    attempts: int
    last_error: str | None
    sent_at: Time | None
    gateway: str | None
    delivery_status: str | None
    delivery_at: Time | None
    expires_at: Time | None
    text: str
    scale: str
    score: int | None
    satisfied: bool | None
    comment: str | None
    rated_at: Time | None


class Reply(Out):
    id: int
    survey_id: int | None
    hall_id: int | None
    received_at: Time
    mobile: str = Field(description="masked")
    text: str
    kind: str
    score: int | None
    comment: str | None
    outcome: str
    gateway: str


class FollowUp(Out):
    id: int
    hall_id: int
    survey_id: int
    reason: str
    opened_at: Time
    due_at: Time
    assigned_to: int | None
    state: str
    clock: str
    overdue: bool
    first_response_at: Time | None
    first_response_by: int | None
    closed_at: Time | None
    closed_by: int | None
    resolution: str | None
    mobile: str = Field(description="masked")
    score: int | None
    comment: str | None
    staff_id: int | None
    counter_id: int | None
    service_id: int
    finished_at: Time


class OutboxMessage(Out):
    id: int
    created_at: Time
    to: str = Field(description="masked")
    text: str
    reference: str
    survey_id: int | None
    hall_id: int | None


# --------------------------------------------------------------------------- reports

class Period(Out):
    kind: str
    first_day: Day
    last_day: Day
    label_zh: str
    label_en: str


class Satisfaction(Out):
    """A report line's satisfaction figures."""

    sent: int
    rated: int
    ratings: int
    satisfied: int
    satisfaction_rate: Figure
    average_score: Figure
    score_index: Figure
    response_rate: Figure
    off_scale: int
    scale: str | None
    by_score: dict[str, int]


class PlaceSatisfaction(Satisfaction):
    id: int
    code: str
    name_zh: str
    name_en: str


class HallSatisfactionLine(PlaceSatisfaction):
    rank_in_city: int | None = None
    rank_in_region: int | None = None


class CitySatisfaction(PlaceSatisfaction):
    rank_in_region: int | None = None
    halls: list[HallSatisfactionLine]


class RegionSatisfaction(PlaceSatisfaction):
    rank: int | None = None
    cities: list[CitySatisfaction]


class SatisfactionOverview(Out):
    period: Period
    totals: Satisfaction
    regions: list[RegionSatisfaction]


class SatisfactionLine(Satisfaction):
    key: int | str | None = Field(description="the staff member, counter, service, day or band the line is about")
    rank: int | None = None


class WaitBands(Out):
    period: Period
    totals: Satisfaction
    lines: list[SatisfactionLine]


class HallCode(Out):
    id: int
    code: str
    name_zh: str
    name_en: str


class HallSatisfaction(Out):
    hall: HallCode
    period: Period
    by: str
    scale: str | None
    staff: dict[str, Any] | None
    totals: Satisfaction
    lines: list[SatisfactionLine]


class ServiceLevel(Out):
    """A report line's service-level figures (waits and handle times in seconds)."""

    arrivals: int
    served: int
    waited: int
    handled: int
    no_show: int
    cancelled: int
    expired: int
    open: int
    transfers: int
    wait_avg_s: Figure
    wait_p50_s: Figure
    wait_p90_s: Figure
    within_target_rate: Figure
    handle_avg_s: Figure
    handle_p90_s: Figure
    no_show_rate: Figure
    cancel_rate: Figure


class WaitBin(Out):
    from_s: int
    to_s: int | None
    count: int


class ChannelMix(Out):
    """Tickets by how they were taken."""

    kiosk: int
    staff: int = Field(description="by a staff member (the floor guide's tablet, the console)")
    system: int = Field(description="by no caller (imports, the demo)")
    remote: int = Field(description="on the customer's phone before coming (远程取号)")
    appointment: int = Field(description="an appointment checked in at the hall (预约)")


class PlaceServiceLevel(ServiceLevel):
    id: int
    code: str
    name_zh: str
    name_en: str
    busy_hour_wait_avg_s: Figure
    channels: ChannelMix
    remote_appointment_share: Figure = Field(description="the share of tickets taken remotely or by appointment")


class HallServiceLevelLine(PlaceServiceLevel):
    rank_in_city: int | None = None
    rank_in_region: int | None = None


class CityServiceLevel(PlaceServiceLevel):
    rank_in_region: int | None = None
    wait_histogram: list[WaitBin]
    halls: list[HallServiceLevelLine]


class RegionServiceLevel(PlaceServiceLevel):
    rank: int | None = None
    wait_histogram: list[WaitBin]
    cities: list[CityServiceLevel]


class ServiceLevelTotals(ServiceLevel):
    busy_hour_wait_avg_s: Figure
    wait_histogram: list[WaitBin]
    channels: ChannelMix | None = Field(default=None, description="the head office's: tickets by channel")
    remote_appointment_share: Figure = None


class AppointmentPunctuality(Out):
    """How the appointments booked for the period's days went."""

    booked: int = Field(description="every appointment made for the period's days")
    on_time: int = Field(description="checked in by the slot's start plus the grace minutes")
    late: int = Field(description="checked in after that (queued as walk-ins)")
    no_show: int
    cancelled: int
    pending: int = Field(description="still booked: the slot is to come or its grace time is not over")
    on_time_rate: Figure = Field(description="of those due (checked in or no-show)")
    no_show_rate: Figure = Field(description="of those due (checked in or no-show)")
    grace_minutes: int
    booking_enabled: bool = Field(description="the hall takes appointments now")


class ServiceLevelOverview(Out):
    period: Period
    totals: ServiceLevelTotals
    regions: list[RegionServiceLevel]


class ServiceLevelLine(ServiceLevel):
    key: int | str | None = Field(description="the counter, staff member, service, tier, channel, hour, weekday or day")
    rank: int | None = None
    previous: dict[str, Any] | None = Field(default=None, description="the same figures for the period before")


class HallServiceLevels(Out):
    hall: HallCode
    period: Period
    by: str
    totals: ServiceLevelTotals
    previous: dict[str, Any]
    appointments: AppointmentPunctuality
    lines: list[ServiceLevelLine]


class Heatmap(Out):
    hall_id: int
    period: Period
    cells: list[dict[str, Any]] = Field(description="per weekday and local hour: average wait, tickets per day")


class TicketLine(Out):
    id: int
    label: str
    business_day: Day
    issued_local: str
    service_id: int
    service: str
    tier: str
    channel: str = Field(description="kiosk, staff, system, remote or appointment")
    outcome: str
    wait_s: int | float | None
    within_target: bool | None
    handle_s: int | float | None
    transfers: int
    counter_id: int | None
    counter: str
    staff_id: int | None
    staff: str


class TicketList(Out):
    hall: HallCode
    period: Period
    filters: dict[str, Any]
    matched: int
    truncated: bool
    tickets: list[TicketLine]


class ReportFile(Out):
    id: int
    kind: str
    hall_id: int | None
    hall_code: str | None
    hall_name_zh: str | None
    period_kind: str
    period_first: Day
    period_last: Day
    format: str
    file_name: str
    size: int
    made_at: Time


# --------------------------------------------------------------------------- the audit trail

class Actor(Out):
    kind: str
    id: int | None
    name: str


class AuditEntry(Out):
    id: int
    at: Time
    actor: Actor
    action: str
    entity: str
    entity_id: int
    hall_id: int | None
    changed: list[str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditTrail(Out):
    entries: list[AuditEntry]
    next_before_id: int | None


# --------------------------------------------------------------------------- lists

Regions = listing("Regions", "regions", Region)
Cities = listing("Cities", "cities", City)
Halls = listing("Halls", "halls", Hall)
Services = listing("Services", "services", Service)
Counters = listing("Counters", "counters", Counter)
StaffList = listing("StaffList", "staff", Staff)
VipMembers = listing("VipMembers", "members", VipMember)
Devices = listing("Devices", "devices", Device)
MediaList = listing("MediaList", "media", Media)
Sensors = listing("Sensors", "sensors", Sensor)
FootfallHours = listing("FootfallHours", "hours", FootfallHour)
Warnings = listing("Warnings", "warnings", Warning)
HallsOverview = listing("HallsOverview", "halls", HallOverview)
Surveys = listing("Surveys", "surveys", SurveyView, paged=True)
Replies = listing("Replies", "replies", Reply, paged=True)
FollowUps = listing("FollowUps", "follow_ups", FollowUp)
Outbox = listing("Outbox", "messages", OutboxMessage, paged=True)
ReportFiles = listing("ReportFiles", "report_files", ReportFile)
