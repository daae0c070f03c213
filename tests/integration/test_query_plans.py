"""The hot path's statements are served by the indexes meant for them, on both databases.

A plan that reads a whole range and sorts it is correct and slow, so only a plan test notices it:
the last handle times of a service once read every finished ticket of the service on PostgreSQL
(BENCHMARKS.md, "The hot path").
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from app.cli import migrate
from app.services import queue

from ..conftest import PG_ADMIN_URL


def _plan(conn, statement, params: dict, *, sort_if_unavoidable: bool = False) -> str:
    """``sort_if_unavoidable``: on PostgreSQL, a sort shows only where no index gives the order (an
    empty test table's costs would otherwise let the planner sort a few rows by choice)."""
    compiled = statement.compile(dialect=conn.dialect)
    values = compiled.construct_params(params)
    if conn.dialect.name == "sqlite":
        values = [values[name] for name in compiled.positiontup]
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(values)).all()
        return "\n".join(str(r[-1]) for r in rows)
    # with a few rows PostgreSQL would rightly read the table; what matters is the path it has
    conn.execute(text("SET LOCAL enable_seqscan = off"))
    conn.execute(text("SET LOCAL enable_bitmapscan = off"))
    if sort_if_unavoidable:
        conn.execute(text("SET LOCAL enable_sort = off"))
    return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled), values).all())


@pytest.mark.parametrize("services", [1, 3])
def test_the_last_handle_times_are_the_last_entries_of_their_index_with_no_sort(database_url, services):
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            if services == 1:
                plan = _plan(conn, queue._SAMPLES_ONE, {"service_id": 1})
            else:
                plan = _plan(conn, queue._samples_statement(services),
                             {f"service_{i}": i + 1 for i in range(services)})
    finally:
        engine.dispose()
    assert plan.count("ix_ticket_events_handle_times") == services, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_url(request):
    """A schema fresh from the migrations, as a new deployment's. The session's shared PostgreSQL
    database keeps the statistics of every earlier test's rows after they are truncated, and with
    them the planner took another path over the empty table in one full run."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    name = f"hallq_plans_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("services", [1, 3])
def test_a_calls_candidates_are_the_first_entries_of_each_group_in_the_queue_index_with_no_sort(
        migrated_url, services):
    """Each (service, tier) group is read in calling order (queued_at, then id) from the queue's index;
    on PostgreSQL an index without the id sorted every waiting ticket of each group on every call."""
    engine = create_engine(migrated_url)
    try:
        with engine.begin() as conn:
            plan = _plan(conn, queue._candidates_statement(services, False),
                         {"hall_id": 1, "day": "2026-11-23", "counter_id": 1,
                          **{f"service_{i}": i + 1 for i in range(services)}}, sort_if_unavoidable=True)
    finally:
        engine.dispose()
    assert plan.count("ix_ticket_queue") == services * len(queue.Tier), plan
    assert plan.count("ix_tickets_sent_to_counter") == 1, plan  # the transfers to this counter
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


@pytest.mark.parametrize("services", [1, 6])
def test_a_place_in_line_reads_its_own_services_waiting_tickets_and_one_entry_of_each_other_service(
        migrated_url, services):
    """An issue's place in line counts over the ticket's own service in the queue's index, and asks
    each other service of the hall only whether anyone waits; it once read every waiting ticket of
    the hall."""
    params = {"hall_id": 1, "day": "2026-11-23", "service_id": 1, "me": 10, "target_counter_id": None,
              **{f"service_{i}": i + 1 for i in range(services)}}
    bound = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    for tier in queue.Tier:
        params |= {f"bound_{tier.value}": bound, f"tie_all_{tier.value}": False, f"tie_id_{tier.value}": True}
    engine = create_engine(migrated_url)
    try:
        with engine.begin() as conn:
            plan = _plan(conn, queue._ahead_and_waiting_statement(services), params)
    finally:
        engine.dispose()
    reads = [line for line in plan.splitlines() if " tickets" in line and ("SEARCH" in line or "Scan" in line)]
    assert len(reads) == services + 1, plan
    if engine.dialect.name == "sqlite":  # each range is one service's: hall, day, state and service lead it
        assert all("ix_ticket_queue" in line and "service_id=?" in line for line in reads), plan
    else:  # over an empty table PostgreSQL may take another index; each read still names its service
        assert "Seq Scan" not in plan and plan.count("service_id = ") == services + 1, plan
