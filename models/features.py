"""Model features for one or many instalment applications, as of each application's time.

One code path serves training (every application of a world) and a live decision (one
application with that customer's invoices, payments and one bureau report). Only events
dated strictly before the application's UTC calendar day count, so nothing the company
learned on or after the application day can leak into its features.

Two steps:

1. :func:`history_aggregates` turns the event tables into raw per-application sums, counts
   and day distances (pandas/numpy, vectorised over all applications at once);
2. the numeric transformers :class:`DaysToMonths` and :class:`SafeRatio` turn those raw
   aggregates into model features (averages, shares, months).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "APPLICATION_FEATURES",
    "BUREAU_CLASS_RANK",
    "BUREAU_FEATURES",
    "FEATURE_NAMES",
    "HISTORY_FEATURES",
    "INTEGER_FEATURES",
    "PRODUCT_CATEGORY_CODE",
    "DaysToMonths",
    "FeatureInputError",
    "SafeRatio",
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
INTEGER_FEATURES = [
    "tenure_months", "thin_file", "invoice_count_24m", "max_dpd_3m", "max_dpd_6m",
    "max_dpd_12m", "max_dpd_24m", "late_payments_12m", "late_payments_24m", "reminders_12m",
    "collections_24m", "current_dpd", "bureau_score", "bureau_class_rank",
    "bureau_open_defaults", "bureau_closed_defaults", "term_months", "product_category_code",
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
# Reminders carry no date; on an invoice still open at the application day we count only
# those that could have been sent by then at this cadence.
REMINDER_INTERVAL_DAYS = 14

_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


class FeatureInputError(ValueError):
    """An input table lacks a column or holds a value the features cannot read."""


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
        return np.floor(X / self.days_per_month)

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
        out = np.full(num.shape, self.fill_value, dtype=np.float64)
        ok = (den != 0) & ~np.isnan(den)
        np.divide(num, den[:, None], out=out, where=ok[:, None])
        return out

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
    """Days since 1970-01-01 as float (fractional for timestamps), NaN where missing."""
    ts = pd.to_datetime(values, utc=True)
    secs = (ts.dt.tz_localize(None).to_numpy("datetime64[s]") - _EPOCH).astype("float64")
    secs[ts.isna().to_numpy()] = np.nan
    return secs / 86400.0


def _group_max(index: np.ndarray, values: np.ndarray, n: int, empty: float) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, index, values)
    out[np.isneginf(out)] = empty
    return out


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

    n_apps = len(applications)
    # The cut-off is the start of the application's UTC day: same-day events are excluded.
    t_app = np.floor(_days(applications["applied_at"]))
    if np.isnan(t_app).any():
        raise FeatureInputError("applications.applied_at has missing values")

    apps = pd.DataFrame({"key": applications[customer_key].to_numpy(), "app": np.arange(n_apps)})
    inv = pd.DataFrame(
        {
            "key": invoices[customer_key].to_numpy(),
            "inv": np.arange(len(invoices)),
        }
    )
    pairs = apps.merge(inv, on="key", how="inner", sort=False)
    app_idx = pairs["app"].to_numpy()
    inv_idx = pairs["inv"].to_numpy()

    issued_all = _days(invoices["issued_on"])
    t = t_app[app_idx]
    keep = issued_all[inv_idx] < t
    app_idx, inv_idx, t = app_idx[keep], inv_idx[keep], t[keep]

    issued = issued_all[inv_idx]
    due = _days(invoices["due_on"])[inv_idx]
    amount = invoices["amount_eur"].to_numpy(dtype=np.float64)[inv_idx]
    paid_full = _days(invoices["paid_in_full_on"])[inv_idx]
    reminders = invoices["reminders_sent"].to_numpy(dtype=np.float64)[inv_idx]
    collection = _days(invoices["sent_to_collection_on"])[inv_idx]

    # Payments joined to (application, invoice) pairs; only those before the cut-off count.
    pay_inv = pd.Index(invoices["invoice_id"]).get_indexer(payments["invoice_id"])
    if (pay_inv < 0).any():
        unknown = payments["invoice_id"].to_numpy()[pay_inv < 0][:3]
        raise FeatureInputError(f"payments refer to unknown invoice_id(s) {list(unknown)}")
    pair_frame = pd.DataFrame({"inv": inv_idx, "pair": np.arange(len(inv_idx))})
    pay_frame = pd.DataFrame(
        {
            "inv": pay_inv,
            "paid_on": _days(payments["paid_on"]),
            "amount": payments["amount_eur"].to_numpy(dtype=np.float64),
        }
    )
    pp = pair_frame.merge(pay_frame, on="inv", how="inner", sort=False)
    pp_pair = pp["pair"].to_numpy()
    pp_paid_on = pp["paid_on"].to_numpy()
    pp_amount = pp["amount"].to_numpy()
    pp_app = app_idx[pp_pair]
    pp_t = t[pp_pair]
    pp_before = pp_paid_on < pp_t
    n_pairs = len(inv_idx)
    paid_by_t = np.bincount(pp_pair[pp_before], weights=pp_amount[pp_before], minlength=n_pairs)
    payments_by_t = np.bincount(pp_pair[pp_before], minlength=n_pairs)

    settled = paid_full < t  # NaN compares False: never settled counts as open
    is_due = due < t
    end = np.where(settled, paid_full, t)
    dpd = np.where(is_due, np.clip(end - due, 0, None), 0.0)
    late = is_due & ~(paid_full <= due)
    open_overdue = is_due & ~settled

    def in_window(day: np.ndarray, window: str) -> np.ndarray:
        return (day >= t - WINDOW_DAYS[window]) & (day < t)

    out: dict[str, np.ndarray] = {}
    has_history = np.bincount(app_idx, minlength=n_apps) > 0
    out["has_history"] = has_history.astype(np.float64)
    first_issued = np.full(n_apps, np.inf)
    np.minimum.at(first_issued, app_idx, issued)
    out["days_since_first_invoice"] = np.where(has_history, t_app - first_issued, 0.0)
    out["invoice_count_24m"] = np.bincount(
        app_idx, weights=in_window(issued, "24m"), minlength=n_apps
    )
    for window in ("3m", "6m", "12m", "24m"):
        # Invoices that were overdue at some point inside the window.
        touched = is_due & (end > t - WINDOW_DAYS[window]) & (dpd > 0)
        out[f"max_dpd_{window}"] = _group_max(app_idx[touched], dpd[touched], n_apps, 0.0)
    due_12m = in_window(due, "12m")
    out["invoices_due_12m"] = np.bincount(app_idx, weights=due_12m, minlength=n_apps)
    out["dpd_sum_12m"] = np.bincount(app_idx, weights=dpd * due_12m, minlength=n_apps)
    for window in ("12m", "24m"):
        out[f"late_payments_{window}"] = np.bincount(
            app_idx, weights=late & in_window(due, window), minlength=n_apps
        )
    last_late = _group_max(app_idx[late], due[late], n_apps, np.nan)
    out["days_since_last_late_payment"] = t_app - last_late

    resolved = settled | (collection < t)
    possible = np.floor(np.where(is_due, t - due, 0.0) / REMINDER_INTERVAL_DAYS)
    known_reminders = np.where(resolved, reminders, np.minimum(reminders, possible))
    out["reminders_12m"] = np.bincount(
        app_idx, weights=known_reminders * due_12m, minlength=n_apps
    )
    out["collections_24m"] = np.bincount(
        app_idx, weights=in_window(collection, "24m"), minlength=n_apps
    )

    balances = []
    for back in BALANCE_CHECKPOINT_DAYS:
        s = t - back
        issued_before = issued < s
        pay_before = pp_paid_on < pp_t - back
        billed = np.bincount(app_idx, weights=amount * issued_before, minlength=n_apps)
        paid = np.bincount(pp_app, weights=pp_amount * pay_before, minlength=n_apps)
        balances.append(np.clip(billed - paid, 0.0, None))
    out["current_balance_eur"] = np.round(balances[0], 2)
    out["max_balance_12m_eur"] = np.round(np.max(balances, axis=0), 2)
    out["current_dpd"] = _group_max(
        app_idx[open_overdue], (t - due)[open_overdue], n_apps, 0.0
    )

    issued_12m = in_window(issued, "12m")
    out["invoices_issued_12m"] = np.bincount(app_idx, weights=issued_12m, minlength=n_apps)
    out["invoice_amount_sum_12m"] = np.bincount(
        app_idx, weights=amount * issued_12m, minlength=n_apps
    )
    partial = (payments_by_t >= 2) | ((paid_by_t > 0.005) & (paid_by_t < amount - 0.005))
    out["partial_paid_due_12m"] = np.bincount(
        app_idx, weights=partial & due_12m, minlength=n_apps
    )
    return pd.DataFrame(out, index=applications.index, dtype=np.float64)


def _bureau_part(
    applications: pd.DataFrame, bureau_reports: pd.DataFrame, customer_key: str
) -> pd.DataFrame:
    _require(applications, "applications", ["bureau_report_id"])
    _require(
        bureau_reports,
        "bureau_reports",
        ["report_id", customer_key, "score", "risk_class", "open_default_count",
         "closed_default_count"],
    )
    pos = pd.Index(bureau_reports["report_id"]).get_indexer(applications["bureau_report_id"])
    if (pos < 0).any():
        missing = applications["bureau_report_id"].to_numpy()[pos < 0][:3]
        raise FeatureInputError(f"bureau report(s) {list(missing)} not in bureau_reports")
    rep = bureau_reports.iloc[pos]
    wrong_person = rep[customer_key].to_numpy() != applications[customer_key].to_numpy()
    if wrong_person.any():
        first = applications["application_id"].to_numpy()[wrong_person][0]
        raise FeatureInputError(f"application {first} points to another person's bureau report")
    rank = rep["risk_class"].map(BUREAU_CLASS_RANK)
    if rank.isna().any():
        bad = sorted(set(rep["risk_class"][rank.isna()].astype(str)))
        raise FeatureInputError(
            f"unknown bureau risk_class {bad}; expected one of {list(BUREAU_CLASS_RANK)}"
        )
    return pd.DataFrame(
        {
            "bureau_score": rep["score"].to_numpy(dtype=np.float64),
            "bureau_class_rank": rank.to_numpy(dtype=np.float64),
            "bureau_open_defaults": rep["open_default_count"].to_numpy(dtype=np.float64),
            "bureau_closed_defaults": rep["closed_default_count"].to_numpy(dtype=np.float64),
        },
        index=applications.index,
    )


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
        ["application_id", customer_key, "applied_at", "amount_eur", "term_months",
         "product_category", "bureau_report_id"],
    )
    if applications["application_id"].duplicated().any():
        raise FeatureInputError("applications.application_id has duplicates")
    raw = history_aggregates(
        applications=applications, invoices=invoices, payments=payments,
        customer_key=customer_key,
    )
    bureau = _bureau_part(applications, bureau_reports, customer_key)

    amount = applications["amount_eur"].to_numpy(dtype=np.float64)
    term = applications["term_months"].to_numpy(dtype=np.float64)
    if (term <= 0).any() or np.isnan(term).any():
        raise FeatureInputError("applications.term_months must be a positive number of months")
    if (amount <= 0).any() or np.isnan(amount).any():
        raise FeatureInputError("applications.amount_eur must be positive")
    category = applications["product_category"].map(PRODUCT_CATEGORY_CODE)
    if category.isna().any():
        bad = sorted(set(applications["product_category"][category.isna()].astype(str)))
        raise FeatureInputError(
            f"unknown product_category {bad}; expected one of {list(PRODUCT_CATEGORY_CODE)}"
        )

    months = DaysToMonths().fit_transform(
        raw[["days_since_first_invoice", "days_since_last_late_payment"]].to_numpy()
    )
    per_due = SafeRatio().fit_transform(
        raw[["dpd_sum_12m", "partial_paid_due_12m", "invoices_due_12m"]].to_numpy()
    )
    avg_invoice = SafeRatio().fit_transform(
        raw[["invoice_amount_sum_12m", "invoices_issued_12m"]].to_numpy()
    )[:, 0]
    # Zero-interest plan: the instalment is the amount spread evenly over the term.
    instalment = np.round(amount / term, 2)
    instalment_ratio = SafeRatio().fit_transform(np.column_stack([instalment, avg_invoice]))[:, 0]

    features = pd.DataFrame(
        {
            "tenure_months": months[:, 0],
            "thin_file": 1.0 - raw["has_history"].to_numpy(),
            "invoice_count_24m": raw["invoice_count_24m"].to_numpy(),
            "max_dpd_3m": raw["max_dpd_3m"].to_numpy(),
            "max_dpd_6m": raw["max_dpd_6m"].to_numpy(),
            "max_dpd_12m": raw["max_dpd_12m"].to_numpy(),
            "max_dpd_24m": raw["max_dpd_24m"].to_numpy(),
            "mean_dpd_12m": per_due[:, 0],
            "late_payments_12m": raw["late_payments_12m"].to_numpy(),
            "late_payments_24m": raw["late_payments_24m"].to_numpy(),
            "months_since_last_late_payment": months[:, 1],
            "reminders_12m": raw["reminders_12m"].to_numpy(),
            "collections_24m": raw["collections_24m"].to_numpy(),
            "current_balance_eur": raw["current_balance_eur"].to_numpy(),
            "current_dpd": raw["current_dpd"].to_numpy(),
            "max_balance_12m_eur": raw["max_balance_12m_eur"].to_numpy(),
            "avg_invoice_eur_12m": np.round(avg_invoice, 2),
            "partial_payment_share_12m": per_due[:, 1],
            **{c: bureau[c].to_numpy() for c in BUREAU_FEATURES},
            "amount_eur": amount,
            "term_months": term,
            "monthly_instalment_eur": instalment,
            "instalment_to_avg_invoice": instalment_ratio,
            "product_category_code": category.to_numpy(dtype=np.float64),
        },
        index=pd.Index(applications["application_id"].to_numpy(), name="application_id"),
    )
    # One dtype whatever the batch size: bincount over no events returns integers.
    return features[FEATURE_NAMES].astype(np.float64)


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
