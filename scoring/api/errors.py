"""One error shape for every failure: ``{"error": {"code", "message", "field"?}}``.

Validation messages come from the field's rule, never from the value sent, so a wrong
personal code is never echoed back (FastAPI's default 422 body would echo ``input``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scoring.domain.errors import (
    ConflictError,
    EngineError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    NotPermittedError,
    RateLimitedError,
    UnavailableError,
    branch_of,
)
from scoring.domain.personal_code import redact_codes
from scoring.storage.db import DatabaseUnavailable, StorageError
from scoring.storage.failures import CAUSES, TRANSIENT_CAUSES, failure_cause

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# Requests are three levels deep; anything past this is refused before it is parsed.
MAX_JSON_DEPTH = 32
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# The one map from the branches of the error tree to HTTP statuses: the API and the
# reviewer UI both answer by it, so one error has one status wherever it is raised.
STATUS_OF: dict[type[EngineError], int] = {
    EngineError: 400,
    InvalidInputError: 422,
    NotAuthenticatedError: 401,
    NotPermittedError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    RateLimitedError: 429,
    UnavailableError: 503,
}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    431: "headers_too_large",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """The body of every error answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "invalid_request",
                        "message": "purchase.term_months: Input should be less than or equal to 60",
                        "field": "purchase.term_months",
                    }
                }
            ]
        }
    )

    error: ErrorDetail


def error_response(
    status: int, code: str, message: str, *, field: str | None = None, headers: Any = None
) -> JSONResponse:
    detail: dict[str, Any] = {"code": code, "message": message}
    if field:
        detail["field"] = field
    return JSONResponse({"error": detail}, status_code=status, headers=headers)


def error_responses(
    *statuses: int, codes: dict[int, dict[str, str]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries showing the error shape for ``statuses``; ``codes`` names,
    per status, the ``error.code`` values the route answers with and when."""
    codes = codes or {}
    return {
        status: {
            "model": ErrorBody,
            "description": _HTTP_CODES[status]
            + "".join(f"; `{code}`: {when}" for code, when in codes.get(status, {}).items()),
        }
        for status in statuses
    }


def _field(loc: tuple[Any, ...]) -> str:
    # An unknown field may be named by a personal code; the answer names it without it.
    parts = [redact_codes(str(p)) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts)


async def _validation_failed(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = exc.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    parts = []
    for problem in problems:
        where = _field(tuple(problem.get("loc", ())))
        if problem.get("type") == "missing" and not where:
            parts.append("the request body is missing")
            continue
        parts.append(f"{where or 'body'}: {problem.get('msg', 'invalid value')}")
    first = _field(tuple(problems[0].get("loc", ()))) if problems else None
    return error_response(422, "invalid_request", "; ".join(parts), field=first or None)


def status_for(error: EngineError) -> int:
    """The HTTP status of an error, from its branch of the error tree."""
    return STATUS_OF[branch_of(error)]


async def _engine_error(request: Request, exc: EngineError) -> JSONResponse:
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "1"}
        cause = getattr(exc, "cause", None) or getattr(exc, "reason", None)
        if isinstance(exc, StorageError):
            cause = failure_cause(exc)
            metrics = getattr(request.app.state, "metrics", None)
            if metrics is not None:
                metrics.database_failed(cause)
        logger.warning("%s on %s %s (%s)", exc.code, request.method, request.url.path, cause)
    if isinstance(exc, RateLimitedError):
        headers = {"Retry-After": str(exc.retry_after)}
    # Ids from the URL are echoed in messages; a client may have put a personal code there.
    message = redact_codes(exc.message)
    return error_response(status, exc.code, message, field=exc.field, headers=headers)


async def _database_failed(request: Request, exc: Exception) -> JSONResponse:
    """A database failure: 503 naming the cause when it can clear (read-only, disk full, ...)."""
    cause = failure_cause(exc)
    # The cause and the error type only: a driver's message may quote a statement's values.
    logger.error(
        "database failure on %s %s: %s (%s)", request.method, request.url.path, cause,
        type(getattr(exc, "orig", None) or exc).__name__,
    )  # fmt: skip
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.database_failed(cause)
    # A database that could not be reached is unavailable whatever the driver said.
    unavailable = isinstance(exc, (OperationalError, DatabaseUnavailable))
    if cause not in TRANSIENT_CAUSES and not unavailable:
        return error_response(
            500, "internal_error", "an unexpected error occurred; nothing was stored"
        )
    return error_response(
        STATUS_OF[UnavailableError],
        "database_unavailable",
        f"the database is unavailable: {CAUSES[cause]}; nothing was stored, retry later",
        headers={"Retry-After": "1"},
    )


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Only the type and the route: an exception message could hold request data.
    logger.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return error_response(500, "internal_error", "an unexpected error occurred; nothing was stored")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` in the one error shape."""
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(EngineError, _engine_error)
    app.add_exception_handler(DBAPIError, _database_failed)
    # Its message names the database's address, which is for operators, not API clients.
    app.add_exception_handler(DatabaseUnavailable, _database_failed)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(JsonBodyGuard)
    app.add_middleware(HeaderLimits)


MAX_HEADERS = 64
MAX_HEADER_BYTES = 16 * 1024


class HeaderLimits:
    """Refuse a request with more than ``max_count`` headers or ``max_bytes`` of them (431).

    The server bounds each header line; this bounds how many there are and their sum, so no
    request makes every layer below walk thousands of headers.
    """

    def __init__(
        self, app: ASGIApp, *, max_count: int = MAX_HEADERS, max_bytes: int = MAX_HEADER_BYTES
    ) -> None:
        self.app = app
        self.max_count = max_count
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            size = sum(len(name) + len(value) for name, value in headers)
            if len(headers) > self.max_count or size > self.max_bytes:
                refusal = error_response(
                    431,
                    "headers_too_large",
                    f"send at most {self.max_count} headers of at most {self.max_bytes} bytes "
                    "in all",
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


class JsonBodyGuard:
    """Refuse API bodies that are too large (413), not JSON (415), nested too deeply or
    naming a field twice (400).

    The body is read here, at most ``max_bytes`` of it, whether or not a Content-Length
    was sent (a chunked body is counted as it arrives), and handed on to the route only
    when it is within both limits, so neither the JSON parser nor pydantic ever walks it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = MAX_BODY_BYTES,
        max_depth: int = MAX_JSON_DEPTH,
        prefix: str = "/v1/",
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _BODY_METHODS
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(self._too_large(), scope, receive, send)
            return
        if media != b"application/json":
            refusal = error_response(
                415, "unsupported_media_type", "send the body as Content-Type: application/json"
            )
            await self._refuse(refusal, scope, receive, send)
            return
        body = await self._read_body(receive)
        if body is None:
            await self._refuse(self._too_large(), scope, receive, send)
            return
        if json_depth_exceeds(body, self.max_depth):
            refusal = error_response(
                400, "json_too_deep", f"the JSON body is nested deeper than {self.max_depth} levels"
            )
            await self._refuse(refusal, scope, receive, send)
            return
        duplicate = duplicate_json_key(body)
        if duplicate is not None:
            refusal = error_response(
                400,
                "duplicate_json_key",
                f"the JSON body names the field {duplicate} more than once; send each field once",
                field=duplicate,
            )
            await self._refuse(refusal, scope, receive, send)
            return
        await self.app(scope, _replaying(body, receive), send)

    async def _refuse(
        self, refusal: JSONResponse, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer ``refusal``, unless no route takes this method here: then 404 or 405."""
        if _route_takes(scope):
            await refusal(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _too_large(self) -> JSONResponse:
        return error_response(
            413, "payload_too_large", f"the request body exceeds {self.max_bytes} bytes"
        )

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it grows past the limit."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the route sees an empty body and refuses it
            part = message.get("body", b"")
            size += len(part)
            if size > self.max_bytes:
                return None
            parts.append(part)
            if not message.get("more_body", False):
                break
        return b"".join(parts)


def _route_takes(scope: Scope) -> bool:
    """Whether a route of the application takes this method at this path (checked on refusals
    only, so a wrong method is answered 405 rather than refused for its body)."""
    router = getattr(scope.get("app"), "router", None)
    if router is None:
        return True
    return any(route.matches(scope)[0] is Match.FULL for route in router.routes)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then passes on (e.g. disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def duplicate_json_key(body: bytes) -> str | None:
    """The first key an object of ``body`` names twice (which JSON parsers resolve silently
    as "last one wins"), or None; text that is not JSON is left to the route to refuse.

    The key is named with any personal code in it redacted.
    """
    try:
        json.loads(body, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKey as duplicate:
        return redact_codes(duplicate.key)[:100]
    except (ValueError, RecursionError):
        return None
    return None


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether arrays and objects in ``body`` nest deeper than ``limit`` (strings skipped)."""
    # Fewer brackets than the limit cannot nest past it: the common case costs two counts.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False
