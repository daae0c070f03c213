"""Replaying the real queue log against the staffing models: which servers, which model.

Per interval (an hour by default) of the log's working days, from the calls themselves:

- **population**: calls that reached the agents' queue: served by a named agent, or gave up
  after waiting (``HANG`` with a wait > 0). Left out: ``PHANTOM`` calls, ``HANG`` calls with no
  wait (they hung up in the voice menu and never queued: 1,941 of the 5,904 have no queue
  start at all; the reader cannot tell the few true zero-wait abandons from them) and ``AGENT``
  rows without a named server (491, "not served by an agent").
- **observed**: arrivals, share that waited (``waited_s > 0``), mean wait of all (abandoning
  ones: until they hung up), share abandoned.
- **inputs**: arrival rate, mean handle time of the interval's served calls, mean patience
  (the standard estimator under exponential patience, Brown et al. 2005 section 6: abandonments
  / total time waited by everybody, pooled over the same hour of all working days), and servers
  two ways:
  - *named*: distinct agents who served someone during the interval (the naive count);
  - *effective*: the time-average number of agents busy **while somebody was waiting**.
    When a customer waits, every agent really at work should be busy, so this counts the
    agents available, without those on a break or between shifts; counting busy agents at
    all times would also count the idle capacity as missing (busy = load: a model would see
    utilisation 1). If nobody waited for a whole minute in the interval, the interval's peak
    number busy at once is used (a lower bound for those really available). ``busy_mean`` and
    ``busy_max`` are kept for comparison.

Predictions per interval: Erlang C and Erlang A (``forecasting.erlang``) with the named or
the effective servers (a fractional number of servers interpolates linearly between its
neighbours), and the simulation replaying the real arrival times and service times with the
effective servers open (a fractional server is open for that share of the interval).
Errors: mean absolute error across intervals weighted by arrivals, and the weighted bias.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from .erlang import QueueFigures, erlang_a_figures, erlang_c_figures
from .queue_log import Call
from .simulation import Empirical, counters_from_counts, fifo_rule, replay_customers, simulate

# Israel's working week (the bank's): Sunday to Thursday, in datetime.weekday() numbers.
ISRAELI_WORKDAYS = frozenset({6, 0, 1, 2, 3})
MIN_QUEUE_S = 60  # less waiting than this in an interval: use the peak number busy instead


def queue_population(calls: Iterable[Call]) -> list[Call]:
    """Calls that reached the agents' queue (see the module docstring for who is left out)."""
    return [c for c in calls if c.served or (c.abandoned and c.waited_s > 0)]


@dataclass(frozen=True)
class Interval:
    """One interval of the log: what happened and the inputs a model gets."""

    start: datetime
    seconds: int  # the interval's length
    arrivals: int
    served: int
    abandoned: int
    share_waiting: float
    mean_wait_s: float
    abandon_share: float
    mean_handle_s: float
    mean_patience_s: float
    named_servers: int
    effective_servers: float
    busy_mean: float
    busy_max: int
    queue_s: int  # seconds in the interval with somebody waiting


@dataclass(frozen=True)
class Prediction:
    share_waiting: float
    mean_wait_s: float
    abandon_share: float


def _seconds(at: datetime, origin: datetime) -> int:
    return int((at - origin).total_seconds())


def _served_at(call: Call, origin: datetime) -> int:
    """Seconds from ``origin`` to the service start (its clock time, or arrival plus wait when the
    log's clock reads 0:00:00, which the reader takes for "none")."""
    start = call.service_start or call.arrived + timedelta(seconds=call.waited_s)
    return _seconds(start, origin)


def observe(calls: Sequence[Call], interval_minutes: int = 60) -> list[Interval]:
    """Every interval of the log with arrivals, in time order (all days; filter afterwards)."""
    people = queue_population(calls)
    origin = datetime.combine(min(c.arrived for c in people).date(), datetime.min.time())
    step = interval_minutes * 60
    ends = [_served_at(c, origin) + c.service_s for c in people if c.served]
    horizon = (max(ends + [_seconds(c.arrived, origin) + c.waited_s for c in people]) // step + 2) * step
    busy = _level(((_served_at(c, origin), _served_at(c, origin) + c.service_s) for c in people if c.served), horizon)
    queue = _level(((_seconds(c.arrived, origin), _seconds(c.arrived, origin) + c.waited_s) for c in people), horizon)
    busy, waiting = busy.reshape(-1, step), queue.reshape(-1, step) > 0
    queue_s = waiting.sum(axis=1)
    busy_while_queue = np.where(queue_s > 0, (busy * waiting).sum(axis=1) / np.maximum(queue_s, 1), 0.0)
    names = _named_servers(people, origin, step, len(busy))
    groups: dict[int, list[Call]] = {}
    for c in people:
        groups.setdefault(_seconds(c.arrived, origin) // step, []).append(c)
    patience = _patience_by_slot(groups, origin, step)
    out = []
    for i in sorted(groups):
        group = groups[i]
        served = [c for c in group if c.served]
        effective = float(busy_while_queue[i]) if queue_s[i] >= MIN_QUEUE_S else float(busy[i].max())
        start = origin + timedelta(seconds=i * step)
        out.append(
            Interval(
                start=start,
                seconds=step,
                arrivals=len(group),
                served=len(served),
                abandoned=sum(1 for c in group if c.abandoned),
                share_waiting=sum(1 for c in group if c.waited_s > 0) / len(group),
                mean_wait_s=sum(c.waited_s for c in group) / len(group),
                abandon_share=sum(1 for c in group if c.abandoned) / len(group),
                mean_handle_s=(sum(c.service_s for c in served) / len(served)) if served else math.nan,
                mean_patience_s=patience.get((start.hour, start.minute), math.inf),
                named_servers=len(names[i]),
                effective_servers=effective,
                busy_mean=float(busy[i].mean()),
                busy_max=int(busy[i].max()),
                queue_s=int(queue_s[i]),
            )
        )
    return out


def _level(spans: Iterable[tuple[int, int]], horizon: int) -> np.ndarray:
    """How many spans cover each second."""
    delta = np.zeros(horizon + 1, dtype=np.int32)
    spans = [(lo, hi) for lo, hi in spans if hi > lo]
    if spans:
        lo, hi = np.array(spans).T
        np.add.at(delta, lo, 1)
        np.add.at(delta, hi, -1)
    return np.cumsum(delta)[:horizon]


def _named_servers(people: list[Call], origin: datetime, step: int, n: int) -> list[set[str]]:
    names: list[set[str]] = [set() for _ in range(n)]
    for c in people:
        if c.served:
            lo = _served_at(c, origin)
            for i in range(lo // step, (lo + max(c.service_s, 1) - 1) // step + 1):
                names[i].add(c.server or "")
    return names


def _patience_by_slot(groups: dict[int, list[Call]], origin: datetime, step: int) -> dict[tuple[int, int], float]:
    """Mean patience per clock slot, pooled over days: total waiting / abandonments (Brown et al.)."""
    waited: dict[tuple[int, int], float] = {}
    gave_up: dict[tuple[int, int], int] = {}
    for i, group in groups.items():
        at = origin + timedelta(seconds=i * step)
        key = (at.hour, at.minute)
        waited[key] = waited.get(key, 0.0) + sum(c.waited_s for c in group)
        gave_up[key] = gave_up.get(key, 0) + sum(1 for c in group if c.abandoned)
    return {k: (waited[k] / gave_up[k] if gave_up[k] else math.inf) for k in waited}


# --------------------------------------------------------------------------- predictions

SERVER_COUNTS = {  # ways to count an interval's servers; "effective" is the one to staff with
    "named": lambda i: float(i.named_servers),
    "effective": lambda i: i.effective_servers,
    "busy_max": lambda i: float(i.busy_max),
    "busy_mean": lambda i: i.busy_mean,
}


def _interpolated(servers: float, figures) -> Prediction:
    """Figures at a fractional number of servers: linear between the two whole numbers around it."""
    lo = math.floor(servers)
    w = servers - lo
    a, b = figures(lo), figures(lo + 1) if w > 0 else None

    def mix(x: float, y: float) -> float:
        return x if b is None else (1 - w) * x + w * y

    def wait(f: QueueFigures, cap: float = 3600.0) -> float:
        return min(f.mean_wait_s, cap)  # an overloaded Erlang C queue has an infinite mean wait

    if b is None:
        return Prediction(a.p_wait, wait(a), a.p_abandon)
    return Prediction(mix(a.p_wait, b.p_wait), mix(wait(a), wait(b)), mix(a.p_abandon, b.p_abandon))


def predict_erlang(interval: Interval, servers: float, model: str, fallback_handle_s: float) -> Prediction:
    """Erlang ``C`` or ``A`` for one interval with the given servers."""
    rate = interval.arrivals / interval.seconds
    handle = interval.mean_handle_s if interval.served else fallback_handle_s
    if model == "C":
        return _interpolated(servers, lambda n: erlang_c_figures(n, rate, handle, 0))
    patience = interval.mean_patience_s
    return _interpolated(servers, lambda n: erlang_a_figures(n, rate, handle, patience, 0))


def replay(
    calls: Sequence[Call],
    intervals: Sequence[Interval],
    servers: str = "effective",
    interval_minutes: int = 60,
    seed: int = 1,
) -> dict[datetime, Prediction]:
    """Simulate the whole log: real arrival times and service times, the given servers open.

    Served calls keep their real service time; calls that gave up get one drawn from the served
    calls' times. Patience: a call that gave up keeps the wait it really gave up after; a served
    call's patience is its wait plus an exponential remainder with the slot's mean patience
    (memorylessness: the only thing known is that it would have waited at least that long).
    """
    rng = np.random.default_rng(seed)
    people = queue_population(calls)
    origin = datetime.combine(min(c.arrived for c in people).date(), datetime.min.time())
    step = interval_minutes * 60
    by_slot = {_seconds(i.start, origin) // step: i for i in intervals}
    handles = Empirical(tuple(float(c.service_s) for c in people if c.served))
    drawn = iter(handles.sample(rng, sum(1 for c in people if c.abandoned)))
    rows = []
    for c in people:
        slot = by_slot.get(_seconds(c.arrived, origin) // step)
        mean_patience = slot.mean_patience_s if slot else math.inf
        if c.abandoned:
            handle, patience = float(next(drawn)), float(c.waited_s)
        else:
            handle = float(c.service_s)
            extra = rng.exponential(mean_patience) if math.isfinite(mean_patience) else math.inf
            patience = c.waited_s + extra
        rows.append((float(_seconds(c.arrived, origin)), "call", "ordinary", handle, patience))
    customers = replay_customers(rows, target_wait_s=math.inf)
    n_slots = max(_seconds(i.start, origin) // step for i in intervals) + 2
    counts = [0.0] * n_slots
    for i in intervals:
        counts[_seconds(i.start, origin) // step] = SERVER_COUNTS[servers](i)
    result = simulate(customers, counters_from_counts(counts, step, ["call"]), step, fifo_rule, n_slots)
    rows_out = result.by_interval()
    out = {}
    for i in intervals:
        s = rows_out[_seconds(i.start, origin) // step]
        out[i.start] = Prediction(s.share_waiting, s.mean_wait_s, s.abandoned / s.arrivals if s.arrivals else 0.0)
    return out


# --------------------------------------------------------------------------- errors and the report


def weighted_errors(intervals: Sequence[Interval], predictions: Sequence[Prediction]) -> dict[str, float]:
    """MAE and bias (predicted - observed) weighted by arrivals, for the three observed figures."""
    w = np.array([i.arrivals for i in intervals], dtype=float)
    out = {}
    for name, obs_of in (
        ("share_waiting", lambda i: i.share_waiting),
        ("mean_wait_s", lambda i: i.mean_wait_s),
        ("abandon_share", lambda i: i.abandon_share),
    ):
        obs = np.array([obs_of(i) for i in intervals])
        pred = np.array([getattr(p, name) for p in predictions])
        out[f"mae_{name}"] = float((w * np.abs(pred - obs)).sum() / w.sum())
        out[f"bias_{name}"] = float((w * (pred - obs)).sum() / w.sum())
    return out


@dataclass
class Calibration:
    intervals: list[Interval]
    observed: dict[str, float]
    errors: dict[str, dict[str, float]] = field(default_factory=dict)
    errors_second_half: dict[str, dict[str, float]] = field(default_factory=dict)  # 15th of the month on
    predictions: dict[str, list[Prediction]] = field(default_factory=dict)


def calibrate(
    calls: Sequence[Call],
    interval_minutes: int = 60,
    workdays: frozenset[int] = ISRAELI_WORKDAYS,
    min_arrivals: int = 10,
    simulate_too: bool = True,
    seed: int = 1,
) -> Calibration:
    """Compare the models with the log over the working days' intervals with ``min_arrivals`` or more."""
    every = observe(calls, interval_minutes)
    chosen = [
        i
        for i in every
        if i.start.weekday() in workdays
        and i.arrivals >= min_arrivals
        and i.named_servers > 0
        and i.effective_servers > 0
    ]
    served = [c for c in queue_population(calls) if c.served]
    fallback = sum(c.service_s for c in served) / len(served)
    total = sum(i.arrivals for i in chosen)
    observed = {
        "intervals": len(chosen),
        "arrivals": total,
        "share_waiting": sum(i.share_waiting * i.arrivals for i in chosen) / total,
        "mean_wait_s": sum(i.mean_wait_s * i.arrivals for i in chosen) / total,
        "abandon_share": sum(i.abandon_share * i.arrivals for i in chosen) / total,
        "named_servers": float(np.mean([i.named_servers for i in chosen])),
        "effective_servers": float(np.mean([i.effective_servers for i in chosen])),
        "busy_mean": float(np.mean([i.busy_mean for i in chosen])),
        "busy_max": float(np.mean([i.busy_max for i in chosen])),
    }
    report = Calibration(chosen, observed)
    # What a planner could use ahead of time: named servers times the effective share, fitted on
    # the first half of the month only (an out-of-sample check on the second half's intervals).
    first = [i for i in chosen if i.start.day < 15] or chosen
    ratio = sum(i.effective_servers for i in first) / sum(i.named_servers for i in first)
    observed["effective_per_named_first_half"] = ratio
    counts = {**SERVER_COUNTS, "named_scaled": lambda i: i.named_servers * ratio}
    for servers, count in counts.items():
        for model in ("C", "A"):
            report.predictions[f"erlang_{model.lower()}_{servers}"] = [
                predict_erlang(i, count(i), model, fallback) for i in chosen
            ]
    if simulate_too:
        for servers in ("named", "effective"):
            by_start = replay(calls, every, servers, interval_minutes, seed)
            report.predictions[f"simulation_{servers}"] = [by_start[i.start] for i in chosen]
    report.errors = {name: weighted_errors(chosen, preds) for name, preds in report.predictions.items()}
    later = [k for k, i in enumerate(chosen) if i.start.day >= 15]
    if later:
        report.errors_second_half = {
            name: weighted_errors([chosen[k] for k in later], [preds[k] for k in later])
            for name, preds in report.predictions.items()
        }
    return report
