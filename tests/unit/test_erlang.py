"""Erlang B, C and A against published figures and against independent computations.

Every numeric expectation below is checked twice: against the published figure named in
the comment, and against a second computation in this file that shares no code with
``forecasting.erlang`` (exact rational arithmetic, the closed form with the incomplete
gamma function, a dense linear solve plus a matrix exponential).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.special import gammainc, gammaln

from forecasting.erlang import (
    counters_needed,
    erlang_a_figures,
    erlang_b,
    erlang_c,
    erlang_c_figures,
    erlang_c_mean_wait,
    erlang_c_service_level,
    servers_needed,
    staffing,
)


# --------------------------------------------------------------------------- independent references

def exact_erlang_b(n: int, a: Fraction) -> Fraction:
    """The textbook formula in exact rationals: (a^n / n!) / sum_k a^k / k!."""
    return (a**n / math.factorial(n)) / sum(a**k / math.factorial(k) for k in range(n + 1))


def exact_erlang_c(n: int, a: Fraction) -> Fraction:
    top = a**n / math.factorial(n) * Fraction(n) / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def closed_form_erlang_a(n: int, lam: float, h: float, patience: float) -> tuple[float, float]:
    """P(wait > 0) and P(abandon) of M/M/n+M in closed form.

    Mandelbaum & Zeltyn, "The Palm/Erlang-A queue, with applications to call centers" (2007),
    after Garnett, Mandelbaum & Reiman (2002): with x = n mu / theta, y = lambda / theta,
    A(x, y) = x e^y y^-x gamma(x, y) (lower incomplete gamma) and E = Erlang B(n, lambda / mu),
    P(W > 0) = A E / (1 + (A - 1) E) and P(Ab | W > 0) = 1 / (rho A) + 1 - 1 / rho.
    """
    mu, theta = 1 / h, 1 / patience
    x, y = n * mu / theta, lam / theta
    big_a = math.exp(math.log(x) + y - x * math.log(y) + gammaln(x) + math.log(gammainc(x, y)))
    e = float(exact_erlang_b(n, Fraction(lam / mu)))
    p_wait = big_a * e / (1 + (big_a - 1) * e)
    rho = lam / (n * mu)
    return p_wait, p_wait * (1 / (rho * big_a) + 1 - 1 / rho)


def brute_force_erlang_a(n: int, lam: float, h: float, patience: float, t: float, size: int = 80) -> dict:
    """Dense generator of the truncated chain, solved as a linear system; the service level from the
    tagged customer's dense generator and a matrix exponential (Pade), not uniformisation."""
    mu, theta = 1 / h, 1 / patience
    q = np.zeros((size, size))
    for k in range(size - 1):
        q[k, k + 1] = lam
        q[k + 1, k] = min(k + 1, n) * mu + max(k + 1 - n, 0) * theta
    np.fill_diagonal(q, -q.sum(axis=1))
    system = np.vstack([q.T, np.ones(size)])
    pi = np.linalg.lstsq(system, np.append(np.zeros(size), 1.0), rcond=None)[0]
    ahead = pi[n:]
    m = len(ahead)

    g = np.zeros((m + 2, m + 2))  # 0..m-1: customers ahead; m: served; m + 1: gave up
    for j in range(m):
        move = n * mu + j * theta
        g[j, j - 1 if j else m] = move
        g[j, m + 1] = theta
        g[j, j] = -(move + theta)
    end = np.append(ahead, [0.0, 0.0]) @ expm(g * t)
    queue = float((ahead * np.arange(m)).sum())
    return {"p_wait": float(ahead.sum()), "sl": float(pi[:n].sum() + end[m]),
            "mean_wait": queue / lam, "p_abandon": theta * queue / lam}


# --------------------------------------------------------------------------- Erlang B and C

def test_erlang_b_matches_the_table_entry_for_ten_circuits_at_one_percent():
    # Erlang B tables: 10 circuits carry 4.46 erlangs at 1 % blocking (exact: 0.009985).
    assert erlang_b(10, 4.46) == pytest.approx(float(exact_erlang_b(10, Fraction("4.46"))), rel=1e-12)
    assert erlang_b(10, 4.46) == pytest.approx(0.01, abs=2e-5)


@pytest.mark.parametrize("n,a", [(1, Fraction(1, 2)), (5, Fraction(1)), (10, Fraction(5)), (30, Fraction(25))])
def test_erlang_b_recursion_equals_the_exact_formula(n, a):
    assert erlang_b(n, float(a)) == pytest.approx(float(exact_erlang_b(n, a)), rel=1e-12)


def test_erlang_b_stays_finite_where_factorials_would_overflow():
    b = erlang_b(1000, 950.0)
    assert 0 < b < 1 and math.isfinite(b)


def test_erlang_c_matches_the_call_centre_helper_worked_example():
    # callcentrehelper.com, "Erlang C formula made simple": 100 calls per 30 min, 180 s handle,
    # 11 agents (10 erlangs): probability of waiting 68.21 %.
    assert erlang_c(11, 10.0) == pytest.approx(float(exact_erlang_c(11, Fraction(10))), rel=1e-12)
    assert round(erlang_c(11, 10.0), 4) == 0.6821


def test_erlang_c_matches_the_westbay_worked_example():
    # Westbay Engineers' Erlang C worked example: 360 calls per half hour, 4 min calls, 55 agents,
    # 15 s target: P(wait) 0.2387, mean wait (ASA) 8.18 s, service level 84.6 %.
    c = float(exact_erlang_c(55, Fraction(48)))
    assert erlang_c(55, 48.0) == pytest.approx(c, rel=1e-12)
    assert erlang_c_mean_wait(55, 48.0, 240) == pytest.approx(c * 240 / 7, rel=1e-12)
    assert erlang_c_service_level(55, 48.0, 15, 240) == pytest.approx(1 - c * math.exp(-7 * 15 / 240), rel=1e-12)
    assert (round(c, 4), round(c * 240 / 7, 2)) == (0.2387, 8.18)


def test_an_overloaded_erlang_c_queue_always_waits_and_never_meets_a_target():
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c_service_level(10, 12.0, 20, 180) == 0.0
    assert erlang_c_mean_wait(10, 12.0, 180) == math.inf


def test_servers_needed_is_the_first_staffing_that_meets_the_target():
    # same example: 12 agents give 64 %, 13 give 79.6 %, 14 give 88.8 % answered within 20 s
    n, fig = servers_needed(100 / 1800, 180, 20, 0.8)
    assert n == 14 and fig.service_level >= 0.8
    assert erlang_c_service_level(13, 10.0, 20, 180) < 0.8


# --------------------------------------------------------------------------- Erlang A

@pytest.mark.parametrize("n,lam,h,patience", [(5, 1 / 60, 400, 60), (55, 0.2, 240, 300), (3, 0.02, 200, 100),
                                              (10, 0.05, 300, 900)])
def test_erlang_a_waits_and_abandons_as_the_closed_form_says(n, lam, h, patience):
    fig = erlang_a_figures(n, lam, h, patience, 20)
    p_wait, p_abandon = closed_form_erlang_a(n, lam, h, patience)
    assert fig.p_wait == pytest.approx(p_wait, rel=1e-9)
    assert fig.p_abandon == pytest.approx(p_abandon, rel=1e-9)


@pytest.mark.parametrize("n,lam,h,patience,t", [(5, 1 / 60, 400, 60, 30), (3, 0.02, 200, 100, 60),
                                                (8, 0.03, 300, 600, 120)])
def test_erlang_a_agrees_with_a_brute_force_birth_death_solution(n, lam, h, patience, t):
    fig = erlang_a_figures(n, lam, h, patience, t)
    ref = brute_force_erlang_a(n, lam, h, patience, t)
    assert fig.p_wait == pytest.approx(ref["p_wait"], rel=1e-8)
    assert fig.mean_wait_s == pytest.approx(ref["mean_wait"], rel=1e-8)
    assert fig.p_abandon == pytest.approx(ref["p_abandon"], rel=1e-8)
    assert fig.service_level == pytest.approx(ref["sl"], abs=1e-7)


def test_erlang_a_with_endless_patience_is_erlang_c():
    a_fig = erlang_a_figures(55, 0.2, 240, 1e9, 15)
    c_fig = erlang_c_figures(55, 0.2, 240, 15)
    assert a_fig.p_wait == pytest.approx(c_fig.p_wait, rel=1e-6)
    assert a_fig.service_level == pytest.approx(c_fig.service_level, rel=1e-6)
    assert a_fig.mean_wait_s == pytest.approx(c_fig.mean_wait_s, rel=1e-6)
    assert a_fig.p_abandon < 1e-7


def test_erlang_a_stays_finite_when_the_load_exceeds_the_servers():
    fig = erlang_a_figures(5, 0.05, 300, 120, 60)  # 15 erlangs on 5 servers
    assert 0.6 < fig.p_abandon < 1 and fig.p_wait > 0.95 and math.isfinite(fig.mean_wait_s)
    assert fig.p_abandon == pytest.approx(closed_form_erlang_a(5, 0.05, 300, 120)[1], rel=1e-9)


def test_impatience_lowers_the_counters_needed_but_each_abandon_counts_as_a_miss():
    without = servers_needed(0.2, 240, 15, 0.8)[0]
    with_patience = servers_needed(0.2, 240, 15, 0.8, mean_patience_s=300)[0]
    assert with_patience <= without
    # a very impatient crowd: abandons count against the service level, so a target of 99 % needs more
    assert servers_needed(0.2, 240, 15, 0.99, mean_patience_s=10)[0] > 48


# --------------------------------------------------------------------------- the server's entry point

def test_no_arrivals_need_no_counters():
    assert counters_needed(0, 15, 300, 600) == 0
    assert staffing(0, 15, 300, 600, mean_patience_s=900).met


def test_counters_needed_converts_an_interval_count_into_a_rate():
    # 100 per 30 min = the call centre helper example: 14 agents
    assert counters_needed(100, 30, 180, 20, 0.8) == 14
    assert counters_needed(50, 15, 180, 20, 0.8) == 14


def test_a_cap_too_low_returns_the_cap_and_says_the_target_is_missed():
    result = staffing(100, 30, 180, 20, 0.8, max_counters=12)
    assert result.counters == 12 and not result.met and result.service_level < 0.8
    assert counters_needed(100, 30, 180, 20, 0.8, max_counters=12) == 12


def test_counters_needed_with_patience_uses_erlang_a():
    result = staffing(60, 15, 300, 300, 0.8, mean_patience_s=600)
    assert result.met and result.p_abandon > 0
    fig = erlang_a_figures(result.counters - 1, 60 / 900, 300, 600, 300)
    assert fig.service_level < 0.8


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        counters_needed(-1, 15, 300, 600)
    with pytest.raises(ValueError):
        counters_needed(10, 15, 0, 600)
