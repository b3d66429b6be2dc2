"""No personal identification code in any log line or any answer, across a full flow.

Codes travel in request bodies (and, from careless clients, in URLs and field names);
the service turns them into pseudonyms at once. Every log record of every logger and
every response body of the flow below is searched for each code that was sent.
"""

from __future__ import annotations

import logging

import pytest
from privacy.identity_channels import new_channel

from scoring.domain import personal_code

CODES = [
    personal_code.build(__import__("datetime").date(1980, 1, 8), female=False, serial=571),
    personal_code.build(__import__("datetime").date(1991, 6, 30), female=True, serial=12),
]
WRONG_CHECK_DIGIT = CODES[0][:10] + str((int(CODES[0][10]) + 1) % 10)


def decision_body(code: str, application_id: str, **extra):  # type: ignore[no-untyped-def]
    return {
        "application_id": application_id,
        "personal_code": code,
        "purchase": {"amount_eur": 500.0, "term_months": 12, "product_category": "electronics"},
        "channel": "web",
        **extra,
    }


@pytest.fixture
def auth(key_with) -> dict[str, str]:  # type: ignore[no-untyped-def]
    scopes = ["decisions:write", "decisions:read", "reviews:write", "reviews:read"]
    return {"Authorization": f"Bearer {key_with(*scopes, 'subjects:write')}"}


def test_a_full_flow_logs_and_answers_no_personal_code(api, auth, runtime, caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    answers = []

    def send(method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
        response = api.request(method, path, headers=auth, **kwargs)
        answers.append((method, path, response.status_code, response.text))
        return response

    approved = send("POST", "/v1/decisions", json=decision_body(CODES[0], "APP-1001"))
    assert approved.status_code == 201, approved.text
    decision_id = approved.json()["decision_id"]
    runtime.bureau.risk_class, runtime.bureau.open_defaults = "poor", 2
    declined = send("POST", "/v1/decisions", json=decision_body(CODES[1], "APP-1002"))
    assert declined.status_code == 201, declined.text
    assert declined.json()["letter"], "a decline or refer carries the customer's letter"
    review = decision_body(CODES[1], "APP-1003", human_review_requested=True)
    assert send("POST", "/v1/decisions", json=review).status_code == 201
    send("GET", f"/v1/decisions/{decision_id}")
    contest_path = f"/v1/decisions/{declined.json()['decision_id']}/contest"
    contested = send("POST", contest_path, json={"statement": "My income has risen since."})
    assert contested.status_code == 201, contested.text
    send("GET", f"/v1/reviews/{contested.json()['review_id']}")

    # Refused requests: a wrong check digit, a code as a field name, in a URL, or as the
    # value of another field.
    refused = [
        ("POST", "/v1/decisions", decision_body(WRONG_CHECK_DIGIT, "APP-1004"), 422),
        ("POST", "/v1/decisions", {**decision_body(CODES[0], "APP-1005"), CODES[1]: "x"}, 422),
        ("POST", "/v1/decisions", decision_body(CODES[0], "APP-1006", channel=CODES[1]), 422),
        ("GET", f"/v1/decisions/{CODES[0]}", None, 404),
        ("GET", f"/v1/reviews/{CODES[0]}", None, 404),
        ("POST", "/v1/decisions/X-1/contest", {"statement": "x", CODES[0]: 1}, 422),
    ]
    for kind in ("access", "objection", "erasure"):
        path = f"/v1/subjects/{kind}"
        refused += [
            ("POST", path, {"personal_code": WRONG_CHECK_DIGIT}, 422),
            ("POST", path, {"personal_code": CODES[1], CODES[0]: 1}, 422),
            ("POST", path, {"personal_code": CODES[0][:10]}, 422),
        ]
    for method, path, body, status in refused:
        assert send(method, path, json=body).status_code == status, (method, path)
    channel = new_channel(runtime.engine, "sales-smartid", "sales", now=runtime.clock.now)

    def proven(code: str, kind: str) -> dict[str, str]:
        assertion = channel.assertion(code, kind, now=runtime.clock.now)
        return {"personal_code": code, "identity_assertion": assertion}

    # A refused proof: another person's code in the assertion.
    wrong_person = {**proven(CODES[1], "access"), "personal_code": CODES[0]}
    assert send("POST", "/v1/subjects/access", json=wrong_person).status_code == 403
    for kind in ("access", "objection", "erasure"):
        assert send("POST", f"/v1/subjects/{kind}", json=proven(CODES[0], kind)).is_success
    html = send("POST", "/v1/subjects/access?format=html", json=proven(CODES[1], "access"))
    assert html.status_code == 200

    secrets = [*CODES, WRONG_CHECK_DIGIT]
    for record in caplog.records:
        if record.name == "httpx" and "http://localhost/" in record.getMessage():
            continue  # the test client's own request line, holding the URLs it was told to use
        line = record.getMessage() + repr(record.args) + (record.exc_text or "")
        assert not [c for c in secrets if c in line], f"a code in the log: {record.name}"
    for method, path, status, text in answers:
        assert not [c for c in secrets if c in text], f"a code in the answer to {method} {path}"
        assert status < 500, f"{method} {path} answered {status}"


def test_a_database_failure_logs_no_personal_code(api, auth, runtime, caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    from scoring.storage.db import create_engine_for, session_factory

    broken = create_engine_for("sqlite:////nonexistent/folder/installment.db")
    runtime.sessions = session_factory(broken)
    response = api.post("/v1/decisions", json=decision_body(CODES[0], "APP-2001"), headers=auth)
    assert response.status_code == 503, response.text
    assert CODES[0] not in response.text
    assert CODES[0] not in caplog.text
    broken.dispose()
