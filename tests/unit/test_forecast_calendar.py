"""China's holidays and adjusted working days (调休), the fallbacks beyond 2026, other countries.

The 2026 dates are the State Council's 2026 holiday schedule as ``chinesecalendar``
carries it (read from the library before writing these tests): working on Sun 4 Jan,
Sat 14 Feb, Sat 28 Feb, Sat 9 May, Sun 20 Sep and Sat 10 Oct; National Day off from 1 October.
"""
from __future__ import annotations

from datetime import date

import pytest

from forecasting.calendar import UnknownCountry, check_country, day_info


def test_national_day_2026_is_a_public_holiday_not_a_workday():
    info = day_info(date(2026, 10, 1))
    assert (info.is_workday, info.is_holiday, info.holiday_name) == (False, True, "National Day")


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 9, 20), date(2026, 1, 4), date(2026, 10, 10)])
def test_an_adjusted_working_weekend_day_of_2026_is_a_workday(day):
    assert day.weekday() >= 5
    info = day_info(day)
    assert info.is_workday and info.is_adjusted_workday and not info.is_holiday


def test_an_ordinary_saturday_is_neither_a_workday_nor_a_holiday():
    info = day_info(date(2026, 3, 7))
    assert (info.is_workday, info.is_holiday, info.is_adjusted_workday) == (False, False, False)


def test_an_ordinary_weekday_is_a_workday():
    assert day_info(date(2026, 3, 9)) == day_info(date(2026, 3, 10))
    assert day_info(date(2026, 3, 9)).is_workday


def test_2027_falls_back_to_the_holidays_library_without_adjusted_workdays():
    national_day = day_info(date(2027, 10, 1))
    assert national_day.is_holiday and not national_day.is_workday
    saturday = day_info(date(2027, 3, 6))
    assert not saturday.is_workday and not saturday.is_adjusted_workday
    assert day_info(date(2027, 3, 8)).is_workday


def test_a_datetime_is_taken_as_its_calendar_day():
    from datetime import datetime
    assert day_info(datetime(2026, 10, 1, 9, 15)).is_holiday


def test_other_countries_come_from_the_holidays_library_with_subdivisions():
    assert day_info(date(2025, 12, 25), "NZ").is_holiday
    assert day_info(date(2025, 1, 27), "NZ-AUK").holiday_name == "Auckland Anniversary Day"
    assert not day_info(date(2025, 1, 27), "NZ").is_holiday


def test_a_country_no_library_knows_falls_back_to_monday_to_friday():
    assert day_info(date(2026, 10, 1), "XX").is_workday  # a Thursday
    assert not day_info(date(2026, 10, 3), "XX").is_workday


def test_an_unknown_country_code_is_refused_with_its_name():
    with pytest.raises(UnknownCountry, match="'XX'"):
        check_country("XX")
    assert check_country("CN") == "CN"
