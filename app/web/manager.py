"""The hall manager's live page (大堂经理实时看板): load state and why, people inside, today's door
counts, queues per service, counters, and the health of the door sensors.

The page is a shell: its script follows the hall over Socket.IO (``snapshot`` carries the load)
and reads the day's door counts from ``GET /api/v1/halls/{id}/footfall``. Who may open it is the
rule that guards those figures (``access.read_config``): administrators and head office for any
hall, a hall manager for their own.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..domain.errors import Forbidden, NotFound
from ..domain.hours import business_day, parse_zone
from ..domain.model import Role
from ..services import config
from . import access

bp = Blueprint("manager", __name__, url_prefix="/manager")

CSV_DAYS = 30  # the download covers this many local days, today included
MANAGERS = (Role.ADMIN, Role.HEAD_OFFICE, Role.HALL_MANAGER)


def strings() -> dict:
    """Texts the page's script shows (the rest are in the template)."""
    return {
        "states": {"busy": _("Busy"), "normal": _("Normal"), "idle": _("Idle")},
        "sep": _("; "),
        "why_busy_inside": _("{n} people inside, at or above {limit}"),
        "why_busy_queue": _("{n} waiting per open counter on average (busy from {limit})"),
        "why_no_counter": _("{n} waiting and no counter open"),
        "why_idle_inside": _("{n} people inside, {limit} or fewer"),
        "why_quiet_queue": _("at most one waiting per open counter"),
        "why_nobody_waiting": _("no one waiting"),
        "why_normal_inside": _("{n} people inside (busy from {busy}, quiet up to {idle})"),
        "why_normal_queue": _("{n} waiting per open counter on average (busy from {limit})"),
        "why_no_door_counter": _("no door counter: judged by the queue alone"),
        "no_door_counter": _("no door counter"),
        "wait_min": _("about {m} min"), "no_counter": _("no counter open"),
        "open": _("Open"), "closed": _("Closed"), "called": _("called"), "serving": _("serving"),
        "counter_n": _("Counter {n}"),
        "kinds": {"camera": _("Camera"), "infrared": _("Infrared")},
        "stale": _("No report for over 10 minutes: check this sensor"),
        "stale_short": _("{name}: no report for over 10 minutes"),
        "sensor_today": _("in {i} · out {o}"), "last_report": _("last report {t}"),
        "never": _("never reported"), "retired": _("retired"),
        "not_counted": _("not in the hall's totals"), "working": _("working"),
        "chart_empty": _("No door counts yet today"), "busy_line": _("busy from {n}"),
        "slot": _("{from}–{to}: {in} in, {out} out, {inside} inside"),
        "updated": _("Updated {t}"), "offline": _("Reconnecting…"),
        "signed_out": _("You are signed out. Sign in again to keep this page live."),
        "load_failed": _("Door counts could not be loaded ({why})."),
    }


def _refused(who, status: int, message: str):
    return render_template("manager.html", who=who, refused=message, halls=[], hall=None), status


@bp.get("/")
def dashboard():
    """``/manager/`` shows the signed-in manager's hall; administrators and head office pick one (``?hall=<id>``)."""
    rt = current_app.extensions["hallq"]
    who = access.session_staff()
    if who is None:
        return redirect(url_for("pages.login", next=request.full_path))
    if who.role not in MANAGERS:
        return _refused(who, 403, _("This page is for hall managers, head office and administrators."))
    every_hall = who.role in (Role.ADMIN, Role.HEAD_OFFICE)
    hall_id = request.args.get("hall", type=int) or (None if every_hall else who.hall_id)
    halls = config.list_halls(rt, None if every_hall else {who.hall_id})
    if hall_id is None:
        return render_template("manager.html", who=who, refused=None, halls=halls, hall=None)
    g.principal = who
    try:
        access.read_config(hall_id)
        hall = config.get_hall(rt, hall_id)
    except Forbidden:
        return _refused(who, 403, _("You may not see this hall's live page."))
    except NotFound:
        return _refused(who, 404, _("There is no such hall."))
    today = business_day(rt.now(), parse_zone(hall["timezone"]))
    csv_from = (today - timedelta(days=CSV_DAYS - 1)).isoformat()
    return render_template("manager.html", who=who, refused=None, halls=halls, hall=hall, strings=strings(),
                           csv_days=CSV_DAYS, csv_from=csv_from, csv_to=today.isoformat())
