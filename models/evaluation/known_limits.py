"""The evaluation tables a registered version keeps for the reviewer's case page.

Written at training beside each version (``models.registry.log_training``: the version's
``known_limits`` tag and the run's ``known_limits/`` artifact), read by
``scoring.domain.model_limits``: the held-out calibration in equal-count bins (the PD's
uncertainty interval on the case page) and the segment tables (thin file, new customer,
bureau class) with the whole evaluation's AUC and calibration beside them (the model's known
limits for one customer).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from models.evaluation import metrics as m
from models.evaluation.report import Evaluation
from models.training.scoring_model import ScoringModel
from scoring.domain.model_limits import NEW_CUSTOMER_MONTHS, TABLES_SCHEMA

TAG = "known_limits"
# Fine bins (about 1 % of the held-out rows each): the case page joins the ones nearest a PD
# into a window of at least model_limits.MIN_WINDOW_COUNT applications centred on it.
CALIBRATION_BINS = 100


def known_limits_tables(
    model: ScoringModel, evaluation_rows: pd.DataFrame, *, target: str, evaluation: Evaluation
) -> dict[str, Any]:
    """Calibration and segment tables of one model on its held-out evaluation rows."""
    y = evaluation_rows[target].to_numpy(np.float64)
    p = model.predict_pd(evaluation_rows)
    segments: dict[str, pd.DataFrame] = {}
    for column in ("thin_file", "bureau_class_rank"):
        if column in evaluation_rows.columns:
            segments[column] = m.segment_table(y, p, evaluation_rows[column].fillna(-1))
    if {"thin_file", "tenure_months"} <= set(evaluation_rows.columns):
        known = evaluation_rows["thin_file"].fillna(1).to_numpy() < 0.5
        new = (evaluation_rows["tenure_months"].fillna(0).to_numpy() < NEW_CUSTOMER_MONTHS) & known
        # Customers with a history only: a thin file is its own segment.
        segments["new_customer"] = m.segment_table(y[known], p[known], new[known].astype(int))
    metrics = evaluation.metrics
    return {
        "schema": TABLES_SCHEMA,
        "evaluation_rows": len(y),
        "overall": {
            "auc": _plain(metrics.get("auc")),
            "auc_ci_low": _plain(metrics.get("auc_ci_low")),
            "auc_ci_high": _plain(metrics.get("auc_ci_high")),
            "ece": _plain(metrics.get("ece")),
            "default_rate": float(y.mean()),
            "mean_pd": float(p.mean()),
        },
        "calibration": _rows(m.calibration_table(y, p, bins=CALIBRATION_BINS)),
        "segments": {name: _rows(table) for name, table in segments.items()},
    }


def tables_json(tables: dict[str, Any]) -> str:
    """The tables as the tag holds them (compact JSON; NaN written as null)."""
    return json.dumps(tables, separators=(",", ":"), allow_nan=False)


def _rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
