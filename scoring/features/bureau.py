"""What the features read of a bureau report.

A batch reads a table of reports (:func:`_bureau_columns`); a live decision passes one
report's facts (:class:`BureauFacts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.features.catalogue import BUREAU_CLASS_RANK, FeatureInputError
from scoring.features.tables import _codes, _floats, _positions, _require


@dataclass(frozen=True)
class BureauFacts:
    """What the features read of a bureau report."""

    score: float
    risk_class: str
    open_default_count: float
    closed_default_count: float


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
