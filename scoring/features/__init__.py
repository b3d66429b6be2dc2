"""Model features, shared by training (``models``) and live decisions (``scoring.service``).

Importers use ``from scoring.features import ...``. The package reads only numpy, pandas and
scikit-learn: never the service, the API, storage, the review UI or the risk team's
``models`` package, so serving does not import training code and training does not import
the service.
"""

from scoring.features.history import (
    APPLICATION_FEATURES,
    BALANCE_CHECKPOINT_DAYS,
    BUREAU_CLASS_RANK,
    BUREAU_FEATURES,
    DAYS_PER_MONTH,
    FEATURE_NAMES,
    HISTORY_FEATURES,
    INTEGER_FEATURES,
    PAY_MARGIN_FLOOR_DAYS,
    PRODUCT_CATEGORY_CODE,
    REMINDER_INTERVAL_DAYS,
    WINDOW_DAYS,
    BureauFacts,
    CustomerHistory,
    DaysToMonths,
    FeatureInputError,
    SafeRatio,
    applicant_features,
    applicant_history_aggregates,
    application_features,
    build_training_snapshot,
    cutoff_day,
    day_numbers,
    history_aggregates,
)

__all__ = [
    "APPLICATION_FEATURES",
    "BALANCE_CHECKPOINT_DAYS",
    "BUREAU_CLASS_RANK",
    "BUREAU_FEATURES",
    "DAYS_PER_MONTH",
    "FEATURE_NAMES",
    "HISTORY_FEATURES",
    "INTEGER_FEATURES",
    "PAY_MARGIN_FLOOR_DAYS",
    "PRODUCT_CATEGORY_CODE",
    "REMINDER_INTERVAL_DAYS",
    "WINDOW_DAYS",
    "BureauFacts",
    "CustomerHistory",
    "DaysToMonths",
    "FeatureInputError",
    "SafeRatio",
    "applicant_features",
    "applicant_history_aggregates",
    "application_features",
    "build_training_snapshot",
    "cutoff_day",
    "day_numbers",
    "history_aggregates",
]
