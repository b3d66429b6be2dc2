"""Monitoring: PSI against the stored reference, approval drift, back-test, review overturns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from models.monitoring.drift import binned, psi, psi_reading, reference_population
from models.monitoring.report import analyse, write_monitoring_report
from scoring.storage.monitoring_inputs import MonitoringInputs, read_monitoring_inputs

RNG = np.random.default_rng(3)


def test_psi_is_near_zero_for_the_same_population_and_large_for_a_shift():
    reference = binned(RNG.normal(size=20_000))
    assert psi(reference, RNG.normal(size=5_000)) < 0.01
    shifted = psi(reference, RNG.normal(loc=1.0, size=5_000))
    assert shifted > 0.25 and psi_reading(shifted) == "major shift"


def test_discrete_features_keep_one_bin_per_value_and_missing_counts_apart():
    reference = binned(np.array([0, 0, 0, 1, 1, 2, np.nan, np.nan]))
    assert reference.edges == (0.0, 1.0)
    assert reference.shares == (3 / 8, 2 / 8, 1 / 8) and reference.missing_share == 2 / 8
    assert psi(reference, np.array([0, 0, 0, 1, 1, 2, np.nan, np.nan])) == pytest.approx(0.0)


def _decisions(n, *, pd_, outcome, start):
    return pd.DataFrame(
        {
            "decision_id": [f"d{i}" for i in range(n)],
            "decided_at": [start + timedelta(hours=6 * i) for i in range(n)],
            "outcome": outcome,
            "automated": True,
            "pd": pd_,
            "risk_grade": np.where(pd_ < 0.04, "A", "D"),
            "model_version": "3",
            "reasons": [["bureau_score"] if p > 0.05 else [] for p in pd_],
            "defaulted_12m": RNG.random(n) < pd_,
        }
    )


def test_analysis_reports_drift_backtest_and_overturns(tmp_path):
    train = pd.DataFrame(
        {"bureau_score": RNG.normal(600, 80, 5000), "term_months": RNG.choice([12, 24, 36], 5000)}
    )
    train_pd = RNG.uniform(0.01, 0.1, 5000)
    reference = reference_population(
        train, features=list(train.columns), pd_=train_pd, approve_below=0.06
    )
    n = 400
    recent_pd = RNG.uniform(0.01, 0.1, n)
    decisions = _decisions(
        n,
        pd_=recent_pd,
        outcome=np.where(recent_pd < 0.06, "approve", "decline"),
        start=datetime(2026, 1, 5, tzinfo=UTC),
    )
    features = pd.DataFrame(
        {
            "bureau_score": RNG.normal(520, 80, n),  # the bureau got harsher
            "term_months": RNG.choice([12, 24, 36], n),
        },
        index=decisions["decision_id"],
    )
    reviews = pd.DataFrame(
        {
            "decision_id": ["d1", "d2", "d3"],
            "kind": "contest",
            "status": ["resolved", "resolved", "open"],
            "outcome": ["overturned", "upheld", None],
        }
    )
    decisions.loc[[1, 2, 3], "reasons"] = pd.Series([["bureau_score"]] * 3, index=[1, 2, 3])

    result = analyse(inputs=MonitoringInputs(decisions, features, reviews), reference=reference)

    drift = result.feature_psi.set_index("feature")
    assert drift.loc["bureau_score", "reading"] == "major shift"
    assert drift.loc["term_months", "reading"] == "stable"
    assert result.summary["score_reading"] == "stable"
    assert result.summary["approval_rate_drift"] == pytest.approx(
        (recent_pd < 0.06).mean() - reference["approval_rate"]
    )
    assert set(result.backtest["risk_grade"]) == {"A", "D"}
    overturns = result.overturns.set_index("reason_code")
    assert overturns.loc["bureau_score", "resolved_reviews"] == 2
    assert overturns.loc["bureau_score", "overturn_rate"] == pytest.approx(0.5)

    path = write_monitoring_report(result, run_dir=tmp_path, title="Monitoring")
    assert "## Feature drift (PSI)" in path.read_text()
    for plot in (
        "feature_psi.png",
        "approval_by_week.png",
        "backtest.png",
        "score_distribution.png",
    ):
        assert (tmp_path / plot).stat().st_size > 1000


def test_sixty_decisions_from_the_training_population_get_no_drift_verdict_but_a_warning(
    tmp_path,
):
    train = pd.DataFrame({"bureau_score": RNG.normal(600, 80, 5000)})
    train_pd = RNG.uniform(0.01, 0.1, 5000)
    reference = reference_population(
        train, features=["bureau_score"], pd_=train_pd, approve_below=0.06
    )
    n = 60
    recent_pd = RNG.uniform(0.01, 0.1, n)
    decisions = _decisions(
        n,
        pd_=recent_pd,
        outcome=np.where(recent_pd < 0.06, "approve", "decline"),
        start=datetime(2026, 1, 5, tzinfo=UTC),
    )
    features = pd.DataFrame(
        {"bureau_score": RNG.normal(600, 80, n)}, index=decisions["decision_id"]
    )

    result = analyse(inputs=MonitoringInputs(decisions, features, None), reference=reference)

    assert result.summary["score_reading"] == "too few values (60) to judge"
    assert result.summary["score_psi_noise_95"] > result.summary["score_psi"] * 0.5
    assert result.feature_psi.loc[0, "reading"] == "too few values (60) to judge"
    assert any("Only 60 scored decisions" in note for note in result.notes)
    assert result.summary["approval_rate"] == round(result.summary["approval_rate"], 4)
    write_monitoring_report(result, run_dir=tmp_path, title="Monitoring")
    assert (tmp_path / "score_distribution.png").stat().st_size > 1000


def test_a_shift_inside_sampling_noise_is_called_so():
    reference = binned(RNG.normal(size=20_000), bins=10)
    from models.monitoring.drift import psi_noise

    noise = psi_noise(reference, 250)
    assert 0.05 < noise < 0.1
    assert psi_reading(0.12, n=250, noise=0.15) == "within sampling noise"
    assert psi_reading(0.3, n=250, noise=noise) == "major shift"


def test_sampling_noise_bound_is_the_chi_square_quantile():
    from scipy.stats import chi2

    from models.monitoring.drift import psi_noise

    for bins in range(2, 40):
        reference = binned(np.arange(bins * 100, dtype=np.float64), bins=bins)
        used = sum(share > 0 for share in reference.shares)
        assert psi_noise(reference, 250) == chi2.ppf(0.95, used - 1) / 250


def test_missing_sources_are_named_not_fatal():
    decisions = _decisions(
        10, pd_=np.full(10, 0.03), outcome="approve", start=datetime(2026, 1, 5, tzinfo=UTC)
    ).assign(defaulted_12m=None)
    reference = reference_population(
        pd.DataFrame({"x": [1.0, 2.0]}),
        features=["x"],
        pd_=np.array([0.02, 0.03]),
        approve_below=0.06,
    )
    result = analyse(inputs=MonitoringInputs(decisions, None, None), reference=reference)
    notes = " ".join(result.notes)
    assert "feature drift not computed" in notes and "back-test empty" in notes
    assert "No review_cases table" in notes


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_store_reads_decisions_features_outcomes_and_reviews(migrated_engine):
    from sqlalchemy.orm import Session

    from scoring.storage import tables as t

    now = datetime(2026, 2, 1, 12, tzinfo=UTC)
    with Session(migrated_engine) as session, session.begin():
        session.add(t.ApiClient(id="sales", name="Sales", created_at=now))
        customer = t.Customer(pseudonym="ps-1", segment="energy")
        session.add(customer)
        session.flush()
        for i, (when, defaulted) in enumerate([(now - timedelta(days=40), True), (now, None)]):
            app = t.Application(
                client_id="sales",
                external_id=f"e{i}",
                customer_id=customer.id,
                applied_at=when,
                amount=Decimal("900.00"),
                term_months=12,
                product_category="phone",
                channel="web",
                defaulted_12m=defaulted,
            )
            session.add(app)
            session.flush()
            session.add(
                t.Decision(
                    id=f"dec-{i}",
                    application_id=app.id,
                    outcome="decline",
                    automated=True,
                    probability_of_default=0.2,
                    risk_grade="F",
                    model_name="installment-pd",
                    model_version="1",
                    policy_version="2026.11.1",
                    contract_versions={},
                    reasons=[{"code": "bureau_score"}],
                    policy_rules=[],
                    contributions={},
                    counterfactual=None,
                    input_hash="x" * 64,
                    decided_at=when,
                    shadow=None,
                )
            )
    everything = read_monitoring_inputs(migrated_engine)
    assert list(everything.decisions["decision_id"]) == ["dec-0", "dec-1"]
    assert everything.decisions["reasons"].iloc[0] == ["bureau_score"]
    assert everything.reviews is not None and everything.reviews.empty
    recent = read_monitoring_inputs(migrated_engine, since=now - timedelta(days=1))
    assert list(recent.decisions["decision_id"]) == ["dec-1"]
