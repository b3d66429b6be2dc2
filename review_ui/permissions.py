"""Who may do what in the reviewer UI: small predicates over the signed-in reviewer."""

from __future__ import annotations

from dataclasses import dataclass

from review_ui.accounts import Reviewer
from scoring.domain.review import Actor, Role, may_claim
from scoring.service.reviews import ReviewCaseView

WORKING_ROLES = frozenset({"reviewer", "senior_reviewer"})


def can_read_cases(reviewer: Reviewer) -> bool:
    """Every role sees the queue, the cases, the audit trails and the oversight views."""
    return reviewer.role in WORKING_ROLES | {"auditor"}


def can_work_cases(reviewer: Reviewer) -> bool:
    """Claim, skip, release, escalate and decide cases."""
    return reviewer.role in WORKING_ROLES


def can_second_sign(reviewer: Reviewer) -> bool:
    return reviewer.role == "senior_reviewer"


def can_extend_deadline(reviewer: Reviewer) -> bool:
    return reviewer.role == "senior_reviewer"


def actor_of(reviewer: Reviewer) -> Actor:
    """The review rules' view of the signed-in reviewer."""
    return Actor(user_id=reviewer.id, username=reviewer.username, role=Role(reviewer.role))


def is_read_only(reviewer: Reviewer) -> bool:
    """An auditor sees everything and changes nothing."""
    return not can_work_cases(reviewer)


@dataclass(frozen=True)
class CasePermissions:
    """Which of a case page's forms the signed-in person gets; an auditor gets none."""

    claim: bool
    decide: bool
    skip: bool
    release: bool
    escalate: bool
    second_sign: bool
    extend: bool


def case_permissions(reviewer: Reviewer, case: ReviewCaseView) -> CasePermissions:
    """The forms to show on a case page, from the role and the case's state."""
    status = case.status.value
    holds = status == "claimed" and case.claimed_by == reviewer.id
    works = can_work_cases(reviewer)
    # An escalated case is for another senior reviewer: nobody else is offered to claim it.
    claimable = (
        works and status == "open" and may_claim(actor_of(reviewer), escalated_by=case.escalated_by)
    )
    return CasePermissions(
        claim=claimable,
        decide=works and holds,
        skip=holds or claimable,
        release=works and holds,
        escalate=works and holds,
        second_sign=can_second_sign(reviewer)
        and status == "awaiting_second_signature"
        and case.decided_by != reviewer.id,
        extend=can_extend_deadline(reviewer) and status != "resolved",
    )
