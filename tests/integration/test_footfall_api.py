"""Door counts over HTTP, on SQLite and PostgreSQL: ingestion, idempotence, bad batches, occupancy, roll-ups.

The clock starts Monday 2026-11-23 10:00 in Shanghai (02:00 UTC); the world's halls
are open all day, so occupancy counts from local midnight.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app import create_app
from app.bootstrap import bootstrap
from app.extensions import socketio
from app.services import auth, config, footfall, queue
from app.storage.orm import FootfallHour, FootfallMinute

from ..conftest import FAST_HASH
from ..world import bearer, build_world, staff_token

SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
def env(database_url, clock):
    rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    world = build_world(rt)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt})
    yield rt, world, app.test_client(), app
    rt.engine.dispose()


def minute(clock, back: int = 0) -> str:
    """The clock's current minute (or ``back`` minutes earlier), in Shanghai time."""
    at = clock.now.replace(second=0, microsecond=0) - timedelta(minutes=back)
    return at.astimezone(SHANGHAI).isoformat()


def post(client, token, *counts):
    return client.post("/api/v1/footfall/counts", json={"counts": list(counts)}, headers=bearer(token))


def day(client, rt, world, hall=None, **query):
    hall = hall or world.one
    resp = client.get(f"/api/v1/halls/{hall.id}/footfall", query_string=query,
                      headers=bearer(staff_token(rt, world.staff["m1" if hall is world.one else "m2"])))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def stored_rows(rt):
    with rt.reader() as tx:
        minutes = tx.session.execute(select(func.count(), func.coalesce(func.sum(FootfallMinute.in_count), 0),
                                            func.coalesce(func.sum(FootfallMinute.out_count), 0))).one()
        hours = tx.session.execute(select(func.coalesce(func.sum(FootfallHour.in_count), 0),
                                          func.coalesce(func.sum(FootfallHour.out_count), 0))).one()
    return tuple(minutes), tuple(hours)


def test_a_batch_is_stored_and_shows_as_the_days_counts_and_live_occupancy(env, clock):
    rt, world, client, _app = env
    token = world.one.tokens["sensor"]
    resp = post(client, token,
                {"sensor": "door", "minute": minute(clock, 30), "in": 5, "out": 0},
                {"sensor": "door", "minute": minute(clock, 20), "in": 3, "out": 2},
                {"sensor": "door", "minute": minute(clock, 1), "in": 1, "out": 4})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"stored": 3, "replaced": 0, "unchanged": 0}

    figures = day(client, rt, world)
    assert (figures["in"], figures["out"], figures["occupancy"]) == (9, 6, 3)
    assert figures["date"] == "2026-11-23"
    # 09:30 and 09:40 share the 15-minute slot from 09:30; 09:59 is in the one from 09:45
    assert [(s["start"][11:16], s["in"], s["out"], s["occupancy"]) for s in figures["series"]] == [
        ("09:30", 8, 2, 6), ("09:45", 1, 4, 3)]
    assert [s["start"][11:16] for s in day(client, rt, world, interval="5")["series"]] == [
        "09:30", "09:35", "09:40", "09:45", "09:50", "09:55"]
    door = figures["sensors"][0]
    assert door["code"] == "door" and door["today"] == {"in": 9, "out": 6} and door["stale"] is False

    load = queue.hall_snapshot(rt, world.one.id)["load"]
    assert (load["occupancy"], load["in"], load["out"], load["state"]) == (3, 9, 6, "idle")
    assert stored_rows(rt) == ((3, 9, 6), (9, 6))


def test_a_retry_changes_nothing_and_a_grown_minute_replaces_the_earlier_report(env, clock):
    rt, world, client, _app = env
    token = world.one.tokens["sensor"]
    batch = [{"sensor": "door", "minute": minute(clock, 2), "in": 2, "out": 1},
             {"sensor": "door", "minute": minute(clock, 0), "in": 1, "out": 0}]
    assert post(client, token, *batch).get_json() == {"stored": 2, "replaced": 0, "unchanged": 0}
    assert post(client, token, *batch).get_json() == {"stored": 0, "replaced": 0, "unchanged": 2}
    grown = {"sensor": "door", "minute": minute(clock, 0), "in": 4, "out": 1}
    assert post(client, token, grown).get_json() == {"stored": 0, "replaced": 1, "unchanged": 0}
    assert stored_rows(rt) == ((2, 6, 2), (6, 2))  # the hour holds the latest values, not their sum
    assert day(client, rt, world)["occupancy"] == 4


@pytest.mark.parametrize("entry, field, words", [
    ({"sensor": "nosuch", "in": 1, "out": 0}, "counts[1].sensor", "no sensor 'nosuch'"),
    ({"sensor": "door", "in": -1, "out": 0}, "counts[1].in", "greater than or equal to 0"),
    ({"sensor": "door", "in": 1, "out": 5000}, "counts[1].out", "less than or equal to 1000"),
    ({"sensor": "door", "in": 1, "out": 0, "minute": "2026-11-23T10:30:00+08:00"}, "counts[1].minute", "future"),
    ({"sensor": "door", "in": 1, "out": 0, "minute": "2026-11-22T23:59:00+08:00"}, "counts[1].minute",
     "before the hall opened"),
    ({"sensor": "door", "in": 1, "out": 0, "minute": "2026-11-23T09:00:30+08:00"}, "counts[1].minute", "second 0"),
    ({"sensor": "door", "in": 1, "out": 0, "minute": "2026-11-23T09:00:00"}, "counts[1].minute", "UTC offset"),
    ({"sensor": "door", "in": 1, "out": 0, "minute": "yesterday"}, "counts[1].minute", "datetime"),
    ({"sensor": "door", "in": 1, "out": 0, "minute": "SAME"}, "counts[1].minute", "also counts[0]"),
    ({"sensor": "door", "in": 1}, "counts[1].out", "required"),
    ({"sensor": "door", "in": 1, "out": 0, "extra": 1}, "counts[1].extra", "not permitted"),
])
def test_a_bad_entry_rejects_the_whole_batch_naming_it(env, clock, entry, field, words):
    rt, world, client, _app = env
    good = {"sensor": "door", "minute": minute(clock, 5), "in": 2, "out": 1}
    bad = {"minute": minute(clock, 3), **entry}
    if bad["minute"] == "SAME":
        bad["minute"] = good["minute"]
    resp = post(client, world.one.tokens["sensor"], good, bad)
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["field"] == field and words in error["message"], error
    assert stored_rows(rt) == ((0, 0, 0), (0, 0))


def test_the_batch_itself_must_be_a_non_empty_list_of_at_most_2000(env, clock):
    rt, world, client, _app = env
    token = world.one.tokens["sensor"]
    assert post(client, token).get_json()["error"]["field"] == "counts"
    many = [{"sensor": "door", "minute": minute(clock, i), "in": 1, "out": 0} for i in range(2001)]
    resp = post(client, token, *many)
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "counts"
    resp = client.post("/api/v1/footfall/counts", data="counts", headers=bearer(token))
    assert resp.status_code == 400


def test_only_the_sensors_own_device_reports_for_it(env, clock):
    rt, world, client, _app = env
    other = auth.register_device(rt, world.one.id, "sensor", "side door agent")
    footfall.register_sensor(rt, world.one.id, {"code": "side", "name_zh": "侧门", "kind": "infrared",
                                                "device_id": other["id"]})
    entry = {"sensor": "side", "minute": minute(clock, 1), "in": 1, "out": 0}
    resp = post(client, world.one.tokens["sensor"], {"sensor": "door", "minute": minute(clock, 1), "in": 1, "out": 0},
                entry)
    assert resp.status_code == 403 and resp.get_json()["error"]["field"] == "counts[1].sensor"
    assert post(client, other["token"], entry).status_code == 200
    # hall 2's agent cannot reach hall 1's sensors: to it, "door" is hall 2's own door
    post(client, world.two.tokens["sensor"], {"sensor": "door", "minute": minute(clock, 1), "in": 7, "out": 0})
    assert day(client, rt, world)["in"] == 1
    assert day(client, rt, world, world.two)["in"] == 7
    # a kiosk is not a sensor device
    assert post(client, world.one.tokens["kiosk"], entry).status_code == 403
    assert stored_rows(rt)[0][0] == 2


def test_a_retired_sensor_and_an_unknown_device_are_refused(env, clock):
    rt, world, client, _app = env
    footfall.update_sensor(rt, world.one.sensors["door"], {"active": False})
    resp = post(client, world.one.tokens["sensor"], {"sensor": "door", "minute": minute(clock), "in": 1, "out": 0})
    assert resp.status_code == 422 and "retired" in resp.get_json()["error"]["message"]
    resp = post(client, "dv_not-a-token", {"sensor": "door", "minute": minute(clock), "in": 1, "out": 0})
    assert resp.status_code == 401


def test_occupancy_never_goes_below_zero_and_restarts_each_business_day(env, clock):
    rt, world, client, _app = env
    token = world.one.tokens["sensor"]
    # staff leaving before anyone came in, then three customers, one of whom leaves
    post(client, token, {"sensor": "door", "minute": minute(clock, 9), "in": 0, "out": 4},
         {"sensor": "door", "minute": minute(clock, 8), "in": 3, "out": 0},
         {"sensor": "door", "minute": minute(clock, 7), "in": 0, "out": 1})
    assert day(client, rt, world)["occupancy"] == 2
    clock.advance(days=1)
    figures = day(client, rt, world)
    assert (figures["in"], figures["out"], figures["occupancy"]) == (0, 0, 0)
    yesterday = day(client, rt, world, date="2026-11-23")
    assert (yesterday["in"], yesterday["out"], yesterday["occupancy"]) == (3, 5, 2)


def test_occupancy_counts_from_the_halls_opening_time(env, clock):
    rt, world, client, _app = env
    config.update_hall(rt, world.one.id, {"opening_hours": {"mon": [["09:00", "18:00"]]}})
    post(client, world.one.tokens["sensor"],
         {"sensor": "door", "minute": "2026-11-23T08:40:00+08:00", "in": 6, "out": 0},  # staff arriving
         {"sensor": "door", "minute": "2026-11-23T09:10:00+08:00", "in": 2, "out": 0})
    figures = day(client, rt, world)
    assert (figures["in"], figures["occupancy"]) == (8, 2)
    assert figures["counting_from"] == "2026-11-23T09:00:00+08:00"


def test_a_reversed_sensor_swaps_its_directions_and_a_check_counter_is_left_out(env, clock):
    rt, world, client, _app = env
    footfall.update_sensor(rt, world.one.sensors["door"], {"reversed": True})
    second = footfall.register_sensor(rt, world.one.id, {
        "code": "door-ir", "name_zh": "正门红外", "kind": "infrared", "device_id": world.one.devices["sensor"],
        "in_totals": False})
    post(client, world.one.tokens["sensor"], {"sensor": "door", "minute": minute(clock, 3), "in": 1, "out": 5},
         {"sensor": "door-ir", "minute": minute(clock, 3), "in": 40, "out": 40})
    figures = day(client, rt, world)
    assert (figures["in"], figures["out"], figures["occupancy"]) == (5, 1, 4)
    ir = next(s for s in figures["sensors"] if s["id"] == second["id"])
    assert ir["today"] == {"in": 40, "out": 40} and ir["in_totals"] is False


def test_the_load_state_follows_occupancy_and_queue_with_the_halls_rules(env, clock):
    rt, world, client, _app = env
    h = world.one
    admin = bearer(staff_token(rt, world.staff["admin"]))
    resp = client.patch(f"/api/v1/halls/{h.id}", json={"load_rules": {"busy_occupancy": 10, "idle_occupancy": 2}},
                        headers=admin)
    assert resp.status_code == 200 and resp.get_json()["load_rules"]["busy_occupancy"] == 10
    resp = client.patch(f"/api/v1/halls/{h.id}", json={"load_rules": {"idle_occupancy": 10}}, headers=admin)
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "load_rules.idle_occupancy"

    post(client, h.tokens["sensor"], {"sensor": "door", "minute": minute(clock, 2), "in": 5, "out": 0})
    assert queue.hall_snapshot(rt, h.id)["load"]["state"] == "normal"
    post(client, h.tokens["sensor"], {"sensor": "door", "minute": minute(clock, 1), "in": 5, "out": 0})
    assert queue.hall_snapshot(rt, h.id)["load"]["state"] == "busy"
    post(client, h.tokens["sensor"], {"sensor": "door", "minute": minute(clock, 0), "in": 0, "out": 9})
    assert queue.hall_snapshot(rt, h.id)["load"]["state"] == "idle"
    queue.issue_ticket(rt, h.id, h.services["A"])  # someone waits and no counter is open
    assert queue.hall_snapshot(rt, h.id)["load"]["state"] == "busy"


def test_hourly_roll_ups_match_the_minutes_and_export_for_excel(env, clock):
    rt, world, client, _app = env
    token = world.one.tokens["sensor"]
    counts = [{"sensor": "door", "minute": minute(clock, m), "in": m % 4, "out": m % 3} for m in range(0, 150, 7)]
    assert post(client, token, *counts).status_code == 200
    counts[3]["in"] += 10  # a correction of one minute
    post(client, token, *counts)
    (_, in_m, out_m), (in_h, out_h) = stored_rows(rt)
    assert (in_m, out_m) == (in_h, out_h) == (sum(c["in"] for c in counts), sum(c["out"] for c in counts))
    headers = bearer(staff_token(rt, world.staff["m1"]))
    resp = client.get(f"/api/v1/halls/{world.one.id}/footfall/hourly?from=2026-11-23&to=2026-11-23", headers=headers)
    hours = resp.get_json()["hours"]
    assert [h["hour"][11:16] for h in hours] == ["07:00", "08:00", "09:00", "10:00"]
    assert sum(h["in"] for h in hours) == in_m
    resp = client.get(f"/api/v1/halls/{world.one.id}/footfall/hourly?from=2026-11-23&to=2026-11-23&format=csv",
                      headers=headers)
    text = resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv" and text.startswith("\ufeff时段 hour,进入 in,离开 out")
    assert len(text.strip().splitlines()) == 5
    bad = client.get(f"/api/v1/halls/{world.one.id}/footfall/hourly?from=2026-11-23&to=2026-11-01", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "to"


def test_pruning_drops_old_minutes_and_keeps_their_hours(env, clock):
    rt, world, client, _app = env
    post(client, world.one.tokens["sensor"], {"sensor": "door", "minute": minute(clock, 5), "in": 3, "out": 1})
    clock.advance(days=100)
    assert footfall.prune_minutes(rt, keep_days=90) == 1
    assert stored_rows(rt) == ((0, 0, 0), (3, 1))


def test_two_deliveries_of_the_same_batch_at_once_store_it_once(env, clock):
    """An agent's retry can overlap the first attempt still in flight; so can two agents' batches for one hour."""
    rt, world, client, app = env
    token = world.one.tokens["sensor"]
    batch = [{"sensor": "door", "minute": minute(clock, m), "in": 1 + m % 2, "out": m % 2} for m in range(40)]
    other = [{"sensor": "door", "minute": minute(clock, m), "in": 2, "out": 1} for m in range(40, 50)]
    results, barrier = [], threading.Barrier(6)

    def deliver(counts):
        c = app.test_client()
        barrier.wait()
        results.append(post(c, token, *counts).status_code)

    threads = [threading.Thread(target=deliver, args=(batch if i % 3 else other,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 6
    (rows, in_m, out_m), (in_h, out_h) = stored_rows(rt)
    assert rows == 50
    assert (in_m, out_m) == (in_h, out_h) == (sum(c["in"] for c in batch + other), sum(c["out"] for c in batch + other))


def test_managers_screens_hear_of_new_counts(env, clock):
    rt, world, client, app = env
    h = world.one
    screen = socketio.test_client(app, auth={"token": staff_token(rt, world.staff["m1"])})
    assert screen.is_connected()
    screen.get_received()
    post(client, h.tokens["sensor"], {"sensor": "door", "minute": minute(clock, 1), "in": 4, "out": 1})
    deadline, got = time.monotonic() + 3, []
    while time.monotonic() < deadline:
        got += screen.get_received()
        if any(m["name"] == "snapshot" and m["args"][0]["load"]["occupancy"] == 3 for m in got):
            break
        time.sleep(0.02)
    deltas = [m["args"][0] for m in got if m["name"] == "delta"]
    assert [d["event"] for d in deltas] == ["FootfallCounted"] and deltas[0]["minutes"] == 1
    assert any(m["name"] == "snapshot" and m["args"][0]["load"]["occupancy"] == 3 for m in got), got

    # new rules reach the screen too: the state and its reasons are the server's
    config.update_hall(rt, h.id, {"load_rules": {"busy_occupancy": 3, "idle_occupancy": 1}})
    deadline, got = time.monotonic() + 3, []
    while time.monotonic() < deadline and not any(
            m["name"] == "snapshot" and m["args"][0]["load"]["state"] == "busy" for m in got):
        got += screen.get_received()
        time.sleep(0.02)
    assert "HallSettingsChanged" in [m["args"][0]["event"] for m in got if m["name"] == "delta"]
    busy = next(m["args"][0]["load"] for m in got if m["name"] == "snapshot" and m["args"][0]["load"]["state"] == "busy")
    assert busy["reasons"] == [{"code": "busy_inside", "n": 3, "limit": 3}]
    screen.disconnect()
