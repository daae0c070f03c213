#!/usr/bin/env python3
"""Door-count ingestion benchmark: the production web process taking batches from many edge agents.

    python bench/footfall_ingest_bench.py [--agents 8] [--sensors 4] [--batch 60] [--seconds 10]
                                          [--database-url URL]

1. A fresh database (temporary SQLite, or a PostgreSQL database whose name contains
   "bench", dropped and recreated), migrated, with the demo data; the web process
   started as the Procfile declares it (see bench/queue_bench.py, whose helpers this uses).
2. Setup over the admin API: the demo halls' opening day moved a year back, and per
   agent one sensor device with ``--sensors`` door sensors.
3. Phases, ``--seconds`` each, ``--agents`` client processes:
   - ``healthz``: GET /healthz, the reference in the same run (the ratio holds on a
     noisy machine where absolute rates do not);
   - ``catch_up``: each agent posts batches of ``--batch`` minutes per sensor, new
     minutes walking back in time: an agent delivering its spool after an outage;
   - ``live``: each agent posts its sensors' current minute again and again with a
     growing count (replacements): agents on their 10-second cycle;
   - ``retry``: the same catch-up batch posted again (all ``unchanged``).
4. Checks afterwards: every minute row stored once, hourly roll-ups equal to the sum
   of the minutes.

"Counts" below are sensor-minutes (one row of a batch). Progress on stderr; the last
line on stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from queue_bench import (  # noqa: E402 - the shared server and database helpers
    DEMO_PASSWORD, ROOT, Server, api, cpu_model, git_commit, log, migrate_and_load_demo, prepare_database,
    procfile_web_command, sign_in, tool_env,
)

SHANGHAI = timezone(timedelta(hours=8))


def set_up_agents(base: str, agents: int, sensors: int) -> list[dict]:
    """One sensor device per agent, each with its sensors; returns [{"token", "codes"}]."""
    admin = requests.Session()
    admin.headers["Authorization"] = "Bearer " + sign_in(base, "admin", DEMO_PASSWORD)
    halls = api(admin, "GET", base + "/api/v1/halls")["halls"]
    opened = (datetime.now(SHANGHAI) - timedelta(days=370)).date().isoformat()
    for hall in halls:
        api(admin, "PATCH", f"{base}/api/v1/halls/{hall['id']}", json={"opened_on": opened})
    out = []
    for a in range(agents):
        hall = halls[a % len(halls)]
        device = api(admin, "POST", f"{base}/api/v1/halls/{hall['id']}/devices",
                     json={"kind": "sensor", "name": f"bench agent {a}"})
        codes = []
        for n in range(sensors):
            code = f"a{a}-door{n}"
            api(admin, "POST", f"{base}/api/v1/halls/{hall['id']}/sensors",
                json={"code": code, "name_zh": f"压测门{a}-{n}", "kind": "camera" if n % 2 == 0 else "infrared",
                      "device_id": device["id"]})
            codes.append(code)
        out.append({"token": device["token"], "codes": codes})
    admin.close()
    return out


def agent_loop(args: tuple) -> dict:
    phase, base, agent, batch, seconds, index = args
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + agent["token"]
    now = datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    posts = rows = errors = 0
    latencies = []
    stop_at = time.monotonic() + seconds
    step = 0
    while time.monotonic() < stop_at:
        if phase == "healthz":
            t0 = time.perf_counter()
            ok = s.get(base + "/healthz", timeout=30).status_code == 200
            latencies.append(time.perf_counter() - t0)
            posts += 1
            errors += not ok
            continue
        if phase == "live":
            minutes = [now]
            body = [{"sensor": c, "minute": now.isoformat(), "in": 1 + step % 900, "out": step % 700}
                    for c in agent["codes"]]
        else:  # catch_up and retry: the phase's batches walk back from yesterday
            first = now - timedelta(days=1, minutes=(step + 1) * batch)
            minutes = [first + timedelta(minutes=m) for m in range(batch)]
            body = [{"sensor": c, "minute": m.isoformat(), "in": (m.minute + i) % 5, "out": (m.minute + i) % 4}
                    for i, c in enumerate(agent["codes"]) for m in minutes]
        t0 = time.perf_counter()
        resp = s.post(base + "/api/v1/footfall/counts", json={"counts": body}, timeout=60)
        latencies.append(time.perf_counter() - t0)
        posts += 1
        if resp.status_code == 200:
            rows += len(body)
        else:
            errors += 1
            if errors <= 3:
                print(f"agent {index}: {resp.status_code} {resp.text[:200]}", file=sys.stderr)
        step += 1
    s.close()
    return {"posts": posts, "rows": rows, "errors": errors, "latencies": latencies, "steps": step}


def run_phase(pool, phase: str, base: str, agents: list[dict], batch: int, seconds: float) -> dict:
    log(f"{phase}: {len(agents)} agents for {seconds:.0f} s")
    t0 = time.monotonic()
    results = pool.map(agent_loop, [(phase, base, a, batch, seconds, i) for i, a in enumerate(agents)])
    wall = time.monotonic() - t0
    lat = sorted(x for r in results for x in r["latencies"])
    posts, rows = sum(r["posts"] for r in results), sum(r["rows"] for r in results)
    out = {"posts": posts, "posts_per_s": round(posts / seconds, 1), "rows": rows,
           "counts_per_s": round(rows / seconds), "errors": sum(r["errors"] for r in results),
           "p50_ms": round(1000 * lat[len(lat) // 2], 1) if lat else None,
           "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1) if lat else None,
           "wall_s": round(wall, 1)}
    log(f"{phase}: {out}")
    return out


def integrity(database_url: str) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        minutes = conn.execute(text("SELECT COUNT(*), COALESCE(SUM(in_count),0), COALESCE(SUM(out_count),0) "
                                    "FROM footfall_minutes")).one()
        hours = conn.execute(text("SELECT COALESCE(SUM(in_count),0), COALESCE(SUM(out_count),0) "
                                  "FROM footfall_hours")).one()
        mismatched = conn.execute(text(
            "SELECT COUNT(*) FROM footfall_hours h WHERE h.in_count <> (SELECT COALESCE(SUM(m.in_count),0) "
            "FROM footfall_minutes m WHERE m.sensor_id = h.sensor_id AND m.minute >= h.hour "
            "AND m.minute < h.hour + INTERVAL '1 hour')" if engine.dialect.name == "postgresql" else
            "SELECT COUNT(*) FROM footfall_hours h WHERE h.in_count <> (SELECT COALESCE(SUM(m.in_count),0) "
            "FROM footfall_minutes m WHERE m.sensor_id = h.sensor_id AND m.minute >= h.hour "
            "AND m.minute < datetime(h.hour, '+1 hour'))")).scalar()
    engine.dispose()
    return {"minute_rows": minutes[0], "minutes_in": int(minutes[1]), "hours_in": int(hours[0]),
            "minutes_out": int(minutes[2]), "hours_out": int(hours[1]), "hours_not_matching_minutes": mismatched}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=8)
    p.add_argument("--sensors", type=int, default=4, help="sensors per agent")
    p.add_argument("--batch", type=int, default=60, help="minutes per sensor in a catch-up batch")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--database-url")
    p.add_argument("--allow-drop", action="store_true")
    args = p.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="footfall-bench-"))
    database_url, dialect = prepare_database(args.database_url, workdir, args.allow_drop)
    env = tool_env(database_url, workdir / "instance")
    (workdir / "instance").mkdir()
    log(f"database {dialect}; migrating and loading the demo")
    migrate_and_load_demo(env)
    server = Server(procfile_web_command(), env, workdir / "server.log")
    server.start()
    log(f"web process: {server.expanded}")
    try:
        agents = set_up_agents(server.base, args.agents, args.sensors)
        with multiprocessing.Pool(args.agents) as pool:
            phases = {name: run_phase(pool, name, server.base, agents, args.batch, args.seconds)
                      for name in ("healthz", "catch_up", "live", "retry")}
        checks = integrity(database_url)
    finally:
        server.stop()
    ok = checks["minutes_in"] == checks["hours_in"] and checks["minutes_out"] == checks["hours_out"] \
        and checks["hours_not_matching_minutes"] == 0 and all(ph["errors"] == 0 for ph in phases.values())
    result = {
        "bench": "footfall_ingest", "database": dialect, "agents": args.agents, "sensors_per_agent": args.sensors,
        "batch_minutes": args.batch, "seconds": args.seconds, "phases": phases, "checks": checks, "ok": ok,
        "catch_up_counts_per_s": phases["catch_up"]["counts_per_s"],
        "live_posts_per_s": phases["live"]["posts_per_s"],
        "live_posts_vs_healthz": round(phases["live"]["posts_per_s"] / phases["healthz"]["posts_per_s"], 3),
        "catch_up_posts_vs_healthz": round(phases["catch_up"]["posts_per_s"] / phases["healthz"]["posts_per_s"], 3),
        "web": server.expanded, "commit": git_commit(), "cpu": cpu_model(), "cores": os.cpu_count(),
    }
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
