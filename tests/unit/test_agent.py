"""The agent's config checks and its camera input (with a fake frame source)."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from sensors import agent
from sensors.agent import CameraConfig, CameraInput, ConfigError, load_config, main, parse_config
from sensors.spool import Spool
from sensors.tracking import Crossing

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "sensors" / "agent.example.toml"

MINIMAL = {"server": {"url": "http://127.0.0.1:5000", "token": "dv_x"}, "spool": {"path": "spool.sqlite3"},
           "mqtt": {"sensors": ["door1-ir"]}}


def config(**changes) -> dict:
    data = {k: dict(v) for k, v in MINIMAL.items()}
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        if value is None:
            data[section].pop(key, None)
        else:
            data.setdefault(section, {})[key] = value
    return data


def test_the_example_config_is_valid(tmp_path):
    (tmp_path / "agent.toml").write_text(EXAMPLE.read_text())
    (tmp_path / "agent.token").write_text("dv_secret\n")
    cfg = load_config(tmp_path / "agent.toml")
    assert cfg.read_token() == "dv_secret"
    assert cfg.spool_path == tmp_path / "spool.sqlite3"
    assert cfg.mqtt.sensors == ("door1-ir", "door2-ir") and cfg.mqtt.prefix == "hallq/footfall"
    assert cfg.cameras == (CameraConfig("door1-cam", "rtsp://192.0.2.10:554/stream1", (0, 120, 320, 120)),)
    assert cfg.sensors == ["door1-cam", "door1-ir", "door2-ir"]
    assert cfg.send_interval_s == 10


def test_a_minimal_config_takes_the_defaults(tmp_path):
    cfg = parse_config(config(), tmp_path)
    assert (cfg.mqtt.host, cfg.mqtt.port, cfg.keep_days, cfg.timeout_s) == ("127.0.0.1", 1883, 7.0, 30.0)
    assert cfg.mqtt.client_id.startswith("hallq-agent-")


@pytest.mark.parametrize("changes, says", [
    ({"server__url": None}, "server.url: required"),
    ({"server__url": "hallq.example.cn"}, "server.url:"),
    ({"server__token": None}, "server.token / server.token_file: give exactly one"),
    ({"server__token": "abc"}, "server.token: a device token starts with dv_"),
    ({"server__token_file": "missing.token"}, "server.token / server.token_file"),
    ({"server__send_interval_s": 0}, "server.send_interval_s: 0 must be a number from 1 to 3600"),
    ({"server__send_interval_s": "10"}, "server.send_interval_s:"),
    ({"server__sent_interval": 10}, "server.sent_interval: unknown key"),
    ({"spool__path": None}, "spool.path: required"),
    ({"mqtt__sensors": []}, "mqtt.sensors: list"),
    ({"mqtt__sensors": ["door 1"]}, "mqtt.sensors[0]:"),
    ({"mqtt__sensors": ["a", "a"]}, "sensor 'a' is configured twice"),
    ({"mqtt__prefix": "hallq/#"}, "mqtt.prefix:"),
    ({"mqtt__port": 70000}, "mqtt.port:"),
    ({"mqtt__tls": "yes"}, "mqtt.tls:"),
    ({"log__level": "chatty"}, "log.level:"),
])
def test_a_bad_setting_is_named(tmp_path, changes, says):
    with pytest.raises(ConfigError) as e:
        parse_config(config(**changes), tmp_path)
    assert says in str(e.value)


def test_a_missing_token_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"server.token_file: cannot read .*missing.token"):
        parse_config(config(server__token=None, server__token_file="missing.token"), tmp_path)


@pytest.mark.parametrize("camera, says", [
    ({"source": "a.avi", "line": [0, 1, 2, 3]}, "cameras[0].sensor:"),
    ({"sensor": "c", "line": [0, 1, 2, 3]}, "cameras[0].source: required"),
    ({"sensor": "c", "source": "a.avi"}, "cameras[0].line: required"),
    ({"sensor": "c", "source": "a.avi", "line": [0, 1, 2]}, "cameras[0].line: must be 4 whole numbers"),
    ({"sensor": "c", "source": "a.avi", "line": [5, 5, 5, 5]}, "the two ends are the same point"),
    ({"sensor": "c", "source": "a.avi", "line": [0, 1, 2, 3], "view": "side"}, "cameras[0].view:"),
    ({"sensor": "c", "source": "a.avi", "line": [0, 1, 2, 3], "detector": "hog"}, "cameras[0].detector:"),
    ({"sensor": "c", "source": "a.avi", "line": [0, 1, 2, 3], "zone": [0, 1, 2, 3]}, "cameras[0].zone[0]:"),
    ({"sensor": "c", "source": "a.avi", "line": [0, 1, 2, 3], "fps": 5}, "cameras[0].fps: unknown key"),
])
def test_a_bad_camera_setting_is_named(tmp_path, camera, says):
    data = config()
    data["cameras"] = [camera]
    with pytest.raises(ConfigError) as e:
        parse_config(data, tmp_path)
    assert says in str(e.value)


def test_nothing_to_count_is_a_config_error(tmp_path):
    data = config()
    del data["mqtt"]
    with pytest.raises(ConfigError, match="nothing to count"):
        parse_config(data, tmp_path)


def test_the_command_exits_2_naming_the_bad_key(tmp_path, capsys):
    path = tmp_path / "agent.toml"
    path.write_text('[server]\nurl = "http://x"\ntoken = "dv_x"\n[spool]\npath = "s.db"\n[mqtt]\nsensors = ["a"]\n'
                    'password = 5\n')
    assert main(["--config", str(path)]) == 2
    assert "mqtt.password: must be a non-empty string" in capsys.readouterr().err
    path.write_text("[server\n")
    assert main(["--config", str(path)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_status_tells_pending_dead_letters_and_deliveries(tmp_path, capsys):
    path = tmp_path / "agent.toml"
    path.write_text('[server]\nurl = "http://x"\ntoken = "dv_x"\n[spool]\npath = "s.db"\n[mqtt]\nsensors = ["a"]\n')
    assert main(["--config", str(path), "--status"]) == 0
    assert "none yet" in capsys.readouterr().out
    with Spool(tmp_path / "s.db") as s:
        s.add("a", None, in_=3, out=1)
        s.add("ghost", 120.0, in_=1)
        from sensors.spool import Refusal
        s.dead_letter(s.pending(skip_sensors=["a"]), Refusal(422, "invalid", "counts[0].sensor", "no sensor"))
        s.set_meta("last_delivery", {"at": "2026-11-22T09:15:03+08:00", "minutes": 2, "stored": 2})
    assert main(["--config", str(path), "--status"]) == 0
    out = capsys.readouterr().out
    assert "pending: 1 minute(s) for 1 sensor(s)" in out
    assert "today a: in 3, out 1" in out
    assert "last delivery: 2026-11-22T09:15:03+08:00: minutes 2, stored 2" in out
    assert "dead letters: 1" in out and "ghost" in out and "HTTP 422 counts[0].sensor: no sensor" in out
    assert main(["--config", str(path), "--retry-dead"]) == 0
    assert main(["--config", str(path), "--status"]) == 0
    assert "dead letters: 0" in capsys.readouterr().out


# --------------------------------------------------------------------------- the camera input

class FakeSourceError(Exception):
    pass


def fake_camera(script: list):
    """An ``iter_crossings`` that plays, per opening, a list of directions, then ends or raises."""
    openings = []

    def iter_crossings(source, line, *, view, width, zone, detector, stop):
        openings.append((source, line, view, width, zone, detector))
        step = script.pop(0) if script else FakeSourceError("no more")
        if isinstance(step, Exception):
            raise step
        for i, direction in enumerate(step):
            yield Crossing(direction, i, i)
        if not script and "://" in source:  # a stream with nothing more to play: wait to be stopped
            stop.wait(10)

    return (lambda: (iter_crossings, FakeSourceError)), openings


@pytest.fixture
def spool(tmp_path):
    s = Spool(tmp_path / "spool.sqlite3", synchronous="OFF")
    yield s
    s.close()


def test_a_camera_file_counts_each_crossing_and_stops_at_its_end(spool, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="agent")
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"x")
    api, openings = fake_camera([["in", "in", "out", "sideways"]])
    cam = CameraInput(spool, CameraConfig("door1-cam", str(clip), (0, 120, 320, 120), zone=((0, 0), (1, 0), (1, 1))),
                      api=api)
    cam.start()
    cam.join(timeout=10)
    assert not cam.is_alive() and cam.ended.is_set()
    assert spool.totals() == {"door1-cam": (2, 1)}
    assert openings == [(str(clip), (0, 120, 320, 120), "overhead", 640, [[0, 0], [1, 0], [1, 1]], None)]
    assert "camera door1-cam: " + str(clip) + " ended after 3 crossing(s)" in caplog.text
    assert "direction 'sideways' ignored" in caplog.text


def test_a_failing_stream_is_reopened_with_each_attempt_logged(spool, caplog):
    caplog.set_level(logging.INFO, logger="agent")
    api, openings = fake_camera([FakeSourceError("cannot open stream rtsp://cam"), ["in"], ["out", "out"]])
    delays = []
    cam = CameraInput(spool, CameraConfig("door1-cam", "rtsp://cam", (0, 1, 2, 3)), api=api,
                      delay=lambda n: delays.append(n) or 0.01)
    cam.start()
    deadline = time.monotonic() + 10
    while spool.totals().get("door1-cam") != (1, 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    cam.stop()
    cam.join(timeout=10)
    assert not cam.is_alive()
    assert spool.totals() == {"door1-cam": (1, 2)}
    assert len(openings) == 3 and delays == [1, 2]
    assert "camera door1-cam: cannot open stream rtsp://cam (0 crossing(s) counted); reopening in 0 s (attempt 1)" \
        in caplog.text
    assert "camera door1-cam: the stream ended (1 crossing(s) counted); reopening in 0 s (attempt 2)" in caplog.text


def test_an_infrared_only_agent_does_not_load_opencv(tmp_path):
    import subprocess
    import sys
    code = ("import sys, sensors.agent, sensors.uplink, sensors.infrared, sensors.spool; "
            "print('cv2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_camera_api_is_the_camera_module():
    pytest.importorskip("cv2")
    iter_crossings, source_error = agent.camera_api()
    assert iter_crossings.__name__ == "iter_crossings" and issubclass(source_error, Exception)
