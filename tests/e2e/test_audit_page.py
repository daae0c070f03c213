"""The audit trail page in a real browser: a change made over the API shows with who made it, the
field, before and after; the filter by kind works; in English with ``?lang=en``; a manager of
another hall does not see it."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from ..world import bearer
from .test_browser import browser  # noqa: F401 - the module's browser fixture
from .test_survey_pages import open_as

pytestmark = pytest.mark.e2e


def test_a_change_shows_who_before_and_after(browser, live_server):  # noqa: F811
    hall = live_server.world.two
    service = hall.services["C"]
    admin = bearer(live_server.tokens["admin"])
    before = requests.get(live_server.api(f"/halls/{hall.id}/services"), headers=admin, timeout=5).json()
    target = next(s for s in before["services"] if s["id"] == service)["target_wait_s"]
    changed = target + 60
    r = requests.patch(live_server.api(f"/services/{service}"), json={"target_wait_s": changed}, headers=admin,
                       timeout=5)
    assert r.ok, r.text
    try:
        page = open_as(browser, live_server, "hq", "/manager/audit")
        page.locator("select[name=entity]").select_option("service")
        page.locator("#filters button").click()
        row = page.locator('#entries tr[data-entity="service"]').first
        expect(row).to_contain_text("管理员")
        expect(row.locator("dt")).to_have_text(["目标等候"])  # in words, in minutes (issue 22)
        expect(row.locator("del")).to_have_text(f"{target / 60:g} 分钟")
        expect(row.locator("ins")).to_have_text(f"{changed / 60:g} 分钟")
        page.goto("/manager/audit?entity=service&lang=en")
        expect(page.locator("header.bar")).to_contain_text("Audit trail")
        page.context.close()
        other = open_as(browser, live_server, "m1", "/manager/audit?entity=service")
        expect(other.locator(f'#entries tr[data-entity="service"] ins', has_text=f"{changed / 60:g} 分钟")).to_have_count(0)
        other.context.close()
    finally:
        requests.patch(live_server.api(f"/services/{service}"), json={"target_wait_s": target}, headers=admin,
                       timeout=5)
