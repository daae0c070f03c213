"""A small HTTP server in a thread, for a process that has no web server of its own (the
scheduler): ``/healthz``, ``/readyz`` and ``/metrics``, nothing else."""
from __future__ import annotations

import json
import threading
from typing import Callable
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client.exposition import ThreadingWSGIServer

from . import metrics


class _Quiet(WSGIRequestHandler):
    def log_message(self, *_args) -> None:  # polled every few seconds: not worth a line each
        pass


def serve(bind: str, ready: Callable[[], tuple[bool, dict]]):
    """Serve on ``bind`` (``host:port``) in a daemon thread; ``ready()`` answers ``/readyz`` with
    (ready, body). Returns the server (``server_port``; ``shutdown()`` stops it)."""
    host, _, port = bind.rpartition(":")

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            status, body, kind = 200, metrics.render(), metrics.CONTENT_TYPE
        elif path == "/healthz":
            status, body, kind = 200, b'{"ok":true}', "application/json"
        elif path == "/readyz":
            ok, data = ready()
            status, body, kind = (200 if ok else 503), json.dumps(data, default=str).encode(), "application/json"
        else:
            status, body, kind = 404, b'{"error":"not found"}', "application/json"
        reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
        start_response(f"{status} {reason}", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    server = make_server(host.strip("[]") or "0.0.0.0", int(port), app, ThreadingWSGIServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="hallq-status", daemon=True).start()
    return server
