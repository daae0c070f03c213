#!/usr/bin/env python3
"""The nightly forecast job for many halls: N halls, a year of 15-minute history each.

    python bench/nightly_bench.py [--halls 500] [--days 365] [--workers 2]
                                  [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/hallq_nightly_bench]

1. A fresh database (a temporary SQLite file, or a PostgreSQL database whose name contains
   "bench", dropped and recreated), migrated by Alembic.
2. ``--halls`` halls (open 08:00-20:00 every day, services A and B, 6 counters) made through
   the services, and ``--days`` of arrival history per hall and service, loaded in bulk.
   The history is generated from a real series' shape: the mean arrivals per 15 minutes of
   the bank call-centre log in ``../shared/data/queue-log`` (its 07:00-19:00 weekday
   profile mapped onto 08:00-20:00), with the demo's weekday levels, bill-day bumps, a level
   per hall and Poisson noise. Without that folder it stops, saying so.
3. The job as the scheduler runs it: ``app.scheduler.forecast_in_processes`` (each hall:
   ``planning.forecast_hall`` then ``peaks.check_forecast``) in ``--workers`` processes, timed.
4. A reference in the same run: a fixed scikit-learn fit (``reference_s``), so that
   ``job_vs_reference`` compares runs on a shared, noisy machine.

Progress on stderr; the last line on stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import tempfile
import time
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from queue_bench import cpu_model, git_commit, log, prepare_database  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "queue-log" / "anonymous_bank_feb1999.tsv"
SHANGHAI = "Asia/Shanghai"
OPEN = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
WEEKDAY_LEVEL = (1.0, 0.9, 0.85, 0.9, 1.0, 1.15, 1.05)


def real_profile() -> np.ndarray:
    """Mean arrivals per 15 minutes, 07:00-19:00, over the bank log's Sunday-Thursday days (48 values)."""
    from forecasting.queue_log import arrivals_per_interval, read_calls

    counts = arrivals_per_interval(read_calls(DATA), 15)
    days = {at.date() for at in counts if at.weekday() in (6, 0, 1, 2, 3)}
    profile = np.zeros(48)
    for at, n in counts.items():
        if at.date() in days and 7 <= at.hour < 19:
            profile[(at.hour - 7) * 4 + at.minute // 15] += n
    return profile / len(days)


def make_halls(rt, n: int) -> list[tuple[int, int, int]]:
    """n halls with services A (billing) and B (business) and 6 counters; returns (hall, A, B) ids."""
    from app.services import config

    region = config.create_region(rt, {"code": "BR", "name_zh": "基准省", "name_en": "Bench"})
    city = config.create_city(rt, {"region_id": region["id"], "code": "BC", "name_zh": "基准市", "name_en": "Bench"})
    out = []
    for i in range(n):
        hall = config.create_hall(rt, {"city_id": city["id"], "code": f"B{i:04d}", "name_zh": f"基准营业厅{i}",
                                       "timezone": SHANGHAI, "opening_hours": OPEN})
        a = config.create_service(rt, hall["id"], {"code": "billing", "prefix": "A", "name_zh": "缴费",
                                                   "target_wait_s": 600, "handle_time_s": 120})["id"]
        b = config.create_service(rt, hall["id"], {"code": "business", "prefix": "B", "name_zh": "业务办理",
                                                   "target_wait_s": 1200, "handle_time_s": 420})["id"]
        for number in range(1, 7):
            config.create_counter(rt, hall["id"], {"number": number, "service_ids": [a, b]})
        out.append((hall["id"], a, b))
        if (i + 1) % 100 == 0:
            log(f"halls: {i + 1}/{n}")
    return out


def load_history(rt, database: str, halls, days: int, today, profile: np.ndarray, seed: int = 1) -> int:
    """Bulk-load ``days`` of arrivals per hall and service before ``today``; returns rows written."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(SHANGHAI)
    rng = np.random.default_rng(seed)
    first = today - timedelta(days=days)
    slot_utc = []
    day_rate = []
    for d in range(days):
        day = first + timedelta(days=d)
        start = datetime.combine(day, dtime(8, 0), tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
        bump = 1.25 if day.day <= 3 or day.day >= 27 else 1.0
        for k in range(48):
            slot_utc.append(start + timedelta(minutes=15 * k))
            day_rate.append(profile[k] * WEEKDAY_LEVEL[day.weekday()] * bump)
    day_rate = np.array(day_rate)
    stamps = [s.strftime("%Y-%m-%d %H:%M:%S.%f") for s in slot_utc]  # SQLAlchemy's SQLite text form
    rows = 0
    raw = rt.engine.raw_connection()
    try:
        cur = raw.cursor()
        for i, (hall_id, a, b) in enumerate(halls):
            level = rng.uniform(0.15, 0.6)  # the bank's centre is busier than a hall
            for service_id, share in ((a, 0.6), (b, 0.4)):
                counts = rng.poisson(day_rate * level * share)
                if database == "postgresql":
                    buf = io.StringIO("".join(f"{service_id}\t{s}\t{hall_id}\t{c}\n"
                                              for s, c in zip(stamps, counts) if c))
                    with cur.copy("COPY arrival_slots (service_id, slot, hall_id, arrivals) FROM STDIN") as copy:
                        copy.write(buf.getvalue())
                else:
                    cur.executemany("INSERT INTO arrival_slots (service_id, slot, hall_id, arrivals) VALUES (?,?,?,?)",
                                    [(service_id, s, hall_id, int(c)) for s, c in zip(stamps, counts) if c])
                rows += int((counts > 0).sum())
            made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
            marker = "%s" if database == "postgresql" else "?"
            cur.executemany(f"INSERT INTO arrival_rollups (hall_id, business_day, made_at) VALUES ({marker},{marker},{marker})",
                            [(hall_id, (first + timedelta(days=d)).isoformat(), made) for d in range(days)])
            cur.execute(f"UPDATE halls SET opened_on = {marker} WHERE id = {marker}", (first.isoformat(), hall_id))
            raw.commit()
            if (i + 1) % 50 == 0:
                log(f"history: {i + 1}/{len(halls)} halls, {rows:,} rows")
    finally:
        raw.close()
    return rows


def reference_seconds() -> float:
    """A fixed scikit-learn workload: three quantile fits on 15,000 rows (the fastest of three)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(15000, 10))
    y = np.abs(x[:, 0] * 3 + x[:, 1] ** 2 + rng.normal(size=15000))
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for q in (0.1, 0.5, 0.9):
            HistGradientBoostingRegressor(loss="quantile", quantile=q, max_iter=100, random_state=0).fit(x, y)
        best = min(best, time.perf_counter() - started)
    return best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--halls", type=int, default=500)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--database-url")
    p.add_argument("--allow-drop", action="store_true")
    args = p.parse_args(argv)
    if not DATA.exists():
        raise SystemExit(f"the real series is not here: {DATA} (../shared/data/queue-log)")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from sqlalchemy import select

    from app import scheduler
    from app.bootstrap import bootstrap
    from app.cli import migrate
    from app.domain.hours import business_day, parse_zone
    from app.storage.orm import CounterPlan

    with tempfile.TemporaryDirectory() as scratch:
        url, database = prepare_database(args.database_url, Path(scratch), args.allow_drop)
        log(f"database {database}: migrating")
        migrate(url)
        rt = bootstrap(url, password_hash_method="pbkdf2:sha256:1000")
        log(f"making {args.halls} halls")
        halls = make_halls(rt, args.halls)
        today = business_day(rt.now(), parse_zone(SHANGHAI))
        log(f"loading {args.days} days of history per hall from the real profile")
        started = time.perf_counter()
        rows = load_history(rt, database, halls, args.days, today, real_profile())
        load_s = time.perf_counter() - started
        rt.engine.dispose()
        log(f"history: {rows:,} rows in {load_s:.0f} s; reference workload")
        ref = reference_seconds()
        log(f"reference {ref:.2f} s; the nightly job for {len(halls)} halls with {args.workers} worker(s)")
        settings = {"DATABASE_URL": url, "SOCKETIO_MESSAGE_QUEUE": None, "SOCKETIO_CHANNEL": "hallq-bench",
                    "ENFORCE_OPENING_HOURS": True, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                    "SECRET_KEY": "bench"}
        per_hall: list[float] = []
        logging.basicConfig(level=logging.INFO, format="[bench %(asctime)s] %(message)s", datefmt="%H:%M:%S")
        started = time.perf_counter()
        done, failed = scheduler.forecast_in_processes([h for h, _, _ in halls], args.workers, settings, per_hall)
        job_s = time.perf_counter() - started
        if failed:
            raise SystemExit(f"{len(failed)} hall(s) failed: {failed[:10]}")
        rt = bootstrap(url)
        with rt.reader() as tx:
            fits = sorted(float(m["fit_s"]) for (m,) in tx.session.execute(select(CounterPlan.model)))
        rt.engine.dispose()
        per_hall.sort()
        summary = {
            "bench": "nightly_forecast", "database": database, "halls": len(halls), "days": args.days,
            "workers": args.workers, "history_rows": rows, "job_s": round(job_s, 1), "halls_done": done,
            "per_hall_p50_s": round(per_hall[len(per_hall) // 2], 3),
            "per_hall_p95_s": round(per_hall[int(len(per_hall) * 0.95)], 3),
            "fit_p50_s": round(fits[len(fits) // 2], 3),
            "reference_s": round(ref, 3), "job_vs_reference": round(job_s / ref, 1),
            "aim_s": 600, "met": job_s < 600,
            "commit": git_commit(), "cpu": cpu_model(), "cores": os.cpu_count(),
        }
        print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
