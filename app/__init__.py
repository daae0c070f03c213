"""Retail-hall queue and satisfaction system (营业厅排队与满意度管理系统)."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask

from . import config as settings
from .bootstrap import bootstrap, clock_from
from .domain.hours import utcnow
from .domain.printers import PrinterPlaces
from .extensions import csrf


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory: defaults from the environment, then ``test_config`` overrides."""
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    app.config.from_mapping(settings.from_env())
    if test_config:
        app.config.from_mapping(test_config)
    if app.config["LIVE_MAX_CLIENTS"] is None:
        app.config["LIVE_MAX_CLIENTS"] = settings.default_live_max_clients(app.config["ROLE"])
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))

    runtime = app.config.get("RUNTIME") or bootstrap(
        app.config["DATABASE_URL"],
        clock=_clock(app.config),
        enforce_opening_hours=app.config["ENFORCE_OPENING_HOURS"],
        api_token_ttl_hours=app.config["API_TOKEN_TTL_HOURS"],
        password_hash_method=app.config["PASSWORD_HASH_METHOD"],
    )
    app.extensions["hallq"] = runtime
    _watch(app, runtime)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:  # behind a reverse proxy: the client's own address, scheme and host
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    from .services import hall_media, surveys

    surveys.configure(runtime, app.config, Path(app.instance_path))  # SMS gateway, number protection
    # the displays' images and videos: the instance folder's media/ unless MEDIA_FOLDER says otherwise
    hall_media.configure(runtime, Path(app.config.get("MEDIA_FOLDER") or Path(app.instance_path) / "media"))
    runtime.settings["printers"] = PrinterPlaces.from_settings(  # where kiosks' tickets may be printed
        app.config.get("PRINTER_FOLDER") or str(Path(app.instance_path) / "printers"), app.config.get("PRINTER_HOSTS"))

    from kiosk import views as kiosk_views

    from .web import text_guard

    from . import i18n
    from .web import (
        access, admin, api, appointment_page, counter, display, headers, join, manager, pages, phone, report_pages,
        screen_files, sms, survey_pages, throttle,
    )

    i18n.init_app(app)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a form's token lasts as long as the session
    app.config.setdefault("WTF_CSRF_HEADERS", [access.CSRF_HEADER])  # the API's session calls send it there
    csrf.init_app(app)
    text_guard.init_app(app)  # a NUL in a page's form or query string: 400, never a database's refusal
    csrf.exempt(api.bp)  # it checks the same token itself, for session calls only (web.access.load_principal)
    csrf.exempt(sms.bp)
    csrf.exempt(headers.bp)  # browsers' reports of what the content security policy blocked
    headers.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(kiosk_views.bp)
    app.register_blueprint(counter.bp)
    app.register_blueprint(display.bp)
    app.register_blueprint(screen_files.bp)
    app.register_blueprint(manager.bp)
    app.register_blueprint(survey_pages.bp)
    app.register_blueprint(report_pages.bp)
    app.register_blueprint(phone.bp)
    app.register_blueprint(join.bp)
    app.register_blueprint(appointment_page.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(sms.bp)
    throttle.init_app(app)  # on the sign-in views registered above
    _connect_screens(app, runtime)

    from .cli import register_cli

    register_cli(app)
    return app


def _clock(config):
    """The wall clock, or the instant a test or demonstration set (``HALLQ_CLOCK_START``)."""
    if not config.get("CLOCK_START"):
        return utcnow
    start = datetime.fromisoformat(config["CLOCK_START"])
    if start.tzinfo is None:
        raise ValueError("HALLQ_CLOCK_START needs a time zone offset, e.g. 2026-11-23T10:00:00+08:00")
    return clock_from(start.astimezone(timezone.utc), config.get("CLOCK_ORIGIN"))


def _connect_screens(app: Flask, runtime) -> None:
    """The committed events' handlers of this process, from ``event_handlers.EVENT_HANDLERS``: the
    feed, the metrics and the log line (those two once however many apps share the runtime: tests).
    This process serves screens itself when it is the live role, or the only process (no message
    queue: the embedded default)."""
    from . import event_handlers
    from .web import live, live_feed

    feed = live_feed.make_feed(app.config["SOCKETIO_MESSAGE_QUEUE"], app.config["SOCKETIO_CHANNEL"])
    app.extensions["hallq_feed"] = feed
    event_handlers.subscribe(app, runtime)
    if app.config["ROLE"] == "live":
        app.extensions["hallq_live"] = live.serve_screens(app, runtime, feed, async_mode="gevent")
    elif not app.config["SOCKETIO_MESSAGE_QUEUE"]:
        app.extensions["hallq_live"] = live.serve_screens(app, runtime, feed, async_mode="threading")
    hub = app.extensions.get("hallq_live")
    if hub is not None:  # it hears every event: it keeps the queue's levels for the metrics
        from .ops.metrics import QueueLevels

        levels = QueueLevels(runtime, feed, hub.sio.start_background_task, hub.serving, app.config["METRICS_RESYNC_S"])
        hub.listeners.append(levels.heard)
        app.extensions["hallq_levels"] = levels


def _watch(app: Flask, runtime) -> None:
    """Request ids, timings and /metrics, /readyz (first: before any other request hook); what this
    process commits is counted and logged by ``event_handlers`` (``_connect_screens``)."""
    from .web import ops

    ops.init_app(app)


def _instance_secret(instance: Path) -> str:
    """A persistent random secret for the embedded default, so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
