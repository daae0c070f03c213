#!/usr/bin/env python3
"""Queue benchmark: the production web process (the Procfile's ``web:`` line) driven over HTTP.

    python bench/queue_bench.py [--clients 16] [--seconds 10] [--database-url URL]

What one run does (see BENCHMARKS.md for figures and how to read them):

1. Prepares a fresh database: a temporary SQLite file, or with ``--database-url`` a
   PostgreSQL database that it DROPS and recreates (its name must contain "bench"
   unless ``--allow-drop``). Migrates it with ``flask --app app db upgrade`` and loads
   the demo data with ``flask --app app demo`` (which prints the kiosk tokens).
2. Starts the web process exactly as the Procfile declares it (through ``sh -c``, with
   PORT, DATABASE_URL, HALLQ_INSTANCE and ENFORCE_OPENING_HOURS=0 in the environment),
   waits for ``GET /healthz`` and stops it at the end, also on error or Ctrl-C.
3. Setup over the admin API: one counter staff member per client, each on its own
   open counter of hall ZZ-EQ (the demo hall open all day) serving all six services;
   counters and staff beyond the demo's six are created through the API.
4. Phases, each ``--warmup`` s (not counted) plus ``--seconds`` s measured, N clients
   (separate processes by default, each with one requests.Session; ``--client-mode threads``
   runs them as threads, whose shared GIL caps the load on /healthz at about one core):
   ceiling (GET /healthz), issue (POST /api/v1/halls/{id}/tickets with the kiosk
   token, rotating over the services), call (each client: call-next, then finish,
   on its own counter; ``call_per_s`` counts call-nexts that returned a ticket). Before the
   call phase the queue is topped up (unmeasured) so call-next never finds it empty.
5. Checks the database afterwards: numbers issued twice, tickets called twice
   (more 'called' events than 1 + transfers), ticket ids handed to two counters.

6. With ``--scrape-every S``: each phase runs four times, A B B A: as above (the reference,
   ``<phase>`` and ``<phase>_2``) and with a scraper fetching ``GET /metrics`` every S seconds as
   Prometheus would (``<phase>_scraped``, ``<phase>_scraped_2``), so that what drifts during a
   run (the queue growing, a neighbour's load) weighs on both alike. ``scrape`` in the JSON gives,
   per phase, the mean rate, p99 and server CPU per request with the scraper and without, their
   ratios, and how long a scrape took and how large it was.

Progress goes to stderr; the last line on stdout is one JSON object.
Client CPU competes with the server on a 2-core machine: the JSON's "cpu" says how many
cores the clients, the server, PostgreSQL and everything else on the machine used in
each phase (from /proc), so a noisy neighbour shows up as "other_cores".
Exit status: 0, or 1 if any duplicate was found.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
HALL_CODE = "ZZ-EQ"  # demo hall open 00:00-24:00 every day
DEMO_PASSWORD = "demo1234"
BENCH_PASSWORD = "bench-password-1"
REQUEST_TIMEOUT = 30.0
MAX_ERROR_SAMPLES = 5
STOP = threading.Event()  # set on SIGINT/SIGTERM: client threads stop at their next request


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- database

def prepare_database(url: str | None, workdir: Path, allow_drop: bool) -> tuple[str, str]:
    """A fresh, empty database; returns (url, "sqlite" | "postgresql")."""
    if url is None:
        return f"sqlite:///{workdir / 'hallq.sqlite3'}", "sqlite"
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        if path and path != ":memory:" and Path(path).exists():
            Path(path).unlink()
            for suffix in ("-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
        return url, "sqlite"
    if not url.startswith("postgresql"):
        raise SystemExit(f"unsupported database URL {url!r}: sqlite:///... or postgresql+psycopg://...")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to drop database {name!r}: name a database of its own, e.g. hallq_bench")
    if "bench" not in name and not allow_drop:
        raise SystemExit(f"the benchmark drops and recreates {name!r}; use a name containing 'bench' "
                         "or pass --allow-drop")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url, "postgresql"


def tool_env(database_url: str, instance: Path) -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["DATABASE_URL"] = database_url
    env["HALLQ_INSTANCE"] = str(instance)
    env["ENFORCE_OPENING_HOURS"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def flask_cli(*args: str, env: dict) -> str:
    flask = shutil.which("flask", path=env["PATH"])
    cmd = [flask] if flask else [sys.executable, "-m", "flask"]
    cmd += ["--app", "app", *args]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def migrate_and_load_demo(env: dict) -> dict[str, str]:
    """``flask db upgrade`` then ``flask demo``; returns hall code -> kiosk token."""
    flask_cli("db", "upgrade", env=env)
    out = flask_cli("demo", env=env)
    kiosks = dict(re.findall(r"^\s*(\S+) \(hall \d+\): kiosk (\S+)\s*$", out, re.M))
    if HALL_CODE not in kiosks:
        raise RuntimeError(f"no kiosk token for {HALL_CODE} in the demo output:\n{out}")
    return kiosks


# --------------------------------------------------------------------------- server

def procfile_web_command(procfile: Path = ROOT / "Procfile") -> str:
    for line in procfile.read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"no web: line in {procfile}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The Procfile's web process, run the way a Procfile runner does: ``sh -c`` with PORT set."""

    def __init__(self, command: str, env: dict, logfile: Path) -> None:
        self.command = command
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.logfile = logfile
        self.proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    @property
    def expanded(self) -> str:
        """The command after ${VAR:-default} / $VAR expansion with the server's environment, for the report."""
        def sub(m: re.Match) -> str:
            name, default = m.group(1) or m.group(3), m.group(2)
            value = self.env.get(name)
            return value if value else (default or "")

        return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", sub, self.command)

    role = "web"

    def ready(self, status: int) -> bool:
        """Whether ``GET /healthz`` answering ``status`` means the process is up."""
        return status == 200

    def start(self, timeout: float = 60.0) -> None:
        self._log = open(self.logfile, "wb")
        self.proc = subprocess.Popen(["sh", "-c", "exec " + self.command], cwd=ROOT, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {self.role} process exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.ready(requests.get(self.base + "/healthz", timeout=2).status_code):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the {self.role} process did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.proc is None:
            return []
        return [self.proc.pid, *children_of(self.proc.pid)]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own session: gunicorn master and workers
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# --------------------------------------------------------------------------- CPU accounting (/proc)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces; fields after the closing parenthesis are fixed
    return [raw[raw.index("(") + 1:raw.rindex(")")]] + raw[raw.rindex(")") + 2:].split()


def children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st and int(st[2]) == pid:
                out.append(int(entry.name))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        st = _stat(pid)
        if st:
            total += int(st[12]) + int(st[13])  # utime, stime
    return total / CLK_TCK


def postgres_pids() -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st and st[0].startswith("postgres"):
                out.append(int(entry.name))
    return out


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    total = sum(parts[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


class CpuMeter:
    """CPU used during a phase by the clients (this process, or its client processes), the server, PostgreSQL."""

    def __init__(self, server: Server, client_pids_fn) -> None:
        self.server = server
        self.client_pids_fn = client_pids_fn

    def snapshot(self) -> dict:
        busy, total = machine_busy()
        own = os.times()
        return {
            "t": time.monotonic(),
            "client": own.user + own.system + cpu_seconds(self.client_pids_fn()),
            "server": cpu_seconds(self.server.pids()),
            "postgres": cpu_seconds(postgres_pids()),
            "busy": busy,
            "total": total,
        }

    @staticmethod
    def delta(a: dict, b: dict) -> dict:
        wall = b["t"] - a["t"]
        cores = os.cpu_count() or 1
        used = {k: max(0.0, b[k] - a[k]) for k in ("client", "server", "postgres")}
        machine = (b["busy"] - a["busy"]) / wall if wall > 0 else 0.0
        return {
            "client_cores": round(used["client"] / wall, 2),
            "server_cores": round(used["server"] / wall, 2),
            "postgres_cores": round(used["postgres"] / wall, 2),
            "machine_busy_cores": round(machine, 2),
            "other_cores": round(max(0.0, machine - sum(used.values()) / wall), 2),
            "cores": cores,
        }


# --------------------------------------------------------------------------- clients

@dataclass
class ClientResult:
    ok: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, measured requests that succeeded
    extra_latencies: list[float] = field(default_factory=list)  # finish requests of the call phase
    extra_ok: int = 0
    empty: int = 0  # call-next that found nobody waiting
    errors: Counter = field(default_factory=Counter)  # status (or exception name) -> count
    error_samples: list[str] = field(default_factory=list)
    called_ids: list[int] = field(default_factory=list)
    per_second: Counter = field(default_factory=Counter)  # second since measuring started -> successes

    def merge(self, other: "ClientResult") -> None:
        self.ok += other.ok
        self.latencies += other.latencies
        self.extra_latencies += other.extra_latencies
        self.extra_ok += other.extra_ok
        self.empty += other.empty
        self.errors.update(other.errors)
        self.error_samples += other.error_samples[: max(0, MAX_ERROR_SAMPLES - len(self.error_samples))]
        self.called_ids += other.called_ids
        self.per_second.update(other.per_second)


def _request(session: requests.Session, method: str, url: str, res: ClientResult, count: bool, **kw):
    """One request; returns (response or None, seconds). Errors are counted when ``count``."""
    t0 = time.perf_counter()
    try:
        resp = session.request(method, url, timeout=REQUEST_TIMEOUT, **kw)
    except requests.RequestException as exc:
        if count:
            res.errors[type(exc).__name__] += 1
            if len(res.error_samples) < MAX_ERROR_SAMPLES:
                res.error_samples.append(f"{method} {url}: {exc!r}"[:300])
        return None, time.perf_counter() - t0
    dt = time.perf_counter() - t0
    if not 200 <= resp.status_code < 300:
        if count:
            res.errors[str(resp.status_code)] += 1
            if len(res.error_samples) < MAX_ERROR_SAMPLES:
                res.error_samples.append(f"{method} {url} -> {resp.status_code} {resp.text[:200]}")
        return None, dt
    return resp, dt


def client_loop(phase: str, index: int, spec: dict, warm_until: float, stop_at: float) -> ClientResult:
    """One client for one phase. Times are time.time() values shared by threads and processes."""
    res = ClientResult()
    base = spec["base"]
    with requests.Session() as session:
        if phase == "ceiling":
            url = base + "/healthz"
            while (now := time.time()) < stop_at and not STOP.is_set():
                resp, dt = _request(session, "GET", url, res, count=now >= warm_until)
                if resp is not None and now >= warm_until:
                    res.ok += 1
                    res.latencies.append(dt)
                    res.per_second[int(now - warm_until)] += 1
        elif phase == "issue":
            session.headers["Authorization"] = f"Bearer {spec['kiosk_token']}"
            url = f"{base}/api/v1/halls/{spec['hall_id']}/tickets"
            services = spec["service_ids"]
            n = index
            # priority tickets come from the floor staff (a kiosk would need the guide's PIN for each)
            staff = {"Authorization": f"Bearer {spec['seats'][index % len(spec['seats'])]['token']}"}
            while (now := time.time()) < stop_at and not STOP.is_set():
                # rotate over the services; a light mix of tiers
                tier = "vip" if n % 10 == 3 else "star" if n % 10 == 7 else "ordinary"
                body = {"service_id": services[n % len(services)], "tier": tier}
                n += 1
                resp, dt = _request(session, "POST", url, res, count=now >= warm_until, json=body,
                                    headers=staff if tier != "ordinary" else None)
                if resp is not None and now >= warm_until:
                    res.ok += 1
                    res.latencies.append(dt)
                    res.per_second[int(now - warm_until)] += 1
        elif phase == "call":
            seat = spec["seats"][index]
            session.headers["Authorization"] = f"Bearer {seat['token']}"
            call_url = f"{base}/api/v1/counters/{seat['counter_id']}/call-next"
            finish_url = f"{base}/api/v1/counters/{seat['counter_id']}/finish"
            while (now := time.time()) < stop_at and not STOP.is_set():
                counted = now >= warm_until
                resp, dt = _request(session, "POST", call_url, res, count=counted)
                if resp is None:
                    # counted as an error; if a finish was lost the counter is still busy: free it (not measured)
                    try:
                        session.post(finish_url, json={}, timeout=REQUEST_TIMEOUT)
                    except requests.RequestException:
                        pass
                    time.sleep(0.01)
                    continue
                ticket = resp.json().get("ticket")
                if ticket is None:
                    if counted:
                        res.empty += 1
                    time.sleep(0.01)
                    continue
                if counted:
                    res.ok += 1
                    res.latencies.append(dt)
                    res.called_ids.append(ticket["id"])
                    res.per_second[int(now - warm_until)] += 1
                resp, dt = _request(session, "POST", finish_url, res, count=counted, json={"ticket_id": ticket["id"]})
                if resp is not None and counted:
                    res.extra_ok += 1
                    res.extra_latencies.append(dt)
        else:
            raise ValueError(phase)
    return res


def _process_client(args) -> ClientResult:
    return client_loop(*args)


class ClientPool:
    """N clients as threads of this process, or as separate processes (``--client-mode``)."""

    def __init__(self, mode: str, clients: int) -> None:
        self.mode = mode
        self.clients = clients
        self._pool = None
        if mode == "processes":
            ctx = multiprocessing.get_context("fork")
            self._pool = ctx.Pool(clients)
            self._pool.map(time.sleep, [0] * clients)  # start them all before measuring

    def pids(self) -> list[int]:
        if self._pool is None:
            return []
        return [p.pid for p in self._pool._pool if p.pid]  # noqa: SLF001 - CPU accounting only

    def run(self, phase: str, spec: dict, warmup: float, seconds: float) -> tuple[ClientResult, float]:
        start = time.time() + 0.3
        warm_until = start + warmup
        stop_at = warm_until + seconds
        jobs = [(phase, i, spec, warm_until, stop_at) for i in range(self.clients)]
        total = ClientResult()
        if self._pool is not None:
            results = self._pool.map(_process_client, jobs)
        else:
            with ThreadPoolExecutor(self.clients) as pool:
                futures = [pool.submit(client_loop, *job) for job in jobs]
                try:
                    results = [f.result() for f in futures]
                except BaseException:
                    STOP.set()
                    raise
        for r in results:
            total.merge(r)
        return total, seconds

    def close(self, abort: bool = False) -> None:
        if self._pool is not None:
            if abort:
                self._pool.terminate()
            else:
                self._pool.close()
            self._pool.join()
            self._pool = None


class Scraper:
    """Fetches GET /metrics every ``every_s`` seconds in a thread, as Prometheus would, while a phase runs."""

    def __init__(self, base: str, every_s: float) -> None:
        self.url = base + "/metrics"
        self.every_s = every_s
        self.latencies: list[float] = []
        self.sizes: list[int] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Scraper":
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        with requests.Session() as http:
            next_at = time.monotonic()
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    r = http.get(self.url, timeout=10)
                    r.raise_for_status()
                    self.latencies.append(time.perf_counter() - started)
                    self.sizes.append(len(r.content))
                except requests.RequestException:
                    self.failures += 1
                next_at += self.every_s
                self._stop.wait(max(next_at - time.monotonic(), 0))


def percentile_ms(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of seconds, in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return round(ordered[rank - 1] * 1000, 1)


# --------------------------------------------------------------------------- setup over the API

def api(session: requests.Session, method: str, url: str, **kw) -> dict:
    resp = session.request(method, url, timeout=REQUEST_TIMEOUT, **kw)
    if not 200 <= resp.status_code < 300:
        raise RuntimeError(f"setup: {method} {url} -> {resp.status_code} {resp.text[:300]}")
    return resp.json()


def sign_in(base: str, username: str, password: str) -> str:
    with requests.Session() as s:
        return api(s, "POST", base + "/api/v1/auth/tokens", json={"username": username, "password": password})["token"]


def set_up_counters(base: str, clients: int) -> tuple[int, list[int], list[dict]]:
    """Hall id, its service ids, and one seat per client: a staff token at its own open counter."""
    admin = requests.Session()
    admin.headers["Authorization"] = "Bearer " + sign_in(base, "admin", DEMO_PASSWORD)
    hall = next(h for h in api(admin, "GET", base + "/api/v1/halls")["halls"] if h["code"] == HALL_CODE)
    service_ids = [s["id"] for s in api(admin, "GET", f"{base}/api/v1/halls/{hall['id']}/services")["services"]]
    counters = {c["number"]: c["id"] for c in api(admin, "GET", f"{base}/api/v1/halls/{hall['id']}/counters")["counters"]}
    seats = []
    for i in range(1, clients + 1):
        if i not in counters:
            counters[i] = api(admin, "POST", f"{base}/api/v1/halls/{hall['id']}/counters",
                              json={"number": i, "name": f"{i}号窗口 (bench)", "service_ids": service_ids})["id"]
        if i <= 6:
            username, password = f"eq{i:02d}", DEMO_PASSWORD  # the demo's counter staff
        else:
            username, password = f"eqbench{i:02d}", BENCH_PASSWORD
            api(admin, "POST", base + "/api/v1/staff",
                json={"username": username, "name": f"压测营业员{i:02d}", "password": password,
                      "role": "counter_staff", "hall_id": hall["id"]})
        token = sign_in(base, username, password)
        with requests.Session() as staff:
            staff.headers["Authorization"] = "Bearer " + token
            # every counter serves every service: the hot case, all counters contend for the same head ticket
            api(staff, "POST", f"{base}/api/v1/counters/{counters[i]}/open", json={"service_ids": service_ids})
        seats.append({"counter_id": counters[i], "token": token, "staff": username})
    admin.close()
    return hall["id"], service_ids, seats


def waiting_count(base: str, token: str, hall_id: int) -> int:
    with requests.Session() as s:
        s.headers["Authorization"] = "Bearer " + token
        snap = api(s, "GET", f"{base}/api/v1/halls/{hall_id}/queue")
    return sum(svc["waiting"] for svc in snap["services"])


def top_up(base: str, kiosk: str, hall_id: int, service_ids: list[int], want: int, clients: int) -> int:
    """Issue tickets (not measured) until ``want`` are waiting; returns how many were added."""
    have = waiting_count(base, kiosk, hall_id)
    missing = max(0, want - have)
    if not missing:
        return 0
    url = f"{base}/api/v1/halls/{hall_id}/tickets"

    def issue(chunk: range) -> None:
        with requests.Session() as s:
            s.headers["Authorization"] = "Bearer " + kiosk
            for n in chunk:
                api(s, "POST", url, json={"service_id": service_ids[n % len(service_ids)]})

    workers = max(1, min(clients, 8))
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(issue, [range(k, missing, workers) for k in range(workers)]))
    return missing


# --------------------------------------------------------------------------- checks

def integrity_checks(database_url: str) -> dict:
    """Numbers issued twice and tickets called twice, straight from the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            dup_numbers = conn.execute(text(
                "SELECT COUNT(*) FROM (SELECT hall_id, prefix, business_day, number FROM tickets "
                "GROUP BY hall_id, prefix, business_day, number HAVING COUNT(*) > 1) AS d")).scalar_one()
            # a ticket may be called again only after a transfer; recalls are their own event kind
            dup_calls = conn.execute(text(
                "SELECT COUNT(*) FROM (SELECT ticket_id FROM ticket_events GROUP BY ticket_id "
                "HAVING SUM(CASE WHEN kind = 'called' THEN 1 ELSE 0 END) > "
                "1 + SUM(CASE WHEN kind = 'transferred' THEN 1 ELSE 0 END)) AS d")).scalar_one()
            two_at_counter = conn.execute(text(
                "SELECT COUNT(*) FROM (SELECT counter_id FROM tickets WHERE state IN ('called', 'serving') "
                "AND counter_id IS NOT NULL GROUP BY counter_id HAVING COUNT(*) > 1) AS d")).scalar_one()
            tickets = conn.execute(text("SELECT COUNT(*) FROM tickets")).scalar_one()
            calls = conn.execute(text("SELECT COUNT(*) FROM ticket_events WHERE kind = 'called'")).scalar_one()
            finished = conn.execute(text("SELECT COUNT(*) FROM tickets WHERE state = 'finished'")).scalar_one()
    finally:
        engine.dispose()
    return {"duplicate_numbers": dup_numbers, "duplicate_calls": dup_calls, "two_tickets_at_a_counter": two_at_counter,
            "tickets_in_db": tickets, "call_events_in_db": calls, "finished_in_db": finished}


# --------------------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase (default 10; 2 for a smoke run)")
    p.add_argument("--warmup", type=float, default=None, help="unmeasured seconds before each phase (default 1, 0.5 if --seconds < 5)")
    p.add_argument("--database-url", default=None,
                   help="PostgreSQL URL of a database to DROP and recreate, e.g. "
                        "postgresql+psycopg://postgres@127.0.0.1:5432/hallq_bench (default: a temporary SQLite file)")
    p.add_argument("--allow-drop", action="store_true", help="allow dropping a database whose name lacks 'bench'")
    p.add_argument("--client-mode", choices=("threads", "processes"), default="processes",
                   help="clients as separate processes (default: one thread-bound client process saturates its GIL before the server does on /healthz) or as threads of this process")
    p.add_argument("--min-waiting", type=int, default=None,
                   help="before the call phase, top the queue up (unmeasured) to this many waiting tickets; "
                        "default: 1.2 x what the issue phase achieved per second x (warm-up + seconds), "
                        "enough because a call (call-next + finish) costs at least what an issue costs")
    p.add_argument("--message-queue", default="redis://127.0.0.1:6379/0",
                   help="SOCKETIO_MESSAGE_QUEUE of the web process: with one (the default) it runs as production's "
                        "web role, HTTP only, the screens being the live role's; 'none': the embedded default "
                        "(one process that would also serve the screens)")
    p.add_argument("--workers", type=int, default=None,
                   help="WEB_CONCURRENCY, web worker processes (default: the gunicorn config's, as deployed: one per "
                        "core with a message queue, one without)")
    p.add_argument("--web-threads", type=int, default=None, help="WEB_THREADS (default: the gunicorn config's)")
    p.add_argument("--scrape-every", type=float, default=0.0,
                   help="run each phase again with a scraper fetching GET /metrics every this many seconds, "
                        "and compare (default 0: no scraper)")
    p.add_argument("--server-command", default=None,
                   help="run this instead of the Procfile's web: line, to compare WSGI servers (same environment, "
                        "PORT set); the report names it")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (server log, SQLite file)")
    args = p.parse_args(argv)
    if args.message_queue in ("none", ""):
        args.message_queue = None
    return args


def configured_workers(env: dict) -> int:
    """How many workers the web role's gunicorn config starts in ``env`` (read from the config
    itself, in a process of its own, so the report says what ran)."""
    out = subprocess.run([sys.executable, "-c", "import runpy; print(runpy.run_path("
                          "'deploy/gunicorn/web.conf.py')['workers'])"],
                         env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def _interrupted(signum, _frame):
    STOP.set()
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)  # so the finally below stops the server
    warmup = args.warmup if args.warmup is not None else (0.5 if args.seconds < 5 else 1.0)
    workdir = Path(tempfile.mkdtemp(prefix="hallq_bench_"))
    instance = workdir / "instance"
    instance.mkdir()
    server = None
    pool = None
    try:
        database_url, database = prepare_database(args.database_url, workdir, args.allow_drop)
        log(f"database {database}: {database_url.split('@')[-1]}")
        env = tool_env(database_url, instance)
        kiosks = migrate_and_load_demo(env)
        kiosk = kiosks[HALL_CODE]
        log("migrated (flask db upgrade) and loaded the demo data (flask demo)")

        if args.web_threads:
            env["WEB_THREADS"] = str(args.web_threads)
        if args.message_queue:
            env["SOCKETIO_MESSAGE_QUEUE"] = args.message_queue
            env["SOCKETIO_CHANNEL"] = f"hallq-queue-bench-{os.getpid()}"
        else:
            env.pop("SOCKETIO_MESSAGE_QUEUE", None)
        if args.workers:
            env["WEB_CONCURRENCY"] = str(args.workers)
        else:  # deploy/gunicorn/web.conf.py decides, as it does in production
            env.pop("WEB_CONCURRENCY", None)
            args.workers = configured_workers(env)
        command = args.server_command or procfile_web_command()
        server = Server(command, env, workdir / "server.log")
        server.start()
        log(f"server up on port {server.port}: {server.expanded}, {args.workers} worker(s)")

        hall_id, service_ids, seats = set_up_counters(server.base, args.clients)
        log(f"hall {HALL_CODE} (id {hall_id}): {len(seats)} counters open, each with its own staff token, "
            f"serving all {len(service_ids)} services")

        pool = ClientPool(args.client_mode, args.clients)
        meter = CpuMeter(server, pool.pids)
        spec = {"base": server.base, "hall_id": hall_id, "kiosk_token": kiosk, "service_ids": service_ids,
                "seats": seats}
        phases: dict[str, dict] = {}
        all_called: list[int] = []

        scrapes: dict[str, Scraper] = {}

        def run_phase(name: str, scraped: bool = False, suffix: str = "") -> ClientResult:
            phase = name
            before = meter.snapshot()
            if scraped:
                name += "_scraped" + suffix
                with Scraper(server.base, args.scrape_every) as scrapes[name]:
                    res, seconds = pool.run(phase, spec, warmup, args.seconds)
            else:
                name += suffix
                res, seconds = pool.run(phase, spec, warmup, args.seconds)
            after = meter.snapshot()
            cpu = CpuMeter.delta(before, after)
            rate = res.ok / seconds
            timeline = [res.per_second.get(s, 0) for s in range(int(seconds))]
            phases[name] = {"ok": res.ok, "per_s": round(rate, 1), "p50_ms": percentile_ms(res.latencies, 50),
                            "p95_ms": percentile_ms(res.latencies, 95), "p99_ms": percentile_ms(res.latencies, 99),
                            "errors": sum(res.errors.values()), "error_codes": dict(res.errors),
                            "error_samples": res.error_samples, "per_second": timeline, "cpu": cpu}
            log(f"{name:7s}: {res.ok} ok in {seconds:.0f} s = {rate:.1f}/s, p50 {phases[name]['p50_ms']} ms, "
                f"p99 {phases[name]['p99_ms']} ms, errors {sum(res.errors.values())} {dict(res.errors) or ''}")
            log(f"         per second: {timeline}")
            log(f"         CPU (cores busy): client {cpu['client_cores']}, server {cpu['server_cores']}, "
                f"postgres {cpu['postgres_cores']}, other {cpu['other_cores']}, "
                f"machine {cpu['machine_busy_cores']} of {cpu['cores']}")
            for sample in res.error_samples:
                log(f"         error: {sample}")
            return res

        log(f"phase ceiling: GET /healthz, {args.clients} {args.client_mode}, "
            f"{warmup:g} s warm-up + {args.seconds:g} s")
        def scraped_and_again(name: str) -> list[ClientResult]:
            """B B A after the reference A: the phase with the scraper twice, then without again."""
            if not args.scrape_every:
                return []
            log(f"phase {name} with GET /metrics every {args.scrape_every:g} s, twice, then without again")
            return [run_phase(name, True), run_phase(name, True, "_2"), run_phase(name, False, "_2")]

        run_phase("ceiling")
        scraped_and_again("ceiling")

        log("phase issue: POST /api/v1/halls/{id}/tickets (kiosk token), services in rotation")
        run_phase("issue")
        scraped_and_again("issue")
        waiting_after_issue = waiting_count(server.base, kiosk, hall_id)
        log(f"         {waiting_after_issue} tickets waiting after the issue phase")

        min_waiting = args.min_waiting if args.min_waiting is not None else \
            int(1.2 * phases["issue"]["per_s"] * (warmup + args.seconds)) + 2 * args.clients
        added = top_up(server.base, kiosk, hall_id, service_ids, min_waiting, args.clients)
        waiting_before_call = waiting_count(server.base, kiosk, hall_id)
        if added:
            log(f"topped up {added} tickets (not measured): {waiting_before_call} waiting before the call phase")

        if args.scrape_every:  # four call phases: top up for all of them
            added += top_up(server.base, kiosk, hall_id, service_ids, 4 * min_waiting, args.clients)
        log("phase call: each client call-next then finish on its own counter")
        call = run_phase("call")
        all_called += call.called_ids
        for again in scraped_and_again("call"):
            all_called += again.called_ids
            if again.empty:
                log(f"WARNING: {again.empty} call-nexts found the queue empty; raise --min-waiting")
        phases["call"]["empty_call_nexts"] = call.empty
        phases["call"]["finish_ok"] = call.extra_ok
        phases["call"]["finish_p50_ms"] = percentile_ms(call.extra_latencies, 50)
        phases["call"]["finish_p99_ms"] = percentile_ms(call.extra_latencies, 99)
        phases["call"]["requests_per_s"] = round((call.ok + call.extra_ok) / args.seconds, 1)
        if call.empty:
            log(f"WARNING: {call.empty} call-nexts found the queue empty; raise --min-waiting")
        waiting_after_call = waiting_count(server.base, kiosk, hall_id)

        pool.close()
        pool = None
        server.stop()
        log("server stopped")

        checks = integrity_checks(database_url)
        client_dup_calls = len(all_called) - len(set(all_called))
        duplicates = checks["duplicate_numbers"] + checks["duplicate_calls"] + client_dup_calls
        log(f"integrity: {checks}, ticket ids handed out twice to clients: {client_dup_calls}")

        ceiling = phases["ceiling"]["per_s"] or float("nan")
        issue, callp = phases["issue"], phases["call"]
        result = {
            "clients": args.clients,
            "client_mode": args.client_mode,
            "seconds": args.seconds,
            "warmup_s": warmup,
            "database": database,
            "server": command,
            "server_expanded": server.expanded,
            "commit": git_commit(),
            "ceiling_per_s": phases["ceiling"]["per_s"],
            "ceiling_p50_ms": phases["ceiling"]["p50_ms"],
            "ceiling_p99_ms": phases["ceiling"]["p99_ms"],
            "issue_per_s": issue["per_s"],
            "issue_p50_ms": issue["p50_ms"],
            "issue_p95_ms": issue["p95_ms"],
            "issue_p99_ms": issue["p99_ms"],
            "call_per_s": callp["per_s"],
            "call_p50_ms": callp["p50_ms"],
            "call_p95_ms": callp["p95_ms"],
            "call_p99_ms": callp["p99_ms"],
            "finish_p50_ms": callp["finish_p50_ms"],
            "finish_p99_ms": callp["finish_p99_ms"],
            "call_requests_per_s": callp["requests_per_s"],
            "mode": "web role (HTTP only, message queue)" if args.message_queue else "embedded (no message queue)",
            "workers": args.workers,
            # server CPU per request: the server's cores over the phase / its requests per second
            "server_cpu_ms_per_request": {
                "ceiling": _cpu_ms(phases["ceiling"]["cpu"], phases["ceiling"]["per_s"]),
                "issue": _cpu_ms(issue["cpu"], issue["per_s"]),
                "call_next_or_finish": _cpu_ms(callp["cpu"], callp["requests_per_s"]),
            },
            "issue_vs_ceiling": round(issue["per_s"] / ceiling, 3),
            "call_vs_ceiling": round(callp["per_s"] / ceiling, 3),
            "call_requests_vs_ceiling": round(callp["requests_per_s"] / ceiling, 3),
            "duplicates": duplicates,
            "errors": sum(p["errors"] for p in phases.values()),
            "errors_by_phase": {k: p["error_codes"] for k, p in phases.items() if p["errors"]},
            "empty_call_nexts": call.empty,
            "waiting_after_issue": waiting_after_issue,
            "waiting_before_call": waiting_before_call,
            "waiting_after_call": waiting_after_call,
            "integrity": {**checks, "ticket_ids_called_twice_client_side": client_dup_calls},
            "per_second": {k: p["per_second"] for k, p in phases.items()},
            "cpu": {k: p["cpu"] for k, p in phases.items()},
            "scrape": scrape_summary(phases, scrapes, args.scrape_every),
            "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "cpu": cpu_model(),
                        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        }
        print(json.dumps(result, ensure_ascii=False))
        return 1 if duplicates else 0
    finally:
        if pool is not None:
            pool.close(abort=True)
        if server is not None:
            server.stop()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def scrape_summary(phases: dict, scrapes: dict, every_s: float) -> dict | None:
    """Each phase with the scraper against without (means of the A B B A runs): rate, p99 and
    server CPU per request, their ratios, and the scrapes themselves."""
    if not every_s:
        return None

    def mean(runs: list[dict], key) -> float | None:
        values = [key(r) for r in runs]
        return None if None in values else round(sum(values) / len(values), 2)

    def cpu_ms(run: dict) -> float | None:
        return _cpu_ms(run["cpu"], run["per_s"])

    summary = {"every_s": every_s, "order": "A B B A (A: without a scraper, B: with)"}
    for name in ("ceiling", "issue", "call"):
        plain = [phases[k] for k in (name, name + "_2") if k in phases]
        scraped = [phases[k] for k in (name + "_scraped", name + "_scraped_2") if k in phases]
        scrapers = [scrapes[k] for k in (name + "_scraped", name + "_scraped_2") if k in scrapes]
        if len(plain) < 2 or len(scraped) < 2:
            continue
        row = {}
        for label, key in (("per_s", lambda r: r["per_s"]), ("p99_ms", lambda r: r["p99_ms"]),
                           ("server_cpu_ms_per_request", cpu_ms)):
            row[label], row[label + "_scraped"] = mean(plain, key), mean(scraped, key)
            row[label + "_ratio"] = (round(row[label + "_scraped"] / row[label], 3)
                                     if row[label] and row[label + "_scraped"] is not None else None)
        latencies = [x for sc in scrapers for x in sc.latencies]
        row.update({"scrapes": len(latencies), "scrape_failures": sum(sc.failures for sc in scrapers),
                    "scrape_p50_ms": percentile_ms(latencies, 50), "scrape_max_ms": percentile_ms(latencies, 100),
                    "scrape_bytes": max((b for sc in scrapers for b in sc.sizes), default=None),
                    "other_cores": [r["cpu"]["other_cores"] for r in (plain[0], scraped[0], scraped[1], plain[1])]})
        summary[name] = row
    return summary


def _cpu_ms(cpu: dict, per_s: float) -> float | None:
    return round(cpu["server_cores"] / per_s * 1000, 2) if per_s else None


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "") if head else "unknown"
    except OSError:
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
