"""A fitted WoE scorecard as plain tables: what serving and replay load instead of optbinning.

A scorecard is a logistic regression on the weight of evidence (WoE) of binned features.
Once fitted, all it needs to score is, per feature, the bin edges, the WoE of each bin and
of a missing value, plus the regression's coefficients, intercept and the training WoE
means (the SHAP base). :class:`WoeTables` holds exactly that and is saved as JSON
(``scorecard_tables.json``, format :data:`FORMAT`) next to the pickled optbinning model,
so loading a scorecard costs a JSON read, not the import of optbinning, scikit-learn and
scipy.

The tables are read from optbinning's own transform and kept only if they reproduce it
bit for bit (``WoeScorecard._read_tables``); the arithmetic below is the arithmetic of
``WoeScorecard`` on the same arrays, so scores and contributions are identical.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

TABLES_FILE = "scorecard_tables.json"
FORMAT = "installment-woe-scorecard/1"

# Per feature: bin splits, the WoE of each bin, the WoE of a missing value.
Table = tuple[np.ndarray, np.ndarray, float]


class TablesFormatError(ValueError):
    """A tables file that is not a scorecard this code can read; the message says why."""


def lookup_woe(X: np.ndarray, tables: list[Table]) -> np.ndarray:
    """WoE by bin lookup: bin ``i`` holds ``splits[i-1] <= x < splits[i]``, as optbinning."""
    # Column-major like optbinning's output, so the logistic regression's dot product adds
    # in the same order and gives the same bits.
    out = np.empty(X.shape, dtype=np.float64, order="F")
    for j, (cut, woe, missing) in enumerate(tables):
        column = X[:, j]
        out[:, j] = woe[np.searchsorted(cut, column, side="right")]
        out[np.isnan(column), j] = missing
    return out


class WoeTables:
    """Logistic regression on tabulated WoE bins; no optbinning or scikit-learn at run time."""

    def __init__(
        self,
        variable_names: list[str],
        tables: list[Table],
        coef: np.ndarray,
        intercept: np.ndarray,
        woe_means: np.ndarray,
    ) -> None:
        if not (len(variable_names) == len(tables) == coef.shape[-1] == len(woe_means)):
            raise TablesFormatError(
                f"{len(variable_names)} features, {len(tables)} tables, "
                f"{coef.shape[-1]} coefficients and {len(woe_means)} WoE means do not match"
            )
        self.variable_names = variable_names
        self.tables = tables
        # Shapes as scikit-learn's LogisticRegression keeps them: coef (1, n), intercept (1,).
        self.coef_ = np.ascontiguousarray(coef, dtype=np.float64).reshape(1, -1)
        self.intercept_ = np.asarray(intercept, dtype=np.float64).reshape(1)
        self.woe_means = np.asarray(woe_means, dtype=np.float64)

    def woe(self, X) -> np.ndarray:
        """WoE of every feature; a matrix comes with columns in :attr:`variable_names` order."""
        if hasattr(X, "loc"):  # a DataFrame: columns picked by name, as optbinning does
            X = X.loc[:, self.variable_names]
        return lookup_woe(np.asarray(X, dtype=np.float64), self.tables)

    def raw_log_odds(self, X) -> np.ndarray:
        return (self.woe(X) @ self.coef_.T + self.intercept_).ravel()

    def raw_contributions(self, X) -> tuple[float, np.ndarray]:
        coef = self.coef_[0]
        base = float(self.intercept_[0] + coef @ self.woe_means)
        return base, (self.woe(X) - self.woe_means) * coef

    @classmethod
    def of(cls, scorecard) -> WoeTables | None:
        """The tables of a fitted ``WoeScorecard``, or None when they cannot reproduce it."""
        tables = scorecard._tables()
        if tables is None:
            return None
        lr = scorecard.logistic_regression
        return cls(
            list(scorecard.binning_process.variable_names),
            tables,
            lr.coef_,
            lr.intercept_,
            scorecard.woe_means,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": [
                {
                    "name": name,
                    "splits": [float(v) for v in cut],
                    "woe": [float(v) for v in woe],
                    "missing_woe": float(missing),
                }
                for name, (cut, woe, missing) in zip(self.variable_names, self.tables, strict=True)
            ],
            "coefficients": [float(v) for v in self.coef_[0]],
            "intercept": float(self.intercept_[0]),
            "woe_means": [float(v) for v in self.woe_means],
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> WoeTables:
        if document.get("format") != FORMAT:
            raise TablesFormatError(
                f"scorecard tables of format {document.get('format')!r}; this code reads {FORMAT}"
            )
        names: list[str] = []
        tables: list[Table] = []
        for feature in document["features"]:
            cut = np.asarray(feature["splits"], dtype=np.float64)
            woe = np.asarray(feature["woe"], dtype=np.float64)
            if len(woe) != len(cut) + 1:
                raise TablesFormatError(
                    f"feature {feature['name']!r} has {len(cut)} splits and {len(woe)} WoE "
                    "values; a table needs one value more than splits"
                )
            if np.any(np.diff(cut) <= 0):
                raise TablesFormatError(f"feature {feature['name']!r}: splits are not increasing")
            if not all(math.isfinite(v) for v in [*woe, feature["missing_woe"]]):
                raise TablesFormatError(f"feature {feature['name']!r} has a WoE that is not finite")
            names.append(str(feature["name"]))
            tables.append((cut, woe, float(feature["missing_woe"])))
        return cls(
            names,
            tables,
            np.asarray(document["coefficients"], dtype=np.float64),
            np.asarray([document["intercept"]], dtype=np.float64),
            np.asarray(document["woe_means"], dtype=np.float64),
        )

    def save(self, path: Path) -> Path:
        Path(path).write_text(json.dumps(self.to_json(), indent=1))
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> WoeTables:
        try:
            document = json.loads(Path(path).read_text())
        except json.JSONDecodeError as error:
            raise TablesFormatError(f"{path} is not JSON: {error}") from None
        try:
            return cls.from_json(document)
        except (KeyError, TypeError) as error:
            raise TablesFormatError(f"{path} lacks or mistypes {error}") from None
