"""The kiosk's pages (取号机): a touch screen bound to one hall by its device token."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static",
               static_url_path="/static")

DIVERSION_WAIT_S = 600  # from this estimated wait, a service with a self-service alternative suggests it first


def strings() -> dict:
    """Texts the page's script shows (the rest are in the template)."""
    return {
        "waiting": _("{n} waiting"), "wait": _("about {m} min"), "no_counter": _("no counter open now"),
        "bad_mobile": _("Please enter an 11-digit mobile number, or skip"),
        "not_mobile": _("This is not a mainland mobile number (they start with 1). Please check it, or skip"),
        "divert_wait": _("The wait for {service} is about {m} min."), "ahead": _("{n} ahead of you"),
        "printed": _("Ticket printed. Please take it."),
        "issued_at": _("Issued at"),
        "offline": _("Reconnecting…"), "closed": _("The hall is closed now."),
        "closed_until": _("The hall is closed now. It opens again at {t}."), "error": _("Sorry, something went wrong:"),
        "wait_unknown": _("wait shown when a counter opens"),
        "tiers": {"star": _("Star customer"), "vip": _("VIP"), "green": _("Green channel")},
        "priority_on": _("★ Priority ticket: {tier}. Now choose the service."),
        "pin": {"wrong": _("Wrong PIN. Please try again."),
                "locked": _("Too many wrong PINs at this kiosk: please wait 5 minutes."),
                "none": _("This hall has no floor guide PIN: priority tickets are issued at the desk.")},
    }


@bp.get("/")
def kiosk_page():
    """The kiosk: services with their queues, optional mobile number, priority path, the ticket and its QR."""
    return render_template("kiosk/kiosk.html", strings=strings(), diversion_wait_s=DIVERSION_WAIT_S)
