"""Reports as downloads: a report table (``services.report_tables``) sent as a CSV or Excel file. The routes are in ``app.web.api`` (so they share its OpenAPI registry
and access matrix)."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response

from ..services.report_tables import XLSX_MIMETYPE, Column, table_bytes

def file_response(fmt: str, name: str, table: tuple[str, tuple[Column, ...], list[dict]]) -> Response:
    """The table as a download: CSV (UTF-8 with BOM) or XLSX."""
    mimetype = "text/csv; charset=utf-8" if fmt == "csv" else XLSX_MIMETYPE
    return Response(table_bytes(fmt, table), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def attachment(file_name: str, fallback: str | None = None) -> str:
    """A Content-Disposition for a download named ``file_name`` (Chinese allowed): RFC 6266 with an
    ASCII ``filename`` fallback for old clients (``fallback``, else the name's ASCII characters) and
    the exact name as RFC 5987 ``filename*``."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_"
                       for c in (fallback or file_name.encode("ascii", "ignore").decode() or "report"))
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"
