"""The decision API as the sales system uses it, and every way a request can be wrong."""

from __future__ import annotations

import json
import logging

import pytest
from api_requests import CODE, WRONG_CHECK_DIGIT, body, issue_key
from sqlalchemy import func, select

from scoring.service.model_provider import StaticModelProvider
from scoring.storage import tables as t


def stored(runtime) -> dict[str, int]:
    with runtime.sessions() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table))
            for table in (t.Application, t.Decision, t.DecisionLogEntry, t.Customer,
                          t.IdempotencyRecord, t.BureauReport)
        }  # fmt: skip


def test_a_decision_is_answered_with_its_explanation_and_can_be_fetched_again(api, auth):
    answer = api.post("/v1/decisions", json=body(), headers=auth)
    assert answer.status_code == 201, answer.text
    decision = answer.json()
    assert decision["outcome"] == "approve" and decision["automated"] is True
    assert set(decision) == {
        "decision_id", "application_id", "outcome", "probability_of_default", "risk_grade",
        "reasons", "policy_rules", "counterfactual", "automated", "model", "policy_version",
        "contract_versions", "decided_at", "contest", "letter", "state", "review",
        "superseded_by", "supersedes", "notice",
    }  # fmt: skip
    assert decision["contest"]["url"] == (
        f"http://testserver/v1/decisions/{decision['decision_id']}/contest"
    )
    assert decision["state"] == "decided" and decision["review"] is None
    # Approvals too carry the notice that the assessment was automated (R22).
    assert "decided by automated means" in decision["notice"]["en"]
    assert "automatiseeritult" in decision["notice"]["et"]
    assert answer.headers["Location"] == f"/v1/decisions/{decision['decision_id']}"

    fetched = api.get(f"/v1/decisions/{decision['decision_id']}", headers=auth)
    assert fetched.status_code == 200 and fetched.json() == decision


def test_a_decline_carries_the_letter_in_both_languages(api, auth):
    answer = api.post(
        "/v1/decisions",
        json=body(
            purchase={"amount_eur": 3900, "term_months": 6, "product_category": "electronics"}
        ),
        headers=auth,
    )
    decision = answer.json()
    assert decision["outcome"] == "decline"
    assert decision["counterfactual"]["suggested"]["term_months"] == 36
    assert "Creditinfo Eesti AS" in decision["letter"]["en"]
    assert "Otsus" in decision["letter"]["et"] or "otsus" in decision["letter"]["et"]


def test_idempotent_retry_and_key_reuse_with_another_body(api, auth, runtime):
    headers = {**auth, "Idempotency-Key": "checkout-42"}
    first = api.post("/v1/decisions", json=body(), headers=headers)
    counts = stored(runtime)
    retry = api.post("/v1/decisions", json=body(), headers=headers)
    assert retry.status_code == 200 and retry.json() == first.json()

    other = api.post("/v1/decisions", json=body(channel="store"), headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert other.json()["error"]["field"] == "Idempotency-Key"
    assert stored(runtime) == counts


def test_a_client_cannot_see_another_clients_decision(api, auth, runtime):
    decision_id = api.post("/v1/decisions", json=body(), headers=auth).json()["decision_id"]
    stranger = {"Authorization": f"Bearer {issue_key(runtime, client='other-shop')}"}
    answer = api.get(f"/v1/decisions/{decision_id}", headers=stranger)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "decision_not_found"
    assert api.get("/v1/decisions/no-such-id", headers=auth).status_code == 404


def _purchase(**changes):
    purchase = {"amount_eur": 500.0, "term_months": 12, "product_category": "electronics"}
    purchase.update(changes)
    return body(purchase=purchase)


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        (_purchase(amount_eur=-5), 422, "invalid_request", "purchase.amount_eur"),
        (_purchase(amount_eur=1e9), 422, "invalid_request", "purchase.amount_eur"),
        (_purchase(amount_eur="500"), 422, "invalid_request", "purchase.amount_eur"),
        (_purchase(term_months=2), 422, "invalid_request", "purchase.term_months"),
        (_purchase(term_months=240), 422, "invalid_request", "purchase.term_months"),
        (_purchase(product_category="car"), 422, "invalid_request", "purchase.product_category"),
        (body(personal_code=WRONG_CHECK_DIGIT), 422, "invalid_request", "personal_code"),
        (body(personal_code="12345"), 422, "invalid_request", "personal_code"),
        (body(loyalty_tier="gold"), 422, "invalid_request", "loyalty_tier"),
        ({"personal_code": CODE}, 422, "invalid_request", "application_id"),
        ([body()], 422, "invalid_request", None),
    ],
)
def test_bad_input_gets_its_4xx_naming_the_field_and_stores_nothing(
    api, auth, runtime, payload, status, code, field
):
    before = stored(runtime)
    answer = api.post("/v1/decisions", json=payload, headers=auth)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["code"] == code and error.get("field") == field
    assert CODE not in answer.text and WRONG_CHECK_DIGIT not in answer.text
    assert stored(runtime) == before


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b'{"application_id": "APP-1",', {"Content-Type": "application/json"}, 400,
         "malformed_json"),
        (b"application_id=APP-1", {"Content-Type": "application/x-www-form-urlencoded"}, 415,
         "unsupported_media_type"),
        (b"{}" + b" " * 70_000, {"Content-Type": "application/json"}, 413, "payload_too_large"),
    ],
)  # fmt: skip
def test_malformed_foreign_or_huge_bodies_are_refused(api, auth, runtime, content, headers,
                                                       status, code):  # fmt: skip
    before = stored(runtime)
    answer = api.post("/v1/decisions", content=content, headers={**auth, **headers})
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert stored(runtime) == before


def test_missing_wrong_and_revoked_keys_are_401_and_a_missing_scope_is_403(api, runtime, key):
    from scoring.service.api_keys import revoke_api_key
    from scoring.storage.db import UnitOfWork

    assert api.post("/v1/decisions", json=body()).status_code == 401
    wrong = api.post("/v1/decisions", json=body(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthenticated"
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    basic = api.post("/v1/decisions", json=body(), headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401

    reader = issue_key(runtime, client="reporting", scopes=("decisions:read",))
    refused = api.post("/v1/decisions", json=body(), headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403 and "decisions:write" in refused.json()["error"]["message"]

    revoke_api_key(uow=UnitOfWork(runtime.sessions), prefix=key.split("_")[1])
    revoked = api.post("/v1/decisions", json=body(), headers={"Authorization": f"Bearer {key}"})
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]
    assert stored(runtime)["decisions"] == 0


def test_no_champion_means_503_with_a_reason_and_not_ready(api, auth, runtime):
    runtime.models = StaticModelProvider(None)
    answer = api.post("/v1/decisions", json=body(), headers=auth)
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "no_champion_model"
    ready = api.get("/readyz")
    assert ready.status_code == 503 and "no champion model" in ready.json()["error"]["message"]
    assert stored(runtime)["decisions"] == 0


def test_ready_when_database_and_champion_are_there(api):
    answer = api.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["champion"] == {"name": "installment-pd", "version": "1"}


def test_an_unavailable_database_is_503_and_no_decision_is_returned(api, auth, runtime):
    from scoring.storage.db import create_engine_for, session_factory

    down = create_engine_for("postgresql+psycopg://postgres@127.0.0.1:1/none")
    runtime.sessions = session_factory(down)
    runtime.engine = down
    answer = api.post("/v1/decisions", json=body(), headers=auth)
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "database_unavailable"
    assert api.get("/readyz").status_code == 503


def test_a_failure_while_storing_returns_503_and_leaves_nothing(api, auth, runtime):
    from sqlalchemy import text

    with runtime.engine.begin() as connection:
        connection.execute(text("DROP TABLE decision_inputs"))
    answer = api.post("/v1/decisions", json=body(), headers=auth)
    assert answer.status_code == 503 and "nothing was stored" in answer.json()["error"]["message"]
    assert stored(runtime)["decisions"] == 0 and stored(runtime)["applications"] == 0


def test_metrics_count_decisions_by_outcome_latency_and_bureau(api, auth, runtime):
    api.post("/v1/decisions", json=body(), headers=auth)
    runtime.bureau.failure = "unavailable"
    api.post("/v1/decisions", json=body(application_id="APP-0002"), headers=auth)
    text = api.get("/metrics").text
    assert 'installment_decisions_total{outcome="approve"} 1.0' in text
    assert 'installment_decisions_total{outcome="refer"} 1.0' in text
    assert "installment_decision_seconds_bucket" in text
    assert "installment_challenger_disagreements_total" in text
    assert "installment_bureau_calls_total" in text


def test_no_log_line_of_a_full_request_holds_the_personal_code(api, auth, runtime, caplog):
    runtime.bureau.failure = "malformed"
    with caplog.at_level(logging.DEBUG):
        api.post("/v1/decisions", json=body(), headers=auth)
        api.post("/v1/decisions", json=body(personal_code=WRONG_CHECK_DIGIT), headers=auth)
        api.post("/v1/decisions", content=b"{" + CODE.encode(), headers={
            **auth, "Content-Type": "application/json"})  # fmt: skip
    assert caplog.records
    for record in caplog.records:
        assert CODE not in record.getMessage() and WRONG_CHECK_DIGIT not in record.getMessage()


def test_the_openapi_document_shows_the_contract_request_and_the_public_answer(api):
    document = api.get("/openapi.json").json()
    operation = document["paths"]["/v1/decisions"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DecisionRequest"
    )
    schemas = document["components"]["schemas"]
    assert schemas["DecisionRequest"]["properties"]["personal_code"]["x-personal-data"] is True
    assert {"409", "422", "503"} <= set(operation["responses"])
    assert "DecisionPublic" in schemas and "ErrorBody" in schemas
    json.dumps(document)


def test_an_unreachable_database_is_named_by_cause_without_its_address(api, auth, runtime):
    from scoring.storage.db import create_engine_for, session_factory

    down = create_engine_for("postgresql+psycopg://postgres@127.0.0.1:1/none")
    runtime.sessions = session_factory(down)
    runtime.engine = down
    answer = api.post("/v1/decisions", json=body(), headers=auth)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    message = answer.json()["error"]["message"]
    assert "refused the connection" in message and "127.0.0.1" not in message
    ready = api.get("/readyz")
    assert ready.status_code == 503
    assert "(connection_refused)" in ready.json()["error"]["message"]
