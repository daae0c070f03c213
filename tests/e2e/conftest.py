"""End to end: the real production web process (the Procfile's ``web:`` line, gunicorn gthread)
on a free port of 127.0.0.1, over a fresh SQLite database migrated by ``flask db upgrade``
and seeded through the app's own services before the server starts.

``live_server`` is session-scoped: one server for the whole e2e run. Tests share its
database, so each test leaves the counters it opened closed and its tickets finished.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from app.bootstrap import bootstrap

from ..conftest import FAST_HASH
from ..world import World, build_world, staff_token

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT_S = 30


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:<port>
    world: World
    tokens: dict[str, str] = field(default_factory=dict)  # staff username -> bearer token
    log_path: Path | None = None
    command: list[str] = field(default_factory=list)

    def api(self, path: str) -> str:
        return f"{self.url}/api/v1{path}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


# --------------------------------------------------------------------------- the Procfile

_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")


def expand(text: str, env: dict[str, str]) -> str:
    """Shell-style ``${VAR:-default}`` / ``$VAR`` expansion, as a Procfile runner's shell does it."""
    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(3)
        value = env.get(name, "")
        return value if value else (m.group(2) or "")

    return _VAR.sub(sub, text)


def procfile_command(process: str, env: dict[str, str], host: str) -> list[str]:
    """The argv of a Procfile process, expanded with ``env``, its ``--bind`` host set to ``host``."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    line = next((l.split(":", 1)[1] for l in lines if l.split(":", 1)[0].strip() == process), None)
    if line is None:
        raise RuntimeError(f"no '{process}:' line in the Procfile")
    argv = shlex.split(expand(line.strip(), env))
    for i, arg in enumerate(argv):
        if arg in ("--bind", "-b") and i + 1 < len(argv):
            argv[i + 1] = f"{host}:{argv[i + 1].rsplit(':', 1)[1]}"
        elif arg.startswith("--bind="):
            argv[i] = f"--bind={host}:{arg.rsplit(':', 1)[1]}"
    exe = VENV_BIN / argv[0]
    if exe.exists():  # the venv's gunicorn, even when the venv is not activated
        argv[0] = str(exe)
    return argv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the fixture

@pytest.fixture(scope="session")
def live_server(tmp_path_factory, request):
    base = tmp_path_factory.mktemp("live")
    instance = base / "instance"
    instance.mkdir()
    database_url = f"sqlite:///{base / 'hallq.sqlite3'}"
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HALLQ_INSTANCE": str(instance),
        "DATABASE_URL": database_url,
        "PASSWORD_HASH_METHOD": FAST_HASH,
        "ENFORCE_OPENING_HOURS": "0",
        "SECRET_KEY": "e2e-secret",
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SOCKETIO_MESSAGE_QUEUE", None)
    env.pop("WEB_CONCURRENCY", None)  # one worker: the Procfile's default, and Socket.IO needs it without a queue

    # 1. the schema, the way production makes it
    subprocess.run([str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=60)

    # 2. the data, through the app's services, before the server starts
    rt = bootstrap(database_url, password_hash_method=FAST_HASH, enforce_opening_hours=False)
    try:
        world = build_world(rt)
        tokens = {name: staff_token(rt, staff_id) for name, staff_id in world.staff.items()}
    finally:
        rt.engine.dispose()

    # 3. the production web process
    argv = procfile_command("web", env, "127.0.0.1")
    log_path = base / "server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    server = LiveServer(f"http://127.0.0.1:{port}", world, tokens, log_path, argv)
    failed_before = request.session.testsfailed
    try:
        _wait_healthy(server, proc)
        yield server
    finally:
        _stop(proc)
        log.close()
        if request.session.testsfailed > failed_before or proc.returncode not in (0, -signal.SIGTERM):
            _report(request.config, server)


def _wait_healthy(server: LiveServer, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{server.log()}")
        try:
            if requests.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no healthy server on {server.url} after {START_TIMEOUT_S} s:\n{server.log()}")


def _stop(proc: subprocess.Popen) -> None:
    """TERM the whole process group (gunicorn master and workers), KILL what is left."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass
    try:  # anything of the group still alive (a worker outliving its master)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _report(config, server: LiveServer) -> None:
    """Print the server's log past pytest's output capture."""
    text = f"\n===== live server log ({' '.join(server.command)}) =====\n{server.log()}===== end of server log =====\n"
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            sys.stderr.write(text)
    else:
        sys.stderr.write(text)
