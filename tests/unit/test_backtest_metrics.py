"""Accuracy metrics against hand-computed numbers; series files; the backtest CLI's contract."""
from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from forecasting import backtest, metrics
from forecasting.queue_log import Call
from forecasting.series import (SeriesError, from_queue_log, parse_interval, read_series, resample,
                                write_series)


# --- metrics --------------------------------------------------------------------------
def test_mae_is_the_mean_absolute_error():
    assert metrics.mae([1, 4, 10], [2, 2, 10]) == pytest.approx(1.0)  # (1 + 2 + 0) / 3
    assert math.isnan(metrics.mae([], []))


def test_mase_divides_the_mae_by_the_in_sample_seasonal_naive_error():
    monday = datetime(2026, 11, 2, 9)
    history = {monday: 4.0, monday + timedelta(days=7): 6.0, monday + timedelta(days=14): 3.0,
               monday + timedelta(hours=1): 8.0}  # its week-ago slot is absent: not scored
    scale = metrics.seasonal_naive_scale(history)
    assert scale == pytest.approx(2.5)  # (|6 - 4| + |3 - 6|) / 2
    assert metrics.mase([10, 20], [11, 17], scale) == pytest.approx(2.0 / 2.5)
    assert math.isnan(metrics.mase([1], [1], 0.0))


def test_coverage_counts_actuals_at_or_below_the_upper_bound():
    assert metrics.coverage([1, 5, 9, 10], [5, 5, 8, 12]) == pytest.approx(0.75)


def test_interval_coverage_counts_actuals_within_both_bounds():
    assert metrics.interval_coverage([1, 5, 9, 10], [2, 4, 4, 10], [5, 5, 8, 12]) == pytest.approx(0.5)


def test_peak_bias_averages_forecast_minus_actual_over_each_days_busiest_slots():
    day_one = ([1, 9, 3, 2, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [2] * 20)  # top 2: 9 and 8
    day_two = ([5, 7], [6, 6])  # top 1: 7
    assert metrics.peak_bias([day_one, day_two]) == pytest.approx(((2 - 9) + (2 - 8) + (6 - 7)) / 3)


def test_metrics_refuse_lists_of_different_lengths():
    with pytest.raises(ValueError, match="2 actuals but 1 forecasts"):
        metrics.mae([1, 2], [1])


# --- series files ---------------------------------------------------------------------
def test_a_series_survives_writing_and_reading_and_a_nan_count_is_a_gap(tmp_path):
    path = tmp_path / "s.csv"
    write_series(path, [(datetime(2026, 1, 5, 9, 15), 3.0), (datetime(2026, 1, 5, 9), 0.0)])
    assert read_series(path) == [(datetime(2026, 1, 5, 9), 0.0), (datetime(2026, 1, 5, 9, 15), 3.0)]
    path.write_text("timestamp,count\n2026-01-05T09:00,nan\n2026-01-05T09:15,\n2026-01-05T09:30,2\n")
    assert read_series(path) == [(datetime(2026, 1, 5, 9, 30), 2.0)]


@pytest.mark.parametrize("content, message", [
    ("time,n\n2026-01-05T09:00,1\n", "header"),
    ("timestamp,count\nyesterday,1\n", ":2: bad timestamp 'yesterday'"),
    ("timestamp,count\n2026-01-05T09:00,-1\n", ":2: count '-1'"),
    ("timestamp,count\n2026-01-05T09:00,1\n2026-01-05T09:00,2\n", ":3: timestamp 2026-01-05T09:00:00 appears twice"),
    ("timestamp,count\n2026-01-05T09:00+08:00,1\n", "time zone"),
])
def test_a_bad_series_file_is_refused_naming_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(SeriesError, match="bad.csv") as error:
        read_series(path)
    assert message in str(error.value)


@pytest.mark.parametrize("text, minutes", [("15min", 15), ("30min", 30), ("1h", 60), ("60min", 60), ("15", 15)])
def test_intervals_are_read_in_minutes_or_hours(text, minutes):
    assert parse_interval(text) == minutes


@pytest.mark.parametrize("text", ["7min", "fortnightly", "0min", "", "5min", "2h"])
def test_an_interval_other_than_15_30_or_60_minutes_is_refused(text):
    with pytest.raises(SeriesError, match="--interval"):
        parse_interval(text)


def test_resampling_sums_the_open_fine_slots_of_each_coarse_slot():
    fine = [(datetime(2026, 1, 5, 9, 0), 1.0), (datetime(2026, 1, 5, 9, 45), 2.0), (datetime(2026, 1, 5, 11, 15), 5.0)]
    assert resample(fine, 60) == [(datetime(2026, 1, 5, 9), 3.0), (datetime(2026, 1, 5, 11), 5.0)]


def _call(at: datetime, served: bool = True) -> Call:
    return Call("1", 0, "PS", at, 0, "AGENT" if served else "HANG", at if served else None,
                60 if served else 0, "ANNA" if served else None)


def test_the_queue_log_gives_open_slots_with_zeros_and_drops_arrivals_when_closed():
    # two Mondays: 09:00 served on both (open), 10:00 served once on each: open; 23:00 an
    # abandoned call only (nobody served then: closed)
    calls = [_call(datetime(1999, 2, 1, 9, 5)), _call(datetime(1999, 2, 8, 9, 20)),
             _call(datetime(1999, 2, 1, 10, 1)), _call(datetime(1999, 2, 8, 10, 2)),
             _call(datetime(1999, 2, 8, 10, 40), served=False), _call(datetime(1999, 2, 1, 23, 0), served=False)]
    series = dict(from_queue_log(calls, 60))
    assert series == {datetime(1999, 2, 1, 9): 1.0, datetime(1999, 2, 1, 10): 1.0,
                      datetime(1999, 2, 8, 9): 1.0, datetime(1999, 2, 8, 10): 2.0}
    series_15 = dict(from_queue_log(calls, 15))
    assert series_15[datetime(1999, 2, 1, 9)] == 1.0 and series_15[datetime(1999, 2, 8, 9)] == 0.0


# --- the CLI --------------------------------------------------------------------------
def _hall_csv(path, days: int = 42, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    rows, start = [], date(2026, 3, 2)
    for d in range(days):
        day = start + timedelta(days=d)
        if day.weekday() == 6:
            continue  # closed on Sundays: absent
        for k in range(8):
            rows.append((datetime(day.year, day.month, day.day, 9 + k), float(rng.poisson(5 + 3 * (k == 2)))))
    write_series(path, rows)


def test_the_cli_prints_progress_on_stderr_and_the_figures_last_on_stdout(tmp_path, capsys):
    path = tmp_path / "hall.csv"
    _hall_csv(path)
    assert backtest.main([str(path), "--interval", "1h", "--holdout-days", "7"]) == 0
    captured = capsys.readouterr()
    figures = json.loads(captured.out.strip().splitlines()[-1])
    for key in ("model_mae", "model_mase", "seasonal_naive_mae", "seasonal_naive_mase", "recent_average_mae",
                "recent_average_mase", "coverage_p90", "coverage_p10_p90", "peak_bias", "fit_seconds"):
        assert math.isfinite(figures[key]), key
    assert (figures["days"], figures["slots"], figures["training_days"]) == (6, 48, 30)
    assert "fitted on 30 days" in captured.err


@pytest.mark.parametrize("args, message", [
    (["missing.csv", "--holdout-days", "7"], "missing.csv: cannot read"),
    (["{hall}", "--interval", "7min", "--holdout-days", "7"], "--interval '7min'"),
    (["{hall}", "--interval", "1h", "--holdout-days", "0"], "--holdout-days 0"),
    (["{hall}", "--interval", "1h", "--holdout-days", "99"], "--holdout-days 99: leaves no training data"),
    (["{hall}", "--interval", "1h", "--holdout-days", "7", "--country", "XX"], "unknown country code 'XX'"),
    (["{odd}", "--interval", "1h", "--holdout-days", "7"], "09:30:00 does not start a 60-minute interval"),
    (["{hall}", "--interval", "15min", "--holdout-days", "7"], "at least 60 minutes apart, not 15"),
])
def test_a_bad_file_or_option_exits_2_with_a_message_naming_it(tmp_path, capsys, args, message):
    hall, odd = tmp_path / "hall.csv", tmp_path / "odd.csv"
    _hall_csv(hall, days=14)
    odd.write_text("timestamp,count\n2026-01-05T09:30,1\n")
    argv = [a.format(hall=hall, odd=odd) for a in args]
    assert backtest.main(argv) == 2
    assert message in capsys.readouterr().err
