"""A discrete-event simulation of a service hall (or of any multi-server queue with abandonment).

Customers of several service types and tiers arrive (non-homogeneous Poisson from rates
per interval, or replayed from real arrival times), wait for a counter that serves their
type, are called by a calling rule, are served for a handle time, or give up when their
patience runs out. Counters open and close on a plan; a closing counter finishes the
customer at it first.

Two steps, so that what-if questions compare like with like (common random numbers):
``generate_customers`` draws everything random once (arrival times, handle times,
patience), ``simulate`` is deterministic given the customers and the counters. Compare
two plans by simulating the same customers twice.

The default calling rule mirrors the queue core's (``app/domain/calling.py``): overdue
tickets (waited past their service's target) first, oldest first; otherwise by
arrival time minus the tier's head start; ties by arrival, then id. It is copied here
rather than imported because ``forecasting`` must not import the Flask app; a unit test
checks that the head starts stay equal to the core's.

Time is in seconds from the start of the simulated period (e.g. midnight of the day).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

ORDINARY, STAR, VIP, GREEN = "ordinary", "star", "vip", "green"
# The queue core's DEFAULT_HEAD_START_S (app/domain/calling.py), in seconds.
DEFAULT_HEAD_START_S: Mapping[str, float] = {ORDINARY: 0, STAR: 5 * 60, VIP: 15 * 60, GREEN: 20 * 60}


# --------------------------------------------------------------------------- distributions


@dataclass(frozen=True)
class Exponential:
    mean: float

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean, size)


@dataclass(frozen=True)
class Lognormal:
    """Lognormal with the given mean and coefficient of variation (sd / mean)."""

    mean: float
    cv: float

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        sigma2 = math.log(1.0 + self.cv**2)
        return rng.lognormal(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2), size)


@dataclass(frozen=True)
class Empirical:
    """Resamples observed values (e.g. handle times from a log)."""

    values: tuple[float, ...]

    @cached_property
    def _array(self) -> np.ndarray:
        return np.asarray(self.values, dtype=float)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(self._array, size)


@dataclass(frozen=True)
class Never:
    """Infinite patience: nobody gives up."""

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, math.inf)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ServiceSpec:
    """A service type: its handle times, its customers' patience and its target wait."""

    name: str
    handle: Exponential | Lognormal | Empirical
    patience: Exponential | Lognormal | Empirical | Never = Never()
    target_wait_s: float = 900.0


@dataclass(slots=True)
class Customer:
    """One customer; the simulation fills in ``start``, ``end``, ``counter`` and ``abandoned``."""

    id: int
    service: str
    tier: str
    arrived: float
    handle_s: float
    patience_s: float
    target_wait_s: float
    start: float | None = None
    end: float | None = None
    counter: int | None = None
    abandoned: bool = False

    @property
    def wait_s(self) -> float:
        """Time in the queue: until called, or until giving up."""
        if self.start is not None:
            return self.start - self.arrived
        return (self.end - self.arrived) if self.end is not None else math.nan


@dataclass(frozen=True)
class Counter:
    """A counter: the services it serves and when it is open, as (from, to) seconds."""

    services: frozenset[str]
    open_spans: tuple[tuple[float, float], ...]


def generate_customers(
    rates: Mapping[tuple[str, str], Sequence[float]], interval_s: float, services: Mapping[str, ServiceSpec], seed: int
) -> list[Customer]:
    """Draw a period's customers from expected arrivals per interval.

    ``rates[(service, tier)][i]`` = expected arrivals of that service and tier in interval i
    (constant rate within the interval: a piecewise-constant non-homogeneous Poisson process).
    Deterministic for a seed; keys are visited in sorted order so dict order does not matter.
    """
    rng = np.random.default_rng(seed)
    drawn: list[tuple[float, str, str, float, float, float]] = []
    for service, tier in sorted(rates):
        spec = services[service]
        means = np.asarray(rates[(service, tier)], dtype=float)
        counts = rng.poisson(np.maximum(means, 0.0))
        total = int(counts.sum())
        starts = np.repeat(np.arange(len(means)) * interval_s, counts)
        times = starts + rng.uniform(0.0, interval_s, total)
        handles = spec.handle.sample(rng, total)
        patience = spec.patience.sample(rng, total)
        drawn.extend((t, service, tier, h, p, spec.target_wait_s) for t, h, p in zip(times, handles, patience))
    drawn.sort(key=lambda row: (row[0], row[1], row[2]))
    return [
        Customer(i, s, tier, float(t), float(h), float(p), float(target))
        for i, (t, s, tier, h, p, target) in enumerate(drawn)
    ]


def replay_customers(
    arrivals: Iterable[tuple[float, str, str, float, float]], target_wait_s: Mapping[str, float] | float = 900.0
) -> list[Customer]:
    """Customers from real records: (arrived_s, service, tier, handle_s, patience_s)."""
    rows = sorted(arrivals, key=lambda r: r[0])
    target = (lambda s: target_wait_s) if isinstance(target_wait_s, (int, float)) else target_wait_s.__getitem__
    return [
        Customer(i, s, tier, float(t), float(h), float(p), float(target(s)))
        for i, (t, s, tier, h, p) in enumerate(rows)
    ]


def counters_from_counts(open_counts: Sequence[float], interval_s: float, services: Iterable[str]) -> list[Counter]:
    """Counters for a plan given as open counters per interval, all serving ``services``.

    Counter k is open in interval i when ``k < open_counts[i]``; a fractional count (e.g. 7.4
    effective servers) opens the last counter for that share of the interval, at its start.
    """
    services = frozenset(services)
    top = math.ceil(max(open_counts, default=0))
    counters = []
    for k in range(top):
        spans: list[tuple[float, float]] = []
        for i, n in enumerate(open_counts):
            share = min(1.0, max(0.0, n - k))
            if share > 0:
                lo, hi = i * interval_s, i * interval_s + share * interval_s
                if spans and spans[-1][1] == lo:
                    spans[-1] = (spans[-1][0], hi)
                else:
                    spans.append((lo, hi))
        counters.append(Counter(services, tuple(spans)))
    return counters


def counters_from_shifts(
    shifts: Iterable, interval_s: float, services: Iterable[str] | Mapping[int, Iterable[str]]
) -> list[Counter]:
    """Counters for a day's plan (``forecasting.plan.Shift``: counter_index, start/end interval).

    ``services``: what every counter serves, or per counter index.
    """
    spans: dict[int, list[tuple[float, float]]] = {}
    for shift in shifts:
        spans.setdefault(shift.counter_index, []).append(
            (shift.start_interval * interval_s, shift.end_interval * interval_s)
        )

    def serves(k: int) -> frozenset[str]:
        return frozenset(services[k]) if isinstance(services, Mapping) else frozenset(services)

    return [Counter(serves(k), tuple(sorted(spans.get(k, [])))) for k in range(max(spans, default=-1) + 1)]


# --------------------------------------------------------------------------- calling rules

CallingRule = Callable[[list[Customer], float], Customer]


def fifo_rule(candidates: list[Customer], now: float) -> Customer:
    """First come, first served (ties by id)."""
    return min(candidates, key=lambda c: (c.arrived, c.id))


def head_start_rule(
    head_start_s: Mapping[str, float] = DEFAULT_HEAD_START_S, overdue_overtakes: bool = True
) -> CallingRule:
    """The queue core's rule: overdue first (oldest first), then arrival minus the tier's head start."""

    def key(c: Customer, now: float) -> tuple:
        if overdue_overtakes and now - c.arrived > c.target_wait_s:
            return (0, c.arrived, c.id)
        return (1, c.arrived - head_start_s.get(c.tier, 0.0), c.arrived, c.id)

    def rule(candidates: list[Customer], now: float) -> Customer:
        return min(candidates, key=lambda c: key(c, now))

    return rule


# --------------------------------------------------------------------------- the event loop

_DEPART, _CLOSE, _OPEN, _ABANDON, _ARRIVE = range(5)  # order of events at the same instant


@dataclass
class _Desk:
    services: frozenset[str]
    open: bool = False
    serving: Customer | None = None


def simulate(
    customers: Sequence[Customer],
    counters: Sequence[Counter],
    interval_s: float,
    rule: CallingRule | None = None,
    n_intervals: int | None = None,
) -> SimulationResult:
    """Run the hall; ``customers`` are copied, so the same list can be simulated again.

    A free counter that serves a customer's service calls them at once on arrival (the free
    counter with the lowest index). When a counter falls free it calls, among the waiting
    customers of its services, the one ``rule`` picks (default: the queue core's rule).
    """
    rule = rule or head_start_rule()
    people = [
        Customer(c.id, c.service, c.tier, c.arrived, c.handle_s, c.patience_s, c.target_wait_s) for c in customers
    ]
    desks = [_Desk(c.services) for c in counters]
    waiting: dict[str, dict[int, Customer]] = {}
    events: list[tuple[float, int, int, Any]] = []  # the reference: a Customer, or a desk's index
    seq = 0

    def push(at: float, kind: int, ref) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, kind, seq, ref))

    for k, counter in enumerate(counters):
        for lo, hi in counter.open_spans:
            push(lo, _OPEN, k)
            push(hi, _CLOSE, k)
    for person in people:
        push(person.arrived, _ARRIVE, person)

    def start(k: int, person: Customer, now: float) -> None:
        person.start, person.counter = now, k
        person.end = now + person.handle_s
        desks[k].serving = person
        push(person.end, _DEPART, k)

    def call_next(k: int, now: float) -> None:
        desk = desks[k]
        candidates = [p for s in desk.services for p in waiting.get(s, {}).values()]
        if candidates:
            chosen = rule(candidates, now)
            del waiting[chosen.service][chosen.id]
            start(k, chosen, now)

    while events:
        now, kind, _, ref = heapq.heappop(events)
        if kind == _ARRIVE:
            person = ref
            free = next(
                (k for k, d in enumerate(desks) if d.open and d.serving is None and person.service in d.services), None
            )
            if free is not None:
                start(free, person, now)
            else:
                waiting.setdefault(person.service, {})[person.id] = person
                if math.isfinite(person.patience_s):
                    push(now + person.patience_s, _ABANDON, person)
        elif kind == _DEPART:
            desks[ref].serving = None
            if desks[ref].open:
                call_next(ref, now)
        elif kind == _ABANDON:
            person = ref
            if person.start is None and person.id in waiting.get(person.service, {}):
                del waiting[person.service][person.id]
                person.abandoned, person.end = True, now
        elif kind == _OPEN:
            desks[ref].open = True
            if desks[ref].serving is None:
                call_next(ref, now)
        else:  # _CLOSE: the customer at the counter is finished first, nobody new is called
            desks[ref].open = False
    if n_intervals is None:
        last = max([p.arrived for p in people] + [hi for c in counters for _, hi in c.open_spans] + [0.0])
        n_intervals = int(last // interval_s) + 1
    return SimulationResult(people, list(counters), interval_s, n_intervals)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Stats:
    """Figures for a group of customers (by arrival interval); waits in seconds."""

    arrivals: int
    served: int
    abandoned: int
    share_waiting: float  # waited at all (found no free counter)
    mean_wait_s: float  # over all arrivals; those who gave up: until they left
    service_level: float  # served within the target wait, over all arrivals
    utilisation: float | None  # busy / open counter time in the interval(s); None per service


def _stats(group: Sequence[Customer], target_s: float | None) -> tuple[int, int, int, float, float, float]:
    n = len(group)
    if n == 0:
        return 0, 0, 0, 0.0, 0.0, 1.0
    served = sum(1 for c in group if c.start is not None)
    abandoned = sum(1 for c in group if c.abandoned)
    waits = [c.wait_s for c in group if not math.isnan(c.wait_s)]
    waited = sum(1 for w in waits if w > 1e-9)
    within = sum(
        1
        for c in group
        if c.start is not None and c.start - c.arrived <= (c.target_wait_s if target_s is None else target_s)
    )
    return n, served, abandoned, waited / n, (sum(waits) / len(waits) if waits else 0.0), within / n


@dataclass
class SimulationResult:
    customers: list[Customer]
    counters: list[Counter]
    interval_s: float
    n_intervals: int
    _busy: np.ndarray = field(init=False, repr=False)
    _open: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._busy = self._spread(
            (c.start, c.end)
            for c in self.customers
            if c.start is not None and c.end is not None  # served
        )
        self._open = self._spread(span for counter in self.counters for span in counter.open_spans)

    def _spread(self, spans: Iterable[tuple[float, float]]) -> np.ndarray:
        """Seconds of the spans falling in each interval."""
        out = np.zeros(self.n_intervals)
        step = self.interval_s
        for lo, hi in spans:
            i = int(lo // step)
            while i < self.n_intervals and i * step < hi:
                out[i] += min(hi, (i + 1) * step) - max(lo, i * step)
                i += 1
        return out

    def summary(
        self,
        service: str | None = None,
        tier: str | None = None,
        intervals: range | None = None,
        target_wait_s: float | None = None,
    ) -> Stats:
        """Figures for customers who arrived in ``intervals`` (default: all), of a service/tier if given."""
        chosen = [
            c
            for c in self.customers
            if (service is None or c.service == service)
            and (tier is None or c.tier == tier)
            and (intervals is None or int(c.arrived // self.interval_s) in intervals)
        ]
        util = None
        if service is None and tier is None:
            span = intervals or range(self.n_intervals)
            lo, hi = max(span.start, 0), min(span.stop, self.n_intervals)
            open_s = float(self._open[lo:hi].sum())
            util = float(self._busy[lo:hi].sum()) / open_s if open_s else None
        return Stats(*_stats(chosen, target_wait_s), util)

    def by_interval(self, service: str | None = None) -> list[Stats]:
        """One ``Stats`` per interval (by arrival interval), for one service or all."""
        groups: list[list[Customer]] = [[] for _ in range(self.n_intervals)]
        for c in self.customers:
            i = int(c.arrived // self.interval_s)
            if 0 <= i < self.n_intervals and (service is None or c.service == service):
                groups[i].append(c)
        rows = []
        for i, group in enumerate(groups):
            util = (float(self._busy[i] / self._open[i]) if self._open[i] else None) if service is None else None
            rows.append(Stats(*_stats(group, None), util))
        return rows

    def by_service(self) -> dict[str, Stats]:
        return {s: self.summary(service=s) for s in sorted({c.service for c in self.customers})}
