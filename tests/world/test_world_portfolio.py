"""The portfolio resembles a real one, and the truth file is an honest ceiling.

The declared ranges are the ones docs/synthetic-world.md states.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.world import World
from models.world.calendar import months_before
from models.world.statistics import world_statistics


@pytest.fixture(scope="module")
def statistics(world: World):
    return world_statistics(world)


def test_default_rate_is_a_few_percent(statistics) -> None:
    assert 0.03 <= statistics.default_rate <= 0.06


def test_most_applicants_are_very_good_or_good_with_a_tail(statistics) -> None:
    mix = statistics.risk_class_mix
    assert 0.40 <= mix["very_good"] <= 0.65
    assert 0.20 <= mix["good"] <= 0.40
    assert 0.07 <= mix["satisfactory"] <= 0.18
    assert 0.02 <= mix["poor"] <= 0.10


def test_bureau_classes_rank_realised_defaults(statistics) -> None:
    rates = statistics.default_rate_by_class
    assert rates["very_good"] < rates["good"] < rates["satisfactory"] < rates["poor"]


def test_thin_files_are_ten_to_fifteen_percent(statistics) -> None:
    assert 0.10 <= statistics.thin_file_share <= 0.15


def test_the_ceiling_auc_is_a_realistic_credit_problem(statistics) -> None:
    assert 0.75 <= statistics.ceiling_auc <= 0.85


def test_the_bureau_sees_creditworthiness_only_partly(statistics) -> None:
    assert 0.55 <= statistics.bureau_latent_correlation <= 0.75


def test_true_pd_is_calibrated_against_outcomes(world: World) -> None:
    joined = world.applications.merge(world.applications_truth, on="application_id")
    deciles = pd.qcut(joined["true_pd"], 10, labels=False)
    for _, group in joined.groupby(deciles):
        expected = group["true_pd"].sum()
        variance = (group["true_pd"] * (1 - group["true_pd"])).sum()
        observed = group["defaulted_12m"].sum()
        assert abs(observed - expected) < 4 * np.sqrt(variance)


def test_applications_fall_in_the_outcome_window(world: World) -> None:
    applied = world.applications["applied_at"]
    assert applied.min() >= pd.Timestamp(months_before(world.as_of, 24), tz="UTC")
    assert applied.max() < pd.Timestamp(months_before(world.as_of, 12), tz="UTC")
    per_person = world.applications.groupby("personal_code").size()
    assert per_person.index.isin(world.customers["personal_code"]).all()
    assert 1.0 <= per_person.mean() <= 1.1


def test_amounts_and_terms_are_plausible_per_product(world: World) -> None:
    applications = world.applications
    assert applications["term_months"].between(3, 60).all()
    medians = applications.groupby("product_category")["amount_eur"].median()
    assert medians["heat_pump"] > 3 * medians["phone"]
    assert medians["solar_panels"] > 3 * medians["electronics"]
    assert set(applications["channel"]) == {"web", "store", "phone"}


def test_bureau_reports_carry_the_class_band_of_their_pd(world: World) -> None:
    reports = world.bureau_reports
    assert reports["score"].between(0, 1000).all()
    bands = {
        "very_good": (0.0, 0.019),
        "good": (0.02, 0.059),
        "satisfactory": (0.06, 0.149),
        "poor": (0.15, 1.0),
    }
    for risk_class, (low, high) in bands.items():
        rows = reports[reports["risk_class"] == risk_class]
        assert (rows["pd_band_low"] == low).all() and (rows["pd_band_high"] == high).all()
    by_class = reports.groupby("risk_class")["score"].median()
    assert by_class["very_good"] > by_class["good"] > by_class["satisfactory"] > by_class["poor"]
