"""The hall's VIP roster (贵宾名单) and green-channel rules (绿色通道), pure.

China Mobile grades customers by star level (星级, one to seven stars; five stars and up hold the
gold and diamond cards). A number on a hall's roster takes its tier at the kiosk without the
floor guide: three and four stars ``star``, five and up ``vip``; one and two stars are listed (for
the hall's own care) but queue as ordinary customers. How far each tier overtakes is the hall's
calling rule (``domain.calling``), never starving anyone.

The green channel is for the elderly, the disabled and expectant mothers. A hall may switch it
off, or let the kiosk issue it on the customer's word (``self_declare``) instead of the floor
guide's PIN; the kiosk shows the note to say who it is for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from .model import Tier

STAR_LEVELS = range(1, 8)
STAR_FROM = 3  # three stars and up queue as star customers
VIP_FROM = 5  # five stars and up (gold, diamond) as VIP


def tier_for_level(level: int) -> Tier:
    if level >= VIP_FROM:
        return Tier.VIP
    if level >= STAR_FROM:
        return Tier.STAR
    return Tier.ORDINARY


def member_tier(level: int, valid_until: date | None, active: bool, day: date) -> Tier:
    """The tier a roster entry gives on ``day``: ordinary once lapsed or deactivated."""
    if not active or (valid_until is not None and day > valid_until):
        return Tier.ORDINARY
    return tier_for_level(level)


def star_level_problem(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value not in STAR_LEVELS:
        return "star_level is a whole number from 1 to 7"
    return None


DEFAULT_NOTE_ZH = "老年人（65岁以上）、残障人士、孕妇请走绿色通道"
DEFAULT_NOTE_EN = "For customers aged 65 and over, disabled customers and expectant mothers"


@dataclass(frozen=True)
class GreenChannel:
    enabled: bool = True
    self_declare: bool = False  # the kiosk issues it without the floor guide's PIN
    note_zh: str = DEFAULT_NOTE_ZH
    note_en: str = DEFAULT_NOTE_EN

    @classmethod
    def from_dict(cls, data: dict | None) -> GreenChannel:
        data = data or {}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_dict(self) -> dict:
        return asdict(self)


def green_channel_problems(data) -> list[tuple[str, str]]:
    """(field, message) for each wrong setting of a (partial) green-channel object."""
    if not isinstance(data, dict):
        return [("green_channel", "green_channel is a JSON object of settings")]
    problems = []
    for key, value in data.items():
        if key not in GreenChannel.__dataclass_fields__:
            problems.append((key, f"unknown setting {key!r}; one of {', '.join(GreenChannel.__dataclass_fields__)}"))
        elif key in ("enabled", "self_declare") and not isinstance(value, bool):
            problems.append((key, f"{key} is true or false"))
        elif key in ("note_zh", "note_en") and (not isinstance(value, str) or len(value) > 200):
            problems.append((key, f"{key} is text of at most 200 characters"))
    return problems
