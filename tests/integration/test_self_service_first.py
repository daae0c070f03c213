"""The kiosk suggests a service's self-service way (分流) by the server's rule: the snapshot says so
per service (domain.kiosks.self_service_first), so the kiosk keeps no copy of the threshold."""
from __future__ import annotations

import pytest

from app.domain.kiosks import DIVERSION_WAIT_S, self_service_first
from app.services import config, queue


@pytest.mark.parametrize("alternative, wait_s, offered", [
    ("缴费可在自助终端办理", DIVERSION_WAIT_S, True),
    ("缴费可在自助终端办理", DIVERSION_WAIT_S - 1, False),
    ("缴费可在自助终端办理", None, False),  # no counter open: no estimate, no suggestion
    (None, 3 * DIVERSION_WAIT_S, False),
    ("", 3 * DIVERSION_WAIT_S, False),
])
def test_the_rule(alternative, wait_s, offered):
    assert self_service_first(alternative, wait_s) is offered


def test_the_hall_snapshot_says_which_services_suggest_self_service(rt, world):
    h = world.one
    config.update_service(rt, h.services["A"], {"self_service_zh": "缴费可在自助终端办理，约 1 分钟"})
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    by_prefix = lambda: {s["prefix"]: s for s in queue.hall_snapshot(rt, h.id)["services"]}  # noqa: E731
    assert by_prefix()["A"]["self_service_first"] is False  # nobody waits
    while (a := by_prefix()["A"])["estimated_wait_s"] is None or a["estimated_wait_s"] < DIVERSION_WAIT_S:
        queue.issue_ticket(rt, h.id, h.services["A"])
    assert by_prefix()["A"]["self_service_first"] is True
    assert by_prefix()["B"]["self_service_first"] is False  # no self-service way
