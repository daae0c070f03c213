#!/usr/bin/env python3
"""Bulk import of a hall's VIP roster and staff: the dry run and the import, against one at a time.

    python bench/import_bench.py [--vip-rows 5000] [--staff-rows 50] [--runs 3]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/hallq_import_bench]

1. A fresh database (a temporary SQLite file, or a PostgreSQL database whose name contains
   "bench", dropped and recreated, and dropped again at the end), migrated by Alembic
   (``app.cli.migrate``). The runtime is set up as the integration tests do: ``bootstrap(url)``
   then ``create_app({..., "RUNTIME": rt, "SMS_DATA_KEY": ...})``, which configures the number
   vault. Passwords are hashed with the application's default method (scrypt, as in
   production), not the tests' fast one.
2. One region, one city and six empty halls, made through ``services.config``.
3. VIP roster: an .xlsx (openpyxl) of ``--vip-rows`` rows (5,000, the import's maximum): mobile,
   name, star level 1-7, valid until, note, active. Timed in process (service functions, no HTTP):
   reading the file alone (``domain.imports.read_table`` + ``read_entries``, best of ``--runs``),
   ``services.imports.plan`` on the empty hall (all create, best of ``--runs``), ``imports.apply``
   once, then ``plan`` of the same file again (all unchanged, best of ``--runs``). Reference in the
   same run: the same numbers added one at a time through ``roster.add_member`` (what the roster
   page's form does), on a second, empty hall.
4. Staff: a file of ``--staff-rows`` rows (50: a hall's whole staff) with initial passwords, the
   same way into a third hall: one password hash alone (best of ``--runs``), plan (best of
   ``--runs``), apply once; reference: as many ``config.create_staff`` calls into a fourth hall.
   A plan of the same file after the import is run once for its counts (a row with a password is
   an update every time: the password is set again). ``staff_apply_hashing_share`` is an
   estimate: rows x the best single hash, over the apply (the hashes run at other moments, so on a
   busy machine it can come out a little over 1).
5. A write elsewhere while the roster is imported: the same file applied once more, into a fifth
   hall, in a thread, while this thread adds a roster entry to a sixth hall every 0.25 s
   (``roster.add_member``, a short write transaction like a ticket's issue); the longest of those
   writes (``write_during_apply_max_ms``) shows whether the import holds up other halls' writes.
   Both threads are in this process (as in one web worker), so each write also waits for the GIL.
6. Checked: every plan's counts, the rows stored by both ways, an imported account signs in.

Progress on stderr; the last line on stdout is one JSON object.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import statistics
import tempfile
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from queue_bench import cpu_model, git_commit, log, prepare_database  # noqa: E402

SMS_DATA_KEY = "import-bench-data-key-0123456789abcdef"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
NOTES = ("钻石卡", "金卡", "银卡", "企业客户", "")
STAFF_PASSWORD = "Start-2026-{:03d}"


# --------------------------------------------------------------------------- files

def mobile(i: int) -> str:
    """A distinct mainland mobile number (11 digits, 13x-19x) for row i."""
    return f"1{3 + i % 7}{i:09d}"


def vip_records(n: int) -> list[dict]:
    return [{"mobile": mobile(i), "name": f"{SURNAMES[i % len(SURNAMES)]}先生" if i % 2 else
             f"{SURNAMES[i % len(SURNAMES)]}女士", "star_level": 1 + i % 7,
             "valid_until": date(2027, 1 + i % 12, 1 + i % 28), "note": NOTES[i % len(NOTES)], "active": True}
            for i in range(n)]


def staff_records(n: int, prefix: str) -> list[dict]:
    return [{"username": f"{prefix}{i:03d}", "name": f"{SURNAMES[i % len(SURNAMES)]}{i}",
             "staff_number": f"{10000 + i}", "role": "hall_manager" if i < 2 else "counter_staff",
             "email": f"{prefix}{i:03d}@example.com", "password": STAFF_PASSWORD.format(i), "active": True}
            for i in range(n)]


def xlsx(kind: str, records: list[dict]) -> bytes:
    """An .xlsx as a hall would fill one in: Chinese headers, numbers and passwords as text, dates as dates."""
    from openpyxl import Workbook

    from app.domain.imports import COLUMNS

    columns = COLUMNS[kind]
    book = Workbook()
    sheet = book.active
    sheet.append([c.header for c in columns])
    for record in records:
        row = []
        for c in columns:
            value = record.get(c.field)
            if isinstance(value, bool):
                value = "是" if value else "否"
            elif c.field == "role":
                value = {"counter_staff": "营业员", "hall_manager": "厅经理"}[value]
            row.append(value)
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- timing

def best_ms(fn, runs: int, what: str):
    """The fastest of ``runs`` calls, in ms, and the last result."""
    times, result = [], None
    for i in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
        log(f"{what}: run {i + 1}/{runs} {times[-1]:,.0f} ms")
    return min(times), result


def once_ms(fn, what: str):
    t0 = time.perf_counter()
    result = fn()
    ms = (time.perf_counter() - t0) * 1000
    log(f"{what}: {ms:,.0f} ms")
    return ms, result


def expect(what: str, got, wanted) -> None:
    if got != wanted:
        raise SystemExit(f"{what}: got {got!r}, expected {wanted!r}")


# --------------------------------------------------------------------------- setup

def make_halls(rt, n: int) -> list[int]:
    from app.services import config

    region = config.create_region(rt, {"code": "R1", "name_zh": "河南", "name_en": "Henan"})
    city = config.create_city(rt, {"region_id": region["id"], "code": "C1", "name_zh": "郑州",
                                   "name_en": "Zhengzhou"})
    return [config.create_hall(rt, {"city_id": city["id"], "code": f"H{k}", "name_zh": f"营业厅{k}",
                                    "name_en": f"Hall {k}", "timezone": "Asia/Shanghai"})["id"]
            for k in range(1, n + 1)]


def drop_database(url: str) -> None:
    """Drop the scratch PostgreSQL database ``prepare_database`` made."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def count_rows(rt, model, *where) -> int:
    from sqlalchemy import func, select

    with rt.reader() as tx:
        return tx.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


# --------------------------------------------------------------------------- the two imports

def bench_vip(rt, bulk_hall: int, one_hall: int, n: int, runs: int) -> dict:
    from app.domain import imports as domain
    from app.services import imports, roster
    from app.storage.orm import VipMember

    records = vip_records(n)
    content = xlsx("vip", records)
    log(f"VIP roster: {n:,} rows, .xlsx of {len(content) / 1024:,.0f} KiB")
    read_ms, entries = best_ms(lambda: domain.read_entries("vip", domain.read_table("vip.xlsx", content, "vip")),
                               runs, "vip read file")
    expect("vip rows read", (len(entries), sum(1 for e in entries if e.problems)), (n, 0))
    plan_ms, planned = best_ms(lambda: imports.plan(rt, bulk_hall, "vip", "vip.xlsx", content), runs, "vip plan")
    expect("vip plan counts", planned["counts"], {"create": n, "update": 0, "unchanged": 0, "reject": 0})
    apply_ms, done = once_ms(lambda: imports.apply(rt, bulk_hall, "vip", "vip.xlsx", content), "vip apply")
    expect("vip apply", done, {"created": n, "updated": 0, "unchanged": 0, "skipped": 0})
    expect("vip members stored (bulk)", count_rows(rt, VipMember, VipMember.hall_id == bulk_hall), n)
    replan_ms, replanned = best_ms(lambda: imports.plan(rt, bulk_hall, "vip", "vip.xlsx", content), runs,
                                   "vip plan again (unchanged)")
    expect("vip re-plan counts", replanned["counts"], {"create": 0, "update": 0, "unchanged": n, "reject": 0})

    log(f"reference: {n:,} × roster.add_member into an empty hall")
    t0 = time.perf_counter()
    for i, r in enumerate(records, start=1):
        roster.add_member(rt, one_hall, {**r, "valid_until": r["valid_until"].isoformat()})
        if i % 1000 == 0 or i == n:
            log(f"  add_member {i:,}/{n:,} ({(time.perf_counter() - t0):,.1f} s)")
    one_ms = (time.perf_counter() - t0) * 1000
    expect("vip members stored (one by one)", count_rows(rt, VipMember, VipMember.hall_id == one_hall), n)
    return {
        "vip_rows": n, "vip_file_kib": round(len(content) / 1024, 1),
        "vip_read_ms": round(read_ms, 1), "vip_plan_ms": round(plan_ms, 1), "vip_apply_ms": round(apply_ms, 1),
        "vip_replan_ms": round(replan_ms, 1), "vip_one_by_one_ms": round(one_ms, 1),
        "vip_one_by_one_per_row_ms": round(one_ms / n, 2),
        "vip_apply_vs_one_by_one": round(apply_ms / one_ms, 3),
        "vip_plan_vs_one_by_one": round(plan_ms / one_ms, 3),
    }


def writes_during_apply(rt, hall: int, other_hall: int, n: int) -> dict:
    """Apply the roster file into ``hall`` in a thread; meanwhile add entries to ``other_hall``, timed."""
    from app.services import imports, roster

    content = xlsx("vip", vip_records(n))
    outcome: dict = {}

    def run() -> None:
        t0 = time.perf_counter()
        try:
            outcome["done"] = imports.apply(rt, hall, "vip", "vip.xlsx", content)
        except Exception as exc:  # reported below, in this thread
            outcome["error"] = exc
        outcome["ms"] = (time.perf_counter() - t0) * 1000

    log(f"a write elsewhere during the import: apply {n:,} rows again while another hall adds entries")
    worker = threading.Thread(target=run)
    worker.start()
    waits = []
    while worker.is_alive():
        t0 = time.perf_counter()
        roster.add_member(rt, other_hall, {"mobile": f"1880{len(waits):07d}", "star_level": 3})
        waits.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.25)
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    expect("vip apply (during writes)", outcome["done"]["created"], n)
    log(f"  apply {outcome['ms']:,.0f} ms; {len(waits)} writes elsewhere, longest {max(waits):,.0f} ms, "
        f"median {statistics.median(waits):,.0f} ms")
    return {"apply_during_writes_ms": round(outcome["ms"], 1), "writes_during_apply": len(waits),
            "write_during_apply_max_ms": round(max(waits), 1),
            "write_during_apply_median_ms": round(statistics.median(waits), 1)}


def bench_staff(rt, bulk_hall: int, one_hall: int, n: int, runs: int) -> dict:
    from app.services import auth, config, imports
    from app.storage.orm import Staff

    records = staff_records(n, "imp")
    content = xlsx("staff", records)
    log(f"staff: {n} rows with passwords, .xlsx of {len(content) / 1024:,.0f} KiB, "
        f"hash method {rt.settings.get('password_hash_method') or 'scrypt (default)'}")
    hash_ms, hashed = best_ms(lambda: auth.hash_password(rt, STAFF_PASSWORD.format(0)), runs, "one password hash")
    plan_ms, planned = best_ms(lambda: imports.plan(rt, bulk_hall, "staff", "staff.xlsx", content), runs,
                               "staff plan")
    expect("staff plan counts", planned["counts"], {"create": n, "update": 0, "unchanged": 0, "reject": 0})
    apply_ms, done = once_ms(lambda: imports.apply(rt, bulk_hall, "staff", "staff.xlsx", content), "staff apply")
    expect("staff apply", done, {"created": n, "updated": 0, "unchanged": 0, "skipped": 0})
    expect("staff stored (bulk)", count_rows(rt, Staff, Staff.hall_id == bulk_hall), n)
    replan_ms, replanned = once_ms(lambda: imports.plan(rt, bulk_hall, "staff", "staff.xlsx", content),
                                   "staff plan again")
    principal = auth.verify_login(rt, records[-1]["username"], records[-1]["password"])  # the hash is real

    log(f"reference: {n} × config.create_staff into an empty hall")
    t0 = time.perf_counter()
    for i, r in enumerate(staff_records(n, "one"), start=1):
        config.create_staff(rt, {**r, "hall_id": one_hall})
        if i % 10 == 0 or i == n:
            log(f"  create_staff {i}/{n} ({(time.perf_counter() - t0):,.1f} s)")
    one_ms = (time.perf_counter() - t0) * 1000
    expect("staff stored (one by one)", count_rows(rt, Staff, Staff.hall_id == one_hall), n)
    return {
        "staff_rows": n, "password_hash": hashed.split("$", 1)[0], "password_hash_ms": round(hash_ms, 1),
        "staff_plan_ms": round(plan_ms, 1), "staff_apply_ms": round(apply_ms, 1),
        "staff_apply_hashing_share": round(n * hash_ms / apply_ms, 3),
        "staff_replan_ms": round(replan_ms, 1), "staff_replan_counts": replanned["counts"],
        "staff_signed_in": principal is not None,
        "staff_one_by_one_ms": round(one_ms, 1), "staff_one_by_one_per_row_ms": round(one_ms / n, 1),
        "staff_apply_vs_one_by_one": round(apply_ms / one_ms, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--vip-rows", type=int, default=5000, help="roster rows (the import takes at most 5000)")
    parser.add_argument("--staff-rows", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="best of this many for the reads and plans")
    parser.add_argument("--allow-drop", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        os.environ["HALLQ_INSTANCE"] = tmp  # before the app's settings are imported: nothing in ./instance
        from app import create_app
        from app.bootstrap import bootstrap
        from app.cli import migrate

        url, kind = prepare_database(args.database_url, Path(tmp), args.allow_drop)
        log(f"migrating {kind} database")
        migrate(url)
        rt = bootstrap(url, enforce_opening_hours=False)  # the default password hash (scrypt), as in production
        create_app({"TESTING": True, "SECRET_KEY": "import-bench", "DATABASE_URL": url, "RUNTIME": rt,
                    "SMS_DATA_KEY": SMS_DATA_KEY})  # configures the number vault
        try:
            vip_bulk, vip_one, staff_bulk, staff_one, probe_hall, probe_other = make_halls(rt, 6)
            result = {"bench": "imports", "database": kind}
            result.update(bench_vip(rt, vip_bulk, vip_one, args.vip_rows, args.runs))
            result.update(writes_during_apply(rt, probe_hall, probe_other, args.vip_rows))
            result.update(bench_staff(rt, staff_bulk, staff_one, args.staff_rows, args.runs))
        finally:
            rt.engine.dispose()
            if kind == "postgresql":
                drop_database(url)
                log("scratch database dropped")
    result.update({
        "runs": args.runs, "total_s": round(time.perf_counter() - started, 1),
        "load_avg_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "nproc": os.cpu_count(), "cpu": cpu_model(), "commit": git_commit(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    })
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
