"""Satisfaction reports on SQLite and PostgreSQL: a small data set served, surveyed and answered through
the real services, its figures checked against hand-computed values; the roll-ups against the raw surveys;
exports opened back; who may read what."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from app import event_handlers
from app.domain.errors import Conflict
from app.services import config, queue, satisfaction, surveys
from app.sms.gateway import InboundSms
from app.storage.orm import Survey

from .test_surveys import headers, sapp, sclient, srt, sworld  # noqa: F401  (fixtures)

API = "/api/v1"
NOV = date(2026, 11, 1)


def served(rt, clock, hall, counter: int, staff: str, wait_min: int, mobile: str, answers: list[str]) -> None:
    """A customer waits ``wait_min`` minutes, is served at ``counter`` by ``staff``, gets the survey, replies."""
    prefix = {1: "A", 3: "B"}[counter]
    queue.issue_ticket(rt, hall.id, hall.services[prefix], mobile=mobile)
    clock.advance(minutes=wait_min)
    try:
        queue.open_counter(rt, hall.counters[counter], hall.staff[staff])
    except Conflict:
        pass
    queue.call_next(rt, hall.counters[counter], hall.staff[staff])
    queue.finish_service(rt, hall.counters[counter], hall.staff[staff])
    event_handlers.deliver(rt)  # its survey
    surveys.dispatch(rt)
    clock.advance(minutes=5)
    surveys.dispatch(rt)
    for text_ in answers:
        surveys.handle_reply(rt, InboundSms("86" + mobile, text_, rt.now(), None), "outbox")


@pytest.fixture
def rated(srt, sworld, clock):
    """Hall 1 (four grades, 1-2 satisfied): s1 at counter 1 rated 1, 2, 3, 1 (+ a duplicate 2);
    t1 at counter 3 rated 4, 4 and one survey unanswered. Hall 2 (five-point): one 5."""
    one = sworld.one
    config.update_hall(srt, sworld.two.id, {"survey": {"scale": "five_point"}})
    plan = [(1, "s1", 2, ["1"]), (1, "s1", 7, ["2"]), (1, "s1", 12, ["3"]), (3, "t1", 25, ["4"]),
            (3, "t1", 40, ["4"]), (3, "t1", 1, []), (1, "s1", 3, ["1", "2"])]
    for i, (counter, staff, wait, answers) in enumerate(plan):
        served(srt, clock, one, counter, staff, wait, f"1380013{i:04d}", answers)
    served(srt, clock, sworld.two, 1, "s2", 0, "13900139000", ["5"])
    return sworld


def test_a_hall_report_ranks_staff_with_hand_computed_figures(srt, rated):
    report = satisfaction.hall_report(srt, rated.one.id, satisfaction.period_of("month", NOV), "staff")
    total = report["totals"]
    assert (total["sent"], total["rated"], total["ratings"], total["satisfied"]) == (7, 6, 6, 3)
    assert total["satisfaction_rate"] == pytest.approx(0.5)
    assert total["average_score"] == pytest.approx(2.5)
    assert total["score_index"] == pytest.approx(50.0)  # four grades: 1 is 100, 4 is 0
    assert total["response_rate"] == pytest.approx(6 / 7)
    s1, t1 = (next(x for x in report["lines"] if x["key"] == rated.one.staff[u]) for u in ("s1", "t1"))
    assert [x["key"] for x in report["lines"][:2]] == [s1["key"], t1["key"]]
    assert (s1["rank"], s1["ratings"], s1["satisfaction_rate"], s1["average_score"], s1["response_rate"]) == (
        1, 4, 0.75, 1.75, 1.0)
    assert (t1["rank"], t1["ratings"], t1["satisfaction_rate"], t1["average_score"]) == (2, 2, 0.0, 4.0)
    assert t1["response_rate"] == pytest.approx(2 / 3)


def test_satisfaction_by_wait_band_shows_what_a_long_wait_costs(srt, rated):
    report = satisfaction.hall_report(srt, rated.one.id, satisfaction.period_of("month", NOV), "wait_band")
    got = {x["key"]: (x["sent"], x["ratings"], x["satisfaction_rate"]) for x in report["lines"]}
    assert got == {0: (3, 2, 1.0), 1: (1, 1, 1.0), 2: (1, 1, 0.0), 3: (1, 1, 0.0), 4: (1, 1, 0.0)}
    assert [x["label_zh"] for x in report["lines"]][-1] == "30+分钟"
    across = satisfaction.wait_band_report(srt, satisfaction.period_of("month", NOV))
    assert {x["key"]: x["ratings"] for x in across["lines"]}[0] == 3  # hall 2's 5 waited 0 minutes


def test_head_office_sees_every_hall_rolled_up_and_mixes_scales_by_score_index(srt, rated):
    report = satisfaction.head_office_report(srt, satisfaction.period_of("month", NOV))
    (region,) = report["regions"]
    (city,) = region["cities"]
    halls = {h["id"]: h for h in city["halls"]}
    assert halls[rated.two.id]["rank_in_city"] == 1 and halls[rated.one.id]["rank_in_city"] == 2
    assert halls[rated.two.id]["average_score"] == 5.0 and halls[rated.two.id]["scale"] == "five_point"
    for level in (report["totals"], region, city):
        assert (level["ratings"], level["satisfied"], level["sent"]) == (7, 4, 8)
        assert level["satisfaction_rate"] == pytest.approx(4 / 7)
        assert level["average_score"] is None and level["scale"] == "mixed"  # 1-4 and 1-5 do not average
        assert level["score_index"] == pytest.approx((50 * 6 + 100 * 1) / 7)
        assert level["response_rate"] == pytest.approx(7 / 8)


def test_the_roll_ups_equal_the_raw_surveys_and_a_rebuild_changes_nothing(srt, rated):
    month = satisfaction.period_of("month", NOV)
    assert satisfaction.differences(srt, month.first, month.last) == []
    before = satisfaction.head_office_report(srt, month)
    satisfaction.rebuild(srt, month.first, month.last)
    satisfaction.rebuild(srt, month.first, month.last)  # idempotent
    assert satisfaction.head_office_report(srt, month) == before


def test_a_rebuild_repairs_rows_written_around_the_service_layer(srt, rated):
    month = satisfaction.period_of("month", NOV)
    with srt.uow() as tx:
        tx.session.execute(update(Survey).where(Survey.score == 3).values(score=2, satisfied=True))
        tx.commit()
    assert satisfaction.differences(srt, month.first, month.last) != []
    satisfaction.rebuild(srt, month.first, month.last)
    assert satisfaction.differences(srt, month.first, month.last) == []
    report = satisfaction.hall_report(srt, rated.one.id, month, "staff")
    assert report["totals"]["satisfied"] == 4


def test_a_service_just_after_midnight_in_shanghai_counts_in_the_new_month(srt, sworld, clock):
    config.update_hall(srt, sworld.one.id, {"survey": {"quiet_hours": None}})
    clock.now = datetime(2026, 11, 30, 15, 50, tzinfo=timezone.utc)  # 23:50 on 30 November in Shanghai
    served(srt, clock, sworld.one, 1, "s1", 0, "13700137000", ["1"])
    clock.now = datetime(2026, 11, 30, 16, 10, tzinfo=timezone.utc)  # 00:10 on 1 December there, still 30th in UTC
    served(srt, clock, sworld.one, 1, "s1", 0, "13700137001", ["4"])
    nov = satisfaction.hall_report(srt, sworld.one.id, satisfaction.period_of("month", NOV), "day")
    dec = satisfaction.hall_report(srt, sworld.one.id, satisfaction.period_of("month", date(2026, 12, 1)), "day")
    assert [(x["key"], x["average_score"]) for x in nov["lines"]] == [("2026-11-30", 1.0)]
    assert [(x["key"], x["average_score"]) for x in dec["lines"]] == [("2026-12-01", 4.0)]


def test_periods_are_the_day_the_iso_week_and_the_calendar_month():
    d = date(2026, 12, 31)
    assert satisfaction.period_of("week", d) == satisfaction.Period("week", date(2026, 12, 28), date(2027, 1, 3))
    assert satisfaction.period_of("month", date(2026, 2, 10)).last == date(2026, 2, 28)
    assert satisfaction.period_of("day", d).first == d


# --------------------------------------------------------------------------- over HTTP

def test_the_hall_report_exports_to_xlsx_with_a_title_row_and_numbers(srt, rated, sclient):
    resp = sclient.get(f"{API}/halls/{rated.one.id}/satisfaction?period=month&date=2026-11-15&format=xlsx",
                       headers=headers(srt, rated, "m1"))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(resp.data)).active
    assert "2026年11月" in sheet["A1"].value and "November 2026" in sheet["A1"].value
    header = [c.value for c in sheet[2]]
    assert header[0].startswith("排名") and "Rank" in header[0]
    rate_col = next(i for i, h in enumerate(header) if h.startswith("满意率"))
    first = [c for c in sheet[3]]
    assert first[0].value == 1 and first[rate_col].value == pytest.approx(0.75)
    assert first[rate_col].number_format == "0.00%"


def test_the_head_office_report_exports_to_csv_with_a_bom_excel_reads(srt, rated, sclient):
    resp = sclient.get(f"{API}/satisfaction/halls?period=month&date=2026-11-01&format=csv",
                       headers=headers(srt, rated, "hq"))
    assert resp.status_code == 200 and resp.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert "2026年11月" in table[0][0]
    assert table[1][0].startswith("层级") and "Level" in table[1][0]
    totals = table[2]
    assert totals[table[1].index(next(h for h in table[1] if h.startswith("评价数")))] == "7"
    assert "57.14%" in totals


def test_a_hall_manager_reads_only_their_hall_and_counter_staff_nothing(srt, rated, sclient):
    one, two = rated.one.id, rated.two.id
    assert sclient.get(f"{API}/halls/{one}/satisfaction", headers=headers(srt, rated, "m1")).status_code == 200
    assert sclient.get(f"{API}/halls/{two}/satisfaction", headers=headers(srt, rated, "m1")).status_code == 403
    assert sclient.get(f"{API}/halls/{one}/satisfaction", headers=headers(srt, rated, "s1")).status_code == 403
    assert sclient.get(f"{API}/satisfaction/halls", headers=headers(srt, rated, "m1")).status_code == 403
    body = sclient.get(f"{API}/satisfaction/halls?date=2026-11-01", headers=headers(srt, rated, "hq")).get_json()
    assert body["totals"]["ratings"] == 7


def test_a_bad_period_breakdown_or_format_is_422_naming_the_field(srt, sworld, sclient):
    h = headers(srt, sworld, "hq")
    for query, field in (("period=year", "period"), ("date=2026-13-01", "date"), ("by=colour", "by"),
                         ("format=pdf", "format")):
        resp = sclient.get(f"{API}/halls/{sworld.one.id}/satisfaction?{query}", headers=h)
        assert resp.status_code == 422 and resp.get_json()["error"]["field"] == field, query


def test_the_wait_band_report_over_http_lists_bands_in_order(srt, rated, sclient):
    body = sclient.get(f"{API}/satisfaction/wait-bands?date=2026-11-02", headers=headers(srt, rated, "admin")).get_json()
    assert [x["label_en"] for x in body["lines"]] == ["0-5 min", "5-10 min", "10-20 min", "20-30 min", "30+ min"]
    assert body["lines"][-1]["satisfaction_rate"] == 0.0


def test_the_nightly_job_rebuilds_last_weeks_closed_days_and_leaves_recent_ones(srt, rated, clock, monkeypatch):
    from app import create_app, scheduler

    month = satisfaction.period_of("month", NOV)
    with srt.reader() as tx:
        day = tx.session.execute(select(Survey.business_day).limit(1)).scalar_one()
    with srt.uow() as tx:  # counts gone wrong around the services
        tx.session.execute(update(Survey).where(Survey.score == 3).values(score=2, satisfied=True))
        tx.commit()
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": srt,
                      "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef"})
    monkeypatch.setattr(scheduler, "_app", app)
    clock.now = datetime.combine(day + timedelta(days=2), datetime.min.time(), tzinfo=timezone.utc)
    scheduler.rebuild_satisfaction()  # two days on: the day may still get ratings, it is left alone
    assert satisfaction.differences(srt, month.first, month.last) != []
    clock.now += timedelta(days=1)
    scheduler.rebuild_satisfaction()  # closed now: rebuilt from the surveys
    assert satisfaction.differences(srt, month.first, month.last) == []
