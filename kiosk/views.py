"""The kiosk's pages (取号机): a touch screen bound to one hall by its device token."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static",
               static_url_path="/static")

DIVERSION_WAIT_S = 600  # from this estimated wait, a service with a self-service alternative suggests it first


def strings() -> dict:
    return {
        "take": _("Please choose a service"), "waiting": _("{n} waiting"), "wait": _("about {m} min"),
        "no_counter": _("no counter open now"), "mobile_title": _("Mobile number (optional)"),
        "privacy": _("Only used to tell you about your turn and to ask, by SMS, how we served you. "
                     "Not shared, not used for marketing."),
        "skip": _("Skip"), "confirm": _("Take ticket"), "back": _("Back"), "clear": _("Clear"),
        "bad_mobile": _("Please enter an 11-digit mobile number, or skip"),
        "priority": _("Priority (floor guide)"), "pin_title": _("Floor guide: enter the PIN"),
        "tier_star": _("Star customer"), "tier_vip": _("VIP"), "tier_green": _("Green channel (elderly, disabled, pregnant)"),
        "divert_title": _("A shorter way"), "divert_keep": _("Take a ticket anyway"),
        "divert_go": _("I will use self-service"), "divert_wait": _("The wait for {service} is about {m} min."),
        "ticket_for": _("Your ticket"), "ahead": _("{n} ahead of you"), "scan": _("Scan to follow your turn on your phone"),
        "printed": _("Ticket printed. Please take it."), "done": _("Done"),
        "issued_at": _("Issued at"), "not_registered": _("This kiosk is not registered. Open the link given when "
                                                         "the device was registered."),
        "offline": _("Reconnecting…"), "closed": _("The hall is closed now."), "error": _("Sorry, something went wrong:"),
        "wait_unknown": _("wait shown when a counter opens"),
    }


@bp.get("/")
def kiosk_page():
    """The kiosk: services with their queues, optional mobile number, priority path, the ticket and its QR."""
    return render_template("kiosk/kiosk.html", strings=strings(), diversion_wait_s=DIVERSION_WAIT_S)
