"""The live protocol through Flask-SocketIO's test client: who joins which room, snapshots, numbered deltas.

The hub's coalesced pushes run on a real background thread; waits are bounded polls of
the test client's inbox, never fixed sleeps.
"""
from __future__ import annotations

import time

from app.extensions import socketio
from app.services import queue

from ..world import sign_in


def connect(app, token=None, query="", flask_client=None):
    return socketio.test_client(app, auth={"token": token} if token else None, query_string=query,
                                flask_test_client=flask_client)


def drain(client, until=None, timeout=3.0):
    """Everything received; with ``until(messages)``, keeps reading until it holds or the time is up."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        got += client.get_received()
        if until is None or until(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def named(messages, name):
    return [m["args"][0] for m in messages if m["name"] == name]


def test_a_display_gets_a_snapshot_then_numbered_deltas(app, rt, world):
    h = world.one
    display = connect(app, h.tokens["display"])
    assert display.is_connected()
    first = named(display.get_received(), "snapshot")
    assert len(first) == 1 and first[0]["kind"] == "hall" and first[0]["hall"]["id"] == h.id
    base = first[0]["seq"]

    t = queue.issue_ticket(rt, h.id, h.services["A"])
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.call_next(rt, h.counters[1], h.staff["s1"])
    deltas = named(drain(display, lambda m: len(named(m, "delta")) >= 3), "delta")
    assert [d["event"] for d in deltas] == ["TicketIssued", "CounterOpened", "TicketCalled"]
    assert [d["seq"] for d in deltas] == [base + 1, base + 2, base + 3]
    assert deltas[2]["label"] == t["label"] and deltas[2]["counter_number"] == 1
    assert "public_token" not in deltas[2]  # a display never learns a ticket's token


def test_after_a_change_the_display_gets_a_fresh_coalesced_snapshot(app, rt, world):
    h = world.one
    display = connect(app, h.tokens["display"])
    display.get_received()
    for _ in range(3):
        queue.issue_ticket(rt, h.id, h.services["A"])
    got = drain(display, lambda m: any(s["seq"] >= 3 for s in named(m, "snapshot")))
    snaps = [s for s in named(got, "snapshot") if s["seq"] >= 3]
    assert snaps, got
    waiting = {s["prefix"]: s["waiting"] for s in snaps[-1]["services"]}
    assert waiting["A"] == 3
    assert len(named(got, "snapshot")) < 3  # three changes, coalesced


def test_a_display_of_hall_one_never_hears_hall_two(app, rt, world):
    one = connect(app, world.one.tokens["display"])
    two = connect(app, world.two.tokens["display"])
    one.get_received(), two.get_received()
    queue.issue_ticket(rt, world.two.id, world.two.services["A"])
    queue.issue_ticket(rt, world.one.id, world.one.services["B"])  # the marker: hall one's own event
    got_one = drain(one, lambda m: named(m, "delta"))
    assert [(d["event"], d["hall_id"]) for d in named(got_one, "delta")] == [("TicketIssued", world.one.id)]
    assert all(s["hall"]["id"] == world.one.id for s in named(drain(one, timeout=0.6), "snapshot"))


def test_a_device_cannot_ask_for_another_hall(app, world):
    assert not connect(app, world.one.tokens["display"], query=f"hall_id={world.two.id}").is_connected()
    assert not connect(app, world.one.tokens["display"],
                       query=f"counter_id={world.two.counters[1]}").is_connected()
    assert not connect(app, "dv_not-a-token").is_connected()
    assert not connect(app).is_connected()


def test_head_office_may_watch_any_hall_and_staff_only_their_own(app, rt, world):
    from ..world import staff_token

    hq = staff_token(rt, world.staff["hq"])
    assert connect(app, hq, query=f"hall_id={world.two.id}").is_connected()
    s1 = staff_token(rt, world.one.staff["s1"])
    assert connect(app, s1).is_connected()
    assert not connect(app, s1, query=f"hall_id={world.two.id}").is_connected()


def test_a_ticket_page_follows_its_own_ticket_only(app, rt, world):
    h = world.one
    mine = queue.issue_ticket(rt, h.id, h.services["A"])
    other = queue.issue_ticket(rt, h.id, h.services["A"])
    phone = connect(app, query=f"ticket={mine['public_token']}")
    snap = named(phone.get_received(), "snapshot")[0]
    assert snap["kind"] == "ticket" and snap["ticket"]["label"] == mine["label"]
    assert snap["ticket"]["people_ahead"] == 0

    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.call_next(rt, h.counters[1], h.staff["s1"])  # calls mine (first in line)
    queue.finish_service(rt, h.counters[1], h.staff["s1"])
    queue.call_next(rt, h.counters[1], h.staff["s1"])  # calls the other ticket
    got = drain(phone, lambda m: any(t["ticket"]["state"] == "finished" for t in named(m, "ticket")))
    deltas = named(got, "delta")
    assert {d["ticket_id"] for d in deltas} == {mine["id"]}, deltas
    assert [d["event"] for d in deltas] == ["TicketCalled", "ServiceFinished"]
    assert all(t["ticket"]["id"] == mine["id"] for t in named(got, "ticket"))
    assert all(other["label"] not in str(m) for m in got)


def test_an_unknown_ticket_token_is_refused(app):
    assert not connect(app, query="ticket=no-such-ticket").is_connected()


def test_a_phone_sees_its_place_in_line_move_up(app, rt, world):
    h = world.one
    queue.issue_ticket(rt, h.id, h.services["A"])
    mine = queue.issue_ticket(rt, h.id, h.services["A"])
    phone = connect(app, query=f"ticket={mine['public_token']}")
    assert named(phone.get_received(), "snapshot")[0]["ticket"]["people_ahead"] == 1
    queue.open_counter(rt, h.counters[1], h.staff["s1"])
    queue.call_next(rt, h.counters[1], h.staff["s1"])
    got = drain(phone, lambda m: any(t["ticket"]["people_ahead"] == 0 for t in named(m, "ticket")))
    assert any(t["ticket"]["people_ahead"] == 0 for t in named(got, "ticket")), got


def test_a_counter_console_gets_its_queue_live(app, rt, world):
    h = world.one
    from ..world import staff_token

    s1 = staff_token(rt, h.staff["s1"])
    console = connect(app, s1, query=f"counter_id={h.counters[1]}")
    first = console.get_received()
    assert named(first, "counter")[0]["counter"]["id"] == h.counters[1]
    t = queue.issue_ticket(rt, h.id, h.services["A"])
    queue.issue_ticket(rt, h.id, h.services["C"])  # counter 1 does not serve C
    got = drain(console, lambda m: any(c["waiting"] == 1 for c in named(m, "counter")))
    latest = named(got, "counter")[-1]
    assert [n["label"] for n in latest["next"]] == [t["label"]]


def test_resync_sends_the_state_again(app, rt, world):
    display = connect(app, world.one.tokens["display"])
    display.get_received()
    queue.issue_ticket(rt, world.one.id, world.one.services["A"])
    drain(display, timeout=0.5)
    display.emit("resync")
    snap = named(display.get_received(), "snapshot")
    assert len(snap) == 1 and snap[0]["seq"] == 1
    assert {s["prefix"]: s["waiting"] for s in snap[0]["services"]}["A"] == 1


def test_a_screen_that_joins_gets_the_next_change_even_if_the_room_had_it_before(app, rt, world):
    """The room's last push held A=1; the ticket was cancelled while no screen was there; a new screen
    joins with A=0. The next ticket makes A=1 again: the new screen must get it, though the room's
    last push looked the same."""
    h = world.one

    def waiting_a(snapshot):
        return {s["prefix"]: s["waiting"] for s in snapshot["services"]}["A"]

    first = connect(app, h.tokens["display"])
    first.get_received()
    ticket = queue.issue_ticket(rt, h.id, h.services["A"])
    assert drain(first, lambda m: any(waiting_a(s) == 1 for s in named(m, "snapshot")))
    first.disconnect()
    queue.cancel_ticket(rt, ticket["public_token"])
    time.sleep(0.8)  # past the coalescing: the push for the cancel found no screen in the room
    joined = connect(app, h.tokens["display"])
    assert [waiting_a(s) for s in named(joined.get_received(), "snapshot")] == [0]
    queue.issue_ticket(rt, h.id, h.services["A"])
    got = drain(joined, lambda m: any(waiting_a(s) == 1 for s in named(m, "snapshot")))
    assert any(waiting_a(s) == 1 for s in named(got, "snapshot")), got


def test_a_signed_in_browser_session_joins_its_hall(app, world):
    browser = app.test_client()
    r = sign_in(browser, "s1")
    assert r.status_code == 302
    console = connect(app, flask_client=browser)
    assert console.is_connected()
    assert named(console.get_received(), "snapshot")[0]["hall"]["id"] == world.one.id


def test_screens_beyond_the_limit_are_refused_so_requests_keep_a_thread(app, world):
    app.config["LIVE_MAX_CLIENTS"] = 2
    first = connect(app, world.one.tokens["display"])
    second = connect(app, world.one.tokens["kiosk"])
    assert first.is_connected() and second.is_connected()
    assert not connect(app, world.one.tokens["display"]).is_connected()
    first.disconnect()
    assert connect(app, world.one.tokens["display"]).is_connected()  # a place came free
