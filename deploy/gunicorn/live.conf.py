"""gunicorn settings of the live role (Procfile ``live:``): the screens' Socket.IO on gevent.

One worker holds up to ``LIVE_MAX_SCREENS`` open screens (default 15,000; the process's open
files limit must be above it: systemd ``LimitNOFILE=20000``). Run several live processes
behind the proxy for more (README, "Running it for real"). No access log: a screen's
connection is one long request, and each live process reports its screens itself.
"""
import gc
import os

# one process: its own metrics at /metrics on its port, never the web role's multiprocess files
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

import gunicorn.http.wsgi

worker_class = "gevent"
workers = 1
worker_connections = int(os.environ.get("LIVE_MAX_SCREENS") or 15000)
graceful_timeout = 10  # screens reconnect to another live process; no need to wait for them


def post_worker_init(worker):
    """Everything loaded so far lives as long as the worker: keep it out of every collection,
    or each full collection walks it while the screens wait."""
    gc.collect()
    gc.freeze()

# several gunicorn masters on one host (web, live, more live processes) would share one control socket
control_socket_disable = True

# the Server header names no software or version (gunicorn writes its name there, and has no setting)
gunicorn.http.wsgi.SERVER = "hallq"
