"""SQLAlchemy 2 tables. The schema is created by Alembic (migrations/), never create_all in production."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    Unicode,
    UniqueConstraint,
    literal_column,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, hands back aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to UTCDateTime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Region(Base):
    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")


class City(Base):
    __tablename__ = "cities"
    __table_args__ = (UniqueConstraint("region_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[Region] = relationship()


class Hall(Base):
    __tablename__ = "halls"
    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    opening_hours: Mapped[dict] = mapped_column(JSON, default=dict)
    calling_policy: Mapped[dict] = mapped_column(JSON, default=dict)
    screen: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")  # display texts, see domain.screens
    priority_pin_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the floor guide's PIN
    opened_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # no counts or tickets before this day
    load_rules: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")  # see domain.footfall.LoadRules
    staffing: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")  # see domain.staffing_rules
    survey: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")  # see domain.survey.SurveySettings
    closures: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")  # see domain.hours.Closures
    green_channel: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")  # domain.roster.GreenChannel
    remote_queue: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")  # domain.remote.RemoteQueue
    booking: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")  # domain.appointments.BookingRules
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # bumped with every change to the hall, its services or its counters (storage.config_versions):
    # processes keep the hall's configuration and reload it when this moves
    config_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    city: Mapped[City] = relationship()


counter_services = Table(
    "counter_services",
    Base.metadata,
    Column("counter_id", ForeignKey("counters.id"), primary_key=True),
    Column("service_id", ForeignKey("service_types.id"), primary_key=True),
)


class ServiceType(Base):
    __tablename__ = "service_types"
    __table_args__ = (UniqueConstraint("hall_id", "prefix"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    prefix: Mapped[str] = mapped_column(String(2))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    target_wait_s: Mapped[int] = mapped_column(Integer, default=900)
    handle_time_s: Mapped[int] = mapped_column(Integer, default=300)
    self_service_zh: Mapped[str | None] = mapped_column(String(200), nullable=True)
    self_service_en: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the "your turn soon" SMS goes when this many people are ahead (0: none); see domain.reminders
    remind_ahead: Mapped[int] = mapped_column(Integer, default=3, server_default="3")


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    staff_number: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)  # stored reports are mailed to managers
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20))
    hall_id: Mapped[int | None] = mapped_column(ForeignKey("halls.id"), nullable=True, index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), nullable=True)  # head office of a region
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Counter(Base):
    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("hall_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100), default="")
    is_open: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    display_mode: Mapped[str] = mapped_column(String(10), default="full", server_default="full")  # or "number"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    services: Mapped[list[ServiceType]] = relationship(secondary=counter_services, order_by=ServiceType.prefix)
    # the pause now, if any (model.PauseReason); every pause is kept in counter_pauses
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pause_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)


class VipMember(Base):
    """One customer on a hall's VIP roster (贵宾名单): a star level from 1 to 7; the number is kept as
    in surveys (cipher, lookup key, masked form, services.protect). At the kiosk, a number on the
    roster gets its tier without the floor guide (services.roster)."""

    __tablename__ = "vip_members"
    __table_args__ = (UniqueConstraint("hall_id", "number_key", name="uq_vip_members_hall_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    number_key: Mapped[str] = mapped_column(String(64))
    number_cipher: Mapped[str] = mapped_column(Text)
    number_masked: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(Unicode(100), default="", server_default="")
    star_level: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Unicode(200), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiToken(Base):
    """Bearer tokens of staff API clients (``st_``) and staff browser sessions (``ss_``, the secret in
    the session cookie). Only a SHA-256 of the secret is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Device(Base):
    """A kiosk or screen bound to one hall; it holds its own bearer token."""

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    settings: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")  # e.g. {"printer": {...}}
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PairingCode(Base):
    """A new device's one-time pairing code (services.pairing): shown on its screen, typed in by an
    administrator, who binds it to a hall; the device then collects its own token once.

    ``claim_hash``: the hash of the secret only the device that asked for the code knows (the code
    alone, short enough to type, never reveals a token). ``token``: the new device's token between
    the pairing and its collection (minutes at most), then NULL."""

    __tablename__ = "pairing_codes"
    __table_args__ = (Index("ix_pairing_codes_code", "code", "expires_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8))
    claim_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True)
    token: Mapped[str | None] = mapped_column(String(100), nullable=True)
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TicketSequence(Base):
    """Last number issued per hall, prefix and local business day: two kiosks, one number."""

    __tablename__ = "ticket_sequences"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(2), primary_key=True)
    business_day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("hall_id", "prefix", "business_day", "number", name="uq_ticket_number"),
        # One ticket at a counter at a time: two "call next" clicks cannot both win.
        Index(
            "uq_ticket_at_counter",
            "counter_id",
            unique=True,
            sqlite_where=text("state IN ('called', 'serving')"),
            postgresql_where=text("state IN ('called', 'serving')"),
        ),
        # the queue in calling order within each (service, tier): a call reads each group's first few
        # in index order (queued_at, then id: the tie-break), no sort, passing over the rare ticket sent
        # to one counter (the last column, so PostgreSQL, which does not take IS NULL as an equality
        # for an index's order, reads the order too); the waiting counts and the people ahead read it alone
        Index(
            "ix_ticket_queue",
            "hall_id",
            "business_day",
            "state",
            "service_id",
            "tier",
            "queued_at",
            "id",
            "target_counter_id",
        ),
        # tickets sent to one counter (transfers: few), found without reading the queue; it holds what
        # a call reads of them, or SQLite's planner prefers the covering queue index and reads it all
        Index(
            "ix_tickets_sent_to_counter",
            "target_counter_id",
            "hall_id",
            "business_day",
            "state",
            "service_id",
            "tier",
            "queued_at",
            sqlite_where=text("target_counter_id IS NOT NULL"),
            postgresql_where=text("target_counter_id IS NOT NULL"),
        ),
        Index("ix_tickets_business_day", "business_day"),  # the service-level roll-ups read days of every hall
        # tickets still carrying a mobile number: surveys.create_surveys' batch anti-join and the retention job
        # read only these, and the number is cleared once the survey holds it (protected), so it stays small
        Index(
            "ix_tickets_with_mobile",
            "closed_at",
            sqlite_where=text("mobile IS NOT NULL"),
            postgresql_where=text("mobile IS NOT NULL"),
        ),
        # remote tickets not yet checked in, by deadline: the expiry job reads only these
        Index(
            "ix_tickets_remote_due",
            "check_in_by",
            sqlite_where=text("state = 'remote'"),
            postgresql_where=text("state = 'remote'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service_types.id"))
    business_day: Mapped[date] = mapped_column(Date)
    prefix: Mapped[str] = mapped_column(String(2))
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(8))
    tier: Mapped[str] = mapped_column(String(16), default="ordinary")
    mobile: Mapped[str | None] = mapped_column(String(20), nullable=True)
    public_token: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    target_counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    recalls: Mapped[int] = mapped_column(Integer, default=0)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    issued_by_device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True)
    channel: Mapped[str] = mapped_column(String(12), default="kiosk", server_default="kiosk")  # model.Channel
    check_in_by: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # a remote ticket's deadline
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    transfers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # its history is read only if any


class TurnReminder(Base):
    """A ticket's "your turn soon" (``soon``) or "you are called" (``called``) SMS, claimed once
    (the primary key) before it is sent; ``outcome`` sent, failed or skipped (quiet hours, opted
    out, no readable number). services.turn_reminders."""

    __tablename__ = "turn_reminders"
    __table_args__ = (Index("ix_turn_reminders_hall_at", "hall_id", "at"),)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(12))


class MobileCode(Base):
    """A one-time SMS code: to prove a mobile number before a remote ticket (``join``), or to check in
    with the number at the kiosk (``check_in``, tied to its ticket). Only keyed hashes are stored:
    of the number, of the code and of the client address (services.remote)."""

    __tablename__ = "mobile_codes"
    __table_args__ = (
        Index("ix_mobile_codes_number", "number_key", "created_at"),
        Index("ix_mobile_codes_address", "address_key", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    purpose: Mapped[str] = mapped_column(String(12))  # join | check_in (domain.remote)
    number_key: Mapped[str] = mapped_column(String(64))
    address_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # wrong tries
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True, index=True)
    send_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), nullable=True, index=True)


class Appointment(Base):
    """A booked service, day and slot (预约), from the customer's phone; a ticket once checked in.
    The number is kept as surveys keep it (cipher, keyed hash, masked): reminders are sent to it."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_hall_day", "hall_id", "business_day", "state"),
        Index("ix_appointments_number", "number_key", "slot_start"),
        Index("ix_appointments_due", "state", "slot_start"),  # the no-show and reminder jobs
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service_types.id"))
    business_day: Mapped[date] = mapped_column(Date)
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    work_s: Mapped[float] = mapped_column(Float)  # the capacity it holds (the service's handle time)
    state: Mapped[str] = mapped_column(String(16))  # booked | checked_in | cancelled | no_show
    number_cipher: Mapped[str | None] = mapped_column(String(255), nullable=True)
    number_key: Mapped[str] = mapped_column(String(64))
    number_masked: Mapped[str] = mapped_column(String(20))
    public_token: Mapped[str] = mapped_column(String(32), unique=True)  # the appointment's page
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    reminded_day_before_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminded_soon_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AppointmentSlot(Base):
    """What a hall's slot holds in bookings (counter-seconds): raised only while it stays within the
    slot's capacity (a compare in the same statement), so two customers never both take the last."""

    __tablename__ = "appointment_slots"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    booked_s: Mapped[float] = mapped_column(Float, default=0.0)


class CounterPause(Base):
    """One pause of an open counter (小休, 业务学习, 系统故障): from ``started_at`` to ``ended_at``
    (resumed, or the counter closed); the reports count it as paused time."""

    __tablename__ = "counter_pauses"
    __table_args__ = (Index("ix_counter_pauses_hall_started", "hall_id", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    reason: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class HallMedia(Base):
    """An image or short video of a hall's waiting-area screens (services.hall_media): the file is
    ``file_name`` in the instance folder's media/<hall_id>/; ``seconds`` is an image's time on screen
    or a video's length; screens play the active ones by ``position``."""

    __tablename__ = "hall_media"
    __table_args__ = (Index("ix_hall_media_hall", "hall_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    file_name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CounterSession(Base):
    """A counter open for calling, from opening to closing (``closed_at`` NULL while open): the open
    time that counter utilisation is measured against."""

    __tablename__ = "counter_sessions"
    __table_args__ = (
        Index("ix_counter_sessions_hall_opened", "hall_id", "opened_at"),
        Index("ix_counter_sessions_counter_closed", "counter_id", "closed_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


_STATE_WORDS = frozenset("abcdefghijklmnopqrstuvwxyz_")


_Row = TypeVar("_Row")


def must_get(s, model: type[_Row], ident) -> _Row:
    """A row the transaction knows is there (a foreign key's target, a row it has just claimed):
    ``Session.get`` without the None that cannot happen here."""
    row = s.get(model, ident)
    if row is None:
        raise LookupError(f"{model.__name__} {ident} is gone")
    return row


def rows_changed(result) -> int:
    """How many rows an UPDATE or DELETE changed: its result is a CursorResult, which the ORM's
    ``Session.execute`` is not typed as returning."""
    return result.rowcount


def table(model) -> Table:
    """A mapped class's table, typed as one (``Model.__table__`` is typed as any FROM clause)."""
    return model.__table__


def has_handle_time():
    """The condition of ``ix_ticket_events_handle_times``, written out so that the index serves it."""
    return text(HANDLE_TIME_EVENTS)


def ticket_in_state(*states: str):
    """``tickets.state`` is one of ``states``, written into the statement, never bound.

    SQLite compares a bound state with the conditions of the partial indexes on state
    (``uq_ticket_at_counter``, ``ix_tickets_remote_due``) and so plans the statement again on every
    execution: 0.02 ms for a small statement, 0.5 ms for a call's candidates (BENCHMARKS.md, "The hot
    path"). Written out, it is planned once and the partial indexes serve it. Only the fixed state
    words are accepted.
    """
    for state in states:
        if not state or not set(state) <= _STATE_WORDS:
            raise ValueError(f"not a ticket state: {state!r}")
    column = Ticket.__table__.c.state
    if len(states) == 1:
        return column == literal_column(f"'{states[0]}'")
    return column.in_([literal_column(f"'{state}'") for state in states])


# The events that carry a handle time (finished, transferred, with ``duration_s``), written out as the
# partial index's condition: a query matches it only with the same words, never bound values.
HANDLE_TIME_EVENTS = "kind IN ('finished', 'transferred') AND duration_s IS NOT NULL"


class TicketEvent(Base):
    """The full state history of a ticket; ``duration_s`` is the handle time on finish/transfer."""

    __tablename__ = "ticket_events"
    # the last handle times of a service, newest first: only the events that carry one, so the last
    # twenty are the index's last twenty entries (an index on (service, kind, id) made PostgreSQL read
    # and sort every finished ticket of the service: 2 ms an issue; BENCHMARKS.md, "The hot path")
    __table_args__ = (
        Index(
            "ix_ticket_events_handle_times",
            "service_id",
            "id",
            sqlite_where=text(HANDLE_TIME_EVENTS),
            postgresql_where=text(HANDLE_TIME_EVENTS),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    service_id: Mapped[int] = mapped_column(ForeignKey("service_types.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class FootfallSensor(Base):
    """A door counter (camera or infrared beam) of a hall; reports through one sensor device."""

    __tablename__ = "footfall_sensors"
    __table_args__ = (UniqueConstraint("hall_id", "code", name="uq_sensor_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    door: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(16))  # camera | infrared
    reversed: Mapped[bool] = mapped_column(Boolean, default=False)  # its "in" is people leaving
    in_totals: Mapped[bool] = mapped_column(Boolean, default=True)  # counts toward the hall's figures
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_report_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # when it last posted
    last_minute: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # latest minute it reported


class FootfallMinute(Base):
    """Crossings of one sensor in one minute, raw (``in`` and ``out`` as the sensor reports them)."""

    __tablename__ = "footfall_minutes"
    __table_args__ = (Index("ix_footfall_minutes_hall_minute", "hall_id", "minute"),)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("footfall_sensors.id"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    in_count: Mapped[int] = mapped_column(Integer)
    out_count: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FootfallHour(Base):
    """Hourly roll-up of ``footfall_minutes``, kept in step by the ingestion (and kept when minutes are pruned)."""

    __tablename__ = "footfall_hours"
    __table_args__ = (Index("ix_footfall_hours_hall_hour", "hall_id", "hour"),)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("footfall_sensors.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    in_count: Mapped[int] = mapped_column(Integer)
    out_count: Mapped[int] = mapped_column(Integer)


class ArrivalSlot(Base):
    """Tickets taken per service and interval (15 minutes): the history the forecaster learns from.

    Rolled up from ``tickets`` by the scheduler for each finished business day.
    """

    __tablename__ = "arrival_slots"
    __table_args__ = (Index("ix_arrival_slots_hall_slot", "hall_id", "slot"),)
    service_id: Mapped[int] = mapped_column(ForeignKey("service_types.id"), primary_key=True)
    slot: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    arrivals: Mapped[int] = mapped_column(Integer)


class ArrivalRollup(Base):
    """The business days of a hall already rolled up into ``arrival_slots``."""

    __tablename__ = "arrival_rollups"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    business_day: Mapped[date] = mapped_column(Date, primary_key=True)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ForecastSlot(Base):
    """The forecast of one interval: for the whole hall (``service_id`` null) or one service."""

    __tablename__ = "forecast_slots"
    __table_args__ = (Index("ix_forecast_slots_hall_slot", "hall_id", "slot"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service_types.id"), nullable=True)
    slot: Mapped[datetime] = mapped_column(UTCDateTime)
    mean: Mapped[float] = mapped_column(Float)
    p10: Mapped[float] = mapped_column(Float)
    p50: Mapped[float] = mapped_column(Float)
    p90: Mapped[float] = mapped_column(Float)
    needed: Mapped[int] = mapped_column(Integer)  # counters to serve p90 within target
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))  # nightly | intraday


class CounterPlan(Base):
    """A hall's counter plan for one business day: needs per interval and shifts of open counters."""

    __tablename__ = "counter_plans"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    business_day: Mapped[date] = mapped_column(Date, primary_key=True)
    interval_minutes: Mapped[int] = mapped_column(Integer)
    first_slot: Mapped[datetime] = mapped_column(UTCDateTime)
    needs: Mapped[list] = mapped_column(JSON)  # counters needed per interval from first_slot (p90)
    shifts: Mapped[list] = mapped_column(JSON)  # [{"counter": k, "start": i, "end": j}] in intervals
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    model: Mapped[dict] = mapped_column(JSON, default=dict)  # what made the forecast (model, history, fit time)


class PeakWarning(Base):
    """A stored peak warning: raised once, updated while it stands, acknowledged, resolved."""

    __tablename__ = "peak_warnings"
    __table_args__ = (
        # one standing warning per (hall, kind, service): a second writer cannot raise it twice
        Index(
            "uq_peak_warning_standing",
            "hall_id",
            "key",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_peak_warnings_hall_raised", "hall_id", "raised_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service_types.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # forecast | live
    key: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))  # warning | critical
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    counters_open: Mapped[int] = mapped_column(Integer)
    counters_needed: Mapped[int] = mapped_column(Integer)
    figure: Mapped[float] = mapped_column(Float)
    message_zh: Mapped[str] = mapped_column(String(400))
    message_en: Mapped[str] = mapped_column(String(400))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SchedulerLease(Base):
    """Who runs the scheduled jobs: one holder at a time, renewed, taken over when it lapses."""

    __tablename__ = "scheduler_leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


# APScheduler's SQLAlchemyJobStore table, declared here (as APScheduler 3 defines it) so that
# the Alembic migration owns it and the schema check sees it; the job store reads and writes it.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


# --------------------------------------------------------------------------- satisfaction surveys
# A mobile number is never stored in plain text here: ``*_cipher`` is its Fernet token (readable
# with SMS_DATA_KEY, to send), ``*_key`` an HMAC-SHA256 of it (to find a number's surveys and
# opt-out without reading any), ``*_masked`` the form shown (138****8000). See services.protect.


class Survey(Base):
    """One post-service SMS survey: at most one per ticket, sent once, rated by the first reply."""

    __tablename__ = "surveys"
    __table_args__ = (
        Index("ix_surveys_due", "state", "send_at"),  # the dispatch job
        Index("ix_surveys_number", "number_key", "sent_at"),  # a reply finds its survey
        Index("ix_surveys_hall_finished", "hall_id", "finished_at"),  # a hall's recent surveys
        Index("ix_surveys_hall_rated", "hall_id", "rated_at"),  # ratings per hall per month
        Index("ix_surveys_hall_staff_rated", "hall_id", "staff_id", "rated_at"),  # per staff member in a hall
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)  # never two for one ticket
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service_types.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    business_day: Mapped[date] = mapped_column(Date)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wait_s: Mapped[int | None] = mapped_column(Integer, nullable=True)  # issue (queue time) to call
    number_cipher: Mapped[str | None] = mapped_column(String(255), nullable=True)  # null after retention
    number_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    number_masked: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(16))  # scheduled | sending | sent | failed | skipped
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # when it went to 'sending'
    last_error: Mapped[str | None] = mapped_column(String(400), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    gateway: Mapped[str | None] = mapped_column(String(16), nullable=True)
    gateway_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)  # ours; delivery reports carry it back
    delivery_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    scale_name: Mapped[str] = mapped_column(String(16))
    scale: Mapped[dict] = mapped_column(JSON)  # the scale as sent ({scale, satisfied, follow_up}): replies read by it
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # replies after it are late
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    satisfied: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comment: Mapped[str | None] = mapped_column(String(500), nullable=True)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyReply(Base):
    """Every message a customer sent back, whatever it said and whether it counted (``outcome``)."""

    __tablename__ = "survey_replies"
    __table_args__ = (
        # a gateway retrying a callback must not store the reply twice (NULL ids never clash)
        UniqueConstraint("gateway", "gateway_message_id", name="uq_survey_reply_gateway_message"),
        Index("ix_survey_replies_hall_outcome", "hall_id", "outcome", "received_at"),
        Index("ix_survey_replies_received", "received_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"), nullable=True, index=True)
    hall_id: Mapped[int | None] = mapped_column(ForeignKey("halls.id"), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    number_cipher: Mapped[str | None] = mapped_column(String(255), nullable=True)
    number_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    number_masked: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # rating | comment | opt_out | empty
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str | None] = mapped_column(String(500), nullable=True)
    outcome: Mapped[str] = mapped_column(
        String(16)
    )  # counted | duplicate | late | unmatched | opt_out | comment | empty
    gateway: Mapped[str] = mapped_column(String(16))
    gateway_message_id: Mapped[str | None] = mapped_column(String(80), nullable=True)


class SmsOptOut(Base):
    """A number that replied STOP / TD / 退订: no survey is sent to it again."""

    __tablename__ = "sms_opt_outs"
    number_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    number_cipher: Mapped[str | None] = mapped_column(String(255), nullable=True)
    number_masked: Mapped[str] = mapped_column(String(20))
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("survey_replies.id"), nullable=True)


class FollowUpCase(Base):
    """A low rating or a complaint to answer within the hall's deadline (48 hours by default)."""

    __tablename__ = "follow_up_cases"
    __table_args__ = (
        Index("ix_follow_up_cases_hall_state", "hall_id", "state", "due_at"),
        Index("ix_follow_up_cases_state_due", "state", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), unique=True)  # one case per survey
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("survey_replies.id"), nullable=True)
    reason: Mapped[str] = mapped_column(String(16))  # low_rating | complaint
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_response_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # open | closed
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)


class SmsOutboxMessage(Base):
    """What the outbox gateway (the embedded default) "sent": shown to staff, who may answer as the customer."""

    __tablename__ = "sms_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    number_cipher: Mapped[str | None] = mapped_column(String(255), nullable=True)
    number_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    number_masked: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(64), index=True)


class OutboxEvent(Base):
    """A committed domain event whose durable handlers (``app.event_handlers.EVENT_HANDLERS``) have yet
    to run: written by the unit of work in the transaction that recorded the event, delivered after
    it by the scheduler (services.outbox). ``next_at``: when it is next due (while a delivery holds it,
    when that claim lapses); ``done_at`` or ``failed_at`` once it is finished with."""

    __tablename__ = "event_outbox"
    __table_args__ = (
        # the rows still to deliver, by when they are due (done and failed rows leave it)
        Index(
            "ix_event_outbox_due",
            "next_at",
            sqlite_where=text("done_at IS NULL AND failed_at IS NULL"),
            postgresql_where=text("done_at IS NULL AND failed_at IS NULL"),
        ),
        # delivered rows, pruned after a week (a new row does not enter it)
        Index(
            "ix_event_outbox_done",
            "done_at",
            sqlite_where=text("done_at IS NOT NULL"),
            postgresql_where=text("done_at IS NOT NULL"),
        ),
        # given up after every attempt: few, counted every run for the metrics (hallq_outbox_events)
        Index(
            "ix_event_outbox_failed",
            "failed_at",
            sqlite_where=text("failed_at IS NOT NULL"),
            postgresql_where=text("failed_at IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(40))  # the event's class name (``Event.name``)
    payload: Mapped[dict] = mapped_column(JSON)  # its fields (``Event.to_dict`` without "event")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the exception's type and place


class _SatisfactionCounts:
    """Counts a satisfaction roll-up row holds: surveys sent, surveys rated, ratings per score (0-10).

    Scores, not "satisfied", are counted, so a hall that changes which grades are satisfied
    re-reads its history without a rebuild.
    """

    sent: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    r0: Mapped[int] = mapped_column(Integer, default=0)
    r1: Mapped[int] = mapped_column(Integer, default=0)
    r2: Mapped[int] = mapped_column(Integer, default=0)
    r3: Mapped[int] = mapped_column(Integer, default=0)
    r4: Mapped[int] = mapped_column(Integer, default=0)
    r5: Mapped[int] = mapped_column(Integer, default=0)
    r6: Mapped[int] = mapped_column(Integer, default=0)
    r7: Mapped[int] = mapped_column(Integer, default=0)
    r8: Mapped[int] = mapped_column(Integer, default=0)
    r9: Mapped[int] = mapped_column(Integer, default=0)
    r10: Mapped[int] = mapped_column(Integer, default=0)


class SatisfactionDay(_SatisfactionCounts, Base):
    """Surveys of one hall's business day, per counter, staff member, service and wait band (see services.satisfaction).

    ``counter_id`` / ``staff_id`` are 0 when the survey has none (a key column cannot be NULL);
    ``wait_band`` is the index in ``services.satisfaction.WAIT_BANDS``, -1 when the wait is unknown.
    """

    __tablename__ = "satisfaction_days"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wait_band: Mapped[int] = mapped_column(Integer, primary_key=True)


class SatisfactionHallDay(_SatisfactionCounts, Base):
    """The same counts per hall and business day only: what the head-office report reads."""

    __tablename__ = "satisfaction_hall_days"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class ReportFile(Base):
    """A satisfaction report made by the scheduler (``satisfaction_reports``) and kept for download.

    One file per kind, hall and period: a rerun replaces it. ``hall_id`` is NULL for the head-office
    reports, and NULLs never collide in a unique constraint (PostgreSQL, SQLite), so
    ``services.report_files`` replaces those rows explicitly (delete then insert, in one transaction
    under a lock on PostgreSQL).
    """

    __tablename__ = "report_files"
    __table_args__ = (
        UniqueConstraint("kind", "hall_id", "period_first", name="uq_report_files_kind_hall_period"),
        Index("ix_report_files_hall_period", "hall_id", "period_first"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # head_office_month | head_office_day | hall_month | hall_day
    hall_id: Mapped[int | None] = mapped_column(ForeignKey("halls.id"), nullable=True)
    period_kind: Mapped[str] = mapped_column(String(8))  # day | month
    period_first: Mapped[date] = mapped_column(Date)
    period_last: Mapped[date] = mapped_column(Date)
    format: Mapped[str] = mapped_column(String(8))  # xlsx
    file_name: Mapped[str] = mapped_column(Unicode(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # services.report_mail
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_error: Mapped[str | None] = mapped_column(String(400), nullable=True)


class AuditEntry(Base):
    """One change of configuration: who, when, what, before and after (services.audit). Append-only:
    the database refuses UPDATE and DELETE on this table (triggers, migration 0009)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_hall", "hall_id", "id"),
        Index("ix_audit_entries_entity", "entity", "entity_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(String(16))  # staff | device | system
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # no foreign key: the trail outlives rows
    actor_name: Mapped[str] = mapped_column(Unicode(100))
    action: Mapped[str] = mapped_column(String(16))  # create | update
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    hall_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    changed: Mapped[list] = mapped_column(JSON)
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON, nullable=True)


# --------------------------------------------------------------------------- service-level roll-ups


def _kpi_counts() -> list[Column]:
    """The additive counts of ``domain.kpi.Counts``: outcomes, waits and handle times, and their histograms."""
    from ..domain.kpi import ROW_COLUMNS

    return [
        Column(name, BigInteger if name.endswith("_sum_s") else Integer, nullable=False, default=0)
        for name in ROW_COLUMNS
    ]


# Tickets of one hall's business day by the local hour they were taken, service, counter and staff
# member who served them last (0: none), customer tier and the channel they were taken through
# (model.Channel; see services.service_levels).
kpi_days = Table(
    "kpi_days",
    Base.metadata,
    Column("hall_id", ForeignKey("halls.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("hour", Integer, primary_key=True),
    Column("service_id", Integer, primary_key=True),
    Column("counter_id", Integer, primary_key=True),
    Column("staff_id", Integer, primary_key=True),
    Column("tier", String(16), primary_key=True),
    Column("channel", String(12), primary_key=True, server_default="kiosk"),
    *_kpi_counts(),
)

# The same per hall and business day, with the day's busy hour (most tickets taken) and its waits:
# what the head-office report reads.
kpi_hall_days = Table(
    "kpi_hall_days",
    Base.metadata,
    Column("hall_id", ForeignKey("halls.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    *_kpi_counts(),
    Column("busy_hour", Integer, nullable=True),
    Column("busy_arrivals", Integer, nullable=False, default=0),
    Column("busy_waited", Integer, nullable=False, default=0),
    Column("busy_wait_sum_s", BigInteger, nullable=False, default=0),
    Index("ix_kpi_hall_days_day", "day"),  # head office's month: every hall, a month of days
)
