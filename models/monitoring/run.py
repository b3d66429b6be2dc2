"""One monitoring run: read recent decisions, compare with the model's reference, report.

The thresholds come from the model card of the version being served (the product's
approved champion, when the caller names it), else of the version compared against.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from models.monitoring.plan import MonitoringPlan
from models.monitoring.report import MonitoringResult, analyse, write_monitoring_report
from scoring.domain.errors import NotFoundError
from scoring.storage.monitoring_inputs import read_monitoring_inputs


class NoReference(NotFoundError, LookupError):
    """The model version carries no training-population reference (trained before it existed)."""


def reference_of(model) -> dict:
    """The training population stored with a model version."""
    reference = model.metadata.get("reference")
    if not reference:
        raise NoReference(
            f"model version {model.version} carries no training-population reference; "
            "retrain it with `installment train` to monitor against it"
        )
    return reference


def plan_of(version: str, *, settings=None) -> tuple[MonitoringPlan, str | None]:
    """The monitoring plan in a version's model card, and a note when the card holds none."""
    from models.registry import version_tags

    tags = version_tags(version, settings=settings)
    card = tags.get("model_card")
    source = f"model card of installment-pd version {version}" + (f" ({card})" if card else "")
    plan = MonitoringPlan.from_tags(tags, source=source)
    if plan is not None:
        return plan, None
    fallback = MonitoringPlan(
        source=f"defaults of this release (version {version}'s card states no plan)"
    )
    return fallback, (
        f"The model card of version {version} states no monitoring plan: the release's default "
        f"thresholds are used. Write the card again with `installment model-card {version}`."
    )


def run_monitoring(
    *,
    engine,
    since: datetime | None,
    run_dir: Path,
    model_version: str | None = None,
    serving_version: str | None = None,
    settings=None,
) -> tuple[MonitoringResult, Path]:
    """Monitor decisions since ``since`` against the model that made most of them.

    ``serving_version`` (the approved champion) names whose model card gives the thresholds.
    """
    from models.registry import load_model

    inputs = read_monitoring_inputs(engine, since=since)
    versions = inputs.decisions["model_version"].dropna()
    if model_version is None:
        model_version = str(versions.mode().iloc[0]) if len(versions) else "champion"
        if model_version != "champion" and versions.nunique() > 1:
            chosen = inputs.decisions["model_version"]
            inputs.decisions = inputs.decisions[chosen.isna() | (chosen == model_version)]
    model = load_model(model_version, settings=settings)
    plan, plan_note = plan_of(serving_version or str(model.version), settings=settings)
    result = analyse(inputs=inputs, reference=reference_of(model), plan=plan)
    result.summary["model_version"] = model.version
    if serving_version is not None:
        result.summary["serving_version"] = serving_version
    if plan_note:
        result.notes.append(plan_note)
    if versions.nunique() > 1:
        result.notes.append(
            f"Decisions came from model versions {sorted(versions.unique())}; "
            f"compared against version {model.version}."
        )
    title = f"Monitoring: installment-pd version {model.version}" + (
        f", decisions since {since:%Y-%m-%d}" if since else ""
    )
    return result, write_monitoring_report(result, run_dir=run_dir, title=title)


def log_monitoring(result: MonitoringResult, run_dir: Path, *, settings=None) -> str:
    """Log the run to MLflow (experiment ``installment-monitoring``); returns the run id.

    Each week's approval and overturn rate is a metric step stamped with the week's Monday,
    so MLflow's charts show them over time; the summary figures and the report go with them.
    """
    import math
    import os

    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    import mlflow
    import pandas as pd

    from models.registry import _settings, mlflow_client
    from models.registry import experiment_id as registry_experiment

    settings = _settings(settings)
    client = mlflow_client(settings)
    experiment_id = registry_experiment(client, settings, MONITORING_EXPERIMENT)
    run = client.create_run(
        experiment_id,
        tags={
            "model_version": str(result.summary.get("model_version")),
            "thresholds_from": result.plan.source,
        },
    )
    run_id = run.info.run_id
    metrics = []
    now = int(pd.Timestamp.now(tz="UTC").timestamp() * 1000)
    for key, value in result.summary.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            continue
        metrics.append(mlflow.entities.Metric(key, float(value), now, 0))
    for step, row in enumerate(result.by_week.itertuples(index=False)):
        stamp = int(pd.Timestamp(row.week).tz_localize("UTC").timestamp() * 1000)
        metrics.append(
            mlflow.entities.Metric("weekly.approval_rate", row.approval_rate, stamp, step)
        )
        metrics.append(mlflow.entities.Metric("weekly.decisions", row.decisions, stamp, step))
        if row.reviewed_automated:
            metrics.append(
                mlflow.entities.Metric("weekly.overturn_rate", row.overturn_rate, stamp, step)
            )
    for chunk in range(0, len(metrics), 900):
        client.log_batch(run_id, metrics=metrics[chunk : chunk + 900])
    client.log_artifacts(run_id, str(run_dir), artifact_path="monitoring")
    client.set_terminated(run_id)
    return run_id


MONITORING_EXPERIMENT = "installment-monitoring"
