"""Forecasts, counter plans and peak warnings on SQLite and PostgreSQL, through services and the API.

The world's halls are open all day. History: six weeks of arrivals with a rush from 10:00
to 11:00 (Shanghai) for service A. The clock starts Monday 2026-11-23 09:20 in Shanghai,
forty minutes before the rush.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app import create_app
from app.bootstrap import bootstrap
from app.domain import events as ev
from app.services import config, leases, peaks, planning, queue
from app.storage.orm import ArrivalSlot, CounterPlan, ForecastSlot, PeakWarning

from ..conftest import FAST_HASH
from ..world import bearer, build_world, staff_token

SHANGHAI = timezone(timedelta(hours=8))
START = datetime(2026, 11, 23, 9, 20, tzinfo=SHANGHAI)


def rate(local: datetime, prefix: str) -> float:
    rush = 10 <= local.hour < 11
    if prefix == "A":
        return 22.0 if rush else (2.0 if 8 <= local.hour < 20 else 0.1)
    return 1.0 if 8 <= local.hour < 20 else 0.05


def history(world_hall, weeks: int = 6, seed: int = 5) -> list[tuple[int, datetime, int]]:
    rng = random.Random(seed)
    rows = []
    day = START.date() - timedelta(weeks=weeks)
    while day < START.date():
        at = datetime.combine(day, time(0), tzinfo=SHANGHAI)
        while at.date() == day:
            for prefix, service_id in world_hall.services.items():
                lam = rate(at, prefix)
                rows.append((service_id, at, int(sum(1 for _ in range(200) if rng.random() < lam / 200))))
            at += timedelta(minutes=15)
        day += timedelta(days=1)
    return rows


@pytest.fixture
def env(database_url, clock):
    clock.now = START.astimezone(timezone.utc)
    rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    world = build_world(rt)
    config.update_hall(rt, world.one.id, {"opened_on": "2026-09-01"})
    planning.import_arrival_history(rt, world.one.id, history(world.one))
    seen: list[ev.Event] = []
    rt.bus.subscribe(seen.append)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt})
    yield rt, world, app.test_client(), seen
    rt.engine.dispose()


def manager(rt, world, n=1):
    return bearer(staff_token(rt, world.staff[f"m{n}"]))


def open_counter(rt, world, number: int, staff: str = "s1"):
    queue.open_counter(rt, world.one.counters[number], world.staff[staff])


def test_the_forecast_covers_today_and_tomorrow_and_sees_the_rush(env):
    rt, world, client, _ = env
    summary = planning.forecast_hall(rt, world.one.id)
    assert summary["days"] == ["2026-11-23", "2026-11-24"] and summary["slots"] == 2 * 96
    assert summary["history_days"] == 42
    body = client.get(f"/api/v1/halls/{world.one.id}/forecast", headers=manager(rt, world)).get_json()
    slots = {s["slot"][11:16]: s for s in body["slots"]}
    assert len(slots) == 96
    assert all(s["p10"] <= s["p50"] <= s["p90"] for s in body["slots"])
    assert slots["10:15"]["p90"] > 3 * slots["15:15"]["p90"]
    assert slots["10:15"]["needed"] == 3 > slots["03:00"]["needed"] == 1  # capped at the hall's 3 counters
    assert slots["10:15"]["mean"] == pytest.approx(26, rel=0.35)  # A's 22 + B's 1 + C's 1, noisy
    by_service = {s["id"]: s for s in body["services"]}
    a = {p["slot"][11:16]: p for p in by_service[world.one.services["A"]]["slots"]}
    assert a["10:15"]["mean"] > 0.7 * slots["10:15"]["mean"]


def test_the_plan_opens_more_counters_around_the_rush_in_blocks_within_the_hall_limits(env):
    rt, world, client, _ = env
    config.update_hall(rt, world.one.id, {"staffing": {"min_counters": 1, "min_shift_minutes": 60}})
    planning.forecast_hall(rt, world.one.id)
    body = client.get(f"/api/v1/halls/{world.one.id}/forecast", headers=manager(rt, world)).get_json()
    planned = {s["slot"][11:16]: s["planned"] for s in body["slots"]}
    assert planned["10:15"] == 3 and planned["03:00"] == 1  # the world's halls have 3 counters
    assert all(1 <= n <= 3 for n in planned.values())
    for shift in body["plan"]["shifts"]:
        start, end = (datetime.strptime(shift[k], "%H:%M") for k in ("from", "to"))
        assert (end - start) >= timedelta(minutes=60) or shift["to"] == "00:00"
    with rt.reader() as tx:
        assert tx.session.execute(select(func.count()).select_from(CounterPlan)).scalar_one() == 2


def test_a_closed_day_has_no_forecast_and_history_ignores_closed_slots(env):
    rt, world, client, _ = env
    hours = {d: [["08:00", "20:00"]] for d in ("mon", "wed", "thu", "fri", "sat", "sun")}  # closed on Tuesday
    config.update_hall(rt, world.one.id, {"opening_hours": hours})
    summary = planning.forecast_hall(rt, world.one.id)
    assert summary["slots"] == 48  # Monday 08:00-20:00 only; Tuesday closed
    body = client.get(f"/api/v1/halls/{world.one.id}/forecast?date=2026-11-24", headers=manager(rt, world))
    assert body.get_json()["slots"] == [] and body.get_json()["plan"] is None


def test_a_holiday_closure_has_no_forecast_and_no_counters_planned(env):
    rt, world, client, _ = env
    config.update_hall(rt, world.one.id, {"closures": [{"date": "2026-11-24", "note": "设备检修"}]})
    summary = planning.forecast_hall(rt, world.one.id)
    assert summary["slots"] == 96  # Monday only: Tuesday is a closure whatever its weekday hours say
    body = client.get(f"/api/v1/halls/{world.one.id}/forecast?date=2026-11-24", headers=manager(rt, world))
    assert body.get_json()["slots"] == [] and body.get_json()["plan"] is None


def test_yesterdays_tickets_are_rolled_up_once_into_the_history(env):
    rt, world, _, _ = env
    clock = rt.clock
    clock.now = datetime(2026, 11, 22, 14, 5, tzinfo=SHANGHAI).astimezone(timezone.utc)
    with pytest.raises(Exception):  # Sunday the 22nd is already in the imported history
        planning.import_arrival_history(rt, world.one.id, [(world.one.services["A"], clock.now, 1)])
    hall2 = world.two
    for _ in range(3):
        queue.issue_ticket(rt, hall2.id, hall2.services["B"])
    clock.now = START.astimezone(timezone.utc)
    assert planning.roll_up_arrivals(rt, hall2.id) == 1
    assert planning.roll_up_arrivals(rt, hall2.id) == 0
    with rt.reader() as tx:
        rows = tx.session.execute(select(ArrivalSlot.slot, ArrivalSlot.arrivals).where(
            ArrivalSlot.hall_id == hall2.id)).all()
    assert [(r.slot.astimezone(SHANGHAI).strftime("%d %H:%M"), r.arrivals) for r in rows] == [("22 14:00", 3)]


def test_a_forecast_warning_is_raised_once_pushed_and_resolved_when_counters_open(env):
    rt, world, client, seen = env
    open_counter(rt, world, 1)
    planning.forecast_hall(rt, world.one.id)
    first = peaks.check_forecast(rt, world.one.id)
    assert first["raised"] >= 1
    again = peaks.check_forecast(rt, world.one.id)
    assert again == {"raised": 0, "updated": 0, "resolved": 0}
    body = client.get(f"/api/v1/halls/{world.one.id}/warnings", headers=manager(rt, world)).get_json()
    a = [w for w in body["warnings"] if w["service_id"] == world.one.services["A"]]
    assert len(a) == 1 and a[0]["kind"] == "forecast" and a[0]["counters_open"] == 1
    assert "请在10:00前为业务A增开" in a[0]["message_zh"]
    raised = [e for e in seen if isinstance(e, ev.PeakWarningChanged) and e.change == "raised"]
    assert len(raised) == first["raised"]
    # the manager opens every counter: nothing more can be done, the need is met at the cap
    open_counter(rt, world, 2, "t1")
    open_counter(rt, world, 3, "m1")
    result = peaks.check_forecast(rt, world.one.id)
    with rt.reader() as tx:
        standing = tx.session.execute(select(PeakWarning.counters_needed, PeakWarning.counters_open)
                                      .where(PeakWarning.resolved_at.is_(None))).all()
    assert result["resolved"] >= 1
    assert all(needed > open_ for needed, open_ in standing)


def test_a_live_warning_fires_when_the_wait_passes_target_and_the_manager_acknowledges_it(env):
    rt, world, client, seen = env
    open_counter(rt, world, 1)
    for _ in range(12):  # A: 2 minutes each at one counter: 24 minutes, target 10
        queue.issue_ticket(rt, world.one.id, world.one.services["A"])
    assert peaks.check_live(rt, world.one.id)["raised"] == 1
    [warning] = client.get(f"/api/v1/halls/{world.one.id}/warnings", headers=manager(rt, world)).get_json()["warnings"]
    assert warning["kind"] == "live" and warning["severity"] == "critical"
    other = client.post(f"/api/v1/warnings/{warning['id']}/acknowledge", headers=manager(rt, world, 2))
    assert other.status_code == 403
    ack = client.post(f"/api/v1/warnings/{warning['id']}/acknowledge", headers=manager(rt, world))
    assert ack.status_code == 200 and ack.get_json()["acknowledged_by"] == world.staff["m1"]
    assert client.post(f"/api/v1/warnings/{warning['id']}/acknowledge", headers=manager(rt, world)).status_code == 409
    assert [e.change for e in seen if isinstance(e, ev.PeakWarningChanged)] == ["raised", "acknowledged"]
    assert peaks.check_live(rt, world.one.id) == {"raised": 0, "updated": 0, "resolved": 0}  # acknowledged, still standing


def test_head_office_sees_every_hall_with_its_warnings_and_a_manager_does_not(env):
    rt, world, client, _ = env
    open_counter(rt, world, 1)
    for _ in range(12):
        queue.issue_ticket(rt, world.one.id, world.one.services["A"])
    peaks.check_live(rt, world.one.id)
    hq = bearer(staff_token(rt, world.staff["hq"]))
    rows = {r["code"]: r for r in client.get("/api/v1/overview", headers=hq).get_json()["halls"]}
    assert rows["H1"]["warnings"] == 1 and rows["H1"]["worst"] == "critical" and rows["H1"]["waiting"] == 12
    assert rows["H2"]["warnings"] == 0 and rows["H2"]["worst"] is None
    assert client.get("/api/v1/overview", headers=manager(rt, world)).status_code == 403


def test_bad_staffing_settings_are_refused_naming_the_field(env):
    rt, world, client, _ = env
    admin = bearer(staff_token(rt, world.staff["admin"]))
    resp = client.patch(f"/api/v1/halls/{world.one.id}", json={"staffing": {"target_share": 2}}, headers=admin)
    assert resp.status_code == 422 and "staffing.target_share" in str(resp.get_json())
    resp = client.patch(f"/api/v1/halls/{world.one.id}", json={"staffing": {"min_counters": 5, "max_counters": 2}},
                        headers=admin)
    assert resp.status_code == 422 and "staffing.min_counters" in str(resp.get_json())
    ok = client.patch(f"/api/v1/halls/{world.one.id}", json={"staffing": {"patience_s": 600}}, headers=admin)
    assert ok.status_code == 200 and ok.get_json()["staffing"]["patience_s"] == 600


def test_a_manager_can_make_the_forecast_now_but_not_for_another_hall(env):
    rt, world, client, _ = env
    resp = client.post(f"/api/v1/halls/{world.one.id}/forecast", headers=manager(rt, world))
    assert resp.status_code == 200 and resp.get_json()["slots"] == 192
    assert client.post(f"/api/v1/halls/{world.one.id}/forecast", headers=manager(rt, world, 2)).status_code == 403
    with rt.reader() as tx:
        assert tx.session.execute(select(func.count()).select_from(ForecastSlot)).scalar_one() == 192 * 4


def test_the_intraday_update_raises_the_rest_of_the_day_after_a_busier_morning(env):
    rt, world, client, _ = env
    rt.clock.now = datetime(2026, 11, 23, 8, 0, tzinfo=SHANGHAI).astimezone(timezone.utc)
    planning.forecast_hall(rt, world.one.id)
    before = {s["slot"][11:16]: s for s in
              client.get(f"/api/v1/halls/{world.one.id}/forecast", headers=manager(rt, world)).get_json()["slots"]}
    for minute in range(0, 120, 2):  # 08:00-10:00: 16 a quarter for B, where 1 is usual
        rt.clock.now = datetime(2026, 11, 23, 8, 0, tzinfo=SHANGHAI).astimezone(timezone.utc) + timedelta(minutes=minute)
        for _ in range(2):
            queue.issue_ticket(rt, world.one.id, world.one.services["B"])
    assert planning.intraday_update(rt, world.one.id) > 0
    after = client.get(f"/api/v1/halls/{world.one.id}/forecast", headers=manager(rt, world)).get_json()["slots"]
    after = {s["slot"][11:16]: s for s in after}
    assert after["15:00"]["mean"] > before["15:00"]["mean"] and after["15:00"]["source"] == "intraday"
    assert after["07:00"]["mean"] == before["07:00"]["mean"]  # the past is left as it was forecast
    assert after["08:30"]["actual"] == 16  # 8 times 2 tickets in 08:30-08:45


def test_one_scheduler_holds_the_lease_and_another_takes_over_when_it_lapses(database_url, clock):
    rt = bootstrap(database_url, clock=clock)
    try:
        assert leases.acquire(rt, "scheduler", "a", 60)
        assert not leases.acquire(rt, "scheduler", "b", 60)
        assert leases.acquire(rt, "scheduler", "a", 60)  # renewal
        clock.advance(seconds=61)
        assert leases.acquire(rt, "scheduler", "b", 60)
        assert not leases.acquire(rt, "scheduler", "a", 60)
        leases.release(rt, "scheduler", "b")
        assert leases.acquire(rt, "scheduler", "a", 60)
    finally:
        rt.engine.dispose()


def test_two_racing_checks_raise_one_warning(env):
    rt, world, _, _ = env
    open_counter(rt, world, 1)
    for _ in range(12):
        queue.issue_ticket(rt, world.one.id, world.one.services["A"])
    import threading

    results = []
    threads = [threading.Thread(target=lambda: results.append(peaks.check_live(rt, world.one.id))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["raised"] for r in results) == 1
    with rt.reader() as tx:
        assert tx.session.execute(select(func.count()).select_from(PeakWarning)).scalar_one() == 1



def test_with_appointments_the_plan_covers_the_booking_horizon_and_plans_counters_for_what_is_booked(env):
    """Issue 18: the nightly forecast plans every bookable day, and the counters booked appointments need."""
    from app.storage.orm import AppointmentSlot

    rt, world, client, _ = env
    hall = world.one.id
    config.update_hall(rt, hall, {"staffing": {"min_counters": 1, "min_shift_minutes": 15},
                                  "booking": {"enabled": True, "horizon_days": 3, "slot_minutes": 30}})
    summary = planning.forecast_hall(rt, hall)
    assert summary["days"] == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"]
    quiet = datetime(2026, 11, 24, 3, 0, tzinfo=SHANGHAI)  # 03:00: one counter planned, nobody forecast

    def planned_at(at: datetime) -> int:
        with rt.reader() as tx:
            plan = tx.session.get(CounterPlan, (hall, date(2026, 11, 24)))
            return planning.planned_by_slot(plan)[at.astimezone(timezone.utc)]

    assert planned_at(quiet) == 1
    with rt.uow() as tx:  # 3,600 counter-seconds booked in the 30-minute slot from 03:00: 2,400 s per 15 minutes
        tx.session.add(AppointmentSlot(hall_id=hall, slot_start=quiet.astimezone(timezone.utc), booked_s=3600.0))
        tx.commit()
    planning.forecast_hall(rt, hall)
    assert planned_at(quiet) == 3  # 1 for the walk-ins + ceil(1,800 / 900) = 2 for the bookings
    assert planned_at(quiet + timedelta(minutes=15)) == 3
    assert planned_at(quiet + timedelta(minutes=30)) == 1
