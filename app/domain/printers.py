"""Where a kiosk's ticket printer may be: the server prints (``POST /tickets/{token}/print``), so a
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

import ipaddress
import posixpath
from dataclasses import dataclass

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
        inside = (posixpath.isabs(where) and where != self.folder
                  and posixpath.commonpath([self.folder, where]) == self.folder)
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
