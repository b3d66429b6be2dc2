"""Fakes shared by the bureau tests: a controllable clock and a scripted bureau."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx

from scoring.domain.personal_code import build

PERSON = build(date(1985, 6, 15), female=True, serial=42)


class FakeClock:
    """A monotonic clock that only moves when told to (or when something sleeps on it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedBureau:
    """An ``httpx.MockTransport`` handler that records requests and plays scripted answers.

    Each script item is an ``httpx.Response``, an exception to raise, or a callable taking
    the request; the last item repeats once the script is used up.
    """

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []
        self.on_call: Callable[[httpx.Request], None] | None = None

    @property
    def calls(self) -> int:
        return len(self.requests)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.on_call:
            self.on_call(request)
        step = self.script[min(len(self.requests), len(self.script)) - 1]
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            return step(request)
        return step

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def valid_answer(**overrides: Any) -> dict[str, Any]:
    """A well-formed bureau answer with the extra fields a real bureau adds."""
    answer = {
        "report_id": "CI-2024-000123",
        "requested_at": "2024-05-02T10:15:30.123456+00:00",
        "score": 742,
        "risk_class": "good",
        "pd_band_low": 0.02,
        "pd_band_high": 0.059,
        "open_default_count": 0,
        "closed_default_count": 1,
        "default_entries": [
            {
                "creditor_sector": "telecom",
                "amount_eur": 84.2,
                "started_on": "2021-04-01",
                "ended_on": "2021-07-15",
                "creditor_name": "Some Telecom AS",
                "case_number": "CASE-77",
            }
        ],
        "subject_personal_code": PERSON,
        "subject_name": "Mari Tamm",
        "subject_address": "Pikk 1, Tallinn",
        "bureau_internal_ref": "CI-INTERNAL-9",
    }
    answer.update(overrides)
    return answer
