"""Repeated cross-validation of the candidates beside plain baselines, on the same folds.

A model is worth its complexity only if it beats what an analyst would fit in ten minutes.
Every fold fits the two candidates exactly as training does (categories, monotone
directions, cross-fitted calibration) and two plain baselines:

- ``logistic_onehot``: logistic regression on one-hot categories and standardised numbers
  (missing numbers imputed by the median), no calibration step;
- ``optbinning_scorecard``: optbinning's binning (categorical binning for categories, no
  monotone trends) and a logistic regression on the WoE, no calibration step.

Without a time column the folds are repeated stratified K-folds; with one they are
time-ordered (each fold evaluates a later block on everything before it), which cannot be
repeated. Each model's figures are given as mean and standard deviation over folds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.evaluation import metrics as m
from models.training.train import TrainingPlan, category_lists, fit_lightgbm, fit_scorecard

CANDIDATES = ("lightgbm", "scorecard")
BASELINES = ("logistic_onehot", "optbinning_scorecard")
METRICS = ("auc", "brier", "ece")


@dataclass
class CrossValidation:
    """Per fold and model: AUC, Brier score and ECE on the fold's held-out rows."""

    method: str
    folds: pd.DataFrame  # columns: repeat, fold, model, rows, auc, brier, ece
    # Pooled out-of-fold PDs (averaged over repeats) of every row some fold evaluated, with
    # those rows' keys and outcomes: enough rows for fairness groups a holdout cannot fill.
    oof: dict[str, np.ndarray] = field(default_factory=dict)
    oof_keys: np.ndarray = field(default_factory=lambda: np.empty(0))
    oof_outcomes: np.ndarray = field(default_factory=lambda: np.empty(0))

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation of each metric per model, best mean AUC first."""
        grouped = self.folds.groupby("model")[list(METRICS)]
        out = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=1).add_suffix("_sd"))
        out["folds"] = self.folds.groupby("model").size()
        out["kind"] = ["candidate" if i in CANDIDATES else "baseline" for i in out.index]
        cols = ["kind", "folds"] + [f"{k}_{s}" for k in METRICS for s in ("mean", "sd")]
        return out[cols].sort_values("auc_mean", ascending=False)

    def best(self, kinds: tuple[str, ...]) -> tuple[str, float]:
        means = self.folds[self.folds.model.isin(kinds)].groupby("model")["auc"].mean()
        return str(means.idxmax()), float(means.max())

    def paired_difference(self, first: str, second: str, metric: str) -> PairedDifference:
        """Mean over folds of ``first - second`` in ``metric``, with a corrected 95 % interval.

        Folds of repeated cross-validation share most of their training rows, so the plain
        t-interval over folds is too narrow; the variance is inflated by Nadeau and Bengio's
        correction (1/n + test rows/training rows, Machine Learning 52, 2003).
        """
        from scipy.stats import t

        table = self.folds.pivot_table(index=["repeat", "fold"], columns="model", values=metric)
        diff = (table[first] - table[second]).to_numpy(np.float64)
        n = len(diff)
        rows = self.folds.groupby(["repeat", "fold"])["rows"].first().to_numpy(np.float64)
        total = float(rows.sum() / max(1, self.folds["repeat"].nunique()))
        test_share = float(rows.mean()) / max(total - float(rows.mean()), 1.0)
        mean = float(diff.mean())
        if n < 2:
            return PairedDifference(first, second, metric, mean, float("nan"), float("nan"), n)
        se = float(np.sqrt(diff.var(ddof=1) * (1 / n + test_share)))
        half = float(t.ppf(0.975, n - 1)) * se
        return PairedDifference(first, second, metric, mean, mean - half, mean + half, n)

    def calibration_verdict(self, champion: str, baseline: str) -> list[PairedDifference]:
        """ECE and Brier of the champion minus the baseline's, fold by fold."""
        return [self.paired_difference(champion, baseline, k) for k in ("ece", "brier")]


@dataclass(frozen=True)
class PairedDifference:
    """``first - second`` in one metric over the same folds: mean and 95 % interval."""

    first: str
    second: str
    metric: str
    mean: float
    low: float
    high: float
    folds: int

    @property
    def no_worse(self) -> bool:
        """Lower is better for ECE and Brier: no worse unless the whole interval is above 0."""
        return not self.low > 0

    def describe(self) -> str:
        """One line: the difference, its interval and the verdict."""
        if not self.no_worse:
            verdict = "WORSE (the whole interval lies above zero)"
        elif self.mean <= 0:
            verdict = "no worse (lower on average)"
        else:
            verdict = "no worse (zero lies inside the interval)"
        return (
            f"{self.metric.upper() if self.metric == 'ece' else self.metric.capitalize()} "
            f"{self.first} - {self.second}: {self.mean:+.4f} "
            f"(95 % CI {self.low:+.4f} to {self.high:+.4f}, {self.folds} folds): {verdict}"
        )


def _onehot_logistic(train: pd.DataFrame, plan: TrainingPlan):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [f for f in plan.features if f in plan.categorical]
    numeric = [f for f in plan.features if f not in plan.categorical]
    transformers = []
    if categorical:
        transformers.append(("categories", OneHotEncoder(handle_unknown="ignore"), categorical))
    if numeric:
        transformers.append(
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
        )
    model = make_pipeline(ColumnTransformer(transformers), LogisticRegression(max_iter=2000))
    X = train[plan.features].copy()
    X[categorical] = X[categorical].astype(str)
    model.fit(X, train[plan.target].to_numpy(np.int64))

    def predict(rows: pd.DataFrame) -> np.ndarray:
        Z = rows[plan.features].copy()
        Z[categorical] = Z[categorical].astype(str)
        return model.predict_proba(Z)[:, 1]

    return predict


def _plain_scorecard(train: pd.DataFrame, plan: TrainingPlan):
    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression

    categorical = [f for f in plan.features if f in plan.categorical]
    codes = category_lists(train, plan)

    def encoded(rows: pd.DataFrame) -> pd.DataFrame:
        X = rows[plan.features].copy()
        for name in categorical:
            X[name] = pd.Categorical(X[name].astype(str), categories=codes[name]).codes
            X[name] = X[name].where(X[name] >= 0, np.nan).astype(np.float64)
        return X.astype(np.float64)

    binning = BinningProcess(
        variable_names=list(plan.features),
        categorical_variables=categorical or None,
        max_n_prebins=20,
        min_prebin_size=0.02,
    )
    y = train[plan.target].to_numpy(np.int64)
    X = encoded(train)
    binning.fit(X, y)
    logistic = LogisticRegression(max_iter=2000).fit(binning.transform(X, metric="woe"), y)

    def predict(rows: pd.DataFrame) -> np.ndarray:
        return logistic.predict_proba(binning.transform(encoded(rows), metric="woe"))[:, 1]

    return predict


def _folds(
    frame: pd.DataFrame, plan: TrainingPlan, repeats: int, folds: int, seed: int
) -> tuple[str, Iterator[tuple[int, int, np.ndarray, np.ndarray]]]:
    y = frame[plan.target].to_numpy()
    if plan.time is not None:
        order = np.argsort(frame[plan.time].to_numpy(), kind="stable")
        blocks = np.array_split(order, folds + 1)

        def by_time():
            for k in range(1, folds + 1):
                yield 0, k, np.concatenate(blocks[:k]), blocks[k]

        return (
            f"time-ordered: {folds} folds, each evaluating a later block on all earlier rows",
            by_time(),
        )
    from sklearn.model_selection import RepeatedStratifiedKFold

    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)

    def stratified():
        for i, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
            yield i // folds, i % folds, train, test

    return f"repeated stratified {folds}-fold, {repeats} repeats (seed {seed})", stratified()


def cross_validate(
    frame: pd.DataFrame,
    plan: TrainingPlan,
    *,
    repeats: int = 3,
    folds: int = 5,
    calibration_folds: int = 5,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> CrossValidation:
    """Candidates and baselines on the same folds of ``frame`` (the prepared snapshot)."""
    if folds < 2 or repeats < 1:
        raise ValueError(
            f"cross-validation needs folds >= 2 and repeats >= 1, got {folds}, {repeats}"
        )
    step = progress or (lambda _message: None)
    method, splits = _folds(frame, plan, repeats, folds, seed)
    rows = []
    oof = {name: np.zeros(len(frame)) for name in CANDIDATES + BASELINES}
    seen = np.zeros(len(frame))
    for repeat, fold, train_idx, test_idx in splits:
        step(f"cross-validation: repeat {repeat + 1}, fold {fold + 1}")
        train, test = frame.iloc[train_idx], frame.iloc[test_idx]
        y = test[plan.target].to_numpy(np.float64)
        predictions = {
            "lightgbm": fit_lightgbm(
                train, plan, seed=seed + repeat, folds=calibration_folds
            ).predict_pd,
            "scorecard": fit_scorecard(
                train, plan, seed=seed + repeat, folds=calibration_folds
            ).predict_pd,
            "logistic_onehot": _onehot_logistic(train, plan),
            "optbinning_scorecard": _plain_scorecard(train, plan),
        }
        seen[test_idx] += 1
        for name, predict in predictions.items():
            p = np.asarray(predict(test), dtype=np.float64)
            oof[name][test_idx] += p
            rows.append(
                {
                    "repeat": repeat,
                    "fold": fold,
                    "model": name,
                    "rows": len(test),
                    "auc": m.auc(y, p),
                    "brier": m.brier(y, p),
                    "ece": m.expected_calibration_error(y, p),
                }
            )
    evaluated = seen > 0
    pooled = {name: values[evaluated] / seen[evaluated] for name, values in oof.items()}
    return CrossValidation(
        method=method,
        folds=pd.DataFrame(rows),
        oof=pooled,
        oof_keys=frame[plan.key].to_numpy()[evaluated],
        oof_outcomes=frame[plan.target].to_numpy()[evaluated],
    )
