"""Appointments (预约) on the real database (SQLite and PostgreSQL), through the API.

The day's counter plan and forecast are written straight into ``counter_plans`` and
``forecast_slots``, so every slot's capacity is worked out by hand: two counters open 09:00-12:00
in 15-minute intervals (1800 counter-seconds an interval), the forecast walk-ins' p90 times the
world's handle times (A 120 s, B 420 s, C 600 s), times the default share 0.5. A customer asks
for a code (purpose book), reads it from the outbox, books; checks in at the kiosk by scanning the
appointment's page or by number and the confirmation's check-in code. The clock is the test's:
Monday 2026-11-23 10:00 in Shanghai.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.domain.hours import parse_zone
from app.services import appointments, config, remote
from app.storage.orm import (
    Appointment, AppointmentSlot, CounterPlan, ForecastSlot, SmsOptOut, Ticket,
)

from .public_env import Env, all_at_once, make_env, outbox
from ..world import ALL_DAY, HallSetup, bearer, staff_token

API = "/api/v1"
MOBILE = "13800138000"
BOOK_SMS = re.compile(r"Your code for an appointment: (\d{6}) ")
CONFIRMATION = re.compile(r"Appointment (\d\d-\d\d \d\d:\d\d): check in at the kiosk with code (\d{6})\.")
SHANGHAI = parse_zone("Asia/Shanghai")
MON, TUE, WED, THU, FRI = (date(2026, 11, 23) + timedelta(days=n) for n in range(5))
# Tuesday's walk-ins (p90 per interval and service) and what each 30-minute slot offers, by hand:
MORNING = {("09:00", "A"): 3, ("09:00", "B"): 1, ("09:15", "C"): 1,  # 3600 - 780 - 600 = 2220: 1110
           ("09:30", "C"): 4,                                       # -600 + 1800 = 1200: 600 (a deficit counts)
           ("10:30", "B"): 5, ("10:45", "C"): 3,                    # -300 + 0: nothing
           ("11:00", "A"): 9, ("11:15", "A"): 9}                    # 3600 - 2160 = 1440: 720
OFFERED = {"09:00": (9, 2, 1), "09:30": (5, 1, 1), "10:00": (15, 4, 3), "10:30": (0, 0, 0),
           "11:00": (6, 1, 1), "11:30": (15, 4, 3)}  # A, B, C; 10:00 and 11:30: no walk-ins, 1800


# --------------------------------------------------------------------------- as in test_remote_queue

@pytest.fixture
def env(database_url, clock):
    e = make_env(database_url, clock)
    yield e
    e.rt.engine.dispose()



def check_in(client, hall: HallSetup, kiosk: str | None = None, **body):
    return client.post(f"{API}/halls/{hall.id}/check-ins", json=body, headers=bearer(kiosk or hall.tokens["kiosk"]))


def walk_in(client, hall: HallSetup, prefix: str = "A") -> dict:
    issued = client.post(f"{API}/halls/{hall.id}/tickets", json={"service_id": hall.services[prefix]},
                         headers=bearer(hall.tokens["kiosk"]))
    assert issued.status_code == 201, issued.json
    return issued.json


def error(response) -> tuple[int, str]:
    return response.status_code, response.json["error"]["code"]




# --------------------------------------------------------------------------- appointments

def at(day: date, hhmm: str) -> datetime:
    """A local time of the hall, in UTC."""
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=SHANGHAI).astimezone(timezone.utc)


def plan(e: Env, hall: HallSetup, day: date, walk_ins: dict | None = None, start: str = "09:00", end: str = "12:00",
         counters: int = 2) -> None:
    """The day's plan (replacing any): ``counters`` open from ``start`` to ``end`` in 15-minute
    intervals, and the forecast walk-ins (p90 by (HH:MM, prefix), and the hall's own p90 by
    (HH:MM, None): where it is given, the walk-ins' work is read from it, pooled)."""
    first = at(day, start)
    n = int((at(day, end) - first).total_seconds() // 900)
    with e.rt.uow() as tx:
        s = tx.session
        shifts = [{"counter": k, "start": 0, "end": n} for k in range(counters)]
        s.merge(CounterPlan(hall_id=hall.id, business_day=day, interval_minutes=15, first_slot=first,
                            needs=[counters] * n, shifts=shifts, made_at=e.rt.now(), model={"model": "test"}))
        rows = {(hhmm, hall.services[p] if p else None): p90 for (hhmm, p), p90 in (walk_ins or {}).items()}
        for (hhmm, service_id), p90 in rows.items():
            s.add(ForecastSlot(hall_id=hall.id, service_id=service_id, slot=at(day, hhmm), mean=p90, p10=0.0, p50=p90,
                               p90=p90, needed=counters, made_at=e.rt.now(), source="nightly"))
        tx.commit()


def ask_code(e: Env, hall: HallSetup, mobile: str = MOBILE, address: str = "10.0.0.1"):
    return e.client.post(f"{API}/public/halls/{hall.id}/codes", json={"mobile": mobile, "purpose": "book"},
                         environ_base={"REMOTE_ADDR": address})


def last_code(e: Env) -> str:
    return BOOK_SMS.search([t for t in outbox(e.rt) if BOOK_SMS.search(t)][-1]).group(1)


def last_check_in_code(e: Env) -> str:
    return CONFIRMATION.search([t for t in outbox(e.rt) if CONFIRMATION.search(t)][-1]).group(2)


def post_booking(e: Env, hall: HallSetup, slot: datetime, code: str, prefix: str = "A", mobile: str = MOBILE):
    return e.client.post(f"{API}/public/halls/{hall.id}/appointments", json={
        "service_id": hall.services[prefix], "slot_start": slot.isoformat(), "mobile": mobile, "code": code})


def book(e: Env, hall: HallSetup, slot: datetime, prefix: str = "A", mobile: str = MOBILE,
         address: str = "10.0.0.1"):
    """A code asked and read, then the booking: its answer."""
    asked = ask_code(e, hall, mobile, address)
    assert asked.status_code == 201, asked.json
    return post_booking(e, hall, slot, last_code(e), prefix, mobile)


def booked(e: Env, hall: HallSetup, slot: datetime, prefix: str = "A", mobile: str = MOBILE) -> dict:
    answer = book(e, hall, slot, prefix, mobile)
    assert answer.status_code == 201, answer.json
    return answer.json


def slots(e: Env, hall: HallSetup, day: date):
    return e.client.get(f"{API}/public/halls/{hall.id}/slots", query_string={"date": day.isoformat()})


def offered(e: Env, hall: HallSetup, day: date) -> dict[str, tuple[int, int, int]]:
    """Per slot (local HH:MM), how many more of A, B and C fit."""
    listing = slots(e, hall, day)
    assert listing.status_code == 200, listing.json
    ids = [str(hall.services[p]) for p in "ABC"]
    return {s["local"]: tuple(s["services"][i] for i in ids) for s in listing.json["slots"]}


def page(e: Env, token: str) -> dict:
    answer = e.client.get(f"{API}/public/appointments/{token}")
    assert answer.status_code == 200, answer.json
    return answer.json


def queued_at(e: Env, ticket_token: str) -> datetime:
    with e.rt.reader() as tx:
        return tx.session.execute(select(Ticket.queued_at).where(Ticket.public_token == ticket_token)).scalar_one()


def held_s(e: Env, hall: HallSetup) -> dict[str, float]:
    with e.rt.reader() as tx:
        rows = tx.session.execute(select(AppointmentSlot.slot_start, AppointmentSlot.booked_s)
                                  .where(AppointmentSlot.hall_id == hall.id)).all()
    return {r.slot_start.astimezone(SHANGHAI).strftime("%m-%d %H:%M"): r.booked_s for r in rows}


def scan(e: Env, hall: HallSetup, token: str, **body):
    return check_in(e.client, hall, scan=f"http://localhost/a/{token}", **body)


def reminders(e: Env) -> list[str]:
    return [t for t in outbox(e.rt) if "Reminder: your appointment" in t]


@pytest.fixture
def hall(env) -> HallSetup:
    """Hall 1 takes appointments (hall 2 does not), with Tuesday's plan."""
    config.update_hall(env.rt, env.world.one.id, {"booking": {"enabled": True}})
    plan(env, env.world.one, TUE, MORNING)
    return env.world.one


# --------------------------------------------------------------------------- the slots offered

def test_appointment_slots_offer_exactly_what_the_plan_leaves_beyond_the_forecast_walk_ins(env, hall):
    listing = slots(env, hall, TUE)
    assert listing.status_code == 200
    body = listing.json
    assert (body["day"], body["planned"], body["slot_minutes"], body["horizon_days"]) == ("2026-11-24", True, 30, 7)
    assert [s["prefix"] for s in body["services"]] == ["A", "B", "C"]
    assert len(body["slots"]) == 48  # open all day: every half hour, each wholly inside the day
    first = body["slots"][0]
    assert (first["start"], first["end"], first["local"]) == ("2026-11-23T16:00:00+00:00",
                                                              "2026-11-23T16:30:00+00:00", "00:00")
    expected = {s["local"]: OFFERED.get(s["local"], (0, 0, 0)) for s in body["slots"]}
    assert offered(env, hall, TUE) == expected
    # the manager's view: capacity in counter-seconds, nothing booked yet
    view = env.client.get(f"{API}/halls/{hall.id}/appointments", query_string={"date": "2026-11-24"},
                          headers=bearer(staff_token(env.rt, hall.staff["m1"])))
    assert view.status_code == 200 and view.json["planned"] is True and view.json["share"] == 0.5
    capacity = {s["local"]: s["capacity_s"] for s in view.json["slots"] if s["capacity_s"]}
    assert capacity == {"09:00": 1110, "09:30": 600, "10:00": 1800, "11:00": 720, "11:30": 1800}
    assert {s["booked_s"] for s in view.json["slots"]} == {0}


def test_appointment_slots_follow_the_halls_share_and_today_only_after_now(env, hall):
    config.update_hall(env.rt, hall.id, {"booking": {"share": 0.25}})
    assert {k: v for k, v in offered(env, hall, TUE).items() if any(v)} == {
        "09:00": (4, 1, 0), "09:30": (2, 0, 0), "10:00": (7, 2, 1), "11:00": (3, 0, 0), "11:30": (7, 2, 1)}
    plan(env, hall, MON)  # today, 10:00: the slot starting now is not offered any more
    today = offered(env, hall, MON)
    assert list(today)[:3] == ["10:30", "11:00", "11:30"] and len(today) == 27
    assert {k: v for k, v in today.items() if any(v)} == {"10:30": (7, 2, 1), "11:00": (7, 2, 1), "11:30": (7, 2, 1)}
    assert error(book(env, hall, at(MON, "10:00"))) == (422, "slot_past")  # it starts now


def test_appointment_slots_are_none_without_a_plan_on_a_closure_day_or_beyond_the_horizon(env, hall):
    wednesday = slots(env, hall, WED)
    assert wednesday.status_code == 200
    assert (wednesday.json["planned"], wednesday.json["slots"]) == (False, [])
    config.update_hall(env.rt, hall.id, {"closures": [{"date": "2026-11-24", "note": "维修"}]})
    closed = slots(env, hall, TUE).json
    assert (closed["planned"], closed["slots"]) == (True, [])
    assert error(slots(env, hall, MON + timedelta(days=8))) == (422, "day_out_of_range")
    assert error(slots(env, hall, MON - timedelta(days=1))) == (422, "day_out_of_range")
    assert slots(env, hall, MON + timedelta(days=7)).status_code == 200
    assert error(slots(env, env.world.two, TUE)) == (409, "booking_off")


def test_an_appointment_slot_on_a_closure_day_or_across_closing_time_is_not_offered_nor_booked(env, hall):
    config.update_hall(env.rt, hall.id, {"opening_hours": {**ALL_DAY, "tue": [["09:00", "11:45"]]}})
    assert list(offered(env, hall, TUE)) == ["09:00", "09:30", "10:00", "10:30", "11:00"]  # 11:30 would end 12:00
    assert error(book(env, hall, at(TUE, "11:30"))) == (409, "slot_unavailable")
    env.clock.advance(seconds=60)
    assert error(book(env, hall, at(TUE, "09:10"))) == (409, "slot_unavailable")  # not a slot's start
    env.clock.advance(seconds=60)
    config.update_hall(env.rt, hall.id, {"closures": [{"date": "2026-11-24", "note": "维修"}]})
    assert offered(env, hall, TUE) == {}
    refused = book(env, hall, at(TUE, "09:00"))
    assert error(refused) == (409, "slot_unavailable") and refused.json["error"]["field"] == "slot_start"
    env.clock.advance(seconds=60)
    assert error(book(env, hall, at(WED, "09:00"))) == (409, "slot_unavailable")  # no plan for Wednesday
    env.clock.advance(seconds=60)
    assert error(book(env, hall, at(MON + timedelta(days=8), "09:00"))) == (422, "day_out_of_range")
    assert held_s(env, hall) == {}
    with env.rt.reader() as tx:
        assert tx.session.execute(select(Appointment.id)).all() == []


# --------------------------------------------------------------------------- booking

def test_an_appointment_is_booked_with_a_book_code_and_confirmed_with_a_check_in_code(env, hall):
    sent = ask_code(env, hall, "+86 138-0013-8000")
    assert sent.status_code == 201 and sent.json["mobile_masked"] == "138****8000"
    [message] = outbox(env.rt)
    assert message.startswith("【营业厅1】预约验证码 ")
    code = last_code(env)
    answer = post_booking(env, hall, at(TUE, "09:00"), f"{code[:3]}-{code[3:]}")
    assert answer.status_code == 201, answer.json
    a = answer.json
    assert (a["state"], a["business_day"], a["mobile_masked"], a["ticket_token"]) == (
        "booked", "2026-11-24", "138****8000", None)
    assert (a["slot_start"], a["slot_end"]) == ("2026-11-24T01:00:00+00:00", "2026-11-24T01:30:00+00:00")
    assert (a["check_in_from"], a["late_after"]) == ("2026-11-24T00:00:00+00:00", "2026-11-24T01:10:00+00:00")
    assert a["service"]["id"] == hall.services["A"] and a["hall"]["code"] == "H1"
    assert page(env, a["public_token"]) == a
    confirmation = outbox(env.rt)[-1]
    assert "您已预约 11月24日 09:00 办理业务A" in confirmation
    assert CONFIRMATION.search(confirmation).group(1) == "11-24 09:00"
    assert re.fullmatch(r"\d{6}", last_check_in_code(env)) and len(outbox(env.rt)) == 2
    assert offered(env, hall, TUE)["09:00"] == (8, 2, 1)  # 1110 - 120 = 990 left
    assert held_s(env, hall) == {"11-24 09:00": 120.0}
    env.clock.advance(seconds=60)
    assert error(post_booking(env, hall, at(WED, "10:00"), code)) == (422, "code_expired")  # good once
    assert error(post_booking(env, hall, at(TUE, "10:00"), code, mobile="13900139000")) == (422, "code_expired")


def test_an_appointment_needs_a_code_asked_for_booking(env, hall):
    config.update_hall(env.rt, hall.id, {"remote_queue": {"enabled": True}})
    env.client.post(f"{API}/public/halls/{hall.id}/codes", json={"mobile": MOBILE})  # purpose join
    join_code = re.search(r"Your code for a remote ticket: (\d{6}) ", outbox(env.rt)[-1]).group(1)
    assert error(post_booking(env, hall, at(TUE, "09:00"), join_code)) == (422, "code_expired")
    env.clock.advance(seconds=60)
    ask_code(env, hall)
    code = last_code(env)
    wrong = post_booking(env, hall, at(TUE, "09:00"), f"{(int(code) + 1) % 10 ** 6:06d}")
    assert error(wrong) == (422, "code_wrong") and wrong.json["error"]["tries_left"] == 4
    assert error(ask_code(env, env.world.two)) == (409, "booking_off")
    assert post_booking(env, hall, at(TUE, "09:00"), code).status_code == 201


def test_the_last_appointment_place_in_a_slot_goes_once(env, hall):
    numbers = [f"1390013900{n}" for n in range(6)]
    codes = []
    for n, mobile in enumerate(numbers):
        assert ask_code(env, hall, mobile, address=f"10.0.1.{n}").status_code == 201
        codes.append(last_code(env))
    slot = at(TUE, "11:00")  # 720 counter-seconds: one B (420), not two
    answers = all_at_once(6, lambda i: post_booking(env, hall, slot, codes[i], "B", numbers[i]))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409, 409, 409], [a.json for a in answers]
    assert {a.json["error"]["code"] for a in answers if a.status_code == 409} == {"slot_full"}
    assert held_s(env, hall) == {"11-24 11:00": 420.0}
    assert offered(env, hall, TUE)["11:00"] == (2, 0, 0)  # 300 left: two A
    # the five who lost still hold good codes: two of them get the last two places for A
    losers = [i for i, a in enumerate(answers) if a.status_code == 409]
    again = all_at_once(5, lambda k: post_booking(env, hall, slot, codes[losers[k]], "A", numbers[losers[k]]))
    assert sorted(a.status_code for a in again) == [201, 201, 409, 409, 409], [a.json for a in again]
    assert held_s(env, hall) == {"11-24 11:00": 660.0}  # never beyond 720
    assert offered(env, hall, TUE)["11:00"] == (0, 0, 0)
    view = env.client.get(f"{API}/halls/{hall.id}/appointments", query_string={"date": "2026-11-24"},
                          headers=bearer(staff_token(env.rt, hall.staff["m1"]))).json
    [eleven] = [s for s in view["slots"] if s["local"] == "11:00"]
    assert (eleven["capacity_s"], eleven["booked_s"], eleven["appointments"]) == (720, 660, {"booked": 3})
    with env.rt.reader() as tx:
        states = tx.session.execute(select(Appointment.state, Appointment.work_s)
                                    .order_by(Appointment.work_s)).all()
    assert [(s.state, s.work_s) for s in states] == [("booked", 120.0), ("booked", 120.0), ("booked", 420.0)]


def test_appointment_booking_is_blocked_after_three_no_shows_within_thirty_days(env, hall):
    for day in (WED, THU, FRI):
        plan(env, hall, day)
    for day in (TUE, WED, THU):
        answer = book(env, hall, at(day, "09:00"))  # the third is booked with two no-shows behind it
        assert answer.status_code == 201, answer.json
        env.clock.now = at(day, "09:10") + timedelta(seconds=1)
        assert appointments.mark_no_shows(env.rt) == 1
        assert page(env, answer.json["public_token"])["state"] == "no_show"
    refused = book(env, hall, at(FRI, "09:00"))
    assert error(refused) == (409, "booking_blocked") and refused.json["error"]["field"] == "mobile"
    assert refused.json["error"]["until"] == "2026-12-26T01:00:00+00:00"  # 30 days from the third
    assert "2026-12-26" in refused.json["error"]["message"]
    assert book(env, hall, at(FRI, "09:00"), mobile="13900139000").status_code == 201  # another number may
    assert held_s(env, hall)["11-27 09:00"] == 120.0


def test_one_appointment_per_number_per_day(env, hall):
    plan(env, hall, WED)
    first = booked(env, hall, at(TUE, "09:00"))
    env.clock.advance(seconds=60)
    held = book(env, hall, at(TUE, "10:00"), "B")
    assert error(held) == (409, "appointment_held") and held.json["error"]["at"] == "2026-11-24T01:00:00+00:00"
    assert held_s(env, hall) == {"11-24 09:00": 120.0}
    env.clock.advance(seconds=60)
    assert book(env, hall, at(WED, "10:00"), "B").status_code == 201  # another day
    env.clock.advance(seconds=60)
    other = "13900139000"
    assert ask_code(env, hall, other).status_code == 201
    local_form = env.client.post(f"{API}/public/halls/{hall.id}/appointments", json={  # another number
        "service_id": hall.services["A"], "slot_start": "2026-11-24T10:00:00+08:00", "mobile": other,
        "code": last_code(env)})
    assert local_form.status_code == 201 and local_form.json["slot_start"] == "2026-11-24T02:00:00+00:00"
    assert env.client.post(f"{API}/public/appointments/{first['public_token']}/cancel").status_code == 200
    env.clock.advance(seconds=60)
    assert book(env, hall, at(TUE, "10:00"), "B").status_code == 201  # the first cancelled: one again


def test_an_appointment_is_not_rescheduled_onto_a_day_the_number_holds_another(env, hall):
    plan(env, hall, WED)
    tuesday = booked(env, hall, at(TUE, "09:00"))
    env.clock.advance(seconds=60)
    booked(env, hall, at(WED, "10:00"))
    moved = env.client.post(f"{API}/public/appointments/{tuesday['public_token']}/reschedule",
                            json={"slot_start": at(WED, "11:00").isoformat()})
    assert moved.status_code == 409, moved.json  # today: 200, and Wednesday holds two of this number's
    assert moved.json["error"]["code"] == "appointment_held"


# --------------------------------------------------------------------------- cancel and reschedule

def test_a_cancelled_appointment_gives_its_place_back(env, hall):
    assert offered(env, hall, TUE)["11:00"] == (6, 1, 1)
    a = booked(env, hall, at(TUE, "11:00"), "C")
    assert offered(env, hall, TUE)["11:00"] == (1, 0, 0)  # 720 - 600 = 120: one A
    cancelled = env.client.post(f"{API}/public/appointments/{a['public_token']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    assert offered(env, hall, TUE)["11:00"] == (6, 1, 1)
    assert held_s(env, hall) == {"11-24 11:00": 0.0}
    again = env.client.post(f"{API}/public/appointments/{a['public_token']}/cancel")
    assert error(again) == (409, "appointment_not_booked") and again.json["error"]["state"] == "cancelled"
    assert error(scan(env, hall, a["public_token"])) == (409, "appointment_ended")
    assert held_s(env, hall) == {"11-24 11:00": 0.0}  # given back once, not twice
    assert env.client.get(f"{API}/public/appointments/no-such-token").status_code == 404


def test_an_appointment_checked_in_cannot_be_cancelled(env, hall):
    plan(env, hall, MON)
    a = booked(env, hall, at(MON, "10:30"))
    assert scan(env, hall, a["public_token"]).status_code == 200
    refused = env.client.post(f"{API}/public/appointments/{a['public_token']}/cancel")
    assert error(refused) == (409, "appointment_not_booked") and refused.json["error"]["state"] == "checked_in"
    assert page(env, a["public_token"])["state"] == "checked_in"
    assert held_s(env, hall) == {"11-23 10:30": 120.0}


def test_an_appointment_rescheduled_to_a_full_slot_stays_where_it_was(env, hall):
    booked(env, hall, at(TUE, "11:00"), "C", mobile="13900139000")  # 11:00 has room for no more C
    mine = booked(env, hall, at(TUE, "10:00"), "C")
    refused = env.client.post(f"{API}/public/appointments/{mine['public_token']}/reschedule",
                              json={"slot_start": at(TUE, "11:00").isoformat()})
    assert error(refused) == (409, "slot_full")
    assert page(env, mine["public_token"])["slot_start"] == "2026-11-24T02:00:00+00:00"
    assert held_s(env, hall) == {"11-24 10:00": 600.0, "11-24 11:00": 600.0}
    assert offered(env, hall, TUE)["10:00"] == (10, 2, 2)  # 1800 - 600 = 1200
    same = env.client.post(f"{API}/public/appointments/{mine['public_token']}/reschedule",
                           json={"slot_start": at(TUE, "10:00").isoformat()})
    assert error(same) == (422, "same_slot")
    moved = env.client.post(f"{API}/public/appointments/{mine['public_token']}/reschedule",
                            json={"slot_start": at(TUE, "11:30").isoformat()})
    assert moved.status_code == 200, moved.json
    assert (moved.json["state"], moved.json["slot_start"]) == ("booked", "2026-11-24T03:30:00+00:00")
    assert held_s(env, hall) == {"11-24 10:00": 0.0, "11-24 11:00": 600.0, "11-24 11:30": 600.0}
    assert offered(env, hall, TUE)["10:00"] == (15, 4, 3)


# --------------------------------------------------------------------------- arriving at the kiosk

def test_an_appointment_checked_in_on_time_queues_head_start_before_its_slot(env, hall):
    plan(env, hall, MON)
    a = booked(env, hall, at(MON, "11:00"))  # queues as if it came at 10:50
    env.clock.now = at(MON, "10:49")
    before = walk_in(env.client, hall)
    env.clock.now = at(MON, "10:51")
    after = walk_in(env.client, hall)
    env.clock.now = at(MON, "10:52")
    arrived = scan(env, hall, a["public_token"])
    assert arrived.status_code == 200, arrived.json
    ticket = arrived.json
    assert (ticket["state"], ticket["channel"], ticket["label"]) == ("waiting", "appointment", "A003")
    assert ticket["checked_in_at"] == "2026-11-23T02:52:00+00:00"
    assert queued_at(env, ticket["public_token"]) == at(MON, "10:50")
    view = page(env, a["public_token"])
    assert (view["state"], view["ticket_token"]) == ("checked_in", ticket["public_token"])
    s1 = bearer(staff_token(env.rt, hall.staff["s1"]))
    counter = hall.counters[1]
    assert env.client.post(f"{API}/counters/{counter}/open", json={}, headers=s1).status_code == 200
    env.clock.now = at(MON, "10:53")
    called = []
    for _ in range(3):
        call = env.client.post(f"{API}/counters/{counter}/call-next", headers=s1)
        called.append(call.json["ticket"]["label"])
        env.client.post(f"{API}/counters/{counter}/finish", json={}, headers=s1)
    assert called == [before["label"], "A003", after["label"]] == ["A001", "A003", "A002"]


def test_an_appointment_checked_in_too_early_waits_or_queues_now_as_a_walk_in(env, hall):
    plan(env, hall, MON)
    early = booked(env, hall, at(MON, "11:30"))
    env.clock.advance(seconds=60)
    opening = booked(env, hall, at(MON, "11:30"), mobile="13900139000")
    env.clock.now = at(MON, "10:29") + timedelta(seconds=59)
    refused = scan(env, hall, early["public_token"])
    assert error(refused) == (409, "appointment_early")
    assert (refused.json["error"]["opens"], refused.json["error"]["opens_at"]) == ("10:30", "2026-11-23T02:30:00+00:00")
    assert page(env, early["public_token"])["state"] == "booked"
    now = scan(env, hall, early["public_token"], as_walk_in=True)
    assert now.status_code == 200 and now.json["channel"] == "appointment"
    assert queued_at(env, now.json["public_token"]) == env.clock.now  # from now
    env.clock.now = at(MON, "10:30")  # check-in opens: exactly 60 minutes before
    on_time = scan(env, hall, opening["public_token"])
    assert on_time.status_code == 200, on_time.json
    assert queued_at(env, on_time.json["public_token"]) == at(MON, "11:20")


def test_an_appointment_checked_in_after_the_grace_queues_as_a_walk_in(env, hall):
    plan(env, hall, MON)
    last_minute = booked(env, hall, at(MON, "11:00"))
    env.clock.advance(seconds=60)
    late = booked(env, hall, at(MON, "11:00"), mobile="13900139000")
    env.clock.now = at(MON, "11:10")  # exactly the grace: still on time
    in_time = scan(env, hall, last_minute["public_token"])
    assert in_time.status_code == 200 and queued_at(env, in_time.json["public_token"]) == at(MON, "10:50")
    env.clock.advance(seconds=1)
    walked = scan(env, hall, late["public_token"])
    assert walked.status_code == 200 and walked.json["channel"] == "appointment"
    assert queued_at(env, walked.json["public_token"]) == at(MON, "11:10") + timedelta(seconds=1)


def test_an_appointment_checked_in_twice_is_told_so(env, hall):
    plan(env, hall, MON)
    a = booked(env, hall, at(MON, "10:30"))
    code = last_check_in_code(env)
    first = scan(env, hall, a["public_token"])
    assert first.status_code == 200
    again = scan(env, hall, a["public_token"])
    assert error(again) == (409, "checked_in_already") and again.json["error"]["label"] == first.json["label"]
    by_code = check_in(env.client, hall, mobile=MOBILE, code=code)
    assert error(by_code) == (409, "checked_in_already")
    assert error(scan(env, env.world.two, a["public_token"])) == (404, "no_remote_ticket")  # hall 2's kiosk
    with env.rt.reader() as tx:
        assert tx.session.execute(select(Ticket.id).where(Ticket.channel == "appointment")).all() == [
            (first.json["id"],)]


def test_an_appointment_is_checked_in_by_number_and_check_in_code(env, hall):
    plan(env, hall, MON)
    a = booked(env, hall, at(MON, "10:30"))
    code = last_check_in_code(env)
    wrong = check_in(env.client, hall, mobile=MOBILE, code=f"{(int(code) + 1) % 10 ** 6:06d}")
    assert error(wrong) == (422, "code_wrong")
    env.clock.advance(minutes=5)
    arrived = check_in(env.client, hall, mobile=MOBILE, code=code)
    assert arrived.status_code == 200, arrived.json
    assert (arrived.json["state"], arrived.json["channel"]) == ("waiting", "appointment")
    assert queued_at(env, arrived.json["public_token"]) == at(MON, "10:20")
    assert page(env, a["public_token"])["ticket_token"] == arrived.json["public_token"]


def test_an_appointment_check_in_code_still_works_after_the_number_books_another_day(env, hall):
    plan(env, hall, MON)
    today = booked(env, hall, at(MON, "10:30"))
    code = last_check_in_code(env)
    env.clock.advance(seconds=60)
    booked(env, hall, at(TUE, "09:00"))
    arrived = check_in(env.client, hall, mobile=MOBILE, code=code)
    assert arrived.status_code == 200, arrived.json
    assert page(env, today["public_token"])["state"] == "checked_in"


# --------------------------------------------------------------------------- the jobs: no-shows, reminders

def test_an_appointment_not_checked_in_by_the_end_of_its_grace_is_a_no_show(env, hall):
    a = booked(env, hall, at(TUE, "09:00"))
    other = booked(env, hall, at(TUE, "09:30"), mobile="13900139000")
    env.clock.now = at(TUE, "09:10")
    assert appointments.mark_no_shows(env.rt) == 0
    assert page(env, a["public_token"])["state"] == "booked"
    env.clock.advance(seconds=1)
    assert appointments.mark_no_shows(env.rt) == 1
    assert appointments.mark_no_shows(env.rt) == 0
    assert page(env, a["public_token"])["state"] == "no_show"
    assert page(env, other["public_token"])["state"] == "booked"
    assert error(scan(env, hall, a["public_token"])) == (409, "appointment_ended")
    assert error(env.client.post(f"{API}/public/appointments/{a['public_token']}/cancel")) == (
        409, "appointment_not_booked")


def test_the_day_before_and_hour_before_appointment_reminders_go_once_each(env, hall):
    booked(env, hall, at(TUE, "11:00"))  # booked Monday 10:00: the day before is due from Monday 11:00
    none = {"day_before": 0, "soon": 0, "skipped": 0}
    env.clock.now = at(MON, "10:59")
    assert appointments.send_reminders(env.rt) == none
    env.clock.now = at(MON, "11:00")
    assert appointments.send_reminders(env.rt) == {**none, "day_before": 1}
    assert appointments.send_reminders(env.rt) == none
    [day_before] = reminders(env)
    assert "提醒：您预约了明天 11:00 办理业务A" in day_before and day_before.startswith("【营业厅1】")
    env.clock.now = at(TUE, "09:59")
    assert appointments.send_reminders(env.rt) == none
    env.clock.now = at(TUE, "10:00")
    assert appointments.send_reminders(env.rt) == {**none, "soon": 1}
    env.clock.advance(minutes=1)
    assert appointments.send_reminders(env.rt) == none
    assert len(reminders(env)) == 2 and "提醒：您预约了今天 11:00" in reminders(env)[-1]


def test_an_appointment_booked_after_its_day_before_reminder_was_due_gets_only_the_hour_before(env, hall):
    booked(env, hall, at(TUE, "09:00"))  # 23 hours ahead
    env.clock.advance(minutes=1)
    assert appointments.send_reminders(env.rt)["day_before"] == 0
    env.clock.now = at(TUE, "08:00")
    assert appointments.send_reminders(env.rt) == {"day_before": 0, "soon": 1, "skipped": 0}
    assert len(reminders(env)) == 1


def test_the_day_before_appointment_reminder_waits_out_the_halls_quiet_hours(env, hall):
    plan(env, hall, TUE, start="21:00", end="22:00")  # the plan is one row a day: replaced by the evening's
    booked(env, hall, at(TUE, "21:30"))
    for moment in (at(MON, "21:30"), at(MON, "23:59"), at(TUE, "07:59")):  # quiet 21:00-08:00
        env.clock.now = moment
        assert appointments.send_reminders(env.rt)["day_before"] == 0, moment
    assert reminders(env) == []
    env.clock.now = at(TUE, "08:00")
    assert appointments.send_reminders(env.rt)["day_before"] == 1
    assert "Reminder: your appointment at 21:30." in reminders(env)[0]
    env.clock.now = at(TUE, "20:30")  # the hour before is not held back by quiet hours
    config.update_hall(env.rt, hall.id, {"survey": {"quiet_hours": ["20:00", "23:00"]}})
    assert appointments.send_reminders(env.rt)["soon"] == 1
    assert len(reminders(env)) == 2


def test_a_day_before_appointment_reminder_held_to_the_morning_says_today(env, hall):
    plan(env, hall, TUE, start="21:00", end="22:00")
    booked(env, hall, at(TUE, "21:30"))
    env.clock.now = at(TUE, "08:00")
    assert appointments.send_reminders(env.rt)["day_before"] == 1
    assert "您预约了今天 21:30" in reminders(env)[0]


def test_no_appointment_reminder_goes_to_a_number_that_opted_out(env, hall):
    other = "13900139000"
    booked(env, hall, at(TUE, "11:00"))
    env.clock.advance(seconds=60)
    booked(env, hall, at(TUE, "11:30"), mobile=other)
    with env.rt.uow() as tx:
        tx.session.add(SmsOptOut(number_key=remote.NumberKeys(env.rt, MOBILE).number, number_masked="138****8000",
                                 opted_out_at=env.rt.now()))
        tx.commit()
    env.clock.now = at(MON, "11:30")
    assert appointments.send_reminders(env.rt) == {"day_before": 1, "soon": 0, "skipped": 1}
    assert appointments.send_reminders(env.rt) == {"day_before": 0, "soon": 0, "skipped": 0}
    [only] = reminders(env)
    assert "11:30" in only
    with env.rt.reader() as tx:
        sent_to = tx.session.execute(select(Appointment.reminded_day_before_at)
                                     .order_by(Appointment.id)).scalars().all()
    assert sent_to == [at(MON, "11:30"), at(MON, "11:30")]  # claimed both: the opted-out one is not tried again
    env.clock.now = at(TUE, "10:00")
    assert appointments.send_reminders(env.rt) == {"day_before": 0, "soon": 0, "skipped": 1}
    assert len(reminders(env)) == 1


def test_appointment_capacity_reads_the_halls_pooled_p90_where_the_forecast_has_it(env):
    """The plan pools the services: the hall's p90 times the mix's handle time (the services' means
    weight it), not the services' own p90s summed, which overstate the hall's upper band."""
    e, hall = env, env.world.one
    config.update_hall(e.rt, hall.id, {"booking": {"enabled": True}})
    # 09:00: A 6 and B 2 expected (means = p90 here), the hall's p90 only 6: work = 6 x (6x120 + 2x420)/8
    plan(e, hall, TUE, {("09:00", "A"): 6, ("09:00", "B"): 2, ("09:00", None): 6})
    weighted = (6 * 120 + 2 * 420) / 8
    spare = 2 * 1800 - 6 * weighted  # two counters over the slot's two intervals; 09:15 has no walk-ins
    expected = int((spare * 0.5) // 120), int((spare * 0.5) // 420), int((spare * 0.5) // 600)
    assert offered(env, hall, TUE)["09:00"] == expected
    summed = 2 * 1800 - (6 * 120 + 2 * 420)  # what the services' own bands alone would leave
    assert expected[0] > int((summed * 0.5) // 120)
