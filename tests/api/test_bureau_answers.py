"""A bureau answer that breaks the report contract refers the application on both databases.

The API runs on the real bureau client over a scripted transport (no network), on SQLite
and on PostgreSQL. Each answer below passes the client's type checks but breaks a length
or range of the bureau_report contract, names another person, or reuses a report id the
bureau gave for someone else. Each must give 201 with a refer for S01_BUREAU_UNAVAILABLE,
store nothing of the report, and count against the breaker; never 422 or 500.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import httpx
import pytest
from api_requests import CODE, body, issue_key
from fastapi.testclient import TestClient
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parents[1] / "bureau"))

from bureau_fakes import valid_answer  # noqa: E402

from scoring.bureau.breaker import CircuitBreaker  # noqa: E402
from scoring.bureau.client import BureauClient  # noqa: E402

OTHER_PERSON = "49403136526"
UNAVAILABLE = "S01_BUREAU_UNAVAILABLE"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


class Scripted:
    """A valid answer about the person asked, with the fields of ``changes`` changed."""

    def __init__(self) -> None:
        self.changes: dict = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        asked = json.loads(request.content)["personal_code"]
        answer = {**valid_answer(), "subject_personal_code": asked, **self.changes}
        return httpx.Response(200, json=answer)


@pytest.fixture
def bureau() -> Scripted:
    return Scripted()


@pytest.fixture
def client_and_runtime(runtime, bureau: Scripted):
    from scoring.api.app import create_app

    runtime.bureau = BureauClient(
        "http://bureau.test", transport=httpx.MockTransport(bureau),
        breaker=CircuitBreaker(failure_threshold=100),
    )  # fmt: skip
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client, runtime
    runtime.bureau.close()


def _entry(**overrides: object) -> dict:
    entry = {"creditor_sector": "telecom", "amount_eur": 84.2, "started_on": "2021-04-01",
             "ended_on": None}  # fmt: skip
    return {**entry, **overrides}


BREACHES = {
    "report-id-80-characters": {"report_id": "R" * 80},
    "creditor-sector-60-characters": {"default_entries": [_entry(creditor_sector="s" * 60)]},
    "amount-2e10": {"default_entries": [_entry(amount_eur=2e10)]},
    "count-3e9": {"open_default_count": 3_000_000_000},
    "closed-count-3e9": {"closed_default_count": 3_000_000_000},
    "another-persons-subject": {"subject_personal_code": OTHER_PERSON},
}


def _stored_reports(runtime) -> int:
    with runtime.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM bureau_reports")).scalar_one()


@pytest.mark.parametrize("breach", list(BREACHES))
def test_an_answer_outside_the_contract_refers_and_keeps_nothing_of_it(
    client_and_runtime, bureau: Scripted, breach: str, caplog: pytest.LogCaptureFixture
) -> None:
    client, runtime = client_and_runtime
    auth = {"Authorization": f"Bearer {issue_key(runtime)}"}
    bureau.changes = BREACHES[breach]
    caplog.set_level(logging.INFO)
    answer = client.post("/v1/decisions", json=body(), headers=auth)
    assert answer.status_code == 201, answer.text
    decision = answer.json()
    assert decision["outcome"] == "refer"
    assert UNAVAILABLE in [reason["code"] for reason in decision["reasons"]]
    assert _stored_reports(runtime) == 0
    assert runtime.bureau.stats.outcomes["malformed"] == 1
    assert "bureau report refused (rule " in caplog.text
    assert CODE not in caplog.text and OTHER_PERSON not in caplog.text


def test_a_report_id_given_before_for_another_person_refers_the_second(
    client_and_runtime, bureau: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    client, runtime = client_and_runtime
    auth = {"Authorization": f"Bearer {issue_key(runtime)}"}
    bureau.changes = {"report_id": "CI-SHARED-1"}
    first = client.post("/v1/decisions", json=body(), headers=auth)
    assert first.status_code == 201, first.text
    assert first.json()["outcome"] != "refer"
    caplog.set_level(logging.INFO)
    second = client.post(
        "/v1/decisions",
        json=body(application_id="APP-0002", personal_code=OTHER_PERSON),
        headers=auth,
    )
    assert second.status_code == 201, second.text
    assert second.json()["outcome"] == "refer"
    assert UNAVAILABLE in [reason["code"] for reason in second.json()["reasons"]]
    assert _stored_reports(runtime) == 1, "the first person's report only"
    assert runtime.bureau.stats.refusals_snapshot() == {"report_id:another_person": 1}
    assert "rule report_id:another_person" in caplog.text
    assert OTHER_PERSON not in caplog.text and CODE not in caplog.text
    # The same report id for the same person again (a second application) is kept as it is.
    again = client.post("/v1/decisions", json=body(application_id="APP-0003"), headers=auth)
    assert again.status_code == 201 and again.json()["outcome"] != "refer", again.text


def test_refusals_are_counted_by_rule_in_the_metrics(client_and_runtime, bureau: Scripted):
    client, runtime = client_and_runtime
    auth = {"Authorization": f"Bearer {issue_key(runtime)}"}
    bureau.changes = BREACHES["amount-2e10"]
    assert client.post("/v1/decisions", json=body(), headers=auth).status_code == 201
    metrics = client.get("/metrics").text
    assert (
        'installment_bureau_report_refusals_total{rule="default_entries.amount_eur:range"} 1.0'
        in metrics
    )
    assert 'installment_bureau_calls_total{outcome="malformed"} 1.0' in metrics
