"""The bureau client against scripted transports: minimisation, deadlines, retries, breaker."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import UTC, date, datetime

import httpx
import pytest
from bureau_fakes import PERSON, FakeClock, ScriptedBureau, valid_answer

from scoring.bureau.breaker import CircuitBreaker
from scoring.bureau.client import (
    BureauCircuitOpen,
    BureauClient,
    BureauError,
    BureauMalformedAnswer,
    BureauRequestRejected,
    BureauUnavailable,
)
from scoring.domain.bureau import DefaultEntry
from scoring.domain.personal_code import InvalidPersonalCode

CONTRACT_FIELDS = {
    "report_id", "requested_at", "score", "risk_class", "pd_band_low", "pd_band_high",
    "open_default_count", "closed_default_count", "default_entries",
}  # fmt: skip
ENTRY_FIELDS = {"creditor_sector", "amount_eur", "started_on", "ended_on"}


def ok(payload: object | None = None) -> httpx.Response:
    return httpx.Response(200, json=valid_answer() if payload is None else payload)


def make_client(bureau: ScriptedBureau, clock: FakeClock | None = None, **options: object):
    clock = clock or FakeClock()
    defaults: dict[str, object] = {"clock": clock, "sleep": clock.sleep, "rng": random.Random(7)}
    defaults.update(options)
    return BureauClient("http://bureau.test", transport=bureau.transport(), **defaults)


def test_success_keeps_only_the_contract_fields() -> None:
    bureau = ScriptedBureau(ok())
    report = make_client(bureau).fetch_report(PERSON)

    stored = report.to_dict()
    assert set(stored) == CONTRACT_FIELDS
    assert all(set(entry) == ENTRY_FIELDS for entry in stored["default_entries"])
    text = repr(report) + json.dumps(stored)
    for dropped in ("Mari Tamm", "Pikk 1", "CI-INTERNAL-9", "Some Telecom", "CASE-77", PERSON):
        assert dropped not in text
    assert report.requested_at == datetime(2024, 5, 2, 10, 15, 30, 123456, tzinfo=UTC)
    assert report.default_entries == (
        DefaultEntry("telecom", 84.2, date(2021, 4, 1), date(2021, 7, 15)),
    )
    assert (report.score, report.risk_class, report.closed_default_count) == (742, "good", 1)


def test_person_travels_in_the_body_never_in_the_url() -> None:
    bureau = ScriptedBureau(ok())
    make_client(bureau).fetch_report(PERSON, purpose="instalment_application")

    request = bureau.requests[0]
    assert request.method == "POST" and request.url.path == "/v1/reports"
    assert PERSON not in str(request.url)
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "personal_code": PERSON,
        "purpose": "instalment_application",
    }


def test_invalid_code_is_refused_before_anything_is_sent() -> None:
    bureau = ScriptedBureau(ok())
    bad = PERSON[:-1] + str((int(PERSON[-1]) + 1) % 10)
    with pytest.raises(InvalidPersonalCode) as caught:
        make_client(bureau).fetch_report(bad)
    assert bad not in str(caught.value)
    assert bureau.calls == 0


def _slow_bureau(request: httpx.Request) -> httpx.Response:
    # Behaves like a socket that never answers: waits out the read timeout it was given.
    time.sleep(request.extensions["timeout"]["read"])
    raise httpx.ReadTimeout("timed out", request=request)


def test_timeout_is_unavailable_within_the_overall_budget() -> None:
    bureau = ScriptedBureau(_slow_bureau)
    client = BureauClient(
        "http://bureau.test",
        transport=bureau.transport(),
        timeout_s=0.04,
        overall_budget_s=0.1,
        max_attempts=5,
    )
    started = time.monotonic()
    with pytest.raises(BureauUnavailable) as caught:
        client.fetch_report(PERSON)
    elapsed = time.monotonic() - started

    assert caught.value.reason in {"timeout", "budget_exhausted"}
    assert elapsed < 0.1 + 0.05
    assert 2 <= bureau.calls <= 3
    timeouts = [r.extensions["timeout"]["read"] for r in bureau.requests]
    assert timeouts[0] == pytest.approx(0.04) and all(t <= 0.04 for t in timeouts)


def test_retries_are_bounded_and_backed_off_within_the_bound(clock: FakeClock) -> None:
    bureau = ScriptedBureau(httpx.Response(503))
    client = make_client(bureau, clock, max_attempts=3, backoff_s=0.02, overall_budget_s=5.0)
    with pytest.raises(BureauUnavailable) as caught:
        client.fetch_report(PERSON)

    assert caught.value.reason == "server_error" and caught.value.status_code == 503
    assert bureau.calls == 3
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 0.02 and 0 <= clock.sleeps[1] <= 0.04
    assert client.stats.snapshot() == {
        "attempts": {"server_error": 3},
        "outcomes": {"unavailable": 1},
    }


def test_a_retry_that_succeeds_returns_the_report(clock: FakeClock) -> None:
    bureau = ScriptedBureau(httpx.ConnectError("refused"), httpx.Response(502), ok())
    report = make_client(bureau, clock, max_attempts=3).fetch_report(PERSON)
    assert report.report_id == "CI-2024-000123"
    assert bureau.calls == 3


def test_no_retry_when_the_budget_cannot_hold_another_attempt(clock: FakeClock) -> None:
    bureau = ScriptedBureau(httpx.Response(503))
    bureau.on_call = lambda request: clock.advance(0.29)
    client = make_client(bureau, clock, overall_budget_s=0.3, max_attempts=4)
    with pytest.raises(BureauUnavailable):
        client.fetch_report(PERSON)
    assert bureau.calls == 1


def test_throttling_is_unavailability_and_is_retried(clock: FakeClock) -> None:
    bureau = ScriptedBureau(httpx.Response(429), ok())
    assert make_client(bureau, clock).fetch_report(PERSON).score == 742
    assert bureau.calls == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_rejected_request_is_not_retried(clock: FakeClock, status: int) -> None:
    bureau = ScriptedBureau(httpx.Response(status, json={"detail": f"echo {PERSON}"}))
    client = make_client(bureau, clock, max_attempts=3)
    with pytest.raises(BureauRequestRejected) as caught:
        client.fetch_report(PERSON)
    assert caught.value.status_code == status
    assert PERSON not in str(caught.value)
    assert bureau.calls == 1
    assert client.breaker.state == "closed"


@pytest.mark.parametrize(
    ("response", "named"),
    [
        (httpx.Response(200, content=b'{"report_id": "R-1", "score": '), "not valid JSON"),
        (httpx.Response(200, content=b"<html>busy</html>"), "not valid JSON"),
        (ok([1, 2]), "JSON object"),
        (ok(valid_answer(score="742")), "'score' must be an integer, got text"),
        (ok(valid_answer(score=True)), "'score' must be an integer, got boolean"),
        (ok(valid_answer(score=742.0)), "'score' must be an integer"),
        (ok(valid_answer(score=1742)), "score"),
        (ok(valid_answer(pd_band_low="0.02")), "'pd_band_low' must be a number"),
        (ok(valid_answer(open_default_count=None)), "'open_default_count' must be an integer"),
        (ok(valid_answer(risk_class="excellent")), "'risk_class' is not one of: very_good"),
        (ok(valid_answer(risk_class=["good"])), "'risk_class' must be a text, got list"),
        (ok({k: v for k, v in valid_answer().items() if k != "risk_class"}), "'risk_class'"),
        (ok(valid_answer(requested_at="yesterday")), "'requested_at' is not an ISO timestamp"),
        (ok(valid_answer(requested_at="2024-05-02T10:15:30")), "has no timezone"),
        (ok(valid_answer(default_entries={})), "'default_entries' must be a list"),
        (ok(valid_answer(default_entries=["x"])), "default_entries[0]"),
        (
            ok(
                valid_answer(
                    default_entries=[
                        {
                            "creditor_sector": "x",
                            "amount_eur": 1,
                            "started_on": "2021-13-01",
                            "ended_on": None,
                        }
                    ]
                )
            ),
            "default_entries[0].started_on",
        ),  # fmt: skip
        (
            ok(
                valid_answer(
                    default_entries=[
                        {"creditor_sector": "x", "amount_eur": 1, "started_on": "2021-01-01"}
                    ]
                )
            ),
            "default_entries[0].ended_on' is missing",
        ),  # fmt: skip
        (httpx.Response(204), "unexpected HTTP 204"),
    ],
)
def test_a_malformed_answer_is_refused_naming_the_field(
    clock: FakeClock, response: httpx.Response, named: str
) -> None:
    bureau = ScriptedBureau(response)
    client = make_client(bureau, clock, max_attempts=3)
    with pytest.raises(BureauMalformedAnswer) as caught:
        client.fetch_report(PERSON)
    assert named in str(caught.value)
    assert bureau.calls == 1
    assert client.stats.outcomes["malformed"] == 1


def test_circuit_opens_rejects_fast_half_opens_and_closes(clock: FakeClock) -> None:
    bureau = ScriptedBureau(httpx.Response(503))
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=10.0, clock=clock)
    client = make_client(bureau, clock, breaker=breaker, max_attempts=1)

    for _ in range(3):
        with pytest.raises(BureauUnavailable):
            client.fetch_report(PERSON)
    assert breaker.state == "open" and bureau.calls == 3

    with pytest.raises(BureauCircuitOpen) as caught:
        client.fetch_report(PERSON)
    assert caught.value.reason == "circuit_open"
    assert bureau.calls == 3, "an open circuit must not call the bureau"

    clock.advance(9.9)
    assert breaker.state == "open"
    clock.advance(0.1)
    assert breaker.state == "half_open"

    bureau.script = [ok()]
    bureau.requests.clear()
    assert client.fetch_report(PERSON).score == 742
    assert breaker.state == "closed" and bureau.calls == 1
    assert client.stats.outcomes == {"unavailable": 3, "circuit_open": 1, "ok": 1}


def test_a_failed_probe_opens_the_circuit_again(clock: FakeClock) -> None:
    bureau = ScriptedBureau(httpx.Response(503))
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=5.0, clock=clock)
    client = make_client(bureau, clock, breaker=breaker, max_attempts=1)
    with pytest.raises(BureauUnavailable):
        client.fetch_report(PERSON)
    clock.advance(5.0)
    with pytest.raises(BureauUnavailable) as caught:
        client.fetch_report(PERSON)  # the half-open probe
    assert not isinstance(caught.value, BureauCircuitOpen)
    assert breaker.state == "open" and breaker.times_opened == 2
    with pytest.raises(BureauCircuitOpen):
        client.fetch_report(PERSON)
    assert bureau.calls == 2


def test_half_open_admits_one_probe_at_a_time(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=1.0, clock=clock)
    assert breaker.allow()
    breaker.record_failure()
    clock.advance(1.0)
    assert breaker.allow() is True
    assert breaker.allow() is False, "a second caller waits for the probe's result"
    breaker.record_success()
    assert breaker.allow() and breaker.state == "closed"


def test_breaker_counts_failures_exactly_under_concurrency(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=400, cooldown_s=1.0, clock=clock)

    def fail_many() -> None:
        for _ in range(50):
            if breaker.allow():
                breaker.record_failure()

    threads = [threading.Thread(target=fail_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.state == "open" and breaker.times_opened == 1


def test_breaker_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)


def test_personal_code_never_reaches_logs_or_errors(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echoing = httpx.Response(422, json={"detail": f"bad code {PERSON}"})
    script = [
        httpx.ConnectError(f"cannot reach for {PERSON}"),
        httpx.ReadTimeout(f"timed out for {PERSON}"),
        httpx.Response(503, text=PERSON),
        echoing,
        httpx.Response(200, content=f'{{"subject": "{PERSON}", "score": '.encode()),
        ok(valid_answer(score=PERSON)),
        ok(),
    ]
    breaker = CircuitBreaker(failure_threshold=100, clock=clock)
    errors: list[BaseException] = []
    for step in script:
        client = make_client(ScriptedBureau(step), clock, breaker=breaker, max_attempts=2)
        try:
            client.fetch_report(PERSON)
        except BureauError as exc:
            errors.append(exc)
    assert len(errors) == 6
    assert caplog.records, "failures are logged"
    assert PERSON not in caplog.text
    for error in errors:
        chain = [error, error.__cause__, error.__context__]
        assert all(PERSON not in repr(e) and PERSON not in str(e) for e in chain if e)


def test_client_validates_its_settings() -> None:
    with pytest.raises(ValueError, match="base_url"):
        BureauClient("bureau.test")
    with pytest.raises(ValueError, match="max_attempts"):
        BureauClient("http://bureau.test", max_attempts=0)


@pytest.mark.parametrize("status", [401, 403])
def test_a_bureau_refusing_every_query_opens_the_circuit(clock: FakeClock, status: int) -> None:
    bureau = ScriptedBureau(*[httpx.Response(status)] * 5)
    breaker = CircuitBreaker(failure_threshold=5, cooldown_s=5.0, clock=clock)
    client = make_client(bureau, clock, breaker=breaker)
    for _ in range(5):
        with pytest.raises(BureauRequestRejected):
            client.fetch_report(PERSON)
    assert breaker.state == "open"
    with pytest.raises(BureauCircuitOpen):
        client.fetch_report(PERSON)
    assert bureau.calls == 5, "an open circuit does not call the bureau"


def _entry(**overrides: object) -> dict[str, object]:
    entry = {"creditor_sector": "telecom", "amount_eur": 84.2, "started_on": "2021-04-01",
             "ended_on": None}  # fmt: skip
    entry.update(overrides)
    return entry


# Each answer passes the type checks but breaks a length or range of the bureau_report
# contract (data_contracts/contracts/bureau_report.odcs.yaml), or names another person.
CONTRACT_BREACHES = [
    pytest.param(valid_answer(report_id="R" * 80), "report_id:length", id="report-id-80"),
    pytest.param(valid_answer(report_id="R" * 65), "report_id:length", id="report-id-65"),
    pytest.param(
        valid_answer(default_entries=[_entry(creditor_sector="s" * 60)]),
        "default_entries.creditor_sector:length",
        id="sector-60",
    ),  # fmt: skip
    pytest.param(
        valid_answer(default_entries=[_entry(amount_eur=2e10)]),
        "default_entries.amount_eur:range",
        id="amount-2e10",
    ),  # fmt: skip
    pytest.param(
        valid_answer(default_entries=[_entry(amount_eur=-1)]),
        "default_entries.amount_eur:range",
        id="amount-negative",
    ),  # fmt: skip
    pytest.param(
        valid_answer(open_default_count=3_000_000_000), "open_default_count:range", id="count-3e9"
    ),
    pytest.param(
        valid_answer(closed_default_count=-1), "closed_default_count:range", id="count-negative"
    ),
    pytest.param(valid_answer(score=1001), "score:range", id="score-1001"),
    pytest.param(valid_answer(pd_band_high=1.5), "pd_band_high:range", id="band-1.5"),
    pytest.param(
        valid_answer(default_entries=[_entry()] * 201), "default_entries:length", id="entries-201"
    ),
    pytest.param(
        valid_answer(subject_personal_code="49403136526"),
        "subject:another_person",
        id="another-person",
    ),  # fmt: skip
]


@pytest.mark.parametrize(("answer", "rule"), CONTRACT_BREACHES)
def test_an_answer_outside_the_contract_is_refused_naming_the_rule(
    clock: FakeClock, caplog: pytest.LogCaptureFixture, answer: dict, rule: str
) -> None:
    caplog.set_level(logging.INFO)
    bureau = ScriptedBureau(ok(answer))
    breaker = CircuitBreaker(failure_threshold=1, clock=clock)
    client = make_client(bureau, clock, breaker=breaker, max_attempts=3)
    with pytest.raises(BureauMalformedAnswer) as caught:
        client.fetch_report(PERSON)
    assert caught.value.rule == rule
    assert bureau.calls == 1, "a refused answer is not asked again"
    assert breaker.state == "open", "a refused answer counts against the breaker"
    assert client.stats.refusals_snapshot() == {rule: 1}
    assert client.stats.outcomes["malformed"] == 1
    assert f"rule {rule}" in caplog.text
    assert PERSON not in caplog.text and "49403136526" not in caplog.text
    for value in ("R" * 65, "s" * 60):
        assert value not in caplog.text and value not in str(caught.value)


def test_answers_at_the_contract_limits_are_kept(clock: FakeClock) -> None:
    answer = valid_answer(
        report_id="R" * 64, open_default_count=1000, closed_default_count=0, score=1000,
        default_entries=[_entry(creditor_sector="s" * 32, amount_eur=100_000_000)] * 200,
    )  # fmt: skip
    report = make_client(ScriptedBureau(ok(answer)), clock).fetch_report(PERSON)
    assert report.report_id == "R" * 64
    assert len(report.default_entries) == 200


def test_a_report_refused_after_it_was_returned_counts_against_the_breaker(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, clock=clock)
    client = make_client(ScriptedBureau(ok()), clock, breaker=breaker)
    client.fetch_report(PERSON)
    client.report_refused("report_id:another_person", "the report id is another person's")
    assert breaker.state == "open"
    assert client.stats.refusals_snapshot() == {"report_id:another_person": 1}
    assert "rule report_id:another_person" in caplog.text


def test_a_caller_with_less_time_left_shortens_the_call(clock: FakeClock) -> None:
    bureau = ScriptedBureau(ok())
    client = make_client(bureau, clock, overall_budget_s=0.3)
    assert client.fetch_report(PERSON, budget_s=0.1).score == 742
    with pytest.raises(BureauUnavailable) as caught:
        client.fetch_report(PERSON, budget_s=0.0)
    assert caught.value.reason == "budget_exhausted"
    assert bureau.calls == 1, "with no time left the bureau is not asked"
    assert client.breaker.state == "closed", "the caller's lack of time is not the bureau's fault"
