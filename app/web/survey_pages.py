"""The survey pages staff use (满意度短信): the SMS outbox and the follow-up cases with the kept replies.

- ``/manager/outbox``: what the outbox gateway (the embedded default, no real SMS gateway) "sent",
  with a form on each message to answer as the customer would; the answer goes through
  ``POST /api/v1/sms/outbox/reply`` like a reply through a real gateway. Who may open it is the
  outbox's rule (``access.use_outbox``): administrators (every hall), a hall manager (their own).
- ``/manager/follow-ups``: open, overdue and closed follow-up cases (``GET /api/v1/follow-ups``)
  with the first response and the close form, and the hall's kept replies (late, unmatched,
  comments: ``GET /api/v1/halls/{id}/survey-replies``). The rule is ``access.handle_follow_up``:
  administrators and head office see every hall (and filter by one), a manager their own.

Both pages are shells: their script (``static/surveys.js``) calls the API over the signed-in
session. The page only adds the names the API leaves as ids (halls, counters, staff).
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from ..domain import policy
from ..i18n import current_language
from ..services import config
from . import access
from .api_kit import database_id

bp = access.signed_in_only(Blueprint("survey_pages", __name__, url_prefix="/manager"))


def _follow_ups(p, hall_id):
    return policy.may_handle_follow_ups(p, hall_id, access.region_halls)

STATES = ("open", "overdue", "closed", "replies")


def outbox_strings() -> dict:
    """Texts the outbox page's script shows (the rest are in the template)."""
    return {
        **_common(),
        "send": _("Send as the customer"), "sending": _("Sending…"), "empty_text": _("Type a reply first"),
        "no_messages": _("No SMS in the outbox yet."), "message_to": _("To {to}"),
        "reply_result": _("Reply “{text}”: {outcome}"), "to_cases": _("Follow-up cases"),
        "not_sent": _("Not sent: {why}"), "no_survey": _("no survey"),
    }


def case_strings() -> dict:
    """Texts the follow-up page's script shows (the rest are in the template)."""
    return {
        **_common(),
        "clocks": {"open": _("Awaiting response"), "due_soon": _("Due soon"), "overdue": _("Overdue"),
                   "answered": _("Responded"), "answered_late": _("Responded late")},
        "closed": _("Case closed"), "left": _("{t} left"), "overdue_by": _("overdue by {t}"),
        "hours_minutes": _("{h} h {m} min"), "just_minutes": _("{m} min"),
        "respond": _("First response"), "responding": _("Saving…"), "responded_at": _("first response {t}"),
        "close": _("Close the case"), "closing": _("Closing…"), "resolution": _("What was done"),
        "resolution_required": _("Say what was done for the customer."),
        "closed_at": _("closed {t}"), "no_cases": _("No cases here."), "counter_n": _("Counter {n}"),
        "reasons": {"low_rating": _("low rating"), "complaint": _("complaint")},
        "no_replies": _("No kept replies."), "pick_hall": _("Choose a hall to see its kept replies."),
        "summary": _("{n} cases · {overdue} overdue"),
    }


def _common() -> dict:
    return {
        "outcomes": {"counted": _("counted"), "duplicate": _("duplicate, not counted again"),
                     "late": _("late, kept"), "unmatched": _("no survey matched, kept"),
                     "opt_out": _("opted out"), "comment": _("comment kept"), "empty": _("empty")},
        "survey_states": {"scheduled": _("to be sent"), "sending": _("sending"), "sent": _("sent"),
                          "failed": _("failed"), "skipped": _("not sent")},
        "score": _("score {score}"), "satisfied": _("satisfied"), "unsatisfied": _("not satisfied"),
        "not_rated": _("not rated yet"), "comment": _("comment: {c}"),
        "load_failed": _("Could not be loaded ({why})."), "act_failed": _("Not done: {why}"),
        "signed_out": _("You are signed out. Sign in again to keep this page live."),
        "updated": _("Updated {t}"),
    }


def _hall_list(halls: list[dict]) -> list[dict]:
    return [{"id": h["id"], "code": h["code"], "name_zh": h["name_zh"], "name_en": h["name_en"],
             "timezone": h["timezone"]} for h in halls]


def _open(template: str, allowed, refusal: str):
    """Who is signed in and which halls they see; a refusal page when they may not come.
    ``allowed(principal, hall_id)``: the page's rule in ``domain.policy`` (``hall_id`` None: the page at all)."""
    who = access.principal()
    if not allowed(who, None):
        return None, (render_template(template, who=who, refused=refusal, strings={}), 403)
    every_hall = who.hall_id is None  # administrators and head office pick a hall; a manager has theirs
    hall_id = request.args.get("hall", type=database_id)
    scope = access.hall_scope(who)  # a region's head office: its halls
    if hall_id is not None and not allowed(who, hall_id):
        return None, (render_template(template, who=who, strings={},
                                      refused=_("You may not see this hall's surveys.")), 403)
    rt = current_app.extensions["hallq"]
    halls = config.list_halls(rt, scope)
    if hall_id is not None and hall_id not in {h["id"] for h in halls}:
        return None, (render_template(template, who=who, refused=_("There is no such hall."), strings={}), 404)
    return {"who": who, "rt": rt, "every_hall": every_hall, "halls": _hall_list(halls),
            "hall_id": hall_id if every_hall else who.hall_id}, None


@bp.get("/outbox")
def outbox():
    """``/manager/outbox``: the outbox gateway's messages, each with a form to answer as the customer."""
    ctx, refused = _open("outbox.html", policy.may_use_outbox, _("This page is for hall managers and administrators."))
    if refused:
        return refused
    cfg = {"page": "outbox", "lang": current_language(), "csrf": access.csrf_token(), "halls": ctx["halls"],
           "hall": ctx["hall_id"], "every_hall": ctx["every_hall"]}
    return render_template("outbox.html", who=ctx["who"], refused=None, halls=ctx["halls"], hall_id=ctx["hall_id"],
                           every_hall=ctx["every_hall"], strings=outbox_strings(), cfg=cfg)


@bp.get("/follow-ups")
def follow_ups():
    """``/manager/follow-ups``: follow-up cases (``?state=open|overdue|closed``) and kept replies (``?state=replies``)."""
    ctx, refused = _open("followups.html", _follow_ups, _("This page is for hall managers, head office and administrators."))
    if refused:
        return refused
    state = request.args.get("state") if request.args.get("state") in STATES else "open"
    scope = access.hall_scope(ctx["who"])
    cfg = {"page": "followups", "lang": current_language(), "csrf": access.csrf_token(), "halls": ctx["halls"],
           "hall": ctx["hall_id"], "every_hall": ctx["every_hall"], "state": state, **config.names_by_id(ctx["rt"], scope)}
    return render_template("followups.html", who=ctx["who"], refused=None, halls=ctx["halls"],
                           hall_id=ctx["hall_id"], every_hall=ctx["every_hall"], state=state,
                           strings=case_strings(), cfg=cfg)

