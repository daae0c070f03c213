"""The staffing models replayed against the real queue log (``shared/data/queue-log``, beside the repository).

Reproduces the log README's finding: plain Erlang C on the named servers predicts far fewer
waits than happened; Erlang A on the effective servers (those concurrently busy) is much closer.
Without the data these tests skip.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from forecasting.calibration import calibrate, queue_population
from forecasting.queue_log import read_calls

LOG = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "queue-log" / "anonymous_bank_feb1999.tsv"

pytestmark = pytest.mark.skipif(not LOG.is_file(), reason=f"the real queue log is not at {LOG}")


@pytest.fixture(scope="module")
def calls():
    return read_calls(LOG)


@pytest.fixture(scope="module")
def report(calls):
    return calibrate(calls, interval_minutes=60)


def test_the_queue_population_is_the_served_calls_and_those_who_gave_up_while_queued(calls):
    with open(LOG, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    served = sum(1 for r in rows if r["outcome"] == "AGENT" and r["server"].strip() != "NO_SERVER")
    gave_up = sum(1 for r in rows if r["outcome"] == "HANG" and int(r["q_time"]) > 0)
    assert len(queue_population(calls)) == served + gave_up


def test_erlang_c_on_named_servers_predicts_far_fewer_waits_than_happened(report):
    errors = report.errors["erlang_c_named"]
    assert errors["bias_share_waiting"] < -0.2
    assert errors["mae_abandon_share"] == pytest.approx(report.observed["abandon_share"])  # it has no abandons


def test_erlang_a_on_effective_servers_is_closer_than_erlang_c_on_named_servers(report):
    a_eff, c_named = report.errors["erlang_a_effective"], report.errors["erlang_c_named"]
    assert a_eff["mae_share_waiting"] < 0.5 * c_named["mae_share_waiting"]
    assert a_eff["mae_abandon_share"] < 0.5 * c_named["mae_abandon_share"]
    assert a_eff["mae_mean_wait_s"] < c_named["mae_mean_wait_s"]


def test_named_servers_overstate_the_servers_really_available(report):
    assert report.observed["named_servers"] > 1.3 * report.observed["effective_servers"]


def test_the_simulation_replaying_the_log_on_effective_servers_tracks_what_happened(report):
    sim, named = report.errors["simulation_effective"], report.errors["simulation_named"]
    assert sim["mae_share_waiting"] < 0.5 * named["mae_share_waiting"]
    assert abs(sim["bias_abandon_share"]) < 0.05 and abs(sim["bias_share_waiting"]) < 0.05


def test_a_ratio_fitted_on_the_first_half_still_beats_named_servers_on_the_second(report):
    later = report.errors_second_half
    assert later["erlang_a_named_scaled"]["mae_share_waiting"] < 0.5 * later["erlang_c_named"]["mae_share_waiting"]
    assert later["erlang_a_named_scaled"]["mae_abandon_share"] < later["erlang_a_named"]["mae_abandon_share"]
