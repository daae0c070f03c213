"""Several server processes, one set of screens: events travel through Redis.

Two gunicorn workers and a separate process (as the scheduler would be) share a
real Redis as the Socket.IO message queue; a display connected to whichever worker
sees what any of them commits.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import redis
import requests

from app.bootstrap import bootstrap

from ..conftest import FAST_HASH
from ..world import bearer, build_world, staff_token
from .conftest import ROOT, VENV_BIN, LiveServer, _stop, _wait_healthy, free_port, procfile_command
from .test_live_queue import Screen

pytestmark = pytest.mark.e2e
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def scaled_server(tmp_path_factory):
    redis.Redis.from_url(REDIS_URL).ping()  # Redis must be up (scripts/system-deps.sh starts it)
    base = tmp_path_factory.mktemp("scaled")
    database_url = f"sqlite:///{base / 'hallq.sqlite3'}"
    port = free_port()
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "HALLQ_INSTANCE": str(base), "DATABASE_URL": database_url, "PASSWORD_HASH_METHOD": FAST_HASH,
           "ENFORCE_OPENING_HOURS": "0", "SECRET_KEY": "e2e", "PORT": str(port), "WEB_CONCURRENCY": "2",
           "SOCKETIO_MESSAGE_QUEUE": REDIS_URL, "SOCKETIO_CHANNEL": f"hallq-test-{uuid.uuid4().hex[:8]}"}
    subprocess.run([str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=60)
    rt = bootstrap(database_url, password_hash_method=FAST_HASH, enforce_opening_hours=False)
    world = build_world(rt)
    tokens = {name: staff_token(rt, sid) for name, sid in world.staff.items()}
    rt.engine.dispose()
    log_path = base / "server.log"
    with open(log_path, "wb") as log:
        argv = procfile_command("web", env, "127.0.0.1")
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        server = LiveServer(f"http://127.0.0.1:{port}", world, tokens, log_path, argv)
        try:
            _wait_healthy(server, proc)
            yield server, env
        finally:
            _stop(proc)


def test_a_ticket_issued_by_another_process_reaches_the_display_through_redis(scaled_server):
    server, env = scaled_server
    hall = server.world.one
    display = Screen("display").connect(server.url, auth={"token": hall.tokens["display"]})
    try:
        script = ("from app import create_app; from app.services import queue; app = create_app(); "
                  f"print(queue.issue_ticket(app.extensions['hallq'], {hall.id}, {hall.services['C']})['label'])")
        issued = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60, check=True)
        label = issued.stdout.strip().splitlines()[-1]
        assert display.wait_for("delta", event="TicketIssued", label=label)["service_id"] == hall.services["C"]
        # the other process told this one (Redis channel) to push a fresh snapshot with the new count
        waiting = lambda snap: {s["prefix"]: s["waiting"] for s in snap["services"]}["C"]
        assert waiting(display.wait_until("snapshot", lambda snap: waiting(snap) >= 1)) >= 1
    finally:
        display.close()


def test_with_two_workers_every_call_reaches_the_display(scaled_server):
    """Requests land on either worker; the display, connected to one of them, sees all calls."""
    server, _ = scaled_server
    hall = server.world.one
    staff = bearer(server.tokens["s1"])
    display = Screen("display").connect(server.url, auth={"token": hall.tokens["display"]})
    try:
        counter = hall.counters[1]
        assert requests.post(server.api(f"/counters/{counter}/open"), json={}, headers=staff, timeout=10).ok
        labels = []
        for _ in range(6):
            ticket = requests.post(server.api(f"/halls/{hall.id}/tickets"), json={"service_id": hall.services["A"]},
                                   headers=bearer(hall.tokens["kiosk"]), timeout=10).json()
            called = requests.post(server.api(f"/counters/{counter}/call-next"), headers=staff, timeout=10).json()
            assert called["ticket"]["label"] == ticket["label"]
            assert requests.post(server.api(f"/counters/{counter}/finish"), headers=staff, timeout=10).ok
            labels.append(ticket["label"])
        for label in labels:
            display.wait_for("delta", event="TicketCalled", label=label, counter_number=1)
        requests.post(server.api(f"/counters/{counter}/close"), headers=staff, timeout=10)
    finally:
        display.close()


def test_a_peak_warning_raised_by_the_scheduler_process_reaches_the_manager_through_redis(scaled_server):
    """The live check runs in the scheduler process; the manager's page hangs on a web worker."""
    server, env = scaled_server
    hall = server.world.two
    staff = bearer(server.tokens["s2"])
    counter = hall.counters[1]
    assert requests.post(server.api(f"/counters/{counter}/open"), json={}, headers=staff, timeout=10).ok
    for _ in range(12):  # service A, 2 minutes each at one counter: 24 minutes against a 10-minute target
        assert requests.post(server.api(f"/halls/{hall.id}/tickets"), json={"service_id": hall.services["A"]},
                             headers=bearer(hall.tokens["kiosk"]), timeout=10).ok
    manager = Screen("manager").connect(server.url, auth={"token": server.tokens["m2"]})
    try:
        script = ("from app import create_app; from app.services import peaks; app = create_app(); "
                  f"print(peaks.check_live(app.extensions['hallq'], {hall.id}))")
        checked = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=60, check=True)
        assert "'raised': 1" in checked.stdout
        delta = manager.wait_for("delta", event="PeakWarningChanged", change="raised")
        assert delta["kind"] == "live" and delta["service_id"] == hall.services["A"]
        assert "业务A" in delta["message_zh"]
    finally:
        manager.close()
        requests.post(server.api(f"/counters/{counter}/close"), headers=staff, timeout=10)
