"""Extensions: a senior reviewer moves a case's deadline, and the customer's notice goes out."""

from __future__ import annotations

from scoring.domain import review as rules
from scoring.domain.lifecycle import CaseEvent, case_transition
from scoring.domain.review import Actor, CaseStatus
from scoring.service.reviews.views import ReviewCaseView, case_view_of
from scoring.service.reviews.workflow import (
    Clock,
    clients_to_notify,
    event_data,
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
        if case.status == CaseStatus.RESOLVED.value:
            raise rules.WrongState(f"case {case_id} is resolved; its deadline cannot change")
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
        uow.webhook_outbox.enqueue(
            client_ids=clients_to_notify(case, progress),
            event_type="review.extended",
            review_case_id=case.id,
            data={
                **event_data(view, resulting_outcome=None),
                "extension_reason": extension.reason,
                "extended_due_on": rules.local_day(extension.extended_due_at).isoformat(),
            },
            now=now,
        )
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
