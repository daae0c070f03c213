"""A kiosk's ticket printer: its settings, validated (``PrinterConfig``; the driver
``kiosk/printer.py`` prints with them), and where it may be (``PrinterPlaces``).

Where a kiosk's ticket printer may be: the server prints (``POST /tickets/{token}/print``), so a
printer setting names a file the server writes to or an address the server connects to.

An administrator's printer setting therefore stays inside what the server's operator allows
(``PRINTER_FOLDER``, ``PRINTER_HOSTS``): a file printer is a file in one folder (a device such as
``/dev/usb/lp0`` is linked into it, or the folder is ``/dev/usb``), and a network printer is an
allowed address on port 9100, the raw printing port. The path is judged as written, after
``..`` is resolved, so ``<folder>/../x.bin`` is outside; links the operator put in the folder are
theirs to make. The rule is checked when a setting is stored and again before each print, so a
setting stored earlier, or allowed before the operator narrowed the settings, prints nowhere else.
"""

from __future__ import annotations

import codecs
import ipaddress
import posixpath
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

PRINTER_PORT = 9100


@dataclass(frozen=True)
class PrinterPlaces:
    """The folder file printers write in, and the networks network printers may be on."""

    folder: str | None = None  # an absolute path; None: no file printer
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()  # empty: no network printer

    @classmethod
    def from_settings(cls, folder: str | None, hosts: str | None) -> PrinterPlaces:
        """From ``PRINTER_FOLDER`` and ``PRINTER_HOSTS`` (comma-separated addresses or networks);
        a ValueError names the setting."""
        if folder is not None and not posixpath.isabs(folder):
            raise ValueError(f"PRINTER_FOLDER must be an absolute path, not {folder!r}")
        networks = []
        for entry in (part.strip() for part in (hosts or "").split(",")):
            if entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ValueError(f"PRINTER_HOSTS has an unreadable entry {entry!r}") from None
        return cls(posixpath.normpath(folder) if folder else None, tuple(networks))

    def problem(self, printer: dict) -> tuple[str, str] | None:
        """(field, what is wrong) when the checked setting ``printer`` (``kind``, ``path``, ``host``,
        ``port``) sends tickets anywhere but an allowed place; None when it may print."""
        if printer.get("kind") == "file":
            return self._file_problem(printer.get("path") or "")
        if printer.get("kind") == "network":
            return self._network_problem(printer.get("host") or "", printer.get("port", PRINTER_PORT))
        return None

    def _file_problem(self, path: str) -> tuple[str, str] | None:
        if self.folder is None:
            return "printer.path", "this server allows no file printer (PRINTER_FOLDER)"
        where = posixpath.normpath(path)
        inside = (
            posixpath.isabs(where)
            and where != self.folder
            and posixpath.commonpath([self.folder, where]) == self.folder
        )
        return None if inside else ("printer.path", f"must be a file in {self.folder} (PRINTER_FOLDER)")

    def _network_problem(self, host: str, port: int) -> tuple[str, str] | None:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return "printer.host", "must be an IP address such as 192.168.1.50"
        if not any(address in network for network in self.networks):
            return "printer.host", f"{host} is not a printer address this server may connect to (PRINTER_HOSTS)"
        if port != PRINTER_PORT:
            return "printer.port", f"must be {PRINTER_PORT}, the printer's raw printing port"
        return None


# ---- the printer's settings -------------------------------------------------------

KINDS = ("none", "network", "usb", "file")
ENCODINGS = ("gb18030", "gbk", "gb2312")
DOTS_PER_COLUMN = 12  # font A: 32 columns = 384 dots (58 mm paper), 48 = 576 dots (80 mm)

_REQUIRED = {"network": ("host",), "usb": ("usb_vendor_id", "usb_product_id"), "file": ("path",)}


@dataclass(frozen=True)
class PrinterConfig:
    """How the kiosk reaches its ticket printer; kind "none" means it has none."""

    kind: str = "none"
    host: str | None = None
    port: int = 9100
    timeout_s: float = 3.0
    usb_vendor_id: int | None = None
    usb_product_id: int | None = None
    path: str | None = None
    chars_per_line: int = 32
    encoding: str = "gb18030"
    qr_native: bool = True

    @classmethod
    def from_dict(cls, d: dict | None) -> PrinterConfig:
        """Validate settings; a ValueError reads "printer.<field>: <what is wrong>"."""
        if d is not None and not isinstance(d, dict):
            raise ValueError("printer: must be an object")
        d = {k: v for k, v in (d or {}).items() if v is not None}
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise _invalid(unknown[0], "unknown setting")
        config = cls(
            kind=_choice(d, "kind", "none", KINDS),
            host=_host(d),
            port=_integer(d, "port", 9100, 1, 65535, "1-65535"),
            timeout_s=_seconds(d, "timeout_s", 3.0),
            usb_vendor_id=_integer(d, "usb_vendor_id", None, 1, 0xFFFF, "0x0001-0xffff"),
            usb_product_id=_integer(d, "usb_product_id", None, 1, 0xFFFF, "0x0001-0xffff"),
            path=_path(d),
            chars_per_line=_integer(d, "chars_per_line", 32, 24, 64, "24-64 (32 for 58 mm paper, 48 for 80 mm)"),
            encoding=_encoding(d),
            qr_native=_flag(d, "qr_native", True),
        )
        for name in _REQUIRED.get(config.kind, ()):
            if getattr(config, name) is None:
                raise _invalid(name, f"required for a {config.kind} printer")
        return config

    def to_dict(self) -> dict:
        """The settings as ``from_dict`` reads them back (unset fields left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def paper_dots(self) -> int:
        """Printable width in dots, which images and QR codes must fit."""
        return self.chars_per_line * DOTS_PER_COLUMN


# ---- validating settings -----------------------------------------------------------


def _invalid(name: str, problem: str) -> ValueError:
    return ValueError(f"printer.{name}: {problem}")


def _choice(d: dict, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = d.get(name, default)
    if value not in allowed:
        raise _invalid(name, f"must be one of {', '.join(allowed)}")
    return value


def _integer(d: dict, name: str, default: int | None, low: int, high: int, shown: str) -> Any:
    """An int, or a string such as "9100" or "0x0416"."""
    value = d.get(name, default)
    if isinstance(value, str):
        try:
            value = int(value.strip(), 0)
        except ValueError:
            raise _invalid(name, f"must be {shown}") from None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(name, f"must be {shown}")
    return value


def _seconds(d: dict, name: str, default: float) -> float:
    value = d.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 60:
        raise _invalid(name, "must be a number of seconds, more than 0 and at most 60")
    return float(value)


def _flag(d: dict, name: str, default: bool) -> bool:
    value = d.get(name, default)
    if not isinstance(value, bool):
        raise _invalid(name, "must be true or false")
    return value


def _host(d: dict) -> str | None:
    value = d.get("host")
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise _invalid("host", "must be an IP address such as 192.168.1.50") from None


def _path(d: dict) -> str | None:
    value = d.get("path")
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _invalid("path", "must be a file or device path such as /dev/usb/lp0")
    return value


def _encoding(d: dict) -> str:
    value = d.get("encoding", "gb18030")
    try:
        name = codecs.lookup(value).name if isinstance(value, str) else None
    except LookupError:
        name = None
    if name not in ENCODINGS:
        raise _invalid("encoding", f"must be one of {', '.join(ENCODINGS)}")
    return name


TIERS = ("ordinary", "star", "vip", "green")


@dataclass(frozen=True)
class TicketSlip:
    """What one ticket says; texts as printed, ``issued_at`` in the hall's local time."""

    hall_name_zh: str
    hall_name_en: str
    label: str
    service_name_zh: str
    service_name_en: str
    tier: str
    people_ahead: int
    estimated_wait_s: int | None
    issued_at: datetime
    status_url: str
    footer_zh: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"tier: must be one of {', '.join(TIERS)}")
        if self.issued_at.utcoffset() is None:
            raise ValueError("issued_at: must be an aware datetime in the hall's local time")
        if isinstance(self.footer_zh, str):  # one line given as a string, not as its characters
            object.__setattr__(self, "footer_zh", (self.footer_zh,))
