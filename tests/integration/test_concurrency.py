"""Concurrency: kiosks, counters and consoles colliding, from threads and from processes, on both databases.

What README "Concurrency" promises: two kiosks never issue one number, two counters
never call one ticket, a counter never has two customers, and of two devices acting
on one ticket exactly one wins (the other gets a 409). Threads are lined up on a
``threading.Barrier`` (processes on a ``multiprocessing`` one) so that they really
start at the same instant; the assertions are on what the database holds afterwards.
"""
from __future__ import annotations

import multiprocessing
import queue as stdlib_queue
import threading
from collections import Counter as Tally

import pytest
from sqlalchemy import func, select

from app.bootstrap import bootstrap
from app.domain.errors import Conflict, CounterBusy
from app.services import queue
from app.storage.orm import Ticket, TicketEvent

from ..conftest import FAST_HASH, Clock
from ..world import build_world
from . import concurrency_worker

JOIN_TIMEOUT_S = 120
CLOSING_KINDS = ("finished", "no_show", "transferred", "cancelled")


# --------------------------------------------------------------------------- helpers

def all_at_once(n: int, action):
    """Run ``action(i)`` in ``n`` threads released together by a barrier.

    Returns one ``(ok, value)`` pair per thread: the return value, or the exception raised.
    """
    barrier = threading.Barrier(n, timeout=JOIN_TIMEOUT_S)
    outcomes: list[tuple[bool, object] | None] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = (True, action(i))
        except BaseException as exc:  # noqa: BLE001 - examined by the test
            outcomes[i] = (False, exc)

    threads = [threading.Thread(target=run, args=(i,), name=f"device-{i}", daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return outcomes


def raised(outcomes) -> list[BaseException]:
    return [value for ok, value in outcomes if not ok]


def returned(outcomes) -> list:
    return [value for ok, value in outcomes if ok]


def tickets(rt, hall_id: int) -> list:
    """The hall's tickets as plain rows (id, number, label, state, counter_id), by number."""
    with rt.reader() as tx:
        return tx.session.execute(
            select(Ticket.id, Ticket.number, Ticket.label, Ticket.state, Ticket.counter_id)
            .where(Ticket.hall_id == hall_id).order_by(Ticket.number)
        ).all()


def events(rt, hall_id: int, kind: str | None = None) -> list:
    """The hall's ticket history as plain rows (ticket_id, kind, counter_id), oldest first."""
    with rt.reader() as tx:
        query = (select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.counter_id)
                 .where(TicketEvent.hall_id == hall_id).order_by(TicketEvent.id))
        if kind is not None:
            query = query.where(TicketEvent.kind == kind)
        return tx.session.execute(query).all()


def at_counter(rt, counter_id: int) -> int:
    """How many tickets the database holds at a counter (called or serving)."""
    with rt.reader() as tx:
        return tx.session.execute(
            select(func.count()).select_from(Ticket)
            .where(Ticket.counter_id == counter_id, Ticket.state.in_(["called", "serving"]))
        ).scalar_one()


def waiting(rt, hall_id: int) -> int:
    with rt.reader() as tx:
        return tx.session.execute(
            select(func.count()).select_from(Ticket).where(Ticket.hall_id == hall_id, Ticket.state == "waiting")
        ).scalar_one()


def unexpected(outcomes, *allowed: type[BaseException]) -> list[str]:
    return [f"{type(e).__module__}.{type(e).__name__}: {e}" for e in raised(outcomes) if not isinstance(e, allowed)]


@pytest.fixture
def make_env(database_url):
    """``make_env(counters=...)`` -> (runtime, hall): a fresh world on the parametrized database."""
    runtimes = []

    def make(counters: dict[int, str] | None = None):
        rt = bootstrap(database_url, clock=Clock(), password_hash_method=FAST_HASH)
        runtimes.append(rt)
        return rt, build_world(rt, counters=counters).one

    yield make
    for rt in runtimes:
        rt.engine.dispose()


# --------------------------------------------------------------------------- kiosks

def test_sixteen_kiosks_issuing_at_once_never_issue_the_same_number_and_leave_no_gap(make_env):
    rt, hall = make_env()
    kiosks, per_kiosk = 16, 25
    service = hall.services["A"]

    outcomes = all_at_once(kiosks, lambda _: [queue.issue_ticket(rt, hall.id, service) for _ in range(per_kiosk)])

    assert raised(outcomes) == []
    issued = [t for batch in returned(outcomes) for t in batch]
    total = kiosks * per_kiosk
    assert len({t["label"] for t in issued}) == total
    stored = tickets(rt, hall.id)
    assert [t.number for t in stored] == list(range(1, total + 1))
    assert {t.label for t in stored} == {t["label"] for t in issued}
    assert all(t.state == "waiting" for t in stored)
    assert Tally(e.ticket_id for e in events(rt, hall.id, "issued")) == Tally({t.id: 1 for t in stored})


# --------------------------------------------------------------------------- counters

def test_counters_calling_at_the_same_instant_call_every_ticket_exactly_once(make_env):
    n_counters, n_tickets = 6, 120
    rt, hall = make_env(counters={n: "A" for n in range(1, n_counters + 1)})
    for counter_id in hall.counters.values():
        queue.open_counter(rt, counter_id, None)
    for _ in range(n_tickets):
        queue.issue_ticket(rt, hall.id, hall.services["A"])
    counter_ids = list(hall.counters.values())

    def serve_until_nobody_waits(i: int) -> list[int]:
        counter_id, served = counter_ids[i], []
        while True:
            ticket = queue.call_next(rt, counter_id)["ticket"]
            if ticket is None:
                # PostgreSQL skips tickets other counters are claiming right now; stop once none is left at all.
                if waiting(rt, hall.id) == 0:
                    return served
                continue
            assert at_counter(rt, counter_id) == 1
            served.append(ticket["id"])
            queue.finish_service(rt, counter_id, ticket_id=ticket["id"])

    outcomes = all_at_once(n_counters, serve_until_nobody_waits)

    assert unexpected(outcomes) == []
    served = [ticket_id for batch in returned(outcomes) for ticket_id in batch]
    stored = tickets(rt, hall.id)
    assert sorted(served) == sorted(t.id for t in stored)  # every ticket served, by one counter only
    assert {t.state for t in stored} == {"finished"}
    called = events(rt, hall.id, "called")
    assert Tally(e.ticket_id for e in called) == Tally({t.id: 1 for t in stored})
    finished = {e.ticket_id: e.counter_id for e in events(rt, hall.id, "finished")}
    assert {e.ticket_id: e.counter_id for e in called} == finished  # finished where it was called
    assert len({e.counter_id for e in called}) > 1  # the work really was shared


def test_a_double_click_on_call_next_calls_one_ticket_and_tells_the_other_click_the_counter_is_busy(make_env):
    rt, hall = make_env()
    counter_id, clicks, rounds = hall.counters[1], 3, 12
    for _ in range(clicks * rounds):  # plenty waiting: a losing click could otherwise take another ticket
        queue.issue_ticket(rt, hall.id, hall.services["A"])
    queue.open_counter(rt, counter_id, hall.staff["s1"])

    for round_no in range(rounds):
        outcomes = all_at_once(clicks, lambda _: queue.call_next(rt, counter_id, hall.staff["s1"]))

        assert unexpected(outcomes, CounterBusy) == [], f"round {round_no}"
        called = [r["ticket"] for r in returned(outcomes) if r["ticket"] is not None]
        assert len(called) == 1, f"round {round_no}: {len(called)} clicks called a ticket"
        assert at_counter(rt, counter_id) == 1
        queue.finish_service(rt, counter_id, ticket_id=called[0]["id"])

    assert len(events(rt, hall.id, "called")) == rounds
    assert waiting(rt, hall.id) == clicks * rounds - rounds


def test_closing_a_counter_while_it_calls_never_leaves_a_customer_at_a_closed_counter(make_env):
    rt, hall = make_env()
    counter_id, rounds = hall.counters[1], 12

    for round_no in range(rounds):
        queue.issue_ticket(rt, hall.id, hall.services["A"])
        queue.open_counter(rt, counter_id, hall.staff["s1"])

        outcomes = all_at_once(2, lambda i: (queue.call_next, queue.close_counter)[i](rt, counter_id))

        assert unexpected(outcomes, Conflict) == [], f"round {round_no}"
        state = queue.counter_state(rt, counter_id)
        assert state["counter"]["is_open"] or state["ticket"] is None, (
            f"round {round_no}: counter closed with {state['ticket']['label']} called to it; "
            f"call_next -> {outcomes[0][1]!r}, close_counter -> {outcomes[1][1]!r}")
        assert len(returned(outcomes)) == 1, f"round {round_no}: both or neither succeeded: {outcomes}"
        if state["ticket"] is not None:
            queue.finish_service(rt, counter_id)


# --------------------------------------------------------------------------- one ticket, two devices

RACES = {
    "finish-finish": ("finish", "finish"),
    "finish-no_show": ("finish", "no_show"),
    "finish-transfer": ("finish", "transfer"),
    "no_show-transfer": ("no_show", "transfer"),
    "transfer-transfer": ("transfer", "transfer"),
}


@pytest.mark.parametrize("race", RACES.values(), ids=RACES.keys())
def test_of_two_devices_closing_one_called_ticket_exactly_one_wins_and_the_other_gets_409(make_env, race):
    rt, hall = make_env()
    counter_id, rounds = hall.counters[1], 8
    queue.open_counter(rt, counter_id, hall.staff["s1"])
    actions = {
        "finish": lambda: queue.finish_service(rt, counter_id),
        "no_show": lambda: queue.mark_no_show(rt, counter_id),
        "transfer": lambda: queue.transfer(rt, counter_id, hall.services["B"]),  # counter 1 does not serve B
    }

    for round_no in range(rounds):
        ticket_id = queue.issue_ticket(rt, hall.id, hall.services["A"])["id"]
        assert queue.call_next(rt, counter_id)["ticket"]["id"] == ticket_id
        queue.recall(rt, counter_id)  # so that no-show is allowed

        outcomes = all_at_once(len(race), lambda i: actions[race[i]]())

        assert unexpected(outcomes, Conflict) == [], f"round {round_no}"
        assert len(returned(outcomes)) == 1, f"round {round_no}: {len(returned(outcomes))} devices won"
        history = [e.kind for e in events(rt, hall.id) if e.ticket_id == ticket_id]
        assert sum(kind in CLOSING_KINDS for kind in history) == 1, f"round {round_no}: {history}"
        assert at_counter(rt, counter_id) == 0


# --------------------------------------------------------------------------- processes

def test_kiosks_and_counters_in_separate_processes_never_share_a_number_or_a_ticket(make_env, database_url):
    n_procs, rounds = 4, 30
    rt, hall = make_env(counters={n: "A" for n in range(1, n_procs + 1)})
    counter_ids = list(hall.counters.values())
    for counter_id in counter_ids:
        queue.open_counter(rt, counter_id, None)

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n_procs)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=concurrency_worker.kiosk_and_counter, name=f"hall-worker-{i}",
                    args=(i, database_url, hall.id, hall.services["A"], counter_ids[i], rounds, barrier, results))
        for i in range(n_procs)
    ]
    for p in procs:
        p.start()
    reports = []
    try:
        for _ in procs:
            reports.append(results.get(timeout=JOIN_TIMEOUT_S))
    except stdlib_queue.Empty:
        pytest.fail(f"workers did not report in time; got {reports}")
    finally:
        for p in procs:
            p.join(JOIN_TIMEOUT_S)
            if p.is_alive():
                p.kill()
                p.join()

    errors = [r for r in reports if r[0] != "ok"]
    assert errors == [], "\n".join(r[2] for r in errors)
    issued = [label for r in reports for label in r[2]]
    served = [ticket_id for r in reports for ticket_id in r[3]]
    total = n_procs * rounds
    assert len(set(issued)) == total
    stored = tickets(rt, hall.id)
    assert [t.number for t in stored] == list(range(1, total + 1))
    assert sorted(served) == sorted(t.id for t in stored)
    assert {t.state for t in stored} == {"finished"}
    assert Tally(e.ticket_id for e in events(rt, hall.id, "called")) == Tally({t.id: 1 for t in stored})
