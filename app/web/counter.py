"""The counter console (窗口工作台): sign in, pick a counter, open it, call and serve, with shortcuts."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..domain import policy
from ..domain.errors import DomainError
from ..services import queue
from . import access, refusals
from .api_kit import database_id

bp = access.signed_in_only(Blueprint("counter", __name__, url_prefix="/counter"))


def strings() -> dict:
    """Texts the page's script shows (the rest are in the template)."""
    return {
        "open": _("Open counter"), "close": _("Close counter"),
        "nobody": _("No one waiting"), "none": _("No current ticket"), "waited": _("waited {m} min"),
        "closed": _("This counter is closed"), "offline": _("Reconnecting…"), "done": _("Done"),
        "state_called": _("called"), "state_serving": _("serving"), "recalls": _("recalled {n}×"),
        "waiting_n": _("{n} waiting for this counter"),
        "held": _("{name} is working at this counter. Take it over to work here."),
        "taken_over": _("{name} has taken over this counter."),
        "take_over_confirm": _("Take over this counter from {name}? The customer at it stays with the counter."),
        "tiers": {"star": _("Star"), "vip": _("VIP"), "green": _("Green channel"), "ordinary": ""},
        "remote": _("Remote"), "remote_title": _("Taken on the customer's phone, checked in at the kiosk"),
        "appointment": _("Appointment"), "appointment_title": _("Booked ahead for a time slot, checked in at the kiosk"),
        "transferred_from": _("From counter {n} ({service}), served {m} min"),
        "pause": _("Pause"), "resume": _("Resume"), "paused": _("paused"),
        "paused_since": _("This counter is paused: {reason}, since {at}. No one is called here until you resume."),
        "reasons": pause_reasons(),
        # refusals by their stable code, in the page's language ({…} from the error's details)
        "errors": {**refusals.texts(),  # the console refreshes itself after these
                   "not_found": _("Not found: it may have been removed. The screen has been refreshed.")},
    }


def pause_reasons() -> dict:
    """model.PauseReason in the page's language (the console, the display, the manager's page)."""
    return {"break": _("Short break"), "training": _("Training"), "system": _("System fault")}


CONSOLE_COUNTER = "console_counter"  # the counter this session last worked at (the session ends at sign-out)


@bp.get("/")
def console():
    """``/counter`` picks a counter of the signed-in staff member's hall; ``?counter=<id>`` works it."""
    rt = current_app.extensions["hallq"]
    who = access.principal()
    hall_id = request.args.get("hall", type=database_id) or who.hall_id
    if hall_id is None:
        return render_template("counter_pick.html", who=who, hall=None, counters=[]), 400
    if not policy.may_operate_counter(who, hall_id):  # another hall's console: not even its queue
        return render_template("counter_pick.html", who=who, hall=None, counters=[],
                               refused=_("You may work only at the counters of your own hall.")), 403
    try:
        snapshot = queue.hall_snapshot(rt, hall_id)
    except DomainError:
        return render_template("counter_pick.html", who=who, hall=None, counters=[]), 404
    counter_id = request.args.get("counter", type=database_id)
    counters = snapshot["counters"]
    remembered = session.get(CONSOLE_COUNTER)
    if counter_id is None and not request.args.get("pick") and any(c["id"] == remembered for c in counters):
        # a reload or a bookmark of /counter/ goes back to the counter this person was working at
        return redirect(url_for("counter.console", hall=hall_id, counter=remembered))
    chosen = next((c for c in counters if c["id"] == counter_id), None)
    if chosen is None:
        return render_template("counter_pick.html", who=who, hall=snapshot["hall"], counters=counters)
    session[CONSOLE_COUNTER] = chosen["id"]
    return render_template("counter.html", who=who, hall=snapshot["hall"], counter=chosen,
                           services=snapshot["services"], counters=counters, csrf=access.csrf_token(),
                           strings=strings(), pause_reasons=list(pause_reasons().items()))
