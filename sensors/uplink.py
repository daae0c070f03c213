"""Posting the spool to the server: ``POST /api/v1/footfall/counts`` in batches, with retry and backoff.

One delivery (``Uplink.deliver``) posts every pending row, 500 at a time, oldest first; a
row is marked sent only once the server answered 200 for it. What the server says decides
what follows:

* 200: the rows are marked sent (a row that grew meanwhile stays pending).
* connection error, timeout, 408, 429, 5xx: nothing is lost; the next delivery is after a
  backoff (1 s, doubling to 5 min, with jitter).
* 401/403: the token (or a sensor's device) is wrong: logged as an ERROR, rows stay
  spooled, retried with backoff; an admin may fix it. A 403 naming one sensor holds back
  only that sensor's rows.
* 404/405: the server URL is wrong: as 401, since no row is at fault.
* 200 whose body is not the API's receipt (a proxy's page): as 404.
* any other 4xx (422 mostly): that batch will never be accepted. The row the error names
  (``field: counts[3].…``) is moved to the spool's dead letters and the rest is sent
  again; without a named row the batch is halved until the bad rows are found. A refused
  row of the last few minutes is only held back for this delivery, not dead-lettered:
  a clock running ahead of the server's makes a current minute look "in the future".

The server keeps the latest value of each (sensor, minute), so posting a row again never
counts twice. One hazard remains with a lost answer: the server may still be working on
the first post while a retry with a newer value lands, then finish the old one last. So
rows whose post ended without an answer are posted once more after ``guard_s``.
"""
from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import requests

from .spool import Refusal, Row, Spool

log = logging.getLogger("agent")

BATCH = 500
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 300.0
YOUNG_S = 300  # a refused row of a minute this recent is held back, not dead-lettered
PATH = "/api/v1/footfall/counts"
_RETRY_STATUSES = {408, 429}
_CONFIG_STATUSES = {401, 403, 404, 405}
_ROW_FIELD = re.compile(r"^counts\[(\d+)\]")


def backoff(failures: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``failures`` failed deliveries in a row: 1, 2, 4 … up to 300, less up to a half."""
    base = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** max(0, failures - 1))
    return base * (0.5 + rng() / 2)


def row_index(field_name: str | None) -> int | None:
    """The row a server error names: 3 for ``counts[3].minute``."""
    m = _ROW_FIELD.match(field_name or "")
    return int(m.group(1)) if m else None


@dataclass
class Delivery:
    """What one delivery did: counted for the log and ``--status``."""
    ok: bool = True
    minutes: int = 0
    sensors: set[str] = field(default_factory=set)
    stored: int = 0
    replaced: int = 0
    unchanged: int = 0
    dead: int = 0
    problem: str | None = None  # why it stopped, for the log
    serious: bool = False  # a problem a person must fix (token, URL), not the network
    retry_after: float | None = None
    wait_s: float | None = None  # after a failure: the backoff chosen (and logged)


class _Stop(Exception):
    """Ends a delivery: the server cannot take anything now."""

    def __init__(self, problem: str, *, serious: bool = False, retry_after: float | None = None,
                 uncertain: list[Row] | None = None) -> None:
        super().__init__(problem)
        self.problem, self.serious, self.retry_after = problem, serious, retry_after
        self.uncertain = uncertain or []


class Uplink:
    """Delivers a spool to the server. ``token`` is the device token, or a function returning it
    (read again at each post, so a fixed token file takes effect without a restart)."""

    def __init__(self, spool: Spool, server_url: str, token: str | Callable[[], str], *,
                 session: requests.Session | None = None, timeout: tuple[float, float] = (5.0, 30.0),
                 batch_size: int = BATCH, keep_days: float = 7, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random,
                 guard_s: float | None = None) -> None:
        self.spool = spool
        self.url = server_url.rstrip("/") + PATH
        self._token = token if callable(token) else (lambda: token)
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "hallq-agent/1")
        self.timeout = timeout
        self.batch_size = batch_size
        self.keep_days = keep_days
        self._clock, self._monotonic, self._rng = clock, monotonic, rng
        self.guard_s = guard_s if guard_s is not None else 2 * sum(timeout) + 10
        self.failures = 0
        self._failing_since: float | None = None
        self._uncertain: dict[tuple[str, int], float] = {}  # key -> monotonic time after which a 200 is final
        self._held: dict[str, tuple[float, int]] = {}  # sensor refused with 403 -> (retry at, failures)
        self._last_prune = float("-inf")

    # ------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event, interval_s: float = 10.0) -> None:
        """Deliver every ``interval_s`` (after a failure: after the backoff) until ``stop`` is set."""
        while not stop.is_set():
            try:
                outcome = self.deliver()
                self._prune_now_and_then()
            except Exception:  # a bug or a disk problem: the inputs go on counting; try again later
                self.failures += 1
                outcome = Delivery(ok=False)
                outcome.wait_s = self.retry_in(outcome)
                log.exception("delivery failed; retrying in %s", _seconds(outcome.wait_s))
            stop.wait(interval_s if outcome.ok else outcome.wait_s or self.retry_in(outcome))

    def retry_in(self, outcome: Delivery) -> float:
        delay = backoff(self.failures, self._rng)
        return max(delay, outcome.retry_after or 0.0)

    def _prune_now_and_then(self) -> None:
        if self._monotonic() - self._last_prune < 3600:
            return
        self._last_prune = self._monotonic()
        gone = self.spool.prune(self.keep_days)
        if gone:
            log.info("spool: forgot %d delivered minute(s) older than %g day(s)", gone, self.keep_days)

    # ------------------------------------------------------------------ one delivery

    def deliver(self, timeout: tuple[float, float] | None = None) -> Delivery:
        """Post everything pending now (the minute in progress too); log and return what happened."""
        outcome = Delivery()
        skip: set[tuple[str, int]] = set()  # rows set aside for the rest of this delivery
        held = self._held_sensors()  # sensors refused with 403, waiting out their backoff
        try:
            for _ in range(10_000):  # bounded: new counts keep arriving while we post
                rows = self.spool.pending(self.batch_size, skip, held)
                if not rows:
                    break
                self._post_batch(rows, skip, held, outcome, timeout or self.timeout)
                if len(rows) < self.batch_size:
                    break
        except _Stop as stop:
            outcome.ok, outcome.problem, outcome.serious = False, stop.problem, stop.serious
            outcome.retry_after = stop.retry_after
            now = self._monotonic()
            for r in stop.uncertain:
                self._uncertain[r.key] = now + self.guard_s
        self._report(outcome)
        return outcome

    def _post_batch(self, rows: list[Row], skip: set, held: set, outcome: Delivery, timeout) -> None:
        """Post ``rows``; on a refusal of some of them, set those aside and post the rest."""
        chunks = [rows]
        while chunks:
            chunk = [r for r in chunks.pop() if r.key not in skip and r.sensor not in held]
            if not chunk:
                continue
            status, body, headers = self._post(chunk, timeout)
            if status == 200 and not _is_receipt(body):
                # a proxy's or another site's page: taking it for a delivery would lose the counts
                raise _Stop(f"the answer at {self.url} is not the footfall API's: check server.url", serious=True)
            if status == 200:
                self._accepted(chunk, body, skip, outcome)
                continue
            error = body.get("error") if isinstance(body, dict) else None
            error = error if isinstance(error, dict) else {}
            refusal = Refusal(status, error.get("code"), error.get("field"), error.get("message"))
            index = row_index(refusal.field)
            about = f"HTTP {status}" + (f": {refusal.message}" if refusal.message else "")
            if status == 403 and index is not None and index < len(chunk):
                self._hold_sensor(chunk[index].sensor, about)
                held.add(chunk[index].sensor)
                chunks.append(chunk)
            elif status in _CONFIG_STATUSES:
                raise _Stop(_config_problem(status, about), serious=True)
            elif status in _RETRY_STATUSES or status >= 500 or not 400 <= status < 500:
                raise _Stop(f"server error ({about})", retry_after=_retry_after(headers, status))
            elif index is not None and index < len(chunk):
                self._refused(chunk[index], refusal, skip, outcome)
                chunks.append(chunk[:index] + chunk[index + 1:])
            elif len(chunk) == 1:
                self._refused(chunk[0], refusal, skip, outcome)
            else:
                half = len(chunk) // 2
                chunks += [chunk[half:], chunk[:half]]

    def _post(self, rows: list[Row], timeout) -> tuple[int, object, dict]:
        body = {"counts": [{"sensor": r.sensor, "minute": r.minute_iso(), "in": r.in_, "out": r.out} for r in rows]}
        try:
            token = self._token()
        except OSError as e:
            raise _Stop(f"cannot read the device token ({e})", serious=True) from None
        try:
            resp = self.session.post(self.url, json=body, timeout=timeout,
                                     headers={"Authorization": f"Bearer {token}"})
        except requests.RequestException as e:
            reason = _reason(e)
            raise _Stop(f"server unreachable ({reason})", uncertain=rows if _maybe_sent(e, reason) else None) from None
        try:
            answer = resp.json()
        except ValueError:
            answer = {"text": resp.text[:200]}
        return resp.status_code, answer, resp.headers

    # ------------------------------------------------------------------ outcomes

    def _accepted(self, rows: list[Row], body, skip: set, outcome: Delivery) -> None:
        now = self._monotonic()
        final = []
        for r in rows:
            guard = self._uncertain.get(r.key)
            if guard is not None and guard > now:
                skip.add(r.key)  # an older post may still land after this one: post again later
                continue
            self._uncertain.pop(r.key, None)
            final.append(r)
        self.spool.mark_sent(final)
        outcome.minutes += len(rows)
        outcome.sensors.update(r.sensor for r in rows)
        for name in _RECEIPT:
            setattr(outcome, name, getattr(outcome, name) + body[name])

    def _refused(self, row: Row, refusal: Refusal, skip: set, outcome: Delivery) -> None:
        where = f"{row.sensor} {_local(row.minute)} (in {row.in_}, out {row.out})"
        why = f"HTTP {refusal.status}" + (f" {refusal.field}" if refusal.field else "") + \
              (f": {refusal.message}" if refusal.message else "")
        skip.add(row.key)
        if row.minute >= self._clock() - YOUNG_S:
            log.warning("server refused %s (%s); a recent minute: held back, tried again next time", where, why)
            return
        self.spool.dead_letter([row], refusal)
        outcome.dead += 1
        log.error("server refused %s for good (%s); kept as a dead letter, see --status", where, why)

    def _hold_sensor(self, sensor: str, about: str) -> None:
        failures = self._held.get(sensor, (0.0, 0))[1] + 1
        delay = backoff(failures, self._rng)
        self._held[sensor] = (self._monotonic() + delay, failures)
        log.error("server refused sensor %s (%s): is it registered to this device? its minutes stay spooled; "
                  "retrying it in %s", sensor, about, _seconds(delay))

    def _held_sensors(self) -> set[str]:
        now = self._monotonic()
        return {s for s, (until, _) in self._held.items() if until > now}

    def _report(self, outcome: Delivery) -> None:
        pending, _sensors, _oldest = self.spool.pending_summary()
        if outcome.ok:
            if self.failures:
                down = self._monotonic() - (self._failing_since or self._monotonic())
                log.info("server reachable again after %d failed attempt(s) over %s", self.failures, _seconds(down))
            self.failures, self._failing_since = 0, None
            if outcome.minutes:
                level = logging.INFO if outcome.stored or outcome.replaced or outcome.dead else logging.DEBUG
                log.log(level, "delivered %d minute(s) for %d sensor(s) (stored %d, replaced %d%s)",
                        outcome.minutes, len(outcome.sensors), outcome.stored, outcome.replaced,
                        f", {outcome.dead} refused" if outcome.dead else "")
                self.spool.set_meta("last_delivery", {
                    "at": datetime.now().astimezone().isoformat(timespec="seconds"), "minutes": outcome.minutes,
                    "stored": outcome.stored, "replaced": outcome.replaced, "unchanged": outcome.unchanged})
            return
        self.failures += 1
        if self._failing_since is None:
            self._failing_since = self._monotonic()
        outcome.wait_s = self.retry_in(outcome)
        log.log(logging.ERROR if outcome.serious else logging.WARNING,
                "%s; %d minute(s) spooled; retrying in %s", outcome.problem, pending, _seconds(outcome.wait_s))
        self.spool.set_meta("last_error", {"at": datetime.now().astimezone().isoformat(timespec="seconds"),
                                           "problem": outcome.problem})


_RECEIPT = ("stored", "replaced", "unchanged")


def _is_receipt(body) -> bool:
    """Whether a 200 answer is the API's: ``{"stored": n, "replaced": n, "unchanged": n}``."""
    return isinstance(body, dict) and all(isinstance(body.get(k), int) for k in _RECEIPT)


def _config_problem(status: int, about: str) -> str:
    if status == 401:
        return f"server refused the device token ({about}): check server.token / server.token_file"
    if status == 403:
        return f"server refused this device ({about}): is the token a sensor device's?"
    return f"no footfall API at this address ({about}): check server.url"


def _retry_after(headers, status: int) -> float | None:
    try:
        return float(headers.get("Retry-After")) if status in (429, 503) else None
    except (TypeError, ValueError):
        return None


def _maybe_sent(e: requests.RequestException, reason: str) -> bool:
    """Whether the server may have received (and may yet store) a post that ended in ``e``."""
    return not isinstance(e, requests.ConnectTimeout) and reason not in ("connection refused", "name not resolved")


def _reason(e: requests.RequestException) -> str:
    text = str(e).lower()
    for needle, reason in (("refused", "connection refused"), ("name or service", "name not resolved"),
                           ("nodename", "name not resolved"), ("certificate", "TLS certificate problem"),
                           ("ssl", "TLS problem"), ("reset", "connection reset"),
                           ("aborted", "connection closed without an answer"),
                           ("remotedisconnected", "connection closed without an answer"),
                           ("closed connection", "connection closed without an answer")):
        if needle in text:
            return reason
    if isinstance(e, requests.Timeout):
        return "timed out"
    return type(e).__name__


def _local(minute: int) -> str:
    return datetime.fromtimestamp(minute).strftime("%Y-%m-%d %H:%M")


def _seconds(s: float) -> str:
    s = round(s)
    if s < 120:
        return f"{s} s"
    return f"{s // 60} min {s % 60} s" if s < 3600 else f"{s // 3600} h {s % 3600 // 60} min"
