"""Service-level measures from ticket histories, against hand-computed values: the whole wait of a
transferred customer, handle time over several counters, no-shows, cancellations, tickets still open,
percentiles from the histograms, the busy hour."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.domain import kpi
from app.domain.kpi import (
    HANDLE_BINS, WAIT_BINS, Counts, Step, bin_of, busy_hour, figures, percentile, read_visit, service_taken,
)

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_plain_visit_waits_from_the_ticket_to_the_call_and_is_handled_from_start_to_finish():
    v = read_visit([Step("issued", at(0)), Step("called", at(12), 3, 7), Step("serving", at(13), 3, 7),
                    Step("finished", at(21), 3, 7, duration_s=480)])
    assert (v.outcome, v.wait_s, v.handle_s, v.transfers, v.counter_id, v.staff_id) == ("served", 720, 480, 0, 3, 7)


def test_a_remote_tickets_wait_runs_from_check_in_not_from_taking_the_number():
    v = read_visit([Step("issued", at(0)), Step("checked_in", at(40)), Step("called", at(46), 3, 7),
                    Step("finished", at(50), 3, 7, duration_s=240)])
    assert v.wait_s == 6 * 60 and v.outcome == "served"


def test_a_remote_ticket_never_checked_in_is_expired_with_no_wait():
    v = read_visit([Step("issued", at(0)), Step("expired", at(60))])
    assert v.outcome == "expired" and v.wait_s is None


def test_a_recall_does_not_lengthen_the_wait():
    v = read_visit([Step("issued", at(0)), Step("called", at(5), 1, 1), Step("recalled", at(6), 1, 1),
                    Step("serving", at(7), 1, 1), Step("finished", at(10), 1, 1, duration_s=180)])
    assert v.wait_s == 300


def test_a_transferred_customer_waits_the_sum_of_both_queues_and_is_handled_at_both_counters():
    v = read_visit([
        Step("issued", at(0)), Step("called", at(5), 1, 1), Step("serving", at(6), 1, 1),
        Step("transferred", at(10), 1, 1, duration_s=240),                 # 4 min at counter 1
        Step("called", at(13), 4, 9), Step("serving", at(14), 4, 9),       # waited 3 more minutes
        Step("finished", at(20), 4, 9, duration_s=360)])                    # 6 min at counter 4
    assert (v.outcome, v.wait_s, v.handle_s, v.transfers) == ("served", 8 * 60, 10 * 60, 1)
    assert (v.counter_id, v.staff_id) == (4, 9)  # credited to who served it last


def test_a_transferred_ticket_still_waiting_is_open_with_no_finished_wait():
    v = read_visit([Step("issued", at(0)), Step("called", at(5), 1, 1), Step("serving", at(6), 1, 1),
                    Step("transferred", at(10), 1, 1, duration_s=240)])
    assert (v.outcome, v.wait_s, v.handle_s, v.transfers) == ("open", None, 240, 1)


def test_no_shows_cancellations_expiries_and_open_tickets():
    no_show = read_visit([Step("issued", at(0)), Step("called", at(9), 2, 5), Step("recalled", at(10), 2, 5),
                          Step("no_show", at(12), 2, 5)])
    assert (no_show.outcome, no_show.wait_s, no_show.handle_s, no_show.staff_id) == ("no_show", 540, None, 5)
    cancelled = read_visit([Step("issued", at(0)), Step("cancelled", at(30))])
    assert (cancelled.outcome, cancelled.wait_s) == ("cancelled", None)
    expired = read_visit([Step("issued", at(0)), Step("expired", at(600))])
    assert (expired.outcome, expired.wait_s) == ("expired", None)
    waiting = read_visit([Step("issued", at(0))])
    assert (waiting.outcome, waiting.wait_s) == ("open", None)
    serving = read_visit([Step("issued", at(0)), Step("called", at(4), 1, 1), Step("serving", at(5), 1, 1)])
    assert (serving.outcome, serving.wait_s, serving.handle_s) == ("open", 240, None)


def test_counts_add_up_and_give_the_hand_computed_figures():
    c = Counts()
    waits = [60, 120, 300, 600, 900]  # 1, 2, 5, 10, 15 minutes; target 10 minutes
    for w in waits:
        c.add(read_visit([Step("issued", at(0)), Step("called", at(w / 60), 1, 1), Step("serving", at(w / 60), 1, 1),
                          Step("finished", at(w / 60 + 5), 1, 1, duration_s=300)]), 600)
    c.add(read_visit([Step("issued", at(0)), Step("called", at(3), 1, 1), Step("no_show", at(5), 1, 1)]), 600)
    c.add(read_visit([Step("issued", at(0)), Step("cancelled", at(20))]), 600)
    f = figures(c)
    assert (f["arrivals"], f["served"], f["no_show"], f["cancelled"], f["waited"]) == (7, 5, 1, 1, 6)
    assert f["wait_avg_s"] == pytest.approx((sum(waits) + 180) / 6)
    assert f["within_target_rate"] == pytest.approx(5 / 6)  # 15 minutes is past the target
    assert f["handle_avg_s"] == 300 and f["no_show_rate"] == pytest.approx(1 / 7)
    assert f["cancel_rate"] == pytest.approx(1 / 7)
    again = Counts.from_row(c.to_row())
    assert again == c and figures(Counts().merge(c).merge(c))["arrivals"] == 14


def test_percentiles_interpolate_within_a_bin_and_are_right_to_the_bin_width():
    bins = [0] * len(WAIT_BINS)
    for minute in range(10):  # one wait in each of the first ten 1-minute bins: 0..10 minutes, uniform
        bins[minute] += 1
    assert percentile(bins, WAIT_BINS, 0.5) == pytest.approx(300)
    assert percentile(bins, WAIT_BINS, 0.9) == pytest.approx(540)
    assert percentile([0] * len(WAIT_BINS), WAIT_BINS, 0.9) is None
    last = [0] * len(HANDLE_BINS)
    last[-1] = 4  # all past the last edge (90 min): read inside an open bin as wide as the one before
    assert HANDLE_BINS[-1] <= percentile(last, HANDLE_BINS, 0.5) <= 2 * HANDLE_BINS[-1] - HANDLE_BINS[-2]
    assert bin_of(0, WAIT_BINS) == 0 and bin_of(59.9, WAIT_BINS) == 0 and bin_of(60, WAIT_BINS) == 1
    assert bin_of(10 * 3600, WAIT_BINS) == len(WAIT_BINS) - 1


def test_the_busy_hour_is_the_one_with_most_arrivals_the_earlier_on_a_tie():
    assert busy_hour({9: 20, 10: 35, 15: 35, 16: 3}) == 10
    assert busy_hour({}) is None and busy_hour({9: 0}) is None


def test_a_day_that_ends_mid_service_keeps_the_wait_and_counts_no_handle_time():
    v = read_visit([Step("issued", at(0)), Step("called", at(6), 1, 1), Step("serving", at(7), 1, 1),
                    Step("expired", at(20), 1)])
    assert (v.outcome, v.wait_s, v.handle_s) == ("expired", 360, None)


def test_the_service_taken_is_the_one_issued_not_the_one_transferred_to():
    steps = [Step("issued", at(0), service_id=2), Step("called", at(1), 1, 1, service_id=2),
             Step("transferred", at(3), 1, 1, 60, service_id=2)]
    assert service_taken(steps, current=5) == 2 and service_taken([], current=5) == 5


def test_short_waits_read_in_seconds_from_the_ten_second_bins():
    """Issue 22: waits of a few seconds read P50 30 s and P90 54 s (the first one-minute bin's
    interpolation) when they were 4 s and 11 s."""
    from app.domain.kpi import Visit, wait_percentile

    c = Counts()
    for wait in (2, 3, 4, 4, 5, 6, 8, 9, 11, 12):
        c.add(Visit("served", wait, 60, 0, 1, 1), 600)
    f = figures(c)
    assert 0 <= f["wait_p50_s"] <= 10 and 10 <= f["wait_p90_s"] <= 20  # right to 10 s, not mid-minute
    assert percentile(c.wait_bins, WAIT_BINS, 0.5) == pytest.approx(30)  # what the one-minute bins said
    again = Counts.from_row(c.to_row())  # the roll-up row keeps them, and they add up
    assert figures(again)["wait_p50_s"] == f["wait_p50_s"]
    old_row = {k: v for k, v in c.to_row().items() if not k.startswith("f")}  # a row made before them
    assert wait_percentile(Counts.from_row(old_row), 0.5) == pytest.approx(30)  # the one-minute reading
    c.add(Visit("served", 600, 60, 0, 1, 1), 600)
    c.add(Visit("served", 700, 60, 0, 1, 1), 600)
    assert wait_percentile(c, 0.95) > 120  # above two minutes: the one-minute bins as before


def test_appointment_punctuality_counts_on_time_within_the_grace_time_and_rates_over_those_due():
    slot = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
    rows = [("checked_in", slot, slot - timedelta(minutes=30)),   # early: on time
            ("checked_in", slot, slot + timedelta(minutes=10)),   # exactly the grace time: on time
            ("checked_in", slot, slot + timedelta(minutes=10, seconds=1)),  # a second more: late
            ("no_show", slot, None), ("cancelled", slot, None), ("booked", slot, None)]
    got = kpi.punctuality(rows, grace_s=600)
    assert got == {"booked": 6, "on_time": 2, "late": 1, "no_show": 1, "cancelled": 1, "pending": 1,
                   "on_time_rate": 2 / 4, "no_show_rate": 1 / 4}
    assert kpi.punctuality([], 600) == {"booked": 0, "on_time": 0, "late": 0, "no_show": 0, "cancelled": 0,
                                        "pending": 0, "on_time_rate": None, "no_show_rate": None}
    only_cancelled = kpi.punctuality([("cancelled", slot, None)], 600)
    assert only_cancelled["booked"] == 1 and only_cancelled["on_time_rate"] is None
