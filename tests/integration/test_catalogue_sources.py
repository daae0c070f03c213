"""The catalogue holds every message the code shows: extracted as `make messages` does, each is in
app/translations/zh_Hans_CN/LC_MESSAGES/messages.po with its Chinese (tests/unit/test_catalogue.py
checks the translations themselves). A text added without `make messages` and its translation fails here."""
from __future__ import annotations

from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "app/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def test_every_message_of_the_code_is_in_the_catalogue_with_its_translation(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", "babel.cfg", "--no-location", "-o", str(pot), "."])
    with pot.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with PO.open("rb") as f:
        translated = {m.id for m in read_po(f) if m.id and m.string}
    assert len(wanted) > 500
    assert sorted(wanted - translated, key=str) == []
