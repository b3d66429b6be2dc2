"""A training run end to end: report, registered versions, loading, promotion gates, CLI."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from models_fake_contract import FakeContract, fake_validate

from models import registry
from models.training.run import train_run


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def logged(snapshot, truth, mlflow_settings, tmp_path_factory):
    """The run, and every warning MLflow logged or Python raised while it was made."""
    run_dir = tmp_path_factory.mktemp("run")
    # MLflow's loggers do not propagate to the root logger; listen on its own.
    mlflow_logger = logging.getLogger("mlflow")
    records = _Records()
    mlflow_logger.addHandler(records)
    try:
        with warnings.catch_warnings(record=True) as raised:
            warnings.simplefilter("always")
            run = train_run(
                snapshot,
                FakeContract(),
                run_dir=run_dir,
                truth=truth,
                validate=fake_validate,
                settings=mlflow_settings,
                bootstrap_resamples=50,
            )
    finally:
        mlflow_logger.removeHandler(records)
    return run, [r.getMessage() for r in records.records], raised


@pytest.fixture(scope="module")
def run(logged):
    return logged[0]


def test_logging_a_run_draws_no_warning_from_mlflow(logged):
    _run, logged_warnings, raised = logged
    assert logged_warnings == []
    # Deprecations are for MLflow's developers; Python does not show them to a user either.
    hidden = (DeprecationWarning, PendingDeprecationWarning)
    shown = [w for w in raised if not issubclass(w.category, hidden)]
    assert [f"{w.category.__name__}: {w.message}" for w in shown] == []


def test_registration_notices_are_held_back_and_anything_else_passes(capsys):
    with registry._without_registration_notices():
        print("Successfully registered model 'installment-pd'.", file=sys.stderr)
        print(
            "Registered model 'installment-pd' already exists. Creating a new version of this "
            "model...",
            file=sys.stderr,
        )
        print("Created version '7' of model 'installment-pd'.", file=sys.stderr)
        print("WARNING mlflow.models: something the user should see", file=sys.stderr)
    assert capsys.readouterr().err == "WARNING mlflow.models: something the user should see\n"


def test_run_writes_a_report_with_plots_and_truth(run):
    text = run.report.read_text()
    assert "truth_ceiling_auc" in text and "## Candidate: scorecard" in text
    for kind in ("lightgbm", "scorecard"):
        for plot in ("roc", "calibration", "shap_summary"):
            assert (run.report.parent / f"{plot}_{kind}.png").stat().st_size > 1000
    metrics = json.loads((run.report.parent / "metrics.json").read_text())
    assert metrics["lightgbm"]["auc_ci_low"] < metrics["lightgbm"]["auc"]
    assert metrics["lightgbm"]["truth_ceiling_auc"] > 0.7


def test_both_candidates_are_registered_with_contract_and_fingerprint(run, mlflow_settings):
    assert set(run.versions) == {"lightgbm", "scorecard"}
    tags = registry.version_tags(run.versions["lightgbm"], settings=mlflow_settings)
    assert tags["contract_id"] == "training_snapshot" and tags["kind"] == "lightgbm"
    assert tags["data_fingerprint"] == run.result.fingerprint


def test_each_version_keeps_its_segment_and_calibration_tables_for_the_case_page(
    run, mlflow_settings
):
    from scoring.domain.model_limits import customer_segments, pd_interval, segment_measures

    for kind, version in run.versions.items():
        tables = json.loads(
            registry.version_tags(version, settings=mlflow_settings)["known_limits"]
        )
        evaluation = run.evaluations[kind]
        assert tables["evaluation_rows"] == len(run.result.split.evaluation)
        assert tables["overall"]["auc"] == pytest.approx(evaluation.metrics["auc"])
        # Fine calibration bins over the held-out rows: every row counted once, every default.
        from models.evaluation.known_limits import CALIBRATION_BINS

        held_out = run.result.split.evaluation
        bins = tables["calibration"]
        assert len(bins) == min(CALIBRATION_BINS, len(held_out))
        assert sum(row["count"] for row in bins) == len(held_out)
        defaults = sum(round(row["observed"] * row["count"]) for row in bins)
        assert defaults == int(held_out[run.result.plan.target].sum())
        assert set(tables["segments"]) >= {"thin_file", "new_customer", "bureau_class_rank"}
        thin = {row["segment"]: row for row in tables["segments"]["thin_file"]}
        expected = evaluation.segments["thin_file"].set_index("segment")
        for value, row in thin.items():
            assert row["count"] == expected.loc[value, "count"]
        # What the case page makes of them for a thin file with the median PD.
        middle = float(np.median([row["mean_pd"] for row in tables["calibration"]]))
        interval = pd_interval(tables["calibration"], middle)
        assert interval is not None and interval.low <= interval.observed <= interval.high
        measures = segment_measures(
            tables, customer_segments({"thin_file": 1.0}, has_bureau_report=False)
        )
        assert [m.segment for m in measures] == ["thin_file"] and measures[0].count == thin[1][
            "count"
        ]


def test_registered_version_loads_as_the_same_plain_model(run, mlflow_settings):
    ev = run.result.split.evaluation
    for kind, version in run.versions.items():
        loaded = registry.load_model(version, settings=mlflow_settings)
        assert loaded.version == version and loaded.kind == kind
        np.testing.assert_array_equal(loaded.predict_pd(ev), run.result.models[kind].predict_pd(ev))


def test_registered_version_is_model_code_not_a_pickle_and_loads_through_mlflow(
    run, mlflow_settings
):
    import mlflow.pyfunc

    registry.mlflow_client(mlflow_settings)
    ev = run.result.split.evaluation
    for kind, version in run.versions.items():
        uri = f"models:/{registry.MODEL_NAME}/{version}"
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
        assert not list(local.rglob("*.pkl")), "a pickled Python object was logged"
        environment = yaml.safe_load((local / "conda.yaml").read_text())
        pins = environment["dependencies"][-1]["pip"]
        assert any(pin.startswith("lightgbm==") for pin in pins)
        assert any(pin.startswith("mlflow==") for pin in pins)
        model = mlflow.pyfunc.load_model(uri)
        features = ev[run.result.plan.features].astype("float64")
        np.testing.assert_allclose(
            model.predict(features), run.result.models[kind].predict_pd(features)
        )


def test_every_registered_version_has_a_card_whose_plan_monitoring_reads(
    run, mlflow_settings, tmp_path
):
    import pandas as pd

    from models.monitoring.report import analyse
    from models.monitoring.run import log_monitoring, plan_of
    from scoring.storage.monitoring_inputs import MonitoringInputs

    for version in run.versions.values():
        tags = registry.version_tags(version, settings=mlflow_settings)
        assert tags["model_card"].endswith(f"version-{version}/model_card.html")
        assert tags["monitoring.psi_major"] == "0.25"
        plan, note = plan_of(version, settings=mlflow_settings)
        assert note is None
        assert (
            plan.source == f"model card of installment-pd version {version} ({tags['model_card']})"
        )

    version = run.versions["lightgbm"]
    model = registry.load_model(version, settings=mlflow_settings)
    evaluation = run.result.split.evaluation.head(300)
    probabilities = model.predict_pd(evaluation)
    decisions = pd.DataFrame(
        {
            "decision_id": evaluation["application_id"].to_numpy(),
            "decided_at": pd.date_range("2026-01-05", periods=300, freq="6h", tz="UTC"),
            "outcome": np.where(probabilities < 0.06, "approve", "refer"),
            "automated": True,
            "pd": probabilities,
            "risk_grade": "C",
            "model_version": version,
            "reasons": [[] for _ in range(300)],
            "defaulted_12m": None,
        }
    )
    result = analyse(
        inputs=MonitoringInputs(decisions, None, None),
        reference=model.metadata["reference"],
        plan=plan,
    )
    run_id = log_monitoring(result, tmp_path, settings=mlflow_settings)

    client = registry.mlflow_client(mlflow_settings)
    history = client.get_metric_history(run_id, "weekly.approval_rate")
    assert [round(m.value, 4) for m in sorted(history, key=lambda m: m.step)] == (
        result.by_week["approval_rate"].tolist()
    )
    assert len(history) == len(result.by_week) > 1
    assert client.get_run(run_id).data.tags["thresholds_from"] == plan.source


def test_unknown_version_is_a_clear_error(mlflow_settings):
    with pytest.raises(registry.RegistryError, match="no version or alias '999'"):
        registry.load_model(999, settings=mlflow_settings)


def test_promotion_passes_declared_gates_and_refuses_naming_the_gate(
    run, mlflow_settings, tmp_path
):
    lenient = tmp_path / "gates.yaml"
    lenient.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "auc_not_below_champion_ci": True,
                "max_ece": 0.2,
                "max_truth_ece": 0.2,
                "max_additivity_gap": 1e-6,
                "contract_id": "training_snapshot",
            }
        )
    )
    best = run.versions[run.recommended]
    registry.promote(best, gates_file=lenient, settings=mlflow_settings)
    assert registry.champion_version(settings=mlflow_settings) == best
    assert registry.load_champion(settings=mlflow_settings).version == best

    strict = tmp_path / "strict.yaml"
    strict.write_text(lenient.read_text().replace("max_ece: 0.2", "max_ece: 0.0001"))
    other = run.versions["scorecard" if run.recommended == "lightgbm" else "lightgbm"]
    with pytest.raises(registry.PromotionRefused, match="gate calibration failed"):
        registry.promote(other, gates_file=strict, settings=mlflow_settings)
    assert registry.champion_version(settings=mlflow_settings) == best


def test_reading_the_embedded_registry_answers_as_mlflow_does(run, mlflow_settings):
    versions = sorted(run.versions.values())
    registry.set_alias(registry.CHALLENGER, versions[0], settings=mlflow_settings)
    refs = [*versions, registry.CHALLENGER, registry.CHAMPION, "no-such-alias", "999"]
    for ref in refs:
        read = registry._read_embedded_registry(ref, mlflow_settings)
        assert read is not False, f"{ref}: the embedded registry was not read"
        assert read == registry._ask_mlflow(ref, mlflow_settings), ref
    assert registry.resolve_version(registry.CHALLENGER, settings=mlflow_settings).tags["kind"]


def test_a_cached_version_loads_without_mlflow_or_optbinning(run, mlflow_settings):
    ev = run.result.split.evaluation
    for version in run.versions.values():
        registry.load_model(version, settings=mlflow_settings)  # fills the cache
    probe = (
        "import sys; from models import registry;"
        "from scoring.config import load_settings;"
        f"s = load_settings({{'INSTALLMENT_HOME': {str(mlflow_settings.home)!r}}});"
        f"models = [registry.load_model(v, settings=s) for v in {list(run.versions.values())!r}];"
        "print(sorted(k for k in ('mlflow', 'optbinning') if k in sys.modules))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert imported == "[]"
    scorecard = registry.load_model(run.versions["scorecard"], settings=mlflow_settings)
    np.testing.assert_array_equal(
        scorecard.predict_pd(ev), run.result.models["scorecard"].predict_pd(ev)
    )


def test_a_version_cached_before_the_scorecard_tables_gains_them_on_load(run, mlflow_settings):
    from models.training.scorecard_tables import TABLES_FILE, WoeTables

    version = run.versions["scorecard"]
    cached = (
        mlflow_settings.home / "model-cache" / registry.MODEL_NAME / version / "artifacts"
        / registry.ARTIFACT_KEY
    )  # fmt: skip
    registry.load_model(version, settings=mlflow_settings)
    (cached / TABLES_FILE).unlink()
    older = registry.load_model(version, settings=mlflow_settings)
    assert not isinstance(older.estimator, WoeTables) and (cached / TABLES_FILE).exists()
    again = registry.load_model(version, settings=mlflow_settings)
    assert isinstance(again.estimator, WoeTables)
    ev = run.result.split.evaluation
    np.testing.assert_array_equal(again.predict_pd(ev), older.predict_pd(ev))


def test_worse_model_is_refused_against_the_champion():
    champion = {
        "auc": "0.80",
        "auc_ci_low": "0.77",
        "ece": "0.01",
        "contract_id": "t",
        "explain_logit_max_gap": "1e-15",
    }
    worse = dict(champion, auc="0.70")
    gates = {
        "auc_not_below_champion_ci": True,
        "max_ece": 0.03,
        "max_additivity_gap": 1e-6,
        "contract_id": "t",
    }
    results = {r.gate: r.passed for r in registry.evaluate_gates(worse, champion, gates)}
    assert results == {
        "contract": True,
        "calibration": True,
        "explanations_add_up": True,
        "auc_vs_champion": False,
    }


def test_cli_refuses_a_snapshot_with_a_forbidden_feature(snapshot, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from scoring.cli import app

    monkeypatch.setenv("INSTALLMENT_HOME", str(tmp_path))
    path = tmp_path / "snapshot.parquet"
    snapshot.assign(sex="F").to_parquet(path)
    contract = "data_contracts/contracts/training_snapshot.odcs.yaml"
    result = CliRunner().invoke(app, ["train", "--snapshot", str(path), "--contract", contract])
    assert result.exit_code == 2
    assert "'sex'" in result.output and "modelUse=forbidden" in result.output


def test_cli_needs_a_contract_with_a_snapshot(tmp_path):
    from typer.testing import CliRunner

    from scoring.cli import app

    result = CliRunner().invoke(app, ["train", "--snapshot", str(tmp_path / "x.parquet")])
    assert result.exit_code == 2 and "--contract" in result.output


def test_installment_model_card_writes_the_card_with_its_segment_tables(
    run, mlflow_settings, monkeypatch, tmp_path
):
    from typer.testing import CliRunner

    from scoring.cli import app
    from scoring.config import get_settings

    monkeypatch.setenv("INSTALLMENT_HOME", str(mlflow_settings.home))
    get_settings.cache_clear()
    try:
        version = run.versions["scorecard"]
        result = CliRunner().invoke(app, ["model-card", version, "--out", str(tmp_path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"version-{version}/model_card.html" in result.output
    card = (tmp_path / "model_card.md").read_text()
    assert "**Bureau risk class (bureau_class_rank)**" in card
    assert "| Segment | Applications | Observed bad rate (95 % CI) |" in card
    assert (tmp_path / "model_card.html").read_text().count("<table class=grid>") >= 3
