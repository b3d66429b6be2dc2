"""The decision request model is generated from its contract and refuses what it does not list."""

from __future__ import annotations

import json

import pydantic
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from data_contracts.requests import DecisionRequest

CODE = "38001085718"  # valid: born 1980-01-08
WRONG_CHECK_DIGIT = "38001085719"


def request(**changes):
    body = {
        "application_id": "APP-2025-000123",
        "personal_code": CODE,
        "purchase": {"amount_eur": 1499.0, "term_months": 24, "product_category": "heat_pump"},
        "channel": "web",
    }
    body.update(changes)
    return body


def refusal(body) -> list[dict]:
    with pytest.raises(pydantic.ValidationError) as refused:
        DecisionRequest.model_validate(body)
    return refused.value.errors()


def test_a_complete_request_is_accepted_and_human_review_defaults_to_false():
    accepted = DecisionRequest.model_validate(request())
    assert accepted.purchase.term_months == 24
    assert accepted.human_review_requested is False


def test_an_unknown_field_is_refused_naming_the_field_and_the_contract():
    (error,) = refusal(request(loyalty_tier="gold"))
    assert error["loc"] == ("loyalty_tier",)
    assert error["msg"] == (
        "field loyalty_tier is not listed in contract decision_request 1.0.0 and is refused"
    )


@pytest.mark.parametrize("attribute", ["sex", "nationality", "marital_status", "health",
                                       "social_media_handle", "free_text_notes"])  # fmt: skip
def test_a_forbidden_attribute_is_refused_naming_it(attribute):
    (error,) = refusal(request(**{attribute: "anything"}))
    assert error["type"] == "extra_forbidden"
    assert attribute in error["msg"]


def test_an_unknown_field_inside_the_purchase_is_refused_with_its_path():
    body = request()
    body["purchase"]["seller_notes"] = "called twice"
    (error,) = refusal(body)
    assert error["loc"] == ("purchase", "seller_notes")


@pytest.mark.parametrize(
    ("purchase", "loc", "kind"),
    [
        ({"term_months": "24"}, ("purchase", "term_months"), "int_type"),
        ({"amount_eur": "1499"}, ("purchase", "amount_eur"), "float_type"),
        ({"term_months": 24.5}, ("purchase", "term_months"), "int_type"),
    ],
)
def test_a_wrong_type_is_refused(purchase, loc, kind):
    body = request()
    body["purchase"].update(purchase)
    (error,) = refusal(body)
    assert (error["loc"], error["type"]) == (loc, kind)


@pytest.mark.parametrize(
    ("purchase", "kind"),
    [
        ({"amount_eur": 0}, "greater_than_equal"),
        ({"amount_eur": 0.001}, "multiple_of"),
        ({"amount_eur": 12.345}, "multiple_of"),
        ({"amount_eur": 50000.01}, "less_than_equal"),
        ({"term_months": 2}, "greater_than_equal"),
        ({"term_months": 61}, "less_than_equal"),
        ({"product_category": "car"}, "literal_error"),
    ],
)
def test_out_of_range_purchase_values_are_refused(purchase, kind):
    body = request()
    body["purchase"].update(purchase)
    (error,) = refusal(body)
    assert error["type"] == kind


def test_boundary_values_are_accepted():
    body = request()
    body["purchase"].update(amount_eur=50000, term_months=60)
    assert DecisionRequest.model_validate(body).purchase.amount_eur == 50000
    body["purchase"].update(amount_eur=0.01, term_months=3)
    assert DecisionRequest.model_validate(body).purchase.term_months == 3


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (WRONG_CHECK_DIGIT, "wrong check digit"),
        ("38002305712", "impossible birth date"),
    ],
)
def test_an_invalid_personal_code_is_refused_without_repeating_it(code, reason):
    with pytest.raises(pydantic.ValidationError) as refused:
        DecisionRequest.model_validate(request(personal_code=code))
    (error,) = refused.value.errors()
    assert error["loc"] == ("personal_code",)
    assert reason in error["msg"]
    assert code not in str(refused.value)
    assert code not in json.dumps(refused.value.errors(), default=str)


def test_a_malformed_body_never_echoes_the_personal_code():
    with pytest.raises(pydantic.ValidationError) as refused:
        DecisionRequest.model_validate([request()])
    assert CODE not in json.dumps(refused.value.errors(), default=str)


def tiny_app() -> FastAPI:
    app = FastAPI()

    @app.post("/decisions")
    def decide(body: DecisionRequest) -> dict:
        return {"application_id": body.application_id}

    return app


def test_the_openapi_document_shows_the_contract_fields_and_bounds():
    schemas = tiny_app().openapi()["components"]["schemas"]
    request_schema = schemas["DecisionRequest"]
    assert request_schema["additionalProperties"] is False
    assert set(request_schema["properties"]) == {
        "application_id", "personal_code", "purchase", "channel", "human_review_requested",
    }  # fmt: skip
    assert set(request_schema["required"]) == {
        "application_id", "personal_code", "purchase", "channel",
    }  # fmt: skip
    purchase = schemas["DecisionRequestPurchase"]["properties"]
    assert purchase["amount_eur"]["minimum"] == 0.01
    assert purchase["amount_eur"]["multipleOf"] == 0.01
    assert purchase["amount_eur"]["maximum"] == 50000
    assert (purchase["term_months"]["minimum"], purchase["term_months"]["maximum"]) == (3, 60)
    assert purchase["product_category"]["enum"] == [
        "heat_pump", "solar_panels", "electronics", "phone", "smart_home", "home_appliance",
    ]  # fmt: skip
    assert request_schema["properties"]["channel"]["enum"] == ["web", "store", "phone"]
    code = request_schema["properties"]["personal_code"]
    assert code["x-personal-data"] is True and code["x-model-use"] == "forbidden"
    assert "pseudonym" in code["description"]
    assert request_schema["properties"]["application_id"]["examples"] == ["APP-2025-000123"]


def test_the_api_answers_422_naming_the_field_and_never_the_code():
    client = TestClient(tiny_app())
    assert client.post("/decisions", json=request()).status_code == 200
    answer = client.post("/decisions", json=request(personal_code=WRONG_CHECK_DIGIT, sex="F"))
    assert answer.status_code == 422
    assert WRONG_CHECK_DIGIT not in answer.text
    locations = {tuple(e["loc"]) for e in answer.json()["detail"]}
    assert locations == {("body", "personal_code"), ("body", "sex")}
