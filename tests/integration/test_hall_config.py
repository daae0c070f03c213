"""The hot path: configuration kept per process and checked against its version, the caller read in the
use case's own transaction, and few statements per request.

"Another process" is a real one (``python -c`` on the same database): its changes must reach this
process's next ticket or call at once, whether they change the configuration, revoke a token or
deactivate a device.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event, select

from app.bootstrap import bootstrap
from app.domain.errors import Conflict, Forbidden, Unauthorized
from app.services import auth, config, queue
from app.services.auth import Credential
from app.storage.orm import Hall

from ..conftest import FAST_HASH
from ..world import build_world, staff_token

ROOT = Path(__file__).resolve().parents[2]


def version(rt, hall_id: int) -> int:
    with rt.reader() as tx:
        return tx.session.execute(select(Hall.config_version).where(Hall.id == hall_id)).scalar_one()


def in_another_process(database_url: str, code: str) -> None:
    """Run ``code`` with ``rt`` (a runtime of its own on the database) in a separate Python process."""
    script = ("from app.bootstrap import bootstrap\n"
              f"rt = bootstrap({database_url!r}, password_hash_method={FAST_HASH!r})\n" + code)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr


@pytest.fixture
def hot(database_url, clock):
    rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH, enforce_opening_hours=False)
    yield rt, build_world(rt), database_url
    rt.engine.dispose()


# --------------------------------------------------------------------------- versions

def test_every_kind_of_configuration_change_moves_the_hall_version_and_live_state_does_not(hot):
    rt, world, _ = hot
    h = world.one
    seen = [version(rt, h.id)]
    other = version(rt, world.two.id)

    def moved() -> bool:
        seen.append(version(rt, h.id))
        return seen[-1] > seen[-2]

    config.update_hall(rt, h.id, {"name_en": "Hall One"})
    assert moved()
    config.update_service(rt, h.services["B"], {"target_wait_s": 1500})
    assert moved()
    config.update_counter(rt, h.counters[3], {"service_ids": [h.services["C"]]})
    assert moved()
    config.create_counter(rt, h.id, {"number": 9, "name": "9号窗口", "service_ids": [h.services["A"]]})
    assert moved()
    queue.open_counter(rt, h.counters[1], h.staff["s1"])  # live state: who sits where
    queue.issue_ticket(rt, h.id, h.services["A"])
    queue.call_next(rt, h.counters[1])
    assert not moved()
    queue.finish_service(rt, h.counters[1])
    queue.close_counter(rt, h.counters[1])
    assert not moved()
    queue.open_counter(rt, h.counters[1], h.staff["s1"], [h.services["A"], h.services["B"]])  # serves other services
    assert moved()
    assert version(rt, world.two.id) == other  # the other hall never moved


def test_a_service_switched_off_by_another_process_is_refused_at_this_ones_next_ticket(hot):
    rt, world, url = hot
    h = world.one
    queue.issue_ticket(rt, h.id, h.services["B"])  # this process now keeps hall 1's configuration
    assert rt.hall_configs[h.id].services[h.services["B"]].active
    in_another_process(url, f"from app.services import config\n"
                            f"config.update_service(rt, {h.services['B']}, {{'active': False}})")
    with pytest.raises(Conflict) as refused:
        queue.issue_ticket(rt, h.id, h.services["B"])
    assert refused.value.field == "service_id"


def test_a_new_target_wait_set_by_another_process_changes_this_ones_calling_order(hot):
    """Counter 2 serves A and B. A B ticket joined after an A ticket; once B's target is so short that
    it is overdue, it is called first: the calling rule reads the new target."""
    rt, world, url = hot
    h = world.one
    clock = rt.clock
    queue.open_counter(rt, h.counters[2], h.staff["s1"])
    first = queue.issue_ticket(rt, h.id, h.services["A"])
    clock.advance(minutes=5)
    late = queue.issue_ticket(rt, h.id, h.services["B"])
    clock.advance(minutes=1)
    assert queue.counter_state(rt, h.counters[2])["next"][0]["id"] == first["id"]  # kept: A waited longest
    in_another_process(url, f"from app.services import config\n"
                            f"config.update_service(rt, {h.services['B']}, {{'target_wait_s': 30}})")
    assert queue.call_next(rt, h.counters[2])["ticket"]["id"] == late["id"]  # B is now past its target


# --------------------------------------------------------------------------- the caller in the transaction

def test_a_token_revoked_by_another_process_is_refused_at_once(hot):
    rt, world, url = hot
    h = world.one
    token = staff_token(rt, h.staff["s1"])
    caller = Credential(token=token)
    assert queue.open_counter(rt, h.counters[1], None, caller=caller)["staff_id"] == h.staff["s1"]
    in_another_process(url, f"from app.services import auth\nauth.revoke_api_token(rt, {token!r})")
    with pytest.raises(Unauthorized):
        queue.call_next(rt, h.counters[1], caller=caller)


def test_a_device_revoked_by_another_process_issues_nothing_more(hot):
    rt, world, url = hot
    h = world.one
    kiosk = Credential(token=h.tokens["kiosk"])
    assert queue.issue_ticket(rt, h.id, h.services["A"], caller=kiosk)["label"] == "A001"
    with rt.reader() as tx:
        device_id = auth.principal_in(rt, tx.session, kiosk).id
    in_another_process(url, f"from app.services import auth\nauth.deactivate_device(rt, {device_id})")
    with pytest.raises(Unauthorized):
        queue.issue_ticket(rt, h.id, h.services["A"], caller=kiosk)


def test_the_caller_is_checked_in_the_use_case_another_halls_staff_and_kiosks_are_refused(hot):
    rt, world, _ = hot
    one, two = world.one, world.two
    with pytest.raises(Forbidden):
        queue.issue_ticket(rt, one.id, one.services["A"], caller=Credential(token=two.tokens["kiosk"]))
    with pytest.raises(Forbidden):
        queue.open_counter(rt, one.counters[1], None, caller=Credential(token=staff_token(rt, two.staff["s2"])))
    with pytest.raises(Forbidden):  # a display may watch the hall, not issue in it
        queue.issue_ticket(rt, one.id, one.services["A"], caller=Credential(token=one.tokens["display"]))
    with pytest.raises(Unauthorized):
        queue.issue_ticket(rt, one.id, one.services["A"], caller=Credential(token="dv_not-a-token"))


# --------------------------------------------------------------------------- statements

@pytest.fixture
def statements(hot):
    rt = hot[0]
    seen: list[str] = []
    listener = lambda conn, cursor, statement, *args: seen.append(statement.split()[0].upper())  # noqa: E731
    ended = {"commit": lambda conn: seen.append("COMMIT"), "rollback": lambda conn: seen.append("ROLLBACK")}
    event.listen(rt.engine, "before_cursor_execute", listener)
    for name, fn in ended.items():
        event.listen(rt.engine, name, fn)
    yield seen
    event.remove(rt.engine, "before_cursor_execute", listener)
    for name, fn in ended.items():
        event.remove(rt.engine, name, fn)


def transactions(statements: list[str]) -> list[list[str]]:
    """The statements seen, cut where each transaction ended (BEGIN left out)."""
    cut: list[list[str]] = [[]]
    for x in statements:
        if x in ("COMMIT", "ROLLBACK"):
            cut.append([])
        elif x != "BEGIN":
            cut[-1].append(x)
    return [t for t in cut if t]


def test_an_issue_and_a_call_are_short_transactions_that_read_the_caller_inside(hot, statements):
    rt, world, _ = hot
    h = world.one
    kiosk = Credential(token=h.tokens["kiosk"])
    staff = Credential(token=staff_token(rt, h.staff["s1"]))
    queue.open_counter(rt, h.counters[1], None, caller=staff)
    queue.issue_ticket(rt, h.id, h.services["A"], caller=kiosk)  # the configuration is loaded once here
    statements.clear()

    queue.issue_ticket(rt, h.id, h.services["A"], caller=kiosk)
    # write: caller, configuration version, number, ticket, event; read: waits and place, counters, handle times
    if rt.writes_queue:  # SQLite: the reads after the commit, in a reader that holds no writer up
        write, read = transactions(statements)
        assert len(write) <= 5 and write[2:] == ["INSERT", "INSERT", "INSERT"], statements
        assert len(read) == 3 and set(read) == {"SELECT"}, statements
    else:
        assert len(transactions(statements)) == 1 and len(transactions(statements)[0]) <= 8, statements
    statements.clear()

    queue.call_next(rt, h.counters[1], caller=staff)
    work = transactions(statements)
    assert len(work) == 1 and len(work[0]) <= 5, statements  # caller, counter with its customer and version, candidates, claim, event
    statements.clear()

    queue.finish_service(rt, h.counters[1], caller=staff)
    work = transactions(statements)
    assert len(work) == 1, statements
    work = work[0]
    # caller, counter with its customer and version, update, event (a customer who gave a mobile number
    # adds the outbox's row for the survey, in the same transaction: test_outbox)
    assert len(work) <= 4, statements


def test_services_reach_the_kiosk_in_the_halls_order_not_their_creation_order(rt, world):
    """Issue 22: a service added later with an earlier letter showed last at the kiosk."""
    h = world.one
    config.create_service(rt, h.id, {"code": "svc0", "prefix": "0", "name_zh": "业务0"})
    prefixes = [s["prefix"] for s in queue.hall_snapshot(rt, h.id)["services"]]
    assert prefixes == sorted(prefixes) and prefixes[0] == "0"


def test_two_administrators_editing_a_halls_settings_at_once_both_keep_their_edit(database_url, clock):
    """Each edit merges into what is stored in its own transaction, with the hall's row locked: one
    sets the display's notice while the other sets the call text (and likewise for the survey and
    the remote queue), and neither undoes the other's."""
    from app.bootstrap import bootstrap

    from ..conftest import FAST_HASH
    from ..world import build_world
    from .public_env import all_at_once

    rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    try:
        hall_id = build_world(rt).one.id
        for n in range(8):
            edits = [{"screen": {"notice_zh": f"通知 {n}"}, "survey": {"delay_minutes": 5 + n}},
                     {"screen": {"call_zh": f"请{{label}}号到{{counter}}号窗口 {n}"}, "remote_queue": {"enabled": n % 2 == 0}}]
            outcomes = all_at_once(2, lambda i: config.update_hall(rt, hall_id, edits[i]))
            assert all(isinstance(o, dict) for o in outcomes), outcomes
            hall = config.get_hall(rt, hall_id)
            assert hall["screen"]["notice_zh"] == f"通知 {n}" and hall["screen"]["call_zh"].endswith(f" {n}")
            assert hall["survey"]["delay_minutes"] == 5 + n and hall["remote_queue"]["enabled"] is (n % 2 == 0)
    finally:
        rt.engine.dispose()
