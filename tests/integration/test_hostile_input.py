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
from ..world import bearer, staff_token

BODY_OPERATIONS = [op for op in api.operations if op.body is not None]
DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
def rt(database_url, clock):
    """The runtime on each database in turn (the rest of the suite runs on SQLite alone)."""
    runtime = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def client(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a failure answers 500, as in production
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
