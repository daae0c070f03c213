"""Domain events leave only after the transaction commits."""
import pytest

from app.domain.errors import Invalid
from app.services import queue


@pytest.fixture
def seen(rt):
    events = []
    rt.bus.subscribe(events.append)
    return events


def test_issuing_a_ticket_publishes_ticket_issued_after_commit(rt, world, seen):
    t = queue.issue_ticket(rt, world.one.id, world.one.services["A"], tier="vip")
    assert [(e.name, e.label, e.tier) for e in seen] == [("TicketIssued", t["label"], "vip")]


def test_a_rolled_back_transaction_publishes_nothing(rt, world, seen):
    with rt.uow() as tx:
        from app.domain.events import TicketCancelled

        tx.record(TicketCancelled(world.one.id, 1, "A001"))
        # no commit: leaving the block rolls back
    assert seen == []
    with pytest.raises(Invalid):
        queue.issue_ticket(rt, world.one.id, world.one.services["A"], mobile="bad")
    assert seen == []


def test_a_call_publishes_the_counter_number_for_the_screens(rt, world, seen):
    h = world.one
    queue.issue_ticket(rt, h.id, h.services["A"])
    queue.open_counter(rt, h.counters[2], h.staff["s1"])
    queue.call_next(rt, h.counters[2])
    queue.recall(rt, h.counters[2])
    called = [e for e in seen if e.name == "TicketCalled"]
    assert [(e.label, e.counter_number, e.recall) for e in called] == [("A001", 2, 0), ("A001", 2, 1)]


def test_a_failing_subscriber_does_not_stop_the_queue(rt, world, seen):
    def broken(_):
        raise RuntimeError("screen gateway down")

    rt.bus.subscribe(broken)
    first = queue.issue_ticket(rt, world.one.id, world.one.services["A"])
    assert first["label"] == "A001" and len(seen) == 1


def test_finishing_publishes_service_finished_with_the_handle_time(rt, world, seen, clock):
    h = world.one
    queue.issue_ticket(rt, h.id, h.services["A"], mobile="13800138000")
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.call_next(rt, h.counters[1], h.staff["s1"])
    clock.advance(seconds=95)
    queue.finish_service(rt, h.counters[1], h.staff["s1"])
    done = seen[-1]
    assert done.name == "ServiceFinished" and done.handle_s == 95 and done.has_mobile and done.staff_id == h.staff["s1"]
