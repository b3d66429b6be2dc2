"""The model's feature vector (:data:`FEATURE_NAMES`) of each application.

A batch of applications comes from tables (:func:`application_features`); one live applicant
with one or more candidate purchases from arrays (:func:`applicant_features`).

Both end in the same last step, :func:`_feature_matrix`, from the history kernel's raw
aggregates, the bureau facts and the purchase.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from scoring.features.bureau import BureauFacts, _bureau_columns
from scoring.features.catalogue import (
    BUREAU_CLASS_RANK,
    BUREAU_FEATURES,
    FEATURE_NAMES,
    HISTORY_FEATURES,
    PRODUCT_CATEGORY_CODE,
    FeatureInputError,
)
from scoring.features.history import (
    _RAW_AGGREGATES,
    CustomerHistory,
    _applicant_kernel,
    _history_columns,
    _history_kernel,
    cutoff_day,
)
from scoring.features.kernels import _months, _ratio
from scoring.features.tables import _codes, _distinct, _floats, _require

_FEATURE_COLUMNS = pd.Index(FEATURE_NAMES)
_RAW_ROW = {name: i for i, name in enumerate(_RAW_AGGREGATES)}
_FEATURE_ROW = {name: j for j, name in enumerate(FEATURE_NAMES)}
# History features that are a raw aggregate as it is.
_AS_RAW = [name for name in HISTORY_FEATURES if name in _RAW_ROW]
# History features that are one raw aggregate over another: (feature, numerator, denominator).
_RATIOS = (
    ("mean_dpd_12m", "dpd_sum_12m", "invoices_due_12m"),
    ("partial_payment_share_12m", "partial_paid_due_12m", "invoices_due_12m"),
    ("pay_margin_mean_12m", "pay_margin_sum_12m", "settled_due_12m"),
    ("early_days_mean", "early_days_sum", "paid_on_time"),
    ("early_days_recent_mean", "early_days_weighted_sum", "paid_on_time_weight"),
    # Last: rounded to cents as a feature, unrounded as the instalment's denominator.
    ("avg_invoice_eur_12m", "invoice_amount_sum_12m", "invoices_issued_12m"),
)
# History features that are a raw day count in whole months: (feature, days).
_MONTHS = (
    ("tenure_months", "days_since_first_invoice"),
    ("months_since_last_late_payment", "days_since_last_late_payment"),
)


def _row_positions(names: Sequence[str], positions: dict[str, int]) -> np.ndarray:
    return np.asarray([positions[name] for name in names], dtype=np.intp)


# Where :func:`_feature_matrix` reads its inputs in a raw block (``_ROWS``, ``_NUMERATORS``,
# ...) and where it writes each feature (``_AT``).
_AS_RAW_ROWS, _AS_RAW_AT = _row_positions(_AS_RAW, _RAW_ROW), _row_positions(_AS_RAW, _FEATURE_ROW)
_RATIO_NUMERATORS = _row_positions([numerator for _, numerator, _ in _RATIOS], _RAW_ROW)
_RATIO_DENOMINATORS = _row_positions([denominator for _, _, denominator in _RATIOS], _RAW_ROW)
_RATIOS_AT = _row_positions([feature for feature, _, _ in _RATIOS], _FEATURE_ROW)
_MONTHS_DAYS = _row_positions([days for _, days in _MONTHS], _RAW_ROW)
_MONTHS_AT = _row_positions([feature for feature, _ in _MONTHS], _FEATURE_ROW)
_BUREAU_AT = _row_positions(BUREAU_FEATURES, _FEATURE_ROW)


def _unknown_category(values: Sequence) -> None:
    bad = sorted({str(v) for v in values})
    raise FeatureInputError(
        f"unknown product_category {bad}; expected one of {list(PRODUCT_CATEGORY_CODE)}"
    )


def _feature_matrix(
    raw: np.ndarray,
    bureau: np.ndarray,
    *,
    amount: np.ndarray,
    term: np.ndarray,
    category: np.ndarray,
) -> np.ndarray:
    """The last step for every caller: raw aggregates, bureau and purchase to the features.

    ``raw`` is the kernel's block and ``bureau`` one of :data:`BUREAU_FEATURES` rows, each
    with a column per purchase or one column (one applicant, several candidate purchases)
    that broadcasts. Returns one float64 block in :data:`FEATURE_NAMES` order, a row per
    purchase (a transposed view: copy it where the memory order matters).
    """
    # One test for the usual case, both inputs fine; NaN compares False, so it fails too.
    if not ((term > 0) & (amount > 0)).all():
        if not (term > 0).all():
            raise FeatureInputError("applications.term_months must be a positive number of months")
        raise FeatureInputError("applications.amount_eur must be positive")
    # All history ratios in one division; the average invoice is the last (see _RATIOS).
    ratios = _ratio(raw.take(_RATIO_NUMERATORS, axis=0), raw.take(_RATIO_DENOMINATORS, axis=0))
    avg_invoice = ratios[-1]
    # Zero-interest plan: the instalment is the amount spread evenly over the term.
    instalment = (amount / term).round(2)

    # A row per feature while building, so that each step writes whole rows at once.
    features = np.empty((len(FEATURE_NAMES), len(amount)), dtype=np.float64)
    features[_AS_RAW_AT] = raw.take(_AS_RAW_ROWS, axis=0)
    features[_RATIOS_AT] = ratios
    features[_FEATURE_ROW["avg_invoice_eur_12m"]] = avg_invoice.round(2)
    features[_MONTHS_AT] = _months(raw.take(_MONTHS_DAYS, axis=0))
    features[_FEATURE_ROW["thin_file"]] = 1.0 - raw[_RAW_ROW["has_history"]]
    features[_BUREAU_AT] = bureau
    features[_FEATURE_ROW["amount_eur"]] = amount
    features[_FEATURE_ROW["term_months"]] = term
    features[_FEATURE_ROW["monthly_instalment_eur"]] = instalment
    # The numerator decides the shape: one applicant's average broadcasts over purchases.
    features[_FEATURE_ROW["instalment_to_avg_invoice"]] = _ratio(instalment, avg_invoice)
    features[_FEATURE_ROW["product_category_code"]] = category
    return features.T


def application_features(
    *,
    applications: pd.DataFrame,
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    bureau_reports: pd.DataFrame,
    customer_key: str = "personal_code",
) -> pd.DataFrame:
    """Model features (:data:`FEATURE_NAMES`) per application, indexed by ``application_id``.

    ``customer_key`` names the column identifying the person in ``applications``,
    ``invoices`` and ``bureau_reports`` (the clear code in a world, a pseudonym live).
    """
    _require(
        applications,
        "applications",
        [
            "application_id",
            customer_key,
            "applied_at",
            "amount_eur",
            "term_months",
            "product_category",
            "bureau_report_id",
        ],
    )
    ids = applications["application_id"]
    _distinct(ids, "applications", "application_id")
    history = _history_columns(applications, invoices, payments, customer_key)
    raw = _history_kernel(**history)
    bureau = _bureau_columns(
        applications,
        bureau_reports,
        customer_key,
        person=history["person"],
        people=history["people"],
    )

    category = _codes(applications["product_category"], PRODUCT_CATEGORY_CODE)
    if np.isnan(category).any():
        categories = applications["product_category"].to_numpy()
        _unknown_category(categories[np.isnan(category)])
    matrix = _feature_matrix(
        raw,
        np.array([bureau[name] for name in BUREAU_FEATURES]),
        amount=_floats(applications, "amount_eur"),
        term=_floats(applications, "term_months"),
        category=category,
    )
    # Object ids become an Index of str, as pandas infers them from an object array.
    index = pd.Index(ids.to_numpy() if ids.dtype == object else ids, name="application_id")
    return pd.DataFrame(matrix, index=index, columns=_FEATURE_COLUMNS.copy())


def applicant_features(
    *,
    history: CustomerHistory,
    bureau: BureauFacts,
    applied_at: datetime,
    product_category: str,
    amounts: Sequence[float] | np.ndarray,
    terms: Sequence[int] | np.ndarray,
) -> np.ndarray:
    """Model features of one applicant for one or more purchases, a row per purchase.

    The same values :func:`application_features` gives for these applications (columns in
    :data:`FEATURE_NAMES` order); the history is aggregated once for all the purchases.
    """
    code = PRODUCT_CATEGORY_CODE.get(product_category)
    if code is None:
        _unknown_category([product_category])
    rank = BUREAU_CLASS_RANK.get(bureau.risk_class)
    if rank is None:
        raise FeatureInputError(
            f"unknown bureau risk_class {[str(bureau.risk_class)]}; "
            f"expected one of {list(BUREAU_CLASS_RANK)}"
        )
    amount = np.asarray(amounts, dtype=np.float64)
    term = np.asarray(terms, dtype=np.float64)
    if amount.shape != term.shape or amount.ndim != 1:
        raise FeatureInputError("amounts and terms must be two lists of the same length")
    # BUREAU_FEATURES rows, one column for all the purchases.
    bureau_rows = np.array(
        [bureau.score, rank, bureau.open_default_count, bureau.closed_default_count],
        dtype=np.float64,
    )[:, None]
    matrix = _feature_matrix(
        _applicant_kernel(history, cutoff_day(applied_at)),
        bureau_rows,
        amount=amount,
        term=term,
        category=np.full(len(amount), code, dtype=np.float64),
    )
    return np.ascontiguousarray(matrix)
