"""The arrival forecaster, its baselines and the intraday update, on synthetic Poisson halls."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from forecasting.baselines import recent_average, seasonal_naive
from forecasting.calendar import day_info
from forecasting.features import DAY_FEATURE_NAMES, SHARE_FEATURE_NAMES, FeatureBuilder, SlotGrid
from forecasting.metrics import coverage, mae
from forecasting.model import ArrivalForecaster, SlotForecast, intraday_adjust

STEP = timedelta(minutes=30)
SHAPE = np.array([3, 5, 8, 10, 9, 7, 6, 8, 10, 11, 9, 7, 5, 4, 3, 2], dtype=float)  # 09:00-16:59


def hall_level(day: date) -> float:
    info = day_info(day, "CN")
    if info.is_holiday:
        return 0.3
    return 1.0 if info.is_workday else 0.6


def day_slots(day: date) -> list[datetime]:
    return [datetime(day.year, day.month, day.day, 9) + k * STEP for k in range(len(SHAPE))]


def synthetic_hall(first: date, last: date, seed: int = 0, closed_weekday: int | None = None,
                   scale: float = 1.0) -> list[tuple[datetime, float]]:
    """Open 09:00-17:00 every day but ``closed_weekday``; Poisson counts around SHAPE."""
    rng = np.random.default_rng(seed)
    series, day = [], first
    while day <= last:
        if day.weekday() != closed_weekday:
            rates = SHAPE * hall_level(day) * scale
            series += [(s, float(n)) for s, n in zip(day_slots(day), rng.poisson(rates))]
        day += timedelta(days=1)
    return series


@pytest.fixture(scope="module")
def national_day_backtest():
    """Fit up to 20 Sep 2025, then forecast each day to 12 Oct from its previous midnight."""
    series = synthetic_hall(date(2025, 1, 1), date(2025, 10, 12))
    cut = datetime(2025, 9, 21)
    forecaster = ArrivalForecaster(interval_minutes=30).fit([x for x in series if x[0] < cut])
    known = dict(series)
    by_day = {}
    day = cut.date()
    while day <= date(2025, 10, 12):
        slots = day_slots(day)
        before = [x for x in series if x[0] < datetime.combine(day, datetime.min.time())]
        by_day[day] = (slots, [known[s] for s in slots], forecaster.forecast(slots, before),
                       seasonal_naive(slots, before))
        day += timedelta(days=1)
    return forecaster, by_day


def test_the_model_learns_the_weekday_hour_shape_and_holiday_dip_better_than_seasonal_naive(national_day_backtest):
    forecaster, by_day = national_day_backtest
    assert forecaster.mode == "model"
    actual = [a for _, truth, _, _ in by_day.values() for a in truth]
    model = [f.p50 for _, _, out, _ in by_day.values() for f in out]
    naive = [v for _, _, _, values in by_day.values() for v in values]
    assert mae(actual, model) < 0.8 * mae(actual, naive)


def test_national_day_is_forecast_low_and_its_adjusted_saturday_like_a_workday(national_day_backtest):
    _, by_day = national_day_backtest
    total = {day: sum(f.mean for f in out) for day, (_, _, out, _) in by_day.items()}
    workday, plain_saturday = total[date(2025, 9, 24)], total[date(2025, 9, 27)]
    assert total[date(2025, 10, 2)] < 0.5 * workday
    adjusted_saturday = total[date(2025, 10, 11)]  # 调休: three such days in the training year
    assert adjusted_saturday > 0.7 * workday and adjusted_saturday > 1.2 * plain_saturday


def test_the_shape_over_the_day_follows_the_hours(national_day_backtest):
    _, by_day = national_day_backtest
    means = [f.mean for f in by_day[date(2025, 9, 24)][2]]
    assert np.corrcoef(means, SHAPE)[0, 1] > 0.9


def test_the_upper_quantile_covers_most_but_not_all_actuals(national_day_backtest):
    _, by_day = national_day_backtest
    actual = [a for _, truth, _, _ in by_day.values() for a in truth]
    upper = [f.p90 for _, _, out, _ in by_day.values() for f in out]
    assert 0.8 <= coverage(actual, upper) < 1.0


def test_quantiles_are_ordered_and_never_negative_even_for_a_quiet_hall():
    series = synthetic_hall(date(2025, 3, 1), date(2025, 6, 30), seed=3, scale=0.05)
    cut = datetime(2025, 6, 25)
    forecaster = ArrivalForecaster(interval_minutes=30).fit([x for x in series if x[0] < cut])
    slots = [s for s, _ in series if s >= cut]
    out = forecaster.forecast(slots, [x for x in series if x[0] < cut])
    assert [f.slot for f in out] == slots
    for f in out:
        assert 0.0 <= f.p10 <= f.p50 <= f.p90 and f.mean >= 0.0


def test_closed_slots_are_never_predicted_and_a_closed_day_is_not_learnt_as_a_zero():
    series = synthetic_hall(date(2025, 3, 3), date(2025, 7, 6), seed=1, closed_weekday=6, scale=3.0)
    cut = datetime(2025, 6, 30)  # a Monday, after a closed Sunday
    history = [x for x in series if x[0] < cut]
    forecaster = ArrivalForecaster(interval_minutes=30).fit(history)
    monday = day_slots(cut.date())
    out = forecaster.forecast(monday, history)
    assert [f.slot for f in out] == monday
    expected = SHAPE.sum() * 3.0 * hall_level(cut.date())
    assert abs(sum(f.mean for f in out) - expected) < 0.15 * expected


def test_a_two_day_forecast_covers_both_days_in_slot_order():
    series = synthetic_hall(date(2025, 3, 1), date(2025, 6, 30), seed=4)
    cut = datetime(2025, 6, 29)
    history = [x for x in series if x[0] < cut]
    slots = [s for s, _ in series if s >= cut]
    out = ArrivalForecaster(interval_minutes=30).fit(history).forecast(list(reversed(slots)), history)
    assert [f.slot for f in out] == slots and all(f.note == "" for f in out)


def test_a_new_hall_with_ten_days_gets_the_recent_average_with_a_poisson_band():
    series = synthetic_hall(date(2025, 6, 1), date(2025, 6, 11), seed=2)
    cut = datetime(2025, 6, 11)
    history = [x for x in series if x[0] < cut]
    forecaster = ArrivalForecaster(interval_minutes=30).fit(history)
    out = forecaster.forecast(day_slots(cut.date()), history)
    assert forecaster.mode == "baseline"
    assert [f.mean for f in out] == pytest.approx(recent_average(day_slots(cut.date()), history))
    assert all(f.p10 <= f.p50 <= f.p90 for f in out) and any(f.p90 > f.mean for f in out)
    assert "short history" in out[0].note


def test_no_history_at_all_gives_zeros_with_a_note_not_an_error():
    forecaster = ArrivalForecaster().fit([])
    out = forecaster.forecast([datetime(2026, 11, 23, 9)], [])
    assert out == [SlotForecast(datetime(2026, 11, 23, 9), 0.0, 0.0, 0.0, 0.0, "no history: zeros")]
    assert forecaster.forecast([], []) == []


def test_a_slot_off_the_interval_is_refused():
    with pytest.raises(ValueError, match="09:10"):
        ArrivalForecaster(interval_minutes=15).fit([(datetime(2026, 11, 23, 9, 10), 1.0)])


def test_a_hall_whose_level_doubled_three_weeks_ago_is_forecast_near_its_new_level():
    """The day-total part learns totals as ratios to the recent level, which trees on raw
    counts cannot extrapolate to (they forecast about 0.55 of the new level here)."""
    series = (synthetic_hall(date(2025, 1, 1), date(2025, 6, 8), seed=0)
              + synthetic_hall(date(2025, 6, 9), date(2025, 6, 30), seed=10, scale=2.0))
    cut = datetime(2025, 6, 30)
    history = [x for x in series if x[0] < cut]
    out = ArrivalForecaster(interval_minutes=30).fit(history).forecast(day_slots(cut.date()), history)
    expected = SHAPE.sum() * 2.0 * hall_level(cut.date())
    assert 0.7 * expected < sum(f.mean for f in out) < 1.3 * expected
    assert all(f.p10 <= f.p50 <= f.p90 for f in out)


def test_an_afternoon_alone_is_forecast_as_in_the_whole_day_forecast():
    series = synthetic_hall(date(2025, 1, 1), date(2025, 6, 30), seed=6)
    cut = datetime(2025, 6, 30)
    history = [x for x in series if x[0] < cut]
    forecaster = ArrivalForecaster(interval_minutes=30).fit(history)
    whole = forecaster.forecast(day_slots(cut.date()), history)
    afternoon = forecaster.forecast(day_slots(cut.date())[10:], history)
    assert afternoon == whole[10:]


def test_day_and_share_features_use_only_the_days_before_and_reach_a_year_back():
    series = synthetic_hall(date(2024, 1, 1), date(2025, 3, 31), seed=5)
    builder = FeatureBuilder("CN")
    day = date(2025, 3, 31)
    grid = SlotGrid(series, 30, day, day, lookback_days=400)
    changed = SlotGrid([(s, c * 3) if s.date() == day else (s, c) for s, c in series], 30, day, day,
                       lookback_days=400)
    index = grid.index(datetime.combine(day, datetime.min.time()))[0]
    rows, level = builder.day_rows([index], grid)
    assert rows.shape == (1, len(DAY_FEATURE_NAMES))
    assert np.array_equal(rows, builder.day_rows([index], changed)[0], equal_nan=True)
    assert np.array_equal(builder.share_rows(day_slots(day), grid), builder.share_rows(day_slots(day), changed),
                          equal_nan=True)
    week = [sum(c for s, c in series if s.date() == day - timedelta(days=k)) for k in range(1, 8)]
    assert level[0] == pytest.approx(np.mean(week))
    assert np.isfinite(rows[0, DAY_FEATURE_NAMES.index("year_ago_ratio")])
    shares = builder.share_rows(day_slots(day), grid)
    assert shares.shape == (len(SHAPE), len(SHARE_FEATURE_NAMES))
    assert np.isfinite(shares[:, SHARE_FEATURE_NAMES.index("share_year_ago")]).all()
    short = SlotGrid(series, 30, day, day)  # the default 28 days back: no year-ago features
    rows = builder.day_rows([index - (400 - 28)], short)[0]  # the same day in that grid
    assert np.isnan(rows[0, DAY_FEATURE_NAMES.index("year_ago_ratio")])
    with pytest.raises(ValueError, match="lookback_days"):
        SlotGrid(series, 30, day, day, lookback_days=7)


# --- baselines ------------------------------------------------------------------------
def test_seasonal_naive_takes_the_same_slot_last_week_and_skips_a_week_it_was_closed():
    slot = datetime(2026, 11, 23, 10)
    history = [(slot - timedelta(days=14), 6.0), (slot - timedelta(days=21), 2.0)]
    assert seasonal_naive([slot], history) == [6.0]
    assert seasonal_naive([slot], history + [(slot - timedelta(days=7), 9.0)]) == [9.0]


def test_recent_average_uses_the_last_four_same_weekdays_before_the_forecast_day_only():
    slot = datetime(2026, 11, 23, 10)
    history = [(slot - timedelta(days=7 * k), float(k)) for k in (1, 2, 3, 4, 5)]
    history.append((slot, 100.0))  # the forecast day itself: not known at its midnight
    assert recent_average([slot], history) == [2.5]


def test_recent_average_falls_back_to_the_time_of_day_when_the_weekday_was_never_open():
    slot = datetime(2026, 11, 23, 10)
    history = [(slot - timedelta(days=1), 4.0), (slot - timedelta(days=2), 2.0),
               (slot - timedelta(days=2, hours=1), 50.0)]
    assert recent_average([slot], history) == [3.0]
    assert recent_average([slot], []) == [0.0]


# --- intraday -------------------------------------------------------------------------
def flat_day(mean: float = 10.0) -> list[SlotForecast]:
    return [SlotForecast(s, mean, mean * 0.5, mean, mean * 1.5) for s in day_slots(date(2026, 11, 23))]


def test_a_busy_morning_raises_the_rest_of_the_day_and_leaves_the_morning_alone():
    forecasts = flat_day()
    now = datetime(2026, 11, 23, 13)  # eight slots done, 80 expected
    actuals = {f.slot: 20.0 for f in forecasts[:8]}
    adjusted = intraday_adjust(forecasts, actuals, now)
    factor = (160 + 30) / (80 + 30)
    assert [f.slot for f in adjusted] == [f.slot for f in forecasts]
    assert adjusted[:8] == forecasts[:8]
    assert adjusted[8].mean == pytest.approx(10 * factor) and adjusted[8].p90 == pytest.approx(15 * factor)
    assert adjusted[8].note.startswith("intraday x1.73")


def test_a_few_arrivals_barely_move_the_forecast():
    forecasts = flat_day(mean=1.0)
    adjusted = intraday_adjust(forecasts, {forecasts[0].slot: 3.0}, datetime(2026, 11, 23, 9, 30))
    assert adjusted[1].mean == pytest.approx(33 / 31)


def test_a_quiet_day_lowers_the_rest_but_never_below_the_floor():
    forecasts = flat_day(mean=50.0)
    actuals = {f.slot: 0.0 for f in forecasts[:8]}
    adjusted = intraday_adjust(forecasts, actuals, datetime(2026, 11, 23, 13))
    assert adjusted[8].mean == pytest.approx(25.0)  # clamped at 0.5


def test_the_slot_running_now_is_adjusted_and_slots_without_actuals_count_for_nothing():
    forecasts = flat_day()
    actuals = {forecasts[1].slot: 40.0}  # slot 0 has no actual: not held against the day
    adjusted = intraday_adjust(forecasts, actuals, datetime(2026, 11, 23, 10, 10))
    assert adjusted[:2] == forecasts[:2]
    assert adjusted[2].slot == datetime(2026, 11, 23, 10) and adjusted[2].mean == pytest.approx(10 * 70 / 40)


def test_without_any_actuals_the_forecasts_come_back_unchanged_and_other_days_are_never_touched():
    forecasts = flat_day()
    assert intraday_adjust(forecasts, {}, datetime(2026, 11, 23, 12)) == forecasts
    tomorrow = [SlotForecast(f.slot + timedelta(days=1), 10.0, 5.0, 10.0, 15.0) for f in forecasts]
    adjusted = intraday_adjust(forecasts + tomorrow, {f.slot: 30.0 for f in forecasts[:8]},
                               datetime(2026, 11, 23, 13))
    assert adjusted[len(forecasts):] == tomorrow and adjusted[8].mean > 10.0
