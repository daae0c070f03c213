"""The appointment's page (预约详情), reached from the booking and its SMS: the service, day and slot
in the hall's time, when check-in opens and the late rule, the QR code the kiosk's scanner reads,
cancel and reschedule. Once checked in, the appointment is a ticket: its page is the ticket's."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import gettext as _

from ..domain.errors import NotFound
from ..domain.hours import business_day
from ..services import appointments
from ..services.hall_config import hall_config
from . import qr

bp = Blueprint("appointment", __name__, url_prefix="/a")


def strings() -> dict:
    """What appointment.js says, by the API's error codes where an answer is an error."""
    return {
        "states": {"booked": _("Booked"), "checked_in": _("Checked in"), "cancelled": _("Cancelled"),
                   "no_show": _("Missed: not checked in in time")},
        "check_in_from": _("Check in at the kiosk from {t}"),
        "late_rule": _("Arriving after {t}, you queue as a walk-in."),
        "when": _("{day} {from}–{to}"),
        "today": _("Today"), "tomorrow": _("Tomorrow"),
        "confirm_cancel": _("Cancel this appointment? Its place goes to someone else."),
        "cancelled_done": _("The appointment is cancelled."),
        "moved": _("The appointment is moved to {when}."),
        "current": _("Your time"),
        "left": _("{n} left"), "full": _("Fully booked"),
        "loading": _("Loading the free times…"),
        "no_plan": _("No times are offered for this day yet: the hall has not planned its counters. Try again later or choose another day."),
        "no_slots": _("No free times left on this day: choose another day."),
        "pick_slot": _("Choose a time first."),
        "move_to": _("Move to {t}"),
        "network": _("No connection. Try again."),
        "errors": {
            "slot_full": _("This time has just been fully booked: choose another."),
            "slot_unavailable": _("This time is not offered any more: choose another."),
            "slot_past": _("This time has begun: choose a later one."),
            "same_slot": _("That is your time already: choose another."),
            "appointment_held": _("This number already has an appointment here that day at {at}."),
            "day_out_of_range": _("Appointments can be booked from today up to {horizon_days} days ahead."),
            "booking_off": _("This hall does not take appointments now."),
            "appointment_not_booked": _("This appointment can no longer be changed."),
            "appointment_changed": _("The appointment changed just now: the page has been refreshed."),
            "other": _("Something went wrong just now. Please try again."),
        },
    }


def _rt():
    return current_app.extensions["hallq"]


def _booking(status: dict) -> dict:
    """What the page needs to offer another slot: the hall's today and how far ahead it books."""
    rt = _rt()
    with rt.reader() as tx:
        conf = hall_config(rt, tx.session, status["hall"]["id"])
    return {"enabled": conf.booking.enabled, "horizon_days": conf.booking.horizon_days,
            "today": business_day(rt.now(), conf.zone).isoformat()}


@bp.get("/<string:token>")
def appointment_page(token: str):
    """The appointment's page; once checked in, the ticket's page instead. 404 for an unknown token."""
    try:
        status = appointments.appointment_status(_rt(), token)
        booking = _booking(status)
    except NotFound:
        return render_template("appointment.html", status=None, token=None, booking=None, strings=strings()), 404
    if status["ticket_token"]:
        return redirect(url_for("phone.ticket_page", token=status["ticket_token"]))
    return render_template("appointment.html", status=status, token=token, booking=booking, strings=strings())


@bp.get("/<string:token>/qr.svg")
def appointment_qr(token: str):
    """The QR code of the appointment's page: the kiosk's scanner reads it to check the customer in."""
    try:
        appointments.appointment_status(_rt(), token)
    except NotFound:
        abort(404)
    return qr.svg_response(url_for("appointment.appointment_page", token=token, _external=True))
