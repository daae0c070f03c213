"""gunicorn settings of the live role (Procfile ``live:``): the screens' Socket.IO on gevent.

One worker holds up to ``LIVE_MAX_SCREENS`` open screens (default 15,000; the process's open
files limit must be above it: systemd ``LimitNOFILE=20000``). Run several live processes
behind the proxy for more (README, "Running it for real"). No access log: a screen's
connection is one long request, and each live process reports its screens itself.
"""
import os
from zoneinfo import ZoneInfo

# one process: its own metrics at /metrics on its port, never the web role's multiprocess files
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

import gunicorn.http.wsgi

worker_class = "gevent"
workers = 1
worker_connections = int(os.environ.get("LIVE_MAX_SCREENS") or 15000)
graceful_timeout = 10  # screens reconnect to another live process; no need to wait for them


def post_worker_init(worker):
    """No full garbage collection while the halls are open, one every night (app.ops.gc_policy:
    a full collection over 10,000 screens stops the loop for most of a second)."""
    import gevent

    from app.ops import gc_policy

    at = gc_policy.parse_at(os.environ.get("LIVE_FULL_GC_AT") or "04:00")
    zone = ZoneInfo(os.environ.get("LIVE_FULL_GC_TZ") or "Asia/Shanghai")
    gc_policy.hold_full_collections()
    gevent.spawn(gc_policy.nightly, at, zone, gevent.sleep)

# several gunicorn masters on one host (web, live, more live processes) would share one control socket
control_socket_disable = True

# the Server header names no software or version (gunicorn writes its name there, and has no setting)
gunicorn.http.wsgi.SERVER = "hallq"
