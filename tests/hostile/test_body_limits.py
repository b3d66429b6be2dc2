"""Bodies the API refuses before any route reads them: too big, too deep, not JSON."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hostile_app import VALID_CODE, RowCounts

from scoring.api.errors import MAX_BODY_BYTES, MAX_JSON_DEPTH

POST_ROUTES = [
    "/v1/decisions",
    "/v1/decisions/D-1/contest",
    "/v1/subjects/access",
    "/v1/subjects/erasure",
    "/v1/subjects/objection",
]


@pytest.fixture
def api(app):  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def decision_body(**changes):  # type: ignore[no-untyped-def]
    request = {
        "application_id": "APP-0001",
        "personal_code": VALID_CODE,
        "purchase": {"amount_eur": 500.0, "term_months": 12, "product_category": "electronics"},
        "channel": "web",
    }
    request.update(changes)
    return request


def chunks(data: bytes, size: int = 4096):  # type: ignore[no-untyped-def]
    """A body sent in pieces without Content-Length (Transfer-Encoding: chunked)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def assert_error(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def oversized() -> bytes:
    padding = "x" * (MAX_BODY_BYTES + 1)
    return json.dumps(decision_body(application_id=padding)).encode()


@pytest.mark.parametrize("path", POST_ROUTES)
def test_a_body_over_64_kib_with_content_length_is_413(api, auth, migrated_engine, path):  # type: ignore[no-untyped-def]
    before = RowCounts.of(migrated_engine)
    response = api.post(
        path, content=oversized(), headers={**auth, "Content-Type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")
    assert RowCounts.of(migrated_engine).changed_since(before) == {}


@pytest.mark.parametrize("path", POST_ROUTES)
def test_a_chunked_body_over_64_kib_without_content_length_is_413(api, auth, migrated_engine, path):  # type: ignore[no-untyped-def]
    before = RowCounts.of(migrated_engine)
    response = api.post(
        path, content=chunks(oversized()), headers={**auth, "Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413, "payload_too_large")
    assert RowCounts.of(migrated_engine).changed_since(before) == {}


def test_a_lying_content_length_does_not_let_a_bigger_body_through(api, auth):  # type: ignore[no-untyped-def]
    response = api.post(
        "/v1/decisions",
        content=chunks(oversized()),
        headers={**auth, "Content-Type": "application/json", "Content-Length": "100"},
    )
    assert response.status_code in (400, 413), response.text


def test_a_chunked_body_under_the_limit_is_decided(api, auth):  # type: ignore[no-untyped-def]
    data = json.dumps(decision_body()).encode()
    response = api.post(
        "/v1/decisions",
        content=chunks(data, 16),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("opener", ["[", '{"a":'])
@pytest.mark.parametrize("path", POST_ROUTES)
def test_json_nested_deeper_than_the_limit_is_refused_before_validation(
    api, auth, migrated_engine, path, opener
):  # type: ignore[no-untyped-def]
    closer = "]" if opener == "[" else "}"
    depth = MAX_JSON_DEPTH + 1
    body = opener * depth + "1" + closer * depth
    before = RowCounts.of(migrated_engine)
    response = api.post(path, content=body, headers={**auth, "Content-Type": "application/json"})
    assert_error(response, 400, "json_too_deep")
    assert str(MAX_JSON_DEPTH) in response.json()["error"]["message"]
    assert RowCounts.of(migrated_engine).changed_since(before) == {}


def test_nesting_that_fills_the_whole_size_limit_is_refused_quickly(api, auth):  # type: ignore[no-untyped-def]
    depth = MAX_BODY_BYTES // 2 - 10
    body = "[" * depth + "]" * depth
    response = api.post(
        "/v1/decisions", content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert_error(response, 400, "json_too_deep")


def test_brackets_inside_strings_do_not_count_as_nesting(api, auth):  # type: ignore[no-untyped-def]
    text = "[{" * (MAX_JSON_DEPTH + 5) + '\\"'
    response = api.post("/v1/decisions", json=decision_body(application_id=text), headers=auth)
    assert_error(response, 422, "invalid_request")
    assert response.json()["error"]["field"] == "application_id"


def test_nesting_at_the_limit_reaches_validation(api, auth):  # type: ignore[no-untyped-def]
    nested: object = 1
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = [nested]
    response = api.post("/v1/decisions", json=decision_body(channel=nested), headers=auth)
    assert_error(response, 422, "invalid_request")
    assert response.json()["error"]["field"] == "channel"


@pytest.mark.parametrize(
    "body",
    [b"{", b"not json", b'{"application_id": }', b"\xff\xfe", b"", b'{"a": 1} trailing'],
    ids=["unclosed", "text", "missing-value", "not-utf8", "empty", "trailing"],
)
@pytest.mark.parametrize("path", POST_ROUTES)
def test_malformed_json_is_400_in_the_error_shape(api, auth, migrated_engine, path, body):  # type: ignore[no-untyped-def]
    before = RowCounts.of(migrated_engine)
    response = api.post(path, content=body, headers={**auth, "Content-Type": "application/json"})
    if body == b"":
        # No body at all is a missing body, named as such.
        assert_error(response, 422, "invalid_request")
    else:
        assert_error(response, 400, "malformed_json")
    assert RowCounts.of(migrated_engine).changed_since(before) == {}


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "application/jsonx", "application/xml"],
)  # fmt: skip
@pytest.mark.parametrize("path", POST_ROUTES)
def test_a_body_that_is_not_declared_json_is_415(api, auth, path, content_type):  # type: ignore[no-untyped-def]
    headers = dict(auth)
    if content_type:
        headers["Content-Type"] = content_type
    response = api.post(path, content=json.dumps(decision_body()), headers=headers)
    assert_error(response, 415, "unsupported_media_type")


def test_json_with_a_charset_parameter_is_accepted(api, auth):  # type: ignore[no-untyped-def]
    response = api.post(
        "/v1/decisions",
        content=json.dumps(decision_body()),
        headers={**auth, "Content-Type": "Application/JSON; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
