"""Configuration from environment variables, with an embedded default that needs nothing installed."""
from __future__ import annotations

import os
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("HALLQ_INSTANCE", Path(__file__).resolve().parent.parent / "instance"))


DEFAULT_WEB_THREADS = 1000  # the Procfile's default for --threads
HTTP_THREADS = 32  # threads kept free for HTTP requests


def default_live_max_clients(role: str) -> int:
    """The embedded default serves screens from the web process's threads, one WebSocket a thread:
    it refuses screens beyond its threads less those kept for HTTP, so that requests always find a
    free thread. The live role holds screens on greenlets and has no such limit (0)."""
    if role == "live":
        return 0
    return max(int(os.environ.get("WEB_THREADS") or DEFAULT_WEB_THREADS) - HTTP_THREADS, 1)


def _default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'hallq.sqlite3'}"


def from_env() -> dict:
    """Settings read once at start-up. See the README for each variable."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", ""),
        # the session cookie is HttpOnly (Flask's default), SameSite=Lax, and Secure on HTTPS (web.headers)
        "SESSION_COOKIE_SAMESITE": "Lax",
        # for tests and demonstrations only, never in production: the server's clock reads this
        # instant (ISO 8601 with an offset) when the machine's monotonic clock reads
        # HALLQ_CLOCK_ORIGIN (default: at start), and runs on from there
        "CLOCK_START": os.environ.get("HALLQ_CLOCK_START") or None,
        "CLOCK_ORIGIN": float(os.environ["HALLQ_CLOCK_ORIGIN"]) if os.environ.get("HALLQ_CLOCK_ORIGIN") else None,
        "DATABASE_URL": os.environ.get("DATABASE_URL") or _default_database_url(),
        "SOCKETIO_MESSAGE_QUEUE": os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None,
        "SOCKETIO_CHANNEL": os.environ.get("SOCKETIO_CHANNEL", "hallq"),
        "API_TOKEN_TTL_HOURS": int(os.environ.get("API_TOKEN_TTL_HOURS", "12")),
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        # sign-in attempts (web.throttle): where they are counted (default: the message queue's Redis,
        # else this process's memory), and how many are let through per account and per address
        "RATE_LIMIT_STORAGE_URL": os.environ.get("RATE_LIMIT_STORAGE_URL") or None,
        "SIGN_IN_LIMIT_PER_ACCOUNT": os.environ.get("SIGN_IN_LIMIT_PER_ACCOUNT", "10 per 15 minutes"),
        "SIGN_IN_LIMIT_PER_ADDRESS": os.environ.get("SIGN_IN_LIMIT_PER_ADDRESS", "100 per 15 minutes"),
        "PUBLIC_LIMIT_PER_ADDRESS": os.environ.get("PUBLIC_LIMIT_PER_ADDRESS", "60 per minute"),
        "ENFORCE_OPENING_HOURS": os.environ.get("ENFORCE_OPENING_HOURS", "1") != "0",
        # the largest request body read (bytes; larger: 413 unread). Flask's own default is no limit.
        # 4 MB: an import's spreadsheet (2 MB at most, services.imports) travels back base64 with its dry run
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(4 * 1024 * 1024))),
        # reverse proxies in front (nginx, a load balancer) whose X-Forwarded-For / -Proto / -Host
        # are believed: the client's address (the pairing codes' limit) and https in links; 0: none
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # seconds a scheduler's lease lasts without renewal (a standby takes over after it)
        "SCHEDULER_LEASE_TTL_S": float(os.environ.get("SCHEDULER_LEASE_TTL_S", "60")),
        # processes for the nightly forecast (0: one per core in the scheduler process; 1: in-process)
        "FORECAST_WORKERS": int(os.environ.get("FORECAST_WORKERS", "0")),
        # run the scheduled jobs in a thread of the web process (the embedded default, one process)
        "SCHEDULER_IN_WEB": os.environ.get("SCHEDULER_IN_WEB", "0") == "1",
        # per-minute door counts older than this are deleted each night; hourly roll-ups stay
        "FOOTFALL_KEEP_MINUTES_DAYS": int(os.environ.get("FOOTFALL_KEEP_MINUTES_DAYS", "400")),
        # where the server may send kiosks' tickets (domain.printers): file printers only in this folder
        # (unset: the instance folder's printers/), network printers only at these addresses or
        # networks (comma-separated; unset: none), on port 9100
        "PRINTER_FOLDER": os.environ.get("PRINTER_FOLDER") or None,
        "MEDIA_FOLDER": os.environ.get("MEDIA_FOLDER") or None,
        "PRINTER_HOSTS": os.environ.get("PRINTER_HOSTS", ""),
        # which part of the product this process is: "web" (HTTP; also the screens when there is
        # no message queue), "live" (the screens' Socket.IO only: app.live_wsgi)
        "ROLE": "web",
        # the queue's levels in the metrics (waiting tickets, open counters) are kept from the events
        # and read again from the database every this many seconds (ops.metrics.QueueLevels)
        "METRICS_RESYNC_S": float(os.environ.get("METRICS_RESYNC_S", "300")),
        # the scheduler's /healthz, /readyz and /metrics (host:port; empty: none)
        "SCHEDULER_BIND": os.environ.get("SCHEDULER_BIND", "0.0.0.0:5009"),
        # screens one process accepts (0: no limit); unset: default_live_max_clients(ROLE)
        "LIVE_MAX_CLIENTS": int(os.environ["LIVE_MAX_CLIENTS"]) if os.environ.get("LIVE_MAX_CLIENTS") else None,
        # messages waiting for one screen before more are dropped for it (it resyncs when it reads again)
        "LIVE_MAX_BACKLOG": int(os.environ.get("LIVE_MAX_BACKLOG", "64")),
        # the kernel's send buffer of a screen's socket (bytes; 0: the kernel's own, which grows to MBs)
        "LIVE_SEND_BUFFER_BYTES": int(os.environ.get("LIVE_SEND_BUFFER_BYTES", "65536")),
        # Engine.IO pings: a screen that answers none for interval + timeout is dropped (and reconnects)
        "LIVE_PING_INTERVAL_S": int(os.environ.get("LIVE_PING_INTERVAL_S", "25")),
        "LIVE_PING_TIMEOUT_S": int(os.environ.get("LIVE_PING_TIMEOUT_S", "20")),
        # SMS surveys: which gateway sends (outbox: stored only, the embedded default; kannel; twilio)
        "SMS_GATEWAY": os.environ.get("SMS_GATEWAY", "outbox"),
        "SMS_PUBLIC_URL": os.environ.get("SMS_PUBLIC_URL", ""),  # our base URL as the gateway reaches it
        "SMS_KANNEL_URL": os.environ.get("SMS_KANNEL_URL", ""),
        "SMS_KANNEL_USERNAME": os.environ.get("SMS_KANNEL_USERNAME", ""),
        "SMS_KANNEL_PASSWORD": os.environ.get("SMS_KANNEL_PASSWORD", ""),
        "SMS_KANNEL_SENDER": os.environ.get("SMS_KANNEL_SENDER", ""),
        "SMS_KANNEL_SECRET": os.environ.get("SMS_KANNEL_SECRET", ""),
        "SMS_KANNEL_ALLOWED_IPS": os.environ.get("SMS_KANNEL_ALLOWED_IPS", ""),
        "SMS_TWILIO_ACCOUNT_SID": os.environ.get("SMS_TWILIO_ACCOUNT_SID", ""),
        "SMS_TWILIO_AUTH_TOKEN": os.environ.get("SMS_TWILIO_AUTH_TOKEN", ""),
        "SMS_TWILIO_SENDER": os.environ.get("SMS_TWILIO_SENDER", ""),
        # protects stored mobile numbers (empty: a random key kept in the instance folder)
        "SMS_DATA_KEY": os.environ.get("SMS_DATA_KEY", ""),
        "SMS_RETENTION_DAYS": int(os.environ.get("SMS_RETENTION_DAYS", "180")),
        "SURVEY_MAX_ATTEMPTS": int(os.environ.get("SURVEY_MAX_ATTEMPTS", "5")),
        # stored reports e-mailed (empty: not mailed): smtp://, smtp+starttls:// or smtps://[user:password@]host[:port]
        "REPORT_MAIL_SMTP_URL": os.environ.get("REPORT_MAIL_SMTP_URL", ""),
        "REPORT_MAIL_FROM": os.environ.get("REPORT_MAIL_FROM", ""),
        "REPORT_MAIL_HEAD_OFFICE": os.environ.get("REPORT_MAIL_HEAD_OFFICE", ""),  # addresses, comma-separated
    }
