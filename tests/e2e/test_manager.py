"""The hall manager's live page (大堂经理实时看板) in a real browser against the live server:
door counts posted by the hall's sensor device reach the page without a reload, the load badge
follows the hall's rules, and only managers of the hall (and head office, administrators) get in.

Door counts stay in the shared database (other tests do not read them); the load rules changed
here are put back.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from ..world import PASSWORD, bearer
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_screens import issue_and_call, new_page, shot, sign_in, tidy_counter  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e
HALL_ZONE = ZoneInfo("Asia/Shanghai")  # the world's halls
SEEN_MS = 10_000  # counts reach the page within a few seconds (the chart refetches at most every 5 s)


# --------------------------------------------------------------------------- helpers

def this_minute() -> datetime:
    """The current whole minute in the hall's zone, at least two minutes into its business day.

    Minutes before local midnight belong to yesterday and would not show on today's page.
    """
    now = datetime.now(HALL_ZONE)
    if now.hour == 0 and now.minute < 2:  # rare: just after midnight, wait for room for an earlier minute
        time.sleep(121 - now.minute * 60 - now.second)
        now = datetime.now(HALL_ZONE)
    return now.replace(second=0, microsecond=0)


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
    now = this_minute()
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


def test_the_page_speaks_english(browser, live_server):  # noqa: F811
    page = open_as(browser, live_server, "m1", "/manager/")
    page.goto("/manager/?lang=en")
    expect(page.locator("header.bar")).to_contain_text("Hall manager live page")
    expect(page.locator("#hall-name")).to_have_text("Hall 1")
    expect(page.locator("#load-state")).to_have_text(re.compile("^(Busy|Normal|Idle)$"))
    expect(page.locator("#load-why")).to_contain_text("people inside")
    expect(page.locator('#services tr[data-prefix="A"]')).to_contain_text("Service A")
    expect(page.locator("#csv")).to_contain_text("Download hourly door counts, last 30 days")
    shot(page, "manager-en")
    page.goto("/manager/?lang=zh_CN")
    expect(page.locator("header.bar")).to_contain_text("大堂经理实时看板")
    page.context.close()


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
