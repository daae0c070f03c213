#!/usr/bin/env python3
"""Survey replies per second: Kannel calling the production web process with customers' answers.

    python bench/reply_bench.py [--clients 8] [--seconds 10] [--database-url URL]

1. A fresh database (temporary SQLite, or a PostgreSQL database whose name contains
   "bench", dropped and recreated), migrated, with the demo data: its hall 二七广场 has three
   surveys sent through the outbox, one not yet answered (see app/demo.py).
2. The web process as the Procfile declares it (bench/queue_bench.py's helpers), with
   ``SMS_GATEWAY=kannel``: replies come in on ``/sms/kannel/inbound`` exactly as Kannel's
   ``sms-service`` calls it (the shared secret, ``%p`` sender, ``%b`` text in UCS-2 with
   coding and charset, ``%I`` message id). No Kannel runs here: this measures our side.
3. Phases, ``--seconds`` each, ``--clients`` processes:
   - ``healthz``: GET /healthz, the reference in the same run (on a shared, noisy machine
     the ratio holds where absolute rates do not);
   - ``unmatched``: a reply from a new number each time (nobody was surveyed): parsed,
     looked up by its protected key, stored as ``unmatched``;
   - ``matched``: replies from the demo's surveyed numbers: the first rating of the
     unanswered survey counts, every later one is a ``duplicate``; each is matched to its
     survey and stored;
   - ``forged``: a wrong secret: refused (403) before anything is read or stored.
4. Checks afterwards: one reply row per accepted request, no row from a forged one, the
   unanswered survey counted exactly once.

Progress on stderr; the last line on stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from queue_bench import (  # noqa: E402 - the shared server and database helpers
    Server, cpu_model, git_commit, log, migrate_and_load_demo, prepare_database, procfile_web_command, tool_env,
)

SURVEYED = ["8613800138001", "8613800138002", "8613800138003"]  # the demo's customers (app/demo.py)
ANSWERS = ["1", "2 还行", "5 服务很周到", "3", "4 等太久了", "非常满意"]


def ucs2(text: str) -> str:
    """URL-encoded UTF-16BE, as Kannel's ``%b`` gives a UCS-2 message."""
    return quote(text.encode("utf-16-be"), safe="")


def client_loop(args: tuple) -> dict:
    phase, base, secret, seconds, index = args
    s = requests.Session()
    sent = errors = 0
    latencies = []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        if phase == "healthz":
            t0 = time.perf_counter()
            ok = s.get(base + "/healthz", timeout=30).status_code == 200
        else:
            sender = (f"86139{index:02d}{sent:06d}" if phase == "unmatched"
                      else SURVEYED[sent % len(SURVEYED)])
            text = ANSWERS[sent % len(ANSWERS)]
            url = (f"{base}/sms/kannel/inbound?secret={'x' * len(secret) if phase == 'forged' else secret}"
                   f"&from=%2B{sender}&to=10086&text={ucs2(text)}&coding=2&charset=UTF-16BE"
                   f"&ts={1_700_000_000 + index * 1_000_000 + sent}&smsc=fake&id={phase}-{index}-{sent}")
            t0 = time.perf_counter()
            status = s.get(url, timeout=30).status_code
            ok = status == (403 if phase == "forged" else 200)
        latencies.append(time.perf_counter() - t0)
        sent += 1
        if not ok:
            errors += 1
    s.close()
    return {"requests": sent, "errors": errors, "latencies": latencies}


def run_phase(pool, phase: str, base: str, secret: str, clients: int, seconds: float) -> dict:
    log(f"{phase}: {clients} clients for {seconds:.0f} s")
    results = pool.map(client_loop, [(phase, base, secret, seconds, i) for i in range(clients)])
    lat = sorted(x for r in results for x in r["latencies"])
    n = sum(r["requests"] for r in results)
    out = {"requests": n, "per_s": round(n / seconds, 1), "errors": sum(r["errors"] for r in results),
           "p50_ms": round(1000 * lat[len(lat) // 2], 1) if lat else None,
           "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1) if lat else None}
    log(f"{phase}: {out}")
    return out


def checks(database_url: str) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        by_outcome = dict(conn.execute(text(
            "SELECT outcome, COUNT(*) FROM survey_replies WHERE gateway = 'kannel' GROUP BY outcome")).all())
        forged = conn.execute(text("SELECT COUNT(*) FROM survey_replies WHERE gateway_message_id LIKE 'forged-%'")).scalar()
        rated = conn.execute(text("SELECT COUNT(*) FROM surveys WHERE score IS NOT NULL")).scalar()
    engine.dispose()
    return {"replies_by_outcome": by_outcome, "forged_rows": forged, "surveys_rated": rated}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--database-url")
    p.add_argument("--allow-drop", action="store_true")
    args = p.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="reply-bench-"))
    database_url, dialect = prepare_database(args.database_url, workdir, args.allow_drop)
    (workdir / "instance").mkdir()
    env = tool_env(database_url, workdir / "instance")
    log(f"database {dialect}; migrating and loading the demo (its surveys go to the outbox)")
    migrate_and_load_demo(env)
    secret = secrets.token_urlsafe(24)
    server = Server(procfile_web_command(), env, workdir / "server.log")
    server.env.update({"SMS_GATEWAY": "kannel", "SMS_PUBLIC_URL": server.base, "SMS_KANNEL_SECRET": secret,
                       "SMS_KANNEL_URL": "http://127.0.0.1:9/cgi-bin/sendsms", "SMS_KANNEL_USERNAME": "bench",
                       "SMS_KANNEL_PASSWORD": "bench", "SMS_KANNEL_SENDER": "10086"})
    server.start()
    log(f"web process: {server.expanded}")
    try:
        with multiprocessing.Pool(args.clients) as pool:
            phases = {name: run_phase(pool, name, server.base, secret, args.clients, args.seconds)
                      for name in ("healthz", "unmatched", "matched", "forged")}
        found = checks(database_url)
    finally:
        server.stop()
    accepted = phases["unmatched"]["requests"] + phases["matched"]["requests"]
    outcomes = found["replies_by_outcome"]
    ok = (sum(outcomes.values()) == accepted and found["forged_rows"] == 0
          and outcomes.get("unmatched", 0) == phases["unmatched"]["requests"]
          and outcomes.get("counted", 0) == 1  # the demo's one unanswered survey, however many race for it
          and all(ph["errors"] == 0 for ph in phases.values()))
    healthz = phases["healthz"]["per_s"]
    result = {
        "bench": "survey_replies", "database": dialect, "clients": args.clients, "seconds": args.seconds,
        "phases": phases, "checks": found, "ok": ok,
        "replies_per_s": round(accepted / (2 * args.seconds), 1),
        "unmatched_vs_healthz": round(phases["unmatched"]["per_s"] / healthz, 3),
        "matched_vs_healthz": round(phases["matched"]["per_s"] / healthz, 3),
        "forged_vs_healthz": round(phases["forged"]["per_s"] / healthz, 3),
        "web": server.expanded, "commit": git_commit(), "cpu": cpu_model(), "cores": os.cpu_count(),
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
