"""Review cases (GDPR Art. 22(3), Art. 12(3)-(4)): states and rules; the moves are in ``lifecycle``.

A case is ``open`` until a reviewer claims it, ``claimed`` while one reviewer holds it,
``awaiting_second_signature`` when the proposed outcome grants more credit than a single
reviewer may, and ``resolved`` when the outcome stands. A reviewer who holds a case may
escalate it with a note: it goes back to the queue for senior reviewers only, and not to
the person who escalated it. Who may do what is decided by the small predicates of
``scoring.domain.permissions`` (re-exported here); the service layer asks them before it
changes anything.

Time is always passed in: nothing here reads a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from scoring.domain.deadlines import (
    MAX_EXTENSION_MONTHS,
    due_date,
    extension_notice_due,
)
from scoring.domain.errors import ConflictError, EngineError, InvalidInputError, NotPermittedError
from scoring.domain.permissions import (
    Actor,
    Role,
    may_claim,
    may_extend,
    may_read_cases,
    may_second_sign,
    may_work_cases,
)
from scoring.domain.policy import Policy

# Deadlines are calendar days in Estonia: a case due on a day is due until that day ends there.
LOCAL_TIME = ZoneInfo("Europe/Tallinn")
MIN_JUSTIFICATION_CHARS = 20
MIN_EXTENSION_REASON_CHARS = 20
MIN_ESCALATION_NOTE_CHARS = 20
MAX_STATEMENT_CHARS = 5000
# A case this close to its deadline is escalated: shown first and flagged.
ESCALATE_WITHIN = timedelta(days=5)
# A claim nobody worked on for this long lapses and the case returns to the queue.
CLAIM_IDLE_LIMIT = timedelta(minutes=30)
# "Skip for now" hides a case from the reviewer who skipped it for this long.
SKIP_FOR = timedelta(hours=4)


class CaseKind(StrEnum):
    CONTEST = "contest"
    HUMAN_REVIEW_REQUESTED = "human_review_requested"
    OBJECTION = "objection"
    # A refer: the automated assessment did not settle the application; a person decides.
    REFERRAL = "referral"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    AWAITING_SECOND_SIGNATURE = "awaiting_second_signature"
    RESOLVED = "resolved"


class ReviewOutcome(StrEnum):
    """What the reviewer concluded.

    A contest is ``upheld``, ``overturned`` (approve as applied for) or ``terms_changed``;
    a case where nothing was decided yet is ``approved``, ``declined`` or ``terms_changed``
    (``scoring.domain.lifecycle.OUTCOMES_BY_KIND``).
    """

    UPHELD = "upheld"
    OVERTURNED = "overturned"
    TERMS_CHANGED = "terms_changed"
    APPROVED = "approved"
    DECLINED = "declined"


class Escalation(StrEnum):
    NEAR_DUE = "near_due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class NewTerms:
    """Terms a reviewer offers instead of the ones applied for."""

    amount_eur: float
    term_months: int


class ReviewError(EngineError):
    """Base class of the review rules' refusals; messages are one line and safe to show."""


class NotPermitted(ReviewError, NotPermittedError):
    """The person's role does not allow the action."""


class WrongState(ReviewError, ConflictError):
    """The case is not in a state where the action makes sense."""


class CaseClosed(WrongState):
    """The case is resolved: nothing can be added to it, decided on it or changed any more."""

    code = "case_closed"


class InvalidInput(ReviewError, InvalidInputError):
    """A justification, reason, statement or offer is missing or malformed."""


# Who may do what is asked of ``scoring.domain.permissions``; this refuses, naming the action.


def require_worker(actor: Actor, action: str) -> None:
    """Refuse anyone who may not work on cases, naming the action."""
    if not may_work_cases(actor):
        raise NotPermitted(f"a user with role {actor.role.value} may not {action}")


# Deadlines.


def local_day(moment: datetime) -> date:
    """The calendar day in Estonia at an aware moment."""
    return moment.astimezone(LOCAL_TIME).date()


def end_of_local_day(day: date) -> datetime:
    """The last moment of a calendar day in Estonia, in UTC."""
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TIME)
    return (next_midnight - timedelta(microseconds=1)).astimezone(UTC)


def case_due_at(received_at: datetime) -> datetime:
    """When a case received at ``received_at`` must be answered: one month, calendar-correct."""
    return end_of_local_day(due_date(local_day(received_at)))


def escalation(effective_due_at: datetime, *, now: datetime) -> Escalation | None:
    """Whether an unresolved case is overdue, near its deadline, or neither."""
    if now > effective_due_at:
        return Escalation.OVERDUE
    if effective_due_at - now <= ESCALATE_WITHIN:
        return Escalation.NEAR_DUE
    return None


@dataclass(frozen=True)
class Extension:
    extended_due_at: datetime
    notice_due_at: datetime
    reason: str


def plan_extension(
    *,
    actor: Actor,
    received_at: datetime,
    due_at: datetime,
    extended_due_at: datetime | None,
    further_months: int,
    reason: str,
    now: datetime,
) -> Extension:
    """Extend a case by up to two further months, only while its first month runs."""
    if not may_extend(actor):
        raise NotPermitted(
            f"only a senior reviewer may extend a case; {actor.username} is {actor.role.value}"
        )
    if not 1 <= further_months <= MAX_EXTENSION_MONTHS:
        raise InvalidInput(
            f"a case may be extended by 1 to {MAX_EXTENSION_MONTHS} further months, "
            f"not {further_months}"
        )
    reason = reason.strip()
    if len(reason) < MIN_EXTENSION_REASON_CHARS:
        raise InvalidInput(
            "an extension needs a reason the customer will read, "
            f"at least {MIN_EXTENSION_REASON_CHARS} characters"
        )
    received_on = local_day(received_at)
    notice_due_at = end_of_local_day(extension_notice_due(received_on))
    if now > due_at:
        raise WrongState(
            "the first month has passed: a case can be extended only while it runs, "
            "because the customer must be told within it"
        )
    new_due_at = end_of_local_day(due_date(received_on, months=1 + further_months))
    if extended_due_at is not None and new_due_at <= extended_due_at:
        raise WrongState(
            f"the case is already extended to {local_day(extended_due_at).isoformat()}; "
            "a further extension must move the deadline later"
        )
    return Extension(extended_due_at=new_due_at, notice_due_at=notice_due_at, reason=reason)


# Deciding a case.


def check_justification(text: str) -> str:
    """The justification, stripped; refused when empty or too short to say anything."""
    stripped = (text or "").strip()
    if len(stripped) < MIN_JUSTIFICATION_CHARS:
        raise InvalidInput(
            "a written justification is required for every outcome, "
            f"at least {MIN_JUSTIFICATION_CHARS} characters"
        )
    return stripped


def explanation_needed(outcome: ReviewOutcome, *, original_outcome: str) -> bool:
    """Whether the customer's letter must explain the outcome: anything short of granting
    what was applied for (a decline stands or is made, or other terms are offered)."""
    if outcome is ReviewOutcome.UPHELD:
        return original_outcome != "approve"
    return outcome in (ReviewOutcome.DECLINED, ReviewOutcome.TERMS_CHANGED)


def check_customer_explanation(
    outcome: ReviewOutcome,
    *,
    original_outcome: str,
    explanation_et: str | None,
    explanation_en: str | None,
    justification: str,
) -> tuple[str | None, str | None]:
    """The explanation for the customer in Estonian and English, stripped.

    Both are required when the outcome letter needs reasons; neither may repeat the internal
    justification, which is written for colleagues, not for the customer.
    """
    texts = {"Estonian": (explanation_et or "").strip(), "English": (explanation_en or "").strip()}
    if explanation_needed(outcome, original_outcome=original_outcome):
        for language, text in texts.items():
            if len(text) < MIN_JUSTIFICATION_CHARS:
                raise InvalidInput(
                    f"the customer's letter must explain this outcome: write the explanation "
                    f"for the customer in {language}, at least {MIN_JUSTIFICATION_CHARS} "
                    "characters"
                )
    for language, text in texts.items():
        if text and text == justification.strip():
            raise InvalidInput(
                f"the explanation for the customer in {language} repeats the internal "
                "justification; write it to the customer, in their language"
            )
    return texts["Estonian"] or None, texts["English"] or None


def check_escalation_note(text: str) -> str:
    """The note that tells the senior reviewer what to look at, stripped; refused when too short."""
    stripped = (text or "").strip()
    if len(stripped) < MIN_ESCALATION_NOTE_CHARS:
        raise InvalidInput(
            "an escalation needs a note for the senior reviewer saying what to look at, "
            f"at least {MIN_ESCALATION_NOTE_CHARS} characters"
        )
    return stripped


def check_statement(text: str) -> str:
    """The customer's statement, stripped; refused when empty or too long."""
    stripped = (text or "").strip()
    if not stripped:
        raise InvalidInput("the statement is empty; say why the decision should be reviewed")
    if len(stripped) > MAX_STATEMENT_CHARS:
        raise InvalidInput(f"the statement is longer than {MAX_STATEMENT_CHARS} characters")
    return stripped


def check_new_terms(
    outcome: ReviewOutcome,
    new_terms: NewTerms | None,
    *,
    product_category: str,
    policy: Policy,
) -> NewTerms | None:
    """New terms are required for ``terms_changed``, refused otherwise, and must fit the policy."""
    if outcome is not ReviewOutcome.TERMS_CHANGED:
        if new_terms is not None:
            raise InvalidInput(f"new terms are given only with terms_changed, not {outcome.value}")
        return None
    if new_terms is None:
        raise InvalidInput("terms_changed needs the new amount and term")
    if new_terms.term_months not in policy.allowed_terms_months:
        allowed = ", ".join(str(t) for t in policy.allowed_terms_months)
        raise InvalidInput(
            f"a term of {new_terms.term_months} months is not offered; choose one of {allowed}"
        )
    amount = new_terms.amount_eur
    if not math.isfinite(amount) or abs(amount * 100 - round(amount * 100)) > 1e-6:
        raise InvalidInput(
            "the amount must be a number of euros with at most two decimals, e.g. 1499.90"
        )
    limit = policy.product_limit(product_category)
    if amount < 0.01 or (limit is not None and amount > limit):
        raise InvalidInput(
            f"the amount must be at least 0.01 and at most the product limit of {limit:.0f} EUR"
            if limit is not None
            else "the amount must be at least 0.01 EUR"
        )
    return new_terms


def needs_second_signature(
    outcome: ReviewOutcome,
    *,
    applied_amount_eur: float,
    new_terms: NewTerms | None,
    policy: Policy,
) -> bool:
    """A review that grants credit above the policy's amount needs a senior's second signature."""
    if outcome in (ReviewOutcome.UPHELD, ReviewOutcome.DECLINED):
        return False
    amount = new_terms.amount_eur if new_terms is not None else applied_amount_eur
    return amount > policy.second_signature_above_eur


__all__ = [
    "Actor",
    "Role",
    "may_claim",
    "may_extend",
    "may_read_cases",
    "may_second_sign",
    "may_work_cases",
]
