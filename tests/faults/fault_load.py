"""The sales system as a load generator: applications, idempotent retries, every answer kept."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from scoring.domain import personal_code

BIRTH_DAY_ZERO = date(1961, 3, 1)


def applicant_code(n: int) -> str:
    """The ``n``-th of many distinct valid personal codes of adults nobody knows yet."""
    born = BIRTH_DAY_ZERO + timedelta(days=n // 1000)
    return personal_code.build(born, female=n % 2 == 0, serial=n % 1000)


def application(n: int, *, prefix: str, amount: float = 600.0) -> dict[str, Any]:
    """A small electronics plan of a new applicant: only the bureau and the model can decline."""
    return {
        "application_id": f"{prefix}-{n:06d}",
        "personal_code": applicant_code(n),
        "purchase": {"amount_eur": amount, "term_months": 12, "product_category": "electronics"},
        "channel": "web",
    }


@dataclass(frozen=True)
class Answer:
    """One HTTP exchange: status (0 when no answer came), body, and when it ended."""

    application_id: str
    status: int
    body: dict[str, Any] | None
    seconds: float
    ended_at: float

    @property
    def decision_id(self) -> str | None:
        return (self.body or {}).get("decision_id")

    @property
    def reason_codes(self) -> list[str]:
        return [r["code"] for r in (self.body or {}).get("reasons", [])]


@dataclass
class Checkout:
    """Posts applications with an Idempotency-Key per application and records every answer."""

    key: str
    timeout_s: float = 10.0
    answers: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, http: httpx.Client, base_url: str, body: dict[str, Any], *, key: str) -> Answer:
        headers = {"Authorization": f"Bearer {self.key}", "Idempotency-Key": key}
        began = time.perf_counter()
        try:
            response = http.post(f"{base_url}/v1/decisions", json=body, headers=headers)
            status = response.status_code
            payload = response.json() if response.content else None
        except httpx.HTTPError:
            status, payload = 0, None
        answer = Answer(
            body["application_id"], status, payload, time.perf_counter() - began, time.monotonic()
        )
        with self._lock:
            self.answers.append(answer)
        return answer

    def until_stored(
        self,
        http: httpx.Client,
        base_url: str,
        body: dict[str, Any],
        *,
        deadline: float,
        pause_s: float = 0.1,
    ) -> Answer:
        """Retry the application with its one key after 503s and lost answers until decided."""
        key = f"key-{body['application_id']}"
        while True:
            answer = self.post(http, base_url, body, key=key)
            if answer.status in (200, 201) or time.monotonic() > deadline:
                return answer
            if answer.status not in (0, 503):
                return answer
            time.sleep(pause_s)

    def statuses(self) -> Counter[int]:
        with self._lock:
            return Counter(a.status for a in self.answers)


def run_concurrently(
    jobs: Sequence[Callable[[], Any]], *, workers: int, timeout_s: float = 120.0
) -> list[Any]:
    """Run the jobs on ``workers`` threads; their results in order, any failure raised."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(job) for job in jobs]
        return [future.result(timeout=timeout_s) for future in futures]
