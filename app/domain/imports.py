"""Bulk import and export of a hall's staff, counters and VIP roster (批量导入导出), pure.

A hall sends a spreadsheet (.xlsx, or CSV as Chinese Excel saves it) with one row per staff
account, counter or roster entry. ``services.import_files`` reads the file into lines of cell
texts (and writes exports); here the headers are matched to fields (Chinese or English, as people
write them), each cell is checked and converted, and each row is compared with what exists:
create, update, unchanged, or reject with the reason named. ``services.imports`` looks up what
exists and writes the result.

A blank cell on an existing row keeps what is stored; on a new row it takes the default. The
key (username, counter number, mobile number) finds the row and is never changed by an import.
Exports and templates are written with the same columns under Chinese headers, so an export
imports back unchanged; text a spreadsheet would run as a formula is written with a leading
apostrophe (``cells.safe_cell``), which reading takes off again.

Nothing here knows about files, the database or the web: standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from .errors import Invalid
from .model import Role
from .roster import star_level_problem
from .survey import mask_msisdn

KINDS = ("staff", "counters", "vip")
FORMATS = ("xlsx", "csv")
MAX_ROWS = 5000  # data rows, the header not counted
SECRET = "••••"  # a password in a plan, never its value
ACTIONS = ("create", "update", "unchanged", "reject")
HALL_ROLES = (Role.COUNTER_STAFF.value, Role.HALL_MANAGER.value)


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    field: str
    zh: tuple[str, ...]  # Chinese headers; the first is written on export
    en: tuple[str, ...]  # English headers
    required: bool = False  # the file must have this column
    width: int = 12  # on export, in characters

    @property
    def header(self) -> str:
        return self.zh[0]


COLUMNS: dict[str, tuple[Column, ...]] = {
    "staff": (
        Column("username", ("用户名", "账号", "登录名"), ("username", "user", "login"), required=True, width=16),
        Column("name", ("姓名",), ("name",), required=True),
        Column("staff_number", ("工号", "员工编号"), ("staff_number", "staff no", "staff no.")),
        Column("role", ("角色", "岗位"), ("role",), required=True),
        Column("email", ("邮箱", "电子邮箱", "邮件"), ("email", "e-mail"), width=28),
        Column("password", ("初始密码", "密码"), ("password", "initial password"), width=16),
        Column("active", ("在岗", "启用"), ("active",), width=8),
    ),
    "counters": (
        Column(
            "number", ("窗口号", "窗口", "窗口编号"), ("number", "counter", "counter number"), required=True, width=8
        ),
        Column("name", ("名称", "窗口名称"), ("name",), width=20),
        Column("services", ("业务", "业务类型", "办理业务"), ("services", "service", "prefixes"), required=True),
        Column("display_mode", ("小屏模式", "窗口屏模式"), ("display_mode", "display"), width=10),
        Column("active", ("启用", "在用"), ("active",), width=8),
    ),
    "vip": (
        Column("mobile", ("手机号", "手机号码", "手机"), ("mobile", "phone", "msisdn"), required=True, width=16),
        Column("name", ("姓名",), ("name",)),
        Column("star_level", ("星级",), ("star_level", "stars", "star level"), required=True, width=8),
        Column("valid_until", ("有效期至", "有效期", "到期日"), ("valid_until", "valid until", "expires"), width=14),
        Column("note", ("备注",), ("note", "notes", "remark"), width=24),
        Column("active", ("有效", "启用"), ("active",), width=8),
    ),
}
KEY_FIELD = {"staff": "username", "counters": "number", "vip": "mobile"}
NEW_ROW_NEEDS = {"staff": ("name", "role", "password"), "counters": ("services",), "vip": ("star_level",)}
DEFAULTS: dict[str, dict[str, Any]] = {
    "staff": {"staff_number": "", "email": None, "active": True},
    "counters": {"name": "", "display_mode": "full", "active": True},
    "vip": {"name": "", "valid_until": None, "note": "", "active": True},
}
WHAT = {"staff": "account", "counters": "counter", "vip": "roster entry"}  # "a new ..." in messages

EXAMPLES = {
    "staff": {
        "username": "zhangsan",
        "name": "张三",
        "staff_number": "10086",
        "role": "counter_staff",
        "email": "zhangsan@example.com",
        "password": "ChangeMe-2026",
        "active": True,
    },
    "counters": {"number": 1, "name": "1号窗口", "services": ("A", "B"), "display_mode": "full", "active": True},
    "vip": {
        "mobile": "13800138000",
        "name": "张先生",
        "star_level": 5,
        "valid_until": date(2027, 12, 31),
        "note": "钻石卡",
        "active": True,
    },
}


def header_key(text: str) -> str:
    """A header as compared: full-width folded, lower case, no spaces, underscores, hyphens or
    stars, no bracketed hint ("有效期至（YYYY-MM-DD）")."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"\(.*?\)", "", text)
    return re.sub(r"[\s_\-*]", "", text)


def _aliases(column: Column) -> set[str]:
    names = set(column.zh) | set(column.en) | {zh + en for zh in column.zh for en in column.en}
    return {header_key(name) for name in names}


HEADERS = {kind: {alias: c.field for c in columns for alias in _aliases(c)} for kind, columns in COLUMNS.items()}


def column_for(kind: str, header: str) -> str | None:
    """The field a header names, or None if it names none of this kind's."""
    return HEADERS[kind].get(header_key(header))


# --------------------------------------------------------------------------- reading a file


@dataclass(frozen=True)
class Row:
    """One data row: its line in the spreadsheet (the header is line 1) and its cells as text.
    Read for a kind, known columns are keyed by field name, others by their header as written."""

    line: int
    cells: dict[str, str]


def read_rows(lines: Iterable[tuple[int, list[str]]], kind: str | None = None) -> list[Row]:
    """The data rows of a table read as (line number, cells as text), blank rows skipped
    (``services.import_files`` reads the .xlsx or .csv file). With ``kind``, headers are matched to
    its fields and a missing required column refuses the file."""
    header = None
    rows = []
    for number, cells in lines:
        if all(cell == "" for cell in cells):
            continue
        if header is None:
            header = _header(cells, kind)
            continue
        rows.append(Row(number, {name: (cells[i] if i < len(cells) else "") for i, name in header}))
        if len(rows) > MAX_ROWS:
            raise Invalid(f"the file has over {MAX_ROWS} rows: split it into smaller files", field="file")
    if header is None:
        raise Invalid("the file is empty", field="file")
    return rows


def _header(cells: list[str], kind: str | None) -> list[tuple[int, str]]:
    """(position, name) of each named column; with ``kind`` known names become field names."""
    named = [(i, text) for i, text in enumerate(cells) if text]
    if kind is None:
        return named
    out: list = []
    seen: dict = {}
    for i, text in named:
        name = column_for(kind, text) or text
        if name in seen:
            raise Invalid(f"the columns {seen[name]!r} and {text!r} are the same column", field="file")
        seen[name] = text
        out.append((i, name))
    for column in COLUMNS[kind]:
        if column.required and column.field not in seen:
            raise Invalid(f"the column {column.header} ({column.en[0]}) is missing", field="file")
    return out


def ignored_columns(kind: str, rows: list[Row]) -> list[str]:
    """Headers of the file that name none of the kind's fields (their cells are not imported)."""
    fields = {c.field for c in COLUMNS[kind]}
    return [name for name in (rows[0].cells if rows else {}) if name not in fields]


# --------------------------------------------------------------------------- cell values


class _Bad(ValueError):
    """A cell that cannot be used; the message says why, ``code`` names the reason for screens that
    translate it, ``params`` the values its text needs."""

    def __init__(self, message: str, code: str, **params):
        super().__init__(message)
        self.code = code
        self.params = params


class Problem(NamedTuple):
    """Why a row is refused: its field, an English message, a stable code and the code's values."""

    field: str
    message: str
    code: str
    params: dict = {}  # noqa: RUF012 - a NamedTuple's default, never mutated

    def to_dict(self) -> dict:
        return {"field": self.field, "message": self.message, "code": self.code, "params": dict(self.params)}


_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PREFIX = re.compile(r"^[A-Z]{1,2}$")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?e\+?\d+$", re.IGNORECASE)
_WHOLE = re.compile(r"^[+]?\d+(\.0*)?$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(\s+00:00(:00)?)?$")
_SEPARATORS = re.compile(r"[\s,，、;；/|]+")

BOOLEANS = {
    **{word: True for word in ("是", "yes", "y", "true", "1", "在岗", "启用", "有效", "√", "✓")},
    **{word: False for word in ("否", "no", "n", "false", "0", "离岗", "停用", "禁用", "无效", "×", "✗")},
}
ROLES = {
    **{word: Role.COUNTER_STAFF.value for word in ("counterstaff", "营业员", "柜员")},
    **{word: Role.HALL_MANAGER.value for word in ("hallmanager", "值班经理", "厅经理", "营业厅经理")},
    **{word: Role.HEAD_OFFICE.value for word in ("headoffice", "省公司", "总部")},
    **{word: Role.ADMIN.value for word in ("admin", "管理员", "系统管理员")},
}
ROLE_NAMES = {Role.COUNTER_STAFF.value: "营业员", Role.HALL_MANAGER.value: "厅经理"}
DISPLAY_MODES = {"full": "full", "完整": "full", "number": "number", "仅号码": "number", "号码": "number"}
DISPLAY_MODE_NAMES = {"full": "完整", "number": "仅号码"}
CHINESE_DIGITS = {c: i for i, c in enumerate("一二三四五六七", start=1)}


def _word(text: str) -> str:
    return re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", text).lower())


def _text(limit: int) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        if len(text) > limit:
            raise _Bad(f"{name} is at most {limit} characters", "too_long", limit=limit)
        return text

    return parse


def _username(name: str, text: str) -> str:
    if not _USERNAME.match(text):
        raise _Bad("username is 2 to 64 letters, digits, _ . or -", "bad_username")
    return text


def _email(name: str, text: str) -> str:
    if len(text) > 254 or not _EMAIL.match(text):
        raise _Bad(f"email {text!r} is not an email address", "bad_email")
    return text


def _password(name: str, text: str) -> str:
    if not 8 <= len(text) <= 200:
        raise _Bad("password is 8 to 200 characters", "bad_password")
    return text


def _role(name: str, text: str) -> str:
    role = ROLES.get(_word(text))
    if role is None:
        raise _Bad("role is counter_staff (营业员) or hall_manager (厅经理)", "bad_role")
    if role not in HALL_ROLES:
        raise _Bad(
            f"role {role} is not for one hall: the import takes counter_staff or hall_manager", "role_not_for_hall"
        )
    return role


def _boolean(name: str, text: str) -> bool:
    value = BOOLEANS.get(_word(text))
    if value is None:
        raise _Bad(f"{name} is 是 or 否 (yes or no)", "bad_boolean")
    return value


def _whole(text: str) -> int | None:
    text = unicodedata.normalize("NFKC", text)
    return int(float(text)) if _WHOLE.match(text) else None


def _counter_number(name: str, text: str) -> int:
    number = _whole(text)
    if number is None or not 1 <= number <= 999:
        raise _Bad("number is a whole number from 1 to 999", "bad_counter_number")
    return number


def _services(name: str, text: str) -> tuple[str, ...]:
    """Ticket prefixes, "A B", "A,B" or "A、B"; checked against the hall's services later."""
    prefixes = {p for p in _SEPARATORS.split(unicodedata.normalize("NFKC", text).upper()) if p}
    return tuple(sorted(prefixes))


def _display_mode(name: str, text: str) -> str:
    mode = DISPLAY_MODES.get(_word(text))
    if mode is None:
        raise _Bad("display_mode is full (完整) or number (仅号码)", "bad_display_mode")
    return mode


def _mobile(name: str, text: str, read_mobile: Callable[[str], str] | None = None) -> str:
    """The number as ``read_mobile`` reads it (``services.mobiles.msisdn``, given to ``read_entries``)."""
    if _SCIENTIFIC.match(text):
        raise _Bad(
            f"mobile {text} lost its digits (scientific notation): format the column as text and save again",
            "mobile_scientific",
        )
    if read_mobile is None:
        raise TypeError("read_entries needs read_mobile to read a mobile number")
    try:
        return read_mobile(text)
    except ValueError:
        raise _Bad("mobile is not a mobile number (11 digits, +86 accepted)", "bad_mobile") from None


def _star_level(name: str, text: str) -> int:
    text = unicodedata.normalize("NFKC", text).removesuffix("星").strip()
    level = CHINESE_DIGITS.get(text)
    if level is None:
        level = _whole(text)
    problem = star_level_problem(level)
    if problem or level is None:
        raise _Bad(problem or "a star level is a whole number", "bad_star_level")
    return level


def _date(name: str, text: str) -> date:
    found = _DATE.match(unicodedata.normalize("NFKC", text))
    try:
        if found is None:
            raise ValueError
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise _Bad(f"{name} is a date YYYY-MM-DD", "bad_date") from None


PARSERS: dict[str, dict[str, Callable[[str, str], object]]] = {
    "staff": {
        "username": _username,
        "name": _text(100),
        "staff_number": _text(32),
        "role": _role,
        "email": _email,
        "password": _password,
        "active": _boolean,
    },
    "counters": {
        "number": _counter_number,
        "name": _text(100),
        "services": _services,
        "display_mode": _display_mode,
        "active": _boolean,
    },
    "vip": {
        "mobile": _mobile,
        "name": _text(100),
        "star_level": _star_level,
        "valid_until": _date,
        "note": _text(200),
        "active": _boolean,
    },
}


# --------------------------------------------------------------------------- rows read


@dataclass
class Entry:
    """A data row read for its kind: its key, the values given (blank cells left out), problems."""

    line: int
    key: Any  # username, counter number or mobile number (E.164 digits); None if unreadable
    shown: str  # the key as a plan shows it (a mobile number masked)
    values: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)


def read_entries(kind: str, rows: list[Row], read_mobile: Callable[[str], str]) -> list[Entry]:
    """Each row's cells checked and converted (a mobile number by ``read_mobile``, which raises
    ValueError for one it cannot read); a key repeated in the file rejects its second and later rows."""
    entries = [_entry(kind, row, read_mobile) for row in rows]
    key_field, first = KEY_FIELD[kind], {}  # type: str, dict
    for entry in entries:
        if entry.key is None:
            continue
        if entry.key in first:
            entry.problems.insert(
                0,
                Problem(
                    key_field,
                    f"{key_field} appears again: first on line {first[entry.key]}",
                    "repeated_key",
                    {"first_line": first[entry.key]},
                ),
            )
        else:
            first[entry.key] = entry.line
    return entries


def _entry(kind: str, row: Row, read_mobile: Callable[[str], str]) -> Entry:
    key_field = KEY_FIELD[kind]
    values, problems = {}, []
    for name, parse in PARSERS[kind].items():
        text = row.cells.get(name, "")
        if text == "":
            continue
        try:
            values[name] = _mobile(name, text, read_mobile) if parse is _mobile else parse(name, text)
        except _Bad as bad:
            problems.append(Problem(name, str(bad), bad.code, bad.params))
    raw_key = row.cells.get(key_field, "")
    if raw_key == "":
        problems.insert(0, Problem(key_field, f"{key_field} is required", "required"))
    key = values.pop(key_field, None)
    if kind == "vip":
        shown = mask_msisdn(raw_key)  # never the number itself
    else:
        shown = raw_key if key is None else str(key)
    return Entry(row.line, key, shown, values, problems)


# --------------------------------------------------------------------------- compared with what exists


@dataclass(frozen=True)
class Rules:
    """What an import may do: its hall, whether a hall manager imports (counter staff accounts
    only), and the prefixes of the hall's active services."""

    hall_id: int
    manager_only: bool = False
    prefixes: frozenset[str] = frozenset()


@dataclass
class Line:
    """The plan for one row. ``values``: what to store (a new row: every field; an update: the
    fields that change), never shown."""

    line: int
    key: str
    action: str
    changes: dict[str, list]
    problems: list[Problem]
    values: dict[str, object]

    def to_dict(self) -> dict:
        return {
            "line": self.line,
            "key": self.key,
            "action": self.action,
            "changes": self.changes,
            "problems": [p.to_dict() for p in self.problems],
        }


def plan_lines(kind: str, entries: list[Entry], existing: Mapping[object, dict], rules: Rules) -> list[Line]:
    """Each entry compared with the stored row of its key (``existing``: key → the row's fields as
    this module names them; staff also with ``hall_id``)."""
    return [
        compare(kind, entry, existing.get(entry.key) if entry.key is not None else None, rules) for entry in entries
    ]


def compare(kind: str, entry: Entry, current: dict | None, rules: Rules) -> Line:
    problems = list(entry.problems)
    order = [c.field for c in COLUMNS[kind]]
    if current is None:
        values = {**DEFAULTS[kind], **entry.values}
        reported = {p.field for p in problems}
        if KEY_FIELD[kind] not in reported:  # a row with a bad or repeated key says only that
            problems += [
                Problem(needed, f"{needed} is required for a new {WHAT[kind]}", "required_for_new")
                for needed in NEW_ROW_NEEDS[kind]
                if needed not in values and needed not in reported
            ]
        changes = {f: [None, _shown(f, values[f])] for f in order if values.get(f) not in (None, "", ())}
        action = "create"
    else:
        values = {f: v for f, v in entry.values.items() if f == "password" or v != current.get(f)}
        changes = {
            f: [SECRET if f == "password" else _shown(f, current.get(f)), _shown(f, values[f])]
            for f in order
            if f in values
        }
        action = "update" if values else "unchanged"
    problems += RULES[kind](entry, current, values, rules)
    if problems:
        action = "reject"
    return Line(entry.line, entry.shown, action, changes, problems, values)


def _shown(name: str, value) -> object:
    if name == "password":
        return SECRET
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _staff_rules(entry: Entry, current: dict | None, values: dict, rules: Rules) -> list[Problem]:
    if current is not None:
        if current.get("hall_id") is None or current.get("role") not in HALL_ROLES:
            return [Problem("username", "username belongs to a head-office or admin account", "not_hall_staff")]
        if current["hall_id"] != rules.hall_id:
            return [Problem("username", "username belongs to staff of another hall", "other_hall_staff")]
    if not rules.manager_only:
        return []
    if current is not None and current["role"] == Role.HALL_MANAGER.value and values:
        return [
            Problem("username", "a hall manager's account is changed by an administrator only", "manager_by_admin_only")
        ]
    if values.get("role", Role.COUNTER_STAFF.value) != Role.COUNTER_STAFF.value:
        return [
            Problem(
                "role", "a hall manager may import counter_staff accounts only", "manager_imports_counter_staff_only"
            )
        ]
    return []


def _counter_rules(entry: Entry, current: dict | None, values: dict, rules: Rules) -> list[Problem]:
    given = entry.values.get("services")
    if given is None:
        return []
    linked = set(current.get("services", ())) if current else set()
    unknown = [p for p in given if p not in rules.prefixes and p not in linked]
    if unknown:
        return [
            Problem(
                "services",
                f"no active service {', '.join(unknown)} in this hall",
                "unknown_services",
                {"prefixes": "、".join(unknown)},
            )
        ]
    if not given:
        return [Problem("services", "services names at least one ticket prefix", "no_services")]
    return []


def _no_rules(entry: Entry, current: dict | None, values: dict, rules: Rules) -> list[Problem]:
    return []


RULES = {"staff": _staff_rules, "counters": _counter_rules, "vip": _no_rules}


def summary(kind: str, lines: list[Line], ignored: Sequence[str] = ()) -> dict:
    """The plan as the API returns it."""
    counts = {action: 0 for action in ACTIONS}
    for line in lines:
        counts[line.action] += 1
    return {
        "kind": kind,
        "lines": [line.to_dict() for line in lines],
        "counts": counts,
        "valid": counts["reject"] == 0,
        "ignored_columns": list(ignored),
    }
