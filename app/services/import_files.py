"""Reading and writing the import's spreadsheets (.xlsx with openpyxl, CSV as Chinese Excel saves
it): the file side of ``domain.imports``, which takes the rows and gives the records to write.

A workbook is a zip: its unpacked size is checked before openpyxl opens it. CSV is read as UTF-8
(with or without BOM), UTF-16 with BOM, else GB18030; it is written as UTF-8 with a BOM, or Excel
shows the Chinese as mojibake. Cells a spreadsheet would run as a formula are written with a
leading apostrophe and read back without it (``domain.cells``).
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal

from ..domain.cells import as_written, safe_cell
from ..domain.errors import Invalid
from ..domain.imports import COLUMNS, DISPLAY_MODE_NAMES, FORMATS, ROLE_NAMES, Column, Row, read_rows

MAX_BYTES = 2 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # an .xlsx is a zip: what it may expand to


def read_table(filename: str, content: bytes, kind: str | None = None) -> list[Row]:
    """The data rows of an .xlsx or .csv file (``domain.imports.read_rows``)."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension == "xls":
        raise Invalid("an old .xls workbook cannot be read: save it as .xlsx or CSV", field="file")
    if extension not in FORMATS:
        raise Invalid(f"the file must be .xlsx or .csv, not {filename!r}", field="file")
    if len(content) > MAX_BYTES:
        raise Invalid(f"the file is over {MAX_BYTES // (1024 * 1024)} MB", field="file")
    return read_rows(_xlsx_lines(content) if extension == "xlsx" else _csv_lines(content), kind)


def _xlsx_lines(content: bytes) -> Iterable[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise Invalid("the file cannot be read as .xlsx", field="file") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise Invalid("the workbook is too large once unpacked", field="file")
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken file
        raise Invalid("the file cannot be read as .xlsx", field="file") from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers record the wrong size; read what is there
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [as_written(cell_text(v)) for v in values]
    except Exception:
        raise Invalid("the file cannot be read as .xlsx", field="file") from None
    finally:
        book.close()


def _csv_lines(content: bytes) -> Iterable[tuple[int, list[str]]]:
    text = decode_csv(content)
    if "\x00" in text:
        raise Invalid("the file cannot be read as CSV", field="file")
    first = text.split("\n", 1)[0]
    delimiter = "," if "," in first else "\t" if "\t" in first else ";" if ";" in first else ","
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            yield number, [as_written(cell.strip()) for cell in cells]
    except csv.Error:
        raise Invalid("the file cannot be read as CSV", field="file") from None


def decode_csv(content: bytes) -> str:
    """CSV text: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (which covers GBK, as
    Chinese Excel saves CSV)."""
    encodings: tuple[str, ...] = ("utf-8-sig", "gb18030")
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid("the file cannot be read as CSV: save it as UTF-8 or GBK", field="file")


def cell_text(value) -> str:
    """A spreadsheet cell as clean text: 13800138000 not 1.38e10, 1 not 1.0, dates YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value).strip()


MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TEXT_FIELDS = {"username", "staff_number", "mobile", "password", "email", "name", "note", "services"}
SHEET_TITLES = {"staff": "员工", "counters": "窗口", "vip": "贵宾名单"}


def write_table(kind: str, fmt: str, records: list[dict]) -> bytes:
    """Rows (field → value, as stored) as an .xlsx or CSV file with the import's columns under
    Chinese headers. CSV: UTF-8 with a BOM, or Excel shows the Chinese as mojibake."""
    columns = COLUMNS[kind]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([c.header for c in columns])
        for record in records:
            writer.writerow([safe_cell(_written(c.field, record.get(c.field), "csv")) for c in columns])
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    return _xlsx(kind, columns, records)


def _written(name: str, value, fmt: str):
    if value is None:
        return "" if fmt == "csv" else None
    if name == "role":
        return ROLE_NAMES.get(value, value)
    if name == "display_mode":
        return DISPLAY_MODE_NAMES.get(value, value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, tuple):
        return " ".join(value)
    if isinstance(value, date) and fmt == "csv":
        return value.isoformat()
    if name in TEXT_FIELDS:
        return str(value)
    return value


def _width(text) -> int:
    """Characters as a spreadsheet shows them: Chinese ones twice as wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _xlsx(kind: str, columns: tuple[Column, ...], records: list[dict]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLES[kind]
    sheet.append([c.header for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [max(c.width, _width(c.header) + 2) for c in columns]
    for record in records:
        values = [safe_cell(_written(c.field, record.get(c.field), "xlsx")) for c in columns]
        sheet.append(values)
        for i, (cell, column) in enumerate(zip(sheet[sheet.max_row], columns)):
            if column.field in TEXT_FIELDS:
                cell.number_format = "@"  # a mobile number stays text, not 1.38E+10
            elif isinstance(cell.value, (date, datetime)):
                cell.number_format = "yyyy-mm-dd"
            widths[i] = max(widths[i], min(_width(cell.value or "") + 2, 40))
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
