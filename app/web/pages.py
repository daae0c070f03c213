"""Browser pages of the queue core: sign in, home, API docs. Screens for kiosk and counters come with their issue."""
from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import urlsplit

import swagger_ui_bundle
from flask import Blueprint, current_app, redirect, render_template, request, send_from_directory, session, url_for

from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from ..domain.errors import Unauthorized
from ..services import auth
from . import throttle
from .access import session_staff, sign_in_browser, sign_out_browser

bp = Blueprint("pages", __name__)
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


@bp.get("/")
def home():
    """Start page: who is signed in and where to go."""
    return render_template("home.html", who=session_staff())


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Staff sign-in form; on success the browser session carries the staff id and a CSRF token."""
    error = None
    if request.method == "POST":
        try:
            who = auth.verify_login(current_app.extensions["hallq"], request.form.get("username", ""),
                                    request.form.get("password", ""))
        except Unauthorized:
            error = _("Wrong username or password")
        else:
            throttle.signed_in()
            sign_in_browser(who.id)
            return redirect(local_path(request.args.get("next", "")) or url_for("pages.home"))
    return render_template("login.html", error=error), 401 if error else 200


def local_path(target: str) -> str | None:
    r"""``target`` if it is a path of this site, else None: never an open redirect.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    ``/\t/evil.example`` or ``/\evil.example`` would take them to another site: a path with a
    control character, a space or a backslash is refused, and so is anything with a scheme or a
    host once parsed."""
    if not target.startswith("/") or any(c <= " " or c in "\\\x7f" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


@bp.errorhandler(throttle.RateLimitExceeded)
def _too_many_sign_ins(_exc):
    """Too many sign-in attempts on one account or from one address: the form says how long to wait."""
    wait_s = throttle.retry_after_s()
    error = _("Too many sign-in attempts. Please try again in %(minutes)s minutes.", minutes=math.ceil(wait_s / 60))
    return render_template("login.html", error=error), 429, {"Retry-After": str(wait_s)}


@bp.app_errorhandler(CSRFError)
def _stale_form(_exc):
    """A form without its CSRF token (forged, or from a session that has ended): sign in again."""
    return render_template("login.html", error=_("This form has expired or did not come from this site. "
                                                 "Please sign in again.")), 400


@bp.post("/logout")
def logout():
    """Sign out: the session ends on the server too, so a copy of its cookie no longer works."""
    sign_out_browser()
    return redirect(url_for("pages.login"))


@bp.get("/api/docs")
def api_docs():
    """Browsable API documentation (Swagger UI, served locally)."""
    return render_template("api_docs.html")


@bp.get("/api/docs/assets/<path:filename>")
def api_docs_asset(filename: str):
    return send_from_directory(SWAGGER_DIR, filename)


@bp.get("/healthz")
def healthz():
    """Liveness for the load balancer; touches nothing, also the benchmark's ceiling."""
    return {"ok": True}
