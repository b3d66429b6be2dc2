"""Who may do what: the domain's permission predicates, one table row per role."""

from __future__ import annotations

import pytest

from scoring.domain.permissions import (
    Actor,
    Role,
    is_read_only,
    may_approve_change,
    may_claim,
    may_enter_subject_requests,
    may_extend,
    may_propose_change,
    may_read_cases,
    may_second_sign,
    may_switch_automation,
    may_work_cases,
)

ME = 10
SOMEONE_ELSE = 20


def actor(role: Role, user_id: int = ME) -> Actor:
    return Actor(user_id, f"{role.value}-{user_id}", role)


# role: read cases, work cases, read-only, second-sign, extend deadlines
ROLE_TABLE = {
    Role.REVIEWER: (True, True, False, False, False),
    Role.SENIOR_REVIEWER: (True, True, False, True, True),
    Role.AUDITOR: (True, False, True, False, False),
    Role.ADMIN: (False, False, False, False, False),
    Role.RISK_ANALYST: (False, False, False, False, False),
    Role.RISK_APPROVER: (False, False, False, False, False),
    Role.OVERSIGHT: (False, False, False, False, False),
    Role.DATA_PROTECTION_OFFICER: (False, False, False, False, False),
}

# role: propose a change, approve another's change, approve one's own, stop automation,
# enter a data subject's request
CHANGE_TABLE = {
    Role.REVIEWER: (False, False, False, False, False),
    Role.SENIOR_REVIEWER: (False, False, False, True, False),
    Role.AUDITOR: (False, False, False, False, False),
    Role.ADMIN: (False, False, False, False, False),
    Role.RISK_ANALYST: (True, False, False, False, False),
    Role.RISK_APPROVER: (True, True, False, False, False),
    Role.OVERSIGHT: (False, False, False, True, False),
    Role.DATA_PROTECTION_OFFICER: (False, False, False, False, True),
}


def test_the_table_names_every_role():
    assert set(ROLE_TABLE) == set(Role) == set(CHANGE_TABLE)


@pytest.mark.parametrize(("role", "expected"), CHANGE_TABLE.items(), ids=lambda v: str(v))
def test_who_may_change_models_policies_and_the_stop_switch(role: Role, expected: tuple[bool, ...]):
    person = actor(role)
    assert (
        may_propose_change(person),
        may_approve_change(person, proposed_by=SOMEONE_ELSE),
        may_approve_change(person, proposed_by=ME),
        may_switch_automation(person),
        may_enter_subject_requests(person),
    ) == expected


@pytest.mark.parametrize(("role", "expected"), ROLE_TABLE.items(), ids=lambda v: str(v))
def test_what_each_role_may_do(role: Role, expected: tuple[bool, ...]):
    person = actor(role)
    assert (
        may_read_cases(person),
        may_work_cases(person),
        is_read_only(person),
        may_second_sign(person),
        may_extend(person),
    ) == expected


# Claiming, by who escalated the case: nobody, someone else, or the person asking.
CLAIM_TABLE = [
    (Role.REVIEWER, None, True),
    (Role.REVIEWER, SOMEONE_ELSE, False),
    (Role.REVIEWER, ME, False),
    (Role.SENIOR_REVIEWER, None, True),
    (Role.SENIOR_REVIEWER, SOMEONE_ELSE, True),
    (Role.SENIOR_REVIEWER, ME, False),
    (Role.AUDITOR, None, False),
    (Role.AUDITOR, SOMEONE_ELSE, False),
    (Role.ADMIN, None, False),
]


@pytest.mark.parametrize(("role", "escalated_by", "allowed"), CLAIM_TABLE)
def test_who_may_claim_an_ordinary_or_escalated_case(
    role: Role, escalated_by: int | None, allowed: bool
):
    assert may_claim(actor(role), escalated_by=escalated_by) is allowed


# Second-signing, by who proposed the outcome: someone else or the person asking.
SECOND_SIGN_TABLE = [
    (Role.SENIOR_REVIEWER, SOMEONE_ELSE, True),
    (Role.SENIOR_REVIEWER, ME, False),
    (Role.REVIEWER, SOMEONE_ELSE, False),
    (Role.AUDITOR, SOMEONE_ELSE, False),
    (Role.ADMIN, SOMEONE_ELSE, False),
]


@pytest.mark.parametrize(("role", "decided_by", "allowed"), SECOND_SIGN_TABLE)
def test_a_second_signature_comes_from_another_senior(role: Role, decided_by: int, allowed: bool):
    assert may_second_sign(actor(role), decided_by=decided_by) is allowed


def test_the_review_rules_and_the_services_ask_the_same_predicates():
    from scoring.domain import review

    assert review.Actor is Actor and review.Role is Role
    assert review.may_claim is may_claim
    assert review.may_work_cases is may_work_cases
    assert review.may_second_sign is may_second_sign
    assert review.may_extend is may_extend


def test_the_audit_log_and_the_pages_name_a_person_by_their_account():
    person = Actor(1, "sirje", Role.SENIOR_REVIEWER)
    assert person.label == "user:sirje"
    assert person.display_label == "sirje · senior reviewer"
