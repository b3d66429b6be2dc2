"""One training run end to end: snapshot, candidates, evaluation, report, registry."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from models.training.train import Progress, TrainingResult, train_candidates


@dataclass
class RunOutcome:
    result: TrainingResult
    evaluations: dict
    report: Path
    recommended: str
    run_id: str | None
    versions: dict[str, str]
    fairness: dict = field(default_factory=dict)


def default_run_dir(settings=None) -> Path:
    """A fresh folder under ``<home>/runs`` named by the UTC start time."""
    if settings is None:
        from scoring.config import get_settings

        settings = get_settings()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return settings.home / "runs" / stamp


WORLD_TABLES = ("applications", "invoices", "payments", "bureau_reports")


def snapshot_from_world(world_dir: Path) -> pd.DataFrame:
    """Assemble the training snapshot from a world folder (docs/world-format.md).

    Reads only the four tables features need: training never opens ``protected/`` or
    ``truth/``.
    """
    from types import SimpleNamespace

    from data_contracts.world_folder import read_frame
    from scoring.features import build_training_snapshot

    world_dir = Path(world_dir)
    if not world_dir.is_dir():
        raise FileNotFoundError(f"world folder {world_dir} not found")
    tables = {}
    for name in WORLD_TABLES:
        path = world_dir / f"{name}.parquet"
        if not path.is_file():
            raise FileNotFoundError(f"world folder {world_dir} lacks {path.name}")
        tables[name] = read_frame(world_dir, path.name)
    return build_training_snapshot(SimpleNamespace(**tables))


def read_snapshot(path: Path) -> pd.DataFrame:
    """A snapshot file: Parquet or CSV."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"snapshot file {path} not found")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"snapshot {path}: expected a .parquet or .csv file")


def read_groups(path: Path, key: str) -> pd.DataFrame:
    """Protected groups kept aside from a snapshot: ``key`` plus age_band, sex, language."""
    from models.evaluation.fairness import ATTRIBUTES

    frame = read_snapshot(path)
    missing = [c for c in (key, *ATTRIBUTES) if c not in frame.columns]
    if missing:
        raise ValueError(f"protected attributes file {path} lacks column(s) {', '.join(missing)}")
    return frame.set_index(key)[list(ATTRIBUTES)]


def train_run(
    snapshot: pd.DataFrame,
    contract,
    *,
    run_dir: Path,
    truth: pd.Series | None = None,
    groups: pd.DataFrame | None = None,
    approve_below: float | None = None,
    validate=None,
    settings=None,
    register: bool = True,
    bootstrap_resamples: int = 200,
    fit_sample: float = 1.0,
    progress: Progress | None = None,
) -> RunOutcome:
    """Train both candidates, evaluate on the newest slice, write the report, log to MLflow.

    ``groups`` (protected attributes per application key, never model inputs) adds the
    fairness report; ``approve_below`` defaults to the newest credit policy's cut-off.
    """
    from models.evaluation.fairness import fairness_report, latest_policy_cutoff
    from models.evaluation.report import check_additivity, evaluate_model, write_report
    from models.monitoring.drift import reference_population

    step = progress or (lambda _message: None)
    if approve_below is None:
        approve_below = latest_policy_cutoff()
    result = train_candidates(snapshot, contract, validate=validate, progress=step,
                              fit_sample=fit_sample)
    plan = result.plan
    evaluation_groups = None
    if groups is not None:
        evaluation_groups = groups.reindex(result.split.evaluation[plan.key].to_numpy())
        if evaluation_groups.isna().any(axis=None):
            raise ValueError(
                f"{int(evaluation_groups.isna().any(axis=1).sum())} evaluation applications "
                "lack protected attributes for the fairness report"
            )
    training_rows = pd.concat([result.split.fit, result.split.calibration])
    evaluations, fairness = {}, {}
    for kind, model in result.models.items():
        step(f"evaluating {kind} on {len(result.split.evaluation)} newest applications")
        t0 = time.perf_counter()
        evaluations[kind] = evaluate_model(
            model, result.split.evaluation, target=plan.target, key=plan.key, truth=truth,
            bootstrap_resamples=bootstrap_resamples,
        )
        check_additivity(evaluations[kind])
        if evaluation_groups is not None:
            fairness[kind] = fairness_report(
                y=result.split.evaluation[plan.target].to_numpy(),
                pd_=model.predict_pd(result.split.evaluation),
                groups=evaluation_groups,
                approve_below=approve_below,
            )
            evaluations[kind].metrics.update(fairness[kind].metrics())
        # The population this model learned from travels with it as monitoring's reference.
        model.metadata["reference"] = reference_population(
            training_rows, features=plan.features, pd_=model.predict_pd(training_rows),
            approve_below=approve_below,
        )
        result.timings[f"evaluate_{kind}_s"] = time.perf_counter() - t0
    recommended = max(evaluations, key=lambda k: evaluations[k].metrics["auc"])
    step("writing the report")
    report = write_report(
        run_dir=run_dir,
        title=f"Training run: {plan.contract_id} {plan.contract_version}",
        models=result.models,
        evaluation=result.split.evaluation,
        evaluations=evaluations,
        target=plan.target,
        context={
            "contract": f"{plan.contract_id} {plan.contract_version}",
            "data fingerprint": result.fingerprint,
            "rows": result.params["rows"],
            "features": ", ".join(plan.features),
            "split": result.split.describe(plan.time),
            "validation": result.validation_summary.splitlines()[0]
            if result.validation_summary else "",
            "truth available": truth is not None,
            "fit sample": f"{fit_sample:.0%} of the fit slice",
            "approval cut-off (policy)": f"PD below {approve_below:g}",
        },
        recommended=recommended,
        fairness=fairness,
    )
    run_id, versions = None, {}
    if register:
        from models.registry import log_training

        step("logging the run and registering models in MLflow")
        logged = log_training(result=result, evaluations=evaluations, run_dir=run_dir,
                              settings=settings)
        run_id, versions = logged.run_id, logged.versions
    return RunOutcome(result, evaluations, report, recommended, run_id, versions, fairness)
