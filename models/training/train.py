"""Training from a contract-described snapshot: validate, split, fit and calibrate.

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
from scoring.domain.protected_attributes import refusal

MODEL_NAME = "installment-pd"
PRODUCT_CONTRACT = "training_snapshot"
MONOTONE_SIGN = {"increasing": 1, "decreasing": -1}
# optbinning speaks of the event rate's trend as the feature grows.
MONOTONE_TREND = {"increasing": "ascending", "decreasing": "descending"}

# "intermediate", not "advanced": the advanced method let trees with small leaves break a
# declared direction (tests/models/test_training.py checks every bureau score step).
LIGHTGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.02,
    "num_leaves": 15,
    "min_child_samples": 80,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "monotone_constraints_method": "intermediate",
    "verbose": -1,
    "num_threads": 2,
    "deterministic": True,
    "force_row_wise": True,
}
MAX_BOOST_ROUNDS = 800
EARLY_STOPPING_ROUNDS = 50

CALIBRATION_FOLDS = 5
SINGLE_THREAD_ROWS = 20_000
# The row position names the rows when a contract declares no key.
ROW_KEY = "row_number"
EXAMPLES = 5
# Below these, training refuses: with fewer than 100 of either outcome each of five
# evaluation folds holds under 20 of them, and an AUC's 95 % interval is wider than +-0.1,
# so neither the model nor the comparison with baselines can be judged.
MIN_ROWS = 500
MIN_BAD = 100
SAMPLE_SIZE_REASON = (
    "below 500 rows or 100 of either outcome, the evaluation folds hold under 20 of them and "
    "an AUC's 95 % interval is wider than +-0.1: the model could not be judged"
)

Progress = Callable[[str], None]


class TrainingDataError(InvalidInputError, ValueError):
    """The snapshot cannot be trained on as given (missing columns, one class, too few rows)."""


class ProtectedFeatureError(TrainingDataError):
    """A model feature is a protected attribute; refused whatever the contract allows."""

    def __init__(self, refusals: list[str]) -> None:
        self.refusals = refusals
        super().__init__("; ".join(refusals))


@dataclass(frozen=True)
class TrainingPlan:
    """What the contract says to train: columns, categories and monotone directions.

    ``key`` is :data:`ROW_KEY` (the row's position in the file) when the contract names no
    key; ``time`` is None when it names no time column, and the evaluation split is then a
    stratified random one.
    """

    contract_id: str
    contract_version: str
    key: str
    time: str | None
    target: str
    features: list[str]
    monotone: dict[str, str]
    categorical: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    bad_value: Any = None
    protected: list[str] = field(default_factory=list)
    model_name: str = MODEL_NAME

    @property
    def key_is_row_position(self) -> bool:
        return self.key == ROW_KEY

    def unordered(self) -> list[str]:
        """Categorical features without a declared order (categories, not numbers)."""
        return [f for f in self.features if f in self.categorical and not self.categorical[f]]


@dataclass
class Split:
    """Rows the models learn from (and calibrate on, cross-fitted) and rows that evaluate them."""

    train: pd.DataFrame
    evaluation: pd.DataFrame
    method: str
    time_column: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method}
        for name in ("train", "evaluation"):
            frame = getattr(self, name)
            part: dict[str, Any] = {"rows": len(frame)}
            if self.time_column is not None:
                part.update(
                    from_=str(frame[self.time_column].min()), to=str(frame[self.time_column].max())
                )
            out[name] = part
        return out


@dataclass
class TrainingResult:
    plan: TrainingPlan
    split: Split
    models: dict[str, ScoringModel]
    fingerprint: str
    validation_summary: str
    timings: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def _optional_column(contract, use: str) -> str | None:
    names = [f.name for f in contract.fields if f.model_use == use]
    if len(names) > 1:
        raise TrainingDataError(
            f"contract {contract.id} has {len(names)} fields with modelUse={use} "
            f"({', '.join(names)}); at most one may be the {use} column"
        )
    return names[0] if names else None


def plan_from_contract(contract, columns: list[str], *, model_name: str | None = None):
    """Read key, time, target, allowed features, categories and monotone directions.

    Only the target is required; a contract without a key uses the row position, one without
    a time column splits at random (stratified by outcome). Any allowed feature that reads as
    a protected attribute, or that the contract marks protected, is refused whatever the
    contract allows.
    """
    target = _optional_column(contract, "target")
    if target is None:
        raise TrainingDataError(
            f"contract {contract.id} declares no target column (a field with modelUse: target)"
        )
    key = _optional_column(contract, "key")
    time_col = _optional_column(contract, "time")
    for role, name in (("key", key), ("time", time_col), ("target", target)):
        if name is not None and name not in columns:
            raise TrainingDataError(f"snapshot lacks the {role} column {name!r} of its contract")
    if key is None and ROW_KEY in columns:
        raise TrainingDataError(
            f"the snapshot has a column {ROW_KEY!r} but its contract names no key: declare it "
            "modelUse: key, or rename it (the row position takes that name)"
        )
    specs_by_name = {f.name: f for f in contract.fields}
    protected = [f.name for f in contract.fields if f.model_use == "protected"]
    candidates = [c for c in columns if c not in (key, time_col, target, *protected)]
    # Raises ForbiddenFeature naming the clause when a column may not feed a credit model.
    contract.check_model_features(candidates)
    specs = contract.model_features()
    refusals = [
        reason
        for spec in specs
        if (reason := refusal(spec.name, marked_protected=getattr(spec, "protected", False)))
    ]
    if refusals:
        raise ProtectedFeatureError(refusals)
    features = [f.name for f in specs]
    missing = [f for f in features if f not in columns]
    if missing:
        raise TrainingDataError(
            f"snapshot lacks model feature(s) {', '.join(missing)} allowed by {contract.id}"
        )
    if not features:
        raise TrainingDataError(f"contract {contract.id} allows no model features")
    monotone, categorical = {}, {}
    for spec in specs:
        if spec.monotone:
            if spec.monotone not in MONOTONE_SIGN:
                raise TrainingDataError(
                    f"{spec.name}: monotone must be increasing or decreasing, got {spec.monotone!r}"
                )
            monotone[spec.name] = spec.monotone
        order = tuple(getattr(spec, "category_order", ()) or ())
        if getattr(spec, "categorical", False) or spec.logical_type == "string" or order:
            categorical[spec.name] = order
            if spec.monotone and not order:
                raise TrainingDataError(
                    f"{spec.name}: monotone on a categorical feature needs its categoryOrder"
                )
    target_spec = specs_by_name[target]
    return TrainingPlan(
        contract_id=str(contract.id),
        contract_version=str(contract.version),
        key=key or ROW_KEY,
        time=time_col,
        target=target,
        features=features,
        monotone=monotone,
        categorical=categorical,
        bad_value=getattr(target_spec, "bad_value", None),
        protected=protected,
        model_name=registered_name(contract, model_name),
    )


def registered_name(contract, requested: str | None = None) -> str:
    """The name models of this contract's data are registered under.

    The product's own snapshot contract trains ``installment-pd``; any other contract trains
    under ``--model-name``, its ``modelName`` or ``<contract id>-pd``, and never under the
    production model's name.
    """
    own = str(contract.id) == PRODUCT_CONTRACT
    name = requested or getattr(contract, "model_name", None)
    if name is None:
        return MODEL_NAME if own else f"{contract.id}-pd"
    if name == MODEL_NAME and not own:
        raise TrainingDataError(
            f"model name {MODEL_NAME!r} belongs to the production model, trained on the "
            f"{PRODUCT_CONTRACT} contract; data of contract {contract.id} needs a name of its own"
        )
    return name


def data_fingerprint(snapshot: pd.DataFrame) -> str:
    """SHA-256 over column names and row hashes: same data, same fingerprint."""
    digest = hashlib.sha256("\x1f".join(map(str, snapshot.columns)).encode())
    digest.update(pd.util.hash_pandas_object(snapshot, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _examples(values: pd.Series) -> str:
    shown = list(dict.fromkeys(values.astype(str).tolist()))[:EXAMPLES]
    return ", ".join(repr(v) for v in shown)


def outcome_flags(target: pd.Series, plan: TrainingPlan) -> pd.Series:
    """The target as 0/1 (1 = bad), refusing anything that is not exactly two outcomes.

    A text target needs the contract's ``badValue``; a numeric one must hold only 0 and 1
    (0.5 is refused, not truncated); a boolean one is taken as is.
    """
    name = plan.target
    if target.isna().any():
        raise TrainingDataError(
            f"target {name!r}: {int(target.isna().sum())} row(s) have no outcome; every row "
            "needs one"
        )
    values = pd.unique(target)
    if len(values) != 2:
        raise TrainingDataError(
            f"target {name!r} must hold exactly two outcomes, found {len(values)}: "
            f"{_examples(pd.Series(values))}"
        )
    if plan.bad_value is not None:
        bad = target.astype(str) == str(plan.bad_value)
        if not bad.any():
            raise TrainingDataError(
                f"target {name!r}: badValue {plan.bad_value!r} of the contract never occurs; "
                f"values are {_examples(pd.Series(values))}"
            )
        return bad.astype("int64")
    if target.dtype == bool or str(target.dtype) == "boolean":
        return target.astype("int64")
    numeric = pd.to_numeric(target, errors="coerce")
    if numeric.isna().any():
        raise TrainingDataError(
            f"target {name!r} holds text ({_examples(target[numeric.isna()])}); name the bad "
            "outcome in the contract with badValue on the target field"
        )
    outside = ~numeric.isin([0, 1])
    if outside.any():
        raise TrainingDataError(
            f"target {name!r} must be 0 (good) or 1 (bad), {int(outside.sum())} row(s) are "
            f"not: {_examples(target[outside])}"
        )
    return numeric.astype("int64")


def check_sample_size(y: pd.Series, plan: TrainingPlan, *, min_rows: int, min_bad: int) -> None:
    """Refuse data too small to fit and judge a model on (see MIN_ROWS and MIN_BAD)."""
    rows, bad = len(y), int(y.sum())
    good = rows - bad
    if rows < min_rows:
        raise TrainingDataError(
            f"minimum sample size: {rows} rows, training needs at least {min_rows} "
            f"({SAMPLE_SIZE_REASON})"
        )
    if min(bad, good) < min_bad:
        which = "bad" if bad < good else "good"
        raise TrainingDataError(
            f"minimum outcome count: {min(bad, good)} {which} outcomes in {plan.target!r}, "
            f"training needs at least {min_bad} of each ({SAMPLE_SIZE_REASON})"
        )


def prepare_snapshot(snapshot: pd.DataFrame, plan: TrainingPlan) -> pd.DataFrame:
    """The snapshot as training reads it: 0/1 target, parsed time, a key, text categories."""
    frame = snapshot.copy()
    if plan.key_is_row_position:
        frame.insert(0, ROW_KEY, np.arange(1, len(frame) + 1, dtype=np.int64))
    if plan.time is not None:
        frame[plan.time] = pd.to_datetime(frame[plan.time], utc=True)
    frame[plan.target] = outcome_flags(frame[plan.target], plan)
    for name, order in plan.categorical.items():
        column = frame[name]
        frame[name] = column.astype(object).where(column.notna(), None)
        if order:
            unknown = column.notna() & ~column.astype(str).isin([str(v) for v in order])
            if unknown.any():
                raise TrainingDataError(
                    f"feature {name!r}: {int(unknown.sum())} value(s) outside its categoryOrder: "
                    f"{_examples(column[unknown])}"
                )
    for name in plan.features:
        if name in plan.categorical:
            continue
        numeric = pd.to_numeric(frame[name], errors="coerce")
        bad = numeric.isna() & frame[name].notna()
        if bad.any():
            raise TrainingDataError(
                f"feature {name!r} must be numeric (or marked categorical in the contract); "
                f"{int(bad.sum())} value(s) are not: {_examples(frame[name][bad])}"
            )
        frame[name] = numeric
    return frame


def holdout_split(
    frame: pd.DataFrame, plan: TrainingPlan, *, evaluation_fraction: float = 0.25, seed: int = 0
) -> Split:
    """The newest ``evaluation_fraction`` evaluates; without time, a stratified random share."""
    if not 0 < evaluation_fraction < 1:
        raise ValueError(f"evaluation_fraction must be between 0 and 1, got {evaluation_fraction}")
    if plan.time is not None:
        ordered = frame.sort_values([plan.time, plan.key], kind="stable").reset_index(drop=True)
        n_eval = int(round(len(ordered) * evaluation_fraction))
        split = Split(
            train=ordered.iloc[: len(ordered) - n_eval],
            evaluation=ordered.iloc[len(ordered) - n_eval :],
            method=f"by time: the newest {evaluation_fraction:.0%} of applications evaluate",
            time_column=plan.time,
        )
    else:
        from sklearn.model_selection import train_test_split

        train, evaluation = train_test_split(
            frame, test_size=evaluation_fraction, stratify=frame[plan.target], random_state=seed
        )
        split = Split(
            train=train.sort_index(),
            evaluation=evaluation.sort_index(),
            method=(
                f"stratified random: the data has no time column, so a random "
                f"{evaluation_fraction:.0%} (same default rate) evaluates"
            ),
        )
    for name in ("train", "evaluation"):
        y = getattr(split, name)[plan.target]
        if y.nunique() < 2:
            raise TrainingDataError(
                f"the {name} slice ({len(y)} rows) holds only one outcome; need more data"
            )
    return split


def category_lists(frame: pd.DataFrame, plan: TrainingPlan) -> dict[str, list[str]]:
    """Per categorical feature, its categories as the model codes them (0, 1, ...).

    An ordered feature keeps the contract's order; an unordered one the sorted categories
    seen in training. A category the model never saw scores as missing.
    """
    out = {}
    for name, order in plan.categorical.items():
        if order:
            out[name] = [str(v) for v in order]
        else:
            out[name] = sorted(frame[name].dropna().astype(str).unique().tolist())
    return out


def _folds(y: np.ndarray, folds: int, seed: int):
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(
        np.zeros(len(y)), y
    )


def _lightgbm_params(plan: TrainingPlan, rows: int, seed: int) -> dict[str, Any]:
    params = dict(LIGHTGBM_PARAMS, seed=seed)
    # Leaves of 80 rows suit tens of thousands of applications; small data gets smaller ones.
    params["min_child_samples"] = int(
        min(LIGHTGBM_PARAMS["min_child_samples"], max(10, rows // 40))
    )
    params["min_data_per_group"] = params["min_child_samples"]
    params["cat_smooth"] = 10.0
    # On small data an OpenMP team costs more than it saves, and starves on a busy machine.
    if rows < SINGLE_THREAD_ROWS:
        params["num_threads"] = 1
    params["monotone_constraints"] = [
        MONOTONE_SIGN.get(plan.monotone.get(f, ""), 0) for f in plan.features
    ]
    return params


def fit_lightgbm(
    train: pd.DataFrame, plan: TrainingPlan, *, seed: int = 0, folds: int = CALIBRATION_FOLDS
) -> ScoringModel:
    """Monotone gradient boosting, categories native, Platt-calibrated out of fold.

    Each of ``folds`` stratified folds trains on the others with early stopping on itself and
    gives its rows out-of-fold margins; the calibration is fitted on those, the final booster
    on every training row with the folds' mean best number of trees.
    """
    import lightgbm as lgb

    categories = category_lists(train, plan)
    encoder = ScoringModel(
        name=plan.model_name,
        kind="lightgbm",
        feature_names=plan.features,
        calibration=PlattCalibration(1.0, 0.0),
        estimator=None,
        categories=categories,
    )
    X = encoder.matrix(train)
    y = train[plan.target].to_numpy(np.float64)
    params = _lightgbm_params(plan, len(train), seed)
    categorical_feature = [plan.features.index(f) for f in plan.unordered()]

    def dataset(rows, reference=None):
        return lgb.Dataset(
            X[rows],
            y[rows],
            feature_name=plan.features,
            categorical_feature=categorical_feature,
            reference=reference,
            free_raw_data=False,
        )

    oof = np.empty(len(y))
    rounds = []
    for fit_rows, held_rows in _folds(y, folds, seed):
        fit_set = dataset(fit_rows)
        booster = lgb.train(
            params,
            fit_set,
            num_boost_round=MAX_BOOST_ROUNDS,
            valid_sets=[dataset(held_rows, reference=fit_set)],
            callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
        )
        rounds.append(max(booster.best_iteration, 1))
        oof[held_rows] = booster.predict(
            X[held_rows], raw_score=True, num_iteration=booster.best_iteration
        )
    n_trees = int(round(float(np.mean(rounds))))
    booster = lgb.train(params, dataset(np.arange(len(y))), num_boost_round=n_trees)
    booster = lgb.Booster(model_str=booster.model_to_string())
    calibration = PlattCalibration.fit(oof, y)
    return ScoringModel(
        name=plan.model_name,
        kind="lightgbm",
        feature_names=list(plan.features),
        calibration=calibration,
        estimator=booster,
        categories=categories,
        metadata={
            "params": {k: v for k, v in params.items() if k != "monotone_constraints"},
            "trees": booster.num_trees(),
            "monotone": plan.monotone,
            "categorical": plan.unordered(),
            "calibration": _calibration_note(folds, len(y)),
        },
    )


def _calibration_note(folds: int, rows: int) -> str:
    return (
        f"cross-fitted: Platt scaling on {folds}-fold out-of-fold log-odds; the model itself "
        f"fitted on all {rows} training rows"
    )


def _binning(plan: TrainingPlan):
    from optbinning import BinningProcess

    fit_params = {f: {"monotonic_trend": MONOTONE_TREND[d]} for f, d in plan.monotone.items()}
    return BinningProcess(
        variable_names=list(plan.features),
        categorical_variables=plan.unordered() or None,
        max_n_prebins=20,
        min_prebin_size=0.02,
        binning_fit_params=fit_params,
    )


def _fit_woe_scorecard(X: pd.DataFrame, y: np.ndarray, plan: TrainingPlan) -> WoeScorecard:
    from sklearn.linear_model import LogisticRegression

    binning = _binning(plan)
    binning.fit(X, y)
    woe = np.asarray(binning.transform(X, metric="woe"), dtype=np.float64)
    logistic = LogisticRegression(C=1.0, max_iter=2000).fit(woe, y)
    return WoeScorecard(binning, logistic, woe.mean(axis=0))


def fit_scorecard(
    train: pd.DataFrame, plan: TrainingPlan, *, seed: int = 0, folds: int = CALIBRATION_FOLDS
) -> ScoringModel:
    """Logistic regression on WoE bins (optbinning; categorical binning for categories).

    Bins are monotone only where the contract says; the Platt calibration is fitted on
    out-of-fold log-odds of ``folds`` scorecards, the scorecard itself on every training row.
    """
    categories = category_lists(train, plan)
    encoder = ScoringModel(
        name=plan.model_name,
        kind="scorecard",
        feature_names=plan.features,
        calibration=PlattCalibration(1.0, 0.0),
        estimator=None,
        categories=categories,
    )
    X = pd.DataFrame(encoder.matrix(train), columns=plan.features)
    y = train[plan.target].to_numpy(np.int64)
    oof = np.empty(len(y))
    for fit_rows, held_rows in _folds(y, folds, seed):
        fold_card = _fit_woe_scorecard(X.iloc[fit_rows], y[fit_rows], plan)
        oof[held_rows] = fold_card.raw_log_odds(X.iloc[held_rows])
    scorecard = _fit_woe_scorecard(X, y, plan)
    calibration = PlattCalibration.fit(oof, y)
    iv = scorecard.binning_process.summary().set_index("name")["iv"].astype(float).to_dict()
    return ScoringModel(
        name=plan.model_name,
        kind="scorecard",
        feature_names=list(plan.features),
        calibration=calibration,
        estimator=scorecard,
        categories=categories,
        metadata={
            "information_value": iv,
            "monotone": plan.monotone,
            "categorical": plan.unordered(),
            "calibration": _calibration_note(folds, len(y)),
        },
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
    calibration_folds: int = CALIBRATION_FOLDS,
    fit_sample: float = 1.0,
    seed: int = 0,
    min_rows: int = MIN_ROWS,
    min_bad: int = MIN_BAD,
    model_name: str | None = None,
    progress: Progress | None = None,
) -> TrainingResult:
    """Validate the snapshot against its contract, split it and fit both candidates.

    ``validate(snapshot, contract)`` returns a result with ``raise_for_failure()`` and
    ``summary()``; it defaults to the contracts package's ``validate_batch``. ``fit_sample``
    below 1 fits on that random share of the training rows only (learning curves, and the
    deliberately weaker model the promotion gates must refuse); the evaluation slice stays
    whole so candidates remain comparable.
    """
    if not 0 < fit_sample <= 1:
        raise ValueError(f"fit_sample must be in (0, 1], got {fit_sample}")
    step = progress or (lambda _message: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    step("checking features against the contract")
    plan = plan_from_contract(contract, list(snapshot.columns), model_name=model_name)

    step("validating the snapshot against its contract")
    result = (validate or _default_validate)(snapshot, contract)
    result.raise_for_failure()
    summary = result.summary()
    timings["validate_s"] = time.perf_counter() - started

    frame = prepare_snapshot(snapshot, plan)
    check_sample_size(frame[plan.target], plan, min_rows=min_rows, min_bad=min_bad)
    fingerprint = data_fingerprint(frame)

    step("splitting off the evaluation slice")
    split = holdout_split(frame, plan, evaluation_fraction=evaluation_fraction, seed=seed)
    if fit_sample < 1:
        split.train = split.train.sample(frac=fit_sample, random_state=seed).sort_index()
        if split.train[plan.target].nunique() < 2:
            raise TrainingDataError(
                f"a {fit_sample:.0%} sample of the training rows holds only one outcome"
            )

    models: dict[str, ScoringModel] = {}
    t0 = time.perf_counter()
    step("fitting the LightGBM candidate (cross-fitted calibration)")
    models["lightgbm"] = fit_lightgbm(split.train, plan, seed=seed, folds=calibration_folds)
    timings["lightgbm_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    step("fitting the WoE scorecard candidate (cross-fitted calibration)")
    models["scorecard"] = fit_scorecard(split.train, plan, seed=seed, folds=calibration_folds)
    timings["scorecard_s"] = time.perf_counter() - t0

    for model in models.values():
        model.metadata.update(
            contract_id=plan.contract_id,
            contract_version=plan.contract_version,
            data_fingerprint=fingerprint,
            split=split.describe(),
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
            "calibration": f"cross-fitted, {calibration_folds} folds",
            "fit_sample": fit_sample,
            "seed": seed,
            "rows": len(frame),
            "features": len(plan.features),
        },
    )
