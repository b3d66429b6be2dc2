"""Step 2 of a decision, with no transaction open: bureau, features, champion, policy, shadow.

The bureau report, the model features by the code training uses (``scoring.features``), the
champion's PD and SHAP contributions, the policy (``scoring.domain.decision``), the
counterfactual (all candidate terms scored in one batch) and the challenger in shadow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from scoring.bureau.client import BureauError
from scoring.domain.budget import DecisionBudget
from scoring.domain.bureau import BureauReport
from scoring.domain.counterfactual import Action, Counterfactual, find_counterfactual
from scoring.domain.decision import ApplicationFacts, DecisionOutcome, ModelAssessment, decide
from scoring.domain.policy import Policy
from scoring.domain.reasons import ReasonFacts
from scoring.features import (
    FEATURE_NAMES,
    BureauFacts,
    CustomerHistory,
    FeatureInputError,
    applicant_features,
    applicant_history_aggregates,
    cutoff_day,
)
from scoring.service.model_provider import PDModel


class BureauSource(Protocol):
    """Where bureau reports come from (the bureau client, or a fake in tests)."""

    def fetch_report(self, personal_code: str, *, budget_s: float | None = None) -> BureauReport:
        """The person's report within ``budget_s`` seconds (or the source's own bound)."""
        ...


class DecisionModels(Protocol):
    """The models a decision uses (``scoring.service.model_provider``'s providers)."""

    def champion(self) -> PDModel:
        """The model that decides; raises ``NoChampionModel`` when there is none."""
        ...

    def challenger(self) -> PDModel | None:
        """The model scored in shadow, or None."""
        ...


@dataclass(frozen=True)
class ApplicantHistory:
    """What the store knows of the applicant: an objection to profiling, invoices, payments."""

    objected: bool
    events: CustomerHistory


@dataclass(frozen=True)
class Assessment:
    """What step 2 found: the policy's outcome and everything it was made from."""

    outcome: DecisionOutcome
    features: dict[str, float | None]
    assessment: ModelAssessment | None
    report: BureauReport | None
    bureau_failure: str | None
    counterfactual: Counterfactual | None
    shadow: dict[str, Any] | None
    scored: bool
    # The contract of the snapshot the champion was trained on, e.g. training_snapshot 1.0.0.
    model_contract: dict[str, str] = field(default_factory=dict)
    # What the customer's raw inputs show, on which the reason texts stand (None: unscored).
    evidence: ReasonFacts | None = None


def feature_matrix(
    *,
    history: ApplicantHistory,
    report: BureauReport,
    applied_at: datetime,
    product_category: str,
    terms: Sequence[tuple[float, int]],
    actions: frozenset[Action] = frozenset(),
) -> np.ndarray:
    """Model features for (amount, term) pairs of one application, by the training code.

    A row per pair, columns in ``FEATURE_NAMES`` order; ``actions`` are the customer's
    changes the counterfactual assumes (an overdue balance paid, a bureau default settled).
    """
    amounts, months = zip(*terms, strict=True) if terms else ((), ())
    events = history.events
    if Action.PAY_OVERDUE_BALANCE in actions:
        events = events.with_overdue_paid(day=cutoff_day(applied_at))
    open_defaults, closed_defaults = report.open_default_count, report.closed_default_count
    if Action.SETTLE_BUREAU_DEFAULT in actions:
        # The entry is ended, not erased: the bureau keeps it as a settled default.
        open_defaults, closed_defaults = 0, closed_defaults + open_defaults
    return applicant_features(
        history=events,
        bureau=BureauFacts(
            score=report.score,
            risk_class=report.risk_class,
            open_default_count=open_defaults,
            closed_default_count=closed_defaults,
        ),
        applied_at=applied_at,
        product_category=product_category,
        amounts=amounts,
        terms=months,
    )


def model_matrix(features: np.ndarray, model: PDModel) -> np.ndarray:
    """``features`` (``FEATURE_NAMES`` columns) narrowed to the model's columns, its order."""
    positions = _column_positions(tuple(model.feature_names))
    return features if positions is None else features[:, positions]


@lru_cache(maxsize=16)
def _column_positions(wanted: tuple[str, ...]) -> np.ndarray | None:
    """Where the model's columns are among ``FEATURE_NAMES``; None when they are all, in order."""
    if list(wanted) == FEATURE_NAMES:
        return None
    where = {name: i for i, name in enumerate(FEATURE_NAMES)}
    unknown = [name for name in wanted if name not in where]
    if unknown:
        raise FeatureInputError(f"the model needs feature(s) not computed here: {unknown}")
    return np.asarray([where[name] for name in wanted], dtype=np.intp)


def reason_facts(
    *,
    history: ApplicantHistory,
    report: BureauReport,
    applied_at: datetime,
    facts: ApplicationFacts,
) -> ReasonFacts:
    """What the applicant's invoices, payments, bureau report and purchase show, counted."""
    return ReasonFacts.from_inputs(
        applicant_history_aggregates(history.events, day=cutoff_day(applied_at)),
        bureau_class=report.risk_class,
        bureau_score=report.score,
        bureau_open_defaults=report.open_default_count,
        bureau_closed_defaults=report.closed_default_count,
        amount_eur=facts.amount_eur,
        term_months=facts.term_months,
        product_category=facts.product_category,
    )


def _history_without_bureau(history: ApplicantHistory, applied_at: datetime) -> dict[str, Any]:
    """The internal-arrears facts the policy needs when the bureau gave no report."""
    raw = applicant_history_aggregates(history.events, day=cutoff_day(applied_at))
    return {"current_dpd": raw["current_dpd"]}


def assess(
    *,
    facts: ApplicationFacts,
    code: str,
    history: ApplicantHistory,
    applied_at: datetime,
    bureau: BureauSource,
    models: DecisionModels,
    policy: Policy,
    budget: DecisionBudget | None = None,
) -> Assessment:
    """Score and decide one application; a bureau that does not answer means no score.

    The bureau gets at most what is left of ``budget``; when nothing is left it is not
    asked and the application is decided as if it had not answered.
    """
    if facts.objected_to_profiling:
        # The customer objected to profiling: no bureau query and no model score at all.
        outcome = decide(
            application=facts, features={}, assessment=None, policy=policy, evidence=None
        )
        return Assessment(outcome, {}, None, None, None, None, None, scored=False)

    if facts.age_years < policy.minimum_age_years:
        # A minor cannot take credit: the age rule declines before the bureau is asked about
        # them, and no model looks at them (data minimisation, GDPR Art. 5(1)(c)).
        arrears = _history_without_bureau(history, applied_at)
        outcome = decide(
            application=facts, features=arrears, assessment=None, policy=policy, evidence=None
        )
        return Assessment(outcome, dict(arrears), None, None, None, None, None, scored=False)

    champion = models.champion()
    challenger = models.challenger()
    report, failure = None, None
    try:
        report = bureau.fetch_report(code, budget_s=None if budget is None else budget.remaining())
    except BureauError as error:
        failure = error.kind

    if report is None:
        arrears = _history_without_bureau(history, applied_at)
        outcome = decide(
            application=facts, features=arrears, assessment=None, policy=policy, evidence=None
        )
        return Assessment(outcome, dict(arrears), None, None, failure, None, None, scored=False)

    features = feature_matrix(
        history=history, report=report, applied_at=applied_at,
        product_category=facts.product_category, terms=[(facts.amount_eur, facts.term_months)],
    )  # fmt: skip
    numeric = dict(zip(FEATURE_NAMES, features[0].tolist(), strict=True))
    model_input = model_matrix(features, champion)
    probability = float(champion.predict_pd(model_input)[0])
    base, contributions = champion.contributions(model_input)
    assessment = ModelAssessment(
        probability_of_default=probability,
        base_value=float(base),
        contributions=dict(zip(champion.feature_names, contributions[0].tolist(), strict=True)),
        model_name=champion.name,
        model_version=str(champion.version),
    )
    evidence = reason_facts(history=history, report=report, applied_at=applied_at, facts=facts)
    outcome = decide(
        application=facts, features=numeric, assessment=assessment, policy=policy,
        evidence=evidence,
    )  # fmt: skip

    def score(
        candidates: Sequence[tuple[float, int]], actions: frozenset[Action]
    ) -> Sequence[float]:
        batch = feature_matrix(
            history=history, report=report, applied_at=applied_at,
            product_category=facts.product_category, terms=candidates, actions=actions,
        )  # fmt: skip
        return champion.predict_pd(model_matrix(batch, champion)).tolist()

    counterfactual = find_counterfactual(
        application=facts, outcome=outcome, policy=policy, score=score, evidence=evidence
    )
    shadow = None
    if challenger is not None:
        shadow_pd = float(challenger.predict_pd(model_matrix(features, challenger))[0])
        shadow_outcome = decide(
            application=facts,
            features=numeric,
            assessment=ModelAssessment(
                shadow_pd, 0.0, {}, challenger.name, str(challenger.version)
            ),
            policy=policy,
            evidence=None,
        ).outcome
        shadow = {
            "model": {"name": challenger.name, "version": str(challenger.version)},
            "probability_of_default": shadow_pd,
            "outcome": shadow_outcome.value,
            "disagrees": shadow_outcome != outcome.outcome,
        }
    stored_features = {k: (None if math.isnan(v) else v) for k, v in numeric.items()}
    trained_on = {}
    metadata = getattr(champion, "metadata", None) or {}
    if metadata.get("contract_id") and metadata.get("contract_version"):
        trained_on[str(metadata["contract_id"])] = str(metadata["contract_version"])
    return Assessment(
        outcome, stored_features, assessment, report, None, counterfactual, shadow, True,
        trained_on, evidence,
    )  # fmt: skip
