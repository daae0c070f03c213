"""The audit trail on SQLite and PostgreSQL: each kind of configuration change through the API
records who, when, what, before and after, in the change's own transaction; secrets never appear;
a manager reads only their hall's entries; the database itself refuses to change or delete one."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError

from app.services import audit, config
from app.storage.orm import AuditEntry

from .test_surveys import headers, sapp, sclient, srt, sworld  # noqa: F401  (fixtures)
from ..world import sign_in, sign_out

API = "/api/v1"


def entries(client, rt, world, who="admin", **query):
    resp = client.get(f"{API}/audit", query_string=query, headers=headers(rt, world, who))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["entries"]


def test_each_kind_of_change_records_who_what_before_and_after(srt, sworld, sclient):
    admin = headers(srt, sworld, "admin")
    one = sworld.one.id
    changes = [
        ("patch", f"/halls/{one}", {"name_zh": "营业厅一号"}, "hall", one, ["name_zh"]),
        ("patch", f"/services/{sworld.one.services['A']}", {"target_wait_s": 480}, "service",
         sworld.one.services["A"], ["target_wait_s"]),
        ("patch", f"/counters/{sworld.one.counters[2]}", {"name": "二号窗口（VIP）"}, "counter",
         sworld.one.counters[2], ["name"]),
        ("patch", f"/staff/{sworld.staff['s1']}", {"active": False}, "staff", sworld.staff["s1"], ["active"]),
        ("patch", f"/staff/{sworld.staff['t1']}", {"password": "a-new-password-1"}, "staff", sworld.staff["t1"],
         ["password"]),
    ]
    for method, path, body, entity, ident, changed in changes:
        resp = getattr(sclient, method)(API + path, json=body, headers=admin)
        assert resp.status_code == 200, (path, resp.get_data(as_text=True))
        (entry, *_) = entries(sclient, srt, sworld, entity=entity, entity_id=ident)
        assert entry["changed"] == changed and entry["action"] == "update", path
        assert entry["actor"] == {"kind": "staff", "id": sworld.staff["admin"], "name": "管理员"}
        assert entry["hall_id"] == one
    hall = entries(sclient, srt, sworld, entity="hall", entity_id=one)[0]
    assert (hall["before"]["name_zh"], hall["after"]["name_zh"]) == ("营业厅1", "营业厅一号")
    password = entries(sclient, srt, sworld, entity="staff", entity_id=sworld.staff["t1"])[0]
    assert "a-new-password-1" not in str(password) and "password_hash" not in str(password)
    created = sclient.post(f"{API}/halls/{one}/services", headers=admin, json={
        "code": "svcd", "prefix": "D", "name_zh": "业务D", "target_wait_s": 600, "handle_time_s": 300}).get_json()
    (entry,) = entries(sclient, srt, sworld, entity="service", entity_id=created["id"])
    assert entry["action"] == "create" and entry["before"] is None and entry["after"]["prefix"] == "D"
    pin = sclient.put(f"{API}/halls/{one}/guide-pin", json={"pin": "975310"}, headers=headers(srt, sworld, "m1"))
    assert pin.status_code == 200, pin.get_data(as_text=True)
    (entry, *_) = entries(sclient, srt, sworld, entity="hall", entity_id=one)
    assert entry["changed"] == ["guide_pin"] and "975310" not in str(entry)
    assert entry["actor"]["name"] == "厅经理1"


def test_an_update_that_changes_nothing_records_nothing_and_a_refused_one_leaves_no_entry(srt, sworld, sclient):
    admin = headers(srt, sworld, "admin")
    before = len(entries(sclient, srt, sworld))
    sclient.patch(f"{API}/counters/{sworld.one.counters[1]}", json={"name": "1号窗口"}, headers=admin)  # same name
    bad = sclient.patch(f"{API}/counters/{sworld.one.counters[1]}", json={"number": 2}, headers=admin)  # taken: 409
    assert bad.status_code == 409
    assert len(entries(sclient, srt, sworld)) == before


def test_a_manager_reads_their_halls_entries_only_and_counter_staff_none(srt, sworld, sclient):
    admin = headers(srt, sworld, "admin")
    for hall in (sworld.one, sworld.two):
        sclient.patch(f"{API}/halls/{hall.id}", json={"address": "新地址"}, headers=admin)
    mine = entries(sclient, srt, sworld, who="m1")
    assert mine and {e["hall_id"] for e in mine} == {sworld.one.id}
    assert sclient.get(f"{API}/audit", headers=headers(srt, sworld, "s1")).status_code == 403
    bad = sclient.get(f"{API}/audit?since=yesterday", headers=admin)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "since"
    bad = sclient.get(f"{API}/audit?entity=ticket", headers=admin)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "entity"


def test_changes_from_the_command_line_or_scheduler_are_the_systems_and_pages_are_paged(srt, sworld, sclient):
    for n in range(5):
        config.update_counter(srt, sworld.two.counters[1], {"name": f"窗口{n}"})
    page = sclient.get(f"{API}/audit?entity=counter&limit=2", headers=headers(srt, sworld, "admin")).get_json()
    assert page["entries"][0]["actor"] == {"kind": "system", "id": None, "name": "system"}
    listed = audit.list_entries(srt, None, entity="counter", entity_id=sworld.two.counters[1], limit=2)
    assert [e["after"]["name"] for e in listed["entries"]] == ["窗口4", "窗口3"]
    more = audit.list_entries(srt, None, entity="counter", entity_id=sworld.two.counters[1], limit=2,
                              before_id=listed["next_before_id"])
    assert [e["after"]["name"] for e in more["entries"]] == ["窗口2", "窗口1"]


def test_the_database_refuses_to_change_or_delete_an_entry(srt, sworld):
    config.update_hall(srt, sworld.one.id, {"address": "改过的地址"})
    for statement in (update(AuditEntry).values(actor_name="someone else"), delete(AuditEntry)):
        with srt.uow() as tx, pytest.raises(DatabaseError) as refused:
            tx.session.execute(statement)
            tx.commit()
        assert "cannot be changed or deleted" in str(refused.value)
    with srt.reader() as tx:
        assert tx.session.execute(text("SELECT count(*) FROM audit_entries")).scalar_one() > 0


def test_the_audit_page_shows_changes_before_and_after_and_a_manager_only_their_hall(srt, sworld, sclient):
    import re
    from html import unescape


    admin = headers(srt, sworld, "admin")
    sclient.patch(f"{API}/halls/{sworld.one.id}", json={"address": "金水路 100 号"}, headers=admin)
    sclient.patch(f"{API}/halls/{sworld.two.id}", json={"address": "二七路 1 号"}, headers=admin)
    sign_in(sclient, "hq")
    page = unescape(sclient.get("/manager/audit?entity=hall").get_data(as_text=True))
    rows = re.findall(r'<tr data-entry="\d+" data-entity="hall" data-action="update">', page)
    assert len(rows) == 2 and "<ins>金水路 100 号</ins>" in page and "管理员" in page
    sign_out(sclient)
    sign_in(sclient, "m2")
    mine = unescape(sclient.get("/manager/audit").get_data(as_text=True))
    assert "二七路 1 号" in mine and "金水路 100 号" not in mine
    sign_out(sclient)
    sign_in(sclient, "s1")
    assert sclient.get("/manager/audit").status_code == 403


def test_the_audit_page_reads_in_words_local_time_and_filters_by_person_and_day(srt, sworld, sclient):
    """Issue 22: times were UTC, fields raw (``service_ids [14, 15]``), with no filter by day or person."""
    import re
    from html import unescape

    admin = headers(srt, sworld, "admin")
    one = sworld.one
    counter = one.counters[1]
    sclient.patch(f"{API}/counters/{counter}", json={"service_ids": [one.services["A"], one.services["B"]]},
                  headers=admin)
    sign_in(sclient, "hq")
    page = unescape(sclient.get("/manager/audit?entity=counter").get_data(as_text=True))
    assert '<dt data-field="service_ids">业务</dt>' in page
    assert "<ins>A 业务A、B 业务B</ins>" in page and "[" not in re.search(r"<ins>[^<]*</ins>", page).group(0)
    entry = audit.list_entries(srt, None, "counter")["entries"][0]
    local = datetime.fromisoformat(entry["at"]).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert f'<td class="nw">{local}</td>' in page  # the hall's time, not UTC
    day = local[:10]
    admin_id = sworld.staff["admin"]
    assert 'data-entity="counter"' in sclient.get(f"/manager/audit?entity=counter&actor={admin_id}&from={day}&to={day}").get_data(as_text=True)
    nobody = sclient.get(f"/manager/audit?entity=counter&actor={sworld.staff['m1']}").get_data(as_text=True)
    assert 'data-entity="counter"' not in nobody
    before = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    assert 'data-entity="counter"' not in sclient.get(f"/manager/audit?entity=counter&to={before}").get_data(as_text=True)
    assert sclient.get("/manager/audit?from=9999-99-99&to=x").status_code == 200  # a bad day is no filter
