"""One budget per decision: what is left, and the step that found nothing left."""

from __future__ import annotations

import pytest

from scoring.domain.budget import DecisionBudget, DecisionTimedOut
from scoring.domain.errors import UnavailableError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_every_step_draws_from_the_one_budget():
    clock = Clock()
    budget = DecisionBudget(2.0, clock=clock)
    assert budget.check("reading") == pytest.approx(2.0)
    clock.now += 1.5
    assert budget.remaining() == pytest.approx(0.5)
    assert budget.check("storing") == pytest.approx(0.5)


def test_a_step_with_nothing_left_stops_the_decision_naming_the_step():
    clock = Clock()
    budget = DecisionBudget(1.0, clock=clock)
    clock.now += 1.0
    assert budget.remaining() == 0.0
    with pytest.raises(DecisionTimedOut) as caught:
        budget.check("storing the decision")
    assert isinstance(caught.value, UnavailableError), "answered 503"
    assert caught.value.code == "decision_timeout" and caught.value.step == "storing the decision"
    assert "nothing was stored" in caught.value.message


@pytest.mark.parametrize("seconds", [0, -1, float("nan")])
def test_a_budget_is_a_positive_number_of_seconds(seconds):
    with pytest.raises(ValueError, match="positive"):
        DecisionBudget(seconds)
