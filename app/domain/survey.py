"""Post-service SMS satisfaction survey (短信满意度评价): scales, the SMS, replies, timing, figures.

After a service finishes, the customer's phone gets one SMS such as
"您好，请对本次服务评价：回复1非常满意，2满意，3一般，4不满意". The customer answers in
free text: a digit, a word, a comment, an opt-out, sometimes nonsense. This module
holds the rules that turn those into facts, with no I/O, so the services, the
gateways' endpoints, the scheduler and the reports all share one reading:

- a hall's ``SurveySettings`` (``halls.survey``): its ``SurveyScale``, SMS templates,
  delay, quiet hours, reply expiry and follow-up deadline; validated field by field;
- the SMS text and how many SMS parts it costs;
- ``parse_reply``: a reply's kind (rating, comment, opt-out, empty), score and comment;
- ``reads_as_complaint`` and ``follow_up_reason``: what opens a follow-up case;
- mobile numbers (MSISDN): one stored form, one masked form;
- when a survey is sent and which replies still count;
- the follow-up case clock (48 hours to a first response);
- satisfaction rate, average score, response rate.

Standard library only.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo

from .errors import Invalid

# --------------------------------------------------------------------------- scales

# What a grade means, from best to worst. Reply words ("很满意", "poor") map to a level,
# and a level to the scale's grade, so one vocabulary serves every scale.
LEVELS = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
_NEUTRAL = LEVELS.index("neutral")
_LOW_LEVELS = frozenset({"dissatisfied", "very_dissatisfied"})


@dataclass(frozen=True)
class Grade:
    """One answer on a scale: what the customer replies (``value``), its labels, and whether it counts as satisfied."""

    value: int
    zh: str
    en: str
    satisfied: bool
    level: str | None = None  # one of LEVELS; lets words such as 很好 / poor find this grade


@dataclass(frozen=True)
class SurveyScale:
    """The grades a hall offers, in the order the SMS lists them.

    ``follow_up``: the grades that open a follow-up case (a low rating). Satisfaction
    rate counts the grades marked ``satisfied``: which those are is the hall's call
    (on the four-grade scale, is 一般 satisfied? by default, no).
    """

    name: str
    grades: tuple[Grade, ...]
    follow_up: frozenset[int]

    @property
    def values(self) -> frozenset[int]:
        return frozenset(g.value for g in self.grades)

    @property
    def satisfied_values(self) -> frozenset[int]:
        return frozenset(g.value for g in self.grades if g.satisfied)

    def grade(self, value: int) -> Grade:
        for g in self.grades:
            if g.value == value:
                return g
        raise KeyError(value)

    @property
    def higher_is_better(self) -> bool:
        """1 is best on the four-grade scale, 5 on the five-point: judged from which grades are satisfied."""
        good = [g.value for g in self.grades if g.satisfied]
        bad = [g.value for g in self.grades if not g.satisfied]
        return sum(good) / len(good) > sum(bad) / len(bad)

    @property
    def best(self) -> int:
        return max(self.values) if self.higher_is_better else min(self.values)

    @property
    def worst(self) -> int:
        return min(self.values) if self.higher_is_better else max(self.values)

    def prompt(self, lang: str = "zh") -> str:
        """The reply instructions: "回复1非常满意，2满意，3一般，4不满意" or "Reply 1 Very satisfied, 2 Satisfied, ..."."""
        if lang == "zh":
            return "回复" + "，".join(f"{g.value}{g.zh}" for g in self.grades)
        return "Reply " + ", ".join(f"{g.value} {g.en}" for g in self.grades)

    def grade_for_level(self, level: str) -> Grade | None:
        """The grade nearest a word's level; a tie goes to the same side of neutral ("非常不满意" → 4 不满意)."""
        graded = [g for g in self.grades if g.level in LEVELS]
        if not graded:
            return None
        want = LEVELS.index(level)

        def distance(g: Grade) -> tuple[int, bool]:
            have = LEVELS.index(g.level)
            return abs(have - want), (have - _NEUTRAL) * (want - _NEUTRAL) <= 0  # neutral is on neither side

        return min(graded, key=distance)


FOUR_GRADE = SurveyScale(
    "four_grade",
    (
        Grade(1, "非常满意", "Very satisfied", True, "very_satisfied"),
        Grade(2, "满意", "Satisfied", True, "satisfied"),
        Grade(3, "一般", "Neutral", False, "neutral"),
        Grade(4, "不满意", "Dissatisfied", False, "dissatisfied"),
    ),
    frozenset({4}),
)

FIVE_POINT = SurveyScale(
    "five_point",
    (
        Grade(5, "非常满意", "Very satisfied", True, "very_satisfied"),
        Grade(4, "满意", "Satisfied", True, "satisfied"),
        Grade(3, "一般", "Neutral", False, "neutral"),
        Grade(2, "不满意", "Dissatisfied", False, "dissatisfied"),
        Grade(1, "非常不满意", "Very dissatisfied", False, "very_dissatisfied"),
    ),
    frozenset({1, 2}),
)

SCALES = {s.name: s for s in (FOUR_GRADE, FIVE_POINT)}
MAX_GRADE_VALUE = 10  # replies are read as one- or two-digit numbers: 0-10 covers every usual scale


def _custom_grade_problems(grades: object) -> list[tuple[str, str]]:
    if not isinstance(grades, list) or not 2 <= len(grades) <= 11:
        return [("scale", f"a scale name ({', '.join(SCALES)}) or a list of 2 to 11 grades")]
    problems, seen = [], set()
    for i, g in enumerate(grades):
        where = f"scale[{i}]"
        if not isinstance(g, Mapping):
            problems.append((where, "each grade is {value, zh, en, satisfied, level?}"))
            continue
        value = g.get("value")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRADE_VALUE:
            problems.append((f"{where}.value", f"a whole number from 0 to {MAX_GRADE_VALUE}"))
        elif value in seen:
            problems.append((f"{where}.value", f"{value} is used twice"))
        seen.add(value)
        for lang in ("zh", "en"):
            label = g.get(lang)
            if not isinstance(label, str) or not label.strip() or len(label) > 20:
                problems.append((f"{where}.{lang}", "a label of 1 to 20 characters"))
        if not isinstance(g.get("satisfied"), bool):
            problems.append((f"{where}.satisfied", "true or false"))
        if g.get("level") is not None and g.get("level") not in LEVELS:
            problems.append((f"{where}.level", f"one of {', '.join(LEVELS)}"))
        unknown = set(g) - {"value", "zh", "en", "satisfied", "level"}
        if unknown:
            problems.append((where, f"unknown key {sorted(unknown)[0]!r}"))
    return problems


def _scale_from(data: Mapping) -> SurveyScale:
    """The scale named or listed in settings, with the ``satisfied`` and ``follow_up`` overrides applied."""
    spec = data.get("scale", FOUR_GRADE.name)
    if isinstance(spec, str):
        base = SCALES[spec]
        name, grades, follow_up = base.name, base.grades, base.follow_up
    else:
        name = "custom"
        grades = tuple(
            Grade(g["value"], g["zh"].strip(), g["en"].strip(), g["satisfied"], g.get("level")) for g in spec
        )
        low = {g.value for g in grades if g.level in _LOW_LEVELS}
        # without levels nothing says which grades are "low": every unsatisfied grade then opens a case
        follow_up = frozenset(low or {g.value for g in grades if not g.satisfied})
    if "satisfied" in data:
        chosen = set(data["satisfied"])
        grades = tuple(Grade(g.value, g.zh, g.en, g.value in chosen, g.level) for g in grades)
    if "follow_up" in data:
        follow_up = frozenset(data["follow_up"])
    return SurveyScale(name, grades, follow_up)


def _value_list_problem(value: object, values: frozenset[int], *, allow_all: bool) -> str | None:
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        return "a list of grade values"
    if not set(value) <= values:
        return f"only grades of the scale: {', '.join(map(str, sorted(values)))}"
    if not value:
        return "at least one grade"
    if not allow_all and set(value) == values:
        return "not every grade, or the rate says nothing"
    return None


# --------------------------------------------------------------------------- quiet hours

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _hhmm(text: str) -> tuple[str, str]:
    match = _HHMM.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return match.group(1), match.group(2)


@dataclass(frozen=True)
class QuietHours:
    """Local times when no survey is sent (e.g. 21:00-08:00): start inclusive, end exclusive.

    ``start`` after ``end`` wraps midnight. ``start == end`` would be ambiguous (never or
    always?) and is refused by the settings check.
    """

    start: time
    end: time

    @classmethod
    def parse(cls, span: list[str] | tuple[str, str]) -> QuietHours:
        """From two HH:MM texts (checked before: see the settings' check)."""
        (sh, sm), (eh, em) = (_hhmm(t) for t in span)
        return cls(time(int(sh), int(sm)), time(int(eh), int(em)))

    def to_list(self) -> list[str]:
        return [self.start.strftime("%H:%M"), self.end.strftime("%H:%M")]

    @property
    def wraps(self) -> bool:
        return self.start > self.end

    def contains(self, local: time) -> bool:
        if self.wraps:
            return local >= self.start or local < self.end
        return self.start <= local < self.end


def _quiet_hours_problem(value: object) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(t, str) and _HHMM.match(t) for t in value)
    ):
        return 'null, or ["HH:MM", "HH:MM"] such as ["21:00", "08:00"]'
    if value[0] == value[1]:
        return "start and end must differ (use null for no quiet hours)"
    return None


# --------------------------------------------------------------------------- settings

PLACEHOLDERS = ("hall", "service", "counter", "staff_name", "staff_no", "prompt")
_PLACEHOLDER = re.compile(r"\{(\w*)\}")
DEFAULT_TEMPLATE_ZH = "您好，请对{hall}{counter}号窗口{staff_no}号的服务评价：{prompt}。回TD退订"
DEFAULT_TEMPLATE_EN = "Please rate counter {counter} at {hall}: {prompt}. Reply TD to opt out"
MAX_TEMPLATE = 300


@dataclass(frozen=True)
class SurveySettings:
    """A hall's survey settings (``halls.survey``). Defaults: four grades, Chinese only, 21:00-08:00 quiet."""

    enabled: bool = True
    scale: SurveyScale = FOUR_GRADE
    template_zh: str = DEFAULT_TEMPLATE_ZH
    template_en: str = ""  # empty: the SMS is Chinese only (cheaper: one part instead of two or three)
    delay_minutes: int = 5  # after the service finishes; the customer has left the counter
    quiet_hours: QuietHours | None = QuietHours(time(21, 0), time(8, 0))
    reply_expiry_hours: int = 48  # a later reply is kept and shown but not counted
    follow_up_hours: int = 48  # first response to a low rating or complaint (八项承诺)

    @classmethod
    def from_dict(cls, data: Mapping | None) -> SurveySettings:
        """Settings from a partial JSON object; raises ``Invalid`` naming the first bad field."""
        data = data or {}
        problems = survey_settings_problems(data)
        if problems:
            raise Invalid(problems[0][1], field=problems[0][0])
        plain = {
            k: data[k]
            for k in ("enabled", "template_zh", "template_en", "delay_minutes", "reply_expiry_hours", "follow_up_hours")
            if k in data
        }
        if "quiet_hours" in data:
            plain["quiet_hours"] = QuietHours.parse(data["quiet_hours"]) if data["quiet_hours"] else None
        return cls(scale=_scale_from(data), **plain)

    def to_dict(self) -> dict:
        scale: object = self.scale.name
        if self.scale.name == "custom":
            scale = [
                {"value": g.value, "zh": g.zh, "en": g.en, "satisfied": g.satisfied, "level": g.level}
                for g in self.scale.grades
            ]
        return {
            "enabled": self.enabled,
            "scale": scale,
            "satisfied": sorted(self.scale.satisfied_values),
            "follow_up": sorted(self.scale.follow_up),
            "template_zh": self.template_zh,
            "template_en": self.template_en,
            "delay_minutes": self.delay_minutes,
            "quiet_hours": self.quiet_hours.to_list() if self.quiet_hours else None,
            "reply_expiry_hours": self.reply_expiry_hours,
            "follow_up_hours": self.follow_up_hours,
        }

    @property
    def delay(self) -> timedelta:
        return timedelta(minutes=self.delay_minutes)

    @property
    def reply_expiry(self) -> timedelta:
        return timedelta(hours=self.reply_expiry_hours)

    @property
    def follow_up_within(self) -> timedelta:
        return timedelta(hours=self.follow_up_hours)


_SETTING_NAMES = (
    "enabled",
    "scale",
    "satisfied",
    "follow_up",
    "template_zh",
    "template_en",
    "delay_minutes",
    "quiet_hours",
    "reply_expiry_hours",
    "follow_up_hours",
)
_INT_LIMITS = {"delay_minutes": (0, 24 * 60), "reply_expiry_hours": (1, 7 * 24), "follow_up_hours": (1, 30 * 24)}


def _template_problem(text: object, required: bool) -> str | None:
    if not isinstance(text, str):
        return "must be text"
    if not text.strip():
        return "must not be empty" if required else None
    if len(text) > MAX_TEMPLATE:
        return f"at most {MAX_TEMPLATE} characters"
    unknown = [name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}; use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
    if "{prompt}" not in text:
        return "must contain {prompt}, or the customer does not know how to reply"
    return None


def survey_settings_problems(data: Mapping) -> list[tuple[str, str]]:
    """(field, message) for each bad setting in a partial ``survey`` object."""
    problems: list[tuple[str, str]] = []
    for key, value in data.items():
        if key not in _SETTING_NAMES:
            problems.append((key, f"unknown setting; use {', '.join(_SETTING_NAMES)}"))
        elif key == "enabled" and not isinstance(value, bool):
            problems.append((key, "true or false"))
        elif key == "scale" and not (isinstance(value, str) and value in SCALES):
            problems.extend(
                _custom_grade_problems(value)
                if not isinstance(value, str)
                else [(key, f"one of {', '.join(SCALES)}, or a list of grades")]
            )
        elif key in ("template_zh", "template_en"):
            problem = _template_problem(value, required=key == "template_zh")
            if problem:
                problems.append((key, problem))
        elif key in _INT_LIMITS:
            low, high = _INT_LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append((key, f"a whole number from {low} to {high}"))
        elif key == "quiet_hours":
            problem = _quiet_hours_problem(value)
            if problem:
                problems.append((key, problem))
    if problems:
        return problems
    values = _scale_from({"scale": data.get("scale", FOUR_GRADE.name)}).values
    for key, allow_all in (("satisfied", False), ("follow_up", True)):
        if key in data:
            problem = _value_list_problem(data[key], values, allow_all=allow_all)
            if problem:
                problems.append((key, problem))
    if not problems:
        scale = _scale_from(data)
        if not scale.satisfied_values or scale.satisfied_values == scale.values:
            problems.append(("satisfied", "some grades, but not all, must count as satisfied"))
    return problems


# --------------------------------------------------------------------------- the SMS


@dataclass(frozen=True)
class SurveyVisit:
    """What the survey SMS may name about the service just finished."""

    hall: str
    service: str = ""
    counter: str = ""
    staff_name: str = ""
    staff_no: str = ""
    hall_en: str | None = None  # for the English part; the Chinese name when missing
    service_en: str | None = None


def _fill(template: str, values: Mapping[str, str]) -> str:
    # a plain substitution, not str.format: a hall's template must not reach attributes ({hall.__class__})
    # nor break on a stray brace
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def render_survey_sms(settings: SurveySettings, visit: SurveyVisit) -> str:
    """The survey SMS: the Chinese template filled in, then the English one on a new line if the hall has one."""
    zh = {
        "hall": visit.hall,
        "service": visit.service,
        "counter": visit.counter,
        "staff_name": visit.staff_name,
        "staff_no": visit.staff_no,
        "prompt": settings.scale.prompt("zh"),
    }
    text = _fill(settings.template_zh, zh)
    if settings.template_en.strip():
        en = dict(
            zh,
            hall=visit.hall_en or visit.hall,
            service=visit.service_en or visit.service,
            prompt=settings.scale.prompt("en"),
        )
        text += "\n" + _fill(settings.template_en, en)
    return text


GSM7, UCS2 = "gsm7", "ucs2"
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")  # sent as escape + character: two septets each
_PART = {GSM7: (160, 153), UCS2: (70, 67)}  # (alone, per part of a concatenated SMS: the rest is the UDH)


@dataclass(frozen=True)
class SmsSize:
    """How a text travels: its encoding, its length in that encoding's units, and the SMS parts it takes."""

    encoding: str
    units: int
    parts: int

    @property
    def fits_one(self) -> bool:
        return self.parts <= 1


def sms_size(text: str) -> SmsSize:
    """GSM-7 when every character is in the GSM alphabet (160, or 153 per part), else UCS-2 (70, or 67 per part).

    Parts are filled the way phones and gateways do: a GSM escape pair or a UCS-2
    surrogate pair (an emoji) is never split across two parts.
    """
    gsm = all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text)
    encoding = GSM7 if gsm else UCS2
    costs = [(2 if ch in _GSM7_EXTENDED else 1) if gsm else (2 if ord(ch) > 0xFFFF else 1) for ch in text]
    units = sum(costs)
    alone, per_part = _PART[encoding]
    if units <= alone:
        return SmsSize(encoding, units, 1 if units else 0)
    parts, room = 1, per_part
    for cost in costs:
        if cost > room:
            parts, room = parts + 1, per_part
        room -= cost
    return SmsSize(encoding, units, parts)


# --------------------------------------------------------------------------- replies

RATING, COMMENT, OPT_OUT, EMPTY = "rating", "comment", "opt_out", "empty"
MAX_COMMENT = 500  # characters kept of a comment; the page shows it, the report does not need a novel


@dataclass(frozen=True)
class Reply:
    """What a customer's reply says.

    ``kind``: rating (``score``, maybe a ``comment``), comment, opt_out or empty.
    ``off_scale``: the reply was a small number not on the scale ("7" on 1-4): kept
    as a comment, flagged so a page can show the customer meant to rate.
    ``truncated``: the comment was longer than ``MAX_COMMENT`` and was cut.
    """

    kind: str
    score: int | None = None
    comment: str | None = None
    truncated: bool = False
    off_scale: bool = False


_INVISIBLE = "\u200b\ufeff\u2060"


def _fold(text: str) -> tuple[str, list[int]]:
    """Text for matching (NFKC: full-width １ and ＳＴＯＰ become 1 and stop; lower case; one space
    for any run of white space) and, per folded position, the original position, so a
    comment is cut from the customer's own text rather than the folded one."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        folded = " " if ch.isspace() else unicodedata.normalize("NFKC", ch).lower()
        if folded == " " and out and out[-1] == " ":
            continue
        out.append(folded)
        where.extend([i] * len(folded))
    where.append(len(text))
    return "".join(out), where


_OPT_OUT = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "td",
        "t",
        "退订",
        "退定",
        "取消",
        "取消订阅",
        "td退订",
        "退订td",
        "回td退订",
        "t退订",
        "不要再发",
        "别发了",
    }
)
_TOKEN_SPLIT = re.compile(r"[\W_]+")


def _is_opt_out(folded: str) -> bool:
    # the whole reply, not a word in it: "取消套餐要排多久" is a comment, not an opt-out
    tokens = [t for t in _TOKEN_SPLIT.split(folded) if t]
    return bool(tokens) and all(t in _OPT_OUT for t in tokens)


_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# "打5分", "给五星", "回复1", "1分", "5星", "5颗星"; Chinese numerals only with 分/星 or 打/给,
# because 一般 begins with 一; 十 is left out because 十分满意 means "very satisfied"
_NUMBER = re.compile(
    r"(?P<lead>(?:打|给|评|选|回复|回)\s?)?"
    r"(?:(?P<digits>[0-9]+)|(?P<cn>[一二两三四五六七八九]))"
    r"(?P<unit>\s?(?:分(?![钟之])|颗星|星))?"
)  # ASCII digits: NFKC has already turned full-width １ into 1
# after a bare number these make it a quantity, not a rating: "4个小时", "2024年", "3点", "5g", "4.5", "1:30"
_QUANTITY_NEXT = re.compile(r"\s?[个小时点年月日号元块天次人位岁楼层秒周分%]|[a-z]|[.,:/\-~]\d")


def _leading_number(folded: str) -> tuple[int | None, int] | None:
    """(value, end) when the reply opens with a rating-like number; (None, 0) for a quantity; None for no number."""
    m = _NUMBER.match(folded)
    if not m:
        return None
    if m.group("cn") and not (m.group("unit") or m.group("lead")):
        return None
    if m.group("digits") and len(m.group("digits")) > 2:
        return None, 0  # a phone number, a year, a ticket number: not an attempt at a rating
    if not m.group("unit") and _QUANTITY_NEXT.match(folded, m.end()):
        return None, 0
    value = int(m.group("digits")) if m.group("digits") else _CN_DIGITS[m.group("cn")]
    return value, m.end()


_WORDS: dict[str, tuple[str, ...]] = {
    "very_satisfied": (
        "非常满意",
        "很满意",
        "特别满意",
        "十分满意",
        "超级满意",
        "相当满意",
        "非常好",
        "很好",
        "特别好",
        "太好了",
        "非常棒",
        "很棒",
        "超赞",
        "五星好评",
        "very satisfied",
        "extremely satisfied",
        "excellent",
        "very good",
        "great",
        "perfect",
    ),
    "satisfied": (
        "满意",
        "比较满意",
        "挺满意",
        "还满意",
        "好评",
        "好",
        "不错",
        "挺好",
        "还不错",
        "棒",
        "赞",
        "satisfied",
        "good",
        "not bad",
        "fine",
    ),
    "neutral": (
        "一般",
        "一般般",
        "还行",
        "还可以",
        "凑合",
        "马马虎虎",
        "中",
        "中等",
        "neutral",
        "ok",
        "okay",
        "average",
        "so-so",
        "so so",
        "fair",
    ),
    "dissatisfied": (
        "不满意",
        "不太满意",
        "不好",
        "不太好",
        "差",
        "较差",
        "比较差",
        "不行",
        "差评",
        "dissatisfied",
        "unsatisfied",
        "not satisfied",
        "not good",
        "poor",
        "bad",
    ),
    "very_dissatisfied": (
        "非常不满意",
        "很不满意",
        "特别不满意",
        "极不满意",
        "非常差",
        "很差",
        "太差",
        "太差了",
        "差劲",
        "very dissatisfied",
        "very unsatisfied",
        "very poor",
        "very bad",
        "terrible",
        "awful",
        "horrible",
    ),
}
# what may come straight after a short word so that it still is the word: "满意！", "好的呀"; not "好多人"
_AFTER_SHORT = frozenset("了啊呀哦吧呢啦嘛哈谢")
_LEADS = ("本次服务", "这次服务", "对服务", "服务", "我觉得", "觉得", "感觉", "我", "i am ", "i'm ", "i was ")


@lru_cache(maxsize=64)
def _vocabulary(scale: SurveyScale) -> tuple[tuple[str, int], ...]:
    """(folded phrase, grade value), longest first, so 不满意 wins over 满意 and 非常不满意 over both.

    The scale's own labels come first at equal length: on a custom scale "较满意" is its grade.
    """
    entries: list[tuple[str, int, int]] = []
    for g in scale.grades:
        for label in (g.zh, g.en):
            entries.append((_fold(label)[0], g.value, 0))
    for level, words in _WORDS.items():
        grade = scale.grade_for_level(level)
        if grade is not None:
            entries.extend((_fold(w)[0], grade.value, 1) for w in words)
    entries.sort(key=lambda e: (-len(e[0]), e[2]))
    return tuple((phrase, value) for phrase, value, _ in entries if phrase)


def _word_ends(phrase: str, folded: str, end: int) -> bool:
    nxt = folded[end : end + 1]
    if not nxt or not nxt.isalnum():
        return True
    if phrase.isascii():
        return False  # "good" must not be the start of "goodbye"
    return len(phrase) >= 3 or nxt in _AFTER_SHORT


def _leading_word(folded: str, scale: SurveyScale) -> tuple[int, int] | None:
    """(grade value, end) when the reply opens with a rating word, maybe after "我觉得" / "服务"."""
    starts = [0] + [len(lead) for lead in _LEADS if folded.startswith(lead)]
    for start in starts:
        for phrase, value in _vocabulary(scale):
            if folded.startswith(phrase, start) and _word_ends(phrase, folded, start + len(phrase)):
                return value, start + len(phrase)
    return None


_SEPARATORS = " \t\r\n\u3000,，.。、:：;；-—~～!！?？/\\|()（）[]【】"


def _capped(comment: str) -> tuple[str | None, bool]:
    # separators between the rating and the comment go ("4，等太久了"); the customer's own ending stays
    comment = comment.lstrip(_SEPARATORS + _INVISIBLE).rstrip()
    if not comment:
        return None, False
    if len(comment) > MAX_COMMENT:
        return comment[:MAX_COMMENT], True
    return comment, False


def _rating(scale: SurveyScale, value: int, rest: str) -> Reply:
    comment, truncated = _capped(rest)
    grade = scale.grade(value)
    if comment is not None and _fold(comment)[0] in (_fold(grade.zh)[0], _fold(grade.en)[0]):
        comment = None  # "1非常满意": the customer copied the prompt; the label is no comment
    return Reply(RATING, score=value, comment=comment, truncated=truncated)


def _comment(text: str, off_scale: bool = False) -> Reply:
    comment, truncated = _capped(text)
    if comment is None:  # only punctuation: there is nothing to show
        comment, truncated = text.strip(), False
    return Reply(COMMENT, comment=comment, truncated=truncated, off_scale=off_scale)


def parse_reply(text: str | None, scale: SurveyScale) -> Reply:
    """Read a customer's reply to a survey on ``scale``.

    In order: nothing (or only white space) is empty; the whole reply being an
    opt-out word (STOP, TD, T, 退订, 取消, unsubscribe, also in full-width letters) is
    an opt-out; a leading number on the scale (also full-width, "1分", "5星", "打5分",
    "五星") is a rating, and what follows it is the comment; a leading number off
    the scale is a flagged comment; a leading rating word (非常满意, 不满意, very
    satisfied, poor, ...; the longest match wins) is a rating; anything else is a
    comment. Long numbers ("13800138000", "2024") and quantities ("4个小时") are not
    ratings. Comments are cut to ``MAX_COMMENT`` characters.
    """
    raw = (text or "").strip().strip(_INVISIBLE).strip()
    if not raw:
        return Reply(EMPTY)
    folded, where = _fold(raw)
    if _is_opt_out(folded):
        return Reply(OPT_OUT)
    number = _leading_number(folded.lstrip(" #"))
    offset = len(folded) - len(folded.lstrip(" #"))
    if number is not None:
        value, end = number
        if value is None:
            return _comment(raw)
        if value in scale.values:
            return _rating(scale, value, raw[where[offset + end] :])
        return _comment(raw, off_scale=True)
    word = _leading_word(folded, scale)
    if word is not None:
        value, end = word
        return _rating(scale, value, raw[where[end] :])
    return _comment(raw)


# --------------------------------------------------------------------------- complaints and follow-up

_COMPLAINT_WORDS = (
    "投诉",
    "举报",
    "曝光",
    "12315",
    "工信部",
    "太慢",
    "很慢",
    "好慢",
    "真慢",
    "慢死",
    "慢",
    "效率低",
    "效率太低",
    "等太久",
    "等了很久",
    "等很久",
    "等了好久",
    "等半天",
    "等了半天",
    "排队太久",
    "排了很久",
    "太久",
    "态度差",
    "态度不好",
    "态度恶劣",
    "态度很差",
    "态度太差",
    "服务差",
    "服务不好",
    "服务很差",
    "不耐烦",
    "不理人",
    "爱答不理",
    "没人管",
    "推诿",
    "敷衍",
    "不专业",
    "刁难",
    "乱收费",
    "乱扣费",
    "多收费",
    "多扣",
    "扣费不明",
    "乱扣",
    "吸费",
    "不满意",
    "差评",
    "差劲",
    "很差",
    "太差",
    "垃圾",
    "恶心",
    "骗",
    "坑人",
    "complain",
    "complaint",
    "rude",
    "slow",
    "waited too long",
    "too long",
    "long wait",
    "scam",
    "cheat",
    "overcharge",
    "unprofessional",
    "terrible",
    "awful",
    "worst",
    "fraud",
    "useless",
)
# harmless compounds that contain a complaint word: 慢走 is a goodbye, 慢慢来 "take your time"
_BENIGN = ("慢走", "慢慢", "差不多", "出差", "差点", "误差", "时差")
_NEGATORS_ZH = ("不是", "不算", "并不", "从不", "毫不", "没有", "不", "没", "无", "别", "未")
_DEGREE_ZH = ("一点都", "一点也", "那么", "这么", "特别", "非常", "很", "太", "也", "都", "并")
_NEGATED_EN = re.compile(r"(?:\bnot|n['’]t|\bno|\bnever|\bwithout)\s+(?:\w+\s+)?$")
_COMPLAINT = re.compile("|".join(re.escape(w) for w in sorted(_COMPLAINT_WORDS, key=len, reverse=True)))


def _negated(before: str) -> bool:
    if _NEGATED_EN.search(before):
        return True
    before = before.rstrip()
    stripped = True
    while stripped:  # "一点都不慢", "没那么慢", "不是很慢": peel degree words back to the negator
        stripped = False
        if before.endswith(_NEGATORS_ZH):
            return True
        for word in _DEGREE_ZH:
            if before.endswith(word):
                before, stripped = before[: -len(word)].rstrip(), True
                break
    return False


def reads_as_complaint(comment: str | None) -> bool:
    """Whether a comment reads as a complaint (投诉, 等太久, 态度差, 乱收费, rude, slow, ...).

    Keywords, not understanding: cheap, predictable, and a false alarm costs a
    manager one look while a missed complaint costs the 48-hour promise. A keyword
    right after a negation ("不慢", "没有投诉", "not slow") does not count, nor one
    inside a harmless compound ("慢走", "差不多").
    """
    if not comment:
        return False
    folded = _fold(comment)[0]
    for word in _BENIGN:
        folded = folded.replace(word, " " * len(word))
    return any(not _negated(folded[: m.start()]) for m in _COMPLAINT.finditer(folded))


LOW_RATING, COMPLAINT = "low_rating", "complaint"


def follow_up_reason(reply: Reply, scale: SurveyScale) -> str | None:
    """Why this reply opens a follow-up case: a low rating, or a comment that reads as a complaint; else None."""
    if reply.kind == RATING and reply.score in scale.follow_up:
        return LOW_RATING
    if reply.kind in (RATING, COMMENT) and reads_as_complaint(reply.comment):
        return COMPLAINT
    return None


FOLLOW_UP_WITHIN = timedelta(hours=48)
DUE_SOON = timedelta(hours=8)  # a manager is warned this long before a case's deadline
OPEN, DUE_SOON_STATE, OVERDUE, ANSWERED, ANSWERED_LATE = "open", "due_soon", "overdue", "answered", "answered_late"


@dataclass(frozen=True)
class FollowUpClock:
    """A follow-up case's first-response deadline: opened at, due at (48 hours later unless configured)."""

    opened_at: datetime
    due_at: datetime

    @classmethod
    def opened(cls, opened_at: datetime, within: timedelta = FOLLOW_UP_WITHIN) -> FollowUpClock:
        if opened_at.tzinfo is None:
            raise ValueError("give the opening time with its UTC offset")
        return cls(opened_at, opened_at + within)

    def time_left(self, now: datetime) -> timedelta:
        """Until the deadline; negative once it has passed."""
        return self.due_at - now

    def is_overdue(self, now: datetime, first_response_at: datetime | None = None) -> bool:
        """No first response by the deadline. Responding exactly at the deadline is in time."""
        if first_response_at is not None:
            return first_response_at > self.due_at
        return now > self.due_at

    def state(self, now: datetime, first_response_at: datetime | None = None, warn_before: timedelta = DUE_SOON) -> str:
        """answered / answered_late once responded; else open, due_soon (within ``warn_before``) or overdue."""
        if first_response_at is not None:
            return ANSWERED_LATE if first_response_at > self.due_at else ANSWERED
        if now > self.due_at:
            return OVERDUE
        return DUE_SOON_STATE if self.due_at - now <= warn_before else OPEN


# --------------------------------------------------------------------------- mobile numbers


class BadMsisdn(Invalid, ValueError):
    """A mobile number that cannot be read (``services.mobiles``); the message says why. Both a domain
    error (422) and a ValueError."""

    code = "mobile_invalid"


def e164(msisdn: str) -> str:
    """The stored form ("8613800138000") with its "+", for gateways that want it (Twilio)."""
    if not (isinstance(msisdn, str) and msisdn.isascii() and msisdn.isdigit()):
        raise BadMsisdn("expected a stored number: digits with the country code", field="mobile")
    return "+" + msisdn


def mask_msisdn(msisdn: str | None) -> str:
    """A number fit to show: "138****8000" for a mainland mobile (as Chinese customers see theirs masked).

    Takes the stored form or a number as typed. Other numbers keep their first three
    digits (the country code, more or less) and last four: "447*****0123". Anything
    unreadable is shown as "****", never as given.
    """
    digits = "".join(
        ch for ch in unicodedata.normalize("NFKC", msisdn or "").replace("(0)", "") if ch.isascii() and ch.isdigit()
    )
    if digits.startswith("0086"):
        digits = digits[2:]
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if 8 <= len(digits) <= 15:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "****"


# --------------------------------------------------------------------------- timing


def survey_send_at(finished_at: datetime, delay: timedelta, quiet: QuietHours | None, zone: ZoneInfo) -> datetime:
    """When to send the survey (UTC): ``delay`` after the service finished, or the end of quiet hours
    if that falls inside them, in the hall's local time (a DST change in the night is honoured:
    08:00 is 08:00 on the clock of the morning after)."""
    if finished_at.tzinfo is None:
        raise ValueError("give the finishing time with its UTC offset")
    at = (finished_at + delay).astimezone(zone)
    if quiet is None or not quiet.contains(at.time()):
        return at.astimezone(UTC)
    day = at.date() + timedelta(days=1) if quiet.wraps and at.time() >= quiet.start else at.date()
    return datetime.combine(day, quiet.end, tzinfo=zone).astimezone(UTC)


def reply_in_window(sent_at: datetime, replied_at: datetime, expiry: timedelta = timedelta(hours=48)) -> bool:
    """Whether a reply at ``replied_at`` answers a survey sent at ``sent_at``: not before it, not after expiry."""
    return sent_at <= replied_at <= sent_at + expiry


K = TypeVar("K", bound=Hashable)


def pick_survey(
    sent: Iterable[tuple[K, datetime]], replied_at: datetime, expiry: timedelta = timedelta(hours=48)
) -> K | None:
    """Of a number's surveys (key, sent at), the one a reply answers: the latest sent within the window.

    A customer answers the last SMS they got; an older survey in the window is left
    unanswered rather than given someone else's rating.
    """
    open_ = [(at, key) for key, at in sent if reply_in_window(at, replied_at, expiry)]
    return max(open_, key=lambda pair: pair[0])[1] if open_ else None


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class SatisfactionFigures:
    """The figures of a set of ratings on one scale. Rates are shares (0-1); None when there are no ratings."""

    ratings: int
    satisfied: int
    satisfaction_rate: float | None
    average_score: float | None
    score_index: float | None  # 0-100, best grade = 100: comparable across halls on different scales
    by_score: Mapping[int, int] = field(default_factory=dict)


def figures_from_counts(counts: Mapping[int, int], scale: SurveyScale) -> SatisfactionFigures:
    """Figures from ratings counted per score (what ``GROUP BY score`` gives a report)."""
    strange = sorted(score for score, n in counts.items() if n and score not in scale.values)
    if strange:
        raise ValueError(f"score {strange[0]} is not on the {scale.name} scale")
    if any(n < 0 for n in counts.values()):
        raise ValueError("a count cannot be negative")
    total = sum(counts.values())
    if not total:
        return SatisfactionFigures(0, 0, None, None, None, {})
    satisfied = sum(n for score, n in counts.items() if score in scale.satisfied_values)
    average = sum(score * n for score, n in counts.items()) / total
    index = 100 * (average - scale.worst) / (scale.best - scale.worst)
    return SatisfactionFigures(
        total, satisfied, satisfied / total, average, index, {s: n for s, n in sorted(counts.items()) if n}
    )


def satisfaction_figures(scores: Iterable[int], scale: SurveyScale) -> SatisfactionFigures:
    """Figures from individual scores."""
    return figures_from_counts(Counter(scores), scale)


def satisfaction_rate(scores: Iterable[int], scale: SurveyScale) -> float | None:
    """Share of ratings in the scale's satisfied grades; None without ratings."""
    return satisfaction_figures(scores, scale).satisfaction_rate


def average_score(scores: Iterable[int]) -> float | None:
    """Mean score as replied (on the four-grade scale lower is better); None without ratings."""
    scores = list(scores)
    return sum(scores) / len(scores) if scores else None


def response_rate(replies: int, sent: int) -> float | None:
    """Surveys answered / surveys sent; None when none were sent. A duplicate reply is not a second answer."""
    if replies < 0 or sent < 0:
        raise ValueError("counts cannot be negative")
    if replies > sent:
        raise ValueError(f"{replies} surveys answered out of {sent} sent: count each survey once")
    return replies / sent if sent else None


def percent(share: float | None, places: int = 2) -> float | None:
    """A share as a rounded percentage (0.951523 → 95.15), as the reports print it."""
    return None if share is None or math.isnan(share) else round(100 * share, places)
