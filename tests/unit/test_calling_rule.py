"""The calling rule, example by example."""
from datetime import datetime, timedelta, timezone

from app.domain.calling import CallingPolicy, calling_order, people_ahead
from app.domain.model import ServiceTargets, Tier, WaitingTicket

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
TARGETS = ServiceTargets({1: 600, 2: 1200})
POLICY = CallingPolicy()


def ticket(id, minute, tier=Tier.ORDINARY, service=1, counter=None):
    return WaitingTicket(id, service, tier, T0 + timedelta(minutes=minute), counter)


def order(tickets, now_minute, services=(1, 2), counter_id=9, policy=POLICY):
    return [t.id for t in calling_order(tickets, counter_id, services, T0 + timedelta(minutes=now_minute), TARGETS, policy)]


def test_ordinary_customers_are_called_first_come_first_served():
    assert order([ticket(2, 1), ticket(1, 0), ticket(3, 2)], 3) == [1, 2, 3]


def test_a_vip_goes_ahead_of_ordinary_customers_who_came_within_its_head_start():
    # VIP head start is 15 minutes: it passes the ticket from 5 minutes before it.
    assert order([ticket(1, 0), ticket(2, 5, Tier.VIP)], 6) == [2, 1]


def test_a_vip_does_not_pass_customers_who_came_earlier_than_its_head_start():
    # Service 2 has a 20 min target, so nobody is overdue at minute 17.
    assert order([ticket(1, 0, service=2), ticket(2, 16, Tier.VIP, service=2)], 17) == [1, 2]


def test_green_channel_goes_before_vip_who_came_at_the_same_time():
    assert order([ticket(1, 0, Tier.VIP), ticket(2, 0, Tier.GREEN), ticket(3, 0, Tier.STAR)], 1) == [2, 1, 3]


def test_an_overdue_ordinary_ticket_overtakes_every_priority_ticket():
    # Ticket 1 (target 10 min) has waited 11 minutes; the VIP and green tickets are fresh.
    assert order([ticket(1, 0), ticket(2, 10, Tier.VIP), ticket(3, 10, Tier.GREEN)], 11) == [1, 3, 2]


def test_overdue_tickets_go_oldest_first_whatever_their_tier():
    tickets = [ticket(1, 5, Tier.VIP), ticket(2, 0), ticket(3, 3, Tier.GREEN)]
    assert order(tickets, 30) == [2, 3, 1]


def test_the_overtaking_rule_can_be_switched_off():
    strict = CallingPolicy.from_dict({"overdue_overtakes": False})
    assert order([ticket(1, 0), ticket(2, 10, Tier.VIP)], 11, policy=strict) == [2, 1]


def test_a_counter_sees_only_its_services_and_tickets_sent_to_it():
    tickets = [ticket(1, 0, service=2), ticket(2, 1, service=1), ticket(3, 0, service=2, counter=9),
               ticket(4, 0, service=1, counter=8)]
    assert order(tickets, 2, services=(1,), counter_id=9) == [3, 2]


def test_people_ahead_counts_only_those_called_before_you_in_your_service():
    tickets = [ticket(1, 0), ticket(2, 1), ticket(3, 2, Tier.VIP), ticket(4, 0, service=2)]
    now = T0 + timedelta(minutes=3)
    assert people_ahead(tickets[1], tickets, now, TARGETS, POLICY) == 2  # ticket 1 and the VIP


def test_policy_round_trips_and_fills_missing_keys_with_defaults():
    policy = CallingPolicy.from_dict({"head_start_s": {"vip": 60}, "max_recalls": 2})
    assert policy.head_start(Tier.VIP) == timedelta(seconds=60)
    assert policy.head_start(Tier.GREEN) == timedelta(minutes=20)
    assert CallingPolicy.from_dict(policy.to_dict()) == policy


def test_policy_validation_names_the_bad_setting():
    assert CallingPolicy.from_dict({"recalls_before_no_show": 5, "max_recalls": 2}).validate()[0][0] == "recalls_before_no_show"
    assert CallingPolicy.from_dict({"head_start_s": {"vip": -1}}).validate()[0][0] == "head_start_s.vip"
    assert CallingPolicy().validate() == []


def test_the_rule_is_described_in_chinese_and_english_with_its_numbers():
    words = CallingPolicy().describe()
    assert "VIP 提前 15 分钟" in words["zh"] and "20 分钟" in words["zh"]
    assert "VIP 15 min" in words["en"] and "target wait" in words["en"]


def test_database_bounds_agree_with_sorting_on_exact_ties():
    from app.domain.calling import TIE_ALL, TIE_LOWER_ID, TIE_NONE, ahead_bounds

    policy = CallingPolicy.from_dict({"head_start_s": {"vip": 300}})
    me = ticket(5, 10, Tier.VIP, service=2)
    tickets = [me, ticket(1, 5, service=2), ticket(9, 10, Tier.VIP, service=2), ticket(2, 10, Tier.VIP, service=2)]
    now = T0 + timedelta(minutes=12)
    bounds = ahead_bounds(me, now, TARGETS, policy)
    assert bounds[Tier.ORDINARY] == (T0 + timedelta(minutes=5), TIE_ALL)  # same priority time, came earlier
    assert bounds[Tier.VIP] == (T0 + timedelta(minutes=10), TIE_LOWER_ID)  # same time, lower id first
    assert bounds[Tier.GREEN][1] == TIE_NONE
    assert people_ahead(me, tickets, now, TARGETS, policy) == 2  # ticket 1 and ticket 2


def test_the_preview_says_how_many_walk_ins_an_appointment_overtakes_when_the_hall_takes_appointments():
    from app.domain.calling import preview

    plain = preview(CallingPolicy(), 60, [600])
    lines = preview(CallingPolicy(), 60, [600], appointment_head_start_s=600)
    assert len(lines) == len(plain) + 1
    (line,) = [x for x in lines if x not in plain]
    assert "最多越过约 10 位现场客户" in line["zh"] and "at most about 10 walk-ins" in line["en"]
    (no_history,) = [x for x in preview(CallingPolicy(), None, [600], 600) if x not in preview(CallingPolicy(), None, [600])]
    assert "10 min before its slot" in no_history["en"]
