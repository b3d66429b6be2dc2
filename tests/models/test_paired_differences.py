"""Differences between two models judged on the same rows or folds, with their intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t

from models.evaluation import metrics as m
from models.evaluation.baselines import CrossValidation


def _folds(ece_first, ece_second, rows=200):
    records = []
    for i, (a, b) in enumerate(zip(ece_first, ece_second, strict=True)):
        for model, ece in (("scorecard", a), ("optbinning_scorecard", b)):
            records.append(
                {"repeat": i // 5, "fold": i % 5, "model": model, "rows": rows,
                 "auc": 0.8, "brier": 0.17, "ece": ece}
            )  # fmt: skip
    return CrossValidation(method="test", folds=pd.DataFrame(records))


def test_the_interval_is_widened_for_folds_that_share_training_rows():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.05, 0.09, 15)
    diff = rng.normal(0.002, 0.01, 15)
    cv = _folds(base + diff, base)
    found = cv.paired_difference("scorecard", "optbinning_scorecard", "ece")
    # Five folds of 200 rows: each trains on 800, so test/train = 0.25 (Nadeau-Bengio).
    se = np.sqrt(diff.var(ddof=1) * (1 / 15 + 0.25))
    half = t.ppf(0.975, 14) * se
    assert found.mean == pytest.approx(diff.mean())
    assert (found.low, found.high) == pytest.approx((diff.mean() - half, diff.mean() + half))
    assert found.folds == 15


def test_a_champion_is_worse_only_when_the_whole_interval_lies_above_zero():
    base = np.linspace(0.05, 0.09, 15)
    worse = _folds(base + 0.02 + np.linspace(-0.001, 0.001, 15), base)
    verdict = worse.paired_difference("scorecard", "optbinning_scorecard", "ece")
    assert not verdict.no_worse and "WORSE" in verdict.describe()

    noisy = _folds(base + np.tile([0.01, -0.008, 0.002], 5), base)
    verdict = noisy.paired_difference("scorecard", "optbinning_scorecard", "ece")
    assert verdict.low < 0 < verdict.high and verdict.no_worse
    assert "no worse (zero lies inside the interval)" in verdict.describe()


def test_the_gap_to_the_ceiling_is_bootstrapped_on_the_same_rows():
    rng = np.random.default_rng(1)
    true_pd = rng.uniform(0.01, 0.3, 5000)
    y = (rng.uniform(size=5000) < true_pd).astype(float)
    model = true_pd + rng.normal(0, 0.05, 5000)
    gap = m.paired_difference_interval(m.auc, y, true_pd, model, resamples=100)
    assert gap.estimate == pytest.approx(m.auc(y, true_pd) - m.auc(y, model))
    assert gap.low < gap.estimate < gap.high
    # Paired, the gap's interval is narrower than either AUC's own.
    own = m.bootstrap_interval(m.auc, y, model, resamples=100)
    assert gap.high - gap.low < own.high - own.low
