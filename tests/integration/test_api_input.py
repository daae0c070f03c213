"""Bad input over HTTP: every refusal has the one error shape, names the field at fault, and stores nothing.

Ends with the whole happy path over HTTP, from an empty organisation to a finished ticket.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.storage.orm import (
    ApiToken, City, Counter, Device, Hall, Region, ServiceType, Staff, Ticket, TicketEvent, TicketSequence,
)
from app.web.api import PREFIX

from ..world import ALL_DAY, PASSWORD, bearer, staff_token
from ..world import sign_in

TABLES = (Region, City, Hall, ServiceType, Counter, Staff, Device, Ticket, TicketEvent, TicketSequence)


# --------------------------------------------------------------------------- helpers

@pytest.fixture
def admin(rt, world) -> dict:
    return bearer(staff_token(rt, world.staff["admin"]))


@pytest.fixture
def s1(rt, world) -> dict:
    return bearer(staff_token(rt, world.staff["s1"]))


@pytest.fixture
def kiosk(world) -> dict:
    return bearer(world.one.tokens["kiosk"])


@pytest.fixture
def published(rt) -> list:
    """Domain events handed to subscribers after commit; a refused request publishes none."""
    seen: list = []
    rt.bus.subscribe(seen.append)
    return seen


def counts(rt) -> dict[str, int]:
    with rt.reader() as tx:
        return {m.__tablename__: tx.session.execute(select(func.count()).select_from(m)).scalar_one() for m in TABLES}


def error_of(resp, status: int, field: str | None = None, *, field_prefix: str | None = None) -> dict:
    """Assert the one error shape, the status, and (optionally) the field; return the error object."""
    assert resp.status_code == status, f"{resp.status_code}: {resp.get_data(as_text=True)[:300]}"
    assert resp.is_json, resp.content_type
    err = resp.get_json()["error"]
    assert {"status", "code", "message", "field"} <= set(err), err
    assert err["status"] == status
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    if field is not None:
        assert err["field"] == field, err
    if field_prefix is not None:
        assert isinstance(err["field"], str) and err["field"].startswith(field_prefix), err
    return err


def refused(client, rt, method: str, path: str, headers: dict, status: int, field: str | None = None, *,
            field_prefix: str | None = None, **kwargs) -> dict:
    """Send a request that must be refused; assert no table changed."""
    before = counts(rt)
    resp = client.open(PREFIX + path, method=method, headers=headers, **kwargs)
    err = error_of(resp, status, field, field_prefix=field_prefix)
    assert counts(rt) == before, f"{method} {path} stored something although it was refused"
    return err


def issue(client, hall, headers, prefix="A", **extra) -> dict:
    resp = client.post(f"{PREFIX}/halls/{hall.id}/tickets", json={"service_id": hall.services[prefix], **extra},
                       headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def row(rt, model, ident) -> SimpleNamespace:
    """The stored columns of one row, read in a fresh transaction."""
    with rt.reader() as tx:
        obj = tx.session.get(model, ident)
        return SimpleNamespace(**{c.key: getattr(obj, c.key) for c in model.__table__.columns})


# --------------------------------------------------------------------------- malformed bodies: 400

@pytest.mark.parametrize("raw", ['{"code": "R9", "name_zh": ', "not json at all", "{'code': 'R9'}", ""])
def test_a_malformed_json_body_is_a_400_with_the_error_shape(client, rt, admin, published, raw):
    err = refused(client, rt, "POST", "/regions", admin, 400, data=raw, content_type="application/json")
    assert err["code"] == "bad_request" and err["field"] is None
    assert published == []


@pytest.mark.parametrize("body", [[], ["code", "R9"], "R9", 42, True, None])
def test_a_json_body_that_is_not_an_object_is_a_400(client, rt, admin, body):
    import json
    refused(client, rt, "POST", "/regions", admin, 400, data=json.dumps(body), content_type="application/json")


def test_a_json_body_sent_without_the_json_content_type_is_a_400(client, rt, admin):
    refused(client, rt, "POST", "/regions", admin, 400, data='{"code": "R9", "name_zh": "新区"}',
            content_type="text/plain")


def test_a_kiosk_sending_garbage_does_not_use_up_a_ticket_number(client, rt, world, kiosk):
    refused(client, rt, "POST", f"/halls/{world.one.id}/tickets", kiosk, 400, data="{", content_type="application/json")
    assert issue(client, world.one, kiosk)["label"] == "A001"


# --------------------------------------------------------------------------- unknown fields, wrong types: 422

def test_an_unknown_field_is_a_422_naming_it(client, rt, admin):
    err = refused(client, rt, "POST", "/regions", admin, 422, "colour",
                  json={"code": "R9", "name_zh": "新区", "colour": "blue"})
    assert err["code"] == "invalid" and "colour" in err["message"]


def test_an_unknown_field_in_a_patch_is_a_422_naming_it(client, rt, world, admin):
    refused(client, rt, "PATCH", f"/halls/{world.one.id}", admin, 422, "city_id", json={"city_id": 1})


def test_an_unknown_field_inside_the_calling_policy_names_its_full_path(client, rt, world, admin):
    refused(client, rt, "PATCH", f"/halls/{world.one.id}", admin, 422, "calling_policy.favourites_first",
            json={"calling_policy": {"favourites_first": True}})


def test_an_unknown_field_on_a_ticket_is_refused_without_using_up_a_number(client, rt, world, kiosk):
    refused(client, rt, "POST", f"/halls/{world.one.id}/tickets", kiosk, 422, "vip",
            json={"service_id": world.one.services["A"], "vip": True})
    assert issue(client, world.one, kiosk)["label"] == "A001"


def test_a_missing_required_field_is_a_422_naming_it(client, rt, admin):
    refused(client, rt, "POST", "/regions", admin, 422, "code", json={"name_zh": "新区"})


@pytest.mark.parametrize("path, body, field", [
    ("/halls/{hall}/counters", {"number": "seven"}, "number"),
    ("/halls/{hall}/counters", {"number": 7, "service_ids": "1,2"}, "service_ids"),
    ("/halls/{hall}/counters", {"number": 7, "service_ids": ["one"]}, "service_ids[0]"),
    ("/halls/{hall}/services", {"code": "svcx", "prefix": "X", "name_zh": "x", "target_wait_s": "soon"},
     "target_wait_s"),
    ("/halls/{hall}/services", {"code": "svcx", "prefix": "X", "name_zh": "x", "target_wait_s": 1.5},
     "target_wait_s"),
    ("/halls/{hall}/services", {"code": "svcx", "prefix": 7, "name_zh": "x"}, "prefix"),
    ("/halls/{hall}/devices", {"kind": "toaster", "name": "x"}, "kind"),
    ("/staff", {"username": "newbie", "name": "x", "password": PASSWORD, "role": "boss"}, "role"),
    ("/halls", {"city_id": "Zhengzhou", "code": "H9", "name_zh": "x"}, "city_id"),
])
def test_a_value_of_the_wrong_type_is_a_422_naming_the_field(client, rt, world, admin, path, body, field):
    refused(client, rt, "POST", path.format(hall=world.one.id), admin, 422, field, json=body)


@pytest.mark.parametrize("body, field", [
    ({"service_id": "abc"}, "service_id"),
    ({"service_id": [1]}, "service_id"),
    ({"service_id": 1, "tier": "gold"}, "tier"),
    ({"service_id": 1, "mobile": 13800138000}, "mobile"),
])
def test_a_ticket_request_of_the_wrong_type_uses_up_no_number(client, rt, world, kiosk, body, field):
    refused(client, rt, "POST", f"/halls/{world.one.id}/tickets", kiosk, 422, field, json=body)
    assert issue(client, world.one, kiosk)["label"] == "A001"


# --------------------------------------------------------------------------- out-of-range values: 422

SERVICE = {"code": "svcx", "prefix": "X", "name_zh": "业务X"}


@pytest.mark.parametrize("change, field", [
    ({"target_wait_s": -1}, "target_wait_s"),
    ({"target_wait_s": 24 * 3600 + 1}, "target_wait_s"),
    ({"handle_time_s": 5}, "handle_time_s"),
    ({"prefix": "a1"}, "prefix"),
    ({"prefix": "a"}, "prefix"),
    ({"prefix": "ABC"}, "prefix"),
    ({"prefix": ""}, "prefix"),
    ({"code": "has space"}, "code"),
    ({"name_zh": ""}, "name_zh"),
])
def test_an_out_of_range_service_setting_is_a_422_naming_the_field(client, rt, world, admin, change, field):
    refused(client, rt, "POST", f"/halls/{world.one.id}/services", admin, 422, field, json={**SERVICE, **change})


def test_an_out_of_range_service_patch_leaves_the_service_as_it_was(client, rt, world, admin):
    service_id = world.one.services["A"]
    refused(client, rt, "PATCH", f"/services/{service_id}", admin, 422, "target_wait_s",
            json={"name_en": "changed", "target_wait_s": -60})
    svc = row(rt, ServiceType, service_id)
    assert (svc.name_en, svc.target_wait_s) == ("Service A", 600)


@pytest.mark.parametrize("change, field", [
    ({"number": 0}, "number"),
    ({"number": 1000}, "number"),
])
def test_an_out_of_range_counter_number_is_a_422(client, rt, world, admin, change, field):
    refused(client, rt, "POST", f"/halls/{world.one.id}/counters", admin, 422, field, json=change)


def hall_body(world_city_id: int, **change) -> dict:
    return {"city_id": world_city_id, "code": "H9", "name_zh": "新厅", "timezone": "Asia/Shanghai",
            "opening_hours": ALL_DAY, **change}


def city_id(rt) -> int:
    with rt.reader() as tx:
        return tx.session.execute(select(City.id)).scalar_one()


@pytest.mark.parametrize("zone", ["Mars/Base", "", "../../etc/passwd", "Asia/Shanghai "])
def test_an_unknown_time_zone_is_a_422_naming_timezone_and_creates_no_hall(client, rt, world, admin, zone):
    refused(client, rt, "POST", "/halls", admin, 422, "timezone", json=hall_body(city_id(rt), timezone=zone))


def test_patching_a_hall_to_an_unknown_time_zone_leaves_it_unchanged(client, rt, world, admin):
    refused(client, rt, "PATCH", f"/halls/{world.one.id}", admin, 422, "timezone",
            json={"name_en": "renamed", "timezone": "Mars/Base"})
    hall = row(rt, Hall, world.one.id)
    assert (hall.timezone, hall.name_en) == ("Asia/Shanghai", "Hall 1")


@pytest.mark.parametrize("hours", [
    {"mon": [["25:00", "26:00"]]},
    {"mon": [["08:30", "25:00"]]},
    {"mon": [["8:30", "18:00"]]},
    {"mon": [["18:00", "08:30"]]},
    {"mon": [["08:30"]]},
    {"mon": [["08:30", "18:00", "20:00"]]},
    {"funday": [["08:30", "18:00"]]},
    {"mon": "08:30-18:00"},
    {"mon": [[830, 1800]]},
])
def test_bad_opening_hours_are_a_422_naming_the_opening_hours_field(client, rt, world, admin, hours):
    refused(client, rt, "POST", "/halls", admin, 422, field_prefix="opening_hours",
            json=hall_body(city_id(rt), opening_hours=hours))


def test_a_bad_span_names_its_weekday_and_position(client, rt, world, admin):
    hours = {"mon": [["08:30", "12:00"], ["13:00", "25:00"]]}
    refused(client, rt, "POST", "/halls", admin, 422, "opening_hours.mon[1]",
            json=hall_body(city_id(rt), opening_hours=hours))


def test_patching_a_hall_to_bad_opening_hours_leaves_it_unchanged(client, rt, world, admin):
    refused(client, rt, "PATCH", f"/halls/{world.one.id}", admin, 422, field_prefix="opening_hours",
            json={"opening_hours": {"mon": [["25:00", "26:00"]]}})
    assert row(rt, Hall, world.one.id).opening_hours == ALL_DAY


@pytest.mark.parametrize("policy, field", [
    ({"recalls_before_no_show": 4, "max_recalls": 3}, "calling_policy.recalls_before_no_show"),
    ({"max_recalls": 11}, "calling_policy.max_recalls"),
    ({"head_start_s": {"vip": -1}}, "calling_policy.head_start_s.vip"),
    ({"head_start_s": {"platinum": 60}}, "calling_policy.head_start_s.platinum"),
])
def test_a_bad_calling_policy_is_a_422_naming_the_setting(client, rt, world, admin, policy, field):
    refused(client, rt, "PATCH", f"/halls/{world.one.id}", admin, 422, field_prefix=field,
            json={"calling_policy": policy})
    assert row(rt, Hall, world.one.id).calling_policy == {}


def _refuse_mobile(client, rt, world, kiosk, published, mobile):
    refused(client, rt, "POST", f"/halls/{world.one.id}/tickets", kiosk, 422, "mobile",
            json={"service_id": world.one.services["A"], "mobile": mobile})
    assert published == []
    ticket = issue(client, world.one, kiosk, mobile="+86 138-0013-8000")
    assert ticket["label"] == "A001"


def test_patching_one_calling_policy_setting_keeps_the_others(client, rt, world, admin):
    """PATCH leaves what it does not mention unchanged, inside calling_policy too."""
    url = f"{PREFIX}/halls/{world.one.id}"
    resp = client.patch(url, json={"calling_policy": {"head_start_s": {"vip": 600}, "recalls_before_no_show": 2}},
                        headers=admin)
    assert resp.status_code == 200
    resp = client.patch(url, json={"calling_policy": {"max_recalls": 5}}, headers=admin)
    assert resp.status_code == 200
    policy = resp.get_json()["calling_policy"]
    assert policy["max_recalls"] == 5
    assert policy["head_start_s"]["vip"] == 600, policy
    assert policy["recalls_before_no_show"] == 2, policy
    assert row(rt, Hall, world.one.id).calling_policy["head_start_s"]["vip"] == 600


@pytest.mark.parametrize("mobile", ["12345", "23800138000", "138001380001", "+86 238 0013 8000", "x" * 21])
def test_a_bad_mobile_number_is_a_422_and_uses_up_no_ticket_number(client, rt, world, kiosk, published, mobile):
    _refuse_mobile(client, rt, world, kiosk, published, mobile)


def test_a_mobile_number_with_letters_in_it_is_refused_not_silently_cleaned(client, rt, world, kiosk, published):
    """'1380013800a0' is a typo, not 13800138000: the survey SMS would go to a stranger."""
    _refuse_mobile(client, rt, world, kiosk, published, "1380013800a0")


def test_a_mobile_number_with_a_foreign_country_code_is_refused(client, rt, world, kiosk, published):
    """+1 415 555 0100 is a US number; its 11 digits must not pass as the mainland number 14155550100."""
    _refuse_mobile(client, rt, world, kiosk, published, "+1 415 555 0100")


@pytest.mark.parametrize("mobile, stored", [("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"),
                                            ("86 13800138000", "13800138000"), ("", None)])
def test_a_mainland_mobile_number_in_its_usual_spellings_is_accepted(client, rt, world, kiosk, mobile, stored):
    ticket = issue(client, world.one, kiosk, mobile=mobile)
    assert row(rt, Ticket, ticket["id"]).mobile == stored


def test_a_staff_password_shorter_than_eight_characters_is_refused(client, rt, admin):
    refused(client, rt, "POST", "/staff", admin, 422, "password",
            json={"username": "newbie", "name": "新人", "password": "short", "role": "admin"})


def test_a_hall_scoped_role_without_a_hall_is_a_422_naming_hall_id(client, rt, admin):
    refused(client, rt, "POST", "/staff", admin, 422, "hall_id",
            json={"username": "newbie", "name": "新人", "password": PASSWORD, "role": "counter_staff"})


def test_transferring_a_ticket_to_the_counter_it_is_at_is_a_422(client, rt, world, kiosk, s1):
    h = world.one
    issue(client, h, kiosk)
    counter = open_and_call(client, h, s1)
    refused(client, rt, "POST", f"/counters/{counter}/transfer", s1, 422, "to_counter_id",
            json={"to_service_id": h.services["B"], "to_counter_id": counter})


# --------------------------------------------------------------------------- unknown ids: 404

@pytest.mark.parametrize("method, path, body, field", [
    ("POST", "/cities", {"region_id": 9999, "code": "C9", "name_zh": "x"}, "region_id"),
    ("POST", "/halls", {"city_id": 9999, "code": "H9", "name_zh": "x"}, "city_id"),
    ("GET", "/halls/9999", None, "hall_id"),
    ("PATCH", "/halls/9999", {"name_en": "x"}, "hall_id"),
    ("GET", "/halls/9999/services", None, "hall_id"),
    ("POST", "/halls/9999/services", SERVICE, "hall_id"),
    ("PATCH", "/services/9999", {"name_en": "x"}, "service_id"),
    ("GET", "/halls/9999/counters", None, "hall_id"),
    ("POST", "/halls/9999/counters", {"number": 9}, "hall_id"),
    ("POST", "/halls/{hall}/counters", {"number": 9, "service_ids": [9999]}, "service_ids"),
    ("POST", "/halls/{hall}/counters", {"number": 9, "service_ids": ["{other_service}"]}, "service_ids"),
    ("PATCH", "/counters/9999", {"name": "x"}, "counter_id"),
    ("PATCH", "/counters/{counter}", {"service_ids": [9999]}, "service_ids"),
    ("POST", "/staff", {"username": "newbie", "name": "x", "password": PASSWORD, "role": "counter_staff",
                        "hall_id": 9999}, "hall_id"),
    ("PATCH", "/staff/9999", {"name": "x"}, "staff_id"),
    ("PATCH", "/staff/{s1}", {"hall_id": 9999}, "hall_id"),
    ("GET", "/halls/9999/devices", None, "hall_id"),
    ("POST", "/halls/9999/devices", {"kind": "kiosk", "name": "x"}, "hall_id"),
    ("POST", "/halls/{hall}/devices", {"kind": "display", "name": "x", "counter_id": 9999}, "counter_id"),
    ("POST", "/halls/{hall}/devices", {"kind": "display", "name": "x", "counter_id": "{other_counter}"},
     "counter_id"),
    ("GET", "/halls/9999/queue", None, "hall_id"),
    ("POST", "/halls/9999/tickets", {"service_id": 1}, "hall_id"),
    ("POST", "/halls/{hall}/tickets", {"service_id": 9999}, "service_id"),
    ("POST", "/halls/{hall}/tickets", {"service_id": "{other_service}"}, "service_id"),
    ("GET", "/tickets/no-such-token", None, "token"),
    ("POST", "/tickets/no-such-token/cancel", None, "token"),
    ("GET", "/counters/9999", None, "counter_id"),
    ("POST", "/counters/9999/open", {}, "counter_id"),
    ("POST", "/counters/9999/close", None, "counter_id"),
    ("POST", "/counters/9999/call-next", None, "counter_id"),
    ("POST", "/counters/9999/finish", {}, "counter_id"),
    ("POST", "/counters/{counter}/open", {"service_ids": [9999]}, "service_ids"),
])
def test_an_unknown_id_is_a_404_naming_the_field(client, rt, world, admin, method, path, body, field):
    values = {"hall": world.one.id, "counter": world.one.counters[1], "s1": world.staff["s1"],
              "other_service": world.two.services["A"], "other_counter": world.two.counters[1]}
    path = path.format(**values)
    if body is not None:
        body = {k: ([int(str(x).format(**values)) for x in v] if isinstance(v, list)
                    else int(v.format(**values)) if isinstance(v, str) and v.startswith("{") else v)
                for k, v in body.items()}
    kwargs = {"json": body} if body is not None else {}
    refused(client, rt, method, path, admin, 404, field, **kwargs)


def test_an_id_too_large_for_the_database_is_an_unknown_id_not_a_server_error(app, client, rt, world, admin):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production would
    huge = 10 ** 20
    resp = client.get(f"{PREFIX}/halls/{huge}/queue", headers=admin)
    error_of(resp, 404, "hall_id")
    resp = client.post(f"{PREFIX}/halls/{world.one.id}/tickets", json={"service_id": huge}, headers=admin)
    assert resp.status_code in (404, 422), resp.status_code
    error_of(resp, resp.status_code, "service_id")


def test_an_unknown_api_path_or_method_answers_with_the_json_error_shape(client, admin):
    error_of(client.get(f"{PREFIX}/halls/not-a-number/queue", headers=admin), 404)
    error_of(client.get(f"{PREFIX}/no-such-thing", headers=admin), 404)
    error_of(client.put(f"{PREFIX}/halls/1", json={}, headers=admin), 405)


def test_transferring_to_an_unknown_service_leaves_the_ticket_at_the_counter(client, rt, world, kiosk, s1):
    h = world.one
    ticket = issue(client, h, kiosk)
    counter = open_and_call(client, h, s1)
    for body, field in (({"to_service_id": 9999}, "to_service_id"),
                        ({"to_service_id": world.two.services["A"]}, "to_service_id"),
                        ({"to_service_id": h.services["B"], "to_counter_id": 9999}, "to_counter_id"),
                        ({"to_service_id": h.services["B"], "to_counter_id": world.two.counters[1]}, "to_counter_id")):
        refused(client, rt, "POST", f"/counters/{counter}/transfer", s1, 404, field, json=body)
    t = row(rt, Ticket, ticket["id"])
    assert (t.state, t.counter_id, t.service_id) == ("called", counter, h.services["A"])


# --------------------------------------------------------------------------- duplicates: 409

def test_a_duplicate_prefix_in_a_hall_is_a_409_naming_prefix(client, rt, world, admin):
    err = refused(client, rt, "POST", f"/halls/{world.one.id}/services", admin, 409, "prefix",
                  json={**SERVICE, "prefix": "A"})
    assert err["code"] == "taken"  # a finer code than the class's conflict, for the pages


def test_the_same_prefix_in_another_hall_is_fine(client, rt, world, admin):
    resp = client.post(f"{PREFIX}/halls/{world.one.id}/services", json=SERVICE, headers=admin)
    assert resp.status_code == 201
    resp = client.post(f"{PREFIX}/halls/{world.two.id}/services", json=SERVICE, headers=admin)
    assert resp.status_code == 201


def test_renaming_a_prefix_onto_another_service_of_the_hall_is_a_409_and_changes_nothing(client, rt, world, admin):
    service_b = world.one.services["B"]
    refused(client, rt, "PATCH", f"/services/{service_b}", admin, 409, "prefix",
            json={"prefix": "A", "name_en": "changed"})
    svc = row(rt, ServiceType, service_b)
    assert (svc.prefix, svc.name_en) == ("B", "Service B")


def test_a_duplicate_username_is_a_409_naming_username(client, rt, admin):
    refused(client, rt, "POST", "/staff", admin, 409, "username",
            json={"username": "s1", "name": "重名", "password": PASSWORD, "role": "head_office"})


def test_a_duplicate_counter_number_in_a_hall_is_a_409_naming_number(client, rt, world, admin):
    refused(client, rt, "POST", f"/halls/{world.one.id}/counters", admin, 409, "number",
            json={"number": 1, "service_ids": [world.one.services["A"]]})
    refused(client, rt, "PATCH", f"/counters/{world.one.counters[2]}", admin, 409, "number", json={"number": 1})
    assert row(rt, Counter, world.one.counters[2]).number == 2


def test_a_duplicate_hall_code_is_a_409_naming_code(client, rt, world, admin):
    refused(client, rt, "POST", "/halls", admin, 409, "code", json=hall_body(city_id(rt), code="H1"))


# --------------------------------------------------------------------------- illegal transitions: 409

def test_finishing_before_calling_is_a_409_and_the_ticket_keeps_waiting(client, rt, world, kiosk, s1, published):
    h = world.one
    ticket = issue(client, h, kiosk)
    counter = h.counters[1]
    assert client.post(f"{PREFIX}/counters/{counter}/open", json={}, headers=s1).status_code == 200
    published.clear()
    for action in ("finish", "start", "recall", "no-show"):
        err = refused(client, rt, "POST", f"/counters/{counter}/{action}", s1, 409, "counter_id", json={})
        assert err["code"] == "illegal_transition"
    refused(client, rt, "POST", f"/counters/{counter}/transfer", s1, 409, "counter_id",
            json={"to_service_id": h.services["B"]})
    assert published == []
    status = client.get(f"{PREFIX}/tickets/{ticket['public_token']}").get_json()
    assert status["state"] == "waiting"


def open_and_call(client, hall, staff_headers) -> int:
    """Open counter 1 and call the next ticket there; returns the counter id."""
    counter = hall.counters[1]
    client.post(f"{PREFIX}/counters/{counter}/open", json={}, headers=staff_headers)
    client.post(f"{PREFIX}/counters/{counter}/call-next", headers=staff_headers)
    return counter


def test_calling_at_a_closed_counter_is_a_409(client, rt, world, kiosk, s1):
    issue(client, world.one, kiosk)
    refused(client, rt, "POST", f"/counters/{world.one.counters[1]}/call-next", s1, 409, "counter_id")


def test_starting_twice_is_a_409_and_the_ticket_stays_in_service(client, rt, world, kiosk, s1):
    h = world.one
    ticket = issue(client, h, kiosk)
    counter = open_and_call(client, h, s1)
    assert client.post(f"{PREFIX}/counters/{counter}/start", json={}, headers=s1).status_code == 200
    err = refused(client, rt, "POST", f"/counters/{counter}/start", s1, 409, json={})
    assert err["code"] == "illegal_transition"
    assert row(rt, Ticket, ticket["id"]).state == "serving"


def test_a_second_call_while_a_customer_is_at_the_counter_is_a_409(client, rt, world, kiosk, s1):
    h = world.one
    issue(client, h, kiosk)
    issue(client, h, kiosk)
    counter = open_and_call(client, h, s1)
    err = refused(client, rt, "POST", f"/counters/{counter}/call-next", s1, 409, "counter_id")
    assert err["code"] == "counter_busy"
    refused(client, rt, "POST", f"/counters/{counter}/close", s1, 409, "counter_id")


def test_a_no_show_before_the_minimum_recalls_is_a_409(client, rt, world, kiosk, s1):
    h = world.one
    ticket = issue(client, h, kiosk)
    counter = open_and_call(client, h, s1)
    refused(client, rt, "POST", f"/counters/{counter}/no-show", s1, 409, "ticket_id", json={})
    assert row(rt, Ticket, ticket["id"]).state == "called"


def test_acting_on_a_ticket_the_console_no_longer_shows_is_a_409(client, rt, world, kiosk, s1):
    h = world.one
    first, second = issue(client, h, kiosk), issue(client, h, kiosk)
    counter = open_and_call(client, h, s1)
    refused(client, rt, "POST", f"/counters/{counter}/finish", s1, 409, "ticket_id", json={"ticket_id": second["id"]})
    assert row(rt, Ticket, first["id"]).state == "called"


def test_cancelling_a_finished_ticket_is_a_409(client, rt, world, kiosk, s1):
    h = world.one
    ticket = issue(client, h, kiosk)
    counter = open_and_call(client, h, s1)
    client.post(f"{PREFIX}/counters/{counter}/finish", json={}, headers=s1)
    err = refused(client, rt, "POST", f"/tickets/{ticket['public_token']}/cancel", {}, 409)
    assert err["code"] == "illegal_transition"
    assert row(rt, Ticket, ticket["id"]).state == "finished"


def test_issuing_for_a_retired_service_is_a_409_and_uses_up_no_number(client, rt, world, admin, kiosk):
    h = world.one
    client.patch(f"{PREFIX}/services/{h.services['B']}", json={"active": False}, headers=admin)
    refused(client, rt, "POST", f"/halls/{h.id}/tickets", kiosk, 409, "service_id",
            json={"service_id": h.services["B"]})
    client.patch(f"{PREFIX}/services/{h.services['B']}", json={"active": True}, headers=admin)
    assert issue(client, h, kiosk, prefix="B")["label"] == "B001"


def test_issuing_outside_opening_hours_is_a_409_and_uses_up_no_number(client, rt, world, admin, kiosk, clock):
    h = world.one
    resp = client.patch(f"{PREFIX}/halls/{h.id}", json={"opening_hours": {"sat": [["09:00", "17:00"]]}},
                        headers=admin)
    assert resp.status_code == 200
    err = refused(client, rt, "POST", f"/halls/{h.id}/tickets", kiosk, 409, "hall_id",
                  json={"service_id": h.services["A"]})
    assert err["code"] == "hall_closed"
    clock.advance(days=5)  # Saturday 10:00 local
    assert issue(client, h, kiosk)["label"] == "A001"


# --------------------------------------------------------------------------- the happy path over HTTP

def test_from_an_empty_organisation_to_a_finished_ticket_over_http(client, rt, world):
    def ok(resp, status=200):
        assert resp.status_code == status, resp.get_data(as_text=True)[:300]
        return resp.get_json()

    # The administrator signs in and builds a new hall.
    admin = bearer(ok(client.post(f"{PREFIX}/auth/tokens", json={"username": "admin", "password": PASSWORD}), 201)
                   ["token"])
    region = ok(client.post(f"{PREFIX}/regions", json={"code": "R2", "name_zh": "湖北", "name_en": "Hubei"},
                            headers=admin), 201)
    city = ok(client.post(f"{PREFIX}/cities", json={"region_id": region["id"], "code": "WH", "name_zh": "武汉"},
                          headers=admin), 201)
    hall = ok(client.post(f"{PREFIX}/halls", json={
        "city_id": city["id"], "code": "WH01", "name_zh": "光谷营业厅", "name_en": "Optics Valley",
        "timezone": "Asia/Shanghai", "opening_hours": {"mon": [["08:30", "18:00"]]},
        "calling_policy": {"max_recalls": 2}}, headers=admin), 201)
    assert hall["calling_policy"]["max_recalls"] == 2 and hall["calling_rule"]
    service = ok(client.post(f"{PREFIX}/halls/{hall['id']}/services", json={
        "code": "sim", "prefix": "K", "name_zh": "办卡", "name_en": "SIM cards", "target_wait_s": 600,
        "handle_time_s": 240}, headers=admin), 201)
    counter = ok(client.post(f"{PREFIX}/halls/{hall['id']}/counters",
                             json={"number": 1, "name": "1号窗口", "service_ids": [service["id"]]},
                             headers=admin), 201)
    assert counter["service_ids"] == [service["id"]] and counter["is_open"] is False
    clerk = ok(client.post(f"{PREFIX}/staff", json={
        "username": "wh.clerk", "name": "李营业员", "password": "clerk-password-1", "role": "counter_staff",
        "hall_id": hall["id"]}, headers=admin), 201)
    assert "password" not in clerk and "password_hash" not in clerk
    kiosk_device = ok(client.post(f"{PREFIX}/halls/{hall['id']}/devices", json={"kind": "kiosk", "name": "取号机"},
                                  headers=admin), 201)
    display_device = ok(client.post(f"{PREFIX}/halls/{hall['id']}/devices",
                                    json={"kind": "display", "name": "大屏"}, headers=admin), 201)
    kiosk, display = bearer(kiosk_device["token"]), bearer(display_device["token"])
    listed = ok(client.get(f"{PREFIX}/halls/{hall['id']}/devices", headers=admin))["devices"]
    assert {d["id"] for d in listed} == {kiosk_device["id"], display_device["id"]}
    assert all("token" not in d for d in listed)

    # The kiosk issues a ticket; nobody is at a counter yet, so there is no estimate.
    ticket = ok(client.post(f"{PREFIX}/halls/{hall['id']}/tickets",
                            json={"service_id": service["id"], "mobile": "138 0013 8000"}, headers=kiosk), 201)
    assert ticket["label"] == "K001" and ticket["state"] == "waiting" and ticket["people_ahead"] == 0
    assert ticket["estimated_wait_s"] is None
    status_url = f"{PREFIX}/tickets/{ticket['public_token']}"

    def status():
        return ok(client.get(status_url))  # the customer's phone: no credentials

    assert status()["state"] == "waiting"

    # The clerk signs in and opens the counter: now there is an estimate (an idle counter: no wait).
    clerk_auth = bearer(ok(client.post(f"{PREFIX}/auth/tokens",
                                       json={"username": "wh.clerk", "password": "clerk-password-1"}), 201)["token"])
    opened = ok(client.post(f"{PREFIX}/counters/{counter['id']}/open", json={}, headers=clerk_auth))
    assert opened["is_open"] is True and opened["staff_id"] == clerk["id"]
    waiting = status()
    assert waiting["state"] == "waiting" and waiting["estimated_wait_s"] == 0

    called = ok(client.post(f"{PREFIX}/counters/{counter['id']}/call-next", headers=clerk_auth))
    assert called["ticket"]["label"] == "K001" and called["ticket"]["mobile_tail"] == "8000"
    now_called = status()
    assert now_called["state"] == "called" and now_called["counter"]["number"] == 1

    snapshot = ok(client.get(f"{PREFIX}/halls/{hall['id']}/queue", headers=display))
    assert snapshot["recent_calls"][0]["label"] == "K001"
    assert snapshot["recent_calls"][0]["counter_number"] == 1 and snapshot["recent_calls"][0]["recall"] is False
    assert snapshot["counters"][0]["ticket"]["label"] == "K001"

    console = ok(client.get(f"{PREFIX}/counters/{counter['id']}", headers=clerk_auth))
    assert console["ticket"]["id"] == ticket["id"]

    started = ok(client.post(f"{PREFIX}/counters/{counter['id']}/start", json={"ticket_id": ticket["id"]},
                             headers=clerk_auth))
    assert started["ticket"]["state"] == "serving"
    assert status()["state"] == "serving"

    finished = ok(client.post(f"{PREFIX}/counters/{counter['id']}/finish", json={"ticket_id": ticket["id"]},
                              headers=clerk_auth))
    assert finished["ticket"]["state"] == "finished"
    done = status()
    assert done["state"] == "finished" and done["estimated_wait_s"] is None

    snapshot = ok(client.get(f"{PREFIX}/halls/{hall['id']}/queue", headers=display))
    assert snapshot["counters"][0]["ticket"] is None
    assert [c["label"] for c in snapshot["recent_calls"]] == ["K001"]

    with rt.reader() as tx:
        kinds = tx.session.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket["id"])
                                   .order_by(TicketEvent.id)).scalars().all()
        issued_by = tx.session.get(Ticket, ticket["id"]).issued_by_device_id
    assert kinds == ["issued", "called", "serving", "finished"]
    assert issued_by == kiosk_device["id"]

    # Closing the counter and signing out end the day.
    assert ok(client.post(f"{PREFIX}/counters/{counter['id']}/close", headers=clerk_auth))["is_open"] is False
    ok(client.delete(f"{PREFIX}/auth/tokens/current", headers=clerk_auth))
    assert client.get(f"{PREFIX}/me", headers=clerk_auth).status_code == 401
    with rt.reader() as tx:
        assert tx.session.execute(select(func.count()).select_from(ApiToken)
                                  .where(ApiToken.revoked.is_(True))).scalar_one() == 1


def test_a_bare_post_is_enough_for_counter_actions_whose_fields_are_all_optional(client, rt, world):
    from tests.world import bearer, staff_token

    h = world.one
    staff = bearer(staff_token(rt, h.staff["s1"]))
    kiosk = bearer(h.tokens["kiosk"])
    assert client.post(f"/api/v1/halls/{h.id}/tickets", json={"service_id": h.services["A"]}, headers=kiosk).status_code == 201
    assert client.post(f"/api/v1/counters/{h.counters[1]}/open", headers=staff).status_code == 200
    assert client.post(f"/api/v1/counters/{h.counters[1]}/call-next", headers=staff).status_code == 200
    assert client.post(f"/api/v1/counters/{h.counters[1]}/finish", headers=staff).json["ticket"]["state"] == "finished"


def test_a_browser_session_learns_its_csrf_token_from_me(client, world):
    sign_in(client, "m1")
    token = client.get("/api/v1/me").json["csrf_token"]
    refused = client.post(f"/api/v1/counters/{world.one.counters[1]}/open", json={})
    assert refused.status_code == 403 and refused.json["error"]["field"] == "X-CSRF-Token"
    opened = client.post(f"/api/v1/counters/{world.one.counters[1]}/open", json={}, headers={"X-CSRF-Token": token})
    assert opened.status_code == 200


def test_a_counters_refusals_carry_a_stable_code_and_the_values_a_screen_needs(client, rt, world, s1):
    """Issue 22: the console showed the API's English; refusals now name themselves for translation."""
    counter = world.one.counters[1]
    err = refused(client, rt, "POST", f"/counters/{counter}/call-next", s1, 409, "counter_id")
    assert err["code"] == "counter_closed" and err["counter_number"] == 1
    assert client.post(f"{PREFIX}/counters/{counter}/open", json={}, headers=s1).status_code == 200
    elsewhere = refused(client, rt, "POST", f"/counters/{world.one.counters[2]}/open", s1, 409, "counter_id", json={})
    assert elsewhere["code"] == "signed_in_elsewhere" and elsewhere["elsewhere"] == 1


def test_a_counter_with_no_service_is_refused_naming_service_ids(client, rt, world, admin):
    """Issue 22: a counter with no services was accepted, and could never call anyone."""
    err = refused(client, rt, "POST", f"/halls/{world.one.id}/counters", admin, 422, "service_ids",
                  json={"number": 9, "name": "9号窗口"})
    assert err["code"] == "counter_without_services"
    refused(client, rt, "PATCH", f"/counters/{world.one.counters[1]}", admin, 422, "service_ids",
            json={"service_ids": []})
