"""The hall manager's live page (大堂经理实时看板) in a real browser against the live server:
door counts posted by the hall's sensor device reach the page without a reload, the load badge
follows the hall's rules, and only managers of the hall (and head office, administrators) get in.
The arrival forecast and counter plan show once made, peak warnings show and are acknowledged
on the page, and head office's table lists every hall.

Door counts, arrival history, forecasts and warnings stay in the shared database (other tests do
not read them); the load rules changed here are put back, tickets taken here are cancelled.

The live peak check runs in the scheduler, which the e2e deployment does not run: the tests run
``peaks.check_live`` themselves on the deployment's database and clock, and its events reach the
page through Redis and the live process, as the scheduler's do.
"""
from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from datetime import time as day_time
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from app.domain.model import TicketState
from app.services import peaks, planning
from app.storage.orm import Ticket

from ..world import PASSWORD, bearer
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_screens import issue_and_call, new_page, shot, sign_in, tidy_counter  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e
HALL_ZONE = ZoneInfo("Asia/Shanghai")  # the world's halls
SEEN_MS = 10_000  # counts reach the page within a few seconds (the chart refetches at most every 5 s)


# --------------------------------------------------------------------------- helpers

def this_minute(server) -> datetime:
    """The servers' current whole minute in the hall's zone (the deployment's clock starts at 10:00)."""
    return server.now().astimezone(HALL_ZONE).replace(second=0, microsecond=0)


def post_counts(server, hall, minute: datetime, entering: int, leaving: int) -> None:
    r = requests.post(server.api("/footfall/counts"), headers=bearer(hall.tokens["sensor"]), timeout=5,
                      json={"counts": [{"sensor": "door", "minute": minute.isoformat(), "in": entering,
                                        "out": leaving}]})
    assert r.ok, r.text


def footfall_today(server, hall) -> dict:
    r = requests.get(server.api(f"/halls/{hall.id}/footfall"), headers=bearer(server.tokens["admin"]), timeout=5)
    assert r.ok, r.text
    return r.json()


def set_load_rules(server, hall, rules: dict) -> dict:
    r = requests.patch(server.api(f"/halls/{hall.id}"), json={"load_rules": rules},
                       headers=bearer(server.tokens["admin"]), timeout=5)
    assert r.ok, r.text
    return r.json()["load_rules"]


@pytest.fixture
def load_rules(live_server):
    """Change hall 1's load rules in a test; the rules it had come back afterwards."""
    hall = live_server.world.one
    r = requests.get(live_server.api(f"/halls/{hall.id}"), headers=bearer(live_server.tokens["admin"]), timeout=5)
    before = r.json()["load_rules"]
    yield lambda rules: set_load_rules(live_server, hall, rules)
    set_load_rules(live_server, hall, before)


def open_as(browser, server, username: str, path: str, width=1280, height=800):  # noqa: F811
    page = new_page(browser, server, width, height)
    sign_in(page, username, path)
    return page


@pytest.fixture(scope="module")
def server_rt(live_server):
    """The app's services on the deployment's database and clock (for what only the scheduler does)."""
    rt = live_server.runtime()
    yield rt
    rt.engine.dispose()


@pytest.fixture
def no_one_waiting(live_server, server_rt):
    """Hall one's queue empty, as these tests assume (the screens' tests share the deployment and
    may leave customers waiting): each waiting customer cancels, through the API."""
    hall = live_server.world.one
    with server_rt.reader() as tx:
        tokens = tx.session.execute(select(Ticket.public_token).where(
            Ticket.hall_id == hall.id, Ticket.state == TicketState.WAITING.value)).scalars().all()
    for token in tokens:
        r = requests.post(live_server.api(f"/tickets/{token}/cancel"), timeout=5)
        assert r.ok, r.text


def six_weeks_of_arrivals(hall, today: date, seed: int = 7) -> list[tuple[int, datetime, int]]:
    """Tickets per service and quarter hour up to yesterday: a rush for A from 10:00 to 11:00."""
    rng = random.Random(seed)
    rows = []
    for back in range(42, 0, -1):
        at = datetime.combine(today - timedelta(days=back), day_time(0), tzinfo=HALL_ZONE)
        for _ in range(96):
            for prefix, service_id in hall.services.items():
                open_hours = 8 <= at.hour < 20
                lam = (20.0 if 10 <= at.hour < 11 else 3.0) if prefix == "A" else 1.5
                lam = lam if open_hours else 0.05
                rows.append((service_id, at, sum(1 for _ in range(100) if rng.random() < lam / 100)))
            at += timedelta(minutes=15)
    return rows


def issue(server, hall, prefix: str) -> dict:
    r = requests.post(server.api(f"/halls/{hall.id}/tickets"), json={"service_id": hall.services[prefix]},
                      headers=bearer(hall.tokens["kiosk"]), timeout=5)
    assert r.ok, r.text
    return r.json()


def warnings_of(server, hall, **params) -> list[dict]:
    r = requests.get(server.api(f"/halls/{hall.id}/warnings"), params=params, headers=bearer(server.tokens["admin"]),
                     timeout=5)
    assert r.ok, r.text
    return r.json()["warnings"]


# --------------------------------------------------------------------------- the live page

def test_door_counts_reach_the_managers_page_live_and_the_badge_turns_busy_past_the_rule(
        browser, live_server, load_rules, tidy_counter):  # noqa: F811
    hall = live_server.world.one
    page = open_as(browser, live_server, "m1", "/manager/")
    assert page.url.endswith("/manager/")
    expect(page.locator("#hall-name")).to_have_text("营业厅1")
    expect(page.locator("#link")).to_have_class(re.compile(r"\bup\b"))
    expect(page.locator("#load-state")).to_have_attribute("data-state", re.compile("busy|normal|idle"))
    expect(page.locator("#chart svg")).to_be_visible()
    expect(page.locator('#services tr[data-prefix="A"]')).to_contain_text("业务A")
    expect(page.locator('#counters tr[data-counter="1"]')).to_contain_text("1号窗口")
    expect(page.locator('#sensors li[data-sensor="door"]')).to_contain_text("正门摄像头")
    expect(page.locator('#sensors li[data-sensor="door"]')).to_contain_text("摄像头")
    fetches = page.evaluate("hallq.manager.footfallFetches")

    # the door camera reports a busy quarter of an hour, some minutes ago: no reload, it shows
    now = this_minute(live_server)
    earlier = now - timedelta(minutes=min(40, now.hour * 60 + now.minute - 1))
    post_counts(live_server, hall, earlier, 12, 2)
    day = footfall_today(live_server, hall)
    expect(page.locator("#occupancy")).to_have_text(str(day["occupancy"]), timeout=SEEN_MS)
    expect(page.locator("#in-today")).to_have_text(str(day["in"]), timeout=SEEN_MS)
    expect(page.locator("#chart svg")).to_have_attribute("data-in", str(day["in"]), timeout=SEEN_MS)
    expect(page.locator("#chart svg")).to_have_attribute("data-inside", str(day["occupancy"]))
    assert page.evaluate("hallq.manager.footfallFetches") > fetches  # fetched again, not reloaded
    expect(page.locator('#sensors li[data-sensor="door"]')).not_to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator('#sensors li[data-sensor="door"] .state')).to_have_text("正常上报")

    # the rule: busy from a few more people than are inside now; then they come in
    busy_from = day["occupancy"] + 3
    load_rules({"busy_occupancy": busy_from, "idle_occupancy": 0})
    post_counts(live_server, hall, now, 5, 0)
    day = footfall_today(live_server, hall)
    assert day["occupancy"] >= busy_from, day
    expect(page.locator("#occupancy")).to_have_text(str(day["occupancy"]), timeout=SEEN_MS)
    expect(page.locator("#load-state")).to_have_attribute("data-state", "busy")
    expect(page.locator("#load-state")).to_have_text("忙")
    expect(page.locator("#load-why")).to_contain_text(f"厅内 {day['occupancy']} 人，达到 {busy_from} 人的忙碌线")
    expect(page.locator("#chart svg")).to_have_attribute("data-in", str(day["in"]), timeout=SEEN_MS)
    expect(page.locator("#chart .busy-label")).to_have_text(f"{busy_from} 人起为忙")

    # a counter opens and calls: the counters table follows
    tidy_counter((hall.counters[1], "s1"))
    called = issue_and_call(live_server, hall, "A", hall.counters[1], "s1")
    counter = page.locator('#counters tr[data-counter="1"]')
    expect(counter).to_contain_text(called["label"])
    expect(counter).to_contain_text("已叫号")
    expect(page.locator("#open-counters")).to_have_text(re.compile(r"^[1-9]"))
    shot(page, "manager")

    page.set_viewport_size({"width": 768, "height": 1024})  # the tablet
    expect(page.locator("#chart svg")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 768  # nothing runs off the side
    shot(page, "manager-tablet")

    # the month's hourly counts, for Excel
    href = page.locator("#csv").get_attribute("href")
    assert re.search(rf"/api/v1/halls/{hall.id}/footfall/hourly\?from=\d{{4}}-\d\d-\d\d&to=\d{{4}}-\d\d-\d\d&format=csv",
                     href), href
    csv = page.context.request.get(href)  # with the page's session
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    assert csv.body().startswith("\ufeff时段 hour".encode())
    page.context.close()


def test_the_page_says_reconnecting_while_the_live_link_is_down(browser, live_server):  # noqa: F811
    page = open_as(browser, live_server, "m1", "/manager/")
    expect(page.locator("#link")).to_have_class(re.compile(r"\bup\b"))
    page.evaluate("hallq.manager.live.socket.io.engine.close()")  # the network drops
    expect(page.locator("#problem")).to_have_text("正在重新连接…")
    expect(page.locator("#link")).to_have_class(re.compile(r"\bup\b"))  # and comes back by itself
    expect(page.locator("#problem")).to_be_hidden()
    page.context.close()


def test_a_silent_sensor_is_flagged_and_head_office_picks_any_hall(browser, live_server):  # noqa: F811
    hall = live_server.world.two  # its door camera has never reported
    page = open_as(browser, live_server, "hq", "/manager/")
    expect(page.get_by_role("heading", name="请选择营业厅")).to_be_visible()
    page.locator(f'a[data-hall="{hall.id}"]').click()
    expect(page.locator("#hall-name")).to_have_text("营业厅2")
    sensor = page.locator('#sensors li[data-sensor="door"]')
    expect(sensor).to_have_class(re.compile(r"\bstale\b"))
    expect(sensor).to_contain_text("超过 10 分钟未上报")
    expect(sensor).to_contain_text("从未上报")
    expect(page.locator("#sensor-alert")).to_contain_text("正门摄像头超过 10 分钟未上报")
    page.locator("#hall-pick").select_option(str(live_server.world.one.id))
    expect(page.locator("#hall-name")).to_have_text("营业厅1")
    page.context.close()


def test_the_page_speaks_english(browser, live_server, no_one_waiting):  # noqa: F811
    page = open_as(browser, live_server, "m1", "/manager/")
    page.goto("/manager/?lang=en")
    expect(page.locator("header.bar")).to_contain_text("Hall manager live page")
    expect(page.locator("#hall-name")).to_have_text("Hall 1")
    expect(page.locator("#load-state")).to_have_text(re.compile("^(Busy|Normal|Idle)$"))
    expect(page.locator("#load-why")).to_contain_text("people inside")
    expect(page.locator('#services tr[data-prefix="A"]')).to_contain_text("Service A")
    expect(page.locator("#csv")).to_contain_text("Download hourly door counts, last 30 days")
    expect(page.locator("#warnings-card h2")).to_contain_text("Peak warnings")
    expect(page.locator("#forecast-card h2")).to_have_text("Arrivals: forecast and actual")
    expect(page.locator('.day-pick button[data-day="tomorrow"]')).to_have_text("Tomorrow")
    expect(page.locator('#services tr[data-prefix="A"] td.target')).to_have_text("target 10 min")
    shot(page, "manager-en")
    page.goto("/manager/?lang=zh_CN")
    expect(page.locator("header.bar")).to_contain_text("大堂经理实时看板")
    page.context.close()


# --------------------------------------------------------------------------- forecast, plan, warnings, head office

def test_the_forecast_and_the_counter_plan_show_once_made(browser, live_server, server_rt):  # noqa: F811
    hall = live_server.world.one
    today = live_server.now().astimezone(HALL_ZONE).date()
    tomorrow = today + timedelta(days=1)
    page = open_as(browser, live_server, "m1", "/manager/", 1366, 768)
    card = page.locator("#forecast-card")
    expect(card).to_have_attribute("data-state", re.compile("empty|ready"))
    if card.get_attribute("data-state") == "empty":  # nothing forecast yet: the manager may forecast now
        expect(page.locator("#forecast-empty")).to_contain_text("暂无预测")
        expect(page.locator("#forecast-now")).to_have_text("立即预测")
        expect(page.locator("#plan-none")).to_be_visible()

    # six weeks of history, then the forecast through the API, as an administrator
    planning.import_arrival_history(server_rt, hall.id, six_weeks_of_arrivals(hall, today))
    r = requests.post(live_server.api(f"/halls/{hall.id}/forecast"), headers=bearer(live_server.tokens["admin"]),
                      timeout=60)
    assert r.ok, r.text
    r = requests.get(live_server.api(f"/halls/{hall.id}/forecast"), headers=bearer(live_server.tokens["admin"]),
                     timeout=10)
    forecast = r.json()
    assert forecast["date"] == today.isoformat() and len(forecast["slots"]) == 96 and forecast["plan"], forecast

    # forecasting checks the coming hour: the warnings it raises reach the open page over Socket.IO, highlighted
    for warning in warnings_of(live_server, hall):
        if warning["kind"] == "forecast" and warning["acknowledged_at"] is None:
            row = page.locator(f'#warnings li[data-warning="{warning["id"]}"]')
            expect(row).to_have_class(re.compile(r"\bfresh\b"), timeout=SEEN_MS)
            expect(row.locator(".kind")).to_have_text("预测")
            expect(row.locator(".msg")).to_have_text(warning["message_zh"])

    page.reload()
    expect(card).to_have_attribute("data-state", "ready")
    expect(card).to_have_attribute("data-date", today.isoformat())
    chart = page.locator("#forecast-chart svg")
    expect(chart).to_have_attribute("data-slots", "96")
    actual = sum(s["actual"] or 0 for s in forecast["slots"])
    expect(chart).to_have_attribute("data-actual", re.compile(r"^\d+$"))
    assert int(chart.get_attribute("data-actual")) >= actual  # tickets taken so far (others may take more)
    expect(chart.locator("polygon.band")).to_have_count(1)  # open all day: one band
    expect(chart.locator("polyline.line-p50")).to_have_count(1)
    expect(chart.locator("line.now")).to_have_count(1)
    expect(chart.locator("text.caption")).to_have_text("每 15 分钟取号人数")
    needs = page.locator("#counters-chart svg")
    expect(needs).to_have_attribute("data-peak-needed", str(max(s["needed"] for s in forecast["slots"])))
    expect(needs).to_have_attribute("data-planned", "1")
    expect(needs.locator("polyline.step-planned")).to_have_count(1)
    expect(needs.locator("line.open-now")).to_have_count(1)
    expect(page.locator("#forecast-meta")).to_contain_text("手动预测")

    plan = forecast["plan"]
    expect(page.locator("#peak-needed")).to_have_text(str(plan["peak_needed"]))
    expect(page.locator("#counter-hours")).to_have_text(re.compile(r"小时$"))
    counters = sorted({s["counter"] for s in plan["shifts"]})
    expect(page.locator("#shifts li")).to_have_count(len(counters))
    first = [s for s in plan["shifts"] if s["counter"] == counters[0]][0]
    to = "24:00" if first["to"] == "00:00" else first["to"]
    expect(page.locator(f'#shifts li[data-counter="{counters[0]}"]')).to_contain_text(
        f"{counters[0]}号窗口{first['from']}–{to}")
    page.evaluate("document.getElementById('forecast-card').scrollIntoView()")
    shot(page, "manager-forecast")

    # tomorrow: forecast too, no "now" marker, no counters open "now"
    page.locator('.day-pick button[data-day="tomorrow"]').click()
    expect(card).to_have_attribute("data-date", tomorrow.isoformat())
    expect(page.locator('.day-pick button[data-day="tomorrow"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#forecast-chart svg")).to_have_attribute("data-date", tomorrow.isoformat())
    expect(page.locator("#forecast-chart svg line.now")).to_have_count(0)
    expect(page.locator("#plan-day")).to_have_text("明天")
    page.locator('.day-pick button[data-day="today"]').click()
    expect(card).to_have_attribute("data-date", today.isoformat())
    page.context.close()


def test_a_hall_without_a_forecast_says_so_and_its_manager_forecasts_from_the_page(browser, live_server):  # noqa: F811
    hall = live_server.world.two
    viewer = open_as(browser, live_server, "hq", f"/manager/?hall={hall.id}")
    expect(viewer.locator("#forecast-card")).to_have_attribute("data-state", re.compile("empty|ready"))
    state = viewer.locator("#forecast-card").get_attribute("data-state")
    expect(viewer.locator("#forecast-now")).to_have_count(0)  # head office sees, the hall's manager acts
    viewer.context.close()
    if state == "ready":
        pytest.skip("hall 2 was forecast earlier in this run")

    page = open_as(browser, live_server, "m2", "/manager/")
    expect(page.locator("#forecast-card")).to_have_attribute("data-state", "empty")
    expect(page.locator("#forecast-empty")).to_contain_text("暂无预测")
    page.evaluate("document.getElementById('forecast-card').scrollIntoView()")
    shot(page, "manager-no-forecast")
    page.locator("#forecast-now").click()  # a POST with the page's session and CSRF token
    expect(page.locator("#forecast-card")).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(page.locator("#forecast-chart svg")).to_have_attribute("data-slots", "96")
    expect(page.locator("#forecast-problem")).to_be_hidden()
    page.context.close()


def test_a_live_warning_shows_at_once_is_acknowledged_on_the_page_and_goes_when_it_clears(
        browser, live_server, server_rt, no_one_waiting):  # noqa: F811
    hall = live_server.world.one
    service_c = hall.services["C"]  # only counter 3 serves C, and it is closed
    page = open_as(browser, live_server, "m1", "/manager/", 1366, 768)
    expect(page.locator("#warnings-card")).to_be_visible()
    fetches = page.evaluate("hallq.manager.warningFetches")

    # three customers for C, no counter open for C: the scheduler's minute check raises a live warning
    tickets = [issue(live_server, hall, "C") for _ in range(3)]
    try:
        peaks.check_live(server_rt, hall.id)
        warning = next(w for w in warnings_of(live_server, hall) if w["kind"] == "live" and w["service_id"] == service_c)
        assert warning["severity"] == "critical" and warning["acknowledged_at"] is None, warning

        row = page.locator(f'#warnings li[data-warning="{warning["id"]}"]')
        expect(row).to_be_visible(timeout=SEEN_MS)
        assert page.evaluate("hallq.manager.warningFetches") > fetches  # fetched again, not reloaded
        expect(row).to_have_class(re.compile(r"\bfresh\b"))  # new since the page opened: highlighted
        expect(row).to_have_class(re.compile(r"\bcritical\b"))
        expect(row.locator(".sev")).to_have_text("严重")
        expect(row.locator(".kind")).to_have_text("实时")
        expect(row.locator(".msg")).to_have_text(warning["message_zh"])
        assert "没有开放的窗口" in warning["message_zh"]
        raised = datetime.fromisoformat(warning["raised_at"]).astimezone(HALL_ZONE)
        expect(row.locator(".time")).to_contain_text(f"{raised:%H:%M} 发出")
        expect(page.locator("#warnings li").first).to_have_attribute("data-warning", str(warning["id"]))  # newest first
        expect(page.locator("#warnings-card")).to_have_class(re.compile(r"\balarm\b"))
        expect(page.locator('#services tr[data-prefix="C"]')).to_have_attribute("data-over", "1", timeout=SEEN_MS)
        expect(page.locator('#services tr[data-prefix="C"]')).to_contain_text("暂无窗口")
        shot(page, "manager-warning")

        # the manager acknowledges it on the page; head office, watching the hall, sees it over Socket.IO
        watcher = open_as(browser, live_server, "hq", f"/manager/?hall={hall.id}")
        watched = watcher.locator(f'#warnings li[data-warning="{warning["id"]}"]')
        expect(watched.locator(".unacked")).to_have_text("尚未确认")
        expect(watcher.locator("#link")).to_have_class(re.compile(r"\bup\b"))
        row.locator("button.ack").click()
        expect(row).to_have_attribute("data-acknowledged", "1")
        expect(row.locator(".acked-by")).to_contain_text("已确认")
        expect(row.locator(".acked-by")).to_contain_text("厅经理1")
        expect(row.locator("button.ack")).to_have_count(0)
        stored = next(w for w in warnings_of(live_server, hall) if w["id"] == warning["id"])
        assert stored["acknowledged_by"] == hall.staff["m1"] and stored["acknowledged_at"], stored
        shot(page, "manager-warning-acknowledged")
        expect(watched).to_have_attribute("data-acknowledged", "1", timeout=SEEN_MS)  # pushed, not polled (30 s)
        expect(watched.locator(".acked-by")).to_contain_text("厅经理1")
        watcher.context.close()

        # in English, the same warning in English
        page.goto("/manager/?lang=en")
        row = page.locator(f'#warnings li[data-warning="{warning["id"]}"]')
        expect(row.locator(".msg")).to_have_text(warning["message_en"])
        expect(row.locator(".acked-by")).to_contain_text("Acknowledged")
        page.goto("/manager/?lang=zh_CN")
        expect(row).to_be_visible()
    finally:
        for ticket in tickets:  # the customers leave: the condition clears
            requests.post(live_server.api(f"/tickets/{ticket['public_token']}/cancel"), timeout=5)
    peaks.check_live(server_rt, hall.id)
    assert all(w["id"] != warning["id"] for w in warnings_of(live_server, hall))
    expect(row).to_have_count(0)  # resolved: it goes
    page.context.close()


def test_head_office_sees_every_hall_and_goes_to_one(browser, live_server):  # noqa: F811
    r = requests.get(live_server.api("/overview"), headers=bearer(live_server.tokens["hq"]), timeout=5)
    assert r.ok, r.text
    halls = {h["hall_id"]: h for h in r.json()["halls"]}
    world = live_server.world
    page = open_as(browser, live_server, "hq", "/manager/")
    page.locator("#to-overview").click()
    expect(page).to_have_url(re.compile(r"/manager/overview$"))
    for hall in (world.one, world.two):
        row = page.locator(f'#halls tr[data-hall="{hall.id}"]')
        expect(row).to_contain_text(f"营业厅{hall.id == world.one.id and 1 or 2}")
        expect(row).to_contain_text("河南")
        expect(row).to_contain_text("郑州")
        expect(row.locator("td.warn-count")).to_have_text(str(halls[hall.id]["warnings"]))
        expect(row.locator("td.open")).to_have_text(str(halls[hall.id]["open_counters"]))
        if halls[hall.id]["worst"]:
            expect(row.locator(".pill")).to_have_class(re.compile(rf"\b{halls[hall.id]['worst']}\b"))
    expect(page.locator("#summary")).to_contain_text(f"共 {len(halls)} 个营业厅")
    # issue 22: names and headings on one line each, and "updated at" in head office's time zone
    lines = page.evaluate("""() => [...document.querySelectorAll('table.ov th, #halls td:nth-child(-n+2)')].map(e => {
        const r = document.createRange(); r.selectNodeContents(e); return [e.textContent, r.getClientRects().length]; })""")
    assert all(n <= 1 for _, n in lines), lines
    expect(page.locator("#updated")).not_to_be_empty()
    hours = page.evaluate("""() => [0, 1].map(() => new Intl.DateTimeFormat('en-GB', {timeZone: 'Asia/Shanghai',
        hour: '2-digit', hourCycle: 'h23'}).format(new Date()))""")
    assert any(re.search(rf"\b{h}:\d\d:\d\d", page.locator("#updated").inner_text()) for h in hours), hours
    shot(page, "manager-overview")
    page.locator(f'#halls tr[data-hall="{world.one.id}"] a.hall').click()
    expect(page).to_have_url(re.compile(rf"/manager/\?hall={world.one.id}$"))
    expect(page.locator("#hall-name")).to_have_text("营业厅1")
    # head office sees the hall's warnings but leaves acknowledging to the hall's manager
    expect(page.locator("#warnings-card")).to_have_attribute("data-standing", str(halls[world.one.id]["warnings"]))
    expect(page.locator("#warnings button.ack")).to_have_count(0)
    expect(page.locator("#warnings .unacked")).to_have_count(halls[world.one.id]["unacknowledged"])

    page.goto("/manager/overview?lang=en")
    expect(page.locator("header.bar")).to_contain_text("All halls")
    expect(page.locator("#summary")).to_contain_text(f"{len(halls)} halls")
    expect(page.locator(f'#halls tr[data-hall="{world.one.id}"] a.hall')).to_have_text("Hall 1")
    page.context.close()

    manager = open_as(browser, live_server, "m1", "/manager/")
    response = manager.goto("/manager/overview")
    assert response.status == 403
    expect(manager.locator("#refused")).to_contain_text("仅供省公司和管理员")
    manager.context.close()


# --------------------------------------------------------------------------- who gets in

def test_a_manager_of_another_hall_and_counter_staff_are_refused(browser, live_server):  # noqa: F811
    hall = live_server.world.one
    other = open_as(browser, live_server, "m2", "/manager/")
    expect(other.locator("#hall-name")).to_have_text("营业厅2")  # their own hall
    response = other.goto(f"/manager/?hall={hall.id}")
    assert response.status == 403
    expect(other.locator("#refused")).to_contain_text("无权查看该营业厅")
    expect(other.locator("#chart")).to_have_count(0)
    other.context.close()

    staff = new_page(browser, live_server)
    sign_in(staff, "s1", "/")
    response = staff.goto("/manager/")
    assert response.status == 403
    expect(staff.locator("#refused")).to_contain_text("仅供大堂经理")
    staff.context.close()


def test_signing_in_leads_back_to_the_page(browser, live_server):  # noqa: F811
    page = new_page(browser, live_server)
    page.goto("/manager/")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)manager"))
    page.get_by_label(re.compile("用户名")).fill("m1")
    page.get_by_label(re.compile("密码")).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("登录")).click()
    expect(page.locator("#hall-name")).to_have_text("营业厅1")
    page.context.close()
