"""The satisfaction report pages in a real browser against the live server: customers served at hall 2
with a mobile number answer their surveys (through the outbox, as the customer), then head office
clicks from the whole company down to hall 2's staff member, reads the same figures the API gives,
downloads the table as Excel (opened back with openpyxl), switches to English; a stored report made
by the scheduler's job is listed and downloaded; hall 2's manager lands on their own hall and is
refused hall 1 and the levels above.

The e2e database is shared by every e2e module, so figures are compared with the API's for the
same period rather than with constants; the hand-computed figures are in the integration tests.
"""
from __future__ import annotations

import io
import random
import re
from datetime import timedelta

import pytest
import requests
from openpyxl import load_workbook
from playwright.sync_api import expect

from app import event_handlers
from app.domain.hours import parse_zone
from app.services import report_files, service_levels, surveys

from ..world import bearer
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_screens import shot
from .test_survey_pages import admin_get, open_as, prompt_surveys, serve_with_mobile, server_rt  # noqa: F401

pytestmark = pytest.mark.e2e


def answered(server, rt, hall, answers: list[str]) -> list[int]:
    """Customers served at ``hall`` with a mobile each, surveyed at once, answering ``answers``."""
    tickets = []
    for text in answers:
        mobile = "139%08d" % random.randrange(10**8)
        tickets.append(serve_with_mobile(server, hall, mobile))
        event_handlers.deliver(rt)  # the finish's survey
        surveys.dispatch(rt)
        sent = {s["ticket_id"]: s for s in admin_get(server, f"/halls/{hall.id}/surveys")["surveys"]}
        message = next(m for m in admin_get(server, "/sms/outbox")["messages"]
                       if m["survey_id"] == sent[tickets[-1]]["id"])
        r = requests.post(server.api("/sms/outbox/reply"), json={"to": message["id"], "text": text},
                          headers=bearer(server.tokens["admin"]), timeout=5)
        assert r.ok and r.json()["outcome"] == "counted", r.text
    return tickets


def downloaded(download) -> bytes:
    with open(download.value.path(), "rb") as f:
        return f.read()


def test_head_office_clicks_from_the_company_to_a_staff_member_and_downloads_what_it_sees(
        browser, live_server, server_rt, prompt_surveys):  # noqa: F811
    hall = prompt_surveys
    answered(live_server, server_rt, hall, ["1", "2", "4 太慢了"])  # hall 2: four grades, 1-2 satisfied
    day = server_rt.now().astimezone(parse_zone("Asia/Shanghai")).date()
    month = admin_get(live_server, "/satisfaction/halls", date=day.isoformat())
    hall_api = admin_get(live_server, f"/halls/{hall.id}/satisfaction", date=day.isoformat())

    page = open_as(browser, live_server, "hq", "/")
    page.locator("#where a", has_text="满意度报表").click()
    expect(page).to_have_url(re.compile(r"/manager/satisfaction"))
    expect(page.locator("#fig-ratings")).to_have_text(str(month["totals"]["ratings"]))
    expect(page.locator("#rank-chart svg.rate-bars")).to_be_visible()
    region = month["regions"][0]
    page.locator("a.drill", has_text=region["name_zh"]).click()
    expect(page.locator(".crumbs")).to_contain_text(region["name_zh"])
    page.locator("a.drill", has_text=region["cities"][0]["name_zh"]).click()
    page.locator("a.drill", has_text="营业厅2").click()
    expect(page.locator(".crumbs b[aria-current=page]")).to_have_text("营业厅2")
    total = hall_api["totals"]
    expect(page.locator("#fig-rate")).to_have_text(f"{100 * total['satisfaction_rate']:.2f}%")
    expect(page.locator("#fig-ratings")).to_have_text(str(total["ratings"]))
    bars = page.locator("#rank-chart g.mark")
    expect(bars).to_have_count(len(hall_api["lines"]))
    expect(page.locator("#bands-chart svg.band-bars")).to_be_visible()
    shot(page, "satisfaction-hall")

    # the staff member who served them
    top = next(x for x in hall_api["lines"] if x["name"] == "营业员2")
    page.locator("a.drill").filter(has_text=re.compile(r"^营业员2( \(|$)")).click()
    expect(page.locator(".crumbs b[aria-current=page]")).to_contain_text("营业员2")
    expect(page.locator("#fig-ratings")).to_have_text(str(top["ratings"]))
    expect(page.locator("#fig-rate")).to_have_text(f"{100 * top['satisfaction_rate']:.2f}%")

    # back up a level by the crumbs, then the table as Excel
    page.locator(".crumbs a", has_text="营业厅2").click()
    page.locator('.tabs a[data-by="counter"]').click()
    expect(page).to_have_url(re.compile(r"by=counter"))
    with page.expect_download() as download:
        page.locator("a.export", has_text="本表（Excel）").click()
    sheet = load_workbook(io.BytesIO(downloaded(download))).active
    assert "营业厅2" in sheet["A1"].value
    counted = {row[1].value: row[2].value for row in sheet.iter_rows(min_row=3)}
    assert sum(v for v in counted.values() if isinstance(v, int)) == total["ratings"]

    # in English
    page.locator("nav.lang a[data-lang=en]").click()
    expect(page.locator("header.bar")).to_contain_text("Satisfaction reports")
    expect(page.locator("#rank-table")).to_contain_text("Counter 3")
    shot(page, "satisfaction-hall-en")
    page.context.close()


def test_stored_reports_are_listed_and_downloaded_and_a_manager_stays_in_their_hall(
        browser, live_server, server_rt, prompt_surveys):  # noqa: F811
    hall = prompt_surveys
    answered(live_server, server_rt, hall, ["2"])
    day = server_rt.now().astimezone(parse_zone("Asia/Shanghai")).date()
    made = report_files.make_reports(server_rt, day)  # the scheduler's morning job, for today
    assert made["head_office_day"] == 1 and made["hall_day"] >= 1

    page = open_as(browser, live_server, "m2", "/manager/report-files")
    rows = page.locator("#files tbody tr")
    expect(rows.first).to_contain_text(day.isoformat())
    expect(page.locator("#files")).not_to_contain_text("营业厅1")  # another hall's files are not theirs
    expect(page.locator('#files tr[data-kind="head_office_day"]')).to_have_count(0)
    with page.expect_download() as download:
        page.locator("#files a.download", has_text="营业厅2").first.click()
    assert download.value.suggested_filename.endswith(f"{day.isoformat()}.xlsx")
    sheet = load_workbook(io.BytesIO(downloaded(download))).active
    assert "营业厅2" in sheet["A1"].value

    page.goto("/manager/satisfaction")
    expect(page.locator(".crumbs b[aria-current=page]")).to_have_text("营业厅2")  # their own hall
    for path in (f"/manager/satisfaction?hall={live_server.world.one.id}", "/manager/satisfaction?region=1"):
        response = page.goto(path)
        assert response.status == 403, path
        expect(page.locator("#refused")).to_contain_text("只能查看本厅")
    page.context.close()


def test_service_levels_from_the_company_to_the_tickets_behind_a_counter(
        browser, live_server, server_rt, prompt_surveys):  # noqa: F811
    hall = prompt_surveys
    served = answered(live_server, server_rt, hall, ["1"])  # at least one customer served today at counter 3
    day = server_rt.now().astimezone(parse_zone("Asia/Shanghai")).date()
    service_levels.rebuild(server_rt, day - timedelta(days=1), day)  # the scheduler's quarter-hour
    query = {"period": "day", "date": day.isoformat()}
    company = admin_get(live_server, "/service-levels/halls", **query)
    hall_api = admin_get(live_server, f"/halls/{hall.id}/service-levels", **query)

    page = open_as(browser, live_server, "hq", "/")
    page.locator("#where a", has_text="服务指标").click()
    page.locator('.tabs a[data-period="day"]').click()
    expect(page.locator("#fig-arrivals")).to_have_text(str(company["totals"]["arrivals"]))
    region = company["regions"][0]
    page.locator("a.drill", has_text=region["name_zh"]).click()
    page.locator("a.drill", has_text=region["cities"][0]["name_zh"]).click()
    page.locator("a.drill", has_text="营业厅2").click()
    expect(page.locator(".crumbs b[aria-current=page]")).to_have_text("营业厅2")
    t = hall_api["totals"]
    expect(page.locator("#fig-arrivals")).to_have_text(str(t["arrivals"]))
    expect(page.locator("#fig-wait")).to_have_text(f"{t['wait_avg_s'] / 60:.1f}")
    expect(page.locator("#heatmap svg.heatmap")).to_be_visible()
    expect(page.locator("#histogram svg.histogram")).to_be_visible()
    expect(page.locator("#compare")).to_contain_text("郑州")
    shot(page, "service-levels-hall")

    counter_3 = next(x for x in hall_api["lines"] if x.get("number") == 3)
    page.locator("a.drill", has_text="3号窗口").click()
    expect(page).to_have_url(re.compile(r"/manager/service-levels/tickets\?.*counter_id="))
    rows = page.locator("#tickets tbody tr[data-ticket]")
    expect(rows).to_have_count(min(counter_3["arrivals"], 500))
    expect(page.locator(f'#tickets tr[data-ticket="{served[0]}"]')).to_have_attribute("data-outcome", "served")
    with page.expect_download() as download:
        page.locator("a.export", has_text="这些号（Excel）").click()
    sheet = load_workbook(io.BytesIO(downloaded(download))).active
    assert sheet.max_row - 2 == counter_3["arrivals"]
    page.locator("#back").click()
    page.locator("#heatmap a").first.click()  # a weekday and hour: the tickets taken then
    expect(page).to_have_url(re.compile(r"weekday=\d.*hour=\d+|hour=\d+.*weekday=\d"))
    expect(page.locator("#tickets tbody tr[data-ticket]").first).to_be_visible()

    # by channel (issue 18): the API's lines, each a drill-down to its tickets; the list's channel filter
    by_channel = admin_get(live_server, f"/halls/{hall.id}/service-levels", by="channel", **query)
    page.goto(f"/manager/service-levels?hall={hall.id}&period=day&date={day.isoformat()}")
    page.locator('.tabs a[data-by="channel"]').click()
    for line in by_channel["lines"]:
        expect(page.locator(f'#rank-table tr[data-key="{line["key"]}"] td[data-figure="arrivals"]')).to_have_text(
            str(line["arrivals"]))
    first = by_channel["lines"][0]
    page.locator("a.drill", has_text=first["label_zh"]).click()
    expect(page.locator("#tickets tbody tr[data-ticket]")).to_have_count(min(first["arrivals"], 500))
    expect(page.locator("#tickets tbody tr[data-ticket]").first).to_have_attribute("data-channel", first["key"])
    page.locator("#channel").select_option("")  # every channel
    page.locator("#channel-filter button").click()
    expect(page.locator("#tickets tbody tr[data-ticket]")).to_have_count(min(t["arrivals"], 500))

    page.goto(f"/manager/service-levels?hall={hall.id}&period=day&date={day.isoformat()}&lang=en")
    expect(page.locator("header.bar")).to_contain_text("Service levels")
    expect(page.locator("#definitions summary")).to_have_text("How these figures are defined")
    page.context.close()

    other = open_as(browser, live_server, "m1", f"/manager/service-levels?hall={hall.id}")
    expect(other.locator("#refused")).to_be_visible()
    other.context.close()
