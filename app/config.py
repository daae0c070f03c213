"""Configuration from environment variables, with an embedded default that needs nothing installed.

``Settings`` names every variable with its type and range; ``from_env`` reads them once at start
(pydantic-settings). A wrong value stops the process with a message naming the variable
(``SettingsError``) instead of failing later, somewhere else. An empty variable counts as unset.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

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


Seconds = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]


class Settings(BaseSettings):
    """Each field is the environment variable of its name (see the README for each)."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore")

    SECRET_KEY: str = ""
    # for tests and demonstrations only, never in production: the server's clock reads this
    # instant (ISO 8601 with an offset) when the machine's monotonic clock reads
    # HALLQ_CLOCK_ORIGIN (default: at start), and runs on from there
    CLOCK_START: str | None = Field(default=None, validation_alias="HALLQ_CLOCK_START")
    CLOCK_ORIGIN: float | None = Field(default=None, validation_alias="HALLQ_CLOCK_ORIGIN")
    DATABASE_URL: str = Field(default_factory=_default_database_url)
    SOCKETIO_MESSAGE_QUEUE: str | None = None
    SOCKETIO_CHANNEL: str = "hallq"
    API_TOKEN_TTL_HOURS: Annotated[int, Field(ge=1, le=24 * 90)] = 12
    PASSWORD_HASH_METHOD: str = "scrypt"
    # sign-in attempts (web.throttle): where they are counted (default: the message queue's Redis,
    # else this process's memory), and how many are let through per account and per address
    RATE_LIMIT_STORAGE_URL: str | None = None
    SIGN_IN_LIMIT_PER_ACCOUNT: str = "10 per 15 minutes"
    SIGN_IN_LIMIT_PER_ADDRESS: str = "100 per 15 minutes"
    PUBLIC_LIMIT_PER_ADDRESS: str = "60 per minute"
    ENFORCE_OPENING_HOURS: bool = True
    # the largest request body read (bytes; larger: 413 unread). Flask's own default is no limit.
    # 4 MB: an import's spreadsheet (2 MB at most, services.imports) travels back base64 with its dry run
    MAX_CONTENT_LENGTH: Annotated[int, Field(ge=1024)] = 4 * 1024 * 1024
    # reverse proxies in front (nginx, a load balancer) whose X-Forwarded-For / -Proto / -Host
    # are believed: the client's address (the pairing codes' limit) and https in links; 0: none
    TRUSTED_PROXIES: Annotated[int, Field(ge=0, le=10)] = 0
    # seconds a scheduler's lease lasts without renewal (a standby takes over after it)
    SCHEDULER_LEASE_TTL_S: Seconds = 60.0
    # processes for the nightly forecast (0: one per core in the scheduler process; 1: in-process)
    FORECAST_WORKERS: Count = 0
    # run the scheduled jobs in a thread of the web process (the embedded default, one process)
    SCHEDULER_IN_WEB: bool = False
    # per-minute door counts older than this are deleted each night; hourly roll-ups stay
    FOOTFALL_KEEP_MINUTES_DAYS: Annotated[int, Field(ge=1)] = 400
    # where the server may send kiosks' tickets (domain.printers): file printers only in this folder
    # (unset: the instance folder's printers/), network printers only at these addresses or
    # networks (comma-separated; unset: none), on port 9100
    PRINTER_FOLDER: str | None = None
    PRINTER_HOSTS: str = ""
    # the displays' images and videos (unset: the instance folder's media/)
    MEDIA_FOLDER: str | None = None
    # the queue's levels in the metrics (waiting tickets, open counters) are kept from the events
    # and read again from the database every this many seconds (ops.metrics.QueueLevels)
    METRICS_RESYNC_S: Seconds = 300.0
    # the scheduler's /healthz, /readyz and /metrics (host:port; empty: none)
    SCHEDULER_BIND: str = "0.0.0.0:5009"
    # screens one process accepts (0: no limit); unset: default_live_max_clients(ROLE)
    LIVE_MAX_CLIENTS: Count | None = None
    # messages waiting for one screen before more are dropped for it (it resyncs when it reads again)
    LIVE_MAX_BACKLOG: Annotated[int, Field(ge=1)] = 64
    # the kernel's send buffer of a screen's socket (bytes; 0: the kernel's own, which grows to MBs)
    LIVE_SEND_BUFFER_BYTES: Count = 65536
    # Engine.IO pings: a screen that answers none for interval + timeout is dropped (and reconnects)
    LIVE_PING_INTERVAL_S: Annotated[int, Field(ge=1)] = 25
    LIVE_PING_TIMEOUT_S: Annotated[int, Field(ge=1)] = 20
    # SMS surveys: which gateway sends (outbox: stored only, the embedded default; kannel; twilio)
    SMS_GATEWAY: Annotated[Literal["outbox", "kannel", "twilio"], BeforeValidator(lambda v: str(v).lower())] = "outbox"
    SMS_PUBLIC_URL: str = ""  # our base URL as the gateway reaches it
    SMS_KANNEL_URL: str = ""
    SMS_KANNEL_USERNAME: str = ""
    SMS_KANNEL_PASSWORD: str = ""
    SMS_KANNEL_SENDER: str = ""
    SMS_KANNEL_SECRET: str = ""
    SMS_KANNEL_ALLOWED_IPS: str = ""
    SMS_TWILIO_ACCOUNT_SID: str = ""
    SMS_TWILIO_AUTH_TOKEN: str = ""
    SMS_TWILIO_SENDER: str = ""
    # protects stored mobile numbers (empty: a random key kept in the instance folder)
    SMS_DATA_KEY: str = ""
    SMS_RETENTION_DAYS: Annotated[int, Field(ge=1)] = 180
    SURVEY_MAX_ATTEMPTS: Annotated[int, Field(ge=1, le=20)] = 5
    # stored reports e-mailed (empty: not mailed): smtp://, smtp+starttls:// or smtps://[user:password@]host[:port]
    REPORT_MAIL_SMTP_URL: str = ""
    REPORT_MAIL_FROM: str = ""
    REPORT_MAIL_HEAD_OFFICE: str = ""  # addresses, comma-separated


class SettingsError(SystemExit):
    """A setting that cannot be used: the process stops, naming the variable and what it must be."""


def from_env() -> dict:
    """Settings read once at start-up, as the app's configuration; SettingsError naming the variable."""
    try:
        settings = Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            name = {"CLOCK_START": "HALLQ_CLOCK_START", "CLOCK_ORIGIN": "HALLQ_CLOCK_ORIGIN"}.get(name, name)
            given = os.environ.get(name, "")
            lines.append(f"{name}={given!r}: {err['msg']}")
        raise SettingsError("hallq: wrong setting in the environment:\n  " + "\n  ".join(lines)) from None
    return {
        **settings.model_dump(),
        # the session cookie is HttpOnly (Flask's default), SameSite=Lax, and Secure on HTTPS (web.headers)
        "SESSION_COOKIE_SAMESITE": "Lax",
        # which part of the product this process is: "web" (HTTP; also the screens when there is
        # no message queue), "live" (the screens' Socket.IO only: app.live_wsgi)
        "ROLE": "web",
    }
