"""Reports as tables and files: the report dictionaries of ``services.satisfaction`` and
``services.service_levels`` laid out as tables, and those as CSV or Excel bytes.

The download endpoints (``app.web.api`` with ``app.web.reports_api``) and the stored reports
(``services.report_files``) both use these layouts, so a stored file and a download of the same
period are the same table. Headers are Chinese first, then English; numbers stay
numbers; rates are formatted as percentages; the first row is a title naming the period. CSV
starts with a UTF-8 BOM, or Excel reads the Chinese as mojibake. Every cell goes through
``domain.cells.safe_cell``, so a name typed as a formula is written as text.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ..domain.cells import safe_cell

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = "int"  # int | pct (a 0-1 share) | num | min (seconds, shown as minutes) | text

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
    "staff": (
        Column("rank", "排名", "Rank"),
        Column("staff_number", "工号", "Staff no.", "text"),
        Column("name", "姓名", "Name", "text"),
    ),
    "counter": (Column("rank", "排名", "Rank"), Column("number", "窗口", "Counter")),
    "service": (
        Column("rank", "排名", "Rank"),
        Column("prefix", "业务", "Service", "text"),
        Column("name_zh", "业务名称", "Service name", "text"),
    ),
    "day": (Column("key", "日期", "Day", "text"),),
    "wait_band": (Column("label_zh", "等候时长", "Waiting time", "text"),),
}
LEVELS = {"all": "全部 All", "region": "省区 Region", "city": "城市 City", "hall": "营业厅 Hall"}

# service levels (服务指标): waits and handle times are stored in seconds and shown in minutes
KPI_FIGURES = (
    Column("arrivals", "取号数", "Tickets"),
    Column("served", "办结数", "Served"),
    Column("wait_avg_s", "平均等候（分钟）", "Average wait (min)", "min"),
    Column("wait_p50_s", "等候中位数（分钟）", "Median wait (min)", "min"),
    Column("wait_p90_s", "90分位等候（分钟）", "P90 wait (min)", "min"),
    Column("within_target_rate", "按时叫号率", "Served within target", "pct"),
    Column("busy_hour_wait_avg_s", "忙时平均等候（分钟）", "Busy-hour wait (min)", "min"),
    Column("handle_avg_s", "平均办理时长（分钟）", "Average handle time (min)", "min"),
    Column("handle_p90_s", "90分位办理时长（分钟）", "P90 handle time (min)", "min"),
    Column("no_show_rate", "过号率", "No-show rate", "pct"),
    Column("cancel_rate", "弃号率", "Cancellation rate", "pct"),
    Column("transfers", "转移数", "Transfers"),
)
# the head office's channel mix (services.service_levels.channel_mix), after the figures
KPI_CHANNELS = (
    Column("channel_kiosk", "现场取号机取号", "Kiosk tickets"),
    Column("channel_staff", "工作人员取号", "Staff tickets"),
    Column("channel_system", "系统取号", "System tickets"),
    Column("channel_remote", "远程取号", "Remote tickets"),
    Column("channel_appointment", "预约取号", "Appointment tickets"),
    Column("remote_appointment_share", "远程+预约占比", "Remote + appointment share", "pct"),
)
KPI_LINE_NAMES = {
    **{k: v for k, v in LINE_NAMES.items() if k in ("staff", "counter", "service", "day")},
    "tier": (Column("key", "客户级别", "Tier", "text"),),
    "channel": (Column("key", "渠道", "Channel", "text"), Column("label_zh", "渠道名称", "Channel name", "text")),
    "hour": (Column("label_zh", "时段", "Hour", "text"),),
    "weekday": (Column("label_zh", "星期", "Weekday", "text"),),
}


def _label(x: dict) -> str:
    return " ".join(t for t in (x.get("name_zh"), x.get("name_en")) if t)


def head_office_table(
    report: dict,
    figures: tuple[Column, ...] = FIGURES,
    title: tuple[str, str] = ("满意度报表（各营业厅）", "Satisfaction report, all halls"),
) -> tuple[str, tuple[Column, ...], list[dict]]:
    """Totals, then each region, its cities and their halls: one row each, ranked within their level."""
    rows = [{**report["totals"], "level": LEVELS["all"]}]
    for region in report["regions"]:
        rows.append({**region, "level": LEVELS["region"], "region": _label(region)})
        for city in region["cities"]:
            rows.append(
                {
                    **city,
                    "level": LEVELS["city"],
                    "region": _label(region),
                    "city": _label(city),
                    "rank": city.get("rank_in_region"),
                }
            )
            for hall in city["halls"]:
                rows.append(
                    {
                        **hall,
                        "level": LEVELS["hall"],
                        "region": _label(region),
                        "city": _label(city),
                        "hall": _label(hall),
                        "rank": hall.get("rank_in_city"),
                    }
                )
    return _title(*title, report), HEAD_OFFICE[:5] + figures, rows


def hall_table(report: dict) -> tuple[str, tuple[Column, ...], list[dict]]:
    hall, who = report["hall"], report.get("staff")
    zh, en = hall["name_zh"], hall["name_en"] or hall["code"]
    if who:
        zh, en = f"{zh} {who['name']}", f"{en}, {who['name']}"
    title = _title(f"{zh} 满意度报表", f"{en} satisfaction by {report['by']}", report)
    return title, LINE_NAMES[report["by"]] + FIGURES, list(report["lines"])


def kpi_head_office_table(report: dict) -> tuple[str, tuple[Column, ...], list[dict]]:
    title, columns, rows = head_office_table(
        report, KPI_FIGURES + KPI_CHANNELS, ("服务指标报表（各营业厅）", "Service levels, all halls")
    )
    for row in rows:
        row.update({f"channel_{c}": n for c, n in (row.get("channels") or {}).items()})
    return title, columns, rows


def kpi_hall_table(report: dict) -> tuple[str, tuple[Column, ...], list[dict]]:
    hall = report["hall"]
    title = _title(
        f"{hall['name_zh']} 服务指标报表", f"{hall['name_en'] or hall['code']} service levels by {report['by']}", report
    )
    return title, KPI_LINE_NAMES[report["by"]] + KPI_FIGURES, list(report["lines"])


def kpi_tickets_table(listing: dict) -> tuple[str, tuple[Column, ...], list[dict]]:
    """The tickets behind a figure, one row each."""
    title = f"{listing['hall']['name_zh']} 取号明细 {listing['title_zh']} / tickets, {listing['title_en']}"
    return title, TICKET_COLUMNS, list(listing["tickets"])


TICKET_COLUMNS = (
    Column("label", "号码", "Ticket", "text"),
    Column("business_day", "日期", "Day", "text"),
    Column("issued_local", "取号时间", "Taken at", "text"),
    Column("service", "业务", "Service", "text"),
    Column("tier", "客户级别", "Tier", "text"),
    Column("channel", "渠道", "Channel", "text"),
    Column("outcome", "结果", "Outcome", "text"),
    Column("wait_s", "等候（分钟）", "Wait (min)", "min"),
    Column("handle_s", "办理（分钟）", "Handle time (min)", "min"),
    Column("transfers", "转移", "Transfers"),
    Column("counter", "窗口", "Counter", "text"),
    Column("staff", "营业员", "Staff", "text"),
)


def wait_band_table(report: dict) -> tuple[str, tuple[Column, ...], list[dict]]:
    return (
        _title("等候时长与满意度", "Satisfaction by waiting time", report),
        LINE_NAMES["wait_band"] + FIGURES,
        list(report["lines"]),
    )


def _title(zh: str, en: str, report: dict) -> str:
    p = report["period"]
    return f"{zh} {p['label_zh']} / {en}, {p['label_en']} ({p['first_day']} – {p['last_day']})"


def table_bytes(fmt: str, table: tuple[str, tuple[Column, ...], list[dict]]) -> bytes:
    """The table as the bytes of a ``csv`` or ``xlsx`` file (what a download sends; the scheduled
    reports of ``services.report_files`` store them)."""
    title, columns, rows = table
    return _csv(title, columns, rows) if fmt == "csv" else _xlsx(title, columns, rows)


def _csv_cell(column: Column, value):
    value = safe_cell(value)
    if value is None:
        return ""
    if column.kind == "pct":
        return f"{100 * value:.2f}%"  # Excel reads "95.15%" back as the number 0.9515
    if column.kind == "num":
        return f"{value:.2f}"
    if column.kind == "min":
        return f"{value / 60:.1f}"
    return value


def _csv(title: str, columns, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(title)])
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(c, row.get(c.key)) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx_cell(column: Column, value):
    if column.kind == "min" and value is not None:
        return round(value / 60, 2)
    return safe_cell(value)


def _xlsx(title: str, columns, rows) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "报表 Report"
    sheet.append([safe_cell(title)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([c.header for c in columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    formats = {"pct": "0.00%", "num": "0.00", "int": "0", "min": "0.0"}
    for row in rows:
        sheet.append([_xlsx_cell(c, row.get(c.key)) for c in columns])
        for cell, column in zip(sheet[sheet.max_row], columns):
            if column.kind in formats and cell.value is not None:
                cell.number_format = formats[column.kind]
    for i, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(10, len(column.header) + 4)
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
