"""The feature catalogue: the model's features in order, their fixed codes, the input error.

Training, the contracts and the live decision read the same lists, so a model trained
today finds its features in the same order and its categories under the same codes.
"""

from __future__ import annotations

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
    "early_days_mean",
    "early_days_recent_mean",
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


class FeatureInputError(ValueError):
    """An input table lacks a column or holds a value the features cannot read."""
