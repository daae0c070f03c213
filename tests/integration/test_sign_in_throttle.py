"""Sign-in throttling (issue 17): per account and per client address, on the API and the form
alike, 429 with Retry-After; the counts in this process's memory, or in Redis shared by every
web process when there is one."""
from __future__ import annotations

import re
import uuid

import pytest
import redis

from app import create_app

from ..processes import REDIS_URL
from ..world import PASSWORD

TOKENS = "/api/v1/auth/tokens"
WINDOW_S = 15 * 60


def api_sign_in(client, username: str, password: str, address: str = "192.0.2.1"):
    return client.post(TOKENS, json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def form_sign_in(client, username: str, password: str, address: str = "192.0.2.1"):
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def retry_after(resp) -> int:
    return int(resp.headers["Retry-After"])


def test_ten_wrong_api_passwords_and_the_right_one_is_refused_for_a_while(client, world):
    for _ in range(10):
        assert api_sign_in(client, "s1", "not-the-password").status_code == 401
    resp = api_sign_in(client, "s1", PASSWORD)
    assert resp.status_code == 429
    assert 0 < retry_after(resp) <= WINDOW_S
    error = resp.get_json()["error"]
    assert error["code"] == "too_many_requests" and "token" not in resp.get_json()


def test_ten_wrong_form_passwords_and_the_right_one_is_refused_for_a_while(client, world):
    for _ in range(10):
        assert form_sign_in(client, "s1", "not-the-password").status_code == 401
    resp = form_sign_in(client, "s1", PASSWORD)
    assert resp.status_code == 429
    assert 0 < retry_after(resp) <= WINDOW_S
    assert "登录尝试次数过多" in resp.get_data(as_text=True)  # the form's language says how long to wait
    assert client.get("/api/v1/me").status_code == 401  # not signed in


def test_the_api_and_the_form_count_against_one_limit_per_account_from_any_address(client, world):
    for n in range(5):
        assert api_sign_in(client, "s1", "wrong", address=f"192.0.2.{n}").status_code == 401
        assert form_sign_in(client, "s1", "wrong", address=f"198.51.100.{n}").status_code == 401
    assert api_sign_in(client, "s1", PASSWORD, address="203.0.113.9").status_code == 429
    assert api_sign_in(client, "t1", PASSWORD).status_code == 201  # another account is not held up


def test_signing_in_with_the_right_password_forgets_the_accounts_failures(client, world):
    for _ in range(2):
        for _ in range(9):
            assert api_sign_in(client, "s1", "wrong").status_code == 401
        assert api_sign_in(client, "s1", PASSWORD).status_code == 201


def test_one_address_trying_many_accounts_is_refused_and_another_address_is_not(client, world):
    for n in range(100):
        assert form_sign_in(client, f"user{n}", "Password1").status_code == 401
    refused = api_sign_in(client, "s1", PASSWORD)
    assert refused.status_code == 429 and 0 < retry_after(refused) <= WINDOW_S
    assert api_sign_in(client, "s1", PASSWORD, address="192.0.2.2").status_code == 201


def test_the_limits_are_settings(rt, world):
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": "unused", "RUNTIME": rt,
                      "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef", "SIGN_IN_LIMIT_PER_ACCOUNT": "2 per hour"})
    client = app.test_client()
    for _ in range(2):
        assert api_sign_in(client, "s1", "wrong").status_code == 401
    resp = api_sign_in(client, "s1", PASSWORD)
    assert resp.status_code == 429 and WINDOW_S < retry_after(resp) <= 3600


def test_reading_the_sign_in_form_is_never_throttled(client, world):
    for _ in range(150):
        assert client.get("/login", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 200


@pytest.fixture
def channel():
    name = f"hallq-test-{uuid.uuid4().hex[:10]}"
    yield name
    store = redis.Redis.from_url(REDIS_URL)
    keys = list(store.scan_iter(f"{name}:*"))
    if keys:
        store.delete(*keys)


def test_with_a_message_queue_every_web_process_counts_in_redis(rt, world, channel):
    """Two web processes (two apps here) on one Redis: failures on one count on the other."""
    settings = {"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": "unused", "RUNTIME": rt,
                "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef",
                "SOCKETIO_MESSAGE_QUEUE": REDIS_URL, "SOCKETIO_CHANNEL": channel}
    first, second = create_app(dict(settings)).test_client(), create_app(dict(settings)).test_client()
    for n in range(10):
        assert api_sign_in(first if n % 2 else second, "s1", "wrong").status_code == 401
    assert api_sign_in(second, "s1", PASSWORD).status_code == 429
    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{channel}:limits*"))
