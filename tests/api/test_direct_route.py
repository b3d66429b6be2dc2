"""A ``DirectRoute`` answers every body exactly as FastAPI's own solving of the same route.

Two routes take the contract's ``DecisionRequest`` and the same headers, one solved by
FastAPI and one by a ``DirectRoute``, behind the application's own error handlers; each
body below must get the same status and the same answer from both.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from api_requests import CODE, WRONG_CHECK_DIGIT, body
from fastapi import APIRouter, FastAPI, Header, Request, Response
from fastapi.testclient import TestClient

from data_contracts.requests import DecisionRequest
from scoring.api.deps import BearerKeyDep, bearer_key
from scoring.api.direct_route import DirectRoute, DirectRouteError, json_body
from scoring.api.errors import install_error_handlers


async def _echo(
    body: DecisionRequest,
    presented: BearerKeyDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    seen = {"body": body.model_dump(mode="json"), "key": presented, "idem": idempotency_key}
    return Response(json.dumps(seen, sort_keys=True), media_type="application/json")


async def _presented(request: Request) -> str:
    return await bearer_key(request.headers.get("authorization"))


async def _idempotency_key(request: Request) -> str | None:
    return request.headers.get("idempotency-key")


class _EchoRoute(DirectRoute):
    resolvers = {
        "presented": _presented,
        "body": json_body(DecisionRequest),
        "idempotency_key": _idempotency_key,
    }


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter()
    router.add_api_route("/v1/solved", _echo, methods=["POST"])
    router.add_api_route("/v1/direct", _echo, methods=["POST"], route_class_override=_EchoRoute)
    app.include_router(router)
    return TestClient(app)


def _purchase(**changes: Any) -> dict:
    purchase = {"amount_eur": 500.0, "term_months": 12, "product_category": "electronics"}
    purchase.update(changes)
    return body(purchase=purchase)


BODIES = {
    "valid": json.dumps(body()),
    "valid, optional field given": json.dumps(body(human_review_requested=True)),
    "negative amount": json.dumps(_purchase(amount_eur=-5)),
    "amount as text": json.dumps(_purchase(amount_eur="500")),
    "term too short": json.dumps(_purchase(term_months=2)),
    "term as float": json.dumps(_purchase(term_months=12.5)),
    "unknown category": json.dumps(_purchase(product_category="car")),
    "wrong check digit": json.dumps(body(personal_code=WRONG_CHECK_DIGIT)),
    "short code": json.dumps(body(personal_code="12345")),
    "unknown field": json.dumps(body(loyalty_tier="gold")),
    "field named by a code": json.dumps(body(**{CODE: 1})),
    "missing fields": json.dumps({"personal_code": CODE}),
    "purchase not an object": json.dumps(body(purchase=[1, 2])),
    "a list": json.dumps([body()]),
    "a number": "7",
    "null": "null",
    "empty": "",
    "unclosed": '{"application_id": "APP-1",',
    "trailing text": '{"a": 1} trailing',
    "not UTF-8": b"\xff\xfe",
}


# Not an object at all: pydantic words the problem differently when it validates JSON text
# ("valid dictionary or instance of ...") than FastAPI's validation of parsed Python
# ("valid dictionary or object to extract fields from"); the status, code and field agree.
NOT_OBJECTS = {"purchase not an object", "a list", "a number", "null"}


@pytest.mark.parametrize("name", list(BODIES))
def test_the_direct_route_answers_as_fastapi_does(client, name):
    content = BODIES[name]
    headers = {
        "Authorization": "Bearer key-1",
        "Content-Type": "application/json",
        "Idempotency-Key": "idem-1",
    }
    solved = client.post("/v1/solved", content=content, headers=headers)
    direct = client.post("/v1/direct", content=content, headers=headers)
    assert direct.status_code == solved.status_code
    if direct.status_code < 400:
        assert direct.json() == solved.json()
        return
    error, expected = direct.json()["error"], solved.json()["error"]
    if name in NOT_OBJECTS:
        assert "valid dictionary" in error["message"]
        error, expected = dict(error, message=""), dict(expected, message="")
    assert error == expected
    assert CODE not in direct.text and WRONG_CHECK_DIGIT not in direct.text


def test_what_the_endpoint_receives_is_the_same(client):
    headers = {"Authorization": "Bearer key-1", "Idempotency-Key": "idem-1"}
    solved = client.post("/v1/solved", json=body(), headers=headers).json()
    direct = client.post("/v1/direct", json=body(), headers=headers).json()
    assert direct == solved
    assert direct["key"] == "key-1" and direct["idem"] == "idem-1"
    no_idem = client.post("/v1/direct", json=body(), headers={"Authorization": "Bearer k"})
    assert no_idem.json()["idem"] is None


@pytest.mark.parametrize("authorization", [None, "Basic abc", "Bearer "])
def test_a_missing_key_is_refused_before_the_body_is_read(client, authorization):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    solved = client.post("/v1/solved", content=BODIES["valid"], headers=headers)
    direct = client.post("/v1/direct", content=BODIES["valid"], headers=headers)
    assert direct.status_code == solved.status_code == 401
    assert direct.json() == solved.json()
    # Not even parsed: FastAPI would have answered this one 400 for its JSON first.
    unread = client.post("/v1/direct", content="not json", headers=headers)
    assert (unread.status_code, unread.json()) == (401, direct.json())


def test_the_openapi_document_is_the_one_fastapi_makes(client):
    paths = client.app.openapi()["paths"]
    solved, direct = paths["/v1/solved"]["post"], paths["/v1/direct"]["post"]
    for part in ("parameters", "requestBody", "responses"):
        assert direct[part] == solved[part]


def test_resolvers_must_match_the_endpoints_parameters():
    class Short(DirectRoute):
        resolvers = {"body": json_body(DecisionRequest)}

    with pytest.raises(DirectRouteError, match="presented"):
        Short("/x", _echo, methods=["POST"])


def test_the_endpoint_must_be_async_and_answer_with_a_response():
    def blocking(body: DecisionRequest) -> Response:
        return Response()

    class BodyOnly(DirectRoute):
        resolvers = {"body": json_body(DecisionRequest)}

    with pytest.raises(DirectRouteError, match="async"):
        BodyOnly("/x", blocking, methods=["POST"])

    async def plain(body: DecisionRequest) -> dict:
        return {"ok": True}

    router = APIRouter()
    router.add_api_route("/x", plain, methods=["POST"], route_class_override=BodyOnly)
    app = FastAPI()
    app.include_router(router)
    with pytest.raises(DirectRouteError, match="Response"):
        TestClient(app).post("/x", json=body())
