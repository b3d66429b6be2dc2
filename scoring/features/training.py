"""The training snapshot of a world: key, time, features and the 12-month outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.features.catalogue import INTEGER_FEATURES
from scoring.features.tables import _require
from scoring.features.vector import application_features


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
