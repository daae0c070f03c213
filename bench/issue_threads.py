#!/usr/bin/env python3
"""CPU per issue in one process, from one thread and from many: what threads cost the app alone.

    python bench/issue_threads.py [--threads 16] [--issues 800]

Loads the demo into a temporary SQLite file (as hot_path_profile.py does), builds the app as the
web role runs it (events to Redis at 127.0.0.1:6379), and issues ``--issues`` tickets at hall ZZ-EQ
through Flask's test client (no HTTP server): first from one thread, then split over
``--threads`` threads. Prints the process CPU per issue of each and their ratio; BENCHMARKS.md,
"The hot path", reads it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import queue_bench as qb  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--issues", type=int, default=800, help="issues per phase (default 800)")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hallq-threads-"))
    url, _ = qb.prepare_database(None, work, allow_drop=False)
    env = qb.tool_env(url, work / "instance")
    kiosks = qb.migrate_and_load_demo(env)
    for name in ("DATABASE_URL", "HALLQ_INSTANCE", "ENFORCE_OPENING_HOURS"):
        os.environ[name] = env[name]
    os.environ["SOCKETIO_MESSAGE_QUEUE"] = "redis://127.0.0.1:6379/0"
    os.environ["SOCKETIO_CHANNEL"] = f"hallq-threads-{uuid.uuid4().hex[:10]}"
    from app import create_app

    app = create_app()
    kiosk = {"Authorization": f"Bearer {kiosks[qb.HALL_CODE]}"}
    client = app.test_client()
    admin = {"Authorization": "Bearer " + client.post("/api/v1/auth/tokens", json={
        "username": "admin", "password": qb.DEMO_PASSWORD}).get_json()["token"]}
    hall = next(h for h in client.get("/api/v1/halls", headers=admin).get_json()["halls"] if h["code"] == qb.HALL_CODE)
    services = [s["id"] for s in client.get(f"/api/v1/halls/{hall['id']}/services", headers=admin).get_json()["services"]]

    def issue(n: int, offset: int) -> None:
        c = app.test_client()
        for k in range(n):
            done = c.post(f"/api/v1/halls/{hall['id']}/tickets", headers=kiosk,
                          json={"service_id": services[(offset + k) % len(services)]})
            if done.status_code != 201:
                raise SystemExit(f"issue: {done.status_code} {done.get_data(as_text=True)[:300]}")

    issue(200, 0)  # warm-up
    results = {}
    for threads in (1, args.threads):
        per = args.issues // threads
        cpu, wall = time.process_time(), time.perf_counter()
        workers = [threading.Thread(target=issue, args=(per, i)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        n = per * threads
        results[f"threads_{threads}"] = {"cpu_ms": round((time.process_time() - cpu) * 1000 / n, 3),
                                         "wall_ms": round((time.perf_counter() - wall) * 1000 / n, 3)}
        print(f"== {threads} thread(s): {results[f'threads_{threads}']['cpu_ms']:.2f} ms CPU per issue", flush=True)
    results["ratio"] = round(results[f"threads_{args.threads}"]["cpu_ms"] / results["threads_1"]["cpu_ms"], 2)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
