"""Opening cases: a client contests an automated decision, or a decision goes to a person."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from scoring.domain import review as rules
from scoring.domain.review import CaseKind, CaseStatus
from scoring.service.errors import (
    AlreadyContested,
    DecisionNotFound,
    InvalidContest,
    NotContestable,
)
from scoring.service.reviews.views import ReviewCaseView, case_view_of
from scoring.service.reviews.workflow import Clock, record, utc_now
from scoring.storage.audit_log import AuditLog
from scoring.storage.db import UnitOfWork
from scoring.storage.review_cases import ReviewCaseRepository
from scoring.storage.tables import ReviewCase
from scoring.storage.tables_reviews import ReviewCaseProgress


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
        if decision.supersedes_decision_id is not None or not decision.automated:
            raise NotContestable(
                f"decision {decision_id} was made by a person; it is not an automated decision "
                "and cannot be contested here"
            )
        if decision.contestable_until is not None and now > decision.contestable_until:
            raise NotContestable(
                f"decision {decision_id} could be contested until "
                f"{decision.contestable_until.date().isoformat()}"
            )
        existing = cases.contest_case_id(decision_id)
        if existing is not None:
            raise AlreadyContested(
                f"decision {decision_id} is already contested (review {existing})"
            )
        case = _new_case(
            cases,
            decision_id=decision_id,
            kind=CaseKind.CONTEST,
            statement=statement,
            now=now,
            client=client,
            attachments=[vars(a) for a in attachments],
        )
        view = case_view_of(case, cases.progress_for_change(case.id), now)
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
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """Open the case for a decision sent to a person (requested review or an objection).

    Runs inside the caller's transaction, so the decision and its case are stored together.
    """
    if kind is CaseKind.CONTEST:
        raise ValueError("contest cases are opened by contest_decision")
    now = clock()
    cases = ReviewCaseRepository(session)
    case = _new_case(
        cases,
        decision_id=decision_id,
        kind=kind,
        statement=None,
        now=now,
        client=None,
        attachments=[],
    )
    view = case_view_of(case, cases.progress_for_change(case.id), now)
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
) -> ReviewCase:
    case = ReviewCase(
        id=str(uuid.uuid4()),
        decision_id=decision_id,
        kind=kind.value,
        status=CaseStatus.OPEN.value,
        statement=statement,
        received_at=now,
        due_at=rules.case_due_at(now),
    )
    cases.add(
        case,
        ReviewCaseProgress(case_id=case.id, opened_by_client_id=client, attachments=attachments),
    )
    return case
