"""The kiosk's ticket printer: a ticket as ESC/POS bytes, and sending them to the printer.

``render_slip`` builds one ticket with python-escpos's ``Dummy`` printer;
``print_slip`` sends it to the printer named by a ``PrinterConfig`` (network port
9100, USB, or a file such as ``/dev/usb/lp0``) and answers with a ``PrintOutcome``
whose bilingual message the kiosk page shows. Printer faults never raise.

Chinese text. python-escpos writes ``text()`` through its "magic encoder", which
picks a single-byte code page (``ESC t``) per character; none of them holds Chinese.
Version 3.1 has a shortcut that sends a whole string as GB18030 when it contains a
character in U+4E00..U+9FA5, but a string without one loses every other non-ASCII
character ("（VIP）" prints as "?VIP?"), and it never switches the printer into
Chinese mode. So this module sends no text through it: after ``ESC @`` it switches
the printer to Chinese character mode (``FS &``, as on the Xprinter and Gprinter
models common in halls) and writes each line with ``_raw`` as
``line.encode(config.encoding)`` (GB18030 by default; ASCII stays one byte, so the
ticket number prints as usual). Every slip starts with ``ESC @`` + ``FS &`` and so
never depends on what an earlier job left behind; it does not send ``FS .`` at the
end, as these printers start in Chinese mode anyway. python-escpos still makes
every command: initialise, alignment, size, QR code, raster image, feed and cut.

Line width. In Chinese mode an ASCII character takes one column of font A and any
other character one full-width glyph, two columns. Lines are wrapped to
``chars_per_line`` by that count, Latin words kept whole where they fit; control
characters in names become spaces, so a hall name cannot smuggle in a command.

Sending. Network: a plain socket, not ``escpos.printer.Network``, which hides why a
connection failed (everything becomes ``DeviceNotFoundError``) and waits 60 s by
default; connecting and sending are each bounded by ``timeout_s``, and the host must
be an IP address so that no name lookup can stall the kiosk. USB:
``escpos.printer.Usb``, writing to the printer's own bulk OUT endpoint (0x03 on the
common 0416:5011 "POS58" printers, not python-escpos's default 0x01). File: a
non-blocking append bounded by ``timeout_s``. ``ok`` means the printer took the
bytes; a printer out of paper is not detected.
"""
from __future__ import annotations

import atexit
import errno
import logging
import math
import os
import re
import select
import shutil
import socket
import tempfile
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Iterator

import qrcode

from app.domain.printers import ENCODINGS, KINDS, PrinterConfig, TicketSlip  # noqa: F401 - the driver's settings and what it prints

# python-escpos 3.1 at import: caches its printer database in a new temporary folder per
# process (a shared one could be read half-written by another process), left behind at
# exit; and calls logging.basicConfig(), which would pre-empt the application's own
# logging set-up. So: our own temporary folder, removed at exit; the root logger as found.
_own_pickle_dir = "ESCPOS_CAPABILITIES_PICKLE_DIR" not in os.environ
if _own_pickle_dir:  # set for the import only, so child processes make their own
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = tempfile.mkdtemp(prefix="hallq-escpos-")
    atexit.register(shutil.rmtree, os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"], ignore_errors=True)
_root_handlers = list(logging.getLogger().handlers)
from escpos.capabilities import BaseProfile, get_profile_class  # noqa: E402

from escpos.constants import QR_ECLEVEL_M
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Dummy, Usb  # noqa: E402

logging.getLogger().handlers[:] = _root_handlers
if _own_pickle_dir:
    del os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"]

log = logging.getLogger(__name__)

FS_CHINESE_ON = b"\x1c&"
QR_QUIET_MODULES = 4
QR_MAX_DOTS_PER_MODULE = 6  # about 25 mm for a status link on 58 mm paper


@dataclass(frozen=True)
class PrintOutcome:
    """What became of one print job, with the words the kiosk page shows."""

    ok: bool
    code: str  # ok, not_configured, unreachable, timeout, usb_not_found, io_error
    message_zh: str
    message_en: str


_FALLBACK_ZH = "请拍照保存本页号码或扫码查看排队进度"
_FALLBACK_EN = "please take a photo of your number on this screen or scan the code to follow the queue."
_MESSAGES = {
    "ok": ("请取走您的号票", "Please take your ticket."),
    "not_configured": (f"本机不打印号票，{_FALLBACK_ZH}", f"This kiosk prints no tickets: {_FALLBACK_EN}"),
    "unreachable": (f"打印机无法连接，{_FALLBACK_ZH}", f"The printer cannot be reached: {_FALLBACK_EN}"),
    "timeout": (f"打印机无响应，{_FALLBACK_ZH}", f"The printer does not respond: {_FALLBACK_EN}"),
    "usb_not_found": (f"未找到打印机，{_FALLBACK_ZH}", f"The printer is not connected: {_FALLBACK_EN}"),
    "io_error": (f"打印失败，{_FALLBACK_ZH}", f"Printing failed: {_FALLBACK_EN}"),
}

_TIER_LINES = {"star": ("星级客户", "Star customer"), "vip": ("VIP 客户", "VIP customer"),
               "green": ("绿色通道", "Green channel")}


# ---- rendering ---------------------------------------------------------------------

def render_slip(slip: TicketSlip, config: PrinterConfig) -> bytes:
    """The ESC/POS bytes of one ticket, from initialising the printer to the cut."""
    out = _SlipWriter(config)
    p = out.printer
    p.hw("INIT")
    p._raw(FS_CHINESE_ON)
    p.set(align="center", bold=True)
    out.text(slip.hall_name_zh)
    p.set(bold=False)
    out.text(slip.hall_name_en)
    out.blank()
    p.set(custom_size=True, width=2, height=2, bold=True)  # GS !: enlarges Chinese glyphs too
    out.text(slip.label, scale=2)
    p.set(custom_size=True, width=1, height=1, bold=False)
    out.text(slip.service_name_zh)
    out.text(slip.service_name_en)
    if slip.tier in _TIER_LINES:
        p.set(invert=True)
        out.pair(*_TIER_LINES[slip.tier])
        p.set(invert=False)
    out.blank()
    out.pair(f"前面还有 {slip.people_ahead} 人", f"{slip.people_ahead} ahead")
    out.pair(*_wait_words(slip.estimated_wait_s))
    out.text(f"取号 Issued {slip.issued_at:%Y-%m-%d %H:%M}")
    out.blank()
    _qr(p, slip.status_url, config)
    out.blank()
    out.text("扫码查看排队进度")
    out.text("Scan to follow the queue")
    for line in slip.footer_zh:
        out.text(line)
    p.cut()
    return p.output


class _SlipWriter:
    """Wrapped lines of text on a python-escpos Dummy, encoded by hand (see above)."""

    def __init__(self, config: PrinterConfig) -> None:
        self.printer = Dummy()
        self.printer.profile = _profile(config.paper_dots)
        self.width = config.chars_per_line
        self.encoding = config.encoding

    def text(self, text: str, scale: int = 1) -> None:
        for line in wrap_columns(text, self.width // scale):
            self.printer._raw(line.encode(self.encoding, "replace") + b"\n")

    def pair(self, zh: str, en: str) -> None:
        """"zh / en" on one line when it fits, else on two."""
        both = f"{zh} / {en}"
        if columns(both) <= self.width:
            self.text(both)
        else:
            self.text(zh)
            self.text(en)

    def blank(self) -> None:
        self.printer._raw(b"\n")


def _wait_words(wait_s: int | None) -> tuple[str, str]:
    if wait_s is None:
        return "暂无预计等待时间", "No wait estimate yet"
    if wait_s <= 0:
        return "无需等待", "No wait"
    minutes = math.ceil(wait_s / 60)
    return f"预计等待约 {minutes} 分钟", f"about {minutes} min"


def _qr(printer: Dummy, url: str, config: PrinterConfig) -> None:
    """The status link as a QR code, centred, as large as fits up to 6 dots a module."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QR_QUIET_MODULES)
    code.add_data(url)
    code.make(fit=True)
    dots = config.paper_dots // (code.modules_count + 2 * QR_QUIET_MODULES)
    dots = max(1, min(QR_MAX_DOTS_PER_MODULE, dots))
    if config.qr_native:
        printer.qr(url, ec=QR_ECLEVEL_M, size=dots, native=True)  # GS ( k, centred by ESC a
    else:
        code.box_size = dots
        printer.image(code.make_image().get_image(), center=True)  # GS v 0


@lru_cache(maxsize=None)
def _profile(paper_dots: int) -> BaseProfile:
    """python-escpos's generic profile with the paper width, which it needs to centre images."""
    data = {**get_profile_class("default").profile_data,
            "media": {"dpi": 203, "width": {"mm": "Unknown", "pixels": paper_dots}}}
    return type("HallPrinterProfile", (BaseProfile,), {"profile_data": data})()


_TOKENS = re.compile(r"[!-~]+|\s+|.")  # a Latin word, a run of spaces, or one other character


def columns(text: str) -> int:
    """Width on the printer in Chinese mode: ASCII one column, anything else two."""
    return sum(1 if ch < "\x80" else 2 for ch in text)


def wrap_columns(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` columns; Latin words are split only when longer than a line."""
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(_printable(text)):
        if token.isspace():
            line += " " if line else ""
            continue
        if line and columns(line + token) > width:
            lines.append(line.rstrip())
            line = ""
        while columns(token) > width:  # only a Latin word can be longer than a line
            lines.append(token[:width])
            token = token[width:]
        line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _printable(text: str) -> str:
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)


# ---- sending -----------------------------------------------------------------------

def print_slip(slip: TicketSlip, config: PrinterConfig) -> PrintOutcome:
    """Print one ticket; a printer fault comes back as a PrintOutcome, never as an exception."""
    if config.kind == "none":
        return _outcome("not_configured")
    data = render_slip(slip, config)
    try:
        _SENDERS[config.kind](data, config)
    except _PrinterFault as fault:
        log.warning("ticket printer (%s): %s: %s", config.kind, fault.code, fault)
        return _outcome(fault.code)
    return _outcome("ok")


class _PrinterFault(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def _outcome(code: str) -> PrintOutcome:
    zh, en = _MESSAGES[code]
    return PrintOutcome(code == "ok", code, zh, en)


@contextmanager
def _faults(step: str, otherwise: str) -> Iterator[None]:
    """An OSError during ``step`` becomes a fault: "timeout", or ``otherwise``."""
    try:
        yield
    except TimeoutError as e:
        raise _PrinterFault("timeout", f"{step}: {e}") from e
    except OSError as e:
        raise _PrinterFault(otherwise, f"{step}: {e}") from e


def _send_network(data: bytes, config: PrinterConfig) -> None:
    address = (config.host, config.port)
    with _faults(f"connect to {config.host}:{config.port}", "unreachable"):
        sock = socket.create_connection(address, timeout=config.timeout_s)
    with sock, _faults(f"send to {config.host}:{config.port}", "io_error"):
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)


_DEVICE_ABSENT = (errno.ENOENT, errno.ENXIO, errno.ENODEV)  # e.g. /dev/usb/lp0 unplugged


def _send_file(data: bytes, config: PrinterConfig) -> None:
    path = config.path
    # A device that is absent must fail, not turn into a regular file under /dev.
    flags = os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | (0 if path.startswith("/dev/") else os.O_CREAT)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as e:
        code = "unreachable" if e.errno in _DEVICE_ABSENT else "io_error"
        raise _PrinterFault(code, f"open {path}: {e}") from e
    try:
        with _faults(f"write {path}", "io_error"):
            _write_before(fd, data, time.monotonic() + config.timeout_s)
    finally:
        os.close(fd)


def _write_before(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
            raise TimeoutError("the printer took no more data")
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue


def _send_usb(data: bytes, config: PrinterConfig) -> None:
    try:
        import usb.core  # pyusb, python-escpos's "usb" extra
    except ImportError as e:
        raise _PrinterFault("usb_not_found", f"pyusb is not installed: {e}") from e
    device = f"{config.usb_vendor_id:04x}:{config.usb_product_id:04x}"
    printer = Usb(config.usb_vendor_id, config.usb_product_id, timeout=int(config.timeout_s * 1000))
    try:
        try:
            printer.open()
            printer.out_ep = bulk_out_endpoint(printer.device) or printer.out_ep
            printer._raw(data)
        finally:
            printer.close()
    except (DeviceNotFoundError, usb.core.NoBackendError) as e:  # NoBackendError: no libusb
        raise _PrinterFault("usb_not_found", f"USB {device}: {e}") from e
    except usb.core.USBTimeoutError as e:
        raise _PrinterFault("timeout", f"USB {device}: {e}") from e
    except usb.core.USBError as e:
        raise _PrinterFault("io_error", f"USB {device}: {e}") from e


def bulk_out_endpoint(device) -> int | None:
    """The address of the USB device's first bulk OUT endpoint, if it has one."""
    for configuration in device:
        for interface in configuration:
            for endpoint in interface:
                address = endpoint.bEndpointAddress
                if not address & 0x80 and endpoint.bmAttributes & 0x03 == 0x02:
                    return address
    return None


_SENDERS = {"network": _send_network, "usb": _send_usb, "file": _send_file}
