"""Self-service first (分流) at the kiosk, in Chromium: with a long wait, a service that has a
self-service way suggests it before issuing; the customer may go there or take a ticket anyway. The
kiosk asks the server's snapshot (self_service_first), not a threshold of its own."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from ..world import bearer
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_screens import new_page, shot

pytestmark = pytest.mark.e2e


def test_a_long_wait_suggests_the_self_service_way_first(browser, live_server):  # noqa: F811
    hall = live_server.world.two
    admin, kiosk = bearer(live_server.tokens["admin"]), bearer(hall.tokens["kiosk"])
    staff = bearer(live_server.tokens["s2"])
    service = hall.services["C"]
    counter = hall.counters[3]
    issued = []
    requests.patch(live_server.api(f"/services/{service}"), json={"self_service_zh": "缴费可在自助终端办理，约 1 分钟"},
                   headers=admin, timeout=5).raise_for_status()
    requests.post(live_server.api(f"/counters/{counter}/open"), json={}, headers=staff, timeout=5).raise_for_status()
    try:
        def c_now():
            snap = requests.get(live_server.api(f"/halls/{hall.id}/queue"), headers=kiosk, timeout=5).json()
            return next(s for s in snap["services"] if s["id"] == service)

        while not c_now()["self_service_first"]:
            assert len(issued) < 20, c_now()
            issued.append(requests.post(live_server.api(f"/halls/{hall.id}/tickets"), json={"service_id": service},
                                        headers=kiosk, timeout=5).json()["public_token"])
        page = new_page(browser, live_server, 1280, 1024)
        page.goto(f"/kiosk/#token={hall.tokens['kiosk']}")
        page.locator('.service[data-prefix="C"]').click()
        expect(page.locator("#step-divert")).to_be_visible()
        expect(page.locator("#divert-text")).to_have_text("缴费可在自助终端办理，约 1 分钟")
        expect(page.locator("#divert-wait")).to_contain_text("分钟")
        shot(page, "kiosk-divert")
        page.locator("#divert-go").click()  # to the self-service terminal: nothing issued
        expect(page.locator("#step-services")).to_be_visible()
        page.locator('.service[data-prefix="C"]').click()
        page.locator("#divert-keep").click()  # a ticket anyway
        expect(page.locator("#step-mobile")).to_be_visible()
        page.locator("#mobile-skip").click()
        expect(page.locator("#step-ticket")).to_be_visible()
        issued.append(page.locator("#step-ticket").get_attribute("data-token"))
        # B has no self-service way: straight on to the number
        page.locator("#t-done").click()
        page.locator('.service[data-prefix="B"]').click()
        expect(page.locator("#step-mobile")).to_be_visible()
    finally:
        for token in issued:
            requests.post(live_server.api(f"/tickets/{token}/cancel"), timeout=5)
        requests.post(live_server.api(f"/counters/{counter}/close"), json={}, headers=staff, timeout=5)
        requests.patch(live_server.api(f"/services/{service}"), json={"self_service_zh": ""}, headers=admin, timeout=5)
