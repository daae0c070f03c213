"""The access logs of a real deployment keep no secret and no customer's data from the SMS callbacks.

Kannel calls back with the shared secret, the customer's mobile number and the message in the
query string (app/sms/kannel.py). The production roles (the Procfile's web role under gunicorn,
nginx in front with the documented site configuration) take a reply, a delivery report and a
forged call; their access logs must show each call's path and status, and none of the values.
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

import requests

from ..e2e.conftest import START
from ..polling import wait_until
from ..processes import Deployment

SECRET = "kannel-callback-secret-0123"
KANNEL = {"SMS_GATEWAY": "kannel", "SMS_KANNEL_URL": "http://127.0.0.1:1/cgi-bin/sendsms",
          "SMS_KANNEL_USERNAME": "hallq", "SMS_KANNEL_PASSWORD": "sendsms-password", "SMS_KANNEL_SENDER": "10086",
          "SMS_KANNEL_SECRET": SECRET, "SMS_PUBLIC_URL": "http://127.0.0.1:5000"}
MOBILE = "13800138000"
TEXT = "1 服务很好"


def _kannel_calls() -> list[tuple[str, int]]:
    """(path and query, expected status) as Kannel's get-url and dlr-url make them, and a forgery."""
    reply = urlencode({"secret": SECRET, "from": f"86{MOBILE}", "to": "10086", "coding": "2", "charset": "UTF-16BE",
                       "ts": "1795399200", "smsc": "cmpp", "id": "0e3fd8a2-5c2b-4a47-9d6e-1a2b3c4d5e6f"})
    reply += "&text=" + quote(TEXT.encode("utf-16-be"))  # %b: the raw bytes
    report = urlencode({"secret": SECRET, "ref": "survey-1", "status": "8", "ts": "1795399201", "smsc": "cmpp",
                        "reply": f"ACK/{MOBILE}", "id": "m-1"})
    forged = urlencode({"secret": "guessed-" + SECRET, "from": f"86{MOBILE}", "text": "1", "ts": "1795399202"})
    return [(f"/sms/kannel/inbound?{reply}", 200), (f"/sms/kannel/dlr?{report}", 200),
            (f"/sms/kannel/inbound?{forged}", 403)]


def test_the_web_role_and_nginx_log_the_kannel_callbacks_without_their_query_strings(tmp_path, sqlite_url):
    # gunicorn's access log is off by default (the app logs each request); this test turns it on
    deployment = Deployment.create(tmp_path, sqlite_url, START, WEB_ACCESS_LOG="-", **KANNEL)
    try:
        deployment.start_web()
        deployment.start_live()
        proxy = deployment.start_proxy()
        calls = _kannel_calls()
        for url, status in calls:
            for server in (deployment.web.url, proxy.url):
                assert requests.get(server + url, timeout=10).status_code == status, (server, url)
        nginx_log = tmp_path / "nginx-access.log"  # written once the response has gone
        wait_until(lambda: nginx_log.read_text().count("/sms/kannel/") >= len(calls), "nginx's access log")
        logs = {"web": deployment.web.log(), "nginx": nginx_log.read_text()}
    finally:
        deployment.stop()

    text_bytes = quote(TEXT.encode("utf-16-be"))
    for name, log in logs.items():
        assert "GET /sms/kannel/inbound?[redacted]" in log and "GET /sms/kannel/dlr?[redacted]" in log, (name, log)
        assert '" 200 ' in log and '" 403 ' in log, (name, log)  # what happened is still there
        for private in (SECRET, SECRET[8:], MOBILE, text_bytes, "secret="):
            assert private not in log, f"{name}'s access log holds {private!r}:\n{log}"
