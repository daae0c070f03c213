"""The queue use cases on the real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from app.bootstrap import bootstrap
from app.domain.errors import Conflict, CounterBusy, HallClosed, IllegalTransition, Invalid, NotFound
from app.services import queue

from ..conftest import FAST_HASH, Clock
from ..world import build_world


@pytest.fixture
def env(database_url):
    clock = Clock()
    rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    world = build_world(rt)
    yield rt, world, clock
    rt.engine.dispose()


def test_numbers_run_per_prefix_and_restart_each_local_day(env):
    rt, w, clock = env
    h = w.one
    labels = [queue.issue_ticket(rt, h.id, h.services[p])["label"] for p in "AABA"]
    assert labels == ["A001", "A002", "B001", "A003"]
    clock.advance(hours=14)  # 10:00 -> 00:00 next day in Shanghai
    assert queue.issue_ticket(rt, h.id, h.services["A"])["label"] == "A001"


def test_numbers_are_per_hall(env):
    rt, w, _ = env
    assert queue.issue_ticket(rt, w.one.id, w.one.services["A"])["label"] == "A001"
    assert queue.issue_ticket(rt, w.two.id, w.two.services["A"])["label"] == "A001"


def test_a_full_service_records_every_step_in_the_history(env):
    rt, w, clock = env
    h = w.one
    issued = queue.issue_ticket(rt, h.id, h.services["A"], mobile="+86 138-0013-8000")
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    clock.advance(minutes=3)
    called = queue.call_next(rt, h.counters[1], h.staff["s1"])["ticket"]
    assert called["label"] == issued["label"] and called["waited_s"] == 180 and called["mobile_tail"] == "8000"
    clock.advance(seconds=20)
    queue.start_service(rt, h.counters[1], h.staff["s1"])
    clock.advance(minutes=2)
    done = queue.finish_service(rt, h.counters[1], h.staff["s1"])["ticket"]
    assert done["state"] == "finished"
    from sqlalchemy import select
    from app.storage.orm import TicketEvent
    with rt.reader() as tx:
        history = tx.session.execute(select(TicketEvent.kind, TicketEvent.duration_s)
                                     .where(TicketEvent.ticket_id == issued["id"]).order_by(TicketEvent.id)).all()
    assert [k for k, _ in history] == ["issued", "called", "serving", "finished"]
    assert history[-1].duration_s == 120


def test_finishing_a_ticket_never_called_is_refused(env):
    rt, w, _ = env
    h = w.one
    queue.issue_ticket(rt, h.id, h.services["A"])
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    with pytest.raises(IllegalTransition):
        queue.finish_service(rt, h.counters[1], h.staff["s1"])


def test_a_counter_cannot_call_while_a_customer_is_at_it(env):
    rt, w, _ = env
    h = w.one
    for _ in range(2):
        queue.issue_ticket(rt, h.id, h.services["A"])
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.call_next(rt, h.counters[1], h.staff["s1"])
    with pytest.raises(CounterBusy):
        queue.call_next(rt, h.counters[1], h.staff["s1"])


def test_closed_counter_cannot_call(env):
    rt, w, _ = env
    with pytest.raises(Conflict):
        queue.call_next(rt, w.one.counters[1])


def test_call_next_with_nobody_waiting_returns_no_ticket(env):
    rt, w, _ = env
    queue.open_counter(rt, w.one.counters[1], w.one.staff["s1"])
    assert queue.call_next(rt, w.one.counters[1])["ticket"] is None


def test_counter_calls_only_its_services(env):
    rt, w, _ = env
    h = w.one
    queue.issue_ticket(rt, h.id, h.services["C"])
    queue.open_counter(rt, h.counters[1], h.staff["s1"])  # serves A only
    assert queue.call_next(rt, h.counters[1])["ticket"] is None
    queue.open_counter(rt, h.counters[3], h.staff["t1"])  # serves B and C
    assert queue.call_next(rt, h.counters[3])["ticket"]["label"] == "C001"


def test_vip_goes_ahead_of_recent_ordinary_tickets_but_not_of_overdue_ones(env):
    rt, w, clock = env
    h = w.one
    old = queue.issue_ticket(rt, h.id, h.services["A"])  # target 10 min
    clock.advance(minutes=11)
    recent = queue.issue_ticket(rt, h.id, h.services["A"])
    vip = queue.issue_ticket(rt, h.id, h.services["A"], tier="vip")
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    order = []
    for _ in range(3):
        order.append(queue.call_next(rt, h.counters[1])["ticket"]["label"])
        queue.finish_service(rt, h.counters[1])
    assert order == [old["label"], vip["label"], recent["label"]]


def test_transfer_keeps_the_customers_place_in_time(env):
    rt, w, clock = env
    h = w.one
    first = queue.issue_ticket(rt, h.id, h.services["A"])
    clock.advance(minutes=1)
    later_b = queue.issue_ticket(rt, h.id, h.services["B"])
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.call_next(rt, h.counters[1])
    clock.advance(minutes=2)
    moved = queue.transfer(rt, h.counters[1], h.services["B"])["ticket"]
    assert moved["state"] == "waiting" and moved["service_id"] == h.services["B"] and moved["label"] == first["label"]
    queue.open_counter(rt, h.counters[3], h.staff["t1"])
    assert queue.call_next(rt, h.counters[3])["ticket"]["label"] == first["label"]  # ahead of B001
    assert later_b["label"] == "B001"


def test_transfer_to_a_counter_is_called_only_there(env):
    rt, w, _ = env
    h = w.one
    queue.issue_ticket(rt, h.id, h.services["A"])
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.open_counter(rt, h.counters[2], h.staff["t1"])
    queue.call_next(rt, h.counters[1])
    queue.transfer(rt, h.counters[1], h.services["B"], to_counter_id=h.counters[3])
    assert queue.call_next(rt, h.counters[2])["ticket"] is None  # serves B, but the ticket is for counter 3
    queue.open_counter(rt, h.counters[3], h.staff["m1"])
    assert queue.call_next(rt, h.counters[3])["ticket"]["label"] == "A001"


def test_a_transfer_note_and_the_counters_before_show_at_the_next_counter(env):
    """Issue 22: the note travels with the ticket; the next counter sees which counters, how long."""
    rt, w, clock = env
    h = w.one
    queue.issue_ticket(rt, h.id, h.services["A"])
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.open_counter(rt, h.counters[2], h.staff["t1"])
    plain = queue.call_next(rt, h.counters[1])["ticket"]
    assert "history" not in plain  # never transferred: nothing more was read
    clock.advance(minutes=3)
    queue.transfer(rt, h.counters[1], h.services["B"], to_counter_id=h.counters[2], note="  已核验身份证，想办家庭套餐 ")
    clock.advance(minutes=1)
    at_two = queue.call_next(rt, h.counters[2])["ticket"]
    assert at_two["history"] == [{"counter_number": 1, "service_id": h.services["A"], "at": at_two["history"][0]["at"],
                                  "served_s": 180, "note": "已核验身份证，想办家庭套餐"}]
    assert queue.counter_state(rt, h.counters[2])["ticket"]["history"] == at_two["history"]  # the console's reload
    clock.advance(minutes=2)
    queue.transfer(rt, h.counters[2], h.services["C"])  # no note this time
    queue.open_counter(rt, h.counters[3], h.staff["m1"])
    at_three = queue.call_next(rt, h.counters[3])["ticket"]
    assert [(x["counter_number"], x["served_s"], x["note"]) for x in at_three["history"]] == [
        (1, 180, "已核验身份证，想办家庭套餐"), (2, 120, None)]


def test_a_paused_counter_calls_no_one_until_resumed_and_closing_ends_the_pause(env):
    """Issue 22: pause with a reason (小休, 业务学习, 系统故障), resume; never with a customer at it."""
    from sqlalchemy import select
    from app.storage.orm import CounterPause

    rt, w, clock = env
    h = w.one
    counter = h.counters[1]
    queue.issue_ticket(rt, h.id, h.services["A"])
    with pytest.raises(Conflict, match="closed"):
        queue.pause_counter(rt, counter, "break", h.staff["s1"])
    queue.open_counter(rt, counter, h.staff["s1"])
    queue.call_next(rt, counter, h.staff["s1"])
    with pytest.raises(CounterBusy):
        queue.pause_counter(rt, counter, "break", h.staff["s1"])  # finish the customer first
    queue.finish_service(rt, counter, h.staff["s1"])
    with pytest.raises(ValueError):
        queue.pause_counter(rt, counter, "lunch", h.staff["s1"])
    paused = queue.pause_counter(rt, counter, "training", h.staff["s1"])
    assert paused["paused"] == "training" and paused["paused_at"] == clock.now.isoformat()
    queue.issue_ticket(rt, h.id, h.services["A"])
    with pytest.raises(Conflict, match="paused") as refused:
        queue.call_next(rt, counter, h.staff["s1"])
    assert refused.value.code == "counter_paused"
    assert queue.counter_state(rt, counter)["counter"]["paused"] == "training"
    assert next(c for c in queue.hall_snapshot(rt, h.id)["counters"] if c["id"] == counter)["paused"] == "training"
    with pytest.raises(Conflict, match="paused already"):
        queue.pause_counter(rt, counter, "break", h.staff["s1"])
    clock.advance(minutes=10)
    assert queue.resume_counter(rt, counter, h.staff["s1"])["paused"] is None
    with pytest.raises(Conflict, match="not paused"):
        queue.resume_counter(rt, counter, h.staff["s1"])
    assert queue.call_next(rt, counter, h.staff["s1"])["ticket"]["label"] == "A002"
    queue.finish_service(rt, counter, h.staff["s1"])
    queue.pause_counter(rt, counter, "system", h.staff["s1"])
    clock.advance(minutes=5)
    queue.close_counter(rt, counter)  # ends the pause too
    with rt.reader() as tx:
        pauses = tx.session.execute(select(CounterPause.reason, CounterPause.started_at, CounterPause.ended_at)
                                    .order_by(CounterPause.id)).all()
    assert [(r, (e - s).total_seconds()) for r, s, e in pauses] == [("training", 600.0), ("system", 300.0)]
    queue.open_counter(rt, counter, h.staff["s1"])
    assert queue.counter_state(rt, counter)["counter"]["paused"] is None


def test_no_show_needs_the_minimum_recalls_and_recalls_are_capped(env):
    rt, w, _ = env
    h = w.one
    queue.issue_ticket(rt, h.id, h.services["A"])
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.call_next(rt, h.counters[1])
    with pytest.raises(Conflict, match="recall"):
        queue.mark_no_show(rt, h.counters[1])
    for expected in (1, 2, 3):
        assert queue.recall(rt, h.counters[1])["ticket"]["recalls"] == expected
    with pytest.raises(Conflict, match="no-show"):
        queue.recall(rt, h.counters[1])
    assert queue.mark_no_show(rt, h.counters[1])["ticket"]["state"] == "no_show"


def test_customer_can_cancel_only_while_waiting(env):
    rt, w, _ = env
    h = w.one
    t = queue.issue_ticket(rt, h.id, h.services["A"])
    assert queue.cancel_ticket(rt, t["public_token"])["state"] == "cancelled"
    with pytest.raises(IllegalTransition):
        queue.cancel_ticket(rt, t["public_token"])
    assert queue.ticket_status(rt, t["public_token"])["state"] == "cancelled"


def test_bad_input_is_refused_and_nothing_is_stored(env):
    rt, w, _ = env
    h = w.one
    with pytest.raises(Invalid) as bad_mobile:
        queue.issue_ticket(rt, h.id, h.services["A"], mobile="12345")
    assert bad_mobile.value.field == "mobile"
    with pytest.raises(Invalid):
        queue.issue_ticket(rt, h.id, h.services["A"], tier="gold")
    with pytest.raises(NotFound) as other_hall:
        queue.issue_ticket(rt, h.id, w.two.services["A"])
    assert other_hall.value.field == "service_id"
    assert queue.issue_ticket(rt, h.id, h.services["A"])["label"] == "A001"  # no number was used up


def test_closed_hall_issues_no_tickets(database_url):
    clock = Clock()  # Monday 10:00 local
    rt = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    w = build_world(rt, hours={"mon": [["11:00", "18:00"]]})
    with pytest.raises(HallClosed):
        queue.issue_ticket(rt, w.one.id, w.one.services["A"])
    clock.advance(hours=1)
    assert queue.issue_ticket(rt, w.one.id, w.one.services["A"])["label"] == "A001"
    rt.engine.dispose()


def test_estimate_uses_open_counters_and_real_handle_times(env):
    rt, w, clock = env
    h = w.one
    for _ in range(4):
        queue.issue_ticket(rt, h.id, h.services["A"])
    assert queue.ticket_status(rt, queue.issue_ticket(rt, h.id, h.services["A"])["public_token"])[
        "estimated_wait_s"] is None  # no counter open
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    fifth = queue.issue_ticket(rt, h.id, h.services["A"])
    assert fifth["people_ahead"] == 5
    # 1 idle counter serving A only, h = 120 s configured: (5 - 1 + 0.5) * 120 = 540
    assert fifth["estimated_wait_s"] == 540
    for _ in range(5):  # five real services of 300 s each
        queue.call_next(rt, h.counters[1])
        clock.advance(seconds=300)
        queue.finish_service(rt, h.counters[1])
    status = queue.ticket_status(rt, fifth["public_token"])
    assert status["people_ahead"] == 0
    # h = (5*300 + 5*120) / 10 = 210; idle counter free -> 0 wait
    assert status["estimated_wait_s"] == 0
    snapshot = queue.hall_snapshot(rt, h.id)
    service_a = next(s for s in snapshot["services"] if s["prefix"] == "A")
    assert service_a["handle_time_s"] == 210 and service_a["waiting"] == 1


def test_tickets_left_open_when_the_day_ends_are_closed_and_free_their_counter(env):
    rt, w, clock = env
    h = w.one
    queue.issue_ticket(rt, h.id, h.services["A"])
    left_waiting = queue.issue_ticket(rt, h.id, h.services["A"])
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.call_next(rt, h.counters[1])
    assert queue.expire_past_days(rt) == 0  # same day: nothing to close
    clock.advance(days=1)
    assert queue.expire_past_days(rt) == 2
    assert queue.ticket_status(rt, left_waiting["public_token"])["state"] == "cancelled"
    today = queue.issue_ticket(rt, h.id, h.services["A"])
    assert queue.call_next(rt, h.counters[1])["ticket"]["label"] == today["label"] == "A001"


def test_many_tickets_statuses_at_once_match_one_by_one(rt, world):
    h = world.one
    tickets = [queue.issue_ticket(rt, h.id, h.services[p], tier=t)
               for p, t in (("A", "ordinary"), ("A", "vip"), ("B", "ordinary"), ("C", "star"), ("A", "ordinary"))]
    queue.open_counter(rt, h.counters[2], h.staff["s1"])
    queue.call_next(rt, h.counters[2], h.staff["s1"])
    tokens = [t["public_token"] for t in tickets]
    together = queue.ticket_statuses(rt, tokens + ["no-such-token"])
    assert set(together) == set(tokens)
    for token in tokens:
        assert together[token] == queue.ticket_status(rt, token)


def test_a_recall_moves_its_ticket_to_the_top_of_the_recent_calls_instead_of_adding_a_line(env):
    rt, w, clock = env
    h = w.one
    first = queue.issue_ticket(rt, h.id, h.services["A"])
    second = queue.issue_ticket(rt, h.id, h.services["A"])
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.open_counter(rt, h.counters[2], h.staff["t1"])
    queue.call_next(rt, h.counters[1])
    clock.advance(seconds=30)
    queue.call_next(rt, h.counters[2])
    clock.advance(seconds=30)
    queue.recall(rt, h.counters[1])
    recent = queue.hall_snapshot(rt, h.id)["recent_calls"]
    assert [(r["label"], r["counter_number"], r["recall"]) for r in recent] == [
        (first["label"], 1, True), (second["label"], 2, False)]


def test_every_call_carries_an_id_of_its_own_and_the_recent_calls_list_it(env):
    """A display that missed a call's delta finds it in the snapshot's recent calls by the id the delta
    carried: a call, a recall and a call after a transfer (at the same counter, its recall count 0
    again) each have their own."""
    rt, w, clock = env
    h = w.one
    seen = []
    rt.bus.subscribe(seen.append)
    first = queue.issue_ticket(rt, h.id, h.services["A"])
    queue.issue_ticket(rt, h.id, h.services["B"])
    queue.open_counter(rt, h.counters[2], h.staff["s1"])
    queue.call_next(rt, h.counters[2])
    clock.advance(seconds=30)
    queue.recall(rt, h.counters[2])
    queue.transfer(rt, h.counters[2], h.services["B"])  # back in line, for B, which counter 2 serves too
    queue.call_ticket(rt, h.counters[2], first["label"])
    calls = [e for e in seen if e.name == "TicketCalled"]
    assert [(e.ticket_id, e.recall) for e in calls] == [(first["id"], 0), (first["id"], 1), (first["id"], 0)]
    ids = [e.call_id for e in calls]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 3 and ids == sorted(ids)
    snap = queue.hall_snapshot(rt, h.id)
    assert snap["recent_calls"] == [
        {"call_id": ids[2], "ticket_id": first["id"], "label": first["label"], "counter_id": h.counters[2],
         "counter_number": 2, "at": snap["at"], "recall": False}]


def test_a_closed_hall_tells_its_kiosks_when_it_opens_and_issues_anyway_when_hours_are_not_enforced(env,
                                                                                                       database_url):
    from app.services import config

    rt, w, clock = env  # Monday 10:00 in Shanghai
    h = w.one
    config.update_hall(rt, h.id, {"opening_hours": {"mon": [["13:00", "18:00"]]}})
    hall = queue.hall_snapshot(rt, h.id)["hall"]
    assert (hall["open_now"], hall["issuing"], hall["opens_at"]) == (False, False, "2026-11-23T13:00:00+08:00")
    with pytest.raises(HallClosed):
        queue.issue_ticket(rt, h.id, h.services["A"])
    demo = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH, enforce_opening_hours=False)
    try:  # ENFORCE_OPENING_HOURS=0: the API issues, so the kiosk offers the services
        hall = queue.hall_snapshot(demo, h.id)["hall"]
        assert (hall["open_now"], hall["issuing"]) == (False, True)
        assert queue.issue_ticket(demo, h.id, h.services["A"])["label"] == "A001"
    finally:
        demo.engine.dispose()


def test_a_counter_is_held_by_who_opened_it_and_a_colleague_acts_there_only_after_taking_it_over(env):
    from sqlalchemy import select

    from app.domain import events as ev
    from app.domain.errors import CounterHeld
    from app.storage.orm import AuditEntry

    rt, w, clock = env
    h = w.one
    seen = []
    rt.bus.subscribe(seen.append)
    counter = h.counters[2]
    queue.open_counter(rt, counter, h.staff["s1"])
    ticket = queue.issue_ticket(rt, h.id, h.services["A"])
    assert queue.call_next(rt, counter, h.staff["s1"])["ticket"]["id"] == ticket["id"]
    for act in (lambda: queue.finish_service(rt, counter, h.staff["t1"]),  # th02 at th01's counter
                lambda: queue.recall(rt, counter, h.staff["t1"]),
                lambda: queue.open_counter(rt, counter, h.staff["t1"])):  # opening it again would take it silently
        with pytest.raises(CounterHeld) as held:
            act()
        assert held.value.detail["holder_id"] == h.staff["s1"] and held.value.detail["holder_name"] == "营业员1"
    assert queue.counter_state(rt, counter)["holder"] == {"id": h.staff["s1"], "name": "营业员1"}

    taken = queue.take_over_counter(rt, counter, h.staff["t1"])
    assert taken["staff_id"] == h.staff["t1"]
    [event] = [e for e in seen if isinstance(e, ev.CounterTakenOver)]
    assert (event.from_staff_id, event.to_staff_id, event.to_name) == (h.staff["s1"], h.staff["t1"], "营业员1b")
    assert queue.finish_service(rt, counter, h.staff["t1"])["ticket"]["state"] == "finished"  # the customer stayed
    with pytest.raises(CounterHeld):  # and now the first one is the colleague
        queue.call_next(rt, counter, h.staff["s1"])
    with rt.reader() as tx:
        entry = tx.session.execute(select(AuditEntry).where(AuditEntry.action == "take_over")).scalar_one()
        assert (entry.entity, entry.entity_id, entry.before, entry.after) == (
            "counter", counter, {"staff_id": h.staff["s1"]}, {"staff_id": h.staff["t1"]})


def test_a_counter_calls_a_given_ticket_out_of_turn_within_the_halls_rules(env):
    """Issue 22 (指定叫号): a customer who stepped out, or a ticket the manager points to."""
    from sqlalchemy import select

    from app.storage.orm import TicketEvent

    rt, w, _ = env
    h = w.one
    queue.issue_ticket(rt, h.id, h.services["A"])  # A001
    wanted = queue.issue_ticket(rt, h.id, h.services["A"])  # A002
    queue.issue_ticket(rt, h.id, h.services["B"])  # B001
    queue.open_counter(rt, h.counters[1], h.staff["s1"])  # serves A only
    called = queue.call_ticket(rt, h.counters[1], " a002 ")  # as typed
    assert called["ticket"]["label"] == "A002" and called["ticket"]["state"] == "called"
    with rt.reader() as tx:
        detail = tx.session.execute(select(TicketEvent.detail).where(
            TicketEvent.ticket_id == wanted["id"], TicketEvent.kind == "called")).scalar_one()
    assert detail == {"out_of_turn": True}  # in the ticket's history
    with pytest.raises(CounterBusy):
        queue.call_ticket(rt, h.counters[1], "A001")
    queue.finish_service(rt, h.counters[1])
    with pytest.raises(Conflict) as other_service:
        queue.call_ticket(rt, h.counters[1], "B001")
    assert other_service.value.code == "not_served_here"
    with pytest.raises(Conflict) as done:
        queue.call_ticket(rt, h.counters[1], "A002")
    assert done.value.code == "not_waiting"
    with pytest.raises(NotFound) as missing:
        queue.call_ticket(rt, h.counters[1], "A999")
    assert missing.value.field == "label"
    assert queue.call_next(rt, h.counters[1])["ticket"]["label"] == "A001"  # the rule goes on from there
