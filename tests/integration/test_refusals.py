"""Refusals reach people in their page's language (issue 22, defect 13): by the refusal's stable code
(web.refusals), never the use case's English sentence, which is kept for the API's integrators."""
from __future__ import annotations

import re

import pytest

from app.web import refusals

from ..world import bearer, staff_token
from .test_admin_pages import as_user, field_error, post_form

API = "/api/v1"
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_refusal_text_has_its_chinese(app):
    with app.test_request_context("/"):
        chinese = refusals.texts()
    with app.test_request_context("/?lang=en"):
        english = refusals.texts()
    untranslated = sorted(code for code, text in chinese.items() if not CJK.search(text) or text == english[code])
    assert untranslated == []


def test_the_apis_refusal_carries_its_text_for_the_page_beside_the_english_message(client, rt, world):
    admin = bearer(staff_token(rt, world.staff["admin"]))
    r = client.post(f"{API}/halls/{world.one.id}/media", data=b"", headers=admin)
    error = r.get_json()["error"]
    assert (r.status_code, error["code"]) == (422, "media_empty")
    assert error["message"] == "the file is empty" and error["text"] == "文件是空的。"
    client.set_cookie("lang", "en")
    assert client.post(f"{API}/halls/{world.one.id}/media", data=b"", headers=admin).get_json()["error"]["text"] \
        == "The file is empty."
    client.delete_cookie("lang")
    # filled from the refusal's details
    staff = bearer(staff_token(rt, world.staff["s1"]))
    r = client.post(f"{API}/counters/{world.one.counters[1]}/call-next", json={}, headers=staff)
    error = r.get_json()["error"]
    assert error["code"] == "counter_closed" and error["text"] == f"{error['counter_number']}号窗口已暂停服务，请先开窗。"


def test_a_refusal_without_a_text_of_its_own_reads_as_its_kind_in_chinese(client, rt, world):
    r = client.patch(f"{API}/media/999999", json={"active": False}, headers=bearer(staff_token(rt, world.staff["admin"])))
    error = r.get_json()["error"]
    assert (r.status_code, error["code"]) == (404, "not_found") and error["message"] == "no media 999999"
    assert error["text"] == "没有找到：可能已被删除。"


@pytest.mark.parametrize("path, form, field, text", [
    ("/admin/regions", {"code": "R1", "name_zh": "重复"}, "region.code", "已被使用"),
    ("/admin/halls/{hall}/devices", {"code": "999999", "name": "大屏"}, "code", "配对码不存在或已过期，设备会显示新的配对码"),
    ("/admin/halls/{hall}/vip", {"action": "add", "mobile": "13900001111", "star_level": "5"}, "mobile",
     "该号码已在名单中"),
])
def test_the_administration_forms_show_refusals_by_their_code(app, world, path, form, field, text):
    client = as_user(app, "admin")
    url = path.format(hall=world.one.id)
    page_url = "/admin/" if path == "/admin/regions" else url
    if "vip" in path:  # on the roster already
        post_form(client, url, form, client.get(page_url).get_data(as_text=True))
    page = post_form(client, url, form, client.get(page_url).get_data(as_text=True)).get_data(as_text=True)
    assert field_error(page, field) == text


def test_a_kiosks_priority_ticket_with_a_wrong_pin_is_refused_by_code(client, rt, world):
    from app.services import auth

    auth.set_guide_pin(rt, world.one.id, "2468")
    r = client.post(f"{API}/halls/{world.one.id}/tickets", json={"service_id": world.one.services["A"], "tier": "vip",
                                                                 "guide_pin": "1111"},
                    headers=bearer(world.one.tokens["kiosk"]))
    error = r.get_json()["error"]
    assert (r.status_code, error["code"], error["field"]) == (403, "pin_wrong", "guide_pin")
    assert error["text"] == "密码错误，请重新输入。"
