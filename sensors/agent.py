"""The hall's footfall edge agent: counts from cameras and infrared counters, spooled, posted to the server.

    python -m sensors.agent --config /etc/hallq/agent.toml            # run (until SIGTERM / Ctrl-C)
    python -m sensors.agent --config /etc/hallq/agent.toml --status   # what is spooled, refused, delivered
    python -m sensors.agent --config /etc/hallq/agent.toml --once     # deliver what is spooled, then exit
    python -m sensors.agent --config /etc/hallq/agent.toml --retry-dead

Inputs add to the spool (``sensors/spool.py``); the uplink (``sensors/uplink.py``) posts it
every ``server.send_interval_s``. See ``sensors/AGENT.md`` and ``sensors/agent.example.toml``.
Exit codes: 0 fine, 1 ``--once`` left something undelivered or another agent holds the spool,
2 a bad config.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import re
import signal
import socket
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from .infrared import DEFAULT_PREFIX, InfraredInput, MqttSettings
from .spool import Spool, SpoolLocked
from .uplink import Uplink, backoff

log = logging.getLogger("agent")

LOG_FORMAT = "%(asctime)s agent %(levelname)s %(message)s"
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


# --------------------------------------------------------------------------- config

class ConfigError(ValueError):
    """A config problem, naming the key: ``server.url: must start with http:// or https://``."""


@dataclass(frozen=True)
class CameraConfig:
    sensor: str
    source: str
    line: tuple[int, int, int, int]  # x1, y1, x2, y2 in the source's own pixels
    view: str = "overhead"
    width: int | None = 640  # None: the source's own width
    zone: tuple[tuple[int, int], ...] | None = None  # a polygon in the source's own pixels
    detector: str | None = None  # oblique view only: nanodet (default), ssdlite or hog


@dataclass(frozen=True)
class AgentConfig:
    server_url: str
    spool_path: Path
    token: str | None = None
    token_file: Path | None = None
    send_interval_s: float = 10.0
    timeout_s: float = 30.0
    keep_days: float = 7.0
    log_level: str = "INFO"
    log_file: Path | None = None
    mqtt: MqttSettings | None = None
    cameras: tuple[CameraConfig, ...] = field(default_factory=tuple)

    def read_token(self) -> str:
        """The device token: ``server.token``, or the file's first line (read again each time)."""
        if self.token is not None:
            return self.token
        return self.token_file.read_text(encoding="utf-8").strip().splitlines()[0].strip()

    @property
    def sensors(self) -> list[str]:
        return [c.sensor for c in self.cameras] + list(self.mqtt.sensors if self.mqtt else ())


_SECTIONS = {
    "server": {"url", "token", "token_file", "send_interval_s", "timeout_s"},
    "spool": {"path", "keep_days"},
    "log": {"level", "file"},
    "mqtt": {"host", "port", "prefix", "sensors", "username", "password", "password_file", "tls", "ca_file",
             "client_id"},
    "cameras": {"sensor", "source", "line", "view", "width", "zone", "detector"},
}


def load_config(path: str | os.PathLike) -> AgentConfig:
    """Read and check a TOML config; ConfigError names the first bad key. Relative paths are from the file's folder."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read the config: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}") from None
    return parse_config(data, path.parent.resolve())


def parse_config(data: dict, base: Path) -> AgentConfig:
    """Check a parsed config (see ``load_config``)."""
    for key in data:
        if key not in _SECTIONS:
            raise ConfigError(f"{key}: unknown section; expected {', '.join(sorted(_SECTIONS))}")
    server = _table(data, "server", required=True)
    spool = _table(data, "spool", required=True)
    logs = _table(data, "log")

    url = _str(server, "server.url", required=True)
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"server.url: {url!r} must be like https://hallq.example.cn")
    token, token_file = _str(server, "server.token"), _path(server, "server.token_file", base)
    if (token is None) == (token_file is None):
        raise ConfigError("server.token / server.token_file: give exactly one of them")
    if token is not None and not token.startswith("dv_"):
        raise ConfigError("server.token: a device token starts with dv_ (shown once when the device was registered)")
    if token_file is not None:
        try:
            first = token_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"server.token_file: cannot read {token_file}: {e.strerror or e}") from None
        if not first.startswith("dv_"):
            raise ConfigError(f"server.token_file: {token_file} must hold the device token (dv_...)")

    level = (_str(logs, "log.level") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"log.level: {level!r} must be DEBUG, INFO, WARNING or ERROR")

    mqtt = _mqtt(data, base)
    cameras = _cameras(data)
    if not cameras and mqtt is None:
        raise ConfigError("cameras / mqtt: nothing to count; configure [[cameras]] or [mqtt] with sensors")
    codes = [c.sensor for c in cameras] + list(mqtt.sensors if mqtt else ())
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise ConfigError(f"sensor {dupes[0]!r} is configured twice (cameras / mqtt.sensors)")

    return AgentConfig(
        server_url=url.rstrip("/"), token=token, token_file=token_file,
        send_interval_s=_number(server, "server.send_interval_s", 10.0, 1, 3600),
        timeout_s=_number(server, "server.timeout_s", 30.0, 1, 300),
        spool_path=_path(spool, "spool.path", base, required=True),
        keep_days=_number(spool, "spool.keep_days", 7.0, 1, 3650),
        log_level=level, log_file=_path(logs, "log.file", base), mqtt=mqtt, cameras=cameras)


def _mqtt(data: dict, base: Path) -> MqttSettings | None:
    m = _table(data, "mqtt")
    if not m and "mqtt" not in data:
        return None
    sensors = m.get("sensors")
    if not isinstance(sensors, list) or not sensors:
        raise ConfigError("mqtt.sensors: list the infrared sensors' codes, e.g. [\"door1-ir\"]")
    for i, code in enumerate(sensors):
        _code(code, f"mqtt.sensors[{i}]")
    prefix = _str(m, "mqtt.prefix") or DEFAULT_PREFIX
    if any(ch in prefix for ch in "+#") or not prefix.strip("/"):
        raise ConfigError(f"mqtt.prefix: {prefix!r} must be a plain topic like {DEFAULT_PREFIX}")
    tls = m.get("tls", False)
    if not isinstance(tls, bool):
        raise ConfigError("mqtt.tls: must be true or false")
    password, password_file = _str(m, "mqtt.password"), _path(m, "mqtt.password_file", base)
    if password is not None and password_file is not None:
        raise ConfigError("mqtt.password / mqtt.password_file: give at most one of them")
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"mqtt.password_file: cannot read {password_file}: {e.strerror or e}") from None
    ca_file = _path(m, "mqtt.ca_file", base)
    if ca_file is not None and not ca_file.is_file():
        raise ConfigError(f"mqtt.ca_file: no file {ca_file}")
    return MqttSettings(
        host=_str(m, "mqtt.host") or "127.0.0.1",
        port=int(_number(m, "mqtt.port", 8883 if tls else 1883, 1, 65535, whole=True)),
        prefix=prefix.rstrip("/"), sensors=tuple(sensors), username=_str(m, "mqtt.username"), password=password,
        tls=tls, ca_file=str(ca_file) if ca_file else None,
        client_id=_str(m, "mqtt.client_id") or f"hallq-agent-{socket.gethostname()}")


def _cameras(data: dict) -> tuple[CameraConfig, ...]:
    cams = data.get("cameras", [])
    if not isinstance(cams, list):
        raise ConfigError("cameras: write each camera as a [[cameras]] table")
    out = []
    for i, cam in enumerate(cams):
        where = f"cameras[{i}]"
        if not isinstance(cam, dict):
            raise ConfigError(f"{where}: write each camera as a [[cameras]] table")
        for key in cam:
            if key not in _SECTIONS["cameras"]:
                raise ConfigError(f"{where}.{key}: unknown key; expected {', '.join(sorted(_SECTIONS['cameras']))}")
        sensor = _code(cam.get("sensor"), f"{where}.sensor")
        line = _ints(cam.get("line"), f"{where}.line", 4)
        if line is None:
            raise ConfigError(f"{where}.line: required: the counting line x1, y1, x2, y2 in pixels, "
                              "e.g. [0, 120, 320, 120]")
        if line[:2] == line[2:]:
            raise ConfigError(f"{where}.line: the two ends are the same point")
        view = _str(cam, f"{where}.view") or "overhead"
        if view not in ("overhead", "oblique"):
            raise ConfigError(f"{where}.view: {view!r} must be overhead or oblique")
        detector = _str(cam, f"{where}.detector")
        if detector is not None and (view != "oblique" or detector not in ("nanodet", "ssdlite", "hog")):
            raise ConfigError(f"{where}.detector: only for view = \"oblique\": nanodet (default), ssdlite or hog")
        width = int(_number(cam, f"{where}.width", 640, 0, 4096, whole=True))
        if 0 < width < 64:
            raise ConfigError(f"{where}.width: {width} is too small (64 or more; 0 for the source's own width)")
        out.append(CameraConfig(
            sensor=sensor, source=_str(cam, f"{where}.source", required=True), line=line, view=view,
            width=width or None, zone=_zone(cam.get("zone"), f"{where}.zone"), detector=detector))
    return tuple(out)


def _zone(value, dotted: str) -> tuple[tuple[int, int], ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) < 3:
        raise ConfigError(f"{dotted}: a polygon of 3 or more [x, y] points, e.g. [[0, 60], [320, 60], [320, 180]]")
    return tuple(_ints(p, f"{dotted}[{i}]", 2) for i, p in enumerate(value))


def _table(data: dict, name: str, required: bool = False) -> dict:
    table = data.get(name)
    if table is None:
        if required:
            raise ConfigError(f"[{name}]: missing section")
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"{name}: must be a [{name}] table")
    for key in table:
        if key not in _SECTIONS[name]:
            raise ConfigError(f"{name}.{key}: unknown key; expected {', '.join(sorted(_SECTIONS[name]))}")
    return table


def _key(dotted: str) -> str:
    return dotted.rsplit(".", 1)[1]


def _str(table: dict, dotted: str, required: bool = False) -> str | None:
    value = table.get(_key(dotted))
    if value is None:
        if required:
            raise ConfigError(f"{dotted}: required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{dotted}: must be a non-empty string")
    return value.strip()


def _path(table: dict, dotted: str, base: Path, required: bool = False) -> Path | None:
    value = _str(table, dotted, required)
    return None if value is None else (base / Path(value).expanduser())


def _number(table: dict, dotted: str, default: float, low: float, high: float, whole: bool = False) -> float:
    value = table.get(_key(dotted), default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not float(value).is_integer()) \
            or not math.isfinite(value) or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise ConfigError(f"{dotted}: {value!r} must be {kind} from {low:g} to {high:g}")
    return value


def _ints(value, dotted: str, n: int) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != n or \
            any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value):
        raise ConfigError(f"{dotted}: must be {n} whole numbers of pixels, 0 or more")
    return tuple(value)


def _code(value, dotted: str) -> str:
    if not isinstance(value, str) or not _CODE.match(value):
        raise ConfigError(f"{dotted}: {value!r} is not a sensor code (letters, digits, - _ .; as registered "
                          "on the server)")
    return value


# --------------------------------------------------------------------------- the camera input

def camera_api():
    """``(iter_crossings, SourceError)`` from ``sensors.camera``, imported late: infrared-only agents need no OpenCV."""
    from . import camera

    return camera.iter_crossings, camera.SourceError


class CameraInput(threading.Thread):
    """One camera: each line crossing adds 1 to its sensor's current minute in the spool.

    A file source that ends stops the input; a stream that fails or ends is reopened with
    backoff (1 s doubling to 5 min; back to 1 s after it ran a minute).
    """

    def __init__(self, spool: Spool, cam: CameraConfig, *, api: Callable[[], tuple] = camera_api,
                 delay: Callable[[int], float] = backoff) -> None:
        super().__init__(name=f"camera {cam.sensor}", daemon=True)
        self.spool, self.cam, self._api, self._delay = spool, cam, api, delay
        self.halt = threading.Event()
        self.crossings = 0
        self.ended = threading.Event()  # a file source ran to its end

    def stop(self) -> None:
        self.halt.set()

    def run(self) -> None:
        cam, attempts = self.cam, 0
        iter_crossings, source_error = self._api()
        while not self.halt.is_set():
            started, counted = time.monotonic(), 0
            log.info("camera %s: opening %s", cam.sensor, cam.source)
            try:
                zone = [list(p) for p in cam.zone] if cam.zone else None
                for crossing in iter_crossings(cam.source, cam.line, view=cam.view, width=cam.width, zone=zone,
                                               detector=cam.detector, stop=self.halt):
                    counted += self._count(crossing)
                if self.halt.is_set():
                    break
                if _is_file(cam.source):
                    log.info("camera %s: %s ended after %d crossing(s); this camera stops counting",
                             cam.sensor, cam.source, counted)
                    self.ended.set()
                    return
                problem = "the stream ended"
            except source_error as e:
                problem = str(e) or type(e).__name__
            except Exception as e:  # a bug or a disk problem: keep trying, loudly
                log.exception("camera %s: failed", cam.sensor)
                problem = f"{type(e).__name__}: {e}"
            attempts = 1 if time.monotonic() - started > 60 else attempts + 1
            delay = self._delay(attempts)
            log.warning("camera %s: %s (%d crossing(s) counted); reopening in %d s (attempt %d)",
                        cam.sensor, problem, counted, round(delay), attempts)
            self.halt.wait(delay)
        log.info("camera %s: stopped (%d crossing(s) counted)", cam.sensor, self.crossings)

    def _count(self, crossing) -> int:
        direction = getattr(crossing, "direction", None)
        if direction not in ("in", "out"):
            log.warning("camera %s: a crossing with direction %r ignored", self.cam.sensor, direction)
            return 0
        self.spool.add(self.cam.sensor, None, in_=int(direction == "in"), out=int(direction == "out"))
        self.crossings += 1
        return 1


def _is_file(source: str) -> bool:
    return "://" not in source and Path(source).is_file()


# --------------------------------------------------------------------------- commands

def setup_logging(cfg: AgentConfig | None, level: str | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if cfg is not None and cfg.log_file is not None:
        cfg.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(cfg.log_file, encoding="utf-8"))
    logging.basicConfig(level=level or (cfg.log_level if cfg else "INFO"), format=LOG_FORMAT,
                        datefmt="%Y-%m-%d %H:%M:%S", handlers=handlers, force=True)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def make_uplink(cfg: AgentConfig, spool: Spool) -> Uplink:
    return Uplink(spool, cfg.server_url, cfg.read_token, timeout=(min(10.0, cfg.timeout_s), cfg.timeout_s),
                  keep_days=cfg.keep_days)


def run(cfg: AgentConfig, spool: Spool, uplink: Uplink) -> int:
    """Start the inputs, deliver until SIGTERM/SIGINT, then stop the inputs and deliver once more."""
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("stopping (%s)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cameras = [CameraInput(spool, cam) for cam in cfg.cameras]
    infrared = InfraredInput(spool, cfg.mqtt) if cfg.mqtt else None
    log.info("started: %d camera(s), %d infrared sensor(s); delivering to %s every %g s; spool %s",
             len(cameras), len(cfg.mqtt.sensors) if cfg.mqtt else 0, cfg.server_url, cfg.send_interval_s,
             cfg.spool_path)
    for cam in cameras:
        cam.start()
    if infrared:
        infrared.start()
    try:
        uplink.run(stop, cfg.send_interval_s)
    finally:
        for cam in cameras:
            cam.stop()
        for cam in cameras:
            cam.join(timeout=15)
        if infrared:
            infrared.stop()
        outcome = uplink.deliver(timeout=(3.0, 10.0))
        left = spool.pending_summary()[0]
        if outcome.ok and not left:
            log.info("stopped; everything counted was delivered")
        else:
            log.warning("stopped; %d minute(s) stay spooled and go when the agent runs again", left)
        spool.close()
    return 0


def deliver_once(cfg: AgentConfig, spool: Spool, uplink: Uplink) -> int:
    outcome = uplink.deliver()
    left = spool.pending_summary()[0]
    spool.close()
    if outcome.ok and not left:
        log.info("--once: everything spooled was delivered")
        return 0
    log.warning("--once: %d minute(s) still spooled", left)
    return 1


def status_text(cfg: AgentConfig) -> str:
    """The spool's state for a person: pending, per sensor today, last delivery and error, dead letters."""
    if not cfg.spool_path.exists():
        return f"spool {cfg.spool_path}: none yet (the agent has not run with this config)\n"
    lines = []
    with Spool(cfg.spool_path) as spool:
        pending, sensors, oldest = spool.pending_summary()
        lines.append(f"spool {cfg.spool_path}")
        lines.append(f"pending: {pending} minute(s) for {sensors} sensor(s)"
                     + (f", oldest {_local(oldest)}" if oldest is not None else ""))
        midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        today = {}
        for r in spool.rows():
            if r.minute >= midnight:
                i, o, _last = today.get(r.sensor, (0, 0, 0))
                today[r.sensor] = (i + r.in_, o + r.out, r.minute)
        for code in sorted(set(cfg.sensors) | set(today)):
            i, o, last = today.get(code, (0, 0, None))
            note = "" if code in cfg.sensors else "  (not in the config)"
            lines.append(f"  today {code}: in {i}, out {o}, last counted minute "
                         f"{_local(last) if last else 'none'}{note}")
        for key, title in (("last_delivery", "last delivery"), ("last_error", "last error")):
            fact = spool.meta(key)
            if fact:
                details = ", ".join(f"{k} {v}" for k, v in fact.items() if k != "at")
                lines.append(f"{title}: {fact.get('at')}: {details}")
            else:
                lines.append(f"{title}: none")
        dead = spool.dead_letters()
        lines.append(f"dead letters: {len(dead)}" + (" (refused by the server for good; fix the cause, then "
                                                      "--retry-dead)" if dead else ""))
        for d in dead[:50]:
            why = f"HTTP {d.status}" + (f" {d.field}" if d.field else "") + (f": {d.message}" if d.message else "")
            lines.append(f"  {d.sensor} {_local(d.minute)} in {d.in_} out {d.out}: {why}")
        if len(dead) > 50:
            lines.append(f"  … and {len(dead) - 50} more")
    return "\n".join(lines) + "\n"


def _local(minute: int) -> str:
    return datetime.fromtimestamp(minute).strftime("%Y-%m-%d %H:%M")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sensors.agent", description="The hall's footfall edge agent.")
    parser.add_argument("--config", required=True, help="the agent's TOML config file")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--status", action="store_true", help="print what is spooled, delivered and refused; exit")
    mode.add_argument("--once", action="store_true", help="deliver what is spooled, then exit (1 if some is left)")
    mode.add_argument("--retry-dead", action="store_true", help="send the dead letters again (after a fix); exit")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print(f"{args.config}: {e}", file=sys.stderr)
        return 2
    if args.status:
        sys.stdout.write(status_text(cfg))
        return 0
    setup_logging(cfg)
    if args.retry_dead:
        with Spool(cfg.spool_path) as spool:
            n = spool.requeue_dead_letters()
        log.info("%d dead letter(s) will be sent again", n)
        return 0
    if cfg.cameras:
        try:
            camera_api()
        except Exception as e:  # ImportError, or OpenCV failing to load
            print(f"{args.config}: cameras: the camera module cannot be loaded ({e}); install OpenCV "
                  "or remove [[cameras]]", file=sys.stderr)
            return 2
    spool = Spool(cfg.spool_path)
    try:
        spool.lock_for_delivery()
    except SpoolLocked as e:
        log.error("%s; stop it first (or use --status)", e)
        spool.close()
        return 1
    uplink = make_uplink(cfg, spool)
    return deliver_once(cfg, spool, uplink) if args.once else run(cfg, spool, uplink)


if __name__ == "__main__":
    sys.exit(main())
