"""The instalment decision: a pure function of the application, the model's view and the policy.

Order of precedence:
1. routes to a person that the customer or the oversight switch asked for (no automated outcome);
2. knock-out rules that need no bureau data (age, product limit, internal arrears);
3. no bureau answer: refer, never decline;
4. the bureau knock-out (an open payment default);
5. the probability-of-default cut-offs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from scoring.domain.policy import Policy
from scoring.domain.reasons import (
    MAX_REASONS,
    Reason,
    ReasonFacts,
    model_reasons,
    policy_reason,
)


class Outcome(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    REFER = "refer"
    PENDING_REVIEW = "pending_review"


@dataclass(frozen=True)
class ApplicationFacts:
    """What the decision needs to know about the application and the applicant, minimised."""

    amount_eur: float
    term_months: int
    product_category: str
    age_years: int
    human_review_requested: bool = False
    objected_to_profiling: bool = False


@dataclass(frozen=True)
class ModelAssessment:
    """The model's view of one application: calibrated PD and log-odds contributions."""

    probability_of_default: float
    base_value: float
    contributions: Mapping[str, float]
    model_name: str
    model_version: str


@dataclass(frozen=True)
class RuleHit:
    code: str
    effect: str  # "decline", "refer" or "manual_review"


@dataclass(frozen=True)
class DecisionOutcome:
    outcome: Outcome
    automated: bool
    risk_grade: str | None
    reasons: list[Reason]
    policy_rules: list[RuleHit] = field(default_factory=list)

    @property
    def declined_by_rule(self) -> bool:
        return any(hit.effect == "decline" for hit in self.policy_rules)


def decide(
    *,
    application: ApplicationFacts,
    features: Mapping[str, float],
    assessment: ModelAssessment | None,
    policy: Policy,
    evidence: ReasonFacts | None,
) -> DecisionOutcome:
    """Decide one application. ``assessment`` is None when the bureau gave no answer.

    ``evidence`` is what the customer's raw inputs show; model reasons are given only where
    it makes them true (without it, none are).
    """
    grade = policy.risk_grade(assessment.probability_of_default) if assessment else None
    adverse = (
        model_reasons(assessment.contributions, features, evidence)
        if assessment is not None and evidence is not None
        else []
    )

    manual = _manual_route(application, policy)
    if manual is not None:
        hit = RuleHit(manual.code, "manual_review")
        return DecisionOutcome(Outcome.PENDING_REVIEW, False, grade, [manual], [hit])

    knockouts = _knockouts_without_bureau(application, features, policy)
    if assessment is None:
        if knockouts:
            return _declined(knockouts, [], grade)
        unavailable = policy_reason("S01_BUREAU_UNAVAILABLE")
        return DecisionOutcome(
            Outcome.REFER, False, None, [unavailable], [RuleHit(unavailable.code, "refer")]
        )

    if features.get("bureau_open_defaults", 0) > 0:
        knockouts.append(policy_reason("P01_BUREAU_OPEN_DEFAULT"))
    if knockouts:
        return _declined(knockouts, adverse, grade)

    pd = assessment.probability_of_default
    if pd < policy.approve_below:
        return DecisionOutcome(Outcome.APPROVE, True, grade, adverse)
    if pd >= policy.decline_at_or_above:
        return DecisionOutcome(Outcome.DECLINE, True, grade, adverse)
    band = policy_reason("P06_RISK_IN_REVIEW_BAND")
    reasons = adverse[: MAX_REASONS - 1] + [band]
    return DecisionOutcome(Outcome.REFER, False, grade, reasons, [RuleHit(band.code, "refer")])


def _manual_route(application: ApplicationFacts, policy: Policy) -> Reason | None:
    if policy.all_applications_to_manual_review:
        return policy_reason("S04_AUTOMATION_PAUSED")
    if application.human_review_requested:
        return policy_reason("S02_HUMAN_REVIEW_REQUESTED")
    if application.objected_to_profiling:
        return policy_reason("S03_PROFILING_OBJECTION")
    return None


def _knockouts_without_bureau(
    application: ApplicationFacts, features: Mapping[str, float], policy: Policy
) -> list[Reason]:
    hits: list[Reason] = []
    if application.age_years < policy.minimum_age_years:
        hits.append(policy_reason("P03_UNDER_MINIMUM_AGE", age=policy.minimum_age_years))
    limit = policy.product_limit(application.product_category)
    if limit is None:
        hits.append(policy_reason("P05_UNKNOWN_PRODUCT"))
    elif application.amount_eur > limit:
        hits.append(policy_reason("P04_AMOUNT_ABOVE_PRODUCT_LIMIT", limit=f"{limit:.0f}"))
    if features.get("current_dpd", 0) > policy.max_internal_days_past_due:
        hits.append(policy_reason("P02_INTERNAL_ARREARS", days=policy.max_internal_days_past_due))
    return hits


# Model reasons that a knock-out rule's own reason already states: said once, by the rule.
COVERED_BY_RULE = {
    "P02_INTERNAL_ARREARS": frozenset({"R01_RECENT_LATE_PAYMENTS", "R04_OUTSTANDING_BALANCE"}),
    "P01_BUREAU_OPEN_DEFAULT": frozenset({"R07_BUREAU_DEFAULTS"}),
}


def _declined(rules: list[Reason], adverse: list[Reason], grade: str | None) -> DecisionOutcome:
    covered = set().union(*(COVERED_BY_RULE.get(rule.code, frozenset()) for rule in rules))
    adverse = [reason for reason in adverse if reason.code not in covered]
    reasons = (rules + adverse)[:MAX_REASONS] if len(rules) < MAX_REASONS else rules
    hits = [RuleHit(rule.code, "decline") for rule in rules]
    return DecisionOutcome(Outcome.DECLINE, True, grade, reasons, hits)
