"""Printing a ticket slip at the kiosk that issued it: the use case between the API and the driver.

The driver (``kiosk.printer.print_slip``) is the kiosk adapter's; the web route hands it in, so this
use case knows what goes on paper and where it may be printed, and nothing of ESC/POS."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..bootstrap import Runtime
from ..domain.errors import Forbidden
from ..domain.hours import parse_zone
from ..domain.printers import PrinterConfig, TicketSlip
from . import auth, queue

FOOTER_ZH = "过号请重新取号 · 请保管好本票"

log = logging.getLogger(__name__)

PrintSlip = Callable[[TicketSlip, PrinterConfig], Any]  # returns what became of it: ok, code, messages


def print_ticket(rt: Runtime, device_id: int, token: str, status_url: str, print_slip: PrintSlip) -> dict:
    """Print a ticket of the kiosk's own hall on the kiosk's printer; a fault comes back as ``ok: false``."""
    status = queue.ticket_status(rt, token)
    device = auth.device_by_id(rt, device_id)
    if device["hall_id"] != status["hall"]["id"]:
        raise Forbidden("this ticket belongs to another hall", field="token")
    outcome = print_slip(slip_of(status, status_url), _printer(rt, device))
    return {
        "ok": outcome.ok,
        "code": outcome.code,
        "message_zh": outcome.message_zh,
        "message_en": outcome.message_en,
        "label": status["label"],
    }


def _printer(rt: Runtime, device: dict) -> PrinterConfig:
    """The kiosk's printer, if it is where the server may print (checked again at each print: the
    setting may predate the rule, or the operator may have narrowed PRINTER_FOLDER or PRINTER_HOSTS)."""
    config = PrinterConfig.from_dict(device["settings"].get("printer"))
    if problem := auth.printer_places(rt).problem(config.to_dict()):
        log.warning("kiosk %s: its printer setting is refused (%s: %s); not printing", device["id"], *problem)
        return PrinterConfig()
    return config


def slip_of(status: dict, status_url: str) -> TicketSlip:
    """What goes on paper, in the hall's local time."""
    issued = datetime.fromisoformat(status["issued_at"]).astimezone(
        parse_zone(status["hall"].get("timezone") or "Asia/Shanghai")
    )
    return TicketSlip(
        hall_name_zh=status["hall"]["name_zh"],
        hall_name_en=status["hall"]["name_en"],
        label=status["label"],
        service_name_zh=status["service"]["name_zh"],
        service_name_en=status["service"]["name_en"],
        tier=status["tier"],
        people_ahead=status["people_ahead"],
        estimated_wait_s=status["estimated_wait_s"],
        issued_at=issued,
        status_url=status_url,
        footer_zh=(FOOTER_ZH,),
    )
