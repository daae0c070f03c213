#!/usr/bin/env python3
"""Service-level reports at scale: N tickets with full histories over 500 halls and a year.

    python bench/kpi_bench.py --tickets 1000000 [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/hallq_kpi_bench] [--workers W]

1. A fresh database (a temporary SQLite file, or a PostgreSQL database whose name contains
   "bench", dropped and recreated), migrated by Alembic.
2. 5 regions x 10 cities x 10 halls = 500 halls, each with 3 services (A: target wait 10 min,
   handle time 5 min, half the customers; B: 20 min / 10 min, 30 %; C: 15 min / 7 min, 20 %),
   10 counters and 10 counter staff (5,000 staff), inserted in bulk.
3. N tickets over 2026 (seeded numpy), each closed with its full event history, as the queue
   writes it: 92 % called -> serving -> finished (5 % of them after a recall), 3 % called ->
   no-show (60 % after a recall), 3 % cancelled while waiting, 1 % transferred once to another
   service (called, serving, transferred, called again at another counter, serving, finished),
   1 % expired at the end of the business day. Arrivals in opening hours (08:30-18:00,
   Asia/Shanghai) with a daily shape (late-morning and mid-afternoon peaks, a little busier at
   weekends); waits exponential, mean 4 min plus up to 8 more at the busiest time of day, times a
   per-hall factor (0.7-1.3); handle times gamma around the service's norm; staff member k
   usually at counter k. Ticket numbers run per hall, prefix and business day; ids follow the
   issue time (events: their time), as in production. Generated and loaded in chunks of whole
   days (~200,000 tickets): COPY straight into ``tickets`` and ``ticket_events`` on PostgreSQL,
   executemany in one transaction per chunk on SQLite. On both, the two tables' secondary
   indexes and unique constraints (not the primary keys) are dropped for the load and built again
   after it, and foreign keys are not checked while loading (PostgreSQL:
   ``session_replication_role = replica`` on the loading connection; SQLite: ``foreign_keys``
   off on it): the generated rows are consistent by construction.
4. The roll-ups built as production backfills them: ``service_levels.rebuild`` over the year,
   in ``--workers`` processes (default: the number of cores) each taking whole 7-day ranges
   (disjoint, so their deletes never overlap), after ANALYZE; then VACUUM ANALYZE of the roll-up
   tables on PostgreSQL (ANALYZE on SQLite). Checked: the roll-ups count every ticket loaded, and
   the June head-office figures every June ticket.
5. Timed, median of ``--runs`` after a warm-up, in process (service functions, no HTTP): the
   head-office monthly report (June 2026: every hall's arrivals, average and P90 wait, share
   within target, busy-hour wait, rolled up by city and region, ranked) and hall 1's monthly
   report by counter and by staff member (``hall_report_ms`` is their sum). A reference in the
   same run: a fixed CPU workload (``reference_ms``, the one of ``reports_bench``).

Progress on stderr; the last line on stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
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
from reports_bench import make_organisation, reference_ms, timed  # noqa: E402

YEAR = date(2026, 1, 1)
DAYS = 365
REGIONS, CITIES, HALLS_PER_CITY, COUNTERS, STAFF_PER_HALL = 5, 10, 10, 10, 10
HALLS = REGIONS * CITIES * HALLS_PER_CITY
# per service: prefix, target wait, handle-time norm, share of the tickets
SERVICES = (("A", 600, 300, 0.5), ("B", 1200, 600, 0.3), ("C", 900, 420, 0.2))
TIERS, TIER_SHARES = ("ordinary", "star", "vip", "green"), (0.85, 0.08, 0.04, 0.03)
KINDS = ("issued", "called", "recalled", "serving", "finished", "no_show", "cancelled", "transferred", "expired")
ISSUED, CALLED, RECALLED, SERVING, FINISHED, NO_SHOW, CANCELLED, TRANSFERRED, EXPIRED = range(len(KINDS))
# outcomes and their shares: served, no-show, cancelled, transferred (then served), expired
OUTCOME_SHARES = (0.92, 0.03, 0.03, 0.01, 0.01)
STATES = ("finished", "no_show", "cancelled", "finished", "expired")
OPEN_S, CLOSE_S = int(8.5 * 3600), 18 * 3600  # opening hours, local seconds from midnight
UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai, no daylight saving
CHUNK_TICKETS = 200_000
DAY_RANGE = 7  # days per rebuild task (service_levels.DAY_CHUNK)
TICKET_COLUMNS = ("id", "hall_id", "service_id", "business_day", "prefix", "number", "label", "tier", "public_token",
                  "state", "issued_at", "queued_at", "staff_id", "recalls", "called_at", "started_at", "closed_at")
EVENT_COLUMNS = ("id", "ticket_id", "hall_id", "kind", "at", "service_id", "counter_id", "staff_id", "duration_s",
                 "detail")
LOADED_TABLES = ("tickets", "ticket_events")


# --------------------------------------------------------------------------- generating

def _normal_pdf(x, mu: float, sd: float):
    return np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))


DAY_SHAPE = ((0.25, None, None), (0.45, 10.75 * 3600, 3600.0), (0.30, 15.0 * 3600, 4500.0))  # uniform + two peaks


def _density(t):
    out = np.zeros_like(t, dtype=float)
    for share, mu, sd in DAY_SHAPE:
        out += share / (CLOSE_S - OPEN_S) if mu is None else share * _normal_pdf(t, mu, sd)
    return out


PEAK_DENSITY = float(_density(np.arange(OPEN_S, CLOSE_S, 60.0)).max())


def _arrivals(rng, m: int):
    """Local seconds from midnight: the daily shape, cut to opening hours (outliers drawn again, flat)."""
    comp = rng.choice(len(DAY_SHAPE), m, p=[x[0] for x in DAY_SHAPE])
    t = rng.uniform(OPEN_S, CLOSE_S, m)
    for i, (_, mu, sd) in enumerate(DAY_SHAPE):
        if mu is not None:
            pick = comp == i
            t[pick] = rng.normal(mu, sd, int(pick.sum()))
    bad = (t < OPEN_S) | (t >= CLOSE_S)
    t[bad] = rng.uniform(OPEN_S, CLOSE_S, int(bad.sum()))
    return t.astype(np.int64)


def _handle(rng, norm):
    return np.maximum(rng.gamma(4.0, norm / 4.0), 30).astype(np.int64)


def generate(n_tickets: int, seed: int = 7):
    """Yields (tickets, events) chunks of whole business days: dicts of numpy columns."""
    rng = np.random.default_rng(seed)
    start = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()) - UTC_OFFSET_S  # local midnight, Shanghai
    weekday = np.array([(YEAR + timedelta(days=d)).weekday() for d in range(DAYS)])
    weights = np.where(weekday >= 5, 1.1, 1.0)
    per_day = rng.multinomial(n_tickets, weights / weights.sum())
    hall_factor = np.concatenate([[1.0], 0.7 + 0.6 * rng.random(HALLS)])  # index: hall id
    norms = np.array([s[2] for s in SERVICES], dtype=float)
    days_per_chunk = max(1, min(DAYS, round(CHUNK_TICKETS / max(n_tickets / DAYS, 1))))
    next_ticket, next_event = 1, 1
    for d0 in range(0, DAYS, days_per_chunk):
        d1 = min(d0 + days_per_chunk, DAYS)
        m = int(per_day[d0:d1].sum())
        if not m:
            continue
        day = np.repeat(np.arange(d0, d1), per_day[d0:d1])
        t0 = start + day * 86400 + _arrivals(rng, m)
        order = np.argsort(t0, kind="stable")  # ids follow the issue time
        day, t0 = day[order], t0[order]
        hall = rng.integers(1, HALLS + 1, m)
        k0 = rng.choice(len(SERVICES), m, p=[s[3] for s in SERVICES])
        tier = rng.choice(len(TIERS), m, p=TIER_SHARES)
        outcome = rng.choice(len(OUTCOME_SHARES), m, p=OUTCOME_SHARES)
        local = t0 - start - day * 86400
        busy = _density(local.astype(float)) / PEAK_DENSITY
        wait = np.minimum(rng.exponential(hall_factor[hall] * (240 + 480 * busy)), 3 * 3600).astype(np.int64)
        c1 = rng.integers(0, COUNTERS, m)
        s1 = np.where(rng.random(m) < 0.85, c1, rng.integers(0, STAFF_PER_HALL, m))
        recall = rng.random(m) < np.where(outcome == 1, 0.6, 0.05)
        walk = rng.integers(10, 60, m) + 60 * recall  # from the call to the counter
        h1 = _handle(rng, norms[k0])
        # the transferred: a second service, queue and counter
        k2 = (k0 + rng.integers(1, len(SERVICES), m)) % len(SERVICES)
        wait2 = rng.exponential(0.5 * hall_factor[hall] * (240 + 480 * busy)).astype(np.int64) + 1
        c2 = rng.integers(0, COUNTERS, m)
        s2 = np.where(rng.random(m) < 0.85, c2, rng.integers(0, STAFF_PER_HALL, m))
        h2 = _handle(rng, norms[k2])
        cancel_after = (rng.random(m) * wait).astype(np.int64) + 1

        ids = np.arange(next_ticket, next_ticket + m)
        next_ticket += m
        base = hall - 1
        svc1, svc2 = base * 3 + k0 + 1, base * 3 + k2 + 1
        counter1, staff1 = base * COUNTERS + c1 + 1, base * STAFF_PER_HALL + s1 + 1
        counter2, staff2 = base * COUNTERS + c2 + 1, base * STAFF_PER_HALL + s2 + 1
        t_call = t0 + wait
        t_serve = t_call + walk
        t_end = t_serve + h1  # finished, or transferred
        t_call2 = t_end + wait2
        t_serve2 = t_call2 + rng.integers(10, 60, m)
        t_end2 = t_serve2 + h2
        t_noshow = t_call + 120 + 60 * recall
        t_expire = start + (day + 1) * 86400 + 300  # the scheduler, just after local midnight

        served, noshow, cancelled, transferred, expired = (outcome == i for i in range(5))
        ev: list[tuple] = []  # (mask, slot, kind, at, service, counter, staff, duration)

        def add(mask, slot, kind, at, service, counter=None, staff=None, duration=None):
            ev.append((mask, slot, kind, at, service, counter, staff, duration))

        everyone = np.ones(m, dtype=bool)
        called = served | noshow | transferred
        add(everyone, 0, ISSUED, t0, svc1)
        add(called, 1, CALLED, t_call, svc1, counter1, staff1)
        add(called & recall, 2, RECALLED, t_call + 60, svc1, counter1, staff1)
        add(served | transferred, 3, SERVING, t_serve, svc1, counter1, staff1)
        add(served, 4, FINISHED, t_end, svc1, counter1, staff1, h1)
        add(noshow, 4, NO_SHOW, t_noshow, svc1, counter1, staff1)
        add(cancelled, 1, CANCELLED, t0 + cancel_after, svc1)
        add(expired, 1, EXPIRED, t_expire, svc1)
        add(transferred, 4, TRANSFERRED, t_end, svc1, counter1, staff1, h1)
        add(transferred, 5, CALLED, t_call2, svc2, counter2, staff2)
        add(transferred, 6, SERVING, t_serve2, svc2, counter2, staff2)
        add(transferred, 7, FINISHED, t_end2, svc2, counter2, staff2, h2)

        none = np.full(m, -1, dtype=np.int64)
        parts = {k: [] for k in ("tix", "slot", "kind", "at", "service", "counter", "staff", "duration")}
        for mask, slot, kind, at, service, counter, staff, duration in ev:
            idx = np.flatnonzero(mask)
            parts["tix"].append(idx)
            parts["slot"].append(np.full(len(idx), slot))
            parts["kind"].append(np.full(len(idx), kind))
            for name, col in (("at", at), ("service", service), ("counter", counter), ("staff", staff),
                              ("duration", duration)):
                parts[name].append((none if col is None else col)[idx])
        events = {k: np.concatenate(v) for k, v in parts.items()}
        order = np.lexsort((events["slot"], events["tix"], events["at"]))  # ids follow the event time
        events = {k: v[order] for k, v in events.items()}
        n_events = len(order)
        tix = events.pop("tix")
        events["id"] = np.arange(next_event, next_event + n_events)
        next_event += n_events
        events["ticket_id"] = ids[tix]
        events["hall_id"] = hall[tix]
        events["tier"] = tier[tix]
        events["to_service"] = svc2[tix]

        # numbers per hall, prefix and business day, in issue order
        key = (hall * len(SERVICES) + k0) * (DAYS + 1) + day
        by_key = np.argsort(key, kind="stable")
        sorted_key = key[by_key]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1]
        group_start = np.repeat(starts, np.diff(np.r_[starts, m]))
        number = np.empty(m, dtype=np.int64)
        number[by_key] = np.arange(m) - group_start + 1

        tickets = {
            "id": ids, "hall_id": hall, "service_id": np.where(transferred, svc2, svc1), "day": day,
            "k0": k0, "number": number, "tier": tier, "outcome": outcome, "issued_at": t0,
            "staff_id": np.where(transferred, staff2, np.where(called, staff1, -1)),
            "recalls": np.where(transferred, 0, recall.astype(np.int64) * called),
            "called_at": np.where(transferred, t_call2, np.where(called, t_call + 60 * recall, -1)),
            "started_at": np.where(transferred, t_serve2, np.where(served, t_serve, -1)),
            "closed_at": np.select([served, noshow, cancelled, transferred, expired],
                                   [t_end, t_noshow, t0 + cancel_after, t_end2, t_expire]),
        }
        yield tickets, events


# --------------------------------------------------------------------------- loading

NULL = "\\N"


def _timestamps(seconds, kind: str) -> list:
    """Epoch seconds (-1: NULL) as the column's text: naive UTC, as UTCDateTime stores it."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    if kind == "sqlite":  # SQLAlchemy's SQLite storage format
        text = np.char.add(np.char.replace(text, "T", " "), ".000000")
    out = text.tolist()
    if (seconds < 0).any():
        null = NULL if kind == "postgresql" else None
        out = [null if s < 0 else x for s, x in zip(seconds.tolist(), out)]
    return out


def _ints(values, kind: str) -> list:
    out = values.tolist()
    if (values < 0).any():
        null = NULL if kind == "postgresql" else None
        out = [null if v < 0 else v for v in out]
    return out


def ticket_rows(t: dict, kind: str, days: list[str]) -> list[list]:
    prefixes = [s[0] for s in SERVICES]
    prefix = [prefixes[k] for k in t["k0"].tolist()]
    return [
        t["id"].tolist(), t["hall_id"].tolist(), t["service_id"].tolist(), [days[d] for d in t["day"].tolist()],
        prefix, t["number"].tolist(), [f"{p}{n:03d}" for p, n in zip(prefix, t["number"].tolist())],
        [TIERS[x] for x in t["tier"].tolist()], [f"t{i}" for i in t["id"].tolist()],
        [STATES[x] for x in t["outcome"].tolist()], _timestamps(t["issued_at"], kind),
        _timestamps(t["issued_at"], kind), _ints(t["staff_id"], kind), t["recalls"].tolist(),
        _timestamps(t["called_at"], kind), _timestamps(t["started_at"], kind), _timestamps(t["closed_at"], kind),
    ]


def event_rows(e: dict, kind: str) -> list[list]:
    tier_json = [json.dumps({"tier": x}) for x in TIERS]
    detail = [None] * len(e["id"])
    for i in np.flatnonzero(e["kind"] == ISSUED).tolist():
        detail[i] = tier_json[e["tier"][i]]
    for i in np.flatnonzero(e["kind"] == TRANSFERRED).tolist():
        detail[i] = json.dumps({"to_service_id": int(e["to_service"][i]), "to_counter_id": None})
    duration = [None if v < 0 else float(v) for v in e["duration"].tolist()]
    if kind == "postgresql":
        detail = [NULL if x is None else x for x in detail]
        duration = [NULL if x is None else x for x in duration]
    return [
        e["id"].tolist(), e["ticket_id"].tolist(), e["hall_id"].tolist(), [KINDS[k] for k in e["kind"].tolist()],
        _timestamps(e["at"], kind), e["service"].tolist(), _ints(e["counter"], kind), _ints(e["staff"], kind),
        duration, detail,
    ]


def _copy(cur, table: str, columns: tuple, cols: list[list]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        rows = list(zip(*cols))
        for lo in range(0, len(rows), 100_000):
            copy.write("".join("\t".join(map(str, r)) + "\n" for r in rows[lo:lo + 100_000]))


def _drop_secondary_indexes(cur, kind: str) -> list[str]:
    """Drops the loaded tables' secondary indexes and unique constraints; returns the statements
    that build them again."""
    again = []
    if kind == "postgresql":
        cur.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid IN ('tickets'::regclass, 'ticket_events'::regclass) AND contype = 'u'")
        constraints = cur.fetchall()
        for table, name, definition in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            again.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cur.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
                    "JOIN pg_index x ON x.indexrelid = c.oid WHERE i.tablename IN ('tickets', 'ticket_events') "
                    "AND NOT x.indisprimary")
        for name, definition in cur.fetchall():
            cur.execute(f'DROP INDEX "{name}"')
            again.append(definition)
    else:  # SQLite: the named indexes (unique constraints are table constraints there: kept)
        cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                    "AND tbl_name IN ('tickets', 'ticket_events')")
        for name, sql in cur.fetchall():
            cur.execute(f'DROP INDEX "{name}"')
            again.append(sql)
    return again


def load(rt, kind: str, n_tickets: int) -> tuple[int, int]:
    days = [(YEAR + timedelta(days=d)).isoformat() for d in range(DAYS)]
    raw = rt.engine.raw_connection()
    n_tickets_loaded = n_events = 0
    try:
        cur = raw.cursor()
        if kind == "postgresql":
            cur.execute("SET session_replication_role = replica")  # no foreign-key triggers while loading
            cur.execute("SET synchronous_commit = off")
        else:
            cur.execute("PRAGMA foreign_keys = OFF")
            cur.execute("PRAGMA cache_size = -1000000")
            cur.execute("BEGIN")
        rebuild_indexes = _drop_secondary_indexes(cur, kind)
        raw.commit()
        marks = ", ".join("?" * len(TICKET_COLUMNS))
        event_marks = ", ".join("?" * len(EVENT_COLUMNS))
        for tickets, events in generate(n_tickets):
            t_cols, e_cols = ticket_rows(tickets, kind, days), event_rows(events, kind)
            if kind == "postgresql":
                _copy(cur, "tickets", TICKET_COLUMNS, t_cols)
                _copy(cur, "ticket_events", EVENT_COLUMNS, e_cols)
            else:
                cur.execute("BEGIN")
                cur.executemany(f"INSERT INTO tickets ({', '.join(TICKET_COLUMNS)}) VALUES ({marks})", zip(*t_cols))
                cur.executemany(f"INSERT INTO ticket_events ({', '.join(EVENT_COLUMNS)}) VALUES ({event_marks})",
                                zip(*e_cols))
            raw.commit()
            n_tickets_loaded += len(tickets["id"])
            n_events += len(events["id"])
            log(f"loaded {n_tickets_loaded:,} tickets, {n_events:,} events")
        log(f"building {len(rebuild_indexes)} indexes and constraints again")
        if kind == "postgresql":
            cur.execute("SET maintenance_work_mem = '1GB'")
        else:
            cur.execute("BEGIN")
        for statement in rebuild_indexes:
            t0 = time.perf_counter()
            cur.execute(statement)
            log(f"  {time.perf_counter() - t0:5.1f} s  {statement[:110]}")
        if kind == "postgresql":  # the ids were given: move the sequences past them
            for table in LOADED_TABLES:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cur.execute("RESET session_replication_role")
            cur.execute("RESET synchronous_commit")
            cur.execute("RESET maintenance_work_mem")
        raw.commit()
        if kind == "sqlite":
            cur.execute("PRAGMA foreign_keys = ON")
    finally:
        raw.close()
    return n_tickets_loaded, n_events


def analyze(rt, kind: str, tables: tuple[str, ...], vacuum: bool = False) -> None:
    """Planner statistics (PostgreSQL: of ``tables``, and with ``vacuum`` a VACUUM too, as autovacuum
    would do after a bulk insert: done here so that it does not run during the timings)."""
    from sqlalchemy import text

    if kind == "postgresql":
        with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"{'VACUUM ' if vacuum else ''}ANALYZE {', '.join(tables)}"))
    else:
        with rt.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


# --------------------------------------------------------------------------- the roll-ups, in worker processes

_WORKER_RT = None


def _worker_init(url: str) -> None:
    global _WORKER_RT
    from app.bootstrap import bootstrap

    _WORKER_RT = bootstrap(url, enforce_opening_hours=False)


def _rebuild_range(span: tuple[date, date]) -> dict:
    from app.services import service_levels

    t0 = time.perf_counter()
    got = service_levels.rebuild(_WORKER_RT, *span)
    return {**got, "seconds": time.perf_counter() - t0}


def build_rollups(url: str, workers: int) -> dict:
    """``service_levels.rebuild`` over the year: disjoint 7-day ranges shared out to ``workers`` processes."""
    spans = []
    day, last = YEAR, YEAR + timedelta(days=DAYS - 1)
    while day <= last:
        spans.append((day, min(day + timedelta(days=DAY_RANGE - 1), last)))
        day = spans[-1][1] + timedelta(days=1)
    totals = {"tickets": 0, "rows": 0, "hall_days": 0}
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_worker_init, initargs=(url,)) as pool:
        for i, got in enumerate(pool.imap_unordered(_rebuild_range, spans), 1):
            for k in totals:
                totals[k] += got[k]
            log(f"roll-ups {i}/{len(spans)}: {got['first_day']}..{got['last_day']}, {got['tickets']:,} tickets in "
                f"{got['seconds']:.1f} s ({totals['tickets']:,} so far)")
    return totals


def check_rollups(rt, tickets: int, month) -> int:
    """The roll-ups count every ticket loaded, and the month every ticket of its days; returns the
    month's tickets."""
    from sqlalchemy import func, select

    from app.storage.orm import Ticket, kpi_days, kpi_hall_days

    with rt.reader() as tx:
        s = tx.session
        counted = s.execute(select(func.sum(kpi_hall_days.c.arrivals))).scalar()
        detail = s.execute(select(func.sum(kpi_days.c.arrivals))).scalar()
        in_month = s.execute(select(func.count()).select_from(Ticket).where(
            Ticket.business_day >= month.first, Ticket.business_day <= month.last)).scalar()
    if counted != tickets or detail != tickets:
        raise SystemExit(f"the roll-ups count {counted} (hall-days) and {detail} (detail) arrivals for {tickets} "
                         "tickets loaded")
    return in_month


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes building the roll-ups (default: the number of cores)")
    parser.add_argument("--allow-drop", action="store_true")
    args = parser.parse_args()

    from app.bootstrap import bootstrap
    from app.cli import migrate
    from app.domain.satisfaction import period_of
    from app.services import service_levels

    with tempfile.TemporaryDirectory(prefix="kpi-bench-") as tmp:
        url, kind = prepare_database(args.database_url, Path(tmp), args.allow_drop)
        migrate(url)
        rt = bootstrap(url, enforce_opening_hours=False)
        t0 = time.perf_counter()
        halls = make_organisation(rt, [s[:3] for s in SERVICES], COUNTERS, STAFF_PER_HALL)
        tickets, events = load(rt, kind, args.tickets)
        analyze(rt, kind, LOADED_TABLES)
        load_s = time.perf_counter() - t0
        log(f"loaded {tickets:,} tickets and {events:,} events in {load_s:.0f} s; building roll-ups "
            f"in {args.workers} process(es)")
        t0 = time.perf_counter()
        built = build_rollups(url, args.workers)
        rollup_s = time.perf_counter() - t0
        analyze(rt, kind, ("kpi_days", "kpi_hall_days"), vacuum=True)
        log(f"roll-ups: {built['rows']:,} rows, {built['hall_days']:,} hall-days in {rollup_s:.0f} s")

        month = period_of("month", date(2026, 6, 15))
        in_month = check_rollups(rt, tickets, month)
        head_ms, report = timed(lambda: service_levels.head_office_report(rt, month), args.runs)
        if report["totals"]["arrivals"] != in_month:
            raise SystemExit(f"head office counts {report['totals']['arrivals']} June arrivals, tickets {in_month}")
        counter_ms, by_counter = timed(lambda: service_levels.hall_report(rt, 1, month, "counter"), args.runs)
        staff_ms, by_staff = timed(lambda: service_levels.hall_report(rt, 1, month, "staff"), args.runs)
        ref_ms = reference_ms(3)
        rt.engine.dispose()
    totals = report["totals"]
    hall_ms = counter_ms + staff_ms
    result = {
        "bench": "kpi", "database": kind, "tickets": tickets, "events": events, "halls": len(halls),
        "staff": len(halls) * STAFF_PER_HALL, "kpi_rows": built["rows"], "kpi_hall_days": built["hall_days"],
        "load_s": round(load_s, 1), "rollup_build_s": round(rollup_s, 1), "workers": args.workers,
        # float(): on PostgreSQL SUM(bigint) is numeric, so averages over the *_sum_s columns come back as Decimal
        "month_arrivals": int(totals["arrivals"]), "month_wait_avg_s": round(float(totals["wait_avg_s"]), 1),
        "month_wait_p90_s": round(float(totals["wait_p90_s"]), 1),
        "month_within_target_rate": round(float(totals["within_target_rate"]), 4),
        "month_busy_hour_wait_avg_s": round(float(totals["busy_hour_wait_avg_s"]), 1),
        "hall_month_arrivals": int(by_counter["totals"]["arrivals"]),
        "hall_staff_ranked": sum(1 for x in by_staff["lines"] if x["rank"] is not None),
        "head_office_report_ms": round(head_ms, 1), "hall_report_ms": round(hall_ms, 1),
        "hall_by_counter_ms": round(counter_ms, 1), "hall_by_staff_ms": round(staff_ms, 1),
        "reference_ms": round(ref_ms, 1),
        "head_office_vs_reference": round(head_ms / ref_ms, 3), "hall_vs_reference": round(hall_ms / ref_ms, 3),
        "runs": args.runs, "cpu": cpu_model(), "commit": git_commit(),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
