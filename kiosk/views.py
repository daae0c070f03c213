"""The kiosk's pages (取号机): a touch screen bound to one hall by its device token."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from app.web import refusals

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static",
               static_url_path="/static")



def strings() -> dict:
    """Texts the page's script shows (the rest are in the template)."""
    refused = refusals.texts()
    return {
        "waiting": _("{n} waiting"), "wait": _("about {m} min"), "no_counter": _("no counter open now"),
        "bad_mobile": _("Please enter an 11-digit mobile number, or skip"),
        "not_mobile": _("This is not a mainland mobile number (they start with 1). Please check it, or skip"),
        "divert_wait": _("The wait for {service} is about {m} min."), "ahead": _("{n} ahead of you"),
        "printed": _("Ticket printed. Please take it."),
        "issued_at": _("Issued at"),
        "offline": _("Reconnecting…"), "closed": _("The hall is closed now."),
        "not_registered": _("This screen is not registered. Open the link given when the device was registered."),
        "closed_until": _("The hall is closed now. It opens again at {t}."), "error": _("Sorry, something went wrong:"),
        "try_again": _("Please try again, or ask the floor guide."),
        "wait_unknown": _("wait shown when a counter opens"),
        "tiers": {"star": _("Star customer"), "vip": _("VIP"), "green": _("Green channel")},
        "priority_on": _("★ Priority ticket: {tier}. Now choose the service."),
        # the PIN check's outcomes, worded as the API's refusals of them (web.refusals: pin_<outcome>)
        "pin": {outcome: refused[f"pin_{outcome}"] for outcome in ("wrong", "locked", "none")},
        # checking in a ticket taken on the phone (远程取号): refusals by the API's code ({…} from its details)
        "checkin": {
            "checked_in_already": _("{label} is checked in already. Please wait to be called."),
            "remote_expired": _("{label} was to check in by {by}, so the number was released. Please take a new ticket."),
            "remote_ended": _("{label} is no longer in the queue. Please take a new ticket."),
            "not_remote": _("{label} was taken here at the hall: it needs no check-in."),
            "no_remote_ticket": _("No ticket of this hall waits for check-in with this QR code or number."),
            "code_wrong": _("The check-in code is wrong ({tries_left} tries left)."),
            "code_locked": _("Too many wrong codes: scan the QR code on your phone, or ask the floor guide."),
            "code_format": _("The check-in code is the 6 digits in the SMS."),
            "mobile_format": _("Please enter the 11-digit mobile number you took the number with."),
            "mobile_invalid": _("Please enter the 11-digit mobile number you took the number with."),
            "scan_format": _("This is not a ticket's QR code. Please scan the QR code on your phone's ticket page."),
            "check_in_what": _("Scan the QR code, or enter your mobile number and the check-in code."),
            "other": _("The check-in did not work just now. Please try again, or ask the floor guide."),
            # an appointment (预约): too early (check-in opens {opens}), or cancelled or missed
            "appointment_early": _("Check-in for this appointment opens at {opens}."),
            "appointment_other_day": _("This appointment is for another day: check-in opens on {opens}."),
            "appointment_ended": _("This appointment was cancelled or missed. Please take a ticket."),
        },
        "walk_in_offer": _("You may wait until then, or queue now as a walk-in."),
        "idle": _("Returning to the start in {n} s."),  # the walk-away countdown's last seconds
        # the home screen's offer and the check-in panel: remote tickets, appointments, or both
        "offer": {
            "remote": _("Took a number on your phone? Check in here to be called."),
            "booking": _("Booked an appointment? Check in here when you arrive."),
            "both": _("Took a number or booked an appointment on your phone? Check in here to be called."),
        },
        "panel": {
            "remote": _("Check in a ticket taken on your phone"),
            "booking": _("Check in your appointment"),
            "both": _("Check in a ticket taken on your phone or an appointment"),
        },
        "scan_hint": {
            "remote": _("Hold the QR code on your phone's ticket page under the scanner."),
            "booking": _("Hold the QR code on your appointment's page under the scanner."),
            "both": _("Hold the QR code on your phone's ticket or appointment page under the scanner."),
        },
    }


@bp.get("/")
def kiosk_page():
    """The kiosk: services with their queues, optional mobile number, priority path, the ticket and its QR."""
    return render_template("kiosk/kiosk.html", strings=strings())
