"""The web side of the access rules: who is calling (a bearer token, a browser session), and the
rules of ``domain.policy`` applied to them. The rules themselves live only there: every route,
page and the screens' Socket.IO connect name one of the functions below, which ask the policy
and answer 401 (nobody signed in) or 403 (not allowed).

Pages for staff are declared once, per blueprint (``signed_in_only``): nobody signed in is sent to
the sign-in page and back; the view reads the person with ``principal()``, as an API route does,
and asks the policy what they may see. Every other page is public (tests/integration/test_page_access.py
holds both to the role x page matrix).

There is one CSRF token, Flask-WTF's: the forms carry it as a field, and the API's session calls
(not bearer-token calls) send it back in the ``X-CSRF-Token`` header (``WTF_CSRF_HEADERS``).

Survey lists (a hall's surveys and kept replies) are read like configuration. Mobile
numbers reach nobody through the API unmasked. The SMS gateways' callbacks (``/sms/...``)
are not staff endpoints: each gateway proves itself (a secret, a signature).
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError, generate_csrf

from ..domain import policy
from ..domain.errors import Forbidden, Unauthorized
from ..domain.model import Role
from ..extensions import csrf
from ..services import audit, auth
from ..services.auth import Principal

CSRF_HEADER = "X-CSRF-Token"  # Flask-WTF reads it (WTF_CSRF_HEADERS, create_app)
SESSION_KEY = "session"  # the browser session's secret in its cookie (services.auth.start_session)


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
        _check_csrf()
        g.credential = auth.Credential(session=secret)


def _check_csrf() -> None:
    """A session's POST, PUT, PATCH or DELETE carries the session's CSRF token in ``X-CSRF-Token``:
    Flask-WTF's token and check, the forms' own (on HTTPS also the same-origin Referer). 403 naming
    the header otherwise. Bearer-token calls need none: a browser never sends a bearer token by itself."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        csrf.protect()  # safe methods pass
    except CSRFError as exc:
        raise Forbidden(f"missing or wrong {CSRF_HEADER} header for a session request ({exc.description})",
                        field=CSRF_HEADER) from None


def csrf_token() -> str:
    """The session's CSRF token as a page or ``GET /me`` hands it to a script (for ``X-CSRF-Token``)."""
    return generate_csrf()


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
    """The staff member signed in to this browser session, or None: also when the session was
    ended on the server (signed out, the password changed) or expired. For a public page that
    greets whoever is signed in; pages for staff only are ``signed_in_only``."""
    secret = session.get(SESSION_KEY)
    return None if secret is None else auth.principal_for_session(current_app.extensions["hallq"], secret)


def signed_in_only(bp: Blueprint) -> Blueprint:
    """Every page of ``bp`` is for signed-in staff, declared once: before each of its views, the
    browser's session is read against the server's record (so sign-out and a password change end
    it); nobody signed in is redirected to the sign-in page with ``next`` to come back. The view
    reads the person with ``principal()`` and asks ``domain.policy`` the rest (a 403 page of its
    own); changes it makes are the person's in the audit trail."""
    bp.before_request(require_sign_in)
    bp.teardown_request(_forget_person)
    return bp


def require_sign_in():
    """The guard of ``signed_in_only``: a redirect to the sign-in page, or None to go on."""
    who = session_staff()
    if who is None:
        return redirect(url_for("pages.login", next=request.full_path))
    acting(who)
    return None


def _forget_person(_exc) -> None:
    audit.clear()  # the thread serves another request next


def sign_in_browser(staff_id: int) -> None:
    """A fresh session for this browser (nothing of the one before it survives, its CSRF token
    neither); the server keeps a hash of its secret, so that it can end it."""
    _clear_session()
    session[SESSION_KEY] = auth.start_session(current_app.extensions["hallq"], staff_id)


def sign_out_browser() -> None:
    """End this browser's session on the server too: a copy of its cookie no longer works."""
    secret = session.get(SESSION_KEY)
    if secret is not None:
        auth.end_session(current_app.extensions["hallq"], secret)
    _clear_session()


def _clear_session() -> None:
    """Nothing of the session stays, its CSRF token included (Flask-WTF keeps this request's copy
    in ``g``: a new one is made when next asked for)."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


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


def region_halls(region_id: int) -> set[int]:
    """The halls of a region (a regional head office's reach)."""
    from ..services import config

    return config.region_hall_ids(current_app.extensions["hallq"], region_id)


def region_of(p: Principal) -> int | None:
    """The one region a head-office caller is limited to, or None."""
    return p.region_id if p.is_staff(Role.HEAD_OFFICE) else None


def own_region(p: Principal, report: dict) -> dict:
    """A head-office report (regions, their cities and halls) as a region's head office reads it:
    its own region's lines; the company's totals stay, for comparison."""
    mine = region_of(p)
    if mine is None:
        return report
    return {**report, "regions": [r for r in report["regions"] if r["id"] == mine]}


# Each rule below is ``domain.policy``'s, applied to the request's caller: 403 when it says no.

def sees_hall(p: Principal, hall_id: int) -> bool:
    return policy.sees_hall(p, hall_id, region_halls)


def hall_scope(p: Principal) -> set[int] | None:
    """The halls a caller sees in a list across halls: None (all), a region's, or their own."""
    return policy.hall_scope(p, region_halls)


def configure() -> Principal:
    p = principal()
    policy.require(policy.may_configure(p), "only an administrator changes configuration")
    return p


def read_config(hall_id: int | None = None) -> Principal:
    p = principal()
    policy.require(policy.may_read_config(p, hall_id, region_halls), "configuration of this hall")
    return p


def view_hall(hall_id: int) -> Principal:
    p = principal()
    policy.require(policy.may_view_hall(p, hall_id, region_halls), "this hall belongs to someone else")
    return p


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
    policy.require(policy.may_manage_hall(p, hall_id), "managing this hall")
    return p


def manage_staff(hall_id: int | None, role: Role | None, changes_role: bool = False,
                 account_id: int | None = None, deactivates: bool = False) -> Principal:
    """Create or change a staff account (see ``policy.may_manage_staff``)."""
    p = principal()
    policy.require(policy.may_manage_staff(p, hall_id, role, changes_role, account_id, deactivates),
                   "a hall manager manages the counter staff of their own hall, changes no one's role, "
                   "and nobody changes their own role or deactivates their own account")
    return p


def print_on_kiosk() -> Principal:
    p = principal()
    policy.require(policy.may_print_on_kiosk(p), "only a kiosk prints tickets")
    return p


def kiosk_itself() -> Principal:
    p = principal()
    policy.require(policy.may_print_on_kiosk(p), "only a kiosk reads its own settings")
    return p


def staff_id_of(p: Principal) -> int | None:
    return p.staff_id


def report_counts() -> Principal:
    p = principal()
    policy.require(policy.may_report_counts(p), "only a sensor device reports door counts")
    return p


def handle_follow_up(hall_id: int | None = None) -> Principal:
    """Follow-up cases: head office for its halls, a manager for their own (``None``: the caller's scope)."""
    p = principal()
    policy.require(policy.may_handle_follow_ups(p, hall_id, region_halls), "follow-up cases of this hall")
    return p


def use_outbox(hall_id: int | None = None) -> Principal:
    """The outbox gateway's messages: an administrator, or a manager for their own hall's."""
    p = principal()
    policy.require(policy.may_use_outbox(p, hall_id), "the SMS outbox of this hall")
    return p


def use_manager_pages() -> Principal:
    """The manager's, report, survey and administration pages."""
    p = principal()
    policy.require(policy.may_use_manager_pages(p), "these pages are for administrators, head office and hall managers")
    return p


def read_reports(hall_id: int | None, above_hall: bool = False, region_id: int | None = None) -> Principal:
    p = principal()
    policy.require(policy.may_read_reports(p, hall_id, above_hall, region_id, region_halls), "these reports")
    return p
