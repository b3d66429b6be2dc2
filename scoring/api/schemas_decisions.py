"""What the decision API answers: ``DecisionPublic`` and its parts (the request model is the
contract's ``DecisionRequest``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from scoring.domain.decision import Outcome
from scoring.domain.lifecycle import DecisionState
from scoring.domain.review import CaseKind, CaseStatus
from scoring.service.decisions import DecisionView


class ReasonPublic(BaseModel):
    code: str = Field(description="Stable reason code, e.g. R01_RECENT_LATE_PAYMENTS.")
    text_et: str
    text_en: str
    contribution: float | None = Field(
        description="Summed SHAP contribution in log-odds; null for a policy rule."
    )


class PolicyRulePublic(BaseModel):
    code: str
    effect: Literal["decline", "refer", "manual_review"]


class PurchaseTermsPublic(BaseModel):
    amount_eur: float
    term_months: int
    probability_of_default: float


class CounterfactualPublic(BaseModel):
    change: Literal["term", "amount", "amount_and_term", "none"] = Field(
        description="What changes in the purchase; none: the purchase as requested."
    )
    suggested: PurchaseTermsPublic
    alternatives: list[PurchaseTermsPublic]
    text_et: str
    text_en: str
    actions: list[Literal["pay_overdue_balance", "settle_bureau_default"]] = Field(
        default_factory=list,
        description="What the customer would do first: pay the balance overdue on our "
        "invoices, have an open payment default at the bureau settled.",
    )


class ModelPublic(BaseModel):
    name: str
    version: str


class ContestPublic(BaseModel):
    url: str = Field(
        description="Where the customer contests the decision: an absolute URL of this API.",
        examples=["https://decisions.example.ee/v1/decisions/01a24e2f-86d6-7ff1/contest"],
    )
    until: datetime


class LetterPublic(BaseModel):
    et: str
    en: str


class NoticePublic(BaseModel):
    """What the sales system shows the customer with every answer (AI Act Art. 26(11))."""

    et: str
    en: str


class ReviewLinkPublic(BaseModel):
    """The review case the decision belongs to, and where to follow it."""

    review_id: str
    kind: CaseKind
    status: CaseStatus
    due_on: date = Field(description="The last day (Estonian calendar) to answer the customer.")
    url: str = Field(description="Absolute URL of the review: GET it to follow the case.")
    statement_url: str | None = Field(
        description="Absolute URL where the customer's statement is added while the case is open."
    )


class SupersedingDecisionPublic(BaseModel):
    """The decision a person made in place of this one."""

    decision_id: str
    outcome: Literal["approve", "decline"]
    decided_at: datetime


class DecisionPublic(BaseModel):
    """An instalment decision as the sales system sees it."""

    decision_id: str
    application_id: str
    outcome: Outcome
    probability_of_default: float | None = Field(
        description="Calibrated 12-month probability of default; null when not scored."
    )
    risk_grade: str | None
    reasons: list[ReasonPublic] = Field(description="At most four, most important first.")
    policy_rules: list[PolicyRulePublic]
    counterfactual: CounterfactualPublic | None = Field(
        description="The nearest purchase terms that would be approved (decline and refer)."
    )
    automated: bool
    model: ModelPublic | None
    policy_version: str
    contract_versions: dict[str, str]
    decided_at: datetime
    contest: ContestPublic | None
    letter: LetterPublic | None = Field(
        description="The customer letter for a decline, refer or pending review, in Estonian "
        "and English; a person's decision has its letter on its review."
    )
    state: DecisionState = Field(
        description="awaiting_person (a review case decides it), decided, under_review "
        "(contested) or superseded (a person decided in its place)."
    )
    review: ReviewLinkPublic | None = Field(
        description="The review case this decision belongs to, if any."
    )
    superseded_by: SupersedingDecisionPublic | None
    supersedes: str | None = Field(
        description="The decision this one replaced, when a person made it."
    )
    notice: NoticePublic = Field(
        description="The notice shown to the customer with every answer: whether the assessment "
        "was automated, the data it used, and how to ask for a person."
    )

    @classmethod
    def from_view(cls, view: DecisionView, *, base_url: str) -> DecisionPublic:
        fields = {name: getattr(view, name) for name in cls.model_fields}
        base = base_url.rstrip("/")
        if view.review is not None:
            review = dict(view.review)
            review["url"] = base + review["url"]
            if review["statement_url"]:
                review["statement_url"] = base + review["statement_url"]
            fields["review"] = review
        if view.contest is not None:
            fields["contest"] = {**view.contest, "url": base + view.contest["url"]}
        return cls.model_validate(fields)
