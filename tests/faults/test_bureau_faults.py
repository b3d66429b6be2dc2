"""A misbehaving bureau never stops checkout: refer, never decline, and the breaker protects.

The API runs as ``installment serve`` in its own process and the bureau simulator in
another; faults are switched at run time through the simulator's ``/admin/faults``. The
API's bureau client waits at most 0.3 s per query and opens its circuit after five
failed queries in a row for a five-second cool-down.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fault_load import Answer, Checkout, application, run_concurrently
from fault_processes import ApiProcess, issue_key, start_api

from scoring.bureau.simulator import run_simulator

pytestmark = pytest.mark.slow

HEALTHY = {"latency_ms": 0, "failure_rate": 0.0, "malformed_rate": 0.0, "down": False}
FAILURE_THRESHOLD = 5  # the breaker's default in the running service
COOLDOWN_S = 5.0
CLIENT_TIMEOUT_S = 0.2  # one attempt; the whole query has 0.3 s
UNAVAILABLE = "S01_BUREAU_UNAVAILABLE"


@dataclass
class Stack:
    api: ApiProcess
    bureau_url: str
    checkout: Checkout
    http: httpx.Client
    numbers: Iterator[int]

    def faults(self, **changes: object) -> None:
        answer = httpx.post(f"{self.bureau_url}/admin/faults", json=changes, timeout=5.0)
        assert answer.status_code == 200, answer.text

    def decide(self) -> Answer:
        body = application(next(self.numbers), prefix="BUR")
        return self.checkout.post(
            self.http, self.api.base_url, body, key=f"key-{body['application_id']}"
        )

    def calls(self, outcome: str) -> float:
        return self.api.metric("installment_bureau_calls_total", outcome=outcome)


@pytest.fixture(scope="module")
def stack(serving_home, tmp_path_factory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("bureau-faults")
    database_url = f"sqlite:///{folder / 'installment.db'}"
    key = issue_key(database_url)
    with run_simulator(serving_home.world) as bureau_url, httpx.Client(timeout=10.0) as http:
        api = start_api(
            home=serving_home.home, database_url=database_url, bureau_url=bureau_url,
            log=folder / "api.log",
        )  # fmt: skip
        try:
            yield Stack(api, bureau_url, Checkout(key), http, itertools.count(1))
        finally:
            api.stop()


@pytest.fixture
def healthy(stack: Stack) -> Stack:
    """The bureau healed and the breaker closed again (the probe after the cool-down)."""
    stack.faults(**HEALTHY)
    deadline = time.monotonic() + COOLDOWN_S + 15
    while time.monotonic() < deadline:
        answer = stack.decide()
        assert answer.status == 201, answer.body
        if UNAVAILABLE not in answer.reason_codes:
            return stack
        time.sleep(0.5)
    pytest.fail("the breaker did not close within the cool-down after the bureau healed")


@pytest.fixture(autouse=True)
def no_server_errors(stack: Stack) -> Iterator[None]:
    yield
    assert not [a for a in stack.checkout.answers if a.status >= 500 or a.status == 0]


def assert_referred_for_the_bureau(answer: Answer) -> None:
    assert answer.status == 201, answer.body
    assert answer.body["outcome"] == "refer"
    assert answer.reason_codes == [UNAVAILABLE]
    assert answer.body["probability_of_default"] is None and answer.body["model"] is None


@pytest.mark.parametrize(
    ("fault", "attempt_result"),
    [
        pytest.param({"latency_ms": 1500}, "timeout", id="slow"),
        pytest.param({"failure_rate": 1.0}, "server_error", id="failing"),
        pytest.param({"malformed_rate": 1.0}, "malformed", id="malformed"),
    ],
)
def test_a_bureau_fault_refers_and_opens_the_circuit(healthy: Stack, fault, attempt_result):
    stack = healthy
    attempts_before = stack.api.metric("installment_bureau_attempts_total", result=attempt_result)
    open_before = stack.calls("circuit_open")
    stack.faults(**fault)

    failing = [stack.decide() for _ in range(FAILURE_THRESHOLD)]
    for answer in failing:
        assert_referred_for_the_bureau(answer)
    assert stack.api.metric("installment_bureau_attempts_total", result=attempt_result) >= (
        attempts_before + FAILURE_THRESHOLD
    )
    if attempt_result == "timeout":
        assert min(a.seconds for a in failing) >= CLIENT_TIMEOUT_S

    # The circuit is open: the bureau is not asked and the refer comes without any wait.
    fast = [stack.decide() for _ in range(6)]
    for answer in fast:
        assert_referred_for_the_bureau(answer)
    assert stack.calls("circuit_open") == open_before + len(fast)
    assert statistics.median(a.seconds for a in fast) < CLIENT_TIMEOUT_S


def test_a_flapping_bureau_never_causes_a_decline_and_the_circuit_closes_after(healthy: Stack):
    stack = healthy
    open_before = stack.calls("circuit_open")
    stop = threading.Event()

    def flap() -> None:
        down = True
        while not stop.is_set():
            stack.faults(down=down)
            down = not down
            stop.wait(0.4)

    flapper = threading.Thread(target=flap)
    flapper.start()
    ends = time.monotonic() + 6.0

    def shopper() -> list[Answer]:
        seen = []
        while time.monotonic() < ends:
            seen.append(stack.decide())
        return seen

    try:
        answers = [a for batch in run_concurrently([shopper] * 4, workers=4) for a in batch]
    finally:
        stop.set()
        flapper.join(timeout=10)
    assert answers and {a.status for a in answers} == {201}
    without_bureau = [a for a in answers if UNAVAILABLE in a.reason_codes]
    with_bureau = [a for a in answers if UNAVAILABLE not in a.reason_codes]
    assert without_bureau and with_bureau
    for answer in without_bureau:
        assert_referred_for_the_bureau(answer)
    for answer in with_bureau:
        assert answer.body["probability_of_default"] is not None
    assert stack.calls("circuit_open") > open_before

    # The bureau recovers: after the cool-down one probe closes the circuit for good.
    stack.faults(**HEALTHY)
    time.sleep(COOLDOWN_S + 0.5)
    open_after_recovery = stack.calls("circuit_open")
    ok_before = stack.calls("ok")
    recovered = [stack.decide() for _ in range(8)]
    assert all(UNAVAILABLE not in a.reason_codes for a in recovered)
    assert {a.status for a in recovered} == {201}
    assert stack.calls("ok") == ok_before + len(recovered)
    assert stack.calls("circuit_open") == open_after_recovery
