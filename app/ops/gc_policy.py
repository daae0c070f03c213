"""Garbage collection in the live role: no full collection while the halls are open.

A live process holding 10,000 screens keeps about 1.4 M objects. A full (generation 2)
collection walks every one of them, and on one event loop nothing else runs meanwhile: the
screens bench measured two such collections of about 0.8 s in 20 s of calls, and every call
of those moments reached its screens 0.8 s late (BENCHMARKS.md, "Screens"). Reference counting
frees almost everything a screen leaves behind; the cycle collector only matters for cycles.

So the live worker (deploy/gunicorn/live.conf.py, ``post_worker_init``):

- freezes what it loaded at start (``gc.freeze``: the app and its libraries, never garbage);
- never starts a full collection by itself (generation 2's threshold out of reach); the young
  collections go on as before, they are short;
- runs one full collection a day at ``LIVE_FULL_GC_AT`` (default 04:00, in ``LIVE_FULL_GC_TZ``,
  default Asia/Shanghai), when the halls are closed, and logs how long it took and what it
  freed, so that what cycles leave behind in a day is given back every night.
"""
from __future__ import annotations

import gc
import logging
import time as time_module
from datetime import datetime, time, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

log = logging.getLogger("hallq.live")

NEVER = 1_000_000_000  # generation 2's threshold: young collections before a full one


def parse_at(text: str) -> time:
    """``HH:MM`` -> a time of day; a clear error naming the setting."""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ValueError(f"LIVE_FULL_GC_AT must be HH:MM, not {text!r}") from None


def seconds_until(now: datetime, at: time) -> float:
    """Seconds from ``now`` (aware) to the next ``at`` of its own day or the next (never 0)."""
    target = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if target <= now:
        target = (target + timedelta(days=1)).replace(hour=at.hour, minute=at.minute)
    return (target - now).total_seconds()


def hold_full_collections() -> tuple[int, int, int]:
    """Freeze what is loaded and stop automatic full collections; the thresholds before."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(before[0], before[1], NEVER)
    return before


def full_collection() -> dict:
    """One full collection, timed and logged."""
    started = time_module.perf_counter()
    freed = gc.collect()
    took_ms = (time_module.perf_counter() - started) * 1000
    figures = {"freed": freed, "ms": round(took_ms, 1), "objects": len(gc.get_objects())}
    log.info("live: nightly full collection freed %(freed)d objects in %(ms).1f ms, %(objects)d remain", figures)
    return figures


def nightly(at: time, zone: ZoneInfo, sleep: Callable[[float], None],
            now: Callable[[], datetime] | None = None, rounds: int | None = None) -> None:
    """Sleep until ``at``, collect, and again every day (``rounds``: stop after that many)."""
    now = now or (lambda: datetime.now(zone))
    done = 0
    while rounds is None or done < rounds:
        sleep(seconds_until(now(), at))
        full_collection()
        done += 1
