"""Browser pages of the queue core: sign in, home, API docs. Screens for kiosk and counters come with their issue."""
from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, current_app, redirect, render_template, request, send_from_directory, session, url_for

from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from ..domain.errors import Unauthorized
from ..services import auth
from .access import new_csrf_token

bp = Blueprint("pages", __name__)
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


@bp.get("/")
def home():
    """Start page: who is signed in and where to go."""
    who = None
    if session.get("staff_id") is not None:
        who = auth.principal_for_staff(current_app.extensions["hallq"], session["staff_id"])
    return render_template("home.html", who=who)


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
            session.clear()
            session["staff_id"] = who.id
            new_csrf_token()
            target = request.args.get("next", "")
            # only a path of this site: never an open redirect
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("pages.home"))
    return render_template("login.html", error=error), 401 if error else 200


@bp.app_errorhandler(CSRFError)
def _stale_form(_exc):
    """A form without its CSRF token (forged, or from a session that has ended): sign in again."""
    return render_template("login.html", error=_("This form has expired or did not come from this site. "
                                                 "Please sign in again.")), 400


@bp.post("/logout")
def logout():
    session.clear()
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
