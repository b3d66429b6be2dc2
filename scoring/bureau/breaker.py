"""A thread-safe circuit breaker: stop calling a failing dependency, probe it after a cool-down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["CircuitBreaker", "CircuitState"]

CircuitState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Closed, open or half-open, counting consecutive failed calls.

    Closed: every call passes; ``failure_threshold`` consecutive failures open the circuit.
    Open: calls are refused until ``cooldown_s`` has passed, then the circuit half-opens.
    Half-open: one probe call at a time passes; its success closes the circuit, its failure
    opens it for another cool-down. Every call that ``allow()`` admits must be followed by
    exactly one ``record_success()`` or ``record_failure()``.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cooldown_s < 0:
            raise ValueError("cooldown_s must not be negative")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state: CircuitState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False
        self.times_opened = 0

    @property
    def state(self) -> CircuitState:
        """The current state, moving open to half-open once the cool-down has passed."""
        with self._lock:
            self._advance()
            return self._state

    def allow(self) -> bool:
        """Admit a call now (True) or refuse it because the circuit is open (False)."""
        with self._lock:
            self._advance()
            if self._state == "closed":
                return True
            if self._state == "half_open" and not self._probe_in_flight:
                self._probe_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        """An admitted call succeeded: close the circuit and forget earlier failures."""
        with self._lock:
            self._state = "closed"
            self._failures = 0
            self._probe_in_flight = False

    def record_failure(self) -> None:
        """An admitted call failed: count it, opening the circuit at the threshold."""
        with self._lock:
            if self._state == "open":
                return  # a call admitted before another one opened the circuit
            self._failures += 1
            if self._state == "half_open" or self._failures >= self.failure_threshold:
                self._open()

    def _open(self) -> None:
        self.times_opened += 1
        self._state = "open"
        self._opened_at = self._clock()
        self._probe_in_flight = False

    def _advance(self) -> None:
        if self._state == "open" and self._clock() - self._opened_at >= self.cooldown_s:
            self._state = "half_open"
            self._probe_in_flight = False
