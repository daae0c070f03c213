"""The SMS gateways' callbacks: customers' replies and delivery reports (``/sms/...``).

Not staff endpoints: no session, no bearer token, no CSRF token (a gateway has none of
them). Each gateway proves itself instead, checked by its adapter before anything is read:
Kannel by the shared secret in its callback URLs (and, optionally, its address), Twilio by
``X-Twilio-Signature``. A forged or malformed call changes nothing: 403 or 400 with the
API's error shape, naming the field. Only the gateway in use (SMS_GATEWAY) answers; the
others' paths are 404.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ..domain.errors import DomainError
from ..services import surveys
from .api_kit import error_response

bp = Blueprint("sms", __name__, url_prefix="/sms")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def rt():
    return current_app.extensions["hallq"]


@bp.errorhandler(DomainError)
def _refused(exc: DomainError):
    return error_response(exc.status, exc.code, exc.message, exc.field, **exc.detail)


def _reply(gateway_name: str) -> None:
    gateway = surveys.gateway_named(rt(), gateway_name)
    surveys.handle_reply(rt(), gateway.parse_inbound(request), gateway.name)


def _delivery(gateway_name: str) -> dict:
    gateway = surveys.gateway_named(rt(), gateway_name)
    return surveys.record_delivery(rt(), gateway.parse_delivery_report(request), gateway.name)


@bp.route("/kannel/inbound", methods=["GET", "POST"])
def kannel_inbound():
    """A customer's message, from Kannel's ``sms-service`` (its ``get-url``).

    The body is empty: Kannel sends whatever we answer back to the customer as an SMS
    (with ``omit-empty`` set it sends nothing for an empty answer).
    """
    _reply("kannel")
    return Response("", status=200, mimetype="text/plain")


@bp.route("/kannel/dlr", methods=["GET", "POST"])
def kannel_dlr():
    """A delivery report for a survey, from the ``dlr-url`` the survey was sent with."""
    _delivery("kannel")
    return Response("", status=200, mimetype="text/plain")


@bp.route("/twilio/inbound", methods=["POST"])
def twilio_inbound():
    """A customer's message, from Twilio's incoming-message webhook; empty TwiML, so no SMS goes back."""
    _reply("twilio")
    return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


@bp.route("/twilio/status", methods=["POST"])
def twilio_status():
    """A survey's status callback from Twilio (queued, sent, delivered, undelivered, failed)."""
    _delivery("twilio")
    return Response("", status=204)
