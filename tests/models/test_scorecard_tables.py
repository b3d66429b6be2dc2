"""The scorecard's plain tables score and explain exactly as optbinning does, and load alone."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from models_fake_contract import FakeContract

from models.training.scorecard_tables import TABLES_FILE, TablesFormatError, WoeTables
from models.training.scoring_model import SCORECARD_FILE, ScoringModel, WoeScorecard
from models.training.train import fit_scorecard, holdout_split, plan_from_contract, prepare_snapshot


@pytest.fixture(scope="module")
def fitted(snapshot):
    plan = plan_from_contract(FakeContract(), list(snapshot.columns))
    split = holdout_split(prepare_snapshot(snapshot, plan), plan, evaluation_fraction=0.25, seed=0)
    return fit_scorecard(split.train, plan, folds=3), split


class _OptbinningOnFrames(WoeScorecard):
    """A scorecard whose every WoE comes from optbinning's transform of a DataFrame.

    A DataFrame, as the scorecard was fitted on: optbinning then returns its WoE matrix
    column-major, the layout the tables keep, so the regression adds in the same order.
    """

    def woe(self, X) -> np.ndarray:
        frame = pd.DataFrame(X, columns=list(self.binning_process.variable_names))
        return np.asarray(self.binning_process.transform(frame, metric="woe"), dtype=np.float64)


def _through_optbinning(model: ScoringModel) -> ScoringModel:
    card = model.estimator
    return ScoringModel(
        name=model.name,
        kind=model.kind,
        feature_names=model.feature_names,
        calibration=model.calibration,
        estimator=_OptbinningOnFrames(
            card.binning_process, card.logistic_regression, card.woe_means
        ),
        categories=model.categories,
    )


def _hard_rows(model: ScoringModel, base: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Rows on every split, just below it, missing, infinite and far out of range."""
    tables = WoeTables.of(model.estimator)
    assert tables is not None
    columns = {}
    width = max(3 * len(cut) + 4 for cut, _, _ in tables.tables)
    for name, (cut, _, _) in zip(tables.variable_names, tables.tables, strict=True):
        values = np.concatenate(
            [cut, np.nextafter(cut, -np.inf), np.nextafter(cut, np.inf), [np.nan, np.inf, -np.inf]]
        )
        values = np.concatenate([values, [-1e12, 1e12]])
        columns[name] = rng.permutation(np.resize(values, width))
    edges = pd.DataFrame(columns)
    noise = base.sample(n=2000, replace=True, random_state=1).reset_index(drop=True)
    spread = noise.std(numeric_only=True).fillna(1.0)
    for name in model.feature_names:
        noise[name] = noise[name] + rng.normal(0, 1, len(noise)) * spread[name] * 3
    noise = noise.mask(rng.random(noise.shape) < 0.05)
    return pd.concat([base, edges, noise], ignore_index=True)[model.feature_names]


def test_tables_give_the_same_bits_as_optbinning_for_scores_and_explanations(fitted):
    model, split = fitted
    rng = np.random.default_rng(25)
    rows = _hard_rows(model, split.evaluation[model.feature_names].astype("float64"), rng)
    assert len(rows) > 2500
    reference = _through_optbinning(model)
    tables = WoeTables.of(model.estimator)
    plain = ScoringModel(
        name=model.name,
        kind=model.kind,
        feature_names=model.feature_names,
        calibration=model.calibration,
        estimator=WoeTables.from_json(json.loads(json.dumps(tables.to_json()))),
    )
    np.testing.assert_array_equal(plain.predict_pd(rows), reference.predict_pd(rows))
    # ... and the reference is optbinning's WoE through scikit-learn's own regression.
    card = model.estimator
    woe = card.binning_process.transform(rows, metric="woe")
    np.testing.assert_array_equal(
        plain.raw_log_odds(rows), card.logistic_regression.decision_function(woe.to_numpy())
    )
    base, contributions = plain.explain(rows)
    ref_base, ref_contributions = reference.explain(rows)
    assert base == ref_base
    np.testing.assert_array_equal(contributions.to_numpy(), ref_contributions.to_numpy())
    assert list(contributions.columns) == list(ref_contributions.columns)
    one = rows.iloc[[7]].to_numpy()
    np.testing.assert_array_equal(plain.contributions(one)[1], reference.contributions(one)[1])


def test_a_saved_scorecard_loads_from_its_tables_without_optbinning(fitted, tmp_path):
    model, split = fitted
    folder = model.save(tmp_path / "scorecard")
    assert (folder / TABLES_FILE).exists() and (folder / SCORECARD_FILE).exists()
    loaded = ScoringModel.load(folder)
    assert isinstance(loaded.estimator, WoeTables)
    ev = split.evaluation
    np.testing.assert_array_equal(loaded.predict_pd(ev), model.predict_pd(ev))
    probe = (
        "import sys; from pathlib import Path;"
        "from models.training.scoring_model import ScoringModel;"
        f"m = ScoringModel.load(Path({str(folder)!r}));"
        "print(sorted(k for k in ('optbinning', 'sklearn', 'scipy.stats') if k in sys.modules))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert imported == "[]"


def test_a_scorecard_saved_without_tables_still_loads_through_optbinning(fitted, tmp_path):
    model, split = fitted
    folder = model.save(tmp_path / "older")
    (folder / TABLES_FILE).unlink()
    loaded = ScoringModel.load(folder)
    assert not isinstance(loaded.estimator, WoeTables)
    ev = split.evaluation
    np.testing.assert_array_equal(loaded.predict_pd(ev), model.predict_pd(ev))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="installment-woe-scorecard/9"), "format"),
        (lambda d: d["features"][0].update(splits=[2.0, 1.0], woe=[0.1, 0.2, 0.3]), "increasing"),
        (lambda d: d["features"][0].update(woe=[0.1]), "one value more than splits"),
        (lambda d: d["coefficients"].pop(), "do not match"),
        (lambda d: d.pop("intercept"), "intercept"),
    ],
)
def test_a_damaged_tables_file_is_refused_naming_what_is_wrong(fitted, tmp_path, change, message):
    document = WoeTables.of(fitted[0].estimator).to_json()
    change(document)
    path = tmp_path / TABLES_FILE
    path.write_text(json.dumps(document))
    with pytest.raises(TablesFormatError, match=message):
        WoeTables.load(path)
