"""Every reason given over thousands of synthetic-world decisions is true and ranked.

The world's applications are scored by a LightGBM model trained on the same world and
decided by the live policy, the way the service decides one: for each decision, each
model reason's truth condition holds for what the customer's raw inputs show, its factor
is among the largest adverse grouped contributions, no two reasons share a factor, and
the contributions add up to the logit of the PD (SHAP additivity).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from models_fake_contract import FakeContract

from models.training.train import fit_lightgbm, holdout_split, plan_from_contract
from models.world import generate_world
from scoring.domain import personal_code
from scoring.domain.decision import ApplicationFacts, ModelAssessment, Outcome, decide
from scoring.domain.policy import Policy
from scoring.domain.reasons import (
    MAX_REASONS,
    ReasonFacts,
    factor_of_code,
    grouped_contributions,
    reason_rule,
    top_adverse_factors,
)
from scoring.features import FEATURE_NAMES, build_training_snapshot, history_aggregates

POLICY_FILE = Path(__file__).parents[2] / "scoring" / "policies" / "policy-2026.11.1.yaml"


# The world, model and policy of ``decided``, for tests that score more candidates.
world_rows: dict = {}


@pytest.fixture(scope="module")
def decided():
    """Every application of a 3,000-customer world, decided with its facts and contributions."""
    world = generate_world(customers=3000, seed=20, as_of=date(2026, 6, 30))
    snapshot = build_training_snapshot(world)
    plan = plan_from_contract(FakeContract(), list(snapshot.columns))
    model = fit_lightgbm(holdout_split(snapshot, plan).train, plan)

    apps = world.applications.reset_index(drop=True)
    features = snapshot.set_index("application_id").loc[apps["application_id"], FEATURE_NAMES]
    raw = history_aggregates(
        applications=apps, invoices=world.invoices, payments=world.payments
    ).reset_index(drop=True)
    reports = world.bureau_reports.set_index("report_id").loc[apps["bureau_report_id"]]
    # NaN where a ratio had nothing to divide, as the service scores it.
    matrix = features.to_numpy(dtype=np.float64)
    probabilities = model.predict_pd(matrix)
    base, contributions = model.contributions(matrix)
    # In calibrated log-odds, as the decision reads them: they add up to logit(PD).
    log_odds = np.log(probabilities / (1.0 - probabilities))
    policy = Policy.from_mapping(yaml.safe_load(POLICY_FILE.read_text()))

    rows = []
    world_rows.update(world=world, model=model, policy=policy, apps=apps, reports=reports)
    for i, app in apps.iterrows():
        applied = pd.Timestamp(app.applied_at).date()
        report = reports.iloc[i]
        facts = ApplicationFacts(
            amount_eur=float(app.amount_eur), term_months=int(app.term_months),
            product_category=str(app.product_category),
            age_years=personal_code.parse(app.personal_code).age_on(applied),
        )  # fmt: skip
        evidence = ReasonFacts.from_inputs(
            raw.iloc[i].to_dict(),
            bureau_class=str(report.risk_class), bureau_score=float(report.score),
            bureau_open_defaults=int(report.open_default_count),
            bureau_closed_defaults=int(report.closed_default_count),
            amount_eur=facts.amount_eur, term_months=facts.term_months,
            product_category=facts.product_category,
        )  # fmt: skip
        values = dict(zip(FEATURE_NAMES, matrix[i].tolist(), strict=True))
        assessment = ModelAssessment(
            float(probabilities[i]), float(base),
            dict(zip(model.feature_names, contributions[i].tolist(), strict=True)),
            "installment-pd", "test",
        )  # fmt: skip
        outcome = decide(
            application=facts, features=values, assessment=assessment, policy=policy,
            evidence=evidence,
        )  # fmt: skip
        rows.append((evidence, values, assessment, outcome, float(log_odds[i])))
    return rows


def test_the_sample_is_thousands_of_applications_with_every_outcome(decided):
    outcomes = Counter(outcome.outcome for _, _, _, outcome, _ in decided)
    assert len(decided) >= 3000
    assert {Outcome.APPROVE, Outcome.DECLINE, Outcome.REFER} <= set(outcomes)
    assert min(outcomes[o] for o in (Outcome.APPROVE, Outcome.DECLINE, Outcome.REFER)) >= 50
    thin = sum(1 for evidence, *_ in decided if not evidence.has_history)
    assert thin >= 100


def test_every_reason_is_true_ranked_and_alone_in_its_factor(decided):
    given = Counter()
    for evidence, values, assessment, outcome, _ in decided:
        model = [r for r in outcome.reasons if r.kind == "model"]
        grouped = grouped_contributions(
            assessment.contributions, values, thin_file=not evidence.has_history
        )
        top = top_adverse_factors(grouped, limit=MAX_REASONS)
        factors = []
        for reason in model:
            rule = reason_rule(reason.code, evidence)
            assert rule is not None, (reason.code, evidence)
            assert (reason.text_et, reason.text_en) == rule.texts(evidence)
            factor = factor_of_code(reason.code).name
            assert factor in top, (reason.code, top)
            assert reason.contribution == pytest.approx(grouped[factor], abs=1e-6)
            assert reason.contribution > 0
            factors.append(factor)
            given[reason.code] += 1
        assert len(factors) == len(set(factors))
        assert len(outcome.reasons) <= MAX_REASONS
    # The catalogue is exercised, not just its quiet corners.
    assert len(given) >= 6, given


def test_a_thin_file_is_never_told_about_its_invoices(decided):
    about_invoices = {
        "R01_RECENT_LATE_PAYMENTS", "R02_LATE_PAYMENT_HISTORY", "R03_REMINDERS_AND_COLLECTION",
        "R04_OUTSTANDING_BALANCE", "R11_PAYMENT_PATTERN", "R12_PAYMENT_TIMING",
    }  # fmt: skip
    thin = [outcome for evidence, _, _, outcome, _ in decided if not evidence.has_history]
    said = Counter(r.code for outcome in thin for r in outcome.reasons)
    assert not about_invoices & set(said)
    assert said["R05_SHORT_HISTORY"] > 0


def test_contributions_add_up_to_the_model_s_log_odds(decided):
    for _, _, assessment, _, log_odds in decided:
        total = assessment.base_value + math.fsum(assessment.contributions.values())
        assert total == pytest.approx(log_odds, abs=1e-6)


def _live_scorer(app, report, world, model):
    """Score candidate purchases of one applicant, after actions, as the service does."""
    from scoring.features import CustomerHistory
    from scoring.service.decisions.assess import ApplicantHistory, feature_matrix

    invoices = world.invoices[world.invoices["personal_code"] == app.personal_code]
    payments = world.payments[world.payments["invoice_id"].isin(invoices["invoice_id"])]
    history = ApplicantHistory(False, CustomerHistory.from_frames(invoices, payments))
    applied_at = pd.Timestamp(app.applied_at).to_pydatetime()

    def features(candidates, actions):
        return feature_matrix(
            history=history, report=report, applied_at=applied_at,
            product_category=str(app.product_category), terms=candidates, actions=actions,
        )  # fmt: skip

    def score(candidates, actions):
        return model.predict_pd(features(candidates, actions)).tolist()

    return score, features


def test_every_counterfactual_is_approved_when_re_scored_with_the_same_model_and_policy(decided):
    from scoring.domain.counterfactual import Action, find_counterfactual

    world, model, policy = world_rows["world"], world_rows["model"], world_rows["policy"]
    apps, reports = world_rows["apps"], world_rows["reports"]
    declines = [i for i, row in enumerate(decided) if row[3].outcome is Outcome.DECLINE]
    rng = np.random.default_rng(5)
    sample = sorted(rng.choice(declines, size=min(250, len(declines)), replace=False))
    found = 0
    for i in sample:
        evidence, values, assessment, outcome, _ = decided[i]
        app, report = apps.iloc[i], reports.iloc[i]
        score, features = _live_scorer(app, report, world, model)
        facts = ApplicationFacts(
            amount_eur=float(app.amount_eur), term_months=int(app.term_months),
            product_category=str(app.product_category),
            age_years=personal_code.parse(app.personal_code).age_on(
                pd.Timestamp(app.applied_at).date()
            ),
        )  # fmt: skip
        counterfactual = find_counterfactual(
            application=facts, outcome=outcome, policy=policy, score=score, evidence=evidence
        )
        if counterfactual is None:
            continue
        found += 1
        terms = counterfactual.suggested
        actions = frozenset(Action(a) for a in counterfactual.actions)
        row = features([(terms.amount_eur, terms.term_months)], actions)
        after = dict(zip(FEATURE_NAMES, row[0].tolist(), strict=True))
        probability = float(model.predict_pd(row)[0])
        base, contributions = model.contributions(row)
        again = decide(
            application=ApplicationFacts(
                amount_eur=terms.amount_eur, term_months=terms.term_months,
                product_category=facts.product_category, age_years=facts.age_years,
            ),
            features=after,
            assessment=ModelAssessment(
                probability, float(base),
                dict(zip(model.feature_names, contributions[0].tolist(), strict=True)),
                "installment-pd", "test",
            ),
            policy=policy, evidence=None,
        )  # fmt: skip
        assert again.outcome is Outcome.APPROVE, (i, counterfactual)
        # Never above the request; never below the product's minimum unless the request was.
        assert terms.amount_eur <= facts.amount_eur
        assert terms.amount_eur >= min(
            policy.product_minimum(facts.product_category), facts.amount_eur
        )
    assert found >= 25
