"""Opening hours and the local business day."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from app.domain.errors import Invalid
from app.domain.hours import OpeningHours, business_day, local_time, parse_zone

SHANGHAI = parse_zone("Asia/Shanghai")


def at_local(text):
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_a_hall_is_open_inside_its_hours_and_closed_outside():
    hours = OpeningHours.parse({"mon": [["08:30", "12:00"], ["13:30", "18:00"]]})
    assert hours.is_open(at_local("2026-11-23T08:30"))
    assert not hours.is_open(at_local("2026-11-23T12:30"))  # lunch break
    assert not hours.is_open(at_local("2026-11-23T18:00"))
    assert not hours.is_open(at_local("2026-11-24T10:00"))  # Tuesday not listed: closed


def test_twenty_four_hours_means_until_midnight():
    hours = OpeningHours.parse({"mon": [["00:00", "24:00"]]})
    assert hours.is_open(at_local("2026-11-23T23:59:59"))


@pytest.mark.parametrize("bad, field", [
    ({"mon": [["25:00", "26:00"]]}, "opening_hours.mon[0]"),
    ({"mon": [["18:00", "08:00"]]}, "opening_hours.mon[0]"),
    ({"monday": [["08:00", "18:00"]]}, "opening_hours.monday"),
    ({"mon": [["08:00"]]}, "opening_hours.mon[0]"),
])
def test_bad_hours_are_refused_naming_the_day(bad, field):
    with pytest.raises(Invalid) as refused:
        OpeningHours.parse(bad)
    assert refused.value.field == field


def test_the_business_day_is_the_halls_local_date():
    utc_evening = datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc)  # 00:30 on the 23rd in Shanghai
    assert business_day(utc_evening, SHANGHAI).isoformat() == "2026-11-23"
    assert business_day(utc_evening, parse_zone("Europe/London")).isoformat() == "2026-11-22"
    assert local_time(utc_evening, SHANGHAI).hour == 0


def test_an_unknown_time_zone_names_the_field():
    with pytest.raises(Invalid) as refused:
        parse_zone("Mars/Base")
    assert refused.value.field == "timezone"


def test_the_next_opening_is_the_next_span_start_skipping_closures_and_closed_days():
    from app.domain.hours import Closures, OpeningHours, next_opening

    zone = ZoneInfo("Asia/Shanghai")
    hours = OpeningHours.parse({"mon": [["08:30", "12:00"], ["13:30", "18:00"]], "wed": [["09:00", "17:00"]]})
    monday = datetime(2026, 11, 23, 12, 30, tzinfo=zone)  # lunch break
    assert next_opening(hours, Closures({}), monday) == datetime(2026, 11, 23, 13, 30, tzinfo=zone)
    evening = monday.replace(hour=19)
    assert next_opening(hours, Closures({}), evening) == datetime(2026, 11, 25, 9, 0, tzinfo=zone)  # Tuesday closed
    holiday = Closures.parse([{"date": "2026-11-25", "note": "works"}])
    assert next_opening(hours, holiday, evening) == datetime(2026, 11, 30, 8, 30, tzinfo=zone)
    assert next_opening(OpeningHours.parse({}), Closures({}), evening) is None


def test_overlapping_periods_of_a_day_are_refused_naming_the_day():
    import pytest as _pytest

    from app.domain.errors import Invalid
    from app.domain.hours import OpeningHours

    with _pytest.raises(Invalid, match="overlap: one starts at 11:00 before another ends at 12:00") as refused:
        OpeningHours.parse({"mon": [["08:30", "18:00"]], "tue": [["08:30", "12:00"], ["11:00", "13:00"]]})
    assert refused.value.field == "opening_hours.tue"
    # touching periods and a period to midnight after another are fine
    OpeningHours.parse({"mon": [["13:00", "24:00"], ["08:30", "13:00"]]})
    with _pytest.raises(Invalid, match="before another ends at 24:00"):
        OpeningHours.parse({"sun": [["09:00", "24:00"], ["20:00", "22:00"]]})
