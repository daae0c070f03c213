"""The scheduler process: jobs in a persistent store, one acting instance among several, retries.

Real processes (``python -m app.scheduler``) on a real database; a short lease so a takeover
happens within seconds.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from app import create_app, scheduler
from app.bootstrap import bootstrap

ROOT = Path(__file__).resolve().parents[2]


def start_scheduler(database_url: str, log_path: Path, ttl_s: float = 3.0) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "SCHEDULER_LEASE_TTL_S": str(ttl_s),
           "SECRET_KEY": "test", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "app.scheduler"], cwd=ROOT, env=env,
                            stdout=open(log_path, "w"), stderr=subprocess.STDOUT)


def wait_for(path: Path, needle: str, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if needle in path.read_text(encoding="utf-8", errors="replace"):
            return True
        time.sleep(0.2)
    return False


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_two_schedulers_one_acts_and_the_other_takes_over_when_it_stops(database_url, tmp_path):
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_scheduler(database_url, first_log)
    try:
        assert wait_for(first_log, "holds the lease"), first_log.read_text()
        second = start_scheduler(database_url, second_log)
        try:
            assert wait_for(second_log, "on standby"), second_log.read_text()
            assert "holds the lease" not in second_log.read_text()
            stop(first)  # a clean stop gives the lease up: the standby takes over at its next renewal
            assert "stopped" in first_log.read_text()
            assert wait_for(second_log, "holds the lease", timeout_s=10), second_log.read_text()
        finally:
            stop(second)
    finally:
        stop(first)


def test_a_killed_scheduler_is_replaced_once_its_lease_lapses(database_url, tmp_path):
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_scheduler(database_url, first_log)
    second = None
    try:
        assert wait_for(first_log, "holds the lease"), first_log.read_text()
        second = start_scheduler(database_url, second_log)
        assert wait_for(second_log, "on standby"), second_log.read_text()
        stop(first, signal.SIGKILL)  # no release: the lease must run out (3 s)
        assert wait_for(second_log, "holds the lease", timeout_s=15), second_log.read_text()
    finally:
        stop(first, signal.SIGKILL)
        if second is not None:
            stop(second)


def test_the_jobs_are_kept_in_the_database_and_survive_a_restart(database_url):
    rt = bootstrap(database_url)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt})
    try:
        first = scheduler.build_scheduler(app)
        first.start(paused=True)
        first.shutdown(wait=False)
        with create_engine(database_url).connect() as conn:
            ids = set(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
        assert {"forecast_nightly", "forecast_intraday", "peak_check", "expire_past_days",
                "prune_footfall"} <= ids
        again = scheduler.build_scheduler(app)  # replace_existing: the same jobs, not twice
        again.start(paused=True)
        assert {j.id for j in again.get_jobs(jobstore="default")} == ids
        assert "forecast_at_start" not in ids  # run-once start-up jobs are not kept
        again.shutdown(wait=False)
    finally:
        rt.engine.dispose()


def test_a_hall_whose_job_fails_is_logged_and_retried_from_the_store(database_url, caplog, monkeypatch):
    rt = bootstrap(database_url)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt})
    sched = scheduler.build_scheduler(app)
    sched.start(paused=True)
    monkeypatch.setattr(scheduler, "_app", app)
    monkeypatch.setattr(scheduler, "_scheduler", sched)
    try:
        def broken(_rt, hall_id):
            raise RuntimeError(f"hall {hall_id} is broken")

        scheduler._each_hall("peak_check", broken, hall_ids=[41])
        assert "peak_check failed for hall 41" in caplog.text
        job = sched.get_job("retry:peak_check:41")
        assert job is not None and job.args == ("peak_check", 41, 0)
        with create_engine(database_url).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM apscheduler_jobs WHERE id = 'retry:peak_check:41'")
                                ).scalar_one() == 1
    finally:
        sched.shutdown(wait=False)
        rt.engine.dispose()


@pytest.mark.parametrize("attempt", [0, 1])
def test_a_failed_retry_is_scheduled_again_until_the_last(attempt, monkeypatch, caplog):
    calls = []

    class FakeScheduler:
        def add_job(self, func, trigger, **kw):
            calls.append(kw["args"])

    monkeypatch.setattr(scheduler, "_scheduler", FakeScheduler())
    monkeypatch.setitem(scheduler._RETRYABLE, "peak_check", lambda rt, h: (_ for _ in ()).throw(RuntimeError("down")))
    monkeypatch.setattr(scheduler, "_rt", lambda: None)
    scheduler.retry_hall("peak_check", 7, attempt)
    assert calls == [["peak_check", 7, attempt + 1]]
    scheduler.retry_hall("peak_check", 7, len(scheduler.RETRY_MINUTES) - 1)
    assert len(calls) == 1 and "giving up" in caplog.text


def test_the_nightly_forecast_runs_in_worker_processes_and_plans_every_due_hall(database_url, clock, monkeypatch,
                                                                               caplog):
    """Hundreds of halls are CPU work: FORECAST_WORKERS processes share them (real processes here).

    On the test's clock (10:00 in Shanghai), not the wall clock: in the nightly hour every hall is
    due again, which would make the second run below plan again (it failed 02:00-03:00 Beijing time).
    """
    import logging

    from app.storage.orm import CounterPlan

    from ..world import build_world

    rt = bootstrap(database_url, clock=clock)
    world = build_world(rt)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt,
                      "FORECAST_WORKERS": 2, "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef"})
    monkeypatch.setattr(scheduler, "_app", app)
    caplog.set_level(logging.INFO, logger="hallq.scheduler")
    try:
        scheduler.forecast_nightly()
        assert "(2 workers)" in caplog.text
        with rt.reader() as tx:
            planned = {h for (h,) in tx.session.execute(select(CounterPlan.hall_id).distinct())}
        assert planned == {hall.id for hall in world.halls}
        caplog.clear()
        scheduler.forecast_nightly()  # planned today: nothing is due, nothing runs again
        assert "hall(s) forecast and planned" not in caplog.text
    finally:
        rt.engine.dispose()


def test_the_nightly_jobs_run_at_the_head_offices_hours_whatever_the_servers_zone(app):
    """03:17 in Shanghai is written as 03:17 in Shanghai, not as 19:17 UTC with a comment."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    sched = scheduler.build_scheduler(app)
    shanghai = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 12, 6, 12, 0, tzinfo=shanghai)
    nightly = {"prune_footfall": (3, 17), "purge_sms_numbers": (3, 37), "rebuild_satisfaction": (4, 7),
               "satisfaction_reports": (5, 17), "service_level_reports": (5, 27)}
    for job_id, (hour, minute) in nightly.items():
        trigger = sched.get_job(job_id).trigger
        assert str(trigger.timezone) == "Asia/Shanghai"
        assert {f.name: str(f) for f in trigger.fields}["hour"] == str(hour), job_id  # as people say it
        fire = trigger.get_next_fire_time(None, at)
        assert fire.astimezone(shanghai).replace(tzinfo=None) == datetime(2026, 12, 7, hour, minute), job_id
