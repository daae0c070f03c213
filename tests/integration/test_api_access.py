"""Who may call what over HTTP: the role x endpoint matrix of app/web/access.py, and token life.

The matrix walks every operation registered in ``app.web.api.api.operations``; an
endpoint without a row in ``EXPECTED`` fails, so a new route cannot ship without
an access decision written down here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app import event_handlers
from app.services import config, hall_media, peaks, queue, report_files, roster, surveys
from app.storage.orm import Staff, Ticket
from app.web.api import PREFIX, api

from ..world import PASSWORD, World, bearer, staff_token
from ..world import sign_in

# --------------------------------------------------------------------------- principals

ANONYMOUS = "anonymous"
PRINCIPALS = (ANONYMOUS, "admin", "hq", "m1", "m2", "s1", "s2", "kiosk", "display", "sensor")
STAFF = ("admin", "hq", "m1", "m2", "s1", "s2")

EVERYONE = frozenset(PRINCIPALS)
SIGNED_IN = EVERYONE - {ANONYMOUS}
ADMIN = frozenset({"admin"})
READ_ALL_CONFIG = frozenset({"admin", "hq"})                              # read config, no hall
READ_HALL_CONFIG = frozenset({"admin", "hq", "m1"})                       # read config of hall 1
FOLLOW_UP_HALL = frozenset({"admin", "hq", "m1"})                         # act on a hall 1 follow-up case
OUTBOX = frozenset({"admin", "m1", "m2"})                                 # the SMS outbox (managers: own hall's)
VIEW_HALL = frozenset({"admin", "hq", "m1", "s1", "kiosk", "display"})    # view hall 1 queue
ISSUE = frozenset({"admin", "m1", "s1", "kiosk"})                         # issue in hall 1
OPERATE = frozenset({"admin", "m1", "s1"})                                # operate a hall 1 counter
MANAGERS_AND_UP = frozenset({"admin", "hq", "m1", "m2"})                  # staff list (managers: own hall)
MANAGE_HALL = frozenset({"admin", "m1"})                                  # act as hall 1's manager


@dataclass(frozen=True)
class Target:
    """The hall 1 resources every matrix request is aimed at."""

    hall_id: int
    region_id: int
    city_id: int
    service_a: int
    service_b: int
    counter_id: int
    colleague_id: int  # t1, a counter staff member of hall 1 (the PATCH /staff target)
    ticket_token: str
    kiosk_id: int  # hall 1's kiosk device (the PUT /devices/{id}/printer and /kiosk target)
    sensor_id: int  # hall 1's door sensor
    sensor_device_id: int  # the device that reports for it
    minute: str  # the current minute, for a door count report
    warning_id: int  # a standing peak warning of hall 1
    follow_up_id: int = 0  # an open follow-up case of hall 1 (made only for the survey rows, see SURVEYED)
    outbox_id: int = 0  # the outbox message of its survey
    survey_id: int = 0  # that survey
    report_file_id: int = 0  # hall 1's stored daily report file (made only for REPORTED rows)
    member_id: int = 0  # an entry of hall 1's VIP roster
    media_id: int = 0  # an image of hall 1's displays


@dataclass(frozen=True)
class Row:
    allowed: frozenset[str]
    body: Callable[[Target], dict] | None = None


EXPECTED: dict[str, Row] = {
    # auth
    "create_token": Row(EVERYONE, lambda t: {"username": "s1", "password": PASSWORD}),
    "revoke_token": Row(SIGNED_IN),
    "me": Row(SIGNED_IN),
    # organisation
    "list_regions": Row(READ_ALL_CONFIG),
    "create_region": Row(ADMIN, lambda t: {"code": "R9", "name_zh": "新区"}),
    "list_cities": Row(READ_ALL_CONFIG),
    "create_city": Row(ADMIN, lambda t: {"region_id": t.region_id, "code": "C9", "name_zh": "新城"}),
    "list_halls": Row(SIGNED_IN),  # filtered to the caller's own hall below head office
    "create_hall": Row(ADMIN, lambda t: {"city_id": t.city_id, "code": "H9", "name_zh": "新厅"}),
    "get_hall": Row(READ_HALL_CONFIG),
    "update_hall": Row(ADMIN, lambda t: {"name_en": "Hall One"}),
    # services and counters
    "list_services": Row(VIEW_HALL),
    "create_service": Row(ADMIN, lambda t: {"code": "svcx", "prefix": "X", "name_zh": "业务X"}),
    "update_service": Row(ADMIN, lambda t: {"name_en": "Service A, renamed"}),
    "list_counters": Row(VIEW_HALL),
    "create_counter": Row(ADMIN, lambda t: {"number": 9, "name": "9号窗口", "service_ids": [t.service_a]}),
    "update_counter": Row(ADMIN, lambda t: {"name": "一号窗口"}),
    # staff and devices
    "list_staff": Row(MANAGERS_AND_UP),
    "create_staff": Row(MANAGE_HALL, lambda t: {"username": "newbie", "name": "新人", "password": PASSWORD,
                                          "role": "counter_staff", "hall_id": t.hall_id}),
    "update_staff": Row(MANAGE_HALL, lambda t: {"name": "改名"}),  # a manager: their hall's counter staff
    "list_vip_members": Row(MANAGE_HALL),
    "add_vip_member": Row(MANAGE_HALL, lambda t: {"mobile": "13900009999", "star_level": 5}),
    "update_vip_member": Row(MANAGE_HALL, lambda t: {"star_level": 6}),
    "list_devices": Row(READ_HALL_CONFIG),  # the "read config" rule of access.py
    "register_device": Row(ADMIN, lambda t: {"kind": "display", "name": "screen 9"}),
    # the displays' media area (an upload's body is the file: empty here, a 422 for those let in)
    "list_hall_media": Row(READ_HALL_CONFIG),
    "upload_hall_media": Row(MANAGE_HALL),
    "update_hall_media": Row(MANAGE_HALL, lambda t: {"seconds": 12}),
    "delete_hall_media": Row(MANAGE_HALL),
    # kiosk and customer
    "issue_ticket": Row(ISSUE, lambda t: {"service_id": t.service_a}),
    "ticket_status": Row(EVERYONE),
    "cancel_ticket": Row(EVERYONE),
    "hall_queue": Row(VIEW_HALL),
    "print_ticket": Row(frozenset({"kiosk"})),
    "check_guide_pin": Row(frozenset({"kiosk"}), lambda t: {"pin": "2468"}),
    "check_in": Row(ISSUE, lambda t: {"scan": t.ticket_token}),
    # remote tickets: public, the one-time code is what proves a number
    "public_hall": Row(EVERYONE),
    "request_code": Row(EVERYONE, lambda t: {"mobile": "13800138000"}),
    "appointment_slots": Row(EVERYONE),
    "book_appointment": Row(EVERYONE, lambda t: {"service_id": t.service_a, "slot_start": "2026-11-24T02:00:00+00:00",
                                                 "mobile": "13800138000", "code": "123456"}),
    "appointment_status": Row(EVERYONE),  # a token that is no appointment's: 404 for everyone alike
    "cancel_appointment": Row(EVERYONE),
    "reschedule_appointment": Row(EVERYONE, lambda t: {"slot_start": "2026-11-24T02:00:00+00:00"}),
    "hall_appointments": Row(VIEW_HALL),  # counts per slot, no numbers
    "take_remote_ticket": Row(EVERYONE, lambda t: {"service_id": t.service_a, "mobile": "13800138000",
                                                   "code": "123456"}),
    "set_guide_pin": Row(frozenset({"admin", "m1"}), lambda t: {"pin": "2468"}),
    "set_device_printer": Row(ADMIN, lambda t: {"kind": "none"}),
    "set_kiosk_settings": Row(ADMIN, lambda t: {"elder_mode": True, "idle_s": 60}),
    "own_kiosk_settings": Row(frozenset({"kiosk"})),  # a kiosk reads its own, no one else's
    # counter actions
    "counter_state": Row(VIEW_HALL),
    "open_counter": Row(OPERATE, lambda t: {}),
    "close_counter": Row(OPERATE),
    "call_next": Row(OPERATE),
    "call_ticket": Row(OPERATE, lambda t: {"label": "A001"}),
    "take_over_counter": Row(OPERATE),
    "pause_counter": Row(OPERATE, lambda t: {"reason": "break"}),
    "resume_counter": Row(OPERATE),
    "recall": Row(OPERATE, lambda t: {}),
    "start_service": Row(OPERATE, lambda t: {}),
    "finish_service": Row(OPERATE, lambda t: {}),
    "no_show": Row(OPERATE, lambda t: {}),
    "transfer": Row(OPERATE, lambda t: {"to_service_id": t.service_b}),
    # footfall
    "list_sensors": Row(READ_HALL_CONFIG),
    "register_sensor": Row(ADMIN, lambda t: {"code": "door9", "name_zh": "侧门", "kind": "infrared",
                                             "device_id": t.sensor_device_id}),
    "update_sensor": Row(ADMIN, lambda t: {"door": "正门 Main door"}),
    "report_counts": Row(frozenset({"sensor"}), lambda t: {"counts": [{"sensor": "door", "minute": t.minute,
                                                                         "in": 1, "out": 0}]}),
    "hall_footfall": Row(READ_HALL_CONFIG),
    "hall_footfall_hourly": Row(READ_HALL_CONFIG),
    # forecast and warnings
    "hall_forecast": Row(READ_HALL_CONFIG),
    "make_forecast": Row(MANAGE_HALL),
    "hall_warnings": Row(READ_HALL_CONFIG),
    "acknowledge_warning": Row(MANAGE_HALL),
    "halls_overview": Row(READ_ALL_CONFIG),
    # satisfaction surveys
    "hall_surveys": Row(READ_HALL_CONFIG),
    "get_survey": Row(READ_HALL_CONFIG),
    "hall_survey_replies": Row(READ_HALL_CONFIG),
    "unplaced_survey_replies": Row(READ_ALL_CONFIG),  # replies that reached no hall: head office
    "list_follow_ups": Row(MANAGERS_AND_UP),  # managers: their own hall's
    "respond_follow_up": Row(FOLLOW_UP_HALL),
    "close_follow_up": Row(FOLLOW_UP_HALL, lambda t: {"resolution": "回访客户，已致歉"}),
    "sms_outbox": Row(OUTBOX),
    "sms_outbox_reply": Row(MANAGE_HALL, lambda t: {"to": t.outbox_id, "text": "2"}),
    # satisfaction reports
    "satisfaction_overview": Row(READ_ALL_CONFIG),  # every hall: head office only
    "satisfaction_wait_bands": Row(READ_ALL_CONFIG),
    "hall_satisfaction": Row(READ_HALL_CONFIG),  # a manager: their hall; counter staff: nothing
    "list_report_files": Row(MANAGERS_AND_UP),  # managers: their own hall's files
    "download_report_file": Row(READ_HALL_CONFIG),  # a hall 1 file: not hall 2's manager
    # device pairing and revocation
    "deactivate_device": Row(ADMIN),
    "request_pairing_code": Row(EVERYONE, lambda t: {"kind": "display"}),
    "collect_pairing": Row(EVERYONE, lambda t: {"claim": "not-the-claim-of-any-code"}),
    "pair_device": Row(ADMIN, lambda t: {"code": "000000", "name": "大屏"}),
    # the audit trail
    "audit_trail": Row(MANAGERS_AND_UP),  # managers: their own hall's entries
    # service-level reports
    "service_levels_overview": Row(READ_ALL_CONFIG),
    "hall_service_levels": Row(READ_HALL_CONFIG),
    "hall_service_levels_heatmap": Row(READ_HALL_CONFIG),
    "hall_service_level_tickets": Row(READ_HALL_CONFIG),
}
# rows whose target needs a survey sent and answered with a low rating (a follow-up case)
SURVEYED = {"respond_follow_up", "close_follow_up", "sms_outbox_reply", "download_report_file", "get_survey"}
# rows whose target needs the scheduled report files of today made (after the survey)
REPORTED = {"download_report_file"}

OPERATIONS = {op.endpoint: op for op in api.operations}
PICTURE = bytes.fromhex(  # a 2x2 black PNG
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a730000000f49444154081d636400034606"
    "3000000023000333f390a70000000049454e44ae426082")
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


# --------------------------------------------------------------------------- helpers

def _target(rt, world: World) -> Target:
    h = world.one
    ticket = queue.issue_ticket(rt, h.id, h.services["A"])
    peaks.check_live(rt, h.id)  # someone waits and no counter is open: a live warning stands
    return Target(
        hall_id=h.id,
        region_id=config.list_regions(rt)[0]["id"],
        city_id=config.list_cities(rt)[0]["id"],
        service_a=h.services["A"],
        service_b=h.services["B"],
        counter_id=h.counters[1],
        colleague_id=h.staff["t1"],
        ticket_token=ticket["public_token"],
        kiosk_id=next(d["id"] for d in config.list_devices(rt, h.id) if d["kind"] == "kiosk"),
        sensor_id=h.sensors["door"],
        sensor_device_id=h.devices["sensor"],
        minute=rt.now().replace(second=0, microsecond=0).isoformat(),
        warning_id=peaks.list_warnings(rt, h.id)[0]["id"],
        member_id=roster.add_member(rt, h.id, {"mobile": "13900001234", "star_level": 5})["id"],
        media_id=hall_media.add_media(rt, h.id, PICTURE, "海报")["id"],
    )


def _surveyed(rt, world: World, clock, t: Target) -> Target:
    """Hall 1's counter 3 serves a customer with a mobile; the survey goes out and is answered 4 (不满意)."""
    h = world.one
    ticket = queue.issue_ticket(rt, h.id, h.services["B"], mobile="13800138000")
    queue.open_counter(rt, h.counters[3], h.staff["t1"])
    queue.call_next(rt, h.counters[3], h.staff["t1"])
    queue.finish_service(rt, h.counters[3], h.staff["t1"])
    event_handlers.deliver(rt)  # its survey
    surveys.dispatch(rt)
    clock.advance(minutes=5)
    surveys.dispatch(rt)
    outbox = surveys.list_outbox(rt, None)["messages"][0]
    assert outbox["hall_id"] == h.id, ticket
    surveys.reply_from_outbox(rt, outbox["id"], "4")
    return replace(t, follow_up_id=surveys.list_follow_ups(rt, {h.id})[0]["id"], outbox_id=outbox["id"],
                   survey_id=outbox["survey_id"])


def _reported(rt, world: World, t: Target) -> Target:
    """The scheduled reports of today made: hall 1 (surveyed) has its own daily file."""
    report_files.make_reports(rt, rt.now().astimezone(ZoneInfo("Asia/Shanghai")).date())
    (mine,) = report_files.list_reports(rt, {world.one.id}, "hall_day")
    return replace(t, report_file_id=mine["id"])


def _url(rule: str, t: Target) -> str:
    values = {"hall_id": t.hall_id, "service_id": t.service_a, "counter_id": t.counter_id,
              "staff_id": t.colleague_id, "token": t.ticket_token, "device_id": t.kiosk_id,
              "sensor_id": t.sensor_id, "warning_id": t.warning_id, "follow_up_id": t.follow_up_id, "survey_id": t.survey_id,
              "report_file_id": t.report_file_id, "code": "000000", "member_id": t.member_id, "media_id": t.media_id,
              "hall_code": "H1"}

    def fill(m: re.Match) -> str:
        assert m.group(1) in values, f"the matrix does not know path parameter <{m.group(1)}> of {rule}"
        return str(values[m.group(1)])

    return PREFIX + _PARAM.sub(fill, rule)


def _headers(rt, world: World, who: str) -> dict:
    """A fresh credential per request, so revoking one (DELETE /auth/tokens/current) spoils nothing else."""
    if who == ANONYMOUS:
        return {}
    if who in STAFF:
        return bearer(staff_token(rt, world.staff[who]))
    return bearer(world.one.tokens[who])


def _call(client, method: str, url: str, headers: dict, body: dict | None):
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return client.open(url, method=method.upper(), **kwargs)


def _error(resp) -> dict:
    payload = resp.get_json(silent=True) or {}
    return payload.get("error") or {}


# --------------------------------------------------------------------------- the matrix

def test_the_access_table_has_exactly_one_row_per_registered_operation():
    registered = [op.endpoint for op in api.operations]
    assert len(registered) == len(set(registered)), "two operations share an endpoint name"
    missing = sorted(set(registered) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(registered))
    assert not missing, f"endpoints without an access row: {missing}"
    assert not stale, f"access rows for endpoints that no longer exist: {stale}"


def test_every_operation_that_takes_a_body_gets_a_valid_one_in_the_matrix():
    """Bodies are parsed before the access check, so a denial is only visible with a valid body."""
    lacking = [op.endpoint for op in api.operations
               if op.body is not None and op.endpoint in EXPECTED and EXPECTED[op.endpoint].body is None]
    assert not lacking, f"rows need a body: {lacking}"


@pytest.mark.parametrize("endpoint", [op.endpoint for op in api.operations])
def test_each_principal_is_let_in_or_turned_away_as_the_access_matrix_says(endpoint, client, rt, world, clock):
    assert endpoint in EXPECTED, f"{endpoint} has no row in the access matrix"
    op, row = OPERATIONS[endpoint], EXPECTED[endpoint]
    target = _target(rt, world)
    if endpoint in SURVEYED:
        target = _surveyed(rt, world, clock, target)
    if endpoint in REPORTED:
        target = _reported(rt, world, target)
    url = _url(op.rule, target)
    body = row.body(target) if row.body else None
    wrong = []
    # Turned-away callers first, so the hall 1 resources are untouched when they knock.
    for who in sorted(PRINCIPALS, key=lambda p: p in row.allowed):
        resp = _call(client, op.method, url, _headers(rt, world, who), body)
        if who in row.allowed:
            ok = resp.status_code not in (401, 403) and resp.status_code < 500
            expected = "allowed (not 401/403/5xx)"
        else:
            want = 401 if who == ANONYMOUS else 403
            ok = resp.status_code == want and _error(resp).get("status") == want
            expected = f"{want} with the error shape"
        if not ok:
            wrong.append(f"{who}: got {resp.status_code} {resp.get_data(as_text=True)[:160]!r}, expected {expected}")
    assert not wrong, f"{op.method.upper()} {op.rule}:\n" + "\n".join(wrong)


def test_a_principal_only_sees_the_halls_it_belongs_to_in_the_hall_list(client, rt, world):
    def hall_ids(who):
        resp = client.get(f"{PREFIX}/halls", headers=_headers(rt, world, who))
        assert resp.status_code == 200
        return {h["id"] for h in resp.get_json()["halls"]}

    both = {world.one.id, world.two.id}
    assert hall_ids("admin") == both and hall_ids("hq") == both
    for who in ("m1", "s1", "kiosk", "display"):
        assert hall_ids(who) == {world.one.id}, who
    assert hall_ids("m2") == {world.two.id}


def test_a_manager_lists_only_the_staff_of_their_own_hall(client, rt, world):
    resp = client.get(f"{PREFIX}/staff", headers=_headers(rt, world, "m2"))
    assert resp.status_code == 200
    assert {s["hall_id"] for s in resp.get_json()["staff"]} == {world.two.id}


def test_devices_of_one_hall_are_turned_away_from_another_hall(client, rt, world):
    kiosk1, display1 = bearer(world.one.tokens["kiosk"]), bearer(world.one.tokens["display"])
    two = world.two
    resp = client.post(f"{PREFIX}/halls/{two.id}/tickets", json={"service_id": two.services["A"]}, headers=kiosk1)
    assert resp.status_code == 403
    assert client.get(f"{PREFIX}/halls/{two.id}/queue", headers=display1).status_code == 403
    assert client.get(f"{PREFIX}/counters/{two.counters[1]}", headers=kiosk1).status_code == 403


def test_an_anonymous_caller_is_told_to_sign_in_before_learning_whether_a_counter_exists(client, world):
    """Any non-public endpoint answers 401 to an anonymous caller, whatever the resource id."""
    for path in (f"/counters/{world.one.counters[1]}/open", "/counters/999999/open", "/counters/999999/call-next"):
        resp = client.post(PREFIX + path, json={})
        assert resp.status_code == 401, f"{path}: {resp.status_code} {resp.get_json()}"
    resp = client.get(f"{PREFIX}/counters/999999")
    assert resp.status_code == 401, resp.get_json()


# --------------------------------------------------------------------------- token life

def test_a_revoked_token_is_refused_while_other_tokens_of_the_same_person_still_work(client, rt, world):
    token, other = staff_token(rt, world.staff["s1"]), staff_token(rt, world.staff["s1"])
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 200
    resp = client.delete(f"{PREFIX}/auth/tokens/current", headers=bearer(token))
    assert resp.status_code == 200 and resp.get_json() == {"revoked": True}
    resp = client.get(f"{PREFIX}/me", headers=bearer(token))
    assert resp.status_code == 401
    assert _error(resp)["field"] == "Authorization"
    assert client.get(f"{PREFIX}/me", headers=bearer(other)).status_code == 200


def test_a_token_from_the_sign_in_endpoint_works_until_it_is_revoked(client, world):
    resp = client.post(f"{PREFIX}/auth/tokens", json={"username": "m1", "password": PASSWORD})
    assert resp.status_code == 201
    token = resp.get_json()["token"]
    me = client.get(f"{PREFIX}/me", headers=bearer(token)).get_json()
    assert me["id"] == world.staff["m1"] and me["role"] == "hall_manager" and me["hall_id"] == world.one.id
    assert client.delete(f"{PREFIX}/auth/tokens/current", headers=bearer(token)).status_code == 200
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 401


def test_a_wrong_password_gets_no_token(client, world):
    resp = client.post(f"{PREFIX}/auth/tokens", json={"username": "m1", "password": "not-the-password"})
    assert resp.status_code == 401
    assert "token" not in resp.get_json() and _error(resp)["field"] == "password"


def test_an_unknown_bearer_token_is_refused(client, world):
    for token in ("st_made-up", "dv_made-up", "nonsense"):
        assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 401, token


def test_a_staff_token_expires_after_the_api_token_ttl_of_twelve_hours(client, rt, world, clock):
    token = staff_token(rt, world.staff["s1"])
    clock.advance(hours=11, minutes=59)
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 200
    clock.advance(minutes=1)
    resp = client.get(f"{PREFIX}/me", headers=bearer(token))
    assert resp.status_code == 401
    assert _error(resp)["status"] == 401
    resp = client.get(f"{PREFIX}/halls/{world.one.id}/queue", headers=bearer(token))
    assert resp.status_code == 401


def test_a_deactivated_staff_member_can_neither_use_their_token_nor_sign_in_again(client, rt, world):
    token = staff_token(rt, world.staff["s1"])
    admin = bearer(staff_token(rt, world.staff["admin"]))
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 200
    resp = client.patch(f"{PREFIX}/staff/{world.staff['s1']}", json={"active": False}, headers=admin)
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 401
    counter = world.one.counters[1]
    assert client.post(f"{PREFIX}/counters/{counter}/open", json={}, headers=bearer(token)).status_code == 401
    assert client.post(f"{PREFIX}/auth/tokens", json={"username": "s1", "password": PASSWORD}).status_code == 401


# --------------------------------------------------------------------------- browser session

def _sign_in(client, username: str) -> str:
    """Sign in through the form; the session's CSRF token as a page's script learns it (``GET /me``)."""
    resp = sign_in(client, username)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:200]
    return client.get(f"{PREFIX}/me").get_json()["csrf_token"]


def _ticket_count(rt) -> int:
    with rt.reader() as tx:
        return tx.session.execute(select(func.count()).select_from(Ticket)).scalar_one()


def test_a_signed_in_browser_session_reads_the_api_without_a_csrf_header(client, world):
    _sign_in(client, "s1")
    me = client.get(f"{PREFIX}/me")
    assert me.status_code == 200 and me.get_json()["id"] == world.staff["s1"]
    assert client.get(f"{PREFIX}/halls/{world.one.id}/queue").status_code == 200
    assert client.get(f"{PREFIX}/halls/{world.two.id}/queue").status_code == 403


def test_a_session_write_without_the_csrf_header_is_refused_and_stores_nothing(client, rt, world):
    _sign_in(client, "s1")
    url, body = f"{PREFIX}/halls/{world.one.id}/tickets", {"service_id": world.one.services["A"]}
    for headers in ({}, {"X-CSRF-Token": "guessed"}):
        resp = client.post(url, json=body, headers=headers)
        assert resp.status_code == 403, headers
        assert _error(resp)["field"] == "X-CSRF-Token"
    assert _ticket_count(rt) == 0


def test_a_session_write_with_the_csrf_header_succeeds(client, rt, world):
    csrf = _sign_in(client, "s1")
    resp = client.post(f"{PREFIX}/halls/{world.one.id}/tickets", json={"service_id": world.one.services["A"]},
                       headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["label"] == "A001"
    assert _ticket_count(rt) == 1


def test_the_forms_csrf_token_is_the_one_the_api_takes_in_its_header(app, client, rt, world):
    """One CSRF scheme (Flask-WTF's): what a page's form carries is what X-CSRF-Token carries; another
    browser's token is not this one's, and a bearer-token call needs none even with a session cookie."""
    _sign_in(client, "s1")
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    url, body = f"{PREFIX}/halls/{world.one.id}/tickets", {"service_id": world.one.services["A"]}
    assert client.post(url, json=body, headers={"X-CSRF-Token": form_token}).status_code == 201
    other = app.test_client()
    others_token = _sign_in(other, "m1")
    resp = client.post(url, json=body, headers={"X-CSRF-Token": others_token})
    assert resp.status_code == 403 and _error(resp)["field"] == "X-CSRF-Token"
    assert client.post(url, json=body, headers=bearer(staff_token(rt, world.staff["s1"]))).status_code == 201
    assert _ticket_count(rt) == 2


def test_signing_in_again_replaces_the_csrf_token(client, world):
    first = _sign_in(client, "s1")
    second = _sign_in(client, "s1")
    assert first != second
    resp = client.post(f"{PREFIX}/halls/{world.one.id}/tickets", json={"service_id": world.one.services["A"]},
                       headers={"X-CSRF-Token": first})
    assert resp.status_code == 403


def test_a_session_of_a_deactivated_staff_member_stops_working(client, rt, world):
    _sign_in(client, "s1")
    assert client.get(f"{PREFIX}/me").status_code == 200
    config.update_staff(rt, world.staff["s1"], {"active": False})
    assert client.get(f"{PREFIX}/me").status_code == 401


def test_signing_out_through_the_api_ends_the_browser_session(client, world):
    csrf = _sign_in(client, "s1")
    assert client.delete(f"{PREFIX}/auth/tokens/current", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get(f"{PREFIX}/me").status_code == 401


# --------------------------------------------------------------------------- privilege escalation

def test_a_manager_cannot_raise_their_own_role(client, rt, world):
    m1 = world.staff["m1"]
    headers = bearer(staff_token(rt, m1))
    for change in ({"role": "admin"}, {"role": "head_office", "hall_id": None}, {"hall_id": world.two.id},
                   {"name": "harmless"}):
        resp = client.patch(f"{PREFIX}/staff/{m1}", json=change, headers=headers)
        assert resp.status_code == 403, change
    with rt.reader() as tx:
        me = tx.session.get(Staff, m1)
        assert (me.role, me.hall_id, me.name) == ("hall_manager", world.one.id, "厅经理1")
    assert client.get(f"{PREFIX}/me", headers=headers).get_json()["role"] == "hall_manager"


def test_nobody_deactivates_their_own_account_or_changes_their_own_role_through_the_api(client, rt, world):
    """As the administration pages refuse it: the same rule (domain.policy) decides for both."""
    admin = world.staff["admin"]
    headers = bearer(staff_token(rt, admin))
    for change in ({"active": False}, {"role": "head_office"}):
        resp = client.patch(f"{PREFIX}/staff/{admin}", json=change, headers=headers)
        assert resp.status_code == 403, (change, resp.get_json())
    with rt.reader() as tx:
        me = tx.session.get(Staff, admin)
        assert (me.role, me.active) == ("admin", True)
    assert client.patch(f"{PREFIX}/staff/{admin}", json={"name": "管理员甲"}, headers=headers).status_code == 200
    colleague = world.staff["hq"]  # another's account: an administrator may
    assert client.patch(f"{PREFIX}/staff/{colleague}", json={"active": False}, headers=headers).status_code == 200


def test_a_manager_cannot_raise_their_own_role_through_a_browser_session_either(client, rt, world):
    csrf = _sign_in(client, "m1")
    resp = client.patch(f"{PREFIX}/staff/{world.staff['m1']}", json={"role": "admin"}, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 403
    with rt.reader() as tx:
        assert tx.session.get(Staff, world.staff["m1"]).role == "hall_manager"


def test_counter_staff_cannot_create_accounts_for_themselves(client, rt, world):
    headers = bearer(staff_token(rt, world.staff["s1"]))
    resp = client.post(f"{PREFIX}/staff", json={"username": "sneaky", "name": "x", "password": PASSWORD,
                                                 "role": "admin"}, headers=headers)
    assert resp.status_code == 403
    with rt.reader() as tx:
        assert tx.session.execute(select(Staff).where(Staff.username == "sneaky")).first() is None


def test_the_sign_in_and_sign_out_forms_refuse_a_post_without_their_csrf_token(client, world):
    """A page on another site cannot sign a browser in as someone else, nor out (login CSRF)."""
    forged = client.post("/login", data={"username": "s1", "password": PASSWORD})
    assert forged.status_code == 400
    assert client.get(f"{PREFIX}/me").status_code == 401
    sign_in(client, "s1")
    assert client.post("/logout").status_code == 400  # no token: still signed in
    assert client.get(f"{PREFIX}/me").get_json()["id"] == world.staff["s1"]
