"""Retail-hall queue and satisfaction system (营业厅排队与满意度管理系统)."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

from . import config as settings
from .bootstrap import bootstrap
from .extensions import csrf, socketio


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory: defaults from the environment, then ``test_config`` overrides."""
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    app.config.from_mapping(settings.from_env())
    if test_config:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))

    runtime = app.config.get("RUNTIME") or bootstrap(
        app.config["DATABASE_URL"],
        enforce_opening_hours=app.config["ENFORCE_OPENING_HOURS"],
        api_token_ttl_hours=app.config["API_TOKEN_TTL_HOURS"],
        password_hash_method=app.config["PASSWORD_HASH_METHOD"],
    )
    app.extensions["hallq"] = runtime
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:  # behind a reverse proxy: the client's own address, scheme and host
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    from .services import surveys

    surveys.configure(runtime, app.config, Path(app.instance_path))  # SMS gateway, number protection

    from kiosk import views as kiosk_views

    from . import i18n
    from .web import admin, api, counter, display, live, manager, pages, phone, report_pages, sms, survey_pages

    i18n.init_app(app)
    # an import's spreadsheet (2 MB at most, services.imports) travels back base64 with its dry run
    app.config.setdefault("MAX_CONTENT_LENGTH", 4 * 1024 * 1024)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a form's token lasts as long as the session
    csrf.init_app(app)
    csrf.exempt(api.bp)
    csrf.exempt(sms.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(kiosk_views.bp)
    app.register_blueprint(counter.bp)
    app.register_blueprint(display.bp)
    app.register_blueprint(manager.bp)
    app.register_blueprint(survey_pages.bp)
    app.register_blueprint(report_pages.bp)
    app.register_blueprint(phone.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(sms.bp)
    socketio.init_app(app, message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
                      channel=app.config["SOCKETIO_CHANNEL"], async_mode="threading")
    app.extensions["hallq_live"] = live.subscribe(runtime, socketio, app.config["SOCKETIO_MESSAGE_QUEUE"],
                                                  app.config["SOCKETIO_CHANNEL"])

    from .cli import register_cli

    register_cli(app)
    return app


def _instance_secret(instance: Path) -> str:
    """A persistent random secret for the embedded default, so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
