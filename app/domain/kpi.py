"""Service-level measures (服务指标), pure: what one customer's visit was, read from the ticket's
state history, and the additive counts that reports roll up and turn into figures.

Definitions (the report pages print them):

- **Arrival**: a ticket taken, counted on its business day and the local hour it was taken, under
  the service it was taken for and its customer tier.
- **Wait**: the customer's whole wait: from taking the ticket to the first call, plus, after each
  transfer, from the transfer to the next call (time at a counter is not waiting). A ticket never
  called has no wait (it was cancelled, expired, or is still waiting at report time).
- **Within target**: the wait is at most the target wait of the service the ticket was taken for.
- **Handle time**: the time served at counters: from the start of service to its finish, summed
  over the counters a transferred customer saw.
- **Outcome**: served (finished), no-show, cancelled (the customer left the queue), expired (still
  open when the business day ended), or open (still waiting, called or being served at report time).
- The visit is credited to the counter and staff member who served it last (for a no-show: who
  called it); a transferred visit counts one transfer.

Percentiles come from fixed histograms (the bins are ``WAIT_BINS`` and ``HANDLE_BINS``, finer
where most waits fall, and ``FINE_WAIT_BINS``: 10 seconds under two minutes), interpolated within a
bin: exact to within the bin's width (10 s under 2 min, 1 min to 10 min, wider beyond), so the P90
of a hall's month is right to about a minute, and roll-ups stay additive.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

# bin lower edges in seconds; the last bin is open-ended
WAIT_BINS = tuple(
    m * 60 for m in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 25, 30, 35, 40, 45, 50, 60, 75, 90, 120, 180)
)
HANDLE_BINS = tuple(m * 60 for m in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 25, 30, 40, 60, 90))
# waits under two minutes (WAIT_BINS' first two bins) counted again in 10-second bins: a hall whose
# customers wait seconds reads its median in seconds, not the middle of a one-minute bin
FINE_WAIT_UNDER_S = WAIT_BINS[2]
FINE_WAIT_BINS = tuple(range(0, FINE_WAIT_UNDER_S, 10))
OUTCOMES = ("served", "no_show", "cancelled", "expired", "open")
COUNT_FIELDS = (
    "arrivals",
    "served",
    "no_show",
    "cancelled",
    "expired",
    "still_open",
    "transfers",
    "waited",
    "wait_sum_s",
    "within_target",
    "handled",
    "handle_sum_s",
)


@dataclass(frozen=True)
class Step:
    """One event of a ticket's history (``kind``: issued, called, recalled, serving, finished, no_show,
    cancelled, transferred, expired)."""

    kind: str
    at: datetime
    counter_id: int | None = None
    staff_id: int | None = None
    duration_s: float | None = None
    service_id: int | None = None  # the service the ticket was for at that moment


@dataclass(frozen=True)
class Visit:
    """One customer's visit as the reports count it."""

    outcome: str
    wait_s: float | None
    handle_s: float | None
    transfers: int
    counter_id: int | None
    staff_id: int | None


def service_taken(steps: Sequence[Step], current: int) -> int:
    """The service the customer took the ticket for (a transfer changes the ticket's, not this)."""
    first = steps[0] if steps else None
    return first.service_id if first is not None and first.kind == "issued" and first.service_id else current


def read_visit(steps: Sequence[Step]) -> Visit:
    """The visit a ticket's history (in order) describes."""
    wait, handle, transfers = 0.0, 0.0, 0
    waiting_since: datetime | None = None
    called_once = served_once = False
    counter = staff = None
    outcome = "open"
    serving_since: datetime | None = None
    for step in steps:
        k = step.kind
        if k == "issued" or k == "checked_in":
            waiting_since = step.at
        elif k == "called":
            if waiting_since is not None:
                wait += max((step.at - waiting_since).total_seconds(), 0.0)
                waiting_since = None
            called_once = True
            counter, staff = step.counter_id, step.staff_id
        elif k == "serving":
            serving_since = step.at
        elif k in ("finished", "transferred"):
            handle += _served_for(step, serving_since)
            served_once = served_once or serving_since is not None or step.duration_s is not None
            serving_since = None
            counter, staff = step.counter_id or counter, step.staff_id or staff
            if k == "transferred":
                transfers += 1
                waiting_since = step.at
                outcome = "open"
            else:
                outcome = "served"
        elif k == "no_show":
            outcome = "no_show"
            counter, staff = step.counter_id or counter, step.staff_id or staff
        elif k == "cancelled":
            outcome = "cancelled"
        elif k == "expired":
            outcome = "expired"
    # a wait counts once it is over: a ticket transferred and not called again yet has no finished wait
    finished_wait = called_once and waiting_since is None
    return Visit(
        outcome=outcome,
        wait_s=wait if finished_wait else None,
        handle_s=handle if served_once else None,
        transfers=transfers,
        counter_id=counter,
        staff_id=staff,
    )


def _served_for(step: Step, serving_since: datetime | None) -> float:
    if step.duration_s is not None:
        return max(float(step.duration_s), 0.0)
    if serving_since is not None:
        return max((step.at - serving_since).total_seconds(), 0.0)
    return 0.0


def bin_of(value_s: float, bins: Sequence[int]) -> int:
    return bisect_right(bins, value_s) - 1


@dataclass
class Counts:
    """Additive counts of a set of visits: what the roll-up tables store per row."""

    arrivals: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    expired: int = 0
    still_open: int = 0
    transfers: int = 0
    waited: int = 0
    wait_sum_s: int = 0
    within_target: int = 0
    handled: int = 0
    handle_sum_s: int = 0
    wait_bins: list[int] = field(default_factory=lambda: [0] * len(WAIT_BINS))
    handle_bins: list[int] = field(default_factory=lambda: [0] * len(HANDLE_BINS))
    fine_wait_bins: list[int] = field(default_factory=lambda: [0] * len(FINE_WAIT_BINS))

    def add(self, visit: Visit, target_wait_s: int | None) -> Counts:
        self.arrivals += 1
        outcome = "still_open" if visit.outcome == "open" else visit.outcome
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.transfers += visit.transfers
        if visit.wait_s is not None:
            self.waited += 1
            self.wait_sum_s += round(visit.wait_s)
            self.wait_bins[bin_of(visit.wait_s, WAIT_BINS)] += 1
            if visit.wait_s < FINE_WAIT_UNDER_S:
                self.fine_wait_bins[bin_of(visit.wait_s, FINE_WAIT_BINS)] += 1
            if target_wait_s is not None and visit.wait_s <= target_wait_s:
                self.within_target += 1
        if visit.handle_s is not None:
            self.handled += 1
            self.handle_sum_s += round(visit.handle_s)
            self.handle_bins[bin_of(visit.handle_s, HANDLE_BINS)] += 1
        return self

    def merge(self, other: Counts) -> Counts:
        for name in COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.wait_bins = [a + b for a, b in zip(self.wait_bins, other.wait_bins)]
        self.handle_bins = [a + b for a, b in zip(self.handle_bins, other.handle_bins)]
        self.fine_wait_bins = [a + b for a, b in zip(self.fine_wait_bins, other.fine_wait_bins)]
        return self

    def to_row(self) -> dict:
        row = {name: getattr(self, name) for name in COUNT_FIELDS}
        row.update({f"w{i}": n for i, n in enumerate(self.wait_bins)})
        row.update({f"h{i}": n for i, n in enumerate(self.handle_bins)})
        row.update({f"f{i}": n for i, n in enumerate(self.fine_wait_bins)})
        return row

    @classmethod
    def from_row(cls, row: Mapping) -> Counts:
        c = cls(**{name: int(row.get(name) or 0) for name in COUNT_FIELDS})  # type: ignore[arg-type]  # PostgreSQL sums are Decimal; the fields are ints
        c.wait_bins = [int(row.get(f"w{i}") or 0) for i in range(len(WAIT_BINS))]
        c.handle_bins = [int(row.get(f"h{i}") or 0) for i in range(len(HANDLE_BINS))]
        c.fine_wait_bins = [int(row.get(f"f{i}") or 0) for i in range(len(FINE_WAIT_BINS))]
        return c


ROW_COLUMNS = (
    COUNT_FIELDS
    + tuple(f"w{i}" for i in range(len(WAIT_BINS)))
    + tuple(f"h{i}" for i in range(len(HANDLE_BINS)))
    + tuple(f"f{i}" for i in range(len(FINE_WAIT_BINS)))
)


def percentile(bins: Sequence[int], edges: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0-1) of values counted in ``bins`` (lower ``edges``), interpolated within
    its bin; the open last bin is taken as wide as the one before it. None when nothing is counted."""
    total = sum(bins)
    if not total:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(bins):
        if n and seen + n >= rank:
            lo = edges[i]
            hi = edges[i + 1] if i + 1 < len(edges) else edges[i] + (edges[i] - edges[i - 1])
            return lo + (hi - lo) * max(rank - seen, 0) / n
        seen += n
    return float(edges[-1])


def wait_percentile(c: Counts, q: float) -> float | None:
    """The ``q`` quantile of the waits: from the 10-second bins when it falls under two minutes and
    every wait under two minutes was counted in them (roll-ups made before they existed were not:
    then the one-minute bins), else from ``WAIT_BINS``."""
    total = sum(c.wait_bins)
    if not total:
        return None
    under = sum(c.wait_bins[: WAIT_BINS.index(FINE_WAIT_UNDER_S)])
    rank = q * total
    if under and rank <= under and sum(c.fine_wait_bins) == under:
        return percentile(c.fine_wait_bins, FINE_WAIT_BINS, rank / under)
    return percentile(c.wait_bins, WAIT_BINS, q)


def figures(c: Counts) -> dict:
    """A report line's figures from its counts."""
    closed = c.served + c.no_show + c.cancelled + c.expired
    return {
        "arrivals": c.arrivals,
        "served": c.served,
        "no_show": c.no_show,
        "cancelled": c.cancelled,
        "expired": c.expired,
        "open": c.still_open,
        "transfers": c.transfers,
        "waited": c.waited,
        "wait_avg_s": c.wait_sum_s / c.waited if c.waited else None,
        "wait_p50_s": wait_percentile(c, 0.5),
        "wait_p90_s": wait_percentile(c, 0.9),
        "within_target_rate": c.within_target / c.waited if c.waited else None,
        "handled": c.handled,
        "handle_avg_s": c.handle_sum_s / c.handled if c.handled else None,
        "handle_p90_s": percentile(c.handle_bins, HANDLE_BINS, 0.9),
        "no_show_rate": c.no_show / closed if closed else None,
        "cancel_rate": c.cancelled / closed if closed else None,
    }


def busy_hour(arrivals_by_hour: Mapping[int, int]) -> int | None:
    """The hour of the day with most arrivals (the earlier on a tie); None on a day without any."""
    best = None
    for hour in sorted(arrivals_by_hour):
        n = arrivals_by_hour[hour]
        if n and (best is None or n > arrivals_by_hour[best]):
            best = hour
    return best


def punctuality(appointments: Iterable[tuple[str, datetime, datetime | None]], grace_s: float) -> dict:
    """How a period's appointments went, from (state, slot start, checked in at) each: ``booked``
    (all made for its days), checked in ``on_time`` (by the slot's start plus the grace time) or
    ``late`` (after it: they queued as walk-ins), ``no_show``, ``cancelled`` and ``pending`` (still
    booked: the slot is to come, or its grace time is not over). The rates are of the appointments
    that were due (checked in or no-show): ``on_time_rate``, ``no_show_rate``."""
    out = {"booked": 0, "on_time": 0, "late": 0, "no_show": 0, "cancelled": 0, "pending": 0}
    for state, slot_start, checked_in_at in appointments:
        out["booked"] += 1
        if state == "checked_in":
            late = checked_in_at is not None and (checked_in_at - slot_start).total_seconds() > grace_s
            out["late" if late else "on_time"] += 1
        elif state in ("no_show", "cancelled"):
            out[state] += 1
        else:
            out["pending"] += 1
    due = out["on_time"] + out["late"] + out["no_show"]
    rates = {
        "on_time_rate": out["on_time"] / due if due else None,
        "no_show_rate": out["no_show"] / due if due else None,
    }
    return {**out, **rates}


def combine(parts: Iterable[Counts]) -> Counts:
    total = Counts()
    for p in parts:
        total.merge(p)
    return total
