"""The model card: Annex IV headings, figures rounded, fairness gaps that could not be judged."""

from __future__ import annotations

import re

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


def _population(seed: int = 3):
    """Applications with a PD, an outcome drawn from it, a bureau class and a sex."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = 4000
    bureau = rng.choice([1.0, 2.0, 3.0, np.nan], size=n, p=[0.5, 0.3, 0.17, 0.03])
    pd_ = np.clip(rng.beta(2, 30, size=n) * np.nan_to_num(bureau, nan=2.0), 0.001, 0.9)
    y = (rng.random(n) < pd_).astype(float)
    sex = rng.choice(["F", "M", "X"], size=n, p=[0.5, 0.48, 0.02])
    return y, pd_, bureau, pd.DataFrame({"sex": sex})


def test_segment_table_gives_intervals_and_does_not_judge_a_small_segment():
    import numpy as np

    from models.evaluation.metrics import MIN_SEGMENT_SIZE, segment_table, wilson_interval

    y, p, bureau, _ = _population()
    table = segment_table(y, p, bureau, resamples=60)

    assert table["count"].sum() == len(y)
    assert np.isnan(table["segment"].iloc[-1])  # no bureau report is a segment of its own
    big = table[table["count"] >= MIN_SEGMENT_SIZE]
    assert big["judged"].all()
    assert (big["auc_ci_low"] < big["auc"]).all() and (big["auc"] < big["auc_ci_high"]).all()
    row = table[table["segment"] == 1.0].iloc[0]
    low, high = wilson_interval(row["defaults"], row["count"])
    assert row["default_rate_low"] == low and row["default_rate_high"] == high
    assert row["calibration_gap"] == row["mean_pd"] - row["default_rate"]
    small = table[table["count"] < MIN_SEGMENT_SIZE]
    assert len(small) == 1 and not small["judged"].iloc[0]
    assert np.isnan(small["auc_ci_low"].iloc[0])


def _evaluation_with_fairness():
    from models.evaluation.fairness import fairness_report
    from models.evaluation.metrics import segment_table
    from models.evaluation.report import Evaluation

    y, p, bureau, groups = _population()
    evaluation = Evaluation(
        kind="lightgbm",
        metrics={"evaluation_rows": float(len(y))},
        calibration=None,
        cutoffs=None,
        segments={
            "bureau_class_rank": segment_table(y, p, bureau, resamples=60),
            "sex": segment_table(y, p, groups["sex"], resamples=60),
        },
    )
    evaluation.fairness = fairness_report(y=y, pd_=p, groups=groups, approve_below=0.1)
    return evaluation


def test_the_card_shows_each_segment_with_intervals_and_says_when_too_few_to_judge():
    import json

    from models.model_card import card_data

    evaluation = _evaluation_with_fairness()
    data = json.loads(card_data(evaluation))
    card = render_markdown("2", TAGS, data)

    assert "**Bureau risk class (bureau_class_rank)**" in card
    assert "| Segment | Applications | Observed bad rate (95 % CI) | Mean PD |" in card
    first = evaluation.segments["bureau_class_rank"].iloc[0]
    assert (
        f"| good | {first['count']:,} | {first['default_rate']:.1%} "
        f"({first['default_rate_low']:.1%}–{first['default_rate_high']:.1%}) | "
        f"{first['mean_pd']:.1%} |"
    ) in card
    assert f"{first['auc']:.3f} ({first['auc_ci_low']:.3f}–{first['auc_ci_high']:.3f})" in card
    assert "| no bureau report |" in card
    assert card.count("**Sex**") == 2  # a segment in section 4, a group in section 5
    assert "too few to judge (n < 300)" in card
    assert not re.search(r"\bnan\b", card, re.IGNORECASE) and "None" not in card


def test_the_card_carries_the_fairness_groups_with_their_wilson_intervals():
    import json

    from models.model_card import card_data

    evaluation = _evaluation_with_fairness()
    card = render_markdown("2", TAGS, json.loads(card_data(evaluation)))
    page = render_html("2", TAGS, json.loads(card_data(evaluation)))

    table = evaluation.fairness.by_group["sex"].set_index("sex")
    women = table.loc["F"]
    assert (
        f"| F | {int(women['count']):,} | {women['approval_rate']:.1%} "
        f"({women['approval_rate_low']:.1%}–{women['approval_rate_high']:.1%}) | "
        f"{women['default_rate_approved']:.1%} ({women['default_rate_approved_low']:.1%}–"
        f"{women['default_rate_approved_high']:.1%}) |"
    ) in card
    assert "| X |" in card and "too few to judge (n < 300) |" in card
    assert "<h3>Sex</h3>" in page and "class=muted" in page
    assert "Approval rate (95 % CI)" in page


def test_a_card_of_a_version_without_segment_figures_says_so():
    card = render_markdown("2", TAGS, None)
    assert "Per-segment figures were not recorded for this version" in card


def test_age_bands_read_youngest_first_and_no_rate_shows_below_zero():
    import json

    import pandas as pd

    from models.evaluation.fairness import fairness_report
    from models.model_card import card_data

    evaluation = _evaluation_with_fairness()
    y, p, _, _ = _population()
    bands = ["65+", "under 25", "25-34", "35-49", "50-64"]
    groups = pd.DataFrame({"age_band": [bands[i % 5] for i in range(len(y))]})
    evaluation.fairness = fairness_report(y=y, pd_=p * 0, groups=groups, approve_below=0.1)
    card = render_markdown("2", TAGS, json.loads(card_data(evaluation)))

    fairness = card[card.index("**Age band**") :]
    positions = [fairness.index(f"| {band} |") for band in ("under 25", "25-34", "50-64", "65+")]
    assert positions == sorted(positions)
    assert "-0.0%" not in card


def test_the_reviewer_ui_serves_the_card_with_the_tables_training_kept():
    """The card page of the reviewer UI shows the segment and fairness tables, not only the
    version's tags: it reads what training kept beside the version, as the CLI's card does."""
    import json

    from models.model_card import card_data
    from scoring.service.model_evaluation import model_card_html

    kept = json.loads(card_data(_evaluation_with_fairness()))

    class Registry:
        def version_tags(self, version_or_alias):
            return dict(TAGS)

        def card_data(self, version_or_alias):
            return kept

    page = model_card_html(Registry(), "2")
    assert "<h3>Sex</h3>" in page and "Approval rate (95 % CI)" in page
    assert "not recorded" not in page
