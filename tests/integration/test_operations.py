"""Every role as production runs it, watched as operations watch it: the web role (two gunicorn
workers, one set of metrics), a live process, the scheduler, on the test's clock.

- After a known sequence of requests each role's ``/metrics`` holds what it counted, once: the
  web role the tickets it issued and called (whichever worker took each request), the live
  process the queue's levels and its screens, the scheduler its lease and its jobs.
- Readiness fails while the database is unreachable (PostgreSQL behind a connection the test
  cuts), liveness does not, and readiness comes back with the database.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from app.bootstrap import bootstrap, clock_from

from ..conftest import FAST_HASH
from ..e2e.conftest import START
from ..e2e.test_live_queue import Screen
from ..processes import Deployment
from ..world import bearer, build_world, staff_token


def _deployment(base, database_url: str, **settings):
    deployment = Deployment.create(base, database_url, START, **settings)
    rt = bootstrap(database_url, clock=clock_from(START, deployment.clock_origin), password_hash_method=FAST_HASH,
                   enforce_opening_hours=False)
    try:
        world = build_world(rt)
        tokens = {name: staff_token(rt, staff_id) for name, staff_id in world.staff.items()}
    finally:
        rt.engine.dispose()
    return deployment, world, tokens


def scrape(process) -> tuple[str, dict]:
    response = requests.get(f"{process.url}/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    text = response.text
    return text, {(s.name, tuple(sorted(s.labels.items()))): s.value
                  for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def poll(condition, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    return condition()


def test_each_role_reports_what_it_counted_once_after_a_known_sequence_of_requests(tmp_path, sqlite_url):
    deployment, world, tokens = _deployment(tmp_path, sqlite_url)
    h = world.one
    screen = Screen("display")
    try:
        web, live, scheduler = deployment.start_web(), deployment.start_live(), deployment.start_scheduler()
        scrape(live)  # the first scrape: the live process reads the levels once, then follows the events
        assert poll(lambda: value(scrape(live)[1], "hallq_counters_open", hall="H1") == 0)
        screen.connect(live.url, auth={"token": h.tokens["display"]})
        screen.wait_for("snapshot")

        kiosk, staff = bearer(h.tokens["kiosk"]), bearer(tokens["s1"])
        for prefix in "AAB":
            assert requests.post(f"{web.url}/api/v1/halls/{h.id}/tickets", json={"service_id": h.services[prefix]},
                                 headers=kiosk, timeout=10).status_code == 201
        assert requests.post(f"{web.url}/api/v1/counters/{h.counters[1]}/open", json={}, headers=staff,
                             timeout=10).status_code == 200
        called = requests.post(f"{web.url}/api/v1/counters/{h.counters[1]}/call-next", headers=staff, timeout=10)
        assert called.json()["ticket"]["label"] == "A001"
        assert requests.get(f"{web.url}/no-such-page", timeout=10).status_code == 404
        screen.wait_for("delta", event="TicketCalled")

        text, samples = scrape(web)  # the two workers' counts, added up
        assert value(samples, "hallq_tickets_issued_total", hall="H1", service="svca", channel="kiosk") == 2
        assert value(samples, "hallq_tickets_issued_total", hall="H1", service="svcb", channel="kiosk") == 1
        assert value(samples, "hallq_tickets_called_total", hall="H1") == 1
        assert value(samples, "hallq_wait_seconds_count", hall="H1") == 1
        assert value(samples, "http_request_duration_seconds_count", route="/api/v1/halls/<int:hall_id>/tickets",
                     method="POST", status="201") == 3
        assert value(samples, "http_request_duration_seconds_count", route="unmatched", method="GET",
                     status="404") == 1
        assert "hallq_tickets_waiting" not in text.replace("# HELP hallq_tickets_waiting", "").replace(
            "# TYPE hallq_tickets_waiting", "")  # levels are the live processes' to keep, not the web role's

        def live_levels():
            s = scrape(live)[1]
            return s if value(s, "hallq_tickets_waiting", hall="H1", service="svca") == 1 else None

        samples = poll(live_levels)
        assert samples, deployment.logs()
        assert value(samples, "hallq_tickets_waiting", hall="H1", service="svcb") == 1
        assert value(samples, "hallq_tickets_waiting", hall="H1", service="svcc") == 0
        assert value(samples, "hallq_counters_open", hall="H1") == 1
        assert value(samples, "hallq_live_screens_connected", role="live") == 1
        assert value(samples, "hallq_live_messages_sent_total") >= 6  # a snapshot and five deltas at least
        assert value(samples, "hallq_tickets_issued_total", hall="H1", service="svca", channel="kiosk") is None

        samples = poll(lambda: (lambda s: s if value(s, "hallq_job_duration_seconds_count", job="expire_past_days")
                                else None)(scrape(scheduler)[1]))
        assert value(samples, "hallq_scheduler_lease_held") == 1
        assert value(samples, "hallq_job_last_success_timestamp_seconds", job="expire_past_days") == \
            pytest.approx(deployment.now().timestamp(), abs=60)
        status = requests.get(f"{scheduler.url}/readyz", timeout=10).json()
        assert status["ready"] and status["lease_held"] and status["role"] == "scheduler"
        assert status["jobs"]["expire_past_days"]["last_success"] is not None
        assert requests.get(f"{scheduler.url}/healthz", timeout=10).json() == {"ok": True}

        proxy = deployment.start_proxy()  # nginx passes neither on, and gives each request its id
        assert requests.get(f"{proxy.url}/metrics", timeout=10).status_code == 404
        assert requests.get(f"{proxy.url}/readyz", timeout=10).status_code == 404
        through = requests.get(f"{proxy.url}/api/v1/halls/{h.id}/queue", headers=bearer(h.tokens["display"]), timeout=10)
        assert through.status_code == 200 and len(through.headers["X-Request-Id"]) == 32
        assert f'"request_id": "{through.headers["X-Request-Id"]}"' in web.log()

        for process in (web, live, scheduler):
            if shutil.which("promtool"):  # the exposition as Prometheus lints it
                lint = subprocess.run(["promtool", "check", "metrics"], input=scrape(process)[0], text=True,
                                      capture_output=True, timeout=30)
                assert lint.returncode == 0, f"{process.name}: {lint.stdout}{lint.stderr}"
    finally:
        screen.close()
        deployment.stop()


class Cuttable:
    """A TCP relay to PostgreSQL that the test can cut (the database "goes down") and restore."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> "Cuttable":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        with self._lock:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
            except OSError:
                pass
            self._listener.close()
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def test_readiness_fails_while_the_database_is_unreachable_and_comes_back_with_it(tmp_path, pg_url):
    from sqlalchemy.engine import make_url

    real = make_url(pg_url)
    relay = Cuttable((real.host, real.port or 5432)).start()
    deployment, _world, _tokens = _deployment(tmp_path, pg_url)
    deployment.env["DATABASE_URL"] = real.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    try:
        web, live = deployment.start_web(), deployment.start_live()
        for process in (web, live):
            ready = requests.get(f"{process.url}/readyz", timeout=10)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}

        relay.cut()
        for process in (web, live):
            down = requests.get(f"{process.url}/readyz", timeout=10)
            assert down.status_code == 503
            assert down.json()["ready"] is False
            assert down.json()["checks"]["database"].startswith("unreachable")
            assert down.json()["checks"]["redis"] == "ok"
            assert relay.port and str(relay.port) not in down.text and "postgres" not in down.text
            assert requests.get(f"{process.url}/healthz", timeout=10).status_code == 200  # alive all the same

        relay.start()  # the database is back, on the same address
        for process in (web, live):
            assert poll(lambda: requests.get(f"{process.url}/readyz", timeout=10).status_code == 200)
    finally:
        relay.cut()
        deployment.stop()
