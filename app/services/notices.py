"""One SMS to a customer outside the survey's own flow (codes, appointment and turn reminders),
handed to the surveys' gateway: one home for how a send can fail, so that no caller fails its
use case or its job on a gateway's surprise, and no number reaches the log."""

from __future__ import annotations

import logging

from ..bootstrap import Runtime
from ..sms.gateway import GatewayError, OutgoingSms
from . import surveys

log = logging.getLogger(__name__)


def send_sms(rt: Runtime, message: OutgoingSms, what: str) -> str | None:
    """Send ``message``; None once the gateway accepted it, else what went wrong (logged with
    ``what``, a reference such as ``code 12``, never the number or the text)."""
    gateway = surveys.setup(rt).gateway
    try:
        result = gateway.send(message)
        if result.accepted:
            return None
        problem = f"not accepted: {result.detail}"
    except GatewayError as exc:
        problem = exc.message
    except Exception as exc:
        log.exception("sms: sending %s through %s failed unexpectedly", what, gateway.name)
        problem = type(exc).__name__
    problem = problem[:200]
    log.warning("sms: %s was not sent (%s)", what, problem)
    return problem
