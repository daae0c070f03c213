"""Live screens over Socket.IO: a snapshot on every (re)connect, then numbered deltas.

Rooms
    ``hall:<id>``      displays, kiosks, consoles and staff of one hall
    ``counter:<id>``   a counter's console and the small screen above its window
    ``ticket:<token>`` the customer's phone page, following one ticket

Who may join what is decided at connect: a device or staff token (``auth={"token": ...}``)
or a signed-in browser session joins its own hall (``?hall_id=`` for staff who may see
several, ``?counter_id=`` for a console or a window screen); anyone holding a ticket's
public token may follow that ticket (``?ticket=<token>``) and nothing else.

Messages to clients
    ``snapshot``  full state, sent to one client at connect and when it asks (``resync``):
                  ``{"kind": "hall", "seq": n, ...hall_snapshot}`` or
                  ``{"kind": "ticket", "seq": n, "ticket": {...}}``
    ``delta``     one committed domain event, ``{"seq": n, "event": "TicketCalled", ...}``,
                  sent to the hall's room by a sender thread (not by the request). ``seq`` counts the hall's events without gaps
                  (one counter per hall, in Redis when several processes run), so a screen
                  that sees ``seq`` jump asks for a snapshot. Deltas are idempotent: a screen
                  may see one again after a snapshot already holding it.
    ``snapshot`` is also pushed, coalesced, to each room after its hall changed (at most
                  every ``COALESCE_S``) and every ``REFRESH_S`` anyway, so waiting counts,
                  estimates and clocks stay right on a screen left running for days.
    ``counter``   a counter's state (its current ticket and queue) to ``counter:<id>``.
    ``ticket``    the followed ticket's status (place in line, wait, call) to ``ticket:<token>``.

Events are emitted only after the transaction committed: business code records domain
events, the unit of work publishes them after commit, and ``LiveHub.on_event`` turns them
into deltas. Coalesced pushes are computed by each process for the clients connected to
it and sent to them directly (``ignore_queue``); which halls changed travels between
processes on a Redis channel.
"""
from __future__ import annotations

import atexit
import json
import logging
import queue as queue_module
import threading
import time

from flask import current_app, g, request, session
from flask_socketio import SocketIO, disconnect, emit, join_room

from ..domain import events as ev
from ..domain.errors import DomainError
from ..extensions import socketio
from ..services import auth, config, queue

log = logging.getLogger(__name__)

COALESCE_S = 0.5  # pushes after a change wait this long to gather a burst of changes
REFRESH_S = 30.0  # every connected screen gets a fresh snapshot at least this often


def hall_room(hall_id: int) -> str:
    return f"hall:{hall_id}"


def counter_room(counter_id: int) -> str:
    return f"counter:{counter_id}"


def ticket_room(token: str) -> str:
    return f"ticket:{token}"


# --------------------------------------------------------------------------- sequence numbers

class LocalSequences:
    """Per-hall event counters for a single server process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq: dict[int, int] = {}

    def next(self, hall_id: int) -> int:
        with self._lock:
            self._seq[hall_id] = self._seq.get(hall_id, 0) + 1
            return self._seq[hall_id]

    def current(self, hall_id: int) -> int:
        with self._lock:
            return self._seq.get(hall_id, 0)


class RedisSequences:
    """Per-hall event counters shared by every process on one Redis (``INCR``)."""

    def __init__(self, client, channel: str) -> None:
        self._redis = client
        self._key = f"{channel}:seq:"

    def next(self, hall_id: int) -> int:
        return int(self._redis.incr(f"{self._key}{hall_id}"))

    def current(self, hall_id: int) -> int:
        return int(self._redis.get(f"{self._key}{hall_id}") or 0)


# --------------------------------------------------------------------------- the hub

class LiveHub:
    """Turns committed events into deltas, and keeps connected screens' snapshots fresh."""

    def __init__(self, rt, sio: SocketIO, message_queue: str | None = None, channel: str = "hallq") -> None:
        self.rt = rt
        self.sio = sio
        self.server = sio.server  # this app's Socket.IO server (tests make many apps on one extension)
        self._redis = None
        self._dirty_channel = f"{channel}:dirty"
        if message_queue and message_queue.startswith(("redis://", "rediss://", "unix://")):
            import redis

            self._redis = redis.Redis.from_url(message_queue)
            self.seq = RedisSequences(self._redis, channel)
        else:
            if message_queue:
                log.warning("live: sequence numbers are per process with message queue %s", message_queue)
            self.seq = LocalSequences()
        self._numbering = threading.Lock()
        self._outbox: queue_module.SimpleQueue = queue_module.SimpleQueue()
        self._unsent = 0  # deltas numbered and not yet handed to Socket.IO (guarded by _numbering)
        self._sender_running = False
        self._cond = threading.Condition()
        self._dirty: set[int] = set()
        self._worker_running = False
        self._listener_started = False
        self._tickets: dict[str, int] = {}  # ticket token -> hall id, for tickets followed here
        self._counters: dict[int, int] = {}  # counter id -> hall id, for counters watched here
        self._last_sent: dict[str, str] = {}  # room -> what it was pushed last (without time and seq)
        self.clients: dict[str, tuple] = {}  # sid -> ("hall", hall_id) | ("ticket", token)

    # ----- events in

    def on_event(self, evt: ev.Event) -> None:
        """After commit: number the event in its hall's stream and hand it to the sender.

        The request that committed does not wait for the fan-out to every screen (with
        1,000 screens that took most of a call's time); one sender thread per process
        emits in numbering order, which the lock keeps equal to the order of the queue.
        """
        payload = evt.to_dict()
        with self._numbering:
            payload["seq"] = self.seq.next(evt.hall_id)
            self._unsent += 1
            self._outbox.put((payload, getattr(evt, "public_token", None)))
            if not self._sender_running:
                self._sender_running = True
                self.sio.start_background_task(self._send_deltas)
        self.changed(evt.hall_id)

    def _send_deltas(self) -> None:
        while self.sio.server is self.server:
            try:
                payload, token = self._outbox.get(timeout=1.0)
            except queue_module.Empty:
                continue
            try:
                self.server.emit("delta", payload, to=hall_room(payload["hall_id"]), namespace="/")
                if token:
                    self.server.emit("delta", payload, to=ticket_room(token), namespace="/")
            except Exception:  # noqa: BLE001 - one failed send must not stop the others
                log.exception("live: sending %s failed", payload.get("event"))
            finally:
                with self._numbering:
                    self._unsent -= 1
        with self._numbering:
            self._sender_running = False  # this app's extension was re-initialised (tests): nothing will send

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every committed event has been handed to Socket.IO (and so to the message
        queue). A short-lived process (a CLI command, a one-off job) calls this at exit, or its
        last events would die with the sender thread. False if time ran out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._numbering:
                if self._unsent == 0:
                    return True
                if not self._sender_running:
                    return False
            time.sleep(0.01)
        return False

    def changed(self, hall_id: int) -> None:
        """Mark a hall changed here and, with Redis, in every other process."""
        if self._redis is not None:
            try:
                self._redis.publish(self._dirty_channel, str(hall_id))
            except Exception:  # noqa: BLE001 - the local screens still refresh
                log.exception("live: could not publish a change of hall %s", hall_id)
        self._mark(hall_id)

    def _mark(self, hall_id: int) -> None:
        with self._cond:
            self._dirty.add(hall_id)
            self._cond.notify()
            self._ensure_worker()

    def _ensure_worker(self) -> None:
        """Start the refresh worker if it is not running (call with ``_cond`` held)."""
        if not self._worker_running:
            self._worker_running = True
            self.sio.start_background_task(self._work)

    # ----- snapshots

    def hall_snapshot(self, hall_id: int) -> dict:
        seq = self.seq.current(hall_id)  # read first: the state read next holds at least this much
        return {"kind": "hall", "seq": seq, **queue.hall_snapshot(self.rt, hall_id)}

    def ticket_snapshot(self, token: str) -> dict:
        status = queue.ticket_status(self.rt, token)
        return {"kind": "ticket", "seq": self.seq.current(status["hall"]["id"]), "ticket": status}

    def counter_message(self, counter_id: int) -> dict:
        return {"kind": "counter", **queue.counter_state(self.rt, counter_id)}

    # ----- who is connected here

    def joined(self, sid: str, kind: str, key, hall_id: int, counter_id: int | None = None) -> None:
        self.clients[sid] = (kind, key, hall_id, counter_id)
        if kind == "ticket":
            self._tickets[key] = hall_id
        if counter_id is not None:
            self._counters[counter_id] = hall_id
        with self._cond:
            self._ensure_worker()  # the periodic refresh runs while anyone is connected
        self._start_listener()

    def left(self, sid: str) -> None:
        self.clients.pop(sid, None)

    def _local_rooms(self) -> set[str]:
        """Rooms with at least one client connected to this process."""
        rooms = self.server.manager.rooms.get("/", {})
        for _ in range(3):
            try:
                return {room for room, members in list(rooms.items()) if room and members}
            except RuntimeError:  # changed while we read it
                continue
        return set()

    # ----- the worker: coalesced pushes to the clients of this process

    def _work(self) -> None:
        last_refresh = time.monotonic()
        while self.sio.server is self.server:
            with self._cond:
                if not self._dirty:
                    self._cond.wait(timeout=REFRESH_S / 3)
                if not self._dirty and time.monotonic() - last_refresh < REFRESH_S:
                    if not self.clients:
                        self._worker_running = False
                        return
                    continue
            time.sleep(COALESCE_S)
            with self._cond:
                halls, self._dirty = self._dirty, set()
            rooms = self._local_rooms()
            periodic = time.monotonic() - last_refresh >= REFRESH_S
            if periodic:
                last_refresh = time.monotonic()
                halls |= {int(r.split(":", 1)[1]) for r in rooms if r.startswith("hall:")}
                halls |= {h for t, h in self._tickets.items() if ticket_room(t) in rooms}
                self._last_sent = {room: digest for room, digest in self._last_sent.items() if room in rooms}
            try:
                self._push(halls, rooms, force=periodic)
            except Exception:  # noqa: BLE001 - keep serving the screens
                log.exception("live: refresh of halls %s failed", sorted(halls))

    def _push(self, halls: set[int], rooms: set[str], force: bool = False) -> None:
        for hall_id in halls:
            if hall_room(hall_id) in rooms:
                self._send_local("snapshot", self.hall_snapshot(hall_id), hall_room(hall_id), force)
            for counter_id, h in list(self._counters.items()):
                if h == hall_id and counter_room(counter_id) in rooms:
                    self._send_local("counter", self.counter_message(counter_id), counter_room(counter_id), force)
            followed = []
            for token, h in list(self._tickets.items()):
                if h == hall_id:
                    if ticket_room(token) in rooms:
                        followed.append(token)
                    else:
                        self._tickets.pop(token, None)  # its phone left
            if followed:
                seq = self.seq.current(hall_id)
                for token, status in queue.ticket_statuses(self.rt, followed).items():
                    self._send_local("ticket", {"kind": "ticket", "seq": seq, "ticket": status}, ticket_room(token),
                                     force)

    def _send_local(self, name: str, data: dict, room: str, force: bool = False) -> None:
        """To the clients of this process only (every process pushes to its own), and only
        when it differs from what the room got last, or ``force`` (the periodic refresh)."""
        digest = json.dumps({k: v for k, v in data.items() if k not in ("at", "seq")}, sort_keys=True, default=str)
        if not force and self._last_sent.get(room) == digest:
            return
        self._last_sent[room] = digest
        self.server.emit(name, data, to=room, namespace="/", ignore_queue=True)

    def _start_listener(self) -> None:
        if self._redis is None or self._listener_started:
            return
        self._listener_started = True
        self.sio.start_background_task(self._listen)

    def _listen(self) -> None:
        """Halls changed in other processes (Redis pub/sub)."""
        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self._dirty_channel)
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._mark(int(message["data"]))
            except Exception:  # noqa: BLE001 - Redis restarted: subscribe again
                log.exception("live: lost the Redis change channel; subscribing again")
                time.sleep(1)


def subscribe(rt, sio: SocketIO, message_queue: str | None = None, channel: str = "hallq") -> LiveHub:
    """Create the app's hub and feed it every committed event."""
    hub = LiveHub(rt, sio, message_queue, channel)
    rt.bus.subscribe(hub.on_event)
    atexit.register(hub.flush)
    return hub


# --------------------------------------------------------------------------- handlers

_device_sockets: dict[str, int] = {}  # socket id -> device id, for the device list's last-seen time


def _hub() -> LiveHub:
    return current_app.extensions["hallq_live"]


def _caller(auth_data):
    rt = current_app.extensions["hallq"]
    token = auth_data.get("token") if isinstance(auth_data, dict) else None
    if token:
        return auth.principal_for_token(rt, token)
    if session.get("staff_id") is not None:
        return auth.principal_for_staff(rt, session["staff_id"])
    return None


@socketio.on("connect")
def on_connect(auth_data=None):
    """Join the rooms the caller may see, then send it a full snapshot."""
    hub = _hub()
    if len(hub.clients) >= current_app.config["LIVE_MAX_CLIENTS"]:
        # every WebSocket holds a thread: past the limit, HTTP would find none free
        log.warning("live: refusing a screen, %d connected (LIVE_MAX_CLIENTS)", len(hub.clients))
        return False
    ticket_token = request.args.get("ticket")
    if ticket_token:
        try:
            snap = hub.ticket_snapshot(ticket_token)
        except DomainError:
            return False
        join_room(ticket_room(ticket_token))
        hub.joined(request.sid, "ticket", ticket_token, snap["ticket"]["hall"]["id"])
        emit("snapshot", snap)
        return True
    try:
        who = _caller(auth_data)
    except DomainError:
        return False
    if who is None:
        return False
    from .access import view_hall

    g.principal = who
    counter_id = request.args.get("counter_id", type=int) or who.counter_id
    try:
        if counter_id is not None:
            hall_id = config.counter_hall(current_app.extensions["hallq"], counter_id)
        else:
            hall_id = request.args.get("hall_id", type=int) or who.hall_id
        if hall_id is None:
            return False
        view_hall(hall_id)
    except DomainError:
        return False
    join_room(hall_room(hall_id))
    if counter_id is not None:
        join_room(counter_room(counter_id))
    hub.joined(request.sid, "hall", hall_id, hall_id, counter_id)
    if who.kind == "device":
        _device_sockets[request.sid] = who.id
    emit("snapshot", hub.hall_snapshot(hall_id))
    if counter_id is not None:
        emit("counter", hub.counter_message(counter_id))
    return True


@socketio.on("resync")
def on_resync(_data=None):
    """A screen saw a gap in ``seq`` (or just woke up): send it a full snapshot again."""
    hub = _hub()
    client = hub.clients.get(request.sid)
    if client is None:
        disconnect()
        return
    kind, key, hall_id, counter_id = client
    if request.sid in _device_sockets:  # a screen's watchdog asks every 80 s at most: it is alive
        auth.touch_device(current_app.extensions["hallq"], _device_sockets[request.sid])
    try:
        if kind == "ticket":
            emit("snapshot", hub.ticket_snapshot(key))
        else:
            emit("snapshot", hub.hall_snapshot(hall_id))
            if counter_id is not None:
                emit("counter", hub.counter_message(counter_id))
    except DomainError:
        disconnect()


@socketio.on("disconnect")
def on_disconnect(*_args):
    _hub().left(request.sid)
    _device_sockets.pop(request.sid, None)
