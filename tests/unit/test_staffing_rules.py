"""A hall's staffing rules and its open intervals."""
from datetime import date, datetime

from app.domain.hours import OpeningHours
from app.domain.staffing import StaffingRules, open_slots, staffing_rules_problems


def test_open_slots_are_the_intervals_starting_inside_opening_hours():
    hours = OpeningHours.parse({"mon": [["08:30", "10:00"], ["14:00", "14:30"]]})
    slots = open_slots(hours, date(2026, 11, 23), 15)  # a Monday
    assert [s.strftime("%H:%M") for s in slots] == ["08:30", "08:45", "09:00", "09:15", "09:30", "09:45",
                                                     "14:00", "14:15"]


def test_a_closed_day_has_no_slots():
    assert open_slots(OpeningHours.parse({"mon": [["08:30", "18:00"]]}), date(2026, 11, 22), 15) == []


def test_a_hall_open_until_midnight_has_its_last_slot_at_23_45():
    slots = open_slots(OpeningHours.parse({"mon": [["23:00", "24:00"]]}), date(2026, 11, 23), 15)
    assert slots[-1] == datetime(2026, 11, 23, 23, 45) and len(slots) == 4


def test_rules_default_and_cap_the_counters_at_what_the_hall_has():
    rules = StaffingRules.from_dict({"max_counters": 6})
    assert rules.counters_cap(4) == 4 and rules.counters_cap(10) == 6
    assert StaffingRules().counters_cap(8) == 8


def test_bad_staffing_settings_are_named():
    assert staffing_rules_problems({"target_share": 1.5}) == [("target_share", "must be between 0.05 and 0.999")]
    assert staffing_rules_problems({"interval_minutes": 20}) == [("interval_minutes", "must be 15, 30 or 60")]
    assert staffing_rules_problems({"country": "china"})[0][0] == "country"
    assert staffing_rules_problems({"min_counters": 5, "max_counters": 3}) == [
        ("min_counters", "must not be above max_counters")]
    assert staffing_rules_problems({"colour": 1})[0][0] == "colour"
    assert staffing_rules_problems({"patience_s": 600, "country": "HK"}) == []
