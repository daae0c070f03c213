"""Infrared counter messages: parsing, the totals rule, and what the input does with each (no broker)."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import pytest

from sensors.infrared import (
    FUTURE_SLACK_S, Increment, InfraredInput, MqttSettings, PayloadError, Totals, effective_time,
    increment_from_totals, parse_at, parse_message, record, sensor_of,
)
from sensors.spool import Spool

TOPIC = "hallq/footfall/door1-ir"
AT = "2026-11-22T09:15:03+08:00"
AT_S = datetime(2026, 11, 22, 1, 15, 3, tzinfo=timezone.utc).timestamp()


def msg(**body) -> bytes:
    return json.dumps(body).encode()


def test_the_sensor_is_the_topic_level_after_the_prefix():
    assert sensor_of(TOPIC) == "door1-ir"
    assert sensor_of("site/a/door2", "site/a/") == "door2"
    for topic in ("hallq/footfall/", "hallq/footfall/a/b", "other/door1-ir", "hallq/footfallx/door1"):
        with pytest.raises(PayloadError):
            sensor_of(topic)


def test_an_increment_message_with_time_and_id():
    assert parse_message(TOPIC, msg(**{"in": 2, "out": 0, "at": AT, "id": "c1-000123"})) == \
        Increment("door1-ir", 2, 0, AT_S, "c1-000123")


def test_an_increment_may_leave_out_a_direction_the_time_and_the_id():
    assert parse_message(TOPIC, msg(out=3)) == Increment("door1-ir", 0, 3, None, None)
    assert parse_message(TOPIC, msg(**{"in": 1.0, "id": 42})) == Increment("door1-ir", 1, 0, None, "42")


def test_a_totals_message_with_one_or_both_directions():
    assert parse_message(TOPIC, msg(in_total=1234, out_total=1200, at=AT)) == Totals("door1-ir", 1234, 1200, AT_S)
    assert parse_message(TOPIC, msg(in_total=5)) == Totals("door1-ir", 5, None, None)


@pytest.mark.parametrize("payload, says", [
    (b"not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (msg(**{"in": 1, "in_total": 3}), "not both"),
    (msg(at=AT), "no counts"),
    (msg(**{"in": -1}), "out of range"),
    (msg(**{"in": 1001}), "out of range"),
    (msg(**{"in": 1.5}), "not a whole number"),
    (msg(**{"in": True}), "not a whole number"),
    (msg(**{"in": "2"}), "not a whole number"),
    (msg(in_total=-5), "out of range"),
    (msg(**{"in": 1, "door": "north"}), "unknown key(s) door"),
    (msg(**{"in": 1, "id": ""}), "id:"),
    (msg(**{"in": 1, "id": {"a": 1}}), "id:"),
    (msg(**{"in": 1, "at": "2026-11-22T09:15:03"}), "no UTC offset"),
    (msg(**{"in": 1, "at": "yesterday"}), "not ISO 8601"),
    (msg(**{"in": 1, "at": -5}), "not a Unix time"),
])
def test_a_bad_message_says_what_is_wrong(payload, says):
    with pytest.raises(PayloadError, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse_message(TOPIC, payload)


def test_times_may_be_iso_8601_with_z_or_unix_seconds():
    assert parse_at("2026-11-22T01:15:03Z") == AT_S
    assert parse_at(1795331703) == 1795331703.0
    assert parse_at(None) is None


def test_totals_count_the_difference_and_a_drop_means_the_counter_restarted():
    assert increment_from_totals(None, 1234) == 0
    assert increment_from_totals(1234, 1234) == 0
    assert increment_from_totals(1234, 1240) == 6
    assert increment_from_totals(1240, 3) == 3


def test_a_time_too_far_ahead_of_ours_is_not_believed():
    assert effective_time(None, 1000.0) == 1000.0
    assert effective_time(990.0, 1000.0) == 990.0
    assert effective_time(1000.0 + FUTURE_SLACK_S, 1000.0) == 1000.0 + FUTURE_SLACK_S
    assert effective_time(1001.0 + FUTURE_SLACK_S, 1000.0) == 1000.0


# --------------------------------------------------------------------------- the input, fed by hand

@pytest.fixture
def spool(tmp_path):
    s = Spool(tmp_path / "spool.sqlite3", synchronous="OFF")
    yield s
    s.close()


@pytest.fixture
def infrared(spool):
    return InfraredInput(spool, MqttSettings(sensors=("door1-ir", "door2-ir")), clock=lambda: AT_S + 30)


def test_recording_counts_increments_once_per_id_and_totals_by_difference(spool):
    assert record(spool, Increment("door1-ir", 2, 1, AT_S, "m1"), AT_S) == (2, 1)
    assert record(spool, Increment("door1-ir", 2, 1, AT_S, "m1"), AT_S) is None
    assert record(spool, Increment("door1-ir", 1, 0, None, None), AT_S) == (1, 0)
    assert record(spool, Totals("door2-ir", 10, 10, AT_S), AT_S) == (0, 0)
    assert record(spool, Totals("door2-ir", 14, 11, AT_S), AT_S) == (4, 1)
    assert spool.totals() == {"door1-ir": (3, 1), "door2-ir": (4, 1)}


def test_the_input_drops_bad_messages_and_goes_on(infrared, spool, caplog):
    caplog.set_level(logging.WARNING, logger="agent")
    infrared.handle(TOPIC, b"{oops")
    infrared.handle(TOPIC, msg(**{"in": 3}))
    assert spool.totals() == {"door1-ir": (3, 0)}
    assert "dropped a bad message on hallq/footfall/door1-ir: not JSON" in caplog.text


def test_the_input_ignores_sensors_not_in_the_config_and_says_so_once(infrared, spool, caplog):
    caplog.set_level(logging.WARNING, logger="agent")
    for _ in range(3):
        infrared.handle("hallq/footfall/door9-ir", msg(**{"in": 1}))
    assert spool.totals() == {}
    assert caplog.text.count("door9-ir") == 1


def test_the_input_counts_at_the_receive_time_when_the_device_clock_runs_ahead(infrared, spool):
    infrared.handle(TOPIC, msg(**{"in": 1, "at": "2027-01-01T00:00:00Z"}))
    [row] = spool.rows()
    assert row.minute == int((AT_S + 30) // 60 * 60)
