"""The pages of appointments (预约): the hall's public page offers booking when the hall takes
appointments (and says how: the days ahead, the no-show policy), the appointment's page and its QR
code, and the ticket's page once the appointment is checked in. The booking itself, its rules
and its races are tests/integration/test_appointments.py's; the browser's flow is
tests/e2e/test_appointments.py's."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

from app.domain.appointments import BookingRules
from app.services import appointments, config, queue, remote

SLOT = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in Shanghai, the day after the clock's


def booked(rt, hall, token: str = "appt-page-token", state: str = "booked") -> str:
    """An appointment stored as booking stores it (the booking's own rules are tested elsewhere)."""
    with rt.uow() as tx:
        tx.session.execute(appointments.APPOINTMENTS.insert().values(
            hall_id=hall.id, service_id=hall.services["A"], business_day=date(2026, 11, 24), slot_start=SLOT,
            slot_minutes=30, work_s=120.0, state=state, number_cipher=None, number_key="k" * 64,
            number_masked="138****8000", public_token=token, created_at=datetime(2026, 11, 23, 2, tzinfo=timezone.utc)))
        tx.commit()
    return token


def page_data(html: str, name: str) -> dict:
    return json.loads(re.search(rf"window\.{name} = (\{{.*?\}});</script>", html, re.S).group(1))


def test_the_public_hall_says_whether_and_how_far_ahead_it_takes_appointments(client, rt, world):
    one = world.one
    answer = client.get("/api/v1/public/halls/H1").get_json()
    assert answer["booking"]["enabled"] is False
    config.update_hall(rt, one.id, {"booking": {"enabled": True, "horizon_days": 3, "early_minutes": 45}})
    answer = remote.public_hall(rt, one.id)
    assert answer["booking"] == {"enabled": True, "horizon_days": 3, "slot_minutes": 30, "today": "2026-11-23",
                                 "policy": answer["booking"]["policy"]}
    assert "45 分钟" in answer["booking"]["policy"]["zh"] and "45 min" in answer["booking"]["policy"]["en"]


def test_the_join_page_offers_booking_beside_remote_tickets_only_when_the_hall_takes_appointments(client, rt, world):
    one = world.one
    page = client.get("/join/H1").get_data(as_text=True)
    assert 'id="book-form"' not in page and 'id="tab-book"' not in page and 'id="join-form"' in page
    # appointments on, remote tickets off: booking is still offered, with the policy before the number
    config.update_hall(rt, one.id, {"booking": {"enabled": True}})
    page = client.get("/join/H1").get_data(as_text=True)
    assert 'id="tab-book"' in page and 'id="book-form"' in page and 'id="remote-off"' in page
    policy = BookingRules(enabled=True).describe()
    assert policy["zh"] in page
    assert page.index('id="policy-text"') < page.index('id="book-mobile"') < page.index('id="book"')
    assert page_data(page, "JOIN")["hall"]["booking"]["enabled"] is True
    english = client.get("/join/H1?lang=en").get_data(as_text=True)
    assert policy["en"] in english
    # both on: the remote ticket's form is there as before
    config.update_hall(rt, one.id, {"remote_queue": {"enabled": True}})
    page = client.get("/join/H1").get_data(as_text=True)
    assert 'id="join-form"' in page and 'id="send-code"' in page and 'id="book-send-code"' in page


def test_the_appointment_page_shows_it_with_its_qr_code_and_becomes_the_ticket_page_once_checked_in(client, rt, world):
    one = world.one
    token = booked(rt, one)
    resp = client.get(f"/a/{token}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    data = page_data(page, "APPOINTMENT")
    assert data["status"]["state"] == "booked" and data["status"]["slot_start"] == SLOT.isoformat()
    assert data["booking"]["today"] == "2026-11-23"
    assert "138****8000" in page and "业务A" in page and f'data-src="/a/{token}/qr.svg"' in page
    assert json.loads(re.search(r'<script id="i18n" type="application/json">(.*?)</script>', page, re.S).group(1))[
        "check_in_from"]
    qr = client.get(f"/a/{token}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert client.get("/a/no-such-token").status_code == 404
    assert client.get("/a/no-such-token/qr.svg").status_code == 404
    # checked in at the kiosk: the appointment is a ticket, and its page is the ticket's
    ticket = queue.issue_ticket(rt, one.id, one.services["A"])
    with rt.uow() as tx:
        tx.session.execute(appointments.APPOINTMENTS.update().where(
            appointments.APPOINTMENTS.c.public_token == token).values(state="checked_in", ticket_id=ticket["id"]))
        tx.commit()
    resp = client.get(f"/a/{token}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/t/{ticket['public_token']}")
    # cancelled: the page says so and offers booking again
    other = booked(rt, one, "appt-cancelled-token", state="cancelled")
    page = client.get(f"/a/{other}?lang=en").get_data(as_text=True)
    assert page_data(page, "APPOINTMENT")["status"]["state"] == "cancelled" and 'href="/join/H1#book"' in page
