"""Peak warnings (客流高峰预警): when to warn a hall manager, how bad, and what to do.

Two kinds:

- ``forecast``: ahead of time, when the upper forecast of a service's arrivals in the
  coming hour needs more counters than are open for it now;
- ``live``: now, when a service's estimated wait passes its target.

A warning *stands* while its condition holds: it is raised once, updated in place if it
gets worse or better, and resolved when the condition clears. One standing warning per
(hall, kind, service): a manager is not told the same thing every minute.
Standard library only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

FORECAST, LIVE = "forecast", "live"
WARNING, CRITICAL = "warning", "critical"
HORIZON = timedelta(minutes=60)  # look this far ahead
LEAD = timedelta(minutes=30)  # a forecast warning comes at least this long before its peak, where it can


@dataclass(frozen=True)
class ServiceOutlook:
    """One service in one coming interval: what the upper forecast needs against what is open."""

    service_id: int
    name_zh: str
    name_en: str
    start: datetime  # the interval's start, aware, in the hall's time zone
    minutes: int
    upper_arrivals: float  # the upper (p90) forecast of arrivals in the interval
    needed: int  # counters needed to serve the upper forecast within target
    open_counters: int  # counters open for this service now


@dataclass(frozen=True)
class ServiceNow:
    """One service right now, from the live queue."""

    service_id: int
    name_zh: str
    name_en: str
    waiting: int
    estimated_wait_s: int | None  # for a ticket taken now; None when nobody can serve it
    target_wait_s: int
    open_counters: int


@dataclass(frozen=True)
class WarningDraft:
    """What a warning says; the service layer stores it, or updates the one that stands."""

    kind: str
    service_id: int
    severity: str
    window_start: datetime
    window_end: datetime
    counters_open: int
    counters_needed: int
    figure: float  # forecast: upper arrivals at the peak interval; live: estimated wait (s)
    message_zh: str
    message_en: str
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", warning_key(self.kind, self.service_id))


def warning_key(kind: str, service_id: int) -> str:
    return f"{kind}:{service_id}"


def _severity(open_counters: int, needed: int, time_left: timedelta) -> str:
    """Critical when the shortfall is large (two counters or more, or half of what is needed) and the
    peak is less than ``LEAD`` away; otherwise a warning. A small load (one counter would serve it,
    say one customer in a quarter of an hour at night) is never critical, however few are open."""
    short = needed - open_counters
    large = short >= 2 or (needed >= 2 and short / needed >= 0.5)
    return CRITICAL if large and time_left < LEAD else WARNING


def forecast_warnings(
    outlooks: list[ServiceOutlook], now: datetime, horizon: timedelta = HORIZON
) -> list[WarningDraft]:
    """A warning per service whose upper forecast in the next ``horizon`` outgrows its open counters.

    The window runs from the first short interval to the end of the last one within the
    horizon; the advice is the largest shortfall, to be open before the window starts.
    """
    by_service: dict[int, list[ServiceOutlook]] = {}
    for o in sorted(outlooks, key=lambda o: o.start):
        if o.start + timedelta(minutes=o.minutes) > now and o.start < now + horizon:
            by_service.setdefault(o.service_id, []).append(o)
    drafts = []
    for intervals in by_service.values():
        short = [o for o in intervals if o.needed > o.open_counters]
        if not short:
            continue
        worst = max(short, key=lambda o: (o.needed - o.open_counters, o.upper_arrivals))
        first, last = short[0], short[-1]
        start = max(first.start, now)
        end = last.start + timedelta(minutes=last.minutes)
        more = worst.needed - worst.open_counters
        # the advice's deadline is the peak's start, never a time already gone: a running peak is "now"
        by_zh, by_en = (f"请在{start:%H:%M}前", f"before {start:%H:%M}") if start > now else ("请立即", "now")
        drafts.append(
            WarningDraft(
                kind=FORECAST,
                service_id=worst.service_id,
                severity=_severity(worst.open_counters, worst.needed, start - now),
                window_start=start,
                window_end=end,
                counters_open=worst.open_counters,
                counters_needed=worst.needed,
                figure=round(worst.upper_arrivals, 1),
                message_zh=(
                    f"预计{start:%H:%M}起{worst.name_zh}客流高峰（每{worst.minutes}分钟最多约"
                    f"{math.ceil(worst.upper_arrivals)}人），现开{worst.open_counters}个窗口，需要{worst.needed}个："
                    f"{by_zh}为{worst.name_zh}增开{more}个窗口"
                ),
                message_en=(
                    f"Peak expected for {worst.name_en or worst.name_zh} from {start:%H:%M} (up to about "
                    f"{math.ceil(worst.upper_arrivals)} arrivals per {worst.minutes} min): "
                    f"{worst.open_counters} counter(s) open, {worst.needed} needed. Open {more} more "
                    f"counter(s) for {worst.name_en or worst.name_zh} {by_en}."
                ),
            )
        )
    return drafts


def extra_counters_for(wait_s: int, target_s: int, open_counters: int) -> int:
    """How many more counters bring an estimated wait back to target (waits scale about as 1/counters)."""
    if open_counters <= 0:
        return 1
    return max(1, math.ceil(open_counters * (wait_s / target_s - 1)))


def live_warnings(services: list[ServiceNow], now: datetime) -> list[WarningDraft]:
    """A warning per service whose estimated wait now is past its target (or that nobody can serve)."""
    drafts = []
    for svc in services:
        if svc.waiting <= 0:
            continue
        name_en = svc.name_en or svc.name_zh
        if svc.estimated_wait_s is None or svc.open_counters == 0:
            drafts.append(
                WarningDraft(
                    kind=LIVE,
                    service_id=svc.service_id,
                    severity=CRITICAL,
                    window_start=now,
                    window_end=now,
                    counters_open=0,
                    counters_needed=1,
                    figure=0.0,
                    message_zh=f"{svc.name_zh}有{svc.waiting}人等候，但没有开放的窗口：请立即开放至少1个窗口",
                    message_en=f"{svc.waiting} waiting for {name_en} and no counter open for it: open at least 1 counter now.",
                )
            )
            continue
        if svc.estimated_wait_s <= svc.target_wait_s:
            continue
        more = extra_counters_for(svc.estimated_wait_s, svc.target_wait_s, svc.open_counters)
        wait_min, target_min = math.ceil(svc.estimated_wait_s / 60), math.ceil(svc.target_wait_s / 60)
        drafts.append(
            WarningDraft(
                kind=LIVE,
                service_id=svc.service_id,
                severity=CRITICAL if svc.estimated_wait_s >= 2 * svc.target_wait_s else WARNING,
                window_start=now,
                window_end=now,
                counters_open=svc.open_counters,
                counters_needed=svc.open_counters + more,
                figure=float(svc.estimated_wait_s),
                message_zh=(
                    f"{svc.name_zh}当前预计等候{wait_min}分钟，超过目标{target_min}分钟（{svc.waiting}人等候）："
                    f"请立即增开{more}个窗口，或引导客户自助办理"
                ),
                message_en=(
                    f"{name_en}: estimated wait {wait_min} min, over the {target_min} min target "
                    f"({svc.waiting} waiting). Open {more} more counter(s) now, or guide customers to self-service."
                ),
            )
        )
    return drafts


@dataclass(frozen=True)
class Reconciled:
    """What to do with the stored warnings, given what the rules say now."""

    raise_: list[WarningDraft]
    update: list[tuple[int, WarningDraft]]  # (standing warning id, its new content)
    resolve: list[int]  # standing warning ids whose condition cleared


def reconcile(
    standing: dict[str, tuple[int, str, int]], drafts: list[WarningDraft], kinds: tuple[str, ...]
) -> Reconciled:
    """Match drafts to standing warnings by key.

    ``standing`` maps a key to (id, severity, counters_needed) of the warning standing for it.
    A draft with no standing warning is raised; one whose severity or need changed updates
    it; a standing warning of the checked ``kinds`` with no draft any more is resolved.
    """
    raise_, update = [], []
    seen = set()
    for draft in drafts:
        seen.add(draft.key)
        if draft.key not in standing:
            raise_.append(draft)
            continue
        warning_id, severity, needed = standing[draft.key]
        if (severity, needed) != (draft.severity, draft.counters_needed):
            update.append((warning_id, draft))
    resolve = [wid for key, (wid, _, _) in standing.items() if key not in seen and key.split(":")[0] in kinds]
    return Reconciled(raise_, update, resolve)
