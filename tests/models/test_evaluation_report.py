"""The per-run evaluation report reads as the risk team needs it: the policy's own cut-offs,
additivity checks apart from fairness gaps, bureau classes and features by their names."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from models_fake_contract import FakeContract, fake_validate

from models.evaluation.fairness import latest_policy
from models.evaluation.report import PolicyCutoffs, labelled_segments, policy_band_table
from models.training.run import train_run
from scoring.domain.bureau import RISK_CLASSES


def _section(text: str, heading: str) -> str:
    """The text under a ``## heading`` up to the next heading of the same level."""
    start = text.index(f"## {heading}")
    following = text.find("\n## ", start + 1)
    return text[start : following if following != -1 else len(text)]


@pytest.fixture(scope="module")
def run(snapshot, truth, tmp_path_factory):
    rng = np.random.default_rng(3)
    keys = snapshot["application_id"].to_numpy()
    groups = pd.DataFrame(
        {
            "age_band": rng.choice(["25-34", "35-49", "50-64"], len(keys)),
            "sex": rng.choice(["F", "M"], len(keys)),
            "language": rng.choice(["et", "ru"], len(keys)),
        },
        index=pd.Index(keys, name="application_id"),
    )
    return train_run(
        snapshot,
        FakeContract(),
        run_dir=tmp_path_factory.mktemp("report-run"),
        truth=truth,
        groups=groups,
        validate=fake_validate,
        register=False,
        bootstrap_resamples=20,
    )


def test_the_cut_off_table_uses_the_policy_s_cut_offs_read_from_the_policy(run):
    policy = latest_policy()
    text = run.report.read_text()
    model = run.result.models["lightgbm"]
    p = model.predict_pd(run.result.split.evaluation)
    candidate = _section(text, "Candidate: lightgbm")

    assert (
        f"approve below PD {policy.approve_below:g}, decline at or above "
        f"{policy.decline_at_or_above:g}" in candidate
    )
    approved = int((p < policy.approve_below).sum())
    declined = int((p >= policy.decline_at_or_above).sum())
    assert f"| approve | PD < {policy.approve_below:g} | {approved} |" in candidate
    assert f"| decline | PD ≥ {policy.decline_at_or_above:g} | {declined} |" in candidate
    # None of the old fixed grid that the policy never used.
    assert "| 0.0500 |" not in candidate and "| 0.2000 |" not in candidate


def test_additivity_checks_and_fairness_gaps_are_separate_sections(run):
    text = run.report.read_text()
    explanations = _section(text, "Explanations")
    assert "1e-06" in explanations and "_max_gap" in explanations
    assert "fairness." not in explanations and "auc_gap_to_ceiling" not in explanations
    fairness = _section(text, "Fairness")
    assert "Gaps:" in fairness and "sex" in fairness and "1e-06" not in fairness


def test_bureau_classes_and_features_are_shown_by_their_names(run):
    text = run.report.read_text()
    bureau = text[text.index("By segment: Bureau risk class") :]
    bureau = bureau[: bureau.index("\n### ")]
    rows = re.findall(r"^\| ([^|]+) \| \d+ \|", bureau, flags=re.M)
    names = {d.label_en for d in RISK_CLASSES.values()} | {"no bureau report"}
    assert rows and set(rows) <= names, rows
    features = _section(text, "Features")
    assert "| Customer for | `tenure_months` | months |" in features
    assert "| Bureau risk class | `bureau_class_rank` |" in features


def test_policy_bands_split_every_application_once():
    y = np.array([0, 0, 1, 0, 1, 1], dtype=float)
    p = np.array([0.01, 0.059, 0.06, 0.149, 0.15, 0.9])
    table = policy_band_table(y, p, PolicyCutoffs("t", 0.06, 0.15)).set_index("outcome")
    assert table["applications"].to_dict() == {"approve": 2, "refer": 2, "decline": 2}
    assert table.loc["refer", "default_rate"] == 0.5
    assert table["share"].sum() == pytest.approx(1.0)


def test_segment_values_read_as_the_catalogue_shows_them():
    ranks = {d.rank: d.label_en for d in RISK_CLASSES.values()}
    table = pd.DataFrame({"segment": [*ranks, np.nan], "count": range(len(ranks) + 1)})
    shown = labelled_segments("bureau_class_rank", table)["segment"].tolist()
    assert shown == [*ranks.values(), "no bureau report"]
    thin = labelled_segments("thin_file", pd.DataFrame({"segment": [0.0, 1.0]}))
    assert thin["segment"].tolist() == ["no", "yes"]


def test_the_split_reads_as_a_sentence(run):
    text = run.report.read_text()
    rows = len(run.result.split.evaluation)
    assert re.search(rf"- \*\*split\*\*: .*; train \d+ rows .*, evaluation {rows} rows", text)
    assert "'from_'" not in text
