"""Sign-in throttling: too many attempts on one account, or from one address, answer 429.

Both ways in, the API's ``POST /api/v1/auth/tokens`` and the ``/login`` form, count against
the same two limits (Flask-Limiter, moving windows):

- per account (``SIGN_IN_LIMIT_PER_ACCOUNT``, 10 per 15 minutes): every attempt counts, and
  signing in with the right password starts the account's count afresh, so these are failures
  in a row; a password cannot be guessed faster than that, from however many addresses;
- per client address (``SIGN_IN_LIMIT_PER_ADDRESS``, 100 per 15 minutes): every attempt counts,
  so one address cannot try one password on many accounts. A hall's staff may share one address
  (NAT); behind a proxy the client's own address counts only with ``TRUSTED_PROXIES`` set.

The public operations of remote queueing and appointments (``PUBLIC_ENDPOINTS``: the hall's public
state, one-time codes, taking a remote ticket, the slots, booking and the appointment's page) have their own limit per client address (``PUBLIC_LIMIT_PER_ADDRESS``,
60 per minute), besides the per-number limits of the codes themselves (services.remote).

An attempt is counted before its password is checked, so parallel attempts cannot slip past a
limit. The counts live in Redis when there is one (``RATE_LIMIT_STORAGE_URL``, by default the
message queue's), shared by every web process; else in the one web process's memory.
"""
from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.errors import RateLimitExceeded

SIGN_IN_ENDPOINTS = ("api.create_token", "pages.login")
PUBLIC_ENDPOINTS = ("api.public_hall", "api.request_code", "api.take_remote_ticket", "api.appointment_slots",
                    "api.book_appointment", "api.appointment_status", "api.cancel_appointment",
                    "api.reschedule_appointment")
PUBLIC_SCOPE = "public-address"
ACCOUNT_SCOPE = "sign-in-account"
ADDRESS_SCOPE = "sign-in-address"

__all__ = ["RateLimitExceeded", "client_address", "init_app", "retry_after_s", "signed_in"]


def init_app(app: Flask) -> Limiter:
    """This application's limiter, on the configured storage, and the two sign-in limits on both
    ways in. One limiter per application: each keeps its own storage."""
    url = app.config.get("RATE_LIMIT_STORAGE_URL") or app.config.get("SOCKETIO_MESSAGE_QUEUE") or "memory://"
    options = {"key_prefix": f"{app.config['SOCKETIO_CHANNEL']}:limits"} if url.startswith(("redis", "rediss")) else {}
    limiter = Limiter(_address, app=app, storage_uri=url, storage_options=options, strategy="moving-window",
                      in_memory_fallback_enabled=url != "memory://")
    app.extensions["hallq_limiter"] = limiter
    per_account = limiter.shared_limit(app.config["SIGN_IN_LIMIT_PER_ACCOUNT"], scope=ACCOUNT_SCOPE,
                                       key_func=_account, methods=["POST"])
    per_address = limiter.shared_limit(app.config["SIGN_IN_LIMIT_PER_ADDRESS"], scope=ADDRESS_SCOPE,
                                       key_func=_address, methods=["POST"])
    for endpoint in SIGN_IN_ENDPOINTS:
        app.view_functions[endpoint] = per_account(per_address(app.view_functions[endpoint]))
    public = limiter.shared_limit(app.config["PUBLIC_LIMIT_PER_ADDRESS"], scope=PUBLIC_SCOPE, key_func=_address)
    for endpoint in PUBLIC_ENDPOINTS:
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = public(app.view_functions[endpoint])
    # Both limits decorate their views, which check them when called. The hook Flask-Limiter adds
    # before every request serves application-wide limits, of which there are none: it cost 0.18 ms
    # on every request, a third of a trivial one (BENCHMARKS.md, "The hot path").
    app.before_request_funcs[None] = [hook for hook in app.before_request_funcs.get(None, [])
                                      if getattr(hook, "__self__", None) is not limiter]
    return limiter


def signed_in() -> None:
    """The right password: this account's failed attempts are forgotten (its address's are not)."""
    limiter: Limiter = current_app.extensions["hallq_limiter"]
    for limit in limiter.current_limits:
        if ACCOUNT_SCOPE in limit.request_args:
            limiter.limiter.clear(limit.limit, *limit.request_args)


def retry_after_s() -> int:
    """Seconds until the limit this request broke lets another attempt through (for Retry-After)."""
    breached: RequestLimit | None = current_app.extensions["hallq_limiter"].current_limit
    if breached is None:
        return 60
    return max(1, math.ceil(breached.window.reset_time - time.time()))


def _address() -> str:
    return request.remote_addr or "unknown"


def client_address() -> str:
    """The client's address as the limits count it (behind a proxy, with ``TRUSTED_PROXIES`` set,
    the address the proxy saw)."""
    return _address()


def _account() -> str:
    """The username tried, hashed (keys stay short whatever is sent); the API's or the form's."""
    if request.form:
        username = request.form.get("username", "")
    else:
        try:
            body = request.get_json(silent=True)
        except Exception:  # noqa: BLE001 - whatever the body is, the route itself answers it
            body = None
        username = body.get("username") if isinstance(body, dict) else None
    return hashlib.sha256(str(username or "").encode("utf-8", "replace")).hexdigest()[:32]
