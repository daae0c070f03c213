"""Refusals as people read them: one catalogue of texts by the refusal's stable code.

The use cases refuse in English, for the API's integrators (``message``), and name each refusal by
a stable code (``domain.errors``: the class's, or a finer one such as ``counter_closed``). Every
page shows the refusal in its own language from here, never the English sentence: the API's error
carries it as ``text`` (in the language of the page that called), the administration forms show
it beside the field, and the counter console takes the whole catalogue. A code without a text of
its own reads as its kind (a value that cannot be used, something not found, not possible now).
``{name}`` in a text is filled from the refusal's details (``counter_number``, ``label``, …).
"""
from __future__ import annotations

import string

from flask_babel import gettext as _


def texts() -> dict[str, str]:
    """Code → text in the current request's language."""
    return {
        # the counter console
        "counter_closed": _("Counter {counter_number} is closed: open it first."),
        "counter_paused": _("Counter {counter_number} is paused: resume it first."),
        "counter_busy": _("Counter {counter_number} still has {label}: finish, transfer or mark no-show first."),
        "calls_contended": _("Other counters are calling the same customers right now: call again."),
        "recall_limit": _("{label} has been recalled {recalls} times: mark no-show."),
        "recall_first": _("Recall {label} at least {needed} times before marking no-show."),
        "signed_in_elsewhere": _("You are still at counter {elsewhere}: close it first."),
        "same_counter": _("The ticket is at this counter already: choose another."),
        "no_such_ticket": _("There is no ticket {label} today in this hall."),
        "not_waiting": _("{label} is not waiting any more."),
        "not_served_here": _("Counter {counter_number} does not serve {label}'s service: transfer it, or call it at another counter."),
        "illegal_transition": _("The ticket changed just now (another console?): the screen has been refreshed."),
        "hall_closed": _("The hall is closed now."),
        # the administration's forms
        "taken": _("Already in use"),
        "on_roster_already": _("This number is already on the roster"),
        "time_format": _("Write a time of day as HH:MM, e.g. 08:30"),
        "hours_order": _("Closing time must be after opening time"),
        "hours_overlap": _("The periods of this day overlap"),
        "counter_without_services": _("Pick at least one service for the counter"),
        "date_format": _("A date, YYYY-MM-DD"),
        "day_twice": _("This day is listed twice"),
        "pairing_code_format": _("The code is the six digits on the new device's screen"),
        "pairing_code_unknown": _("No such code, or it has expired: the device shows a new one"),
        "pairing_code_used": _("This code has already been used"),
        "mobile_invalid": _("An 11-digit mainland mobile number, please"),
        "service_not_in_hall": _("Pick services of this hall"),
        "copy_same_hall": _("Pick another hall to copy from"),
        "pin_format": _("4 to 8 digits"),
        # the floor guide's PIN at a kiosk
        "pin_wrong": _("Wrong PIN. Please try again."),
        "pin_locked": _("Too many wrong PINs at this kiosk: please wait 5 minutes."),
        "pin_none": _("This hall has no floor guide PIN: priority tickets are issued at the desk."),
        # the displays' media
        "media_empty": _("The file is empty."),
        "media_type": _("Only JPEG, PNG or WebP images and MP4 or WebM videos can be shown."),
        "media_too_large": _("The file is too large: at most {max_mb} MB."),
        "media_too_many": _("The hall has {max_items} files already: remove one first."),
        "media_hall_full": _("The hall's media would pass {max_mb} MB in all: remove some first."),
        "media_unreadable": _("The file cannot be read as a picture or video: it may be damaged."),
        "media_too_big_picture": _("The picture is too large: at most {max_side} pixels a side."),
        "media_codec": _("The displays cannot play this video's format ({codec}): save it as MP4 (H.264) or WebM (VP8/VP9)."),
        "media_too_long": _("The video is too long: at most {max_s} seconds."),
        # by kind, when a refusal has no text of its own
        "bad_request": _("The request could not be read."),
        "invalid": _("Please check what was entered."),
        "not_found": _("Not found: it may have been removed."),
        "conflict": _("This is not possible at the moment."),
        "forbidden": _("You may not do this here."),
        "unauthorized": _("Your session has ended: please sign in again."),
        "too_many": _("Too many attempts: please wait a moment."),
        "too_large": _("Too large to send."),
        "unavailable": _("The service is busy: please try again in a moment."),
        "other": _("This could not be done just now: please try again."),
    }


_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
              413: "too_large", 422: "invalid", 429: "too_many", 503: "unavailable"}


class _Details(dict):
    def __missing__(self, key: str) -> str:
        return "…"  # a detail the refusal did not give: never the placeholder itself


def text_of(code: str | None, status: int, detail: dict | None = None) -> str:
    """The refusal in the page's language: its code's text, else its kind's, filled from ``detail``."""
    catalogue = texts()
    template = catalogue.get(code or "") or catalogue.get(_BY_STATUS.get(status, "other")) or catalogue["other"]
    return string.Formatter().vformat(template, (), _Details(detail or {}))
