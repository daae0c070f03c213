"""What every response tells the browser (issue 17): a content security policy that allows this
site's own scripts and styles and inline ones only with the response's nonce, no sniffing, no
referrer to other sites, no camera; the session cookie SameSite, HttpOnly and, over HTTPS, Secure;
the token response kept out of caches."""
from __future__ import annotations

import re

import pytest

from app import create_app
from app.services import queue

from ..world import PASSWORD, sign_in

PAGES = ["/", "/login", "/kiosk/", "/display/", "/counter/?hall={h}", "/counter/?hall={h}&counter={c}", "/manager/",
         "/manager/overview", "/manager/satisfaction", "/manager/service-levels", "/manager/report-files",
         "/manager/audit", "/manager/outbox", "/manager/follow-ups", "/admin/", "/admin/halls/{h}",
         "/admin/halls/{h}/staff", "/admin/halls/{h}/import/staff", "/api/docs", "/t/{t}"]


def signed_in_admin(app):
    client = app.test_client()
    assert sign_in(client, "admin").status_code == 302
    return client


def nonce_of(policy: str) -> str | None:
    """The response's nonce; None where the page asked for none (it has nothing inline)."""
    found = re.search(r"script-src 'self' 'nonce-([^']+)'", policy)
    return found.group(1) if found else None


@pytest.fixture
def ticket_token(rt, world):
    return queue.issue_ticket(rt, world.one.id, world.one.services["A"])["public_token"]


def test_every_page_sends_the_security_headers(app, world, ticket_token):
    admin = signed_in_admin(app)
    for path in PAGES:
        resp = admin.get(path.format(h=world.one.id, c=world.one.counters[1], t=ticket_token))
        assert resp.status_code == 200, path
        policy = resp.headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'self'",
                          "form-action 'self'"):
            assert directive in policy, (path, directive)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert "camera=()" in resp.headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in resp.headers  # plain HTTP


def test_every_inline_script_and_style_carries_the_responses_nonce_and_no_element_a_style(app, world, ticket_token):
    """Else the policy blocks it in the browser (the browser tests fail on any report of that)."""
    admin = signed_in_admin(app)
    nonces, with_nonce = set(), 0
    for path in PAGES:
        resp = admin.get(path.format(h=world.one.id, c=world.one.counters[1], t=ticket_token))
        html, nonce = resp.get_data(as_text=True), nonce_of(resp.headers["Content-Security-Policy"])
        if nonce is not None:
            nonces.add(nonce)
            with_nonce += 1
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
            if "src=" in tag or 'type="application/json"' in tag:
                continue
            assert nonce is not None and f'nonce="{nonce}"' in tag, (path, tag)
        assert not re.search(r"<[^>]+\sstyle=", html), path
        assert not re.search(r"<[^>]+\son[a-z]+=", html), path  # no inline event handlers either
    assert with_nonce and len(nonces) == with_nonce  # a fresh nonce each response that has inline parts


def test_the_api_sends_the_headers_and_the_token_response_is_not_cached(client, world):
    resp = client.post("/api/v1/auth/tokens", json={"username": "s1", "password": PASSWORD})
    assert resp.status_code == 201
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors" in resp.headers["Content-Security-Policy"]


def session_cookie(resp) -> str:
    return next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_the_session_cookie_is_httponly_and_samesite_and_over_http_not_secure(app, world):
    resp = sign_in(app.test_client(), "s1")
    cookie = session_cookie(resp)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_over_https_the_session_cookie_is_secure_and_https_is_required_from_then_on(app, world):
    client = app.test_client()
    page = client.get("/login", base_url="https://hall.example.com")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = client.post("/login", base_url="https://hall.example.com",
                       headers={"Referer": "https://hall.example.com/login"},
                       data={"username": "s1", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    assert "Secure" in session_cookie(resp)


@pytest.mark.parametrize("proxies, secure", [(1, True), (0, False)])
def test_behind_a_trusted_proxy_its_https_makes_the_cookie_secure_and_an_untrusted_one_is_not_believed(
        rt, world, proxies, secure):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": "unused", "RUNTIME": rt,
                      "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef", "TRUSTED_PROXIES": proxies})
    client = app.test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hall.example.com",
                 "X-Forwarded-For": "203.0.113.7"}
    page = client.get("/login", headers=forwarded)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = client.post("/login", headers={**forwarded, "Referer": "https://hall.example.com/login"},
                       data={"username": "s1", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    assert ("Secure" in session_cookie(resp)) is secure


def test_a_browsers_report_of_a_blocked_script_is_logged(client, caplog):
    report = {"csp-report": {"document-uri": "http://hall.example.com/t/secret-ticket-token",
                             "violated-directive": "script-src-elem", "blocked-uri": "inline",
                             "source-file": "http://hall.example.com/t/secret-ticket-token", "line-number": 3}}
    resp = client.post("/csp-reports", json=report, headers={"Content-Type": "application/csp-report"})
    assert resp.status_code == 204
    (record,) = [r for r in caplog.records if "csp violation" in r.getMessage()]
    assert "script-src-elem" in record.getMessage() and "secret-ticket-token" not in record.getMessage()
    assert client.post("/csp-reports", data=b"not json").status_code == 204


def test_a_response_that_rendered_no_page_allows_no_inline_script_or_style(app, world):
    """The API's JSON carries the policy too, with no nonce: nothing inline may run in it."""
    resp = app.test_client().get("/healthz")
    policy = resp.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "nonce-" not in policy and "unsafe-inline" not in policy
