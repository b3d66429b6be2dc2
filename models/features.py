"""Model features for one or many instalment applications, as of each application's time.

One code path serves training (every application of a world) and a live decision (one
application with that customer's invoices, payments and one bureau report). Only events
dated strictly before the application's UTC calendar day count, so nothing the company
learned on or after the application day can leak into its features.

Three steps, each the same for one application and for a hundred thousand:

1. the event tables are read once into numpy arrays (dates as days since 1970, customers as
   integer codes);
2. a numpy kernel joins each application to its customer's earlier invoices and payments and
   reduces them to raw per-application sums, counts and day distances
   (:func:`history_aggregates` returns them as a table);
3. the numeric kernels of :class:`DaysToMonths` and :class:`SafeRatio` turn those raw
   aggregates into model features (averages, shares, months).

There is no pandas merge or group-by on the way, so a live decision pays microseconds, not
milliseconds, for the same arithmetic training uses. A live decision skips step 1's tables
as well: :func:`applicant_features` takes one customer's history as ready arrays
(:class:`CustomerHistory`, built straight from database rows) and runs the same kernel and
the same final step (:func:`_feature_matrix`) as :func:`application_features`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from scoring.domain.errors import InvalidInputError

__all__ = [
    "APPLICATION_FEATURES",
    "BUREAU_CLASS_RANK",
    "BureauFacts",
    "CustomerHistory",
    "BUREAU_FEATURES",
    "FEATURE_NAMES",
    "HISTORY_FEATURES",
    "INTEGER_FEATURES",
    "PRODUCT_CATEGORY_CODE",
    "DaysToMonths",
    "FeatureInputError",
    "SafeRatio",
    "applicant_features",
    "applicant_history_aggregates",
    "application_features",
    "build_training_snapshot",
    "history_aggregates",
]

HISTORY_FEATURES = [
    "tenure_months",
    "thin_file",
    "invoice_count_24m",
    "max_dpd_3m",
    "max_dpd_6m",
    "max_dpd_12m",
    "max_dpd_24m",
    "mean_dpd_12m",
    "late_payments_12m",
    "late_payments_24m",
    "months_since_last_late_payment",
    "reminders_12m",
    "collections_24m",
    "current_balance_eur",
    "current_dpd",
    "max_balance_12m_eur",
    "avg_invoice_eur_12m",
    "partial_payment_share_12m",
    "pay_margin_mean_12m",
]
BUREAU_FEATURES = [
    "bureau_score",
    "bureau_class_rank",
    "bureau_open_defaults",
    "bureau_closed_defaults",
]
APPLICATION_FEATURES = [
    "amount_eur",
    "term_months",
    "monthly_instalment_eur",
    "instalment_to_avg_invoice",
    "product_category_code",
]
FEATURE_NAMES = HISTORY_FEATURES + BUREAU_FEATURES + APPLICATION_FEATURES
_FEATURE_COLUMNS = pd.Index(FEATURE_NAMES)
INTEGER_FEATURES = [
    "tenure_months",
    "thin_file",
    "invoice_count_24m",
    "max_dpd_3m",
    "max_dpd_6m",
    "max_dpd_12m",
    "max_dpd_24m",
    "late_payments_12m",
    "late_payments_24m",
    "reminders_12m",
    "collections_24m",
    "current_dpd",
    "bureau_score",
    "bureau_class_rank",
    "bureau_open_defaults",
    "bureau_closed_defaults",
    "term_months",
    "product_category_code",
]

# Fixed codes: a model trained today must read the same code for a category next year.
PRODUCT_CATEGORY_CODE = {
    "heat_pump": 0,
    "solar_panels": 1,
    "electronics": 2,
    "phone": 3,
    "smart_home": 4,
    "home_appliance": 5,
}
BUREAU_CLASS_RANK = {"very_good": 0, "good": 1, "satisfactory": 2, "poor": 3}

# Windows in days: calendar months differ in length, day windows are exact and cheap.
WINDOW_DAYS = {"3m": 91, "6m": 182, "12m": 365, "24m": 730}
DAYS_PER_MONTH = 30.4375
# Balance checkpoints for the 12-month maximum: today and every 30 days back.
BALANCE_CHECKPOINT_DAYS = tuple(range(0, 366, 30))
_BALANCE_BACKS = np.asarray(BALANCE_CHECKPOINT_DAYS, dtype=np.float64)
_WINDOW_LENGTHS = np.asarray(list(WINDOW_DAYS.values()), dtype=np.float64)
# Reminders carry no date; on an invoice still open at the application day we count only
# those that could have been sent by then at this cadence.
REMINDER_INTERVAL_DAYS = 14
# A payment this many days late or later counts as this late in the payment margin: beyond
# it lateness is the days-past-due features' business, and one outlier would swamp the mean.
PAY_MARGIN_FLOOR_DAYS = 60

_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")
_EPOCH_DATE = date(1970, 1, 1)
# Up to this many keys a dict lookup beats a pandas hash table (a live decision, its candidates).
_SMALL = 1024

# The kernel's raw aggregates, in the order of :func:`history_aggregates`' columns; a block
# of them has a row per aggregate and a column per application.
_RAW_AGGREGATES = (
    "has_history",
    "days_since_first_invoice",
    "invoice_count_24m",
    "max_dpd_3m",
    "max_dpd_6m",
    "max_dpd_12m",
    "max_dpd_24m",
    "invoices_due_12m",
    "dpd_sum_12m",
    "late_payments_12m",
    "late_payments_24m",
    "days_since_last_late_payment",
    "reminders_12m",
    "collections_24m",
    "current_balance_eur",
    "max_balance_12m_eur",
    "current_dpd",
    "invoices_issued_12m",
    "invoice_amount_sum_12m",
    "partial_paid_due_12m",
    "settled_due_12m",
    "pay_margin_sum_12m",
)
_RAW_ROW = {name: i for i, name in enumerate(_RAW_AGGREGATES)}
_FEATURE_ROW = {name: j for j, name in enumerate(FEATURE_NAMES)}
# History features that are a raw aggregate as it is.
_AS_RAW = [name for name in HISTORY_FEATURES if name in _RAW_ROW]
# History features that are one raw aggregate over another: (feature, numerator, denominator).
_RATIOS = (
    ("mean_dpd_12m", "dpd_sum_12m", "invoices_due_12m"),
    ("partial_payment_share_12m", "partial_paid_due_12m", "invoices_due_12m"),
    ("pay_margin_mean_12m", "pay_margin_sum_12m", "settled_due_12m"),
    # Last: rounded to cents as a feature, unrounded as the instalment's denominator.
    ("avg_invoice_eur_12m", "invoice_amount_sum_12m", "invoices_issued_12m"),
)
# History features that are a raw day count in whole months: (feature, days).
_MONTHS = (
    ("tenure_months", "days_since_first_invoice"),
    ("months_since_last_late_payment", "days_since_last_late_payment"),
)


def _rows(names: Sequence[str], positions: dict[str, int]) -> np.ndarray:
    return np.asarray([positions[name] for name in names], dtype=np.intp)


# Where :func:`_feature_matrix` reads its inputs in a raw block (``_ROWS``, ``_NUMERATORS``,
# ...) and where it writes each feature (``_AT``).
_AS_RAW_ROWS, _AS_RAW_AT = _rows(_AS_RAW, _RAW_ROW), _rows(_AS_RAW, _FEATURE_ROW)
_RATIO_NUMERATORS = _rows([numerator for _, numerator, _ in _RATIOS], _RAW_ROW)
_RATIO_DENOMINATORS = _rows([denominator for _, _, denominator in _RATIOS], _RAW_ROW)
_RATIOS_AT = _rows([feature for feature, _, _ in _RATIOS], _FEATURE_ROW)
_MONTHS_DAYS = _rows([days for _, days in _MONTHS], _RAW_ROW)
_MONTHS_AT = _rows([feature for feature, _ in _MONTHS], _FEATURE_ROW)
_BUREAU_AT = _rows(BUREAU_FEATURES, _FEATURE_ROW)


class FeatureInputError(InvalidInputError, ValueError):
    """An input table lacks a column or holds a value the features cannot read."""


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


def _require(df: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise FeatureInputError(f"{table} lacks column(s) {', '.join(missing)}")


def _days(values: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as float (fractional for timestamps), NaN where missing.

    Naive timestamps and dates count as UTC.
    """
    kind = values.dtype
    if not (isinstance(kind, pd.DatetimeTZDtype) or kind.kind == "M"):
        values = pd.to_datetime(values, utc=True)
    # A timezone-aware column converts to naive UTC here; a naive one is taken as UTC.
    stamps = values.to_numpy("datetime64[s]")
    days = (stamps - _EPOCH).astype(np.float64) / 86400.0
    days[np.isnat(stamps)] = np.nan
    return days


def _floats(df: pd.DataFrame, column: str) -> np.ndarray:
    return df[column].to_numpy(dtype=np.float64)


def _missing(value) -> bool:
    return value is None or value != value  # NaN is the one value unequal to itself


def _factorize(values: pd.Series) -> tuple[np.ndarray, Sequence]:
    """Integer code of each value in order of first appearance; -1 for a missing value."""
    if len(values) > _SMALL:
        return pd.factorize(values)
    seen: dict = {}
    codes = [-1 if _missing(v) else seen.setdefault(v, len(seen)) for v in values.tolist()]
    return np.asarray(codes, dtype=np.intp), list(seen)


def _positions(keys: Sequence, values: pd.Series, *, distinct: str | None = None) -> np.ndarray:
    """Position of each of ``values`` among ``keys``; -1 where absent or missing.

    With ``distinct`` (the keys' ``table.column``) a repeated key is an input error.
    """
    n = len(keys)
    if n + len(values) <= _SMALL:
        keys = keys.tolist() if hasattr(keys, "tolist") else keys
        where = {k: i for i, k in enumerate(keys) if not _missing(k)}
        if distinct and len(where) < sum(not _missing(k) for k in keys):
            raise FeatureInputError(f"{distinct} has duplicates")
        return np.asarray([where.get(v, -1) for v in values.tolist()], dtype=np.intp)
    # One factorisation of keys and values together: a hash join without a pandas Index,
    # whose lookups of many strings are slow.
    both = pd.concat([pd.Series(keys), pd.Series(values)], ignore_index=True)
    codes, uniques = pd.factorize(both)
    key_codes, value_codes = codes[:n], codes[n:]
    if distinct and (np.bincount(key_codes[key_codes >= 0]) > 1).any():
        raise FeatureInputError(f"{distinct} has duplicates")
    # The extra last slot answers the code -1 of a missing value.
    where = np.full(len(uniques) + 1, -1, dtype=np.intp)
    where[key_codes[key_codes >= 0]] = np.flatnonzero(key_codes >= 0)
    return where[value_codes]


def _distinct(values: pd.Series, table: str, column: str) -> None:
    if len(values) > _SMALL:
        codes, uniques = pd.factorize(values)
        duplicated = len(uniques) < np.count_nonzero(codes >= 0)
    else:
        present = [v for v in values.tolist() if not _missing(v)]
        duplicated = len(set(present)) < len(present)
    if duplicated:
        raise FeatureInputError(f"{table}.{column} has duplicates")


def _match(
    left: np.ndarray, right: np.ndarray, n_codes: int, *, distinct: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(i, j)`` of every pair with ``left[i] == right[j]``, codes in ``0..n_codes``.

    Ordered by ``i`` then ``j``, as an inner join keeps them; a negative code matches nothing.
    ``distinct`` promises that no code repeats in ``left`` (one application, its invoices).
    """
    if len(left) == 1:
        # One left row (one application): its partners are the right rows with its code.
        right_idx = (right == left[0]).nonzero()[0] if left[0] >= 0 else np.empty(0, np.intp)
        return np.zeros(len(right_idx), dtype=np.intp), right_idx
    if distinct:
        # Each right row has at most one partner: a lookup table instead of grouping. The
        # spare last slot answers a right code -1 and, reset after the fill, a left one.
        partner = np.full(n_codes + 1, -1, dtype=np.intp)
        partner[left] = np.arange(len(left))
        partner[-1] = -1
        left_of_right = partner[right]
        unmatched = np.count_nonzero(left_of_right < 0)
        right_idx = left_of_right.argsort(kind="stable")[unmatched:]
        return left_of_right[right_idx], right_idx
    present = np.flatnonzero(right >= 0)
    right_codes = right[present]
    # Rows of ``right`` grouped by code, each group in its original order.
    by_code = present[np.argsort(right_codes, kind="stable")]
    count = np.bincount(right_codes, minlength=n_codes)
    first = np.cumsum(count) - count
    left_ok = left >= 0
    per_left = np.where(left_ok, count[np.where(left_ok, left, 0)], 0)
    left_idx = np.repeat(np.arange(len(left)), per_left)
    offset = np.cumsum(per_left) - per_left
    within = np.arange(len(left_idx)) - np.repeat(offset, per_left)
    right_idx = by_code[np.repeat(first[np.where(left_ok, left, 0)], per_left) + within]
    return left_idx, right_idx


def _group_extreme(
    extreme: np.ufunc,
    index: np.ndarray,
    values: np.ndarray,
    n: int,
    start: float,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """``extreme`` (np.maximum, np.minimum) of ``values`` per group ``index``, from ``start``.

    Only where ``where`` holds; several masks, a row each, give a row of groups each. Exact
    in any order, so one group may reduce instead of scatter.
    """
    if n == 1:
        # One group (one application): a reduction, without the scatter of ufunc.at.
        if where is not None and where.ndim > 1:
            values, where = np.where(where, values, start), None
        mask = True if where is None else where
        return extreme.reduce(values, axis=-1, keepdims=True, initial=start, where=mask)
    if where is None:
        out = np.full(n, start)
        extreme.at(out, index, values)
        return out
    masks = where if where.ndim > 1 else where[None]
    out = np.full((len(masks), n), start)
    for group_row, mask in zip(out, masks, strict=True):
        extreme.at(group_row, index[mask], values[mask])
    return out if where.ndim > 1 else out[0]


def _group_max(
    index: np.ndarray, values: np.ndarray, n: int, empty: float, where: np.ndarray
) -> np.ndarray:
    """Largest of ``values`` per group where ``where`` holds; ``empty`` for a group with none."""
    out = _group_extreme(np.maximum, index, values, n, -np.inf, where)
    out[out == -np.inf] = empty
    return out


def _sums_before(
    index: np.ndarray,
    cutoff: np.ndarray,
    *,
    day: np.ndarray,
    weights: np.ndarray,
    backs: np.ndarray,
) -> np.ndarray:
    """Per group ``index``: the sum of ``weights`` over events before ``cutoff - back``.

    ``cutoff`` is each group's; the result has a row per back and a column per group. Every
    sum adds in event order (np.bincount's), however it is computed.
    """
    n = len(cutoff)
    if n == 1:
        # One group (a live decision): every back in one bincount over a bin per back.
        before = day < (cutoff - backs)[:, None]
        bins = np.arange(len(backs)).repeat(len(day))
        sums = np.bincount(bins, weights=(weights * before).ravel(), minlength=len(backs))
        return sums[:, None]
    # Many groups: a pass per back keeps memory at one event column.
    event_cutoff = cutoff[index]
    return np.array(
        [
            np.bincount(index, weights=weights * (day < event_cutoff - back), minlength=n)
            for back in backs
        ]
    )


def _history_columns(
    applications: pd.DataFrame,
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    customer_key: str,
) -> dict[str, np.ndarray]:
    """The event tables as arrays, checked, with each payment's invoice as a position."""
    _require(applications, "applications", ["application_id", customer_key, "applied_at"])
    _require(
        invoices,
        "invoices",
        [
            "invoice_id",
            customer_key,
            "issued_on",
            "due_on",
            "amount_eur",
            "paid_in_full_on",
            "reminders_sent",
            "sent_to_collection_on",
        ],
    )
    _require(payments, "payments", ["invoice_id", "paid_on", "amount_eur"])

    # The cut-off is the start of the application's UTC day: same-day events are excluded.
    t_app = np.floor(_days(applications["applied_at"]))
    if np.isnan(t_app).any():
        raise FeatureInputError("applications.applied_at has missing values")

    person, people = _factorize(applications[customer_key])
    invoice_person = _positions(people, invoices[customer_key])
    pay_inv = _positions(
        invoices["invoice_id"], payments["invoice_id"], distinct="invoices.invoice_id"
    )
    if (pay_inv < 0).any():
        unknown = payments["invoice_id"].to_numpy()[pay_inv < 0][:3]
        raise FeatureInputError(f"payments refer to unknown invoice_id(s) {list(unknown)}")
    return {
        "t_app": t_app,
        "person": person,
        "people": people,
        "invoice_person": invoice_person,
        "issued": _days(invoices["issued_on"]),
        "due": _days(invoices["due_on"]),
        "amount": _floats(invoices, "amount_eur"),
        "paid_full": _days(invoices["paid_in_full_on"]),
        "reminders": _floats(invoices, "reminders_sent"),
        "collection": _days(invoices["sent_to_collection_on"]),
        "pay_inv": pay_inv,
        "paid_on": _days(payments["paid_on"]),
        "pay_amount": _floats(payments, "amount_eur"),
    }


def _history_kernel(
    *,
    t_app: np.ndarray,
    person: np.ndarray,
    people: Sequence,
    invoice_person: np.ndarray,
    issued: np.ndarray,
    due: np.ndarray,
    amount: np.ndarray,
    paid_full: np.ndarray,
    reminders: np.ndarray,
    collection: np.ndarray,
    pay_inv: np.ndarray,
    paid_on: np.ndarray,
    pay_amount: np.ndarray,
) -> np.ndarray:
    """Raw aggregates per application from event arrays (numpy only, any batch size).

    ``person`` and ``invoice_person`` code the customer of each application and invoice
    (negative: no application's customer); ``pay_inv`` is each payment's invoice position.
    Returns a float64 block, a row per :data:`_RAW_AGGREGATES` name, a column per application.
    """
    # Applications of one customer with one cut-off day have one history (a decision's
    # counterfactual candidates): aggregate each such pair once and hand it to all of them.
    if len(t_app) > 1:
        day = t_app.astype(np.int64)
        pair = (person.astype(np.int64) + 1) * (day.max() - day.min() + 1) + (day - day.min())
        _, first, spread = np.unique(pair, return_index=True, return_inverse=True)
        if len(first) < len(t_app):
            events = dict(
                people=people, invoice_person=invoice_person, issued=issued, due=due,
                amount=amount, paid_full=paid_full, reminders=reminders,
                collection=collection, pay_inv=pay_inv, paid_on=paid_on, pay_amount=pay_amount,
            )  # fmt: skip
            once = _history_kernel(t_app=t_app[first], person=person[first], **events)
            return once[:, spread]
    n_apps = len(t_app)
    # One application pairs with each invoice at most once, so the joins may look partners
    # up instead of grouping them.
    single = n_apps == 1
    app_idx, inv_idx = _match(person, invoice_person, len(people), distinct=single)
    t = t_app[app_idx]
    keep = issued[inv_idx] < t
    app_idx, inv_idx, t = app_idx[keep], inv_idx[keep], t[keep]

    issued = issued[inv_idx]
    due = due[inv_idx]
    amount = amount[inv_idx]
    paid_full = paid_full[inv_idx]
    reminders = reminders[inv_idx]
    collection = collection[inv_idx]

    # Payments joined to (application, invoice) pairs; only those before the cut-off count.
    n_pairs = len(inv_idx)
    pp_pair, pp_pay = _match(inv_idx, pay_inv, len(invoice_person), distinct=single)
    pp_paid_on = paid_on[pp_pay]
    pp_amount = pay_amount[pp_pay]
    pp_app = app_idx[pp_pair]
    pp_t = t[pp_pair]
    pp_before = pp_paid_on < pp_t
    paid_by_t = np.bincount(pp_pair[pp_before], weights=pp_amount[pp_before], minlength=n_pairs)
    payments_by_t = np.bincount(pp_pair[pp_before], minlength=n_pairs)

    settled = paid_full < t  # NaN compares False: never settled counts as open
    is_due = due < t
    collected = collection < t
    end = np.where(settled, paid_full, t)
    dpd = np.where(is_due, np.maximum(end - due, 0.0), 0.0)
    late = is_due & ~(paid_full <= due)

    def since(day: np.ndarray, window: str) -> np.ndarray:
        """On or after the window's start; the caller knows the day is before the cut-off."""
        return day >= t - WINDOW_DAYS[window]

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(app_idx, weights=weights, minlength=n_apps)

    out: dict[str, np.ndarray] = {}
    has_history = np.bincount(app_idx, minlength=n_apps) > 0
    out["has_history"] = has_history
    first_issued = _group_extreme(np.minimum, app_idx, issued, n_apps, np.inf)
    out["days_since_first_invoice"] = np.where(has_history, t_app - first_issued, 0.0)
    out["invoice_count_24m"] = total(since(issued, "24m"))  # every pair's was issued before t
    # Invoices that were overdue at some point inside each window (dpd > 0: already due),
    # a row per window.
    max_dpd = _group_max(
        app_idx, dpd, n_apps, 0.0, where=(dpd > 0) & (end > t - _WINDOW_LENGTHS[:, None])
    )
    for i, window in enumerate(WINDOW_DAYS):
        out[f"max_dpd_{window}"] = max_dpd[i]
    due_12m = is_due & since(due, "12m")
    out["invoices_due_12m"] = total(due_12m)
    out["dpd_sum_12m"] = total(dpd * due_12m)
    for window in ("12m", "24m"):
        out[f"late_payments_{window}"] = total(late & since(due, window))
    last_late = _group_max(app_idx, due, n_apps, np.nan, where=late)
    out["days_since_last_late_payment"] = t_app - last_late

    resolved = settled | collected
    possible = np.floor(np.where(is_due, t - due, 0.0) / REMINDER_INTERVAL_DAYS)
    known_reminders = np.where(resolved, reminders, np.minimum(reminders, possible))
    out["reminders_12m"] = total(known_reminders * due_12m)
    out["collections_24m"] = total(collected & since(collection, "24m"))

    # Balance at each checkpoint (a row each): billed before it, less paid before it.
    balances = _sums_before(app_idx, t_app, day=issued, weights=amount, backs=_BALANCE_BACKS)
    balances = balances - _sums_before(
        pp_app, t_app, day=pp_paid_on, weights=pp_amount, backs=_BALANCE_BACKS
    )
    # Rounding keeps order, so the highest rounded balance is the rounded highest one.
    balances = np.maximum(balances, 0.0).round(2)
    out["current_balance_eur"] = balances[0]
    out["max_balance_12m_eur"] = balances.max(axis=0)
    open_overdue = is_due & ~settled
    out["current_dpd"] = _group_max(app_idx, t - due, n_apps, 0.0, where=open_overdue)

    issued_12m = since(issued, "12m")
    out["invoices_issued_12m"] = total(issued_12m)
    out["invoice_amount_sum_12m"] = total(amount * issued_12m)
    partial = (payments_by_t >= 2) | ((paid_by_t > 0.005) & (paid_by_t < amount - 0.005))
    out["partial_paid_due_12m"] = total(partial & due_12m)
    # Payment margin: days from full payment to the due date (negative when late) over
    # invoices due in the last 12 months and settled before the cut-off.
    margin_counts = settled & due_12m
    margin = np.maximum(due - paid_full, -PAY_MARGIN_FLOOR_DAYS)
    out["settled_due_12m"] = total(margin_counts)
    out["pay_margin_sum_12m"] = total(np.where(margin_counts, margin, 0.0))
    # float64 whatever the batch size (bincount over no events returns integers), and
    # whatever the aggregate (has_history is a truth value).
    return np.array([out[name] for name in _RAW_AGGREGATES], dtype=np.float64)


def history_aggregates(
    *,
    applications: pd.DataFrame,
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    customer_key: str = "personal_code",
) -> pd.DataFrame:
    """Raw per-application sums, counts and day distances from the payment history.

    Returned in the order of ``applications``; one row per application.
    """
    raw = _history_kernel(**_history_columns(applications, invoices, payments, customer_key))
    return pd.DataFrame(raw.T, index=applications.index, columns=list(_RAW_AGGREGATES))


def _codes(values: pd.Series, mapping: dict[str, int]) -> np.ndarray:
    """Each value's code in ``mapping`` as float; NaN where the value is not a key."""
    pos = _positions(list(mapping), values)
    codes = np.asarray(list(mapping.values()), dtype=np.float64)[pos]
    codes[pos < 0] = np.nan
    return codes


def _bureau_columns(
    applications: pd.DataFrame,
    bureau_reports: pd.DataFrame,
    customer_key: str,
    *,
    person: np.ndarray,
    people: Sequence,
) -> dict[str, np.ndarray]:
    """The bureau features of each application's report (``person``: its customer code)."""
    _require(applications, "applications", ["bureau_report_id"])
    _require(
        bureau_reports,
        "bureau_reports",
        [
            "report_id",
            customer_key,
            "score",
            "risk_class",
            "open_default_count",
            "closed_default_count",
        ],
    )
    pos = _positions(
        bureau_reports["report_id"],
        applications["bureau_report_id"],
        distinct="bureau_reports.report_id",
    )
    if (pos < 0).any():
        missing = applications["bureau_report_id"].to_numpy()[pos < 0][:3]
        raise FeatureInputError(f"bureau report(s) {list(missing)} not in bureau_reports")
    wrong_person = _positions(people, bureau_reports[customer_key])[pos] != person
    if wrong_person.any():
        first = applications["application_id"].to_numpy()[wrong_person][0]
        raise FeatureInputError(f"application {first} points to another person's bureau report")
    rank = _codes(bureau_reports["risk_class"], BUREAU_CLASS_RANK)[pos]
    if np.isnan(rank).any():
        risk_class = bureau_reports["risk_class"].to_numpy()[pos]
        bad = sorted(set(risk_class[np.isnan(rank)].astype(str)))
        raise FeatureInputError(
            f"unknown bureau risk_class {bad}; expected one of {list(BUREAU_CLASS_RANK)}"
        )
    return {
        "bureau_score": _floats(bureau_reports, "score")[pos],
        "bureau_class_rank": rank,
        "bureau_open_defaults": _floats(bureau_reports, "open_default_count")[pos],
        "bureau_closed_defaults": _floats(bureau_reports, "closed_default_count")[pos],
    }


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


# ---------------------------------------------------------------------------------------
# One applicant, live: the same kernel and final step from arrays, without tables.


@dataclass(frozen=True)
class CustomerHistory:
    """One customer's invoices and payments as arrays, the live input of the kernel.

    Dates are days since 1970-01-01 as float, NaN where missing (see :func:`day_numbers`);
    ``pay_invoice`` is each payment's invoice as a position in the invoice arrays.
    """

    issued: np.ndarray
    due: np.ndarray
    amount: np.ndarray
    paid_full: np.ndarray
    reminders: np.ndarray
    collection: np.ndarray
    pay_invoice: np.ndarray
    paid_on: np.ndarray
    pay_amount: np.ndarray

    def __post_init__(self) -> None:
        invoices = {len(getattr(self, n)) for n in _INVOICE_ARRAYS}
        payments = {len(getattr(self, n)) for n in _PAYMENT_ARRAYS}
        if len(invoices) != 1 or len(payments) != 1:
            raise FeatureInputError("customer history arrays differ in length")
        n_invoices = invoices.pop()
        if len(self.pay_invoice) and not (
            (self.pay_invoice >= 0).all() and (self.pay_invoice < n_invoices).all()
        ):
            raise FeatureInputError("payments refer to invoices outside the customer's history")

    @classmethod
    def from_frames(cls, invoices: pd.DataFrame, payments: pd.DataFrame) -> CustomerHistory:
        """One customer's rows of the world's invoice and payment tables, as arrays."""

        def days(frame: pd.DataFrame, column: str) -> np.ndarray:
            return day_numbers(
                [None if pd.isna(v) else pd.Timestamp(v).date() for v in frame[column]]
            )

        where = {invoice_id: i for i, invoice_id in enumerate(invoices["invoice_id"])}
        return cls(
            issued=days(invoices, "issued_on"),
            due=days(invoices, "due_on"),
            amount=invoices["amount_eur"].to_numpy(dtype=np.float64),
            paid_full=days(invoices, "paid_in_full_on"),
            reminders=invoices["reminders_sent"].to_numpy(dtype=np.float64),
            collection=days(invoices, "sent_to_collection_on"),
            pay_invoice=np.asarray([where[i] for i in payments["invoice_id"]], dtype=np.intp),
            paid_on=days(payments, "paid_on"),
            pay_amount=payments["amount_eur"].to_numpy(dtype=np.float64),
        )

    @classmethod
    def empty(cls) -> CustomerHistory:
        """A customer the company has never invoiced (a thin file)."""
        none = np.empty(0, dtype=np.float64)
        return cls(none, none, none, none, none, none, np.empty(0, dtype=np.intp), none, none)


_INVOICE_ARRAYS = ("issued", "due", "amount", "paid_full", "reminders", "collection")
_PAYMENT_ARRAYS = ("pay_invoice", "paid_on", "pay_amount")


@dataclass(frozen=True)
class BureauFacts:
    """What the features read of a bureau report."""

    score: float
    risk_class: str
    open_default_count: float
    closed_default_count: float


def day_numbers(values: Sequence) -> np.ndarray:
    """Dates (``datetime.date`` or None) as days since 1970-01-01, NaN for None."""
    stamps = np.array(values, dtype="datetime64[D]")
    days = stamps.astype(np.int64).astype(np.float64)
    days[np.isnat(stamps)] = np.nan
    return days


def cutoff_day(applied_at: datetime) -> float:
    """The application's UTC calendar day as days since 1970: events before it count."""
    if applied_at.tzinfo is not None:
        applied_at = applied_at.astimezone(UTC)
    return float((applied_at.date() - _EPOCH_DATE).days)


def applicant_history_aggregates(history: CustomerHistory, *, day: float) -> dict[str, float]:
    """The raw aggregates (:func:`history_aggregates`) of one applicant on cut-off ``day``."""
    raw = _applicant_kernel(history, day)
    return dict(zip(_RAW_AGGREGATES, raw[:, 0].tolist(), strict=True))


def _applicant_kernel(history: CustomerHistory, day: float) -> np.ndarray:
    return _history_kernel(
        t_app=np.array([day], dtype=np.float64),
        person=np.zeros(1, dtype=np.intp),
        people=[0],
        invoice_person=np.zeros(len(history.issued), dtype=np.intp),
        issued=history.issued,
        due=history.due,
        amount=history.amount,
        paid_full=history.paid_full,
        reminders=history.reminders,
        collection=history.collection,
        pay_inv=history.pay_invoice,
        paid_on=history.paid_on,
        pay_amount=history.pay_amount,
    )


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


def build_training_snapshot(world) -> pd.DataFrame:
    """The training snapshot of a world: key, time, features and the 12-month default flag."""
    apps = world.applications
    _require(apps, "applications", ["defaulted_12m"])
    features = application_features(
        applications=apps,
        invoices=world.invoices,
        payments=world.payments,
        bureau_reports=world.bureau_reports,
    )
    snapshot = features.reset_index()
    # Counts, days and codes are whole numbers with no gaps; the contract types them int64.
    snapshot[INTEGER_FEATURES] = snapshot[INTEGER_FEATURES].astype(np.int64)
    applied_at = pd.to_datetime(apps["applied_at"], utc=True).reset_index(drop=True)
    snapshot.insert(1, "applied_at", applied_at)
    snapshot["defaulted_12m"] = apps["defaulted_12m"].astype(bool).to_numpy()
    return snapshot.sort_values(["applied_at", "application_id"], kind="stable").reset_index(
        drop=True
    )
