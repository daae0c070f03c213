"""The backtest CLI, as a separate process, on the real bank queue log (``shared/data/queue-log``).

Set HALLQ_SHARED_DATA to the ``shared/data`` folder when it is elsewhere; without the log
these tests skip.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forecasting.queue_log import read_calls
from forecasting.series import from_queue_log, write_series

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("HALLQ_SHARED_DATA") or REPO.parent / "shared" / "data")
LOG = DATA / "queue-log" / "anonymous_bank_feb1999.tsv"

pytestmark = pytest.mark.skipif(not LOG.exists(), reason=f"the real queue log is absent: {LOG}")

KEYS = ("model_mae", "model_mase", "seasonal_naive_mae", "seasonal_naive_mase", "recent_average_mae",
        "recent_average_mase", "coverage_p90", "coverage_p10_p90", "peak_bias", "fit_seconds")


@pytest.fixture(scope="module")
def bank_series(tmp_path_factory):
    calls = read_calls(LOG)
    folder = tmp_path_factory.mktemp("bank")
    paths = {}
    for minutes, label in ((15, "15min"), (60, "1h")):
        paths[label] = folder / f"bank_{label}.csv"
        write_series(paths[label], from_queue_log(calls, minutes))
    return paths


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "forecasting.backtest", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("label, slots_per_week", [("15min", 390), ("1h", 101)])
def test_the_backtest_of_the_last_week_of_the_bank_log_reports_sane_figures(bank_series, label, slots_per_week):
    done = run_cli(str(bank_series[label]), "--interval", label, "--holdout-days", "7", "--country", "IL")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for key in KEYS:
        assert math.isfinite(figures[key]), key
    assert 0.0 <= figures["coverage_p10_p90"] <= figures["coverage_p90"] <= 1.0
    assert 0.3 < figures["model_mase"] < 1.5 and figures["seasonal_naive_mase"] > 0.3
    assert (figures["days"], figures["slots"], figures["training_days"]) == (7, slots_per_week, 21)
    assert "1999-02-28 Sun" in done.stderr


def test_the_model_forced_on_three_weeks_of_the_bank_log_still_forecasts_every_open_slot(bank_series):
    """Three weeks is below the forecaster's 28-day minimum: run the trees anyway, as the bench does."""
    from forecasting.backtest import run_backtest
    from forecasting.series import read_series

    figures = run_backtest(read_series(bank_series["15min"]), 15, 7, "IL", min_history_days=14)
    assert figures["mode"] == "model" and figures["slots"] == 390
    assert 0.0 <= figures["coverage_p90"] <= 1.0 and math.isfinite(figures["model_mase"])


def test_a_series_at_the_wrong_interval_is_refused_with_exit_2(bank_series):
    done = run_cli(str(bank_series["15min"]), "--interval", "1h", "--holdout-days", "7")
    assert done.returncode == 2
    assert "bank_15min.csv" in done.stderr and "60-minute interval" in done.stderr
