"""Waiting in tests for something another process or thread does (a broker, an agent, Kannel)."""
from __future__ import annotations

import time


def wait_until(check, what, deadline_s: float = 20.0, every_s: float = 0.02):
    """Poll ``check`` until it returns something true, and return that; ``what`` (a string, or a
    function making one) says what did not happen in time."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"gave up waiting for {what() if callable(what) else what}")
