"""Appointments (预约), the pure rules: a slot's capacity from the counter plan and the forecast
walk-ins, how many more fit, the day's slots, the booking horizon, arriving early, on time or
late, the place in line, the no-show policy and the settings check. Every number is worked out
by hand in the comments."""
from datetime import date, datetime, timedelta, timezone

import pytest

from app.domain.appointments import (
    EARLY, LATE, ON_TIME, BookingRules, PlanInterval, arrival, blocked_until, bookable, bookable_day,
    booking_rules_problems, missed, queue_time, slot_capacity, slot_starts,
)
from app.domain.hours import parse_zone

SHANGHAI = parse_zone("Asia/Shanghai")
RULES = BookingRules(enabled=True)  # share 0.5, 30-minute slots, head start 10, early 60, grace 10, 3 in 30 days
A, B, C = 120, 420, 600  # the world's handle times (s)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(timezone.utc)


def morning(work: dict[str, float], counters: int = 2) -> list[PlanInterval]:
    """Tuesday 09:00-12:00 in 15-minute intervals, ``counters`` open; walk-in work (s) by HH:MM."""
    start = local("2026-11-24 09:00")
    return [PlanInterval(start + timedelta(minutes=15 * i), 15, counters,
                         work.get(f"{9 + (15 * i) // 60:02d}:{(15 * i) % 60:02d}", 0.0)) for i in range(12)]


# --------------------------------------------------------------------------- capacity

def test_appointment_slot_capacity_is_the_planned_counters_beyond_the_walk_ins_times_the_share():
    plan = morning({"09:00": 3 * A + 1 * B, "09:15": 1 * C})  # 780 s and 600 s of walk-ins
    # two 15-minute intervals of 2 counters: 3600 s; minus 1380 s: 2220 s; half of it
    assert slot_capacity(plan, local("2026-11-24 09:00"), RULES) == 1110.0
    assert slot_capacity(plan, local("2026-11-24 10:00"), RULES) == 1800.0  # no walk-ins forecast
    assert slot_capacity(plan, local("2026-11-24 09:00"), BookingRules(share=0.2)) == pytest.approx(444.0)
    assert slot_capacity(plan, local("2026-11-24 09:00"), BookingRules(share=0.0)) == 0.0
    assert slot_capacity(plan, local("2026-11-24 09:00"), BookingRules(share=1.0)) == 2220.0
    hour = BookingRules(share=0.5, slot_minutes=60)  # four intervals: 7200 - 1380 = 5820, half
    assert slot_capacity(plan, local("2026-11-24 09:00"), hour) == 2910.0
    quarter = BookingRules(share=0.5, slot_minutes=15)
    assert slot_capacity(plan, local("2026-11-24 09:15"), quarter) == 600.0  # (1800 - 600) / 2


def test_an_appointment_slots_deficit_interval_counts_against_the_other():
    plan = morning({"09:30": 4 * C, "10:30": 5 * B, "10:45": 3 * C})
    # 09:30: 1800 - 2400 = -600; 09:45: 1800; together 1200, half: 600 (not (0 + 1800) / 2 = 900)
    assert slot_capacity(plan, local("2026-11-24 09:30"), RULES) == 600.0
    # 10:30: 1800 - 2100 = -300; 10:45: 1800 - 1800 = 0: a deficit overall is nothing, never negative
    assert slot_capacity(plan, local("2026-11-24 10:30"), RULES) == 0.0


def test_an_appointment_slot_with_no_planned_interval_inside_offers_nothing():
    plan = morning({})
    assert slot_capacity(plan, local("2026-11-24 08:30"), RULES) == 0.0  # ends when the plan starts
    assert slot_capacity(plan, local("2026-11-24 12:00"), RULES) == 0.0  # starts when it ends
    assert slot_capacity(plan, local("2026-11-24 11:30"), RULES) == 1800.0  # the plan's last slot
    assert slot_capacity([], local("2026-11-24 10:00"), RULES) == 0.0
    # an interval with no counter planned and no walk-ins offers nothing either
    closed = [PlanInterval(local("2026-11-24 13:00"), 15, 0, 0.0), PlanInterval(local("2026-11-24 13:15"), 15, 0, 0.0)]
    assert slot_capacity(closed, local("2026-11-24 13:00"), RULES) == 0.0


def test_an_appointment_slot_shorter_than_the_plan_interval_gets_its_share_of_the_interval():
    hourly = [PlanInterval(local("2026-11-24 09:00"), 60, 2, 1200.0)]  # 2 counters an hour: 7200 s, walk-ins 1200 s
    # each half hour: 3600 s of counters and 600 s of walk-ins: (3600 - 600) / 2 = 1500
    assert slot_capacity(hourly, local("2026-11-24 09:00"), RULES) == 1500.0
    assert slot_capacity(hourly, local("2026-11-24 09:30"), RULES) == 1500.0


def test_how_many_more_appointments_fit_rounds_down_but_not_below_a_float_hair():
    assert [bookable(1110.0, 0.0, h) for h in (A, B, C)] == [9, 2, 1]  # 9.25, 2.64, 1.85
    assert [bookable(1110.0, 600.0, h) for h in (A, B, C)] == [4, 1, 0]  # 510 left
    assert bookable(1800.0, 0.0, C) == 3  # exactly three
    assert bookable(359.99999999999994, 0.0, A) == 3  # 3 - 4e-16: arithmetic noise, still three
    assert bookable(359.9, 0.0, A) == 2  # a tenth of a second short: two
    assert bookable(600.0, 1200.0, A) == 0  # more held than the capacity (it shrank): none, not negative
    assert bookable(600.0, 0.0, 0) == 0 and bookable(600.0, 0.0, -5) == 0


# --------------------------------------------------------------------------- the day's slots

def test_appointment_slot_starts_are_wholly_inside_the_opening_spans():
    spans = [(local("2026-11-24 08:30"), local("2026-11-24 10:15")),
             (local("2026-11-24 13:00"), local("2026-11-24 14:00"))]
    assert slot_starts(spans, 30) == [local(f"2026-11-24 {t}") for t in ("08:30", "09:00", "09:30", "13:00", "13:30")]
    assert slot_starts(spans, 60) == [local("2026-11-24 08:30"), local("2026-11-24 13:00")]  # 09:30-10:30 is not inside
    assert slot_starts(spans, 15)[-6:] == [local(f"2026-11-24 {t}")
                                           for t in ("09:45", "10:00", "13:00", "13:15", "13:30", "13:45")]
    assert slot_starts([(local("2026-11-24 12:00"), local("2026-11-24 12:20"))], 30) == []  # too short for one
    assert slot_starts([], 30) == []


def test_appointment_days_are_bookable_from_today_up_to_the_horizon():
    today = date(2026, 11, 23)
    assert bookable_day(today, today, RULES) is True
    assert bookable_day(date(2026, 11, 30), today, RULES) is True  # 7 days ahead
    assert bookable_day(date(2026, 12, 1), today, RULES) is False  # 8
    assert bookable_day(date(2026, 11, 22), today, RULES) is False  # yesterday
    assert bookable_day(today, today, BookingRules(horizon_days=0)) is True
    assert bookable_day(date(2026, 11, 24), today, BookingRules(horizon_days=0)) is False
    assert bookable_day(date(2026, 12, 23), today, BookingRules(horizon_days=30)) is True


# --------------------------------------------------------------------------- arriving

SLOT = local("2026-11-24 11:00")


def test_appointment_check_in_opens_exactly_early_minutes_before_the_slot():
    assert arrival(SLOT - timedelta(minutes=60, seconds=1), SLOT, RULES) == EARLY
    assert arrival(SLOT - timedelta(minutes=60), SLOT, RULES) == ON_TIME
    assert arrival(SLOT - timedelta(minutes=30), SLOT, BookingRules(early_minutes=20)) == EARLY
    assert arrival(SLOT, SLOT, BookingRules(early_minutes=0)) == ON_TIME


def test_an_appointment_is_on_time_until_exactly_the_grace_is_over():
    assert arrival(SLOT + timedelta(minutes=10), SLOT, RULES) == ON_TIME
    assert arrival(SLOT + timedelta(minutes=10, seconds=1), SLOT, RULES) == LATE
    assert arrival(SLOT + timedelta(seconds=1), SLOT, BookingRules(grace_minutes=0)) == LATE
    assert missed(SLOT + timedelta(minutes=10), SLOT, RULES) is False
    assert missed(SLOT + timedelta(minutes=10, seconds=1), SLOT, RULES) is True


def test_an_appointment_queues_head_start_before_its_slot_and_a_late_one_from_now():
    at = queue_time(SLOT - timedelta(minutes=60), SLOT, RULES)  # the first moment of check-in
    assert at == local("2026-11-24 10:50")
    assert queue_time(SLOT + timedelta(minutes=10), SLOT, RULES) == local("2026-11-24 10:50")  # the last
    late = SLOT + timedelta(minutes=10, seconds=1)
    assert queue_time(late, SLOT, RULES) == late  # a walk-in from now
    assert queue_time(SLOT - timedelta(minutes=5), SLOT, BookingRules(head_start_minutes=0)) == SLOT
    longer = BookingRules(head_start_minutes=30)
    assert queue_time(SLOT - timedelta(minutes=5), SLOT, longer) == local("2026-11-24 10:30")
    chosen = SLOT - timedelta(minutes=90)  # too early, and the customer joins as a walk-in
    assert queue_time(chosen, SLOT, RULES, as_walk_in=True) == chosen
    assert queue_time(SLOT - timedelta(minutes=5), SLOT, RULES, as_walk_in=True) == SLOT - timedelta(minutes=5)


# --------------------------------------------------------------------------- no-shows

def day(n: int, hour: int = 9) -> datetime:
    return datetime(2026, 10, 1, hour, tzinfo=timezone.utc) + timedelta(days=n)


def test_three_appointment_no_shows_within_thirty_days_block_booking_for_thirty_days_from_the_third():
    no_shows = [day(1), day(10), day(20)]
    assert blocked_until(no_shows, day(20), RULES) == day(50)
    assert blocked_until(no_shows, day(35), RULES) == day(50)
    assert blocked_until(no_shows, day(50) - timedelta(seconds=1), RULES) == day(50)
    assert blocked_until(no_shows[:2], day(20), RULES) is None  # two: not yet
    assert blocked_until(list(reversed(no_shows)), day(21), RULES) == day(50)  # in any order


def test_an_appointment_block_that_has_ended_blocks_no_more():
    no_shows = [day(1), day(10), day(20)]
    assert blocked_until(no_shows, day(50), RULES) is None
    assert blocked_until(no_shows, day(80), RULES) is None
    assert blocked_until(no_shows, day(19), RULES) is None  # the third is still to come
    assert blocked_until(no_shows, day(30), BookingRules(block_days=0)) is None


def test_three_appointment_no_shows_spread_over_more_than_thirty_days_do_not_block():
    assert blocked_until([day(0), day(16), day(31)], day(32), RULES) is None  # the first is 31 days before the third
    assert blocked_until([day(0), day(20), day(40), day(60)], day(61), RULES) is None  # never three in 30 days
    # a fourth makes three within the window with the two before it: blocked from the fourth
    assert blocked_until([day(0), day(16), day(31), day(40)], day(41), RULES) == day(70)
    assert blocked_until([day(0), day(16), day(31)], day(32), BookingRules(no_show_window_days=31)) == day(61)
    assert blocked_until([day(1), day(2)], day(3), BookingRules(no_show_limit=2)) == day(32)


# --------------------------------------------------------------------------- settings

def test_appointment_booking_rules_problems_name_each_wrong_field():
    assert booking_rules_problems({}) == []
    assert booking_rules_problems({"enabled": True, "share": 0.3, "slot_minutes": 60, "horizon_days": 30,
                                   "no_show_limit": 1, "block_days": 0}) == []
    assert booking_rules_problems({"share": 1}) == [] and booking_rules_problems({"share": 0}) == []
    problems = booking_rules_problems({"share": 1.5, "slot_minutes": 20, "horizon_days": 31, "enabled": "yes",
                                       "colour": "red", "grace_minutes": True, "early_minutes": 241,
                                       "no_show_limit": 0, "no_show_window_days": 2.5, "head_start_minutes": -1})
    assert [field for field, _ in problems] == ["share", "slot_minutes", "horizon_days", "enabled", "colour",
                                                "grace_minutes", "early_minutes", "no_show_limit",
                                                "no_show_window_days", "head_start_minutes"]
    messages = dict(problems)
    assert "15, 30, 60" in messages["slot_minutes"] and "0 to 30" in messages["horizon_days"]
    assert "unknown setting 'colour'" in messages["colour"]
    assert booking_rules_problems({"share": True}) == [
        ("share", "share is a fraction from 0 to 1 of the spare capacity")]
    assert booking_rules_problems(["enabled"]) == [("booking", "booking is a JSON object of settings")]


def test_appointment_booking_rules_read_partial_settings_and_tell_the_policy():
    rules = BookingRules.from_dict({"enabled": True, "grace_minutes": 5, "something_else": 1})
    assert (rules.enabled, rules.grace_minutes, rules.share, rules.slot_minutes) == (True, 5, 0.5, 30)
    assert BookingRules.from_dict(None) == BookingRules()
    words = BookingRules(no_show_limit=3, no_show_window_days=30, block_days=30).describe()
    assert "30 天内爽约 3 次，30 天内不能预约" in words["zh"]
    assert "3 missed appointments within 30 days block booking for 30 days" in words["en"]
