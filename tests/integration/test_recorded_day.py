"""The queue answers a recorded day exactly as the code it replaced did (tests/recorded_day.py):
numbers, people ahead, estimated waits, who each call takes, per-service waits on the screens."""
from __future__ import annotations

import json

from app.bootstrap import bootstrap

from ..conftest import FAST_HASH, Clock
from ..recorded_day import RECORDING, play
from ..world import build_world


def test_a_recorded_day_gets_the_same_answers_step_by_step(database_url):
    clock = Clock()
    rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    try:
        answers = json.loads(json.dumps(play(rt, build_world(rt), clock)))
    finally:
        rt.engine.dispose()
    recorded = json.loads(RECORDING.read_text())
    for step, (got, expected) in enumerate(zip(answers, recorded)):
        assert got == expected, f"answer {step}: {got} != {expected}"
    assert len(answers) == len(recorded)
