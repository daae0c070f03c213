"""Pairing a new hall display in a real browser: opened with no token it shows a six-digit code;
an administrator enters the code for hall 2 (the API the admin page calls); the screen collects
its own token, starts by itself and shows its hall; a reload keeps it paired."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from ..world import bearer
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_screens import new_page, shot

pytestmark = pytest.mark.e2e


def test_a_new_display_shows_a_code_is_paired_and_starts_showing_its_hall(browser, live_server):  # noqa: F811
    page = new_page(browser, live_server, 1280, 720)
    page.goto("/display/")
    code_box = page.locator("#pairing-code")
    expect(code_box).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    shot(page, "display-pairing")
    code = code_box.inner_text().replace(" ", "")
    hall = live_server.world.two
    r = requests.post(live_server.api(f"/halls/{hall.id}/devices/pair"), json={"code": code, "name": "二号厅 新大屏"},
                      headers=bearer(live_server.tokens["admin"]), timeout=5)
    assert r.status_code == 201, r.text
    expect(page.locator("#hall-name")).to_have_text("营业厅2", timeout=15_000)  # polls every 3 s, then reloads
    expect(page.locator("#pairing")).to_be_hidden()
    page.reload()
    expect(page.locator("#hall-name")).to_have_text("营业厅2")
    token = page.evaluate("localStorage.getItem('hallq.display.token')")
    assert token.startswith("dv_") and token not in page.url
    page.context.close()
