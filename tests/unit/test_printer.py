"""The ticket printer: settings, the ESC/POS bytes of a ticket, the file backend."""
from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.printer import (
    PrinterConfig,
    TicketSlip,
    bulk_out_endpoint,
    columns,
    print_slip,
    render_slip,
    wrap_columns,
)

SHANGHAI = timezone(timedelta(hours=8))
URL = "https://hall.example.cn/t/Q2xhcmEgTW9iaWxlIQ"
CUT = b"\x1dV\x00"  # GS V 0, full cut
FEED_AND_CUT = b"\x1bd\x06" + CUT
RASTER_IMAGE = b"\x1dv0"  # GS v 0
QR_STORE = b"\x1d(k"  # GS ( k

SLIP = TicketSlip(
    hall_name_zh="中国移动天河城营业厅",
    hall_name_en="China Mobile Tianhe City",
    label="A023",
    service_name_zh="个人业务办理",
    service_name_en="Personal services",
    tier="ordinary",
    people_ahead=3,
    estimated_wait_s=900,
    issued_at=datetime(2026, 11, 23, 10, 5, tzinfo=SHANGHAI),
    status_url=URL,
    footer_zh=("过号请重新取号",),
)
FILE = PrinterConfig(kind="file", path="/unused")


def render(config: PrinterConfig = FILE, **changes) -> bytes:
    return render_slip(replace(SLIP, **changes), config)


def gb(text: str) -> bytes:
    return text.encode("gb18030")


# ---- settings ----------------------------------------------------------------------

@pytest.mark.parametrize("settings", [None, {}])
def test_no_settings_mean_the_kiosk_has_no_printer(settings):
    assert PrinterConfig.from_dict(settings).kind == "none"


@pytest.mark.parametrize("settings, field", [
    ({"kind": "laser"}, "kind"),
    ({"kind": "network"}, "host"),
    ({"kind": "network", "host": "printer.hall.local"}, "host"),
    ({"kind": "network", "host": "10.0.0.5", "port": 70000}, "port"),
    ({"kind": "network", "host": "10.0.0.5", "port": True}, "port"),
    ({"kind": "network", "host": "10.0.0.5", "timeout_s": 0}, "timeout_s"),
    ({"kind": "usb", "usb_vendor_id": "0x0416"}, "usb_product_id"),
    ({"kind": "usb", "usb_vendor_id": "pos58", "usb_product_id": 0x5011}, "usb_vendor_id"),
    ({"kind": "file"}, "path"),
    ({"kind": "file", "path": "  "}, "path"),
    ({"chars_per_line": 100}, "chars_per_line"),
    ({"encoding": "utf-8"}, "encoding"),
    ({"qr_native": "yes"}, "qr_native"),
    ({"prot": 9100}, "prot"),
])
def test_an_invalid_setting_is_named_in_the_error(settings, field):
    with pytest.raises(ValueError) as error:
        PrinterConfig.from_dict(settings)
    assert str(error.value).startswith(f"printer.{field}: ")


def test_the_port_error_says_what_is_allowed():
    with pytest.raises(ValueError, match=r"^printer\.port: must be 1-65535$"):
        PrinterConfig.from_dict({"kind": "network", "host": "10.0.0.5", "port": 0})


def test_usb_ids_may_be_written_in_hex_as_lsusb_shows_them():
    config = PrinterConfig.from_dict({"kind": "usb", "usb_vendor_id": "0x0416", "usb_product_id": "0x5011"})
    assert (config.usb_vendor_id, config.usb_product_id) == (0x0416, 0x5011)


def test_settings_read_back_what_they_wrote():
    config = PrinterConfig.from_dict({"kind": "network", "host": " 192.168.1.50", "port": "9100",
                                      "timeout_s": 2, "chars_per_line": 48, "encoding": "GBK"})
    assert config == PrinterConfig(kind="network", host="192.168.1.50", timeout_s=2.0,
                                   chars_per_line=48, encoding="gbk")
    assert PrinterConfig.from_dict(config.to_dict()) == config


# ---- the ticket --------------------------------------------------------------------

def test_a_ticket_starts_by_resetting_the_printer_into_chinese_mode():
    assert render().startswith(b"\x1b@\x1c&")  # ESC @, FS &


def test_chinese_text_reaches_the_printer_as_gb18030():
    output = render()
    assert gb("个人业务办理\n") in output
    assert gb("前面还有 3 人 / 3 ahead\n") in output
    assert gb("过号请重新取号\n") in output


def test_the_ticket_number_is_printed_double_size():
    assert b"\x1d!\x11\x1bE\x01A023\n\x1d!\x00" in render()  # GS ! 2x2, bold


def test_full_width_punctuation_survives_where_python_escpos_would_print_question_marks():
    assert gb("SIM card（eSIM）\n") in render(service_name_en="SIM card（eSIM）")


def test_a_priority_ticket_says_its_tier_and_an_ordinary_one_does_not():
    assert gb("绿色通道 / Green channel") in render(tier="green")
    assert gb("VIP 客户") in render(tier="vip")
    assert gb("星级客户") in render(tier="star")
    assert not any(gb(word) in render() for word in ("绿色通道", "VIP", "星级客户"))


@pytest.mark.parametrize("wait_s, words", [
    (900, "预计等待约 15 分钟"), (61, "预计等待约 2 分钟"), (0, "无需等待"), (None, "暂无预计等待时间"),
])
def test_the_wait_is_rounded_up_to_whole_minutes(wait_s, words):
    assert gb(words) in render(estimated_wait_s=wait_s)


def test_the_issue_time_is_printed_to_the_minute_in_the_halls_time():
    assert b"2026-11-23 10:05\n" in render()


def test_the_status_link_is_a_native_qr_code_with_its_length_in_pl_ph():
    stored = URL.encode()
    n = len(stored) + 3  # cn, fn, m
    assert QR_STORE + bytes([n % 256, n // 256]) + b"1P0" + stored in render()
    assert QR_STORE + b"\x03\x001Q0" in render()  # print the stored symbol


def test_a_long_status_link_needs_the_high_length_byte():
    url = "https://hall.example.cn/t/" + "x" * 274
    assert len(url) + 3 == 0x012F
    assert QR_STORE + b"\x2f\x01" + b"1P0" + url.encode() in render(status_url=url)


def test_the_qr_code_can_be_sent_as_a_raster_image_instead():
    output = render(replace(FILE, qr_native=False))
    assert RASTER_IMAGE in output
    assert URL.encode() not in output
    assert QR_STORE not in output
    assert gb("扫码查看排队进度\n") in output


def test_the_ticket_ends_with_a_feed_and_a_cut():
    assert render().endswith(FEED_AND_CUT)


def test_a_long_hall_name_is_wrapped_to_the_paper():
    name = "中国移动通信集团广东有限公司广州天河城旗舰营业厅"  # 24 characters, 48 columns
    output = render(hall_name_zh=name)
    assert gb(name[:16] + "\n" + name[16:] + "\n") in output  # 32 columns on 58 mm paper
    assert gb(name + "\n") in render(replace(FILE, chars_per_line=48), hall_name_zh=name)


def test_a_long_english_name_is_wrapped_between_words():
    output = render(hall_name_en="China Mobile Guangzhou Tianhe City Flagship Hall")
    assert b"China Mobile Guangzhou Tianhe\nCity Flagship Hall\n" in output


def test_control_characters_in_a_name_cannot_send_printer_commands():
    assert b"\x1bp" not in render(hall_name_en="Hall\x1bp\x00\x19\x19")  # ESC p: kick a cash drawer


def test_a_slip_needs_a_time_with_its_zone():
    with pytest.raises(ValueError, match="issued_at"):
        replace(SLIP, issued_at=datetime(2026, 11, 23, 10, 5))


def test_a_single_footer_line_may_be_given_as_a_string():
    assert replace(SLIP, footer_zh="过号请重新取号").footer_zh == ("过号请重新取号",)


# ---- line width --------------------------------------------------------------------

def test_a_chinese_character_takes_two_columns():
    assert columns("A023 前面") == 9


@given(st.text(), st.integers(min_value=2, max_value=64))
def test_wrapped_lines_fit_and_keep_every_printable_character(text, width):
    lines = wrap_columns(text, width)
    assert all(columns(line) <= width for line in lines)
    printable = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cc")
    assert "".join(lines).replace(" ", "") == printable


# ---- sending -----------------------------------------------------------------------

def test_without_a_printer_the_kiosk_is_told_to_show_the_ticket_on_screen():
    outcome = print_slip(SLIP, PrinterConfig())
    assert (outcome.ok, outcome.code) == (False, "not_configured")
    assert "扫码" in outcome.message_zh and "scan" in outcome.message_en


def test_the_file_backend_writes_exactly_the_rendered_ticket(tmp_path):
    config = PrinterConfig(kind="file", path=str(tmp_path / "ticket.bin"))
    outcome = print_slip(SLIP, config)
    assert (outcome.ok, outcome.code) == (True, "ok")
    assert (tmp_path / "ticket.bin").read_bytes() == render_slip(SLIP, config)


def test_the_file_backend_appends_one_ticket_after_another(tmp_path):
    config = PrinterConfig(kind="file", path=str(tmp_path / "tickets.bin"))
    print_slip(SLIP, config)
    print_slip(replace(SLIP, label="A024"), config)
    expected = render_slip(SLIP, config) + render_slip(replace(SLIP, label="A024"), config)
    assert (tmp_path / "tickets.bin").read_bytes() == expected


def test_a_missing_printer_device_is_reported_not_raised(tmp_path):
    outcome = print_slip(SLIP, PrinterConfig(kind="file", path=str(tmp_path / "usb" / "lp0")))
    assert (outcome.ok, outcome.code) == (False, "unreachable")
    assert outcome.message_zh.startswith("打印机无法连接")


def test_a_device_path_that_cannot_be_written_is_an_io_error(tmp_path):
    outcome = print_slip(SLIP, PrinterConfig(kind="file", path=str(tmp_path)))  # a directory
    assert (outcome.ok, outcome.code) == (False, "io_error")


def test_a_usb_printer_that_is_not_plugged_in_is_reported_not_raised():
    outcome = print_slip(SLIP, PrinterConfig(kind="usb", usb_vendor_id=0x0416, usb_product_id=0x5011))
    assert (outcome.ok, outcome.code) == (False, "usb_not_found")


def endpoint(address: int, attributes: int) -> SimpleNamespace:
    return SimpleNamespace(bEndpointAddress=address, bmAttributes=attributes)


def test_usb_tickets_go_to_the_printers_own_bulk_out_endpoint():
    interrupt_out, bulk_in, bulk_out = endpoint(0x02, 0x03), endpoint(0x81, 0x02), endpoint(0x03, 0x02)
    device = [[[interrupt_out, bulk_in, bulk_out]]]  # configurations > interfaces > endpoints
    assert bulk_out_endpoint(device) == 0x03
    assert bulk_out_endpoint([[[bulk_in]]]) is None
