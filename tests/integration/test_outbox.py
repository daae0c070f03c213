"""The transactional outbox on SQLite and PostgreSQL: a finish writes its ServiceFinished row in its
own transaction (and a rolled-back finish none), delivery makes the survey once however often it
runs, a failing handler is retried with a backoff and given up after the last attempt, and a process
that dies between the commit and the delivery loses nothing."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text, update

from app import event_handlers
from app.bootstrap import bootstrap
from app.domain import events as ev
from app.domain.errors import Conflict
from app.services import outbox, queue, surveys
from app.storage.db import OUTBOX
from app.storage.orm import OutboxEvent, SmsOutboxMessage, Survey, Ticket

from ..conftest import FAST_HASH
from .test_surveys import DATA_KEY, MOBILE, count, make_app, rows, sapp, srt, sworld  # noqa: F401  (fixtures)


def finish_one(rt, world, mobile: str | None = MOBILE, counter: int = 1) -> int:
    """A customer is issued, called and served at ``counter``; the finish commits, nothing is delivered."""
    hall = world.one
    ticket = queue.issue_ticket(rt, hall.id, hall.services["A"], mobile=mobile)
    try:
        queue.open_counter(rt, hall.counters[counter], hall.staff["s1"])
    except Conflict:
        pass  # already open
    queue.call_next(rt, hall.counters[counter], hall.staff["s1"])
    queue.finish_service(rt, hall.counters[counter], hall.staff["s1"])
    return ticket["id"]


def outbox_rows(rt) -> list[OutboxEvent]:
    return rows(rt, OutboxEvent)


def test_a_finish_writes_one_outbox_row_in_its_own_transaction_and_a_rolled_back_one_none(srt, sworld, clock):
    hall = sworld.one
    ticket = queue.issue_ticket(srt, hall.id, hall.services["A"], mobile=MOBILE)
    queue.open_counter(srt, hall.counters[1], hall.staff["s1"])
    queue.call_next(srt, hall.counters[1], hall.staff["s1"])
    assert outbox_rows(srt) == []  # the issue, the opening and the call have no durable follow-up

    seen_before_commit = []

    def look(session):  # inside the finish's transaction, before it commits
        seen_before_commit.append(session.execute(select(func.count()).select_from(OUTBOX)).scalar_one())

    event.listen(srt.session_factory, "before_commit", look)
    try:
        queue.finish_service(srt, hall.counters[1], hall.staff["s1"])
    finally:
        event.remove(srt.session_factory, "before_commit", look)
    assert seen_before_commit == [1]
    [row] = outbox_rows(srt)
    assert (row.event, row.attempts, row.created_at, row.next_at, row.done_at, row.failed_at) == (
        "ServiceFinished", 0, clock.now, clock.now, None, None)
    assert row.payload == {"hall_id": hall.id, "ticket_id": ticket["id"], "label": "A001",
                           "service_id": hall.services["A"], "counter_id": hall.counters[1],
                           "staff_id": hall.staff["s1"], "handle_s": 0.0, "has_mobile": True}  # no token, no number

    second = queue.issue_ticket(srt, hall.id, hall.services["A"], mobile=MOBILE)
    queue.call_next(srt, hall.counters[1], hall.staff["s1"])

    def fail(session):
        raise RuntimeError("the database went away at the commit")

    event.listen(srt.session_factory, "before_commit", fail)
    try:
        with pytest.raises(RuntimeError):
            queue.finish_service(srt, hall.counters[1], hall.staff["s1"])
    finally:
        event.remove(srt.session_factory, "before_commit", fail)
    assert len(outbox_rows(srt)) == 1  # the rolled-back finish left no row
    assert rows(srt, Ticket, Ticket.id == second["id"])[0].state == "called"  # nor finished the ticket


def test_a_finish_without_a_mobile_number_writes_no_outbox_row(srt, sworld, clock):
    finish_one(srt, sworld, mobile=None)  # no number: no survey can follow, so nothing is written for it
    assert outbox_rows(srt) == []
    finish_one(srt, sworld)
    assert [row.payload["has_mobile"] for row in outbox_rows(srt)] == [True]


def test_delivery_makes_the_survey_once_even_when_the_row_is_delivered_again(srt, sworld, clock):
    ticket_id = finish_one(srt, sworld)
    finish_one(srt, sworld, mobile=None)  # no number: no row, no survey
    assert count(srt, Survey) == 0  # nothing in the counter's request

    assert event_handlers.deliver(srt) == {"delivered": 1, "retrying": 0, "failed": 0, "pruned": 0}
    [survey] = rows(srt, Survey)
    assert (survey.ticket_id, survey.state, survey.send_at) == (ticket_id, "scheduled", clock.now + timedelta(minutes=5))
    assert rows(srt, Ticket, Ticket.id == ticket_id)[0].mobile is None  # the survey holds it, protected
    assert all(r.done_at == clock.now and r.attempts == 1 for r in outbox_rows(srt))

    # a crash after the survey was made, before its row was marked done: once the claim lapses, the
    # row is delivered again
    with srt.uow() as tx:
        tx.session.execute(update(OUTBOX).values(done_at=None))
        tx.commit()
    assert event_handlers.deliver(srt)["delivered"] == 0  # still claimed
    clock.advance(seconds=outbox.CLAIM_FOR.total_seconds())
    assert event_handlers.deliver(srt)["delivered"] == 1
    surveys.survey_after_finish(srt, ev.ServiceFinished(sworld.one.id, ticket_id, "A001", 1, 1, None, 0, True))
    assert count(srt, Survey) == 1
    assert event_handlers.deliver(srt) == {"delivered": 0, "retrying": 0, "failed": 0, "pruned": 0}

    clock.advance(minutes=5)
    assert surveys.dispatch(srt)["sent"] == 1  # the send, as before
    clock.advance(days=7, seconds=1)
    assert event_handlers.deliver(srt)["pruned"] == 1  # delivered rows go after a week
    assert outbox_rows(srt) == []


def test_two_schedulers_delivering_at_once_deliver_each_row_once(srt, sworld, clock, database_url, tmp_path):
    for n in range(4):
        finish_one(srt, sworld, mobile=f"1380013800{n}")
    other = bootstrap(database_url, clock=clock)  # a second scheduler process: its own engine and lock
    surveys.configure(other, {"SMS_DATA_KEY": DATA_KEY}, tmp_path)
    delivered, errors = [], []
    start = threading.Barrier(4)

    def run(rt):
        try:
            start.wait()
            delivered.append(event_handlers.deliver(rt)["delivered"])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=run, args=(rt,)) for rt in (srt, srt, other, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        other.engine.dispose()
    assert not errors, errors
    assert sum(delivered) == 4 and count(srt, Survey) == 4
    assert {r.attempts for r in outbox_rows(srt)} == {1}


def test_a_failing_handler_is_retried_with_a_backoff_and_failed_after_the_last_attempt(srt, sworld, clock, caplog):
    finish_one(srt, sworld)
    failures = {"left": 2}

    def flaky(rt, evt):  # fails twice, then makes the survey
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError(f"gateway down while surveying {MOBILE}")  # its text never reaches the log
        surveys.survey_after_finish(rt, evt)

    handlers = {ev.ServiceFinished: (flaky,)}
    caplog.set_level(logging.INFO)
    assert outbox.deliver(srt, handlers)["retrying"] == 1
    [row] = outbox_rows(srt)
    assert (row.attempts, row.next_at, row.done_at) == (1, clock.now + timedelta(seconds=60), None)
    assert row.last_error.startswith("ConnectionError at test_outbox.py:")
    clock.advance(seconds=59)
    assert outbox.deliver(srt, handlers)["retrying"] == 0  # not due yet
    clock.advance(seconds=1)
    assert outbox.deliver(srt, handlers)["retrying"] == 1
    assert outbox_rows(srt)[0].next_at == clock.now + timedelta(seconds=300)  # the backoff grows
    clock.advance(seconds=300)
    assert outbox.deliver(srt, handlers)["delivered"] == 1
    assert count(srt, Survey) == 1 and outbox_rows(srt)[0].attempts == 3

    finish_one(srt, sworld)

    def broken(rt, evt):
        raise ValueError(f"no survey for {MOBILE}")

    given_up = {"failed": 0}
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        done = outbox.deliver(srt, {ev.ServiceFinished: (broken,)})
        given_up["failed"] += done["failed"]
        if attempt < outbox.MAX_ATTEMPTS:
            assert done == {"delivered": 0, "retrying": 1, "failed": 0, "pruned": 0}, attempt
            clock.advance(seconds=outbox.BACKOFF_S[attempt - 1])
    assert given_up["failed"] == 1
    last = outbox_rows(srt)[-1]
    assert (last.attempts, last.failed_at, last.done_at) == (outbox.MAX_ATTEMPTS, clock.now, None)
    clock.advance(days=30)
    assert outbox.deliver(srt, {ev.ServiceFinished: (broken,)})["failed"] == 0  # given up: never again
    assert outbox.pending(srt) == {"pending": 0, "failed": 1}
    assert "ServiceFinished" in caplog.text and "given up" in caplog.text
    assert MOBILE not in caplog.text and MOBILE[-4:] not in caplog.text


def test_a_crash_between_the_commit_and_the_delivery_loses_nothing(database_url, clock, tmp_path):
    first = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    make_app(first)
    from ..world import build_world

    world = build_world(first)
    ticket_id = finish_one(first, world)
    first.engine.dispose()  # the process dies: the finish committed, its follow-up never ran

    again = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)  # a fresh process
    try:
        make_app(again)
        assert event_handlers.deliver(again)["delivered"] == 1
        assert rows(again, Survey)[0].ticket_id == ticket_id
        clock.advance(minutes=5)
        assert surveys.dispatch(again)["sent"] == 1
        assert count(again, SmsOutboxMessage) == 1
    finally:
        again.engine.dispose()


def test_a_delivery_that_died_holding_its_rows_is_delivered_again_when_the_claim_lapses(srt, sworld, clock):
    finish_one(srt, sworld)
    with srt.uow() as tx:  # claimed (an attempt counted), then the process died before running the handler
        tx.session.execute(text("UPDATE event_outbox SET attempts = 1"))
        tx.session.execute(update(OUTBOX).values(next_at=clock.now + outbox.CLAIM_FOR))
        tx.commit()
    assert event_handlers.deliver(srt)["delivered"] == 0
    clock.advance(seconds=outbox.CLAIM_FOR.total_seconds())
    assert event_handlers.deliver(srt)["delivered"] == 1 and count(srt, Survey) == 1
    assert outbox_rows(srt)[0].attempts == 2


def test_what_follows_by_time_names_the_schedulers_jobs(app):
    from app import scheduler

    jobs = {job.id for job in scheduler.build_scheduler(app).get_jobs()}
    assert set(event_handlers.FOLLOWS_BY_TIME) <= jobs


def test_the_migration_queues_the_finished_tickets_the_survey_poll_had_yet_to_reach(srt, sworld, clock, database_url):
    from alembic import command

    from app.cli import alembic_config

    waiting = finish_one(srt, sworld)  # finished before the upgrade: the old job would have surveyed it
    surveyed = finish_one(srt, sworld, mobile="13900139000")
    event_handlers.deliver(srt)
    finish_one(srt, sworld, mobile=None)
    with srt.uow() as tx:  # the survey of the first was not made yet when the old version stopped
        tx.session.execute(text("DELETE FROM surveys WHERE ticket_id = :t"), {"t": waiting})
        tx.session.execute(text("UPDATE tickets SET mobile = :m WHERE id = :t"), {"m": MOBILE, "t": waiting})
        tx.commit()
    srt.engine.dispose()
    command.downgrade(alembic_config(database_url), "0022")
    command.upgrade(alembic_config(database_url), "0023")

    [row] = outbox_rows(srt)
    closed_at = rows(srt, Ticket, Ticket.id == waiting)[0].closed_at
    assert (row.event, row.attempts, row.created_at, row.next_at) == ("ServiceFinished", 0, closed_at, closed_at)
    assert (row.payload["ticket_id"], row.payload["counter_id"], row.payload["has_mobile"]) == (
        waiting, sworld.one.counters[1], True)
    assert event_handlers.deliver(srt)["delivered"] == 1
    assert {s.ticket_id for s in rows(srt, Survey)} == {waiting, surveyed}


def test_the_delivery_job_reports_what_is_pending_and_what_was_given_up(srt, sworld, sapp, clock, monkeypatch):
    from app import scheduler

    from .test_metrics import scrape, value

    monkeypatch.setattr(scheduler, "_app", sapp)
    finish_one(srt, sworld)
    finish_one(srt, sworld)
    with srt.uow() as tx:  # one of them given up after its last attempt
        first = tx.session.execute(select(func.min(OUTBOX.c.id))).scalar_one()
        tx.session.execute(update(OUTBOX).where(OUTBOX.c.id == first).values(failed_at=clock.now))
        tx.commit()
    scheduler.deliver_events()
    samples = scrape(sapp.test_client())
    assert value(samples, "hallq_outbox_events", state="failed") == 1
    assert value(samples, "hallq_outbox_events", state="pending") == 0  # the other one, delivered
    assert count(srt, Survey) == 1
