"""Remote tickets (远程取号), the pure rules: code limits, typed codes, check-in deadlines, settings,
the remote ticket's life cycle, and what a kiosk's scanner reads."""
from datetime import datetime, timedelta, timezone

import pytest

from app.domain.errors import IllegalTransition, Invalid
from app.domain.hours import OpeningHours, parse_zone
from app.domain.model import Action, TicketState, next_state
from app.domain.remote import (
    CODE_DIGITS, RemoteQueue, check_in_deadline, clean_code, closing_time, code_refusal, expired, new_code,
    remote_queue_problems,
)
from app.services.remote import token_of_scan

SHANGHAI = parse_zone("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Shanghai
DEFAULTS = RemoteQueue(enabled=True)  # 5 codes an hour to a number, 20 from an address


def ago(**kwargs) -> datetime:
    return T0 - timedelta(**kwargs)


def at_local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# --------------------------------------------------------------------------- how often a code is sent

def test_a_first_code_is_sent():
    assert code_refusal(T0, [], [], DEFAULTS) is None


def test_a_second_code_within_the_minute_is_refused_until_the_minute_is_over():
    refusal = code_refusal(T0, [ago(seconds=20)], [ago(seconds=20)], DEFAULTS)
    assert (refusal.reason, refusal.retry_after_s) == ("resend_too_soon", 40)
    assert code_refusal(T0, [ago(seconds=60)], [ago(seconds=60)], DEFAULTS) is None


def test_a_fraction_of_a_second_left_is_still_a_second_to_wait():
    refusal = code_refusal(T0, [ago(seconds=59, milliseconds=500)], [], DEFAULTS)
    assert (refusal.reason, refusal.retry_after_s) == ("resend_too_soon", 1)


def test_a_number_gets_so_many_codes_an_hour_then_waits_for_the_oldest_to_leave_the_hour():
    sent = [ago(minutes=m) for m in (50, 40, 30, 20, 10)]  # five: the hall's limit
    refusal = code_refusal(T0, sent, [], DEFAULTS)
    assert (refusal.reason, refusal.retry_after_s) == ("number_limit", 600)  # 10:00 + 10 min: the 09:10 one leaves
    assert code_refusal(T0, sent[1:], [], DEFAULTS) is None  # four: one more may go
    assert code_refusal(T0, sent, [], RemoteQueue(codes_per_number_per_hour=6)) is None


def test_the_hourly_limit_waits_for_the_send_that_brings_the_count_under_it():
    sent = [ago(minutes=m) for m in (55, 50, 40, 30, 20, 10)]  # six, limit five: two must leave
    refusal = code_refusal(T0, sent, [], DEFAULTS)
    assert (refusal.reason, refusal.retry_after_s) == ("number_limit", 600)  # when the 09:10 one leaves


def test_codes_older_than_an_hour_are_not_counted():
    sent = [ago(minutes=m) for m in (120, 90, 61, 60)] + [ago(minutes=30)]
    assert code_refusal(T0, sent, sent, RemoteQueue(codes_per_number_per_hour=2, codes_per_address_per_hour=2)) \
        is None  # only 09:30 is within the hour (a send exactly an hour ago has left it)


def test_one_address_gets_so_many_codes_an_hour_whatever_the_numbers():
    from_address = [ago(minutes=m) for m in range(59, 39, -1)]  # twenty in the last hour
    refusal = code_refusal(T0, [], from_address, DEFAULTS)
    assert (refusal.reason, refusal.retry_after_s) == ("address_limit", 60)  # the 09:01 one leaves at 10:01
    assert code_refusal(T0, [], from_address[1:], DEFAULTS) is None


def test_the_number_is_refused_before_the_address_and_the_minute_before_the_hour():
    settings = RemoteQueue(codes_per_number_per_hour=1, codes_per_address_per_hour=1)
    assert code_refusal(T0, [ago(seconds=5)], [ago(seconds=5)], settings).reason == "resend_too_soon"
    assert code_refusal(T0, [ago(minutes=5)], [ago(minutes=5)], settings).reason == "number_limit"
    assert code_refusal(T0, [], [ago(minutes=5)], settings).reason == "address_limit"


def test_new_codes_are_six_ascii_digits_and_vary():
    codes = {new_code() for _ in range(50)}
    assert all(len(c) == CODE_DIGITS and c.isascii() and c.isdigit() for c in codes)
    assert len(codes) > 40  # 50 draws from a million: repeats are rare


# --------------------------------------------------------------------------- what the customer typed

@pytest.mark.parametrize("typed, digits", [
    ("123456", "123456"), ("123 456", "123456"), ("12-34-56", "123456"), (" 012345 ", "012345"),
])
def test_spaces_and_dashes_are_dropped_from_a_typed_code(typed, digits):
    assert clean_code(typed) == digits


@pytest.mark.parametrize("typed", [None, "", "12345", "1234567", "12345a", "１２３４５６", "١٢٣٤٥٦", "12 34 5",
                                   "123_456", "+12345"])
def test_a_code_that_is_not_six_ascii_digits_is_refused_naming_the_field(typed):
    with pytest.raises(Invalid) as refused:
        clean_code(typed, field="check_in_code")
    assert (refused.value.field, refused.value.code) == ("check_in_code", "code_format")


# --------------------------------------------------------------------------- when the hall closes

HOURS = OpeningHours.parse({"mon": [["08:30", "12:00"], ["13:30", "18:00"]], "tue": [["00:00", "24:00"]]})


def test_the_closing_time_is_the_end_of_the_span_the_hall_is_open_in():
    assert closing_time(HOURS, at_local("2026-11-23T10:00")) == at_local("2026-11-23T12:00")
    assert closing_time(HOURS, at_local("2026-11-23T08:30")) == at_local("2026-11-23T12:00")
    assert closing_time(HOURS, at_local("2026-11-23T17:59:30")) == at_local("2026-11-23T18:00")
    assert closing_time(HOURS, at_local("2026-11-23T10:00")).tzinfo is SHANGHAI


def test_there_is_no_closing_time_when_the_hall_is_closed():
    assert closing_time(HOURS, at_local("2026-11-23T12:30")) is None  # lunch break
    assert closing_time(HOURS, at_local("2026-11-23T12:00")) is None  # the span's end is outside it
    assert closing_time(HOURS, at_local("2026-11-23T07:00")) is None
    assert closing_time(HOURS, at_local("2026-11-23T18:00")) is None
    assert closing_time(HOURS, at_local("2026-11-25T10:00")) is None  # Wednesday: not listed, closed


def test_a_hall_open_until_midnight_closes_at_midnight():
    assert closing_time(HOURS, at_local("2026-11-24T23:00")) == at_local("2026-11-25T00:00")


def test_a_ticket_taken_in_the_last_minute_before_midnight_is_not_due_before_it_was_taken():
    local = at_local("2026-11-24T23:59:30")
    deadline = check_in_deadline(local, RemoteQueue(check_in_minutes=60), closing_time(HOURS, local))
    assert deadline > local


def test_periods_that_touch_are_one_opening():
    touching = OpeningHours.parse({"mon": [["08:30", "12:00"], ["12:00", "18:00"]]})
    assert touching.is_open(at_local("2026-11-23T12:00"))
    assert closing_time(touching, at_local("2026-11-23T11:30")) == at_local("2026-11-23T18:00")


# --------------------------------------------------------------------------- the check-in deadline

def test_the_deadline_is_the_halls_window_when_the_hall_closes_later():
    closes = T0 + timedelta(hours=8)
    assert check_in_deadline(T0, RemoteQueue(check_in_minutes=60), closes) == T0 + timedelta(minutes=60)
    assert check_in_deadline(T0, RemoteQueue(check_in_minutes=240), None) == T0 + timedelta(hours=4)


def test_the_deadline_is_never_after_the_hall_closes():
    closes = T0 + timedelta(minutes=25)
    assert check_in_deadline(T0, RemoteQueue(check_in_minutes=60), closes) == closes
    assert check_in_deadline(T0, RemoteQueue(check_in_minutes=10), closes) == T0 + timedelta(minutes=10)


def test_a_ticket_is_expired_from_its_deadline_on():
    deadline = T0 + timedelta(minutes=60)
    assert not expired(deadline - timedelta(microseconds=1), deadline)
    assert expired(deadline, deadline)
    assert expired(deadline + timedelta(hours=1), deadline)
    assert not expired(T0 + timedelta(days=3), None)  # no deadline: not a remote ticket


# --------------------------------------------------------------------------- the hall's settings

def test_the_settings_default_to_off_and_round_trip():
    assert RemoteQueue.from_dict(None) == RemoteQueue() and RemoteQueue().enabled is False
    assert RemoteQueue().to_dict() == {"enabled": False, "check_in_minutes": 60, "codes_per_number_per_hour": 5,
                                       "codes_per_address_per_hour": 20}
    stored = {"enabled": True, "check_in_minutes": 30, "retired_setting": 1}  # an old key is ignored when read
    assert RemoteQueue.from_dict(stored) == RemoteQueue(enabled=True, check_in_minutes=30)


def test_good_settings_have_no_problems():
    assert remote_queue_problems({}) == []
    assert remote_queue_problems({"enabled": True, "check_in_minutes": 10, "codes_per_number_per_hour": 1,
                                  "codes_per_address_per_hour": 1000}) == []
    assert remote_queue_problems({"check_in_minutes": 240}) == []


@pytest.mark.parametrize("settings, field", [
    ({"enabled": "yes"}, "enabled"),
    ({"enabled": 1}, "enabled"),
    ({"check_in_minutes": 9}, "check_in_minutes"),
    ({"check_in_minutes": 241}, "check_in_minutes"),
    ({"check_in_minutes": 30.0}, "check_in_minutes"),
    ({"check_in_minutes": True}, "check_in_minutes"),
    ({"check_in_minutes": "60"}, "check_in_minutes"),
    ({"codes_per_number_per_hour": 0}, "codes_per_number_per_hour"),
    ({"codes_per_number_per_hour": 1001}, "codes_per_number_per_hour"),
    ({"codes_per_address_per_hour": -1}, "codes_per_address_per_hour"),
    ({"codes_per_address_per_hour": None}, "codes_per_address_per_hour"),
    ({"check_in_window": 60}, "check_in_window"),
])
def test_each_bad_setting_is_named(settings, field):
    [(named, message)] = remote_queue_problems(settings)
    assert named == field and message


def test_every_bad_setting_is_named_at_once():
    problems = remote_queue_problems({"enabled": "on", "check_in_minutes": 5, "colour": "red"})
    assert [field for field, _ in problems] == ["enabled", "check_in_minutes", "colour"]
    assert "10 to 240" in problems[1][1]


@pytest.mark.parametrize("settings", [None, [], "on", True])
def test_settings_that_are_not_an_object_are_refused(settings):
    assert [field for field, _ in remote_queue_problems(settings)] == ["remote_queue"]


# --------------------------------------------------------------------------- the remote ticket's life cycle

def test_a_remote_ticket_waits_once_checked_in():
    assert next_state(TicketState.REMOTE, Action.CHECK_IN) is TicketState.WAITING


def test_a_remote_ticket_is_cancelled_by_its_customer_or_released_at_its_deadline():
    assert next_state(TicketState.REMOTE, Action.CANCEL) is TicketState.CANCELLED
    assert next_state(TicketState.REMOTE, Action.EXPIRE) is TicketState.CANCELLED


@pytest.mark.parametrize("action", [Action.CALL, Action.RECALL, Action.START, Action.FINISH, Action.NO_SHOW,
                                    Action.TRANSFER])
def test_no_counter_acts_on_a_remote_ticket_before_check_in(action):
    with pytest.raises(IllegalTransition) as refused:
        next_state(TicketState.REMOTE, action)
    assert refused.value.detail == {"state": "remote", "action": action.value}


@pytest.mark.parametrize("state", [s for s in TicketState if s is not TicketState.REMOTE])
def test_only_a_remote_ticket_is_checked_in(state):
    with pytest.raises(IllegalTransition):
        next_state(state, Action.CHECK_IN)


# --------------------------------------------------------------------------- what the kiosk's scanner read

TOKEN = "kP3_x-9QzA1bC2dE3fG4hw"


@pytest.mark.parametrize("scan", [
    TOKEN, f"  {TOKEN}\n", f"http://localhost/t/{TOKEN}", f"https://q.example.cn/t/{TOKEN}/",
    f"https://q.example.cn/t/{TOKEN}?lang=en", f"https://q.example.cn/t/{TOKEN}#top", f"/t/{TOKEN}",
])
def test_the_scanner_gives_the_tickets_token(scan):
    assert token_of_scan(scan) == TOKEN


@pytest.mark.parametrize("scan", [None, "", "   ", "http://localhost/", "http://localhost", "hello world",
                                  "<script>alert(1)</script>", "A001;DROP", "x" * 65, "https://q.example.cn/t/a%20b",
                                  "https://q.example.cn/t/abc.def"])
def test_what_is_not_a_tickets_qr_code_is_refused(scan):
    with pytest.raises(Invalid) as refused:
        token_of_scan(scan)
    assert (refused.value.field, refused.value.code) == ("scan", "scan_format")


def test_a_token_of_sixty_four_characters_is_the_longest_read():
    assert token_of_scan("x" * 64) == "x" * 64
