"""Metrics after a known sequence of requests, in one process (the embedded default): what the
process counts of what it committed, and the queue's levels it keeps from the events.

The metrics are the process's own (prometheus_client's registry), shared by every app a test
run makes, so each test reads them before and after and compares the difference.
"""
from __future__ import annotations

import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.ops.metrics import QueueLevels
from app.services import queue
from app.web.live_feed import LocalFeed

from ..world import bearer, staff_token


def scrape(client) -> dict:
    """{(sample name, sorted labels): value} from GET /metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def poll(condition, timeout_s: float = 5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.02)
    return condition()


def test_tickets_issued_and_called_are_counted_per_hall_service_and_channel_with_the_waits(app, client, rt, world,
                                                                                            clock):
    h = world.one
    staff = bearer(staff_token(rt, h.staff["s1"]))
    before = scrape(client)
    for service in ("A", "A", "B"):
        r = client.post(f"/api/v1/halls/{h.id}/tickets", json={"service_id": h.services[service]},
                        headers=bearer(h.tokens["kiosk"]))
        assert r.status_code == 201
    assert client.post(f"/api/v1/halls/{h.id}/tickets", json={"service_id": h.services["C"]},
                       headers=staff).status_code == 201
    assert client.post(f"/api/v1/counters/{h.counters[1]}/open", json={}, headers=staff).status_code == 200
    clock.advance(seconds=700)  # service A's target is 600 s
    assert client.post(f"/api/v1/counters/{h.counters[1]}/call-next", headers=staff).json["ticket"]["label"] == "A001"
    assert client.post(f"/api/v1/counters/{h.counters[1]}/recall", json={}, headers=staff).status_code == 200
    assert client.post(f"/api/v1/counters/{h.counters[1]}/finish", json={}, headers=staff).status_code == 200
    clock.advance(seconds=100)
    assert client.post(f"/api/v1/counters/{h.counters[1]}/call-next", headers=staff).json["ticket"]["label"] == "A002"
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("hallq_tickets_issued_total", hall="H1", service="svca", channel="kiosk") == 2
    assert delta("hallq_tickets_issued_total", hall="H1", service="svcb", channel="kiosk") == 1
    assert delta("hallq_tickets_issued_total", hall="H1", service="svcc", channel="staff") == 1
    assert delta("hallq_tickets_called_total", hall="H1") == 2  # the recall is not a call
    assert delta("hallq_wait_seconds_count", hall="H1") == 2
    assert delta("hallq_wait_seconds_sum", hall="H1") == 700 + 800
    assert delta("hallq_wait_seconds_bucket", hall="H1", le="600.0") == 0
    assert delta("hallq_wait_seconds_bucket", hall="H1", le="900.0") == 2
    assert delta("hallq_tickets_called_over_target_total", hall="H1") == 2
    assert delta("hallq_tickets_called_total", hall="H2") == 0


def test_every_request_is_timed_by_its_route_never_its_path(client, world):
    h = world.one
    before = scrape(client)
    r = client.post(f"/api/v1/halls/{h.id}/tickets", json={"service_id": h.services["A"]},
                    headers=bearer(h.tokens["kiosk"]))
    token = r.json["public_token"]
    assert client.get(f"/api/v1/tickets/{token}").status_code == 200
    assert client.get("/no/such/page/13800138000").status_code == 404
    assert client.get("/healthz").status_code == 200
    after = scrape(client)
    text = client.get("/metrics").get_data(as_text=True)

    def delta(**labels):
        return (value(after, "http_request_duration_seconds_count", **labels)
                - value(before, "http_request_duration_seconds_count", **labels))

    assert delta(route="/api/v1/halls/<int:hall_id>/tickets", method="POST", status="201") == 1
    assert delta(route="/api/v1/tickets/<string:token>", method="GET", status="200") == 1
    assert delta(route="unmatched", method="GET", status="404") == 1
    assert token not in text and "13800138000" not in text
    assert "/healthz" not in text  # liveness stays untimed: the benchmarks' ceiling


def test_each_response_carries_a_request_id_and_keeps_a_sane_one_given_by_the_proxy(client):
    mine = client.get("/readyz")
    assert len(mine.headers["X-Request-Id"]) == 32
    given = client.get("/readyz", headers={"X-Request-Id": "0123456789abcdef0123456789abcdef"})
    assert given.headers["X-Request-Id"] == "0123456789abcdef0123456789abcdef"
    forged = client.get("/readyz", headers={"X-Request-Id": "<script>alert(1)</script>" + "a" * 80})
    assert len(forged.headers["X-Request-Id"]) == 32 and "<" not in forged.headers["X-Request-Id"]


def test_readiness_says_ready_when_the_database_answers_at_the_codes_migration(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json == {"ready": True, "role": "web", "checks": {"database": "ok", "migrations": "ok"}}


def test_the_screen_holding_process_keeps_waiting_tickets_and_open_counters_from_the_events(app, client, rt, world):
    h = world.one
    staff, other = bearer(staff_token(rt, h.staff["s1"])), bearer(staff_token(rt, h.staff["t1"]))
    levels = app.extensions["hallq_levels"]
    client.get("/metrics")  # the first scrape: the levels are read once, then kept from the events
    assert poll(lambda: levels.levels(h.id)) == {"seq": 0, "waiting": {}, "counters_open": 0}
    tokens = [client.post(f"/api/v1/halls/{h.id}/tickets", json={"service_id": h.services[p]},
                          headers=bearer(h.tokens["kiosk"])).json["public_token"] for p in "AABC"]
    assert client.post(f"/api/v1/counters/{h.counters[1]}/open", json={}, headers=staff).status_code == 200
    assert client.post(f"/api/v1/counters/{h.counters[3]}/open", json={}, headers=other).status_code == 200
    assert levels.levels(h.id)["counters_open"] == 2
    assert client.post(f"/api/v1/counters/{h.counters[1]}/call-next", headers=staff).status_code == 200
    assert client.post(f"/api/v1/tickets/{tokens[3]}/cancel").status_code == 200
    assert client.post(f"/api/v1/counters/{h.counters[3]}/close", json={}, headers=other).status_code == 200
    assert levels.levels(h.id) == {"seq": 9, "waiting": {"svca": 1, "svcb": 1}, "counters_open": 1}
    samples = scrape(client)
    assert value(samples, "hallq_tickets_waiting", hall="H1", service="svca") == 1
    assert value(samples, "hallq_tickets_waiting", hall="H1", service="svcb") == 1
    assert value(samples, "hallq_tickets_waiting", hall="H1", service="svcc") == 0
    assert value(samples, "hallq_counters_open", hall="H1") == 1
    assert value(samples, "hallq_tickets_waiting", hall="H2", service="svca") == 0


class _Hub:
    def __init__(self, levels):
        self.levels = levels

    def deliver(self, payload, _token):
        self.levels.heard(payload)


@pytest.fixture
def levels(rt):
    """Levels kept from a feed of this runtime's events, as the live role keeps them."""
    feed = LocalFeed()
    rt.bus.subscribe(feed.publish)
    serving = threading.Event()
    serving.set()
    kept = QueueLevels(rt, feed, lambda fn: threading.Thread(target=fn, daemon=True).start(), serving.is_set)
    feed.attach(_Hub(kept))
    yield kept, feed
    serving.clear()


def test_a_gap_in_a_halls_event_numbers_reads_the_hall_again(levels, rt, world):
    kept, feed = levels
    h = world.one
    kept.activate()
    assert poll(lambda: kept.levels(h.id))
    queue.issue_ticket(rt, h.id, h.services["A"])
    assert kept.levels(h.id)["waiting"] == {"svca": 1}
    # two tickets whose events were lost on the way (Redis restarting, say)
    rt.bus.publish, publish = (lambda events: None), rt.bus.publish
    queue.issue_ticket(rt, h.id, h.services["B"])
    queue.issue_ticket(rt, h.id, h.services["B"])
    rt.bus.publish = publish
    feed._seq[h.id] += 2  # as Redis numbers them: the next event heard is two past the last
    queue.issue_ticket(rt, h.id, h.services["C"])
    assert poll(lambda: (kept.levels(h.id) or {}).get("waiting") == {"svca": 1, "svcb": 2, "svcc": 1})


def test_a_service_added_after_the_read_is_learnt_from_the_database(levels, rt, world):
    from app.services import config

    kept, _feed = levels
    h = world.one
    kept.activate()
    assert poll(lambda: kept.levels(h.id))
    new = config.create_service(rt, h.id, {"code": "svcd", "prefix": "D", "name_zh": "业务D", "name_en": "Service D",
                                           "target_wait_s": 600, "handle_time_s": 60})["id"]
    queue.issue_ticket(rt, h.id, new)
    assert poll(lambda: (kept.levels(h.id) or {}).get("waiting") == {"svcd": 1})
