"""One monitoring run: read recent decisions, compare with the model's reference, report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

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


def run_monitoring(
    *,
    engine,
    since: datetime | None,
    run_dir: Path,
    model_version: str | None = None,
    settings=None,
) -> tuple[MonitoringResult, Path]:
    """Monitor decisions since ``since`` against the model that made most of them."""
    from models.registry import load_model

    inputs = read_monitoring_inputs(engine, since=since)
    versions = inputs.decisions["model_version"].dropna()
    if model_version is None:
        model_version = str(versions.mode().iloc[0]) if len(versions) else "champion"
        if model_version != "champion" and versions.nunique() > 1:
            chosen = inputs.decisions["model_version"]
            inputs.decisions = inputs.decisions[chosen.isna() | (chosen == model_version)]
    model = load_model(model_version, settings=settings)
    result = analyse(inputs=inputs, reference=reference_of(model))
    result.summary["model_version"] = model.version
    if versions.nunique() > 1:
        result.notes.append(
            f"Decisions came from model versions {sorted(versions.unique())}; "
            f"compared against version {model.version}."
        )
    title = f"Monitoring: installment-pd version {model.version}" + (
        f", decisions since {since:%Y-%m-%d}" if since else ""
    )
    return result, write_monitoring_report(result, run_dir=run_dir, title=title)
