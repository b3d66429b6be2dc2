"""``POST /v1/subjects/access|erasure|objection``: data-subject requests (GDPR Art. 15, 17, 21).

The sales or self-service system sends them on the person's behalf, with proof that one of
its registered identity channels identified the person: a short-lived signed assertion
(``scoring.service.subject_proof``; the flow in ``docs/data-subject-requests.md``). Without
it the answer is 401 or 403 and nothing is read or changed. The personal code travels in
the body (never in the URL, so it stays out of access logs) and is turned into the
pseudonym at once; no answer ever repeats it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from scoring.api.deps import RuntimeDep, require_scope
from scoring.api.errors import error_responses
from scoring.domain.personal_code import OPENAPI_FORMAT as PERSONAL_CODE_FORMAT
from scoring.service import subject_requests
from scoring.service.api_keys import AuthenticatedClient
from scoring.service.runtime import Runtime
from scoring.service.subject_proof import MAX_ASSERTION_CHARS, SubjectLimits

SUBJECTS_WRITE = "subjects:write"

router = APIRouter(prefix="/v1/subjects", tags=["data-subject requests"])

SubjectClientDep = Annotated[AuthenticatedClient, Depends(require_scope(SUBJECTS_WRITE))]


class SubjectRequest(BaseModel):
    """The person the request is about."""

    model_config = ConfigDict(extra="forbid")

    personal_code: str = Field(
        min_length=11,
        max_length=11,
        pattern=r"^[1-8][0-9]{10}$",
        description=(
            "Estonian personal identification code; checked, then pseudonymised. The birth "
            "date must exist and the check digit hold: a code of the right shape that fails "
            "either is answered 422 invalid_personal_code."
        ),
        examples=["38001085718"],
        json_schema_extra={"x-personal-data": True, "format": PERSONAL_CODE_FORMAT},
    )
    identity_assertion: str | None = Field(
        default=None,
        max_length=MAX_ASSERTION_CHARS,
        description=(
            "A JWT signed (EdDSA or ES256) by one of this client's registered identity "
            "channels: iss = channel id, aud = installment-decision-engine/subjects, sub = "
            "the personal code, request = access|erasure|objection, identification_method, "
            "iat, exp (at most 5 minutes later), jti (used once), optional representative. "
            "Required: without it the answer is 401."
        ),
    )


def _call(body: SubjectRequest, client: AuthenticatedClient, runtime: Runtime) -> dict[str, Any]:
    """The keyword arguments every proven request's use case takes."""
    settings = runtime.settings
    return {
        "sessions": runtime.sessions,
        "client_id": client.client_id,
        "assertion": body.identity_assertion,
        "code": body.personal_code,
        "pseudonym_key": runtime.pseudonym_key,
        "limits": SubjectLimits(
            per_client_hour=settings.subject_requests_per_client_hour,
            per_person_day=settings.subject_requests_per_person_day,
        ),
        "now": runtime.clock(),
    }


_REFUSALS = (400, 401, 403, 413, 415, 422, 429, 503)


class SubjectExportPublic(BaseModel):
    """Everything held about the person (Art. 15), with its source and how long it is kept."""

    model_config = ConfigDict(extra="allow")

    format: int
    generated_at: str
    controller_note: str
    held_data: bool
    sources: dict[str, str]
    retention_rules: dict[str, Any]
    customer: dict[str, Any] | None
    invoices: list[dict[str, Any]]
    bureau_reports: list[dict[str, Any]]
    applications: list[dict[str, Any]]


class KeptRecordsPublic(BaseModel):
    records: str
    count: int
    kept_until: str | None
    reason: str


class ErasurePublic(BaseModel):
    """What was erased, and what had to be kept with the obligation that holds it."""

    received_at: str
    held_data: bool
    erased: dict[str, int]
    kept: list[KeptRecordsPublic]


class ObjectionPublic(BaseModel):
    """The recorded objection to profiling and its effect."""

    objected_at: str
    already_recorded: bool
    effect: str


@router.post(
    "/access",
    summary="Everything held about a person (Art. 15), as JSON or a readable page",
    response_model=None,
    responses={
        200: {
            "model": SubjectExportPublic,
            "content": {"text/html": {"schema": {"type": "string"}}},
            "description": "The export as JSON, or as a readable page with format=html",
        },
        **error_responses(*_REFUSALS),
    },
)
def access(
    body: SubjectRequest,
    client: SubjectClientDep,
    runtime: RuntimeDep,
    format: Annotated[Literal["json", "html"], Query(description="json or html")] = "json",
) -> Any:
    export = subject_requests.access_with_proof(**_call(body, client, runtime))
    if format == "html":
        return HTMLResponse(subject_requests.render_export_html(export))
    return JSONResponse(export)


@router.post(
    "/erasure",
    summary="Erase what no retention obligation holds (Art. 17); says what was kept and why",
    response_model=ErasurePublic,
    responses=error_responses(*_REFUSALS),
)
def erasure(body: SubjectRequest, client: SubjectClientDep, runtime: RuntimeDep) -> ErasurePublic:
    report = subject_requests.erasure_with_proof(**_call(body, client, runtime))
    return ErasurePublic(**report.as_dict())


@router.post(
    "/objection",
    summary="Object to profiling (Art. 21): later applications go to a human reviewer",
    response_model=ObjectionPublic,
    responses=error_responses(*_REFUSALS),
)
def objection(
    body: SubjectRequest, client: SubjectClientDep, runtime: RuntimeDep
) -> ObjectionPublic:
    receipt = subject_requests.objection_with_proof(**_call(body, client, runtime))
    return ObjectionPublic(**receipt.as_dict())
