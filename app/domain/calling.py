"""Which waiting ticket a counter calls next: the hall's calling rule.

The rule, in full (it is also shown to managers, see ``CallingPolicy.describe``):

1. **Overdue first.** A ticket that has waited longer than its service's target
   wait is *overdue*. Overdue tickets are called before all others, oldest first.
   This is what keeps ordinary customers from starving behind a stream of VIPs.
2. **Priority as a head start.** Every other ticket is ordered by its *priority
   time* = the time it joined the queue minus the head start of its tier
   (e.g. VIP 15 minutes). A VIP therefore goes ahead of ordinary customers who
   arrived up to 15 minutes before it, and of nobody who arrived earlier.
3. **Ties** go to the ticket issued first, then the lower ticket id.

Consequences, which the property tests check:

- no ticket is overtaken by a non-overdue ticket that joined the queue more than
  ``max head start`` after it;
- once a ticket is overdue, only older overdue tickets go before it, so its wait is
  bounded by its target plus the time to serve the overdue tickets ahead of it;
- a transferred ticket keeps its original queue time, so it is not sent to the back.

Tickets transferred to one particular counter can only be called by that counter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .model import ServiceTargets, Tier, WaitingTicket

DEFAULT_HEAD_START_S: Mapping[Tier, int] = {
    Tier.ORDINARY: 0,
    Tier.STAR: 5 * 60,
    Tier.VIP: 15 * 60,
    Tier.GREEN: 20 * 60,
}


@dataclass(frozen=True)
class CallingPolicy:
    """A hall's calling rule settings; stored per hall as JSON."""

    head_start_s: Mapping[Tier, int] = field(default_factory=lambda: dict(DEFAULT_HEAD_START_S))
    overdue_overtakes: bool = True
    recalls_before_no_show: int = 1
    max_recalls: int = 3

    def head_start(self, tier: Tier) -> timedelta:
        return timedelta(seconds=self.head_start_s.get(Tier(tier), 0))

    @property
    def max_head_start(self) -> timedelta:
        return timedelta(seconds=max(self.head_start_s.values(), default=0))

    @classmethod
    def from_dict(cls, data: Mapping | None) -> CallingPolicy:
        """Build from stored JSON; missing keys take the defaults."""
        data = dict(data or {})
        head = dict(DEFAULT_HEAD_START_S)
        head.update({Tier(k): int(v) for k, v in (data.get("head_start_s") or {}).items()})
        return cls(
            head_start_s=head,
            overdue_overtakes=bool(data.get("overdue_overtakes", True)),
            recalls_before_no_show=int(data.get("recalls_before_no_show", 1)),
            max_recalls=int(data.get("max_recalls", 3)),
        )

    def to_dict(self) -> dict:
        return {
            "head_start_s": {Tier(k).value: v for k, v in self.head_start_s.items()},
            "overdue_overtakes": self.overdue_overtakes,
            "recalls_before_no_show": self.recalls_before_no_show,
            "max_recalls": self.max_recalls,
        }

    def validate(self) -> list[tuple[str, str]]:
        """Problems as (field, message); empty when the policy is usable."""
        problems = []
        for tier, seconds in self.head_start_s.items():
            if not 0 <= seconds <= 4 * 3600:
                problems.append((f"head_start_s.{Tier(tier).value}", "must be between 0 and 14400 seconds"))
        if not 0 <= self.recalls_before_no_show <= self.max_recalls:
            problems.append(("recalls_before_no_show", "must be between 0 and max_recalls"))
        if not 0 <= self.max_recalls <= 10:
            problems.append(("max_recalls", "must be between 0 and 10"))
        return problems

    def warnings(self) -> list[dict[str, str]]:
        """Settings that are allowed but probably not meant (zh-CN and en), said before saving."""
        out = []
        if self.head_start(Tier.STAR) > self.head_start(Tier.VIP):
            out.append(
                {
                    "zh": "星级客户的提前量大于 VIP：星级客户将排在 VIP 客户之前。请确认这是本厅的规定。",
                    "en": "Star customers get a larger head start than VIP customers: they will be called "
                    "ahead of VIP customers. Make sure this is your hall's rule.",
                }
            )
        return out

    def describe(self) -> dict[str, str]:
        """The rule in words, for managers (zh-CN and en)."""
        minutes = {t.value: round(self.head_start(t).total_seconds() / 60) for t in Tier}
        zh = (
            f"优先级以提前量计：星级客户提前 {minutes['star']} 分钟，VIP 提前 {minutes['vip']} 分钟，"
            f"绿色通道提前 {minutes['green']} 分钟；任何客户都不会被晚于自己 "
            f"{round(self.max_head_start.total_seconds() / 60)} 分钟以上取号的客户插队。"
        )
        en = (
            f"Priority is a head start: star {minutes['star']} min, VIP {minutes['vip']} min, "
            f"green channel {minutes['green']} min; nobody is overtaken by a customer who took a "
            f"ticket more than {round(self.max_head_start.total_seconds() / 60)} min later."
        )
        if self.overdue_overtakes:
            zh += "等待超过该业务目标时长的客户优先叫号，按取号先后。"
            en += " A ticket that has waited past its service's target wait is called first, oldest first."
        zh += f"过号前至少重呼 {self.recalls_before_no_show} 次，最多重呼 {self.max_recalls} 次。"
        en += (
            f" A ticket is recalled at least {self.recalls_before_no_show} time(s) before it can be"
            f" marked no-show, at most {self.max_recalls} times."
        )
        return {"zh": zh, "en": en}


def is_overdue(ticket: WaitingTicket, now: datetime, targets: ServiceTargets, policy: CallingPolicy) -> bool:
    """Has the ticket waited past its service's target wait?"""
    if not policy.overdue_overtakes:
        return False
    return (now - ticket.queued_at).total_seconds() > targets.target(ticket.service_id)


def priority_key(ticket: WaitingTicket, now: datetime, targets: ServiceTargets, policy: CallingPolicy) -> tuple:
    """Sort key: smaller is called sooner."""
    if is_overdue(ticket, now, targets, policy):
        return (0, ticket.queued_at, ticket.id)
    return (1, ticket.queued_at - policy.head_start(ticket.tier), ticket.queued_at, ticket.id)


def eligible(ticket: WaitingTicket, counter_id: int, service_ids: Iterable[int]) -> bool:
    """Can this counter call this ticket at all?"""
    if ticket.target_counter_id is not None:
        return ticket.target_counter_id == counter_id
    return ticket.service_id in service_ids


def calling_order(
    tickets: Iterable[WaitingTicket],
    counter_id: int,
    service_ids: Iterable[int],
    now: datetime,
    targets: ServiceTargets,
    policy: CallingPolicy,
) -> list[WaitingTicket]:
    """The waiting tickets this counter may call, in the order it should call them."""
    service_ids = frozenset(service_ids)
    mine = [t for t in tickets if eligible(t, counter_id, service_ids)]
    return sorted(mine, key=lambda t: priority_key(t, now, targets, policy))


def people_ahead(
    ticket: WaitingTicket,
    tickets: Iterable[WaitingTicket],
    now: datetime,
    targets: ServiceTargets,
    policy: CallingPolicy,
) -> int:
    """How many waiting tickets of the same service (or counter) come before this one now."""
    mine = priority_key(ticket, now, targets, policy)
    return sum(
        1
        for other in tickets
        if other.id != ticket.id
        and other.service_id == ticket.service_id
        and other.target_counter_id == ticket.target_counter_id
        and priority_key(other, now, targets, policy) < mine
    )


TIE_NONE, TIE_ALL, TIE_LOWER_ID = "none", "all", "lower_id"


def ahead_bounds(
    ticket: WaitingTicket, now: datetime, targets: ServiceTargets, policy: CallingPolicy
) -> dict[Tier, tuple[datetime, str]]:
    """``people_ahead`` as per-tier time bounds, so a database can count instead of sorting.

    For each tier T, ``(bound, tie)``: a waiting ticket of the same service (and target
    counter) and of tier T comes before ``ticket`` when it joined the queue before
    ``bound``; one that joined exactly at ``bound`` comes before it always (``all``),
    never (``none``) or if its id is lower (``lower_id``).
    """
    if is_overdue(ticket, now, targets, policy):
        # Only older overdue tickets go first; every older ticket of the same service is overdue.
        return {tier: (ticket.queued_at, TIE_LOWER_ID) for tier in Tier}
    mine = policy.head_start(ticket.tier)
    overdue_before = now - timedelta(seconds=targets.target(ticket.service_id))
    bounds = {}
    for tier in Tier:
        theirs = policy.head_start(tier)
        bound = ticket.queued_at - mine + theirs
        tie = TIE_ALL if theirs < mine else TIE_NONE if theirs > mine else TIE_LOWER_ID
        if policy.overdue_overtakes and overdue_before > bound:
            bound, tie = overdue_before, TIE_NONE  # waited exactly the target: not yet overdue
        bounds[tier] = (bound, tie)
    return bounds


def preview(
    policy: CallingPolicy,
    arrivals_per_hour: float | None,
    targets_s: Iterable[int],
    appointment_head_start_s: int | None = None,
) -> list[dict]:
    """What a calling rule means for the people in the queue, in numbers (zh, en), for the page
    where an administrator sets it: how many ordinary customers each priority tier may overtake at
    the hall's busy-hour arrival rate, and the longest anyone waits before the overdue rule puts
    them first. ``arrivals_per_hour``: None when the hall has no history yet.
    ``appointment_head_start_s``: the hall takes appointments, which queue as if they came this long
    before their slot (domain.appointments.queue_time), so they overtake like a tier's head start."""
    lines = []
    names = {
        Tier.STAR: ("星级客户", "A star customer"),
        Tier.VIP: ("VIP 客户", "A VIP"),
        Tier.GREEN: ("绿色通道客户", "A green-channel customer"),
    }
    for tier, (zh, en) in names.items():
        minutes = round(policy.head_start(tier).total_seconds() / 60)
        if minutes == 0:
            lines.append({"zh": f"{zh}不优先，按取号先后。", "en": f"{en} has no priority: first come, first served."})
        elif arrivals_per_hour:
            n = max(1, round(arrivals_per_hour * minutes / 60))
            lines.append(
                {
                    "zh": f"{zh}最多越过约 {n} 位普通客户（{minutes} 分钟内取号的客户，按繁忙时段每小时 {round(arrivals_per_hour)} 人计）。",
                    "en": f"{en} overtakes at most about {n} ordinary tickets (those taken in the {minutes} min "
                    f"before, at the busy hour's {round(arrivals_per_hour)} arrivals an hour).",
                }
            )
        else:
            lines.append(
                {
                    "zh": f"{zh}只越过在其前 {minutes} 分钟内取号的客户。",
                    "en": f"{en} overtakes only customers who took a ticket in the {minutes} min before.",
                }
            )
    if appointment_head_start_s is not None:
        minutes = round(appointment_head_start_s / 60)
        if arrivals_per_hour and minutes:
            n = max(1, round(arrivals_per_hour * minutes / 60))
            lines.append(
                {
                    "zh": f"预约客户按预约时段提前 {minutes} 分钟排队，最多越过约 {n} 位现场客户"
                    f"（预约时段开始前 {minutes} 分钟内到店的客户），且只占计划余量中允许预约的部分。",
                    "en": f"An appointment queues as if it came {minutes} min before its slot: it overtakes at "
                    f"most about {n} walk-ins (those who came in the {minutes} min before its slot), and "
                    f"bookings take only the bookable share of the plan's spare capacity.",
                }
            )
        else:
            lines.append(
                {
                    "zh": f"预约客户按预约时段提前 {minutes} 分钟排队，只越过在此之后到店的现场客户。",
                    "en": f"An appointment queues as if it came {minutes} min before its slot: it overtakes "
                    f"only walk-ins who came after that.",
                }
            )
    targets = sorted(set(targets_s))
    if policy.overdue_overtakes and targets:
        lo, hi = round(targets[0] / 60), round(targets[-1] / 60)
        span = f"{lo}" if lo == hi else f"{lo}–{hi}"
        lines.append(
            {
                "zh": f"等待超过业务目标时长（{span} 分钟）的客户不再被任何人插队，先到先叫。",
                "en": f"No ticket waits past its service's target ({span} min) behind anyone: overdue "
                f"tickets are called first, oldest first.",
            }
        )
    elif not policy.overdue_overtakes:
        lines.append(
            {
                "zh": "注意：未开启超时优先，普通客户在高峰时可能一再被优先客户越过。",
                "en": "Note: with the overdue rule off, ordinary customers can be overtaken again and again at peaks.",
            }
        )
    return lines
