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
    Calls         a ``TicketCalled`` delta carries ``call_id`` (the call's entry in the ticket's
                  history; a recall has its own), and the hall snapshot's ``recent_calls`` list
                  each with its ``call_id``, ``ticket_id``, ``counter_id`` and time ``at``: a
                  display whose call delta was lost, or dropped because a snapshot overtook it
                  (its ``seq`` past the call's), still reads the call out, once (``live.js``,
                  ``HallLive``'s ``onCall``: not from the page's first snapshot, nor when older
                  than a bound by the snapshot's own ``at``).
    ``snapshot`` is also pushed, coalesced, to each room after its hall changed (at most
                  every ``COALESCE_S``) and every ``REFRESH_S`` anyway, so waiting counts,
                  estimates and clocks stay right on a screen left running for days.
    ``counter``   a counter's state (its current ticket and queue) to ``counter:<id>``.
    ``ticket``    the followed ticket's status (place in line, wait, call) to ``ticket:<token>``.

Where the screens are served
    In production the ``live`` role (``app/live_wsgi.py``, gunicorn's gevent worker) serves
    them, thousands per process, and nothing else; web, scheduler and CLI processes publish
    their events through Redis (``live_feed.RedisFeed``) and every live process hands them to
    its own screens. Without a message queue (the embedded default) the one web process
    serves them itself, a thread each (``LIVE_MAX_CLIENTS``).

Events are emitted only after the transaction committed: business code records domain
events, the unit of work publishes them after commit to the feed, which numbers them and
hands them to ``LiveHub.deliver``. Coalesced pushes are computed by each live process for
the clients connected to it. A screen that reads too slowly gets at most
``LIVE_MAX_BACKLOG`` messages queued (``BoundedManager``): the rest are dropped for it
alone, and the gap in ``seq`` makes it ask for a snapshot.
"""
from __future__ import annotations

import atexit
import json
import logging
import queue as queue_module
import socket as socket_module
import threading
import time

from socketio import Manager as ClientManager
from flask import Blueprint, current_app, g, request, session
from flask_socketio import SocketIO, disconnect, emit, join_room

from ..domain.errors import DomainError
from ..extensions import socketio
from ..ops import metrics
from ..services import auth, config, queue
from .access import SESSION_KEY
from .api_kit import database_id

log = logging.getLogger(__name__)

COALESCE_S = 0.5  # pushes after a change wait this long to gather a burst of changes
REFRESH_S = 30.0  # every connected screen gets a fresh snapshot at least this often
SNAPSHOT_REUSE_S = 1.0  # screens of a hall connecting within this time, with no event between, share a read


def hall_room(hall_id: int) -> str:
    return f"hall:{hall_id}"


def counter_room(counter_id: int) -> str:
    return f"counter:{counter_id}"


def ticket_room(token: str) -> str:
    return f"ticket:{token}"


# --------------------------------------------------------------------------- the hub

class LiveHub:
    """Sends events on to this process's screens, and keeps their snapshots fresh.

    The feed (``live_feed``) hands it every committed event of every process, numbered.
    One sender task per process emits them in that order. A screen that is slow to read
    gets at most ``max_backlog`` messages queued; past that its messages are dropped
    (``BoundedManager``), it sees a gap in ``seq`` and asks for a snapshot once it reads again.
    """

    def __init__(self, rt, sio: SocketIO, feed) -> None:
        self.rt = rt
        self.sio = sio
        self.server = sio.server  # this app's Socket.IO server (tests make many apps on one extension)
        self.seq = feed
        self._outbox: queue_module.SimpleQueue = queue_module.SimpleQueue()
        self._counting = threading.Lock()
        self._unsent = 0  # deltas handed over and not yet given to Socket.IO (guarded by _counting)
        self._sender_running = False
        self._cond = threading.Condition()
        self._dirty: set[int] = set()
        self._worker_running = False
        self._tickets: dict[str, int] = {}  # ticket token -> hall id, for tickets followed here
        self._counters: dict[int, int] = {}  # counter id -> hall id, for counters watched here
        self._last_sent: dict[str, str] = {}  # room -> what it was pushed last (without time and seq)
        self._snapshots: dict[int, tuple[int, float, dict]] = {}  # hall -> (seq, when, snapshot)
        self._reading: dict[int, threading.Lock] = {}  # hall -> held while its snapshot is read
        self.clients: dict[str, tuple] = {}  # sid -> (kind, key, hall_id, counter_id)
        self.events_heard = 0
        self.listeners: list = []  # called with every event heard (ops.metrics.QueueLevels)
        self.role = "web"  # which role's screens these are, for the metrics

    def serving(self) -> bool:
        return self.sio.server is self.server

    # ----- events in

    def deliver(self, payload: dict, token: str | None) -> None:
        """A numbered event for the screens (from the feed). Queued for the sender task, so
        the request that committed never waits for the fan-out to every screen."""
        with self._counting:
            self.events_heard += 1
            self._unsent += 1
            self._outbox.put((payload, token))
            if not self._sender_running:
                self._sender_running = True
                self.sio.start_background_task(self._send_deltas)
        for listener in self.listeners:
            listener(payload)
        self._mark(payload["hall_id"])

    def _send_deltas(self) -> None:
        while self.serving():
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
                with self._counting:
                    self._unsent -= 1
            time.sleep(0)  # let the screens' writers take it before the next (a burst must not fill every queue)
        with self._counting:
            self._sender_running = False  # this app's extension was re-initialised (tests): nothing will send

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every event handed over has been given to Socket.IO. False if time ran out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._counting:
                if self._unsent == 0:
                    return True
                if not self._sender_running:
                    return False
            time.sleep(0.01)
        return False

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
        """The hall's state with the number of the last event it holds. Screens of one hall
        that connect together (a live process restarting: all of them) share one read."""
        lock = self._reading.setdefault(hall_id, threading.Lock())
        with lock:
            seq = self.seq.current(hall_id)  # read first: the state read next holds at least this much
            kept = self._snapshots.get(hall_id)
            if kept is not None and kept[0] == seq and time.monotonic() - kept[1] < SNAPSHOT_REUSE_S:
                return kept[2]
            snapshot = {"kind": "hall", "seq": seq, **queue.hall_snapshot(self.rt, hall_id)}
            self._snapshots[hall_id] = (seq, time.monotonic(), snapshot)
            return snapshot

    def ticket_snapshot(self, token: str) -> dict:
        status = queue.ticket_status(self.rt, token)
        return {"kind": "ticket", "seq": self.seq.current(status["hall"]["id"]), "ticket": status}

    def counter_message(self, counter_id: int) -> dict:
        return {"kind": "counter", **queue.counter_state(self.rt, counter_id)}

    # ----- who is connected here

    def joined(self, sid: str, kind: str, key, hall_id: int, counter_id: int | None = None) -> None:
        if sid not in self.clients:
            metrics.SCREENS.labels(self.role).inc()
        self.clients[sid] = (kind, key, hall_id, counter_id)
        # it got the state now, maybe not what its room was pushed last (changed while no one was there):
        # the room's next push goes out even if it looks like that last one
        for room in (ticket_room(key) if kind == "ticket" else hall_room(hall_id),
                     counter_room(counter_id) if counter_id is not None else None):
            self._last_sent.pop(room, None)
        if kind == "ticket":
            self._tickets[key] = hall_id
        if counter_id is not None:
            self._counters[counter_id] = hall_id
        with self._cond:
            self._ensure_worker()  # the periodic refresh runs while anyone is connected

    def left(self, sid: str) -> None:
        if self.clients.pop(sid, None) is not None:
            metrics.SCREENS.labels(self.role).dec()

    def status(self) -> dict:
        """What this process serves: screens by kind, events heard, messages dropped for slow screens."""
        kinds: dict[str, int] = {}
        for kind, _key, _hall, counter_id in list(self.clients.values()):
            name = "ticket" if kind == "ticket" else "counter" if counter_id is not None else "hall"
            kinds[name] = kinds.get(name, 0) + 1
        manager = self.server.manager
        return {"screens": len(self.clients), "by_kind": kinds, "events_heard": self.events_heard,
                "dropped_for_slow_screens": getattr(manager, "dropped", 0)}

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
        while self.serving():
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
                # (copies first: screens joining change both from their own threads)
                self._last_sent = {room: digest for room, digest in list(self._last_sent.items()) if room in rooms}
                self._snapshots = {h: kept for h, kept in list(self._snapshots.items()) if hall_room(h) in rooms}
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
            time.sleep(0)  # a refresh of every hall is long: let the deltas through between halls

    def _send_local(self, name: str, data: dict, room: str, force: bool = False) -> None:
        """To the clients of this process only (every live process pushes to its own), and only
        when it differs from what the room got last, or ``force`` (the periodic refresh)."""
        digest = json.dumps({k: v for k, v in data.items() if k not in ("at", "seq")}, sort_keys=True, default=str)
        if not force and self._last_sent.get(room) == digest:
            return
        self._last_sent[room] = digest
        self.server.emit(name, data, to=room, namespace="/")


class BoundedManager(ClientManager):
    """Socket.IO's in-memory client manager, with a bound on what waits for each screen.

    A screen that reads slowly (a phone on a bad network) is skipped while ``max_backlog``
    messages already wait for it: the others are never held up, its memory stays bounded,
    and the gap it will see in ``seq`` makes it ask for a snapshot once it reads again."""

    def __init__(self, max_backlog: int) -> None:
        super().__init__()
        self.max_backlog = max_backlog
        self.dropped = 0  # messages not queued for a screen that was behind

    def get_participants(self, namespace, room):
        sockets = self.server.eio.sockets
        sent = dropped = 0
        for sid, eio_sid in super().get_participants(namespace, room):
            socket = sockets.get(eio_sid)
            if socket is not None and socket.queue.qsize() >= self.max_backlog:
                dropped += 1
                continue
            sent += 1
            yield sid, eio_sid
        self.dropped += dropped
        metrics.count_messages(sent, dropped)


def serve_screens(app, rt, feed, async_mode: str) -> LiveHub:
    """Bind Socket.IO to ``app`` and make the hub that serves this process's screens."""
    config = app.config
    manager = BoundedManager(config["LIVE_MAX_BACKLOG"])
    socketio.init_app(app, async_mode=async_mode, client_manager=manager,
                      ping_interval=config["LIVE_PING_INTERVAL_S"], ping_timeout=config["LIVE_PING_TIMEOUT_S"],
                      transports=["websocket"] if async_mode != "threading" else ["polling", "websocket"])
    hub = LiveHub(rt, socketio, feed)
    hub.role = config["ROLE"]
    feed.attach(hub)
    atexit.register(hub.flush)
    app.register_blueprint(bp)
    return hub


bp = Blueprint("live", __name__)


@bp.get("/live/status")
def live_status():
    """This process's screens and messages, for its operators (counts only; the live port is not public)."""
    return {"ok": True, "role": current_app.config["ROLE"], **_hub().status()}


# --------------------------------------------------------------------------- handlers

_device_sockets: dict[str, int] = {}  # socket id -> device id, for the device list's last-seen time


def _hub() -> LiveHub:
    return current_app.extensions["hallq_live"]


def _caller(auth_data):
    rt = current_app.extensions["hallq"]
    token = auth_data.get("token") if isinstance(auth_data, dict) else None
    if token:
        return auth.principal_for_token(rt, token)
    secret = session.get(SESSION_KEY)  # a signed-in page's socket: a session ended on the server is refused
    return auth.principal_for_session(rt, secret) if secret is not None else None


def _bound_send_buffer(sock, size: int) -> None:
    """The kernel grows a socket's send buffer up to megabytes for a peer that does not read:
    a fixed one bounds what a stalled screen holds there too (then its backlog fills, and drops)."""
    if sock is not None and size:
        try:
            sock.setsockopt(socket_module.SOL_SOCKET, socket_module.SO_SNDBUF, size)
        except OSError:
            log.warning("live: could not set a screen's send buffer", exc_info=True)


@socketio.on("connect")
def on_connect(auth_data=None):
    """Join the rooms the caller may see, then send it a full snapshot."""
    hub = _hub()
    limit = current_app.config["LIVE_MAX_CLIENTS"]
    if limit and len(hub.clients) >= limit:
        # every WebSocket holds a thread: past the limit, HTTP would find none free
        log.warning("live: refusing a screen, %d connected (LIVE_MAX_CLIENTS)", len(hub.clients))
        return False
    _bound_send_buffer(request.environ.get("gunicorn.socket"), current_app.config["LIVE_SEND_BUFFER_BYTES"])
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
    counter_id = request.args.get("counter_id", type=database_id) or who.counter_id
    try:
        if counter_id is not None:
            hall_id = config.counter_hall(current_app.extensions["hallq"], counter_id)
        else:
            hall_id = request.args.get("hall_id", type=database_id) or who.hall_id
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
