"""A page's address as a QR code (SVG), for the kiosk's screen, the customer's phone and the door.

One QR library in the product: ``qrcode``, which the slip printer's python-escpos needs anyway
(kiosk/printer.py draws the slip's code with it too)."""
from __future__ import annotations

import re

import qrcode
from flask import Response
from qrcode.image.svg import SvgPathImage

BORDER_MODULES = 2


def svg(url: str, module_px: int = 4) -> bytes:
    """The QR code of ``url`` (error correction M) as one SVG path, ``module_px`` pixels a module
    where nothing else sizes it (pages and the poster size it themselves)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=BORDER_MODULES,
                         image_factory=SvgPathImage)
    code.add_data(url)
    code.make(fit=True)
    side = (code.modules_count + 2 * BORDER_MODULES) * module_px
    text = code.make_image().to_string(encoding="unicode")
    # the library sizes it in millimetres; the viewBox (one unit a module) stays
    return _SIZE.sub(f'width="{side}px" height="{side}px"', text, count=1).encode()


_SIZE = re.compile(r'width="[\d.]+mm" height="[\d.]+mm"')


def svg_response(url: str, scale: int = 4, public: bool = False) -> Response:
    """The QR code of ``url`` as a response. ``public``: the same for everyone (a hall's page),
    cacheable by proxies; otherwise one customer's (private)."""
    cache = "public, max-age=86400" if public else "private, max-age=86400"
    return Response(svg(url, scale), mimetype="image/svg+xml", headers={"Cache-Control": cache})
