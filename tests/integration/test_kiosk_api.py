"""Kiosk-facing API: the floor guide's PIN for priority tickets, the printer setting, printing, screen texts."""
from __future__ import annotations

import time

import pytest

from app import create_app
from app.services import auth, config
from app.storage.orm import Device

from ..world import bearer, staff_token

PRINTER_HOSTS = "10.0.0.0/24, 192.168.1.50"


@pytest.fixture
def printers(tmp_path):
    folder = tmp_path / "printers"
    folder.mkdir()
    return folder


@pytest.fixture
def client(rt, printers):
    """The API with file printers allowed in ``printers`` and network printers on PRINTER_HOSTS."""
    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt,
                       "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef", "PRINTER_FOLDER": str(printers),
                       "PRINTER_HOSTS": PRINTER_HOSTS}).test_client()


def _admin(rt, world):
    return bearer(staff_token(rt, world.staff["admin"]))


def _kiosk_id(rt, hall_id):
    return next(d["id"] for d in config.list_devices(rt, hall_id) if d["kind"] == "kiosk")


def _issue(client, hall, **body):
    return client.post(f"/api/v1/halls/{hall.id}/tickets", json={"service_id": hall.services["A"], **body},
                       headers=bearer(hall.tokens["kiosk"]))


def test_a_kiosk_issues_a_priority_ticket_only_with_the_guide_pin(client, rt, world):
    h = world.one
    refused = _issue(client, h, tier="vip")
    assert refused.status_code == 403 and refused.json["error"]["field"] == "guide_pin"
    assert "no floor guide PIN" in refused.json["error"]["message"]
    m1 = bearer(staff_token(rt, h.staff["m1"]))
    assert client.put(f"/api/v1/halls/{h.id}/guide-pin", json={"pin": "2468"}, headers=m1).json == {
        "hall_id": h.id, "priority_pin_set": True}
    wrong = _issue(client, h, tier="vip", guide_pin="1111")
    assert wrong.status_code == 403 and wrong.json["error"]["message"] == "wrong floor guide PIN"
    ok = _issue(client, h, tier="green", guide_pin="2468")
    assert ok.status_code == 201 and ok.json["tier"] == "green"
    assert _issue(client, h).status_code == 201  # ordinary tickets need nothing
    staff = client.post(f"/api/v1/halls/{h.id}/tickets", json={"service_id": h.services["A"], "tier": "star"},
                        headers=bearer(staff_token(rt, h.staff["s1"])))
    assert staff.status_code == 201  # staff at the desk issue priority tickets without the kiosk PIN


def test_five_wrong_pins_lock_the_kiosk_priority_path(client, rt, world):
    h = world.one
    client.put(f"/api/v1/halls/{h.id}/guide-pin", json={"pin": "2468"}, headers=_admin(rt, world))
    for _ in range(5):
        assert _issue(client, h, tier="vip", guide_pin="0000").status_code == 403
    locked = _issue(client, h, tier="vip", guide_pin="2468")
    assert locked.status_code == 403 and "too many wrong PINs" in locked.json["error"]["message"]


def test_a_locked_kiosk_counts_afresh_once_the_lock_has_passed(client, rt, world):
    h = world.one
    client.put(f"/api/v1/halls/{h.id}/guide-pin", json={"pin": "2468"}, headers=_admin(rt, world))
    kiosk_id = _kiosk_id(rt, h.id)
    rt.guide_pin_failures[kiosk_id] = (5, time.monotonic() - 301)  # locked, five minutes ago
    wrong = _issue(client, h, tier="vip", guide_pin="0000")
    assert wrong.status_code == 403 and wrong.json["error"]["message"] == "wrong floor guide PIN"
    assert _issue(client, h, tier="vip", guide_pin="2468").status_code == 201


def test_a_pin_must_be_four_to_eight_digits(client, rt, world):
    r = client.put(f"/api/v1/halls/{world.one.id}/guide-pin", json={"pin": "12a"}, headers=_admin(rt, world))
    assert r.status_code == 422 and r.json["error"]["field"] == "pin"


def test_the_printer_setting_is_checked_and_names_the_bad_field(client, rt, world):
    kiosk_id = _kiosk_id(rt, world.one.id)
    admin = _admin(rt, world)
    r = client.put(f"/api/v1/devices/{kiosk_id}/printer", json={"kind": "network"}, headers=admin)
    assert r.status_code == 422 and r.json["error"]["field"] == "printer.host", r.json
    r = client.put(f"/api/v1/devices/{kiosk_id}/printer", json={"kind": "network", "host": "10.0.0.9", "port": 0},
                   headers=admin)
    assert r.status_code == 422 and r.json["error"]["field"] == "port"
    display_id = next(d["id"] for d in config.list_devices(rt, world.one.id) if d["kind"] == "display")
    r = client.put(f"/api/v1/devices/{display_id}/printer", json={"kind": "none"}, headers=admin)
    assert r.status_code == 422 and r.json["error"]["field"] == "device_id"
    r = client.put(f"/api/v1/devices/{kiosk_id}/printer", json={"kind": "network", "host": "10.0.0.9"}, headers=admin)
    assert r.status_code == 200 and r.json["settings"]["printer"]["host"] == "10.0.0.9"


def test_file_printers_write_in_the_instance_folders_printers_unless_set_otherwise(rt, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt,
                      "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef"})
    assert rt.settings["printers"].folder == f"{app.instance_path}/printers" and rt.settings["printers"].networks == ()


def test_a_file_printer_writes_only_in_the_printer_folder(client, rt, world, printers):
    kiosk_id, admin = _kiosk_id(rt, world.one.id), _admin(rt, world)
    for path in ("../x.bin", "x.bin", f"{printers}/../x.bin", f"{printers}/../../etc/cron.d/x", str(printers),
                 "/etc/passwd", "/dev/usb/lp0"):
        r = client.put(f"/api/v1/devices/{kiosk_id}/printer", json={"kind": "file", "path": path}, headers=admin)
        assert r.status_code == 422 and r.json["error"]["field"] == "printer.path", (path, r.json)
        assert str(printers) in r.json["error"]["message"]
    assert "printer" not in auth.device_by_id(rt, kiosk_id)["settings"]  # nothing stored
    r = client.put(f"/api/v1/devices/{kiosk_id}/printer", json={"kind": "file", "path": f"{printers}/kiosk-1.escpos"},
                   headers=admin)
    assert r.status_code == 200, r.json


def test_a_network_printer_is_only_an_allowed_address_on_port_9100(client, rt, world):
    kiosk_id, admin = _kiosk_id(rt, world.one.id), _admin(rt, world)
    for host, port, field in (("127.0.0.1", 9100, "printer.host"), ("169.254.169.254", 9100, "printer.host"),
                              ("10.0.1.9", 9100, "printer.host"), ("10.0.0.9", 22, "printer.port"),
                              ("192.168.1.50", 6379, "printer.port")):
        r = client.put(f"/api/v1/devices/{kiosk_id}/printer", json={"kind": "network", "host": host, "port": port},
                       headers=admin)
        assert r.status_code == 422 and r.json["error"]["field"] == field, (host, port, r.json)
    r = client.put(f"/api/v1/devices/{kiosk_id}/printer", json={"kind": "network", "host": "192.168.1.50"},
                   headers=admin)
    assert r.status_code == 200 and r.json["settings"]["printer"]["port"] == 9100


def test_a_printer_stored_outside_the_allowed_places_prints_nowhere(client, rt, world, tmp_path):
    """A setting from before the rule (or from before the operator narrowed the settings)."""
    h = world.one
    kiosk_id, outside = _kiosk_id(rt, h.id), tmp_path / "outside.bin"
    for stored in ({"kind": "file", "path": str(outside)}, {"kind": "network", "host": "127.0.0.1", "port": 9100}):
        with rt.uow() as tx:
            tx.session.get(Device, kiosk_id).settings = {"printer": stored}
            tx.commit()
        ticket = _issue(client, h).json
        printed = client.post(f"/api/v1/tickets/{ticket['public_token']}/print", headers=bearer(h.tokens["kiosk"]))
        assert printed.status_code == 200 and printed.json["code"] == "not_configured", printed.json
    assert not outside.exists()


def test_the_kiosk_prints_its_ticket_on_its_file_printer(client, rt, world, printers):
    h = world.one
    paper = printers / "lp0"
    client.put(f"/api/v1/devices/{_kiosk_id(rt, h.id)}/printer", json={"kind": "file", "path": str(paper)},
               headers=_admin(rt, world))
    ticket = _issue(client, h).json
    printed = client.post(f"/api/v1/tickets/{ticket['public_token']}/print", headers=bearer(h.tokens["kiosk"]))
    assert printed.status_code == 200 and printed.json["ok"] and printed.json["code"] == "ok"
    data = paper.read_bytes()
    assert ticket["label"].encode() in data and f"/t/{ticket['public_token']}".encode() in data
    assert "营业厅1".encode("gb18030") in data


def test_a_kiosk_without_a_printer_says_so_and_another_halls_kiosk_may_not_print(client, rt, world):
    ticket = _issue(client, world.one).json
    none = client.post(f"/api/v1/tickets/{ticket['public_token']}/print", headers=bearer(world.one.tokens["kiosk"]))
    assert none.status_code == 200 and not none.json["ok"] and none.json["code"] == "not_configured"
    other = client.post(f"/api/v1/tickets/{ticket['public_token']}/print", headers=bearer(world.two.tokens["kiosk"]))
    assert other.status_code == 403 and other.json["error"]["field"] == "token"


def test_screen_texts_are_kept_per_hall_and_templates_are_checked(client, rt, world):
    h = world.one
    admin = _admin(rt, world)
    r = client.patch(f"/api/v1/halls/{h.id}", json={"screen": {"call_zh": "请{label}号到{counter}号窗口"}},
                     headers=admin)
    assert r.status_code == 200 and r.json["screen"]["call_zh"] == "请{label}号到{counter}号窗口"
    r = client.patch(f"/api/v1/halls/{h.id}", json={"screen": {"notice_zh": "宽带业务请到二楼"}}, headers=admin)
    assert r.json["screen"]["call_zh"] == "请{label}号到{counter}号窗口"  # kept: a patch merges
    bad = client.patch(f"/api/v1/halls/{h.id}", json={"screen": {"call_en": "go to {window}"}}, headers=admin)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "screen.call_en"
    snapshot = client.get(f"/api/v1/halls/{h.id}/queue", headers=bearer(h.tokens["display"])).json
    assert snapshot["hall"]["screen"]["notice_zh"] == "宽带业务请到二楼"


def test_the_phone_page_and_its_qr_code(client, world):
    ticket = _issue(client, world.one).json
    page = client.get(f"/t/{ticket['public_token']}")
    assert page.status_code == 200 and ticket["label"] in page.get_data(as_text=True)
    assert "前面人数" in page.get_data(as_text=True)  # Chinese first
    qr = client.get(f"/t/{ticket['public_token']}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert client.get("/t/not-a-ticket").status_code == 404
    assert client.get("/t/not-a-ticket/qr.svg").status_code == 404


def test_the_kiosk_checks_the_pin_as_it_is_typed_and_wrong_ones_count_with_the_tickets(client, rt, world):
    """Issue 22: a wrong PIN was reported only after a service and a number, in English."""
    h = world.one

    def check(pin, token=h.tokens["kiosk"]):
        return client.post(f"/api/v1/halls/{h.id}/guide-pin/check", json={"pin": pin}, headers=bearer(token))

    assert check("2468").json == {"hall_id": h.id, "valid": False, "outcome": "none"}
    client.put(f"/api/v1/halls/{h.id}/guide-pin", json={"pin": "2468"}, headers=_admin(rt, world))
    assert check("2468").json["outcome"] == "right"
    for _ in range(4):
        assert check("0000").json == {"hall_id": h.id, "valid": False, "outcome": "wrong"}
    assert _issue(client, h, tier="vip", guide_pin="0000").status_code == 403  # the fifth, with a ticket
    assert check("2468").json["outcome"] == "locked"  # the same count: no guessing through the check
    assert check("12a4").status_code == 422
    assert check("2468", world.two.tokens["kiosk"]).status_code == 403  # another hall's kiosk
    display = check("2468", h.tokens["display"])
    assert display.status_code == 403
