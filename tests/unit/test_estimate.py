"""Wait estimates: handle time blending, shared counters, the formula."""
import pytest

from app.domain.estimate import ServiceLoad, effective_counters, estimate_wait_s, recent_handle_time


def test_with_no_history_the_configured_handle_time_is_used():
    assert recent_handle_time([], 300) == 300


def test_real_handle_times_pull_the_estimate_towards_the_halls_real_pace():
    assert recent_handle_time([600] * 5, 300) == 450
    assert recent_handle_time([600] * 20, 300) == pytest.approx(540)


def test_a_forgotten_finish_does_not_wreck_the_estimate():
    assert recent_handle_time([86400], 300) == (1200 + 5 * 300) / 6


def test_only_the_twenty_most_recent_samples_count():
    assert recent_handle_time([100] * 20 + [10000] * 50, 100) == 100


def test_a_counter_shared_between_busy_services_counts_as_a_share():
    counters = [frozenset({1}), frozenset({1, 2}), frozenset({2, 3})]
    assert effective_counters(1, counters, {1: 4, 2: 3}) == 1.5
    assert effective_counters(1, counters, {1: 4}) == 2.0  # service 2 has nobody waiting
    assert effective_counters(3, counters, {2: 1}) == 0.5


def test_nobody_waits_when_an_idle_counter_is_free():
    assert estimate_wait_s(1, ServiceLoad(capacity=2, idle_counters=2, handle_time_s=300)) == 0


def test_the_wait_is_the_people_ahead_served_at_the_counters_pace():
    assert estimate_wait_s(4, ServiceLoad(capacity=2, idle_counters=0, handle_time_s=300)) == 675
    assert estimate_wait_s(0, ServiceLoad(capacity=1, idle_counters=0, handle_time_s=300)) == 150


def test_no_estimate_without_an_open_counter():
    assert estimate_wait_s(3, ServiceLoad(capacity=0, idle_counters=0, handle_time_s=300)) is None
