"""The live role as production runs it: several live processes behind nginx, fed through Redis.

A deployment of its own (two live processes, a small per-screen backlog) for what would
disturb the shared one: a live process killed under its screens, a screen that stops
reading, and (on PostgreSQL) a query that hangs inside a live process.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import socket
import threading
import time
import uuid

import pytest
import requests
from sqlalchemy import create_engine, text

from app.bootstrap import bootstrap, clock_from
from app.domain import events as ev
from app.web.live_feed import RedisFeed

from ..conftest import FAST_HASH, PG_ADMIN_URL
from ..processes import Deployment
from ..world import bearer, build_world, staff_token
from .conftest import START
from .test_live_queue import Screen

pytestmark = pytest.mark.e2e
BACKLOG = 16  # LIVE_MAX_BACKLOG here: messages queued for one screen before more are dropped for it
SEND_BUFFER = 8192  # LIVE_SEND_BUFFER_BYTES here: a screen's socket fills after a few dozen deltas


def _deploy(base, database_url: str, lives: int) -> tuple[Deployment, object, dict]:
    deployment = Deployment.create(base, database_url, START, LIVE_MAX_BACKLOG=str(BACKLOG),
                                   LIVE_SEND_BUFFER_BYTES=str(SEND_BUFFER))
    deployment.migrate()
    rt = bootstrap(database_url, clock=clock_from(START, deployment.clock_origin), password_hash_method=FAST_HASH,
                   enforce_opening_hours=False)
    try:
        world = build_world(rt)
        tokens = {name: staff_token(rt, staff_id) for name, staff_id in world.staff.items()}
    finally:
        rt.engine.dispose()
    deployment.start_web()
    for _ in range(lives):
        deployment.start_live()
    deployment.start_proxy()
    return deployment, world, tokens


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    base = tmp_path_factory.mktemp("city")
    deployment, world, tokens = _deploy(base, f"sqlite:///{base / 'hallq.sqlite3'}", lives=2)
    try:
        yield deployment, world, tokens
    finally:
        deployment.stop()


def feed_of(deployment: Deployment) -> RedisFeed:
    return RedisFeed(deployment.env["SOCKETIO_MESSAGE_QUEUE"], deployment.env["SOCKETIO_CHANNEL"])


def status(live) -> dict:
    return requests.get(f"{live.url}/live/status", timeout=5).json()


def api(deployment, path: str) -> str:
    return f"{deployment.proxy.url}/api/v1{path}"


def call_one(deployment, world, tokens, prefix: str = "A") -> dict:
    """A kiosk issues a ticket and counter 1 calls it; returns the call."""
    hall = world.one
    staff = bearer(tokens["s1"])
    ticket = requests.post(api(deployment, f"/halls/{hall.id}/tickets"), json={"service_id": hall.services[prefix]},
                           headers=bearer(hall.tokens["kiosk"]), timeout=10).json()
    called = requests.post(api(deployment, f"/counters/{hall.counters[1]}/call-next"), headers=staff, timeout=10)
    assert called.ok, called.text
    assert called.json()["ticket"]["id"] == ticket["id"]
    return called.json()["ticket"]


def test_a_screen_whose_live_process_dies_reconnects_to_another_and_resyncs(city):
    deployment, world, tokens = city
    hall = world.one
    staff = bearer(tokens["s1"])
    assert requests.post(api(deployment, f"/counters/{hall.counters[1]}/open"), json={}, headers=staff,
                         timeout=10).ok
    display = Screen("display")
    display.client = type(display.client)(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
    display.client.on("*", display._record)
    display.connect(deployment.proxy.url, auth={"token": hall.tokens["display"]})
    try:
        first = display.wait_for("snapshot")
        holding = [live for live in deployment.lives if status(live)["screens"] == 1]
        assert len(holding) == 1, [status(live) for live in deployment.lives]
        dead = holding[0]
        dead.stop(signal.SIGKILL)  # no goodbye: the screen finds out from its socket

        again = display.wait_until("snapshot", lambda snap: snap is not first, timeout=15)
        assert again["hall"]["id"] == hall.id
        survivor = next(live for live in deployment.lives if live is not dead)
        assert status(survivor)["screens"] == 1

        ticket = call_one(deployment, world, tokens)
        called = display.wait_for("delta", event="TicketCalled", ticket_id=ticket["id"], timeout=10)
        assert called["seq"] > again["seq"] >= first["seq"]
        requests.post(api(deployment, f"/counters/{hall.counters[1]}/finish"), json={}, headers=staff, timeout=10)
    finally:
        display.close()
        requests.post(api(deployment, f"/counters/{hall.counters[1]}/close"), json={}, headers=staff, timeout=10)
        for live in deployment.lives:
            if live.proc.poll() is not None:
                live.start()


class StalledScreen:
    """A display that connects over a raw WebSocket with a tiny receive buffer, then stops reading."""

    def __init__(self, port: int, token: str, hall_id: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket&hall_id={hall_id} HTTP/1.1\r\n"
                           f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self._read_until(b"\r\n\r\n")
        self._read_frame()  # Engine.IO open
        self._send_text("40" + json.dumps({"token": token}))
        while not self._read_frame().startswith("40"):  # the namespace's connect answer
            pass

    def _read_until(self, end: bytes) -> bytes:
        data = b""
        while not data.endswith(end):
            data += self.sock.recv(1)
        return data

    def _read_frame(self) -> str:
        head = self.sock.recv(2, socket.MSG_WAITALL)
        size = head[1] & 0x7F
        if size == 126:
            size = int.from_bytes(self.sock.recv(2, socket.MSG_WAITALL), "big")
        elif size == 127:
            size = int.from_bytes(self.sock.recv(8, socket.MSG_WAITALL), "big")
        return self.sock.recv(size, socket.MSG_WAITALL).decode()

    def _send_text(self, text_: str) -> None:
        payload, mask = text_.encode(), os.urandom(4)
        header = bytes([0x81, 0x80 | len(payload)]) if len(payload) < 126 else \
            bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def close(self) -> None:
        self.sock.close()


def test_a_screen_that_stops_reading_does_not_delay_the_others_and_costs_a_bounded_backlog(city):
    deployment, world, _ = city
    hall = world.one
    live = deployment.lives[0]
    stalled = StalledScreen(live.port, hall.tokens["display"], hall.id)
    healthy = Screen("healthy display").connect(live.url, auth={"token": hall.tokens["display"]})
    try:
        healthy.wait_for("snapshot")
        dropped_before = status(live)["dropped_for_slow_screens"]
        feed = feed_of(deployment)
        marker = uuid.uuid4().hex[:6]
        burst = 600  # ~90 kB of deltas: far more than the stalled screen's socket takes
        started = time.monotonic()
        for i in range(burst):  # a busy city's pace (200 events a second), which a screen that reads keeps up with
            feed.publish(ev.TicketIssued(hall.id, ticket_id=10_000_000 + i, label=f"{marker}{i}",
                                         service_id=hall.services["A"], tier="ordinary"))
            time.sleep(0.005)
        last = healthy.wait_for("delta", event="TicketIssued", label=f"{marker}{burst - 1}", timeout=30)
        took = time.monotonic() - started
        got = [d["label"] for name, d in healthy.seen if name == "delta" and d["label"].startswith(marker)]
        assert got == [f"{marker}{i}" for i in range(burst)]  # every one, in order: nothing held it up
        seqs = [d["seq"] for name, d in healthy.seen if name == "delta" and d["label"].startswith(marker)]
        assert seqs == list(range(last["seq"] - burst + 1, last["seq"] + 1))
        assert took < 25, took
        dropped = status(live)["dropped_for_slow_screens"] - dropped_before
        # the stalled screen's socket took what fits in its bounded send buffer, then BACKLOG more waited: the rest
        # (well over half) was dropped for it alone
        assert dropped > burst // 2, dropped
    finally:
        healthy.close()
        stalled.close()


# --------------------------------------------------------------------------- PostgreSQL: a slow query

@pytest.fixture(scope="module")
def pg_city(tmp_path_factory):
    name = f"hallq_live_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    deployment, world, tokens = _deploy(tmp_path_factory.mktemp("pg-city"), url, lives=1)
    try:
        yield deployment, world, tokens, url
    finally:
        deployment.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_query_that_hangs_in_the_live_process_holds_up_only_its_own_screen(pg_city):
    """psycopg waits cooperatively under gevent: a screen whose connect is stuck behind a lock
    does not stop the deltas to the screens already there."""
    deployment, world, tokens, url = pg_city
    hall = world.one
    live = deployment.lives[0]
    watching = Screen("display").connect(live.url, auth={"token": hall.tokens["display"]})
    engine = create_engine(url)
    blocked: dict = {}
    try:
        watching.wait_for("snapshot")
        with engine.connect() as conn:
            conn.execute(text("LOCK TABLE devices IN ACCESS EXCLUSIVE MODE"))  # held until this block ends
            late = Screen("kiosk")

            def connect_late():
                try:
                    late.connect(live.url, auth={"token": hall.tokens["kiosk"]})
                    blocked["connected_at"] = time.monotonic()
                except Exception as exc:  # noqa: BLE001 - reported below
                    blocked["error"] = exc

            waiting = threading.Thread(target=connect_late, daemon=True)
            waiting.start()
            time.sleep(1.0)  # the kiosk's connect is now waiting for the lock inside the live process
            assert waiting.is_alive() and not blocked, blocked
            # an event from another process (the web's tickets would wait for the lock too: their foreign key)
            feed_of(deployment).publish(ev.TicketIssued(hall.id, ticket_id=99_000_001, label="B999",
                                                        service_id=hall.services["B"], tier="ordinary"))
            seen = watching.wait_for("delta", event="TicketIssued", ticket_id=99_000_001, timeout=5)
            assert seen["hall_id"] == hall.id and not blocked  # delivered while the other screen still waits
            conn.rollback()  # the lock goes: the kiosk gets in
        waiting.join(timeout=15)
        assert blocked.get("connected_at"), blocked
        assert late.wait_for("snapshot")["hall"]["id"] == hall.id
        late.close()
    finally:
        watching.close()
        engine.dispose()
