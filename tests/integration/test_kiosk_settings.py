"""A kiosk's own settings (issue 22): elder-friendly mode (适老化) and idle time, per kiosk.

Set by an administrator (``PUT /devices/{id}/kiosk`` or the Devices page), checked field by field,
audited, refused for a device that is not a kiosk, and read by the kiosk itself
(``GET /devices/me/kiosk``) when its hall's screens hear ``HallSettingsChanged``.
"""
from __future__ import annotations

import pytest

from app.domain.errors import Invalid
from app.services import audit, auth, config

from ..world import bearer, staff_token
from .test_admin_pages import as_user, field_error, post_form

API = "/api/v1"


def _device(rt, hall_id, kind):
    return next(d["id"] for d in config.list_devices(rt, hall_id) if d["kind"] == kind)


def _put(client, rt, world, device_id, body, who="admin"):
    return client.put(f"{API}/devices/{device_id}/kiosk", json=body, headers=bearer(staff_token(rt, world.staff[who])))


def _own(client, token):
    return client.get(f"{API}/devices/me/kiosk", headers=bearer(token))


def test_a_kiosk_runs_with_the_defaults_until_an_administrator_sets_its_own(client, rt, world):
    h = world.one
    assert _own(client, h.tokens["kiosk"]).json == {"elder_mode": False, "idle_s": 45}
    kiosk = _device(rt, h.id, "kiosk")
    r = _put(client, rt, world, kiosk, {"elder_mode": True, "idle_s": 90})
    assert r.status_code == 200, r.json
    assert r.json["id"] == kiosk and r.json["settings"]["kiosk"] == {"elder_mode": True, "idle_s": 90}
    assert _own(client, h.tokens["kiosk"]).json == {"elder_mode": True, "idle_s": 90}
    assert _own(client, world.two.tokens["kiosk"]).json == {"elder_mode": False, "idle_s": 45}  # per kiosk


def test_the_kiosk_settings_keep_the_printer_and_a_put_replaces_them_whole(client, rt, world):
    kiosk = _device(rt, world.one.id, "kiosk")
    admin = bearer(staff_token(rt, world.staff["admin"]))
    assert client.put(f"{API}/devices/{kiosk}/printer", json={"kind": "none"}, headers=admin).status_code == 200
    _put(client, rt, world, kiosk, {"elder_mode": True, "idle_s": 120})
    r = _put(client, rt, world, kiosk, {"elder_mode": True})  # what is left out takes its default
    assert r.json["settings"]["kiosk"] == {"elder_mode": True, "idle_s": 45}
    assert r.json["settings"]["printer"]["kind"] == "none"
    assert auth.kiosk_settings(rt, kiosk) == {"elder_mode": True, "idle_s": 45}


@pytest.mark.parametrize("body, field", [
    ({"idle_s": 14}, "idle_s"),
    ({"idle_s": 301}, "idle_s"),
    ({"idle_s": "soon"}, "idle_s"),
    ({"elder_mode": "maybe"}, "elder_mode"),
    ({"elder_mode": True, "font": "huge"}, "font"),
])
def test_a_wrong_setting_is_refused_naming_its_field_and_nothing_is_stored(client, rt, world, body, field):
    kiosk = _device(rt, world.one.id, "kiosk")
    r = _put(client, rt, world, kiosk, body)
    assert r.status_code == 422 and r.json["error"]["field"] == field, r.json
    assert auth.kiosk_settings(rt, kiosk) == {"elder_mode": False, "idle_s": 45}


def test_the_limits_are_the_domains_own(rt, world):
    """The service checks them too (the page and the API are not the only callers)."""
    kiosk = _device(rt, world.one.id, "kiosk")
    with pytest.raises(Invalid) as refused:
        auth.set_kiosk_settings(rt, kiosk, True, 10)
    assert refused.value.field == "idle_s"
    assert auth.set_kiosk_settings(rt, kiosk, False, 15)["settings"]["kiosk"]["idle_s"] == 15
    assert auth.set_kiosk_settings(rt, kiosk, False, 300)["settings"]["kiosk"]["idle_s"] == 300


def test_a_device_that_is_not_a_kiosk_has_no_kiosk_settings(client, rt, world):
    for kind in ("display", "sensor"):
        r = _put(client, rt, world, _device(rt, world.one.id, kind), {"elder_mode": True})
        assert r.status_code == 422 and r.json["error"]["field"] == "device_id", r.json
    assert _put(client, rt, world, 999_999, {"elder_mode": True}).status_code == 404
    assert _own(client, world.one.tokens["display"]).status_code == 403  # a display reads no kiosk settings


def test_only_an_administrator_sets_them(client, rt, world):
    kiosk = _device(rt, world.one.id, "kiosk")
    for who in ("hq", "m1", "s1"):
        assert _put(client, rt, world, kiosk, {"elder_mode": True}, who).status_code == 403, who
    as_kiosk = client.put(f"{API}/devices/{kiosk}/kiosk", json={"elder_mode": True},
                          headers=bearer(world.one.tokens["kiosk"]))
    assert as_kiosk.status_code == 403  # not even the kiosk itself
    assert client.put(f"{API}/devices/{kiosk}/kiosk", json={"elder_mode": True}).status_code == 401
    assert auth.kiosk_settings(rt, kiosk)["elder_mode"] is False


def test_a_change_is_audited_and_tells_the_halls_screens(client, rt, world):
    heard = []
    rt.bus.subscribe(heard.append)
    kiosk = _device(rt, world.one.id, "kiosk")
    _put(client, rt, world, kiosk, {"elder_mode": True, "idle_s": 60})
    (entry, *_) = audit.list_entries(rt, None, entity="device", entity_id=kiosk)["entries"]
    assert entry["action"] == "update" and entry["changed"] == ["settings"]
    assert entry["actor"]["name"] == "管理员" and entry["hall_id"] == world.one.id
    assert entry["before"]["settings"] == {} and entry["after"]["settings"]["kiosk"] == {"elder_mode": True, "idle_s": 60}
    assert [(e.name, e.hall_id) for e in heard] == [("HallSettingsChanged", world.one.id)]
    count = len(audit.list_entries(rt, None, entity="device", entity_id=kiosk)["entries"])
    _put(client, rt, world, kiosk, {"elder_mode": True, "idle_s": 60})  # the same again: nothing changed
    assert len(audit.list_entries(rt, None, entity="device", entity_id=kiosk)["entries"]) == count


def test_the_devices_page_switches_a_kiosk_and_shows_a_wrong_idle_time_beside_it(app, rt, world):
    h = world.one
    kiosk = _device(rt, h.id, "kiosk")
    admin = as_user(app, "admin")
    url = f"/admin/halls/{h.id}/devices"
    page = admin.get(url).get_data(as_text=True)
    assert f'data-kiosk="{kiosk}" data-elder="off" data-idle="45"' in page
    wrong = post_form(admin, url, {"action": "kiosk", "device_id": str(kiosk), "elder_mode": "on", "idle_s": "5"}, page)
    assert wrong.status_code == 400 and field_error(wrong.get_data(as_text=True), "idle_s")
    assert auth.kiosk_settings(rt, kiosk) == {"elder_mode": False, "idle_s": 45}
    ok = post_form(admin, url, {"action": "kiosk", "device_id": str(kiosk), "elder_mode": "on", "idle_s": "30"}, page)
    assert ok.status_code == 302
    assert auth.kiosk_settings(rt, kiosk) == {"elder_mode": True, "idle_s": 30}
    assert f'data-kiosk="{kiosk}" data-elder="on" data-idle="30"' in admin.get(url).get_data(as_text=True)
    off = post_form(admin, url, {"action": "kiosk", "device_id": str(kiosk), "idle_s": "30"}, page)  # box unticked
    assert off.status_code == 302 and auth.kiosk_settings(rt, kiosk)["elder_mode"] is False
    other_hall = _device(rt, world.two.id, "kiosk")
    foreign = post_form(admin, url, {"action": "kiosk", "device_id": str(other_hall), "elder_mode": "on",
                                     "idle_s": "30"}, page)
    assert foreign.status_code == 404 and auth.kiosk_settings(rt, other_hall)["elder_mode"] is False
    m1 = as_user(app, "m1")  # a manager sees the settings and changes nothing
    seen = m1.get(url).get_data(as_text=True)
    assert f'data-kiosk="{kiosk}"' in seen and 'name="idle_s"' not in seen
    refused = post_form(m1, url, {"action": "kiosk", "device_id": str(kiosk), "elder_mode": "on", "idle_s": "60"})
    assert refused.status_code == 403 and auth.kiosk_settings(rt, kiosk)["elder_mode"] is False
