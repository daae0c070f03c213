"""gunicorn settings of the web role (Procfile ``web:``, ``make run``): HTTP, and the screens too
when it is the only process.

Two deployments, told apart by ``SOCKETIO_MESSAGE_QUEUE``:

- **with** a message queue (production): the live role holds the screens, so the web process
  serves HTTP only. Workers default to one per core, each with ``WEB_THREADS`` threads
  (default 16) for requests.
- **without** (the embedded default: SQLite, one process): the screens' WebSockets are served
  here in threading mode, one thread each, so there is ONE worker (events would not reach a
  second one's screens) with ``WEB_THREADS`` threads (default 1000) and room for that many
  connections.
"""
import os

import gunicorn.http.wsgi

_with_queue = bool(os.environ.get("SOCKETIO_MESSAGE_QUEUE"))

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or ((os.cpu_count() or 1) if _with_queue else 1))
threads = int(os.environ.get("WEB_THREADS") or (16 if _with_queue else 1000))
# gunicorn stops accepting at worker_connections open connections, WebSockets included
worker_connections = int(os.environ.get("WEB_CONNECTIONS") or max(2 * threads, 1000))
accesslog = "-"

# several gunicorn masters on one host (web, live, more live processes) would share one control socket
control_socket_disable = True

# the Server header names no software or version (gunicorn writes its name there, and has no setting)
gunicorn.http.wsgi.SERVER = "hallq"
