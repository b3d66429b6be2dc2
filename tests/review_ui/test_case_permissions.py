"""Which forms a case page offers: one row per role and case state."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from review_ui.permissions import CasePermissions, case_permissions
from scoring.domain.permissions import Actor, Role
from scoring.domain.review import CaseStatus

ME = 10
SOMEONE_ELSE = 20
FORMS = tuple(CasePermissions.__dataclass_fields__)


@dataclass(frozen=True)
class CaseOnPage:
    """The part of a case view the forms depend on."""

    status: CaseStatus
    claimed_by: int | None = None
    escalated_by: int | None = None
    decided_by: int | None = None


STATES = {
    "open": CaseOnPage(CaseStatus.OPEN),
    "open, escalated by someone else": CaseOnPage(CaseStatus.OPEN, escalated_by=SOMEONE_ELSE),
    "open, escalated by me": CaseOnPage(CaseStatus.OPEN, escalated_by=ME),
    "held by me": CaseOnPage(CaseStatus.CLAIMED, claimed_by=ME),
    "held by someone else": CaseOnPage(CaseStatus.CLAIMED, claimed_by=SOMEONE_ELSE),
    "proposed by someone else": CaseOnPage(
        CaseStatus.AWAITING_SECOND_SIGNATURE, decided_by=SOMEONE_ELSE
    ),
    "proposed by me": CaseOnPage(CaseStatus.AWAITING_SECOND_SIGNATURE, decided_by=ME),
    "resolved": CaseOnPage(CaseStatus.RESOLVED, decided_by=SOMEONE_ELSE),
}
HOLDER = {"decide", "skip", "release", "escalate"}

# (role, state): the forms shown. An auditor never holds a case, so that row is left out.
TABLE = {
    (Role.REVIEWER, "open"): {"claim", "skip"},
    (Role.REVIEWER, "open, escalated by someone else"): set(),
    (Role.REVIEWER, "open, escalated by me"): set(),
    (Role.REVIEWER, "held by me"): HOLDER,
    (Role.REVIEWER, "held by someone else"): set(),
    (Role.REVIEWER, "proposed by someone else"): set(),
    (Role.REVIEWER, "proposed by me"): set(),
    (Role.REVIEWER, "resolved"): set(),
    (Role.SENIOR_REVIEWER, "open"): {"claim", "skip", "extend"},
    (Role.SENIOR_REVIEWER, "open, escalated by someone else"): {"claim", "skip", "extend"},
    (Role.SENIOR_REVIEWER, "open, escalated by me"): {"extend"},
    (Role.SENIOR_REVIEWER, "held by me"): HOLDER | {"extend"},
    (Role.SENIOR_REVIEWER, "held by someone else"): {"extend"},
    (Role.SENIOR_REVIEWER, "proposed by someone else"): {"second_sign", "extend"},
    (Role.SENIOR_REVIEWER, "proposed by me"): {"extend"},
    (Role.SENIOR_REVIEWER, "resolved"): set(),
    (Role.AUDITOR, "open"): set(),
    (Role.AUDITOR, "open, escalated by someone else"): set(),
    (Role.AUDITOR, "held by someone else"): set(),
    (Role.AUDITOR, "proposed by someone else"): set(),
    (Role.AUDITOR, "resolved"): set(),
}


@pytest.mark.parametrize(
    ("role", "state"), list(TABLE), ids=[f"{role.value}: {state}" for role, state in TABLE]
)
def test_the_forms_a_case_page_offers(role: Role, state: str):
    person = Actor(ME, f"{role.value}-me", role)
    permissions = case_permissions(person, STATES[state])  # type: ignore[arg-type]
    shown = {form for form in FORMS if getattr(permissions, form)}
    assert shown == TABLE[(role, state)]
