"""The real queue log in ``../shared/data/queue-log/`` ("Anonymous Bank", February 1999).

One row per call: it waited in a queue for one of several agents, then was served,
gave up (HANG) or vanished (PHANTOM). Read into plain records here, so the forecaster
(arrivals per interval) and the staffing models (waits, service, patience) share one
reading of it.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "queue-log" / "anonymous_bank_feb1999.tsv"

SERVED, ABANDONED, PHANTOM = "AGENT", "HANG", "PHANTOM"


@dataclass(frozen=True)
class Call:
    """One customer of the log. ``arrived`` is when the call joined the queue for an agent."""

    call_id: str
    priority: int
    service: str  # PS, NW, NE, TT, IN, PE
    arrived: datetime
    waited_s: int  # seconds in the queue (0: an agent was free)
    outcome: str  # AGENT (served), HANG (abandoned), PHANTOM
    service_start: datetime | None
    service_s: int  # seconds of service (0 when not served)
    server: str | None  # the agent's name; None when nobody served it

    @property
    def served(self) -> bool:
        return self.outcome == SERVED and self.server is not None

    @property
    def abandoned(self) -> bool:
        return self.outcome == ABANDONED


def _clock(day: date, text: str) -> datetime | None:
    h, m, s = (int(part) for part in text.strip().split(":"))
    if h == m == s == 0:
        return None
    return datetime(day.year, day.month, day.day) + timedelta(hours=h, minutes=m, seconds=s)


def _row_to_call(row: dict) -> Call | None:
    day = datetime.strptime(row["date"].strip(), "%y%m%d").date()
    queued = _clock(day, row["q_start"])
    left_vru = _clock(day, row["vru_exit"])
    arrived = queued or left_vru  # no queue start: it went straight to a free agent
    if arrived is None:
        return None
    server = row["server"].strip()
    service_start = _clock(day, row["ser_start"])
    return Call(
        call_id=row["call_id"].strip(),
        priority=int(row["priority"]),
        service=row["type"].strip(),
        arrived=arrived,
        waited_s=int(row["q_time"]),
        outcome=row["outcome"].strip(),
        service_start=service_start,
        service_s=int(row["ser_time"]),
        server=None if server in ("", "NO_SERVER") else server,
    )


def read_calls(path: Path | str = DEFAULT_PATH) -> list[Call]:
    """Every call of the log in arrival order (rows without any clock time are left out)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        calls = [c for c in (_row_to_call(r) for r in rows) if c is not None]
    return sorted(calls, key=lambda c: (c.arrived, c.call_id))


def arrivals_per_interval(calls: Iterable[Call], interval_minutes: int = 15, include_phantoms: bool = False) -> Counter:
    """Arrivals counted per interval start (naive local time)."""
    step = interval_minutes * 60
    counts: Counter = Counter()
    for call in calls:
        if call.outcome == PHANTOM and not include_phantoms:
            continue
        midnight = datetime(call.arrived.year, call.arrived.month, call.arrived.day)
        seconds = int((call.arrived - midnight).total_seconds())
        counts[midnight + timedelta(seconds=seconds - seconds % step)] += 1
    return counts
