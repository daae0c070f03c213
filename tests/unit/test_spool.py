"""The agent's spool: counts per (sensor, minute), what is pending, dead letters, and what survives a crash."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sensors import spool as spool_module
from sensors.infrared import increment_from_totals
from sensors.spool import Refusal, Spool, SpoolLocked, minute_of

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 22, 9, 15, 3, tzinfo=SHANGHAI)  # 01:15 UTC


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def spool(tmp_path, clock):
    s = Spool(tmp_path / "spool.sqlite3", clock=clock)
    yield s
    s.close()


def utc_minute(h: int, m: int) -> int:
    return int(datetime(2026, 11, 22, h, m, tzinfo=timezone.utc).timestamp())


def test_increments_add_up_in_the_utc_minute_that_holds_them(spool):
    spool.add("door1-ir", T0, in_=2)
    spool.add("door1-ir", T0 + timedelta(seconds=50), in_=1, out=3)
    spool.add("door1-ir", T0 + timedelta(seconds=57), out=1)  # 09:16:00 local: the next minute
    rows = spool.pending()
    assert [(r.sensor, r.minute, r.in_, r.out) for r in rows] == [
        ("door1-ir", utc_minute(1, 15), 3, 3), ("door1-ir", utc_minute(1, 16), 0, 1)]
    assert rows[0].minute_iso() == "2026-11-22T01:15:00+00:00"


def test_a_count_without_a_time_goes_to_the_clocks_minute(spool, clock):
    spool.add("door1-cam", in_=1)
    assert spool.pending()[0].minute == utc_minute(1, 15)


def test_a_time_without_an_offset_is_refused(spool):
    with pytest.raises(ValueError):
        spool.add("door1-ir", datetime(2026, 11, 22, 9, 15), in_=1)
    assert minute_of(90.5) == 60


def test_nothing_to_add_changes_nothing(spool):
    spool.add("door1-ir", T0)
    assert spool.pending() == []


def test_a_row_sent_is_no_longer_pending(spool):
    spool.add("door1-ir", T0, in_=1)
    spool.mark_sent(spool.pending())
    assert spool.pending() == []
    assert spool.totals() == {"door1-ir": (1, 0)}


def test_a_row_that_grew_while_being_sent_stays_pending_with_its_new_value(spool):
    spool.add("door1-ir", T0, in_=1)
    sent = spool.pending()
    spool.add("door1-ir", T0, in_=1)  # arrives while the post is in flight
    spool.mark_sent(sent)
    [row] = spool.pending()
    assert (row.in_, row.version) == (2, 2)


def test_acknowledging_an_older_version_never_undoes_a_newer_one(spool):
    spool.add("door1-ir", T0, in_=1)
    old = spool.pending()
    spool.add("door1-ir", T0, in_=1)
    new = spool.pending()
    spool.mark_sent(new)
    spool.mark_sent(old)
    assert spool.pending() == []


def test_pending_is_oldest_first_limited_and_can_leave_rows_out(spool):
    for minute in range(5):
        spool.add("b", T0 + timedelta(minutes=minute), in_=1)
        spool.add("a", T0 + timedelta(minutes=minute), in_=1)
    rows = spool.pending(limit=3)
    assert [(r.sensor, r.minute) for r in rows] == [("a", utc_minute(1, 15)), ("b", utc_minute(1, 15)),
                                                    ("a", utc_minute(1, 16))]
    assert [r.key for r in spool.pending(limit=2, skip=[rows[0].key])] == [rows[1].key, rows[2].key]
    assert {r.sensor for r in spool.pending(skip_sensors=["a"])} == {"b"}
    assert spool.pending_summary() == (10, 2, utc_minute(1, 15))


def test_a_message_id_counts_once_even_after_a_restart(tmp_path, clock):
    path = tmp_path / "spool.sqlite3"
    with Spool(path, clock=clock) as s:
        assert s.add_message("door1-ir", "m1", T0, in_=2)
        assert not s.add_message("door1-ir", "m1", T0, in_=2)
        assert s.add_message("door2-ir", "m1", T0, in_=1)  # ids are per sensor
    with Spool(path, clock=clock) as s:
        assert not s.add_message("door1-ir", "m1", T0, in_=2)
        assert s.totals() == {"door1-ir": (2, 0), "door2-ir": (1, 0)}


def test_only_the_latest_message_ids_of_a_sensor_are_remembered(spool, monkeypatch):
    monkeypatch.setattr(spool_module, "MESSAGE_IDS_KEPT", 50)
    monkeypatch.setattr(spool_module, "_PRUNE_IDS_EVERY", 10)
    for n in range(200):
        spool.add_message("door1-ir", f"m{n}", T0, in_=1)
    spool.add_message("door2-ir", "m0", T0, in_=1)
    assert not spool.add_message("door1-ir", "m199", T0, in_=1)
    assert not spool.add_message("door1-ir", "m150", T0, in_=1)
    assert spool.add_message("door1-ir", "m0", T0, in_=1)  # long forgotten
    assert not spool.add_message("door2-ir", "m0", T0, in_=1)  # another sensor's ids are kept


def test_cumulative_totals_count_their_differences_and_survive_a_restart(tmp_path, clock):
    path = tmp_path / "spool.sqlite3"
    with Spool(path, clock=clock) as s:
        assert s.add_totals("door1-ir", 1000, 900, increment_from_totals, T0) == (0, 0)  # the starting point
        assert s.add_totals("door1-ir", 1003, 901, increment_from_totals, T0) == (3, 1)
    with Spool(path, clock=clock) as s:
        assert s.add_totals("door1-ir", 1003, 901, increment_from_totals, T0) == (0, 0)  # a repeat
        assert s.add_totals("door1-ir", 2, None, increment_from_totals, T0) == (2, 0)  # restarted; out not sent
        assert s.add_totals("door1-ir", 4, 903, increment_from_totals, T0) == (2, 2)
        assert s.totals() == {"door1-ir": (7, 3)}


def test_a_dead_letter_keeps_the_minutes_whole_count_and_can_be_sent_again(spool, clock):
    spool.add("ghost", T0, in_=2)
    refused = spool.pending()
    spool.add("ghost", T0, in_=1)  # counted after the post was read
    spool.dead_letter(refused, Refusal(422, "invalid", "counts[0].sensor", "no sensor 'ghost'"))
    assert spool.pending() == []
    spool.add("ghost", T0, out=1)  # a later count of the same minute
    spool.dead_letter(spool.pending(), Refusal(422, "invalid", "counts[0].sensor", "no sensor 'ghost'"))
    [dead] = spool.dead_letters()
    assert (dead.sensor, dead.in_, dead.out, dead.status, dead.field) == ("ghost", 3, 1, 422, "counts[0].sensor")
    assert spool.requeue_dead_letters() == 1
    assert spool.dead_letters() == []
    [row] = spool.pending()
    assert (row.in_, row.out) == (3, 1)


def test_pruning_forgets_only_delivered_rows_older_than_the_limit(spool, clock):
    spool.add("a", T0 - timedelta(days=8), in_=1)
    spool.add("b", T0 - timedelta(days=8), in_=1)
    spool.add("a", T0, in_=1)
    spool.mark_sent([r for r in spool.pending() if r.sensor == "a"])
    assert spool.prune(keep_days=7) == 1
    assert sorted((r.sensor, r.minute < clock()) for r in spool.rows()) == [("a", True), ("b", True)]


def test_counts_from_many_threads_all_arrive(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite3", synchronous="OFF")  # the locking is under test, not the disk

    def count():
        for _ in range(300):
            spool.add("door1-cam", T0, in_=1)

    threads = [threading.Thread(target=count) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert spool.totals() == {"door1-cam": (1800, 0)}
    assert spool.pending()[0].version == 1800
    spool.close()


def test_only_one_process_delivers_from_a_spool(tmp_path):
    first = Spool(tmp_path / "spool.sqlite3")
    first.lock_for_delivery()
    second = Spool(tmp_path / "spool.sqlite3")
    with pytest.raises(SpoolLocked):
        second.lock_for_delivery()
    first.close()
    second.lock_for_delivery()
    second.close()


_COUNTER = """
import sys
from sensors.spool import Spool
s = Spool(sys.argv[1])
n = 0
while True:
    s.add("door1-cam", None, in_=1)
    n += 1
    print(n, flush=True)
"""


def test_every_committed_count_survives_a_kill_9(tmp_path):
    path = tmp_path / "spool.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", _COUNTER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 20
        last = 0
        while last < 200 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            last = int(line)
        os.kill(proc.pid, signal.SIGKILL)
        # counts it committed after the last line we read are kept too: read them all
        for line in proc.stdout:
            last = int(line)
    finally:
        proc.kill()
        proc.wait()
    assert last >= 200, "the counter process did not get going"
    with Spool(path) as s:
        counted = sum(r.in_ for r in s.rows())
    assert last <= counted <= last + 1  # at most the add in progress at the kill is unaccounted for
