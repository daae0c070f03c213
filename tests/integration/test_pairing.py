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


def test_a_token_nobody_collected_is_wiped_at_expiry_and_its_device_revoked(srt, sworld, sclient, clock):
    from app.services import config, pairing
    from app.storage.orm import PairingCode

    asked = new_code(sclient, "kiosk")
    admin = headers(srt, sworld, "admin")
    paired = sclient.post(f"{API}/halls/{sworld.one.id}/devices/pair", headers=admin,
                          json={"code": asked["code"], "name": "没启动的取号机"}).get_json()
    assert pairing.expire(srt) == {"wiped": 0, "revoked": 0, "deleted": 0}  # still within its 15 minutes
    clock.advance(minutes=16)
    assert pairing.expire(srt) == {"wiped": 1, "revoked": 1, "deleted": 0}
    with srt.reader() as tx:
        assert tx.session.query(PairingCode).filter(PairingCode.token.is_not(None)).count() == 0
    late = sclient.post(f"{API}/pairing-codes/{asked['code']}/collect", json={"claim": asked["claim"]}).get_json()
    assert late["state"] == "expired"  # the screen asks for a new code
    device = next(d for d in config.list_devices(srt, sworld.one.id) if d["id"] == paired["id"])
    assert device["active"] is False
    (entry, *_) = audit.list_entries(srt, None, entity="device", entity_id=paired["id"])["entries"]
    assert entry["actor"]["kind"] == "system" and entry["changed"] == ["active"]
    clock.advance(days=8)
    assert pairing.expire(srt)["deleted"] == 1


def test_one_address_asking_for_too_many_codes_is_told_to_wait(srt, sclient):
    from app.services import pairing

    for _ in range(pairing.CODES_PER_CLIENT):
        new_code(sclient)
    flood = sclient.post(f"{API}/pairing-codes", json={"kind": "kiosk"})
    assert flood.status_code == 429 and flood.get_json()["error"]["status"] == 429
    other = sclient.post(f"{API}/pairing-codes", json={"kind": "kiosk"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 201


def test_a_display_paired_with_a_counter_becomes_that_windows_screen_and_a_kiosk_cannot(srt, sworld, sclient):
    admin = headers(srt, sworld, "admin")
    counter = sworld.one.counters[2]
    asked = new_code(sclient, "display")
    paired = sclient.post(f"{API}/halls/{sworld.one.id}/devices/pair", headers=admin,
                          json={"code": asked["code"], "name": "2号窗口屏", "counter_id": counter})
    assert paired.status_code == 201, paired.get_data(as_text=True)
    assert paired.get_json()["kind"] == "counter_display" and paired.get_json()["counter_id"] == counter
    kiosk = new_code(sclient, "kiosk")
    refused = sclient.post(f"{API}/halls/{sworld.one.id}/devices/pair", headers=admin,
                           json={"code": kiosk["code"], "name": "取号机", "counter_id": counter})
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "counter_id"
    foreign = new_code(sclient, "display")
    other = sclient.post(f"{API}/halls/{sworld.one.id}/devices/pair", headers=admin,
                         json={"code": foreign["code"], "name": "x", "counter_id": sworld.two.counters[1]})
    assert other.status_code == 404 and other.get_json()["error"]["field"] == "counter_id"


def test_behind_a_trusted_proxy_each_client_counts_for_itself_and_without_one_the_header_is_ignored(srt):
    from app.services import pairing

    from .test_surveys import make_app

    behind = make_app(srt, TRUSTED_PROXIES=1).test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(pairing.CODES_PER_CLIENT):
        assert behind.post(f"{API}/pairing-codes", json={"kind": "kiosk"}, environ_base=proxy,
                           headers={"X-Forwarded-For": "172.16.0.7"}).status_code == 201
    assert behind.post(f"{API}/pairing-codes", json={"kind": "kiosk"}, environ_base=proxy,
                       headers={"X-Forwarded-For": "172.16.0.7"}).status_code == 429
    assert behind.post(f"{API}/pairing-codes", json={"kind": "kiosk"}, environ_base=proxy,
                       headers={"X-Forwarded-For": "172.16.0.8"}).status_code == 201  # another hall's screen
    direct = make_app(srt).test_client()  # no proxy trusted: a forged header changes nothing
    srt.pairing_requests.clear()
    for i in range(pairing.CODES_PER_CLIENT):
        direct.post(f"{API}/pairing-codes", json={"kind": "kiosk"}, headers={"X-Forwarded-For": f"1.2.3.{i}"})
    assert direct.post(f"{API}/pairing-codes", json={"kind": "kiosk"},
                       headers={"X-Forwarded-For": "9.9.9.9"}).status_code == 429
