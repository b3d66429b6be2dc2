"""Steps every review use case shares: locking a case, checking its holder, writing the trail.

A use case takes a unit of work and a clock, checks the rules of ``scoring.domain.review``
before it writes, and records the change in the hash-chained audit log as the last write
of its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from scoring.domain import lifecycle
from scoring.domain import review as rules
from scoring.domain.lifecycle import CaseEvent, case_transition
from scoring.domain.review import Actor, CaseStatus
from scoring.service.errors import ReviewNotFound
from scoring.service.reviews.views import ReviewCaseView
from scoring.storage.audit_log import AuditLog
from scoring.storage.review_cases import ReviewCaseRepository
from scoring.storage.tables import ReviewCase
from scoring.storage.tables_reviews import ReviewCaseProgress
from scoring.storage.webhook_outbox import WebhookOutbox

Clock = Callable[[], datetime]
# The audit log's entity type of review cases.
ENTITY = "review_case"


def utc_now() -> datetime:
    return datetime.now(UTC)


def lock_case(cases: ReviewCaseRepository, case_id: str) -> ReviewCase:
    """Load a case for changing it, locked; ``ReviewNotFound`` if there is none."""
    case = cases.lock(case_id)
    if case is None:
        raise ReviewNotFound(f"no review case {case_id}")
    return case


def load_case(cases: ReviewCaseRepository, case_id: str) -> ReviewCase:
    """Load a case to read it; ``ReviewNotFound`` if there is none."""
    case = cases.get(case_id)
    if case is None:
        raise ReviewNotFound(f"no review case {case_id}")
    return case


def record(
    audit_log: AuditLog,
    *,
    now: datetime,
    actor: str,
    action: str,
    case_id: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append what happened to the case to the audit log."""
    audit_log.append(
        at=now,
        actor=actor,
        action=action,
        entity_type=ENTITY,
        entity_id=case_id,
        details=details,
    )


def require_holder(case: ReviewCase, reviewer: Actor, action: str) -> None:
    """Refuse unless the reviewer may work cases and holds this one (``CaseClosed`` once the
    case is resolved)."""
    rules.require_worker(reviewer, action)
    lifecycle.refuse_if_closed(case.status, case_id=case.id, action=action)
    if case.status != CaseStatus.CLAIMED or case.claimed_by != reviewer.user_id:
        raise rules.WrongState(
            f"{reviewer.username} does not hold case {case.id}; claim it before you {action}"
        )


def unclaim(case: ReviewCase, event: CaseEvent) -> None:
    """Put the case back in the queue, held by nobody (a release, escalation or refusal)."""
    case.status = case_transition(case.status, event).value
    case.claimed_by = None
    case.claimed_at = None


def clients_to_notify(case: ReviewCase, progress: ReviewCaseProgress) -> list[str]:
    """The client whose application it was, and the one that opened the case if another."""
    clients = [case.decision.application.client_id]
    if progress.opened_by_client_id and progress.opened_by_client_id not in clients:
        clients.append(progress.opened_by_client_id)
    return clients


def announce(
    outbox: WebhookOutbox,
    case: ReviewCase,
    progress: ReviewCaseProgress,
    view: ReviewCaseView,
    *,
    event: CaseEvent | None,
    previous_status: str | None,
    now: datetime,
    resulting_outcome: str | None = None,
    extra: Mapping[str, Any] | None = None,
    client_ids: list[str] | None = None,
) -> None:
    """Tell the case's clients it moved (``event``; None when it was opened): one webhook
    event in the outbox, in the transaction of the move. ``client_ids`` when the caller
    knows them spares reading them through the decision."""
    event_type = lifecycle.CASE_OPENED if event is None else lifecycle.announced_as(event)
    if event_type is None:
        return
    data = event_data(view, resulting_outcome=resulting_outcome, previous_status=previous_status)
    outbox.enqueue(
        client_ids=client_ids if client_ids is not None else clients_to_notify(case, progress),
        event_type=event_type,
        review_case_id=case.id,
        data={**data, **(extra or {})},
        now=now,
        opens_case=event is None,
    )


def event_data(
    view: ReviewCaseView, *, resulting_outcome: str | None, previous_status: str | None = None
) -> dict[str, Any]:
    """The ``data`` of a webhook event about the case.

    A reviewer's outcome is told only once the case is resolved: a proposal waiting for a
    second signature may still be sent back, and the customer must not hear of it as done.
    """
    resolved = view.status is CaseStatus.RESOLVED
    return {
        "review_id": view.id,
        "decision_id": view.decision_id,
        "kind": view.kind.value,
        "status": view.status.value,
        "previous_status": previous_status,
        "decision_state": lifecycle.state_while_case(view.kind, view.status).value,
        "outcome": view.outcome.value if view.outcome and resolved else None,
        "resulting_decision_id": view.resulting_decision_id,
        "resulting_outcome": resulting_outcome,
        "new_terms": (
            {"amount_eur": view.new_terms.amount_eur, "term_months": view.new_terms.term_months}
            if view.new_terms and resolved
            else None
        ),
        "due_on": view.due_on.isoformat(),
        "resolved_at": view.resolved_at.isoformat() if view.resolved_at else None,
    }
