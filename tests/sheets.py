"""Spreadsheets for the import tests, made as Excel saves them."""
from __future__ import annotations

import io

from openpyxl import Workbook


def xlsx(*rows) -> bytes:
    """A workbook of these rows (the first: the headers)."""
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
