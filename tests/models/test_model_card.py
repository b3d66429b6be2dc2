"""The model card: Annex IV headings, figures rounded, fairness gaps that could not be judged."""

from __future__ import annotations

import pytest

from models.model_card import card_plan, render_html, render_markdown
from models.monitoring.plan import MonitoringPlan, MonitoringPlanError

TAGS = {
    "kind": "scorecard",
    "run_id": "abc123",
    "contract_id": "training_snapshot",
    "contract_version": "1.1.0",
    "data_fingerprint": "f" * 16,
    "features": "tenure_months,bureau_score",
    "auc": "0.777012",
    "auc_ci_low": "0.69011",
    "auc_ci_high": "0.8342",
    "ece": "0.0193014",
    "fairness.sex.approval_rate_gap": "0.0173755",
    "fairness.age_band.auc_gap": "nan",
}


def test_the_card_follows_annex_iv_and_reads_like_a_document():
    card = render_markdown("2", TAGS)

    for heading in (
        "Intended purpose",
        "Data and data governance",
        "Features (2)",
        "Performance",
        "Fairness",
        "Known limits",
        "Monitoring plan",
        "Human oversight",
    ):
        assert heading in card
    assert "**AUC (95 % bootstrap interval)**: 0.777 (0.690–0.834)" in card
    assert "**sex: approval_rate gap**: 0.017" in card
    assert "**age_band: auc gap**: not judged" in card
    assert "**Bureau score (bureau_score)**: " in card
    assert "**Customer for (tenure_months)**: Whole months since the first invoice" in card
    assert "**PSI: moderate shift from**: 0.1 (investigate)" in card
    assert "**PSI: major shift from**: 0.25" in card
    assert ": nan" not in card


def test_the_monitoring_plan_is_the_version_s_own_and_reads_back_from_its_tags():
    plan = card_plan("2", TAGS)
    assert plan.source == "model card of installment-pd version 2"
    tags = {**TAGS, **plan.as_tags(), "monitoring.psi_major": "0.3"}
    card = render_markdown("2", tags)
    assert "**PSI: major shift from**: 0.3" in card
    read = MonitoringPlan.from_tags(tags, source="card")
    assert read is not None and read.psi_major == 0.3 and read.min_values_for_verdict == 200


def test_a_plan_that_cannot_be_read_is_refused_by_name():
    with pytest.raises(MonitoringPlanError, match="moderate < major"):
        MonitoringPlan.from_tags({"monitoring.psi_moderate": "0.3"}, source="card")
    with pytest.raises(MonitoringPlanError, match="not a number"):
        MonitoringPlan.from_tags({"monitoring.psi_major": "high"}, source="card")


def test_the_html_card_escapes_what_it_shows():
    page = render_html("2", dict(TAGS, kind="<script>"))
    assert "<script>" not in page and "&lt;script&gt;" in page
