"""What the review service hands back: plain frozen values, never ORM objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from scoring.domain import review as rules
from scoring.domain.model_limits import PdInterval, SegmentMeasure
from scoring.domain.reasons import short_label
from scoring.domain.review import CaseKind, CaseStatus, Escalation, NewTerms, ReviewOutcome
from scoring.storage.tables import ReviewCase
from scoring.storage.tables_reviews import ReviewCaseProgress


@dataclass(frozen=True)
class CaseTriage:
    """What a reviewer sorts and filters the queue by: the purchase, the outcome, the reason."""

    amount_eur: float
    product_category: str
    outcome: str
    top_reason_code: str | None
    top_reason_en: str | None
    days_to_deadline: int
    # The top reason in a few words ("Recent late payments"), for the queue's column.
    top_reason_short: str | None = None


@dataclass(frozen=True)
class ReviewCaseView:
    """One case as the queue, the API and the case page show it."""

    id: str
    decision_id: str
    kind: CaseKind
    status: CaseStatus
    statement: str | None
    received_at: datetime
    due_at: datetime
    extended_due_at: datetime | None
    extension_reason: str | None
    escalation: Escalation | None
    claimed_by: int | None
    claimed_at: datetime | None
    outcome: ReviewOutcome | None
    justification: str | None
    decided_by: int | None
    new_terms: NewTerms | None
    second_signature_by: int | None
    resolved_at: datetime | None
    resulting_decision_id: str | None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    # Escalated by its holder to the senior reviewers (not the deadline flag ``escalation``).
    escalated_by: int | None = None
    escalated_at: datetime | None = None
    escalation_note: str | None = None
    triage: CaseTriage | None = None
    # The reviewer's explanation for the customer (the letters quote it, never the
    # justification), in Estonian and English.
    customer_explanation_et: str | None = None
    customer_explanation_en: str | None = None

    @property
    def effective_due_at(self) -> datetime:
        return self.extended_due_at or self.due_at

    @property
    def due_on(self) -> date:
        """The last calendar day (in Estonia) to answer."""
        return rules.local_day(self.effective_due_at)


@dataclass(frozen=True)
class SourcedValue:
    """One input the model saw, with where it came from, when, and any quality flags."""

    name: str
    value: Any
    source: str
    as_of: date | None
    flags: tuple[str, ...] = ()
    # From the feature catalogue: how people read it (label, value with unit, meaning).
    label: str = ""
    label_et: str = ""
    shown: str = ""
    meaning: str = ""
    riskier: str = ""


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]


@dataclass(frozen=True)
class CaseDetail:
    """Everything the case page needs, in the order a careful reviewer reads it."""

    case: ReviewCaseView
    statement: str | None
    attachments: list[dict[str, Any]]
    decision_outcome: str
    decision_automated: bool
    decided_at: datetime
    application: list[SourcedValue]
    # The model's inputs computed from the application (amount, term, instalment, product).
    application_features: list[SourcedValue]
    payment_history: list[SourcedValue]
    invoices: list[dict[str, Any]]
    bureau: list[SourcedValue]
    bureau_class: str | None
    bureau_class_definition_et: str | None
    bureau_class_definition_en: str | None
    probability_of_default: float | None
    risk_grade: str | None
    model: str | None
    known_limits: list[str]
    # The policy's cut-offs the PD is judged against: approve below, decline at or above.
    approve_below: float
    decline_at_or_above: float
    reasons: list[dict[str, Any]]
    base_value: float | None
    contributions: list[tuple[str, float]]
    # The same contributions summed by the factor a customer recognises, with its label.
    factor_contributions: list[tuple[str, float]]
    counterfactual: dict[str, Any] | None
    policy_rules: list[dict[str, Any]]
    policy_version: str
    second_signature_required: bool
    second_signature_above_eur: float
    audit_trail: list[AuditEvent]
    escalated_by_username: str | None = None
    # The serving version's own evaluation: the PD's interval (observed default rate of
    # applications scored alike) and its figures on this customer's segments.
    model_version: str | None = None
    pd_interval: PdInterval | None = None
    segment_measures: list[SegmentMeasure] = field(default_factory=list)
    # Why the version's evaluation tables could not be shown, when they could not.
    evaluation_missing: str | None = None
    # What the counterfactual search found no change for, in plain words (a decline).
    no_counterfactual_en: str | None = None
    no_counterfactual_et: str | None = None


@dataclass(frozen=True)
class ClientReview:
    """A case as the sales system sees it: status, outcome and the customer's letters."""

    case: ReviewCaseView
    resulting_outcome: str | None
    letter_et: str | None
    letter_en: str | None
    extension_notice_et: str | None
    extension_notice_en: str | None


@dataclass(frozen=True)
class RateRow:
    key: str
    cases: int
    upheld: int
    overturned: int
    terms_changed: int

    @property
    def overturn_rate(self) -> float:
        """Share of cases where the review changed the outcome (overturned or new terms)."""
        return (self.overturned + self.terms_changed) / self.cases if self.cases else 0.0

    @property
    def agreement_rate(self) -> float:
        """Share of cases where the reviewer agreed with the automated outcome."""
        return self.upheld / self.cases if self.cases else 0.0


@dataclass(frozen=True)
class OversightStats:
    """Overturn and agreement rates, and time to resolution against the deadlines."""

    resolved: int
    per_reviewer: list[RateRow]
    per_reason_code: list[RateRow]
    median_days_to_resolution: float | None
    resolved_on_time: int
    resolved_late: int
    open_cases: int
    open_overdue: int
    open_near_due: int
    extended: int


def case_view_of(
    case: ReviewCase, progress: ReviewCaseProgress | None, now: datetime, *, triage: bool = True
) -> ReviewCaseView:
    """The view of a stored case and its progress row as of ``now``; ``triage=False`` leaves
    out the queue's columns of the decision (amount, product, outcome, top reason)."""
    status = CaseStatus(case.status)
    due = case.extended_due_at or case.due_at
    new_terms = None
    if progress is not None and progress.new_amount_eur is not None:
        new_terms = NewTerms(float(progress.new_amount_eur), int(progress.new_term_months or 0))
    return ReviewCaseView(
        id=case.id,
        decision_id=case.decision_id,
        kind=CaseKind(case.kind),
        status=status,
        statement=case.statement,
        received_at=case.received_at,
        due_at=case.due_at,
        extended_due_at=case.extended_due_at,
        extension_reason=case.extension_reason,
        escalation=None if status is CaseStatus.RESOLVED else rules.escalation(due, now=now),
        claimed_by=case.claimed_by,
        claimed_at=case.claimed_at,
        outcome=ReviewOutcome(case.outcome) if case.outcome else None,
        justification=case.justification,
        decided_by=progress.decided_by if progress else None,
        new_terms=new_terms,
        second_signature_by=case.second_signature_by,
        resolved_at=case.resolved_at,
        resulting_decision_id=case.resulting_decision_id,
        attachments=list(progress.attachments) if progress else [],
        escalated_by=progress.escalated_by if progress else None,
        escalated_at=progress.escalated_at if progress else None,
        escalation_note=progress.escalation_note if progress else None,
        triage=_triage(case, due, now) if triage else None,
        customer_explanation_et=progress.customer_explanation_et if progress else None,
        customer_explanation_en=progress.customer_explanation_en if progress else None,
    )


def _triage(case: ReviewCase, due: datetime, now: datetime) -> CaseTriage | None:
    decision = case.decision
    if decision is None or decision.application is None:
        return None
    reasons = list(decision.reasons or [])
    top = reasons[0] if reasons else None
    return CaseTriage(
        amount_eur=float(decision.application.amount),
        product_category=decision.application.product_category,
        outcome=decision.outcome,
        top_reason_code=top["code"] if top else None,
        top_reason_en=top["text_en"] if top else None,
        days_to_deadline=(rules.local_day(due) - rules.local_day(now)).days,
        top_reason_short=short_label(top["code"]) if top else None,
    )


def case_views_of(
    cases: Sequence[ReviewCase], progress: Mapping[str, ReviewCaseProgress], now: datetime
) -> list[ReviewCaseView]:
    """The views of several cases, with their progress rows by case id."""
    return [case_view_of(c, progress.get(c.id), now) for c in cases]
