"""One time budget per decision, which every step (bureau, database, model) draws from.

A decision that cannot finish in its budget is answered, not waited for: the bureau gets
at most what is left (its own cap is smaller), a writer waits for its turn at most what is
left, and a step that finds nothing left stops the decision with ``DecisionTimedOut``
before anything is stored. Standard library only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from scoring.domain.errors import UnavailableError

__all__ = ["DEFAULT_DECISION_BUDGET_S", "DecisionBudget", "DecisionTimedOut"]

# A decision takes milliseconds; this only bounds the waits of a sick dependency.
DEFAULT_DECISION_BUDGET_S = 5.0


class DecisionTimedOut(UnavailableError):
    """The decision's time budget ran out before it was stored; nothing was stored."""

    code = "decision_timeout"

    def __init__(self, message: str, *, step: str) -> None:
        super().__init__(message)
        self.step = step


class DecisionBudget:
    """Seconds left of one decision's budget, by a monotonic clock."""

    def __init__(
        self,
        seconds: float = DEFAULT_DECISION_BUDGET_S,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not seconds > 0:
            raise ValueError("a decision budget must be a positive number of seconds")
        self.seconds = seconds
        self._clock = clock
        self._deadline = clock() + seconds

    def remaining(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self._deadline - self._clock())

    def check(self, step: str) -> float:
        """The seconds left for ``step``; ``DecisionTimedOut`` naming it when none are."""
        left = self._deadline - self._clock()
        if left <= 0:
            raise DecisionTimedOut(
                f"the decision did not finish within its {self.seconds:g} s budget "
                f"(no time was left for {step}); nothing was stored, retry with the same "
                "Idempotency-Key",
                step=step,
            )
        return left
