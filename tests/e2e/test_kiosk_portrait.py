"""The kiosk on a real kiosk (issue 22), in Chromium: a portrait 1080x1920 touch screen whose services
fill the screen and whose keys are at least 15 mm (61 px on a 21.5-inch panel); the return to the
start after the kiosk's own idle time, with a countdown a touch cancels; the elder-friendly mode
(适老化) switched on through the API reaching an open kiosk: larger type, fewer words, spoken prompts.

Screenshots go to ``test-artifacts/screens/kiosk-portrait-*.png`` and ``kiosk-elder-*.png``.
"""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from ..world import bearer
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_screens import new_page, shot

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 1080, 1920
KEY_MIN_PX = 61  # 15 mm at 0.248 mm a pixel (a 21.5-inch 1080x1920 panel)
KEY_AIM_PX = 110  # what the layout gives, well above the minimum
ZH_DIGITS = "零一二三四五六七八九"


def _kiosk_id(server, hall) -> int:
    devices = requests.get(server.api(f"/halls/{hall.id}/devices"), headers=bearer(server.tokens["admin"]),
                           timeout=5).json()["devices"]
    return next(d["id"] for d in devices if d["kind"] == "kiosk")


def _set_kiosk(server, kiosk_id: int, **settings) -> None:
    r = requests.put(server.api(f"/devices/{kiosk_id}/kiosk"), json=settings, headers=bearer(server.tokens["admin"]),
                     timeout=5)
    assert r.status_code == 200, r.text


@pytest.fixture
def kiosk_settings(live_server):
    """Hall 1's kiosk with settings of the test's choosing; back to the defaults (and no printer) after."""
    hall = live_server.world.one
    kiosk_id = _kiosk_id(live_server, hall)
    yield lambda **settings: _set_kiosk(live_server, kiosk_id, **settings)
    _set_kiosk(live_server, kiosk_id)
    requests.put(live_server.api(f"/devices/{kiosk_id}/printer"), json={"kind": "none"},
                 headers=bearer(live_server.tokens["admin"]), timeout=5).raise_for_status()


@pytest.fixture
def given_up(live_server):
    """Tickets the test took, given up after it: the next test's call-next calls its own."""
    tokens = []
    yield tokens.append
    for token in tokens:
        requests.post(live_server.api(f"/tickets/{token}/cancel"), timeout=5).raise_for_status()


def open_kiosk(browser, server, width=WIDTH, height=HEIGHT):  # noqa: F811
    page = new_page(browser, server, width, height)
    page.goto(f"/kiosk/#token={server.world.one.tokens['kiosk']}")
    expect(page.locator('.service[data-prefix="A"]')).to_be_visible()
    return page


def boxes(page, selector: str) -> list[dict]:
    """The elements' boxes, read in one step (the services are drawn again with each snapshot)."""
    return page.evaluate("""s => [...document.querySelectorAll(s)].map(e => {
        const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; })""", selector)


def keys_too_small(page, pad: str, least: int) -> list[str]:
    keys = page.locator(f'.keypad[data-for="{pad}"] button')
    assert keys.count() == 12
    small = []
    for i in range(12):
        box = keys.nth(i).bounding_box()
        if box["width"] < least or box["height"] < least:
            small.append(f"{keys.nth(i).inner_text()}: {box['width']:.0f}x{box['height']:.0f}")
    return small


def showing(page, step: str) -> None:
    """Lay out a step that needs the hall's settings to be reached (the PIN, the check-in), to measure it."""
    page.evaluate("""step => document.querySelectorAll("main > section")
                     .forEach(s => { s.hidden = s.id !== "step-" + step; })""", step)


def font_px(page, selector: str) -> float:
    # in one step: the services are drawn again with each snapshot, and a replaced element has no style
    return page.evaluate("s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)", selector)


def number_zh(n: int) -> str:
    if n < 10:
        return ZH_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else ZH_DIGITS[tens]) + "十" + (ZH_DIGITS[ones] if ones else "")


def spoken(page) -> list[dict]:
    return page.evaluate("() => hallq.voice.log.map(e => ({text: e.text, lang: e.lang, via: e.via, missing: e.missing}))")


def said(page, text: str) -> None:
    """``text`` was said (the latest utterance), in Chinese, and the voice had words for all of it."""
    page.wait_for_function("t => hallq.voice.log.some(e => e.text === t && e.via)", arg=text)
    entry = [e for e in spoken(page) if e["text"] == text][-1]
    assert entry["lang"] == "zh-CN" and entry["via"] in ("speech", "clips"), entry
    assert not entry["missing"], f"no clip says {entry['missing']} of {text!r}"


def test_in_portrait_the_services_fill_the_screen_and_every_key_is_at_least_15_mm(browser, live_server,
                                                                                    kiosk_settings, given_up):  # noqa: F811
    page = open_kiosk(browser, live_server)
    services = boxes(page, "#services .service")
    assert len(services) == 3
    assert all(b["width"] > WIDTH * 0.8 and b["height"] >= 300 for b in services), services  # one column, tall
    below = page.evaluate("""() => Math.max(...[...document.querySelectorAll("#step-services > *")]
                             .filter(e => e.offsetParent).map(e => e.getBoundingClientRect().bottom))""")
    assert HEIGHT - 80 <= below <= HEIGHT, f"the services step ends at {below}px of {HEIGHT}: empty space below"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH
    shot(page, "kiosk-portrait-services")

    page.locator('.service[data-prefix="A"]').click()
    expect(page.locator("#step-mobile")).to_be_visible()
    assert not keys_too_small(page, "mobile", KEY_MIN_PX)
    assert not keys_too_small(page, "mobile", KEY_AIM_PX), keys_too_small(page, "mobile", KEY_AIM_PX)
    for button in ("#mobile-skip", "#mobile-ok", "#step-mobile [data-back]"):
        box = page.locator(button).bounding_box()
        assert box["height"] >= KEY_AIM_PX and box["y"] + box["height"] <= HEIGHT, (button, box)
    for digit in "13800138000":
        page.locator(f'.keypad[data-for="mobile"] button[data-key="{digit}"]').click()
    expect(page.locator("#mobile")).to_have_text("138 0013 8000")
    shot(page, "kiosk-portrait-mobile")
    page.locator("#mobile-ok").click()
    expect(page.locator("#step-ticket")).to_be_visible()
    expect(page.locator("#t-label")).to_have_text(re.compile(r"^A\d{3}$"))
    expect(page.locator("#t-print")).to_be_visible()  # no printer here: it says so
    page.wait_for_function("() => document.querySelector('#t-qr img').naturalWidth > 0")
    box = page.locator("#t-done").bounding_box()
    assert box["height"] >= KEY_AIM_PX and box["y"] + box["height"] <= HEIGHT, box
    shot(page, "kiosk-portrait-ticket")
    given_up(page.locator("#step-ticket").get_attribute("data-token"))

    for step, pad in (("priority", "pin"), ("checkin", "checkin")):
        showing(page, step)
        assert not keys_too_small(page, pad, KEY_AIM_PX), (pad, keys_too_small(page, pad, KEY_AIM_PX))
        shot(page, f"kiosk-portrait-{step}")
    page.context.close()


def test_the_kiosk_forgets_the_customer_after_its_idle_time_with_a_countdown_a_touch_cancels(
        browser, live_server, kiosk_settings):  # noqa: F811
    kiosk_settings(idle_s=20)
    page = open_kiosk(browser, live_server)
    expect(page.locator("body")).to_have_attribute("data-idle-s", "20")
    page.locator('.service[data-prefix="B"]').click()
    for digit in "0" * 11:  # eleven digits, not a mobile number: an error to forget too
        page.locator(f'.keypad[data-for="mobile"] button[data-key="{digit}"]').click()
    page.locator("#mobile-ok").click()
    expect(page.locator("#mobile-error")).not_to_be_empty()

    page.clock.fast_forward(8_000)  # 12 s left: no countdown yet
    page.wait_for_timeout(400)
    expect(page.locator("#idle")).to_be_hidden()
    page.clock.fast_forward(4_000)  # 8 s left
    expect(page.locator("#idle")).to_be_visible()
    expect(page.locator("#idle-text")).to_have_text(re.compile(r"^[5-9] 秒后返回首页$"))
    expect(page.locator("#idle")).to_contain_text("触摸屏幕可继续办理")
    shot(page, "kiosk-portrait-countdown")
    page.locator("#step-mobile h2").click()  # a touch anywhere (here the panel's heading): the customer stays
    expect(page.locator("#idle")).to_be_hidden()
    page.clock.fast_forward(15_000)
    page.wait_for_timeout(400)
    expect(page.locator("#step-mobile")).to_be_visible()  # 20 s from the touch, not from the last key
    expect(page.locator("#mobile")).to_have_text("000 0000 0000")

    page.clock.fast_forward(6_000)  # past the idle time: back at the start, everything forgotten
    expect(page.locator("#step-services")).to_be_visible()
    expect(page.locator("#idle")).to_be_hidden()
    page.locator('.service[data-prefix="B"]').click()
    expect(page.locator("#mobile")).to_be_empty()
    expect(page.locator("#mobile-error")).to_be_empty()

    # an untouched start screen has nothing to forget: no countdown ever
    page.locator("#step-mobile [data-back]").click()
    page.clock.fast_forward(25_000)
    page.wait_for_timeout(400)
    expect(page.locator("#idle")).to_be_hidden()
    page.context.close()


def test_elder_mode_switched_on_reaches_an_open_kiosk_with_larger_type_fewer_words_and_a_voice(
        browser, live_server, kiosk_settings, given_up):  # noqa: F811
    page = open_kiosk(browser, live_server)
    expect(page.locator("body")).not_to_have_class(re.compile(r"\belder\b"))
    assert page.locator("#services .service .en").count() == 3  # English sub-names for visitors
    expect(page.locator('.service[data-prefix="A"] .load')).to_contain_text("·")  # waiting · estimate
    name_px, h1_px = font_px(page, ".service .name"), font_px(page, "#step-services h1")
    page.locator('.service[data-prefix="A"]').click()
    key = page.locator('.keypad[data-for="mobile"] button').first.bounding_box()
    page.locator("#step-mobile [data-back]").click()
    page.wait_for_timeout(300)
    assert spoken(page) == []  # no voice prompts outside the elder-friendly mode

    printers = live_server.deployment.base / "instance" / "printers"  # a slip comes out: "please take it"
    printers.mkdir(parents=True, exist_ok=True)
    r = requests.put(live_server.api(f"/devices/{_kiosk_id(live_server, live_server.world.one)}/printer"),
                     json={"kind": "file", "path": str(printers / "elder.escpos")},
                     headers=bearer(live_server.tokens["admin"]), timeout=5)
    assert r.status_code == 200, r.text
    kiosk_settings(elder_mode=True, idle_s=90)  # the administrator switches it on: the open page takes it
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    expect(page.locator("body")).to_have_attribute("data-idle-s", "90")
    assert page.locator("#services .service .en").count() == 0
    expect(page.locator('.service[data-prefix="A"] .name')).to_have_text("业务A")  # the name alone
    expect(page.locator('.service[data-prefix="A"] .load')).to_have_text(re.compile(r"^等候 \d+ 人$"))
    assert font_px(page, ".service .name") >= name_px * 1.2 and font_px(page, "#step-services h1") > h1_px
    shot(page, "kiosk-elder-services")

    page.locator("#step-services h1").click()  # the first touch after a reset (the heading): asked to choose
    said(page, "请选择业务")
    page.locator('.service[data-prefix="A"]').click()
    said(page, "请输入手机号码，或者跳过")
    bigger = page.locator('.keypad[data-for="mobile"] button').first.bounding_box()
    assert bigger["height"] > key["height"] and bigger["width"] >= key["width"], (key, bigger)
    assert not keys_too_small(page, "mobile", KEY_AIM_PX)
    expect(page.locator("#step-mobile .privacy .long")).to_be_hidden()  # a short line instead
    expect(page.locator("#step-mobile .privacy .short")).to_be_visible()
    shot(page, "kiosk-elder-mobile")
    page.locator("#mobile-skip").click()
    expect(page.locator("#step-ticket")).to_be_visible()
    label = page.locator("#t-label").inner_text()
    ahead = int(re.search(r"\d+", page.locator("#t-ahead").inner_text()).group())
    said(page, "您的号码是" + label[0] + "".join(ZH_DIGITS[int(d)] for d in label[1:]) + "，前面还有" +
         number_zh(ahead) + "人")
    expect(page.locator("#t-print")).to_have_attribute("data-code", "ok")
    page.wait_for_function("() => document.querySelector('#t-qr img').naturalWidth > 0")
    said(page, "请取走您的号票，谢谢")
    expect(page.locator("#t-time")).to_be_hidden()  # fewer words: no issue time
    shot(page, "kiosk-elder-ticket")
    given_up(page.locator("#step-ticket").get_attribute("data-token"))
    page.locator("#t-done").click()
    expect(page.locator("#step-services")).to_be_visible()
    page.locator("#step-services h1").click()
    page.wait_for_function("() => hallq.voice.log.filter(e => e.text === '请选择业务').length === 2")  # after each reset

    # the same kiosk in landscape: larger keys there too, and nothing falls off the screen
    landscape = open_kiosk(browser, live_server, 1280, 1024)
    expect(landscape.locator("body")).to_have_class(re.compile(r"\belder\b"))
    shot(landscape, "kiosk-elder-landscape-services")
    landscape.locator('.service[data-prefix="A"]').click()
    assert not keys_too_small(landscape, "mobile", KEY_MIN_PX)
    for part in ("#mobile-skip", "#mobile-ok", "#step-mobile"):  # the panel too: none of it cut off
        box = landscape.locator(part).bounding_box()
        assert box["y"] + box["height"] <= 1024, (part, box)
    assert landscape.evaluate("() => document.documentElement.scrollWidth") <= 1280
    shot(landscape, "kiosk-elder-landscape-mobile")

    kiosk_settings(elder_mode=False)  # and off again, without a reload
    expect(page.locator("body")).not_to_have_class(re.compile(r"\belder\b"))
    expect(page.locator("#services .service .en")).to_have_count(3)
    landscape.context.close()
    page.context.close()
