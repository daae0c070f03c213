"""Live screens over Socket.IO: rooms per hall and per ticket, fed by committed domain events.

Clients connect with ``auth={"token": ...}`` (a device or staff token) or a signed-in
session, and join ``hall:<id>``; the customer's phone joins ``ticket:<public token>``
without signing in. Business code never emits: ``subscribe`` turns events into emits
after the transaction committed.
"""
from __future__ import annotations

from flask import current_app, request, session
from flask_socketio import SocketIO, join_room

from ..domain import events as ev
from ..domain.errors import DomainError
from ..services import auth
from ..extensions import socketio


def hall_room(hall_id: int) -> str:
    return f"hall:{hall_id}"


def subscribe(rt, sio: SocketIO) -> None:
    """Forward every committed event to its hall's room, and ticket events to the ticket's room."""

    def forward(evt: ev.Event) -> None:
        payload = evt.to_dict()
        sio.emit(evt.name, payload, to=hall_room(evt.hall_id))
        token = getattr(evt, "public_token", None)
        if token:
            sio.emit("ticket", payload, to=f"ticket:{token}")

    rt.bus.subscribe(forward)


def _caller(auth_data):
    rt = current_app.extensions["hallq"]
    token = (auth_data or {}).get("token") if isinstance(auth_data, dict) else None
    if token:
        return auth.principal_for_token(rt, token)
    if session.get("staff_id") is not None:
        return auth.principal_for_staff(rt, session["staff_id"])
    return None


@socketio.on("connect")
def on_connect(auth_data=None):
    """Staff and devices join their hall; anyone may follow one ticket by its token."""
    ticket_token = request.args.get("ticket")
    if ticket_token:
        join_room(f"ticket:{ticket_token}")
        return True
    who = _caller(auth_data)
    if who is None:
        return False
    hall_id = request.args.get("hall_id", type=int) or who.hall_id
    from .access import view_hall
    from flask import g

    g.principal = who
    try:
        view_hall(hall_id)
    except DomainError:
        return False
    join_room(hall_room(hall_id))
    return True
