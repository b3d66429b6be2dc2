"""Fairness report (R14): groups joined from attributes kept aside, per-group metrics, gaps."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.evaluation.fairness import (
    FairnessInputError,
    age_band,
    fairness_report,
    protected_groups,
)


def test_age_band_counts_whole_years_at_the_application_day():
    groups = protected_groups(
        applications=pd.DataFrame(
            {
                "application_id": ["A1", "A2"],
                "personal_code": ["p1", "p2"],
                "applied_at": pd.to_datetime(["2025-03-14 10:00", "2025-03-15 10:00"], utc=True),
            }
        ),
        customers=pd.DataFrame(
            {"personal_code": ["p1", "p2"], "birth_date": [date(2000, 3, 15), date(2000, 3, 15)]}
        ),
        attributes=pd.DataFrame(
            {"personal_code": ["p1", "p2"], "sex": ["F", "M"], "language": ["et", "ru"]}
        ),
    )
    assert groups.loc["A1", "age_band"] == "under 25"  # 24 the day before the birthday
    assert groups.loc["A2", "age_band"] == "25-34"
    assert list(age_band(np.array([17, 34, 35, 64, 65]))) == [
        "under 25",
        "25-34",
        "35-49",
        "50-64",
        "65+",
    ]


def test_an_application_without_attributes_is_refused():
    with pytest.raises(FairnessInputError, match="1 application"):
        protected_groups(
            applications=pd.DataFrame(
                {
                    "application_id": ["A1"],
                    "personal_code": ["p1"],
                    "applied_at": pd.to_datetime(["2025-01-01"], utc=True),
                }
            ),
            customers=pd.DataFrame({"personal_code": ["p1"], "birth_date": [date(1980, 1, 1)]}),
            attributes=pd.DataFrame({"personal_code": ["p2"], "sex": ["F"], "language": ["et"]}),
        )


def test_gaps_compare_groups_large_enough_to_judge():
    rng = np.random.default_rng(1)
    n = 4000
    sex = np.where(np.arange(n) % 2 == 0, "F", "M")
    pd_ = np.where(sex == "F", 0.03, 0.09) * rng.uniform(0.5, 1.5, n)
    y = (rng.random(n) < pd_).astype(int)
    language = np.where(np.arange(n) < 50, "en", "et")  # 50 applications: too few to judge
    groups = pd.DataFrame({"age_band": "35-49", "sex": sex, "language": language})
    report = fairness_report(y=y, pd_=pd_, groups=groups, approve_below=0.06)

    by_sex = report.by_group["sex"].set_index("sex")
    assert by_sex.loc["F", "approval_rate"] == pytest.approx((pd_[sex == "F"] < 0.06).mean())
    assert report.gaps["sex"]["approval_rate"] == pytest.approx(
        by_sex.loc["F", "approval_rate"] - by_sex.loc["M", "approval_rate"]
    )
    assert not report.by_group["language"].set_index("language").loc["en", "judged"]
    assert np.isnan(report.gaps["language"]["auc"])  # one judged group: no gap
    assert np.isnan(report.gaps["age_band"]["approval_rate"])
    assert report.metrics()["fairness.sex.approval_rate_gap"] == report.gaps["sex"]["approval_rate"]


def test_lengths_must_match():
    with pytest.raises(FairnessInputError, match="differ in length"):
        fairness_report(
            y=np.zeros(3),
            pd_=np.zeros(2),
            groups=pd.DataFrame({"age_band": ["a"] * 3, "sex": ["F"] * 3, "language": ["et"] * 3}),
            approve_below=0.06,
        )
