"""Scheduled satisfaction reports on SQLite and PostgreSQL: the ``satisfaction_reports`` job makes
yesterday's daily files (and on the 1st last month's), a rerun replaces them, the stored Excel files
read back with the figures of the live report, and who may list and download which file."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import scheduler
from app.services import report_files, satisfaction
from app.storage.orm import ReportFile

from .test_satisfaction_reports import rated  # noqa: F401  (fixture)
from .test_surveys import headers, sapp, sclient, srt, sworld  # noqa: F401  (fixtures)

API = "/api/v1"
NOV = date(2026, 11, 1)
RATED_DAY = date(2026, 11, 23)  # the clock's first day: every rating of ``rated`` is on it


def run_job(srt, sapp, clock, monkeypatch, at: datetime) -> None:
    monkeypatch.setattr(scheduler, "_app", sapp)
    clock.now = at
    scheduler.satisfaction_reports()


def stored(srt) -> list[tuple]:
    with srt.reader() as tx:
        return sorted(tx.session.execute(select(ReportFile.kind, ReportFile.hall_id, ReportFile.period_first,
                                                ReportFile.period_last)).all(), key=str)


def test_the_job_makes_yesterdays_files_and_a_rerun_replaces_them(srt, sapp, rated, clock, monkeypatch):
    # 21:17 UTC on the 23rd is 05:17 on the 24th in Shanghai: yesterday is the 23rd
    run_job(srt, sapp, clock, monkeypatch, datetime(2026, 11, 23, 21, 17, tzinfo=timezone.utc))
    first = stored(srt)
    assert first == sorted([("head_office_day", None, RATED_DAY, RATED_DAY),
                            ("hall_day", rated.one.id, RATED_DAY, RATED_DAY),
                            ("hall_day", rated.two.id, RATED_DAY, RATED_DAY)], key=str)
    listed = report_files.list_reports(srt)
    assert {x["file_name"] for x in listed if x["kind"] == "head_office_day"} == {"满意度日报-2026-11-23.xlsx"}
    assert all(x["size"] > 0 and x["format"] == "xlsx" for x in listed)
    ids = {x["id"] for x in listed}
    run_job(srt, sapp, clock, monkeypatch, datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc))  # run twice
    assert stored(srt) == first
    with srt.reader() as tx:
        assert tx.session.execute(select(func.count()).select_from(ReportFile)).scalar_one() == 3
    assert {x["id"] for x in report_files.list_reports(srt)}.isdisjoint(ids)  # replaced, not kept


def test_on_the_first_of_the_month_the_job_also_makes_last_months_reports(srt, sapp, rated, clock, monkeypatch):
    # 05:17 on 1 December in Shanghai: yesterday is 30 November, the month's last day
    run_job(srt, sapp, clock, monkeypatch, datetime(2026, 11, 30, 21, 17, tzinfo=timezone.utc))
    month = satisfaction.period_of("month", NOV)
    got = stored(srt)
    assert ("head_office_day", None, date(2026, 11, 30), date(2026, 11, 30)) in got
    assert ("head_office_month", None, month.first, month.last) in got
    assert {(k, h) for k, h, *_ in got if k == "hall_month"} == {("hall_month", rated.one.id),
                                                                 ("hall_month", rated.two.id)}
    assert not [k for k, *_ in got if k == "hall_day"]  # no surveys on the 30th
    again = report_files.make_reports(srt, date(2026, 11, 30))
    assert again["head_office_month"] == 1 and again["hall_month"] == 2
    assert stored(srt) == got
    names = {x["kind"]: x["file_name"] for x in report_files.list_reports(srt, None, "head_office_month")}
    assert names == {"head_office_month": "满意度月报-2026-11.xlsx"}


def test_the_downloaded_monthly_file_opens_and_matches_the_head_office_report(srt, rated, sclient):
    report_files.make_reports(srt, date(2026, 11, 30))
    (row,) = report_files.list_reports(srt, None, "head_office_month")
    resp = sclient.get(f"{API}/satisfaction/report-files/{row['id']}/download", headers=headers(srt, rated, "hq"))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = resp.headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote('满意度月报-2026-11.xlsx')}" in disposition
    assert 'filename="satisfaction-month-2026-11.xlsx"' in disposition
    sheet = load_workbook(io.BytesIO(resp.data)).active
    assert "2026年11月" in sheet["A1"].value
    header = [c.value for c in sheet[2]]
    col = {h.split(" ", 1)[1]: c.value for h, c in zip(header, sheet[3])}  # "评价数 Ratings" -> "Ratings"
    want = satisfaction.head_office_report(srt, satisfaction.period_of("month", NOV))["totals"]
    assert sheet["A3"].value.startswith("全部") and col["Ratings"] == want["ratings"] == 7
    assert col["Satisfied"] == want["satisfied"] and col["Surveys sent"] == want["sent"]
    assert col["Satisfaction rate"] == pytest.approx(want["satisfaction_rate"])
    assert col["Response rate"] == pytest.approx(want["response_rate"])
    halls = [r for r in sheet.iter_rows(min_row=4, values_only=True) if r[0].startswith("营业厅")]
    assert len(halls) == 2


def test_a_manager_lists_and_downloads_only_their_halls_files_and_counter_staff_nothing(srt, rated, sclient):
    report_files.make_reports(srt, RATED_DAY)
    files = report_files.list_reports(srt)
    mine = next(x for x in files if x["hall_id"] == rated.one.id)
    theirs = next(x for x in files if x["hall_id"] == rated.two.id)
    head = next(x for x in files if x["hall_id"] is None)

    def listed(who):
        resp = sclient.get(f"{API}/satisfaction/report-files", headers=headers(srt, rated, who))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return {x["id"] for x in resp.get_json()["report_files"]}

    assert listed("hq") == listed("admin") == {x["id"] for x in files}
    assert listed("m1") == {mine["id"]}
    for who, file_, status in (("m1", mine, 200), ("m1", theirs, 403), ("m1", head, 403), ("hq", theirs, 200),
                               ("s1", mine, 403)):
        resp = sclient.get(f"{API}/satisfaction/report-files/{file_['id']}/download", headers=headers(srt, rated, who))
        assert resp.status_code == status, (who, file_["kind"], resp.get_data(as_text=True)[:200])
    assert sclient.get(f"{API}/satisfaction/report-files", headers=headers(srt, rated, "s1")).status_code == 403
    assert sclient.get(f"{API}/satisfaction/report-files/999999/download",
                       headers=headers(srt, rated, "hq")).status_code == 404
    got = sclient.get(f"{API}/satisfaction/report-files/{mine['id']}/download", headers=headers(srt, rated, "m1"))
    sheet = load_workbook(io.BytesIO(got.data)).active
    assert "2026年11月23日" in sheet["A1"].value
    assert "filename*=UTF-8''" in got.headers["Content-Disposition"]
