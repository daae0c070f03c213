"""The agent against the real server process: counts survive the server going away, each counted once.

The server is the Procfile's ``web`` process (gunicorn) over a migrated SQLite file, as in
the end-to-end tests, but this module's fixture can stop it and start it again on the
same port and database. A sensor device and its sensors are registered over the API, as
an admin would. What the server stored is read from its database, minute by minute, and
from ``GET /halls/{id}/footfall`` per day. Mosquitto must run on 127.0.0.1:1883.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
import requests
from sqlalchemy import create_engine, text

from app.bootstrap import bootstrap
from app.services import config

from sensors.spool import Spool
from sensors.uplink import Uplink

from ..conftest import FAST_HASH
from ..processes import VENV_BIN, free_port, procfile_command
from ..world import bearer, build_world, staff_token
from ..polling import wait_until

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
RECOVERY_S = 90  # after a restart the agent may be in a backoff of a few tens of seconds (on a slow machine)


class Server:
    """The production web process on a fixed port and database; ``stop`` and ``start`` at will."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"sqlite:///{base / 'hallq.sqlite3'}"
        self.env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                    "HALLQ_INSTANCE": str(base / "instance"), "DATABASE_URL": self.database_url,
                    "PASSWORD_HASH_METHOD": FAST_HASH, "ENFORCE_OPENING_HOURS": "0", "SECRET_KEY": "agent-test",
                    "PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        for name in ("SOCKETIO_MESSAGE_QUEUE", "WEB_CONCURRENCY"):
            self.env.pop(name, None)
        (base / "instance").mkdir()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.base / f"server-{self.starts}.log", "wb")
        self.proc = subprocess.Popen(procfile_command("web", self.env, "127.0.0.1"), cwd=ROOT, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()

        def healthy():
            assert self.proc.poll() is None, f"the server exited:\n{self.log()}"
            try:
                return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(healthy, f"a healthy server on {self.url}", deadline_s=60)

    def stop(self) -> None:
        """TERM the process group, KILL what is left; the port is free afterwards."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.base.glob("server-*.log")))

    def api(self, path: str) -> str:
        return f"{self.url}/api/v1{path}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("agent-server")
    s = Server(base)
    subprocess.run([str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT, env=s.env, check=True,
                   capture_output=True, timeout=60)
    rt = bootstrap(s.database_url, password_hash_method=FAST_HASH, enforce_opening_hours=False)
    try:
        world = build_world(rt)
        # opened a month ago, so a minute of the last hour is never "before the hall opened"
        config.update_hall(rt, world.one.id, {"opened_on": (date.today() - timedelta(days=30)).isoformat()})
        s.hall_id = world.one.id
        s.admin = staff_token(rt, world.staff["admin"])
        s.manager = staff_token(rt, world.staff["m1"])
    finally:
        rt.engine.dispose()
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def device(server):
    """A sensor device with two infrared sensors and a camera, registered as an admin does; returns its token."""
    tag = uuid.uuid4().hex[:6]
    resp = requests.post(server.api(f"/halls/{server.hall_id}/devices"), headers=bearer(server.admin),
                         json={"kind": "sensor", "name": f"door agent {tag}"}, timeout=10)
    assert resp.status_code in (200, 201), resp.text
    token, device_id = resp.json()["token"], resp.json()["id"]
    codes = {"ir1": f"ir1-{tag}", "ir2": f"ir2-{tag}", "cam": f"cam-{tag}"}
    for key, code in codes.items():
        resp = requests.post(server.api(f"/halls/{server.hall_id}/sensors"), headers=bearer(server.admin), json={
            "code": code, "name_zh": f"正门{key}", "name_en": f"Main door {key}", "door": "正门",
            "kind": "camera" if key == "cam" else "infrared", "device_id": device_id}, timeout=10)
        assert resp.status_code == 201, resp.text
    return token, codes


def server_minutes(server, codes) -> dict[tuple[str, int], tuple[int, int]]:
    """(sensor code, minute as Unix seconds) -> (in, out), as the server stored them."""
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return _select_minutes(conn, codes)
    finally:
        engine.dispose()


def _select_minutes(conn, codes) -> dict[tuple[str, int], tuple[int, int]]:
    params = {f"c{i}": c for i, c in enumerate(codes)}
    result = conn.execute(text(
        "SELECT s.code, m.minute, m.in_count, m.out_count FROM footfall_minutes m "
        f"JOIN footfall_sensors s ON s.id = m.sensor_id WHERE s.code IN ({', '.join(':' + k for k in params)})"),
        params)
    out = {}
    for code, minute, in_count, out_count in result:
        if isinstance(minute, str):
            minute = datetime.fromisoformat(minute)
        if minute.tzinfo is None:
            minute = minute.replace(tzinfo=timezone.utc)
        out[(code, int(minute.timestamp()))] = (in_count, out_count)
    return out


def server_totals(server, codes) -> dict[str, tuple[int, int]]:
    totals: dict[str, tuple[int, int]] = {}
    for (code, _), (i, o) in server_minutes(server, codes).items():
        a, b = totals.get(code, (0, 0))
        totals[code] = (a + i, b + o)
    return totals


def spool_minutes(path: Path) -> dict[tuple[str, int], tuple[int, int]]:
    with Spool(path) as s:
        return {r.key: (r.in_, r.out) for r in s.rows()}


def day_totals(server, minutes: dict) -> None:
    """Check ``GET /halls/{id}/footfall`` per local day against the given minutes (this test's sensors only)."""
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for (_, minute), (i, o) in minutes.items():
        day = datetime.fromtimestamp(minute, SHANGHAI).date()
        per_day[day][0] += i
        per_day[day][1] += o
    for day, (i, o) in per_day.items():
        resp = requests.get(server.api(f"/halls/{server.hall_id}/footfall"), params={"date": day.isoformat()},
                            headers=bearer(server.manager), timeout=10)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        mine = {s["code"]: s["today"] for s in body["sensors"] if s["code"] in {k[0] for k in minutes}}
        assert sum(t["in"] for t in mine.values()) == i and sum(t["out"] for t in mine.values()) == o, body


# --------------------------------------------------------------------------- the agent process

class AgentProcess:
    def __init__(self, tmp_path: Path, server, token: str, sensors: list[str]) -> None:
        self.prefix = f"test/{uuid.uuid4().hex[:8]}/footfall"
        self.client_id = f"test-agent-{uuid.uuid4().hex[:8]}"
        self.spool = tmp_path / "spool.sqlite3"
        (tmp_path / "agent.token").write_text(token + "\n")
        self.config = tmp_path / "agent.toml"
        self.config.write_text(
            f'[server]\nurl = "{server.url}"\ntoken_file = "agent.token"\nsend_interval_s = 1\ntimeout_s = 5\n'
            f'[spool]\npath = "spool.sqlite3"\n[log]\nlevel = "DEBUG"\n'
            f'[mqtt]\nprefix = "{self.prefix}"\nclient_id = "{self.client_id}"\nsensors = {json.dumps(sensors)}\n')
        self.log_path = tmp_path / "agent.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "sensors.agent", "--config", str(self.config)], cwd=ROOT,
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        wait_until(lambda: "mqtt: connected" in self.log(), "the agent's MQTT connection")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def status(self) -> str:
        return subprocess.run([sys.executable, "-m", "sensors.agent", "--config", str(self.config), "--status"],
                              cwd=ROOT, capture_output=True, text=True, timeout=30, check=True).stdout

    def spool_totals(self) -> dict:
        with Spool(self.spool) as s:
            return s.totals()

    def pending(self) -> int:
        with Spool(self.spool) as s:
            return s.pending_summary()[0]


@pytest.fixture
def publisher():
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def test_counts_made_while_the_server_is_down_arrive_once_when_it_is_back(server, device, tmp_path, publisher):
    token, codes = device
    ir1, ir2 = codes["ir1"], codes["ir2"]
    agent = AgentProcess(tmp_path, server, token, [ir1, ir2])

    def publish(sensor, body):
        publisher.publish(f"{agent.prefix}/{sensor}", json.dumps(body), qos=1).wait_for_publish(timeout=5)

    agent.start()
    try:
        # 1. the server is up: counts flow
        for n in range(5):
            publish(ir1, {"in": 1, "out": n % 2, "id": f"a{n}"})
        publish(ir2, {"in_total": 1000, "out_total": 900})  # the starting point
        publish(ir2, {"in_total": 1004, "out_total": 902})
        wait_until(lambda: server_totals(server, [ir1, ir2]) == {ir1: (5, 2), ir2: (4, 2)}, "the first counts")

        # 2. the server goes away; counts keep coming and are spooled
        server.stop()
        for n in range(5, 12):
            publish(ir1, {"in": 2, "out": 1, "id": f"a{n}"})
        publish(ir1, {"in": 2, "out": 1, "id": "a11"})  # a redelivery: counted once
        publish(ir2, {"in_total": 1010, "out_total": 905})
        publish(ir2, {"in_total": 3, "out_total": 1})  # the counter restarted
        expected = {ir1: (5 + 14, 2 + 7), ir2: (4 + 6 + 3, 2 + 3 + 1)}
        wait_until(lambda: agent.spool_totals() == expected,
                   lambda: f"the spool to hold {expected} (has {agent.spool_totals()})")
        wait_until(lambda: "server unreachable (connection refused)" in agent.log(), "the agent to notice")
        assert agent.pending() > 0
        assert re.search(r"pending: [1-9]\d* minute\(s\) for 2 sensor\(s\)", agent.status())

        # 3. the server is back: everything counted arrives, once
        server.start()
        wait_until(lambda: agent.pending() == 0 and server_totals(server, [ir1, ir2]) == expected,
                   lambda: f"the server to hold {expected} (has {server_totals(server, [ir1, ir2])}, "
                   f"{agent.pending()} pending)\n{agent.log()}", RECOVERY_S)
        assert "server reachable again after" in agent.log()
        minutes = spool_minutes(agent.spool)
        assert server_minutes(server, [ir1, ir2]) == minutes  # minute by minute, not just in sum
        day_totals(server, minutes)
    finally:
        code = agent.stop()
    assert code == 0, agent.log()
    assert "stopped; everything counted was delivered" in agent.log()
    assert server_totals(server, [ir1, ir2]) == expected


def test_a_refused_row_becomes_a_dead_letter_and_the_rest_is_delivered(server, device, tmp_path):
    token, codes = device
    ir1, ir2 = codes["ir1"], codes["ir2"]
    now = time.time()
    path = tmp_path / "spool.sqlite3"
    with Spool(path) as spool:
        spool.add(ir1, now, in_=2, out=1)
        spool.add(ir1, now - 600, in_=4)
        spool.add("ghost-ir", now - 600, in_=3)  # never registered
        spool.add(ir2, now - 1200, in_=1001)  # more than the server believes of one minute
        spool.add(ir2, now - 1260, in_=1)
        outcome = Uplink(spool, server.url, token).deliver()
        assert outcome.ok and outcome.dead == 2
        assert spool.pending() == []
        dead = {d.sensor: d for d in spool.dead_letters()}
    assert set(dead) == {"ghost-ir", ir2}
    assert (dead["ghost-ir"].status, dead["ghost-ir"].in_) == (422, 3)
    assert dead["ghost-ir"].field.endswith(".sensor") and "ghost-ir" in dead["ghost-ir"].message
    assert (dead[ir2].status, dead[ir2].in_) == (422, 1001) and dead[ir2].field.endswith(".in")
    assert server_totals(server, [ir1, ir2, "ghost-ir"]) == {ir1: (6, 1), ir2: (1, 0)}

    # --status shows them; after --retry-dead they are tried again (and refused again: nothing was fixed)
    agent = AgentProcess(tmp_path, server, token, [ir1, ir2])
    status = agent.status()
    assert "dead letters: 2" in status and "ghost-ir" in status and "HTTP 422" in status
    run = subprocess.run([sys.executable, "-m", "sensors.agent", "--config", str(agent.config), "--retry-dead"],
                         cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0 and "2 dead letter(s) will be sent again" in run.stderr
    run = subprocess.run([sys.executable, "-m", "sensors.agent", "--config", str(agent.config), "--once"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "kept as a dead letter" in run.stderr
    assert "dead letters: 2" in agent.status()
    assert server_totals(server, [ir1, ir2]) == {ir1: (6, 1), ir2: (1, 0)}


class LosesAnswers(requests.Session):
    """Posts reach the server and are stored, but the first ``n`` answers never come back."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.lost, self.n = 0, n

    def post(self, url, **kwargs):
        resp = super().post(url, **kwargs)
        if self.lost < self.n:
            self.lost += 1
            assert resp.status_code == 200, resp.text
            raise requests.ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed "
                                           "connection without response'))")
        return resp


class Monotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_stored_by_the_server_whose_answer_was_lost_is_sent_again_and_counted_once(server, device,
                                                                                            tmp_path):
    token, codes = device
    ir1, cam = codes["ir1"], codes["cam"]
    now = time.time()
    mono = Monotonic()
    with Spool(tmp_path / "spool.sqlite3") as spool:
        uplink = Uplink(spool, server.url, token, session=LosesAnswers(1), monotonic=mono)
        for minute in range(3):
            spool.add(ir1, now - 60 * minute, in_=minute + 1)
        spool.add(cam, now, out=2)
        first = uplink.deliver()
        assert not first.ok and "connection closed without an answer" in first.problem
        assert len(spool.pending()) == 4  # the agent cannot know it was stored
        spool.add(cam, now, out=1)  # the minute in progress grows meanwhile
        again = uplink.deliver()
        assert again.ok and (again.stored, again.replaced, again.unchanged) == (0, 1, 3)
        assert len(spool.pending()) == 4  # held: the lost post might still land after this one
        mono.now += uplink.guard_s + 1  # the lost post can no longer land late: the next 200 is final
        uplink.deliver()
        assert spool.pending() == []
        minutes = {r.key: (r.in_, r.out) for r in spool.rows()}
    assert server_minutes(server, [ir1, cam]) == minutes
    assert server_totals(server, [ir1, cam]) == {ir1: (6, 0), cam: (0, 3)}


def test_a_wrong_token_keeps_counts_spooled_until_it_is_fixed(server, device, tmp_path):
    token, codes = device
    ir1 = codes["ir1"]
    token_file = tmp_path / "agent.token"
    token_file.write_text("dv_not-the-token\n")
    with Spool(tmp_path / "spool.sqlite3") as spool:
        uplink = Uplink(spool, server.url, lambda: token_file.read_text().strip())
        spool.add(ir1, None, in_=3)
        outcome = uplink.deliver()
        assert not outcome.ok and outcome.serious and "401" in outcome.problem
        assert len(spool.pending()) == 1 and spool.dead_letters() == []
        token_file.write_text(token + "\n")  # the installer puts the right token in
        assert uplink.deliver().ok
        assert spool.pending() == []
    assert server_totals(server, [ir1]) == {ir1: (3, 0)}
