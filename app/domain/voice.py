"""The spoken prompts' vocabulary: the clips a screen plays when its browser has no voice.

Many display boxes (Linux, Android signage players) have no zh-CN voice for ``speechSynthesis``;
some have none at all. They still call customers aloud from short clips served with the app,
one per word or phrase below, joined in the browser by longest match (``static/voice.js``).
A hall may replace any clip with its own recording: a file of the same name in the instance
folder's ``voice/<lang>/`` is served instead (``web.display``).

This module is the one home of the vocabulary: ``scripts/make_voice_clips.py`` records it (with
eSpeak NG) and the screens read it through ``/voice/manifest.json``. The default call templates
in ``domain.screens`` are made of these words, digits and letters; a word of a hall's own template
that no clip says is left out, and the display names it beside its voice note.
"""

from __future__ import annotations

import re
import string

LANGS = ("zh", "en")
CLIP_NAME = re.compile(r"^[a-z0-9-]{1,40}$")

_ZH_DIGITS = "零一二三四五六七八九"
_PINYIN_DIGITS = ("ling", "yi", "er", "san", "si", "wu", "liu", "qi", "ba", "jiu")

# (clip name, the words it says); longer phrases win over their parts when both fit
ZH: tuple[tuple[str, str], ...] = (
    *((py, ch) for py, ch in zip(_PINYIN_DIGITS, _ZH_DIGITS)),
    ("shi", "十"),
    ("bai", "百"),
    *((f"letter-{c.lower()}", c) for c in string.ascii_uppercase),
    ("qing", "请"),
    ("hao", "号"),
    ("dao", "到"),
    ("chuangkou", "窗口"),
    ("hao-chuangkou", "号窗口"),
    ("guitai", "柜台"),
    ("hao-guitai", "号柜台"),
    ("banli", "办理"),
    ("yewu", "业务"),
    ("banli-yewu", "办理业务"),
    ("guke", "顾客"),
    ("qianwang", "前往"),
    # the kiosk's prompts in elder mode (适老化)
    ("qing-xuanze-yewu", "请选择业务"),
    ("qing-shuru-shouji", "请输入手机号码"),
    ("huozhe", "或者"),
    ("tiaoguo", "跳过"),
    ("nin-de-haoma-shi", "您的号码是"),
    ("qianmian-haiyou", "前面还有"),
    ("ren", "人"),
    ("qing-quzou-haopiao", "请取走您的号票"),
    ("xiexie", "谢谢"),
)

_EN_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

EN: tuple[tuple[str, str], ...] = (
    *((w, w) for w in _EN_ONES + _EN_TENS),
    ("hundred", "hundred"),
    *((f"letter-{c.lower()}", c) for c in string.ascii_uppercase),
    ("number", "number"),
    ("please", "please"),
    ("go", "go"),
    ("to", "to"),
    ("counter", "counter"),
    ("window", "window"),
    ("please-go-to-counter", "please go to counter"),
    ("thank-you", "thank you"),
)

VOCABULARY = {"zh": ZH, "en": EN}

# what eSpeak NG is asked to say for a clip, where the written word would be read wrongly
SAY_AS = {("en", f"letter-{c.lower()}"): f"{c}." for c in string.ascii_uppercase} | {
    ("zh", f"letter-{c.lower()}"): c for c in string.ascii_uppercase
}


def manifest() -> dict:
    """For the screens: per language, the words and the clip saying each."""
    return {lang: {words: name for name, words in VOCABULARY[lang]} for lang in LANGS}


def clip_names(lang: str) -> set[str]:
    return {name for name, _ in VOCABULARY.get(lang, ())}


def number_zh(n: int) -> str:
    """12 -> 十二, 20 -> 二十, 105 -> 一百零五: a counter's number as it is said."""
    if n < 0 or n > 999:
        raise ValueError("a counter number is 0 to 999")
    if n < 10:
        return _ZH_DIGITS[n]
    if n < 20:
        return "十" + (_ZH_DIGITS[n - 10] if n > 10 else "")
    if n < 100:
        return _ZH_DIGITS[n // 10] + "十" + (_ZH_DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    tail = (
        ""
        if rest == 0
        else ("零" + _ZH_DIGITS[rest] if rest < 10 else (_ZH_DIGITS[1] if rest < 20 else "") + number_zh(rest))
    )
    return _ZH_DIGITS[n // 100] + "百" + tail
