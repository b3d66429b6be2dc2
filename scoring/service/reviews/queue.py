"""The reviewer queue: what a reviewer holds and may claim, and claiming, keeping, releasing,
skipping and escalating a case.

Two reviewers can never hold the same case: the repository picks the next case with
``SKIP LOCKED`` on PostgreSQL and under the write lock on SQLite, and a claim is a
conditional UPDATE whose row count is checked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from scoring.domain import review as rules
from scoring.domain.lifecycle import CaseEvent, case_transition, refuse_if_closed
from scoring.domain.permissions import may_second_sign
from scoring.domain.review import Actor, CaseStatus, Role
from scoring.service.errors import InvalidQueueOrder
from scoring.service.reviews.views import ReviewCaseView, case_view_of, case_views_of
from scoring.service.reviews.workflow import (
    Clock,
    announce,
    lock_case,
    record,
    require_holder,
    unclaim,
    utc_now,
)
from scoring.storage.db import UnitOfWork
from scoring.storage.review_cases import ReviewCaseRepository
from scoring.storage.tables import ReviewCase


def queue_for(*, session: Session, reviewer: Actor, now: datetime) -> list[ReviewCaseView]:
    """The cases a reviewer holds, then those they may claim, each group oldest due first."""
    if not rules.may_work_cases(reviewer):
        return []
    cases = ReviewCaseRepository(session)
    held = cases.held_by(reviewer.user_id)
    claimable = cases.claimable_for(reviewer, now)
    listed = held + [c for c in claimable if c.claimed_by != reviewer.user_id]
    return case_views_of(listed, cases.progress_of(listed), now)


def awaiting_signature_for(
    *, session: Session, reviewer: Actor, now: datetime
) -> list[ReviewCaseView]:
    """Proposals a senior reviewer may second-sign (not their own), oldest due first."""
    if not may_second_sign(reviewer):
        return []
    cases = ReviewCaseRepository(session)
    waiting = cases.awaiting_signature_for(reviewer.user_id)
    return case_views_of(waiting, cases.progress_of(waiting), now)


def list_cases(
    *, session: Session, now: datetime, status: CaseStatus | None = None, limit: int = 500
) -> list[ReviewCaseView]:
    """All cases (or those in one status), oldest due first: the read-only overview."""
    cases = ReviewCaseRepository(session)
    listed = cases.overview(status=status, limit=limit)
    return case_views_of(listed, cases.progress_of(listed), now)


def claim_next_case(
    *, uow: UnitOfWork, reviewer: Actor, clock: Clock = utc_now
) -> ReviewCaseView | None:
    """Give the reviewer the next case (oldest due first); None when nothing is waiting."""
    rules.require_worker(reviewer, "claim cases")
    now = clock()
    with uow:
        candidate = uow.review_cases.next_claimable_for(reviewer, now)
        if candidate is None:
            return None
        return _claim(uow, candidate, reviewer, now)


def claim_case(
    *, uow: UnitOfWork, case_id: str, reviewer: Actor, clock: Clock = utc_now
) -> ReviewCaseView:
    """Claim one particular case from the queue, if nobody else holds it."""
    rules.require_worker(reviewer, "claim cases")
    now = clock()
    with uow:
        cases = uow.review_cases
        case = lock_case(cases, case_id)
        refuse_if_closed(case.status, case_id=case_id, action="claim it")
        if case.status == CaseStatus.CLAIMED.value and case.claimed_by == reviewer.user_id:
            # Claiming a case one holds renews the claim; the case does not move.
            case.claimed_at = now
            return case_view_of(case, cases.progress_for_change(case.id), now)
        progress = cases.progress(case_id)
        escalated_by = progress.escalated_by if progress is not None else None
        waiting = case.status in (CaseStatus.OPEN.value, CaseStatus.CLAIMED.value)
        if waiting and not rules.may_claim(reviewer, escalated_by=escalated_by):
            raise rules.NotPermitted(
                f"case {case_id} was escalated to the senior reviewers"
                + (" by you" if escalated_by == reviewer.user_id else "")
                + "; another senior reviewer must take it"
            )
        if not cases.is_claimable_by(case_id, reviewer, now):
            raise rules.WrongState(
                f"case {case_id} is {case.status.replace('_', ' ')}"
                + (" by another reviewer" if case.status == CaseStatus.CLAIMED.value else "")
                + "; it cannot be claimed now"
            )
        return _claim(uow, case, reviewer, now)


def _claim(uow: UnitOfWork, case: ReviewCase, reviewer: Actor, now: datetime) -> ReviewCaseView:
    cases = uow.review_cases
    previous = case.status
    lapsed_holder = case.claimed_by if case.status == CaseStatus.CLAIMED.value else None
    case_transition(case.status, CaseEvent.CLAIM)
    if not cases.take_claim(case, reviewer, now):
        raise rules.WrongState(f"case {case.id} was claimed by someone else a moment ago")
    progress = cases.progress_for_change(case.id)
    view = case_view_of(case, progress, now)
    announce(
        uow.webhook_outbox, case, progress, view,
        event=CaseEvent.CLAIM, previous_status=previous, now=now,
    )  # fmt: skip
    if lapsed_holder is not None:
        record(
            uow.audit_log,
            now=now,
            actor="system",
            action="claim_expired",
            case_id=case.id,
            details={"held_by": lapsed_holder},
        )
    record(uow.audit_log, now=now, actor=reviewer.label, action="claimed", case_id=case.id)
    return view


def keep_claim(
    *, uow: UnitOfWork, case_id: str, reviewer: Actor, clock: Clock = utc_now
) -> ReviewCaseView:
    """Renew the reviewer's claim while they work on the case, so it does not lapse."""
    now = clock()
    with uow:
        cases = uow.review_cases
        case = lock_case(cases, case_id)
        require_holder(case, reviewer, "keep working on it")
        case.status = case_transition(case.status, CaseEvent.KEEP).value
        case.claimed_at = now
        return case_view_of(case, cases.progress_for_change(case.id), now)


def release_case(
    *, uow: UnitOfWork, case_id: str, reviewer: Actor, clock: Clock = utc_now
) -> ReviewCaseView:
    """Give a held case back to the queue."""
    now = clock()
    with uow:
        cases = uow.review_cases
        case = lock_case(cases, case_id)
        require_holder(case, reviewer, "release it")
        previous = case.status
        unclaim(case, CaseEvent.RELEASE)
        progress = cases.progress_for_change(case.id)
        view = case_view_of(case, progress, now)
        announce(
            uow.webhook_outbox, case, progress, view,
            event=CaseEvent.RELEASE, previous_status=previous, now=now,
        )  # fmt: skip
        record(uow.audit_log, now=now, actor=reviewer.label, action="released", case_id=case.id)
        return view


def skip_case(
    *, uow: UnitOfWork, case_id: str, reviewer: Actor, clock: Clock = utc_now
) -> ReviewCaseView:
    """Skip for now: release the case if held, and do not offer it to this reviewer for a while."""
    rules.require_worker(reviewer, "skip cases")
    now = clock()
    with uow:
        cases = uow.review_cases
        case = lock_case(cases, case_id)
        refuse_if_closed(case.status, case_id=case_id, action="skip it")
        progress = cases.progress_for_change(case.id)
        if case.status == CaseStatus.CLAIMED.value and case.claimed_by == reviewer.user_id:
            # Skipping a case one holds releases it; skipping one in the queue moves nothing.
            unclaim(case, CaseEvent.RELEASE)
            announce(
                uow.webhook_outbox, case, progress, case_view_of(case, progress, now),
                event=CaseEvent.RELEASE, previous_status=CaseStatus.CLAIMED.value, now=now,
            )  # fmt: skip
        until = now + rules.SKIP_FOR
        cases.skip(case_id, reviewer.user_id, until)
        record(
            uow.audit_log,
            now=now,
            actor=reviewer.label,
            action="skipped",
            case_id=case.id,
            details={"until": until},
        )
        return case_view_of(case, progress, now)


def escalate_case(
    *, uow: UnitOfWork, case_id: str, reviewer: Actor, note: str, clock: Clock = utc_now
) -> ReviewCaseView:
    """Hand a held case to the senior reviewers with a note; the holder cannot take it back."""
    rules.require_worker(reviewer, "escalate cases")
    note = rules.check_escalation_note(note)
    now = clock()
    with uow:
        cases = uow.review_cases
        case = lock_case(cases, case_id)
        require_holder(case, reviewer, "escalate it")
        progress = cases.progress_for_change(case.id)
        progress.escalated_by = reviewer.user_id
        progress.escalated_at = now
        progress.escalation_note = note
        previous = case.status
        unclaim(case, CaseEvent.ESCALATE)
        view = case_view_of(case, progress, now)
        # The note is for the senior reviewers; the sales system hears only that it moved.
        announce(
            uow.webhook_outbox, case, progress, view,
            event=CaseEvent.ESCALATE, previous_status=previous, now=now,
        )  # fmt: skip
        record(
            uow.audit_log,
            now=now,
            actor=reviewer.label,
            action="escalated",
            case_id=case.id,
            details={"to": Role.SENIOR_REVIEWER.value, "note": note},
        )
        return view


QUEUE_ORDERS = ("due", "amount", "received")


def arranged(
    cases: list[ReviewCaseView],
    *,
    order: str = "due",
    product: str | None = None,
    outcome: str | None = None,
) -> list[ReviewCaseView]:
    """The queue filtered by product and decision outcome and sorted (deadline first by default).

    An unknown order is refused with the orders there are.
    """
    if order not in QUEUE_ORDERS:
        raise InvalidQueueOrder(f"sort must be one of {', '.join(QUEUE_ORDERS)}, not {order!r}")
    kept = [
        c
        for c in cases
        if (product is None or (c.triage is not None and c.triage.product_category == product))
        and (outcome is None or (c.triage is not None and c.triage.outcome == outcome))
    ]
    if order == "amount":
        return sorted(kept, key=lambda c: -(c.triage.amount_eur if c.triage else 0.0))
    if order == "received":
        return sorted(kept, key=lambda c: c.received_at)
    return sorted(kept, key=lambda c: c.effective_due_at)
