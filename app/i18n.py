"""Languages: zh-CN first, English switchable on every page (``?lang=en``, kept in a cookie).

Message ids are English; ``app/translations/zh_Hans_CN`` (Babel names Simplified Chinese so) holds the Chinese. Catalogues are
compiled at set-up (``make`` runs ``pybabel compile``); ``compile_catalogues`` also
compiles any that are missing or stale when the app starts from a writable checkout.
"""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, request
from flask_babel import Babel, get_locale

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"
COOKIE = "lang"

babel = Babel()


def select_locale() -> str:
    """``?lang=`` first (the switch), then the cookie, then Chinese."""
    chosen = request.args.get("lang") or request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    compile_catalogues()
    babel.init_app(app, locale_selector=select_locale)

    @app.after_request
    def remember_language(response):
        lang = request.args.get("lang")
        if lang in LANGUAGES and request.cookies.get(COOKIE) != lang:
            response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response

    @app.context_processor
    def language_context():
        return {"lang": current_language(), "languages": LANGUAGES}


def current_language() -> str:
    """``zh_CN`` or ``en``, as the pages and their scripts use it."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile each ``messages.po`` whose ``.mo`` is missing or older; returns what it wrote."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in directory.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with po.open("rb") as f:
                catalog = read_po(f)
            with mo.open("wb") as f:
                write_mo(f, catalog)
            written.append(mo)
        except OSError as exc:  # a read-only install: set-up should have compiled them
            log.warning("cannot compile %s: %s", po, exc)
    return written
