"""The hall display (大屏): now serving, last calls, waits per service, voice calls; and the small
screen above one window (``?counter=<id>``). Bound to its hall by a display device token."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

bp = Blueprint("display", __name__, url_prefix="/display")


def strings() -> dict:
    """Texts the page's script shows (the rest are in the template)."""
    return {
        "counter_n": _("Counter {n}"), "wait_min": _("about {m} min"), "no_counter": _("no counter open"),
        "closed": _("Closed"), "idle": _("Open"), "offline": _("Reconnecting…"),
        "not_registered": _("This screen is not registered. Open the link given when the device was registered."),
        "please_wait": _("Please wait"), "paused": _("Paused"),
        # a display box without a zh-CN voice (many Linux and Android players) calls with the app's clips
        "voice_clips": _("No Chinese voice on this screen: calls use the built-in recordings."),
        "voice_none": _("This screen cannot play sound: calls are shown only."),
        "voice_missing": _("No recording for: {words}."),
    }


@bp.get("/")
def display_page():
    """The hall display; ``?counter=<id>`` for the one-counter screen, ``?voice=zh+en`` for English too."""
    return render_template("display.html", strings=strings(), counter=request.args.get("counter", type=int),
                           voice=request.args.get("voice", "zh"))
