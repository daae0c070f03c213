"""Post-service SMS surveys (满意度短信): create, send, read replies, follow up, forget numbers.

The rules (scales, templates, reply parsing, timing, the case clock) are in
``domain.survey``; the gateways behind one port in ``app.sms``. This module stores what
they decide, one transaction per step:

- ``survey_after_finish``: ``ServiceFinished``'s durable handler (``app.event_handlers``, run
  through the outbox): the finished ticket, if it has a mobile number and no survey yet, gets
  one (``create_surveys``; ``skipped`` if the number opted out or the hall's surveys are off),
  to be sent after the hall's delay and outside its quiet hours; the ticket's plain number is
  then cleared, the survey holds it protected (``services.protect``).
- ``send_due``: each due survey is claimed by a conditional UPDATE (scheduled → sending),
  sent through the gateway outside any transaction, then marked sent, retried with a
  backoff, or failed. A survey left in ``sending`` (a crash mid-send) is never resent: after
  ``SENDING_TIMEOUT`` it is failed as "outcome unknown". Never twice beats always once.
- ``handle_reply``: every inbound message is kept with its outcome; the first rating of the
  latest survey sent to that number within its expiry counts; STOP / TD / 退订 opts out; a
  low rating or a complaint opens one follow-up case per survey.
- ``purge_numbers``: after SMS_RETENTION_DAYS the protected numbers go; scores stay.

The jobs run in the scheduler (``deliver_events`` every 15 seconds, ``dispatch_surveys`` every
minute, ``purge_sms_numbers`` nightly), never in the counter's request.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import String, cast, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ..bootstrap import Runtime
from ..domain import events as ev
from ..domain.errors import Conflict, Invalid, NotFound
from ..domain.hours import parse_zone
from ..domain.model import Action, Role, TicketState
from ..domain.survey import (
    EMPTY,
    OPT_OUT,
    RATING,
    BadMsisdn,
    FollowUpClock,
    SurveySettings,
    SurveyVisit,
    follow_up_reason,
    parse_reply,
    render_survey_sms,
    reply_in_window,
    survey_send_at,
)
from ..sms.gateway import DeliveryReport, DeliveryStatus, GatewayError, InboundSms, OutgoingSms, SmsGateway
from ..storage.orm import (
    Counter,
    FollowUpCase,
    Hall,
    MobileCode,
    ServiceType,
    SmsOptOut,
    SmsOutboxMessage,
    Staff,
    Survey,
    SurveyReply,
    Ticket,
    TicketEvent,
    must_get,
    rows_changed,
)
from . import mobiles, queue, satisfaction
from .config import _get
from .protect import NumberVault, instance_key

log = logging.getLogger(__name__)

# survey states
SCHEDULED, SENDING, SENT, FAILED, SKIPPED = "scheduled", "sending", "sent", "failed", "skipped"
# reply outcomes
COUNTED, DUPLICATE, LATE, UNMATCHED, OPTED_OUT, COMMENTED, EMPTIED = (
    "counted",
    "duplicate",
    "late",
    "unmatched",
    "opt_out",
    "comment",
    "empty",
)
OUTCOMES = (COUNTED, DUPLICATE, LATE, UNMATCHED, OPTED_OUT, COMMENTED, EMPTIED)

CREATE_WITHIN = timedelta(days=1)  # a ticket finished longer ago gets no survey (the scheduler was down)
TOO_LATE = timedelta(days=1)  # nor is a survey sent this long after the service (quiet hours + outage)
SENDING_TIMEOUT = timedelta(minutes=15)
BACKOFF_MINUTES = (1, 5, 15, 60, 240)  # after the 1st, 2nd, ... failed attempt
TICKET_MOBILE_KEPT = timedelta(days=2)  # a ticket's plain number is useless once its survey window is past
BATCH = 200


# --------------------------------------------------------------------------- wiring


@dataclass
class SmsSetup:
    """The gateway in use, the key protecting numbers, and the sending limits."""

    gateway: SmsGateway
    vault: NumberVault
    max_attempts: int = 5
    retention_days: int = 180


def configure(rt: Runtime, config: Mapping, instance: Path) -> SmsSetup:
    """Build the SMS setup from the app's settings (SMS_*; see the README) and keep it on the runtime."""
    vault = NumberVault(config.get("SMS_DATA_KEY") or instance_key(instance))
    sms = SmsSetup(
        gateway=build_gateway(rt, config, vault),
        vault=vault,
        max_attempts=max(int(config.get("SURVEY_MAX_ATTEMPTS") or 5), 1),
        retention_days=int(config.get("SMS_RETENTION_DAYS") or 180),
    )
    rt.settings["sms"] = sms
    return sms


def build_gateway(rt: Runtime, config: Mapping, vault: NumberVault) -> SmsGateway:
    """The gateway SMS_GATEWAY names; its callback URLs are under SMS_PUBLIC_URL."""
    name = (config.get("SMS_GATEWAY") or "outbox").lower()
    public = (config.get("SMS_PUBLIC_URL") or "").rstrip("/")
    if name == "outbox":
        from ..sms.outbox import OutboxGateway

        return OutboxGateway(rt, vault)
    if name == "kannel":
        from ..sms.kannel import KannelGateway

        if not public:
            raise ValueError("SMS_GATEWAY=kannel needs SMS_PUBLIC_URL (where Kannel reaches this server)")
        return KannelGateway(
            {
                "url": config.get("SMS_KANNEL_URL"),
                "username": config.get("SMS_KANNEL_USERNAME"),
                "password": config.get("SMS_KANNEL_PASSWORD"),
                "sender": config.get("SMS_KANNEL_SENDER"),
                "secret": config.get("SMS_KANNEL_SECRET"),
                "allowed_ips": config.get("SMS_KANNEL_ALLOWED_IPS") or (),
                "inbound_url": f"{public}/sms/kannel/inbound",
                "dlr_url": f"{public}/sms/kannel/dlr",
            }
        )
    if name == "twilio":
        from ..sms.twilio_gateway import TwilioGateway

        settings = {
            "account_sid": config.get("SMS_TWILIO_ACCOUNT_SID"),
            "auth_token": config.get("SMS_TWILIO_AUTH_TOKEN"),
            "sender": config.get("SMS_TWILIO_SENDER"),
        }
        if public:
            settings.update(status_callback_url=f"{public}/sms/twilio/status", webhook_base_url=public)
        return TwilioGateway(settings)
    raise ValueError(f"SMS_GATEWAY must be outbox, kannel or twilio, not {name!r}")


def setup(rt: Runtime) -> SmsSetup:
    sms = rt.settings.get("sms")
    if sms is None:
        raise RuntimeError("SMS surveys are not configured: create_app calls surveys.configure")
    return sms


def gateway_named(rt: Runtime, name: str) -> SmsGateway:
    """The gateway in use if it is ``name``; a callback for another gateway is 404."""
    gateway = setup(rt).gateway
    if gateway.name != name:
        raise NotFound(f"the {name} gateway is not in use here (SMS_GATEWAY={gateway.name})", field="gateway")
    return gateway


# --------------------------------------------------------------------------- creating surveys


def dispatch(rt: Runtime) -> dict:
    """The scheduler's minute: give up on lost sends, send due ones (the surveys themselves are
    made as the tickets finish: ``survey_after_finish``)."""
    lost = fail_lost_sends(rt)
    sent = send_due(rt)
    return {"lost": lost, **sent}


def survey_may_follow(evt: ev.ServiceFinished) -> bool:
    """Whether a survey can follow this finish at all: only a customer who gave a mobile number is
    asked (a finish without one writes no outbox row)."""
    return evt.has_mobile


def survey_after_finish(rt: Runtime, evt: ev.ServiceFinished) -> dict:
    """``ServiceFinished``'s durable handler, run through the outbox after the finish committed:
    the ticket's survey, by the rules ``create_surveys`` applies. Idempotent: a ticket that has its
    survey (or no longer its number) gets none, and ``surveys.ticket_id`` is unique."""
    if not survey_may_follow(evt):
        return {"created": 0, "skipped": 0}
    return create_surveys(rt, ticket_id=evt.ticket_id)


def create_surveys(rt: Runtime, limit: int = BATCH, ticket_id: int | None = None) -> dict:
    """A survey for each ticket finished within the last day that has a mobile number and none yet
    (``ticket_id``: that ticket only)."""
    sms = setup(rt)
    with rt.uow() as tx:
        s, now = tx.session, rt.now()
        query = (
            select(Ticket)
            .outerjoin(Survey, Survey.ticket_id == Ticket.id)
            .where(
                Ticket.mobile.is_not(None),
                Ticket.closed_at >= now - CREATE_WITHIN,
                Ticket.state == TicketState.FINISHED.value,
                Survey.id.is_(None),
            )
            .order_by(Ticket.closed_at)
            .limit(limit)
        )
        if ticket_id is not None:
            query = query.where(Ticket.id == ticket_id)
        tickets = s.execute(query).scalars().all()
        made = {SCHEDULED: 0, SKIPPED: 0}
        halls: dict[int, tuple[Hall, SurveySettings]] = {}
        for ticket in tickets:
            if ticket.hall_id not in halls:
                hall = must_get(s, Hall, ticket.hall_id)
                halls[hall.id] = (hall, SurveySettings.from_dict(hall.survey))
            values = _new_survey(s, sms.vault, ticket, *halls[ticket.hall_id], now)
            if _insert_ignoring_duplicate(s, tx.dialect, Survey, values, ["ticket_id"]):
                made[values["state"]] += 1
            # the survey holds the number now (protected); the ticket's plain copy goes
            s.execute(
                update(Ticket)
                .where(Ticket.id == ticket.id)
                .values(mobile=None)
                .execution_options(synchronize_session=False)
            )
        tx.commit()
    return {"created": made[SCHEDULED], "skipped": made[SKIPPED]}


def _new_survey(s, vault: NumberVault, ticket: Ticket, hall: Hall, settings: SurveySettings, now: datetime) -> dict:
    counter_id, staff_id = _served_by(s, ticket)
    counter = s.get(Counter, counter_id) if counter_id else None
    staff = s.get(Staff, staff_id) if staff_id else None
    service = s.get(ServiceType, ticket.service_id)
    visit = SurveyVisit(
        hall=hall.name_zh,
        service=service.name_zh,
        counter=str(counter.number) if counter else "",
        staff_name=staff.name if staff else "",
        staff_no=staff.staff_number if staff else "",
        hall_en=hall.name_en or None,
        service_en=service.name_en or None,
    )
    state, error, number = SCHEDULED, None, None
    try:
        number = vault.protect(mobiles.msisdn(ticket.mobile))
    except BadMsisdn as exc:
        state, error = SKIPPED, f"unreadable number: {exc.message}"[:400]
    if number is not None and s.get(SmsOptOut, number.key) is not None:
        state, error = SKIPPED, "the number opted out"
    elif state == SCHEDULED and not settings.enabled:
        state, error = SKIPPED, "surveys are off at this hall"
    send_at = survey_send_at(ticket.closed_at or now, settings.delay, settings.quiet_hours, parse_zone(hall.timezone))
    wait_s = queue.waited_s(ticket, ticket.called_at) if ticket.called_at else None
    scale = settings.to_dict()
    return {
        "ticket_id": ticket.id,
        "hall_id": hall.id,
        "service_id": ticket.service_id,
        "counter_id": counter_id,
        "staff_id": staff_id,
        "business_day": ticket.business_day,
        "finished_at": ticket.closed_at,
        "wait_s": wait_s,
        "number_cipher": number.cipher if number else None,
        "number_key": number.key if number else None,
        "number_masked": number.masked if number else "****",
        "state": state,
        "send_at": send_at,
        "attempts": 0,
        "last_error": error,
        "reference": "sv" + secrets.token_hex(8),
        "text": render_survey_sms(settings, visit),
        "scale_name": settings.scale.name,
        "scale": {k: scale[k] for k in ("scale", "satisfied", "follow_up")},
        "created_at": now,
    }


def _served_by(s, ticket: Ticket) -> tuple[int | None, int | None]:
    """The counter and staff member that finished the ticket (the ticket itself forgets its counter)."""
    row = s.execute(
        select(TicketEvent.counter_id, TicketEvent.staff_id)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == Action.FINISH.value)
        .order_by(TicketEvent.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, ticket.staff_id
    return row.counter_id, row.staff_id or ticket.staff_id


def _insert_ignoring_duplicate(s, dialect: str, model, values: dict, unique: list[str]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: True if this call inserted the row (two schedulers, one survey)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    key = next(iter(model.__table__.primary_key))
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=unique).returning(key)
    return s.execute(statement).first() is not None  # (rowcount is not reliable here through the ORM)


# --------------------------------------------------------------------------- sending


def fail_lost_sends(rt: Runtime) -> int:
    """Surveys stuck in ``sending`` (the process died mid-send): failed, not resent; the SMS may have gone."""
    with rt.uow() as tx:
        now = rt.now()
        result = tx.session.execute(
            update(Survey)
            .where(Survey.state == SENDING, Survey.claimed_at < now - SENDING_TIMEOUT)
            .values(state=FAILED, last_error="outcome unknown: the sender stopped while sending; not resent")
            .execution_options(synchronize_session=False)
        )
        tx.commit()
    if rows_changed(result):
        log.warning("%d survey(s) left in 'sending' marked failed (outcome unknown)", rows_changed(result))
    return rows_changed(result)


def send_due(rt: Runtime, limit: int = BATCH) -> dict:
    """Send every survey whose time has come; returns counts per outcome."""
    with rt.reader() as tx:
        ids = (
            tx.session.execute(
                select(Survey.id)
                .where(Survey.state == SCHEDULED, Survey.send_at <= rt.now())
                .order_by(Survey.send_at)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    counts = {"sent": 0, "retrying": 0, "failed": 0, "not_sent": 0}
    for survey_id in ids:
        try:
            outcome = send_one(rt, survey_id)
        except Exception:
            log.exception("sending survey %s failed", survey_id)
            continue
        if outcome is not None:
            counts[outcome] += 1
    return counts


def send_one(rt: Runtime, survey_id: int) -> str | None:
    """Claim, send, record. None if another sender claimed it first."""
    sms = setup(rt)
    message = _claim(rt, sms, survey_id)
    if not isinstance(message, OutgoingSms):
        return message
    try:
        result = sms.gateway.send(message)
    except GatewayError as exc:
        return _record_failure(rt, sms, survey_id, exc.message, exc.retryable)
    except Exception as exc:
        log.exception("sending survey %s through %s failed unexpectedly", survey_id, sms.gateway.name)
        return _record_failure(rt, sms, survey_id, f"{type(exc).__name__}: {exc}", True)
    if not result.accepted:
        return _record_failure(rt, sms, survey_id, f"not accepted: {result.detail}", False)
    return _record_sent(rt, survey_id, result.gateway_id)


def _claim(rt: Runtime, sms: SmsSetup, survey_id: int) -> OutgoingSms | str | None:
    """scheduled → sending as a compare-and-set; the opt-out list is checked again now."""
    with rt.uow() as tx:
        s, now = tx.session, rt.now()
        claimed = s.execute(
            update(Survey)
            .where(Survey.id == survey_id, Survey.state == SCHEDULED, Survey.send_at <= now)
            .values(state=SENDING, attempts=Survey.attempts + 1, claimed_at=now, gateway=sms.gateway.name)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(claimed) != 1:
            return None
        survey = must_get(s, Survey, survey_id)
        reason = None
        if survey.number_key and s.get(SmsOptOut, survey.number_key) is not None:
            reason = "the number opted out"
        elif now - survey.finished_at > TOO_LATE:
            reason = "too late to ask: the service was over a day ago"
        elif survey.number_cipher is None:
            reason = "the number was deleted (retention)"
        if reason:
            survey.state, survey.last_error = SKIPPED, reason
            tx.commit()
            return "not_sent"
        try:
            message = OutgoingSms(
                to=sms.vault.reveal(survey.number_cipher or ""), text=survey.text, reference=survey.reference
            )
        except ValueError as exc:  # SMS_DATA_KEY changed: this one can never go; the others still may
            survey.state, survey.last_error = FAILED, str(exc)[:400]
            tx.commit()
            return "failed"
        tx.commit()
        return message


def _record_sent(rt: Runtime, survey_id: int, gateway_id: str | None) -> str:
    with rt.uow() as tx:
        s, now = tx.session, rt.now()
        survey = must_get(s, Survey, survey_id)
        settings = SurveySettings.from_dict(must_get(s, Hall, survey.hall_id).survey)
        marked = s.execute(
            update(Survey)
            .where(Survey.id == survey_id, Survey.state == SENDING)
            .values(
                state=SENT, sent_at=now, gateway_id=gateway_id, last_error=None, expires_at=now + settings.reply_expiry
            )
            .execution_options(synchronize_session=False)
        )
        if rows_changed(marked) == 1:
            satisfaction.count_sent(s, tx.dialect, survey)  # the report roll-ups, in this transaction
        tx.commit()
    return "sent"


def _record_failure(rt: Runtime, sms: SmsSetup, survey_id: int, error: str, retryable: bool) -> str:
    with rt.uow() as tx:
        s, now = tx.session, rt.now()
        survey = must_get(s, Survey, survey_id)
        if retryable and survey.attempts < sms.max_attempts:
            hall = must_get(s, Hall, survey.hall_id)
            settings = SurveySettings.from_dict(hall.survey)
            backoff = timedelta(minutes=BACKOFF_MINUTES[min(survey.attempts, len(BACKOFF_MINUTES)) - 1])
            values = {
                "state": SCHEDULED,
                "send_at": survey_send_at(now, backoff, settings.quiet_hours, parse_zone(hall.timezone)),
            }
            outcome = "retrying"
        else:
            values, outcome = {"state": FAILED}, "failed"
        s.execute(
            update(Survey)
            .where(Survey.id == survey_id, Survey.state == SENDING)
            .values(last_error=error[:400], **values)
            .execution_options(synchronize_session=False)
        )
        tx.commit()
    log.warning("survey %s: %s (%s, attempt %d)", survey_id, error, outcome, survey.attempts)
    return outcome


# --------------------------------------------------------------------------- replies


def handle_reply(rt: Runtime, inbound: InboundSms, gateway: str) -> dict:
    """Keep a customer's message and act on it: rate, comment, opt out; open a follow-up case if unhappy.

    ``inbound`` is authenticated by the gateway's adapter. The time that counts is ours (when
    it reached us), as the surveys' send times are. A message the gateway delivers twice (the
    same ``inbound.key``: what identifies it at the gateway) is stored once; the second call
    returns the first's outcome.
    """
    sms = setup(rt)
    number = sms.vault.protect(inbound.sender)
    try:
        with rt.uow() as tx:
            s, now = tx.session, rt.now()
            if inbound.key:
                known = _known_reply(s, gateway, inbound.key)
                if known is not None:
                    return reply_view(known)
            row = _file_reply(s, number, inbound, gateway, now, tx)
            tx.commit()
            return reply_view(row)
    except IntegrityError:  # the same message delivered twice at once: the other call stored it
        with rt.reader() as tx:
            known = _known_reply(tx.session, gateway, inbound.key)
            if known is None:
                raise
            return reply_view(known)


def _known_reply(s, gateway: str, gateway_id: str | None) -> SurveyReply | None:
    return s.execute(
        select(SurveyReply).where(SurveyReply.gateway == gateway, SurveyReply.gateway_message_id == gateway_id)
    ).scalar_one_or_none()


def _file_reply(s, number, inbound: InboundSms, gateway: str, now: datetime, tx) -> SurveyReply:
    """Store the reply with its outcome, and apply it: opt out, rate or comment, open a case."""
    sent = (
        s.execute(
            select(Survey)
            .where(Survey.number_key == number.key, Survey.state == SENT, Survey.sent_at <= now)
            .order_by(Survey.sent_at.desc())
            .limit(20)
        )
        .scalars()
        .all()
    )
    # the latest survey sent to this number whose reply window is open (domain.survey.pick_survey's rule)
    survey = next((x for x in sent if reply_in_window(x.sent_at, now, x.expires_at - x.sent_at)), None)
    reply = parse_reply(inbound.text, _scale_of(survey or (sent[0] if sent else None)))
    hall_id = survey.hall_id if survey else sent[0].hall_id if sent else _last_hall_of(s, number.key)
    row = SurveyReply(
        received_at=now,
        number_cipher=number.cipher,
        number_key=number.key,
        number_masked=number.masked,
        text=inbound.text,
        kind=reply.kind,
        score=reply.score,
        comment=reply.comment,
        gateway=gateway,
        gateway_message_id=inbound.key,
        hall_id=hall_id,
        survey_id=survey.id if survey else (sent[0].id if sent else None),
    )
    row.outcome = _outcome(reply, survey, bool(sent))
    if (
        row.outcome == COUNTED
        and survey is not None
        and reply.score is not None
        and not _claim_rating(s, survey, reply.score, now)
    ):
        row.outcome = DUPLICATE  # another reply of this number counted first, at the same moment
    s.add(row)
    s.flush()
    if row.outcome == OPTED_OUT:
        _insert_ignoring_duplicate(
            s,
            tx.dialect,
            SmsOptOut,
            {
                "number_key": number.key,
                "number_cipher": number.cipher,
                "number_masked": number.masked,
                "opted_out_at": now,
                "reply_id": row.id,
            },
            ["number_key"],
        )
    elif survey is not None:  # counted or commented: about this survey (see _outcome)
        _apply_to_survey(s, tx, survey, row, reply, now)
    return row


def _apply_to_survey(s, tx, survey: Survey, row: SurveyReply, reply, now: datetime) -> None:
    if row.outcome == COUNTED and reply.score is not None:
        survey.comment = survey.comment or reply.comment
        satisfaction.count_rating(s, tx.dialect, survey, reply.score)  # the report roll-ups, in this transaction
        tx.record(
            ev.SurveyRated(
                hall_id=survey.hall_id,
                survey_id=survey.id,
                score=reply.score,
                satisfied=bool(survey.satisfied),
                staff_id=survey.staff_id,
                counter_id=survey.counter_id,
            )
        )
    elif row.outcome == COMMENTED and survey.comment is None:
        survey.comment = reply.comment
    if row.outcome in (COUNTED, COMMENTED):
        reason = follow_up_reason(reply, _scale_of(survey))
        if reason:
            _open_case(s, survey, row, reason, now, tx)


def _claim_rating(s, survey: Survey, score: int, now: datetime) -> bool:
    """Set the survey's rating if it has none yet: one conditional UPDATE, so of two replies
    arriving together exactly one counts (PostgreSQL re-checks ``score IS NULL`` after the
    other's commit; SQLite runs one writer at a time). The session's object is updated too."""
    satisfied = score in _scale_of(survey).satisfied_values
    won = rows_changed(
        s.execute(
            update(Survey)
            .where(Survey.id == survey.id, Survey.score.is_(None))
            .values(score=score, rated_at=now, satisfied=satisfied)
            .execution_options(synchronize_session="fetch")
        )
    )
    if not won:
        s.refresh(survey)
    return bool(won)


def _outcome(reply, survey: Survey | None, had_sent: bool) -> str:
    if reply.kind == OPT_OUT:
        return OPTED_OUT
    if reply.kind == EMPTY:
        return EMPTIED
    if survey is None:
        return LATE if had_sent else UNMATCHED
    if reply.kind == RATING:
        return COUNTED if survey.score is None else DUPLICATE
    return COMMENTED


def _scale_of(survey: Survey | None):
    """The scale a survey was sent with (a hall may change its scale later); the default without one."""
    return SurveySettings.from_dict(survey.scale if survey else {}).scale


def _last_hall_of(s, number_key: str) -> int | None:
    """For a reply matching no sent survey: the hall of that number's latest survey of any state, if any."""
    return s.execute(
        select(Survey.hall_id).where(Survey.number_key == number_key).order_by(Survey.id.desc()).limit(1)
    ).scalar()


def _open_case(s, survey: Survey, reply: SurveyReply, reason: str, now: datetime, tx) -> FollowUpCase | None:
    """One follow-up case per survey, assigned to the hall's (first active) manager."""
    if s.execute(select(FollowUpCase.id).where(FollowUpCase.survey_id == survey.id)).first() is not None:
        return None
    settings = SurveySettings.from_dict(s.get(Hall, survey.hall_id).survey)
    manager = s.execute(
        select(Staff.id)
        .where(Staff.hall_id == survey.hall_id, Staff.role == Role.HALL_MANAGER.value, Staff.active.is_(True))
        .order_by(Staff.id)
        .limit(1)
    ).scalar()
    clock = FollowUpClock.opened(now, settings.follow_up_within)
    case = FollowUpCase(
        survey_id=survey.id,
        hall_id=survey.hall_id,
        reply_id=reply.id,
        reason=reason,
        opened_at=clock.opened_at,
        due_at=clock.due_at,
        assigned_to=manager,
        state="open",
    )
    s.add(case)
    s.flush()
    tx.record(
        ev.FollowUpOpened(
            hall_id=case.hall_id,
            case_id=case.id,
            survey_id=survey.id,
            reason=reason,
            due_at=case.due_at.isoformat(),
            assigned_to=manager,
        )
    )
    return case


def record_delivery(rt: Runtime, report: DeliveryReport, gateway: str) -> dict:
    """A delivery report: the survey's delivery status, found by our reference (else the gateway's id).

    A final status (delivered, failed) is not overwritten by a late intermediate one.
    """
    with rt.uow() as tx:
        s = tx.session
        query = select(Survey)
        if report.reference:
            query = query.where(Survey.reference == report.reference)
        else:
            query = query.where(Survey.gateway == gateway, Survey.gateway_id == report.gateway_id)
        # locked: Kannel sends "accepted" and "delivered" within milliseconds, and the second must see the first
        survey = s.execute(query.with_for_update()).scalar_one_or_none()
        if survey is None:
            log.info("delivery report for an unknown message (%s / %s)", report.reference, report.gateway_id)
            return {"matched": False}
        current = DeliveryStatus(survey.delivery_status) if survey.delivery_status else None
        if current is None or not current.is_final or report.status.is_final:
            survey.delivery_status = report.status.value
            survey.delivery_at = report.reported_at or rt.now()
        if survey.gateway_id is None and report.gateway_id:
            survey.gateway_id = report.gateway_id
        tx.commit()
        return {"matched": True, "survey_id": survey.id, "delivery_status": survey.delivery_status}


# --------------------------------------------------------------------------- follow-up cases

OPEN, CLOSED, OVERDUE = "open", "closed", "overdue"


def list_follow_ups(rt: Runtime, hall_ids: set[int] | None, state: str = OPEN, limit: int = 200) -> list[dict]:
    """Cases of these halls (None: all): ``open`` (incl. overdue), ``overdue`` (no first response by the
    deadline), ``closed`` or ``all``; the most urgent first."""
    if state not in (OPEN, OVERDUE, CLOSED, "all"):
        raise Invalid("state is one of open, overdue, closed, all", field="state")
    with rt.reader() as tx:
        now = rt.now()
        query = select(FollowUpCase, Survey).join(Survey, Survey.id == FollowUpCase.survey_id)
        if hall_ids is not None:
            query = query.where(FollowUpCase.hall_id.in_(hall_ids))
        if state in (OPEN, OVERDUE):
            query = query.where(FollowUpCase.state == OPEN)
        if state == OVERDUE:
            query = query.where(FollowUpCase.first_response_at.is_(None), FollowUpCase.due_at < now)
        if state == CLOSED:
            query = query.where(FollowUpCase.state == CLOSED)
        rows = tx.session.execute(query.order_by(FollowUpCase.due_at, FollowUpCase.id).limit(limit)).all()
        return [case_view(case, survey, now) for case, survey in rows]


def case_hall(rt: Runtime, case_id: int) -> int:
    with rt.reader() as tx:
        return _get(tx.session, FollowUpCase, case_id, "follow_up_id").hall_id


def respond(rt: Runtime, case_id: int, staff_id: int | None) -> dict:
    """The first response to the customer was made (a call, a visit): the deadline is met or missed now."""
    with rt.uow() as tx:
        s, now = tx.session, rt.now()
        case = _get(s, FollowUpCase, case_id, "follow_up_id")
        if case.state == CLOSED:
            raise Conflict("the case is closed", field="follow_up_id")
        if case.first_response_at is not None:
            raise Conflict("the case already has its first response", field="follow_up_id")
        case.first_response_at, case.first_response_by = now, staff_id
        tx.record(ev.FollowUpChanged(hall_id=case.hall_id, case_id=case.id, change="responded"))
        view = case_view(case, must_get(s, Survey, case.survey_id), now)
        tx.commit()
        return view


def close(rt: Runtime, case_id: int, staff_id: int | None, resolution: str) -> dict:
    """Close a case with what was done; closing counts as the first response if none was recorded."""
    if not resolution or not resolution.strip():
        raise Invalid("say what was done for the customer", field="resolution")
    with rt.uow() as tx:
        s, now = tx.session, rt.now()
        case = _get(s, FollowUpCase, case_id, "follow_up_id")
        if case.state == CLOSED:
            raise Conflict("the case is already closed", field="follow_up_id")
        if case.first_response_at is None:
            case.first_response_at, case.first_response_by = now, staff_id
        case.state, case.closed_at, case.closed_by, case.resolution = CLOSED, now, staff_id, resolution.strip()
        tx.record(ev.FollowUpChanged(hall_id=case.hall_id, case_id=case.id, change="closed"))
        view = case_view(case, must_get(s, Survey, case.survey_id), now)
        tx.commit()
        return view


def case_view(case: FollowUpCase, survey: Survey, now: datetime) -> dict:
    clock = FollowUpClock(case.opened_at, case.due_at)
    return {
        "id": case.id,
        "hall_id": case.hall_id,
        "survey_id": case.survey_id,
        "reason": case.reason,
        "opened_at": case.opened_at.isoformat(),
        "due_at": case.due_at.isoformat(),
        "assigned_to": case.assigned_to,
        "state": case.state,
        "clock": clock.state(now, case.first_response_at),
        "overdue": clock.is_overdue(now, case.first_response_at),
        "first_response_at": _iso(case.first_response_at),
        "first_response_by": case.first_response_by,
        "closed_at": _iso(case.closed_at),
        "closed_by": case.closed_by,
        "resolution": case.resolution,
        "mobile": survey.number_masked,
        "score": survey.score,
        "comment": survey.comment,
        "staff_id": survey.staff_id,
        "counter_id": survey.counter_id,
        "service_id": survey.service_id,
        "finished_at": survey.finished_at.isoformat(),
    }


# --------------------------------------------------------------------------- lists for staff


def _read_page(
    s, query, id_column, at_column, limit: int, before: int | None, since, until, scalars: bool = True
) -> tuple[list, int | None]:
    """Latest first from ``before`` (the previous page's last id), within [since, until): the page
    of ``limit`` rows and the cursor of the next page (None on the last)."""
    if before is not None:
        query = query.where(id_column < before)
    if since is not None:
        query = query.where(at_column >= since)
    if until is not None:
        query = query.where(at_column < until)
    result = s.execute(query.order_by(id_column.desc()).limit(limit + 1))
    rows = (result.scalars() if scalars else result).all()
    page = rows[:limit]
    if len(rows) <= limit:
        return page, None
    last = page[-1] if scalars else page[-1][0]  # rows: the listed entity first
    return page, last.id


def list_surveys(
    rt: Runtime,
    hall_id: int,
    limit: int = 100,
    before: int | None = None,
    since=None,
    until=None,
    state: str | None = None,
) -> dict:
    """A hall's surveys, latest first, a page at a time (numbers masked): ``{"surveys", "next_before"}``."""
    with rt.reader() as tx:
        _get(tx.session, Hall, hall_id, "hall_id")
        query = select(Survey).where(Survey.hall_id == hall_id)
        if state is not None:
            query = query.where(Survey.state == state)
        page, after = _read_page(tx.session, query, Survey.id, Survey.finished_at, limit, before, since, until)
        return {"surveys": [survey_view(x) for x in page], "next_before": after}


def get_survey(rt: Runtime, survey_id: int) -> dict:
    with rt.reader() as tx:
        return survey_view(_get(tx.session, Survey, survey_id, "survey_id"))


def survey_hall(rt: Runtime, survey_id: int) -> int:
    with rt.reader() as tx:
        return _get(tx.session, Survey, survey_id, "survey_id").hall_id


def survey_view(x: Survey) -> dict:
    return {
        "id": x.id,
        "ticket_id": x.ticket_id,
        "hall_id": x.hall_id,
        "service_id": x.service_id,
        "counter_id": x.counter_id,
        "staff_id": x.staff_id,
        "business_day": x.business_day.isoformat(),
        "finished_at": x.finished_at.isoformat(),
        "wait_s": x.wait_s,
        "mobile": x.number_masked,
        "state": x.state,
        "send_at": x.send_at.isoformat(),
        "attempts": x.attempts,
        "last_error": x.last_error,
        "sent_at": _iso(x.sent_at),
        "gateway": x.gateway,
        "delivery_status": x.delivery_status,
        "delivery_at": _iso(x.delivery_at),
        "expires_at": _iso(x.expires_at),
        "text": x.text,
        "scale": x.scale_name,
        "score": x.score,
        "satisfied": x.satisfied,
        "comment": x.comment,
        "rated_at": _iso(x.rated_at),
    }


def list_replies(
    rt: Runtime,
    hall_id: int | None,
    outcome: str | None = None,
    limit: int = 100,
    before: int | None = None,
    since=None,
    until=None,
) -> dict:
    """A hall's kept replies, latest first, a page at a time; ``outcome`` filters (e.g. unmatched,
    late). ``hall_id`` None: the replies that reached no hall (from a number no survey was sent
    to): head office's. ``{"replies", "next_before"}``."""
    if outcome is not None and outcome not in OUTCOMES:
        raise Invalid(f"outcome is one of {', '.join(OUTCOMES)}", field="outcome")
    with rt.reader() as tx:
        if hall_id is None:
            query = select(SurveyReply).where(SurveyReply.hall_id.is_(None))
        else:
            _get(tx.session, Hall, hall_id, "hall_id")
            query = select(SurveyReply).where(SurveyReply.hall_id == hall_id)
        if outcome is not None:
            query = query.where(SurveyReply.outcome == outcome)
        page, after = _read_page(
            tx.session, query, SurveyReply.id, SurveyReply.received_at, limit, before, since, until
        )
        return {"replies": [reply_view(r) for r in page], "next_before": after}


def reply_view(r: SurveyReply) -> dict:
    return {
        "id": r.id,
        "survey_id": r.survey_id,
        "hall_id": r.hall_id,
        "received_at": r.received_at.isoformat(),
        "mobile": r.number_masked,
        "text": r.text,
        "kind": r.kind,
        "score": r.score,
        "comment": r.comment,
        "outcome": r.outcome,
        "gateway": r.gateway,
    }


# --------------------------------------------------------------------------- the outbox gateway

# a one-time code's SMS (services.remote) carries the reference "code-<id>": its hall is the code's
_code_reference = literal("code-") + cast(MobileCode.id, String)


def list_outbox(
    rt: Runtime, hall_ids: set[int] | None, limit: int = 100, before: int | None = None, since=None, until=None
) -> dict:
    """What the outbox gateway "sent", latest first, a page at a time, with the survey's hall
    (``hall_ids`` None: every hall): ``{"messages", "next_before"}``."""
    with rt.reader() as tx:
        hall = func.coalesce(Survey.hall_id, MobileCode.hall_id)
        query = (
            select(SmsOutboxMessage, Survey.id, hall)
            .outerjoin(Survey, Survey.reference == SmsOutboxMessage.reference)
            .outerjoin(MobileCode, _code_reference == SmsOutboxMessage.reference)
        )
        if hall_ids is not None:
            query = query.where(hall.in_(hall_ids))
        page, after = _read_page(
            tx.session,
            query,
            SmsOutboxMessage.id,
            SmsOutboxMessage.created_at,
            limit,
            before,
            since,
            until,
            scalars=False,
        )
        return {
            "messages": [
                {
                    "id": m.id,
                    "created_at": m.created_at.isoformat(),
                    "to": m.number_masked,
                    "text": m.text,
                    "reference": m.reference,
                    "survey_id": survey_id,
                    "hall_id": hall_id,
                }
                for m, survey_id, hall_id in page
            ],
            "next_before": after,
        }


def outbox_hall(rt: Runtime, message_id: int) -> int | None:
    with rt.reader() as tx:
        message = _get(tx.session, SmsOutboxMessage, message_id, "to")
        return (
            tx.session.execute(select(Survey.hall_id).where(Survey.reference == message.reference)).scalar()
            or tx.session.execute(select(MobileCode.hall_id).where(_code_reference == message.reference)).scalar()
        )


def reply_from_outbox(rt: Runtime, message_id: int, text: str) -> dict:
    """Answer an outbox message as its customer would: the reply goes through ``handle_reply`` like any other."""
    sms = setup(rt)
    if sms.gateway.name != "outbox":
        raise Conflict(f"the outbox is not the SMS gateway in use (SMS_GATEWAY={sms.gateway.name})", field="to")
    with rt.reader() as tx:
        message = _get(tx.session, SmsOutboxMessage, message_id, "to")
        cipher = message.number_cipher
    if cipher is None:
        raise Conflict("this message's number was deleted (retention)", field="to")
    inbound = InboundSms(sender=sms.vault.reveal(cipher), text=text, received_at=rt.now())
    return handle_reply(rt, inbound, "outbox")


# --------------------------------------------------------------------------- retention


def purge_numbers(rt: Runtime, retention_days: int | None = None) -> dict:
    """Delete protected numbers older than the retention period (cipher and lookup key, and the
    replies' message keys, which a gateway may derive from the number; the masked form, scores and
    comments stay for the reports), and tickets' plain numbers past their survey."""
    days = setup(rt).retention_days if retention_days is None else retention_days
    with rt.uow() as tx:
        s, now = tx.session, rt.now()
        cutoff = now - timedelta(days=days)

        def forget(model, at, **also) -> int:
            return rows_changed(
                s.execute(
                    update(model)
                    .where(at < cutoff, or_(model.number_cipher.is_not(None), model.number_key.is_not(None)))
                    .values(number_cipher=None, number_key=None, **also)
                    .execution_options(synchronize_session=False)
                )
            )

        gone = {
            "surveys": forget(Survey, Survey.finished_at),
            "replies": forget(SurveyReply, SurveyReply.received_at, gateway_message_id=None),
            "outbox": forget(SmsOutboxMessage, SmsOutboxMessage.created_at),
        }
        gone["tickets"] = rows_changed(
            s.execute(
                update(Ticket)
                .where(
                    Ticket.mobile.is_not(None),
                    or_(Ticket.closed_at < now - TICKET_MOBILE_KEPT, Ticket.issued_at < cutoff),
                )
                .values(mobile=None)
                .execution_options(synchronize_session=False)
            )
        )
        tx.commit()
    return gone


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
