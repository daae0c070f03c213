"""Hostile input on every operation of the API, on SQLite and on PostgreSQL.

Whatever is sent (JSON nested a thousand levels deep, bodies of megabytes or of the wrong type,
dates at the ends of the calendar, NUL characters, lone surrogates, text longer than its column),
the answer is a 4xx in the one error shape, never a 500, and nothing is stored. The operations are
read from the API's own registry, so a new one is covered the day it is added.
"""
from __future__ import annotations

import hashlib
import json
import re

import pytest
from sqlalchemy import select

from app.bootstrap import bootstrap
from app.storage.orm import Base
from app.web.api import PREFIX, api

from ..conftest import FAST_HASH
from ..world import PASSWORD, bearer, sign_in, staff_token

BODY_OPERATIONS = [op for op in api.operations if op.body is not None]
DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
def rt(database_url, clock):
    """The runtime on each database in turn (the rest of the suite runs on SQLite alone)."""
    runtime = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def app(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a failure answers 500, as in production
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def callers(rt, world) -> dict[str, dict]:
    """Who calls what: the caller each operation's access rule lets through, so that a refusal is the input's."""
    return {"admin": bearer(staff_token(rt, world.staff["admin"])), "staff": bearer(staff_token(rt, world.staff["s1"])),
            "kiosk": bearer(world.one.tokens["kiosk"]), "sensor": bearer(world.one.tokens["sensor"]), "public": {}}


def caller_of(op) -> str:
    if op.access == "public":
        return "public"
    if op.endpoint == "issue_ticket":
        return "kiosk"
    if op.endpoint == "report_counts":
        return "sensor"
    return "staff" if op.tag == "counter actions" else "admin"


def url_of(op, world) -> str:
    """The operation's path with the ids of hall 1's things (counter 1, its first sensor, ...)."""
    ids = {"hall_id": world.one.id, "counter_id": world.one.counters[1], "service_id": world.one.services["A"],
           "staff_id": world.staff["s1"], "sensor_id": world.one.sensors["door"], "device_id": world.one.devices["sensor"],
           "token": "no-such-token", "code": "123456"}
    path = op.rule
    for name, value in ids.items():
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<string:{name}>", str(value)) \
            .replace(f"<{name}>", str(value))
    return PREFIX + re.sub(r"<int:\w+>", "1", path)  # a roster entry, a follow-up: an id parsing comes before


def fingerprint(rt) -> str:
    """Every row of every table: a refused request changes none."""
    digest = hashlib.sha256()
    with rt.reader() as tx:
        for table in Base.metadata.sorted_tables:
            rows = tx.session.execute(select(table)).all()
            digest.update(repr(sorted(repr(tuple(r)) for r in rows)).encode())
    return digest.hexdigest()


def warm_up(client, callers) -> None:
    """Each caller once, so that what a first request writes by design (a device's last-seen time) is written."""
    for headers in callers.values():
        client.get(f"{PREFIX}/me", headers=headers)


def send(client, op, world, headers: dict, **kwargs):
    return client.open(url_of(op, world), method=op.method.upper(), headers=headers, **kwargs)


def problems_of(resp, status: int | tuple[int, ...], field: str | None = None) -> list[str]:
    """What is wrong with a refusal: its status, its shape, the field it names."""
    statuses = status if isinstance(status, tuple) else (status,)
    if resp.status_code not in statuses:
        return [f"{resp.status_code} (expected {statuses}): {resp.get_data(as_text=True)[:200]}"]
    if not resp.is_json or "error" not in (resp.get_json(silent=True) or {}):
        return [f"{resp.status_code} without the error shape: {resp.get_data(as_text=True)[:200]}"]
    err = resp.get_json()["error"]
    if err.get("status") != resp.status_code or not err.get("code") or not err.get("message"):
        return [f"a malformed error: {err}"]
    if field is not None and err.get("field") != field:
        return [f"names {err.get('field')!r}, not {field!r}: {err['message']}"]
    return []


# --------------------------------------------------------------------------- the body as a whole

@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=lambda op: op.endpoint)
def test_a_body_nested_a_thousand_levels_deep_is_a_400_and_stores_nothing(client, rt, world, callers, op):
    warm_up(client, callers)
    before = fingerprint(rt)
    found = []
    for raw in (DEEP, '{"x": ' + DEEP + "}", "{" + '"a": {' * 40 + "}" * 41):
        resp = send(client, op, world, callers[caller_of(op)], data=raw, content_type="application/json")
        found += [f"{raw[:12]}...: {p}" for p in problems_of(resp, 400)]
    assert found == []
    assert fingerprint(rt) == before


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=lambda op: op.endpoint)
def test_a_body_of_the_wrong_content_type_is_a_400_and_stores_nothing(client, rt, world, callers, op):
    warm_up(client, callers)
    before = fingerprint(rt)
    found = []
    for kwargs in ({"data": '{"a": 1}', "content_type": "text/plain"},
                   {"data": {"a": "1"}, "content_type": "application/x-www-form-urlencoded"},
                   {"data": {"a": "1"}, "content_type": "multipart/form-data"},
                   {"data": b"\xff\xfe\x00{", "content_type": "application/json"},
                   {"data": '{"a": NaN}', "content_type": "application/json"},
                   {"data": '{"a": 1e999999}', "content_type": "application/json"},
                   {"data": '{"a": ' + "9" * 5000 + "}", "content_type": "application/json"}):
        resp = send(client, op, world, callers[caller_of(op)], **kwargs)
        found += [f"{kwargs}: {p}"[:300] for p in problems_of(resp, (400, 422))]
    assert found == []
    assert fingerprint(rt) == before


@pytest.mark.parametrize("endpoint", ["create_token", "request_pairing_code", "issue_ticket", "report_counts",
                                      "create_region"])
def test_a_body_of_ten_megabytes_is_refused_unread_with_a_413_in_the_error_shape(client, rt, world, callers, endpoint):
    op = next(o for o in api.operations if o.endpoint == endpoint)
    warm_up(client, callers)
    before = fingerprint(rt)
    body = json.dumps({"username": "x" * (10 * 1024 * 1024)})
    assert problems_of(send(client, op, world, callers[caller_of(op)], data=body,
                            content_type="application/json"), 413) == []
    assert fingerprint(rt) == before


# --------------------------------------------------------------------------- every text field, every date

def base_body(op, world) -> dict:
    """A body the operation would take, holding every nested object and list its text fields sit in,
    so that a hostile value in one field is the only thing wrong with it."""
    one = world.one
    hall = {"closures": [{"date": "2026-12-01", "note": ""}], "green_channel": {}, "staffing": {}, "survey": {},
            "opening_hours": {"mon": [["08:30", "18:00"]]}}
    return {
        "create_token": {"username": "admin", "password": PASSWORD},
        "create_region": {"code": "R9", "name_zh": "新区"},
        "create_city": {"region_id": 1, "code": "C9", "name_zh": "新城"},
        "create_hall": {"city_id": 1, "code": "H9", "name_zh": "新厅", **hall},
        "update_hall": {**hall, "screen": {}},
        "create_service": {"code": "svcx", "prefix": "X", "name_zh": "业务X"},
        "create_counter": {"number": 9, "service_ids": [one.services["A"]]},
        "create_staff": {"username": "newbie", "name": "新人", "password": PASSWORD, "role": "admin"},
        "add_vip_member": {"mobile": "13800138000", "star_level": 5},
        "register_device": {"kind": "kiosk", "name": "kiosk 9"},
        "request_pairing_code": {"kind": "kiosk"},
        "collect_pairing": {"claim": "c" * 16},
        "pair_device": {"code": "123456", "name": "kiosk 9"},
        "issue_ticket": {"service_id": one.services["A"]},
        "check_guide_pin": {"pin": "1234"},
        "set_guide_pin": {"pin": "1234"},
        "set_device_printer": {"kind": "none"},
        "transfer": {"to_service_id": one.services["B"]},
        "call_ticket": {"label": "A001"},
        "register_sensor": {"code": "door9", "name_zh": "侧门", "kind": "camera", "device_id": one.devices["sensor"]},
        "report_counts": {"counts": [{"sensor": "door", "minute": "2026-11-23T09:15:00+08:00", "in": 1, "out": 0}]},
        "close_follow_up": {"resolution": "called back"},
        "sms_outbox_reply": {"to": 1, "text": "1"},
        "request_code": {"mobile": "13800138000"},
        "take_remote_ticket": {"service_id": one.services["A"], "mobile": "13800138000", "code": "123456"},
        "check_in": {"mobile": "13800138000", "code": "123456"},
        "book_appointment": {"service_id": one.services["A"], "slot_start": "2026-11-24T02:00:00+00:00",
                             "mobile": "13800138000", "code": "123456"},
        "reschedule_appointment": {"slot_start": "2026-11-24T02:00:00+00:00"},
    }.get(op.endpoint, {})


def text_fields(op, base: dict) -> list[tuple[tuple, dict]]:
    """(path, schema) of each text field of the body: its own, and those of the objects and lists in ``base``."""
    document = op.body.model_json_schema()
    defs = document.get("$defs", {})

    def walk(schema: dict, path: tuple, value):
        schema = next((s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"), schema)
        if "$ref" in schema:
            schema = defs[schema["$ref"].rsplit("/", 1)[1]]
        if schema.get("type") == "string" and "format" not in schema:
            yield path, schema
        elif schema.get("type") == "object" and isinstance(value, dict):
            for name, prop in schema.get("properties", {}).items():
                yield from walk(prop, path + (name,), value.get(name))
            if schema.get("additionalProperties") is True:  # free-form settings (survey): a template
                yield path + ("template_zh",), {}
        elif schema.get("type") == "array" and isinstance(value, list) and value:
            yield from walk(schema["items"], path + (0,), value[0])

    return list(walk(document, (), base))


def with_value(body: dict, path: tuple, value) -> dict:
    body = json.loads(json.dumps(body))
    node = body
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return body


def field_name(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))


def hostile_texts(schema: dict) -> dict[str, str]:
    limit = schema.get("maxLength", 100_000)
    return {"NUL": "ab\x00cd", "a lone surrogate": "ab\udfffcd", f"{limit + 1} characters": "x" * (limit + 1)}


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=lambda op: op.endpoint)
def test_every_text_field_refuses_nul_lone_surrogates_and_text_longer_than_its_column(client, rt, world, callers,
                                                                                    op):
    base = base_body(op, world)
    warm_up(client, callers)
    before = fingerprint(rt)
    found = []
    for path, schema in text_fields(op, base):
        for what, value in hostile_texts(schema).items():
            raw = json.dumps(with_value(base, path, value))  # a lone surrogate travels as the escape \udfff
            resp = send(client, op, world, callers[caller_of(op)], data=raw, content_type="application/json")
            named = (resp.get_json(silent=True) or {}).get("error", {}).get("field") or ""
            problems = problems_of(resp, 422)
            if not problems and not field_name(path).startswith(named or "\0"):
                problems = [f"names {named!r}"]
            found += [f"{field_name(path)} with {what}: {p}"[:300] for p in problems]
    assert found == []
    assert fingerprint(rt) == before


def test_every_text_field_of_every_body_declares_its_longest_value():
    unbounded = [f"{op.endpoint}: {field_name(path)}" for op in BODY_OPERATIONS
                 for path, schema in text_fields(op, base_body(op, _NO_WORLD))
                 if schema and "maxLength" not in schema and "enum" not in schema]
    assert unbounded == []


class _NoWorld:
    class one:  # noqa: N801 - stands in for a hall's ids where only the shape of the body matters
        services = {"A": 1, "B": 2}
        devices = {"sensor": 1}


_NO_WORLD = _NoWorld()

DATE_FIELDS = [("create_hall", ("opened_on",)), ("update_hall", ("opened_on",)),
               ("update_hall", ("closures", 0, "date")), ("add_vip_member", ("valid_until",)),
               ("update_vip_member", ("valid_until",))]
OUT_OF_RANGE_DAYS = ["9999-12-31", "0001-01-01", "1899-12-31"]


@pytest.mark.parametrize("endpoint, path", DATE_FIELDS + [("report_counts", ("counts", 0, "minute"))],
                         ids=lambda x: x if isinstance(x, str) else field_name(x))
def test_a_day_at_the_ends_of_the_calendar_in_a_body_is_a_422_naming_it(client, rt, world, callers, endpoint, path):
    op = next(o for o in api.operations if o.endpoint == endpoint)
    base = base_body(op, world)
    warm_up(client, callers)
    before = fingerprint(rt)
    found = []
    values = OUT_OF_RANGE_DAYS if path[-1] != "minute" else [
        "9999-12-31T23:59:00-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:00+00:00"]
    for value in values:
        resp = send(client, op, world, callers[caller_of(op)], json=with_value(base, path, value))
        found += [f"{value}: {p}" for p in problems_of(resp, 422, field_name(path))]
    assert found == []
    assert fingerprint(rt) == before


# the reads' query strings (an upload's names its file: test_hall_media refuses its bad values)
QUERY_OPERATIONS = [op for op in api.operations if op.query is not None and op.method == "get"]
REQUIRED_QUERY = {"hall_footfall_hourly": {"from": "2026-11-01", "to": "2026-11-02"}}


@pytest.mark.parametrize("op", QUERY_OPERATIONS, ids=lambda op: op.endpoint)
def test_every_query_parameter_refuses_dates_out_of_range_nul_and_garbage_naming_it(client, rt, world, callers, op):
    warm_up(client, callers)
    before = fingerprint(rt)
    found = []
    for name, field in op.query.model_fields.items():
        name = field.alias or name
        for value in OUT_OF_RANGE_DAYS + ["a\x00b", "x" * 5000, "-1", "9" * 30, "2026-02-30", "\udfff", "é"]:
            required = {k: v for k, v in REQUIRED_QUERY.get(op.endpoint, {}).items() if k != name}
            query = ("&".join(f"{k}={v}" for k, v in required.items()) + f"&{name}=%ED%BF%BF" if value == "\udfff"
                     else {**required, name: value})  # a lone surrogate as a browser sends it: bad UTF-8
            resp = client.get(url_of(op, world), query_string=query, headers=callers[caller_of(op)])
            if value != "-1" or resp.status_code >= 300:  # -1 is an offset for some; never a 500
                found += [f"{name}={value[:20]!r}: {p}" for p in problems_of(resp, 422, name)]
    assert found == []
    assert fingerprint(rt) == before


@pytest.mark.parametrize("path", ["/satisfaction/halls", "/service-levels/halls", "/halls/{hall}/footfall",
                                  "/halls/{hall}/forecast", "/halls/{hall}/satisfaction", "/halls/{hall}/service-levels",
                                  "/halls/{hall}/service-levels/heatmap", "/halls/{hall}/service-levels/tickets"])
@pytest.mark.parametrize("day", ["2000-01-01", "2099-12-31"])
def test_the_first_and_last_days_the_reports_know_are_answered(client, world, callers, path, day):
    resp = client.get(PREFIX + path.format(hall=world.one.id), query_string={"date": day}, headers=callers["admin"])
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]


@pytest.mark.parametrize("path", ["/tickets/a%00b", "/tickets/a%00b/cancel", "/pairing-codes/12%0034/collect"])
def test_a_nul_in_a_path_is_an_unknown_thing_not_a_server_error(client, rt, world, callers, path):
    method = "GET" if path.count("/") == 2 else "POST"
    body = {"json": {"claim": "c" * 16}} if "collect" in path else {}
    assert problems_of(client.open(PREFIX + path, method=method, **body), 404) == []


# --------------------------------------------------------------------------- settings the forecaster must read

@pytest.mark.parametrize("country", ["AA", "ZZ", "EU"])
def test_a_staffing_country_without_a_holiday_calendar_is_refused_and_forecasts_go_on(client, rt, world, callers,
                                                                                       country):
    hall = world.one.id
    before = fingerprint(rt)
    resp = client.patch(f"{PREFIX}/halls/{hall}", json={"staffing": {"country": country}}, headers=callers["admin"])
    assert problems_of(resp, 422, "staffing.country") == []
    assert fingerprint(rt) == before
    assert client.post(f"{PREFIX}/halls/{hall}/forecast", headers=callers["admin"]).status_code == 200
    assert client.get(f"{PREFIX}/halls/{hall}/forecast", headers=callers["admin"]).status_code == 200


def test_a_staffing_country_the_forecaster_knows_is_taken(client, world, callers):
    resp = client.patch(f"{PREFIX}/halls/{world.one.id}", json={"staffing": {"country": "NZ"}}, headers=callers["admin"])
    assert resp.status_code == 200 and resp.get_json()["staffing"]["country"] == "NZ"


@pytest.mark.parametrize("path", ["/satisfaction/halls", "/service-levels/halls", "/halls/{hall}/footfall",
                                  "/halls/{hall}/forecast", "/halls/{hall}/satisfaction", "/halls/{hall}/service-levels",
                                  "/halls/{hall}/service-levels/heatmap", "/halls/{hall}/service-levels/tickets"])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_report_day_at_the_ends_of_the_calendar_is_a_422_naming_date(client, world, callers, path, day):
    resp = client.get(PREFIX + path.format(hall=world.one.id), query_string={"date": day}, headers=callers["admin"])
    assert problems_of(resp, 422, "date") == []


# --------------------------------------------------------------------------- the pages

def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def signed_in(app, who: str):
    browser = app.test_client()
    assert sign_in(browser, who).status_code == 302
    return browser


@pytest.mark.parametrize("username", ["ad\x00min", "\x00", "a" * 10_000])
def test_a_sign_in_form_with_a_nul_or_a_novel_for_a_username_is_refused_not_a_server_error(client, rt, world,
                                                                                            username):
    page = client.get("/login").get_data(as_text=True)
    before = fingerprint(rt)
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page)})
    assert resp.status_code in (200, 400, 401), resp.status_code
    assert "Set-Cookie" not in resp.headers or "session=;" in resp.headers.get("Set-Cookie", "")


ADMIN_FORMS = [  # (page, a form it takes, its text fields, its day fields)
    ("/admin/halls/{hall}", {"code": "H1", "name_zh": "营业厅1", "name_en": "Hall 1", "address": "",
                             "timezone": "Asia/Shanghai", "hours_mon": "08:30-18:00", "active": "on"},
     ["name_en", "address", "timezone", "closures"], ["closures"]),
    ("/admin/halls/{hall}/services", {"code": "svcx", "prefix": "X", "name_zh": "业务X", "target_wait_min": "10",
                                      "handle_time_min": "5"}, ["name_en", "self_service_zh"], []),
    ("/admin/halls/{hall}/counters", {"number": "9", "name": "9号窗口"}, ["name"], []),
    ("/admin/halls/{hall}/staff", {"username": "newbie", "name": "新人", "password": PASSWORD, "role": "counter_staff"},
     ["name", "staff_number", "email"], []),
    ("/admin/halls/{hall}/vip", {"mobile": "13800138000", "star_level": "5"}, ["name", "note"], ["valid_until"]),
]


@pytest.mark.parametrize("url, form, texts, days", ADMIN_FORMS, ids=[f[0].rsplit("/", 1)[-1] for f in ADMIN_FORMS])
def test_an_administration_form_with_hostile_text_or_days_is_refused_and_stores_nothing(app, rt, world, url, form,
                                                                                       texts, days):
    browser = signed_in(app, "admin")
    url = url.format(hall=world.one.id)
    if url.endswith("/counters"):  # a counter must serve a service: refused then for its text alone
        form = {**form, "service_ids": str(world.one.services["A"])}
    page = browser.get(url).get_data(as_text=True)
    before = fingerprint(rt)
    tries = [(f, "ab\x00cd") for f in texts] + [(f, "x" * 5000) for f in texts] + \
            [(f, f"{day} x") for f in days for day in OUT_OF_RANGE_DAYS]
    found = []
    for field, value in tries:
        resp = browser.post(url, data={"csrf_token": csrf_of(page), **form, field: value})
        if resp.status_code not in (400, 422):
            found.append(f"{field}={value[:12]!r}: {resp.status_code}")
    assert found == []
    assert fingerprint(rt) == before


@pytest.mark.parametrize("path", [
    "/manager/satisfaction?date=9999-12-31", "/manager/satisfaction?date=0001-01-01&period=week",
    "/manager/service-levels?date=9999-12-31", "/manager/service-levels?hall={hall}&date=0001-01-01",
    "/manager/service-levels/tickets?hall={hall}&hour=99999999999999999999",
    "/manager/service-levels/tickets?hall={hall}&counter_id=99999999999999999999&tier=x%00",
    "/manager/audit?entity_id=99999999999999999999", "/manager/audit?entity=%00",
    "/manager/?hall=99999999999999999999", "/manager/satisfaction?hall=99999999999999999999",
    "/manager/follow-ups?hall=99999999999999999999", "/manager/report-files?kind=%00",
    "/counter/?hall=99999999999999999999&counter=99999999999999999999",
])
def test_a_report_page_asked_for_the_ends_of_the_calendar_or_huge_numbers_is_not_a_server_error(app, world, path):
    browser = signed_in(app, "admin")
    resp = browser.get(path.format(hall=world.one.id))
    assert resp.status_code < 500, resp.status_code
