"""What the hall's screens say: call announcements and the rolling notice, per hall, zh-CN first.

A hall stores only what it changed; ``screen_settings`` fills in the defaults. Call texts
are templates with two fields, ``{label}`` (the ticket number, e.g. A023) and
``{counter}`` (the counter's number).
"""

from __future__ import annotations

import re
import string

DEFAULT_SCREEN = {
    "call_zh": "请{label}号到{counter}号窗口办理",
    "call_en": "Number {label}, please go to counter {counter}",
    "notice_zh": "请留意叫号，过号请重新取号。部分业务可在自助终端办理。",
    "notice_en": "Please watch for your number. Some services are available at the self-service terminals.",
}
TEMPLATE_FIELDS = {"label", "counter"}
MAX_TEXT = 300
PIN_PATTERN = re.compile(r"^\d{4,8}$")


def screen_settings(stored: dict | None) -> dict:
    """The hall's screen texts: what it stored, the defaults for the rest."""
    return {**DEFAULT_SCREEN, **{k: v for k, v in (stored or {}).items() if k in DEFAULT_SCREEN and v}}


def screen_problems(changes: dict) -> list[tuple[str, str]]:
    """(field, message) for each text that cannot be used; empty when all are fine."""
    problems = []
    for key, text in changes.items():
        if key not in DEFAULT_SCREEN:
            problems.append((key, f"unknown screen text; known: {', '.join(DEFAULT_SCREEN)}"))
        elif not isinstance(text, str) or len(text) > MAX_TEXT:
            problems.append((key, f"must be text of at most {MAX_TEXT} characters"))
        elif key.startswith("call_"):
            try:
                fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
            except ValueError as exc:
                problems.append((key, f"not a valid template: {exc}"))
                continue
            if not fields <= TEMPLATE_FIELDS:
                problems.append((key, "only {label} and {counter} may be used"))
            elif "label" not in fields:
                problems.append((key, "must contain {label}"))
    return problems


def pin_problem(pin: str) -> str | None:
    return None if PIN_PATTERN.match(pin or "") else "must be 4 to 8 digits"
