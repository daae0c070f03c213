#!/usr/bin/env python3
"""Where an issue and a call go, in one process: CPU per request and a cProfile of each.

    python bench/hot_path_profile.py [--requests 2000] [--database-url URL] [--message-queue redis://...]
                                     [--top 25] [--sort tottime|cumulative]

The app as the web role runs it (``create_app``, production settings, events published to
Redis unless ``--message-queue none``), driven through Flask's test client, so gunicorn's
HTTP parsing and the network are left out: what is left is the app's own cost per request.
It loads the demo into a fresh database (a temporary SQLite file; a PostgreSQL one is dropped
and recreated, as queue_bench does), signs in, opens counter 1 of hall ZZ-EQ for every
service, and then measures, each after ``--warmup`` unmeasured requests:

- ``GET /healthz`` (the trivial endpoint),
- ``POST /api/v1/halls/<id>/tickets`` with the kiosk's token (an issue),
- ``POST /api/v1/counters/<id>/call-next`` then ``finish`` (a call).

For each it prints the process CPU time per request (``time.process_time``, without the
profiler) and then the profile's top functions (with the profiler on, so slower). The last
line on stdout is one JSON object with the CPU figures. BENCHMARKS.md, "Where the time goes
now", reads them.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import queue_bench as qb  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=2000, help="measured requests per kind (default 2000)")
    p.add_argument("--warmup", type=int, default=200, help="unmeasured requests before each kind (default 200)")
    p.add_argument("--database-url", help="PostgreSQL database to DROP and recreate (name with 'bench')")
    p.add_argument("--message-queue", default="redis://127.0.0.1:6379/0",
                   help="SOCKETIO_MESSAGE_QUEUE (default redis://127.0.0.1:6379/0; 'none': embedded)")
    p.add_argument("--top", type=int, default=25, help="functions shown per profile (default 25)")
    p.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    p.add_argument("--no-profile", action="store_true", help="CPU figures only")
    p.add_argument("--logs", action="store_true",
                   help="write the JSON log lines as the web role does (app/wsgi.py: logs.configure), "
                        "to stderr; without it no handler formats or writes them")
    p.add_argument("--statements", type=int, default=0, metavar="N",
                   help="also list the N statements that took longest (wall time from the app's side, "
                        "summed over the measured requests) with how many ran per request")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hallq-profile-"))
    url, kind = qb.prepare_database(args.database_url, work, allow_drop=False)
    env = qb.tool_env(url, work / "instance")
    kiosks = qb.migrate_and_load_demo(env)
    for name in ("DATABASE_URL", "HALLQ_INSTANCE", "ENFORCE_OPENING_HOURS"):
        os.environ[name] = env[name]
    queue_url = None if args.message_queue == "none" else args.message_queue
    os.environ["SOCKETIO_MESSAGE_QUEUE"] = queue_url or ""
    os.environ["SOCKETIO_CHANNEL"] = f"hallq-profile-{uuid.uuid4().hex[:10]}"
    os.environ.setdefault("LOG_LEVEL", "INFO")

    from app import create_app

    if args.logs:
        from app.ops import logs

        logs.configure("web")
    app = create_app()
    client = app.test_client()
    timings = _StatementTimings(app.extensions["hallq"].engine) if args.statements else None

    def api(method, path, token=None, **kw):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = client.open(path, method=method, headers=headers, **kw)
        if resp.status_code >= 400:
            raise SystemExit(f"{method} {path}: {resp.status_code} {resp.get_data(as_text=True)[:300]}")
        return resp.get_json(silent=True)

    admin = api("POST", "/api/v1/auth/tokens", json={"username": "admin", "password": qb.DEMO_PASSWORD})["token"]
    hall = next(h for h in api("GET", "/api/v1/halls", admin)["halls"] if h["code"] == qb.HALL_CODE)
    services = [s["id"] for s in api("GET", f"/api/v1/halls/{hall['id']}/services", admin)["services"]]
    counter = next(c["id"] for c in api("GET", f"/api/v1/halls/{hall['id']}/counters", admin)["counters"]
                   if c["number"] == 1)
    staff = api("POST", "/api/v1/auth/tokens", json={"username": "eq01", "password": qb.DEMO_PASSWORD})["token"]
    api("POST", f"/api/v1/counters/{counter}/open", staff, json={"service_ids": services})
    kiosk = kiosks[qb.HALL_CODE]
    n = iter(range(10**9))

    def healthz():
        api("GET", "/healthz")

    def issue():
        api("POST", f"/api/v1/halls/{hall['id']}/tickets", kiosk, json={"service_id": services[next(n) % len(services)]})

    def call():
        api("POST", f"/api/v1/counters/{counter}/call-next", staff)
        api("POST", f"/api/v1/counters/{counter}/finish", staff)

    kinds = {"healthz": healthz, "issue": issue, "call": call}
    results = {}
    for name, fn in kinds.items():
        if name == "call":  # enough waiting for every call, issued unmeasured
            for _ in range(args.requests * 2 + args.warmup * 2):
                issue()
        for _ in range(args.warmup):
            fn()
        if timings:
            timings.clear()
        db_pids = qb.postgres_pids() if kind == "postgresql" else []
        db_cpu = qb.cpu_seconds(db_pids)
        started, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            fn()
        cpu_ms = (time.process_time() - started) * 1000 / args.requests
        wall_ms = (time.perf_counter() - wall) * 1000 / args.requests
        per = "call-next + finish" if name == "call" else "request"
        results[name] = {"cpu_ms": round(cpu_ms, 3), "wall_ms": round(wall_ms, 3)}
        db_note = ""
        if db_pids:
            db_ms = (qb.cpu_seconds(qb.postgres_pids()) - db_cpu) * 1000 / args.requests
            results[name]["database_cpu_ms"] = round(db_ms, 3)
            db_note = f", PostgreSQL {db_ms:.2f} ms CPU"
        print(f"== {name}: {cpu_ms:.2f} ms CPU per {per} ({wall_ms:.2f} ms wall{db_note}), {args.requests} measured",
              flush=True)
        if timings:
            print(timings.report(args.requests, args.statements), flush=True)
        if not args.no_profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(min(args.requests, 500)):
                fn()
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).strip_dirs().sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue(), flush=True)
    results["database"] = kind
    results["message_queue"] = bool(queue_url)
    results["ratios_vs_healthz"] = {k: round(results[k]["cpu_ms"] / results["healthz"]["cpu_ms"], 1)
                                    for k in ("issue", "call")}
    print(json.dumps(results))
    return 0


class _StatementTimings:
    """Wall time of each statement as the app sees it (the database's work and the round trip),
    summed by statement text, from SQLAlchemy's cursor events."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.totals: dict[str, list[float]] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def clear(self) -> None:
        self.totals.clear()

    def _before(self, conn, _cursor, _statement, _params, _context, _many) -> None:
        conn.info["hallq_statement_started"] = time.perf_counter()

    def _after(self, conn, _cursor, statement, _params, _context, _many) -> None:
        took = time.perf_counter() - conn.info.pop("hallq_statement_started", time.perf_counter())
        entry = self.totals.setdefault(" ".join(statement.split())[:110], [0, 0.0])
        entry[0] += 1
        entry[1] += took

    def report(self, requests: int, top: int) -> str:
        rows = sorted(self.totals.items(), key=lambda kv: -kv[1][1])
        total = sum(t for _, (_, t) in rows)
        lines = [f"   statements: {sum(c for _, (c, _) in rows) / requests:.1f} per request, "
                 f"{total * 1000 / requests:.2f} ms wall per request"]
        for text, (count, took) in rows[:top]:
            lines.append(f"   {took * 1000 / requests:6.3f} ms  {count / requests:4.1f}x  {text}")
        return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
