"""The production deployment's answers name no server software (gunicorn, nginx's version), and
the browser pages keep working under the content security policy (every browser test checks
that nothing was blocked: tests/e2e/conftest.py)."""
from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_no_answer_names_gunicorn_or_nginxs_version(live_server):
    d = live_server.deployment
    for url in (d.web.url, d.lives[0].url, live_server.url):  # web, live, nginx in front
        server = requests.get(f"{url}/healthz", timeout=10).headers.get("Server", "")
        assert "gunicorn" not in server.lower() and "/" not in server, (url, server)


def test_a_page_through_the_proxy_carries_the_policy_and_the_session_cookie_its_flags(live_server):
    login = requests.get(f"{live_server.url}/login", timeout=10)
    assert "frame-ancestors 'self'" in login.headers["Content-Security-Policy"]
    assert login.headers["X-Content-Type-Options"] == "nosniff"
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
