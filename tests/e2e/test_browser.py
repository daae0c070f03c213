"""The browser pages against the real server, in Debian's Chromium through Playwright (sync API)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from .conftest import watch_page_errors

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 10_000

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), f"no {CHROMIUM}: run scripts/system-deps.sh (Debian's chromium)"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    context = watch_page_errors(browser.new_context(base_url=live_server.url, locale="zh-CN",
                                                    viewport={"width": 1024, "height": 768}))
    context.set_default_timeout(TIMEOUT_MS)
    context.clock.install(time=live_server.now())
    p = context.new_page()
    yield p
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


def screenshot(page, shots, name: str) -> None:
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000, f"{path}: {len(data)} bytes"


def sign_in(page, username: str, password: str):
    page.goto("/login")
    page.get_by_label(re.compile("用户名")).fill(username)
    page.get_by_label(re.compile("密码")).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("登录")).click()


def test_the_sign_in_page_speaks_chinese_and_english(page, shots):
    response = page.goto("/login")
    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "员工登录"
    body = page.locator("body").inner_text()
    for text in ("中国移动营业厅", "用户名", "密码"):
        assert text in body
    assert page.title() == "登录"
    screenshot(page, shots, "login")
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Staff sign-in"
    assert page.get_by_label("Username").is_visible() and page.title() == "Sign in"
    screenshot(page, shots, "login-en")
    page.get_by_role("link", name="中文").click()  # back, for the tests after this one
    assert page.get_by_role("heading", level=1).inner_text() == "员工登录"


def test_a_wrong_password_shows_the_error(page, shots):
    sign_in(page, "s1", "not-the-password")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == "用户名或密码错误"
    assert page.url.endswith("/login")
    screenshot(page, shots, "login-error")


def test_the_right_password_lands_on_the_home_page_with_the_name(page, shots, live_server):
    sign_in(page, "s1", "correct-horse-1")
    assert page.url == live_server.url + "/"
    body = page.locator("body")
    assert "您好，营业员1" in body.inner_text()
    assert page.get_by_role("link", name="窗口工作台").is_visible()
    assert page.get_by_role("button", name=re.compile("退出")).is_visible()
    screenshot(page, shots, "home")


def test_the_api_docs_render_swagger_ui_with_the_operations(page, shots):
    page.goto("/api/docs")
    # whichever comes first: the operations, or Swagger UI's own error box
    page.locator(".opblock, .version-pragma, .errors-wrapper").first.wait_for()
    shown = page.locator("#swagger-ui").inner_text()
    assert page.locator(".version-pragma, .errors-wrapper").count() == 0, f"Swagger UI refused: {shown[:400]}"
    assert page.locator(".opblock").count() >= 30
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/halls/{hall_id}/tickets" in p for p in paths)
    assert any("/counters/{counter_id}/call-next" in p for p in paths)
    assert "营业厅排队与满意度系统" in page.locator(".info .title").inner_text()
    screenshot(page, shots, "api-docs")
