"""The pure rules of door counts: a valid minute, occupancy, when occupancy starts, busy and idle."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.domain.errors import Invalid
from app.domain.footfall import (
    BUSY, IDLE, NORMAL, LoadRules, MinuteCount, check_batch, count_start, hour_of, load_reasons, load_rules_problems,
    load_state,
    occupancy_after, oriented,
)
from app.domain.hours import OpeningHours

NOW = datetime(2026, 11, 23, 2, 0, 30, tzinfo=timezone.utc)
OPENED = datetime(2026, 11, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


def count(minute=NOW.replace(second=0), sensor="door", i=1, o=0):
    return MinuteCount(sensor, minute, i, o)


def field_of(counts):
    with pytest.raises(Invalid) as err:
        check_batch(counts, NOW, OPENED)
    return err.value.field


def test_a_good_batch_passes_including_the_minute_in_progress():
    check_batch([count(NOW.replace(second=0) - timedelta(minutes=m)) for m in range(5)], NOW, OPENED)


def test_each_bad_entry_is_named():
    ok = count(NOW.replace(second=0) - timedelta(minutes=9))
    assert field_of([]) == "counts"
    assert field_of([ok, count(NOW.replace(second=0) + timedelta(minutes=5))]) == "counts[1].minute"  # future
    assert field_of([ok, count(datetime(2026, 10, 31, 15, 59, tzinfo=timezone.utc))]) == "counts[1].minute"
    assert field_of([ok, count(NOW)]) == "counts[1].minute"  # not a whole minute
    assert field_of([ok, count(NOW.replace(second=0, tzinfo=None))]) == "counts[1].minute"
    assert field_of([ok, count(i=-1)]) == "counts[1].in"
    assert field_of([ok, count(o=1001)]) == "counts[1].out"
    assert field_of([ok, count(ok.minute.astimezone(ZoneInfo("Asia/Shanghai")))]) == "counts[1].minute"  # same minute


def test_a_clock_a_little_ahead_is_tolerated():
    check_batch([count(NOW.replace(second=0) + timedelta(minutes=1))], NOW, OPENED)


def test_the_hall_opening_day_is_the_first_day_counted():
    check_batch([count(OPENED.astimezone(timezone.utc))], NOW, OPENED)
    check_batch([count(datetime(2020, 1, 1, tzinfo=timezone.utc))], NOW, None)  # opening day unknown


def test_occupancy_is_in_minus_out_never_below_zero():
    assert occupancy_after([]) == 0
    assert occupancy_after([(3, 0), (0, 1)]) == 2
    assert occupancy_after([(0, 4), (3, 0)]) == 3  # leavers before anyone came: the count stays at zero
    assert occupancy_after([(2, 0), (0, 5), (1, 0)]) == 1


def test_a_reversed_sensor_swaps_directions():
    assert oriented(3, 1, False) == (3, 1)
    assert oriented(3, 1, True) == (1, 3)


def test_occupancy_starts_at_the_first_opening_of_the_day_or_at_midnight():
    zone = ZoneInfo("Asia/Shanghai")
    hours = OpeningHours.parse({"mon": [["13:00", "18:00"], ["08:30", "12:00"]]})
    assert count_start(date(2026, 11, 23), zone, hours) == datetime(2026, 11, 23, 0, 30, tzinfo=timezone.utc)
    assert count_start(date(2026, 11, 24), zone, hours) == datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)


def test_hour_of_a_minute():
    assert hour_of(datetime(2026, 11, 23, 2, 59, tzinfo=timezone.utc)) == datetime(2026, 11, 23, 2, tzinfo=timezone.utc)


RULES = LoadRules(busy_occupancy=40, idle_occupancy=5, busy_waiting_per_counter=6)


@pytest.mark.parametrize("occupancy, waiting, counters, state", [
    (3, 0, 2, IDLE),
    (3, 2, 2, IDLE),  # one waiting per counter is still quiet
    (3, 5, 2, NORMAL),
    (20, 0, 2, NORMAL),
    (40, 0, 2, BUSY),  # full hall
    (10, 12, 2, BUSY),  # six waiting per counter
    (10, 1, 0, BUSY),  # people waiting and nobody serving
    (0, 0, 0, IDLE),
    (None, 0, 1, IDLE),  # no door counter: the queue alone decides
    (None, 3, 1, NORMAL),
    (None, 6, 1, BUSY),
])
def test_load_state(occupancy, waiting, counters, state):
    assert load_state(occupancy, waiting, counters, RULES) == state


def test_load_rules_are_checked_and_merge_over_defaults():
    assert LoadRules.from_dict({"busy_occupancy": 80}).to_dict() == {
        "busy_occupancy": 80, "idle_occupancy": 5, "busy_waiting_per_counter": 6.0}
    assert load_rules_problems({"busy_occupancy": 80}) == []
    assert load_rules_problems({"crowd": 1})[0][0] == "crowd"
    assert load_rules_problems({"busy_occupancy": -1})[0][0] == "busy_occupancy"
    assert load_rules_problems({"busy_occupancy": True})[0][0] == "busy_occupancy"
    assert load_rules_problems({"idle_occupancy": 50})[0][0] == "idle_occupancy"


@pytest.mark.parametrize("occupancy, waiting, counters, codes", [
    (45, 0, 2, ["busy_inside"]),
    (45, 14, 2, ["busy_inside", "busy_queue"]),
    (10, 3, 0, ["no_counter"]),
    (3, 0, 2, ["idle_inside", "nobody_waiting"]),
    (3, 2, 2, ["idle_inside", "quiet_queue"]),
    (20, 5, 2, ["normal_inside", "normal_queue"]),
    (None, 0, 1, ["nobody_waiting", "no_door_counter"]),
    (None, 7, 1, ["busy_queue", "no_door_counter"]),
])
def test_each_state_comes_with_its_reasons(occupancy, waiting, counters, codes):
    reasons = load_reasons(occupancy, waiting, counters, RULES)
    assert [r["code"] for r in reasons] == codes
    if "busy_queue" in codes:
        queue = next(r for r in reasons if r["code"] == "busy_queue")
        assert queue["n"] == round(waiting / counters, 1) and queue["limit"] == 6
