"""Peak warning rules: when a warning is raised, what it advises, and that it is not repeated."""
from datetime import datetime, timedelta, timezone

from app.domain.peaks import (
    CRITICAL, FORECAST, LIVE, WARNING, ServiceNow, ServiceOutlook, extra_counters_for, forecast_warnings,
    live_warnings, reconcile, warning_key,
)

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 23, 9, 50, tzinfo=CST)


def outlook(minute_offset, needed, open_counters=2, upper=30.0, service_id=1):
    return ServiceOutlook(service_id, "业务办理", "Business", NOW.replace(minute=0) + timedelta(minutes=minute_offset),
                          15, upper, needed, open_counters)


def test_a_forecast_warning_says_how_many_counters_to_open_before_the_peak():
    # 10:00-10:15 fine, 10:15 and 10:30 short by 2, outside the hour (11:00) short by 5: not counted
    outlooks = [outlook(60, 2), outlook(75, 4, upper=41.2), outlook(90, 4), outlook(120, 7)]
    [draft] = forecast_warnings(outlooks, NOW)
    assert draft.kind == FORECAST and draft.counters_needed == 4 and draft.counters_open == 2
    assert draft.window_start == datetime(2026, 11, 23, 10, 15, tzinfo=CST)
    assert draft.window_end == datetime(2026, 11, 23, 10, 45, tzinfo=CST)
    assert "请在10:15前为业务办理增开2个窗口" in draft.message_zh
    assert "Open 2 more counter(s) for Business before 10:15" in draft.message_en
    assert draft.severity == CRITICAL and draft.figure == 41.2


def test_no_forecast_warning_while_open_counters_cover_the_upper_forecast():
    assert forecast_warnings([outlook(60, 2), outlook(75, 1), outlook(90, 2)], NOW) == []


def test_a_shortfall_of_one_counter_out_of_four_is_a_warning_not_critical():
    [draft] = forecast_warnings([outlook(75, 5, open_counters=4)], NOW)
    assert draft.severity == WARNING


def test_intervals_already_over_are_ignored_but_the_current_one_counts():
    past = outlook(30, 9)            # 09:30-09:45, over at 09:50
    current = outlook(45, 3)         # 09:45-10:00, running
    [draft] = forecast_warnings([past, current], NOW)
    assert draft.window_start == NOW and draft.counters_needed == 3


def test_a_peak_already_running_is_to_be_met_now_never_by_a_time_already_gone():
    [draft] = forecast_warnings([outlook(45, 4)], NOW)  # 09:45-10:00, raised at 09:50
    assert "请立即为业务办理增开2个窗口" in draft.message_zh and "09:50前" not in draft.message_zh
    assert draft.message_en.endswith("counter(s) for Business now.")


def test_one_customer_a_quarter_hour_at_night_with_no_counter_open_is_a_warning_not_critical():
    night = datetime(2026, 11, 23, 1, 55, tzinfo=CST)
    tiny = ServiceOutlook(1, "业务办理", "Business", night.replace(minute=0) + timedelta(hours=1), 15, 1.2, 1, 0)
    [draft] = forecast_warnings([tiny], night)
    assert draft.severity == WARNING and "请在02:00前" in draft.message_zh


def test_a_large_shortfall_is_critical_only_when_the_peak_is_near():
    far, near = outlook(60 + 40, 4), outlook(60 + 15, 4)  # 10:40 and 10:15, from 09:50: short by 2 of 4
    assert forecast_warnings([far], NOW)[0].severity == WARNING  # 50 minutes to act
    assert forecast_warnings([near], NOW)[0].severity == CRITICAL  # 25 minutes


def test_each_service_gets_its_own_forecast_warning():
    drafts = forecast_warnings([outlook(75, 4, service_id=1), outlook(75, 3, service_id=2)], NOW)
    assert sorted(d.key for d in drafts) == [warning_key(FORECAST, 1), warning_key(FORECAST, 2)]


def service_now(wait_s, waiting=12, open_counters=2, target=900):
    return ServiceNow(1, "业务办理", "Business", waiting, wait_s, target, open_counters)


def test_a_live_warning_fires_when_the_estimated_wait_passes_the_target():
    [draft] = live_warnings([service_now(1500)], NOW)
    assert draft.kind == LIVE and draft.severity == WARNING
    assert draft.counters_needed == 4  # 2 open * (1500/900 - 1) = 1.33 -> 2 more
    assert "当前预计等候25分钟，超过目标15分钟（12人等候）" in draft.message_zh


def test_a_wait_of_twice_the_target_is_critical_and_a_wait_at_target_is_fine():
    assert live_warnings([service_now(1800)], NOW)[0].severity == CRITICAL
    assert live_warnings([service_now(900)], NOW) == []


def test_people_waiting_with_no_counter_open_is_critical():
    [draft] = live_warnings([service_now(None, waiting=3, open_counters=0)], NOW)
    assert draft.severity == CRITICAL and "没有开放的窗口" in draft.message_zh


def test_nobody_waiting_raises_nothing():
    assert live_warnings([service_now(None, waiting=0, open_counters=0)], NOW) == []


def test_extra_counters_scale_with_how_far_the_wait_is_over_target():
    assert extra_counters_for(1000, 900, 3) == 1
    assert extra_counters_for(2700, 900, 3) == 6
    assert extra_counters_for(2700, 900, 0) == 1


def test_a_standing_warning_is_not_raised_again_and_is_updated_only_when_it_changes():
    [draft] = live_warnings([service_now(1500)], NOW)
    same = reconcile({draft.key: (7, draft.severity, draft.counters_needed)}, [draft], (LIVE,))
    assert (same.raise_, same.update, same.resolve) == ([], [], [])
    worse = reconcile({draft.key: (7, WARNING, 3)}, [draft], (LIVE,))
    assert worse.update == [(7, draft)] and worse.raise_ == []


def test_a_warning_whose_condition_cleared_is_resolved_and_other_kinds_are_left_alone():
    standing = {warning_key(LIVE, 1): (7, WARNING, 3), warning_key(FORECAST, 1): (8, WARNING, 4)}
    result = reconcile(standing, [], (LIVE,))
    assert result.resolve == [7]


def test_a_new_condition_is_raised():
    [draft] = live_warnings([service_now(1500)], NOW)
    assert reconcile({}, [draft], (LIVE,)).raise_ == [draft]
