"""Several server processes, one set of screens: events travel through Redis to the live role.

The e2e deployment runs two web workers and a live process on one Redis channel; a separate
process (as the scheduler or a CLI command would be) commits too. A screen connected to the
live process sees what any of them commits.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from ..world import bearer
from .conftest import ROOT
from .test_live_queue import Screen

pytestmark = pytest.mark.e2e


def test_a_ticket_issued_by_another_process_reaches_the_display_through_redis(live_server):
    hall = live_server.world.one
    display = Screen("display").connect(live_server.url, auth={"token": hall.tokens["display"]})
    try:
        script = ("from app import create_app; from app.services import queue; app = create_app(); "
                  f"t = queue.issue_ticket(app.extensions['hallq'], {hall.id}, {hall.services['C']}); "
                  "print(t['label'], t['public_token'])")
        issued = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=live_server.deployment.env,
                                capture_output=True, text=True, timeout=60, check=True)
        label, token = issued.stdout.strip().splitlines()[-1].split()
        delta = display.wait_for("delta", event="TicketIssued", label=label)
        assert delta["service_id"] == hall.services["C"]
        # the live process pushes a fresh snapshot with the new count
        waiting = lambda snap: {s["prefix"]: s["waiting"] for s in snap["services"]}["C"]
        assert waiting(display.wait_until("snapshot", lambda snap: snap["seq"] >= delta["seq"])) >= 1
        requests.post(live_server.api(f"/tickets/{token}/cancel"), timeout=5)
    finally:
        display.close()


def test_with_two_web_workers_every_call_reaches_the_display(live_server):
    """Requests land on either web worker; the display, on the live process, sees all calls in order."""
    hall = live_server.world.one
    staff = bearer(live_server.tokens["s1"])
    display = Screen("display").connect(live_server.url, auth={"token": hall.tokens["display"]})
    try:
        counter = hall.counters[1]
        assert requests.post(live_server.api(f"/counters/{counter}/open"), json={}, headers=staff, timeout=10).ok
        labels = []
        for _ in range(6):
            ticket = requests.post(live_server.api(f"/halls/{hall.id}/tickets"),
                                   json={"service_id": hall.services["A"]},
                                   headers=bearer(hall.tokens["kiosk"]), timeout=10).json()
            called = requests.post(live_server.api(f"/counters/{counter}/call-next"), headers=staff, timeout=10).json()
            assert called["ticket"]["label"] == ticket["label"]
            assert requests.post(live_server.api(f"/counters/{counter}/finish"), headers=staff, timeout=10).ok
            labels.append(ticket["label"])
        for label in labels:
            display.wait_for("delta", event="TicketCalled", label=label, counter_number=1)
        seqs = [data["seq"] for name, data in display.seen if name == "delta"]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # numbered once, in order, whichever worker
        requests.post(live_server.api(f"/counters/{counter}/close"), headers=staff, timeout=10)
    finally:
        display.close()


def test_a_peak_warning_raised_by_the_scheduler_process_reaches_the_manager_through_redis(live_server):
    """The live check runs in the scheduler process; the manager's screen is on the live process."""
    hall = live_server.world.two
    staff = bearer(live_server.tokens["s2"])
    counter = hall.counters[1]
    assert requests.post(live_server.api(f"/counters/{counter}/open"), json={}, headers=staff, timeout=10).ok
    tickets = []
    for _ in range(12):  # service A, 2 minutes each at one counter: 24 minutes against a 10-minute target
        r = requests.post(live_server.api(f"/halls/{hall.id}/tickets"), json={"service_id": hall.services["A"]},
                          headers=bearer(hall.tokens["kiosk"]), timeout=10)
        assert r.ok
        tickets.append(r.json())
    manager = Screen("manager").connect(live_server.url, auth={"token": live_server.tokens["m2"]})
    try:
        script = ("from app import create_app; from app.services import peaks; app = create_app(); "
                  f"print(peaks.check_live(app.extensions['hallq'], {hall.id}))")
        checked = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=live_server.deployment.env,
                                 capture_output=True, text=True, timeout=60, check=True)
        assert "'raised': 1" in checked.stdout
        delta = manager.wait_for("delta", event="PeakWarningChanged", change="raised")
        assert delta["kind"] == "live" and delta["service_id"] == hall.services["A"]
        assert "业务A" in delta["message_zh"]
    finally:
        manager.close()
        for ticket in tickets:
            requests.post(live_server.api(f"/tickets/{ticket['public_token']}/cancel"), timeout=5)
        requests.post(live_server.api(f"/counters/{counter}/close"), headers=staff, timeout=10)
