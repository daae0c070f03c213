"""Post-service SMS surveys wired into the server, on SQLite and PostgreSQL: the dispatch job,
the outbox, replies and their outcomes, opt-outs, follow-up cases, the gateways' callbacks,
protected numbers and their retention; and one full loop through a real Kannel."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from app import create_app, event_handlers
from app.bootstrap import bootstrap
from app.domain.errors import Conflict
from app.services import config, queue, surveys
from app.sms.gateway import GatewayError, InboundSms, SendResult
from app.storage.orm import FollowUpCase, SmsOptOut, SmsOutboxMessage, Survey, SurveyReply, Ticket

from ..conftest import FAST_HASH
from ..world import World, bearer, build_world, staff_token
from .kannel_harness import KannelLoopback, free_port
from .test_sms_gateways import require_kannel, wait_until

MOBILE = "13800138000"
E164 = "8613800138000"
DATA_KEY = "survey-tests-data-key-0123456789"
API = "/api/v1"


def make_app(rt, **settings):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt,
                       "SMS_DATA_KEY": DATA_KEY, **settings})


@pytest.fixture
def srt(database_url, clock):
    runtime = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def sapp(srt):
    return make_app(srt)


@pytest.fixture
def sclient(sapp):
    return sapp.test_client()


@pytest.fixture
def sworld(srt, sapp) -> World:
    return build_world(srt)


def serve(rt, world: World, mobile: str | None = MOBILE, hall=None, counter: int = 1) -> int:
    """A customer with ``mobile`` takes a ticket, is called at ``counter`` and served, and the finish's
    follow-ups are delivered (the outbox: its survey is made); returns the ticket id."""
    hall = hall or world.one
    prefix = {1: "A", 2: "A", 3: "B"}[counter]
    ticket = queue.issue_ticket(rt, hall.id, hall.services[prefix], mobile=mobile)
    staff = hall.staff[f"s{1 if hall is world.one else 2}"]
    try:
        queue.open_counter(rt, hall.counters[counter], staff)
    except Conflict:
        pass  # already open
    queue.call_next(rt, hall.counters[counter], staff)
    queue.finish_service(rt, hall.counters[counter], staff)
    event_handlers.deliver(rt)
    return ticket["id"]


def rows(rt, model, *where):
    with rt.reader() as tx:
        found = tx.session.execute(select(model).where(*where).order_by(*model.__table__.primary_key)).scalars().all()
        tx.session.expunge_all()  # readable after the transaction ends
        return found


def count(rt, model) -> int:
    with rt.reader() as tx:
        return tx.session.execute(select(func.count()).select_from(model)).scalar_one()


def survey_of(rt, ticket_id: int) -> Survey:
    return rows(rt, Survey, Survey.ticket_id == ticket_id)[0]


def send_now(rt, clock, minutes: int = 5) -> dict:
    """The job runs, then again after the hall's delay (5 minutes by default)."""
    surveys.dispatch(rt)
    clock.advance(minutes=minutes)
    return surveys.dispatch(rt)


def reply(rt, text_: str, sender: str = E164, gateway_id: str | None = None, gateway: str = "outbox") -> dict:
    return surveys.handle_reply(rt, InboundSms(sender, text_, rt.now(), gateway_id), gateway)


def headers(rt, world, who: str) -> dict:
    return bearer(staff_token(rt, world.staff[who]))


# --------------------------------------------------------------------------- dispatch

def test_finishing_a_ticket_with_a_mobile_sends_one_survey_through_the_outbox(srt, sworld, clock):
    ticket_id = serve(srt, sworld)

    first = surveys.dispatch(srt)
    assert count(srt, Survey) == 1 and first["sent"] == 0  # not before the hall's 5-minute delay
    survey = survey_of(srt, ticket_id)
    assert survey.state == "scheduled" and survey.send_at == clock.now + timedelta(minutes=5)
    assert rows(srt, Ticket, Ticket.id == ticket_id)[0].mobile is None  # the survey holds it now, protected

    clock.advance(minutes=5)
    assert surveys.dispatch(srt)["sent"] == 1
    assert surveys.dispatch(srt) == {"lost": 0, "sent": 0, "retrying": 0, "failed": 0, "not_sent": 0}
    assert event_handlers.deliver(srt) == {"delivered": 0, "retrying": 0, "failed": 0, "pruned": 0}
    [message] = rows(srt, SmsOutboxMessage)
    assert "回复1非常满意，2满意，3一般，4不满意" in message.text and "营业厅1" in message.text
    assert message.number_masked == "138****8000"
    survey = survey_of(srt, ticket_id)
    assert (survey.state, survey.attempts, survey.gateway, survey.gateway_id) == ("sent", 1, "outbox",
                                                                                  f"outbox-{message.id}")
    assert survey.expires_at == survey.sent_at + timedelta(hours=48)
    assert (survey.hall_id, survey.counter_id, survey.staff_id) == (sworld.one.id, sworld.one.counters[1],
                                                                     sworld.one.staff["s1"])
    assert survey.wait_s == 0 and survey.business_day.isoformat() == "2026-11-23"


def test_a_ticket_without_a_mobile_or_not_served_gets_no_survey(srt, sworld, clock):
    serve(srt, sworld, mobile=None)
    waiting = queue.issue_ticket(srt, sworld.one.id, sworld.one.services["A"], mobile="13900139000")
    send_now(srt, clock)
    assert count(srt, Survey) == 0 and count(srt, SmsOutboxMessage) == 0
    assert rows(srt, Ticket, Ticket.id == waiting["id"])[0].mobile == "13900139000"  # still needed later


def test_running_dispatch_again_and_from_two_schedulers_at_once_still_sends_one_sms(srt, sworld, clock,
                                                                                   database_url, tmp_path):
    for _ in range(3):
        serve(srt, sworld)
    other = bootstrap(database_url, clock=clock)  # a second scheduler process: its own engine and lock
    surveys.configure(other, {"SMS_DATA_KEY": DATA_KEY}, tmp_path)
    try:
        start = threading.Barrier(4)
        errors = []

        def run(rt):
            try:
                start.wait()
                for _ in range(3):
                    surveys.dispatch(rt)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        surveys.dispatch(srt)
        clock.advance(minutes=5)
        threads = [threading.Thread(target=run, args=(rt,)) for rt in (srt, srt, other, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
    finally:
        other.engine.dispose()
    assert count(srt, Survey) == 3
    assert count(srt, SmsOutboxMessage) == 3  # one SMS per ticket, not one per scheduler
    assert {(x.state, x.attempts) for x in rows(srt, Survey)} == {("sent", 1)}


def test_a_service_finished_in_quiet_hours_is_surveyed_when_they_end(srt, sworld, clock):
    clock.now = datetime(2026, 11, 23, 12, 58, tzinfo=timezone.utc)  # 20:58 in Shanghai
    ticket_id = serve(srt, sworld)
    surveys.dispatch(srt)
    eight_am = datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc)  # 08:00 the next morning, local
    assert survey_of(srt, ticket_id).send_at == eight_am
    clock.now = eight_am - timedelta(minutes=1)
    assert surveys.dispatch(srt)["sent"] == 0
    clock.now = eight_am
    assert surveys.dispatch(srt)["sent"] == 1


def test_a_hall_with_surveys_off_skips_them_and_says_why(srt, sworld, clock):
    config.update_hall(srt, sworld.one.id, {"survey": {"enabled": False}})
    ticket_id = serve(srt, sworld)
    send_now(srt, clock)
    survey = survey_of(srt, ticket_id)
    assert (survey.state, survey.last_error) == ("skipped", "surveys are off at this hall")
    assert count(srt, SmsOutboxMessage) == 0


class FlakyGateway:
    """A gateway that fails as told, then accepts."""

    name = "flaky"

    def __init__(self, failures: list[Exception | SendResult]):
        self.failures = failures
        self.sent = []

    def send(self, message):
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, SendResult):
                return failure
            raise failure
        self.sent.append(message)
        return SendResult("gw-1", True, "queued")


def test_a_retryable_gateway_failure_is_retried_with_a_backoff_then_sent(srt, sworld, clock):
    gateway = FlakyGateway([GatewayError("flaky", "timeout", retryable=True)] * 2)
    surveys.setup(srt).gateway = gateway
    ticket_id = serve(srt, sworld)
    assert send_now(srt, clock)["retrying"] == 1
    survey = survey_of(srt, ticket_id)
    assert (survey.state, survey.attempts, survey.last_error) == ("scheduled", 1, "timeout")
    assert survey.send_at == clock.now + timedelta(minutes=1)
    clock.advance(minutes=1)
    assert surveys.dispatch(srt)["retrying"] == 1
    assert survey_of(srt, ticket_id).send_at == clock.now + timedelta(minutes=5)
    clock.advance(minutes=5)
    assert surveys.dispatch(srt)["sent"] == 1
    assert len(gateway.sent) == 1 and gateway.sent[0].to == E164
    assert (survey_of(srt, ticket_id).state, survey_of(srt, ticket_id).attempts) == ("sent", 3)


def test_a_survey_fails_after_the_last_attempt_or_at_once_on_a_permanent_error(srt, sworld, clock):
    srt.settings["sms"].max_attempts = 2
    surveys.setup(srt).gateway = FlakyGateway([GatewayError("flaky", "down", retryable=True)] * 2
                                              + [GatewayError("flaky", "credentials refused", retryable=False),
                                                 SendResult(None, False, "invalid number")])
    first = serve(srt, sworld)
    send_now(srt, clock)
    clock.advance(minutes=1)
    surveys.dispatch(srt)
    assert (survey_of(srt, first).state, survey_of(srt, first).attempts) == ("failed", 2)
    second, third = serve(srt, sworld), serve(srt, sworld)
    send_now(srt, clock)
    assert {survey_of(srt, t).last_error for t in (second, third)} == {"credentials refused",
                                                                       "not accepted: invalid number"}
    assert {survey_of(srt, t).state for t in (second, third)} == {"failed"}


def test_a_survey_left_sending_by_a_crash_is_never_resent(srt, sworld, clock):
    ticket_id = serve(srt, sworld)
    surveys.dispatch(srt)
    clock.advance(minutes=5)
    with srt.uow() as tx:  # the sender claimed it and died before recording the outcome
        tx.session.execute(text("UPDATE surveys SET state = 'sending', attempts = 1, claimed_at = send_at"))
        tx.commit()
    clock.advance(minutes=14)
    assert surveys.dispatch(srt)["lost"] == 0
    clock.advance(minutes=2)
    assert surveys.dispatch(srt)["lost"] == 1
    survey = survey_of(srt, ticket_id)
    assert survey.state == "failed" and survey.last_error.startswith("outcome unknown")
    clock.advance(hours=1)
    surveys.dispatch(srt)
    assert count(srt, SmsOutboxMessage) == 0


# --------------------------------------------------------------------------- replies

def test_the_first_rating_counts_and_a_second_is_kept_as_a_duplicate(srt, sworld, clock):
    ticket_id = serve(srt, sworld)
    send_now(srt, clock)
    clock.advance(minutes=3)
    first = reply(srt, "１ 服务很好")
    assert (first["outcome"], first["score"], first["comment"]) == ("counted", 1, "服务很好")
    second = reply(srt, "2")
    assert second["outcome"] == "duplicate" and second["survey_id"] == first["survey_id"]
    survey = survey_of(srt, ticket_id)
    assert (survey.score, survey.satisfied, survey.comment, survey.rated_at) == (1, True, "服务很好", first_at(first))
    assert count(srt, FollowUpCase) == 0


def test_replies_arriving_together_count_once(srt, sworld, clock):
    """Kannel calls in parallel: of eight ratings of one survey at once, exactly one counts."""
    import threading

    ticket_id = serve(srt, sworld)
    send_now(srt, clock)
    clock.advance(minutes=3)
    outcomes, start = [], threading.Barrier(8)

    def answer(n):
        start.wait()
        outcomes.append(reply(srt, str(1 + n % 4), gateway_id=f"race-{n}")["outcome"])

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["counted"] + ["duplicate"] * 7
    survey = survey_of(srt, ticket_id)
    counted = rows(srt, SurveyReply, SurveyReply.outcome == "counted")
    assert len(counted) == 1 and survey.score == counted[0].score


def first_at(view: dict) -> datetime:
    return datetime.fromisoformat(view["received_at"])


def test_a_late_and_an_unmatched_reply_are_kept_and_shown_not_counted(srt, sworld, clock, sclient):
    ticket_id = serve(srt, sworld)
    send_now(srt, clock)
    clock.advance(hours=48, minutes=1)
    late = reply(srt, "1")
    assert late["outcome"] == "late" and late["survey_id"] == survey_of(srt, ticket_id).id
    assert survey_of(srt, ticket_id).score is None
    stranger = reply(srt, "2 很好", sender="8613911112222")
    assert (stranger["outcome"], stranger["survey_id"], stranger["hall_id"]) == ("unmatched", None, None)
    assert count(srt, SurveyReply) == 2

    resp = sclient.get(f"{API}/halls/{sworld.one.id}/survey-replies?outcome=late",
                       headers=headers(srt, sworld, "m1"))
    assert resp.status_code == 200
    assert [(r["outcome"], r["text"], r["mobile"]) for r in resp.get_json()["replies"]] == [
        ("late", "1", "138****8000")]
    bad = sclient.get(f"{API}/halls/{sworld.one.id}/survey-replies?outcome=lost", headers=headers(srt, sworld, "m1"))
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "outcome"


def test_a_reply_to_a_survey_never_sent_is_unmatched_and_shown_at_that_hall(srt, sworld, clock, sclient):
    config.update_hall(srt, sworld.one.id, {"survey": {"enabled": False}})
    serve(srt, sworld)
    send_now(srt, clock)
    kept = reply(srt, "1")
    assert (kept["outcome"], kept["hall_id"]) == ("unmatched", sworld.one.id)
    resp = sclient.get(f"{API}/halls/{sworld.one.id}/survey-replies?outcome=unmatched",
                       headers=headers(srt, sworld, "hq"))
    assert [r["id"] for r in resp.get_json()["replies"]] == [kept["id"]]


def test_a_gateway_delivering_one_message_twice_stores_it_once(srt, sworld, clock):
    serve(srt, sworld)
    send_now(srt, clock)
    once = reply(srt, "1", gateway_id="mo-77", gateway="kannel")
    again = reply(srt, "1", gateway_id="mo-77", gateway="kannel")
    assert again == once and count(srt, SurveyReply) == 1


def test_td_opts_the_number_out_so_its_next_ticket_gets_no_sms(srt, sworld, clock):
    serve(srt, sworld)
    send_now(srt, clock)
    assert reply(srt, "TD")["outcome"] == "opt_out"
    assert reply(srt, "退订")["outcome"] == "opt_out"  # said twice: one opt-out
    assert count(srt, SmsOptOut) == 1
    next_ticket = serve(srt, sworld)
    send_now(srt, clock)
    survey = survey_of(srt, next_ticket)
    assert (survey.state, survey.last_error) == ("skipped", "the number opted out")
    assert count(srt, SmsOutboxMessage) == 1  # only the first survey


def test_an_opt_out_arriving_before_a_scheduled_survey_goes_stops_it(srt, sworld, clock):
    serve(srt, sworld)
    send_now(srt, clock)
    second = serve(srt, sworld)
    surveys.dispatch(srt)  # scheduled, not yet due
    reply(srt, "STOP")
    clock.advance(minutes=5)
    assert surveys.dispatch(srt)["not_sent"] == 1
    assert survey_of(srt, second).state == "skipped"
    assert count(srt, SmsOutboxMessage) == 1


# --------------------------------------------------------------------------- follow-up cases

def test_a_rating_of_4_opens_a_case_due_in_48_hours_for_the_hall_manager(srt, sworld, clock, sclient):
    serve(srt, sworld)
    send_now(srt, clock)
    events = []
    srt.bus.subscribe(events.append)
    rated = reply(srt, "4 等太久了")
    assert rated["outcome"] == "counted"
    [case] = rows(srt, FollowUpCase)
    assert (case.reason, case.state, case.assigned_to) == ("low_rating", "open", sworld.one.staff["m1"])
    assert case.due_at == case.opened_at + timedelta(hours=48) == clock.now + timedelta(hours=48)
    assert {e.name for e in events} == {"SurveyRated", "FollowUpOpened"}
    assert reply(srt, "投诉！态度太差")["outcome"] == "comment"
    assert count(srt, FollowUpCase) == 1  # one case per survey

    def listed(who, query=""):
        resp = sclient.get(f"{API}/follow-ups{query}", headers=headers(srt, sworld, who))
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["follow_ups"]

    assert [c["id"] for c in listed("hq")] == [case.id] == [c["id"] for c in listed("m1")]
    assert listed("m2") == [] and listed("hq", "?state=overdue") == []
    assert listed("hq")[0]["mobile"] == "138****8000" and listed("hq")[0]["clock"] == "open"
    assert sclient.get(f"{API}/follow-ups?hall_id={sworld.one.id}",
                       headers=headers(srt, sworld, "m2")).status_code == 403

    clock.advance(hours=48, seconds=1)
    [overdue] = listed("hq", "?state=overdue")
    assert overdue["clock"] == "overdue" and overdue["overdue"] is True
    m1 = headers(srt, sworld, "m1")
    responded = sclient.post(f"{API}/follow-ups/{case.id}/respond", headers=m1)
    assert responded.status_code == 200 and responded.get_json()["clock"] == "answered_late"
    assert sclient.post(f"{API}/follow-ups/{case.id}/respond", headers=m1).status_code == 409
    assert listed("hq", "?state=overdue") == []

    for body in ({}, {"resolution": ""}):
        refused = sclient.post(f"{API}/follow-ups/{case.id}/close", json=body, headers=m1)
        assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "resolution"
    closed = sclient.post(f"{API}/follow-ups/{case.id}/close", json={"resolution": "电话回访，已致歉并解释"},
                          headers=m1)
    assert closed.status_code == 200
    assert (closed.get_json()["state"], closed.get_json()["resolution"]) == ("closed", "电话回访，已致歉并解释")
    assert closed.get_json()["closed_by"] == sworld.staff["m1"]
    assert listed("hq") == [] and [c["id"] for c in listed("hq", "?state=closed")] == [case.id]
    again = sclient.post(f"{API}/follow-ups/{case.id}/close", json={"resolution": "x"}, headers=m1)
    assert again.status_code == 409


def test_a_complaint_comment_with_a_good_rating_opens_a_complaint_case(srt, sworld, clock):
    serve(srt, sworld)
    send_now(srt, clock)
    reply(srt, "2 但是排队太久")
    [case] = rows(srt, FollowUpCase)
    assert case.reason == "complaint"


def test_a_case_answered_in_time_is_answered_and_never_overdue(srt, sworld, clock, sclient):
    serve(srt, sworld)
    send_now(srt, clock)
    reply(srt, "不满意")
    [case] = rows(srt, FollowUpCase)
    clock.advance(hours=47)
    resp = sclient.post(f"{API}/follow-ups/{case.id}/respond", headers=headers(srt, sworld, "hq"))
    assert resp.get_json()["clock"] == "answered"
    clock.advance(hours=5)
    resp = sclient.get(f"{API}/follow-ups?state=overdue", headers=headers(srt, sworld, "hq"))
    assert resp.get_json()["follow_ups"] == []


# --------------------------------------------------------------------------- the outbox through the API

def test_a_manager_answers_an_outbox_message_as_the_customer(srt, sworld, clock, sclient):
    ticket_id = serve(srt, sworld)
    send_now(srt, clock)
    m1 = headers(srt, sworld, "m1")
    [message] = sclient.get(f"{API}/sms/outbox", headers=m1).get_json()["messages"]
    assert message["to"] == "138****8000" and message["hall_id"] == sworld.one.id
    assert sclient.get(f"{API}/sms/outbox", headers=headers(srt, sworld, "m2")).get_json()["messages"] == []
    resp = sclient.post(f"{API}/sms/outbox/reply", json={"to": message["id"], "text": "1"}, headers=m1)
    assert resp.status_code == 200 and resp.get_json()["outcome"] == "counted"
    assert survey_of(srt, ticket_id).score == 1
    resp = sclient.post(f"{API}/sms/outbox/reply", json={"to": message["id"], "text": "1"},
                        headers=headers(srt, sworld, "m2"))
    assert resp.status_code == 403

    surveys_seen = sclient.get(f"{API}/halls/{sworld.one.id}/surveys", headers=m1).get_json()["surveys"]
    assert [(x["mobile"], x["state"], x["score"]) for x in surveys_seen] == [("138****8000", "sent", 1)]



def test_a_bad_outbox_answer_is_refused_naming_the_field_and_stores_nothing(srt, sworld, clock, sclient):
    serve(srt, sworld)
    send_now(srt, clock)
    m1 = headers(srt, sworld, "m1")
    [message] = sclient.get(f"{API}/sms/outbox", headers=m1).get_json()["messages"]
    for body, status, field in (({"text": "1"}, 422, "to"), ({"to": message["id"]}, 422, "text"),
                                ({"to": message["id"], "text": "x" * 1601}, 422, "text"),
                                ({"to": "one", "text": "1"}, 422, "to"),
                                ({"to": message["id"] + 999, "text": "1"}, 404, "to")):
        resp = sclient.post(f"{API}/sms/outbox/reply", json=body, headers=m1)
        assert resp.status_code == status and resp.get_json()["error"]["field"] == field, (body, resp.get_json())
    assert count(srt, SurveyReply) == 0

# --------------------------------------------------------------------------- settings

def test_survey_settings_are_shown_and_changed_on_the_hall_and_checked_field_by_field(srt, sworld, sclient):
    admin = headers(srt, sworld, "admin")
    hall = sclient.get(f"{API}/halls/{sworld.one.id}", headers=admin).get_json()
    assert hall["survey"]["scale"] == "four_grade" and hall["survey"]["quiet_hours"] == ["21:00", "08:00"]
    resp = sclient.patch(f"{API}/halls/{sworld.one.id}", json={"survey": {"delay_minutes": 10}}, headers=admin)
    assert resp.status_code == 200 and resp.get_json()["survey"]["delay_minutes"] == 10
    resp = sclient.patch(f"{API}/halls/{sworld.one.id}", json={"survey": {"scale": "five_point",
                                                                          "quiet_hours": None}}, headers=admin)
    assert resp.status_code == 200, resp.get_json()
    survey = resp.get_json()["survey"]
    assert (survey["scale"], survey["satisfied"], survey["delay_minutes"], survey["quiet_hours"]) == (
        "five_point", [4, 5], 10, None)
    for bad, field in (({"delay_minutes": -1}, "survey.delay_minutes"), ({"template_zh": "请评价"}, "survey.template_zh"),
                       ({"colour": "red"}, "survey.colour"), ({"satisfied": [9]}, "survey.satisfied")):
        resp = sclient.patch(f"{API}/halls/{sworld.one.id}", json={"survey": bad}, headers=admin)
        assert resp.status_code == 422 and resp.get_json()["error"]["field"] == field, (bad, resp.get_json())


def test_a_five_point_hall_reads_replies_on_its_own_scale(srt, sworld, clock):
    config.update_hall(srt, sworld.one.id, {"survey": {"scale": "five_point"}})
    ticket_id = serve(srt, sworld)
    send_now(srt, clock)
    assert "回复5非常满意" in rows(srt, SmsOutboxMessage)[0].text
    reply(srt, "5")
    survey = survey_of(srt, ticket_id)
    assert (survey.scale_name, survey.score, survey.satisfied) == ("five_point", 5, True)


# --------------------------------------------------------------------------- gateway callbacks

TWILIO = {"SMS_GATEWAY": "twilio", "SMS_TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "SMS_TWILIO_AUTH_TOKEN": "t" * 32,
          "SMS_TWILIO_SENDER": "+15005550006", "SMS_PUBLIC_URL": "https://hallq.example.com"}
KANNEL_SECRET = "kannel-callback-secret-0123"
KANNEL = {"SMS_GATEWAY": "kannel", "SMS_KANNEL_URL": "http://127.0.0.1:1/cgi-bin/sendsms",
          "SMS_KANNEL_USERNAME": "hallq", "SMS_KANNEL_PASSWORD": "pw", "SMS_KANNEL_SENDER": "10086",
          "SMS_KANNEL_SECRET": KANNEL_SECRET, "SMS_PUBLIC_URL": "http://127.0.0.1:5000"}


def test_a_forged_twilio_signature_is_refused_and_nothing_is_stored(srt, sworld):
    client = make_app(srt, **TWILIO).test_client()
    form = {"From": "+8613800138000", "Body": "1", "MessageSid": "SM" + "1" * 32}
    url = "https://hallq.example.com/sms/twilio/inbound"
    for forged in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
                   {"X-Twilio-Signature": RequestValidator("x" * 32).compute_signature(url, form)}):
        resp = client.post("/sms/twilio/inbound", data=form, headers=forged)
        assert resp.status_code == 403 and resp.get_json()["error"]["field"] == "X-Twilio-Signature"
    assert count(srt, SurveyReply) == 0

    signed = {"X-Twilio-Signature": RequestValidator(TWILIO["SMS_TWILIO_AUTH_TOKEN"]).compute_signature(url, form)}
    resp = client.post("/sms/twilio/inbound", data=form, headers=signed)
    assert resp.status_code == 200 and resp.mimetype == "text/xml" and b"<Message" not in resp.data
    [kept] = rows(srt, SurveyReply)
    assert (kept.gateway, kept.outcome, kept.gateway_message_id) == ("twilio", "unmatched", form["MessageSid"])


def test_a_kannel_call_with_a_wrong_secret_is_refused_and_a_malformed_one_names_the_field(srt, sworld):
    client = make_app(srt, **KANNEL).test_client()
    good = {"secret": KANNEL_SECRET, "from": "+8613800138000", "to": "10086", "text": "1", "coding": "0",
            "charset": "UTF-8", "ts": "1795399200", "id": "k-1"}
    for params in ({**good, "secret": "guessed-guessed-guessed"}, {k: v for k, v in good.items() if k != "secret"}):
        resp = client.get("/sms/kannel/inbound", query_string=params)
        assert resp.status_code == 403 and resp.get_json()["error"]["field"] == "secret"
    resp = client.get("/sms/kannel/dlr", query_string={"ref": "sv1", "status": "1"})
    assert resp.status_code == 403
    resp = client.get("/sms/kannel/inbound", query_string={**good, "from": "not-a-number"})
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "from"
    assert count(srt, SurveyReply) == 0
    assert client.post("/sms/twilio/inbound", data={}).status_code == 404  # not the gateway in use

    resp = client.get("/sms/kannel/inbound", query_string=good)
    assert resp.status_code == 200 and resp.data == b""  # an empty answer: Kannel sends the customer nothing
    assert count(srt, SurveyReply) == 1


def test_a_kannel_reply_replayed_without_its_id_or_with_another_is_stored_once(srt, sworld, clock):
    """Kannel's id (%I) rides unprotected in the URL; what identifies a message is what Kannel always
    sends and the reply is read from: the sender, the time the SMSC took it, and the text."""
    serve(srt, sworld)
    send_now(srt, clock)
    client = make_app(srt, **KANNEL).test_client()
    call = {"secret": KANNEL_SECRET, "from": "8613800138000", "to": "10086", "text": "1", "coding": "0",
            "charset": "UTF-8", "ts": "1795399200", "smsc": "cmpp", "id": "0e3fd8a2-5c2b-4a47-9d6e-1a2b3c4d5e6f"}
    replays = [call, {k: v for k, v in call.items() if k != "id"}, {**call, "id": ""},
               {**call, "id": "11111111-2222-3333-4444-555555555555"}, {**call, "smsc": "other", "charset": "utf-8"},
               {**call, "from": "+8613800138000"}, {k: v for k, v in call.items() if k not in ("to", "smsc")}]
    for replay in replays:
        assert client.get("/sms/kannel/inbound", query_string=replay).status_code == 200
    [kept] = rows(srt, SurveyReply)
    assert kept.outcome == "counted"
    assert MOBILE not in (kept.gateway_message_id or "") and E164 not in (kept.gateway_message_id or "")

    for another in ({**call, "ts": "1795399260"}, {**call, "text": "2"}, {**call, "from": "8613900139000"}):
        assert client.get("/sms/kannel/inbound", query_string=another).status_code == 200
    assert count(srt, SurveyReply) == 4  # another time, text or sender is another message
    without_time = {k: v for k, v in call.items() if k != "ts"}
    resp = client.get("/sms/kannel/inbound", query_string=without_time)
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "ts"
    clock.advance(days=181)
    surveys.purge_numbers(srt)  # the keys are derived from the numbers: they go with them
    assert [r.gateway_message_id for r in rows(srt, SurveyReply)] == [None] * 4


# --------------------------------------------------------------------------- protected numbers

def test_stored_numbers_are_never_plain_text_in_the_database(srt, sworld, clock):
    serve(srt, sworld)
    send_now(srt, clock)
    reply(srt, "4 态度差")
    reply(srt, "TD")
    dump = []
    with srt.engine.connect() as conn:
        for table in ("surveys", "survey_replies", "sms_opt_outs", "sms_outbox", "follow_up_cases", "tickets"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                dump.extend(str(value) for value in row)
        keys = set(conn.execute(text("SELECT number_key FROM surveys UNION SELECT number_key FROM survey_replies"
                                     " UNION SELECT number_key FROM sms_opt_outs")).scalars())
    assert dump and not [v for v in dump if MOBILE in v or "0013 8000" in v]
    assert "138****8000" in dump
    assert len(keys) == 1 and len(keys.pop()) == 64  # one HMAC key finds all of them


def test_retention_deletes_old_numbers_and_keeps_scores_and_masked_numbers(srt, sworld, clock):
    ticket_id = serve(srt, sworld)
    send_now(srt, clock)
    reply(srt, "1")
    no_show = queue.issue_ticket(srt, sworld.one.id, sworld.one.services["A"], mobile="13900139000")
    queue.call_next(srt, sworld.one.counters[1], sworld.one.staff["s1"])
    queue.recall(srt, sworld.one.counters[1], sworld.one.staff["s1"])
    queue.mark_no_show(srt, sworld.one.counters[1], sworld.one.staff["s1"])

    clock.advance(days=3)
    assert surveys.purge_numbers(srt) == {"surveys": 0, "replies": 0, "outbox": 0, "tickets": 1}
    assert rows(srt, Ticket, Ticket.id == no_show["id"])[0].mobile is None
    clock.advance(days=180)
    assert surveys.purge_numbers(srt) == {"surveys": 1, "replies": 1, "outbox": 1, "tickets": 0}
    survey = survey_of(srt, ticket_id)
    assert (survey.number_cipher, survey.number_key, survey.number_masked, survey.score) == (
        None, None, "138****8000", 1)
    assert all(r.number_cipher is None and r.number_key is None for r in rows(srt, SurveyReply))
    assert reply(srt, "1")["outcome"] == "unmatched"  # the number can no longer be linked to its survey


# --------------------------------------------------------------------------- the real Kannel loop

def test_a_survey_goes_out_through_real_kannel_and_the_reply_comes_back_and_counts(database_url, tmp_path):
    require_kannel()
    rt = bootstrap(database_url, password_hash_method=FAST_HASH)  # the real clock: Kannel's is real too
    port = free_port()
    box = KannelLoopback(tmp_path, sms_service_url="")
    app = make_app(rt, **{**KANNEL, "SMS_KANNEL_URL": box.sendsms_url, "SMS_KANNEL_USERNAME": box.username,
                          "SMS_KANNEL_PASSWORD": box.password, "SMS_PUBLIC_URL": f"http://127.0.0.1:{port}",
                          "SMS_KANNEL_ALLOWED_IPS": "127.0.0.1"})
    box.sms_service_url = surveys.gateway_named(rt, "kannel").sms_service_url()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with box:
            world = build_world(rt)
            config.update_hall(rt, world.one.id, {"survey": {"delay_minutes": 0, "quiet_hours": None}})
            ticket_id = serve(rt, world)
            assert surveys.dispatch(rt)["sent"] == 1

            at_smsc = box.wait_for_message_to(E164)
            assert at_smsc.kind == "ucs-2" and at_smsc.sender == "10086"
            assert "回复1非常满意，2满意，3一般，4不满意" in at_smsc.text

            box.inject_reply(E164, "10086", "1 服务很好")
            survey = wait_until(lambda: next((x for x in rows(rt, Survey, Survey.ticket_id == ticket_id)
                                              if x.score is not None), None), "the rating stored", 15)
            assert (survey.score, survey.satisfied, survey.comment) == (1, True, "服务很好")
            [kept] = rows(rt, SurveyReply)
            assert (kept.outcome, kept.gateway, kept.text) == ("counted", "kannel", "1 服务很好")
            assert kept.gateway_message_id  # Kannel's id: a retried callback is stored once
            delivered = wait_until(lambda: survey_of(rt, ticket_id).delivery_status == "delivered",
                                   "the delivery report", 15)
            assert delivered
    finally:
        server.shutdown()
        rt.engine.dispose()


def test_every_survey_and_outbox_message_is_reachable_a_page_at_a_time(srt, sworld, clock, sclient):
    """Issue 22: the listings stopped at the latest 100, so in a busy minute most were unreachable."""
    for i in range(5):
        serve(srt, sworld, mobile=f"1380013{8000 + i:04d}")
        clock.advance(minutes=1)
    send_now(srt, clock)
    m1 = headers(srt, sworld, "m1")

    def walk(path: str, key: str) -> list[int]:
        seen, before = [], None
        while True:
            page = sclient.get(f"{API}{path}?limit=2" + (f"&before={before}" if before else ""), headers=m1).get_json()
            assert len(page[key]) <= 2
            seen += [row["id"] for row in page[key]]
            before = page["next_before"]
            if before is None:
                return seen

    ids = walk(f"/halls/{sworld.one.id}/surveys", "surveys")
    assert len(ids) == 5 and ids == sorted(ids, reverse=True)  # all of them, latest first, none twice
    assert len(walk("/sms/outbox", "messages")) == 5
    one = sclient.get(f"{API}/surveys/{ids[0]}", headers=m1).get_json()
    assert one["id"] == ids[0] and one["mobile"].startswith("138****")
    assert sclient.get(f"{API}/surveys/{ids[0]}", headers=headers(srt, sworld, "m2")).status_code == 403
    assert sclient.get(f"{API}/surveys/999999", headers=m1).status_code == 404
    sent = sclient.get(f"{API}/halls/{sworld.one.id}/surveys?state=sent", headers=m1).get_json()["surveys"]
    assert {x["state"] for x in sent} == {"sent"} and len(sent) == 5
    late = sclient.get(f"{API}/halls/{sworld.one.id}/surveys?since=2099-01-01T00:00:00%2B08:00", headers=m1)
    assert late.get_json() == {"surveys": [], "next_before": None}
    bad = sclient.get(f"{API}/halls/{sworld.one.id}/surveys?limit=501", headers=m1)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "limit"
