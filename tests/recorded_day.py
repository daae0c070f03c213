"""A recorded day at one hall: every answer the queue gave, to hold faster code to the same answers.

``play(rt, world, clock)`` runs a seeded day through the services (issues in every tier and
to every service, calls at three counters, recalls, starts, finishes, no-shows, transfers
with and without a target counter, cancellations, a counter closed and opened with other
services) and returns, step by step, what the queue answered: each issue's number, people
ahead and estimated wait; which ticket each call took; the hall's snapshot (waiting and
estimated wait per service); and every waiting ticket's status (people ahead, estimated wait).

``tests/data/recorded_day.json`` holds the answers of the code before the hot path's rewrite
(``python -m tests.recorded_day`` writes it); ``test_recorded_day.py`` replays the day and
compares, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from app.services import queue

RECORDING = Path(__file__).parent / "data" / "recorded_day.json"
STEPS = 400
TIERS = ["ordinary"] * 14 + ["star", "vip", "green"]


def play(rt, world, clock) -> list:
    hall = world.one
    rng = random.Random(20261123)
    staff = {1: hall.staff["s1"], 2: hall.staff["t1"], 3: hall.staff["m1"]}
    services = [hall.services[p] for p in "ABC"]
    waiting_tokens: list[str] = []
    answers: list = []
    for number, counter_id in hall.counters.items():
        queue.open_counter(rt, counter_id, staff[number])
    for step in range(STEPS):
        clock.advance(seconds=rng.randint(5, 90))
        roll = rng.random()
        if roll < 0.45:
            ticket = queue.issue_ticket(rt, hall.id, rng.choice(services), rng.choice(TIERS),
                                        rng.choice([None, None, "13800138000"]))
            waiting_tokens.append(ticket["public_token"])
            answers.append(["issue", ticket["label"], ticket["tier"], ticket["people_ahead"],
                            ticket["estimated_wait_s"]])
        elif roll < 0.5 and waiting_tokens:
            token = waiting_tokens.pop(rng.randrange(len(waiting_tokens)))
            try:
                answers.append(["cancel", queue.cancel_ticket(rt, token)["label"]])
            except Exception as exc:  # noqa: BLE001 - called meanwhile: recorded as the queue answered
                answers.append(["cancel refused", type(exc).__name__])
        else:
            number = rng.choice(list(hall.counters))
            answers.append(_at_counter(rt, hall, number, rng, services))
        if step % 10 == 9:
            snap = queue.hall_snapshot(rt, hall.id)
            answers.append(["snapshot", [[s["prefix"], s["waiting"], s["open_counters"], s["handle_time_s"],
                                          s["estimated_wait_s"]] for s in snap["services"]]])
            statuses = queue.ticket_statuses(rt, waiting_tokens)
            answers.append(["statuses", [[st["label"], st["state"], st["people_ahead"], st["estimated_wait_s"]]
                                         for _, st in sorted(statuses.items(), key=lambda kv: kv[1]["id"])]])
            waiting_tokens = [t for t, st in sorted(statuses.items(), key=lambda kv: kv[1]["id"])
                              if st["state"] == "waiting"]
        if step == 200:  # counter 3 closes and opens again serving A and C only
            state = queue.counter_state(rt, hall.counters[3])
            if state["ticket"] is None:
                queue.close_counter(rt, hall.counters[3])
                queue.open_counter(rt, hall.counters[3], staff[3], [hall.services["A"], hall.services["C"]])
                answers.append(["reopened", 3])
    return answers


def _at_counter(rt, hall, number: int, rng: random.Random, services: list[int]) -> list:
    counter_id = hall.counters[number]
    current = queue.counter_state(rt, counter_id)["ticket"]
    if current is None:
        called = queue.call_next(rt, counter_id)["ticket"]
        return ["call", number, called["label"] if called else None]
    action = rng.random()
    if current["state"] == "called":
        if action < 0.12 and current["recalls"] < 2:
            queue.recall(rt, counter_id)
            return ["recall", number, current["label"]]
        if action < 0.2:
            try:
                queue.mark_no_show(rt, counter_id)
                return ["no-show", number, current["label"]]
            except Exception as exc:  # noqa: BLE001 - recorded as the queue answered
                return ["no-show refused", number, type(exc).__name__]
        queue.start_service(rt, counter_id)
        return ["start", number, current["label"]]
    if action < 0.1:
        to = rng.choice([s for s in services if s != current["service_id"]])
        target = rng.choice([None, hall.counters[1], hall.counters[2]])
        if target == counter_id:
            target = None
        queue.transfer(rt, counter_id, to, target)
        return ["transfer", number, current["label"], to, target]
    queue.finish_service(rt, counter_id)
    return ["finish", number, current["label"]]


if __name__ == "__main__":  # python -m tests.recorded_day: record the current code's answers
    import tempfile

    from app.bootstrap import bootstrap
    from app.cli import migrate

    from .conftest import FAST_HASH, Clock
    from .world import build_world

    path = Path(tempfile.mkdtemp()) / "recorded.sqlite3"
    migrate(f"sqlite:///{path}")
    clock = Clock()
    rt = bootstrap(f"sqlite:///{path}", clock=clock, password_hash_method=FAST_HASH)
    recorded = play(rt, build_world(rt), clock)
    RECORDING.parent.mkdir(exist_ok=True)
    RECORDING.write_text(json.dumps(recorded, ensure_ascii=False, indent=0) + "\n")
    print(f"{len(recorded)} answers written to {RECORDING}")
