"""A page's address as a QR code (SVG), for the kiosk's screen, the customer's phone and the door."""
from __future__ import annotations

import io

import segno
from flask import Response


def svg_response(url: str, scale: int = 4, public: bool = False) -> Response:
    """The QR code of ``url`` (error correction M). ``public``: the same for everyone (a hall's
    page), cacheable by proxies; otherwise one customer's (private)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=scale, border=2, xmldecl=False)
    cache = "public, max-age=86400" if public else "private, max-age=86400"
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": cache})
