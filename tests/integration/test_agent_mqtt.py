"""The agent's infrared input against the real Mosquitto: what reaches the spool, counted once.

Needs Mosquitto on 127.0.0.1:1883 (anonymous; ``mosquitto -d -c /etc/mosquitto/mosquitto.conf``).
Like the PostgreSQL tests, these fail rather than skip when it is down.
"""
from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import time
import uuid

import paho.mqtt.client as mqtt
import pytest

from sensors.infrared import InfraredInput, MqttSettings
from sensors.spool import Spool
from ..polling import wait_until

BROKER = ("127.0.0.1", 1883)


def broker_up(address: tuple[str, int] = BROKER) -> bool:
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def publisher():
    assert broker_up(), "Mosquitto is not running on 127.0.0.1:1883 (mosquitto -d -c /etc/mosquitto/mosquitto.conf)"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.connect(*BROKER)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


class Hall:
    """One test's topics, spool and agent input; ``restart`` is a new input (and spool) over the same file."""

    def __init__(self, tmp_path, publisher) -> None:
        self.prefix = f"test/{uuid.uuid4().hex[:8]}/footfall"
        self.client_id = f"test-agent-{uuid.uuid4().hex[:8]}"
        self.path = tmp_path / "spool.sqlite3"
        self.publisher = publisher
        self.spool: Spool | None = None
        self.input: InfraredInput | None = None

    def start(self) -> InfraredInput:
        self.spool = Spool(self.path)
        self.input = InfraredInput(self.spool, MqttSettings(
            host=BROKER[0], port=BROKER[1], prefix=self.prefix, sensors=("door1-ir", "door2-ir"),
            client_id=self.client_id))
        self.input.start()
        wait_until(self.input.connected.is_set, "the agent's MQTT connection")
        return self.input

    def stop(self) -> None:
        if self.input is not None:
            self.input.stop()
            self.spool.close()
            self.input = self.spool = None

    def publish(self, sensor: str, payload) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.publisher.publish(f"{self.prefix}/{sensor}", body, qos=1).wait_for_publish(timeout=5)

    def totals(self) -> dict:
        with Spool(self.path) as s:
            return s.totals()

    def settle(self, expected: dict) -> dict:
        """Wait until every sensor reached its expected totals (a marker published last got through)."""
        def reached():
            got = self.totals()
            return all(got.get(k, (0, 0))[0] >= v[0] and got.get(k, (0, 0))[1] >= v[1] for k, v in expected.items())
        wait_until(reached, f"counts {expected} (have {self.totals()})")
        return self.totals()

    def forget_session(self) -> None:
        """Drop the broker's persistent session of this test's agent."""
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=True)
        c.connect(*BROKER)
        c.disconnect()


@pytest.fixture
def hall(tmp_path, publisher):
    h = Hall(tmp_path, publisher)
    yield h
    h.stop()
    h.forget_session()


def test_increments_totals_repeats_restarts_and_bad_messages_leave_the_right_counts(hall, caplog):
    caplog.set_level(logging.INFO, logger="agent")
    hall.start()
    # door1-ir sends increments: an id repeated (a QoS-1 redelivery) counts once
    hall.publish("door1-ir", {"in": 2, "out": 1, "id": "a1"})
    hall.publish("door1-ir", {"in": 2, "out": 1, "id": "a1"})
    hall.publish("door1-ir", {"in": 1, "id": "a2", "at": time.time()})
    hall.publish("door1-ir", {"out": 2})
    # door2-ir sends totals: the first is the starting point, a repeat is harmless, a drop is a restart
    for in_total, out_total in ((100, 90), (104, 91), (104, 91), (3, 1), (5, 2)):
        hall.publish("door2-ir", {"in_total": in_total, "out_total": out_total})
    # things that must not count, nor stop the input
    hall.publish("door1-ir", b"garbage")
    hall.publish("door1-ir", {"in": -1, "id": "bad"})
    hall.publish("door9-ir", {"in": 50})
    hall.publish("door9-ir", {"in": 50})
    # markers, last on each topic: once counted, everything before them on that topic was handled
    hall.publish("door1-ir", {"in": 1, "id": "end"})
    hall.publish("door2-ir", {"in_total": 6, "out_total": 2})
    expected = {"door1-ir": (2 + 1 + 1, 1 + 2), "door2-ir": (4 + 3 + 2 + 1, 1 + 1 + 1)}
    assert hall.settle(expected) == expected
    assert "dropped a bad message on " + hall.prefix + "/door1-ir: not JSON" in caplog.text
    assert "in: -1 is out of range" in caplog.text
    assert caplog.text.count("sensor 'door9-ir' is not in the config") == 1
    assert "door2-ir first totals reading (in_total 100, out_total 90) taken as the starting point" in caplog.text
    assert "door2-ir counter restarted (in_total 104 -> 3, out_total 91 -> 1)" in caplog.text


def test_a_redelivered_message_id_is_not_counted_again_after_the_agent_restarts(hall):
    hall.start()
    hall.publish("door1-ir", {"in": 1, "id": "m1"})
    hall.settle({"door1-ir": (1, 0)})
    hall.stop()
    hall.start()
    hall.publish("door1-ir", {"in": 1, "id": "m1"})  # as the broker would redeliver an unacknowledged one
    hall.publish("door1-ir", {"in": 0, "out": 1, "id": "m2"})
    assert hall.settle({"door1-ir": (1, 1)}) == {"door1-ir": (1, 1)}


def test_totals_continue_from_the_last_reading_after_the_agent_restarts(hall):
    hall.start()
    hall.publish("door2-ir", {"in_total": 500, "out_total": 400})
    hall.publish("door2-ir", {"in_total": 503, "out_total": 400})
    hall.settle({"door2-ir": (3, 0)})
    hall.stop()
    hall.start()
    hall.publish("door2-ir", {"in_total": 510, "out_total": 404})
    assert hall.settle({"door2-ir": (10, 4)}) == {"door2-ir": (10, 4)}


def test_messages_sent_while_the_agent_was_away_are_counted_when_it_returns(hall):
    hall.start()
    hall.stop()  # the broker keeps the agent's session and queues QoS-1 messages for it
    hall.publish("door1-ir", {"in": 2, "id": "away-1"})
    hall.publish("door1-ir", {"in": 3, "id": "away-2"})
    hall.start()
    assert hall.settle({"door1-ir": (5, 0)}) == {"door1-ir": (5, 0)}


class OwnBroker:
    """A Mosquitto process of this test's own, on a free port, to be stopped and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.proc.poll() is None and broker_up(("127.0.0.1", self.port)), "our own broker")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def test_the_input_connects_when_the_broker_comes_and_reconnects_after_it_restarts(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    broker = OwnBroker(port)
    spool = Spool(tmp_path / "spool.sqlite3")
    infrared = InfraredInput(spool, MqttSettings(host="127.0.0.1", port=port, prefix="hallq/footfall",
                                                 sensors=("door1-ir",), client_id="test-agent"))
    infrared.start()  # no broker yet
    try:
        broker.start()
        for round_ in (1, 2):
            wait_until(infrared.connected.is_set, f"the input to connect (round {round_})", deadline_s=30)
            pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{round_}")
            pub.connect("127.0.0.1", port)
            pub.loop_start()
            pub.publish("hallq/footfall/door1-ir", json.dumps({"in": 1, "id": f"r{round_}"}), qos=1) \
                .wait_for_publish(timeout=5)
            pub.disconnect()
            pub.loop_stop()
            wait_until(lambda n=round_: spool.totals() == {"door1-ir": (n, 0)}, f"the count of round {round_}")
            broker.stop()  # a broker restart (it keeps nothing): the input must reconnect and subscribe again
            wait_until(lambda: not infrared.connected.is_set(), "the input to notice the broker went away")
            broker.start()
    finally:
        infrared.stop()
        broker.stop()
        spool.close()
