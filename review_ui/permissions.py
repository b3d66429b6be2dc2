"""Which forms a case page shows: the domain's permission predicates applied to one case.

Who may do what is decided in ``scoring.domain.permissions``; this only combines those
answers with the state of the case on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.domain.permissions import (
    Actor,
    may_claim,
    may_extend,
    may_second_sign,
    may_work_cases,
)
from scoring.domain.review import CaseStatus
from scoring.service.reviews import ReviewCaseView


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


def case_permissions(actor: Actor, case: ReviewCaseView) -> CasePermissions:
    """The forms to show on a case page, from the person's role and the case's state."""
    status = case.status
    holds = status is CaseStatus.CLAIMED and case.claimed_by == actor.user_id
    works = may_work_cases(actor)
    # An escalated case is for another senior reviewer: nobody else is offered to claim it.
    claimable = status is CaseStatus.OPEN and may_claim(actor, escalated_by=case.escalated_by)
    return CasePermissions(
        claim=claimable,
        decide=works and holds,
        skip=holds or claimable,
        release=works and holds,
        escalate=works and holds,
        second_sign=status is CaseStatus.AWAITING_SECOND_SIGNATURE
        and may_second_sign(actor, decided_by=case.decided_by),
        extend=may_extend(actor) and status is not CaseStatus.RESOLVED,
    )
