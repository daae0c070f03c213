"""The live role's garbage collection: one full collection a night, none by itself."""
import gc
import logging
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from app.ops import gc_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_next_night_from_the_afternoon():
    now = datetime(2026, 12, 5, 15, 30, tzinfo=SHANGHAI)
    assert gc_policy.seconds_until(now, time(4, 0)) == 12.5 * 3600


def test_later_the_same_night():
    now = datetime(2026, 12, 5, 1, 0, 30, tzinfo=SHANGHAI)
    assert gc_policy.seconds_until(now, time(4, 0)) == 3 * 3600 - 30


def test_exactly_at_the_time_waits_a_day():
    now = datetime(2026, 12, 5, 4, 0, tzinfo=SHANGHAI)
    assert gc_policy.seconds_until(now, time(4, 0)) == 24 * 3600


def test_bad_setting_names_itself():
    with pytest.raises(ValueError, match="LIVE_FULL_GC_AT"):
        gc_policy.parse_at("4 o'clock")
    assert gc_policy.parse_at("03:15") == time(3, 15)


def test_holding_stops_full_collections_and_nightly_collects_cycles(caplog):
    caplog.set_level(logging.INFO, logger="hallq.live")
    before = gc.get_threshold()
    try:
        gc_policy.hold_full_collections()
        gc.disable()  # no young collection either, so that only the night's frees the cycles
        assert gc.get_threshold()[2] == gc_policy.NEVER
        assert gc.get_threshold()[:2] == before[:2]

        class Node:
            pass

        for _ in range(100):  # cycles only the collector frees
            a, b = Node(), Node()
            a.other, b.other = b, a
        del a, b
        slept = []
        clock = iter([datetime(2026, 12, 5, 3, 0, tzinfo=SHANGHAI)])
        gc_policy.nightly(time(4, 0), SHANGHAI, slept.append, now=lambda: next(clock), rounds=1)
        assert slept == [3600.0]
        freed = [r.args["freed"] for r in caplog.records if "nightly full collection" in r.getMessage()]
        assert len(freed) == 1 and freed[0] >= 200
    finally:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*before)
