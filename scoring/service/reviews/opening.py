"""Opening cases and adding to them: a client contests an automated decision, a decision the
assessment did not settle goes to a person, and the customer adds a statement to an open case.

The moves a case and its decision may make are ``scoring.domain.lifecycle``'s."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from scoring.domain import lifecycle
from scoring.domain import review as rules
from scoring.domain.lifecycle import CaseEvent
from scoring.domain.review import CaseKind, CaseStatus
from scoring.service.errors import (
    AlreadyContested,
    DecisionNotFound,
    InvalidContest,
    NotContestable,
    ReviewNotFound,
    StatementLimitReached,
)
from scoring.service.reviews.views import ReviewCaseView, case_view_of
from scoring.service.reviews.workflow import (
    Clock,
    announce,
    clients_to_notify,
    lock_case,
    record,
    utc_now,
)
from scoring.storage.audit_log import AuditLog
from scoring.storage.db import UnitOfWork
from scoring.storage.review_cases import ReviewCaseRepository
from scoring.storage.tables import ReviewCase
from scoring.storage.tables_reviews import ReviewCaseProgress
from scoring.storage.webhook_outbox import WebhookOutbox

# The statements added to a case are kept in one text, each after a dated line.
STATEMENT_SEPARATOR = "\n\n--- added {at} ---\n"


@dataclass(frozen=True)
class Attachment:
    """Metadata of a file the customer attached; the file itself is not kept here."""

    name: str
    content_type: str
    size_bytes: int


def contest_decision(
    *,
    uow: UnitOfWork,
    decision_id: str,
    client: str | None,
    statement: str,
    attachments: Sequence[Attachment] = (),
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """Open a contest case for an automated decision, due one month after receipt."""
    try:
        statement = rules.check_statement(statement)
    except rules.InvalidInput as error:
        raise InvalidContest(str(error), field="statement") from None
    for attachment in attachments:
        if not attachment.name.strip() or attachment.size_bytes < 0:
            raise InvalidContest(
                "each attachment needs a name and a non-negative size", field="attachments"
            )
    now = clock()
    with uow:
        cases = uow.review_cases
        cases.lock_for_writing()
        decision = cases.decision(decision_id)
        if decision is None or (client is not None and decision.application.client_id != client):
            raise DecisionNotFound(f"no decision {decision_id}")
        open_case = cases.open_case_of(decision_id)
        refusal = lifecycle.contest_refusal(
            decision_id=decision_id,
            outcome=decision.outcome,
            automated=decision.automated,
            superseded_by=cases.superseding_decision_id(decision_id),
            supersedes=decision.supersedes_decision_id,
            open_case_id=open_case.id if open_case is not None else None,
            contestable_until=decision.contestable_until,
            now=now,
        )
        if refusal is not None:
            raise NotContestable(refusal)
        existing = cases.contest_case_id(decision_id)
        if existing is not None:
            raise AlreadyContested(
                f"decision {decision_id} is already contested (review {existing})"
            )
        case, progress = _new_case(
            cases,
            decision_id=decision_id,
            kind=CaseKind.CONTEST,
            statement=statement,
            now=now,
            client=client,
            attachments=[vars(a) for a in attachments],
        )
        view = case_view_of(case, progress, now)
        announce(
            uow.webhook_outbox, case, progress, view, event=None, previous_status=None, now=now
        )
        record(
            uow.audit_log,
            now=now,
            actor=f"client:{client}" if client else "system",
            action="case_opened",
            case_id=case.id,
            details={
                "kind": CaseKind.CONTEST.value,
                "decision_id": decision_id,
                "due_at": case.due_at,
                "attachments": len(attachments),
            },
        )
    return view


def open_case_for_pending_decision(
    *,
    session: Session,
    decision_id: str,
    kind: CaseKind,
    case_id: str | None = None,
    clock: Clock = utc_now,
    client_id: str | None = None,
) -> ReviewCaseView:
    """Open the case for a decision the assessment did not settle (a refer, a requested
    review, an objection, the stop switch), and tell the client it is open.

    Runs inside the caller's transaction, so the decision and its case are stored together.
    ``client_id`` is the client whose application it is, when the caller knows it (else it
    is read through the decision).
    """
    if kind is CaseKind.CONTEST:
        raise ValueError("contest cases are opened by contest_decision")
    now = clock()
    cases = ReviewCaseRepository(session)
    case, progress = _new_case(
        cases,
        decision_id=decision_id,
        kind=kind,
        statement=None,
        now=now,
        client=None,
        attachments=[],
        case_id=case_id,
    )
    # The event needs no triage columns, and they would load the decision back through the
    # session: this runs in the decision's own transaction, on the decision path.
    view = case_view_of(case, progress, now, triage=False)
    announce(
        WebhookOutbox(session),
        case,
        progress,
        view,
        event=None,
        previous_status=None,
        now=now,
        client_ids=[client_id] if client_id is not None else None,
    )
    record(
        AuditLog(session),
        now=now,
        actor="system",
        action="case_opened",
        case_id=case.id,
        details={"kind": kind.value, "decision_id": decision_id, "due_at": case.due_at},
    )
    return view


def _new_case(
    cases: ReviewCaseRepository,
    *,
    decision_id: str,
    kind: CaseKind,
    statement: str | None,
    now: datetime,
    client: str | None,
    attachments: list[dict[str, Any]],
    case_id: str | None = None,
) -> tuple[ReviewCase, ReviewCaseProgress]:
    case = ReviewCase(
        id=case_id or str(uuid.uuid4()),
        decision_id=decision_id,
        kind=kind.value,
        status=CaseStatus.OPEN.value,
        statement=statement,
        received_at=now,
        due_at=rules.case_due_at(now),
    )
    progress = ReviewCaseProgress(
        case_id=case.id, opened_by_client_id=client, attachments=attachments
    )
    cases.add(case, progress)
    return case, progress


def add_statement(
    *,
    uow: UnitOfWork,
    review_id: str,
    client: str | None,
    statement: str,
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """The customer's statement added to a case still open; refused once it is resolved."""
    try:
        statement = rules.check_statement(statement)
    except rules.InvalidInput as error:
        raise InvalidContest(str(error), field="statement") from None
    now = clock()
    with uow:
        cases = uow.review_cases
        case = lock_case(cases, review_id)
        progress = cases.progress_for_change(case.id)
        if client is not None and client not in clients_to_notify(case, progress):
            raise ReviewNotFound(f"no review {review_id}")
        lifecycle.refuse_if_closed(case.status, case_id=case.id, action="add a statement to it")
        case.status = lifecycle.case_transition(case.status, CaseEvent.ADD_STATEMENT).value
        combined = (
            statement
            if not case.statement
            else case.statement + STATEMENT_SEPARATOR.format(at=now.isoformat()) + statement
        )
        if len(combined) > rules.MAX_STATEMENT_CHARS * 2:
            raise StatementLimitReached(
                "the case holds as much of the customer's statement as it can take; "
                "send further material as an attachment",
                field="statement",
            )
        case.statement = combined
        view = case_view_of(case, progress, now)
        # The reviewer reads the statement; the sales system hears only that it arrived.
        announce(
            uow.webhook_outbox, case, progress, view,
            event=CaseEvent.ADD_STATEMENT, previous_status=case.status, now=now,
        )  # fmt: skip
        record(
            uow.audit_log,
            now=now,
            actor=f"client:{client}" if client else "system",
            action="statement_added",
            case_id=case.id,
            details={"characters": len(statement)},
        )
    return view
