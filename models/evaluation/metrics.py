"""Discrimination and calibration metrics for PD models, with bootstrap intervals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata


def _check(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"outcomes and scores must be 1-d of one length, got {y.shape}, {p.shape}")
    if np.isnan(p).any():
        raise ValueError("scores contain NaN")
    return y, p


def auc(y, p) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); NaN with one class."""
    y, p = _check(y, p)
    n_pos = y.sum()
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def gini(y, p) -> float:
    return 2 * auc(y, p) - 1


def ks_statistic(y, p) -> float:
    """Largest gap between the score distributions of defaulters and non-defaulters."""
    y, p = _check(y, p)
    order = np.argsort(p, kind="mergesort")
    ys = y[order]
    cum_pos = np.cumsum(ys) / max(ys.sum(), 1)
    cum_neg = np.cumsum(1 - ys) / max((1 - ys).sum(), 1)
    # Evaluate only at the last position of each distinct score.
    last = np.r_[p[order][1:] != p[order][:-1], True]
    return float(np.max(np.abs(cum_pos[last] - cum_neg[last])))


def brier(y, p) -> float:
    y, p = _check(y, p)
    return float(np.mean((p - y) ** 2))


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def as_dict(self, prefix: str) -> dict[str, float]:
        return {prefix: self.estimate, f"{prefix}_ci_low": self.low, f"{prefix}_ci_high": self.high}


def bootstrap_interval(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y,
    p,
    *,
    resamples: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of ``metric`` over resampled applications."""
    y, p = _check(y, p)
    rng = np.random.default_rng(seed)
    n = len(y)
    values = np.array([metric(y[idx], p[idx]) for idx in rng.integers(0, n, size=(resamples, n))])
    values = values[~np.isnan(values)]
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha]) if len(values) else (np.nan, np.nan)
    return Interval(metric(y, p), float(low), float(high))


def paired_difference_interval(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y,
    first,
    second,
    *,
    resamples: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Bootstrap interval of ``metric(first) - metric(second)`` on the same resampled rows.

    Both scores are judged on each resample together, so what the two share (which
    applications happened to be drawn) cancels: the interval of a gap is much narrower
    than either metric's own.
    """
    y, a = _check(y, first)
    _, b = _check(y, second)
    rng = np.random.default_rng(seed)
    n = len(y)
    values = np.array(
        [metric(y[idx], a[idx]) - metric(y[idx], b[idx])
         for idx in rng.integers(0, n, size=(resamples, n))]
    )  # fmt: skip
    values = values[~np.isnan(values)]
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha]) if len(values) else (np.nan, np.nan)
    return Interval(metric(y, a) - metric(y, b), float(low), float(high))


def calibration_table(y, p, *, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed default rate in equal-count bins of the predicted PD."""
    y, p = _check(y, p)
    order = np.argsort(p, kind="mergesort")
    groups = np.array_split(order, min(bins, len(p)))
    rows = [
        {
            "bin": i,
            "count": len(g),
            "mean_pd": p[g].mean(),
            "observed": y[g].mean(),
            "pd_low": p[g].min(),
            "pd_high": p[g].max(),
        }
        for i, g in enumerate(groups)
        if len(g)
    ]
    return pd.DataFrame(rows)


def expected_calibration_error(y, p, *, bins: int = 10) -> float:
    """Count-weighted mean gap between predicted and observed rates over equal-count bins."""
    table = calibration_table(y, p, bins=bins)
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["mean_pd"] - table["observed"]).abs()).sum())


def cutoff_table(y, p, cutoffs: Sequence[float]) -> pd.DataFrame:
    """Approval rate and default rate among approved when approving PD below each cut-off."""
    y, p = _check(y, p)
    rows = []
    for cut in cutoffs:
        approved = p < cut
        rows.append(
            {
                "pd_cutoff": cut,
                "approval_rate": float(approved.mean()),
                "approved": int(approved.sum()),
                "default_rate_approved": float(y[approved].mean()) if approved.any() else np.nan,
                "default_rate_declined": float(y[~approved].mean())
                if (~approved).any()
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def segment_table(y, p, segments: pd.Series) -> pd.DataFrame:
    """Count, default rate, mean PD and AUC per segment value."""
    y, p = _check(y, p)
    seg = np.asarray(segments)
    rows = []
    for value in pd.unique(seg):
        mask = seg == value
        rows.append(
            {
                "segment": value,
                "count": int(mask.sum()),
                "default_rate": float(y[mask].mean()),
                "mean_pd": float(p[mask].mean()),
                "auc": auc(y[mask], p[mask]),
            }
        )
    return pd.DataFrame(rows).sort_values("segment").reset_index(drop=True)


def truth_calibration(true_pd, p, *, bins: int = 10) -> dict[str, float]:
    """How far predicted PDs are from the generator's true PDs (world data only)."""
    t, p = _check(true_pd, p)
    table = calibration_table(t, p, bins=bins)
    weights = table["count"] / table["count"].sum()
    return {
        "truth_mean_abs_pd_error": float(np.mean(np.abs(p - t))),
        "truth_ece": float((weights * (table["mean_pd"] - table["observed"]).abs()).sum()),
        "truth_pd_correlation": float(np.corrcoef(p, t)[0, 1]),
    }
