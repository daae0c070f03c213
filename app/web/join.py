"""The hall's public page (远程取号, 预约): a customer on their phone sees the queue and takes a number
before coming, or books a service, day and time (an appointment), with a one-time SMS code; and the
door's QR code that opens it."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, url_for
from flask_babel import gettext as _

from ..domain.errors import NotFound
from ..services import remote
from . import qr

bp = Blueprint("join", __name__, url_prefix="/join")


def strings() -> dict:
    """What join.js says, by the API's error codes where an answer is an error."""
    return {
        "min": _("min"), "no_counter": _("no counter open"), "waiting": _("waiting"),
        "sending": _("Sending…"), "sent": _("Code sent to {mobile}. It is valid for 10 minutes."),
        "resend": _("Send again ({s} s)"), "send": _("Send code"), "joining": _("Taking your number…"),
        "pick_service": _("Choose a service first."), "network": _("No connection. Try again."),
        "mobile_format": _("Enter an 11-digit mobile number starting with 1."),
        "code_format": _("Enter the 6 digits of the SMS."),
        "code_wrong": _("The code is wrong ({tries_left} tries left)."),
        "code_locked": _("Too many wrong codes: ask for a new one."),
        "code_expired": _("The code has expired or was not asked for: ask for a new one."),
        "code_used": _("This code was used just now: ask for a new one."),
        "resend_too_soon": _("A code was just sent: wait {retry_after_s} seconds."),
        "number_limit": _("Too many codes for this number: try again in {retry_after_s} seconds."),
        "address_limit": _("Too many codes from this network: try again in {retry_after_s} seconds."),
        "too_many_requests": _("Too many requests: wait a minute and try again."),
        "remote_off": _("This hall does not take remote tickets. Please take a ticket at the kiosk."),
        "hall_closed": _("The hall is closed now: remote tickets are taken during opening hours."),
        "remote_ticket_held": _("This number already has ticket {label} here today."),
        "sms_not_sent": _("The SMS could not be sent just now: try again in a minute."),
        "conflict": _("This service is not offered now."),
        "other": _("Something went wrong just now. Please try again."),
        # booking an appointment (预约): the days, the slots and the refusals by the API's code
        "book": {
            "today": _("Today"), "tomorrow": _("Tomorrow"),
            "left": _("{n} left"), "full": _("Fully booked"),
            "pick_service": _("Choose a service to see the free times."),
            "no_plan": _("No times are offered for this day yet: the hall has not planned its counters. Try again later or choose another day."),
            "no_slots": _("No free times left on this day: choose another day."),
            "loading": _("Loading the free times…"),
            "pick_slot": _("Choose a time first."),
            "chosen": _("{service} · {day} {from}–{to}"),
            "booking": _("Booking…"),
            "slot_full": _("This time has just been fully booked: choose another."),
            "slot_unavailable": _("This time is not offered any more: choose another."),
            "slot_past": _("This time has begun: choose a later one."),
            "booking_blocked": _("After missed appointments this number may book again from {until}."),
            "appointment_held": _("This number already has an appointment here that day at {at}."),
            "booking_off": _("This hall does not take appointments now."),
            "day_out_of_range": _("Appointments can be booked from today up to {horizon_days} days ahead."),
        },
    }


def _hall(code: str) -> dict | None:
    rt = current_app.extensions["hallq"]
    try:
        return remote.public_hall(rt, remote.hall_by_code(rt, code))
    except NotFound:
        return None


@bp.get("/<string:hall_code>")
def join_page(hall_code: str):
    """The page the door's QR code opens: the queue now, and a number taken from the phone."""
    hall = _hall(hall_code)
    if hall is None:
        return render_template("join.html", hall=None, strings=strings()), 404
    return render_template("join.html", hall=hall, strings=strings())


@bp.get("/<string:hall_code>/qr.svg")
def join_qr(hall_code: str):
    """The QR code of the hall's public page, for the door and the poster."""
    if _hall(hall_code) is None:
        return Response(status=404)
    return qr.svg_response(url_for("join.join_page", hall_code=hall_code, _external=True), scale=8, public=True)


@bp.get("/<string:hall_code>/poster")
def join_poster(hall_code: str):
    """An A4 poster for the door: the hall's name, the QR code and how it works, to print."""
    hall = _hall(hall_code)
    if hall is None:
        return render_template("join.html", hall=None, strings=strings()), 404
    return render_template("join_poster.html", hall=hall,
                           url=url_for("join.join_page", hall_code=hall_code, _external=True))
