"""Real server processes for the tests: the Procfile's roles, Redis, and nginx in front.

A ``Deployment`` is what production runs, on loopback: the ``web`` role (gunicorn gthread,
HTTP only), one or more ``live`` roles (gunicorn gevent, the screens' Socket.IO), Redis as
the message queue (a channel of the test's own), and nginx routing ``/socket.io/`` to the
live processes and everything else to the web process, from the configuration the README
documents (``deploy/nginx/hallq.conf``). Every process runs on the test's clock
(``HALLQ_CLOCK_START`` at ``HALLQ_CLOCK_ORIGIN``), never the wall clock's hour.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT_S = 30
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

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


def wait_healthy(url: str, proc: subprocess.Popen, log_path: Path | None = None,
                 timeout_s: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{_read(log_path)}")
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing healthy on {url} after {timeout_s} s:\n{_read(log_path)}")


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    """``sig`` to the whole process group (a gunicorn master and its workers), KILL what is left."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass
    try:  # anything of the group still alive (a worker outliving its master)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read(path: Path | None) -> str:
    return path.read_text(errors="replace") if path and path.exists() else ""


@dataclass
class Process:
    """One started server process, its port and its log."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Process":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        wait_healthy(self.url, self.proc, self.log_path)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop(self.proc, sig)

    def log(self) -> str:
        return _read(self.log_path)


@dataclass
class Deployment:
    """Web, live and (optionally) nginx processes on one database and one Redis channel."""

    base: Path
    database_url: str
    clock_start: datetime
    clock_origin: float
    env: dict[str, str] = field(default_factory=dict)
    web: Process | None = None
    lives: list[Process] = field(default_factory=list)
    proxy: Process | None = None
    scheduler: Process | None = None

    @classmethod
    def create(cls, base: Path, database_url: str, clock_start: datetime, **settings: str) -> "Deployment":
        import redis

        redis.Redis.from_url(REDIS_URL).ping()  # Redis must be up (scripts/system-deps.sh starts it)
        origin = time.monotonic()
        instance = base / "instance"
        instance.mkdir(exist_ok=True)
        env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               "HALLQ_INSTANCE": str(instance), "DATABASE_URL": database_url,
               "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "ENFORCE_OPENING_HOURS": "0",
               "SECRET_KEY": "e2e-secret", "PYTHONUNBUFFERED": "1", "SMS_DATA_KEY": "e2e-sms-data-key-0123456789abcdef",
               "SOCKETIO_MESSAGE_QUEUE": REDIS_URL, "SOCKETIO_CHANNEL": f"hallq-test-{uuid.uuid4().hex[:10]}",
               "HALLQ_CLOCK_START": clock_start.isoformat(), "HALLQ_CLOCK_ORIGIN": repr(origin),
               "WEB_CONCURRENCY": "2", **settings}
        return cls(base, database_url, clock_start, origin, env)

    def now(self) -> datetime:
        """The deployment's time: what its servers read now."""
        return self.clock_start + timedelta(seconds=time.monotonic() - self.clock_origin)

    def migrate(self) -> None:
        subprocess.run([str(VENV_BIN / "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True, timeout=120)

    def start_web(self) -> Process:
        port = free_port()
        env = {**self.env, "PORT": str(port)}
        self.web = Process("web", procfile_command("web", env, "127.0.0.1"), env, port,
                           self.base / "web.log").start()
        return self.web

    def start_live(self) -> Process:
        port = free_port()
        env = {**self.env, "LIVE_PORT": str(port)}
        live = Process(f"live{len(self.lives) + 1}", procfile_command("live", env, "127.0.0.1"), env, port,
                       self.base / f"live{len(self.lives) + 1}.log").start()
        self.lives.append(live)
        return live

    def start_scheduler(self) -> Process:
        """The Procfile's ``scheduler:``, its /healthz, /readyz and /metrics on a port of its own."""
        port = free_port()
        env = {**self.env, "SCHEDULER_BIND": f"127.0.0.1:{port}", "FORECAST_WORKERS": "1"}
        self.scheduler = Process("scheduler", procfile_command("scheduler", env, "127.0.0.1"), env, port,
                                 self.base / "scheduler.log").start()
        return self.scheduler

    def start_proxy(self) -> Process:
        """nginx in front, with the documented site configuration and this deployment's ports."""
        port = free_port()
        conf = self.base / "nginx.conf"
        conf.write_text(nginx_config(self.base, port, self.web.port, [live.port for live in self.lives]))
        argv = [NGINX, "-p", str(self.base), "-c", str(conf), "-e", str(self.base / "nginx-error.log")]
        self.proxy = Process("nginx", argv, self.env, port, self.base / "nginx.log").start()
        return self.proxy

    def stop(self) -> None:
        for process in [self.proxy, *self.lives, self.web, self.scheduler]:
            if process is not None:
                process.stop()
        self._forget_channel()

    def logs(self) -> str:
        return "".join(f"\n----- {p.name} ({' '.join(p.argv)}) -----\n{p.log()}"
                       for p in [self.web, *self.lives, self.proxy, self.scheduler] if p is not None)

    def _forget_channel(self) -> None:
        import redis

        try:
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(f"{self.env['SOCKETIO_CHANNEL']}:*"))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            pass


def nginx_config(base: Path, port: int, web_port: int, live_ports: list[int]) -> str:
    """A whole nginx.conf around the README's site configuration (``deploy/nginx/hallq.conf``),
    its upstream servers replaced by this deployment's processes."""
    site = (ROOT / "deploy" / "nginx" / "hallq.conf").read_text()
    site = re.sub(r"upstream hallq_web \{.*?\}", "upstream hallq_web {\n    server 127.0.0.1:%d;\n    keepalive 16;\n}"
                  % web_port, site, flags=re.S)
    lives = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n" for p in live_ports)
    site = re.sub(r"upstream hallq_live \{.*?\}", "upstream hallq_live {\n%s}" % lives, site, flags=re.S)
    site = re.sub(r"listen\s+[^;]+;", f"listen 127.0.0.1:{port};", site)
    site = re.sub(r"access_log\s+\S+", f"access_log {base / 'nginx-access.log'}", site)
    temp = base / "nginx-temp"
    temp.mkdir(exist_ok=True)
    return f"""daemon off;
worker_processes 1;
user root;
pid {base / 'nginx.pid'};
error_log {base / 'nginx-error.log'} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {base / 'nginx-access.log'};
    client_body_temp_path {temp / 'body'};
    proxy_temp_path {temp / 'proxy'};
    fastcgi_temp_path {temp / 'fastcgi'};
    uwsgi_temp_path {temp / 'uwsgi'};
    scgi_temp_path {temp / 'scgi'};
    types {{ text/html html; text/css css; application/javascript js; }}
{site}
}}
"""
