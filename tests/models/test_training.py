"""Training from a contract: refusal of forbidden features, time split, calibration, SHAP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from models_fake_contract import FakeContract, fake_validate

from models.evaluation import metrics
from models.training import ScoringModel, TrainingDataError, train_candidates
from models.training.train import plan_from_contract


@pytest.fixture(scope="module")
def trained(snapshot):
    return train_candidates(snapshot, FakeContract(), validate=fake_validate)


def test_a_snapshot_with_sex_is_refused_naming_the_clause(snapshot):
    from data_contracts.loader import ForbiddenFeature, load_contract

    contract = load_contract("training_snapshot")
    with pytest.raises(ForbiddenFeature, match=r"'sex'.*training_snapshot.*modelUse=forbidden"):
        train_candidates(snapshot.assign(sex="F"), contract, validate=fake_validate)


def test_plan_reads_features_and_monotone_directions_from_the_contract(snapshot):
    from data_contracts.loader import load_contract

    plan = plan_from_contract(load_contract("training_snapshot"), list(snapshot.columns))
    assert (plan.key, plan.time, plan.target) == ("application_id", "applied_at", "defaulted_12m")
    assert plan.monotone["bureau_score"] == "decreasing"
    assert plan.monotone["max_dpd_3m"] == "increasing"
    assert "product_category_code" in plan.features and "product_category_code" not in plan.monotone


def test_missing_contract_feature_is_named(snapshot):
    with pytest.raises(TrainingDataError, match="bureau_score"):
        train_candidates(
            snapshot.drop(columns="bureau_score"), FakeContract(), validate=fake_validate
        )


def test_failed_validation_stops_the_run(snapshot):
    duplicated = pd.concat([snapshot, snapshot.head(1)], ignore_index=True)
    with pytest.raises(ValueError, match="application_id not unique"):
        train_candidates(duplicated, FakeContract(), validate=fake_validate)


def test_split_trains_on_older_and_evaluates_on_newer(trained):
    split = trained.split
    assert split.train.applied_at.max() <= split.evaluation.applied_at.min()
    assert len(split.evaluation) == pytest.approx(0.25 * trained.params["rows"], abs=1)
    assert split.describe()["method"].startswith("by time")


def test_calibration_is_cross_fitted_and_the_model_sees_every_training_row(trained):
    for model in trained.models.values():
        note = model.metadata["calibration"]
        assert note.startswith("cross-fitted") and f"all {len(trained.split.train)}" in note


def test_booster_respects_contract_monotone_directions(trained):
    model = trained.models["lightgbm"]
    row = trained.split.evaluation.head(200).copy()
    grid = np.linspace(300, 900, 13)
    pds = np.array([model.raw_log_odds(row.assign(bureau_score=s)) for s in grid])
    assert (np.diff(pds, axis=0) <= 1e-12).all()  # better bureau score, never higher PD


@pytest.mark.parametrize("kind", ["lightgbm", "scorecard"])
def test_candidates_discriminate_and_are_calibrated(trained, truth, kind):
    model = trained.models[kind]
    ev = trained.split.evaluation
    p = model.predict_pd(ev)
    assert metrics.auc(ev.defaulted_12m, p) > 0.70
    assert abs(p.mean() - truth.reindex(ev.application_id).mean()) < 0.03


@pytest.mark.parametrize("kind", ["lightgbm", "scorecard"])
def test_contributions_add_up_to_the_calibrated_log_odds(trained, kind):
    model = trained.models[kind]
    sample = trained.split.evaluation.head(300)
    base, contrib = model.explain(sample)
    p = model.predict_pd(sample)
    np.testing.assert_allclose(base + contrib.sum(axis=1), np.log(p / (1 - p)), atol=1e-6)
    assert list(contrib.columns) == model.feature_names


def test_tree_explainer_agrees_with_the_booster_margin(trained):
    from models.evaluation.report import shap_additivity

    gaps = shap_additivity(trained.models["lightgbm"], trained.split.evaluation.head(300))
    assert max(gaps.values()) < 1e-6


@pytest.mark.parametrize("kind", ["lightgbm", "scorecard"])
def test_saved_model_scores_identically(trained, tmp_path, kind):
    model = trained.models[kind]
    loaded = ScoringModel.load(model.save(tmp_path / kind))
    ev = trained.split.evaluation
    np.testing.assert_array_equal(loaded.predict_pd(ev), model.predict_pd(ev))


def test_model_names_missing_feature_columns(trained):
    from models.training import ModelInputError

    with pytest.raises(ModelInputError, match="current_dpd"):
        trained.models["lightgbm"].predict_pd(trained.split.evaluation.drop(columns="current_dpd"))
