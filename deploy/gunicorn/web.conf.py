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
import re

import gunicorn.http.wsgi
from gunicorn import glogging

_with_queue = bool(os.environ.get("SOCKETIO_MESSAGE_QUEUE"))

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or ((os.cpu_count() or 1) if _with_queue else 1))
threads = int(os.environ.get("WEB_THREADS") or (16 if _with_queue else 1000))
# gunicorn stops accepting at worker_connections open connections, WebSockets included
worker_connections = int(os.environ.get("WEB_CONNECTIONS") or max(2 * threads, 1000))
# the app logs every request itself (hallq.request: route, status, duration, request id), so
# gunicorn's own access log is off; WEB_ACCESS_LOG=- writes it to stdout as well (it cost 0.09 ms a
# request here, a tenth of a trivial request: BENCHMARKS.md, "The hot path")
accesslog = os.environ.get("WEB_ACCESS_LOG") or None


class _LogWithoutCallbackQueries(glogging.Logger):
    """gunicorn's logs without the query strings of the SMS gateways' callbacks (``/sms/...``):
    Kannel's carry the shared secret, the customer's mobile number and the message
    (app/sms/kannel.py). The path, status and timing are still logged."""

    def atoms(self, resp, req, environ, request_time):
        if environ.get("PATH_INFO", "").startswith("/sms/") and "?" in environ.get("RAW_URI", ""):
            environ = {**environ, "QUERY_STRING": "[redacted]",
                       "RAW_URI": environ["RAW_URI"].split("?", 1)[0] + "?[redacted]"}
        return super().atoms(resp, req, environ, request_time)

    def setup(self, cfg):
        super().setup(cfg)
        self.error_log.addFilter(_redact_callback_queries)  # "Error handling request /sms/...?..."


def _redact_callback_queries(record):
    message = record.getMessage()
    if "/sms/" in message:
        record.msg, record.args = _CALLBACK_QUERY.sub(r"\1?[redacted]", message), ()
    return True


_CALLBACK_QUERY = re.compile(r"(/sms/[^\s?\"]*)\?[^\s\"]*")
logger_class = _LogWithoutCallbackQueries

# several gunicorn masters on one host (web, live, more live processes) would share one control socket
control_socket_disable = True

# the Server header names no software or version (gunicorn writes its name there, and has no setting)
gunicorn.http.wsgi.SERVER = "hallq"


# Prometheus metrics from every worker (app/ops/metrics.py): prometheus_client's multiprocess
# mode, each worker writing its values to files in one directory that /metrics adds up: a
# temporary directory, or WEB_METRICS_DIR (its *.db files deleted at start), set before any
# worker imports the app. A dead worker's gauges are dropped, its counts kept.
def on_starting(server):
    import glob
    import tempfile

    path = os.environ.get("WEB_METRICS_DIR")
    if path:
        os.makedirs(path, mode=0o700, exist_ok=True)
        for old in glob.glob(os.path.join(path, "*.db")):  # the last run's workers
            os.remove(old)
    else:
        path = tempfile.mkdtemp(prefix="hallq-web-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    import shutil

    if not os.environ.get("WEB_METRICS_DIR"):
        shutil.rmtree(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), ignore_errors=True)
