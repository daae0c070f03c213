"""A worker process for tests/integration/test_concurrency.py.

Started with the ``spawn`` start method, so it shares nothing with the test
process but the database URL: it bootstraps its own Runtime (its own engine and
connections), waits at a cross-process barrier, then acts as one kiosk and one
counter of the same hall at once: issue a ticket, call the next one, finish it;
at the end it calls and finishes until its counter finds nobody waiting.

It reports back through a queue: ``("ok", worker, issued_labels, called_ids)``
or ``("error", worker, traceback)``.
"""
from __future__ import annotations

import contextlib
import traceback
from datetime import UTC, datetime

# Monday 23 Nov 2026, 10:00 in Shanghai: every process must agree on the business day.
FIXED_NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # the Clock default in tests/conftest.py
BARRIER_TIMEOUT_S = 60
FAST_HASH = "pbkdf2:sha256:1000"  # as tests/conftest.py (not imported: it pulls in pytest and the web app)


class FixedClock:
    def __call__(self) -> datetime:
        return FIXED_NOW


def kiosk_and_counter(worker: int, url: str, hall_id: int, service_id: int, counter_id: int,
                      rounds: int, barrier, results) -> None:
    """Issue ``rounds`` tickets, calling and finishing one after each; then drain the counter."""
    try:
        from app.bootstrap import bootstrap
        from app.services import queue

        rt = bootstrap(url, clock=FixedClock(), password_hash_method=FAST_HASH)
        try:
            queue.counter_state(rt, counter_id)  # connect and warm up before the start line
            issued: list[int] = []
            called: list[int] = []

            def serve_one() -> bool:
                ticket = queue.call_next(rt, counter_id)["ticket"]
                if ticket is None:
                    return False
                called.append(ticket["id"])
                queue.finish_service(rt, counter_id, ticket_id=ticket["id"])
                return True

            barrier.wait(timeout=BARRIER_TIMEOUT_S)
            for _ in range(rounds):
                issued.append(queue.issue_ticket(rt, hall_id, service_id)["label"])
                serve_one()
            while serve_one():
                pass
            results.put(("ok", worker, issued, called))
        finally:
            rt.engine.dispose()
    except BaseException:  # noqa: BLE001 - reported to the test process, which fails the test
        with contextlib.suppress(Exception):
            barrier.abort()  # release the other workers instead of leaving them at the start line
        results.put(("error", worker, traceback.format_exc()))
