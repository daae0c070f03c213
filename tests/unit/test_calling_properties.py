"""Properties of the calling rule, over random queues and random days."""
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from app.domain.calling import CallingPolicy, calling_order, is_overdue
from app.domain.model import ServiceTargets, Tier, WaitingTicket

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
TARGETS = ServiceTargets({1: 600, 2: 1200, 3: 300})
policies = st.builds(
    CallingPolicy.from_dict,
    st.fixed_dictionaries({
        "head_start_s": st.fixed_dictionaries({t.value: st.integers(0, 3600) for t in Tier}),
        "overdue_overtakes": st.booleans(),
    }),
)


@st.composite
def queues(draw):
    n = draw(st.integers(1, 40))
    return [
        WaitingTicket(i, draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from(list(Tier))),
                      T0 + timedelta(seconds=draw(st.integers(0, 7200))))
        for i in range(n)
    ]


@given(queues(), policies, st.integers(0, 10800))
def test_nobody_is_overtaken_by_a_fresh_ticket_issued_more_than_the_largest_head_start_later(tickets, policy, now_s):
    now = T0 + timedelta(seconds=7200 + now_s)
    order = calling_order(tickets, 1, {1, 2, 3}, now, TARGETS, policy)
    for i, earlier in enumerate(order):
        if is_overdue(earlier, now, TARGETS, policy):
            continue
        for later in order[i + 1:]:
            assert earlier.queued_at <= later.queued_at + policy.max_head_start


@given(queues(), policies, st.integers(0, 10800))
def test_overdue_tickets_come_first_oldest_first(tickets, policy, now_s):
    now = T0 + timedelta(seconds=7200 + now_s)
    order = calling_order(tickets, 1, {1, 2, 3}, now, TARGETS, policy)
    overdue = [is_overdue(t, now, TARGETS, policy) for t in order]
    assert overdue == sorted(overdue, reverse=True)  # all overdue ones before the rest
    firsts = [t.queued_at for t, late in zip(order, overdue) if late]
    assert firsts == sorted(firsts)


def simulate(arrivals, service_s, counters, policy):
    """One hall, ``counters`` identical counters serving service 1; returns {id: (issued, called)}."""
    waiting, calls, free_at = [], {}, [T0] * counters
    pending = sorted(arrivals, key=lambda t: t.queued_at)
    while pending or waiting:
        c = min(range(counters), key=lambda k: free_at[k])
        now = free_at[c]
        while pending and pending[0].queued_at <= now:
            waiting.append(pending.pop(0))
        if not waiting:
            free_at[c] = pending[0].queued_at
            continue
        chosen = calling_order(waiting, c, {1}, now, TARGETS, policy)[0]
        waiting.remove(chosen)
        assert chosen.id not in calls, "a ticket was called twice"
        calls[chosen.id] = (chosen.queued_at, now)
        free_at[c] = now + timedelta(seconds=service_s)
    return calls


@settings(max_examples=60, deadline=None)
@given(
    ordinary=st.lists(st.integers(0, 3600), min_size=1, max_size=15),
    vip_gap_s=st.integers(20, 120),
    service_s=st.integers(60, 300),
    counters=st.integers(1, 3),
)
def test_ordinary_customers_are_served_within_target_even_under_a_flood_of_vips(ordinary, vip_gap_s, service_s, counters):
    """VIPs arrive faster than the counters can serve, for two hours; ordinary tickets still get called.

    Bound: once a ticket is overdue only older overdue tickets go first, so it waits at most
    its target plus the service of everybody issued before it (shared among the counters)
    plus one service in progress.
    """
    policy = CallingPolicy()
    vips = [WaitingTicket(1000 + i, 1, Tier.VIP, T0 + timedelta(seconds=i * vip_gap_s)) for i in range(7200 // vip_gap_s)]
    plain = [WaitingTicket(i, 1, Tier.ORDINARY, T0 + timedelta(seconds=s)) for i, s in enumerate(ordinary)]
    calls = simulate(plain + vips, service_s, counters, policy)
    assert len(calls) == len(plain) + len(vips)  # everybody served exactly once
    everyone = plain + vips
    for t in plain:
        issued, called = calls[t.id]
        older = sum(1 for o in everyone if o.queued_at < t.queued_at or (o.queued_at == t.queued_at and o.id < t.id))
        bound = TARGETS.target(1) + service_s * (older / counters + 1) + service_s
        assert (called - issued).total_seconds() <= bound


def ahead_by_bounds(me, tickets, bounds):
    from app.domain.calling import TIE_ALL, TIE_LOWER_ID

    def before(t):
        bound, tie = bounds[t.tier]
        if t.queued_at != bound:
            return t.queued_at < bound
        return tie == TIE_ALL or (tie == TIE_LOWER_ID and t.id < me.id)

    return sum(1 for t in tickets if t.id != me.id and t.service_id == me.service_id and before(t))


@st.composite
def coarse_queues(draw):
    """Minute-granular times, so that ties of every kind happen often."""
    n = draw(st.integers(1, 30))
    return [
        WaitingTicket(i, draw(st.sampled_from([1, 3])), draw(st.sampled_from(list(Tier))),
                      T0 + timedelta(minutes=draw(st.integers(0, 60))))
        for i in range(n)
    ]


@given(st.one_of(queues(), coarse_queues()), policies, st.integers(0, 180), st.data())
def test_counting_by_tier_bounds_gives_the_same_people_ahead_as_sorting(tickets, policy, now_min, data):
    from app.domain.calling import ahead_bounds, people_ahead

    now = T0 + timedelta(minutes=now_min)
    policy = data.draw(st.sampled_from([policy, CallingPolicy.from_dict({"head_start_s": {"vip": 300, "star": 300}})]))
    me = data.draw(st.sampled_from(tickets))
    bounds = ahead_bounds(me, now, TARGETS, policy)
    assert ahead_by_bounds(me, tickets, bounds) == people_ahead(me, tickets, now, TARGETS, policy)


@st.composite
def walk_ins_and_appointments(draw):
    """Appointments (30-minute slots) checked in from the moment check-in opens to well past their
    grace time, queued by domain.appointments.queue_time, and walk-ins arriving over two hours,
    half of them within a minute or so of an appointment's place in line; ids shuffled (who was
    issued first is drawn too); now: a while after someone came, so that few are overdue."""
    from app.domain.appointments import BookingRules, queue_time

    rules = BookingRules(enabled=True, head_start_minutes=draw(st.sampled_from([0, 5, 10, 30])))
    head_start = timedelta(minutes=rules.head_start_minutes)
    near = st.sampled_from([-61, -60, -59, -30, -1, 0, 1, 30, 59, 60, 61])
    n, m = draw(st.integers(1, 25)), draw(st.integers(1, 10))
    ids = draw(st.permutations(range(n + m)))
    appointments = {}
    for k in range(m):
        slot = T0 + timedelta(minutes=30 * draw(st.integers(0, 6)))
        check_in = slot + timedelta(seconds=draw(st.integers(-rules.early_minutes * 60, 1800)))
        ticket = WaitingTicket(ids[n + k], draw(st.sampled_from([1, 2])), Tier.ORDINARY,
                               queue_time(check_in, slot, rules))
        appointments[ticket.id] = (ticket, slot, check_in)
    slots = sorted({slot for _, slot, _ in appointments.values()})
    walk_ins = []
    for i in range(n):
        if draw(st.booleans()):
            came = draw(st.sampled_from(slots)) - head_start + timedelta(seconds=draw(near))
        else:
            came = T0 + timedelta(seconds=draw(st.integers(0, 7200)))
        walk_ins.append(WaitingTicket(ids[i], draw(st.sampled_from([1, 2])), Tier.ORDINARY, came))
    moments = [w.queued_at for w in walk_ins] + [check_in for _, _, check_in in appointments.values()]
    now = draw(st.sampled_from(moments)) + timedelta(seconds=draw(st.integers(0, 900)))
    return rules, walk_ins, appointments, now


@settings(max_examples=300)
@given(walk_ins_and_appointments())
def test_no_walk_in_is_overtaken_by_an_appointment_whose_slot_starts_more_than_the_head_start_after_it_came(drawn):
    rules, walk_ins, appointments, now = drawn
    head_start = timedelta(minutes=rules.head_start_minutes)
    present = ([w for w in walk_ins if w.queued_at <= now]
               + [t for t, _, check_in in appointments.values() if check_in <= now])
    policy = CallingPolicy()
    order = calling_order(present, 1, {1, 2}, now, TARGETS, policy)
    assert sorted(t.id for t in order) == sorted(t.id for t in present)
    for i, ticket in enumerate(order):
        if ticket.id in appointments or is_overdue(ticket, now, TARGETS, policy):
            continue
        for ahead in order[:i]:
            if ahead.id not in appointments:
                continue
            if ahead.service_id != ticket.service_id and is_overdue(ahead, now, TARGETS, policy):
                continue  # overdue first (rule 1), by its own service's target, as for walk-ins
            _, slot, _ = appointments[ahead.id]
            assert slot <= ticket.queued_at + head_start, (ahead, slot, ticket)
