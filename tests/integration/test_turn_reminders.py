"""The waiting customer's SMS (issue 22) on the real database (SQLite and PostgreSQL): "your turn
soon" at the service's remind_ahead people ahead, and "you are called" with the counter, each
sent once through the outbox gateway, never in quiet hours or to a number that opted out. The
scheduler's job (services.turn_reminders) is run by hand on the test's clock."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.services import config, remote
from app.services.turn_reminders import send_turn_reminders
from app.storage.orm import SmsOptOut, TurnReminder

from .public_env import all_at_once, make_env, outbox
from ..world import bearer, staff_token

API = "/api/v1"
MOBILES = [f"1380013800{i}" for i in range(10)]


@pytest.fixture
def env(database_url, clock):
    e = make_env(database_url, clock)
    yield e
    e.rt.engine.dispose()


@pytest.fixture
def hall(env):
    h = env.world.halls[0]
    config.update_service(env.rt, h.services["A"], {"remind_ahead": 2})
    return h


def issue(env, hall, mobile: str | None, prefix: str = "A") -> dict:
    body = {"service_id": hall.services[prefix], **({"mobile": mobile} if mobile else {})}
    done = env.client.post(f"{API}/halls/{hall.id}/tickets", json=body, headers=bearer(hall.tokens["kiosk"]))
    assert done.status_code == 201, done.json
    env.clock.advance(seconds=20)
    return done.json


def counter_staff(env, hall) -> dict:
    s1 = bearer(staff_token(env.rt, hall.staff["s1"]))
    assert env.client.post(f"{API}/counters/{hall.counters[1]}/open", json={}, headers=s1).status_code == 200
    return s1


def call_next(env, hall, headers) -> dict:
    called = env.client.post(f"{API}/counters/{hall.counters[1]}/call-next", headers=headers)
    assert called.status_code == 200, called.json
    return called.json["ticket"]


def finish(env, hall, headers) -> None:
    assert env.client.post(f"{API}/counters/{hall.counters[1]}/finish", headers=headers).status_code == 200


def texts(env) -> list[str]:
    return [t for t in outbox(env.rt) if "号" in t]


def test_soon_goes_at_the_services_threshold_and_called_names_the_counter(env, hall):
    tickets = [issue(env, hall, MOBILES[i]) for i in range(5)]
    assert [t["people_ahead"] for t in tickets] == [0, 1, 2, 3, 4]

    assert send_turn_reminders(env.rt) == {"soon": 3, "called": 0, "skipped": 0, "failed": 0}
    assert send_turn_reminders(env.rt) == {"soon": 0, "called": 0, "skipped": 0, "failed": 0}  # once each
    sent = texts(env)
    assert sent[0].startswith("【营业厅1】您的A001号即将叫到，下一位就是您")
    assert "A002号前面还有1位" in sent[1] and "A003号前面还有2位" in sent[2]
    assert not any("A004" in t or "A005" in t for t in sent)

    s1 = counter_staff(env, hall)
    assert call_next(env, hall, s1)["label"] == "A001"
    assert send_turn_reminders(env.rt) == {"soon": 1, "called": 1, "skipped": 0, "failed": 0}
    new = texts(env)[3:]
    assert any(t.startswith("【营业厅1】请A001号到1号窗口办理。Ticket A001: please go to counter 1.") for t in new)
    assert any("A004号前面还有2位" in t for t in new)  # A001 left the queue: A004 is now 2 ahead

    with env.rt.reader() as tx:
        kept = tx.session.execute(select(TurnReminder.kind, TurnReminder.outcome)).all()
    assert sorted(kept) == sorted([("soon", "sent")] * 4 + [("called", "sent")])


def test_nothing_goes_to_an_opted_out_number_nor_in_quiet_hours_nor_without_a_number(env, hall):
    issue(env, hall, MOBILES[0])
    issue(env, hall, None)  # no number: nothing to send, nothing claimed
    with env.rt.uow() as tx:
        tx.session.add(SmsOptOut(number_key=remote.NumberKeys(env.rt, MOBILES[0]).number,
                                 number_masked="138****8000", opted_out_at=env.rt.now()))
        tx.commit()
    assert send_turn_reminders(env.rt) == {"soon": 0, "called": 0, "skipped": 1, "failed": 0}

    env.clock.now = datetime(2026, 11, 23, 14, 30, tzinfo=timezone.utc)  # 22:30 in Shanghai: survey quiet hours
    issue(env, hall, MOBILES[1], prefix="B")
    assert send_turn_reminders(env.rt) == {"soon": 0, "called": 0, "skipped": 1, "failed": 0}
    assert texts(env) == []
    assert send_turn_reminders(env.rt) == {"soon": 0, "called": 0, "skipped": 0, "failed": 0}  # not tried again


def test_a_service_with_remind_ahead_0_sends_no_soon_and_a_stale_call_sends_nothing(env, hall):
    config.update_service(env.rt, hall.services["A"], {"remind_ahead": 0})
    issue(env, hall, MOBILES[0])
    assert send_turn_reminders(env.rt)["soon"] == 0
    s1 = counter_staff(env, hall)
    call_next(env, hall, s1)
    env.clock.advance(minutes=4)  # the job was held up: the customer is at the counter by now
    assert send_turn_reminders(env.rt) == {"soon": 0, "called": 0, "skipped": 0, "failed": 0}
    assert texts(env) == []


def test_the_api_keeps_remind_ahead_per_service_within_0_to_20(env, hall):
    admin = bearer(staff_token(env.rt, env.world.staff["admin"]))
    service = hall.services["B"]
    assert env.client.get(f"{API}/halls/{hall.id}/services", headers=admin).json["services"][1]["remind_ahead"] == 3
    refused = env.client.patch(f"{API}/services/{service}", json={"remind_ahead": 21}, headers=admin)
    assert refused.status_code == 422 and "remind_ahead" in str(refused.json)
    changed = env.client.patch(f"{API}/services/{service}", json={"remind_ahead": 5}, headers=admin)
    assert changed.status_code == 200 and changed.json["remind_ahead"] == 5


def test_two_schedulers_at_once_send_each_reminder_once(env, hall):
    for i in range(4):
        issue(env, hall, MOBILES[i])
    results = all_at_once(3, lambda _: send_turn_reminders(env.rt))
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r["soon"] for r in results) == 3
    sent = texts(env)
    assert len(sent) == 3 and len(set(sent)) == 3


def test_a_long_queue_is_counted_only_up_to_the_threshold_in_each_group(env, hall, monkeypatch):
    """Every 15 s for every hall: the people ahead are counted in queue order within each group, and
    no further once one ticket is past the threshold (those after it are too)."""
    from app.services import queue

    for i in range(10):
        issue(env, hall, MOBILES[i])
    counted = []
    real = queue.people_ahead
    monkeypatch.setattr(queue, "people_ahead", lambda *a: counted.append(real(*a)) or counted[-1])
    assert send_turn_reminders(env.rt)["soon"] == 3  # A001-A003: 0, 1 and 2 ahead
    assert counted == [0, 1, 2, 3]  # A004 is past 2: A005-A010 are not counted
