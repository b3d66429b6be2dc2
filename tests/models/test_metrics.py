"""Evaluation metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from models.evaluation import metrics


def test_auc_and_brier_match_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.2
    p = np.round(np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(0, 0.2, 500), 0, 1), 2)
    assert metrics.auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert metrics.brier(y, p) == pytest.approx(brier_score_loss(y, p))


def test_ks_of_a_perfect_and_a_useless_score():
    y = np.array([0, 0, 1, 1])
    assert metrics.ks_statistic(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert metrics.ks_statistic(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.0


def test_ece_and_cutoffs_by_hand():
    y = np.array([0, 0, 0, 1])
    p = np.array([0.1, 0.1, 0.3, 0.3])
    assert metrics.expected_calibration_error(y, p, bins=2) == pytest.approx(0.5 * 0.1 + 0.5 * 0.2)
    table = metrics.cutoff_table(y, p, [0.2])
    assert table.approval_rate.iloc[0] == 0.5 and table.default_rate_approved.iloc[0] == 0.0


def test_bootstrap_interval_brackets_the_estimate():
    rng = np.random.default_rng(1)
    y = rng.random(800) < 0.3
    p = np.clip(0.3 + 0.2 * (y - 0.3) + rng.normal(0, 0.2, 800), 0, 1)
    interval = metrics.bootstrap_interval(metrics.auc, y, p, resamples=100)
    assert interval.low < interval.estimate < interval.high


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="one length"):
        metrics.auc(np.array([0, 1]), np.array([0.5]))
