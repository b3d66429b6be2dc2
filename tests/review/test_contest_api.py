"""The contest API: 201 with the review id and due date; 404, 409 and 422 change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from scoring.api.app import create_app
from scoring.config import load_settings
from scoring.service import reviews
from scoring.service.api_keys import create_api_key
from scoring.service.policy_files import policy_for_version
from scoring.service.runtime import Runtime
from scoring.storage.db import session_factory
from scoring.storage.tables import AuditLogEntry, ReviewCase

# What the customer's letter says of the outcome (the justification stays internal).
EXPLAIN_ET = "Teie maksete ajalugu ei toeta seda järelmaksu."
EXPLAIN_EN = "Your payment history does not support this plan."

# The API's behaviour does not depend on the database; the service tests cover both.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

WHY = "Bank statements show both invoices were paid on their due dates."


@pytest.fixture
def api(migrated_engine, clock, tmp_path, uow_factory):
    runtime = Runtime(
        settings=load_settings({"INSTALLMENT_HOME": str(tmp_path)}),
        engine=migrated_engine,
        sessions=session_factory(migrated_engine),
        bureau=None,
        models=None,
        policy=policy_for_version("2026.11.1"),
        pseudonym_key=b"k" * 32,
        clock=clock,
    )
    with TestClient(create_app(runtime)) as client:
        yield client


def key(uow_factory, clock, client="sales-system", scopes=("reviews:write", "reviews:read")):
    issued = create_api_key(uow=uow_factory(), client=client, scopes=scopes, clock=clock)
    return {"Authorization": f"Bearer {issued.key}"}


def counts(uow_factory):
    with uow_factory() as uow:
        return (
            uow.session.scalar(select(func.count()).select_from(ReviewCase)),
            uow.session.scalar(select(func.count()).select_from(AuditLogEntry)),
        )


def test_contest_answers_201_with_the_review_id_and_due_date(
    api, uow_factory, clock, make_decision
):
    decision_id = make_decision()
    answer = api.post(
        f"/v1/decisions/{decision_id}/contest",
        json={
            "statement": "I paid on time; the bank delayed the transfer.",
            "attachments": [
                {"name": "statement.pdf", "content_type": "application/pdf", "size_bytes": 48213}
            ],
        },
        headers=key(uow_factory, clock),
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["decision_id"] == decision_id
    assert body["due_on"] == "2027-03-01"
    assert answer.headers["Location"] == f"/v1/reviews/{body['review_id']}"


def test_refused_contests_answer_404_409_422_and_store_nothing(
    api, uow_factory, clock, make_decision
):
    headers = key(uow_factory, clock)
    contested, other = make_decision(), make_decision()
    late = make_decision(decided_at=clock() - timedelta(days=120))
    foreign = make_decision(client_id="another-shop")
    ok = api.post(
        f"/v1/decisions/{contested}/contest", json={"statement": "Wrong."}, headers=headers
    )
    assert ok.status_code == 201
    before = counts(uow_factory)

    def post(decision_id, body):
        return api.post(f"/v1/decisions/{decision_id}/contest", json=body, headers=headers)

    cases = [
        (post("unknown-id", {"statement": "Wrong."}), 404, "decision_not_found"),
        (post(foreign, {"statement": "Wrong."}), 404, "decision_not_found"),
        (post(contested, {"statement": "Again."}), 409, "already_contested"),
        (post(late, {"statement": "Wrong."}), 409, "not_contestable"),
        (post(other, {"statement": "   "}), 422, "invalid_contest"),
        (post(other, {}), 422, "invalid_request"),
        (post(other, {"statement": "x", "name": "Mari"}), 422, "invalid_request"),
        (
            post(other, {"statement": "x", "attachments": [{"name": "a", "content_type": "pdf"}]}),
            422,
            "invalid_request",
        ),
    ]
    for answer, status, code in cases:
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    assert counts(uow_factory) == before


def test_a_key_without_the_reviews_scope_is_refused(api, uow_factory, clock, make_decision):
    headers = key(uow_factory, clock, scopes=("decisions:read",))
    answer = api.post(
        f"/v1/decisions/{make_decision()}/contest", json={"statement": "x"}, headers=headers
    )
    assert answer.status_code == 403
    assert api.post("/v1/decisions/x/contest", json={"statement": "x"}).status_code == 401


def test_polling_shows_status_then_outcome_and_letters(
    api, uow_factory, clock, make_decision, people
):
    headers = key(uow_factory, clock)
    created = api.post(
        f"/v1/decisions/{make_decision()}/contest", json={"statement": "Wrong."}, headers=headers
    ).json()
    review_id = created["review_id"]
    first = api.get(f"/v1/reviews/{review_id}", headers=headers).json()
    assert (first["status"], first["outcome"], first["letter"]) == ("open", None, None)

    reviews.claim_next_case(uow=uow_factory(), reviewer=people.anna, clock=clock)
    reviews.decide_case(
        uow=uow_factory(),
        case_id=review_id,
        reviewer=people.anna,
        outcome="upheld",
        justification=WHY,
        customer_explanation_et=EXPLAIN_ET,
        customer_explanation_en=EXPLAIN_EN,
        clock=clock,
    )
    done = api.get(f"/v1/reviews/{review_id}", headers=headers).json()
    assert (done["status"], done["outcome"], done["resulting_outcome"]) == (
        "resolved",
        "upheld",
        "decline",
    )
    # The letters quote the explanation written for the customer, never the justification.
    assert WHY not in done["letter"]["en"] and WHY not in done["letter"]["et"]
    assert EXPLAIN_EN in done["letter"]["en"] and EXPLAIN_ET in done["letter"]["et"]
    assert EXPLAIN_EN not in done["letter"]["et"]
    assert "decided by a person" in done["letter"]["en"]

    stranger = key(uow_factory, clock, client="another-shop")
    assert api.get(f"/v1/reviews/{review_id}", headers=stranger).status_code == 404
    assert api.get("/v1/reviews/unknown", headers=headers).status_code == 404
