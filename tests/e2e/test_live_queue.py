"""Live screens against the real server: Socket.IO clients (WebSocket transport) watch a hall
while a kiosk issues and a counter calls over HTTP.

No sleeps: every wait is a queue read with a timeout. To show that a screen got *nothing*
it should not have, a marker event is sent to its own room afterwards; one client's
messages arrive in the order the server emitted them, so whatever wrongly came before the
marker would already be there.
"""
from __future__ import annotations

import queue
import time
from datetime import datetime

import pytest
import requests
import socketio
from socketio.exceptions import ConnectionError as SioConnectionError

from ..world import bearer

TIMEOUT = 5.0

pytestmark = pytest.mark.e2e


class Screen:
    """A Socket.IO client recording every event it receives, in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.client = socketio.Client(reconnection=False)
        self.inbox: queue.Queue = queue.Queue()
        self.seen: list[tuple[str, dict]] = []
        self.client.on("*", self._record)

    def _record(self, event, data=None) -> None:
        self.inbox.put((event, data))

    def connect(self, url: str, auth: dict | None = None) -> "Screen":
        self.client.connect(url, auth=auth, transports=["websocket"], wait_timeout=TIMEOUT)
        return self

    def wait_for(self, name: str, /, timeout: float = TIMEOUT, **match) -> dict:
        """The next event ``name`` whose payload has the given items; everything received is kept in ``seen``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: no {name} {match or ''} within {timeout} s; got {self.seen}")
            try:
                got, data = self.inbox.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append((got, data))
            if got == name and all((data or {}).get(k) == v for k, v in match.items()):
                return data

    def wait_until(self, name: str, holds, /, timeout: float = TIMEOUT) -> dict:
        """The next event ``name`` whose payload satisfies ``holds(payload)``."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.wait_for(name, timeout=max(deadline - time.monotonic(), 0.001))
            if holds(data):
                return data

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


@pytest.fixture
def screens(live_server):
    """Opens Screens; disconnects them all at the end."""
    opened: list[Screen] = []

    def open_screen(name: str, auth: dict | None = None, query: str = "") -> Screen:
        screen = Screen(name)
        opened.append(screen)
        return screen.connect(live_server.url + query, auth)

    yield open_screen
    for screen in opened:
        screen.close()


class Console:
    """A counter console over the HTTP API with a staff bearer token; closes its counter at the end."""

    def __init__(self, server, counter_id: int, token: str) -> None:
        self.server = server
        self.counter_id = counter_id
        self.http = requests.Session()
        self.http.headers.update(bearer(token))

    def post(self, action: str, body: dict | None = None, expect: int = 200) -> dict:
        r = self.http.post(self.server.api(f"/counters/{self.counter_id}/{action}"), json=body or {}, timeout=TIMEOUT)
        assert r.status_code == expect, f"{action}: {r.status_code} {r.text}"
        return r.json()

    def tidy(self) -> None:
        """Leave the counter closed and free for the next test, whatever state this one left."""
        for action in ("start", "finish", "close"):
            self.http.post(self.server.api(f"/counters/{self.counter_id}/{action}"), json={}, timeout=TIMEOUT)
        self.http.close()


@pytest.fixture
def console(live_server):
    made: list[Console] = []

    def at(counter_id: int, staff: str) -> Console:
        c = Console(live_server, counter_id, live_server.tokens[staff])
        made.append(c)
        return c

    yield at
    for c in made:
        c.tidy()


def issue(server, hall, prefix: str) -> dict:
    r = requests.post(server.api(f"/halls/{hall.id}/tickets"), json={"service_id": hall.services[prefix]},
                      headers=bearer(hall.tokens["kiosk"]), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    return r.json()


def hall_of(message: dict) -> int:
    """The hall a delta or a snapshot is about."""
    return message["hall_id"] if "hall_id" in message else message["hall"]["id"]


def cancel(server, ticket: dict) -> None:
    requests.post(server.api(f"/tickets/{ticket['public_token']}/cancel"), timeout=TIMEOUT)


# --------------------------------------------------------------------------- tests

def test_display_and_phone_follow_an_issue_and_a_call(live_server, screens, console):
    one, two = live_server.world.one, live_server.world.two
    display1 = screens("display hall 1", auth={"token": one.tokens["display"]})
    display2 = screens("display hall 2", auth={"token": two.tokens["display"]})

    ticket = issue(live_server, one, "A")
    issued = display1.wait_for("delta", event="TicketIssued", ticket_id=ticket["id"])
    assert issued["label"] == ticket["label"] and issued["hall_id"] == one.id
    assert issued["service_id"] == one.services["A"] and issued["tier"] == "ordinary"

    phone = screens("phone", query=f"?ticket={ticket['public_token']}")

    counter1 = console(one.counters[1], "s1")
    opened = counter1.post("open")
    assert opened["is_open"] and opened["number"] == 1
    called = counter1.post("call-next")
    assert called["ticket"]["id"] == ticket["id"] and called["ticket"]["label"] == ticket["label"]

    on_screen = display1.wait_for("delta", event="TicketCalled", ticket_id=ticket["id"])
    assert on_screen["label"] == ticket["label"]
    assert on_screen["counter_number"] == 1 and on_screen["counter_id"] == one.counters[1]
    assert on_screen["recall"] == 0 and on_screen["hall_id"] == one.id

    on_phone = phone.wait_for("delta", event="TicketCalled")
    assert on_phone["ticket_id"] == ticket["id"] and on_phone["label"] == ticket["label"]
    assert on_phone["counter_number"] == 1 and on_phone["recall"] == 0

    # hall 2's screen: a marker from its own hall, and nothing of hall 1 before it
    marker = issue(live_server, two, "A")
    display2.wait_for("delta", event="TicketIssued", ticket_id=marker["id"], hall_id=two.id)
    assert all(hall_of(data) == two.id for _, data in display2.seen), display2.seen
    cancel(live_server, marker)

    # the phone hears about its own ticket only, and only on the 'ticket' event
    counter1.post("start", {"ticket_id": ticket["id"]})
    counter1.post("finish", {"ticket_id": ticket["id"]})
    phone.wait_for("delta", event="ServiceFinished")
    assert {data["ticket_id"] for name, data in phone.seen if name == "delta"} == {ticket["id"]}
    assert {data["ticket"]["id"] for name, data in phone.seen if name in ("snapshot", "ticket")} == {ticket["id"]}


def test_a_recall_is_announced_again_with_its_count(live_server, screens, console):
    one = live_server.world.one
    display = screens("display hall 1", auth={"token": one.tokens["display"]})
    ticket = issue(live_server, one, "C")
    phone = screens("phone", query=f"?ticket={ticket['public_token']}")

    counter3 = console(one.counters[3], "t1")
    counter3.post("open")
    assert counter3.post("call-next")["ticket"]["id"] == ticket["id"]
    first = display.wait_for("delta", event="TicketCalled", ticket_id=ticket["id"], recall=0)
    assert first["counter_number"] == 3

    recalled = counter3.post("recall", {"ticket_id": ticket["id"]})
    assert recalled["ticket"]["recalls"] == 1
    again = display.wait_for("delta", event="TicketCalled", ticket_id=ticket["id"], recall=1)
    assert again["label"] == ticket["label"] and again["counter_number"] == 3
    assert phone.wait_for("delta", event="TicketCalled", recall=1)["label"] == ticket["label"]


def test_a_snapshot_lists_each_recent_call_with_the_id_its_delta_carried(live_server, screens, console):
    """A display that missed a call's delta finds the call in its next snapshot: the snapshot's recent
    calls carry the id the call's delta carried, so the display tells a call it announced from one it
    missed; a recall is a call of its own (a new id), announced again."""
    one = live_server.world.one
    display = screens("display hall 1", auth={"token": one.tokens["display"]})
    display.wait_for("snapshot")
    ticket = issue(live_server, one, "C")
    counter3 = console(one.counters[3], "t1")
    counter3.post("open")
    assert counter3.post("call-ticket", {"label": ticket["label"]})["ticket"]["id"] == ticket["id"]
    first = display.wait_for("delta", event="TicketCalled", ticket_id=ticket["id"], recall=0)
    counter3.post("recall", {"ticket_id": ticket["id"]})
    again = display.wait_for("delta", event="TicketCalled", ticket_id=ticket["id"], recall=1)
    assert isinstance(first["call_id"], int) and again["call_id"] > first["call_id"]

    display.client.emit("resync")
    snap = display.wait_until("snapshot", lambda s: s["seq"] >= again["seq"])
    line = [c for c in snap["recent_calls"] if c["ticket_id"] == ticket["id"]]
    assert line == [{"call_id": again["call_id"], "ticket_id": ticket["id"], "label": ticket["label"],
                     "counter_id": one.counters[3], "counter_number": 3, "at": line[0]["at"], "recall": True}]
    # both the server's times: a screen reads a call's age from them, whatever its own clock says
    assert datetime.fromisoformat(line[0]["at"]) <= datetime.fromisoformat(snap["at"])
    assert snap["recent_calls"][0]["call_id"] == again["call_id"]  # newest first


def test_a_staff_member_of_the_hall_may_watch_it(live_server, screens):
    one = live_server.world.one
    staff = screens("counter staff", auth={"token": live_server.tokens["s1"]})
    ticket = issue(live_server, one, "B")
    assert staff.wait_for("delta", event="TicketIssued", ticket_id=ticket["id"])["label"] == ticket["label"]
    cancel(live_server, ticket)
    assert staff.wait_for("delta", event="TicketCancelled", ticket_id=ticket["id"])["hall_id"] == one.id


@pytest.mark.parametrize("who", ["no token", "unknown device token", "unknown staff token", "revoked staff token",
                                 "hall 2 display asking for hall 1", "hall 2 staff asking for hall 1"])
def test_a_connection_without_a_valid_token_is_refused(live_server, who):
    one, two = live_server.world.one, live_server.world.two
    query = ""
    if who == "no token":
        auth = None
    elif who == "unknown device token":
        auth = {"token": "dv_" + "x" * 43}
    elif who == "unknown staff token":
        auth = {"token": "st_" + "x" * 43}
    elif who == "revoked staff token":
        r = requests.post(live_server.api("/auth/tokens"), json={"username": "t1", "password": "correct-horse-1"},
                          timeout=TIMEOUT)
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        r = requests.delete(live_server.api("/auth/tokens/current"), headers=bearer(token), timeout=TIMEOUT)
        assert r.status_code in (200, 204), r.text
        auth = {"token": token}
    elif who == "hall 2 display asking for hall 1":
        auth, query = {"token": two.tokens["display"]}, f"?hall_id={one.id}"
    else:
        auth, query = {"token": live_server.tokens["s2"]}, f"?hall_id={one.id}"
    client = socketio.Client(reconnection=False)
    try:
        with pytest.raises(SioConnectionError):
            client.connect(live_server.url + query, auth=auth, transports=["websocket"], wait_timeout=TIMEOUT)
        assert not client.connected
    finally:
        if client.connected:
            client.disconnect()
