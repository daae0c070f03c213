"""Where a kiosk's ticket printer may be: files in one folder, allowed addresses on port 9100."""
from __future__ import annotations

import pytest

from app.domain.printers import PrinterPlaces

PLACES = PrinterPlaces.from_settings("/srv/hallq/instance/printers", "192.168.10.0/24, 10.0.0.9")


@pytest.mark.parametrize("path", ["/srv/hallq/instance/printers/H1.escpos", "/srv/hallq/instance/printers/a/b.bin",
                                  "/srv/hallq/instance/printers/x/../H1.escpos"])
def test_a_file_in_the_printer_folder_may_be_printed_to(path):
    assert PLACES.problem({"kind": "file", "path": path}) is None


@pytest.mark.parametrize("path", ["../x.bin", "x.bin", "/srv/hallq/instance/printers/../x.bin",
                                  "/srv/hallq/instance/printers/../../../etc/cron.d/x", "/srv/hallq/instance/printers",
                                  "/srv/hallq/instance/printers-old/x.bin", "/etc/passwd", "/dev/usb/lp0", ""])
def test_any_other_path_is_refused_naming_the_path(path):
    field, message = PLACES.problem({"kind": "file", "path": path})
    assert field == "printer.path" and "/srv/hallq/instance/printers" in message


@pytest.mark.parametrize("host", ["192.168.10.7", "10.0.0.9"])
def test_an_allowed_address_on_port_9100_may_be_printed_to(host):
    assert PLACES.problem({"kind": "network", "host": host, "port": 9100}) is None


@pytest.mark.parametrize("host, port, field", [
    ("10.0.0.10", 9100, "printer.host"), ("127.0.0.1", 9100, "printer.host"), ("169.254.169.254", 9100, "printer.host"),
    ("192.168.10.7", 22, "printer.port"), ("192.168.10.7", 6379, "printer.port"), ("printer.local", 9100, "printer.host"),
])
def test_any_other_address_or_port_is_refused_naming_the_field(host, port, field):
    assert PLACES.problem({"kind": "network", "host": host, "port": port})[0] == field


def test_without_settings_no_file_or_network_printer_is_allowed_and_usb_or_none_always_is():
    nothing = PrinterPlaces()
    assert nothing.problem({"kind": "file", "path": "/tmp/x"})[0] == "printer.path"
    assert nothing.problem({"kind": "network", "host": "10.0.0.9", "port": 9100})[0] == "printer.host"
    assert nothing.problem({"kind": "usb", "usb_vendor_id": 0x0416, "usb_product_id": 0x5011}) is None
    assert nothing.problem({"kind": "none"}) is None


def test_unreadable_settings_name_the_setting():
    with pytest.raises(ValueError, match="PRINTER_HOSTS"):
        PrinterPlaces.from_settings("/srv/printers", "10.0.0.9, printer.local")
    with pytest.raises(ValueError, match="PRINTER_FOLDER"):
        PrinterPlaces.from_settings("instance/printers", "")
