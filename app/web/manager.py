"""The hall manager's live page (大堂经理实时看板): load state and why, people inside, today's door
counts, queues per service, counters, and the health of the door sensors.

The page is a shell: its script follows the hall over Socket.IO (``snapshot`` carries the load)
and reads the day's door counts from ``GET /api/v1/halls/{id}/footfall``, the arrival forecast
and counter plan from ``GET /api/v1/halls/{id}/forecast``, the standing peak warnings from
``GET /api/v1/halls/{id}/warnings`` and today's appointments against what the plan lets the hall
book from ``GET /api/v1/halls/{id}/appointments``. Who may open it is the rule that guards those figures
(``access.read_config``): administrators and head office for any hall, a hall manager for their
own. Forecasting now and acknowledging a warning follow ``access.manage_hall`` (administrators,
the hall's manager): head office sees, but does not act.

``/manager/overview`` is head office's table of every hall (``GET /api/v1/overview``).
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from ..domain import policy
from ..domain.errors import Forbidden, NotFound
from ..domain.hours import business_day, parse_zone
from ..services import config
from ..services.satisfaction import HEAD_OFFICE_ZONE
from . import access
from .api_kit import database_id
from .counter import pause_reasons

bp = access.signed_in_only(Blueprint("manager", __name__, url_prefix="/manager"))

CSV_DAYS = 30  # the download covers this many local days, today included


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
        "open": _("Open"), "closed": _("Closed"), "paused": _("Paused: {reason}"), "reasons": pause_reasons(), "called": _("called"), "serving": _("serving"),
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
        # waits per service
        "target_min": _("target {m} min"), "over_target": _("over the {m} min target"),
        # the forecast and the counter plan
        "forecast_empty": _("No forecast yet"), "forecast_failed": _("The forecast could not be loaded ({why})."),
        "forecasting": _("Forecasting…"), "forecast_made": _("Forecast made {t}"),
        "per_interval": _("arrivals per {m} min"), "counters_axis": _("counters"),
        "forecast_slot": _("{from}–{to}: forecast {p50} (likely {p10}–{p90}), mean {mean}"),
        "actual_slot": _("actual {n}"), "needed_slot": _("needed {n}"), "planned_slot": _("planned {n}"),
        "open_now_line": _("open now {n}"), "no_plan": _("No counter plan for this day"),
        "shift": _("Counter {n}: {from}–{to}"), "hours_value": _("{h} h"), "now": _("Now"),
        "today_word": _("Today"), "tomorrow_word": _("Tomorrow"), "list_sep": _(", "),
        "sources": {"nightly": _("nightly"), "manual": _("made by hand"), "intraday": _("updated today")},
        # peak warnings
        "kinds_warning": {"forecast": _("Forecast"), "live": _("Live")},
        "severities": {"warning": _("Warning"), "critical": _("Critical")},
        "raised_at": _("raised {t}"), "updated_at": _("updated {t}"),
        "acknowledge": _("Acknowledge"), "acknowledging": _("Acknowledging…"),
        "acknowledged": _("Acknowledged"), "acknowledged_by": _("by {who} at {t}"),
        "acknowledged_at": _("at {t}"), "unacknowledged": _("Not acknowledged yet"),
        "staff_n": _("staff #{n}"), "no_warnings": _("No warnings: queues are within target."),
        "warnings_failed": _("Warnings could not be loaded ({why})."), "warnings_count": _("{n} standing"),
        "act_failed": _("Not done: {why}"),
        # today's appointments (预约) against the capacity the counter plan leaves for booking
        "appt_axis": _("counter-minutes"),
        "appt_slot": _("{from}–{to}: {booked} of {capacity} counter-minutes booked"),
        "appt_count": _("{n} appointments"),
        "appt_total": _("{n} booked today"),
        "appt_no_plan": _("No counter plan for today: no times are offered for booking."),
        "appt_none": _("No times are offered for booking today."),
        "appt_share": _("{p} of the counters' spare time is offered for booking"),
        "appt_off": _("This hall takes no appointments now."),
        "appt_failed": _("Appointments could not be loaded ({why})."),
    }


def overview_strings() -> dict:
    """Texts of head office's table (the rest are in the template)."""
    return {
        "severities": {"warning": _("Warning"), "critical": _("Critical")},
        "updated": _("Updated {t}"), "summary": _("{halls} halls · {warned} with warnings · {critical} critical"),
        "load_failed": _("The overview could not be loaded ({why})."),
        "signed_out": _("You are signed out. Sign in again to keep this page live."),
        "empty": _("No hall matches."),
    }


def _refused(who, status: int, message: str):
    return render_template("manager.html", who=who, refused=message, halls=[], hall=None), status


@bp.get("/")
def dashboard():
    """``/manager/`` shows the signed-in manager's hall; administrators and head office pick one (``?hall=<id>``)."""
    rt = current_app.extensions["hallq"]
    who = access.principal()
    if not policy.may_use_manager_pages(who):
        return _refused(who, 403, _("This page is for hall managers, head office and administrators."))
    every_hall = who.hall_id is None  # administrators and head office pick a hall; a manager has theirs
    hall_id = request.args.get("hall", type=database_id) or (None if every_hall else who.hall_id)
    halls = config.list_halls(rt, access.hall_scope(who))
    if hall_id is None:
        return render_template("manager.html", who=who, refused=None, halls=halls, hall=None)
    try:
        access.read_config(hall_id)
        hall = config.get_hall(rt, hall_id)
    except Forbidden:
        return _refused(who, 403, _("You may not see this hall's live page."))
    except NotFound:
        return _refused(who, 404, _("There is no such hall."))
    today = business_day(rt.now(), parse_zone(hall["timezone"]))
    csv_from = (today - timedelta(days=CSV_DAYS - 1)).isoformat()
    can_manage = policy.may_manage_hall(who, hall_id)
    return render_template("manager.html", who=who, refused=None, halls=halls, hall=hall, strings=strings(),
                           csv_days=CSV_DAYS, csv_from=csv_from, csv_to=today.isoformat(), every_hall=every_hall,
                           can_manage=can_manage, csrf=access.csrf_token() if can_manage else "",
                           staff_names=config.hall_and_company_staff_names(rt, hall_id))


@bp.get("/overview")
def overview():
    """``/manager/overview``: head office's table of every hall, for administrators and head office."""
    who = access.principal()
    if not policy.may_read_config(who, None, access.region_halls):  # every hall (of its region)
        return render_template("overview.html", who=who, refused=_("This page is for head office and administrators."),
                               strings={}), 403
    return render_template("overview.html", who=who, refused=None, strings=overview_strings(),
                           zone=HEAD_OFFICE_ZONE)  # "updated at" in head office's time, as every other page
