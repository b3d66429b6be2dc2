"""What the decision API answers: ``DecisionPublic`` and its parts (the request model is the
contract's ``DecisionRequest``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

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
    url: str = Field(description="Where the customer contests the decision.")
    until: datetime


class LetterPublic(BaseModel):
    et: str
    en: str


class DecisionPublic(BaseModel):
    """An instalment decision as the sales system sees it."""

    decision_id: str
    application_id: str
    outcome: Literal["approve", "decline", "refer", "pending_review"]
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
        description="The customer letter for a decline or refer, in Estonian and English."
    )

    @classmethod
    def from_view(cls, view: DecisionView) -> DecisionPublic:
        fields = {name: getattr(view, name) for name in cls.model_fields}
        return cls.model_validate(fields)
