"""The model card: Annex IV headings, figures rounded, fairness gaps that could not be judged."""

from __future__ import annotations

from models.model_card import render_html, render_markdown

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
    assert "**bureau_score**: Bureau score" in card
    assert "PSI below 0.1 reads stable" in card
    assert ": nan" not in card


def test_the_html_card_escapes_what_it_shows():
    page = render_html("2", dict(TAGS, kind="<script>"))
    assert "<script>" not in page and "&lt;script&gt;" in page
