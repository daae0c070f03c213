"""The customer's phone page, reached from the ticket's QR code: place in line, wait, the call, live."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, url_for
from flask_babel import gettext as _

from ..domain.errors import NotFound
from ..services import queue
from . import qr

bp = Blueprint("phone", __name__, url_prefix="/t")


def strings() -> dict:
    return {
        "ahead": _("ahead of you"), "wait": _("estimated wait"), "min": _("min"), "no_counter": _("no counter open yet"),
        "waiting": _("Waiting"), "called": _("Please go to counter {n} now"), "serving": _("Being served at counter {n}"),
        "finished": _("Thank you for your visit"), "no_show": _("Your number was passed. Please take a new ticket."),
        "cancelled": _("You left the queue"), "offline": _("Reconnecting…"),
        "confirm_cancel": _("Leave the queue? Your number will be given up."),
        "recall": _("Called again ({n})"),
        # a ticket taken on the phone (远程取号): called only once checked in at the kiosk
        "remote": _("Check in at the kiosk by {t}"),
        "released": _("Not checked in in time: the number was released"),
    }


@bp.get("/<string:token>")
def ticket_page(token: str):
    """The page the ticket's QR code opens; 404 for an unknown token."""
    try:
        status = queue.ticket_status(current_app.extensions["hallq"], token)
    except NotFound:
        return render_template("phone.html", status=None, token=None, strings=strings()), 404
    return render_template("phone.html", status=status, token=token, strings=strings())


@bp.get("/<string:token>/qr.svg")
def ticket_qr(token: str):
    """The QR code of the ticket's page, for the kiosk's screen."""
    try:
        queue.ticket_status(current_app.extensions["hallq"], token)
    except NotFound:
        abort(404)
    return qr.svg_response(url_for("phone.ticket_page", token=token, _external=True))
