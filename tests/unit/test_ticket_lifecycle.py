"""The ticket life cycle: which steps are allowed from which state."""
import pytest
from hypothesis import given, strategies as st

from app.domain.errors import IllegalTransition
from app.domain.model import Action, TicketState, next_state, ticket_label


def test_a_ticket_goes_from_waiting_through_the_counter_to_finished():
    state = TicketState.WAITING
    for action in (Action.CALL, Action.RECALL, Action.START, Action.FINISH):
        state = next_state(state, action)
    assert state is TicketState.FINISHED


def test_finishing_a_ticket_that_was_never_called_is_refused():
    with pytest.raises(IllegalTransition) as refused:
        next_state(TicketState.WAITING, Action.FINISH)
    assert "waiting" in refused.value.message


def test_a_transfer_puts_the_ticket_back_in_the_queue():
    assert next_state(TicketState.SERVING, Action.TRANSFER) is TicketState.WAITING
    assert next_state(TicketState.CALLED, Action.TRANSFER) is TicketState.WAITING


@pytest.mark.parametrize("closed", [TicketState.FINISHED, TicketState.NO_SHOW, TicketState.CANCELLED])
@pytest.mark.parametrize("action", list(Action))
def test_nothing_happens_to_a_closed_ticket(closed, action):
    with pytest.raises(IllegalTransition):
        next_state(closed, action)


def test_only_a_waiting_ticket_can_be_cancelled_by_the_customer():
    assert next_state(TicketState.WAITING, Action.CANCEL) is TicketState.CANCELLED
    with pytest.raises(IllegalTransition):
        next_state(TicketState.CALLED, Action.CANCEL)


@given(st.lists(st.sampled_from([a for a in Action if a is not Action.ISSUE]), max_size=40))
def test_no_ticket_is_ever_served_twice(actions):
    """Whatever staff press, in any order, a ticket is finished at most once and never after closing."""
    state, finishes = TicketState.WAITING, 0
    for action in actions:
        try:
            state = next_state(state, action)
        except IllegalTransition:
            continue
        finishes += action is Action.FINISH
    assert finishes <= 1


def test_labels_have_three_digits_then_grow():
    assert ticket_label("A", 7) == "A007"
    assert ticket_label("B", 123) == "B123"
    assert ticket_label("C", 1000) == "C1000"


def test_the_consoles_buttons_follow_the_state_machine():
    from app.domain.model import actions_at_counter

    assert actions_at_counter("called") == ["recall", "start", "finish", "no-show", "transfer"]
    assert actions_at_counter(TicketState.SERVING) == ["finish", "transfer"]
    assert actions_at_counter("waiting") == [] and actions_at_counter("finished") == []
