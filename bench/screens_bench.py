#!/usr/bin/env python3
"""Screens benchmark: how fast a counter's call reaches the hall's display screens over Socket.IO.

    python bench/screens_bench.py [--clients 1000] [--calls 200] [--rate 5]
    python bench/screens_bench.py --processes 2 --message-queue redis://127.0.0.1:6379/0

What one run does (figures and how to read them: BENCHMARKS.md, "Screens (Socket.IO fan-out)"):

1. A fresh SQLite database (a temporary file), migrated with ``flask --app app db upgrade`` and
   loaded with ``flask --app app demo``, whose output gives hall ZZ-EQ's kiosk and display
   device tokens (ZZ-EQ is the demo hall open all day). Helpers come from queue_bench.py.
2. The web process exactly as the Procfile's ``web:`` line declares it (``sh -c``, PORT set).
   In threading mode under gunicorn's gthread worker every WebSocket holds one worker thread
   for as long as it is open, so WEB_THREADS is set above the number of screens (default:
   screens per process + 64; ``--web-threads``). gunicorn also caps a worker at 1000 open
   connections (``--worker-connections``, WebSockets included) and then stops accepting, so from
   936 screens per process on the run adds ``--worker-connections WEB_THREADS+1000`` through
   GUNICORN_CMD_ARGS and says so (``--worker-connections 0``: don't). With
   ``--processes 2 --message-queue URL`` two
   such processes run, each on its own port with WEB_CONCURRENCY=1, sharing the database and
   Redis as SOCKETIO_MESSAGE_QUEUE with a SOCKETIO_CHANNEL of their own for this run; the
   screens are spread over both, the counter calls through the first.
3. One counter (demo staff eq01 signed in over the API, counter 1 opened for every service),
   and enough tickets issued with the kiosk token for every call, before any screen connects.
4. Reference: ``--reference-clients`` screens (default 10) connect, the counter makes
   ``--reference-calls`` calls; they disconnect. Then the measured phase: ``--clients`` screens
   (default 1000) connect and the counter makes ``--calls`` calls (default 200) at ``--rate``
   per second (default 5). Each phase starts with ``--warmup-calls`` unmeasured calls.
   A call is ``POST /api/v1/counters/<id>/call-next``, timed, then ``finish`` (not timed).
5. The screens are real python-socketio clients (``socketio.AsyncClient``, so one process holds
   hundreds; it needs aiohttp: ``pip install "python-socketio[asyncio_client]"``), spread over
   ``--client-procs`` processes (default 4), WebSocket transport only, ``auth={"token": <display
   token>}`` and ``?hall_id=`` so each joins the hall's room at connect. They understand the live
   protocol of app/web/live.py (``snapshot``, then ``delta`` = ``{"seq", "event", "hall_id", ...}``)
   and the older one that emitted the event name itself (``TicketCalled`` with the same payload);
   every other message (``counter``, ``ticket``, ``queue``, ...) is only counted, with its bytes.
   ``--client-impl light`` replaces them by a minimal Engine.IO/Socket.IO reader on aiohttp that
   costs less CPU per message, to tell the server's limit from the load generator's.
6. While the calls run, once a second: the web workers' VmRSS and threads (from /proc), how many
   of their threads are runnable, and the bytes waiting in the kernel on their connections
   (``screens_unread``: the screens are behind; ``server_unsent``: the network is), from
   /proc/net/tcp; and the CPU of the servers, the client processes, Redis and everything else.

Latency. Right after each call-next's HTTP response the bench takes ``time.monotonic()``; each
screen takes ``time.monotonic()`` when its ``TicketCalled`` for that ticket (``recall`` 0)
arrives. On Linux ``time.monotonic()`` is CLOCK_MONOTONIC, one clock for the whole machine
(time since boot), so readings from different processes compare directly; the run checks this
(``clock_check``: a client process's reading taken between two of the bench's readings must fall
between them). Latency = receipt - response. It can be slightly NEGATIVE and is reported as
measured, never clamped: the server emits after the commit but before it writes the HTTP response
(in one process the emit to every screen even runs inside the request), so a screen may have
the message before the counter has its answer. ``from_request`` figures (receipt - the moment
the request was sent) bound the latency from the other side; ``call_http`` is the call-next's
own duration. ``last_screen`` figures take, per call, the slowest screen: when the whole hall is
up to date.

``lost`` is the number of measured calls that at least one connected screen never got within
``--grace`` seconds after the last call (must be 0); ``deliveries_missing`` counts the missing
(screen, call) pairs. A screen that drops its connection during the phase is counted as missing
every call it did not get.

Progress goes to stderr; the LAST line on stdout is one JSON object. Exit status 1 if anything
was lost or a screen could not connect. Everything started is stopped on exit, error, Ctrl-C and
SIGTERM: the web processes (their process groups), the client processes, this run's Redis keys.
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
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import queue_bench as qb  # noqa: E402 - the shared helpers (database, Procfile server, setup over the API)

import requests  # noqa: E402

ROOT = qb.ROOT
HALL_CODE = qb.HALL_CODE
CALLED = "TicketCalled"
CALLED_FIELDS = ("ticket_id", "label", "counter_number", "recall")
CALL_TIMEOUT = 10.0  # seconds for one counter request
MAX_FAILED_CALLS_IN_A_ROW = 3  # then the phase gives up (e.g. the server stopped accepting connections)


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
        self.rx_bytes = 0
        self.messages: Counter = Counter()
        self.called: dict[int, float] = {}  # ticket id -> time.monotonic() at receipt
        self.protocol: Counter = Counter()  # "delta" | "event-name": how TicketCalled came
        self.bad_payloads = 0
        self.last_delta_seq: int | None = None
        self.seq_gaps = 0  # deltas whose seq jumped (a delta of the hall never came)
        self.seq_backwards = 0  # deltas whose seq was not above the previous one
        self.snapshot_seq: int | None = None
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
    screens = [Screen() for _ in range(spec["clients"])]
    sem = asyncio.Semaphore(spec["connect_concurrency"])
    connect_s: list[float] = []
    errors: Counter = Counter()
    samples: list[str] = []
    url = f"{spec['base']}?hall_id={spec['hall_id']}"

    async def connect(screen) -> None:
        async with sem:
            t0 = time.monotonic()
            try:
                await screen.connect(url, auth={"token": spec["token"]}, transports=["websocket"],
                                     wait_timeout=spec["connect_timeout"])
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors[type(exc).__name__] += 1
                if len(samples) < 5:
                    samples.append(f"{type(exc).__name__}: {exc}"[:300])
                return
            connect_s.append(time.monotonic() - t0)

    t_start = time.monotonic()
    await asyncio.gather(*(connect(s) for s in screens))
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
                    # per screen that was connected: {ticket id: receipt}
                    "called": [s.called for s in ok],
                    "dropped": sum(1 for s in ok if s.dropped),
                    "drop_reasons": dict(Counter(s.drop_reason for s in ok if s.dropped)),
                    "drop_times": [s.drop_time for s in ok if s.dropped],
                    "still_connected": sum(1 for s in ok if s.connected),
                    "messages": dict(messages), "rx_bytes": sum(s.rx_bytes for s in ok),
                    "messages_in_calls": sum(messages.values()) - messages_before,
                    "protocol": dict(protocol), "bad_payloads": sum(s.bad_payloads for s in ok),
                    "seq_gaps": sum(s.seq_gaps for s in ok), "seq_backwards": sum(s.seq_backwards for s in ok),
                    "lag_p99_s": sorted(lags)[int(0.99 * (len(lags) - 1))] if lags else None,
                    "lag_max_s": max(lags) if lags else None,
                })
            elif msg["cmd"] == "stop":
                if msg.get("gone"):
                    return
                try:
                    await asyncio.wait_for(asyncio.gather(*(s.disconnect() for s in ok if s.connected),
                                                          return_exceptions=True), timeout=20)
                except asyncio.TimeoutError:
                    pass  # the bench kills this process next anyway
                conn.send({"type": "stopped"})
                return
    finally:
        monitor.cancel()
        loop.remove_reader(conn.fileno())


class ClientProcs:
    """Screens spread over a few processes, each connected to one server (round robin)."""

    def __init__(self, clients: int, procs: int, servers: list, hall_id: int, token: str, args) -> None:
        ctx = multiprocessing.get_context("spawn")  # a clean interpreter: no server, no requests state
        procs = max(1, min(procs, clients))
        self.procs = []
        self.conns = []
        for w in range(procs):
            n = clients // procs + (1 if w < clients % procs else 0)
            server = w % len(servers)
            spec = {"worker": w, "server": server, "base": servers[server].base, "hall_id": hall_id,
                    "token": token, "clients": n, "connect_concurrency": args.connect_concurrency,
                    "connect_timeout": args.connect_timeout, "log_dir": args.client_log, "impl": args.client_impl,
                    "nice": args.client_nice}
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
        return [self._recv(c, "collected", 60) for c in self.conns]

    def stop(self) -> None:
        for c in self.conns:
            try:
                c.send({"cmd": "stop"})
            except (OSError, BrokenPipeError):
                pass
        for c in self.conns:
            try:
                if c.poll(25):
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
    """Bytes sitting in the kernel on the web processes' connections (from /proc/net/tcp).

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
    """Samples once a second: the web workers' VmRSS (sum) and threads (peaks), how many of their
    threads are runnable, and the kernel socket queues on their ports (``tcp_queues``)."""

    def __init__(self, servers: list, interval: float = 1.0) -> None:
        self.servers = servers
        self.interval = interval
        self.peak_rss_kb = 0
        self.peak_threads = 0
        self.per_server: list[dict] = [{"rss_kb": 0, "threads": 0} for _ in servers]
        self.timeline: list[dict] = []  # one sample a second while recording
        self.recording_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def record_from(self, t0: float) -> None:
        self.timeline = []
        self.recording_since = t0

    def sample(self, detail: bool = False) -> None:
        total_rss = total_threads = runnable = 0
        for i, server in enumerate(self.servers):
            rss = threads = 0
            for pid in qb.children_of(server.proc.pid):  # the gunicorn workers (not the master)
                st = proc_status(pid)
                rss += st.get("VmRSS", 0)
                threads += st.get("Threads", 0)
                if detail:
                    runnable += runnable_threads(pid)
            self.per_server[i]["rss_kb"] = max(self.per_server[i]["rss_kb"], rss)
            self.per_server[i]["threads"] = max(self.per_server[i]["threads"], threads)
            total_rss += rss
            total_threads += threads
        self.peak_rss_kb = max(self.peak_rss_kb, total_rss)
        self.peak_threads = max(self.peak_threads, total_threads)
        if detail and self.recording_since is not None:
            q = tcp_queues({s.port for s in self.servers})
            self.timeline.append({"t": round(time.monotonic() - self.recording_since, 1),
                                  "runnable": runnable, "server_unsent_kb": q["server_unsent"] // 1024,
                                  "screens_unread_kb": q["screens_unread"] // 1024,
                                  "server_unread_kb": q["server_unread"] // 1024, "conns": q["connections"]})

    def summary(self) -> dict:
        tl = self.timeline
        if not tl:
            return {}
        out = {}
        for key in ("runnable", "server_unsent_kb", "screens_unread_kb", "server_unread_kb"):
            values = [x[key] for x in tl]
            out[key + "_max"] = max(values)
            out[key + "_mean"] = round(sum(values) / len(values), 1)
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
                         r"Too many open files|can't start new thread", re.I)
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


# --------------------------------------------------------------------------- the counter

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


class CounterConsole:
    """The counter over HTTP: call-next (timed), then finish (not timed), at a fixed rate."""

    def __init__(self, base: str, seat: dict) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + seat["token"]
        self.call_url = f"{base}/api/v1/counters/{seat['counter_id']}/call-next"
        self.finish_url = f"{base}/api/v1/counters/{seat['counter_id']}/finish"

    def run(self, calls: int, rate: float, label: str, stop: threading.Event) -> tuple[list[dict], dict]:
        """``calls`` calls paced at ``rate``/s; returns one record per call and the errors."""
        records: list[dict] = []
        errors: Counter = Counter()
        failed_in_a_row = 0
        start = time.monotonic()
        for i in range(calls):
            if stop.is_set():
                break
            if failed_in_a_row >= MAX_FAILED_CALLS_IN_A_ROW:
                log(f"  {label}: {failed_in_a_row} calls in a row failed ({dict(errors)}): giving up the phase")
                errors["gave up"] += 1
                break
            failed_in_a_row += 1
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            try:
                resp = self.session.post(self.call_url, json={}, timeout=CALL_TIMEOUT)
            except requests.RequestException as exc:
                errors[type(exc).__name__] += 1
                continue
            answered = time.monotonic()
            if resp.status_code != 200 or not (ticket := resp.json().get("ticket")):
                errors[f"call-next {resp.status_code}" + ("" if resp.status_code != 200 else " empty")] += 1
                continue
            failed_in_a_row = 0
            records.append({"ticket_id": ticket["id"], "label": ticket.get("label"), "sent": sent,
                            "answered": answered})
            try:
                fin = self.session.post(self.finish_url, json={"ticket_id": ticket["id"]}, timeout=CALL_TIMEOUT)
                if fin.status_code != 200:
                    errors[f"finish {fin.status_code}"] += 1
            except requests.RequestException as exc:
                errors[f"finish {type(exc).__name__}"] += 1
            if (i + 1) % max(1, calls // 5) == 0:
                log(f"  {label}: {i + 1}/{calls} calls")
        elapsed = time.monotonic() - start
        return records, {"errors": dict(errors), "achieved_rate": round(len(records) / elapsed, 2) if elapsed else None}

    def close(self) -> None:
        self.session.close()


# --------------------------------------------------------------------------- one phase

def ms(values: list[float], q: float) -> float | None:
    return qb.percentile_ms(values, q)


def run_phase(name: str, clients: int, calls: int, args, servers: list, hall_id: int, display_token: str,
              console: CounterConsole, stop: threading.Event, holder: dict, on_calls=None) -> dict:
    """Connect ``clients`` screens, make the calls, wait the grace period, collect, disconnect."""
    procs = max(len(servers), min(args.client_procs, clients))
    log(f"{name}: connecting {clients} screens from {procs} client processes "
        f"(websocket only, {args.connect_concurrency} connects at a time per process)")
    t0 = time.monotonic()
    pool = ClientProcs(clients, procs, servers, hall_id, display_token, args)
    holder["pool"] = pool
    sampler = ServerSampler(servers)
    result: dict = {"clients": clients}
    try:
        with sampler:
            reports = pool.wait_connected(timeout=args.connect_timeout + 30 + clients * 0.2)
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
            sampler.sample()
            result["after_connect"] = {"server_rss_mb": round(sampler.peak_rss_kb / 1024, 1),
                                       "server_threads": sampler.peak_threads}
            log(f"{name}: web workers now {sampler.peak_rss_kb / 1024:.0f} MB RSS, {sampler.peak_threads} threads")
            result["clock_check"] = pool.clock_check()
            if not result["clock_check"]["same_clock"]:
                log(f"WARNING: client processes' time.monotonic() is not ours: {result['clock_check']}")
            time.sleep(1.0)  # let the connect-time snapshots settle
            if args.warmup_calls:
                console.run(args.warmup_calls, args.rate, f"{name} warm-up", stop)
            pool.send_all("reset-lag")
            cpu1 = qb.cpu_seconds([p for s in servers for p in s.pids()])
            client_cpu1 = qb.cpu_seconds(pool.pids())
            busy1, _ = qb.machine_busy()
            own1 = sum(os.times()[:2])
            redis_pids = _redis_pids() if args.message_queue else []
            redis_cpu1 = qb.cpu_seconds(redis_pids)
            t_calls = time.monotonic()
            sampler.record_from(t_calls)
            log(f"{name}: {calls} calls at {args.rate:g}/s through {servers[0].base}")
            if on_calls is not None:
                on_calls(calls / args.rate + 1)
            records, call_info = console.run(calls, args.rate, name, stop)
            calls_wall = time.monotonic() - t_calls
            log(f"{name}: last call done; waiting {args.grace:g} s grace")
            time.sleep(args.grace)
            wall = time.monotonic() - t_calls
            cpu2 = qb.cpu_seconds([p for s in servers for p in s.pids()])
            client_cpu2 = qb.cpu_seconds(pool.pids())
            busy2, _ = qb.machine_busy()
            own2 = sum(os.times()[:2])
            collected = pool.collect()
        log(f"{name}: collected; disconnecting the screens")
        pool.stop()
        holder["pool"] = None
    except BaseException:
        pool.kill()
        holder["pool"] = None
        raise

    measured = {r["ticket_id"]: r for r in records}
    latencies: list[float] = []
    from_request: list[float] = []
    last_screen: list[float] = []
    per_server_lat: dict[int, list[float]] = {}
    missing_by_ticket: Counter = Counter()
    screens_total = 0
    for c in collected:
        screens_total += len(c["called"])
        bucket = per_server_lat.setdefault(c["server"], [])
        for got in c["called"]:
            for tid, rec in measured.items():
                t = got.get(tid)
                if t is None:
                    missing_by_ticket[tid] += 1
                    continue
                latencies.append(t - rec["answered"])
                from_request.append(t - rec["sent"])
                bucket.append(t - rec["answered"])
    for tid, rec in measured.items():
        worst = None
        for c in collected:
            for got in c["called"]:
                t = got.get(tid)
                if t is not None and (worst is None or t > worst):
                    worst = t
        if worst is not None:
            last_screen.append(worst - rec["answered"])
    http = [r["answered"] - r["sent"] for r in records]
    messages: Counter = Counter()
    protocol: Counter = Counter()
    for c in collected:
        messages.update(c["messages"])
        protocol.update(c["protocol"])
    rx_bytes = sum(c["rx_bytes"] for c in collected)
    in_calls = sum(c["messages_in_calls"] for c in collected)  # received from the first measured call on
    lags = [c["lag_max_s"] for c in collected if c["lag_max_s"] is not None]
    lag99 = [c["lag_p99_s"] for c in collected if c["lag_p99_s"] is not None]
    result.update({
        "calls": len(records), "calls_asked": calls, "call_errors": call_info["errors"],
        "achieved_rate": call_info["achieved_rate"],
        "deliveries": len(latencies),
        "p50_ms": ms(latencies, 50), "p90_ms": ms(latencies, 90), "p99_ms": ms(latencies, 99),
        "max_ms": ms(latencies, 100), "min_ms": ms(latencies, 0.0001),
        "negative_deliveries": sum(1 for x in latencies if x < 0),
        "last_screen_p50_ms": ms(last_screen, 50), "last_screen_p99_ms": ms(last_screen, 99),
        "last_screen_max_ms": ms(last_screen, 100),
        "from_request_p50_ms": ms(from_request, 50), "from_request_p99_ms": ms(from_request, 99),
        "call_http_p50_ms": ms(http, 50), "call_http_p99_ms": ms(http, 99), "call_http_max_ms": ms(http, 100),
        "lost": len(missing_by_ticket),
        "deliveries_missing": sum(missing_by_ticket.values()),
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
        "messages_per_screen_per_s": round(in_calls / max(1, screens_total) / calls_wall, 2) if calls_wall else None,
        "rx_mb": round(rx_bytes / 1e6, 2),
        "rx_kb_per_screen_per_s": round(rx_bytes / 1e3 / max(1, screens_total) / wall, 2) if wall else None,
        "client_loop_lag_p99_ms": round(max(lag99) * 1000, 1) if lag99 else None,
        "client_loop_lag_max_ms": round(max(lags) * 1000, 1) if lags else None,
        "server_cores": round((cpu2 - cpu1) / wall, 2),
        "client_cores": round((client_cpu2 - client_cpu1) / wall, 2),
        "machine_busy_cores": round((busy2 - busy1) / wall, 2),
        # CPU per Socket.IO message a screen received (every kind), over the calls and the grace period;
        # the server's includes its HTTP and database work for the calls
        "client_cpu_us_per_message": round((client_cpu2 - client_cpu1) / max(1, in_calls) * 1e6, 1),
        "server_cpu_us_per_message": round((cpu2 - cpu1) / max(1, in_calls) * 1e6, 1),
        "other_cores": round(max(0.0, (busy2 - busy1) - (cpu2 - cpu1) - (client_cpu2 - client_cpu1)
                                 - (qb.cpu_seconds(redis_pids) - redis_cpu1) - (own2 - own1)) / wall, 2),
        "redis_cores": round((qb.cpu_seconds(redis_pids) - redis_cpu1) / wall, 2) if redis_pids else None,
        "calls_s": round(calls_wall, 1),
        "server_rss_mb": round(sampler.peak_rss_kb / 1024, 1),
        "server_threads": sampler.peak_threads,
        "kernel_and_threads": sampler.summary(),
        "timeline": sampler.timeline,
        "per_server": [{"server": i, "rss_mb": round(p["rss_kb"] / 1024, 1), "threads": p["threads"],
                        "deliveries": len(per_server_lat.get(i, [])),
                        "p50_ms": ms(per_server_lat.get(i, []), 50), "p99_ms": ms(per_server_lat.get(i, []), 99),
                        "max_ms": ms(per_server_lat.get(i, []), 100)}
                       for i, p in enumerate(sampler.per_server)],
    })
    log(f"{name}: {len(records)} calls, {len(latencies)} deliveries: p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms, min {result['min_ms']} ms "
        f"({result['negative_deliveries']} negative); slowest screen per call p50 {result['last_screen_p50_ms']} / "
        f"p99 {result['last_screen_p99_ms']} ms; call-next HTTP p50 {result['call_http_p50_ms']} / "
        f"p99 {result['call_http_p99_ms']} ms")
    log(f"{name}: lost {result['lost']}, deliveries missing {result['deliveries_missing']}, dropped screens "
        f"{result['screens_dropped']} {result['drop_reasons'] or ''}, seq gaps {result['seq_gaps']}; messages {dict(messages)}, "
        f"{result['rx_mb']} MB received; CPU: server {result['server_cores']}, clients {result['client_cores']}, "
        f"redis {result['redis_cores']}, others {result['other_cores']}, machine {result['machine_busy_cores']} of {os.cpu_count()} cores "
        f"(per message received: server {result['server_cpu_us_per_message']} us, clients {result['client_cpu_us_per_message']} us); "
        f"client loop lag max {result['client_loop_lag_max_ms']} ms; web workers peak "
        f"{result['server_rss_mb']} MB RSS, {result['server_threads']} threads")
    k = result["kernel_and_threads"]
    if k:
        log(f"{name}: during the calls (1 s samples, mean / max): runnable web threads {k['runnable_mean']} / "
            f"{k['runnable_max']}; unread at the screens {k['screens_unread_kb_mean']} / {k['screens_unread_kb_max']} KB; "
            f"unsent at the servers {k['server_unsent_kb_mean']} / {k['server_unsent_kb_max']} KB; unread at the "
            f"servers {k['server_unread_kb_mean']} / {k['server_unread_kb_max']} KB")
    if len(servers) > 1:
        for p in result["per_server"]:
            log(f"{name}:   server {p['server']}: {p['deliveries']} deliveries, p50 {p['p50_ms']} ms, "
                f"p99 {p['p99_ms']} ms, max {p['max_ms']} ms")
    if call_info["errors"]:
        log(f"{name}: call errors {call_info['errors']}")
    return result


# --------------------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=1000, help="display screens in the measured phase (default 1000)")
    p.add_argument("--client-procs", type=int, default=4, help="client processes holding the screens (default 4)")
    p.add_argument("--calls", type=int, default=200, help="measured calls (default 200)")
    p.add_argument("--rate", type=float, default=5.0, help="calls per second (default 5)")
    p.add_argument("--reference-clients", type=int, default=10, help="screens in the reference phase (default 10; 0 skips it)")
    p.add_argument("--reference-calls", type=int, default=None, help="calls in the reference phase (default: --calls)")
    p.add_argument("--warmup-calls", type=int, default=3, help="unmeasured calls before each phase's calls (default 3)")
    p.add_argument("--grace", type=float, default=5.0, help="seconds to wait after the last call before collecting (default 5)")
    p.add_argument("--processes", type=int, default=1,
                   help="separate web processes (each the Procfile command on its own port, WEB_CONCURRENCY=1); "
                        "more than 1 needs --message-queue")
    p.add_argument("--message-queue", default=None, help="SOCKETIO_MESSAGE_QUEUE, e.g. redis://127.0.0.1:6379/0")
    p.add_argument("--web-threads", type=int, default=None,
                   help="WEB_THREADS for each web process (default: its share of the screens + 64; every WebSocket "
                        "holds one gthread worker thread)")
    p.add_argument("--worker-connections", type=int, default=None,
                   help="pass --worker-connections N to gunicorn through GUNICORN_CMD_ARGS; 0: don't (gunicorn's "
                        "default, 1000). Default: not set, unless a process holds 936 screens or more, then "
                        "WEB_THREADS + 1000 (at its limit gunicorn stops accepting connections)")
    p.add_argument("--connect-concurrency", type=int, default=25,
                   help="connects in flight per client process (default 25)")
    p.add_argument("--connect-timeout", type=float, default=60.0, help="seconds one screen may take to connect (default 60)")
    p.add_argument("--profile", default=None,
                   help="record the (first) web worker with py-spy during the measured calls into this file "
                        "(.svg flame graph, or .txt for py-spy's collapsed stacks)")
    p.add_argument("--profile-gil", action="store_true", help="with --profile: only samples holding the GIL")
    p.add_argument("--client-impl", choices=("socketio", "light"), default="socketio",
                   help="socketio (default): real python-socketio AsyncClients; light: a minimal Engine.IO/Socket.IO "
                        "reader on aiohttp, cheaper per message, to tell the server's limit from the load generator's")
    p.add_argument("--client-nice", type=int, default=0,
                   help="nice increment for the client processes (e.g. -10, as root, so the screens' event loops "
                        "are not starved by the server's threads on a small machine; default 0)")
    p.add_argument("--client-log", default=None, metavar="DIR",
                   help="write the client libraries' messages about connections (why one ended) to DIR/client-N.log")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs, SQLite file)")
    args = p.parse_args(argv)
    if args.reference_calls is None:
        args.reference_calls = args.calls
    if args.processes > 1 and not args.message_queue:
        p.error("--processes > 1 needs --message-queue (events must reach the screens of every process)")
    if args.clients < 1 or args.calls < 1 or args.rate <= 0:
        p.error("--clients, --calls and --rate must be positive")
    return args


def _interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


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
    workdir = Path(tempfile.mkdtemp(prefix="hallq_screens_"))
    instance = workdir / "instance"
    instance.mkdir()
    servers: list[qb.Server] = []
    holder: dict = {"pool": None}
    stop = threading.Event()
    channel = None
    redis_client = None
    console = None
    profiler = None
    try:
        database_url, _ = qb.prepare_database(None, workdir, False)
        env = qb.tool_env(database_url, instance)
        tokens = demo_tokens(env)[HALL_CODE]
        log(f"database sqlite: {database_url}; migrated and demo loaded; {HALL_CODE} kiosk and display tokens read")

        per_server = math.ceil(max(args.clients, args.reference_clients) / args.processes)
        web_threads = args.web_threads or per_server + 64
        env["WEB_THREADS"] = str(web_threads)
        env["WEB_CONCURRENCY"] = "1"  # one worker per process: screens and counter in one place (or behind Redis)
        worker_connections = args.worker_connections
        if worker_connections is None and per_server + 64 >= 1000:
            # gunicorn's default is 1000 connections per worker, WebSockets included: at 1000 open the
            # worker stops accepting, and every HTTP request (the counter's calls) waits in the backlog
            worker_connections = web_threads + 1000
            log(f"WARNING: {per_server} screens per process reach gunicorn's default of 1000 connections per "
                f"worker, at which it stops accepting (the counter's requests would hang): passing "
                f"--worker-connections {worker_connections} through GUNICORN_CMD_ARGS "
                "(--worker-connections 0 keeps gunicorn's default, to see it)")
        if worker_connections:
            env["GUNICORN_CMD_ARGS"] = (env.get("GUNICORN_CMD_ARGS", "") +
                                        f" --worker-connections {worker_connections}").strip()
        if args.message_queue:
            import redis

            redis_client = redis.Redis.from_url(args.message_queue)
            redis_client.ping()
            channel = f"hallq-screens-{uuid.uuid4().hex[:10]}"
            env["SOCKETIO_MESSAGE_QUEUE"] = args.message_queue
            env["SOCKETIO_CHANNEL"] = channel
        command = qb.procfile_web_command()
        for i in range(args.processes):
            server = qb.Server(command, env, workdir / f"server-{i}.log")
            servers.append(server)
            server.start()
            log(f"web process {i} up on port {server.port}: {server.expanded}")
        log(f"WEB_THREADS={web_threads} ({per_server} screens per process"
            + (" + 64)" if not args.web_threads else ", --web-threads)") + ", WEB_CONCURRENCY=1"
            + (f" each, SOCKETIO_MESSAGE_QUEUE={args.message_queue}, SOCKETIO_CHANNEL={channel}"
               if args.message_queue else "")
            + (f", GUNICORN_CMD_ARGS={env['GUNICORN_CMD_ARGS']!r}" if "GUNICORN_CMD_ARGS" in env else ""))

        base = servers[0].base
        hall_id, service_ids, seats = qb.set_up_counters(base, 1)
        seat = seats[0]
        need = (args.reference_calls if args.reference_clients else 0) + args.calls + 2 * args.warmup_calls + 5
        added = qb.top_up(base, tokens["kiosk"], hall_id, service_ids, need, 8)
        log(f"hall {HALL_CODE} (id {hall_id}): counter {seat['counter_id']} open for all {len(service_ids)} services "
            f"({seat['staff']}); issued {added} tickets with the kiosk token")
        console = CounterConsole(base, seat)

        phases = {}
        if args.reference_clients:
            phases["reference"] = run_phase("reference", args.reference_clients, args.reference_calls, args,
                                            servers, hall_id, tokens["display"], console, stop, holder)

        def profile_calls(seconds: float) -> None:
            nonlocal profiler
            workers = qb.children_of(servers[0].proc.pid)
            if args.profile and workers:
                profiler = start_profile(args.profile, workers[0], seconds, args.profile_gil)

        phases["measured"] = run_phase("measured", args.clients, args.calls, args, servers, hall_id,
                                       tokens["display"], console, stop, holder, on_calls=profile_calls)
        if profiler is not None:
            try:
                _, err = profiler.communicate(timeout=120)
                log(f"profile written to {args.profile}" if profiler.returncode == 0 else
                    f"py-spy failed ({profiler.returncode}): {err.decode(errors='replace')[-300:]}")
            except subprocess.TimeoutExpired:
                profiler.kill()

        logs = [server_log_problems(s.logfile) for s in servers]
        for i, info in enumerate(logs):
            if info.get("problems"):
                log(f"server {i} log: {info['problems']}; e.g. {info['samples'][:3]}")
        m = phases["measured"]
        ref = phases.get("reference", {})
        result = {
            "clients": args.clients,
            "connected": m["connected"],
            "connect_failed": m["connect_failed"],
            "calls": m["calls"],
            "rate": args.rate,
            "p50_ms": m["p50_ms"],
            "p99_ms": m["p99_ms"],
            "max_ms": m["max_ms"],
            "min_ms": m["min_ms"],
            "lost": m["lost"],
            "deliveries_missing": m["deliveries_missing"],
            "deliveries": m["deliveries"],
            "negative_deliveries": m["negative_deliveries"],
            "last_screen_p50_ms": m["last_screen_p50_ms"],
            "last_screen_p99_ms": m["last_screen_p99_ms"],
            "call_http_p50_ms": m["call_http_p50_ms"],
            "call_http_p99_ms": m["call_http_p99_ms"],
            "server_rss_mb": m["server_rss_mb"],
            "server_threads": m["server_threads"],
            "reference_clients": args.reference_clients,
            "reference_p50_ms": ref.get("p50_ms"),
            "reference_p99_ms": ref.get("p99_ms"),
            "p99_ratio": round(m["p99_ms"] / ref["p99_ms"], 2)
            if (ref.get("p99_ms") or 0) > 0 and m["p99_ms"] is not None else None,
            # a ratio of medians near or below zero says nothing: only when both are positive
            "p50_ratio": round(m["p50_ms"] / ref["p50_ms"], 2)
            if (ref.get("p50_ms") or 0) > 0 and (m["p50_ms"] or 0) > 0 else None,
            "mode": (f"{args.processes} processes + message queue" if args.processes > 1 else
                     "1 process" + (" + message queue" if args.message_queue else "")),
            "processes": args.processes,
            "message_queue": args.message_queue,
            "web_threads": web_threads,
            "worker_connections": worker_connections or 1000,
            "client_procs": max(args.processes, min(args.client_procs, args.clients)),
            "client_impl": "python-socketio AsyncClient" if args.client_impl == "socketio" else
            "light (Engine.IO/Socket.IO over aiohttp)",
            "protocol": m["protocol"],
            "server": command,
            "server_expanded": [s.expanded for s in servers],
            "commit": qb.git_commit(),
            "machine": {"nproc": os.cpu_count(), "cpu": qb.cpu_model(), "python": platform.python_version(),
                        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "server_log": logs,
            "phases": phases,
        }
        print(json.dumps(result, ensure_ascii=False))
        bad = m["lost"] or m["connect_failed"] or m["connected"] < args.clients
        return 1 if bad else 0
    finally:
        stop.set()
        if profiler is not None and profiler.poll() is None:
            profiler.kill()
        if holder.get("pool") is not None:
            holder["pool"].kill()
        if console is not None:
            console.close()
        for server in servers:
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


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc}); everything started was stopped")
        sys.exit(130)
