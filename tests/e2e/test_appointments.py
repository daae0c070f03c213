"""Appointments (预约) in a real browser against the live deployment: a customer books a time slot
on their phone from the hall's public page, gets the confirmation SMS, checks in at the kiosk by
the QR code of the appointment's page and is called at a counter (tagged 预约) ahead of a walk-in
who came later; an appointment moved to another time and then cancelled gives its places back,
and the manager's page follows; one too early at the kiosk may queue now as a walk-in.

Hall 2 takes appointments (and no remote tickets) for these tests, with a counter plan and a
forecast for the servers' day stored directly (one counter all day; walk-ins forecast for A), so
slots are offered whatever the other tests forecast. The texts expected are read from each
page's own string table (``#i18n``), so the tests hold whether or not the Chinese catalogue has
the new messages yet. Screenshots go to the test's tmp dir.
"""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import delete, select

from app.domain.hours import business_day
from app.storage.orm import CounterPlan, ForecastSlot

from ..polling import wait_until
from ..world import bearer
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_remote_tickets import fill, local_hhmm, new_page, shot, sign_in, sms_code, texts
from .test_screens import tidy_counter  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e
TIMEOUT = 5
HALL_ZONE = ZoneInfo("Asia/Shanghai")
BOOK_CODE = re.compile(r"预约验证码 (\d{6})")
CONFIRMATION = re.compile(r"您已预约 .*签到码 (\d{6})")
BOOKING = {"enabled": True, "share": 0.5, "slot_minutes": 30, "head_start_minutes": 30, "early_minutes": 60,
           "grace_minutes": 10, "horizon_days": 7}
WALK_IN_P90 = 1.0  # forecast walk-ins of A per 15 minutes: 120 s of the counter's 900 s each


# --------------------------------------------------------------------------- the hall

def _rows(s, model, *where) -> list[dict]:
    return [{c.name: getattr(row, c.name) for c in model.__table__.columns}
            for row in s.execute(select(model).where(*where)).scalars()]


@pytest.fixture
def booking_hall(live_server):
    """Hall 2 takes appointments, with a plan of one counter all day and a forecast of A's walk-ins
    for the servers' day; afterwards switched off, and the plan and forecast as they were."""
    hall, admin = live_server.world.two, bearer(live_server.tokens["admin"])

    def patch(booking: dict) -> None:
        r = requests.patch(live_server.api(f"/halls/{hall.id}"), json={"booking": booking}, headers=admin,
                           timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        assert r.json()["booking"] == {**r.json()["booking"], **booking}

    rt = live_server.runtime()
    now = live_server.now()
    day = business_day(now, HALL_ZONE)
    first = datetime.combine(day, time.min, tzinfo=HALL_ZONE).astimezone(timezone.utc)
    slots = [first + timedelta(minutes=15 * i) for i in range(96)]
    mine = (ForecastSlot.hall_id == hall.id, ForecastSlot.slot >= slots[0], ForecastSlot.slot <= slots[-1],
            ForecastSlot.service_id.is_not(None))
    with rt.uow() as tx:  # what another test forecast for hall 2 today is kept aside and put back after
        s = tx.session
        kept_plans = _rows(s, CounterPlan, CounterPlan.hall_id == hall.id, CounterPlan.business_day == day)
        kept_slots = _rows(s, ForecastSlot, *mine)
        s.execute(delete(CounterPlan).where(CounterPlan.hall_id == hall.id, CounterPlan.business_day == day))
        s.execute(delete(ForecastSlot).where(*mine))
        s.add(CounterPlan(hall_id=hall.id, business_day=day, interval_minutes=15, first_slot=first, needs=[1] * 96,
                          shifts=[{"counter": 0, "start": 0, "end": 96}], made_at=now, model={"source": "e2e"}))
        s.add_all(ForecastSlot(hall_id=hall.id, service_id=hall.services["A"], slot=at, mean=WALK_IN_P90 / 2,
                               p10=0.0, p50=WALK_IN_P90 / 2, p90=WALK_IN_P90, needed=1, made_at=now, source="nightly")
                  for at in slots)
        tx.commit()
    patch(BOOKING)
    try:
        yield hall
    finally:
        patch({"enabled": False})
        with rt.uow() as tx:
            s = tx.session
            s.execute(delete(CounterPlan).where(CounterPlan.hall_id == hall.id, CounterPlan.business_day == day))
            s.execute(delete(ForecastSlot).where(*mine))
            s.add_all(CounterPlan(**row) for row in kept_plans)
            s.add_all(ForecastSlot(**row) for row in kept_slots)
            tx.commit()
        rt.engine.dispose()


# --------------------------------------------------------------------------- helpers

def slots_of(server, hall, day: str | None = None) -> dict:
    r = requests.get(server.api(f"/public/halls/{hall.id}/slots"), params={"date": day} if day else {},
                     timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def free_slots(listing: dict, service_id: int) -> list[dict]:
    return [s for s in listing["slots"] if s["services"][str(service_id)] > 0]


def appointment(server, token: str) -> dict:
    r = requests.get(server.api(f"/public/appointments/{token}"), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def book_over_the_api(server, hall, mobile: str, slot_start: str, prefix: str = "A") -> dict:
    """An appointment booked as the public page books it: a code (purpose book) by SMS, then the booking."""
    base = server.api(f"/public/halls/{hall.id}")
    r = requests.post(f"{base}/codes", json={"mobile": mobile, "purpose": "book"}, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    code, _ = sms_code(server, mobile, BOOK_CODE)
    r = requests.post(f"{base}/appointments", json={"service_id": hall.services[prefix], "slot_start": slot_start,
                                                    "mobile": mobile, "code": code}, timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    booked = r.json()
    assert booked["state"] == "booked" and booked["ticket_token"] is None
    return booked


def hhmm_plus(iso: str, minutes: int) -> str:
    return local_hhmm((datetime.fromisoformat(iso) + timedelta(minutes=minutes)).isoformat())


def pick_service_and_wait_for_slots(page, service_id: int) -> None:
    expect(page.locator("#mode-book")).to_be_visible()
    page.locator(f'input[name="book-service"][value="{service_id}"]').check()
    expect(page.locator("#slots")).to_have_attribute("data-state", "ready")


def expect_booked_page(phone, booked: dict) -> dict:
    """The appointment's page: the day and slot, booked, from when to check in and the late rule
    (hall time), the QR code big enough for the kiosk's scanner, the SMS way, cancel and move."""
    t = texts(phone)
    expect(phone.locator("#state")).to_have_text(t["states"]["booked"])
    expect(phone.locator("#when")).to_contain_text(f"{local_hhmm(booked['slot_start'])}–{local_hhmm(booked['slot_end'])}")
    expect(phone.locator("#check-in-from")).to_have_text(fill(t["check_in_from"], t=local_hhmm(booked["check_in_from"])))
    expect(phone.locator("#late-rule")).to_have_text(fill(t["late_rule"], t=local_hhmm(booked["late_after"])))
    qr = phone.locator("#qr")
    expect(qr).to_have_attribute("src", f"/a/{booked['public_token']}/qr.svg")
    wait_until(lambda: phone.evaluate("document.getElementById('qr').naturalWidth > 0"), "the QR code loaded")
    box = qr.bounding_box()
    assert box["width"] >= 200 and box["height"] >= 200, box
    expect(phone.locator("#check-in-sms")).to_be_visible()
    expect(phone.locator("#cancel")).to_be_visible()
    expect(phone.locator("#reschedule")).to_be_visible()
    return t


def open_kiosk(browser, server, hall):  # noqa: F811
    kiosk = new_page(browser, server, 1280, 1024)
    kiosk.goto(f"/kiosk/#token={hall.tokens['kiosk']}")
    expect(kiosk.locator(".service").first).to_be_visible()
    return kiosk


# --------------------------------------------------------------------------- scenario A

def test_an_appointment_booked_on_the_phone_is_checked_in_by_its_qr_code_and_called_ahead_of_a_later_walk_in(
        browser, live_server, booking_hall, tidy_counter, tmp_path):  # noqa: F811
    hall, mobile, service_a = booking_hall, "13912340101", booking_hall.services["A"]
    counter_id = hall.counters[1]  # serves A
    tidy_counter((counter_id, "s2"))
    listing = slots_of(live_server, hall)
    assert listing["planned"] and listing["day"] == business_day(live_server.now(), HALL_ZONE).isoformat()
    slot = free_slots(listing, service_a)[0]  # the next slot: check-in is open for it (60 min ahead)
    assert datetime.fromisoformat(slot["start"]) - live_server.now() <= timedelta(minutes=BOOKING["early_minutes"])

    # the customer, at home: the hall's page offers booking (it takes no remote tickets), a slot of today
    phone = new_page(browser, live_server, 375, 740, mobile=True)
    phone.goto("/join/H2")
    expect(phone.locator("#tab-book")).to_have_attribute("aria-selected", "true")
    expect(phone.locator("#mode-ticket")).to_be_hidden()
    join_texts = texts(phone)["book"]
    expect(phone.locator("#days .day").first).to_have_attribute("aria-pressed", "true")
    expect(phone.locator("#days .day")).to_have_count(BOOKING["horizon_days"] + 1)
    expect(phone.locator("#days .day").first.locator(".day-name")).to_have_text(join_texts["today"])
    expect(phone.locator("#slots-note")).to_have_text(join_texts["pick_service"])  # a service first
    pick_service_and_wait_for_slots(phone, service_a)
    button = phone.locator(f'#slots .slot[data-start="{slot["start"]}"]')
    expect(button).to_be_enabled()
    expect(button).to_have_text(re.compile(re.escape(slot["local"]) + ".*" +
                                           re.escape(fill(join_texts["left"], n=slot["services"][str(service_a)]))))
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(phone.locator("#chosen")).to_contain_text(f"{slot['local']}–{local_hhmm(slot['end'])}")
    expect(phone.locator("#policy-text")).to_have_text(listing["policy"]["zh"])  # the no-show policy before booking
    phone.locator("#book-mobile").fill(mobile)
    phone.locator("#book-send-code").click()
    code, _ = sms_code(live_server, mobile, BOOK_CODE)
    phone.locator("#book-code").fill(code)
    shot(phone, tmp_path, "join-book")
    with phone.expect_navigation(url=re.compile(r"/a/[^/?]+")):
        phone.locator("#book").click()
    token = re.search(r"/a/([^/?#]+)", phone.url).group(1)
    booked = appointment(live_server, token)
    assert booked["state"] == "booked" and booked["slot_start"] == slot["start"]
    assert booked["service"]["id"] == service_a and booked["mobile_masked"].endswith(mobile[-4:])

    # the confirmation SMS: the day's time and the service, and a check-in code
    def confirmation():
        r = requests.get(live_server.api("/sms/outbox"), params={"limit": 100},
                         headers=bearer(live_server.tokens["admin"]), timeout=TIMEOUT)
        return next((m["text"] for m in r.json()["messages"] if CONFIRMATION.search(m["text"])
                     and m["to"].endswith(mobile[-4:])), None)
    text = wait_until(confirmation, "the confirmation SMS", deadline_s=10)
    assert slot["local"] in text and "业务A" in text

    # the appointment's page
    phone_texts = expect_booked_page(phone, booked)
    shot(phone, tmp_path, "appointment-page")
    assert slots_of(live_server, hall)["slots"][0]["services"][str(service_a)] == slot["services"][str(service_a)] - 1

    # at the hall: the kiosk offers the check-in (appointments on, remote tickets off); the scanner reads the page
    kiosk = open_kiosk(browser, live_server, hall)
    kiosk_texts = texts(kiosk)
    expect(kiosk.locator("#check-in")).to_be_visible()
    expect(kiosk.locator("#check-in-offer-text")).to_have_text(kiosk_texts["offer"]["booking"])
    shot(kiosk, tmp_path, "kiosk-home")
    kiosk.locator("#check-in").click()
    expect(kiosk.locator("#ci-title")).to_have_text(kiosk_texts["panel"]["booking"])
    expect(kiosk.locator("#scan")).to_be_focused()
    kiosk.keyboard.type(phone.url)
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#step-ticket")).to_be_visible()
    expect(kiosk.locator("#t-checked-in")).to_be_visible()
    label = kiosk.locator("#t-label").inner_text()
    ticket_token = kiosk.locator("#step-ticket").get_attribute("data-token")
    shot(kiosk, tmp_path, "kiosk-checked-in")
    checked = appointment(live_server, token)
    assert checked["state"] == "checked_in" and checked["ticket_token"] == ticket_token
    r = requests.get(live_server.api(f"/tickets/{ticket_token}"), timeout=TIMEOUT)
    assert r.json()["channel"] == "appointment" and r.json()["state"] == "waiting" and r.json()["label"] == label

    # the phone's appointment page follows to the ticket's page
    phone.clock.run_for(31_000)
    expect(phone).to_have_url(re.compile(rf"/t/{re.escape(ticket_token)}$"))
    expect(phone.locator("#label")).to_have_text(label)
    ticket_texts = texts(phone)

    # the same QR code again: checked in already, in the kiosk's language
    kiosk.locator("#t-done").click()
    kiosk.locator("#check-in").click()
    kiosk.keyboard.type(f"{live_server.url}/a/{token}")
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#ci-error")).to_have_text(fill(kiosk_texts["checkin"]["checked_in_already"], label=label))
    kiosk.locator("#step-checkin [data-back]").click()

    # a walk-in takes a ticket for A after the appointment's customer checked in
    r = requests.post(live_server.api(f"/halls/{hall.id}/tickets"), json={"service_id": service_a},
                      headers=bearer(hall.tokens["kiosk"]), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    walk_in = r.json()
    try:
        console = new_page(browser, live_server, 1024, 700)
        sign_in(console, "s2", f"/counter/?counter={counter_id}&hall={hall.id}")
        tag = texts(console)["appointment"]
        console.keyboard.press("o")
        expect(console.locator("#btn-call")).to_be_enabled()
        row = console.locator("#next tr", has_text=label)
        expect(row.locator(".appointment-tag")).to_have_text(tag)
        expect(console.locator("#next tr", has_text=walk_in["label"])).to_be_visible()
        order = console.locator("#next tr td:first-child").all_inner_texts()
        names = [next((x for x in (label, walk_in["label"]) if cell.startswith(x)), None) for cell in order]
        assert names.index(label) < names.index(walk_in["label"]), order
        assert console.locator("#next tr", has_text=walk_in["label"]).locator(".appointment-tag").count() == 0
        shot(console, tmp_path, "console-queue")
        console.keyboard.press("n")
        expect(console.locator("#current-label")).to_contain_text(label)
        expect(console.locator("#current-label .appointment-tag")).to_have_text(tag)
        expect(phone.locator("#state")).to_have_text(fill(ticket_texts["called"], n=1))
        shot(console, tmp_path, "console-called")
        shot(phone, tmp_path, "phone-called")
    finally:  # not left waiting in hall 2's queue for the tests after this one
        requests.post(live_server.api(f"/tickets/{walk_in['public_token']}/cancel"), timeout=TIMEOUT)


# --------------------------------------------------------------------------- scenario B

def test_an_appointment_moved_and_then_cancelled_on_its_page_gives_its_places_back(
        browser, live_server, booking_hall, tmp_path):  # noqa: F811
    hall, mobile, service_a = booking_hall, "13912340102", booking_hall.services["A"]
    before = free_slots(slots_of(live_server, hall), service_a)
    first, second = before[1], before[2]
    left = {s["start"]: s["services"][str(service_a)] for s in before}
    booked = book_over_the_api(live_server, hall, mobile, first["start"])
    token = booked["public_token"]

    # the manager's page counts it
    manager = new_page(browser, live_server, 1280, 900)
    sign_in(manager, "m2", "/manager/")
    card = manager.locator("#appointments-card")
    expect(card).to_be_visible()
    expect(card).to_have_attribute("data-state", "ready")
    expect(manager.locator(f'#appt-chart rect.bar-booked[data-start="{first["start"]}"]')).to_have_attribute(
        "data-booked-s", re.compile(r"^[1-9]"))
    booked_now = int(manager.locator("#appt-booked").inner_text())
    cancelled_now = int(manager.locator("#appt-cancelled").inner_text())
    assert booked_now >= 1

    # the customer moves it to the next free time from its page
    phone = new_page(browser, live_server, 375, 740, mobile=True)
    phone.goto(f"/a/{token}")
    t = expect_booked_page(phone, booked)
    phone.locator("#reschedule").click()
    expect(phone.locator("#move")).to_be_visible()
    expect(phone.locator("#slots")).to_have_attribute("data-state", "ready")
    current = phone.locator(f'#slots .slot[data-start="{first["start"]}"]')
    expect(current).to_be_disabled()
    expect(current.locator(".left")).to_have_text(t["current"])
    phone.locator(f'#slots .slot[data-start="{second["start"]}"]').click()
    expect(phone.locator("#move-ok")).to_have_text(fill(t["move_to"], t=second["local"]))
    shot(phone, tmp_path, "appointment-move")
    phone.locator("#move-ok").click()
    expect(phone.locator("#when")).to_contain_text(f"{second['local']}–{local_hhmm(second['end'])}")
    expect(phone.locator("#move")).to_be_hidden()
    moved = appointment(live_server, token)
    assert moved["state"] == "booked" and moved["slot_start"] == second["start"]
    expect(phone.locator("#check-in-from")).to_have_text(fill(t["check_in_from"], t=hhmm_plus(second["start"], -60)))
    listing = {s["start"]: s["services"][str(service_a)] for s in slots_of(live_server, hall)["slots"]}
    assert listing[first["start"]] == left[first["start"]] and listing[second["start"]] == left[second["start"]] - 1

    # and cancels it (after a confirm): the page says so and offers booking again
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.locator("#cancel").click()
    expect(phone.locator("#state")).to_have_text(t["states"]["cancelled"])
    expect(phone.locator("#message")).to_have_text(t["cancelled_done"])
    expect(phone.locator("#check-in")).to_be_hidden()
    expect(phone.locator("#actions")).to_be_hidden()
    expect(phone.locator("#again a")).to_have_attribute("href", "/join/H2#book")
    shot(phone, tmp_path, "appointment-cancelled")
    assert appointment(live_server, token)["state"] == "cancelled"

    # the manager's page follows at once (AppointmentChanged)
    expect(manager.locator("#appt-cancelled")).to_have_text(str(cancelled_now + 1))
    expect(manager.locator("#appt-booked")).to_have_text(str(booked_now - 1))
    manager.evaluate("document.getElementById('appointments-card').scrollIntoView()")
    shot(manager, tmp_path, "manager-appointments")

    # the places are back on the hall's page
    phone.locator("#again a").click()
    expect(phone.locator("#tab-book")).to_have_attribute("aria-selected", "true")
    pick_service_and_wait_for_slots(phone, service_a)
    for s in (first, second):
        expect(phone.locator(f'#slots .slot[data-start="{s["start"]}"]')).to_have_attribute(
            "data-left", str(left[s["start"]]))
    shot(phone, tmp_path, "join-places-back")


# --------------------------------------------------------------------------- scenario C

def test_an_appointment_too_early_at_the_kiosk_may_queue_now_as_a_walk_in(
        browser, live_server, booking_hall, tmp_path):  # noqa: F811
    hall, service_a = booking_hall, booking_hall.services["A"]
    later = [s for s in free_slots(slots_of(live_server, hall), service_a)
             if datetime.fromisoformat(s["start"]) - live_server.now() > timedelta(minutes=BOOKING["early_minutes"] + 15)]
    booked = book_over_the_api(live_server, hall, "13912340103", later[0]["start"])
    kiosk = open_kiosk(browser, live_server, hall)
    kiosk_texts = texts(kiosk)
    kiosk.keyboard.type(f"{live_server.url}/a/{booked['public_token']}")  # a scan at the home screen
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#ci-error")).to_have_text(fill(kiosk_texts["checkin"]["appointment_early"],
                                                         opens=local_hhmm(booked["check_in_from"])))
    expect(kiosk.locator("#ci-early")).to_be_visible()
    expect(kiosk.locator("#ci-early-text")).to_have_text(kiosk_texts["walk_in_offer"])
    shot(kiosk, tmp_path, "kiosk-too-early")
    assert appointment(live_server, booked["public_token"])["state"] == "booked"
    kiosk.locator("#ci-walk-in").click()
    expect(kiosk.locator("#step-ticket")).to_be_visible()
    expect(kiosk.locator("#t-checked-in")).to_be_visible()
    ticket_token = kiosk.locator("#step-ticket").get_attribute("data-token")
    try:
        checked = appointment(live_server, booked["public_token"])
        assert checked["state"] == "checked_in" and checked["ticket_token"] == ticket_token
        ticket = requests.get(live_server.api(f"/tickets/{ticket_token}"), timeout=TIMEOUT).json()
        assert ticket["channel"] == "appointment" and ticket["state"] == "waiting"
        shot(kiosk, tmp_path, "kiosk-walk-in")
    finally:
        requests.post(live_server.api(f"/tickets/{ticket_token}/cancel"), timeout=TIMEOUT)
