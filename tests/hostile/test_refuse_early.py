"""Refuse early, store nothing: each hostile input is a 4xx, writes no row, asks no bureau.

The runtime's clock reads 2026-11-20. Every case compares the row counts of every table
before and after, and the fake bureau's list of people it was asked about.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from hostile_app import RowCounts

from scoring.domain.personal_code import build

CODE = "38001085718"
BORN_2099 = build(date(2099, 3, 1), female=False, serial=1)
BORN_2150 = build(date(2150, 1, 1), female=True, serial=7)
TOMORROW = build(date(2026, 11, 21), female=True, serial=3)
TWELVE = build(date(2014, 5, 5), female=False, serial=12)


@pytest.fixture
def api(app):  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def body(code: str = CODE, **changes):  # type: ignore[no-untyped-def]
    purchase = {"amount_eur": 500.0, "term_months": 12, "product_category": "electronics"}
    purchase.update(changes.pop("purchase", {}))
    return {"application_id": "APP-0001", "personal_code": code, "channel": "web",
            "purchase": purchase, **changes}  # fmt: skip


def _send(api, *, json_body=None, content=None, headers=None):  # type: ignore[no-untyped-def]
    if content is not None:
        headers = {"Content-Type": "application/json", **(headers or {})}
        return api.post("/v1/decisions", content=content, headers=headers)
    return api.post("/v1/decisions", json=json_body, headers=headers or {})


CASES = {
    "born-2099": (dict(json_body=body(BORN_2099)), 422, "personal_code"),
    "born-2150": (dict(json_body=body(BORN_2150)), 422, "personal_code"),
    "born-tomorrow": (dict(json_body=body(TOMORROW)), 422, "personal_code"),
    "amount-0.001": (dict(json_body=body(purchase={"amount_eur": 0.001})), 422, "amount_eur"),
    "amount-10.123": (dict(json_body=body(purchase={"amount_eur": 10.123})), 422, "amount_eur"),
    "amount-0": (dict(json_body=body(purchase={"amount_eur": 0})), 422, "amount_eur"),
    "amount-NaN": (dict(content=json.dumps(body()).replace("500.0", "NaN")), 422, "amount_eur"),
    "amount-Infinity": (dict(content=json.dumps(body()).replace("500.0", "Infinity")), 422,
                        "amount_eur"),
    "amount-above-bounds": (dict(json_body=body(purchase={"amount_eur": 50000.01})), 422,
                            "amount_eur"),
    "code-as-application-id": (dict(json_body=body(application_id=CODE)), 422,
                               "application_id"),
    "code-inside-application-id": (dict(json_body=body(application_id=f"A-{TWELVE}-1")), 422,
                                   "application_id"),
    "code-as-idempotency-key": (dict(json_body=body(), headers={"Idempotency-Key": CODE}), 422,
                                "Idempotency-Key"),
    "duplicate-key": (dict(content=json.dumps(body())[:-1] + ', "channel": "store"}'), 400,
                      "channel"),
    "duplicate-nested-key": (dict(content=json.dumps(body()).replace(
        '"amount_eur": 500.0', '"amount_eur": 500.0, "amount_eur": 5.0')), 400, "amount_eur"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_decision_requests_are_refused_before_anything_is_asked_or_stored(
    api, auth, runtime, migrated_engine, case
):  # type: ignore[no-untyped-def]
    kwargs, status, field = CASES[case]
    kwargs = {**kwargs, "headers": {**auth, **kwargs.get("headers", {})}}
    before = RowCounts.of(migrated_engine)

    answer = _send(api, **kwargs)

    assert answer.status_code == status, answer.text
    assert answer.json()["error"].get("field", "").endswith(field), answer.text
    assert RowCounts.of(migrated_engine).changed_since(before) == {}
    assert runtime.bureau.codes_seen == []
    for code in (CODE, BORN_2099, BORN_2150, TOMORROW, TWELVE):
        assert code not in answer.text


def test_a_minor_is_declined_by_the_age_rule_without_a_bureau_enquiry(api, auth, runtime):  # type: ignore[no-untyped-def]
    answer = api.post("/v1/decisions", json=body(TWELVE), headers=auth)

    assert answer.status_code == 201, answer.text
    decision = answer.json()
    assert decision["outcome"] == "decline"
    assert [r["code"] for r in decision["reasons"]] == ["P03_UNDER_MINIMUM_AGE"]
    assert runtime.bureau.codes_seen == []
    assert decision["probability_of_default"] is None


def test_amounts_in_whole_cents_at_the_bounds_are_decided(api, auth, runtime):  # type: ignore[no-untyped-def]
    for n, amount in enumerate((0.01, 10.1, 1499.99)):
        sent = body(application_id=f"APP-{n:04d}", purchase={"amount_eur": amount})
        answer = api.post("/v1/decisions", headers=auth, json=sent)
        assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("key", [None, "ik_000000000000_" + "A" * 43, "not-a-key"])
def test_an_unknown_key_is_401_before_the_body_is_judged(api, runtime, migrated_engine, key):  # type: ignore[no-untyped-def]
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    before = RowCounts.of(migrated_engine)
    for sent in ({}, {"application_id": "APP-0001"}, body(purchase={"amount_eur": 0.001})):
        answer = api.post("/v1/decisions", json=sent, headers=headers)
        assert answer.status_code == 401, answer.text
        assert "purchase" not in answer.text and "field" not in answer.json()["error"]
    assert RowCounts.of(migrated_engine).changed_since(before) == {}


def test_a_key_without_the_scope_is_403_before_the_body_is_judged(api, runtime):  # type: ignore[no-untyped-def]
    from hostile_app import issue_key

    reader = issue_key(runtime, scopes=("decisions:read",))
    answer = api.post("/v1/decisions", json={}, headers={"Authorization": f"Bearer {reader}"})
    assert answer.status_code == 403, answer.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/decisions"), ("PUT", "/v1/decisions"), ("DELETE", "/v1/decisions/D-1"),
     ("GET", "/v1/subjects/access"), ("PATCH", "/v1/reviews/R-1"), ("POST", "/healthz")],
)  # fmt: skip
def test_wrong_methods_are_405_in_the_error_shape(api, auth, migrated_engine, method, path):  # type: ignore[no-untyped-def]
    before = RowCounts.of(migrated_engine)
    answer = api.request(method, path, headers=auth)
    assert answer.status_code == 405, answer.text
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert "allow" in {k.lower() for k in answer.headers}
    assert RowCounts.of(migrated_engine).changed_since(before) == {}


def test_too_many_or_too_large_headers_are_431(api, auth, runtime, migrated_engine):  # type: ignore[no-untyped-def]
    before = RowCounts.of(migrated_engine)
    many = {**auth, **{f"X-Filler-{i}": "x" for i in range(80)}}
    large = {**auth, "X-Filler": "x" * 20_000}
    for headers in (many, large):
        answer = api.post("/v1/decisions", json=body(), headers=headers)
        assert answer.status_code == 431, answer.text
        assert answer.json()["error"]["code"] == "headers_too_large"
    assert RowCounts.of(migrated_engine).changed_since(before) == {}
    assert runtime.bureau.codes_seen == []
