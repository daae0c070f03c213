"""Wait estimates shown at the kiosk, on screens and on the customer's phone.

Method (kept simple on purpose, so staff can explain it to a customer):

1. **Handle time** ``h`` of a service: the mean of its most recent real handle
   times (up to 20, each capped at four times the configured expected time, so a
   forgotten "finish" does not wreck it), shrunk towards the configured expected
   handle time with the weight of 5 samples: ``h = (sum + 5*expected) / (n + 5)``.
   With no history, ``h`` is the configured time; after a busy morning it is the
   hall's real pace.
2. **Capacity** ``c`` for the service: each open counter serving it counts
   ``1/k``, where ``k`` is the number of services with waiting customers that the
   counter serves (at least 1). Closed counters count nothing.
3. **Wait** for a customer with ``a`` people ahead: zero if an idle counter is free
   for them (``a`` < idle counters); otherwise ``(a - idle + 0.5) * h / c``: the
   people ahead are served at ``c/h`` customers per second, and the customer in
   service when the queue reaches them is half done on average.
4. No counter open for the service: no estimate (``None``); screens say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

PRIOR_WEIGHT = 5
SAMPLE_CAP_FACTOR = 4
MAX_SAMPLES = 20


def recent_handle_time(samples_s: Sequence[float], expected_s: float) -> float:
    """Blend the most recent real handle times with the configured expectation."""
    recent = [min(max(s, 0.0), SAMPLE_CAP_FACTOR * expected_s) for s in samples_s[:MAX_SAMPLES]]
    return (sum(recent) + PRIOR_WEIGHT * expected_s) / (len(recent) + PRIOR_WEIGHT)


def effective_counters(
    service_id: int,
    open_counters: Iterable[frozenset[int]],
    waiting_by_service: Mapping[int, int],
) -> float:
    """Share of open counters' time that goes to ``service_id``."""
    total = 0.0
    for served in open_counters:
        if service_id not in served:
            continue
        busy_services = sum(1 for s in served if waiting_by_service.get(s, 0) > 0 or s == service_id)
        total += 1.0 / max(busy_services, 1)
    return total


@dataclass(frozen=True)
class ServiceLoad:
    """What the estimate needs to know about one service right now."""

    capacity: float  # effective counters, see effective_counters
    idle_counters: int  # open counters serving it with nobody at the counter
    handle_time_s: float


def estimate_wait_s(ahead: int, load: ServiceLoad) -> int | None:
    """Estimated seconds until a customer with ``ahead`` people before them is called."""
    if load.capacity <= 0:
        return None
    if ahead < load.idle_counters:
        return 0
    return round((ahead - load.idle_counters + 0.5) * load.handle_time_s / load.capacity)
