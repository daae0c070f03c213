"""Staffing maths: Erlang B, Erlang C (M/M/n) and Erlang A (M/M/n+M, with patience).

Pure Python with numpy/scipy. Time is in seconds throughout; ``a`` (offered load, in
erlangs) = arrival rate x mean handle time.

Service level, both models: the share of *all arriving customers* who are served with
a wait of at most ``t``. In Erlang A a customer who gives up counts as a miss, whenever
they give up (the strict definition; call centres sometimes leave quick abandons out
of the denominator, which would flatter a hall whose customers leave early).

Erlang A is computed exactly, not by approximation: the number in the hall is a
birth-death chain (arrivals at rate lambda; departures at ``min(k, n) mu + max(k - n, 0)
theta``) truncated where its tail mass is below 1e-15; waits of an arriving customer
come from the tagged customer's own pure-death chain (PASTA). ``theta -> 0`` gives
Erlang C (tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson

_TAIL = 1e-15


# --------------------------------------------------------------------------- Erlang B and C


def erlang_b(n: int, a: float) -> float:
    """Blocking probability of M/M/n/n with offered load ``a`` (the stable recursion, no factorials)."""
    if n < 0 or a < 0:
        raise ValueError("n and a must be non-negative")
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(n: int, a: float) -> float:
    """Probability that an arriving customer waits in M/M/n (1.0 when ``a >= n``: no steady state)."""
    if n <= 0 or a >= n:
        return 1.0 if a > 0 else 0.0
    b = erlang_b(n, a)
    return n * b / (n - a * (1.0 - b))


def erlang_c_service_level(n: int, a: float, target_wait_s: float, mean_handle_s: float) -> float:
    """P(wait <= target) in M/M/n: ``1 - C exp(-(n - a) t / h)``."""
    if a <= 0:
        return 1.0
    if n <= a:
        return 0.0
    return 1.0 - erlang_c(n, a) * math.exp(-(n - a) * target_wait_s / mean_handle_s)


def erlang_c_mean_wait(n: int, a: float, mean_handle_s: float) -> float:
    """Mean wait of all customers (waiting or not) in M/M/n, seconds; ``inf`` when overloaded."""
    if a <= 0:
        return 0.0
    if n <= a:
        return math.inf
    return erlang_c(n, a) * mean_handle_s / (n - a)


# --------------------------------------------------------------------------- figures of one model


@dataclass(frozen=True)
class QueueFigures:
    """Steady-state figures for ``servers`` servers; waits in seconds."""

    servers: int
    service_level: float  # P(served and wait <= target) over all arrivals
    p_wait: float  # P(an arriving customer waits at all)
    mean_wait_s: float  # mean time in queue over all arrivals (abandoning ones: until they leave)
    p_abandon: float  # 0 in Erlang C
    utilisation: float  # busy servers / servers


def erlang_c_figures(n: int, arrival_rate: float, mean_handle_s: float, target_wait_s: float) -> QueueFigures:
    """Erlang C for ``n`` servers, arrivals per second, handle and target in seconds."""
    a = arrival_rate * mean_handle_s
    util = min(1.0, a / n) if n > 0 else (1.0 if a > 0 else 0.0)
    return QueueFigures(
        n,
        erlang_c_service_level(n, a, target_wait_s, mean_handle_s),
        erlang_c(n, a),
        erlang_c_mean_wait(n, a, mean_handle_s),
        0.0,
        util,
    )


def _birth_death(n: int, lam: float, mu: float, theta: float) -> np.ndarray:
    """Stationary distribution of the Erlang A chain, truncated where the tail is negligible."""
    log_w, top, k = [0.0], 0.0, 0
    while True:
        k += 1
        death = min(k, n) * mu + max(k - n, 0) * theta
        log_w.append(log_w[-1] + math.log(lam / death))
        top = max(top, log_w[-1])
        # past the mode (terms now fall geometrically or faster) and tiny relative to the largest
        if k > n and lam < death and log_w[-1] < top + math.log(_TAIL):
            break
        if k > 10 * n + 100_000:
            raise ValueError("Erlang A chain does not settle; is patience positive?")
    w = np.exp(np.array(log_w) - max(log_w))
    return w / w.sum()


def _served_within(n: int, mu: float, theta: float, ahead: np.ndarray, t: float) -> float:
    """P(served with wait <= t) for a customer who finds ``ahead[q]`` = P(q waiting ahead) on arrival.

    The tagged customer with q ahead moves up at rate ``n mu + q theta`` (a service ends or one
    ahead gives up) and gives up itself at rate theta; from q = 0 it is served at rate n mu.
    Solved by uniformisation: a Poisson(Lambda t) number of steps of the jump chain, summed until
    the Poisson tail is below 1e-14 (exact to that, and cheap: one vector update per step).
    """
    size = len(ahead)
    if size == 0 or t <= 0:
        return 0.0
    move = n * mu + np.arange(size) * theta
    rate = float(move[-1] + theta)
    stay, up = 1.0 - (move + theta) / rate, move / rate
    steps = int(rate * t + 12.0 * math.sqrt(rate * t) + 30)
    weights = poisson.pmf(np.arange(steps + 1), rate * t)
    p, nxt, served, total = ahead.astype(float), np.empty(size), 0.0, 0.0
    up_from = up[1:]
    for k in range(steps + 1):
        total += weights[k] * served
        served += p[0] * up[0]
        np.multiply(p, stay, out=nxt)
        nxt[:-1] += p[1:] * up_from
        p, nxt = nxt, p
    return total + (1.0 - weights.sum()) * served


def erlang_a_figures(
    n: int, arrival_rate: float, mean_handle_s: float, mean_patience_s: float, target_wait_s: float
) -> QueueFigures:
    """Erlang A (M/M/n+M) for ``n`` servers with exponential patience of mean ``mean_patience_s``."""
    if mean_patience_s is None or mean_patience_s <= 0 or math.isinf(mean_patience_s):
        return erlang_c_figures(n, arrival_rate, mean_handle_s, target_wait_s)
    if arrival_rate <= 0:
        return QueueFigures(n, 1.0, 0.0, 0.0, 0.0, 0.0)
    mu, theta, lam = 1.0 / mean_handle_s, 1.0 / mean_patience_s, arrival_rate
    if n <= 0:
        return QueueFigures(0, 0.0, 1.0, mean_patience_s, 1.0, 1.0)
    pi = _birth_death(n, lam, mu, theta)
    waiting = np.arange(len(pi)) - n
    queue = float((pi[n:] * waiting[n:]).sum())
    busy = float((pi * np.minimum(np.arange(len(pi)), n)).sum())
    p_wait = float(pi[n:].sum())
    sl = float(pi[:n].sum()) + _served_within(n, mu, theta, pi[n:], target_wait_s)
    return QueueFigures(n, min(1.0, sl), p_wait, queue / lam, theta * queue / lam, busy / n)


def queue_figures(
    n: int, arrival_rate: float, mean_handle_s: float, target_wait_s: float, mean_patience_s: float | None = None
) -> QueueFigures:
    """Erlang A with a patience, else Erlang C."""
    if mean_patience_s:
        return erlang_a_figures(n, arrival_rate, mean_handle_s, mean_patience_s, target_wait_s)
    return erlang_c_figures(n, arrival_rate, mean_handle_s, target_wait_s)


def servers_needed(
    arrival_rate: float,
    mean_handle_s: float,
    target_wait_s: float,
    target_share: float = 0.8,
    mean_patience_s: float | None = None,
    max_servers: int = 1000,
) -> tuple[int, QueueFigures]:
    """The fewest servers whose service level reaches ``target_share`` (capped at ``max_servers``).

    Returns the servers and their figures; check ``figures.service_level`` when capped.
    """
    if arrival_rate < 0 or mean_handle_s <= 0 or target_wait_s < 0:
        raise ValueError("arrival rate and target wait must be >= 0, handle time > 0")
    if arrival_rate == 0:
        return 0, QueueFigures(0, 1.0, 0.0, 0.0, 0.0, 0.0)
    a = arrival_rate * mean_handle_s

    def figures(n: int) -> QueueFigures:
        return queue_figures(n, arrival_rate, mean_handle_s, target_wait_s, mean_patience_s)

    lo = 1 if mean_patience_s else math.floor(a) + 1  # Erlang C needs n > a
    if lo >= max_servers:
        return max_servers, figures(max_servers)
    # the answer is usually within a few servers of the load: walk from there (fewer evaluations
    # than a bisection over [lo, max_servers]); the service level rises with n
    n = min(max(lo, math.ceil(a)), max_servers)
    fig = figures(n)
    if fig.service_level >= target_share:
        while n > lo:
            below = figures(n - 1)
            if below.service_level < target_share:
                break
            n, fig = n - 1, below
        return n, fig
    while n < max_servers:
        n, fig = n + 1, figures(n + 1)
        if fig.service_level >= target_share:
            break
    return n, fig


# --------------------------------------------------------------------------- what the server calls


@dataclass(frozen=True)
class Staffing:
    """Counters for one interval, with the figures they give; ``met`` is False when capped short."""

    counters: int
    service_level: float
    p_wait: float
    mean_wait_s: float
    p_abandon: float
    met: bool


def staffing(
    arrivals: float,
    interval_minutes: int,
    mean_handle_s: float,
    target_wait_s: float,
    target_share: float = 0.8,
    mean_patience_s: float | None = None,
    max_counters: int = 50,
) -> Staffing:
    """The fewest counters serving ``target_share`` of an interval's customers within ``target_wait_s``.

    ``arrivals`` are expected customers in the interval (Poisson within it, steady state);
    with ``mean_patience_s`` customers give up after an exponential patience (Erlang A),
    without it nobody does (Erlang C). When even ``max_counters`` miss the target,
    returns ``max_counters`` with ``met=False``.
    """
    if interval_minutes <= 0:
        raise ValueError("interval_minutes must be positive")
    rate = arrivals / (interval_minutes * 60.0)
    n, fig = servers_needed(rate, mean_handle_s, target_wait_s, target_share, mean_patience_s, max_counters)
    return Staffing(n, fig.service_level, fig.p_wait, fig.mean_wait_s, fig.p_abandon, fig.service_level >= target_share)


def counters_needed(
    arrivals: float,
    interval_minutes: int,
    mean_handle_s: float,
    target_wait_s: float,
    target_share: float = 0.8,
    mean_patience_s: float | None = None,
    max_counters: int = 50,
) -> int:
    """``staffing(...).counters``: 0 without arrivals, ``max_counters`` when that is not enough."""
    return staffing(
        arrivals, interval_minutes, mean_handle_s, target_wait_s, target_share, mean_patience_s, max_counters
    ).counters
