"""Service-level reports on SQLite and PostgreSQL, against hand-computed figures: a morning at hall 1
served through the real queue (a transfer, a no-show, a cancellation, a ticket still waiting at report
time) and, at hall 2 in another time zone, a ticket that spans midnight. The roll-ups are rebuilt
from the tickets' histories as the scheduler does, then read by the reports."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from app.domain.satisfaction import period_of
from app.services import config, queue, service_levels
from app.storage.orm import kpi_days

from ..world import build_world, sign_in, sign_out, staff_token
from .test_surveys import headers, make_app, srt  # noqa: F401  (srt: a fixture)

MONDAY = date(2026, 11, 23)


@pytest.fixture
def morning(srt, clock):
    """Hall 1, Monday from 10:00 in Shanghai (minutes after 10:00 in brackets):
    A1 waits 4 min, served 7 min at counter 1 (s1); A2 waits 11 min (past A's 10-minute target) and
    does not show; B1 waits 5 min, served 3 min at counter 3 (t1), transferred to A, waits 4 more,
    served 2 min at counter 1 (s1); B2 leaves the queue after 19 min; A3 (at 10:30) still waiting.
    Hall 2 (Asia/Urumqi, UTC+6): one A ticket at 23:40 local, called 23:55, served 23:56 to 00:10."""
    world = build_world(srt)
    one, two = world.one, world.two
    s1, t1 = one.staff["s1"], one.staff["t1"]
    c1, c3 = one.counters[1], one.counters[3]

    def at(minutes: int) -> None:
        clock.now = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc) + timedelta(minutes=minutes)

    at(0)
    for prefix in ("A", "A", "B"):
        queue.issue_ticket(srt, one.id, one.services[prefix])
    queue.open_counter(srt, c1, s1)
    queue.open_counter(srt, c3, t1)
    at(1)
    b2 = queue.issue_ticket(srt, one.id, one.services["B"])
    at(4)
    queue.call_next(srt, c1, s1)
    queue.start_service(srt, c1, s1)
    at(5)
    queue.call_next(srt, c3, t1)
    queue.start_service(srt, c3, t1)
    at(8)
    queue.transfer(srt, c3, one.services["A"], staff_id=t1)
    at(11)
    queue.finish_service(srt, c1, s1)
    assert queue.call_next(srt, c1, s1)["ticket"]["label"] == "A002"
    at(12)
    queue.recall(srt, c1, s1)  # the hall's rule: one recall before a no-show; the wait ended at the first call
    queue.mark_no_show(srt, c1, s1)
    assert queue.call_next(srt, c1, s1)["ticket"]["label"] == "B001"
    queue.start_service(srt, c1, s1)
    at(14)
    queue.finish_service(srt, c1, s1)
    at(20)
    queue.cancel_ticket(srt, b2["public_token"])
    at(30)
    queue.issue_ticket(srt, one.id, one.services["A"])

    config.update_hall(srt, two.id, {"timezone": "Asia/Urumqi"})
    clock.now = datetime(2026, 11, 23, 17, 40, tzinfo=timezone.utc)  # 23:40 Monday in Urumqi
    queue.issue_ticket(srt, two.id, two.services["A"])
    queue.open_counter(srt, two.counters[1], two.staff["s2"])
    clock.now += timedelta(minutes=15)
    queue.call_next(srt, two.counters[1], two.staff["s2"])
    clock.now += timedelta(minutes=1)
    queue.start_service(srt, two.counters[1], two.staff["s2"])
    clock.now += timedelta(minutes=14)  # 00:10 Tuesday in Urumqi
    queue.finish_service(srt, two.counters[1], two.staff["s2"])
    service_levels.rebuild(srt, MONDAY - timedelta(days=1), MONDAY + timedelta(days=1))
    return world


def test_a_hall_day_has_the_hand_computed_waits_handle_times_and_outcomes(srt, morning):
    report = service_levels.hall_report(srt, morning.one.id, period_of("day", MONDAY), "counter")
    t = report["totals"]
    assert (t["arrivals"], t["served"], t["no_show"], t["cancelled"], t["open"], t["transfers"]) == (5, 2, 1, 1, 1, 1)
    assert t["waited"] == 3 and t["wait_avg_s"] == pytest.approx((240 + 660 + 540) / 3)  # B1: 5 + 4 minutes
    assert t["within_target_rate"] == pytest.approx(2 / 3)  # A2's 11 minutes passed A's 10
    assert t["handle_avg_s"] == pytest.approx((420 + 300) / 2)  # B1: 3 + 2 minutes at two counters
    assert t["no_show_rate"] == pytest.approx(1 / 4) and t["cancel_rate"] == pytest.approx(1 / 4)
    # P90 from the bins: the third wait (660 s) sits in the 10-12 minute bin: 600 + 120 x 0.7
    assert t["wait_p90_s"] == pytest.approx(684)
    assert t["busy_hour_wait_avg_s"] == pytest.approx(480)  # every ticket came in the 10:00 hour
    counters = {x["number"]: x for x in report["lines"] if x.get("number")}
    assert counters[1]["arrivals"] == 3 and counters[1]["rank"] == 1  # A1, A2, B1: credited to who served last
    assert counters[3]["arrivals"] == 0 and counters[3]["rank"] is None
    unserved = next(x for x in report["lines"] if x["key"] == 0)
    assert (unserved["arrivals"], unserved["cancelled"], unserved["open"]) == (2, 1, 1)


def test_staff_service_hour_and_tier_cuts_add_up_to_the_day(srt, morning):
    day = period_of("day", MONDAY)
    staff = {x.get("name"): x for x in service_levels.hall_report(srt, morning.one.id, day, "staff")["lines"]}
    assert staff["营业员1"]["served"] == 2 and staff["营业员1"]["handle_avg_s"] == pytest.approx(360)
    assert staff["营业员1b"]["arrivals"] == 0  # t1 served B1 first, but s1 finished it
    services = {x["prefix"]: x for x in service_levels.hall_report(srt, morning.one.id, day, "service")["lines"]}
    assert (services["A"]["arrivals"], services["B"]["arrivals"]) == (3, 2)  # counted under the service taken
    assert services["A"]["handle_norm_s"] == 120
    hours = service_levels.hall_report(srt, morning.one.id, day, "hour")["lines"]
    assert [(x["key"], x["arrivals"]) for x in hours] == [(10, 5)]
    tiers = service_levels.hall_report(srt, morning.one.id, day, "tier")["lines"]
    assert [(x["key"], x["arrivals"]) for x in tiers] == [("ordinary", 5)]


def test_a_ticket_that_spans_midnight_counts_on_its_day_in_its_halls_zone(srt, morning):
    monday = service_levels.hall_report(srt, morning.two.id, period_of("day", MONDAY), "hour")
    assert [(x["key"], x["arrivals"], x["wait_avg_s"], x["handle_avg_s"]) for x in monday["lines"]] == [
        (23, 1, 900, 840)]
    tuesday = service_levels.hall_report(srt, morning.two.id, period_of("day", MONDAY + timedelta(days=1)), "hour")
    assert tuesday["lines"] == [] and tuesday["totals"]["arrivals"] == 0


def test_head_office_rolls_up_both_halls_from_the_merged_histograms(srt, morning):
    report = service_levels.head_office_report(srt, period_of("day", MONDAY))
    t = report["totals"]
    assert (t["arrivals"], t["waited"]) == (6, 4)
    assert t["wait_avg_s"] == pytest.approx((240 + 660 + 540 + 900) / 4)
    assert t["within_target_rate"] == pytest.approx(2 / 4)  # hall 2's 15 minutes passed A's 10
    (region,) = report["regions"]
    (city,) = region["cities"]
    halls = {h["id"]: h for h in city["halls"]}
    assert halls[morning.one.id]["rank_in_city"] == 1 and halls[morning.two.id]["rank_in_city"] == 2
    assert city["wait_p90_s"] == t["wait_p90_s"] and region["arrivals"] == 6


def test_a_rebuild_is_idempotent_and_a_day_ended_mid_service_keeps_its_wait(srt, morning, clock):
    day = period_of("day", MONDAY)
    before = service_levels.hall_report(srt, morning.one.id, day, "counter")
    service_levels.rebuild(srt, MONDAY, MONDAY)
    assert service_levels.hall_report(srt, morning.one.id, day, "counter") == before
    # A3 is called at 23:58 and is being served when the day ends; the scheduler expires it
    clock.now = datetime(2026, 11, 23, 15, 58, tzinfo=timezone.utc)
    queue.call_next(srt, morning.one.counters[1], morning.one.staff["s1"])
    queue.start_service(srt, morning.one.counters[1], morning.one.staff["s1"])
    clock.now = datetime(2026, 11, 23, 16, 5, tzinfo=timezone.utc)
    assert queue.expire_past_days(srt) == 1
    service_levels.rebuild(srt, MONDAY, MONDAY)
    t = service_levels.hall_report(srt, morning.one.id, day, "counter")["totals"]
    assert (t["expired"], t["open"], t["waited"], t["handled"]) == (1, 0, 4, 2)  # its wait counts, no handle time
    with srt.reader() as tx:
        assert tx.session.query(kpi_days).filter(kpi_days.c.hall_id == morning.one.id).count() >= 3


def test_the_weekday_by_hour_heatmap_averages_per_day(srt, morning):
    cells = service_levels.heatmap(srt, morning.one.id, period_of("week", MONDAY))["cells"]
    assert cells == [{"weekday": 0, "hour": 10, "arrivals": 5, "days": 1, "arrivals_per_day": 5.0,
                      "wait_avg_s": pytest.approx(480)}]


def test_a_hall_is_compared_with_the_period_before_and_with_its_city(srt, morning):
    report = service_levels.hall_report(srt, morning.one.id, period_of("day", MONDAY), "counter")
    assert report["previous"]["period"]["first_day"] == "2026-11-22" and report["previous"]["arrivals"] == 0
    city = report["city"]
    assert (city["halls"], city["arrivals"], city["waited"]) == (2, 6, 4)  # both halls of the city
    assert city["wait_avg_s"] == pytest.approx((240 + 660 + 540 + 900) / 4)
    counter_1 = next(x for x in report["lines"] if x.get("number") == 1)
    assert counter_1["previous"]["arrivals"] == 0
    staff = {x["name"]: x for x in service_levels.hall_report(srt, morning.one.id, period_of("day", MONDAY),
                                                              "staff")["lines"]}
    # s1 handled A1 (norm 120 s) and B1 (taken for B, norm 420 s): judged against their mix
    assert staff["营业员1"]["handle_norm_s"] == pytest.approx((120 + 420) / 2)


def test_the_tickets_behind_a_figure_are_listed_with_their_measures(srt, morning):
    listing = service_levels.ticket_list(srt, morning.one.id, period_of("day", MONDAY),
                                         {"counter_id": morning.one.counters[1]})
    got = {t["label"]: (t["outcome"], t["wait_s"], t["handle_s"], t["transfers"]) for t in listing["tickets"]}
    assert got == {"A001": ("served", 240, 420, 0), "A002": ("no_show", 660, None, 0),
                   "B001": ("served", 540, 300, 1)}
    assert listing["matched"] == 3 and not listing["truncated"]
    waiting = service_levels.ticket_list(srt, morning.one.id, period_of("day", MONDAY), {"outcome": "open"})
    assert [t["label"] for t in waiting["tickets"]] == ["A003"]
    with pytest.raises(Exception) as bad:
        service_levels.ticket_list(srt, morning.one.id, period_of("day", MONDAY), {"outcome": "lost"})
    assert getattr(bad.value, "field", None) == "outcome"


@pytest.fixture
def kclient(srt):
    return make_app(srt).test_client()


def test_the_reports_export_to_excel_in_minutes_and_the_ticket_list_to_csv(srt, morning, kclient):
    hq = headers(srt, morning, "hq")
    resp = kclient.get("/api/v1/service-levels/halls?period=day&date=2026-11-23&format=xlsx", headers=hq)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(resp.data)).active
    assert "服务指标" in sheet["A1"].value and "2026年11月23日" in sheet["A1"].value
    header = [c.value for c in sheet[2]]
    avg = header.index("平均等候（分钟） Average wait (min)")
    totals = [c for c in sheet[3]]
    assert totals[avg].value == pytest.approx(585 / 60, abs=0.01) and totals[avg].number_format == "0.0"
    listing = kclient.get(f"/api/v1/halls/{morning.one.id}/service-levels/tickets?period=day&date=2026-11-23"
                          f"&counter_id={morning.one.counters[1]}&format=csv", headers=headers(srt, morning, "m1"))
    rows = list(csv.reader(io.StringIO(listing.data.decode("utf-8-sig"))))
    assert rows[1][0].startswith("号码") and sorted(r[0] for r in rows[2:]) == ["A001", "A002", "B001"]
    wait = rows[1].index("等候（分钟） Wait (min)")
    assert next(r for r in rows[2:] if r[0] == "B001")[wait] == "9.0"  # 5 + 4 minutes
    assert {r[rows[1].index("渠道 Channel")] for r in rows[2:]} == {"system"}  # issued with no caller
    by_staff = kclient.get(f"/api/v1/halls/{morning.one.id}/service-levels?by=staff&period=day&date=2026-11-23",
                           headers=headers(srt, morning, "m1")).get_json()
    assert by_staff["lines"][0]["name"] == "营业员1" and by_staff["lines"][0]["served"] == 2


def test_bad_report_arguments_are_422_naming_the_field_and_other_halls_are_403(srt, morning, kclient):
    m1 = headers(srt, morning, "m1")
    one = morning.one.id
    for query, field in (("by=colour", "by"), ("period=year", "period"), ("format=pdf", "format")):
        resp = kclient.get(f"/api/v1/halls/{one}/service-levels?{query}", headers=m1)
        assert resp.status_code == 422 and resp.get_json()["error"]["field"] == field, query
    for query, field in (("hour=x", "hour"), ("outcome=lost", "outcome")):
        resp = kclient.get(f"/api/v1/halls/{one}/service-levels/tickets?{query}", headers=m1)
        assert resp.status_code == 422 and resp.get_json()["error"]["field"] == field, query
    assert kclient.get(f"/api/v1/halls/{morning.two.id}/service-levels", headers=m1).status_code == 403
    assert kclient.get("/api/v1/service-levels/halls", headers=m1).status_code == 403


def test_stored_service_level_reports_are_daily_weekly_on_sundays_and_monthly_at_the_months_end(srt, morning):
    from app.services import report_files
    from app.storage.orm import ReportFile

    family = report_files.SERVICE_LEVELS
    assert report_files.make_reports(srt, MONDAY, family) == {
        "day": "2026-11-23", "kpi_head_office_day": 1, "kpi_head_office_week": 0, "kpi_head_office_month": 0,
        "kpi_hall_day": 2, "kpi_hall_week": 0, "kpi_hall_month": 0}
    sunday = report_files.make_reports(srt, date(2026, 11, 29), family)
    assert (sunday["kpi_head_office_week"], sunday["kpi_hall_week"]) == (1, 2)  # the week holds Monday's tickets
    month_end = report_files.make_reports(srt, date(2026, 11, 30), family)
    assert (month_end["kpi_head_office_month"], month_end["kpi_hall_week"]) == (1, 0)
    listed = {f["file_name"]: f for f in report_files.list_reports(srt, None, "kpi_hall_week")}
    assert set(listed) == {"H1-营业厅1-服务指标周报-2026-W48.xlsx", "H2-营业厅2-服务指标周报-2026-W48.xlsx"}
    stored = report_files.report_file(srt, listed["H1-营业厅1-服务指标周报-2026-W48.xlsx"]["id"])
    assert stored["ascii_name"] == "hall-H1-service-levels-week-2026-W48.xlsx"
    sheet = load_workbook(io.BytesIO(stored["content"])).active
    assert "服务指标" in sheet["A1"].value and "第48周" in sheet["A1"].value
    with srt.reader() as tx:  # a rerun replaces, never adds
        before = tx.session.query(ReportFile).count()
    report_files.make_reports(srt, date(2026, 11, 29), family)
    with srt.reader() as tx:
        assert tx.session.query(ReportFile).count() == before


def test_counter_utilisation_is_serving_time_over_open_time(srt, morning, clock):
    # counter 1 opened at 10:00 and is still open at 10:30 (the clock): 30 min open, 7 + 2 min served there
    # (B1's 3 minutes at counter 3 are credited with the visit to counter 1, who served it last)
    clock.now = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)
    queue.close_counter(srt, morning.one.counters[3])  # counter 3: open 10:00-10:30
    report = service_levels.hall_report(srt, morning.one.id, period_of("day", MONDAY), "counter")
    lines = {x.get("number"): x for x in report["lines"]}
    assert lines[1]["open_s"] == 1800 and lines[1]["utilisation"] == pytest.approx((420 + 300) / 1800)
    assert lines[3]["open_s"] == 1800 and lines[3]["utilisation"] == 0
    assert report["totals"]["utilisation"] == pytest.approx(720 / 3600)
    assert lines[1]["paused_s"] == 0 and report["totals"]["paused_s"] == 0
    assert report["totals"]["door_in"] == 0 and report["totals"]["conversion"] is None  # no door counts here
    histogram = report["totals"]["wait_histogram"]
    assert sum(b["count"] for b in histogram) == 3 and histogram[4] == {"from_s": 240, "to_s": 300, "count": 1}


def test_the_service_level_pages_show_the_hand_computed_figures_and_list_the_tickets_behind_them(srt, morning,
                                                                                                  kclient):
    import re
    from html import unescape


    assert sign_in(kclient, "hq").status_code in (302, 303)
    day = "period=day&date=2026-11-23"
    company = kclient.get(f"/manager/service-levels?{day}").get_data(as_text=True)
    assert re.search(r'id="fig-wait">([^<]*)<', company).group(1) == f"{585 / 60:.1f}"
    assert re.search(r'id="fig-target">([^<]*)<', company).group(1) == "50.0%"
    hall = kclient.get(f"/manager/service-levels?{day}&hall={morning.one.id}").get_data(as_text=True)
    assert re.search(r'id="fig-p90">([^<]*)<', hall).group(1) == f"{684 / 60:.1f}"
    assert re.search(r'id="fig-busy">([^<]*)<', hall).group(1) == "8.0"
    assert "营业厅1" in hall and 'class="chart-svg heatmap"' in hall and 'class="chart-svg histogram"' in hall
    counter_1 = unescape(re.search(r'<a class="drill" href="([^"]+)">1号窗口</a>', hall).group(1))
    listing = kclient.get(counter_1).get_data(as_text=True)
    assert sorted(re.findall(r'<tr data-ticket="\d+" data-outcome="(\w+)"', listing)) == ["no_show", "served", "served"]
    assert ">9.0<" in listing  # B001's whole wait, 5 + 4 minutes
    sign_out(kclient)
    assert sign_in(kclient, "m2").status_code in (302, 303)
    assert kclient.get(f"/manager/service-levels?{day}&hall={morning.one.id}").status_code == 403
    own = kclient.get(f"/manager/service-levels?{day}").get_data(as_text=True)
    assert re.search(r'id="fig-wait">([^<]*)<', own).group(1) == "15.0"  # hall 2's one ticket


def test_door_conversion_counts_tickets_only_on_the_days_the_door_counters_counted(srt, morning, clock):
    from app.domain.footfall import MinuteCount
    from app.services import footfall

    device = morning.one.devices["sensor"]
    # Tuesday only: 8 people in; Monday's 5 tickets had no door counts, so they are not set against them
    clock.now = datetime(2026, 11, 24, 2, 1, tzinfo=timezone.utc)
    footfall.ingest(srt, device, morning.one.id,
                    [MinuteCount("door", datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc), 8, 0)])
    queue.issue_ticket(srt, morning.one.id, morning.one.services["A"])
    queue.issue_ticket(srt, morning.one.id, morning.one.services["B"])
    service_levels.rebuild(srt, MONDAY, MONDAY + timedelta(days=1))
    week = service_levels.hall_report(srt, morning.one.id, period_of("week", MONDAY), "counter")["totals"]
    assert (week["arrivals"], week["door_in"]) == (7, 8) and week["conversion"] == pytest.approx(2 / 8)


def test_rebuilds_of_the_same_days_at_once_all_succeed_and_agree(srt, morning):
    """The scheduler's quarter-hour and a backfill by hand may overlap: on PostgreSQL the second
    waits for the first (a transaction lock) instead of clashing on the primary key."""
    import threading

    errors, barrier = [], threading.Barrier(4)

    def rebuild():
        try:
            barrier.wait()
            service_levels.rebuild(srt, MONDAY - timedelta(days=1), MONDAY + timedelta(days=1))
        except Exception as exc:  # noqa: BLE001 - collected and shown below
            errors.append(exc)

    threads = [threading.Thread(target=rebuild) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = service_levels.hall_report(srt, morning.one.id, period_of("day", MONDAY), "counter")
    assert report["totals"]["arrivals"] == 5 and report["totals"]["waited"] == 3


def test_todays_figures_are_at_most_the_minute_jobs_behind(srt, morning, clock):
    """Issue 22: today's service levels lagged up to 15 minutes (the quarter-hour roll-up)."""
    day = period_of("day", MONDAY)
    clock.now = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)  # 11:00 in Zhengzhou, the same Monday
    before = service_levels.hall_report(srt, morning.one.id, day, "counter")["totals"]["arrivals"]
    queue.issue_ticket(srt, morning.one.id, morning.one.services["A"])
    assert service_levels.hall_report(srt, morning.one.id, day, "counter")["totals"]["arrivals"] == before
    done = service_levels.rebuild_today(srt)  # the minute's job: only today's business day
    assert done["first_day"] == done["last_day"] == MONDAY.isoformat()
    assert service_levels.hall_report(srt, morning.one.id, day, "counter")["totals"]["arrivals"] == before + 1


# --------------------------------------------------------------------------- by channel (issue 18)

MOBILES = ("13800138001", "13800138002")


def _at(clock, minutes: int) -> None:
    clock.now = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc) + timedelta(minutes=minutes)  # 10:00 Shanghai


def _remote_ticket(srt, hall, mobile: str) -> dict:
    """A remote ticket taken on the phone: code asked, read from the outbox, typed."""
    from sqlalchemy import select

    from app.services import remote
    from app.storage.orm import SmsOutboxMessage

    remote.send_code(srt, hall.id, mobile, None)
    with srt.reader() as tx:
        text = tx.session.execute(select(SmsOutboxMessage.text).order_by(SmsOutboxMessage.id.desc())
                                  .limit(1)).scalar_one()
    code = text.split("验证码 ")[1][:6]
    return remote.join(srt, hall.id, hall.services["A"], mobile, code)


def _appointment(srt, hall, slot_minutes_after_ten: int, state: str, checked_in_after: int | None = None,
                 day: date = MONDAY) -> str:
    """An appointment row of service A (slot and check-in in minutes after 10:00 Shanghai on ``day``)."""
    import secrets

    from app.storage.orm import Appointment

    ten = datetime(day.year, day.month, day.day, 2, 0, tzinfo=timezone.utc)
    token = secrets.token_hex(8)
    with srt.uow() as tx:
        tx.session.add(Appointment(
            hall_id=hall.id, service_id=hall.services["A"], business_day=day,
            slot_start=ten + timedelta(minutes=slot_minutes_after_ten), slot_minutes=30, work_s=120.0,
            state=state, number_cipher=None, number_key=secrets.token_hex(16), number_masked="138****0000",
            public_token=token, created_at=ten - timedelta(days=1),
            checked_in_at=ten + timedelta(minutes=checked_in_after) if checked_in_after is not None else None))
        tx.commit()
    return token


@pytest.fixture
def channels(srt, clock):
    """Hall 1, Monday from 10:00 in Shanghai (minutes after 10:00), service A at counter 1 (s1):
    at the kiosk K1 (A001, 0') waits 3 min and is served; K2 (A004, 2') waits 8 min and does not
    show. On the phone R1 (A002, 0') checks in at 6' and is called at 8': its wait is 2 min, from
    the check-in (not 8 from taking it); R2 (A003, 1') never checks in and is released. An
    appointment for 10:15 checks in at 7' (A005, queued as if at 10:05) and is called at 11': 4 min.
    Hall 2: one ticket issued by staff and one by no caller (system).
    Appointments of hall 1 (grace 15 min): the one above (on time), one checked in 12 min after its
    09:00 slot (on time), one 20 min after 09:30 (late), a no-show, a cancelled one, one for 16:00
    still booked; and one on Tuesday (not in Monday's figures)."""
    from app.services import remote
    from app.services.auth import Credential

    make_app(srt)  # sets up the SMS gateway (the outbox)
    world = build_world(srt)
    one, two = world.one, world.two
    config.update_hall(srt, one.id, {"remote_queue": {"enabled": True}, "booking": {"enabled": True,
                                                                                 "grace_minutes": 15}})
    kiosk = Credential(token=one.tokens["kiosk"])
    c1, s1 = one.counters[1], one.staff["s1"]
    _at(clock, 0)
    assert queue.issue_ticket(srt, one.id, one.services["A"], caller=kiosk)["label"] == "A001"
    r1 = _remote_ticket(srt, one, MOBILES[0])
    queue.open_counter(srt, c1, s1)
    _at(clock, 1)
    r2 = _remote_ticket(srt, one, MOBILES[1])
    assert (r1["label"], r2["label"]) == ("A002", "A003")
    _at(clock, 2)
    queue.issue_ticket(srt, one.id, one.services["A"], caller=kiosk)
    _at(clock, 3)
    assert queue.call_next(srt, c1, s1)["ticket"]["label"] == "A001"
    queue.start_service(srt, c1, s1)
    _at(clock, 5)
    queue.finish_service(srt, c1, s1)
    _at(clock, 6)
    remote.check_in(srt, one.id, kiosk, scan=r1["public_token"])
    _at(clock, 7)
    booked = _appointment(srt, one, 15, "booked")
    assert remote.check_in(srt, one.id, kiosk, scan=booked)["label"] == "A005"
    _at(clock, 8)
    assert queue.call_next(srt, c1, s1)["ticket"]["label"] == "A002"
    queue.start_service(srt, c1, s1)
    _at(clock, 10)
    queue.finish_service(srt, c1, s1)
    assert queue.call_next(srt, c1, s1)["ticket"]["label"] == "A004"
    _at(clock, 11)
    queue.recall(srt, c1, s1)
    queue.mark_no_show(srt, c1, s1)
    assert queue.call_next(srt, c1, s1)["ticket"]["label"] == "A005"
    queue.start_service(srt, c1, s1)
    _at(clock, 13)
    queue.finish_service(srt, c1, s1)
    _at(clock, 70)  # R2's hour to check in is over
    assert remote.release_due(srt) == 1
    _appointment(srt, one, -60, "checked_in", checked_in_after=-48)  # 12 min after 09:00: within 15
    _appointment(srt, one, -30, "checked_in", checked_in_after=-10)  # 20 min after 09:30: late
    _appointment(srt, one, -90, "no_show")
    _appointment(srt, one, 120, "cancelled")
    _appointment(srt, one, 360, "booked")
    _appointment(srt, one, 0, "booked", day=MONDAY + timedelta(days=1))
    staff = Credential(token=staff_token(srt, two.staff["s2"]))
    queue.issue_ticket(srt, two.id, two.services["A"], caller=staff)
    queue.issue_ticket(srt, two.id, two.services["A"])
    service_levels.rebuild(srt, MONDAY, MONDAY + timedelta(days=1))
    return world


def test_waits_no_shows_and_releases_are_split_by_channel_and_a_remote_ticket_waits_from_check_in(srt, channels):
    report = service_levels.hall_report(srt, channels.one.id, period_of("day", MONDAY), "channel")
    lines = {x["key"]: x for x in report["lines"]}
    assert [x["key"] for x in report["lines"]] == ["kiosk", "remote", "appointment"]  # the channels' order
    kiosk, remote_, booked = lines["kiosk"], lines["remote"], lines["appointment"]
    assert (kiosk["label_zh"], kiosk["label_en"], remote_["label_zh"], booked["label_zh"]) == (
        "现场取号机", "Kiosk", "远程取号", "预约")
    assert (kiosk["arrivals"], kiosk["served"], kiosk["no_show"], kiosk["waited"]) == (2, 1, 1, 2)
    assert kiosk["wait_avg_s"] == pytest.approx((180 + 480) / 2) and kiosk["no_show_rate"] == pytest.approx(1 / 2)
    assert (remote_["arrivals"], remote_["served"], remote_["expired"], remote_["waited"]) == (2, 1, 1, 1)
    assert remote_["wait_avg_s"] == pytest.approx(120)  # from the check-in at 6', not from taking it at 0'
    assert (booked["arrivals"], booked["served"], booked["wait_avg_s"]) == (1, 1, pytest.approx(240))
    assert kiosk["previous"]["arrivals"] == 0
    t = report["totals"]
    assert (t["arrivals"], t["waited"]) == (5, 4) and t["wait_avg_s"] == pytest.approx((180 + 480 + 120 + 240) / 4)
    with srt.reader() as tx:  # the roll-up's rows carry the channel in their key
        assert {r.channel for r in tx.session.query(kpi_days).filter(kpi_days.c.hall_id == channels.one.id)} == {
            "kiosk", "remote", "appointment"}


def test_the_head_office_sees_each_halls_channel_mix(srt, channels):
    report = service_levels.head_office_report(srt, period_of("day", MONDAY))
    (region,) = report["regions"]
    (city,) = region["cities"]
    halls = {h["id"]: h for h in city["halls"]}
    one, two = halls[channels.one.id], halls[channels.two.id]
    assert one["channels"] == {"kiosk": 2, "staff": 0, "system": 0, "remote": 2, "appointment": 1}
    assert one["remote_appointment_share"] == pytest.approx(3 / 5)
    assert two["channels"] == {"kiosk": 0, "staff": 1, "system": 1, "remote": 0, "appointment": 0}
    assert two["remote_appointment_share"] == 0
    mix = {"kiosk": 2, "staff": 1, "system": 1, "remote": 2, "appointment": 1}
    for node in (city, region, report["totals"]):
        assert node["channels"] == mix and node["remote_appointment_share"] == pytest.approx(3 / 7)
    empty = service_levels.head_office_report(srt, period_of("day", MONDAY - timedelta(days=1)))
    assert empty["totals"]["channels"]["kiosk"] == 0 and empty["totals"]["remote_appointment_share"] is None


def test_the_ticket_list_filters_by_channel_and_says_each_tickets_channel(srt, channels):
    day = period_of("day", MONDAY)
    remote_ = service_levels.ticket_list(srt, channels.one.id, day, {"channel": "remote"})
    got = {t["label"]: (t["channel"], t["outcome"], t["wait_s"]) for t in remote_["tickets"]}
    assert got == {"A002": ("remote", "served", 120), "A003": ("remote", "expired", None)}
    everyone = service_levels.ticket_list(srt, channels.one.id, day)
    assert {t["label"]: t["channel"] for t in everyone["tickets"]} == {
        "A001": "kiosk", "A002": "remote", "A003": "remote", "A004": "kiosk", "A005": "appointment"}
    with pytest.raises(Exception) as bad:
        service_levels.ticket_list(srt, channels.one.id, day, {"channel": "fax"})
    assert getattr(bad.value, "field", None) == "channel"


def test_a_halls_appointments_are_on_time_within_its_grace_minutes_late_missed_or_cancelled(srt, channels):
    got = service_levels.hall_report(srt, channels.one.id, period_of("day", MONDAY), "counter")["appointments"]
    assert {k: got[k] for k in ("booked", "on_time", "late", "no_show", "cancelled", "pending")} == {
        "booked": 6, "on_time": 2, "late": 1, "no_show": 1, "cancelled": 1, "pending": 1}
    assert got["on_time_rate"] == pytest.approx(2 / 4) and got["no_show_rate"] == pytest.approx(1 / 4)
    assert got["grace_minutes"] == 15 and got["booking_enabled"] is True
    week = service_levels.hall_report(srt, channels.one.id, period_of("week", MONDAY), "counter")["appointments"]
    assert (week["booked"], week["pending"]) == (7, 2)  # Tuesday's too
    none = service_levels.hall_report(srt, channels.two.id, period_of("day", MONDAY), "counter")["appointments"]
    assert (none["booked"], none["on_time_rate"], none["booking_enabled"]) == (0, None, False)


def test_the_channel_breakdown_filter_and_mix_through_the_api_and_its_files(srt, channels, kclient):
    one = channels.one.id
    m1, hq = headers(srt, channels, "m1"), headers(srt, channels, "hq")
    day = "period=day&date=2026-11-23"
    by = kclient.get(f"/api/v1/halls/{one}/service-levels?by=channel&{day}", headers=m1)
    assert by.status_code == 200, by.get_json()
    body = by.get_json()
    assert [(x["key"], x["arrivals"]) for x in body["lines"]] == [("kiosk", 2), ("remote", 2), ("appointment", 1)]
    assert (body["appointments"]["on_time"], body["appointments"]["late"]) == (2, 1)
    listed = kclient.get(f"/api/v1/halls/{one}/service-levels/tickets?channel=appointment&{day}", headers=m1)
    assert [(t["label"], t["channel"]) for t in listed.get_json()["tickets"]] == [("A005", "appointment")]
    bad = kclient.get(f"/api/v1/halls/{one}/service-levels/tickets?channel=fax&{day}", headers=m1)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "channel"
    listed_csv = kclient.get(f"/api/v1/halls/{one}/service-levels/tickets?channel=remote&format=csv&{day}", headers=m1)
    rows = list(csv.reader(io.StringIO(listed_csv.data.decode("utf-8-sig"))))
    channel = rows[1].index("渠道 Channel")
    assert sorted((r[0], r[channel]) for r in rows[2:]) == [("A002", "remote"), ("A003", "remote")]
    table = list(csv.reader(io.StringIO(kclient.get(
        f"/api/v1/halls/{one}/service-levels?by=channel&format=csv&{day}", headers=m1).data.decode("utf-8-sig"))))
    assert [r[:3] for r in table[2:]] == [["kiosk", "现场取号机", "2"], ["remote", "远程取号", "2"],
                                          ["appointment", "预约", "1"]]
    mix = kclient.get(f"/api/v1/service-levels/halls?format=xlsx&{day}", headers=hq)
    sheet = load_workbook(io.BytesIO(mix.data)).active
    header = [c.value for c in sheet[2]]
    hall_row = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[3] and "营业厅1" in r[3])
    assert hall_row[header.index("远程取号 Remote tickets")] == 2
    assert hall_row[header.index("预约取号 Appointment tickets")] == 1
    assert hall_row[header.index("远程+预约占比 Remote + appointment share")] == pytest.approx(0.6)
    overview = kclient.get(f"/api/v1/service-levels/halls?{day}", headers=hq).get_json()
    assert overview["totals"]["channels"]["staff"] == 1


def test_the_pages_break_down_by_channel_show_the_mix_punctuality_and_filter_the_tickets(srt, channels, kclient):
    import re
    from html import unescape

    assert sign_in(kclient, "hq").status_code in (302, 303)
    day = "period=day&date=2026-11-23"
    company = kclient.get(f"/manager/service-levels?{day}").get_data(as_text=True)
    assert re.search(r'id="fig-mix">([^<]*)<', company).group(1) == "42.9%"
    assert "远程取号 2" in re.search(r'id="fig-mix-note">([^<]*)<', company).group(1)
    city_id = config.hall_place(srt, channels.one.id)["city"]["id"]
    city = kclient.get(f"/manager/service-levels?{day}&city={city_id}").get_data(as_text=True)
    shares = re.findall(r'data-figure="remote_appointment_share"><span title="([^"]*)">([^<]*)<', city)
    assert ("现场取号机 2 · 远程取号 2 · 预约 1", "60.0%") in shares
    hall = kclient.get(f"/manager/service-levels?{day}&hall={channels.one.id}&by=channel").get_data(as_text=True)
    assert 'data-by="channel" aria-current="true"' in hall
    assert re.findall(r'<a class="drill" href="[^"]+">([^<]+)</a>', hall) == ["现场取号机", "远程取号", "预约"]
    assert re.search(r'id="appointments-table".*?data-figure="late">(\d+)<', hall, re.S).group(1) == "1"
    assert re.search(r'data-figure="on_time_rate">([^<]*)<', hall).group(1) == "50.0%"
    remote_ = unescape(re.search(r'<a class="drill" href="([^"]+)">远程取号</a>', hall).group(1))
    assert "channel=remote" in remote_
    listing = kclient.get(remote_).get_data(as_text=True)
    assert sorted(re.findall(r'<tr data-ticket="\d+" data-outcome="(\w+)" data-channel="(\w+)"', listing)) == [
        ("expired", "remote"), ("served", "remote")]
    assert '<option value="remote" selected>' in listing
    english = kclient.get(f"/manager/service-levels?{day}&hall={channels.one.id}&by=channel&lang=en").get_data(
        as_text=True)
    assert re.findall(r'<a class="drill" href="[^"]+">([^<]+)</a>', english) == ["Kiosk", "Remote", "Appointment"]


def test_paused_time_is_its_own_category_in_the_counter_report(srt, morning, clock):
    """Issue 22: a counter's pauses are counted as paused time (open, but not calling)."""
    clock.now = datetime(2026, 11, 23, 2, 40, tzinfo=timezone.utc)  # 10:40: counter 3 is free
    counter = morning.one.counters[3]
    staff = next(iter(morning.one.staff.values()))
    queue.close_counter(srt, counter)
    queue.open_counter(srt, counter, staff)
    queue.pause_counter(srt, counter, "break", staff)
    clock.advance(minutes=15)
    queue.resume_counter(srt, counter, staff)
    queue.pause_counter(srt, counter, "system", staff)
    clock.advance(minutes=5)  # still paused: counted to now
    report = service_levels.hall_report(srt, morning.one.id, period_of("day", MONDAY), "counter")
    lines = {x.get("number"): x for x in report["lines"]}
    assert lines[3]["paused_s"] == 1200 and report["totals"]["paused_s"] == 1200
    assert lines[1]["paused_s"] == 0
