"""Population stability: binned reference distributions and the PSI of new data against them.

A reference is taken from the training population when a model is trained and travels with
the model version (``ScoringModel.metadata["reference"]``), so monitoring compares live
decisions with exactly the population that model learned from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scoring.domain.errors import InvalidInputError

DEFAULT_BINS = 10
# Empty bins would make PSI infinite; a small floor is the usual convention.
SHARE_FLOOR = 1e-4
# Common reading of PSI: below 0.1 stable, 0.1-0.25 moderate shift, above 0.25 major shift.
PSI_MODERATE = 0.10
PSI_MAJOR = 0.25
# Below this many values PSI is mostly sampling noise (about (bins - 1) / n with no change at
# all): no verdict is given, only the figure and a warning.
MIN_VALUES_FOR_VERDICT = 200


class DriftInputError(InvalidInputError, ValueError):
    """Values or a reference that PSI cannot be computed from."""


@dataclass(frozen=True)
class BinnedDistribution:
    """Bin edges (inner cut points) and the share of reference values per bin.

    Bin ``i`` holds values ``edges[i-1] < x <= edges[i]``; missing values have a bin of their
    own at the end.
    """

    edges: tuple[float, ...]
    shares: tuple[float, ...]
    missing_share: float
    count: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "edges": list(self.edges),
            "shares": list(self.shares),
            "missing_share": self.missing_share,
            "count": self.count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BinnedDistribution:
        return cls(
            tuple(float(e) for e in data["edges"]),
            tuple(float(s) for s in data["shares"]),
            float(data["missing_share"]),
            int(data["count"]),
        )


def _bin_index(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    return np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="left")


def binned(values, *, bins: int = DEFAULT_BINS) -> BinnedDistribution:
    """Quantile bins of ``values`` (fewer when values repeat) and their shares."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0:
        raise DriftInputError("a reference needs a non-empty 1-d array of values")
    present = x[~np.isnan(x)]
    edges: tuple[float, ...] = ()
    if len(present):
        cuts = np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1], method="lower")
        edges = tuple(float(c) for c in np.unique(cuts) if c < present.max())
    counts = np.bincount(_bin_index(present, edges), minlength=len(edges) + 1)
    return BinnedDistribution(
        edges=edges,
        shares=tuple(float(c) / len(x) for c in counts),
        missing_share=float(np.isnan(x).mean()),
        count=len(x),
    )


def shares_in(reference: BinnedDistribution, values) -> tuple[np.ndarray, float]:
    """Shares of ``values`` in the reference's bins, and their missing share."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        raise DriftInputError("no values to compare with the reference")
    present = x[~np.isnan(x)]
    counts = np.bincount(_bin_index(present, reference.edges), minlength=len(reference.edges) + 1)
    return counts / len(x), float(np.isnan(x).mean())


def psi(reference: BinnedDistribution, values) -> float:
    """Population stability index of ``values`` against the reference bins."""
    actual, actual_missing = shares_in(reference, values)
    expected = np.append(np.asarray(reference.shares), reference.missing_share)
    actual = np.append(actual, actual_missing)
    keep = (expected > 0) | (actual > 0)
    e = np.maximum(expected[keep], SHARE_FLOOR)
    a = np.maximum(actual[keep], SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_noise(reference: BinnedDistribution, n: int) -> float:
    """The PSI that 95 % of samples of ``n`` drawn from the reference itself stay below.

    PSI of a sample against its own population is about chi-square with (bins - 1) degrees
    of freedom divided by ``n``; a figure under this bound is not evidence of any shift.
    """
    # scipy.stats.chi2.ppf(0.95, df) is chdtri(df, 1 - 0.95), bit for bit; scipy.special
    # alone loads in a fraction of the time scipy.stats takes.
    from scipy.special import chdtri

    bins = sum(share > 0 for share in reference.shares) + (reference.missing_share > 0)
    if n <= 0 or bins < 2:
        return float("nan")
    return float(chdtri(bins - 1, 1 - 0.95) / n)


def psi_reading(value: float, *, n: int | None = None, noise: float | None = None) -> str:
    """Plain-words reading of a PSI value; with ``n`` and ``noise``, small samples say so."""
    if np.isnan(value):
        return "not computed"
    if n is not None and n < MIN_VALUES_FOR_VERDICT:
        return f"too few values ({n}) to judge"
    if value < PSI_MODERATE:
        return "stable"
    if noise is not None and value <= noise:
        return "within sampling noise"
    return "moderate shift" if value < PSI_MAJOR else "major shift"


def reference_population(
    frame: pd.DataFrame,
    *,
    features: Sequence[str],
    pd_: np.ndarray,
    approve_below: float | None,
    bins: int = DEFAULT_BINS,
) -> dict[str, Any]:
    """The training population's binned features and score, as stored with a model."""
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise DriftInputError(f"reference frame lacks feature(s) {', '.join(missing)}")
    pd_ = np.asarray(pd_, dtype=np.float64)
    out: dict[str, Any] = {
        "rows": len(frame),
        "bins": bins,
        "features": {
            f: binned(frame[f].to_numpy(np.float64), bins=bins).as_dict() for f in features
        },
        "score": binned(pd_, bins=bins).as_dict(),
        "mean_pd": float(pd_.mean()),
    }
    if approve_below is not None:
        out["approve_below"] = float(approve_below)
        out["approval_rate"] = float((pd_ < approve_below).mean())
    return out
