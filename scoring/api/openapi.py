"""The API's OpenAPI document: what FastAPI generates, completed where it cannot know.

FastAPI does not see how the routes authenticate (the key is read from the header by the
project's own dependencies, out of the schema) and documents every 422 with its own
``HTTPValidationError``, while every real 422 answers with the project's ``ErrorBody``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

SECURITY_SCHEME = "ApiKey"
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
_ERROR_BODY_REF = "#/components/schemas/ErrorBody"


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the completed document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = completed(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def completed(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the bearer scheme on every ``/v1`` operation and ErrorBody for 422."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "The sales system's API key: `Authorization: Bearer <key>` "
        "(`installment api-key create` issues one).",
    }
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if path.startswith("/v1/"):
                operation["security"] = [{SECURITY_SCHEME: []}]
            invalid = operation.get("responses", {}).get("422")
            if invalid is not None:
                invalid["description"] = "invalid_request"
                invalid["content"] = {"application/json": {"schema": {"$ref": _ERROR_BODY_REF}}}
    schemas = components.get("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    return document
