"""Pairing a new device by a short code, on SQLite and PostgreSQL: the device asks for a code, an
administrator pairs it with a hall, the device collects its token once and works; the code alone
gives nothing; an expired, unknown or spent code is refused; a revoked device stops working."""
from __future__ import annotations

from app.services import audit

from .test_surveys import headers, sapp, sclient, srt, sworld  # noqa: F401  (fixtures)

API = "/api/v1"


def new_code(client, kind="display"):
    resp = client.post(f"{API}/pairing-codes", json={"kind": kind})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()


def test_a_display_pairs_by_code_collects_its_token_once_and_receives_its_hall(srt, sworld, sclient):
    asked = new_code(sclient)
    assert len(asked["code"]) == 6 and asked["code"].isdigit() and len(asked["claim"]) >= 24
    waiting = sclient.post(f"{API}/pairing-codes/{asked['code']}/collect", json={"claim": asked["claim"]})
    assert waiting.get_json()["state"] == "waiting"
    admin = headers(srt, sworld, "admin")
    paired = sclient.post(f"{API}/halls/{sworld.two.id}/devices/pair", headers=admin,
                          json={"code": asked["code"][:3] + " " + asked["code"][3:], "name": "二号厅 大屏 2"})
    assert paired.status_code == 201, paired.get_data(as_text=True)
    assert "token" not in paired.get_json() and paired.get_json()["kind"] == "display"
    thief = sclient.post(f"{API}/pairing-codes/{asked['code']}/collect", json={"claim": "x" * 32})
    assert thief.status_code == 404  # the code alone gives nothing
    got = sclient.post(f"{API}/pairing-codes/{asked['code']}/collect", json={"claim": asked["claim"]}).get_json()
    assert got["state"] == "paired" and got["token"].startswith("dv_") and got["device"]["hall_id"] == sworld.two.id
    queue = sclient.get(f"{API}/halls/{sworld.two.id}/queue", headers={"Authorization": f"Bearer {got['token']}"})
    assert queue.status_code == 200
    again = sclient.post(f"{API}/pairing-codes/{asked['code']}/collect", json={"claim": asked["claim"]}).get_json()
    assert again == {"state": "collected"}  # once only
    reused = sclient.post(f"{API}/halls/{sworld.one.id}/devices/pair", headers=admin,
                          json={"code": asked["code"], "name": "again"})
    assert reused.status_code == 409 and reused.get_json()["error"]["field"] == "code"
    (entry, *_) = audit.list_entries(srt, None, entity="device")["entries"]
    assert entry["action"] == "create" and entry["after"]["name"] == "二号厅 大屏 2"
    # revoked: the token stops working at once
    assert sclient.post(f"{API}/devices/{got['device']['id']}/deactivate", headers=admin).status_code == 200
    refused = sclient.get(f"{API}/halls/{sworld.two.id}/queue", headers={"Authorization": f"Bearer {got['token']}"})
    assert refused.status_code == 401


def test_expired_unknown_and_malformed_codes_are_refused_naming_the_field(srt, sworld, sclient, clock):
    admin = headers(srt, sworld, "admin")
    asked = new_code(sclient, "kiosk")
    clock.advance(minutes=16)
    late = sclient.post(f"{API}/halls/{sworld.one.id}/devices/pair", headers=admin,
                        json={"code": asked["code"], "name": "取号机 3"})
    assert late.status_code == 404 and late.get_json()["error"]["field"] == "code"
    state = sclient.post(f"{API}/pairing-codes/{asked['code']}/collect", json={"claim": asked["claim"]}).get_json()
    assert state["state"] == "expired"
    for code in ("12345a", "1234567"):
        bad = sclient.post(f"{API}/halls/{sworld.one.id}/devices/pair", headers=admin, json={"code": code, "name": "x"})
        assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "code", code
    wrong_kind = sclient.post(f"{API}/pairing-codes", json={"kind": "sensor"})
    assert wrong_kind.status_code == 422 and wrong_kind.get_json()["error"]["field"] == "kind"
    manager = sclient.post(f"{API}/halls/{sworld.one.id}/devices/pair", headers=headers(srt, sworld, "m1"),
                           json={"code": new_code(sclient)["code"], "name": "x"})
    assert manager.status_code == 403


def test_a_device_record_stays_after_it_is_revoked(srt, sworld):
    from app.services import auth
    device = auth.register_device(srt, sworld.one.id, "display", "旧大屏")
    auth.deactivate_device(srt, device["id"])
    assert auth.device_by_id(srt, device["id"])["active"] is False
    assert auth.principal_for_token(srt, device["token"]) is None
