#!/usr/bin/env python3
"""Screens benchmark: how fast a counter's call reaches its hall's screens over Socket.IO.

    python bench/screens_bench.py                                   # 1,000 displays in one hall, 200 calls at 5/s
    python bench/screens_bench.py --halls 500 --clients 10000 --rate 50 --calls 1000 --client-impl light
    python bench/screens_bench.py --processes 2                     # two live processes behind Redis
    python bench/screens_bench.py --compare-threading 1000          # + the same calls against the threading design
    python bench/screens_bench.py --server threading                # the embedded design alone (make run)

What one run does (figures and how to read them: BENCHMARKS.md, "Screens (Socket.IO fan-out)"):

1. A fresh SQLite database (a temporary file; ``--database-url`` for another), migrated with
   ``flask --app app db upgrade`` and loaded with ``flask --app app demo``, whose output gives hall
   ZZ-EQ's display token (ZZ-EQ is the demo hall open all day, with ten weeks of history). Helpers
   come from queue_bench.py.
2. ``--halls N`` halls: ZZ-EQ, and N-1 halls made in this process through the app's own services
   before any server starts (``config.create_hall`` open all day, ``config.copy_services`` from
   ZZ-EQ, ``config.create_counter`` serving them all, ``config.create_staff``, ``auth.register_device``
   for a display, ``auth.issue_api_token`` for the staff member; about 35 ms a hall on SQLite). They
   have no history, ZZ-EQ has. Every hall's counter 1 is opened by a staff member of its own
   (``queue.open_counter``), and every ticket every phase will call is issued beforehand
   (``queue.issue_ticket``).
3. The servers (``--server``):
   - ``live`` (default, production): the Procfile's ``web:`` line on its own port (PORT), with
     WEB_CONCURRENCY and WEB_THREADS as the Procfile's config gives them (one worker per core, 16
     threads) unless ``--web-concurrency`` / ``--web-threads``, and ``--processes`` (default 1) live processes, each the Procfile's ``live:``
     line on its own port (LIVE_PORT). All share SOCKETIO_MESSAGE_QUEUE = ``--message-queue``
     (default redis://127.0.0.1:6379/0) and a SOCKETIO_CHANNEL of this run's own, whose keys are
     deleted at the end. The web process serves no Socket.IO there (checked: ``web_socketio_status``).
   - ``threading``: the embedded design (no message queue, ``make run``): one web process, the
     Procfile's ``web:`` line, whose config then runs one worker (a second would number events on
     its own), with WEB_THREADS = its screens + 64 (``--web-threads``), since every WebSocket holds
     one gthread thread; the config allows twice as many connections (``--worker-connections``).
   The counters always call through the web process; the screens connect to the processes that hold
   screens (live processes, or the threading web process), spread evenly over them.
4. Phases. Reference: ``--reference-clients`` screens (default 10) connect, the counters of their
   halls make ``--reference-calls`` calls (default ``--calls``); they disconnect. Measured:
   ``--clients`` screens (default 1000) connect and the counters make ``--calls`` calls (default
   200) at ``--rate`` per second overall (default 5). Screen g watches hall g mod H (H = the phase's
   halls: all of them in the measured phase, as many as there are screens in the reference phase);
   call i is made at hall i mod H's counter, at start + i / rate: ``POST /api/v1/counters/<id>/call-next``,
   timed, then ``finish`` (not timed), from a pool of ``--call-threads`` threads (calls at one counter
   never overlap). Each phase starts with ``--warmup-calls`` unmeasured calls.
   ``--compare-threading N``: after those, the live servers stop and a threading web process starts
   on the same database; N screens with the measured phase's screens per hall (so the same messages
   per call) get the same calls at the same rate. The JSON then gives the server CPU per delivered
   message of both designs and their ratio.
5. The screens are real python-socketio clients (``socketio.AsyncClient``; needs aiohttp:
   ``pip install "python-socketio[asyncio_client]"``), spread over ``--client-procs`` processes
   (default 4), WebSocket transport only, ``auth={"token": <its hall's display token>}`` and
   ``?hall_id=<its hall>``. They understand the live protocol of app/web/live.py (``snapshot``, then
   ``delta`` = ``{"seq", "event", "hall_id", ...}``) and the older one that emitted the event name
   itself; every other message (``counter``, ``ticket``, ...) is only counted, with its bytes.
   ``--client-impl light`` replaces them by a minimal Engine.IO/Socket.IO reader on aiohttp that
   costs less CPU per message, to tell the server's limit from the load generator's.
6. While the calls run, once a second: the screen processes' VmRSS, threads and CPU (the busiest
   worker's share of a core: a gevent live process runs on one core), their runnable threads, and
   the bytes waiting in the kernel on their connections (``screens_unread``: the screens are behind;
   ``server_unsent``: the server's sends wait), from /proc/net/tcp; and the CPU of the web and live
   processes, the client processes, Redis and everything else (``other_cores``: other people's work).
7. Garbage collection in the processes that hold the screens: a ``sitecustomize.py`` written into
   the run's directory is put on their PYTHONPATH (``--no-gc-probe``: not). It logs every full
   (generation 2) collection and every collection of ``--gc-log-min-ms`` or more, with its duration,
   and applies GC experiments asked through the environment (``--server-env``, for the processes
   that hold the screens): ``BENCH_GC_THRESHOLD=700,10,100`` (gc.set_threshold),
   ``BENCH_GC_FREEZE_EVERY_S=10`` (gc.freeze() after the first collection that ends 10 s or more
   after the last freeze). Nothing of the product changes; ``--server-env`` also passes gevent's
   ``GEVENT_MONITOR_THREAD_ENABLE=1 GEVENT_MAX_BLOCKING_TIME=0.1`` (blocked-loop reports in the log).
   ``--setup-sql`` runs statements on the database before the servers start (an index to try).
8. The open-files limit of this process is raised to its hard limit (resource.setrlimit); servers
   and client processes inherit it (``nofile`` in the JSON). This machine's hard limit is 20,000:
   enough for 10,000 screens in one live process (and, in production, systemd's ``LimitNOFILE``).

Latency. Right after each call-next's HTTP response the bench takes ``time.monotonic()``; each
screen takes ``time.monotonic()`` when its ``TicketCalled`` for that ticket (``recall`` 0)
arrives. On Linux ``time.monotonic()`` is CLOCK_MONOTONIC, one clock for the whole machine, so
readings from different processes compare directly; the run checks this (``clock_check``).
Latency = receipt - response. It can be slightly NEGATIVE and is reported as measured, never
clamped: the event may reach the screens before the counter has its answer. ``from_request``
figures (receipt - the moment the request was sent) bound it from the other side; ``call_http`` is
the call-next's own duration. ``last_screen`` figures take, per call, the slowest screen of its hall.

``lost`` is the number of measured calls that at least one connected screen of the call's hall
never got within ``--grace`` seconds after the last call (must be 0); ``deliveries_missing`` counts
the missing (screen, call) pairs; ``foreign_deliveries`` counts calls a screen got from a hall it
does not watch (must be 0). A screen that drops its connection is counted as missing every call it
did not get.

CPU per delivered message = CPU seconds over the calls and the grace period / every Socket.IO
message the screens received in that time (deltas, snapshots, all kinds): ``server_`` = web and
live processes (masters included; the web's HTTP and database work for the calls counted in),
``live_`` = the processes that hold the screens alone.

Progress goes to stderr; the LAST line on stdout is one JSON object. Exit status 1 if anything
was lost or a screen could not connect. Everything started is stopped on exit, error, Ctrl-C and
SIGTERM: the servers (their process groups), the client processes, this run's Redis keys.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import multiprocessing
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import queue_bench as qb  # noqa: E402 - the shared helpers (database, Procfile server, /proc readers)

import requests  # noqa: E402

ROOT = qb.ROOT
HALL_CODE = qb.HALL_CODE
CALLED = "TicketCalled"
CALLED_FIELDS = ("ticket_id", "label", "counter_number", "recall")
CALL_TIMEOUT = 10.0  # seconds for one counter request
MAX_FAILED_CALLS_IN_A_ROW = 5  # then the phase gives up (e.g. the server stopped accepting connections)
DEFAULT_MESSAGE_QUEUE = "redis://127.0.0.1:6379/0"
BENCH_STAFF_PASSWORD = "bench-password-1"
ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

GC_PROBE = r'''"""Put on PYTHONPATH by bench/screens_bench.py for the processes that hold the screens: logs their
garbage collections, and applies the GC experiments asked through the environment. Not part of the product."""
import gc as _gc
import os as _os
import time as _time

_dir = _os.environ.get("BENCH_GC_LOG_DIR")
_min_s = float(_os.environ.get("BENCH_GC_LOG_MIN_MS") or 5) / 1000.0
_freeze_every = float(_os.environ.get("BENCH_GC_FREEZE_EVERY_S") or 0)
if _os.environ.get("BENCH_GC_THRESHOLD"):
    _gc.set_threshold(*(int(x) for x in _os.environ["BENCH_GC_THRESHOLD"].split(",")))
_state = {"t0": 0.0, "fh": None, "pid": None, "frozen_at": _time.monotonic()}


def _bench_gc_callback(phase, info):
    now = _time.monotonic()
    if phase == "start":
        _state["t0"] = now
        return
    took = now - _state["t0"]
    gen = info.get("generation")
    froze = 0
    if _freeze_every and now - _state["frozen_at"] >= _freeze_every:
        _state["frozen_at"] = now
        _gc.freeze()
        froze = 1
    if _dir and (gen == 2 or took >= _min_s or froze):
        pid = _os.getpid()
        if _state["pid"] != pid:
            _state["fh"] = open(_os.path.join(_dir, "gc-%d.log" % pid), "a", buffering=1)
            _state["pid"] = pid
        _state["fh"].write("%.6f %d %.3f %d %d\n" % (now, gen, took * 1000, info.get("collected", 0), froze))


_gc.callbacks.append(_bench_gc_callback)
'''


def log(msg: str) -> None:
    print(f"[screens {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the screens (client processes)

def client_process(conn, spec: dict) -> None:
    """Entry point of one client process: ``spec["clients"]`` screens in one asyncio loop.

    Talks to the bench over ``conn`` (a multiprocessing Pipe): reports ``connected`` once every
    screen tried, then answers ``clock`` (its time.monotonic()), ``collect`` (what the screens
    received) and ``stop`` (disconnect all, then exit). Exits too when the bench goes away.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the bench's to handle; it stops us
    if spec.get("nice"):
        try:
            os.nice(spec["nice"])
        except OSError as exc:  # a negative nice needs root (CAP_SYS_NICE)
            print(f"[screens] client process {spec['worker']}: os.nice({spec['nice']}) failed: {exc}", file=sys.stderr)
    # the client libraries log every dropped connection on stderr ("packet queue is empty, aborting"):
    # drops are counted per screen, with their reason, in the report instead; --client-log keeps
    # their messages about connections ending (not the per-packet ones) in a file per process
    for name in ("engineio.client", "socketio.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if spec.get("log_dir"):
        handler = logging.FileHandler(Path(spec["log_dir"]) / f"client-{spec['worker']}.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler.addFilter(lambda r: not r.getMessage().startswith(("Received packet", "Sending packet")))
        for name in ("engineio.client", "socketio.client"):
            lg = logging.getLogger(name)
            lg.setLevel(logging.INFO)
            lg.addHandler(handler)
            lg.propagate = False
    try:
        asyncio.run(_client_main(conn, spec))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass


class Recorder:
    """What a display keeps: its first TicketCalled per ticket, message counts and bytes, seq checks, its end."""

    def _init_record(self) -> None:
        self.hall_id: int | None = None  # the hall it watches
        self.rx_bytes = 0
        self.messages: Counter = Counter()
        self.called: dict[int, float] = {}  # ticket id -> time.monotonic() at receipt
        self.protocol: Counter = Counter()  # "delta" | "event-name": how TicketCalled came
        self.bad_payloads = 0
        self.last_delta_seq: int | None = None
        self.seq_gaps = 0  # deltas whose seq jumped (a delta of the hall never came)
        self.seq_backwards = 0  # deltas whose seq was not above the previous one
        self.snapshot_seq: int | None = None
        self.snapshot_seconds: Counter = Counter()  # int(time.monotonic()) -> snapshots received in that second
        self.dropped = False
        self.drop_reason = None
        self.drop_time = None

    def _record(self, event, data, now: float) -> None:
        self.messages[event] += 1
        if event == "delta" and isinstance(data, dict):
            seq = data.get("seq")
            if isinstance(seq, int):
                if self.last_delta_seq is not None:
                    if seq > self.last_delta_seq + 1:
                        self.seq_gaps += 1
                    elif seq <= self.last_delta_seq:
                        self.seq_backwards += 1
                self.last_delta_seq = seq if self.last_delta_seq is None else max(seq, self.last_delta_seq)
            name, how = data.get("event"), "delta"
        elif event == "snapshot":
            self.snapshot_seconds[int(now)] += 1
            if isinstance(data, dict) and isinstance(data.get("seq"), int):
                self.snapshot_seq = data["seq"]
            return
        else:
            name, how = event, "event-name"  # the protocol before live.py's deltas
        if name != CALLED or not isinstance(data, dict):
            return
        if not all(k in data for k in CALLED_FIELDS):
            self.bad_payloads += 1
        if data.get("recall", 0) != 0:
            return
        tid = data.get("ticket_id")
        if tid is not None and tid not in self.called:
            self.called[tid] = now
            self.protocol[how] += 1

    def _gone(self, reason=None):
        if not self.dropped:
            self.dropped = True
            self.drop_reason = str(reason)
            self.drop_time = time.monotonic()


def _make_screen_class():
    import socketio

    class Screen(Recorder, socketio.AsyncClient):
        """A display as a real python-socketio AsyncClient (no reconnection: a drop is counted, not hidden)."""

        def __init__(self) -> None:
            super().__init__(reconnection=False)
            self._init_record()
            self.on("*", self._any)
            self.on("disconnect", self._gone)

        async def _handle_eio_message(self, data):  # every Socket.IO packet, as the text that came
            self.rx_bytes += len(data) if isinstance(data, (str, bytes)) else 0
            await super()._handle_eio_message(data)

        def _any(self, event, *args):
            self._record(event, args[0] if args else None, time.monotonic())

    return Screen


class LightScreen(Recorder):
    """``--client-impl light``: the same display as a minimal Engine.IO 4 / Socket.IO 5 reader on aiohttp.

    Text frames only: answers the server's ping ("2") with a pong ("3"), connects the default
    namespace with the token ('40{"token": ...}'), decodes events ('42[name, data]'). About two
    thirds of python-socketio's CPU per message (150 against 225 us measured here), for telling the
    server's limits from the load generator's on a small machine; the default stays the real client.
    """

    def __init__(self) -> None:
        self._init_record()
        self.connected = False
        self._session = None
        self._ws = None
        self._reader = None

    async def connect(self, url: str, auth: dict, transports=None, wait_timeout: float = 60.0) -> None:
        import aiohttp

        base, _, query = url.partition("?")
        ws_url = base.replace("http://", "ws://", 1).rstrip("/") + "/socket.io/?" + \
            (query + "&" if query else "") + "EIO=4&transport=websocket"
        self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(wait_timeout):
                self._ws = await self._session.ws_connect(ws_url, autoping=True, max_msg_size=0)
                opened = await self._ws.receive_str()
                if not opened.startswith("0"):
                    raise ConnectionError(f"no Engine.IO open packet: {opened[:80]!r}")
                await self._ws.send_str("40" + json.dumps(auth))
                while True:
                    msg = await self._ws.receive_str()
                    if msg == "2":
                        await self._ws.send_str("3")
                    elif msg.startswith("40"):
                        break
                    elif msg.startswith("44"):
                        raise ConnectionError(f"connection refused by the server: {msg[2:200]}")
                    else:
                        self._frame(msg)
        except BaseException:
            await self._close()
            raise
        self.connected = True
        self._reader = asyncio.create_task(self._read())

    def _frame(self, msg: str) -> None:
        now = time.monotonic()
        self.rx_bytes += len(msg)
        if msg.startswith("42"):
            try:
                event, *args = json.loads(msg[2:])
            except ValueError:
                self.bad_payloads += 1
                return
            self._record(event, args[0] if args else None, now)
        elif msg.startswith(("41", "1")):  # namespace disconnect, or Engine.IO close
            raise ConnectionAbortedError("server disconnect")

    async def _read(self) -> None:
        import aiohttp

        reason = "transport close"
        try:
            while True:
                msg = await self._ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    reason = "transport error" if msg.type != aiohttp.WSMsgType.CLOSE else "transport close"
                    break
                if msg.data == "2":
                    await self._ws.send_str("3")
                    continue
                self._frame(msg.data)
        except ConnectionAbortedError:
            reason = "server disconnect"
        except asyncio.CancelledError:
            return
        except Exception as exc:  # noqa: BLE001 - the reason is reported
            reason = f"transport error ({type(exc).__name__})"
        self.connected = False
        self._gone(reason)
        await self._close()

    async def _close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    async def disconnect(self) -> None:
        self.connected = False
        if self._reader is not None:
            self._reader.cancel()
        await self._close()


async def _client_main(conn, spec: dict) -> None:
    Screen = LightScreen if spec.get("impl") == "light" else _make_screen_class()
    loop = asyncio.get_running_loop()
    screens = []
    for hall_id, _token in spec["screens"]:
        screen = Screen()
        screen.hall_id = hall_id
        screens.append(screen)
    sem = asyncio.Semaphore(spec["connect_concurrency"])
    connect_s: list[float] = []
    errors: Counter = Counter()
    samples: list[str] = []

    async def connect(screen, token: str) -> None:
        async with sem:
            t0 = time.monotonic()
            try:
                await screen.connect(f"{spec['base']}?hall_id={screen.hall_id}", auth={"token": token},
                                     transports=["websocket"], wait_timeout=spec["connect_timeout"])
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors[type(exc).__name__] += 1
                if len(samples) < 5:
                    samples.append(f"{type(exc).__name__}: {exc}"[:300])
                return
            connect_s.append(time.monotonic() - t0)

    t_start = time.monotonic()
    await asyncio.gather(*(connect(s, token) for s, (_hall, token) in zip(screens, spec["screens"])))
    all_done = time.monotonic() - t_start
    ok = [s for s in screens if s.connected]
    conn.send({"type": "connected", "worker": spec["worker"], "connected": len(ok), "failed": len(screens) - len(ok),
               "errors": dict(errors), "error_samples": samples, "connect_s": connect_s, "all_s": all_done,
               "pid": os.getpid()})

    # event-loop lag: how late a 50 ms sleep wakes up (time the screens' own loop added to receipts)
    lags: list[float] = []

    async def lag_monitor() -> None:
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(0.05)
            lags.append(time.monotonic() - t0 - 0.05)

    monitor = asyncio.create_task(lag_monitor())
    inbox: asyncio.Queue = asyncio.Queue()

    def readable() -> None:
        try:
            while conn.poll():
                inbox.put_nowait(conn.recv())
        except (EOFError, OSError):
            inbox.put_nowait({"cmd": "stop", "gone": True})

    messages_before = 0
    loop.add_reader(conn.fileno(), readable)
    try:
        while True:
            msg = await inbox.get()
            if msg["cmd"] == "clock":
                conn.send({"type": "clock", "t": time.monotonic()})
            elif msg["cmd"] == "reset-lag":  # the measured calls start now
                lags.clear()
                messages_before = sum(sum(sc.messages.values()) for sc in ok)
            elif msg["cmd"] == "collect":
                messages: Counter = Counter()
                protocol: Counter = Counter()
                for s in screens:
                    messages.update(s.messages)
                    protocol.update(s.protocol)
                conn.send({
                    "type": "collected", "worker": spec["worker"], "server": spec["server"],
                    # per screen that was connected: (its hall, {ticket id: receipt})
                    "called": [(s.hall_id, s.called) for s in ok],
                    "dropped": sum(1 for s in ok if s.dropped),
                    "drop_reasons": dict(Counter(s.drop_reason for s in ok if s.dropped)),
                    "drop_times": [s.drop_time for s in ok if s.dropped],
                    "still_connected": sum(1 for s in ok if s.connected),
                    "messages": dict(messages), "rx_bytes": sum(s.rx_bytes for s in ok),
                    "messages_in_calls": sum(messages.values()) - messages_before,
                    "protocol": dict(protocol), "bad_payloads": sum(s.bad_payloads for s in ok),
                    "seq_gaps": sum(s.seq_gaps for s in ok), "seq_backwards": sum(s.seq_backwards for s in ok),
                    "snapshot_seconds": dict(sum((s.snapshot_seconds for s in ok), Counter())),
                    "lag_p99_s": sorted(lags)[int(0.99 * (len(lags) - 1))] if lags else None,
                    "lag_max_s": max(lags) if lags else None,
                })
            elif msg["cmd"] == "stop":
                if msg.get("gone"):
                    return
                try:
                    await asyncio.wait_for(asyncio.gather(*(s.disconnect() for s in ok if s.connected),
                                                          return_exceptions=True), timeout=30)
                except asyncio.TimeoutError:
                    pass  # the bench kills this process next anyway
                conn.send({"type": "stopped"})
                return
    finally:
        monitor.cancel()
        loop.remove_reader(conn.fileno())


class ClientProcs:
    """Screens spread over a few processes, each connected to one server (round robin).

    ``screens`` is the phase's list of (hall id, display token), one per screen, screen g watching
    hall g mod H; the processes take contiguous runs of it, so each hall has screens in every process
    (and on every server) once a process holds at least H screens."""

    def __init__(self, screens: list[tuple[int, str]], procs: int, servers: list, args) -> None:
        ctx = multiprocessing.get_context("spawn")  # a clean interpreter: no server, no requests state
        procs = max(1, min(procs, len(screens)))
        self.procs = []
        self.conns = []
        start = 0
        for w in range(procs):
            n = len(screens) // procs + (1 if w < len(screens) % procs else 0)
            server = w % len(servers)
            spec = {"worker": w, "server": server, "base": servers[server].base, "screens": screens[start:start + n],
                    "connect_concurrency": args.connect_concurrency, "connect_timeout": args.connect_timeout,
                    "log_dir": args.client_log, "impl": args.client_impl, "nice": args.client_nice}
            start += n
            parent, child = ctx.Pipe()
            p = ctx.Process(target=client_process, args=(child, spec), name=f"screens-{w}", daemon=True)
            p.start()
            child.close()
            self.procs.append(p)
            self.conns.append(parent)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid and p.is_alive()]

    def _recv(self, conn, kind: str, timeout: float) -> dict:
        if not conn.poll(timeout):
            raise RuntimeError(f"a client process sent no {kind!r} within {timeout:.0f} s")
        msg = conn.recv()
        if msg.get("type") != kind:
            raise RuntimeError(f"expected {kind!r} from a client process, got {msg!r}"[:300])
        return msg

    def wait_connected(self, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        return [self._recv(c, "connected", max(1.0, deadline - time.monotonic())) for c in self.conns]

    def clock_check(self) -> dict:
        """Each process's time.monotonic() must lie between two readings of ours around the request."""
        worst = 0.0
        ok = True
        for c in self.conns:
            before = time.monotonic()
            c.send({"cmd": "clock"})
            theirs = self._recv(c, "clock", 10)["t"]
            after = time.monotonic()
            ok = ok and before <= theirs <= after
            worst = max(worst, after - before)
        return {"same_clock": ok, "round_trip_max_ms": round(worst * 1000, 2)}

    def send_all(self, cmd: str) -> None:
        for c in self.conns:
            c.send({"cmd": cmd})

    def collect(self) -> list[dict]:
        self.send_all("collect")
        return [self._recv(c, "collected", 120) for c in self.conns]

    def stop(self) -> None:
        for c in self.conns:
            try:
                c.send({"cmd": "stop"})
            except (OSError, BrokenPipeError):
                pass
        for c in self.conns:
            try:
                if c.poll(35):
                    c.recv()
            except (EOFError, OSError):
                pass
        self.kill(grace=5.0)

    def kill(self, grace: float = 0.0) -> None:
        """Wait up to ``grace`` seconds for the processes to end, then terminate (and kill) the rest."""
        deadline = time.monotonic() + grace
        for p in self.procs:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
        for p in self.procs:
            if p.is_alive():
                p.terminate()
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join()
        for c in self.conns:
            c.close()
        self.procs, self.conns = [], []


# --------------------------------------------------------------------------- the servers

def procfile_command(role: str, procfile: Path = ROOT / "Procfile") -> str:
    for line in procfile.read_text().splitlines():
        if line.startswith(role + ":"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"no {role}: line in {procfile}")


class ProcServer(qb.Server):
    """A Procfile line run the way a Procfile runner does (``sh -c``), on a free port given through
    ``port_var`` (PORT for web:, LIVE_PORT for live:). Up once ``GET /healthz`` answers (for a live
    process any HTTP answer will do: it may serve nothing but Socket.IO)."""

    def __init__(self, role: str, command: str, env: dict, logfile: Path, port_var: str = "PORT",
                 holds_screens: bool = False) -> None:
        super().__init__(command, env, logfile)
        self.role = role
        self.holds_screens = holds_screens
        if port_var != "PORT":
            self.env[port_var] = str(self.port)

    def ready(self, status: int) -> bool:
        return status == 200 or (self.role == "live" and status < 500)

    def start(self, timeout: float = 90.0) -> None:
        super().start(timeout)

    def workers(self) -> list[int]:
        return qb.children_of(self.proc.pid) if self.proc is not None else []


def socketio_status(base: str) -> int | None:
    """What a WebSocket-only screen's first request gets from ``base`` (404: no Socket.IO served there)."""
    try:
        return requests.get(base + "/socket.io/?EIO=4&transport=polling", timeout=5).status_code
    except requests.RequestException:
        return None


# --------------------------------------------------------------------------- server process facts (/proc)

def proc_status(pid: int) -> dict:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def rss_kb(pids: list[int]) -> int:
    return sum(proc_status(pid).get("VmRSS", 0) for pid in pids)


def _redis_pids() -> list[int]:
    """The local redis-server processes (CPU accounting of the message queue)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = qb._stat(int(entry.name))  # noqa: SLF001 - queue_bench's /proc reader
            if st and st[0].startswith("redis-server"):
                out.append(int(entry.name))
    return out


def tcp_queues(ports: set[int]) -> dict:
    """Bytes sitting in the kernel on the screen servers' connections (from /proc/net/tcp).

    ``server_unsent``: queued by the servers, not yet taken by the peer (grows when screens read
    too slowly); ``screens_unread``: arrived at the screens' sockets, not yet read by the client
    processes (their event loops are behind); ``server_unread``: sent to the servers, not yet read
    by them (e.g. Engine.IO pongs waiting for a thread).
    """
    out = {"server_unsent": 0, "server_unread": 0, "screens_unread": 0, "connections": 0}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(path).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) < 5 or f[3] != "01":  # ESTABLISHED only
                continue
            lport, rport = int(f[1].rsplit(":", 1)[1], 16), int(f[2].rsplit(":", 1)[1], 16)
            tx, rx = (int(x, 16) for x in f[4].split(":"))
            if lport in ports:
                out["server_unsent"] += tx
                out["server_unread"] += rx
                out["connections"] += 1
            elif rport in ports:
                out["screens_unread"] += rx
    return out


def runnable_threads(pid: int) -> int:
    n = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            raw = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        if raw[raw.rindex(")") + 2] == "R":
            n += 1
    return n


class ServerSampler:
    """Samples once a second: the screen servers' workers' VmRSS (sum) and threads (peaks), their CPU
    (the busiest worker's share of a core over each second), runnable threads, the kernel socket
    queues on their ports (``tcp_queues``); and the other servers' (web) RSS."""

    def __init__(self, screen_servers: list, other_servers: list, interval: float = 1.0) -> None:
        self.screen_servers = screen_servers
        self.other_servers = other_servers
        self.interval = interval
        self.peak_rss_kb = 0
        self.peak_threads = 0
        self.peak_other_rss_kb = 0
        self.per_server: list[dict] = [{"rss_kb": 0, "threads": 0} for _ in screen_servers]
        self.timeline: list[dict] = []  # one sample a second while recording
        self.recording_since: float | None = None
        self.busiest_worker_cores = 0.0
        self._last_cpu: dict[int, tuple[float, float]] = {}
        self._last_machine: tuple[float, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def record_from(self, t0: float) -> None:
        self.timeline = []
        self.busiest_worker_cores = 0.0
        self.recording_since = t0

    def sample(self, detail: bool = False) -> None:
        total_rss = total_threads = runnable = 0
        busiest = 0.0
        now = time.monotonic()
        for i, server in enumerate(self.screen_servers):
            rss = threads = 0
            for pid in server.workers():  # the gunicorn workers (not the master)
                st = proc_status(pid)
                rss += st.get("VmRSS", 0)
                threads += st.get("Threads", 0)
                cpu = qb.cpu_seconds([pid])
                last = self._last_cpu.get(pid)
                if last is not None and now > last[0]:
                    busiest = max(busiest, (cpu - last[1]) / (now - last[0]))
                self._last_cpu[pid] = (now, cpu)
                if detail:
                    runnable += runnable_threads(pid)
            self.per_server[i]["rss_kb"] = max(self.per_server[i]["rss_kb"], rss)
            self.per_server[i]["threads"] = max(self.per_server[i]["threads"], threads)
            total_rss += rss
            total_threads += threads
        self.peak_rss_kb = max(self.peak_rss_kb, total_rss)
        self.peak_threads = max(self.peak_threads, total_threads)
        self.peak_other_rss_kb = max(self.peak_other_rss_kb,
                                     sum(rss_kb(s.workers()) for s in self.other_servers))
        busy = qb.machine_busy()[0]
        machine = (busy - self._last_machine[1]) / (now - self._last_machine[0]) \
            if self._last_machine is not None and now > self._last_machine[0] else 0.0
        self._last_machine = (now, busy)
        if detail and self.recording_since is not None:
            self.busiest_worker_cores = max(self.busiest_worker_cores, busiest)
            q = tcp_queues({s.port for s in self.screen_servers})
            self.timeline.append({"t": round(now - self.recording_since, 1), "busiest_worker_cores": round(busiest, 2),
                                  "machine_cores": round(machine, 2),
                                  "runnable": runnable, "server_unsent_kb": q["server_unsent"] // 1024,
                                  "screens_unread_kb": q["screens_unread"] // 1024,
                                  "server_unread_kb": q["server_unread"] // 1024, "conns": q["connections"]})

    def summary(self) -> dict:
        tl = self.timeline
        if not tl:
            return {}
        out = {}
        for key in ("runnable", "server_unsent_kb", "screens_unread_kb", "server_unread_kb", "busiest_worker_cores",
                    "machine_cores"):
            values = [x[key] for x in tl]
            out[key + "_max"] = max(values)
            out[key + "_mean"] = round(sum(values) / len(values), 2)
        out["connections_min"] = min(x["conns"] for x in tl)
        return out

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample(detail=True)

    def __enter__(self):
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


def server_log_problems(logfile: Path) -> dict:
    """Lines in a server log that are not access-log lines and look like trouble."""
    pattern = re.compile(r"Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|Exception|Error:|No keepalived|"
                         r"Too many open files|can't start new thread|appears to be blocked", re.I)
    hits: Counter = Counter()
    samples: list[str] = []
    try:
        text = logfile.read_text(errors="replace")
    except OSError:
        return {}
    for line in text.splitlines():
        m = pattern.search(line)
        if m:
            hits[m.group(0)] += 1
            if len(samples) < 8 and line.strip() not in samples:
                samples.append(line.strip()[:300])
    statuses = Counter(re.findall(r'" (\d{3}) ', text))  # access log: "GET /path HTTP/1.1" 200 ...
    return {"problems": dict(hits), "samples": samples, "http_status": dict(statuses)}


def gc_pauses(gc_dir: Path | None, pids: list[int], t0: float, t1: float) -> dict | None:
    """The collections the GC probe logged for ``pids`` between ``t0`` and ``t1`` (time.monotonic())."""
    if gc_dir is None:
        return None
    events = []
    for pid in pids:
        try:
            lines = (gc_dir / f"gc-{pid}.log").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                t, gen, took, collected, froze = line.split()
            except ValueError:
                continue
            t = float(t)
            if t0 <= t <= t1:
                events.append({"t": round(t - t0, 2), "gen": int(gen), "ms": float(took), "collected": int(collected),
                               "froze": int(froze)})
    full = [e for e in events if e["gen"] == 2]
    return {
        "full_collections": len(full),
        "full_max_ms": max((e["ms"] for e in full), default=0.0),
        "full_total_ms": round(sum(e["ms"] for e in full), 1),
        "logged": len(events),  # full ones, and any other of --gc-log-min-ms or more
        "over_20ms": sum(1 for e in events if e["ms"] >= 20),
        "max_ms": max((e["ms"] for e in events), default=0.0),
        "freezes": sum(e["froze"] for e in events),
        "slowest": sorted(events, key=lambda e: -e["ms"])[:5],
    }


# --------------------------------------------------------------------------- the halls (in this process, before the servers)

def demo_tokens(env: dict) -> dict[str, dict[str, str]]:
    """``flask db upgrade`` then ``flask demo``; returns hall code -> {"kiosk": token, "display": token}."""
    qb.flask_cli("db", "upgrade", env=env)
    out = qb.flask_cli("demo", env=env)
    tokens: dict[str, dict[str, str]] = {}
    for code, _hall, kind, token in re.findall(r"^\s*(\S+) \(hall (\d+)\): (kiosk|display) (\S+)\s*$", out, re.M):
        tokens.setdefault(code, {})[kind] = token
    if set(tokens.get(HALL_CODE, {})) != {"kiosk", "display"}:
        raise RuntimeError(f"no kiosk and display tokens for {HALL_CODE} in the demo output:\n{out}")
    return tokens


def make_halls(database_url: str, instance: Path, count: int, display_token: str,
               tickets_per_hall: list[int], setup_sql: list[str] = ()) -> list[dict]:
    """ZZ-EQ and ``count - 1`` new halls like it (services copied, one counter serving them all, a
    staff member, a display), each counter opened by its staff member and ``tickets_per_hall[k]``
    tickets issued, through the app's services on the database directly (no server runs yet).
    Returns per hall: hall_id, code, display (token), counter_id, staff, token (the staff's API token)."""
    os.environ["HALLQ_INSTANCE"] = str(instance)  # app.config reads it at import
    sys.path.insert(0, str(ROOT))
    from app.bootstrap import bootstrap
    from app.services import auth, config, queue

    rt = bootstrap(database_url, enforce_opening_hours=False, password_hash_method="pbkdf2:sha256:1000",
                   api_token_ttl_hours=24)
    try:
        eq = next(h for h in config.list_halls(rt) if h["code"] == HALL_CODE)
        eq_services = [s["id"] for s in config.list_services(rt, eq["id"])]
        counter = next(c for c in config.list_counters(rt, eq["id"]) if c["number"] == 1)
        staff = next(s for s in config.list_staff(rt, eq["id"]) if s["username"] == "eq01")
        halls = [{"hall_id": eq["id"], "code": HALL_CODE, "display": display_token, "counter_id": counter["id"],
                  "staff_id": staff["id"], "staff": "eq01", "service_ids": eq_services}]
        for k in range(1, count):
            code = f"BENCH-{k:04d}"
            hall = config.create_hall(rt, {"city_id": eq["city_id"], "code": code, "name_zh": f"压测营业厅 {k}",
                                           "name_en": f"Bench hall {k}", "address": "-", "timezone": "Asia/Shanghai",
                                           "opening_hours": ALL_DAY})
            config.copy_services(rt, eq["id"], hall["id"])
            service_ids = [s["id"] for s in config.list_services(rt, hall["id"])]
            counter = config.create_counter(rt, hall["id"], {"number": 1, "name": "1号窗口",
                                                            "service_ids": service_ids})
            username = f"bench{k:04d}"
            staff = config.create_staff(rt, {"username": username, "name": f"压测营业员 {k}",
                                             "password": BENCH_STAFF_PASSWORD, "role": "counter_staff",
                                             "hall_id": hall["id"]})
            display = auth.register_device(rt, hall["id"], "display", f"压测大屏 {k}")
            halls.append({"hall_id": hall["id"], "code": code, "display": display["token"],
                          "counter_id": counter["id"], "staff_id": staff["id"], "staff": username,
                          "service_ids": service_ids})
            if k % 100 == 0:
                log(f"  {k}/{count - 1} halls made")
        for k, hall in enumerate(halls):
            queue.open_counter(rt, hall["counter_id"], hall["staff_id"], hall["service_ids"])
            hall["token"] = auth.issue_api_token(rt, hall["staff_id"])
            for n in range(tickets_per_hall[k]):
                queue.issue_ticket(rt, hall["hall_id"], hall["service_ids"][n % len(hall["service_ids"])])
        if setup_sql:
            from sqlalchemy import text

            with rt.engine.begin() as conn:
                for statement in setup_sql:
                    conn.execute(text(statement))
                    log(f"  --setup-sql: {statement}")
    finally:
        rt.engine.dispose()
    return halls


# --------------------------------------------------------------------------- the counters

class Counters:
    """The halls' counters over HTTP: call i of a run at hall i mod H's counter, at start + i / rate;
    call-next (timed), then finish (not timed). Calls run on a pool of threads, one at a time per counter."""

    def __init__(self, base: str, threads: int) -> None:
        self.base = base
        self.pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="counter")
        self.local = threading.local()
        self.sessions: list[requests.Session] = []
        self.locks: dict[int, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()
        self.failed_in_a_row = 0

    def _session(self) -> requests.Session:
        s = getattr(self.local, "session", None)
        if s is None:
            s = self.local.session = requests.Session()
            with self._guard:
                self.sessions.append(s)
        return s

    def _one(self, hall: dict, due: float, errors: Counter) -> dict | None:
        with self.locks[hall["counter_id"]]:
            session = self._session()
            headers = {"Authorization": "Bearer " + hall["token"]}
            url = f"{self.base}/api/v1/counters/{hall['counter_id']}"
            sent = time.monotonic()
            try:
                resp = session.post(url + "/call-next", json={}, headers=headers, timeout=CALL_TIMEOUT)
            except requests.RequestException as exc:
                return self._failed(errors, type(exc).__name__)
            answered = time.monotonic()
            ticket = resp.json().get("ticket") if resp.status_code == 200 else None
            if not ticket:
                return self._failed(errors, f"call-next {resp.status_code}" + ("" if resp.status_code != 200 else " empty"))
            with self._guard:
                self.failed_in_a_row = 0
            try:
                fin = session.post(url + "/finish", json={"ticket_id": ticket["id"]}, headers=headers,
                                   timeout=CALL_TIMEOUT)
                if fin.status_code != 200:
                    self._failed(errors, f"finish {fin.status_code}", count=False)
            except requests.RequestException as exc:
                self._failed(errors, f"finish {type(exc).__name__}", count=False)
            return {"ticket_id": ticket["id"], "hall_id": hall["hall_id"], "label": ticket.get("label"),
                    "sent": sent, "answered": answered, "late": sent - due}

    def _failed(self, errors: Counter, what: str, count: bool = True) -> None:
        with self._guard:
            errors[what] += 1
            if count:
                self.failed_in_a_row += 1
        return None

    def run(self, halls: list[dict], calls: int, rate: float, label: str, stop: threading.Event) -> tuple[list[dict], dict]:
        """``calls`` calls paced at ``rate``/s over ``halls``; returns one record per call and the errors."""
        errors: Counter = Counter()
        futures = []
        self.failed_in_a_row = 0
        start = time.monotonic()
        for i in range(calls):
            if stop.is_set():
                break
            if self.failed_in_a_row >= MAX_FAILED_CALLS_IN_A_ROW:
                log(f"  {label}: {self.failed_in_a_row} calls in a row failed ({dict(errors)}): giving up the phase")
                errors["gave up"] += 1
                break
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(self.pool.submit(self._one, halls[i % len(halls)], due, errors))
            if (i + 1) % max(1, calls // 5) == 0:
                log(f"  {label}: {i + 1}/{calls} calls made")
        records = [r for r in (f.result() for f in futures) if r is not None]
        elapsed = time.monotonic() - start
        late = [r["late"] for r in records]
        return records, {"errors": dict(errors), "achieved_rate": round(len(records) / elapsed, 2) if elapsed else None,
                         "call_late_p99_ms": ms(late, 99), "call_late_max_ms": ms(late, 100)}

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for s in self.sessions:
            s.close()


class EventTap:
    """Listens on the live feed's Redis channel (``<SOCKETIO_CHANNEL>:events``, app/web/live_feed.py) like a
    live process would, and notes when each TicketCalled was published: splits a call's latency into
    response -> published (the web process) and published -> screen (Redis and the live processes)."""

    def __init__(self, redis_client, channel: str) -> None:
        self.published: dict[int, float] = {}  # ticket id -> time.monotonic() when the event came by
        self.events = 0
        self.errors = 0
        self._pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(f"{channel}:events")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._pubsub.get_message(timeout=0.5)
            except Exception:  # noqa: BLE001 - counted; the bench goes on without it
                self.errors += 1
                time.sleep(0.5)
                continue
            if not message or message.get("type") != "message":
                continue
            now = time.monotonic()
            self.events += 1
            try:
                body = json.loads(message["data"].partition(b" ")[2])["event"]
            except (ValueError, KeyError, TypeError):
                self.errors += 1
                continue
            if body.get("event") == CALLED and not body.get("recall") and body.get("ticket_id") is not None:
                self.published.setdefault(body["ticket_id"], now)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self._pubsub.close()
        except Exception:  # noqa: BLE001 - best effort
            pass


# --------------------------------------------------------------------------- one phase

def ms(values: list[float], q: float) -> float | None:
    return qb.percentile_ms(values, q)


def screens_for(halls: list[dict], clients: int) -> list[tuple[int, str]]:
    """Screen g watches hall g mod H, with that hall's display token."""
    return [(halls[g % len(halls)]["hall_id"], halls[g % len(halls)]["display"]) for g in range(clients)]


def run_phase(name: str, halls: list[dict], clients: int, calls: int, args, screen_servers: list, web_servers: list,
              counters: Counters, stop: threading.Event, holder: dict, gc_dir: Path | None,
              redis_pids: list[int], on_calls=None, tap: EventTap | None = None) -> dict:
    """Connect ``clients`` screens over ``halls``, make the calls, wait the grace period, collect, disconnect."""
    procs = max(len(screen_servers), min(args.client_procs, clients))
    screen_pids = lambda: [p for s in screen_servers for p in s.workers()]  # noqa: E731
    log(f"{name}: connecting {clients} screens over {len(halls)} halls from {procs} client processes to "
        f"{len(screen_servers)} server(s) (websocket only, {args.connect_concurrency} connects at a time per process)")
    rss_before = rss_kb(screen_pids())
    t0 = time.monotonic()
    pool = ClientProcs(screens_for(halls, clients), procs, screen_servers, args)
    holder["pool"] = pool
    sampler = ServerSampler(screen_servers, web_servers)
    result: dict = {"clients": clients, "halls": len(halls)}
    all_servers = [*web_servers, *screen_servers]
    try:
        with sampler:
            reports = pool.wait_connected(timeout=args.connect_timeout + 60 + clients * 0.2)
            connect_wall = time.monotonic() - t0
            connected = sum(r["connected"] for r in reports)
            failed = sum(r["failed"] for r in reports)
            connect_s = [x for r in reports for x in r["connect_s"]]
            conn_errors: Counter = Counter()
            for r in reports:
                conn_errors.update(r["errors"])
            result.update({
                "connected": connected, "connect_failed": failed, "connect_errors": dict(conn_errors),
                "connect_error_samples": [s for r in reports for s in r["error_samples"]][:5],
                "connect_all_s": round(connect_wall, 2),
                "connect_p50_ms": ms(connect_s, 50), "connect_p99_ms": ms(connect_s, 99),
                "connect_max_ms": ms(connect_s, 100),
            })
            log(f"{name}: {connected}/{clients} connected in {connect_wall:.1f} s (process start included), "
                f"per connect p50 {result['connect_p50_ms']} ms, p99 {result['connect_p99_ms']} ms"
                + (f"; FAILED {failed}: {dict(conn_errors)} {result['connect_error_samples'][:2]}" if failed else ""))
            if any("rejected by server" in x for x in result["connect_error_samples"]):
                log(f"{name}: the server refused screens at connect (a full server: LIVE_MAX_CLIENTS in its log?)")
            time.sleep(args.settle)  # the connect-time snapshots go out; the screens sit idle
            rss_after = rss_kb(screen_pids())
            result["gc_during_connect"] = gc_pauses(gc_dir, screen_pids(), t0, time.monotonic())
            sampler.sample()
            result["idle"] = {
                "rss_before_mb": round(rss_before / 1024, 1), "rss_after_mb": round(rss_after / 1024, 1),
                "rss_per_1000_screens_mb": round((rss_after - rss_before) / 1024 / connected * 1000, 1)
                if connected else None,
                "server_threads": sampler.peak_threads,
            }
            log(f"{name}: screen processes {rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MB RSS with {connected} "
                f"idle screens ({result['idle']['rss_per_1000_screens_mb']} MB per 1,000), "
                f"{sampler.peak_threads} threads")
            result["clock_check"] = pool.clock_check()
            if not result["clock_check"]["same_clock"]:
                log(f"WARNING: client processes' time.monotonic() is not ours: {result['clock_check']}")
            if args.warmup_calls:
                counters.run(halls, args.warmup_calls, args.rate, f"{name} warm-up", stop)
            pool.send_all("reset-lag")
            web_cpu1 = qb.cpu_seconds([p for s in web_servers for p in s.pids()])
            live_cpu1 = qb.cpu_seconds([p for s in screen_servers for p in s.pids()])
            client_cpu1 = qb.cpu_seconds(pool.pids())
            busy1, _ = qb.machine_busy()
            own1 = sum(os.times()[:2])
            redis_cpu1 = qb.cpu_seconds(redis_pids)
            t_calls = time.monotonic()
            sampler.record_from(t_calls)
            log(f"{name}: {calls} calls at {args.rate:g}/s over {len(halls)} halls' counters through {counters.base}")
            if on_calls is not None:
                on_calls(calls / args.rate + 1)
            records, call_info = counters.run(halls, calls, args.rate, name, stop)
            calls_wall = time.monotonic() - t_calls
            log(f"{name}: last call done; waiting {args.grace:g} s grace")
            time.sleep(args.grace)
            wall = time.monotonic() - t_calls
            web_cpu2 = qb.cpu_seconds([p for s in web_servers for p in s.pids()])
            live_cpu2 = qb.cpu_seconds([p for s in screen_servers for p in s.pids()])
            client_cpu2 = qb.cpu_seconds(pool.pids())
            busy2, _ = qb.machine_busy()
            own2 = sum(os.times()[:2])
            redis_cpu2 = qb.cpu_seconds(redis_pids)
            t_end = time.monotonic()
            collected = pool.collect()
        result["gc_during_calls"] = gc_pauses(gc_dir, screen_pids(), t_calls, t_end)
        log(f"{name}: collected; disconnecting the screens")
        pool.stop()
        holder["pool"] = None
    except BaseException:
        pool.kill()
        holder["pool"] = None
        raise

    by_hall: dict[int, list[dict]] = defaultdict(list)
    for r in records:
        by_hall[r["hall_id"]].append(r)
    hall_of = {r["ticket_id"]: r["hall_id"] for r in records}
    latencies: list[float] = []
    from_request: list[float] = []
    per_server_lat: dict[int, list[float]] = {}
    worst: dict[int, float] = {}
    missing_by_ticket: Counter = Counter()
    foreign = 0
    screens_total = 0
    for c in collected:
        screens_total += len(c["called"])
        bucket = per_server_lat.setdefault(c["server"], [])
        for hall_id, got in c["called"]:
            for rec in by_hall.get(hall_id, ()):
                t = got.get(rec["ticket_id"])
                if t is None:
                    missing_by_ticket[rec["ticket_id"]] += 1
                    continue
                latencies.append(t - rec["answered"])
                from_request.append(t - rec["sent"])
                bucket.append(t - rec["answered"])
                worst[rec["ticket_id"]] = max(worst.get(rec["ticket_id"], t), t)
            foreign += sum(1 for tid in got if tid in hall_of and hall_of[tid] != hall_id)
    last_screen = [worst[r["ticket_id"]] - r["answered"] for r in records if r["ticket_id"] in worst]
    # per second of the calls: how late the slowest screen got the calls answered in that second (spikes vs GC)
    by_second: dict[int, list[float]] = defaultdict(list)
    for r in records:
        if r["ticket_id"] in worst:
            by_second[int(r["answered"] - t_calls)].append(worst[r["ticket_id"]] - r["answered"])
    snapshots_at: Counter = Counter()
    for c in collected:
        for sec, n in c["snapshot_seconds"].items():
            if sec >= int(t_calls):
                snapshots_at[int(sec - int(t_calls))] += n
    latency_timeline = [{"t": sec, "calls": len(by_second.get(sec, ())),
                         "last_screen_max_ms": round(max(by_second[sec]) * 1000, 1) if by_second.get(sec) else None,
                         "snapshots_received": snapshots_at.get(sec, 0)}
                        for sec in sorted(set(by_second) | set(snapshots_at))]
    http = [r["answered"] - r["sent"] for r in records]
    to_feed: list[float] = []  # response -> the event on the Redis channel
    feed_to_screen: list[float] = []  # the event on the channel -> each screen
    if tap is not None:
        for c in collected:
            for hall_id, got in c["called"]:
                for rec in by_hall.get(hall_id, ()):
                    t, pub = got.get(rec["ticket_id"]), tap.published.get(rec["ticket_id"])
                    if t is not None and pub is not None:
                        feed_to_screen.append(t - pub)
        to_feed = [tap.published[r["ticket_id"]] - r["answered"] for r in records if r["ticket_id"] in tap.published]
    messages: Counter = Counter()
    protocol: Counter = Counter()
    for c in collected:
        messages.update(c["messages"])
        protocol.update(c["protocol"])
    rx_bytes = sum(c["rx_bytes"] for c in collected)
    in_calls = sum(c["messages_in_calls"] for c in collected)  # received from the first measured call on
    lags = [c["lag_max_s"] for c in collected if c["lag_max_s"] is not None]
    lag99 = [c["lag_p99_s"] for c in collected if c["lag_p99_s"] is not None]
    web_cpu, live_cpu, client_cpu = web_cpu2 - web_cpu1, live_cpu2 - live_cpu1, client_cpu2 - client_cpu1
    redis_cpu = redis_cpu2 - redis_cpu1
    per_msg = lambda cpu: round(cpu / max(1, in_calls) * 1e6, 1)  # noqa: E731
    result.update({
        "calls": len(records), "calls_asked": calls, "call_errors": call_info["errors"],
        "achieved_rate": call_info["achieved_rate"],
        "call_late_p99_ms": call_info["call_late_p99_ms"], "call_late_max_ms": call_info["call_late_max_ms"],
        "deliveries": len(latencies),
        "p50_ms": ms(latencies, 50), "p90_ms": ms(latencies, 90), "p99_ms": ms(latencies, 99),
        "p999_ms": ms(latencies, 99.9), "max_ms": ms(latencies, 100), "min_ms": ms(latencies, 0.0001),
        "negative_deliveries": sum(1 for x in latencies if x < 0),
        "last_screen_p50_ms": ms(last_screen, 50), "last_screen_p99_ms": ms(last_screen, 99),
        "last_screen_max_ms": ms(last_screen, 100),
        "from_request_p50_ms": ms(from_request, 50), "from_request_p99_ms": ms(from_request, 99),
        "call_http_p50_ms": ms(http, 50), "call_http_p99_ms": ms(http, 99), "call_http_max_ms": ms(http, 100),
        # with a message queue: when the web's event came by on Redis (a listener of the bench's own)
        "published_calls": sum(1 for r in records if tap is not None and r["ticket_id"] in tap.published)
        if tap is not None else None,
        "to_feed_p50_ms": ms(to_feed, 50), "to_feed_p99_ms": ms(to_feed, 99), "to_feed_max_ms": ms(to_feed, 100),
        "feed_to_screen_p50_ms": ms(feed_to_screen, 50), "feed_to_screen_p99_ms": ms(feed_to_screen, 99),
        "feed_to_screen_max_ms": ms(feed_to_screen, 100),
        "lost": len(missing_by_ticket),
        "deliveries_missing": sum(missing_by_ticket.values()),
        "foreign_deliveries": foreign,
        "screens_dropped": sum(c["dropped"] for c in collected),
        "drop_reasons": dict(sum((Counter(c["drop_reasons"]) for c in collected), Counter())),
        "drops_after_calls_start_s": sorted(round(t - t_calls, 1) for c in collected for t in c["drop_times"])[:: max(
            1, sum(len(c["drop_times"]) for c in collected) // 20)],
        "seq_gaps": sum(c["seq_gaps"] for c in collected),
        "seq_backwards": sum(c["seq_backwards"] for c in collected),
        "bad_payloads": sum(c["bad_payloads"] for c in collected),
        "protocol": dict(protocol),
        "messages": dict(messages),
        "messages_in_calls": in_calls,
        "messages_per_s": round(in_calls / wall, 1) if wall else None,
        "messages_per_screen_per_s": round(in_calls / max(1, screens_total) / wall, 2) if wall else None,
        "rx_mb": round(rx_bytes / 1e6, 2),
        "client_loop_lag_p99_ms": round(max(lag99) * 1000, 1) if lag99 else None,
        "client_loop_lag_max_ms": round(max(lags) * 1000, 1) if lags else None,
        "web_cores": round(web_cpu / wall, 2),
        "live_cores": round(live_cpu / wall, 2),
        "server_cores": round((web_cpu + live_cpu) / wall, 2),
        "busiest_worker_cores": round(sampler.busiest_worker_cores, 2),  # of the processes holding screens, per 1 s
        "client_cores": round(client_cpu / wall, 2),
        "redis_cores": round(redis_cpu / wall, 2) if redis_pids else None,
        "machine_busy_cores": round((busy2 - busy1) / wall, 2),
        "other_cores": round(max(0.0, (busy2 - busy1) - web_cpu - live_cpu - client_cpu - redis_cpu
                                 - (own2 - own1)) / wall, 2),
        # CPU per Socket.IO message a screen received (every kind), over the calls and the grace period
        "server_cpu_us_per_message": per_msg(web_cpu + live_cpu),
        "live_cpu_us_per_message": per_msg(live_cpu),
        "client_cpu_us_per_message": per_msg(client_cpu),
        "calls_s": round(calls_wall, 1),
        "server_rss_mb": round(sampler.peak_rss_kb / 1024, 1),
        "server_threads": sampler.peak_threads,
        "web_rss_mb": round(sampler.peak_other_rss_kb / 1024, 1) if web_servers else None,
        "kernel_and_threads": sampler.summary(),
        "timeline": sampler.timeline,
        "latency_timeline": latency_timeline,
        "per_server": [{"server": i, "rss_mb": round(p["rss_kb"] / 1024, 1), "threads": p["threads"],
                        "deliveries": len(per_server_lat.get(i, [])),
                        "p50_ms": ms(per_server_lat.get(i, []), 50), "p99_ms": ms(per_server_lat.get(i, []), 99),
                        "max_ms": ms(per_server_lat.get(i, []), 100)}
                       for i, p in enumerate(sampler.per_server)],
    })
    result["limits"] = limits(result, os.cpu_count() or 1)
    gc_info = result.get("gc_during_calls") or {}
    log(f"{name}: {len(records)} calls, {len(latencies)} deliveries: p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms, min {result['min_ms']} ms "
        f"({result['negative_deliveries']} negative); slowest screen per call p50 {result['last_screen_p50_ms']} / "
        f"p99 {result['last_screen_p99_ms']} ms; call-next HTTP p50 {result['call_http_p50_ms']} / "
        f"p99 {result['call_http_p99_ms']} ms; calls/s {result['achieved_rate']}")
    if tap is not None:
        log(f"{name}: on the Redis channel: {result['published_calls']} of {len(records)} calls published; response -> "
            f"channel p50 {result['to_feed_p50_ms']} / p99 {result['to_feed_p99_ms']} / max {result['to_feed_max_ms']} ms; "
            f"channel -> screen p50 {result['feed_to_screen_p50_ms']} / p99 {result['feed_to_screen_p99_ms']} / max "
            f"{result['feed_to_screen_max_ms']} ms")
    log(f"{name}: lost {result['lost']}, deliveries missing {result['deliveries_missing']}, foreign "
        f"{foreign}, dropped screens {result['screens_dropped']} {result['drop_reasons'] or ''}, seq gaps "
        f"{result['seq_gaps']}; messages {dict(messages)}, {result['rx_mb']} MB received")
    log(f"{name}: CPU cores: web {result['web_cores']}, screen servers {result['live_cores']} (busiest worker "
        f"{result['busiest_worker_cores']} of a core at peak), clients {result['client_cores']}, redis "
        f"{result['redis_cores']}, others {result['other_cores']}, machine {result['machine_busy_cores']} of "
        f"{os.cpu_count()}; per message received: servers {result['server_cpu_us_per_message']} us, screen servers "
        f"{result['live_cpu_us_per_message']} us, clients {result['client_cpu_us_per_message']} us; client loop lag "
        f"p99 {result['client_loop_lag_p99_ms']} / max {result['client_loop_lag_max_ms']} ms; screen servers peak "
        f"{result['server_rss_mb']} MB RSS, {result['server_threads']} threads")
    if gc_info:
        log(f"{name}: GC in the screen servers during the calls: {gc_info['full_collections']} full collections "
            f"(max {gc_info['full_max_ms']} ms), {gc_info['over_20ms']} collections of 20 ms or more, "
            f"{gc_info['freezes']} freezes; slowest {[(e['t'], e['gen'], e['ms']) for e in gc_info['slowest'][:3]]}")
    k = result["kernel_and_threads"]
    if k:
        log(f"{name}: during the calls (1 s samples, mean / max): runnable server threads {k['runnable_mean']} / "
            f"{k['runnable_max']}; unread at the screens {k['screens_unread_kb_mean']} / {k['screens_unread_kb_max']} KB; "
            f"unsent at the servers {k['server_unsent_kb_mean']} / {k['server_unsent_kb_max']} KB")
    log(f"{name}: limits: {result['limits']}")
    if len(screen_servers) > 1:
        for p in result["per_server"]:
            log(f"{name}:   server {p['server']}: {p['deliveries']} deliveries, p50 {p['p50_ms']} ms, "
                f"p99 {p['p99_ms']} ms, max {p['max_ms']} ms")
    if call_info["errors"]:
        log(f"{name}: call errors {call_info['errors']}")
    return result


def limits(r: dict, cores: int) -> list[str]:
    """Which side held the phase back, from its own figures (empty: nothing near a limit)."""
    out = []
    k = r.get("kernel_and_threads") or {}
    if (r.get("busiest_worker_cores") or 0) >= 0.9:
        out.append(f"server: a screen process used {r['busiest_worker_cores']} of a core in some second")
    if (k.get("server_unsent_kb_max") or 0) >= 512:
        out.append(f"server sends waited: up to {k['server_unsent_kb_max']} KB unsent at the servers")
    if (r.get("client_loop_lag_p99_ms") or 0) >= 50 or (k.get("screens_unread_kb_max") or 0) >= 512:
        out.append(f"load generator: client loop lag p99 {r.get('client_loop_lag_p99_ms')} ms, max "
                   f"{r.get('client_loop_lag_max_ms')} ms; up to {k.get('screens_unread_kb_max')} KB unread at the screens")
    if (r.get("call_late_p99_ms") or 0) >= 100:
        out.append(f"counters: calls started up to {r['call_late_max_ms']} ms late (p99 {r['call_late_p99_ms']} ms)")
    if (r.get("machine_busy_cores") or 0) >= 0.9 * cores:
        out.append(f"machine: {r['machine_busy_cores']} of {cores} cores busy ({r.get('other_cores')} others')")
    elif (k.get("machine_cores_max") or 0) >= 0.95 * cores:
        out.append(f"machine: all {cores} cores busy in some second (mean {r['machine_busy_cores']}, "
                   f"{r.get('other_cores')} others')")
    return out


# --------------------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", choices=("live", "threading"), default="live",
                   help="live (default): the Procfile's web: line plus --processes live: processes behind Redis "
                        "(production); threading: one web process serving the screens itself, no message queue "
                        "(the embedded design, make run)")
    p.add_argument("--clients", type=int, default=1000, help="screens in the measured phase (default 1000)")
    p.add_argument("--halls", type=int, default=1,
                   help="halls the screens and calls are spread over evenly (default 1: ZZ-EQ alone; the others "
                        "are made before the servers start)")
    p.add_argument("--client-procs", type=int, default=4, help="client processes holding the screens (default 4)")
    p.add_argument("--calls", type=int, default=200, help="measured calls (default 200)")
    p.add_argument("--rate", type=float, default=5.0, help="calls per second, over all halls (default 5)")
    p.add_argument("--call-threads", type=int, default=None,
                   help="threads making the calls (default: min(halls, 16)); calls at one counter never overlap")
    p.add_argument("--reference-clients", type=int, default=10,
                   help="screens in the reference phase (default 10, over as many halls; 0 skips it)")
    p.add_argument("--reference-calls", type=int, default=None, help="calls in the reference phase (default: --calls)")
    p.add_argument("--warmup-calls", type=int, default=3, help="unmeasured calls before each phase's calls (default 3)")
    p.add_argument("--grace", type=float, default=5.0, help="seconds to wait after the last call before collecting (default 5)")
    p.add_argument("--settle", type=float, default=3.0,
                   help="seconds between the last connect and the idle RSS reading / the first call (default 3)")
    p.add_argument("--processes", type=int, default=1, help="live processes (--server live; default 1)")
    p.add_argument("--message-queue", default=DEFAULT_MESSAGE_QUEUE,
                   help=f"SOCKETIO_MESSAGE_QUEUE for --server live (default {DEFAULT_MESSAGE_QUEUE})")
    p.add_argument("--web-concurrency", type=int, default=None,
                   help="WEB_CONCURRENCY for the web process of --server live (default: the Procfile's own default)")
    p.add_argument("--web-threads", type=int, default=None,
                   help="WEB_THREADS for the web process (--server live: default the Procfile's; threading: default "
                        "its screens + 64, every WebSocket holds one gthread thread)")
    p.add_argument("--worker-connections", type=int, default=None,
                   help="threading only: WEB_CONNECTIONS, gunicorn's --worker-connections (default: the web line's "
                        "config, twice the threads; at that many open connections gunicorn stops accepting)")
    p.add_argument("--compare-threading", type=int, default=0, metavar="SCREENS",
                   help="after the measured phase, the same calls against the threading design with SCREENS screens "
                        "(the measured phase's screens per hall), and the ratio of server CPU per message (0: don't)")
    p.add_argument("--compare-calls", type=int, default=None, help="calls of the threading comparison (default: --calls)")
    p.add_argument("--database-url", default=None,
                   help="database (default: a temporary SQLite file); a PostgreSQL one is DROPPED and recreated: its "
                        "name must contain 'bench' (queue_bench.prepare_database)")
    p.add_argument("--setup-sql", action="append", default=[], metavar="SQL",
                   help="a statement run on the database after the halls are made, before any server starts "
                        "(repeatable; e.g. an index to try: its effect on the screens without changing the app)")
    p.add_argument("--connect-concurrency", type=int, default=25,
                   help="connects in flight per client process (default 25)")
    p.add_argument("--connect-timeout", type=float, default=60.0, help="seconds one screen may take to connect (default 60)")
    p.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                   help="environment for the processes that hold the screens (repeatable), e.g. "
                        "BENCH_GC_FREEZE_EVERY_S=10, BENCH_GC_THRESHOLD=700,10,100, GEVENT_MONITOR_THREAD_ENABLE=1")
    p.add_argument("--no-gc-probe", dest="gc_probe", action="store_false",
                   help="don't log the screen processes' garbage collections (nor apply BENCH_GC_* experiments)")
    p.add_argument("--gc-log-min-ms", type=float, default=5.0,
                   help="log collections of at least this many ms besides every full one (default 5)")
    p.add_argument("--profile", default=None,
                   help="record the first screen process's worker with py-spy during the measured calls into this "
                        "file (.svg flame graph, or .txt for py-spy's collapsed stacks)")
    p.add_argument("--profile-gil", action="store_true", help="with --profile: only samples holding the GIL")
    p.add_argument("--client-impl", choices=("socketio", "light"), default="socketio",
                   help="socketio (default): real python-socketio AsyncClients; light: a minimal Engine.IO/Socket.IO "
                        "reader on aiohttp, cheaper per message, to tell the server's limit from the load generator's")
    p.add_argument("--client-nice", type=int, default=0,
                   help="nice increment for the client processes (e.g. -10, as root; default 0)")
    p.add_argument("--client-log", default=None, metavar="DIR",
                   help="write the client libraries' messages about connections (why one ended) to DIR/client-N.log")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs, GC logs, database)")
    args = p.parse_args(argv)
    if args.reference_calls is None:
        args.reference_calls = args.calls
    if args.compare_calls is None:
        args.compare_calls = args.calls
    if args.server == "threading" and args.processes != 1:
        p.error("--server threading is one process (its events are numbered in memory): --processes 1")
    if args.clients < 1 or args.calls < 1 or args.rate <= 0 or args.halls < 1 or args.processes < 1:
        p.error("--clients, --calls, --rate, --halls and --processes must be positive")
    if args.halls > args.clients:
        p.error("--halls more than --clients would leave halls without screens")
    for item in args.server_env:
        if "=" not in item:
            p.error(f"--server-env {item!r}: NAME=VALUE")
    if args.call_threads is None:
        args.call_threads = min(args.halls, 16)
    return args


def _interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def raise_open_files() -> dict:
    """Every screen is a socket here and in a server: the soft limit up to the hard one (inherited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return {"soft_before": soft, "soft": resource.getrlimit(resource.RLIMIT_NOFILE)[0], "hard": hard}


def start_profile(path: str, pid: int, seconds: float, gil: bool) -> subprocess.Popen | None:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if not spy:
        log("WARNING: --profile: py-spy not found (pip install py-spy)")
        return None
    fmt = "raw" if path.endswith(".txt") else "flamegraph"
    cmd = [spy, "record", "-p", str(pid), "-d", str(max(1, int(seconds))), "-r", "100", "-o", path, "-f", fmt,
           "--nonblocking"] + (["--gil"] if gil else ["--idle"])
    log(f"profiling worker {pid}: {' '.join(cmd)}")
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def tickets_needed(halls: int, phases: list[tuple[int, int]]) -> list[int]:
    """Tickets per hall for every call of every phase (phase: its halls, its calls incl. warm-up), and 5 spare."""
    need = [5] * halls
    for phase_halls, calls in phases:
        for i in range(calls):
            need[i % phase_halls] += 1
    return need


def threading_env(env: dict, screens: int, args) -> tuple[dict, dict]:
    """The embedded design's environment: no message queue (so one worker, by the web line's config),
    and a thread per screen: WEB_THREADS = screens + 64 unless ``--web-threads``."""
    env = {k: v for k, v in env.items() if k not in ("SOCKETIO_MESSAGE_QUEUE", "SOCKETIO_CHANNEL", "WEB_CONCURRENCY")}
    web_threads = args.web_threads or screens + 64
    env["WEB_THREADS"] = str(web_threads)
    if args.worker_connections:
        env["WEB_CONNECTIONS"] = str(args.worker_connections)
    return env, {"web_threads": web_threads, "web_connections": args.worker_connections or "the config's default"}


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)  # so the finally below stops everything
    signal.signal(signal.SIGINT, _interrupted)  # also when started with SIGINT ignored (a shell's background job)
    try:
        import aiohttp  # noqa: F401 - socketio.AsyncClient's transport
        import socketio  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"{exc}: the screens need python-socketio's asyncio client: "
                         "pip install 'python-socketio[asyncio_client]' (adds aiohttp)")
    nofile = raise_open_files()
    workdir = Path(tempfile.mkdtemp(prefix="hallq_screens_"))
    instance = workdir / "instance"
    instance.mkdir()
    running: list[ProcServer] = []
    holder: dict = {"pool": None}
    stop = threading.Event()
    channel = None
    redis_client = None
    counters = None
    tap = None
    profiler = None
    started = time.monotonic()
    try:
        database_url, _ = qb.prepare_database(args.database_url, workdir, False)
        env = qb.tool_env(database_url, instance)
        t0 = time.monotonic()
        tokens = demo_tokens(env)[HALL_CODE]
        log(f"database {database_url.split('://')[0]}: migrated and demo loaded in {time.monotonic() - t0:.0f} s; "
            f"open files: soft limit {nofile['soft_before']} -> {nofile['soft']} (hard {nofile['hard']})")

        ref_halls = min(args.halls, args.reference_clients) if args.reference_clients else 0
        per_hall = args.clients / args.halls
        cmp_halls = max(1, min(args.halls, round(args.compare_threading / per_hall))) if args.compare_threading else 0
        plan = [(args.halls, args.calls + args.warmup_calls)]
        if ref_halls:
            plan.append((ref_halls, args.reference_calls + args.warmup_calls))
        if cmp_halls:
            plan.append((cmp_halls, args.compare_calls + args.warmup_calls))
        t0 = time.monotonic()
        halls = make_halls(database_url, instance, args.halls, tokens["display"], tickets_needed(args.halls, plan),
                           args.setup_sql)
        log(f"{len(halls)} halls ready in {time.monotonic() - t0:.1f} s: each counter 1 open, "
            f"{sum(tickets_needed(args.halls, plan))} tickets issued")

        gc_dir = None
        screen_env: dict = {}
        if args.gc_probe:
            gc_dir = workdir / "gc"
            gc_dir.mkdir()
            (gc_dir / "sitecustomize.py").write_text(GC_PROBE)
            screen_env.update({"PYTHONPATH": os.pathsep.join(x for x in (str(gc_dir), env.get("PYTHONPATH")) if x),
                               "BENCH_GC_LOG_DIR": str(gc_dir), "BENCH_GC_LOG_MIN_MS": str(args.gc_log_min_ms)})
        screen_env.update(dict(item.split("=", 1) for item in args.server_env))
        redis_pids: list[int] = []

        topology: dict = {"server": args.server}
        if args.server == "live":
            import redis

            redis_client = redis.Redis.from_url(args.message_queue)
            redis_client.ping()
            redis_pids = _redis_pids()
            channel = f"hallq-screens-{uuid.uuid4().hex[:10]}"
            common = {**env, "SOCKETIO_MESSAGE_QUEUE": args.message_queue, "SOCKETIO_CHANNEL": channel}
            web_env = dict(common)
            if args.web_concurrency:
                web_env["WEB_CONCURRENCY"] = str(args.web_concurrency)
            if args.web_threads:
                web_env["WEB_THREADS"] = str(args.web_threads)
            web = ProcServer("web", procfile_command("web"), web_env, workdir / "web.log")
            running.append(web)
            web.start()
            log(f"web process up on port {web.port}: {web.expanded}")
            lives = []
            for i in range(args.processes):
                live = ProcServer("live", procfile_command("live"), {**common, **screen_env}, workdir / f"live-{i}.log",
                                  port_var="LIVE_PORT", holds_screens=True)
                running.append(live)
                live.start()
                lives.append(live)
                log(f"live process {i} up on port {live.port}: {live.expanded}")
            web_servers, screen_servers = [web], lives
            topology.update({
                "web": web.expanded, "web_workers": len(web.workers()),
                "web_concurrency": args.web_concurrency or "Procfile default",
                "live": [s.expanded for s in lives], "processes": args.processes,
                "message_queue": args.message_queue, "channel": channel,
                "web_socketio_status": socketio_status(web.base),
            })
            log(f"SOCKETIO_MESSAGE_QUEUE={args.message_queue}, SOCKETIO_CHANNEL={channel}; the web process answers "
                f"{topology['web_socketio_status']} on /socket.io/ ({topology['web_workers']} workers)")
        else:
            t_env, facts = threading_env({**env, **screen_env}, max(args.clients, args.reference_clients), args)
            web = ProcServer("web", procfile_command("web"), t_env, workdir / "web.log", holds_screens=True)
            running.append(web)
            web.start()
            log(f"threading web process up on port {web.port}: {web.expanded}")
            web_servers, screen_servers = [], [web]
            topology.update({"web": web.expanded, **facts})

        counters = Counters(web_servers[0].base if web_servers else screen_servers[0].base, args.call_threads)
        if redis_client is not None:
            tap = EventTap(redis_client, channel)
        phases = {}
        if ref_halls:
            phases["reference"] = run_phase("reference", halls[:ref_halls], args.reference_clients,
                                            args.reference_calls, args, screen_servers, web_servers, counters, stop,
                                            holder, gc_dir, redis_pids, tap=tap)

        def profile_calls(seconds: float) -> None:
            nonlocal profiler
            workers = screen_servers[0].workers()
            if args.profile and workers:
                profiler = start_profile(args.profile, workers[0], seconds, args.profile_gil)

        phases["measured"] = run_phase("measured", halls, args.clients, args.calls, args, screen_servers, web_servers,
                                       counters, stop, holder, gc_dir, redis_pids, on_calls=profile_calls, tap=tap)
        if profiler is not None:
            try:
                _, err = profiler.communicate(timeout=180)
                log(f"profile written to {args.profile}" if profiler.returncode == 0 else
                    f"py-spy failed ({profiler.returncode}): {err.decode(errors='replace')[-300:]}")
            except subprocess.TimeoutExpired:
                profiler.kill()
        logs = {s.logfile.name: server_log_problems(s.logfile) for s in running}
        counters.close()
        counters = None
        for server in running:
            server.stop()

        comparison = None
        if cmp_halls:
            t_env, facts = threading_env({**env, **screen_env}, args.compare_threading, args)
            web = ProcServer("web", procfile_command("web"), t_env, workdir / "threading.log", holds_screens=True)
            running.append(web)
            web.start()
            log(f"comparison: threading web process up on port {web.port}: {web.expanded}")
            counters = Counters(web.base, args.call_threads)
            c = run_phase("threading", halls[:cmp_halls], args.compare_threading, args.compare_calls, args, [web], [],
                          counters, stop, holder, gc_dir, [])
            phases["threading"] = c
            logs[web.logfile.name] = server_log_problems(web.logfile)
            m = phases["measured"]
            comparison = {
                "clients": args.compare_threading, "halls": cmp_halls, "calls": c["calls"], "server": web.expanded,
                **facts, "p50_ms": c["p50_ms"], "p99_ms": c["p99_ms"], "lost": c["lost"],
                "server_cpu_us_per_message": c["server_cpu_us_per_message"],
                "server_rss_mb": c["server_rss_mb"], "server_threads": c["server_threads"],
                "rss_per_1000_screens_mb": c["idle"]["rss_per_1000_screens_mb"],
                # > 1: threading costs that many times the CPU per delivered message
                "cpu_per_message_ratio_threading_to_this": round(
                    c["server_cpu_us_per_message"] / m["server_cpu_us_per_message"], 2)
                if m["server_cpu_us_per_message"] else None,
                "cpu_per_message_ratio_threading_to_screen_processes": round(
                    c["live_cpu_us_per_message"] / m["live_cpu_us_per_message"], 2)
                if m["live_cpu_us_per_message"] else None,
            }
            log(f"comparison: server CPU per message: threading {c['server_cpu_us_per_message']} us at "
                f"{args.compare_threading} screens; {args.server} {m['server_cpu_us_per_message']} us (screen "
                f"processes alone {m['live_cpu_us_per_message']} us) at {args.clients}: ratio "
                f"{comparison['cpu_per_message_ratio_threading_to_this']}")

        for name, info in logs.items():
            if info.get("problems"):
                log(f"{name}: {info['problems']}; e.g. {info['samples'][:3]}")
        m = phases["measured"]
        ref = phases.get("reference", {})
        result = {
            "clients": args.clients,
            "halls": args.halls,
            "connected": m["connected"],
            "connect_failed": m["connect_failed"],
            "connect_all_s": m["connect_all_s"],
            "calls": m["calls"],
            "rate": args.rate,
            "achieved_rate": m["achieved_rate"],
            "p50_ms": m["p50_ms"],
            "p99_ms": m["p99_ms"],
            "max_ms": m["max_ms"],
            "min_ms": m["min_ms"],
            "lost": m["lost"],
            "deliveries_missing": m["deliveries_missing"],
            "foreign_deliveries": m["foreign_deliveries"],
            "deliveries": m["deliveries"],
            "negative_deliveries": m["negative_deliveries"],
            "last_screen_p50_ms": m["last_screen_p50_ms"],
            "last_screen_p99_ms": m["last_screen_p99_ms"],
            "call_http_p50_ms": m["call_http_p50_ms"],
            "call_http_p99_ms": m["call_http_p99_ms"],
            "to_feed_p99_ms": m["to_feed_p99_ms"],
            "feed_to_screen_p99_ms": m["feed_to_screen_p99_ms"],
            "server_rss_mb": m["server_rss_mb"],
            "server_threads": m["server_threads"],
            "web_rss_mb": m["web_rss_mb"],
            "rss_per_1000_idle_screens_mb": m["idle"]["rss_per_1000_screens_mb"],
            "server_cpu_us_per_message": m["server_cpu_us_per_message"],
            "live_cpu_us_per_message": m["live_cpu_us_per_message"],
            "client_cpu_us_per_message": m["client_cpu_us_per_message"],
            "messages_per_s": m["messages_per_s"],
            "web_cores": m["web_cores"], "live_cores": m["live_cores"],
            "busiest_worker_cores": m["busiest_worker_cores"],
            "client_cores": m["client_cores"], "redis_cores": m["redis_cores"], "other_cores": m["other_cores"],
            "client_loop_lag_p99_ms": m["client_loop_lag_p99_ms"],
            "client_loop_lag_max_ms": m["client_loop_lag_max_ms"],
            "gc_full_collections": (m.get("gc_during_calls") or {}).get("full_collections"),
            "gc_max_ms": (m.get("gc_during_calls") or {}).get("max_ms"),
            "limits": m["limits"],
            "reference_clients": args.reference_clients,
            "reference_p50_ms": ref.get("p50_ms"),
            "reference_p99_ms": ref.get("p99_ms"),
            "p99_ratio": round(m["p99_ms"] / ref["p99_ms"], 2)
            if (ref.get("p99_ms") or 0) > 0 and m["p99_ms"] is not None else None,
            # a ratio of medians near or below zero says nothing: only when both are positive
            "p50_ratio": round(m["p50_ms"] / ref["p50_ms"], 2)
            if (ref.get("p50_ms") or 0) > 0 and (m["p50_ms"] or 0) > 0 else None,
            "threading_comparison": comparison,
            "topology": topology,
            "server_env": dict(item.split("=", 1) for item in args.server_env),
            "setup_sql": args.setup_sql,
            "client_procs": max(len(screen_servers), min(args.client_procs, args.clients)),
            "client_impl": "python-socketio AsyncClient" if args.client_impl == "socketio" else
            "light (Engine.IO/Socket.IO over aiohttp)",
            "protocol": m["protocol"],
            "nofile": nofile,
            "commit": qb.git_commit(),
            "machine": {"nproc": os.cpu_count(), "cpu": qb.cpu_model(), "python": platform.python_version(),
                        "nice": os.nice(0), "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "versions": package_versions(),
            "run_s": round(time.monotonic() - started),
            "server_log": logs,
            "phases": phases,
        }
        print(json.dumps(result, ensure_ascii=False))
        bad = m["lost"] or m["connect_failed"] or m["connected"] < args.clients or m["foreign_deliveries"]
        return 1 if bad else 0
    finally:
        stop.set()
        if profiler is not None and profiler.poll() is None:
            profiler.kill()
        if holder.get("pool") is not None:
            holder["pool"].kill()
        if counters is not None:
            counters.close()
        if tap is not None:
            tap.close()
        for server in running:
            server.stop()
        if redis_client is not None and channel:
            try:
                keys = list(redis_client.scan_iter(f"{channel}*"))
                if keys:
                    redis_client.delete(*keys)
            except Exception:  # noqa: BLE001 - best effort
                pass
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def package_versions() -> dict:
    from importlib import metadata

    out = {}
    for name in ("gunicorn", "gevent", "greenlet", "Flask-SocketIO", "python-socketio", "python-engineio",
                 "simple-websocket", "aiohttp", "redis"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc}); everything started was stopped")
        sys.exit(130)
