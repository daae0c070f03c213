"""Remote tickets (远程取号) on the real database (SQLite and PostgreSQL), through the API.

A customer asks for a one-time code by SMS, takes a ticket on their phone with it, and checks in
at the kiosk (QR scan, or number + the check-in code of the confirmation SMS); until then no
counter calls the ticket, though it keeps its place. SMS go through the default outbox gateway,
so each code is read back from the outbox's text. The clock is the test's.
"""
from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from app.services import auth, config, remote
from app.storage.orm import MobileCode, Ticket, TicketEvent

from .public_env import Env, all_at_once, make_env, outbox
from ..world import HallSetup, bearer, staff_token

API = "/api/v1"
MOBILE = "13800138000"
JOIN_SMS = re.compile(r"Your code for a remote ticket: (\d{6}) ")
CHECK_IN_SMS = re.compile(r"check in at the kiosk by (\d\d:\d\d) with code (\d{6})\.")


@pytest.fixture
def env(database_url, clock):
    """Both halls take remote tickets (open all day)."""
    e = make_env(database_url, clock)
    for hall in e.world.halls:
        config.update_hall(e.rt, hall.id, {"remote_queue": {"enabled": True}})
    yield e
    e.rt.engine.dispose()


# --------------------------------------------------------------------------- helpers


def last_code(rt) -> str:
    """The code of the latest code SMS."""
    return JOIN_SMS.search([t for t in outbox(rt) if JOIN_SMS.search(t)][-1]).group(1)


def last_check_in_code(rt) -> str:
    return CHECK_IN_SMS.search([t for t in outbox(rt) if CHECK_IN_SMS.search(t)][-1]).group(2)


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


def ask_code(client, hall: HallSetup, mobile: str = MOBILE, address: str = "10.0.0.1"):
    return client.post(f"{API}/public/halls/{hall.id}/codes", json={"mobile": mobile},
                       environ_base={"REMOTE_ADDR": address})


def join(client, hall: HallSetup, code: str, mobile: str = MOBILE, prefix: str = "A"):
    return client.post(f"{API}/public/halls/{hall.id}/remote-tickets",
                       json={"service_id": hall.services[prefix], "mobile": mobile, "code": code})


def take(e: Env, hall: HallSetup, mobile: str = MOBILE) -> tuple[dict, str]:
    """A remote ticket taken the whole way (code asked, read, typed): the answer and the check-in code."""
    assert ask_code(e.client, hall, mobile).status_code == 201
    taken = join(e.client, hall, last_code(e.rt), mobile)
    assert taken.status_code == 201, taken.json
    return taken.json, last_check_in_code(e.rt)


def check_in(client, hall: HallSetup, kiosk: str | None = None, **body):
    return client.post(f"{API}/halls/{hall.id}/check-ins", json=body, headers=bearer(kiosk or hall.tokens["kiosk"]))


def walk_in(client, hall: HallSetup, prefix: str = "A") -> dict:
    issued = client.post(f"{API}/halls/{hall.id}/tickets", json={"service_id": hall.services[prefix]},
                         headers=bearer(hall.tokens["kiosk"]))
    assert issued.status_code == 201, issued.json
    return issued.json


def state_of(client, token: str) -> str:
    return client.get(f"{API}/tickets/{token}").json["state"]


def error(response) -> tuple[int, str]:
    return response.status_code, response.json["error"]["code"]


def tickets(rt, hall_id: int) -> list:
    with rt.reader() as tx:
        return tx.session.execute(select(Ticket.label, Ticket.state, Ticket.channel, Ticket.mobile)
                                  .where(Ticket.hall_id == hall_id).order_by(Ticket.id)).all()




# --------------------------------------------------------------------------- the whole way

def test_a_remote_ticket_keeps_its_place_but_is_called_only_after_check_in(env):
    e, h = env, env.world.one
    client = e.client
    public = client.get(f"{API}/public/halls/H1")
    assert public.status_code == 200
    assert public.json["remote"] == {"enabled": True, "check_in_minutes": 60, "taking": True}
    assert public.json["hall"]["id"] == h.id and public.json["hall"]["open_now"] is True
    assert [s["prefix"] for s in public.json["services"]] == ["A", "B", "C"]
    assert "counters" not in public.json and "staff" not in str(public.json)

    sent = ask_code(client, h, "+86 138-0013-8000")
    assert sent.status_code == 201
    assert sent.json == {"sent": True, "mobile_masked": "138****8000", "expires_at": "2026-11-23T02:10:00+00:00",
                         "resend_after_s": 60}
    [message] = outbox(e.rt)
    assert message.startswith("【营业厅1】远程取号验证码 ")
    code = last_code(e.rt)

    taken = join(client, h, f"{code[:3]}-{code[3:]}")  # typed with a dash
    assert taken.status_code == 201, taken.json
    ticket = taken.json
    assert (ticket["label"], ticket["state"], ticket["channel"]) == ("A001", "remote", "remote")
    assert ticket["check_in_by"] == "2026-11-23T03:00:00+00:00" and ticket["checked_in_at"] is None
    token = ticket["public_token"]
    confirmation = outbox(e.rt)[-1]
    assert "A001" in confirmation and CHECK_IN_SMS.search(confirmation).group(1) == "11:00"
    check_in_code = last_check_in_code(e.rt)
    assert check_in_code != code

    # Not checked in: the counter calls a walk-in who came later.
    e.clock.advance(minutes=1)
    first_walk_in = walk_in(client, h)
    s1 = bearer(staff_token(e.rt, h.staff["s1"]))
    counter = h.counters[1]
    assert client.post(f"{API}/counters/{counter}/open", json={}, headers=s1).status_code == 200
    called = client.post(f"{API}/counters/{counter}/call-next", headers=s1)
    assert called.json["ticket"]["label"] == first_walk_in["label"] == "A002"
    assert state_of(client, token) == "remote"
    assert client.post(f"{API}/counters/{counter}/finish", json={}, headers=s1).status_code == 200
    assert client.post(f"{API}/counters/{counter}/call-next", headers=s1).json["ticket"] is None

    # Checked in: it is called before a walk-in who came after it was taken.
    e.clock.advance(minutes=2)
    later_walk_in = walk_in(client, h)
    e.clock.advance(minutes=2)
    arrived = check_in(client, h, mobile=MOBILE, code=check_in_code)
    assert arrived.status_code == 200, arrived.json
    assert (arrived.json["label"], arrived.json["state"], arrived.json["public_token"]) == ("A001", "waiting", token)
    assert arrived.json["checked_in_at"] == "2026-11-23T02:05:00+00:00"
    e.clock.advance(seconds=30)
    called = client.post(f"{API}/counters/{counter}/call-next", headers=s1)
    assert called.json["ticket"]["label"] == "A001"
    assert called.json["ticket"]["waited_s"] == 30  # the customer's time in the hall: from check-in
    assert state_of(client, token) == "called"
    client.post(f"{API}/counters/{counter}/finish", json={}, headers=s1)
    assert client.post(f"{API}/counters/{counter}/call-next", headers=s1).json["ticket"]["label"] == \
        later_walk_in["label"] == "A003"
    with e.rt.reader() as tx:
        history = tx.session.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket["id"])
                                     .order_by(TicketEvent.id)).scalars().all()
    assert history == ["issued", "checked_in", "called", "finished"]


def test_a_remote_ticket_is_checked_in_by_scanning_its_page_once_and_only_at_its_hall(env):
    e, h = env, env.world.one
    ticket, _ = take(e, h)
    scan = f"http://localhost/t/{ticket['public_token']}"
    elsewhere = check_in(e.client, e.world.two, scan=scan)  # hall 2's kiosk, at hall 2
    assert error(elsewhere) == (404, "no_remote_ticket")
    not_its_hall = check_in(e.client, h, kiosk=e.world.two.tokens["kiosk"], scan=scan)
    assert not_its_hall.status_code == 403
    assert state_of(e.client, ticket["public_token"]) == "remote"

    arrived = check_in(e.client, h, scan=scan)
    assert arrived.status_code == 200 and arrived.json["state"] == "waiting"
    again = check_in(e.client, h, scan=ticket["public_token"])
    assert error(again) == (409, "checked_in_already") and again.json["error"]["label"] == "A001"
    walk = walk_in(e.client, h)
    assert error(check_in(e.client, h, scan=f"http://localhost/t/{walk['public_token']}")) == (409, "not_remote")
    assert error(check_in(e.client, h, scan="http://localhost/t/no-such-ticket")) == (404, "no_remote_ticket")
    assert error(check_in(e.client, h, scan="not a QR code")) == (422, "scan_format")
    assert error(check_in(e.client, h)) == (422, "check_in_what")
    assert check_in(e.client, h, kiosk="not-a-token", scan=scan).status_code == 401


def test_staff_check_in_a_remote_ticket_and_a_display_may_not(env):
    e, h = env, env.world.one
    ticket, code = take(e, h)
    display = check_in(e.client, h, kiosk=h.tokens["display"], scan=ticket["public_token"])
    assert display.status_code == 403
    by_staff = check_in(e.client, h, kiosk=staff_token(e.rt, h.staff["s1"]), mobile=MOBILE, code=code)
    assert by_staff.status_code == 200 and by_staff.json["state"] == "waiting"


# --------------------------------------------------------------------------- guessing codes

def test_a_remote_join_code_is_dead_after_five_wrong_tries(env):
    e, h = env, env.world.one
    ask_code(e.client, h)
    code = last_code(e.rt)
    for left in (4, 3, 2, 1, 0):
        wrong = join(e.client, h, other_than(code))
        assert error(wrong) == (422, "code_wrong") and wrong.json["error"]["tries_left"] == left
        assert wrong.json["error"]["field"] == "code"
    locked = join(e.client, h, code)
    assert error(locked) == (429, "code_locked")
    assert tickets(e.rt, h.id) == []
    e.clock.advance(seconds=60)  # a new code starts afresh
    ask_code(e.client, h)
    assert join(e.client, h, last_code(e.rt)).status_code == 201


def test_a_remote_check_in_code_is_dead_after_five_wrong_tries_but_the_qr_code_still_works(env):
    e, h = env, env.world.one
    ticket, code = take(e, h)
    for left in (4, 3, 2, 1, 0):
        wrong = check_in(e.client, h, mobile=MOBILE, code=other_than(code))
        assert error(wrong) == (422, "code_wrong") and wrong.json["error"]["tries_left"] == left
    assert error(check_in(e.client, h, mobile=MOBILE, code=code)) == (429, "code_locked")
    assert state_of(e.client, ticket["public_token"]) == "remote"
    assert check_in(e.client, h, scan=ticket["public_token"]).json["state"] == "waiting"


def test_a_remote_code_is_for_its_number_its_hall_and_ten_minutes(env):
    e, h = env, env.world.one
    ask_code(e.client, h)
    code = last_code(e.rt)
    assert error(join(e.client, h, code, mobile="13900139000")) == (422, "code_expired")  # another number
    assert error(join(e.client, e.world.two, code)) == (422, "code_expired")  # another hall
    assert error(join(e.client, h, code[:5])) == (422, "code_format")
    assert error(join(e.client, h, "１２３４５６")) == (422, "code_format")
    e.clock.advance(minutes=10)
    assert error(join(e.client, h, code)) == (422, "code_expired")
    e.clock.advance(seconds=1)
    ask_code(e.client, h)
    newer = last_code(e.rt)
    assert join(e.client, h, newer).status_code == 201
    assert error(join(e.client, h, newer)) == (422, "code_expired")  # used: not twice


def test_only_the_newest_remote_code_of_a_number_counts(env):
    e, h = env, env.world.one
    ask_code(e.client, h)
    first = last_code(e.rt)
    e.clock.advance(seconds=61)
    ask_code(e.client, h)
    second = last_code(e.rt)
    if first != second:  # one draw in a million repeats the first
        assert error(join(e.client, h, first)) == (422, "code_wrong")
    assert join(e.client, h, second).status_code == 201


# --------------------------------------------------------------------------- how often a code is sent

def test_a_second_remote_code_within_the_minute_waits_as_retry_after_says(env):
    e, h = env, env.world.one
    assert ask_code(e.client, h).status_code == 201
    e.clock.advance(seconds=20)
    again = ask_code(e.client, h, address="10.0.0.2")  # another address: the number's limit still holds
    assert error(again) == (429, "resend_too_soon")
    assert again.headers["Retry-After"] == "40" and again.json["error"]["retry_after_s"] == 40
    assert again.json["error"]["field"] == "mobile"
    assert len(outbox(e.rt)) == 1
    assert ask_code(e.client, h, mobile="13900139000").status_code == 201  # another number may have one
    e.clock.advance(seconds=40)
    assert ask_code(e.client, h).status_code == 201
    assert len(outbox(e.rt)) == 3


def test_a_number_gets_five_remote_codes_an_hour(env):
    e, h = env, env.world.one
    for _ in range(5):
        assert ask_code(e.client, h).status_code == 201
        e.clock.advance(seconds=60)
    refused = ask_code(e.client, h)  # 10:05
    assert error(refused) == (429, "number_limit")
    assert refused.headers["Retry-After"] == str(55 * 60)  # the 10:00 one leaves the hour at 11:00
    e.clock.advance(minutes=54, seconds=59)
    assert error(ask_code(e.client, h)) == (429, "number_limit")
    e.clock.advance(seconds=1)
    assert ask_code(e.client, h).status_code == 201
    assert len(outbox(e.rt)) == 6


def test_one_address_gets_so_many_remote_codes_an_hour_whatever_the_numbers(env):
    e, h = env, env.world.one
    config.update_hall(e.rt, h.id, {"remote_queue": {"codes_per_address_per_hour": 3}})
    for n in range(3):
        assert ask_code(e.client, h, mobile=f"1390013900{n}", address="10.9.9.9").status_code == 201
    refused = ask_code(e.client, h, mobile="13900139003", address="10.9.9.9")
    assert error(refused) == (429, "address_limit") and refused.headers["Retry-After"] == "3600"
    assert ask_code(e.client, h, mobile="13900139003", address="10.9.9.8").status_code == 201


def test_a_failed_remote_code_sms_is_a_503_and_the_code_is_not_usable(env, monkeypatch):
    from app.services import surveys
    from app.sms.gateway import GatewayError

    e, h = env, env.world.one
    gateway = surveys.setup(e.rt).gateway

    def broken(message):
        raise GatewayError("outbox", "the SMS centre is down", retryable=True)

    monkeypatch.setattr(gateway, "send", broken)
    failed = ask_code(e.client, h)
    assert error(failed) == (503, "sms_not_sent")
    with e.rt.reader() as tx:
        assert tx.session.execute(select(MobileCode.send_error)).scalars().all() == ["the SMS centre is down"]
    assert error(join(e.client, h, "123456")) == (422, "code_expired")  # an unsent code is no code


# --------------------------------------------------------------------------- when no remote ticket is taken

def test_a_hall_with_remote_tickets_off_takes_none(env):
    e, two = env, env.world.two
    config.update_hall(e.rt, two.id, {"remote_queue": {"enabled": False}})
    public = e.client.get(f"{API}/public/halls/H2").json
    assert public["remote"] == {"enabled": False, "check_in_minutes": 60, "taking": False}
    assert error(ask_code(e.client, two)) == (409, "remote_off")
    assert error(join(e.client, two, "123456")) == (409, "remote_off")
    assert outbox(e.rt) == []
    assert e.client.get(f"{API}/public/halls/H9").status_code == 404


def test_a_closed_hall_takes_no_remote_ticket(env):
    e, h = env, env.world.one  # Monday 10:00 in Shanghai
    config.update_hall(e.rt, h.id, {"opening_hours": {"mon": [["13:00", "18:00"]]}})
    public = e.client.get(f"{API}/public/halls/H1").json
    assert public["remote"]["taking"] is False
    assert (public["hall"]["open_now"], public["hall"]["opens_at"]) == (False, "2026-11-23T13:00:00+08:00")
    assert error(ask_code(e.client, h)) == (409, "hall_closed")
    config.update_hall(e.rt, h.id, {"opening_hours": {"mon": [["00:00", "24:00"]]},
                                    "closures": [{"date": "2026-11-23", "note": "维修"}]})
    assert error(ask_code(e.client, h)) == (409, "hall_closed")
    assert outbox(e.rt) == []


def test_a_hall_that_closed_after_the_code_was_sent_takes_no_remote_ticket(env):
    e, h = env, env.world.one
    config.update_hall(e.rt, h.id, {"opening_hours": {"mon": [["08:30", "10:05"]]}})
    ask_code(e.client, h)
    e.clock.advance(minutes=5)
    assert error(join(e.client, h, last_code(e.rt))) == (409, "hall_closed")
    assert tickets(e.rt, h.id) == []


def test_a_remote_ticket_is_due_by_closing_time_when_the_hall_closes_within_the_window(env):
    e, h = env, env.world.one
    config.update_hall(e.rt, h.id, {"opening_hours": {"mon": [["08:30", "10:30"], ["13:30", "18:00"]]}})
    ticket, _ = take(e, h)
    assert ticket["check_in_by"] == "2026-11-23T02:30:00+00:00"  # 10:30 in Shanghai, not 11:00
    assert CHECK_IN_SMS.search(outbox(e.rt)[-1]).group(1) == "10:30"


def test_a_halls_own_remote_window_sets_the_deadline(env):
    e, h = env, env.world.one
    config.update_hall(e.rt, h.id, {"remote_queue": {"check_in_minutes": 15}})
    assert e.client.get(f"{API}/public/halls/H1").json["remote"]["check_in_minutes"] == 15
    ticket, _ = take(e, h)
    assert ticket["check_in_by"] == "2026-11-23T02:15:00+00:00"


def test_one_open_remote_ticket_per_number_and_hall(env):
    e, h = env, env.world.one
    first, _ = take(e, h)
    e.clock.advance(seconds=60)
    ask_code(e.client, h)
    held = join(e.client, h, last_code(e.rt), prefix="B")
    assert error(held) == (409, "remote_ticket_held") and held.json["error"]["label"] == "A001"
    e.clock.advance(seconds=60)  # the number's one code a minute holds across halls
    other_hall, _ = take(e, e.world.two)
    assert (other_hall["label"], other_hall["state"]) == ("A001", "remote")
    assert e.client.post(f"{API}/tickets/{first['public_token']}/cancel").status_code == 200
    e.clock.advance(seconds=60)
    again, _ = take(e, h)
    assert (again["label"], again["state"]) == ("A002", "remote")


# --------------------------------------------------------------------------- released when its customer never came

def test_a_remote_ticket_not_checked_in_by_its_deadline_is_released(env):
    e, h = env, env.world.one
    ticket, _ = take(e, h)
    e.clock.advance(minutes=59, seconds=59)
    assert remote.release_due(e.rt) == 0
    assert state_of(e.client, ticket["public_token"]) == "remote"
    e.clock.advance(seconds=1)  # 11:00, its deadline
    assert remote.release_due(e.rt) == 1
    assert remote.release_due(e.rt) == 0
    assert state_of(e.client, ticket["public_token"]) == "cancelled"
    late = check_in(e.client, h, scan=ticket["public_token"])
    assert error(late) == (409, "remote_ended") and late.json["error"]["state"] == "cancelled"
    with e.rt.reader() as tx:
        kind, detail = tx.session.execute(select(TicketEvent.kind, TicketEvent.detail).where(
            TicketEvent.ticket_id == ticket["id"]).order_by(TicketEvent.id.desc()).limit(1)).one()
    assert (kind, detail) == ("expired", {"reason": "not_checked_in"})


def test_a_remote_ticket_checked_in_after_its_deadline_before_the_job_ran_is_released(env):
    e, h = env, env.world.one
    ticket, _ = take(e, h)
    e.clock.advance(minutes=61)
    late = check_in(e.client, h, scan=f"http://localhost/t/{ticket['public_token']}")
    assert error(late) == (409, "remote_expired") and late.json["error"]["by"] == "11:00"
    assert state_of(e.client, ticket["public_token"]) == "cancelled"
    assert remote.release_due(e.rt) == 0  # released already


def test_a_remote_ticket_checked_in_late_by_number_and_code_is_told_it_expired(env):
    e, h = env, env.world.one
    ticket, code = take(e, h)
    e.clock.advance(minutes=61)
    late = check_in(e.client, h, mobile=MOBILE, code=code)
    assert error(late) == (409, "remote_expired")
    assert state_of(e.client, ticket["public_token"]) == "cancelled"


def test_a_checked_in_remote_ticket_is_not_released_at_its_deadline(env):
    e, h = env, env.world.one
    ticket, code = take(e, h)
    check_in(e.client, h, mobile=MOBILE, code=code)
    e.clock.advance(hours=2)
    assert remote.release_due(e.rt) == 0
    assert state_of(e.client, ticket["public_token"]) == "waiting"


# --------------------------------------------------------------------------- the customer gives up

def test_a_remote_ticket_is_cancelled_from_the_phone_before_check_in(env):
    e, h = env, env.world.one
    ticket, _ = take(e, h)
    cancelled = e.client.post(f"{API}/tickets/{ticket['public_token']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    assert error(check_in(e.client, h, scan=ticket["public_token"])) == (409, "remote_ended")
    assert remote.release_due(e.rt) == 0
    e.clock.advance(hours=2)
    assert remote.release_due(e.rt) == 0


def test_a_remote_ticket_is_cancelled_from_the_phone_after_check_in(env):
    e, h = env, env.world.one
    ticket, code = take(e, h)
    assert check_in(e.client, h, mobile=MOBILE, code=code).status_code == 200
    cancelled = e.client.post(f"{API}/tickets/{ticket['public_token']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    s1 = bearer(staff_token(e.rt, h.staff["s1"]))
    e.client.post(f"{API}/counters/{h.counters[1]}/open", json={}, headers=s1)
    assert e.client.post(f"{API}/counters/{h.counters[1]}/call-next", headers=s1).json["ticket"] is None


# --------------------------------------------------------------------------- at the same instant

def test_two_remote_joins_with_one_code_make_one_ticket(env):
    e, h = env, env.world.one
    for n in range(3):  # a few rounds: a race lost once proves little
        mobile = f"1390013900{n}"
        ask_code(e.client, h, mobile)
        code = last_code(e.rt)
        clients = [e.client, e.client]
        answers = all_at_once(2, lambda i: join(clients[i], h, code, mobile))
        statuses = sorted(a.status_code for a in answers)
        assert statuses[0] == 201 and statuses[1] in (409, 422), [a.json for a in answers]
        loser = next(a for a in answers if a.status_code != 201)
        assert loser.json["error"]["code"] in ("code_expired", "code_used")
    assert [(t.label, t.state, t.channel) for t in tickets(e.rt, h.id)] == [
        ("A001", "remote", "remote"), ("A002", "remote", "remote"), ("A003", "remote", "remote")]


def test_two_kiosks_checking_in_one_remote_ticket_at_once_one_wins(env):
    e, h = env, env.world.one
    second_kiosk = auth.register_device(e.rt, h.id, "kiosk", "kiosk 1b")["token"]
    kiosks = [h.tokens["kiosk"], second_kiosk]
    for n in range(3):
        ticket, code = take(e, h, f"1390013900{n}")
        clients = [e.client, e.client]
        answers = all_at_once(2, lambda i: check_in(clients[i], h, kiosk=kiosks[i], scan=ticket["public_token"]))
        assert sorted(a.status_code for a in answers) == [200, 409], [a.json for a in answers]
        loser = next(a for a in answers if a.status_code == 409)
        assert loser.json["error"]["code"] in ("checked_in_already", "illegal_transition")
        e.clock.advance(seconds=60)
    with e.rt.reader() as tx:
        kinds = tx.session.execute(select(TicketEvent.kind).where(TicketEvent.kind == "checked_in")).scalars().all()
    assert len(kinds) == 3


def test_a_remote_check_in_by_code_and_by_scan_at_once_one_wins(env):
    e, h = env, env.world.one
    ticket, code = take(e, h)
    clients = [e.client, e.client]
    bodies = [{"mobile": MOBILE, "code": code}, {"scan": ticket["public_token"]}]
    answers = all_at_once(2, lambda i: check_in(clients[i], h, **bodies[i]))
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 200 and statuses[1] in (404, 409), [a.json for a in answers]
    assert state_of(e.client, ticket["public_token"]) == "waiting"


# --------------------------------------------------------------------------- nothing secret stored

def test_remote_codes_keep_no_number_code_or_address_in_plain(env):
    e, h = env, env.world.one
    assert ask_code(e.client, h, address="203.0.113.77").status_code == 201
    code = last_code(e.rt)
    assert join(e.client, h, code).status_code == 201
    check_in_code = last_check_in_code(e.rt)
    with e.rt.reader() as tx:
        rows = tx.session.execute(select(*MobileCode.__table__.c).order_by(MobileCode.id)).mappings().all()
    assert [r["purpose"] for r in rows] == ["join", "check_in"]
    hashed = ("number_key", "code_hash", "address_key")
    plain = (MOBILE, "86" + MOBILE, MOBILE[-8:], code, check_in_code, "203.0.113.77")
    for row in rows:
        for column, value in row.items():
            if column in hashed and value is not None:  # a keyed digest: no secret fits in one
                assert re.fullmatch(r"[0-9a-f]{64}", value) and value not in plain, column
            else:
                assert not any(secret in str(value) for secret in plain), column
    assert rows[0]["address_key"] is not None and rows[1]["address_key"] is None
    unkeyed = hashlib.sha256(("86" + MOBILE).encode()).hexdigest()  # a plain hash of a number is guessable
    assert rows[0]["number_key"] == rows[1]["number_key"] != unkeyed
    assert rows[0]["code_hash"] != rows[1]["code_hash"]
    assert rows[1]["ticket_id"] is not None and rows[0]["used_at"] is not None


def test_a_remote_ticket_checked_in_twice_by_number_and_code_is_told_it_is_checked_in(env):
    e, h = env, env.world.one
    ticket, code = take(e, h)
    assert check_in(e.client, h, mobile=MOBILE, code=code).status_code == 200
    again = check_in(e.client, h, mobile=MOBILE, code=code)
    assert error(again) == (409, "checked_in_already") and again.json["error"]["label"] == ticket["label"]


def test_a_halls_manager_reads_the_remote_code_sms_in_their_outbox_and_no_other_halls(env):
    e, one, two = env, env.world.one, env.world.two
    take(e, one)
    mine = e.client.get(f"{API}/sms/outbox", headers=bearer(staff_token(e.rt, e.world.staff["m1"]))).json["messages"]
    theirs = e.client.get(f"{API}/sms/outbox", headers=bearer(staff_token(e.rt, e.world.staff["m2"]))).json["messages"]
    assert len(mine) == 2 and {m["hall_id"] for m in mine} == {one.id}  # the join code and the confirmation
    assert theirs == [] and two.id != one.id
