"""Satisfaction figures for reports (满意度报表), pure: wait bands, report periods, a line's
figures on a hall's scale, lines combined across halls, rankings. Storage and queries are
in ``services.satisfaction``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .errors import Invalid
from .hours import parse_zone
from .survey import SurveyScale, figures_from_counts
from .values import parse_day

# --------------------------------------------------------------------------- wait bands

WAIT_BANDS = ((0, 5), (5, 10), (10, 20), (20, 30), (30, None))  # minutes, lower bound inclusive
UNKNOWN_BAND = -1


def wait_band(wait_s: int | None) -> int:
    """The index of a wait in ``WAIT_BANDS`` (-1 when unknown: a ticket never called)."""
    if wait_s is None:
        return UNKNOWN_BAND
    return next(i for i, (_, hi) in enumerate(WAIT_BANDS) if hi is None or wait_s < hi * 60)


def band_label(band: int) -> dict:
    if band == UNKNOWN_BAND:
        return {"band": band, "label_zh": "未知", "label_en": "unknown", "from_min": None, "to_min": None}
    lo, hi = WAIT_BANDS[band]
    text_ = f"{lo}-{hi}" if hi is not None else f"{lo}+"
    return {"band": band, "label_zh": f"{text_}分钟", "label_en": f"{text_} min", "from_min": lo, "to_min": hi}


# --------------------------------------------------------------------------- periods

PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    """A report period: business days ``first`` to ``last`` inclusive."""

    kind: str
    first: date
    last: date

    @property
    def label_zh(self) -> str:
        if self.kind == "month":
            return f"{self.first.year}年{self.first.month}月"
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}年第{week}周（{self.first}至{self.last}）"
        return f"{self.first.year}年{self.first.month}月{self.first.day}日"

    @property
    def label_en(self) -> str:
        if self.kind == "month":
            return self.first.strftime("%B %Y")
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"week {week} of {year} ({self.first} to {self.last})"
        return self.first.isoformat()

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "first_day": self.first.isoformat(),
            "last_day": self.last.isoformat(),
            "label_zh": self.label_zh,
            "label_en": self.label_en,
        }


def period_of(kind: str, day: date) -> Period:
    """The day, ISO week (Monday-Sunday) or calendar month that contains ``day``."""
    if kind == "day":
        return Period(kind, day, day)
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        return Period(kind, first, first + timedelta(days=6))
    if kind == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(kind, first, following - timedelta(days=1))
    raise Invalid(f"period is one of {', '.join(PERIODS)}", field="period")


def parse_period(kind: str | None, day: date | str | None, now: datetime, zone: str) -> Period:
    """The period named by query arguments; without ``date``, the one containing today in ``zone``."""
    if isinstance(day, str) and day:
        when = parse_day(day, "date")
    elif isinstance(day, date):
        when = day
    else:
        when = now.astimezone(parse_zone(zone)).date()
    return period_of(kind or "month", when)


# --------------------------------------------------------------------------- figures


def figures(counts: Mapping[int, int], sent: int, rated: int, scale: SurveyScale) -> dict:
    """A report line's figures on one scale. Scores off the hall's current scale are left out, and counted."""
    on_scale = {v: n for v, n in counts.items() if n and v in scale.values}
    f = figures_from_counts(on_scale, scale)
    return {
        "sent": sent,
        "rated": rated,
        "ratings": f.ratings,
        "satisfied": f.satisfied,
        "satisfaction_rate": f.satisfaction_rate,
        "average_score": f.average_score,
        "score_index": f.score_index,
        "response_rate": rated / sent if sent else None,
        "off_scale": sum(counts.values()) - f.ratings,
        "scale": scale.name,
        "by_score": {str(v): n for v, n in sorted(on_scale.items())},
    }


def combine(parts: Iterable[dict]) -> dict:
    """Figures of several lines together (halls of a city, ...): rates from summed counts; the average
    score only when every part is on one scale (else compare ``score_index``, weighted by ratings)."""
    parts = list(parts)
    sums = {k: sum(p[k] for p in parts) for k in ("sent", "rated", "ratings", "satisfied", "off_scale")}
    ratings = sums["ratings"]
    scales = {p["scale"] for p in parts if p["ratings"]}
    rated_parts = [p for p in parts if p["ratings"]]
    same = len(scales) == 1 and all(p["average_score"] is not None for p in rated_parts)
    by_score: dict[str, int] = {}
    if same:
        for p in rated_parts:
            for v, n in p["by_score"].items():
                by_score[v] = by_score.get(v, 0) + n
    return {
        **sums,
        "satisfaction_rate": sums["satisfied"] / ratings if ratings else None,
        "average_score": (
            sum(p["average_score"] * p["ratings"] for p in rated_parts) / ratings if ratings and same else None
        ),
        "score_index": sum(p["score_index"] * p["ratings"] for p in rated_parts) / ratings if ratings else None,
        "response_rate": sums["rated"] / sums["sent"] if sums["sent"] else None,
        "scale": scales.pop() if same else ("mixed" if scales else None),
        "by_score": dict(sorted(by_score.items(), key=lambda kv: int(kv[0]))),
    }


def rank(lines: list[dict], field: str = "rank", min_ratings: int = 1) -> list[dict]:
    """Best first: satisfaction rate, then score index, then more ratings. Ties share a rank (1, 1, 3);
    lines with fewer than ``min_ratings`` ratings get no rank and go last."""

    def key(x):
        return (-(x["satisfaction_rate"] or 0), -(x["score_index"] or 0), -x["ratings"])

    ranked = sorted((x for x in lines if x["ratings"] >= max(min_ratings, 1)), key=key)
    rest = [x for x in lines if x["ratings"] < max(min_ratings, 1)]
    for i, x in enumerate(ranked):
        x[field] = ranked[i - 1][field] if i and key(ranked[i - 1])[:2] == key(x)[:2] else i + 1
    for x in rest:
        x[field] = None
    return ranked + rest
