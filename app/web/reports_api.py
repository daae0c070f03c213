"""Satisfaction reports as files: the report dictionaries of ``services.satisfaction`` as CSV or Excel.

The routes are in ``app.web.api`` (so they share its OpenAPI registry and access matrix); this
module only lays a report out as a table. Headers are Chinese first, then English; numbers stay
numbers; rates are formatted as percentages; the first row is a title naming the period. CSV
starts with a UTF-8 BOM, or Excel reads the Chinese as mojibake.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask import Response

from ..domain.errors import Invalid

FORMATS = ("json", "csv", "xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = "int"  # int | pct (a 0-1 share) | num | text

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en}"


FIGURES = (
    Column("ratings", "评价数", "Ratings"),
    Column("satisfied", "满意数", "Satisfied"),
    Column("satisfaction_rate", "满意率", "Satisfaction rate", "pct"),
    Column("average_score", "平均分", "Average score", "num"),
    Column("score_index", "满意指数", "Score index (0-100)", "num"),
    Column("sent", "发送数", "Surveys sent"),
    Column("response_rate", "回复率", "Response rate", "pct"),
)
HEAD_OFFICE = (
    Column("level", "层级", "Level", "text"),
    Column("region", "省区", "Region", "text"),
    Column("city", "城市", "City", "text"),
    Column("hall", "营业厅", "Hall", "text"),
    Column("rank", "排名", "Rank"),
) + FIGURES
LINE_NAMES = {
    "staff": (Column("rank", "排名", "Rank"), Column("staff_number", "工号", "Staff no.", "text"),
              Column("name", "姓名", "Name", "text")),
    "counter": (Column("rank", "排名", "Rank"), Column("number", "窗口", "Counter")),
    "service": (Column("rank", "排名", "Rank"), Column("prefix", "业务", "Service", "text"),
                Column("name_zh", "业务名称", "Service name", "text")),
    "day": (Column("key", "日期", "Day", "text"),),
    "wait_band": (Column("label_zh", "等候时长", "Waiting time", "text"),),
}
LEVELS = {"all": "全部 All", "region": "省区 Region", "city": "城市 City", "hall": "营业厅 Hall"}


def requested_format(value: str | None) -> str:
    fmt = (value or "json").lower()
    if fmt not in FORMATS:
        raise Invalid(f"format is one of {', '.join(FORMATS)}", field="format")
    return fmt


def _label(x: dict) -> str:
    return " ".join(t for t in (x.get("name_zh"), x.get("name_en")) if t)


def head_office_table(report: dict) -> tuple[str, tuple[Column, ...], list[dict]]:
    """Totals, then each region, its cities and their halls: one row each, ranked within their level."""
    rows = [{**report["totals"], "level": LEVELS["all"]}]
    for region in report["regions"]:
        rows.append({**region, "level": LEVELS["region"], "region": _label(region)})
        for city in region["cities"]:
            rows.append({**city, "level": LEVELS["city"], "region": _label(region), "city": _label(city),
                         "rank": city.get("rank_in_region")})
            for hall in city["halls"]:
                rows.append({**hall, "level": LEVELS["hall"], "region": _label(region), "city": _label(city),
                             "hall": _label(hall), "rank": hall.get("rank_in_city")})
    return _title("满意度报表（各营业厅）", "Satisfaction report, all halls", report), HEAD_OFFICE, rows


def hall_table(report: dict) -> tuple[str, tuple[Column, ...], list[dict]]:
    hall, who = report["hall"], report.get("staff")
    zh, en = hall["name_zh"], hall["name_en"] or hall["code"]
    if who:
        zh, en = f"{zh} {who['name']}", f"{en}, {who['name']}"
    title = _title(f"{zh} 满意度报表", f"{en} satisfaction by {report['by']}", report)
    return title, LINE_NAMES[report["by"]] + FIGURES, list(report["lines"])


def wait_band_table(report: dict) -> tuple[str, tuple[Column, ...], list[dict]]:
    return (_title("等候时长与满意度", "Satisfaction by waiting time", report),
            LINE_NAMES["wait_band"] + FIGURES, list(report["lines"]))


def _title(zh: str, en: str, report: dict) -> str:
    p = report["period"]
    return f"{zh} {p['label_zh']} / {en}, {p['label_en']} ({p['first_day']} – {p['last_day']})"


def file_response(fmt: str, name: str, table: tuple[str, tuple[Column, ...], list[dict]]) -> Response:
    """The table as a download: CSV (UTF-8 with BOM) or XLSX."""
    title, columns, rows = table
    if fmt == "csv":
        body, mimetype = _csv(title, columns, rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = _xlsx(title, columns, rows), XLSX_MIMETYPE
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def table_bytes(fmt: str, table: tuple[str, tuple[Column, ...], list[dict]]) -> bytes:
    """The table as the bytes of a ``csv`` or ``xlsx`` file (what ``file_response`` sends; the
    scheduled reports of ``services.report_files`` store them)."""
    title, columns, rows = table
    return _csv(title, columns, rows) if fmt == "csv" else _xlsx(title, columns, rows)


def attachment(file_name: str, fallback: str | None = None) -> str:
    """A Content-Disposition for a download named ``file_name`` (Chinese allowed): RFC 6266 with an
    ASCII ``filename`` fallback for old clients (``fallback``, else the name's ASCII characters) and
    the exact name as RFC 5987 ``filename*``."""
    from urllib.parse import quote

    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_"
                       for c in (fallback or file_name.encode("ascii", "ignore").decode() or "report"))
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def _csv_cell(column: Column, value):
    if value is None:
        return ""
    if column.kind == "pct":
        return f"{100 * value:.2f}%"  # Excel reads "95.15%" back as the number 0.9515
    if column.kind == "num":
        return f"{value:.2f}"
    return value


def _csv(title: str, columns, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title])
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(c, row.get(c.key)) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(title: str, columns, rows) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "满意度 Satisfaction"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([c.header for c in columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    formats = {"pct": "0.00%", "num": "0.00", "int": "0"}
    for row in rows:
        sheet.append([row.get(c.key) for c in columns])
        for cell, column in zip(sheet[sheet.max_row], columns):
            if column.kind in formats and cell.value is not None:
                cell.number_format = formats[column.kind]
    for i, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(10, len(column.header) + 4)
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
