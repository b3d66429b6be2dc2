"""``POST /v1/decisions/{decision_id}/contest`` and ``GET /v1/reviews/{review_id}``.

The sales and self-service systems contest a decision on the customer's behalf and
poll the review; outcomes also arrive by webhook (``scoring.service.webhooks``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from scoring.api.deps import RuntimeDep, SessionDep, UnitOfWorkDep, require_scope
from scoring.api.errors import error_responses
from scoring.domain.decision import Outcome
from scoring.domain.review import MAX_STATEMENT_CHARS, CaseKind, CaseStatus, ReviewOutcome
from scoring.service import reviews
from scoring.service.api_keys import AuthenticatedClient

REVIEWS_WRITE = "reviews:write"
REVIEWS_READ = "reviews:read"
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024

router = APIRouter(prefix="/v1", tags=["reviews"])

WriterDep = Annotated[AuthenticatedClient, Depends(require_scope(REVIEWS_WRITE))]
ReaderDep = Annotated[AuthenticatedClient, Depends(require_scope(REVIEWS_READ))]


# At least one character that is not white space as Python's str.strip() sees it, spelled
# out: "\S" means another set in the ECMA regular expressions of JSON Schema.
NOT_ONLY_WHITE_SPACE = (
    r"[^\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)


class AttachmentMeta(BaseModel):
    """A file the customer attached, described only: the file itself goes elsewhere."""

    model_config = ConfigDict(extra="forbid")

    # Not only white space (422 otherwise).
    name: str = Field(
        min_length=1, max_length=200, json_schema_extra={"pattern": NOT_ONLY_WHITE_SPACE}
    )
    content_type: str = Field(min_length=3, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    size_bytes: int = Field(ge=0, le=MAX_ATTACHMENT_BYTES)


class ContestCreate(BaseModel):
    """The customer's statement of why the decision is wrong, and optional attachments."""

    model_config = ConfigDict(extra="forbid")

    statement: str = Field(
        max_length=MAX_STATEMENT_CHARS,
        description="The customer's point of view, in their words (not empty).",
        # Not empty: at least one character that is not white space (422 otherwise).
        json_schema_extra={"minLength": 1, "pattern": NOT_ONLY_WHITE_SPACE},
        examples=["The late invoices were during a hospital stay; all is paid since."],
    )
    attachments: list[AttachmentMeta] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class ReviewCreated(BaseModel):
    review_id: str
    decision_id: str
    status: CaseStatus
    received_at: datetime
    due_on: date = Field(description="The last day (Estonian calendar) to answer the customer.")
    due_at: datetime


class NewTermsPublic(BaseModel):
    amount_eur: float
    term_months: int


class LetterPublic(BaseModel):
    et: str
    en: str


class ReviewPublic(BaseModel):
    review_id: str
    decision_id: str
    kind: CaseKind
    status: CaseStatus
    received_at: datetime
    due_on: date
    extended: bool
    extension_reason: str | None
    outcome: ReviewOutcome | None = Field(description="The reviewer's outcome once resolved")
    new_terms: NewTermsPublic | None
    resolved_at: datetime | None
    resulting_decision_id: str | None
    resulting_outcome: Outcome | None
    letter: LetterPublic | None = Field(description="The customer's outcome letter")
    extension_notice: LetterPublic | None


# The error codes of the review routes, as the OpenAPI document names them.
_CONTEST_CODES = {
    404: {"decision_not_found": "no such decision of this client"},
    409: {
        "already_contested": "the decision already has a contest case",
        "not_contestable": (
            "the decision was replaced by one a person made (superseded), decided nothing "
            "(a person is deciding it), was made by a person, or its contest window has "
            "closed; the message says which"
        ),
    },
    422: {"invalid_contest": "an empty statement or bad attachment metadata"},
}
_STATEMENT_CODES = {
    404: {"review_not_found": "no such review case of this client"},
    409: {
        "case_closed": "the case is resolved: a person has decided it",
        "statement_limit_reached": "the case holds as much of the statements as it can take",
    },
    422: {"invalid_contest": "an empty statement"},
}


@router.post(
    "/decisions/{decision_id}/contest",
    response_model=ReviewCreated,
    status_code=201,
    summary="Contest a decision on the customer's behalf (GDPR Art. 22(3))",
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422, 503, codes=_CONTEST_CODES),
)
def contest(
    decision_id: str,
    body: ContestCreate,
    client: WriterDep,
    runtime: RuntimeDep,
    uow: UnitOfWorkDep,
    response: Response,
) -> ReviewCreated:
    """Open a review case with the customer's statement; answers with its id and due date."""
    view = reviews.contest_decision(
        uow=uow,
        decision_id=decision_id,
        client=client.client_id,
        statement=body.statement,
        attachments=[reviews.Attachment(**a.model_dump()) for a in body.attachments],
        clock=runtime.clock,
    )
    response.headers["Location"] = f"/v1/reviews/{view.id}"
    return ReviewCreated(
        review_id=view.id,
        decision_id=view.decision_id,
        status=view.status,
        received_at=view.received_at,
        due_on=view.due_on,
        due_at=view.effective_due_at,
    )


@router.get(
    "/reviews/{review_id}",
    response_model=ReviewPublic,
    summary="A review case of this client: status, outcome and the customer's letter",
    responses=error_responses(401, 403, 404, 503),
)
def read_review(
    review_id: str, client: ReaderDep, runtime: RuntimeDep, session: SessionDep
) -> ReviewPublic:
    """The review; 404 when it is unknown or belongs to another client."""
    found = reviews.client_review(
        session=session, review_id=review_id, client=client.client_id, now=runtime.clock()
    )
    case = found.case
    return ReviewPublic(
        review_id=case.id,
        decision_id=case.decision_id,
        kind=case.kind,
        status=case.status,
        received_at=case.received_at,
        due_on=case.due_on,
        extended=case.extended_due_at is not None,
        extension_reason=case.extension_reason,
        outcome=case.outcome if case.outcome and case.resolved_at else None,
        new_terms=(
            NewTermsPublic(
                amount_eur=case.new_terms.amount_eur, term_months=case.new_terms.term_months
            )
            if case.new_terms and case.resolved_at
            else None
        ),
        resolved_at=case.resolved_at,
        resulting_decision_id=case.resulting_decision_id,
        resulting_outcome=found.resulting_outcome,
        letter=(
            LetterPublic(et=found.letter_et, en=found.letter_en)
            if found.letter_et and found.letter_en
            else None
        ),
        extension_notice=(
            LetterPublic(et=found.extension_notice_et, en=found.extension_notice_en)
            if found.extension_notice_et and found.extension_notice_en
            else None
        ),
    )


class StatementCreate(BaseModel):
    """What the customer wants the person deciding to know."""

    model_config = ConfigDict(extra="forbid")

    statement: str = Field(
        max_length=MAX_STATEMENT_CHARS,
        description="The customer's point of view or new facts, in their words (not empty).",
        # Not empty: at least one character that is not white space (422 otherwise).
        json_schema_extra={"minLength": 1, "pattern": NOT_ONLY_WHITE_SPACE},
    )


class StatementAdded(BaseModel):
    review_id: str
    decision_id: str
    status: str
    due_on: date


@router.post(
    "/reviews/{review_id}/statement",
    response_model=StatementAdded,
    status_code=201,
    summary="Add the customer's statement to a review case that is still open",
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422, 503, codes=_STATEMENT_CODES),
)
def add_statement(
    review_id: str,
    body: StatementCreate,
    client: WriterDep,
    runtime: RuntimeDep,
    uow: UnitOfWorkDep,
) -> StatementAdded:
    """The statement is kept with the case for the reviewer; 409 once the case is resolved."""
    view = reviews.add_statement(
        uow=uow,
        review_id=review_id,
        client=client.client_id,
        statement=body.statement,
        clock=runtime.clock,
    )
    return StatementAdded(
        review_id=view.id,
        decision_id=view.decision_id,
        status=view.status.value,
        due_on=view.due_on,
    )
