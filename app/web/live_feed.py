"""How committed events reach the processes that hold the screens.

Every process that commits (web workers, the scheduler and its forecast workers, a CLI
command) hands each event, after commit, to its feed. The feed numbers it in its hall's
stream (``seq``, without gaps) and carries it to every process that holds screens, whose
hub (``live.LiveHub``) sends it on as a ``delta``.

``LocalFeed``
    The embedded default (no ``SOCKETIO_MESSAGE_QUEUE``): one process holds everything;
    numbers are kept in memory and the event goes straight to this process's hub.
``RedisFeed``
    Production (``SOCKETIO_MESSAGE_QUEUE=redis://...``): the ``live`` processes hold the
    screens. Numbering and publishing are one atomic step in Redis (a script: ``INCR`` the
    hall's counter, ``PUBLISH`` the number with the event on ``<channel>:events``), so the
    order on the channel is the order of the numbers, whichever process committed. Every
    live process subscribes and hands each event to its hub. A committing process does not wait
    for Redis: ``publish`` queues the event and one sender thread per process sends what is
    queued, in order, several in one round trip when they pile up (a request's thread is free
    again at once; ``flush`` waits for the queue, as a process about to exit does).

A publish that fails (Redis down) is logged and lost for the screens only: the state is in
the database, and screens catch up at their next snapshot (a gap in ``seq``, their watchdog,
or the hub's periodic refresh).
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import threading
import time

from ..domain import events as ev
from ..ops.logs import REQUEST_ID

log = logging.getLogger(__name__)

# KEYS[1] the hall's counter, KEYS[2] the channel; ARGV[1] the event as JSON
_PUBLISH = """
local n = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[2], n .. ' ' .. ARGV[1])
return n
"""


def _message(evt: ev.Event) -> tuple[dict, str | None]:
    """What screens receive, and the ticket token that routes it to a phone (never broadcast)."""
    return evt.to_dict(), getattr(evt, "public_token", None)


class LocalFeed:
    """Numbers events in memory and hands them to the hubs of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq: dict[int, int] = {}
        self._hubs: list = []

    def publish(self, evt: ev.Event) -> None:
        payload, token = _message(evt)
        with self._lock:  # numbered and handed on in one step: hubs see the numbers in order
            payload["seq"] = self._seq[evt.hall_id] = self._seq.get(evt.hall_id, 0) + 1
            for hub in self._hubs:
                hub.deliver(payload, token)

    def current(self, hall_id: int) -> int:
        with self._lock:
            return self._seq.get(hall_id, 0)

    def attach(self, hub) -> None:
        self._hubs.append(hub)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until the hubs have sent what they were handed (a process about to exit)."""
        deadline = time.monotonic() + timeout_s
        return all(hub.flush(max(deadline - time.monotonic(), 0)) for hub in self._hubs)


class RedisFeed:
    """Numbers and publishes events through Redis; live processes subscribe (``attach``)."""

    def __init__(self, url: str, channel: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._publish = self._redis.register_script(_PUBLISH)
        self._seq_key = f"{channel}:seq:"  # the hall's counter: <channel>:seq:<hall id>
        self.channel = f"{channel}:events"
        self._queue: queue.Queue = queue.Queue()
        self._sender_pid: int | None = None  # the process whose sender thread runs (a fork starts its own)
        self._sender_lock = threading.Lock()

    def publish(self, evt: ev.Event) -> None:
        """Queue the event for this process's sender (the request's id read here, in its thread)."""
        payload, token = _message(evt)
        body = json.dumps({"event": payload, "token": token, "request_id": REQUEST_ID.get()}, separators=(",", ":"),
                          default=str)
        self._start_sender()
        self._queue.put((f"{self._seq_key}{evt.hall_id}", body))

    def _start_sender(self) -> None:
        if self._sender_pid == os.getpid():
            return
        with self._sender_lock:
            if self._sender_pid != os.getpid():
                self._queue = queue.Queue()  # a forked child does not inherit its parent's backlog
                threading.Thread(target=self._send_queued, name="live-feed-sender", daemon=True).start()
                atexit.register(self.flush)
                self._sender_pid = os.getpid()

    MAX_BATCH = 200

    def _send_queued(self) -> None:
        """Send what is queued, oldest first: what piled up goes in one pipeline."""
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                if len(batch) == 1:
                    self._publish(keys=[batch[0][0], self.channel], args=[batch[0][1]])
                else:
                    pipe = self._redis.pipeline(transaction=False)
                    for key, body in batch:
                        self._publish(keys=[key, self.channel], args=[body], client=pipe)
                    pipe.execute()
            except Exception:  # noqa: BLE001 - Redis down: the screens catch up from their next snapshot
                log.exception("publishing %d event(s) to the screens failed", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    def current(self, hall_id: int) -> int:
        return int(self._redis.get(f"{self._seq_key}{hall_id}") or 0)

    def attach(self, hub) -> None:
        hub.sio.start_background_task(self._listen, hub)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until what this process queued has been sent; False if it had not after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def _listen(self, hub) -> None:
        """Every event of every process, in the order of its numbers; resubscribes after a drop."""
        while hub.serving():
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                log.info("live: listening for events on %s", self.channel)
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._hand_on(hub, message["data"])
            except Exception:  # noqa: BLE001 - Redis restarted: subscribe again
                log.exception("live: lost the event channel %s; subscribing again", self.channel)
                time.sleep(1)

    @staticmethod
    def _hand_on(hub, data: bytes) -> None:
        seq, _, body = data.partition(b" ")
        try:
            message = json.loads(body)
            payload = message["event"]
            payload["seq"] = int(seq)
        except (ValueError, KeyError, TypeError):
            log.error("live: an unreadable event on the channel was skipped")
            return
        if log.isEnabledFor(logging.DEBUG):  # the request that committed it, in the process that did
            log.debug("live: heard %s", payload.get("event"), extra={
                "request_id": message.get("request_id"), "hall_id": payload.get("hall_id"), "seq": payload["seq"]})
        hub.deliver(payload, message.get("token"))


def make_feed(message_queue: str | None, channel: str):
    """The feed for this deployment: Redis with a message queue, in memory without."""
    if not message_queue:
        return LocalFeed()
    if not message_queue.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"SOCKETIO_MESSAGE_QUEUE must be a Redis URL (redis://, rediss://, unix://), "
                         f"not {message_queue.split(':', 1)[0]}://")
    return RedisFeed(message_queue, channel)
