"""Infrared beam counters over MQTT: each counter publishes JSON on ``<prefix>/<sensor code>``.

Topic: ``hallq/footfall/door1-ir`` with the default prefix ``hallq/footfall``. QoS 1.
Payload, one of (a JSON object, UTF-8):

* cumulative counters (preferred: a repeated or redelivered message is harmless)::

      {"in_total": 1234, "out_total": 1200, "at": "2026-11-22T09:15:03+08:00"}

  The agent counts the difference from the counter's previous totals. The first totals it
  ever sees from a counter only set the starting point (nothing counted). A total lower
  than the previous one means the counter restarted: the new total is what it counted
  since, and is counted. Either total may be left out by a counter that counts one way.

* increments::

      {"in": 2, "out": 0, "at": "2026-11-22T09:15:03+08:00", "id": "c1-000123"}

  ``in``/``out`` default to 0. ``id`` is optional but recommended: the agent remembers the
  last 10 000 ids per sensor (across restarts) and counts a repeated id once, so a QoS-1
  redelivery never counts twice. Without ``id`` a redelivered message counts again.

``at`` (optional): when the people passed, ISO 8601 with a UTC offset or ``Z``, or Unix
seconds. Without it, the time the agent received the message. An ``at`` more than two
minutes ahead of the agent's clock is not believed: the receive time is used.

A bad payload is logged and dropped; it never stops the agent.
"""
from __future__ import annotations

import json
import logging
import math
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Union

from .spool import Spool

log = logging.getLogger("agent")

DEFAULT_PREFIX = "hallq/footfall"
MAX_INCREMENT = 1000  # people in one message: more is a fault (the server takes at most 1000 a minute)
MAX_TOTAL = 2**53
MAX_ID_LENGTH = 200
FUTURE_SLACK_S = 120


class PayloadError(ValueError):
    """A message the agent cannot use; the text says why, for the log."""


@dataclass(frozen=True)
class Increment:
    sensor: str
    in_: int
    out: int
    at: float | None  # Unix seconds; None: when received
    message_id: str | None = None


@dataclass(frozen=True)
class Totals:
    sensor: str
    in_total: int | None
    out_total: int | None
    at: float | None


Reading = Union[Increment, Totals]


# --------------------------------------------------------------------------- pure parsing

def sensor_of(topic: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The sensor code in ``<prefix>/<code>``; PayloadError for any other topic."""
    head = prefix.rstrip("/") + "/"
    code = topic[len(head):] if topic.startswith(head) else ""
    if not code or "/" in code:
        raise PayloadError(f"topic {topic!r} is not {head}<sensor code>")
    return code


def parse_message(topic: str, payload: bytes, prefix: str = DEFAULT_PREFIX) -> Reading:
    """Turn one MQTT message into an Increment or Totals; PayloadError says what is wrong."""
    sensor = sensor_of(topic, prefix)
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PayloadError(f"not JSON: {_excerpt(payload)}") from None
    if not isinstance(data, dict):
        raise PayloadError(f"not a JSON object: {_excerpt(payload)}")
    at = parse_at(data.get("at"))
    has_totals = "in_total" in data or "out_total" in data
    has_increments = "in" in data or "out" in data
    if has_totals and has_increments:
        raise PayloadError("give either in/out or in_total/out_total, not both")
    if has_totals:
        _no_other_keys(data, {"in_total", "out_total", "at", "id"})
        return Totals(sensor, _count(data, "in_total", MAX_TOTAL), _count(data, "out_total", MAX_TOTAL), at)
    if not has_increments:
        raise PayloadError("no counts: give in/out or in_total/out_total")
    _no_other_keys(data, {"in", "out", "at", "id"})
    return Increment(sensor, _count(data, "in", MAX_INCREMENT) or 0, _count(data, "out", MAX_INCREMENT) or 0,
                     at, _message_id(data.get("id")))


def parse_at(value) -> float | None:
    """``at`` as Unix seconds: ISO 8601 with an offset or Z, or a number of seconds; None if absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise PayloadError(f"at: {value!r} is not a time")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not 0 < value < 2**34:
            raise PayloadError(f"at: {value!r} is not a Unix time in seconds")
        return float(value)
    if not isinstance(value, str):
        raise PayloadError(f"at: {value!r} is not a time")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PayloadError(f"at: {value!r} is not ISO 8601 (e.g. 2026-11-22T09:15:03+08:00)") from None
    if moment.tzinfo is None:
        raise PayloadError(f"at: {value!r} has no UTC offset (e.g. +08:00 or Z)")
    return moment.timestamp()


def increment_from_totals(previous: int | None, current: int) -> int:
    """People counted between two readings of a cumulative counter.

    No previous reading: 0 (the reading is the starting point). A lower reading: the counter
    restarted from zero, so everything it shows was counted since.
    """
    if previous is None:
        return 0
    return current - previous if current >= previous else current


def effective_time(at: float | None, received: float) -> float:
    """The time to count a reading at: its own, unless absent or too far ahead of ours."""
    if at is None or at > received + FUTURE_SLACK_S:
        return received
    return at


def _count(data: dict, key: str, limit: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{key}: {value!r} is not a whole number")
    if not 0 <= value <= limit:
        raise PayloadError(f"{key}: {value} is out of range 0..{limit}")
    return value


def _message_id(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PayloadError(f"id: {value!r} is not a string or a number")
    text = str(value)
    if not text or len(text) > MAX_ID_LENGTH:
        raise PayloadError(f"id: must be 1..{MAX_ID_LENGTH} characters")
    return text


def _no_other_keys(data: dict, allowed: set[str]) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise PayloadError(f"unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}")


def _excerpt(payload: bytes, n: int = 80) -> str:
    text = payload[:n].decode("utf-8", errors="replace")
    return repr(text + ("…" if len(payload) > n else ""))


# --------------------------------------------------------------------------- recording

def record(spool: Spool, reading: Reading, received: float) -> tuple[int, int] | None:
    """Put one reading into the spool. Returns (in, out) counted, or None for an already seen message id."""
    at = effective_time(reading.at, received)
    if isinstance(reading, Totals):
        return _record_totals(spool, reading, at)
    if reading.message_id is not None:
        if not spool.add_message(reading.sensor, reading.message_id, at, reading.in_, reading.out):
            return None
    else:
        spool.add(reading.sensor, at, reading.in_, reading.out)
    return reading.in_, reading.out


def _record_totals(spool: Spool, reading: Totals, at: float) -> tuple[int, int]:
    """Count a totals reading; tell the installer about a counter's first reading and about a restart."""
    seen: list[tuple[int | None, int]] = []  # (previous, current), ``in`` first

    def rule(previous: int | None, current: int) -> int:
        seen.append((previous, current))
        return increment_from_totals(previous, current)

    counted = spool.add_totals(reading.sensor, reading.in_total, reading.out_total, rule, at)
    names = [n for n, v in (("in_total", reading.in_total), ("out_total", reading.out_total)) if v is not None]
    pairs = dict(zip(names, seen, strict=True))
    if any(prev is None for prev, _ in pairs.values()):
        log.info("mqtt: %s first totals reading (%s) taken as the starting point", reading.sensor,
                 ", ".join(f"{n} {cur}" for n, (prev, cur) in pairs.items() if prev is None))
    drops = {n: (prev, cur) for n, (prev, cur) in pairs.items() if prev is not None and cur < prev}
    if drops:
        log.info("mqtt: %s counter restarted (%s); counting what it shows since", reading.sensor,
                 ", ".join(f"{n} {prev} -> {cur}" for n, (prev, cur) in drops.items()))
    return counted


# --------------------------------------------------------------------------- the MQTT input

@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = DEFAULT_PREFIX
    sensors: tuple[str, ...] = ()
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    client_id: str = "hallq-agent"
    keepalive_s: int = 30


class InfraredInput:
    """Subscribes to ``<prefix>/+`` (QoS 1) and records every reading of a configured sensor.

    A persistent session (clean_session false, a fixed client id) lets the broker keep QoS-1
    messages for the agent while it is away. paho acknowledges a message only after
    ``on_message`` returned, i.e. after the spool committed it. paho reconnects by itself.
    """

    def __init__(self, spool: Spool, settings: MqttSettings, *, clock: Callable[[], float] = time.time) -> None:
        import paho.mqtt.client as mqtt  # here: an agent with cameras only does not need paho

        self.spool = spool
        self.settings = settings
        self._clock = clock
        self._known = set(settings.sensors)
        self._unknown_logged: set[str] = set()
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.counted = 0  # messages that counted, for tests and the stop line
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=settings.client_id, clean_session=False)
        if settings.username:
            c.username_pw_set(settings.username, settings.password)
        if settings.tls:
            c.tls_set(ca_certs=settings.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        c.reconnect_delay_set(min_delay=1, max_delay=60)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self._client = c

    @property
    def topic(self) -> str:
        return self.settings.prefix.rstrip("/") + "/+"

    def start(self) -> None:
        s = self.settings
        log.info("mqtt: connecting to %s:%s%s, topic %s", s.host, s.port, " (TLS)" if s.tls else "", self.topic)
        self._client.connect_async(s.host, s.port, keepalive=s.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        log.info("mqtt: stopped (%d message(s) counted)", self.counted)

    # paho callbacks (its network thread)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("mqtt: broker %s:%s refused the connection: %s (check mqtt.username/password)",
                      self.settings.host, self.settings.port, reason_code)
            return
        client.subscribe(self.topic, qos=1)
        log.info("mqtt: connected to %s:%s, subscribed to %s", self.settings.host, self.settings.port, self.topic)
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if reason_code.is_failure:
            log.warning("mqtt: lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        try:
            self.handle(message.topic, message.payload)
        except Exception:  # never let one message stop the input
            log.exception("mqtt: could not record a message on %s", message.topic)

    def handle(self, topic: str, payload: bytes) -> None:
        """Parse and record one message; log and drop what cannot be used."""
        try:
            reading = parse_message(topic, payload, self.settings.prefix)
        except PayloadError as e:
            log.warning("mqtt: dropped a bad message on %s: %s", topic, e)
            return
        if reading.sensor not in self._known:
            with self._lock:
                first = reading.sensor not in self._unknown_logged
                self._unknown_logged.add(reading.sensor)
            if first:
                log.warning("mqtt: sensor %r is not in the config (mqtt.sensors); its messages are ignored",
                            reading.sensor)
            return
        received = self._clock()
        if reading.at is not None and reading.at > received + FUTURE_SLACK_S:
            log.warning("mqtt: %s sent a time %s s ahead of this machine's clock; counted at receipt",
                        reading.sensor, round(reading.at - received))
        counted = record(self.spool, reading, received)
        if counted is None:
            log.debug("mqtt: %s message id %s already counted", reading.sensor, getattr(reading, "message_id", ""))
            return
        self.counted += 1
        if isinstance(reading, Totals) and counted != (0, 0):
            log.debug("mqtt: %s totals → +%d in, +%d out", reading.sensor, *counted)
