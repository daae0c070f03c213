"""Bulk import and export of a hall's staff, counters and VIP roster on SQLite and PostgreSQL:
plan without writing, apply all or the valid rows only in one transaction with audit entries,
a manager's limits, the roster's tiers at the kiosk, and export → import round trips."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select

from app import create_app
from app.bootstrap import bootstrap
from app.domain.errors import Conflict, Invalid
from app.services import audit, auth, import_files, imports, queue
from app.storage.orm import AuditEntry, Counter, Staff, VipMember

from ..conftest import FAST_HASH
from ..sheets import xlsx
from ..world import World, build_world

STAFF_FILE = ("用户名,姓名,工号,角色,邮箱,初始密码,在岗\n"
              "zhangsan,张三,10086,营业员,zs@example.com,secret-pw-1,是\n"   # new
              "s1,营业员1,,,,,否\n"                                           # existing: deactivated
              "m2,厅经理2,,,,,\n"                                              # another hall's manager
              "lisi,李四,,营业员,,,\n"                                         # new without a password
              "zhangsan,张三丰,,营业员,,secret-pw-2,\n"                        # repeated
              "hq,省公司,,营业员,,secret-pw-3,\n")                             # head office


@pytest.fixture
def rt(database_url, clock):
    runtime = bootstrap(database_url, clock=clock, password_hash_method=FAST_HASH)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def world(rt) -> World:
    create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": "unused", "RUNTIME": rt,
                "SMS_DATA_KEY": "imports-tests-data-key-0123456789"})  # configures the number vault
    return build_world(rt)


def count(rt, model, *where) -> int:
    with rt.reader() as tx:
        return tx.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def staff_row(rt, username) -> Staff | None:
    with rt.reader() as tx:
        found = tx.session.execute(select(Staff).where(Staff.username == username)).scalar_one_or_none()
        tx.session.expunge_all()
        return found


def test_a_staff_file_is_planned_row_by_row_and_nothing_is_written(rt, world):
    before = (count(rt, Staff), count(rt, AuditEntry))
    result = imports.plan(rt, world.one.id, "staff", "staff.csv", STAFF_FILE.encode("gbk"))
    assert [(line["line"], line["key"], line["action"]) for line in result["lines"]] == [
        (2, "zhangsan", "create"), (3, "s1", "update"), (4, "m2", "reject"), (5, "lisi", "reject"),
        (6, "zhangsan", "reject"), (7, "hq", "reject")]
    lines = result["lines"]
    assert lines[1]["changes"] == {"active": [True, False]}
    assert lines[2]["problems"] == [{"field": "username", "message": "username belongs to staff of another hall",
                                     "code": "other_hall_staff", "params": {}}]
    assert lines[3]["problems"] == [{"field": "password", "message": "password is required for a new account",
                                     "code": "required_for_new", "params": {}}]
    assert lines[4]["problems"][0]["field"] == "username" and "line 2" in lines[4]["problems"][0]["message"]
    assert lines[5]["problems"][0]["message"] == "username belongs to a head-office or admin account"
    assert result["counts"] == {"create": 1, "update": 1, "unchanged": 0, "reject": 4} and not result["valid"]
    assert "secret-pw" not in str(result)
    assert (count(rt, Staff), count(rt, AuditEntry)) == before


def test_apply_refuses_a_file_with_rejected_rows_or_stores_only_the_valid_ones(rt, world):
    before = (count(rt, Staff), count(rt, AuditEntry))
    with pytest.raises(Invalid) as refused:
        imports.apply(rt, world.one.id, "staff", "staff.csv", STAFF_FILE.encode())
    assert refused.value.field == "file"
    assert refused.value.message == "the file has 4 rejected rows; fix them or apply the valid rows only"
    assert (count(rt, Staff), count(rt, AuditEntry)) == before

    done = imports.apply(rt, world.one.id, "staff", "staff.csv", STAFF_FILE.encode(), only_valid=True)
    assert done == {"created": 1, "updated": 1, "unchanged": 0, "skipped": 4}
    new = staff_row(rt, "zhangsan")
    assert (new.name, new.staff_number, new.role, new.hall_id, new.email, new.active) == (
        "张三", "10086", "counter_staff", world.one.id, "zs@example.com", True)
    assert auth.verify_login(rt, "zhangsan", "secret-pw-1").id == new.id
    assert not staff_row(rt, "s1").active and staff_row(rt, "lisi") is None
    assert staff_row(rt, "m2").hall_id == world.two.id and staff_row(rt, "hq").hall_id is None
    created = audit.list_entries(rt, None, entity="staff", entity_id=new.id)["entries"]
    assert [(e["action"], e["hall_id"], e["after"]["username"]) for e in created] == [
        ("create", world.one.id, "zhangsan")]
    (deactivated, *_) = audit.list_entries(rt, None, entity="staff", entity_id=world.staff["s1"])["entries"]
    assert deactivated["action"] == "update" and deactivated["changed"] == ["active"]
    assert "secret-pw-1" not in str(created) and "password_hash" not in str(created)


def test_a_password_reset_is_audited_as_changed_and_the_new_password_works(rt, world):
    content = xlsx(("Username", "Name", "Role", "Password"), ("t1", None, None, "reset-pw-123"))
    assert imports.plan(rt, world.one.id, "staff", "reset.xlsx", content)["lines"][0]["changes"] == {
        "password": ["••••", "••••"]}
    assert imports.apply(rt, world.one.id, "staff", "reset.xlsx", content)["updated"] == 1
    assert auth.verify_login(rt, "t1", "reset-pw-123").id == world.staff["t1"]
    (entry, *_) = audit.list_entries(rt, None, entity="staff", entity_id=world.staff["t1"])["entries"]
    assert entry["changed"] == ["password"] and "reset-pw-123" not in str(entry)


def test_a_hall_manager_cannot_import_a_hall_manager_row(rt, world):
    content = xlsx(("用户名", "姓名", "角色", "初始密码"),
                   ("wangwu", "王五", "营业员", "secret-pw-1"),
                   ("zhaoliu", "赵六", "值班经理", "secret-pw-2"),
                   ("m1", "厅经理1改", None, None))
    result = imports.plan(rt, world.one.id, "staff", "staff.xlsx", content, manager_only=True)
    assert [line["action"] for line in result["lines"]] == ["create", "reject", "reject"]
    assert result["lines"][1]["problems"][0]["field"] == "role"
    with pytest.raises(Invalid):
        imports.apply(rt, world.one.id, "staff", "staff.xlsx", content, manager_only=True)
    done = imports.apply(rt, world.one.id, "staff", "staff.xlsx", content, only_valid=True, manager_only=True)
    assert done == {"created": 1, "updated": 0, "unchanged": 0, "skipped": 2}
    assert staff_row(rt, "zhaoliu") is None and staff_row(rt, "m1").name == "厅经理1"
    # an administrator may
    assert imports.apply(rt, world.one.id, "staff", "staff.xlsx", content)["created"] == 1
    assert staff_row(rt, "zhaoliu").role == "hall_manager" and staff_row(rt, "m1").name == "厅经理1改"


def test_counters_with_an_unknown_prefix_are_rejected_and_good_ones_stored(rt, world):
    content = xlsx(("窗口号", "名称", "业务", "小屏模式", "启用"),
                   (4, "4号窗口", "A、C", "仅号码", "是"),
                   (2.0, None, "A B C", None, None),
                   (5, "5号窗口", "A Z", None, None))
    result = imports.plan(rt, world.one.id, "counters", "counters.xlsx", content)
    assert [line["action"] for line in result["lines"]] == ["create", "update", "reject"]
    assert result["lines"][1]["changes"] == {"services": [["A", "B"], ["A", "B", "C"]]}
    assert result["lines"][2]["problems"] == [{"field": "services", "message": "no active service Z in this hall",
                                                 "code": "unknown_services", "params": {"prefixes": "Z"}}]
    imports.apply(rt, world.one.id, "counters", "counters.xlsx", content, only_valid=True)
    with rt.reader() as tx:
        counters = {c.number: c for c in tx.session.execute(
            select(Counter).where(Counter.hall_id == world.one.id)).scalars()}
        assert sorted(counters) == [1, 2, 3, 4]
        assert [s.prefix for s in counters[4].services] == ["A", "C"] and counters[4].display_mode == "number"
        assert [s.prefix for s in counters[2].services] == ["A", "B", "C"] and counters[2].name == "2号窗口"
    (entry, *_) = audit.list_entries(rt, None, entity="counter", entity_id=world.one.counters[2])["entries"]
    assert entry["changed"] == ["service_ids"]


def test_a_vip_import_gives_the_number_its_tier_at_the_kiosk(rt, world):
    content = xlsx(("手机号", "姓名", "星级", "有效期至", "备注", "有效"),
                   (13800138000, "王先生", 6, None, "钻石卡", "是"),
                   ("+86 139 0013 9000", "李女士", "4", "2027-12-31", None, None),
                   (13700137000, "过期", 7, "2020-01-01", None, None))
    plan = imports.plan(rt, world.one.id, "vip", "roster.xlsx", content)
    assert [line["key"] for line in plan["lines"]] == ["138****8000", "139****9000", "137****7000"]
    assert imports.apply(rt, world.one.id, "vip", "roster.xlsx", content)["created"] == 3
    a = world.one.services["A"]
    assert queue.issue_ticket(rt, world.one.id, a, mobile="13800138000")["tier"] == "vip"
    assert queue.issue_ticket(rt, world.one.id, a, mobile="13900139000")["tier"] == "star"
    assert queue.issue_ticket(rt, world.one.id, a, mobile="13700137000")["tier"] == "ordinary"  # lapsed
    assert queue.issue_ticket(rt, world.two.id, world.two.services["A"], mobile="13800138000")["tier"] == "ordinary"
    assert len(audit.list_entries(rt, None, entity="vip")["entries"]) == 3
    again = imports.plan(rt, world.one.id, "vip", "roster.csv",
                         "手机号,星级\n13800138000,6\n13900139000,5\n".encode())
    assert [line["action"] for line in again["lines"]] == ["unchanged", "update"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_export_imports_back_unchanged(rt, world, fmt):
    imports.apply(rt, world.one.id, "vip", "roster.csv",
                  "手机号,姓名,星级,有效期至,备注\n13800138000,王先生,6,2027-06-30,钻石卡\n13900139000,,3,,\n".encode())
    imports.apply(rt, world.one.id, "staff", "staff.csv",
                  "用户名,姓名,工号,角色,邮箱,初始密码\nzhangsan,张三,007,营业员,zs@example.com,secret-pw-1\n".encode())
    for kind, rows in (("staff", 4), ("counters", 3), ("vip", 2)):
        content, name, mimetype = imports.export(rt, world.one.id, kind, fmt)
        assert name == f"H1-{kind}.{fmt}" and mimetype == import_files.MIMETYPES[fmt]
        result = imports.plan(rt, world.one.id, kind, name, content)
        assert result["counts"] == {"create": 0, "update": 0, "unchanged": rows, "reject": 0}, (kind, result)
    staff_file, _, _ = imports.export(rt, world.one.id, "staff", fmt)
    vip_file, _, _ = imports.export(rt, world.one.id, "vip", fmt)
    if fmt == "csv":
        assert staff_file.startswith("\ufeff用户名,姓名,工号,角色,邮箱,初始密码,在岗".encode())
        assert "13800138000" in vip_file.decode("utf-8-sig") and "secret-pw-1" not in staff_file.decode("utf-8-sig")


def test_a_template_is_headers_and_one_example_row(rt, world):
    for kind in ("staff", "counters", "vip"):
        for fmt in ("xlsx", "csv"):
            content, name, _ = imports.template(kind, fmt)
            assert name == f"{kind}-template.{fmt}"
            result = imports.plan(rt, world.one.id, kind, name, content)
            assert len(result["lines"]) == 1 and result["valid"], result  # counter 1 exists: an update


def test_a_unique_clash_with_another_writer_stores_nothing(rt, world, monkeypatch):
    """Another writer created the username after this import looked: the flush clashes."""
    real_load = imports._load

    def blind_load(*args):
        stored = real_load(*args)
        stored.fields.pop("s1", None)
        return stored

    monkeypatch.setattr(imports, "_load", blind_load)
    before = (count(rt, Staff), count(rt, AuditEntry))
    content = "用户名,姓名,角色,初始密码\nnewbie,新人,营业员,secret-pw-1\ns1,营业员1,营业员,secret-pw-2\n".encode()
    with pytest.raises(Conflict) as clash:
        imports.apply(rt, world.one.id, "staff", "staff.csv", content)
    assert clash.value.field == "file"
    assert (count(rt, Staff), count(rt, AuditEntry)) == before


def test_bad_requests(rt, world):
    with pytest.raises(Invalid) as bad:
        imports.plan(rt, world.one.id, "devices", "x.csv", b"a\n1\n")
    assert bad.value.field == "kind"
    with pytest.raises(Invalid) as bad:
        imports.export(rt, world.one.id, "staff", "pdf")
    assert bad.value.field == "format"
    with pytest.raises(Invalid) as bad:
        imports.plan(rt, world.one.id, "staff", "x.csv", "用户名,姓名,角色\n".encode())
    assert bad.value.field == "file" and "no rows" in bad.value.message
    assert count(rt, VipMember) == 0
