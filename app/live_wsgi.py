"""The live role (Procfile ``live:``): the screens' Socket.IO, and nothing else.

    gunicorn --config deploy/gunicorn/live.conf.py app.live_wsgi:app

One process holds thousands of open screens (displays, counter consoles, kiosks, phones)
on greenlets, where a web worker's thread would hold one each. Events come from every
web, scheduler and CLI process through Redis (``SOCKETIO_MESSAGE_QUEUE``, required here);
several live processes can run side by side behind a proxy, each with its own screens
(WebSocket only: no sticky sessions). See README, "Running it for real".

gunicorn's gevent worker patches the standard library before this module is imported, so
psycopg, redis and SQLAlchemy's pool wait cooperatively: a slow query holds up only the
screen it is for.
"""
import logging
import resource

from . import create_app
from .ops import logs

log = logging.getLogger("hallq.live")


def _raise_open_files_limit() -> int:
    """Every screen is an open socket: take the hard limit (systemd: ``LimitNOFILE``)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


logs.configure("live")
app = create_app({"ROLE": "live"})
if not app.config["SOCKETIO_MESSAGE_QUEUE"]:
    raise SystemExit("the live role needs SOCKETIO_MESSAGE_QUEUE (redis://...): it hears events through it")
log.info("live: up to %d open files (screens)", _raise_open_files_limit())
