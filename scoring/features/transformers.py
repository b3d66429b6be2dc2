"""Day counts to whole months and safe ratios: the numeric kernels and their sklearn form.

The kernels (:func:`_months`, :func:`_ratio`, in :mod:`scoring.features.kernels`) are what
the feature vector uses; the transformers wrap the same arithmetic for scikit-learn
pipelines. Only this module imports scikit-learn, so serving never loads it.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from scoring.features.kernels import DAYS_PER_MONTH, _months, _ratio

__all__ = ["DAYS_PER_MONTH", "DaysToMonths", "SafeRatio", "_months", "_ratio"]


class DaysToMonths(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Convert day counts to whole months elapsed; missing stays missing."""

    def __init__(self, days_per_month: float = DAYS_PER_MONTH):
        self.days_per_month = days_per_month

    def fit(self, X, y=None):
        if not self.days_per_month > 0:
            raise ValueError(f"days_per_month must be positive, got {self.days_per_month!r}")
        validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return _months(X, self.days_per_month)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class SafeRatio(TransformerMixin, BaseEstimator):
    """Divide every column by one denominator column; a zero denominator gives ``fill_value``.

    Output has one column fewer than the input: each numerator over the denominator.
    """

    def __init__(self, denominator_index: int = -1, fill_value: float = np.nan):
        self.denominator_index = denominator_index
        self.fill_value = fill_value

    def fit(self, X, y=None):
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        n = X.shape[1]
        if n < 2:
            raise ValueError(
                f"SafeRatio needs a numerator and a denominator column, got {n} feature(s)"
            )
        if not -n <= self.denominator_index < n:
            raise ValueError(f"denominator_index {self.denominator_index} outside {n} features")
        self.denominator_index_ = self.denominator_index % n
        return self

    def transform(self, X):
        check_is_fitted(self, "denominator_index_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        den = X[:, self.denominator_index_]
        num = np.delete(X, self.denominator_index_, axis=1)
        return _ratio(num, den[:, None], self.fill_value)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "denominator_index_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        names = list(input_features)
        den = names[self.denominator_index_]
        return np.asarray(
            [f"{n}_per_{den}" for i, n in enumerate(names) if i != self.denominator_index_],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
