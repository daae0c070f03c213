#!/usr/bin/env python3
"""Satisfaction reports at scale: N ratings over 500 halls, 5,000 staff and a year.

    python bench/reports_bench.py --ratings 1000000 [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/hallq_reports_bench]

1. A fresh database (a temporary SQLite file, or a PostgreSQL database whose name contains
   "bench", dropped and recreated), migrated by Alembic.
2. 5 regions x 10 cities x 10 halls = 500 halls (one in five on the five-point scale), 3
   services, 10 counters and 10 counter staff each (5,000 staff), inserted in bulk.
3. N rated surveys plus a quarter as many unanswered ones (a response rate of 80 %), spread
   over 2026, with waits drawn from an exponential (mean 10 minutes) and scores worse after
   long waits: loaded into a narrow staging table (COPY on PostgreSQL, executemany on
   SQLite), then into ``surveys`` by one INSERT ... SELECT. The surveys' foreign key to
   ``tickets`` is dropped on PostgreSQL (SQLite: foreign_keys off on the loading
   connection): the bench loads no tickets (``ticket_id`` is minus the survey's id, clear of real
   tickets), and reports never read them. On PostgreSQL the
   plain indexes of ``surveys`` are dropped for the INSERT and built again after it.
4. The roll-ups built as production backfills them: ``satisfaction.rebuild`` over the year.
5. Timed, median of ``--runs``: the head-office monthly report (every hall, rolled up by city
   and region) and one hall's staff ranking for a month. A reference in the same run: a
   fixed CPU workload (``reference_ms``), and the head-office figures computed from the raw
   ``surveys`` table instead (``raw_head_office_ms``, once) to show what the roll-ups save.
6. The reply path's throughput (``replies_per_s``): ``--replies`` customers served at hall 1
   through the queue and surveyed, then their replies handled one transaction each
   (``surveys.handle_reply``: the match by number among all loaded surveys, the rating and
   its roll-up increments), sequentially.

Progress on stderr; the last line on stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from queue_bench import cpu_model, git_commit, log, prepare_database  # noqa: E402

YEAR = date(2026, 1, 1)
DAYS = 365
REGIONS, CITIES, HALLS_PER_CITY, STAFF_PER_HALL = 5, 10, 10, 10
STAGING_COLUMNS = ("id", "hall_id", "service_id", "counter_id", "staff_id", "day", "fin", "wait_s", "score",
                   "sat", "five")


def make_organisation(rt, services=(("A", 600, 120), ("B", 1200, 420), ("C", 900, 300)),
                      counters: int = 10, staff_per_hall: int = STAFF_PER_HALL,
                      hall_settings=lambda hall_id: {}) -> list[int]:
    """5 regions x 10 cities x 10 halls, each with ``services`` ((prefix, target wait s, handle s)),
    ``counters`` counters and ``staff_per_hall`` counter staff, in bulk (ids numbered so that hall
    h's k-th service, counter and staff member are derivable); ``hall_settings(hall_id)``: extra
    hall columns. Returns the hall ids. Shared with ``kpi_bench``."""
    from sqlalchemy import insert

    from app.storage.orm import City, Counter, Hall, Region, ServiceType, Staff

    hall_ids, hall_id = [], 0
    with rt.uow() as tx:
        s = tx.session
        s.execute(insert(Region), [{"id": r + 1, "code": f"R{r}", "name_zh": f"省区{r}", "name_en": f"Region {r}"}
                                   for r in range(REGIONS)])
        s.execute(insert(City), [{"id": c + 1, "region_id": c // CITIES + 1, "code": f"C{c}", "name_zh": f"城市{c}",
                                  "name_en": f"City {c}"} for c in range(REGIONS * CITIES)])
        hall_rows, service_rows, counter_rows, staff = [], [], [], []
        for c in range(REGIONS * CITIES):
            for _ in range(HALLS_PER_CITY):
                hall_id += 1
                hall_rows.append({"id": hall_id, "city_id": c + 1, "code": f"H{hall_id:04d}",
                                  "name_zh": f"营业厅{hall_id}", "name_en": f"Hall {hall_id}",
                                  "timezone": "Asia/Shanghai", "opened_on": YEAR, **hall_settings(hall_id)})
                base = hall_id - 1
                service_rows += [{"id": base * len(services) + k + 1, "hall_id": hall_id, "code": f"s{k}",
                                  "prefix": prefix, "name_zh": f"业务{prefix}", "target_wait_s": target,
                                  "handle_time_s": handle} for k, (prefix, target, handle) in enumerate(services)]
                counter_rows += [{"id": base * counters + k + 1, "hall_id": hall_id, "number": k + 1}
                                 for k in range(counters)]
                staff += [{"id": base * staff_per_hall + k + 1, "hall_id": hall_id, "username": f"u{hall_id}_{k}",
                           "name": f"营业员{hall_id}-{k}", "staff_number": f"{hall_id:04d}{k:02d}",
                           "password_hash": "x", "role": "counter_staff"} for k in range(staff_per_hall)]
                hall_ids.append(hall_id)
        for model, rows in ((Hall, hall_rows), (ServiceType, service_rows), (Counter, counter_rows), (Staff, staff)):
            s.execute(insert(model), rows)
        tx.commit()
    return hall_ids


def five_point(hall_id: int) -> bool:
    """One hall in five asks on the five-point scale."""
    return hall_id % 5 == 0


def generate(n_ratings: int, halls: dict, seed: int = 7):
    """Yields chunks of staging rows (numpy columns)."""
    rng = np.random.default_rng(seed)
    total = round(n_ratings / 0.8)
    rated = np.zeros(total, dtype=bool)
    rated[rng.choice(total, n_ratings, replace=False)] = True
    five_of = np.array([False] + [halls[h] for h in sorted(halls)])
    start = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()) - 8 * 3600  # local midnight, Shanghai
    chunk = 500_000
    for lo in range(0, total, chunk):
        m = min(chunk, total - lo)
        ids = np.arange(lo + 1, lo + m + 1)
        hall = rng.integers(1, len(halls) + 1, m)
        k = rng.integers(0, STAFF_PER_HALL, m)
        staff = (hall - 1) * 10 + k + 1
        counter = staff  # staff member k works at counter k
        service = (hall - 1) * 3 + rng.integers(1, 4, m)
        day = rng.integers(0, DAYS, m)
        fin = start + day * 86400 + 8 * 3600 + rng.integers(0, 12 * 3600, m)
        wait = np.minimum(rng.exponential(600, m).astype(np.int64), 4 * 3600)
        five = five_of[hall]
        # satisfied less often after a long wait: p(satisfied) from 0.97 down to 0.75
        p_good = 0.97 - 0.22 * np.minimum(wait / 3600, 1)
        good = rng.random(m) < p_good
        best = rng.random(m) < 0.6
        bad_low = rng.random(m) < 0.5
        four = np.where(good, np.where(best, 1, 2), np.where(bad_low, 3, 4))
        fivep = np.where(good, np.where(best, 5, 4), rng.integers(1, 4, m))
        score = np.where(five, fivep, four)
        r = rated[lo:lo + m]
        yield ids, hall, service, counter, staff, day, fin, wait, score, good, five, r


def load(rt, kind: str, n_ratings: int, halls: dict) -> int:
    from sqlalchemy import text

    days = [(YEAR + timedelta(days=d)).isoformat() for d in range(DAYS)]
    with rt.engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_staging (id integer, hall_id integer, service_id integer, "
                          "counter_id integer, staff_id integer, day date, fin bigint, wait_s integer, "
                          "score integer, sat integer, five integer)"))
        if kind == "postgresql":
            name = conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = 'surveys'::regclass "
                                     "AND contype = 'f' AND confrelid = 'tickets'::regclass")).scalar()
            conn.execute(text(f'ALTER TABLE surveys DROP CONSTRAINT "{name}"'))
    loaded = 0
    raw = rt.engine.raw_connection()
    try:
        cur = raw.cursor()
        for ids, hall, service, counter, staff, day, fin, wait, score, good, five, r in generate(n_ratings, halls):
            rows = zip(ids.tolist(), hall.tolist(), service.tolist(), counter.tolist(), staff.tolist(),
                       day.tolist(), fin.tolist(), wait.tolist(), score.tolist(), good.tolist(), five.tolist(),
                       r.tolist())
            if kind == "postgresql":
                text_ = "".join(f"{i}\t{h}\t{sv}\t{c}\t{st}\t{days[d]}\t{f}\t{w}\t"
                                f"{sc if rr else chr(92) + 'N'}\t{(1 if g else 0) if rr else chr(92) + 'N'}\t"
                                f"{1 if fv else 0}\n"
                                for i, h, sv, c, st, d, f, w, sc, g, fv, rr in rows)
                with cur.copy(f"COPY bench_staging ({', '.join(STAGING_COLUMNS)}) FROM STDIN") as copy:
                    copy.write(text_)
            else:
                cur.executemany("INSERT INTO bench_staging VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                                [(i, h, sv, c, st, days[d], f, w, sc if rr else None, (1 if g else 0) if rr else None,
                                  1 if fv else 0) for i, h, sv, c, st, d, f, w, sc, g, fv, rr in rows])
            raw.commit()
            loaded += len(ids)
            log(f"staged {loaded:,} surveys")
        indexes = []
        if kind == "sqlite":
            cur.execute("PRAGMA foreign_keys = OFF")
        else:  # a bulk load: drop the plain indexes, insert, build them again (faster than row by row)
            cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'surveys' "
                        "AND indexname LIKE 'ix_%'")
            indexes = cur.fetchall()
            for name, _ in indexes:
                cur.execute(f'DROP INDEX "{name}"')
        cur.execute(_insert_surveys(kind))
        for _, definition in indexes:
            cur.execute(definition)
        if kind == "postgresql":  # the ids were given: move the sequence past them
            cur.execute("SELECT setval(pg_get_serial_sequence('surveys', 'id'), (SELECT max(id) FROM surveys))")
        cur.execute("DROP TABLE bench_staging")
        raw.commit()
    finally:
        raw.close()
    log(f"surveys loaded: {loaded:,}")
    return loaded


def _insert_surveys(kind: str) -> str:
    if kind == "postgresql":
        def ts(x: str) -> str:
            return f"(to_timestamp({x}) AT TIME ZONE 'UTC')"
        satisfied = "CASE WHEN sat IS NULL THEN NULL ELSE sat = 1 END"
    else:
        def ts(x: str) -> str:
            return f"datetime({x}, 'unixepoch')"
        satisfied = "sat"
    return (
        "INSERT INTO surveys (id, ticket_id, hall_id, service_id, counter_id, staff_id, business_day, finished_at, "
        "wait_s, number_masked, state, send_at, attempts, sent_at, reference, text, scale_name, scale, expires_at, "
        "score, satisfied, rated_at, created_at) "
        f"SELECT id, -id, hall_id, service_id, counter_id, staff_id, day, {ts('fin')}, wait_s, '138****0000', 'sent', "
        f"{ts('fin + 300')}, 1, {ts('fin + 300')}, 'sv' || id, 'bench', "
        "CASE WHEN five = 1 THEN 'five_point' ELSE 'four_grade' END, '{}', "
        f"{ts('fin + 300 + 172800')}, score, {satisfied}, "
        f"CASE WHEN score IS NULL THEN NULL ELSE {ts('fin + 420')} END, {ts('fin')} FROM bench_staging"
    )


def analyze(rt) -> None:
    from sqlalchemy import text

    with rt.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def timed(fn, runs: int) -> tuple[float, object]:
    fn()  # warm-up: caches, plans
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def reference_ms(runs: int) -> float:
    """A fixed CPU workload (sort 1M seeded random floats) to normalise figures across machines."""
    def work():
        rnd = random.Random(1)
        return sorted(rnd.random() for _ in range(1_000_000))
    return timed(work, runs)[0]


def raw_head_office_ms(rt, first: date, last: date) -> float:
    """The head-office figures straight from ``surveys`` (what the roll-ups avoid): once."""
    from sqlalchemy import func, select

    from app.storage.orm import Survey

    t0 = time.perf_counter()
    with rt.reader() as tx:
        tx.session.execute(select(Survey.hall_id, Survey.score, func.count()).where(
            Survey.state == "sent", Survey.business_day >= first, Survey.business_day <= last)
            .group_by(Survey.hall_id, Survey.score)).all()
    return (time.perf_counter() - t0) * 1000


class ShiftedClock:
    """The real time plus an offset the bench moves (past the survey delay)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


def reply_throughput(rt, clock: ShiftedClock, instance: Path, n: int) -> float:
    """Replies per second through ``surveys.handle_reply`` (one transaction each, roll-ups included),
    on the loaded database: ``n`` customers served at hall 1 through the queue, surveyed, then answered."""
    from sqlalchemy import insert, update

    from app.services import queue, surveys
    from app.sms.gateway import InboundSms
    from app.storage.orm import Hall, counter_services

    surveys.configure(rt, {"SMS_DATA_KEY": "reports-bench-data-key-0123456789"}, instance)
    with rt.uow() as tx:
        tx.session.execute(insert(counter_services), [{"counter_id": 1, "service_id": 1}])
        tx.session.execute(update(Hall).where(Hall.id == 1).values(survey={"quiet_hours": None}))
        tx.commit()
    queue.open_counter(rt, 1, 1)
    for i in range(n):
        queue.issue_ticket(rt, 1, 1, mobile=f"139{i:08d}")
        queue.call_next(rt, 1, 1)
        queue.finish_service(rt, 1, 1)
    surveys.create_surveys(rt, limit=n)
    clock.offset += timedelta(minutes=10)
    while surveys.send_due(rt).get("sent", 0):
        pass
    t0 = time.perf_counter()
    outcomes = [surveys.handle_reply(rt, InboundSms(f"86139{i:08d}", "1", rt.now(), f"bench-{i}"), "outbox")["outcome"]
                for i in range(n)]
    per_s = n / (time.perf_counter() - t0)
    if outcomes.count("counted") != n:
        raise SystemExit(f"only {outcomes.count('counted')} of {n} replies counted: {set(outcomes)}")
    return per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--replies", type=int, default=300, help="replies timed through handle_reply (0: none)")
    parser.add_argument("--allow-drop", action="store_true")
    args = parser.parse_args()

    from app.bootstrap import bootstrap
    from app.cli import migrate
    from app.services import satisfaction

    with tempfile.TemporaryDirectory(prefix="reports-bench-") as tmp:
        url, kind = prepare_database(args.database_url, Path(tmp), args.allow_drop)
        migrate(url)
        clock = ShiftedClock()
        rt = bootstrap(url, clock=clock, password_hash_method="pbkdf2:sha256:1000", enforce_opening_hours=False)
        t0 = time.perf_counter()
        halls = {h: five_point(h) for h in make_organisation(
            rt, hall_settings=lambda h: {"survey": {"scale": "five_point"} if five_point(h) else {}})}
        surveys = load(rt, kind, args.ratings, halls)
        load_s = time.perf_counter() - t0
        log(f"loaded in {load_s:.0f} s; building roll-ups")
        t0 = time.perf_counter()
        built = satisfaction.rebuild(rt, YEAR, YEAR + timedelta(days=DAYS - 1))
        rollup_s = time.perf_counter() - t0
        analyze(rt)
        log(f"roll-ups: {built['rows']:,} rows, {built['hall_days']:,} hall-days in {rollup_s:.0f} s")

        month = satisfaction.period_of("month", date(2026, 6, 15))
        head_ms, report = timed(lambda: satisfaction.head_office_report(rt, month), args.runs)
        hall_ms, ranking = timed(lambda: satisfaction.hall_report(rt, 1, month, "staff"), args.runs)
        ref_ms = reference_ms(3)
        raw_ms = raw_head_office_ms(rt, month.first, month.last)
        replies_per_s = reply_throughput(rt, clock, Path(tmp), args.replies) if args.replies else None
        rt.engine.dispose()
    result = {
        "bench": "reports", "database": kind, "ratings": args.ratings, "surveys": surveys, "halls": len(halls),
        "staff": len(halls) * STAFF_PER_HALL, "rollup_rows": built["rows"], "load_s": round(load_s, 1),
        "rollup_build_s": round(rollup_s, 1),
        "month_ratings": report["totals"]["ratings"],
        "month_satisfaction_rate": round(report["totals"]["satisfaction_rate"], 4),
        "hall_staff_ranked": sum(1 for x in ranking["lines"] if x["rank"] is not None),
        "head_office_report_ms": round(head_ms, 1), "hall_report_ms": round(hall_ms, 1),
        "reference_ms": round(ref_ms, 1), "raw_head_office_ms": round(raw_ms, 1),
        "head_office_vs_reference": round(head_ms / ref_ms, 3), "hall_vs_reference": round(hall_ms / ref_ms, 3),
        "rollup_speedup": round(raw_ms / head_ms, 1), "runs": args.runs,
        "replies": args.replies, "replies_per_s": round(replies_per_s, 1) if replies_per_s else None,
        "cpu": cpu_model(), "commit": git_commit(),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
