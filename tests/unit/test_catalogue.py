"""The Chinese catalogue: every message translated, and each translation formats as its English
does (a stray "%" in a translation breaks the page that shows it: Jinja formats every message)."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parents[2] / "app/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
NAMED = re.compile(r"%\((\w+)\)s")


def messages():
    with PO.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def test_every_message_has_a_translation():
    assert [m.id for m in messages() if not m.string] == []


def test_translations_keep_the_placeholders_and_have_no_stray_percent_signs():
    for m in messages():
        assert sorted(NAMED.findall(m.string)) == sorted(NAMED.findall(m.id)), m.id
        assert "%" not in NAMED.sub("", m.string).replace("%%", ""), (m.id, m.string)
        assert sorted(re.findall(r"\{(\w*)\}", m.string)) == sorted(re.findall(r"\{(\w*)\}", m.id)), m.id
