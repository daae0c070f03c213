"""Remote tickets (远程取号) in a real browser against the live deployment: a customer takes a
number on their phone, checks in at the kiosk by the QR code of their phone's page, and is
called at a counter; a ticket whose customer never came is released, and the phone says so.

The texts expected are read from each page's own string table (``#i18n``), so the tests hold
whether or not the Chinese catalogue has the new messages yet; the pages are in Chinese
(``locale="zh-CN"``, no ``?lang``). Screenshots go to the test's tmp dir.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from ..polling import wait_until
from ..world import PASSWORD, bearer
from .conftest import watch_page_errors
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_screens import tidy_counter  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e
TIMEOUT = 5
HALL_ZONE = ZoneInfo("Asia/Shanghai")
JOIN_CODE = re.compile(r"远程取号验证码 (\d{6})")
CHECK_IN_CODE = re.compile(r"签到码 (\d{6})")


# --------------------------------------------------------------------------- helpers

def new_page(browser, server, width: int, height: int, mobile: bool = False):  # noqa: F811
    """A page in a context of its own, its clock at the servers' time (then running at real speed)."""
    context = watch_page_errors(browser.new_context(
        base_url=server.url, locale="zh-CN", viewport={"width": width, "height": height},
        is_mobile=mobile, has_touch=mobile, device_scale_factor=2 if mobile else 1))
    context.set_default_timeout(10_000)
    context.clock.install(time=server.now())
    return context.new_page()


def shot(page, where, name: str) -> None:
    path = where / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def texts(page) -> dict:
    """The page's own string table: what its script shows, in the page's language."""
    return json.loads(page.locator("#i18n").text_content())


def fill(template: str, **values) -> str:
    """As the pages' ``fill`` (app/static/lib/i18n.js): ``{name}`` replaced by its value."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), "")), template)


def sign_in(page, username: str, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.get_by_label(re.compile("用户名")).fill(username)
    page.get_by_label(re.compile("密码")).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("登录")).click()


def sms_code(server, mobile: str, pattern: re.Pattern, after_id: int = 0) -> tuple[str, int]:
    """The code of the latest SMS to ``mobile`` matching ``pattern`` (the outbox gateway, read by the
    administrator), newer than message ``after_id``: (code, message id)."""
    def look():
        r = requests.get(server.api("/sms/outbox"), params={"limit": 100}, headers=bearer(server.tokens["admin"]),
                         timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        for m in r.json()["messages"]:  # latest first
            found = pattern.search(m["text"])
            if found and m["id"] > after_id and m["to"].endswith(mobile[-4:]) and m["to"].startswith(mobile[:3]):
                return found.group(1), m["id"]
        return None
    return wait_until(look, f"an SMS to {mobile} matching {pattern.pattern}", deadline_s=10)


def join_over_the_api(server, hall, mobile: str, prefix: str = "A") -> dict:
    """A remote ticket taken as the join page takes it: a code by SMS, then the ticket."""
    base = server.api(f"/public/halls/{hall.id}")
    r = requests.post(f"{base}/codes", json={"mobile": mobile}, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    code, _ = sms_code(server, mobile, JOIN_CODE)
    r = requests.post(f"{base}/remote-tickets", json={"service_id": hall.services[prefix], "mobile": mobile,
                                                      "code": code}, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["state"] == "remote" and ticket["channel"] == "remote" and ticket["check_in_by"]
    return ticket


def local_hhmm(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(HALL_ZONE).strftime("%H:%M")


def status_of(server, token: str) -> dict:
    r = requests.get(server.api(f"/tickets/{token}"), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def remote_hall(live_server):
    """Hall 2 takes remote tickets for the test; switched off again after it (the kiosk's home
    screen of the other tests stays as it was)."""
    hall = live_server.world.two
    admin = bearer(live_server.tokens["admin"])

    def switch(on: bool) -> None:
        r = requests.patch(live_server.api(f"/halls/{hall.id}"), json={"remote_queue": {"enabled": on}},
                           headers=admin, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        assert r.json()["remote_queue"]["enabled"] is on

    switch(True)
    yield hall
    switch(False)


def expect_remote_phone_page(phone, ticket: dict) -> dict:
    """The phone page of a remote ticket: by when to check in (hall time), the people ahead and the
    wait, the QR code big enough for a scanner, the SMS way, and the way out."""
    t = texts(phone)
    state = phone.locator("#state")
    expect(state).to_have_text(fill(t["remote"], t=local_hhmm(ticket["check_in_by"])))
    expect(state).to_have_class(re.compile(r"\bremote\b"))
    expect(phone.locator("#facts")).to_be_visible()
    expect(phone.locator("#ahead")).to_have_text(str(ticket["people_ahead"]))
    expect(phone.locator("#wait")).not_to_have_text("—")
    qr = phone.locator("#qr")
    expect(qr).to_be_visible()
    expect(qr).to_have_attribute("src", f"/t/{ticket['public_token']}/qr.svg")
    wait_until(lambda: phone.evaluate("document.getElementById('qr').naturalWidth > 0"), "the QR code loaded")
    box = qr.bounding_box()
    assert box["width"] >= 200 and box["height"] >= 200, box  # a kiosk's scanner reads it at arm's length
    expect(phone.locator("#check-in-sms")).to_be_visible()
    expect(phone.locator("#cancel")).to_be_visible()
    return t


# --------------------------------------------------------------------------- scenario A

def test_a_remote_ticket_taken_on_the_phone_is_checked_in_by_its_qr_code_and_called_with_its_remote_tag(
        browser, live_server, remote_hall, tidy_counter, tmp_path):  # noqa: F811
    hall, mobile = remote_hall, "13912340001"
    counter_id = hall.counters[1]  # serves A
    tidy_counter((counter_id, "s2"))

    # the customer, at home: the hall's page, a code by SMS, a number
    phone = new_page(browser, live_server, 375, 740, mobile=True)
    phone.goto("/join/H2")
    phone.locator("#mobile").fill(mobile)
    phone.locator("#send-code").click()
    code, _ = sms_code(live_server, mobile, JOIN_CODE)
    phone.locator("#code").fill(code)
    phone.locator(f'input[name="service"][value="{hall.services["A"]}"]').check()
    shot(phone, tmp_path, "join")
    with phone.expect_navigation(url=re.compile(r"/t/[^/?]+")):
        phone.locator("#join").click()
    token = re.search(r"/t/([^/?#]+)", phone.url).group(1)
    ticket = status_of(live_server, token)
    assert ticket["state"] == "remote" and ticket["channel"] == "remote" and ticket["checked_in_at"] is None
    expect(phone.locator("#label")).to_have_text(ticket["label"])
    phone_texts = expect_remote_phone_page(phone, {**ticket, "public_token": token})
    shot(phone, tmp_path, "phone-remote")
    check_in_code, _ = sms_code(live_server, mobile, CHECK_IN_CODE)  # the confirmation SMS

    # at the hall: the kiosk offers the check-in on its home screen
    kiosk = new_page(browser, live_server, 1280, 1024)
    kiosk.goto(f"/kiosk/#token={hall.tokens['kiosk']}")
    expect(kiosk.locator(".service").first).to_be_visible()
    kiosk_texts = texts(kiosk)["checkin"]
    expect(kiosk.locator("#check-in")).to_be_visible()
    shot(kiosk, tmp_path, "kiosk-home")
    kiosk.locator("#check-in").click()
    expect(kiosk.locator("#step-checkin")).to_be_visible()
    expect(kiosk.locator("#scan")).to_be_focused()

    # a wrong check-in code on the keypad: said in the kiosk's language, with the tries left
    wrong = f"{(int(check_in_code) + 1) % 1_000_000:06d}"
    for digit in mobile + wrong:
        kiosk.locator(f'.keypad[data-for="checkin"] button[data-key="{digit}"]').click()
    expect(kiosk.locator("#ci-mobile")).to_have_text("139 1234 0001")
    expect(kiosk.locator("#ci-code")).to_have_text(wrong)
    kiosk.locator("#ci-ok").click()
    expect(kiosk.locator("#ci-error")).to_have_text(fill(kiosk_texts["code_wrong"], tries_left=4))
    assert kiosk.locator("#ci-error").inner_text() != "the code is wrong (4 tries left)"  # never the API's English
    shot(kiosk, tmp_path, "kiosk-check-in-wrong-code")

    # the scanner reads the phone's QR code: it types the page's address, then Enter
    expect(kiosk.locator("#scan")).to_be_focused()
    kiosk.keyboard.type(phone.url)
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#step-ticket")).to_be_visible()
    expect(kiosk.locator("#t-label")).to_have_text(ticket["label"])
    expect(kiosk.locator("#t-checked-in")).to_be_visible()
    expect(kiosk.locator("#t-ahead")).to_have_text(fill(texts(kiosk)["ahead"], n=0))
    expect(kiosk.locator("#t-print")).to_be_visible()  # no printer at this kiosk: said, the ticket still shown
    assert kiosk.locator("#step-ticket").get_attribute("data-token") == token
    shot(kiosk, tmp_path, "kiosk-checked-in")
    checked = status_of(live_server, token)
    assert checked["state"] == "waiting" and checked["checked_in_at"] is not None

    # the phone follows: waiting now, no QR code any more
    expect(phone.locator("#state")).to_have_text(phone_texts["waiting"])
    expect(phone.locator("#check-in")).to_be_hidden()

    # the same QR code again: checked in already, in the kiosk's language
    kiosk.locator("#t-done").click()
    kiosk.locator("#check-in").click()
    kiosk.keyboard.type(phone.url)
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#ci-error")).to_have_text(fill(kiosk_texts["checked_in_already"], label=ticket["label"]))
    kiosk.locator("#step-checkin [data-back]").click()
    expect(kiosk.locator("#step-services")).to_be_visible()

    # the counter calls it: the remote tag in the queue and at the counter
    console = new_page(browser, live_server, 1024, 700)
    sign_in(console, "s2", f"/counter/?counter={counter_id}&hall={hall.id}")
    remote_word = texts(console)["remote"]
    console.keyboard.press("o")
    expect(console.locator("#btn-call")).to_be_enabled()
    row = console.locator("#next tr", has_text=ticket["label"])
    expect(row.locator(".remote-tag")).to_have_text(remote_word)
    shot(console, tmp_path, "console-queue")
    console.keyboard.press("n")
    expect(console.locator("#current-label")).to_contain_text(ticket["label"])
    expect(console.locator("#current-label .remote-tag")).to_have_text(remote_word)
    expect(phone.locator("#state")).to_have_text(fill(phone_texts["called"], n=1))
    shot(console, tmp_path, "console-called")
    shot(phone, tmp_path, "phone-called")


# --------------------------------------------------------------------------- scenario B

def test_a_remote_ticket_never_checked_in_is_released_and_its_phone_says_so(
        browser, live_server, remote_hall, tmp_path):  # noqa: F811
    from app.services import remote

    hall = remote_hall
    ticket = join_over_the_api(live_server, hall, "13912340002")
    token = ticket["public_token"]
    phone = new_page(browser, live_server, 375, 740, mobile=True)
    phone.goto(f"/t/{token}")
    t = expect_remote_phone_page(phone, ticket)

    # the deadline passes: the phone's clock, then the scheduler's job on the servers' clock moved on
    deadline = datetime.fromisoformat(ticket["check_in_by"])
    phone.clock.set_system_time(deadline + timedelta(seconds=30))
    rt = live_server.runtime()
    try:
        ahead = deadline + timedelta(seconds=30) - live_server.now()
        rt.clock = lambda: live_server.now() + ahead
        assert remote.release_due(rt) >= 1
    finally:
        rt.engine.dispose()
    assert status_of(live_server, token)["state"] == "cancelled"

    expect(phone.locator("#state")).to_have_text(t["released"])
    expect(phone.locator("#state")).not_to_have_text(t["cancelled"])
    expect(phone.locator("#check-in")).to_be_hidden()
    expect(phone.locator("#cancel")).to_be_hidden()
    shot(phone, tmp_path, "phone-released")
    phone.reload()  # the page opened afresh says the same
    expect(phone.locator("#state")).to_have_text(t["released"])

    # the customer turns up after all: the kiosk says the number is gone, in its language
    kiosk = new_page(browser, live_server, 1280, 1024)
    kiosk.goto(f"/kiosk/#token={hall.tokens['kiosk']}")
    kiosk.locator("#check-in").click()
    kiosk.keyboard.type(f"{live_server.url}/t/{token}")
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#ci-error")).to_have_text(fill(texts(kiosk)["checkin"]["remote_ended"],
                                                         label=ticket["label"]))
    shot(kiosk, tmp_path, "kiosk-released")


def test_a_remote_ticket_left_from_the_phone_says_you_left_not_released(
        browser, live_server, remote_hall, tmp_path):  # noqa: F811
    ticket = join_over_the_api(live_server, remote_hall, "13912340003")
    phone = new_page(browser, live_server, 375, 740, mobile=True)
    phone.goto(f"/t/{ticket['public_token']}")
    t = expect_remote_phone_page(phone, ticket)
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.locator("#cancel").click()
    expect(phone.locator("#state")).to_have_text(t["cancelled"])
    assert status_of(live_server, ticket["public_token"])["state"] == "cancelled"
    # even once its deadline has passed, this phone left by itself: never "released"
    phone.clock.set_system_time(datetime.fromisoformat(ticket["check_in_by"]) + timedelta(minutes=5))
    phone.reload()
    expect(phone.locator("#state")).to_have_text(t["cancelled"])
    shot(phone, tmp_path, "phone-left")


def test_a_scan_at_the_kiosk_home_screen_checks_a_remote_ticket_in_without_the_button(
        browser, live_server, remote_hall):  # noqa: F811
    """Customers hold their phone under the scanner without reading the screen first."""
    ticket = join_over_the_api(live_server, remote_hall, "13912340004", prefix="B")
    kiosk = new_page(browser, live_server, 1280, 1024)
    kiosk.goto(f"/kiosk/#token={remote_hall.tokens['kiosk']}")
    expect(kiosk.locator("#check-in")).to_be_visible()
    kiosk.keyboard.type(f"{live_server.url}/t/{ticket['public_token']}")
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#t-label")).to_have_text(ticket["label"])
    expect(kiosk.locator("#t-checked-in")).to_be_visible()
    # not left waiting in hall 2's queue for the tests after this one
    requests.post(live_server.api(f"/tickets/{ticket['public_token']}/cancel"), timeout=TIMEOUT)
