"""Who may do what. One function per access rule; routes name the rule they need.

| rule               | admin | head office | hall manager | counter staff | kiosk | display | sensor |
|--------------------|-------|-------------|--------------|---------------|-------|---------|--------|
| configure          | all   | -           | -            | -             | -     | -       | -      |
| read config        | all   | all         | own hall     | -             | -     | -       | -      |
| view hall queue    | all   | all         | own hall     | own hall      | own   | own     | -      |
| issue ticket       | all   | -           | own hall     | own hall      | own   | -       | -      |
| operate counter    | all   | -           | own hall     | own hall      | -     | -       | -      |
| manage hall (PIN)  | all   | -           | own hall     | -             | -     | -       | -      |
| VIP roster         | all   | -           | own hall     | -             | -     | -       | -      |
| staff accounts     | all   | -           | own hall's counter staff (never a role change) | - | - | - | - |
| print a ticket     | -     | -           | -            | -             | own   | -       | -      |
| report door counts | -     | -           | -            | -             | -     | -       | own    |
| follow-up cases    | all   | all         | own hall     | -             | -     | -       | -      |
| SMS outbox         | all   | -           | own hall     | -             | -     | -       | -      |

Survey lists (a hall's surveys and kept replies) are read like configuration. Mobile
numbers reach nobody through the API unmasked. The SMS gateways' callbacks (``/sms/...``)
are not staff endpoints: each gateway proves itself (a secret, a signature).

A sensor device (a hall's edge agent or a networked door counter) reports counts
for the sensors registered to it; door figures are read like configuration.

"Own" for a device is the one hall it is bound to.

Head office is the whole company's, or one region's (a head-office account with ``region_id``):
"all" above then means every hall of that region (``hall_scope``), and a company-wide list or
report shows that region only.
"""
from __future__ import annotations

import secrets

from flask import current_app, g, request, session

from ..domain import policy
from ..domain.errors import Forbidden, Unauthorized
from ..domain.model import DeviceKind, Role
from ..services import audit, auth
from ..services.auth import Principal

CSRF_HEADER = "X-CSRF-Token"
SESSION_KEY = "session"  # the browser session's secret in its cookie (services.auth.start_session)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


_UNRESOLVED = object()


def load_principal() -> None:
    """Before each API request: note the caller's credential, a bearer token or else the signed-in
    session (whose writes need the CSRF header). Nothing is read yet: a route's access rule reads
    the caller when it first asks (``principal``); a use case on the hot path reads it inside its
    own transaction (``credential``). Changes the request makes are recorded in the audit trail
    as the caller's."""
    g.principal = _UNRESOLVED
    g.credential = None
    audit.clear()
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        g.credential = auth.Credential(token=header[len("Bearer "):].strip())
        return
    secret = session.get(SESSION_KEY)
    if secret is not None:
        if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != session.get("csrf"):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header for a session request", field=CSRF_HEADER)
        g.credential = auth.Credential(session=secret)


def credential() -> auth.Credential:
    """What the caller presented, unread (401 if nothing): for a use case that authenticates the
    caller in its own transaction."""
    found = g.get("credential")
    if found is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>")
    return found


def acting(p: Principal) -> Principal:
    """The caller as a use case found it: for the audit trail and the rest of the request."""
    g.principal = p
    audit.acting_as(p)
    return p


def session_staff() -> Principal | None:
    """The staff member signed in to this browser session (pages, not the API), or None: also
    when the session was ended on the server (signed out, the password changed) or expired."""
    secret = session.get(SESSION_KEY)
    return None if secret is None else auth.principal_for_session(current_app.extensions["hallq"], secret)


def sign_in_browser(staff_id: int) -> None:
    """A fresh session for this browser (nothing of the one before it survives), with its own
    CSRF token; the server keeps a hash of its secret, so that it can end it."""
    session.clear()
    session[SESSION_KEY] = auth.start_session(current_app.extensions["hallq"], staff_id)
    new_csrf_token()


def sign_out_browser() -> None:
    """End this browser's session on the server too: a copy of its cookie no longer works."""
    secret = session.get(SESSION_KEY)
    if secret is not None:
        auth.end_session(current_app.extensions["hallq"], secret)
    session.clear()


def new_csrf_token() -> str:
    session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def principal() -> Principal:
    """The caller, read on first use; 401 if there is none, or the token or account is no longer good."""
    p = g.get("principal", _UNRESOLVED)
    if p is _UNRESOLVED:
        found = g.get("credential")
        p = g.principal = _read(found) if found is not None else None
        if p is not None:
            audit.acting_as(p)
        elif found is not None and found.token is not None:
            raise Unauthorized("the token is unknown, expired or revoked", field="Authorization")
    if p is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>")
    return p


def _read(found: auth.Credential) -> Principal | None:
    rt = current_app.extensions["hallq"]
    if found.token is not None:
        return auth.principal_for_token(rt, found.token)
    return auth.principal_for_session(rt, found.session)


def _is_staff(p: Principal, *roles: Role) -> bool:
    return p.kind == "staff" and p.role in roles


def _deny(what: str):
    raise Forbidden(f"not allowed: {what}")


def region_halls(region_id: int) -> set[int]:
    """The halls of a region (a regional head office's reach)."""
    from ..services import config

    return config.region_hall_ids(current_app.extensions["hallq"], region_id)


def region_of(p: Principal) -> int | None:
    """The one region a head-office caller is limited to, or None."""
    return p.region_id if _is_staff(p, Role.HEAD_OFFICE) else None


def own_region(p: Principal, report: dict) -> dict:
    """A head-office report (regions, their cities and halls) as a region's head office reads it:
    its own region's lines; the company's totals stay, for comparison."""
    mine = region_of(p)
    if mine is None:
        return report
    return {**report, "regions": [r for r in report["regions"] if r["id"] == mine]}


def sees_hall(p: Principal, hall_id: int) -> bool:
    """Above hall level: an administrator sees every hall, head office its region's (or all)."""
    if _is_staff(p, Role.ADMIN):
        return True
    return _is_staff(p, Role.HEAD_OFFICE) and (p.region_id is None or hall_id in region_halls(p.region_id))


def configure() -> Principal:
    p = principal()
    if not _is_staff(p, Role.ADMIN):
        _deny("only an administrator changes configuration")
    return p


def read_config(hall_id: int | None = None) -> Principal:
    p = principal()
    if _is_staff(p, Role.ADMIN, Role.HEAD_OFFICE) and (hall_id is None or sees_hall(p, hall_id)):
        return p
    if hall_id is not None and _is_staff(p, Role.HALL_MANAGER) and p.hall_id == hall_id:
        return p
    _deny("configuration of this hall")


def view_hall(hall_id: int) -> Principal:
    p = principal()
    if sees_hall(p, hall_id) or (p.hall_id == hall_id and p.device_kind != DeviceKind.SENSOR):
        return p
    _deny("this hall belongs to someone else")


def issue_ticket(hall_id: int) -> Principal:
    p = principal()
    policy.require(policy.may_issue_ticket(p, hall_id), "issuing tickets for this hall")
    return p


def operate_counter(hall_id: int) -> Principal:
    p = principal()
    policy.require(policy.may_operate_counter(p, hall_id), "operating a counter of this hall")
    return p


def manage_hall(hall_id: int) -> Principal:
    p = principal()
    if _is_staff(p, Role.ADMIN) or (_is_staff(p, Role.HALL_MANAGER) and p.hall_id == hall_id):
        return p
    _deny("managing this hall")


def manage_staff(hall_id: int | None, role: Role | None, changes_role: bool = False) -> Principal:
    """Create or change a staff account: an administrator any; a hall manager their own hall's counter
    staff (name, number, email, password, active), never a role, never another hall's."""
    p = principal()
    if _is_staff(p, Role.ADMIN):
        return p
    if _is_staff(p, Role.HALL_MANAGER) and hall_id == p.hall_id and role == Role.COUNTER_STAFF and not changes_role:
        return p
    _deny("a hall manager manages the counter staff of their own hall, and changes no one's role")


def print_on_kiosk() -> Principal:
    p = principal()
    if p.kind == "device" and p.device_kind == DeviceKind.KIOSK:
        return p
    _deny("only a kiosk prints tickets")


def staff_id_of(p: Principal) -> int | None:
    return p.id if p.kind == "staff" else None


def report_counts() -> Principal:
    p = principal()
    if p.kind == "device" and p.device_kind == DeviceKind.SENSOR:
        return p
    _deny("only a sensor device reports door counts")


def handle_follow_up(hall_id: int | None = None) -> Principal:
    """Follow-up cases: head office for every hall, a manager for their own (``None``: the caller's scope)."""
    p = principal()
    if _is_staff(p, Role.ADMIN, Role.HEAD_OFFICE) and (hall_id is None or sees_hall(p, hall_id)):
        return p
    if _is_staff(p, Role.HALL_MANAGER) and (hall_id is None or p.hall_id == hall_id):
        return p
    _deny("follow-up cases of this hall")


def use_outbox(hall_id: int | None = None) -> Principal:
    """The outbox gateway's messages: an administrator, or a manager for their own hall's."""
    p = principal()
    if _is_staff(p, Role.ADMIN):
        return p
    if _is_staff(p, Role.HALL_MANAGER) and (hall_id is None or p.hall_id == hall_id):
        return p
    _deny("the SMS outbox of this hall")


def hall_scope(p: Principal) -> set[int] | None:
    """The halls a caller sees in a cross-hall list: None (all) for administrators and the company's
    head office, a region's halls for a region's head office, else their own hall."""
    if _is_staff(p, Role.ADMIN) or (_is_staff(p, Role.HEAD_OFFICE) and p.region_id is None):
        return None
    if _is_staff(p, Role.HEAD_OFFICE):
        return region_halls(p.region_id)
    return {p.hall_id} if p.hall_id else set()
