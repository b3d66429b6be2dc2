"""The object the decision service scores with: calibrated PD and exact log-odds contributions.

A model has a raw score in log-odds (the booster's margin, or the scorecard's linear
predictor) and a Platt calibration ``logit(PD) = slope * raw + intercept`` fitted on a
held-out slice of the training period. Because the map is affine in log-odds, the raw
contributions multiplied by ``slope`` are exactly the contributions to ``logit(PD)``:
``base_value + contributions.sum(axis=1) == logit(predict_pd(X))``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MODEL_FILE = "scoring_model.json"
BOOSTER_FILE = "booster.txt"
SCORECARD_FILE = "scorecard.joblib"
KINDS = ("lightgbm", "scorecard")


class ModelInputError(ValueError):
    """Features handed to a model do not match what it was trained on."""


@dataclass(frozen=True)
class PlattCalibration:
    """Affine map from raw log-odds to calibrated log-odds."""

    slope: float
    intercept: float

    def logit(self, raw: np.ndarray) -> np.ndarray:
        return self.slope * raw + self.intercept

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray) -> PlattCalibration:
        from sklearn.linear_model import LogisticRegression

        if len(np.unique(y)) < 2:
            raise ValueError("the calibration slice holds only one outcome class")
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
        return cls(slope=float(lr.coef_[0, 0]), intercept=float(lr.intercept_[0]))


class WoeScorecard:
    """Logistic regression on optbinning WoE bins, with exact per-feature contributions."""

    def __init__(self, binning_process, logistic_regression, woe_means: np.ndarray):
        self.binning_process = binning_process
        self.logistic_regression = logistic_regression
        self.woe_means = woe_means

    def woe(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.binning_process.transform(X, metric="woe"), dtype=np.float64)

    def raw_log_odds(self, X: pd.DataFrame) -> np.ndarray:
        return self.logistic_regression.decision_function(self.woe(X))

    def raw_contributions(self, X: pd.DataFrame) -> tuple[float, np.ndarray]:
        coef = self.logistic_regression.coef_[0]
        base = float(self.logistic_regression.intercept_[0] + coef @ self.woe_means)
        return base, (self.woe(X) - self.woe_means) * coef


@dataclass
class ScoringModel:
    """A trained PD model: ``predict_pd`` and ``explain`` on a features DataFrame."""

    name: str
    kind: str
    feature_names: list[str]
    calibration: PlattCalibration
    estimator: Any
    version: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; expected one of {KINDS}")

    def _frame(self, features: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ModelInputError(f"features lack column(s) {', '.join(missing)}")
        return features.loc[:, self.feature_names].astype(np.float64)

    def raw_log_odds(self, features: pd.DataFrame) -> np.ndarray:
        """The uncalibrated model output in log-odds (what SHAP explains)."""
        X = self._frame(features)
        if self.kind == "lightgbm":
            return self.estimator.predict(X.to_numpy(), raw_score=True)
        return self.estimator.raw_log_odds(X)

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated 12-month probability of default per row."""
        return 1.0 / (1.0 + np.exp(-self.calibration.logit(self.raw_log_odds(features))))

    def raw_contributions(self, features: pd.DataFrame) -> tuple[float, pd.DataFrame]:
        """Exact SHAP values of the raw log-odds (TreeSHAP for the booster)."""
        X = self._frame(features)
        if self.kind == "lightgbm":
            if X.empty:
                raise ModelInputError("no rows to explain")
            contrib = self.estimator.predict(X.to_numpy(), pred_contrib=True)
            base, values = float(contrib[0, -1]), contrib[:, :-1]
        else:
            base, values = self.estimator.raw_contributions(X)
        return base, pd.DataFrame(values, index=features.index, columns=self.feature_names)

    def explain(self, features: pd.DataFrame) -> tuple[float, pd.DataFrame]:
        """Base value and per-feature contributions in calibrated log-odds.

        ``base + contributions.sum(axis=1)`` equals ``logit(predict_pd(features))``.
        """
        base, raw = self.raw_contributions(features)
        return self.calibration.logit(np.float64(base)).item(), raw * self.calibration.slope

    def save(self, directory: Path) -> Path:
        """Write the model to a folder (JSON metadata plus the estimator file)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.kind == "lightgbm":
            self.estimator.save_model(str(directory / BOOSTER_FILE))
        else:
            import joblib

            joblib.dump(self.estimator, directory / SCORECARD_FILE)
        (directory / MODEL_FILE).write_text(
            json.dumps(
                {
                    "name": self.name,
                    "kind": self.kind,
                    "version": self.version,
                    "feature_names": self.feature_names,
                    "calibration": {
                        "slope": self.calibration.slope,
                        "intercept": self.calibration.intercept,
                    },
                    "metadata": self.metadata,
                },
                indent=2,
                default=str,
            )
        )
        return directory

    @classmethod
    def load(cls, directory: Path, *, version: str | None = None) -> ScoringModel:
        """Read a model folder written by :meth:`save`."""
        directory = Path(directory)
        spec_file = directory / MODEL_FILE
        if not spec_file.exists():
            raise FileNotFoundError(f"{directory} holds no {MODEL_FILE}")
        spec = json.loads(spec_file.read_text())
        if spec["kind"] == "lightgbm":
            import lightgbm as lgb

            estimator = lgb.Booster(model_file=str(directory / BOOSTER_FILE))
        else:
            import joblib

            # Written by our own training run and read from our own registry.
            estimator = joblib.load(directory / SCORECARD_FILE)
        return cls(
            name=spec["name"],
            kind=spec["kind"],
            feature_names=list(spec["feature_names"]),
            calibration=PlattCalibration(**spec["calibration"]),
            estimator=estimator,
            version=version if version is not None else spec.get("version"),
            metadata=spec.get("metadata", {}),
        )
