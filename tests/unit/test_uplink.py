"""The uplink against a fake server: batches, refusals, dead letters, backoff, lost answers."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests

from sensors.spool import Spool, minute_of
from sensors.uplink import MAX_DELAY_S, Uplink, backoff, row_index

NOW = datetime(2026, 11, 22, 1, 15, 30, tzinfo=timezone.utc)
OLD = NOW - timedelta(hours=1)


class FakeResponse:
    def __init__(self, status: int, body: dict, headers: dict | None = None) -> None:
        self.status_code, self._body, self.headers = status, body, headers or {}
        self.text = str(body)

    def json(self):
        return self._body


class FakeServer(requests.Session):
    """Answers posts like the real API: 200 with stored/replaced counts, or what ``rules`` say."""

    def __init__(self) -> None:
        super().__init__()
        self.minutes: dict[tuple[str, str], tuple[int, int]] = {}
        self.posts: list[list[dict]] = []
        self.unknown: set[str] = set()
        self.foreign: set[str] = set()  # sensors of another device
        self.script: list = []  # responses or exceptions to give first, in order
        self.named = True  # whether a 422 names the row
        self.tokens: list[str] = []

    def post(self, url, json=None, timeout=None, headers=None):
        self.tokens.append(headers["Authorization"])
        counts = json["counts"]
        self.posts.append(counts)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            if callable(step):
                return step(counts)
            return step
        for i, c in enumerate(counts):
            if c["sensor"] in self.foreign:
                return FakeResponse(403, {"error": {"status": 403, "code": "forbidden", "field": f"counts[{i}].sensor",
                                                    "message": "reports through another device"}})
            if c["sensor"] in self.unknown:
                return FakeResponse(422, {"error": {"status": 422, "code": "invalid",
                                                    "field": f"counts[{i}].sensor" if self.named else "counts",
                                                    "message": f"no sensor {c['sensor']!r}"}})
        return self.store(counts)

    def store(self, counts):
        result = {"stored": 0, "replaced": 0, "unchanged": 0}
        for c in counts:
            key, value = (c["sensor"], c["minute"]), (c["in"], c["out"])
            old = self.minutes.get(key)
            result["stored" if old is None else "unchanged" if old == value else "replaced"] += 1
            self.minutes[key] = value
        return FakeResponse(200, result)

    def totals(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for (sensor, _), (i, o) in self.minutes.items():
            a, b = out.get(sensor, (0, 0))
            out[sensor] = (a + i, b + o)
        return out


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def spool(tmp_path):
    s = Spool(tmp_path / "spool.sqlite3", clock=NOW.timestamp, synchronous="OFF")
    yield s
    s.close()


@pytest.fixture
def server():
    return FakeServer()


@pytest.fixture
def mono():
    return Monotonic()


@pytest.fixture
def uplink(spool, server, mono):
    return Uplink(spool, "http://hall.test/", "dv_token", session=server, batch_size=3, clock=NOW.timestamp,
                  monotonic=mono, rng=lambda: 1.0, guard_s=60)


def test_everything_pending_goes_in_batches_and_is_then_sent(uplink, spool, server):
    for m in range(7):
        spool.add("door1-ir", OLD + timedelta(minutes=m), in_=m + 1)
    outcome = uplink.deliver()
    assert outcome.ok and outcome.minutes == 7 and outcome.stored == 7
    assert [len(p) for p in server.posts] == [3, 3, 1]
    assert server.posts[0][0] == {"sensor": "door1-ir", "minute": "2026-11-22T00:15:00+00:00", "in": 1, "out": 0}
    assert server.tokens[0] == "Bearer dv_token"
    assert spool.pending() == []
    assert server.totals() == {"door1-ir": (28, 0)}


def test_the_minute_in_progress_is_posted_again_when_it_grows(uplink, spool, server):
    spool.add("door1-cam", NOW, in_=1)
    uplink.deliver()
    spool.add("door1-cam", NOW, in_=1)
    outcome = uplink.deliver()
    assert outcome.replaced == 1
    assert server.totals() == {"door1-cam": (2, 0)}
    assert uplink.deliver().minutes == 0  # nothing new: nothing posted
    assert len(server.posts) == 2


def test_a_row_the_server_names_as_invalid_becomes_a_dead_letter_and_the_rest_flows(uplink, spool, server, caplog):
    caplog.set_level(logging.INFO, logger="agent")
    server.unknown.add("ghost")
    for m in range(3):
        spool.add("door1-ir", OLD + timedelta(minutes=m), in_=1)
    spool.add("ghost", OLD + timedelta(minutes=1), in_=5)
    outcome = uplink.deliver()
    assert outcome.ok and outcome.dead == 1
    assert server.totals() == {"door1-ir": (3, 0)}
    [dead] = spool.dead_letters()
    assert (dead.sensor, dead.in_, dead.status, dead.field) == ("ghost", 5, 422, "counts[2].sensor")
    assert spool.pending() == []
    assert "server refused ghost" in caplog.text and "dead letter" in caplog.text


def test_without_a_named_row_the_batch_is_halved_until_the_bad_row_is_found(uplink, spool, server):
    server.unknown.add("ghost")
    server.named = False
    uplink.batch_size = 500
    for m in range(9):
        spool.add("door1-ir", OLD + timedelta(minutes=m), in_=1)
    spool.add("ghost", OLD + timedelta(minutes=4), in_=5)
    spool.add("ghost", OLD + timedelta(minutes=8), in_=5)
    assert uplink.deliver().dead == 2
    assert server.totals() == {"door1-ir": (9, 0)}
    assert {d.minute for d in spool.dead_letters()} == {minute_of(OLD + timedelta(minutes=m)) for m in (4, 8)}


def test_a_refused_recent_minute_is_held_back_not_dead_lettered(uplink, spool, server):
    server.unknown.add("ghost")
    spool.add("ghost", NOW, in_=1)  # e.g. "in the future" by a clock running ahead
    spool.add("door1-ir", NOW, in_=1)
    outcome = uplink.deliver()
    assert outcome.ok and outcome.dead == 0
    assert spool.dead_letters() == []
    assert [r.sensor for r in spool.pending()] == ["ghost"]
    assert server.totals() == {"door1-ir": (1, 0)}


@pytest.mark.parametrize("status, words", [(401, "device token"), (403, "sensor device"), (404, "server.url")])
def test_a_refused_token_or_wrong_address_keeps_everything_spooled(uplink, spool, server, status, words, caplog):
    server.script = [FakeResponse(status, {"error": {"status": status, "message": "no"}})]
    spool.add("door1-ir", OLD, in_=1)
    outcome = uplink.deliver()
    assert not outcome.ok and outcome.serious
    assert len(spool.pending()) == 1 and spool.dead_letters() == []
    assert words in caplog.text and "1 minute(s) spooled; retrying in" in caplog.text
    assert [r.levelname for r in caplog.records if "retrying" in r.message] == ["ERROR"]
    assert uplink.deliver().ok  # the admin fixed it
    assert server.totals() == {"door1-ir": (1, 0)}


def test_a_sensor_of_another_device_is_held_back_while_the_others_flow(uplink, spool, server, mono):
    server.foreign.add("door2-ir")
    spool.add("door1-ir", OLD, in_=1)
    spool.add("door2-ir", OLD, in_=2)
    assert uplink.deliver().ok
    assert server.totals() == {"door1-ir": (1, 0)}
    posts = len(server.posts)
    spool.add("door1-ir", OLD, in_=1)
    uplink.deliver()
    assert all(c["sensor"] == "door1-ir" for c in server.posts[-1])  # door2-ir waits out its backoff
    server.foreign.clear()
    mono.now += MAX_DELAY_S
    uplink.deliver()
    assert server.totals() == {"door1-ir": (2, 0), "door2-ir": (2, 0)}
    assert len(server.posts) == posts + 2


def test_an_unreachable_server_means_backing_off_with_growing_delays(uplink, spool, server, caplog):
    caplog.set_level(logging.INFO, logger="agent")
    spool.add("door1-ir", OLD, in_=1)
    server.script = [requests.ConnectionError("[Errno 111] Connection refused")] * 3
    delays = []
    for _ in range(3):
        outcome = uplink.deliver()
        assert not outcome.ok and not outcome.serious
        delays.append(uplink.retry_in(outcome))
    assert delays == [1.0, 2.0, 4.0]
    assert {r.levelname for r in caplog.records} == {"WARNING"}
    assert "server unreachable (connection refused); 1 minute(s) spooled; retrying in 4 s" in caplog.text
    assert uplink.deliver().ok
    assert uplink.failures == 0
    assert "server reachable again after 3 failed attempt(s)" in caplog.text


def test_a_server_error_honours_retry_after(uplink, spool, server):
    spool.add("door1-ir", OLD, in_=1)
    server.script = [FakeResponse(503, {}, {"Retry-After": "120"})]
    outcome = uplink.deliver()
    assert not outcome.ok and uplink.retry_in(outcome) == 120


def test_backoff_doubles_from_one_second_to_five_minutes_with_jitter():
    assert [backoff(n, lambda: 1.0) for n in (1, 2, 3, 9, 10, 50)] == [1, 2, 4, 256, 300, 300]
    assert backoff(3, lambda: 0.0) == 2.0


def test_a_lost_answer_is_posted_again_and_counts_once(uplink, spool, server, mono):
    spool.add("door1-ir", OLD, in_=2)

    def committed_but_lost(counts):
        server.store(counts)
        raise requests.ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed connection'))")

    server.script = [committed_but_lost]
    outcome = uplink.deliver()
    assert not outcome.ok and "connection closed without an answer" in outcome.problem
    assert uplink.deliver().unchanged == 1
    # the first post might still land late: the row goes once more after the guard time
    assert len(spool.pending()) == 1
    mono.now += 61
    uplink.deliver()
    assert spool.pending() == []
    assert server.totals() == {"door1-ir": (2, 0)}


def test_the_token_is_read_again_for_each_post(spool, server, mono):
    tokens = iter(["dv_old", "dv_new"])
    uplink = Uplink(spool, "http://hall.test", lambda: next(tokens), session=server, monotonic=mono)
    server.script = [FakeResponse(401, {})]
    spool.add("door1-ir", OLD, in_=1)
    uplink.deliver()
    uplink.deliver()
    assert server.tokens == ["Bearer dv_old", "Bearer dv_new"]


def test_the_server_error_names_a_row():
    assert row_index("counts[12].minute") == 12
    assert row_index("counts") is None and row_index(None) is None


def test_a_delivery_is_remembered_for_status(uplink, spool):
    spool.add("door1-ir", OLD, in_=1)
    uplink.deliver()
    fact = spool.meta("last_delivery")
    assert fact["minutes"] == 1 and fact["stored"] == 1 and re.match(r"\d{4}-\d\d-\d\dT", fact["at"])


def test_a_200_that_is_not_the_apis_answer_is_not_taken_for_a_delivery(uplink, spool, server):
    server.script = [FakeResponse(200, {"text": "<html>Welcome to the hotel Wi-Fi</html>"})]
    spool.add("door1-ir", OLD, in_=1)
    outcome = uplink.deliver()
    assert not outcome.ok and outcome.serious and "server.url" in outcome.problem
    assert len(spool.pending()) == 1
