"""Training from a contract-described snapshot: validate, split by time, fit and calibrate.

Everything dataset-specific (key, time column, target, allowed features, monotone
directions) comes from the snapshot's ODCS contract, so a new feature table with its own
contract trains with no code change.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.training.scoring_model import PlattCalibration, ScoringModel, WoeScorecard
from scoring.domain.errors import InvalidInputError

MODEL_NAME = "installment-pd"
MONOTONE_SIGN = {"increasing": 1, "decreasing": -1}
# optbinning speaks of the event rate's trend as the feature grows.
MONOTONE_TREND = {"increasing": "ascending", "decreasing": "descending"}

LIGHTGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.04,
    "num_leaves": 15,
    "min_child_samples": 80,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "monotone_constraints_method": "advanced",
    "verbose": -1,
    "num_threads": 2,
    "deterministic": True,
    "force_row_wise": True,
}
MAX_BOOST_ROUNDS = 800
EARLY_STOPPING_ROUNDS = 50

Progress = Callable[[str], None]


class TrainingDataError(InvalidInputError, ValueError):
    """The snapshot cannot be trained on as given (missing columns, one class, too few rows)."""


@dataclass(frozen=True)
class TrainingPlan:
    """What the contract says to train: columns and monotone directions."""

    contract_id: str
    contract_version: str
    key: str
    time: str
    target: str
    features: list[str]
    monotone: dict[str, str]


@dataclass
class TimeSplit:
    """Older applications fit and calibrate the model; the newest evaluate it."""

    fit: pd.DataFrame
    calibration: pd.DataFrame
    evaluation: pd.DataFrame

    def describe(self, time_column: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("fit", "calibration", "evaluation"):
            frame = getattr(self, name)
            out[name] = {
                "rows": len(frame),
                "from": str(frame[time_column].min()),
                "to": str(frame[time_column].max()),
            }
        return out


@dataclass
class TrainingResult:
    plan: TrainingPlan
    split: TimeSplit
    models: dict[str, ScoringModel]
    fingerprint: str
    validation_summary: str
    timings: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def plan_from_contract(contract, columns: list[str]) -> TrainingPlan:
    """Read key, time, target, allowed features and monotone directions from the contract."""
    key, time_col, target = contract.key_column, contract.time_column, contract.target_column
    for role, name in (("key", key), ("time", time_col), ("target", target)):
        if not name:
            raise TrainingDataError(f"contract {contract.id} declares no {role} column")
        if name not in columns:
            raise TrainingDataError(f"snapshot lacks the {role} column {name!r} of its contract")
    candidates = [c for c in columns if c not in (key, time_col, target)]
    # Raises ForbiddenFeature naming the clause when a column may not feed a credit model.
    contract.check_model_features(candidates)
    specs = contract.model_features()
    features = [f.name for f in specs]
    missing = [f for f in features if f not in columns]
    if missing:
        raise TrainingDataError(
            f"snapshot lacks model feature(s) {', '.join(missing)} allowed by {contract.id}"
        )
    if not features:
        raise TrainingDataError(f"contract {contract.id} allows no model features")
    monotone = {}
    for spec in specs:
        if spec.monotone:
            if spec.monotone not in MONOTONE_SIGN:
                raise TrainingDataError(
                    f"{spec.name}: monotone must be increasing or decreasing, got {spec.monotone!r}"
                )
            monotone[spec.name] = spec.monotone
    return TrainingPlan(
        contract_id=str(contract.id),
        contract_version=str(contract.version),
        key=key,
        time=time_col,
        target=target,
        features=features,
        monotone=monotone,
    )


def data_fingerprint(snapshot: pd.DataFrame) -> str:
    """SHA-256 over column names and row hashes: same data, same fingerprint."""
    digest = hashlib.sha256("\x1f".join(map(str, snapshot.columns)).encode())
    digest.update(pd.util.hash_pandas_object(snapshot, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def time_split(
    snapshot: pd.DataFrame,
    plan: TrainingPlan,
    *,
    evaluation_fraction: float = 0.25,
    calibration_fraction: float = 0.2,
) -> TimeSplit:
    """Sort by time; the newest ``evaluation_fraction`` evaluates, the rest fits and calibrates."""
    for name, value in (
        ("evaluation_fraction", evaluation_fraction),
        ("calibration_fraction", calibration_fraction),
    ):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")
    ordered = snapshot.sort_values([plan.time, plan.key], kind="stable").reset_index(drop=True)
    n = len(ordered)
    n_eval = int(round(n * evaluation_fraction))
    n_train = n - n_eval
    n_cal = int(round(n_train * calibration_fraction))
    split = TimeSplit(
        fit=ordered.iloc[: n_train - n_cal],
        calibration=ordered.iloc[n_train - n_cal : n_train],
        evaluation=ordered.iloc[n_train:],
    )
    for name in ("fit", "calibration", "evaluation"):
        y = getattr(split, name)[plan.target]
        if y.nunique() < 2:
            raise TrainingDataError(
                f"the {name} slice ({len(y)} rows) holds only one outcome; need more data"
            )
    return split


def fit_lightgbm(split: TimeSplit, plan: TrainingPlan, *, seed: int = 0) -> ScoringModel:
    """Monotone-constrained gradient boosting on numeric features, Platt-calibrated."""
    import lightgbm as lgb

    params = dict(LIGHTGBM_PARAMS, seed=seed)
    params["monotone_constraints"] = [
        MONOTONE_SIGN.get(plan.monotone.get(f, ""), 0) for f in plan.features
    ]
    X_fit = split.fit[plan.features].to_numpy(np.float64)
    X_cal = split.calibration[plan.features].to_numpy(np.float64)
    y_fit = split.fit[plan.target].to_numpy(np.float64)
    y_cal = split.calibration[plan.target].to_numpy(np.float64)
    train_set = lgb.Dataset(X_fit, y_fit, feature_name=plan.features, free_raw_data=True)
    valid_set = lgb.Dataset(X_cal, y_cal, reference=train_set)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=MAX_BOOST_ROUNDS,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    # Keep only the trees up to the best iteration so every consumer scores the same model.
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    calibration = PlattCalibration.fit(booster.predict(X_cal, raw_score=True), y_cal)
    return ScoringModel(
        name=MODEL_NAME,
        kind="lightgbm",
        feature_names=list(plan.features),
        calibration=calibration,
        estimator=booster,
        metadata={
            "params": {k: v for k, v in params.items() if k != "monotone_constraints"},
            "trees": booster.num_trees(),
            "monotone": plan.monotone,
        },
    )


def fit_scorecard(split: TimeSplit, plan: TrainingPlan) -> ScoringModel:
    """Logistic regression on WoE bins (optbinning), bins monotone where the contract says."""
    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression

    fit_params = {f: {"monotonic_trend": MONOTONE_TREND[d]} for f, d in plan.monotone.items()}
    binning = BinningProcess(
        variable_names=list(plan.features),
        max_n_prebins=20,
        min_prebin_size=0.02,
        binning_fit_params=fit_params,
    )
    X_fit = split.fit[plan.features].astype(np.float64)
    y_fit = split.fit[plan.target].to_numpy(np.int64)
    binning.fit(X_fit, y_fit)
    woe_fit = np.asarray(binning.transform(X_fit, metric="woe"), dtype=np.float64)
    logistic = LogisticRegression(C=1.0, max_iter=2000).fit(woe_fit, y_fit)
    scorecard = WoeScorecard(binning, logistic, woe_fit.mean(axis=0))
    cal = split.calibration
    calibration = PlattCalibration.fit(
        scorecard.raw_log_odds(cal[plan.features].astype(np.float64)),
        cal[plan.target].to_numpy(np.int64),
    )
    iv = binning.summary().set_index("name")["iv"].astype(float).to_dict()
    return ScoringModel(
        name=MODEL_NAME,
        kind="scorecard",
        feature_names=list(plan.features),
        calibration=calibration,
        estimator=scorecard,
        metadata={"information_value": iv, "monotone": plan.monotone},
    )


def _default_validate(snapshot, contract):
    from data_contracts.loader import validate_batch

    return validate_batch(snapshot, contract)


def train_candidates(
    snapshot: pd.DataFrame,
    contract,
    *,
    validate: Callable[[pd.DataFrame, Any], Any] | None = None,
    evaluation_fraction: float = 0.25,
    calibration_fraction: float = 0.2,
    fit_sample: float = 1.0,
    seed: int = 0,
    progress: Progress | None = None,
) -> TrainingResult:
    """Validate the snapshot against its contract, split by time and fit both candidates.

    ``validate(snapshot, contract)`` returns a result with ``raise_for_failure()`` and
    ``summary()``; it defaults to the contracts package's ``validate_batch``. ``fit_sample``
    below 1 fits on that random share of the fit slice only (learning curves, and the
    deliberately weaker model the promotion gates must refuse); calibration and evaluation
    slices stay whole so candidates remain comparable.
    """
    if not 0 < fit_sample <= 1:
        raise ValueError(f"fit_sample must be in (0, 1], got {fit_sample}")
    step = progress or (lambda _message: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    step("checking features against the contract")
    plan = plan_from_contract(contract, list(snapshot.columns))

    step("validating the snapshot against its contract")
    result = (validate or _default_validate)(snapshot, contract)
    result.raise_for_failure()
    summary = result.summary()
    timings["validate_s"] = time.perf_counter() - started

    snapshot = snapshot.copy()
    snapshot[plan.time] = pd.to_datetime(snapshot[plan.time], utc=True)
    target = snapshot[plan.target]
    if target.isna().any() or not set(pd.unique(target.astype("int64"))) <= {0, 1}:
        raise TrainingDataError(f"target {plan.target!r} must be 0/1 without missing values")
    snapshot[plan.target] = target.astype("int64")
    fingerprint = data_fingerprint(snapshot)

    step("splitting by time")
    split = time_split(
        snapshot,
        plan,
        evaluation_fraction=evaluation_fraction,
        calibration_fraction=calibration_fraction,
    )
    if fit_sample < 1:
        split.fit = split.fit.sample(frac=fit_sample, random_state=seed).sort_index()
        if split.fit[plan.target].nunique() < 2:
            raise TrainingDataError(
                f"a {fit_sample:.0%} sample of the fit slice holds only one outcome"
            )

    models: dict[str, ScoringModel] = {}
    t0 = time.perf_counter()
    step("fitting the monotone LightGBM candidate")
    models["lightgbm"] = fit_lightgbm(split, plan, seed=seed)
    timings["lightgbm_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    step("fitting the WoE scorecard candidate")
    models["scorecard"] = fit_scorecard(split, plan)
    timings["scorecard_s"] = time.perf_counter() - t0

    for model in models.values():
        model.metadata.update(
            contract_id=plan.contract_id,
            contract_version=plan.contract_version,
            data_fingerprint=fingerprint,
            split=split.describe(plan.time),
        )
    timings["train_total_s"] = time.perf_counter() - started
    return TrainingResult(
        plan=plan,
        split=split,
        models=models,
        fingerprint=fingerprint,
        validation_summary=str(summary),
        timings=timings,
        params={
            "evaluation_fraction": evaluation_fraction,
            "calibration_fraction": calibration_fraction,
            "fit_sample": fit_sample,
            "seed": seed,
            "rows": len(snapshot),
            "features": len(plan.features),
        },
    )
