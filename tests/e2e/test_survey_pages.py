"""The survey pages in a real browser against the live server: a finished ticket with a mobile
number gets its survey SMS (the scheduler's dispatch job, run here on the server's database), the
SMS outbox page shows it with the number masked, answering "4 等太久了" as the customer counts it
and opens a follow-up case, which the cases page takes through its first response and closing
(a resolution is required). Another hall's manager sees none of it; English with ``?lang=en``.

The scheduler does not run in the e2e server, so the test calls ``surveys.dispatch`` itself on the
server's database, with the server's key for mobile numbers (its instance directory). Hall 2's
survey settings are changed for the test (no delay, no quiet hours) and put back afterwards.
"""
from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import update

from app import event_handlers
from app.services import surveys
from app.storage.orm import FollowUpCase

from ..world import bearer
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_screens import new_page, shot, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server_rt(live_server):
    """The app's services on the deployment's database and clock, with its SMS setup (the outbox, its number key)."""
    rt = live_server.runtime()
    yield rt
    rt.engine.dispose()


@pytest.fixture
def prompt_surveys(live_server):
    """Hall 2 sends its surveys at once, day and night, for the test; its settings come back afterwards."""
    hall, admin = live_server.world.two, bearer(live_server.tokens["admin"])
    before = requests.get(live_server.api(f"/halls/{hall.id}"), headers=admin, timeout=5).json()["survey"]
    r = requests.patch(live_server.api(f"/halls/{hall.id}"), headers=admin, timeout=5,
                       json={"survey": {**before, "delay_minutes": 0, "quiet_hours": None}})
    assert r.ok, r.text
    yield hall
    requests.patch(live_server.api(f"/halls/{hall.id}"), headers=admin, timeout=5, json={"survey": before})


def serve_with_mobile(server, hall, mobile: str) -> int:
    """Over the API: the kiosk issues a ticket with the customer's mobile, counter 3 serves and finishes it."""
    r = requests.post(server.api(f"/halls/{hall.id}/tickets"), json={"service_id": hall.services["B"], "mobile": mobile},
                      headers=bearer(hall.tokens["kiosk"]), timeout=5)
    assert r.ok, r.text
    mine = r.json()["id"]
    http = requests.Session()
    http.headers.update(bearer(server.tokens["s2"]))
    counter = hall.counters[3]
    http.post(server.api(f"/counters/{counter}/open"), json={}, timeout=5).raise_for_status()
    try:
        for _ in range(50):  # tickets other tests left waiting are served first
            called = http.post(server.api(f"/counters/{counter}/call-next"), json={}, timeout=5).json()["ticket"]
            http.post(server.api(f"/counters/{counter}/start"), json={}, timeout=5).raise_for_status()
            http.post(server.api(f"/counters/{counter}/finish"), json={}, timeout=5).raise_for_status()
            if called["id"] == mine:
                return mine
        raise AssertionError("the ticket was never called")
    finally:
        http.post(server.api(f"/counters/{counter}/close"), json={}, timeout=5)


def admin_get(server, path: str, **params) -> dict:
    r = requests.get(server.api(path), params=params, headers=bearer(server.tokens["admin"]), timeout=5)
    assert r.ok, r.text
    return r.json()


def open_as(browser, server, username: str, path: str, width=1280, height=900):  # noqa: F811
    page = new_page(browser, server, width, height)
    sign_in(page, username, path)
    return page


def test_an_outbox_survey_answered_as_the_customer_opens_a_case_that_is_responded_to_and_closed(
        browser, live_server, server_rt, prompt_surveys):  # noqa: F811
    hall = prompt_surveys
    mobile = "138%08d" % random.randrange(10**8)
    masked = f"{mobile[:3]}****{mobile[-4:]}"
    ticket_id = serve_with_mobile(live_server, hall, mobile)
    event_handlers.deliver(server_rt)  # the scheduler's outbox job: the finish's survey
    assert surveys.dispatch(server_rt)["sent"] >= 1  # the scheduler's minute
    survey = next(s for s in admin_get(live_server, f"/halls/{hall.id}/surveys")["surveys"] if s["ticket_id"] == ticket_id)
    assert survey["state"] == "sent" and survey["mobile"] == masked
    message = next(m for m in admin_get(live_server, "/sms/outbox")["messages"] if m["survey_id"] == survey["id"])

    # the manager reaches the outbox from their live page
    page = open_as(browser, live_server, "m2", "/manager/")
    page.locator("#to-outbox").click()
    expect(page).to_have_url(re.compile(r"/manager/outbox"))
    sms = page.locator(f'#messages li[data-message="{message["id"]}"]')
    expect(sms.locator(".to")).to_contain_text(masked)
    expect(sms).not_to_contain_text(mobile)
    expect(sms.locator(".text")).to_have_text(message["text"])
    expect(sms).to_have_attribute("data-state", "sent")
    expect(sms.locator(".survey")).to_contain_text("已发送")
    expect(sms.locator(".survey")).to_contain_text("尚未评价")

    sms.locator(".reply-text").fill("4 等太久了")
    sms.locator("button.send").click()
    sms = page.locator(f'#messages li[data-message="{message["id"]}"]')
    expect(sms.locator(".result")).to_have_attribute("data-outcome", "counted")
    expect(sms.locator(".result")).to_contain_text("已计入评分")
    expect(sms.locator(".survey")).to_contain_text("4 分")
    expect(sms.locator(".survey")).to_contain_text("不满意")
    expect(sms.locator(".survey")).to_contain_text("等太久了")
    sms.locator("button.quick[data-text='2']").click()  # a second rating is not counted again
    expect(sms.locator(".result")).to_have_attribute("data-outcome", "duplicate")
    sms.locator(".reply-text").fill("下次希望多开几个窗口")  # a comment alone is kept
    sms.locator("button.send").click()
    expect(sms.locator(".result")).to_have_attribute("data-outcome", "comment")
    expect(sms.locator(".survey")).to_contain_text("4 分")
    shot(page, "survey-outbox")

    # the follow-up case it opened
    case = next(c for c in admin_get(live_server, "/follow-ups", hall_id=hall.id)["follow_ups"]
                if c["survey_id"] == survey["id"])
    page.goto("/manager/follow-ups")
    row = page.locator(f'#cases tr[data-case="{case["id"]}"]')
    for text in ("营业厅2", "3号窗口", "营业员2", "等太久了", masked):
        expect(row).to_contain_text(text)
    expect(row.locator(".score")).to_have_text("4")
    expect(row).to_have_attribute("data-clock", "open")
    expect(row.locator(".left")).to_contain_text("剩余")
    row.locator("button.respond").click()
    expect(row).to_have_attribute("data-clock", "answered")
    expect(row.locator("button.respond")).to_have_count(0)
    expect(row.locator(".left")).to_contain_text("已首次响应")

    row.locator("button.close").click()  # no resolution: the server's 422 beside the field
    error = row.locator(".field-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("请填写为客户做了什么。")
    expect(row.locator("textarea")).to_have_attribute("aria-invalid", "true")
    assert row.locator(".close-form .field-error").count() == 1
    shot(page, "survey-follow-ups")
    row.locator("textarea").fill("已致电客户致歉，并说明了高峰期增开窗口的安排")
    row.locator("button.close").click()
    expect(row).to_have_count(0)  # gone from the open ones

    page.locator('.tabs button[data-state="closed"]').click()
    expect(page).to_have_url(re.compile(r"state=closed"))
    row = page.locator(f'#cases tr[data-case="{case["id"]}"]')
    expect(row).to_have_attribute("data-state", "closed")
    expect(row.locator(".resolution")).to_have_text("已致电客户致歉，并说明了高峰期增开窗口的安排")

    page.locator('.tabs button[data-state="replies"]').click()  # the kept replies: the comment, not the ratings
    expect(page.locator("#replies tr", has_text="下次希望多开几个窗口")).to_have_attribute("data-outcome", "comment")
    expect(page.locator("#replies tr", has_text="4 等太久了")).to_have_count(0)
    page.locator("#outcome-pick").select_option("")
    expect(page.locator("#replies tr", has_text="4 等太久了")).to_have_attribute("data-outcome", "counted")
    page.context.close()

    # head office: every hall, with a hall filter; the outbox is not theirs
    hq = open_as(browser, live_server, "hq", "/manager/follow-ups?state=closed")
    expect(hq.locator(f'#cases tr[data-case="{case["id"]}"]')).to_contain_text("营业厅2")
    hq.locator("#hall-pick").select_option(str(live_server.world.one.id))
    expect(hq).to_have_url(re.compile(rf"hall={live_server.world.one.id}"))
    expect(hq.locator("#updated")).not_to_be_empty()
    expect(hq.locator(f'#cases tr[data-case="{case["id"]}"]')).to_have_count(0)
    response = hq.goto("/manager/outbox")
    assert response.status == 403
    hq.context.close()

    # in English
    en = open_as(browser, live_server, "m2", "/manager/follow-ups")
    en.goto("/manager/follow-ups?state=closed&lang=en")
    expect(en.locator("header.bar")).to_contain_text("Follow-up cases")
    row = en.locator(f'#cases tr[data-case="{case["id"]}"]')
    expect(row).to_contain_text("Counter 3")
    expect(row.locator(".clock")).to_have_text("Case closed")
    en.goto("/manager/outbox?lang=en")
    expect(en.locator(f'#messages li[data-message="{message["id"]}"] .survey')).to_contain_text("score 4")
    expect(en.locator(f'#messages li[data-message="{message["id"]}"] button.send')).to_have_text("Send as the customer")
    shot(en, "survey-outbox-en")
    en.context.close()

    # the manager of another hall sees none of it
    other = open_as(browser, live_server, "m1", "/manager/outbox")
    expect(other.locator("#updated")).not_to_be_empty()
    expect(other.locator(f'#messages li[data-message="{message["id"]}"]')).to_have_count(0)
    for path in (f"/manager/outbox?hall={hall.id}", f"/manager/follow-ups?hall={hall.id}"):
        response = other.goto(path)
        assert response.status == 403, path
        expect(other.locator("#refused")).to_contain_text("无权查看该营业厅的满意度")
    other.goto("/manager/follow-ups?state=closed")
    expect(other.locator("#updated")).not_to_be_empty()
    expect(other.locator(f'#cases tr[data-case="{case["id"]}"]')).to_have_count(0)
    other.context.close()


def test_counter_staff_are_refused_and_signing_in_leads_back_to_the_page(browser, live_server):  # noqa: F811
    page = new_page(browser, live_server)
    page.goto("/manager/follow-ups")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)manager(/|%2F)follow-ups"))
    page.context.close()
    staff = new_page(browser, live_server)
    sign_in(staff, "s1", "/")
    for path in ("/manager/outbox", "/manager/follow-ups"):
        response = staff.goto(path)
        assert response.status == 403, path
        expect(staff.locator("#refused")).to_contain_text("仅供")
    staff.context.close()


def test_an_overdue_case_stands_out_and_its_late_response_is_shown(
        browser, live_server, server_rt, prompt_surveys):  # noqa: F811
    hall = prompt_surveys
    mobile = "139%08d" % random.randrange(10**8)
    ticket_id = serve_with_mobile(live_server, hall, mobile)
    event_handlers.deliver(server_rt)
    surveys.dispatch(server_rt)
    survey = next(s for s in admin_get(live_server, f"/halls/{hall.id}/surveys")["surveys"] if s["ticket_id"] == ticket_id)
    message = next(m for m in admin_get(live_server, "/sms/outbox")["messages"] if m["survey_id"] == survey["id"])
    r = requests.post(live_server.api("/sms/outbox/reply"), json={"to": message["id"], "text": "不满意"},
                      headers=bearer(live_server.tokens["m2"]), timeout=5)
    assert r.ok and r.json()["outcome"] == "counted", r.text
    case = next(c for c in admin_get(live_server, "/follow-ups", hall_id=hall.id)["follow_ups"]
                if c["survey_id"] == survey["id"])
    # the live server's clock cannot be moved: the case's deadline is moved instead, 3 h 20 min into the past
    with server_rt.uow() as tx:
        tx.session.execute(update(FollowUpCase).where(FollowUpCase.id == case["id"])
                           .values(due_at=server_rt.now() - timedelta(hours=3, minutes=20)))
        tx.commit()

    page = open_as(browser, live_server, "m2", "/manager/follow-ups?state=overdue")
    row = page.locator(f'#cases tr[data-case="{case["id"]}"]')
    expect(row).to_have_class(re.compile(r"\boverdue\b"))
    expect(row).to_have_attribute("data-clock", "overdue")
    expect(row.locator(".clock")).to_contain_text("已超时")
    expect(row.locator(".left")).to_contain_text("已超时 3 小时 20 分")
    assert row.evaluate("tr => getComputedStyle(tr).backgroundColor") != "rgba(0, 0, 0, 0)"  # it stands out
    expect(page.locator("#summary")).to_contain_text("件超时")
    shot(page, "survey-follow-ups-overdue")
    row.locator("button.respond").click()  # late: still shown, as a late response
    expect(row).to_have_count(0)  # no longer waiting for a first response
    page.locator('.tabs button[data-state="open"]').click()
    row = page.locator(f'#cases tr[data-case="{case["id"]}"]')
    expect(row).to_have_attribute("data-clock", "answered_late")
    expect(row.locator(".clock")).to_have_text("超时回访")
    row.locator("textarea").fill("已上门致歉")
    row.locator("button.close").click()
    expect(row).to_have_count(0)
    page.context.close()
