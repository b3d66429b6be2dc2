"""The numeric kernels of the feature vector: whole months from days, safe ratios.

Plain numpy, so a live decision computes its features without loading scikit-learn;
:mod:`scoring.features.transformers` wraps the same functions as scikit-learn transformers
for pipelines.
"""

from __future__ import annotations

import numpy as np

DAYS_PER_MONTH = 30.4375


def _months(days: np.ndarray, days_per_month: float = DAYS_PER_MONTH) -> np.ndarray:
    """Whole months elapsed in ``days``; the kernel of :class:`DaysToMonths`."""
    return np.floor(days / days_per_month)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, fill_value: float = np.nan):
    """``numerator / denominator`` where the denominator is a non-zero number, else the fill.

    The kernel of :class:`SafeRatio`; ``denominator`` broadcasts against ``numerator``.
    """
    out = np.full(numerator.shape, fill_value, dtype=np.float64)
    ok = np.abs(denominator) > 0  # NaN compares False
    np.divide(numerator, denominator, out=out, where=ok)
    return out
