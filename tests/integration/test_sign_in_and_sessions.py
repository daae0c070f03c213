"""Sign-in and sessions (issue 17, OWASP ASVS level 2): sessions and tokens that end on the server
(sign-out, a password change, deactivation, their lifetime), the same cost for an unknown
username as for a known one, and the sign-in form's redirect kept to this site's own paths."""
from __future__ import annotations

import re

import pytest

from app.bootstrap import bootstrap
from app.extensions import socketio
from app.services import auth, config, imports
from app.web.access import SESSION_KEY

from ..conftest import FAST_HASH
from ..sheets import xlsx
from ..world import PASSWORD, bearer, build_world, sign_in, sign_out, staff_token

ME = "/api/v1/me"


def signed_in_as(app, username: str, password: str = PASSWORD):
    client = app.test_client()
    assert sign_in(client, username, password).status_code == 302
    return client


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def csrf_of(client) -> str:
    return client.get(ME).get_json()["csrf_token"]


def form_token(client, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


# --------------------------------------------------------------------------- ending a session

def test_a_session_cookie_copied_before_sign_out_does_not_work_after_it(app, world):
    browser = signed_in_as(app, "s1")
    thief = copy_of(app, browser)
    assert thief.get(ME).status_code == 200
    assert sign_out(browser).status_code == 302
    assert thief.get(ME).status_code == 401
    page = thief.get(f"/counter/?hall={world.one.id}")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_a_session_cookie_copied_before_an_api_sign_out_does_not_work_after_it(app, world):
    browser = signed_in_as(app, "s1")
    thief = copy_of(app, browser)
    resp = browser.delete("/api/v1/auth/tokens/current", headers={"X-CSRF-Token": csrf_of(browser)})
    assert resp.status_code == 200
    assert thief.get(ME).status_code == 401


def test_a_session_ended_on_the_server_connects_no_screen(app, world):
    browser = signed_in_as(app, "s1")
    thief = copy_of(app, browser)
    sign_out(browser)
    console = socketio.test_client(app, flask_test_client=thief)
    assert not console.is_connected()


def test_signing_in_again_ends_nothing_of_another_browser(app, world):
    first, second = signed_in_as(app, "s1"), signed_in_as(app, "s1")
    sign_out(second)
    assert first.get(ME).status_code == 200


def test_a_session_ends_after_its_lifetime(app, world, clock):
    browser = signed_in_as(app, "s1")
    clock.advance(hours=11, minutes=59)
    assert browser.get(ME).status_code == 200
    clock.advance(minutes=1)
    assert browser.get(ME).status_code == 401


def test_a_sessions_secret_is_no_bearer_token(app, world):
    browser = signed_in_as(app, "s1")
    with browser.session_transaction() as sess:
        secret = sess[SESSION_KEY]
    assert app.test_client().get(ME, headers=bearer(secret)).status_code == 401


# --------------------------------------------------------------------------- a new password

def test_a_password_reset_by_an_administrator_ends_the_accounts_tokens_and_sessions(app, rt, world):
    token = staff_token(rt, world.staff["s1"])
    browser = signed_in_as(app, "s1")
    other = staff_token(rt, world.staff["t1"])
    admin = bearer(staff_token(rt, world.staff["admin"]))
    resp = app.test_client().patch(f"/api/v1/staff/{world.staff['s1']}", json={"password": "brand-new-pass-1"},
                                   headers=admin)
    assert resp.status_code == 200
    client = app.test_client()
    assert client.get(ME, headers=bearer(token)).status_code == 401
    assert browser.get(ME).status_code == 401
    assert client.get(ME, headers=bearer(other)).status_code == 200  # another account's stays
    assert client.get(ME, headers=admin).status_code == 200
    assert signed_in_as(app, "s1", "brand-new-pass-1").get(ME).status_code == 200


def test_a_password_reset_on_the_administration_page_ends_the_accounts_sessions(app, world):
    browser = signed_in_as(app, "s1")
    manager = signed_in_as(app, "m1")
    url = f"/admin/staff/{world.staff['s1']}"
    resp = manager.post(url, data={"csrf_token": form_token(manager, url), "action": "password",
                                   "password": "brand-new-pass-1"})
    assert resp.status_code == 302
    assert browser.get(ME).status_code == 401
    assert manager.get(ME).status_code == 200


def test_an_administrator_changing_their_own_password_ends_their_old_tokens(app, rt, world):
    old = bearer(staff_token(rt, world.staff["admin"]))
    resp = app.test_client().patch(f"/api/v1/staff/{world.staff['admin']}", json={"password": "brand-new-pass-1"},
                                   headers=old)
    assert resp.status_code == 200
    assert app.test_client().get(ME, headers=old).status_code == 401


@pytest.fixture
def both_rt(database_url, clock):
    runtime = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    yield runtime
    runtime.engine.dispose()


def test_a_new_password_from_any_path_ends_tokens_and_sessions_on_both_databases(both_rt):
    rt = both_rt
    world = build_world(rt)
    s1, t1 = world.staff["s1"], world.staff["t1"]
    tokens = [auth.issue_api_token(rt, s1), auth.start_session(rt, s1)]
    kept = auth.issue_api_token(rt, t1)
    config.update_staff(rt, s1, {"password": "brand-new-pass-1"})
    assert [auth.principal_for_token(rt, tokens[0]), auth.principal_for_session(rt, tokens[1])] == [None, None]
    assert auth.principal_for_token(rt, kept).id == t1
    # a staff import that resets a password
    tokens = [auth.issue_api_token(rt, t1), auth.start_session(rt, t1)]
    content = xlsx(("Username", "Name", "Role", "Password"), ("t1", None, None, "reset-pw-123"))
    assert imports.apply(rt, world.one.id, "staff", "reset.xlsx", content)["updated"] == 1
    assert [auth.principal_for_token(rt, tokens[0]), auth.principal_for_session(rt, tokens[1])] == [None, None]
    # a name change ends nothing
    token = auth.issue_api_token(rt, t1)
    config.update_staff(rt, t1, {"name": "改名"})
    assert auth.principal_for_token(rt, token).id == t1


def test_a_deactivated_account_reactivated_does_not_get_its_old_tokens_back(app, rt, world):
    token = staff_token(rt, world.staff["s1"])
    browser = signed_in_as(app, "s1")
    config.update_staff(rt, world.staff["s1"], {"active": False})
    config.update_staff(rt, world.staff["s1"], {"active": True})
    assert app.test_client().get(ME, headers=bearer(token)).status_code == 401
    assert browser.get(ME).status_code == 401
    assert signed_in_as(app, "s1").get(ME).status_code == 200


# --------------------------------------------------------------------------- no usernames by timing

def test_an_unknown_or_inactive_username_costs_one_password_check_like_a_known_one(rt, world, monkeypatch):
    """The slow part of a sign-in is the password hash: it runs whether or not the username exists,
    with the configured method, so the answer takes as long either way."""
    checked = []
    real = auth.check_password_hash

    def counting(stored: str, password: str) -> bool:
        checked.append(stored.split("$")[0])
        return real(stored, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    config.update_staff(rt, world.staff["t1"], {"active": False})
    for username in ("s1", "nobody", "t1"):
        with pytest.raises(auth.Unauthorized):
            auth.verify_login(rt, username, "wrong-password")
    assert checked == [FAST_HASH] * 3


# --------------------------------------------------------------------------- where the form goes next

@pytest.mark.parametrize("target", ["/\t/evil.invalid/", "//evil.invalid/", "/\\evil.invalid/", "\\\\evil.invalid",
                                    "https://evil.invalid/", "/\n/evil.invalid", "/ /evil.invalid", "javascript:alert(1)",
                                    "/\x00/evil.invalid", "evil.invalid"])
def test_the_sign_in_form_sends_a_browser_to_no_other_site(app, world, target):
    client = app.test_client()
    resp = client.post("/login", query_string={"next": target},
                       data={"username": "s1", "password": PASSWORD, "csrf_token": form_token(client, "/login")})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_the_sign_in_form_goes_on_to_the_page_that_asked_for_it(app, world):
    client = app.test_client()
    page = client.get(f"/counter/?hall={world.one.id}")
    assert page.status_code == 302
    login = page.headers["Location"]
    resp = client.post(login, data={"username": "s1", "password": PASSWORD, "csrf_token": form_token(client, login)})
    assert resp.headers["Location"] == f"/counter/?hall={world.one.id}"

