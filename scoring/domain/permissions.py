"""Who is acting, and what they may do: the one set of permission predicates.

``Actor`` is the person working in the review tool, as services, the reviewer UI and the
API pass them around; the account's stored row stays in storage and account code. Each
predicate answers one question about one action from the person's role (and, where the
rule needs it, who escalated or proposed a case). The services ask them before they
change anything; the reviewer UI asks the same ones to decide which forms to show.

Standard library only, like the rest of ``scoring.domain``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Role(StrEnum):
    REVIEWER = "reviewer"
    SENIOR_REVIEWER = "senior_reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"
    # The risk team's change control and the oversight stop switch (issue 23, R19/R20).
    RISK_ANALYST = "risk_analyst"
    RISK_APPROVER = "risk_approver"
    OVERSIGHT = "oversight"
    # Enters data-subject requests for people identified in person or by letter (R18).
    DATA_PROTECTION_OFFICER = "data_protection_officer"


@dataclass(frozen=True)
class Actor:
    """A person working in the review tool: who they are, their role, and how to name them."""

    user_id: int
    username: str
    role: Role
    training_completed_on: date | None = None

    @property
    def label(self) -> str:
        """How the audit log names this person."""
        return f"user:{self.username}"

    @property
    def display_label(self) -> str:
        """How pages name this person: username and role in words."""
        return f"{self.username} · {self.role.value.replace('_', ' ')}"


# Roles that work the queue, and roles that may look at cases at all.
CASE_WORKERS = frozenset({Role.REVIEWER, Role.SENIOR_REVIEWER})
CASE_READERS = CASE_WORKERS | {Role.AUDITOR}


def may_read_cases(actor: Actor) -> bool:
    """Reviewers, senior reviewers and auditors see the queue, cases, audit trails, oversight."""
    return actor.role in CASE_READERS


def may_work_cases(actor: Actor) -> bool:
    """Reviewers and senior reviewers claim, skip, release, escalate and decide cases."""
    return actor.role in CASE_WORKERS


def is_read_only(actor: Actor) -> bool:
    """An auditor sees everything and changes nothing."""
    return may_read_cases(actor) and not may_work_cases(actor)


def may_claim(actor: Actor, *, escalated_by: int | None) -> bool:
    """Any case worker may claim an ordinary case; an escalated one only another senior."""
    if not may_work_cases(actor):
        return False
    if escalated_by is None:
        return True
    return may_take_escalated(actor) and actor.user_id != escalated_by


def may_take_escalated(actor: Actor) -> bool:
    """Escalated cases go to senior reviewers (other than the one who escalated the case)."""
    return actor.role is Role.SENIOR_REVIEWER


def may_second_sign(actor: Actor, *, decided_by: int | None = None) -> bool:
    """A senior reviewer other than the one who proposed the outcome (None: not known yet)."""
    return actor.role is Role.SENIOR_REVIEWER and actor.user_id != decided_by


def may_extend(actor: Actor) -> bool:
    """Only a senior reviewer extends a case's deadline."""
    return actor.role is Role.SENIOR_REVIEWER


# Who may ask for a model or policy change, and who may let one take effect.
CHANGE_PROPOSERS = frozenset({Role.RISK_ANALYST, Role.RISK_APPROVER})
OVERSEERS = frozenset({Role.OVERSIGHT, Role.SENIOR_REVIEWER})


def may_propose_change(actor: Actor) -> bool:
    """Risk analysts and approvers propose a champion, a policy or a rollback."""
    return actor.role in CHANGE_PROPOSERS


def may_approve_change(actor: Actor, *, proposed_by: int | None) -> bool:
    """An approver other than the proposer (four eyes) approves or refuses a change."""
    return actor.role is Role.RISK_APPROVER and actor.user_id != proposed_by


def may_switch_automation(actor: Actor) -> bool:
    """The oversight role (and senior reviewers) stop and restart automated decisions."""
    return actor.role in OVERSEERS


def may_enter_subject_requests(actor: Actor) -> bool:
    """Only the data-protection officer enters access, erasure and objection requests."""
    return actor.role is Role.DATA_PROTECTION_OFFICER
