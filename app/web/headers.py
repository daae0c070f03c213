"""What every response tells the browser: a Content Security Policy, no MIME sniffing, no
referrer to other sites, no camera or microphone, HTTPS only once on HTTPS; and the session
cookie: HttpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS (behind a proxy:
with ``TRUSTED_PROXIES``, which believes its ``X-Forwarded-Proto``).

The policy allows scripts and styles from this site's own files, and inline ones only with the
response's nonce (templates write ``nonce="{{ csp_nonce() }}"``); no page may be framed by
another site. A browser reports what the policy blocked to ``/csp-reports``, which logs it.
"""
from __future__ import annotations

import json
import logging
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, g, request
from flask.sessions import SecureCookieSessionInterface

log = logging.getLogger(__name__)
bp = Blueprint("headers", __name__)

REPORT_PATH = "/csp-reports"
HSTS_MAX_AGE_S = 365 * 24 * 3600
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=()"


def init_app(app: Flask) -> None:
    app.session_interface = SessionCookies()
    app.after_request(_secure_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.register_blueprint(bp)


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie is Secure when the request came over HTTPS, whatever the configuration
    says, so one deployment serves both plain HTTP (the embedded default) and HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


def csp_nonce() -> str:
    """This response's nonce, for the inline scripts and styles of its page."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def policy(nonce: str | None) -> str:
    """The policy; without a nonce (a response that rendered no page: the API's JSON) no inline
    script or style is allowed at all."""
    inline = f" 'nonce-{nonce}'" if nonce else ""
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self'{inline}",
        f"style-src 'self'{inline}",
        "img-src 'self' data:",
        "connect-src 'self'",  # the API, and the screens' Socket.IO (WebSocket to this same host)
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
        f"report-uri {REPORT_PATH}",
    ))


WITHOUT_INLINE = policy(None)


def _secure_headers(response: Response) -> Response:
    headers = response.headers
    # A page's template asked for its nonce while it was rendered; any other response gets none:
    # making one would cost every API request a read of the system's random source.
    nonce = g.get("csp_nonce")
    headers.setdefault("Content-Security-Policy", policy(nonce) if nonce else WITHOUT_INLINE)
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")  # browsers without frame-ancestors
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")  # a phone page's ticket link stays here
    headers.setdefault("Permissions-Policy", PERMISSIONS)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_S}")
    return response


@bp.post(REPORT_PATH)
def csp_report():
    """A browser's report of something the policy blocked: logged for the operators (and for the
    browser tests, which fail on any)."""
    try:
        report = json.loads(request.get_data(cache=False) or b"{}").get("csp-report")
    except (ValueError, AttributeError, RecursionError):
        report = None
    if isinstance(report, dict):
        blocked = urlsplit(str(report.get("blocked-uri", "")))
        log.warning("csp violation: %s blocked %s on %s (%s line %s)",
                    str(report.get("violated-directive", ""))[:80],
                    (f"{blocked.scheme}://{blocked.netloc}" if blocked.netloc else blocked.geturl())[:80],
                    _where(report.get("document-uri")), _where(report.get("source-file")),
                    str(report.get("line-number"))[:10])
    return "", 204


def _where(url) -> str:
    """A script file's path, or only the first part of a page's: a phone page's carries its ticket's token."""
    path = urlsplit(str(url or "")).path
    return path[:100] if path.endswith(".js") else ("/" + path.lstrip("/").split("/")[0])[:40]
