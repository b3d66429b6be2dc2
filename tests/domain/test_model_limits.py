"""The PD's interval and the known limits a model version's evaluation gives one customer."""

from __future__ import annotations

import pytest

from scoring.domain.model_limits import (
    customer_segments,
    pd_interval,
    segment_measures,
    wilson_interval,
)

CALIBRATION = [
    {"bin": 0, "count": 200, "mean_pd": 0.010, "observed": 0.010, "pd_low": 0.001, "pd_high": 0.02},
    {"bin": 1, "count": 200, "mean_pd": 0.040, "observed": 0.050, "pd_low": 0.021, "pd_high": 0.06},
    {"bin": 2, "count": 200, "mean_pd": 0.150, "observed": 0.120, "pd_low": 0.062, "pd_high": 0.6},
]
TABLES = {
    "schema": 1,
    "overall": {"auc": 0.80, "ece": 0.01},
    "calibration": CALIBRATION,
    "segments": {
        "thin_file": [
            {"segment": 0, "count": 500, "default_rate": 0.06, "mean_pd": 0.06, "auc": 0.81},
            {"segment": 1, "count": 200, "default_rate": 0.15, "mean_pd": 0.08, "auc": 0.70},
        ],
        "new_customer": [
            {"segment": 0, "count": 450, "default_rate": 0.06, "mean_pd": 0.06, "auc": 0.81},
            {"segment": 1, "count": 30, "default_rate": 0.10, "mean_pd": 0.09, "auc": None},
        ],
        "bureau_class_rank": [
            {"segment": 1, "count": 600, "default_rate": 0.04, "mean_pd": 0.041, "auc": 0.79},
        ],
    },
}


def test_the_wilson_interval_matches_its_textbook_value():
    # 10 of 100: 95 % Wilson interval 0.0552 to 0.1744 (Newcombe 1998, method 3).
    low, high = wilson_interval(10, 100)
    assert low == pytest.approx(0.0552, abs=1e-4) and high == pytest.approx(0.1744, abs=1e-4)
    assert wilson_interval(0, 50)[0] == pytest.approx(0.0, abs=1e-12)


def test_the_pd_interval_is_that_of_the_calibration_bin_holding_the_pd():
    interval = pd_interval(CALIBRATION, 0.045)
    assert interval is not None
    assert (interval.count, interval.defaults) == (200, 10)
    assert interval.low < 0.05 < interval.high
    assert (interval.bin_low, interval.bin_high) == (0.021, 0.06)
    # Beyond the ends: the nearest bin; in a gap between bins: the lower one.
    assert pd_interval(CALIBRATION, 0.9).bin_low == 0.062  # type: ignore[union-attr]
    assert pd_interval(CALIBRATION, 0.0001).bin_low == 0.001  # type: ignore[union-attr]
    assert pd_interval(CALIBRATION, 0.0205).bin_low == 0.001  # type: ignore[union-attr]
    assert pd_interval([], 0.1) is None


def test_the_pd_interval_joins_the_neighbouring_fine_bins_nearest_the_pd_until_it_rests_on_enough():
    # 20 bins of 30 applications, mean PDs 1 % apart: one bin alone is too few to judge by.
    fine = [
        {"bin": i, "count": 30, "mean_pd": 0.01 * (i + 1), "observed": 0.01 * (i + 1),
         "pd_low": 0.01 * i + 0.005, "pd_high": 0.01 * (i + 1) + 0.004}
        for i in range(20)
    ]  # fmt: skip
    interval = pd_interval(fine, 0.105)  # in bin 9 (mean 10 %), nearer bin 10 than bin 8
    assert interval is not None and interval.count == 150  # five bins, the first at 150
    assert (interval.bin_low, interval.bin_high) == pytest.approx((0.075, 0.124))  # bins 7-11
    assert interval.mean_pd == pytest.approx(0.10)
    assert interval.low < 0.105 < interval.high
    # At an end the window can only grow one way.
    assert pd_interval(fine, 0.001).bin_low == 0.005  # type: ignore[union-attr]
    assert pd_interval(fine, 0.001).count == 150  # type: ignore[union-attr]
    # Fewer rows than asked for: all of them.
    assert pd_interval(fine[:3], 0.02, at_least=1000).count == 90  # type: ignore[union-attr]


def test_a_thin_file_gets_the_weaker_ranking_and_the_under_estimate_measured_for_its_segment():
    segments = customer_segments(
        {"thin_file": 1.0, "tenure_months": 0.0, "bureau_class_rank": 1.0}, has_bureau_report=True
    )
    assert segments == {"thin_file": 1, "bureau_class_rank": 1}
    measures = segment_measures(TABLES, segments, class_labels={1: "“good”"})
    thin = next(m for m in measures if m.segment == "thin_file")
    assert thin.limit is not None
    assert "AUC 0.70 against 0.80 overall" in thin.limit
    assert "under-estimates their risk: mean predicted PD 8.0% against 15.0% observed" in thin.limit
    bureau = next(m for m in measures if m.segment == "bureau_class_rank")
    assert bureau.label == "Bureau class “good”" and bureau.limit is None


def test_a_new_customer_hears_that_too_few_like_them_were_measured():
    segments = customer_segments({"thin_file": 0.0, "tenure_months": 3.0}, has_bureau_report=False)
    assert segments == {"thin_file": 0, "new_customer": 1}
    measures = segment_measures(TABLES, segments)
    assert [m.segment for m in measures] == ["new_customer"]
    assert "only 30 such applications (3 defaults)" in (measures[0].limit or "")


def test_a_customer_in_no_weak_segment_has_no_limit_but_the_figures_are_there():
    segments = customer_segments(
        {"thin_file": 0.0, "tenure_months": 40.0, "bureau_class_rank": 1.0}, has_bureau_report=True
    )
    measures = segment_measures(TABLES, segments)
    assert [m.segment for m in measures] == ["bureau_class_rank"]
    assert measures[0].limit is None and measures[0].count == 600


def test_too_few_defaults_make_a_segment_unmeasured_whatever_its_auc_says():
    tables = {**TABLES, "segments": {"bureau_class_rank": [
        {"segment": 0, "count": 250, "default_rate": 0.036, "mean_pd": 0.048, "auc": 0.71},
    ]}}  # fmt: skip
    (measure,) = segment_measures(tables, {"bureau_class_rank": 0})
    assert measure.defaults == 9
    assert "only 250 such applications (9 defaults)" in (measure.limit or "")
    assert "AUC" not in (measure.limit or "")


def test_a_segment_absent_from_the_evaluation_is_a_limit():
    tables = {**TABLES, "segments": {"thin_file": [TABLES["segments"]["thin_file"][0]]}}
    measures = segment_measures(tables, {"thin_file": 1})
    assert "never measured" in (measures[0].limit or "")
