"""End to end: the production deployment on loopback, on the test's clock.

nginx (the README's site configuration) in front of the Procfile's ``web:`` role (gunicorn
gthread, HTTP only) and ``live:`` role (gunicorn gevent, the screens' Socket.IO), with Redis
as the message queue, over a fresh SQLite database migrated by ``flask db upgrade`` and seeded
through the app's own services before the servers start (``tests/processes.py``). Every
server reads the test's clock, Monday 23 November 2026, 10:00 in Shanghai at the start, and
so does every browser page (``new_page`` installs Playwright's clock at the same instant).

``live_server`` is session-scoped: one deployment for the whole e2e run. Tests share its
database, so each test leaves the counters it opened closed and its tickets finished.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from app.bootstrap import bootstrap, clock_from

from ..conftest import FAST_HASH
from ..processes import ROOT, VENV_BIN, Deployment, free_port, procfile_command  # noqa: F401 - for the tests
from ..world import World, build_world, staff_token

START = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Shanghai


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:<port>, nginx in front of the deployment
    world: World
    tokens: dict[str, str] = field(default_factory=dict)  # staff username -> bearer token
    log_path: Path | None = None
    command: list[str] = field(default_factory=list)
    deployment: Deployment | None = None

    def api(self, path: str) -> str:
        return f"{self.url}/api/v1{path}"

    def log(self) -> str:
        if self.deployment is not None:
            return self.deployment.logs()
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def now(self) -> datetime:
        """What the servers read as the time now (UTC)."""
        return self.deployment.now() if self.deployment is not None else datetime.now(timezone.utc)

    def runtime(self, **settings):
        """The app's services on the deployment's own database and clock (for what only the
        scheduler or a CLI command does); its events reach the screens through Redis."""
        from app.services import surveys
        from app.web.live_feed import make_feed

        d = self.deployment
        rt = bootstrap(d.database_url, clock=clock_from(d.clock_start, d.clock_origin),
                       password_hash_method=FAST_HASH, enforce_opening_hours=False, **settings)
        rt.bus.subscribe(make_feed(d.env["SOCKETIO_MESSAGE_QUEUE"], d.env["SOCKETIO_CHANNEL"]).publish)
        surveys.configure(rt, {"SMS_GATEWAY": "outbox", "SMS_DATA_KEY": d.env["SMS_DATA_KEY"]},
                          Path(d.env["HALLQ_INSTANCE"]))
        return rt


# --------------------------------------------------------------------------- the fixture

@pytest.fixture(scope="session")
def live_server(tmp_path_factory, request):
    base = tmp_path_factory.mktemp("live")
    deployment = Deployment.create(base, f"sqlite:///{base / 'hallq.sqlite3'}", START)
    deployment.migrate()  # the schema, the way production makes it
    # the data, through the app's services, before the servers start
    rt = bootstrap(deployment.database_url, clock=clock_from(START, deployment.clock_origin),
                   password_hash_method=FAST_HASH, enforce_opening_hours=False)
    try:
        world = build_world(rt)
        tokens = {name: staff_token(rt, staff_id) for name, staff_id in world.staff.items()}
    finally:
        rt.engine.dispose()
    server = LiveServer("", world, tokens, base / "web.log", deployment=deployment)
    failed_before = request.session.testsfailed
    try:
        deployment.start_web()
        deployment.start_live()
        server.url = deployment.start_proxy().url
        server.command = deployment.web.argv
        yield server
    finally:
        deployment.stop()
        if request.session.testsfailed > failed_before:
            _report(request.config, server)


CSP_VIOLATION = "csp violation:"  # what the web role logs for a browser's report (app/web/headers.py)


@pytest.fixture(autouse=True)
def no_page_breaks_the_content_security_policy(request):
    """Every page a browser test opens runs under the real policy: a script or style it blocks is
    reported to the web role, which logs it, and fails the test that opened the page."""
    if "live_server" not in request.fixturenames:
        yield
        return
    log_path = request.getfixturevalue("live_server").deployment.web.log_path
    start = log_path.stat().st_size
    yield
    with open(log_path, "rb") as log:
        log.seek(start)
        blocked = [line for line in log.read().decode(errors="replace").splitlines() if CSP_VIOLATION in line]
    assert not blocked, "the content security policy blocked:\n" + "\n".join(blocked)


PAGE_ERRORS: list[str] = []  # uncaught exceptions and rejections in any page of the running test


def watch_page_errors(context):
    """A browser context whose pages' uncaught errors (a module that fails to import, an exception in
    a handler, a rejected promise nobody awaited) fail the test that opened it."""
    context.on("weberror", lambda e: PAGE_ERRORS.append(f"{e.page.url if e.page else '?'}: {e.error}"))
    return context


@pytest.fixture(autouse=True)
def no_uncaught_page_error():
    PAGE_ERRORS.clear()
    yield
    errors, PAGE_ERRORS[:] = list(PAGE_ERRORS), []
    assert not errors, "uncaught errors in the page:\n" + "\n".join(errors)


def _report(config, server: LiveServer) -> None:
    """Print the servers' logs past pytest's output capture."""
    text = f"\n===== live server logs =====\n{server.log()}\n===== end of server logs =====\n"
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            sys.stderr.write(text)
    else:
        sys.stderr.write(text)
