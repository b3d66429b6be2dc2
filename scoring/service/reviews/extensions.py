"""Extensions: a senior reviewer moves a case's deadline, and the customer's notice goes out."""

from __future__ import annotations

from scoring.domain import review as rules
from scoring.domain.lifecycle import CaseEvent, case_transition, refuse_if_closed
from scoring.domain.review import Actor
from scoring.service.reviews.views import ReviewCaseView, case_view_of
from scoring.service.reviews.workflow import (
    Clock,
    announce,
    lock_case,
    record,
    utc_now,
)
from scoring.storage.db import UnitOfWork


def extend_case(
    *,
    uow: UnitOfWork,
    case_id: str,
    reviewer: Actor,
    further_months: int,
    reason: str,
    clock: Clock = utc_now,
) -> ReviewCaseView:
    """A senior reviewer extends the deadline; the customer's notice goes out at once."""
    now = clock()
    with uow:
        cases = uow.review_cases
        case = lock_case(cases, case_id)
        refuse_if_closed(case.status, case_id=case_id, action="move its deadline")
        case_transition(case.status, CaseEvent.EXTEND)
        extension = rules.plan_extension(
            actor=reviewer,
            received_at=case.received_at,
            due_at=case.due_at,
            extended_due_at=case.extended_due_at,
            further_months=further_months,
            reason=reason,
            now=now,
        )
        case.extended_due_at = extension.extended_due_at
        case.extension_reason = extension.reason
        # The notice is handed to the client's channel now, inside the first month.
        case.extension_notice_sent_at = now
        progress = cases.progress_for_change(case.id)
        view = case_view_of(case, progress, now)
        announce(
            uow.webhook_outbox, case, progress, view,
            event=CaseEvent.EXTEND, previous_status=case.status, now=now,
            extra={
                "extension_reason": extension.reason,
                "extended_due_on": rules.local_day(extension.extended_due_at).isoformat(),
            },
        )  # fmt: skip
        record(
            uow.audit_log,
            now=now,
            actor=reviewer.label,
            action="extended",
            case_id=case.id,
            details={
                "further_months": further_months,
                "reason": extension.reason,
                "extended_due_at": extension.extended_due_at,
                "notice_due_at": extension.notice_due_at,
            },
        )
        return view
