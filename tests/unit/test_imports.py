"""Reading staff, counter and VIP roster files, checking each row and comparing it with what exists
(domain.imports): no database."""
from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from app.domain.errors import Invalid
from app.domain.imports import MAX_ROWS, Rules, column_for, ignored_columns, plan_lines, read_entries, summary
from app.services.import_files import cell_text, read_table, write_table
from app.services.mobiles import msisdn

from ..sheets import xlsx

HALL = 7


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def plan(kind, text, existing=None, rules=None) -> dict:
    rows = read_table("file.csv", csv_bytes(text), kind)
    lines = plan_lines(kind, read_entries(kind, rows, msisdn), existing or {}, rules or Rules(HALL, prefixes=frozenset("ABC")))
    return summary(kind, lines, ignored_columns(kind, rows))


def problems(line: dict) -> dict[str, str]:
    return {p["field"]: p["message"] for p in line["problems"]}


def staff(username, role="counter_staff", hall_id=HALL, **fields) -> dict:
    return {"username": username, "name": fields.get("name", username), "staff_number": "", "role": role,
            "email": None, "active": True, "hall_id": hall_id}


# --------------------------------------------------------------------------- reading a file

@pytest.mark.parametrize("header, field", [
    ("用户名", "username"), ("Username", "username"), (" USER NAME ", "username"), ("姓名", "name"),
    ("工号", "staff_number"), ("Staff_Number", "staff_number"), ("staff number", "staff_number"),
    ("角色", "role"), ("邮箱", "email"), ("初始密码", "password"), ("在岗", "active"), ("用户名 Username", "username"),
    ("ｕｓｅｒｎａｍｅ", "username"), ("用户名（必填）", "username"), ("序号", None),
])
def test_staff_headers_are_read_in_chinese_or_english_whatever_the_case_and_spaces(header, field):
    assert column_for("staff", header) == field


@pytest.mark.parametrize("kind, header, field", [
    ("counters", "窗口号", "number"), ("counters", "Number", "number"), ("counters", "业务", "services"),
    ("counters", "小屏模式", "display_mode"), ("counters", "display mode", "display_mode"), ("counters", "启用", "active"),
    ("vip", "手机号", "mobile"), ("vip", "Mobile", "mobile"), ("vip", "星级", "star_level"),
    ("vip", "有效期至", "valid_until"), ("vip", "Valid Until", "valid_until"), ("vip", "备注", "note"),
    ("vip", "有效", "active"),
])
def test_counter_and_roster_headers(kind, header, field):
    assert column_for(kind, header) == field


def test_an_xlsx_gives_numbers_as_clean_text_dates_as_days_and_skips_blank_rows():
    content = xlsx(("手机号", "星级", "有效期至", "备注", "姓名"),
                   (13800138000, 5.0, datetime(2027, 6, 30), 1.5, None),
                   (None, None, None, None, None),
                   (" 13900139000 ", 3, date(2027, 1, 2), 123456789012345, "王"))
    rows = read_table("roster.xlsx", content, "vip")
    assert [r.line for r in rows] == [2, 4]
    assert rows[0].cells == {"mobile": "13800138000", "star_level": "5", "valid_until": "2027-06-30", "note": "1.5",
                             "name": ""}
    assert rows[1].cells["mobile"] == "13900139000" and rows[1].cells["note"] == "123456789012345"


@pytest.mark.parametrize("value, text", [
    (13800138000, "13800138000"), (13800138000.0, "13800138000"), (1.0, "1"), (1e20, "100000000000000000000"),
    (2.5e-7, "0.00000025"), (0.1, "0.1"), (True, "true"), (None, ""), (" x ", "x"),
    (datetime(2027, 6, 30), "2027-06-30"), (date(2027, 6, 30), "2027-06-30"),
    (datetime(2027, 6, 30, 9, 5), "2027-06-30 09:05"),
])
def test_cell_text(value, text):
    assert cell_text(value) == text


@pytest.mark.parametrize("encoding, bom", [("utf-8", ""), ("utf-8", "\ufeff"), ("gbk", ""), ("gb18030", "")])
def test_a_csv_is_read_in_utf8_with_or_without_bom_or_as_chinese_excel_saves_it(encoding, bom):
    rows = read_table("staff.CSV", csv_bytes(f"{bom}用户名,姓名,角色\nzhangsan,张三,营业员\n", encoding), "staff")
    assert rows[0].line == 2 and rows[0].cells == {"username": "zhangsan", "name": "张三", "role": "营业员"}


def test_without_a_kind_the_headers_are_kept_as_written():
    rows = read_table("x.csv", csv_bytes("A,B\n1,2\n"))
    assert rows[0].cells == {"A": "1", "B": "2"}


def test_columns_the_import_does_not_know_are_kept_aside_and_reported():
    result = plan("staff", "序号,用户名,姓名,角色,初始密码\n1,zhangsan,张三,营业员,secret-pw-1\n")
    assert result["ignored_columns"] == ["序号"] and result["counts"]["create"] == 1


@pytest.mark.parametrize("filename, content, message", [
    ("staff.xls", b"\xd0\xcf\x11\xe0", "save it as .xlsx or CSV"),
    ("staff.txt", b"a,b", "must be .xlsx or .csv"),
    ("staff", b"a,b", "must be .xlsx or .csv"),
    ("staff.csv", b"x" * (2 * 1024 * 1024 + 1), "over 2 MB"),
    ("staff.xlsx", b"not a zip at all", "cannot be read as .xlsx"),
    ("staff.csv", b"\xff\xfe\x00\xd8", "cannot be read"),
    ("staff.csv", b"", "the file is empty"),
    ("staff.csv", "姓名,角色\n张三,营业员\n".encode(), "the column 用户名 (username) is missing"),
    ("staff.csv", "用户名,姓名,Name,角色\na,b,c,d\n".encode(), "are the same column"),
])
def test_files_that_cannot_be_imported_are_refused_naming_the_file(filename, content, message):
    with pytest.raises(Invalid) as refused:
        read_table(filename, content, "staff")
    assert refused.value.field == "file" and message in refused.value.message


def test_more_than_the_row_limit_is_refused():
    body = "".join(f"u{n},name,营业员\n" for n in range(MAX_ROWS + 1))
    with pytest.raises(Invalid, match=f"over {MAX_ROWS} rows"):
        read_table("staff.csv", csv_bytes("用户名,姓名,角色\n" + body), "staff")
    assert len(read_table("staff.csv", csv_bytes("用户名,姓名,角色\n" + body.split("\n", 1)[1]), "staff")) == MAX_ROWS


# --------------------------------------------------------------------------- staff rows

def test_new_existing_and_unchanged_staff_rows():
    existing = {"lisi": staff("lisi", name="李四"), "wangwu": staff("wangwu", name="王五")}
    result = plan("staff", "用户名,姓名,工号,角色,邮箱,初始密码,在岗\n"
                           "zhangsan,张三,10086,营业员,zs@example.com,secret-pw-1,\n"
                           "lisi,李四,,值班经理,,,否\n"
                           "wangwu,王五,,counter_staff,,,yes\n"
                           "zhaoliu,赵六,,柜员,,another-pw,N\n", existing)
    new, changed, same, quiet = result["lines"]
    assert new == {"line": 2, "key": "zhangsan", "action": "create", "problems": [], "changes": {
        "name": [None, "张三"], "staff_number": [None, "10086"], "role": [None, "counter_staff"],
        "email": [None, "zs@example.com"], "password": [None, "••••"], "active": [None, True]}}
    assert changed["action"] == "update" and changed["changes"] == {"role": ["counter_staff", "hall_manager"],
                                                                      "active": [True, False]}
    assert same["action"] == "unchanged" and same["changes"] == {}
    assert quiet["changes"]["active"] == [None, False]
    assert result["counts"] == {"create": 2, "update": 1, "unchanged": 1, "reject": 0} and result["valid"]


def test_a_password_on_an_existing_row_resets_it_and_shows_no_value():
    result = plan("staff", "用户名,姓名,角色,初始密码\nlisi,,,new-secret-1\n", {"lisi": staff("lisi")})
    (line,) = result["lines"]
    assert line["action"] == "update" and line["changes"] == {"password": ["••••", "••••"]}
    assert "new-secret-1" not in str(result)


@pytest.mark.parametrize("row, field, message", [
    ("x,张三,营业员,secret-pw-1,", "username", "2 to 64 letters"),
    ("zhang san,张三,营业员,secret-pw-1,", "username", "2 to 64 letters"),
    (",张三,营业员,secret-pw-1,", "username", "username is required"),
    ("zhangsan,,营业员,secret-pw-1,", "name", "name is required for a new account"),
    ("zhangsan,张三,,secret-pw-1,", "role", "role is required for a new account"),
    ("zhangsan,张三,营业员,,", "password", "password is required for a new account"),
    ("zhangsan,张三,营业员,short,", "password", "8 to 200 characters"),
    ("zhangsan,张三,经理,secret-pw-1,", "role", "counter_staff (营业员) or hall_manager (厅经理)"),
    ("zhangsan,张三,admin,secret-pw-1,", "role", "not for one hall"),
    ("zhangsan,张三,head_office,secret-pw-1,", "role", "not for one hall"),
    ("zhangsan,张三,营业员,secret-pw-1,zs@", "email", "not an email address"),
    ("zhangsan," + "张" * 101 + ",营业员,secret-pw-1,", "name", "at most 100 characters"),
])
def test_each_reason_to_reject_a_staff_row_names_its_field(row, field, message):
    (line,) = plan("staff", f"用户名,姓名,角色,初始密码,邮箱\n{row}\n")["lines"]
    assert line["action"] == "reject" and message in problems(line)[field]


def test_an_account_of_another_hall_or_of_head_office_is_never_taken_over():
    existing = {"m2": staff("m2", "hall_manager", hall_id=HALL + 1), "hq": staff("hq", "head_office", hall_id=None),
                "root": staff("root", "admin", hall_id=None)}
    result = plan("staff", "用户名,姓名,角色\nm2,,\nhq,,\nroot,省公司,营业员\n", existing)
    assert [problems(line) for line in result["lines"]] == [
        {"username": "username belongs to staff of another hall"},
        {"username": "username belongs to a head-office or admin account"},
        {"username": "username belongs to a head-office or admin account"}]


def test_a_key_repeated_in_the_file_rejects_the_second_and_later_rows():
    result = plan("staff", "用户名,姓名,角色,初始密码\nzs,张三,营业员,secret-pw-1\nls,李四,营业员,secret-pw-2\n"
                           "zs,张三三,营业员,secret-pw-3\nzs,张,营业员,secret-pw-4\n")
    assert [line["action"] for line in result["lines"]] == ["create", "create", "reject", "reject"]
    assert problems(result["lines"][3]) == {"username": "username appears again: first on line 2"}


def test_a_hall_manager_imports_counter_staff_only_and_leaves_managers_accounts_alone():
    existing = {"m1": staff("m1", "hall_manager"), "s1": staff("s1")}
    rules = Rules(HALL, manager_only=True)
    result = plan("staff", "用户名,姓名,角色,初始密码\n"
                           "new1,新人,营业员,secret-pw-1\n"      # fine
                           "new2,新经理,厅经理,secret-pw-2\n"    # a manager account
                           "s1,,hall_manager,\n"                  # promoting someone
                           "m1,,,reset-pw-123\n"                 # another manager's password
                           "m1,m1,值班经理,\n", existing, rules)  # unchanged: fine
    assert [line["action"] for line in result["lines"]] == ["create", "reject", "reject", "reject", "reject"]
    assert problems(result["lines"][1]) == {"role": "a hall manager may import counter_staff accounts only"}
    assert problems(result["lines"][2]) == {"role": "a hall manager may import counter_staff accounts only"}
    assert problems(result["lines"][3]) == {"username": "a hall manager's account is changed by an administrator only"}
    unchanged = plan("staff", "用户名,姓名,角色\nm1,m1,值班经理\n", existing, rules)
    assert unchanged["lines"][0]["action"] == "unchanged"


@pytest.mark.parametrize("word, value", [("是", True), ("否", False), ("Yes", True), ("no", False), ("TRUE", True),
                                         ("false", False), ("1", True), ("0", False), ("Y", True), ("n", False)])
def test_booleans(word, value):
    (line,) = plan("staff", f"用户名,姓名,角色,在岗\ns1,,,{word}\n", {"s1": {**staff("s1"), "active": not value}})["lines"]
    assert line["changes"] == {"active": [not value, value]}


# --------------------------------------------------------------------------- counters

def test_counter_rows_are_checked_against_the_halls_active_services():
    existing = {2: {"number": 2, "name": "2号窗口", "services": ("A", "D"), "display_mode": "full", "active": True}}
    result = plan("counters", "窗口号,名称,业务,小屏模式,启用\n"
                              "1,1号窗口,A B,完整,是\n"
                              "2,,A、D,仅号码,\n"          # D is no longer active but stays linked
                              "3,,\"A,X,YZ\",,\n"
                              "4,,B C,half,\n"
                              "1000,,A,,\n"
                              "5号,,A,,\n"
                              "6,,,,\n"
                              "7.0,,A；C,number,0\n", existing)
    lines = result["lines"]
    assert lines[0]["action"] == "create" and lines[0]["changes"]["services"] == [None, ["A", "B"]]
    assert lines[1]["action"] == "update" and lines[1]["changes"] == {"display_mode": ["full", "number"]}
    assert problems(lines[2]) == {"services": "no active service X, YZ in this hall"}
    assert problems(lines[3]) == {"display_mode": "display_mode is full (完整) or number (仅号码)"}
    assert problems(lines[4]) == {"number": "number is a whole number from 1 to 999"}
    assert problems(lines[5]) == {"number": "number is a whole number from 1 to 999"}
    assert problems(lines[6]) == {"services": "services is required for a new counter"}
    assert lines[7]["key"] == "7" and lines[7]["changes"]["services"] == [None, ["A", "C"]]
    assert lines[7]["changes"]["active"] == [None, False]


# --------------------------------------------------------------------------- VIP roster

def test_roster_rows_take_numbers_as_people_write_them_and_show_them_masked():
    existing = {"8613800138000": {"name": "王", "star_level": 5, "valid_until": None, "note": "", "active": True}}
    result = plan("vip", "手机号,姓名,星级,有效期至,备注,有效\n"
                         "+86 138 0013 8000,,6,2027/6/30,,\n"
                         "13900139000,李,五星,2027年1月2日,金卡,是\n"
                         "1.39001E+10,,5,,,\n"
                         "12345,,5,,,\n"
                         "13700137000,,8,,,\n"
                         "13600136000,,3,2027-02-30,,\n"
                         "13500135000,,,,,\n"
                         "138-0013-8000,,7,,,\n", existing)
    lines = result["lines"]
    assert lines[0] == {"line": 2, "key": "138****8000", "action": "update", "problems": [],
                        "changes": {"star_level": [5, 6], "valid_until": [None, "2027-06-30"]}}
    assert lines[1]["action"] == "create" and lines[1]["changes"]["valid_until"] == [None, "2027-01-02"]
    assert lines[1]["changes"]["star_level"] == [None, 5]
    assert "scientific notation" in problems(lines[2])["mobile"]
    assert lines[3]["key"] == "****" and "mobile" in problems(lines[3])
    assert problems(lines[4]) == {"star_level": "star_level is a whole number from 1 to 7"}
    assert problems(lines[5]) == {"valid_until": "valid_until is a date YYYY-MM-DD"}
    assert problems(lines[6]) == {"star_level": "star_level is required for a new roster entry"}
    assert problems(lines[7]) == {"mobile": "mobile appears again: first on line 2"}
    assert "13900139000" not in str(result) and "8613800138000" not in str(result)


# --------------------------------------------------------------------------- writing a file

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_written_file_reads_back_as_the_same_values(fmt):
    records = [{"mobile": "13800138000", "name": "王", "star_level": 5, "valid_until": date(2027, 6, 30), "note": "",
                "active": True}]
    content = write_table("vip", fmt, records)
    if fmt == "csv":
        assert content.startswith("\ufeff手机号,姓名,星级,有效期至,备注,有效".encode())
    else:
        sheet = load_workbook(io.BytesIO(content)).active
        assert sheet["A1"].font.b and sheet["A2"].value == "13800138000" and sheet.column_dimensions["A"].width >= 13
    (entry,) = read_entries("vip", read_table(f"roster.{fmt}", content, "vip"), msisdn)
    assert entry.key == "8613800138000" and entry.problems == []
    assert entry.values == {"name": "王", "star_level": 5, "valid_until": date(2027, 6, 30), "active": True}
