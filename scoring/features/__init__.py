"""Model features for one or many instalment applications, as of each application's time.

One code path serves training (every application of a world) and a live decision (one
application with that customer's invoices, payments and one bureau report). Only events
dated strictly before the application's UTC calendar day count, so nothing the company
learned on or after the application day can leak into its features.

Three steps, each the same for one application and for a hundred thousand:

1. the event tables are read once into numpy arrays (dates as days since 1970, customers as
   integer codes; :mod:`scoring.features.tables`);
2. a numpy kernel joins each application to its customer's earlier invoices and payments and
   reduces them to raw per-application sums, counts and day distances
   (:mod:`scoring.features.history`; :func:`history_aggregates` returns them as a table);
3. the numeric kernels of :class:`DaysToMonths` and :class:`SafeRatio`
   (:mod:`scoring.features.kernels`; the scikit-learn forms, in
   :mod:`scoring.features.transformers`, load only when asked for) turn those raw
   aggregates, with the bureau facts (:mod:`scoring.features.bureau`) and the purchase,
   into the model features (:mod:`scoring.features.vector`).

There is no pandas merge or group-by on the way, so a live decision pays microseconds, not
milliseconds, for the same arithmetic training uses. A live decision skips step 1's tables
as well: :func:`applicant_features` takes one customer's history as ready arrays
(:class:`CustomerHistory`, built straight from database rows) and runs the same kernel and
the same final step as :func:`application_features`. The names and fixed codes of the
features are in :mod:`scoring.features.catalogue`; :func:`build_training_snapshot`
(:mod:`scoring.features.training`) assembles a world's training snapshot.

Both sides import this package as ``from scoring.features import ...``: the risk team's
``models`` (training, evaluation) and the decision service (``scoring.service``). It
depends only on numpy, pandas and scikit-learn, never on the service, the API, storage,
the review UI or ``models``.
"""

from typing import TYPE_CHECKING

from scoring.features.bureau import BureauFacts
from scoring.features.catalogue import (
    APPLICATION_FEATURES,
    BUREAU_CLASS_RANK,
    BUREAU_FEATURES,
    FEATURE_NAMES,
    HISTORY_FEATURES,
    INTEGER_FEATURES,
    PRODUCT_CATEGORY_CODE,
    FeatureInputError,
)
from scoring.features.history import (
    BALANCE_CHECKPOINT_DAYS,
    PAY_MARGIN_FLOOR_DAYS,
    REMINDER_INTERVAL_DAYS,
    WINDOW_DAYS,
    CustomerHistory,
    applicant_history_aggregates,
    cutoff_day,
    day_numbers,
    history_aggregates,
)
from scoring.features.kernels import DAYS_PER_MONTH
from scoring.features.training import build_training_snapshot
from scoring.features.vector import applicant_features, application_features

if TYPE_CHECKING:
    from scoring.features.transformers import DaysToMonths, SafeRatio


def __getattr__(name: str) -> object:
    # The scikit-learn forms load scikit-learn (seconds); a live decision never needs them.
    if name in ("DaysToMonths", "SafeRatio"):
        from scoring.features import transformers

        return getattr(transformers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
