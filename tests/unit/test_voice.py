"""The spoken prompts' vocabulary (domain.voice) and the clips shipped for it."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from app.domain import voice
from app.domain.screens import DEFAULT_SCREEN

CLIPS = Path(__file__).resolve().parents[2] / "app" / "static" / "voice"


def unspoken(lang: str, template: str) -> list[str]:
    """What a call template's fixed text says beyond the clips, matched longest first as the screens do."""
    text = re.sub(r"\{(label|counter)\}", " ", template)
    known = {words.lower() for _, words in voice.VOCABULARY[lang]}
    if lang == "en":
        return [w for w in re.findall(r"[a-z]+", text.lower()) if w not in known]
    missing, i, longest = [], 0, max(len(k) for k in known)
    while i < len(text):
        if not text[i].strip() or text[i] in "，。、,.":
            i += 1
            continue
        size = next((n for n in range(min(longest, len(text) - i), 0, -1) if text[i:i + n].lower() in known), 0)
        if not size:
            missing.append(text[i])
        i += size or 1
    return missing


@pytest.mark.parametrize("n, said", [(0, "零"), (3, "三"), (10, "十"), (12, "十二"), (20, "二十"), (35, "三十五"),
                                     (100, "一百"), (105, "一百零五"), (110, "一百一十"), (115, "一百一十五"),
                                     (230, "二百三十")])
def test_counter_numbers_are_said_as_chinese_numbers(n, said):
    assert voice.number_zh(n) == said


def test_the_default_call_texts_need_no_word_beyond_the_clips():
    assert unspoken("zh", DEFAULT_SCREEN["call_zh"]) == []
    assert unspoken("en", DEFAULT_SCREEN["call_en"]) == []


def test_a_halls_own_wording_names_what_no_clip_says():
    assert unspoken("zh", "请{label}号顾客到{counter}号柜台办理业务") == []
    assert unspoken("zh", "请{label}号贵宾到{counter}号窗口") == ["贵", "宾"]
    assert unspoken("en", "Ticket {label} to desk {counter}") == ["ticket", "desk"]


def opus_seconds(data: bytes) -> float:
    """An Ogg Opus file's length: the last page's granule position (48 kHz) less the pre-skip."""
    assert data[:4] == b"OggS" and b"OpusHead" in data[:64]
    head = data.index(b"OpusHead")
    pre_skip = struct.unpack_from("<H", data, head + 10)[0]
    last = data.rindex(b"OggS")
    granule = struct.unpack_from("<q", data, last + 6)[0]
    return (granule - pre_skip) / 48000


@pytest.mark.parametrize("lang", voice.LANGS)
def test_every_word_has_its_clip_and_every_clip_a_word(lang):
    names = voice.clip_names(lang)
    assert all(voice.CLIP_NAME.match(n) for n in names)
    shipped = {p.stem for p in (CLIPS / lang).glob("*.ogg")}
    assert shipped == names
    for name in names:
        seconds = opus_seconds((CLIPS / lang / f"{name}.ogg").read_bytes())
        assert 0.1 < seconds < 5, f"{lang}/{name}: {seconds:.2f} s"


def test_the_manifest_gives_each_words_clip():
    m = voice.manifest()
    assert m["zh"]["号窗口"] == "hao-chuangkou" and m["zh"]["A"] == "letter-a" and m["zh"]["零"] == "ling"
    assert m["en"]["please go to counter"] == "please-go-to-counter"
