"""Pages refuse a form holding text no database stores before any view reads it.

A NUL character in a form field (``%00``) is refused by PostgreSQL wherever it reaches a statement
(a sign-in's username, a setting) and would answer 500. Browsers never type one, so a form post
holding one is answered 400 here, once for every page. (Invalid UTF-8 cannot arrive: Werkzeug decodes
it as U+FFFD.) Query strings are each page's to read (a sign-in's ``next`` holding one is simply not
followed); the API names the field itself (``web.api_kit``), and the SMS gateways' callbacks keep
their own rules.
"""
from __future__ import annotations

from flask import Flask, abort, request

from ..domain.values import text_problem

OWN_RULES = ("api", "sms")  # blueprints that check their input themselves


def init_app(app: Flask) -> None:
    app.before_request(refuse_unstorable_text)


def refuse_unstorable_text() -> None:
    if request.blueprint in OWN_RULES:
        return
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    for key, values in request.form.lists():
        problem = text_problem([key, *values])
        if problem:
            abort(400, description=f"{key[:40]!r} {problem}")
