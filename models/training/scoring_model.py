"""The object the decision service scores with: calibrated PD and exact log-odds contributions.

A model has a raw score in log-odds (the booster's margin, or the scorecard's linear
predictor) and a Platt calibration ``logit(PD) = slope * raw + intercept`` fitted on a
held-out slice of the training period. Because the map is affine in log-odds, the raw
contributions multiplied by ``slope`` are exactly the contributions to ``logit(PD)``:
``base_value + contributions.sum(axis=1) == logit(predict_pd(X))``.

Scoring is on the hot path of every decision, so it works on one float64 matrix: the
booster is called directly (single-threaded for a handful of rows, where OpenMP start-up
costs more than the trees), the scorecard's WoE bins are looked up with ``searchsorted``
in tables read from optbinning itself (saved with the model as plain JSON, so loading a
scorecard does not import optbinning: ``scorecard_tables``), and the calibration is
applied in numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.training.scorecard_tables import TABLES_FILE, WoeTables, lookup_woe
from scoring.domain.errors import InvalidInputError

MODEL_FILE = "scoring_model.json"
# The folder of a registered version's artifacts that holds the saved model.
ARTIFACT_KEY = "scoring_model"
BOOSTER_FILE = "booster.txt"
SCORECARD_FILE = "scorecard.joblib"
KINDS = ("lightgbm", "scorecard")
# Up to this many rows the booster runs on one thread: a live decision scores one row plus a
# few hundred counterfactual candidates, and waking an OpenMP team costs more than that.
SINGLE_THREAD_ROWS = 2048


class ModelInputError(InvalidInputError, ValueError):
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

    def __getstate__(self):
        # The lookup tables are derived from the binning; saved files hold only the model.
        state = dict(self.__dict__)
        state.pop("_woe_tables", None)
        return state

    def woe(self, X) -> np.ndarray:
        """WoE of every feature (columns in the binning's variable order)."""
        tables = self._tables()
        if tables is None:
            return self._optbinning_woe(X)
        if isinstance(X, pd.DataFrame):
            # As optbinning does: a table's columns are picked by variable name.
            X = X.loc[:, list(self.binning_process.variable_names)]
        return lookup_woe(np.asarray(X, dtype=np.float64), tables)

    def raw_log_odds(self, X) -> np.ndarray:
        lr = self.logistic_regression
        # The arithmetic of LogisticRegression.decision_function, without its input checks.
        return (self.woe(X) @ lr.coef_.T + lr.intercept_).ravel()

    def raw_contributions(self, X) -> tuple[float, np.ndarray]:
        coef = self.logistic_regression.coef_[0]
        base = float(self.logistic_regression.intercept_[0] + coef @ self.woe_means)
        return base, (self.woe(X) - self.woe_means) * coef

    def _optbinning_woe(self, X) -> np.ndarray:
        return np.asarray(self.binning_process.transform(X, metric="woe"), dtype=np.float64)

    def _tables(self) -> list[tuple[np.ndarray, np.ndarray, float]] | None:
        if "_woe_tables" not in self.__dict__:
            self.__dict__["_woe_tables"] = self._read_tables()
        return self.__dict__["_woe_tables"]

    def _read_tables(self) -> list[tuple[np.ndarray, np.ndarray, float]] | None:
        """Per feature: bin splits, the WoE of each bin and of a missing value.

        The WoE values come from optbinning's own transform of one probe value per bin, and
        the tables are kept only if they reproduce that transform exactly on every split,
        the value just below it, infinities and a missing value; otherwise (categorical or
        special-coded variables) every call goes through optbinning.
        """
        names = list(self.binning_process.variable_names)
        splits = []
        for name in names:
            binned = self.binning_process.get_binned_variable(name)
            if binned.dtype != "numerical" or binned.special_codes:
                return None
            splits.append(np.asarray(binned.splits, dtype=np.float64))
        probes = []
        for cut in splits:
            inside = np.concatenate([cut[:1] - 1.0 if len(cut) else [0.0], cut])
            edges = np.nextafter(cut, -np.inf)
            probes.append(np.concatenate([inside, [np.nan], edges, [np.inf, -np.inf]]))
        rows = max(len(p) for p in probes)
        probe = np.column_stack([np.pad(p, (0, rows - len(p)), mode="edge") for p in probes])
        expected = self._optbinning_woe(pd.DataFrame(probe, columns=names))
        if expected.shape != probe.shape:
            return None
        tables = [
            (cut, expected[: len(cut) + 1, j].copy(), float(expected[len(cut) + 1, j]))
            for j, cut in enumerate(splits)
        ]
        if not np.array_equal(lookup_woe(probe, tables), expected):
            return None
        return tables


@dataclass
class ScoringModel:
    """A trained PD model: ``predict_pd`` and ``explain`` on features (a DataFrame or a matrix)."""

    name: str
    kind: str
    feature_names: list[str]
    calibration: PlattCalibration
    estimator: Any
    version: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # Categorical features and their categories in code order: value ``categories[f][i]``
    # enters the estimator as the number ``i``; an unseen or missing value as NaN.
    categories: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; expected one of {KINDS}")

    @cached_property
    def _columns(self) -> pd.Index:
        return pd.Index(self.feature_names)

    def _matrix(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The model's features as one float64 matrix, columns in training order.

        A numpy matrix is taken as already in :attr:`feature_names` order.
        """
        if isinstance(features, np.ndarray):
            if features.ndim != 2 or features.shape[1] != len(self.feature_names):
                raise ModelInputError(
                    f"a feature matrix must have {len(self.feature_names)} columns "
                    f"({', '.join(self.feature_names)}); got shape {features.shape}"
                )
            return features if features.dtype == np.float64 else features.astype(np.float64)
        if self.categories:
            return self._encoded(features)
        if features.columns.tolist() == self.feature_names:
            values = features.to_numpy()
            if values.dtype == np.float64:
                return values
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ModelInputError(f"features lack column(s) {', '.join(missing)}")
        return features.loc[:, self.feature_names].astype(np.float64).to_numpy()

    def _encoded(self, features: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ModelInputError(f"features lack column(s) {', '.join(missing)}")
        out = np.empty((len(features), len(self.feature_names)), dtype=np.float64)
        for j, name in enumerate(self.feature_names):
            column = features[name]
            if name in self.categories:
                text = column.astype(object).where(column.notna(), None)
                codes = pd.Categorical(
                    [None if v is None else str(v) for v in text],
                    categories=self.categories[name],
                ).codes
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                try:
                    out[:, j] = column.to_numpy(np.float64, na_value=np.nan)
                except (TypeError, ValueError):
                    raise ModelInputError(
                        f"feature {name!r} must be numeric; got {column.dtype}"
                    ) from None
        return out

    def matrix(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The features as the estimator sees them: float64, categories as their codes."""
        return self._matrix(features)

    def _booster_options(self, X: np.ndarray) -> dict[str, int]:
        return {"num_threads": 1} if len(X) <= SINGLE_THREAD_ROWS else {}

    def _raw(self, X: np.ndarray) -> np.ndarray:
        if self.kind == "lightgbm":
            return self.estimator.predict(X, raw_score=True, **self._booster_options(X))
        return self.estimator.raw_log_odds(X)

    def raw_log_odds(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The uncalibrated model output in log-odds (what SHAP explains)."""
        return self._raw(self._matrix(features))

    def predict_pd(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated 12-month probability of default per row."""
        return 1.0 / (1.0 + np.exp(-self.calibration.logit(self.raw_log_odds(features))))

    def _raw_contributions(self, features: pd.DataFrame | np.ndarray) -> tuple[float, np.ndarray]:
        X = self._matrix(features)
        if self.kind == "lightgbm":
            if len(X) == 0:
                raise ModelInputError("no rows to explain")
            contrib = self.estimator.predict(X, pred_contrib=True, **self._booster_options(X))
            return float(contrib[0, -1]), contrib[:, :-1]
        return self.estimator.raw_contributions(X)

    def _frame_of(self, values: np.ndarray, features: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        index = features.index if isinstance(features, pd.DataFrame) else None
        return pd.DataFrame(values, index=index, columns=self._columns.copy())

    def raw_contributions(self, features: pd.DataFrame) -> tuple[float, pd.DataFrame]:
        """Exact SHAP values of the raw log-odds (TreeSHAP for the booster)."""
        base, values = self._raw_contributions(features)
        return base, self._frame_of(values, features)

    def explain(self, features: pd.DataFrame | np.ndarray) -> tuple[float, pd.DataFrame]:
        """Base value and per-feature contributions in calibrated log-odds.

        ``base + contributions.sum(axis=1)`` equals ``logit(predict_pd(features))``.
        """
        base, values = self.contributions(features)
        return base, self._frame_of(values, features)

    def contributions(self, features: pd.DataFrame | np.ndarray) -> tuple[float, np.ndarray]:
        """:meth:`explain` as a plain matrix (rows as given, columns in feature order)."""
        base, raw = self._raw_contributions(features)
        return self.calibration.logit(np.float64(base)).item(), raw * self.calibration.slope

    def save(self, directory: Path) -> Path:
        """Write the model to a folder (JSON metadata plus the estimator file).

        A scorecard is written twice: the fitted optbinning model (``scorecard.joblib``) and,
        when its bins can be tabulated exactly, its plain tables (``scorecard_tables.json``),
        which :meth:`load` prefers.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.kind == "lightgbm":
            self.estimator.save_model(str(directory / BOOSTER_FILE))
        else:
            import joblib

            # The optbinning model is kept whole (reports, refits); serving reads the tables.
            joblib.dump(self.estimator, directory / SCORECARD_FILE)
            tables = WoeTables.of(self.estimator)
            if tables is not None:
                tables.save(directory / TABLES_FILE)
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
                    "categories": self.categories,
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
        elif (directory / TABLES_FILE).exists():
            estimator = WoeTables.load(directory / TABLES_FILE)
        else:
            # A scorecard with categorical or special-coded bins (no tables), or saved before
            # the tables were: optbinning itself. Written by our own training run and read
            # from our own registry.
            import joblib

            estimator = joblib.load(directory / SCORECARD_FILE)
        return cls(
            name=spec["name"],
            kind=spec["kind"],
            feature_names=list(spec["feature_names"]),
            calibration=PlattCalibration(**spec["calibration"]),
            estimator=estimator,
            version=version if version is not None else spec.get("version"),
            metadata=spec.get("metadata", {}),
            categories={k: list(v) for k, v in spec.get("categories", {}).items()},
        )
