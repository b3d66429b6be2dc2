"""One training run end to end: snapshot, candidates, evaluation, report, registry."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
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
    cross_validation: Any = None


def default_run_dir(settings=None) -> Path:
    """A fresh folder under ``<home>/runs`` named by the UTC start time."""
    if settings is None:
        from scoring.config import get_settings

        settings = get_settings()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return settings.home / "runs" / stamp


# On data that is not the product's own, cut-offs approve these shares of applications.
APPROVAL_QUANTILES = (0.5, 0.6, 0.7, 0.8, 0.9)
FAIRNESS_APPROVAL = 0.7

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


def read_snapshot(path: Path, contract=None) -> pd.DataFrame:
    """A snapshot file, Parquet or CSV; with its contract, columns typed as it declares."""
    path = Path(path)
    if contract is not None:
        from data_contracts.typed_reading import read_typed_table

        return read_typed_table(path, contract)
    if not path.is_file():
        raise FileNotFoundError(f"snapshot file {path} not found")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"snapshot {path}: expected a .parquet or .csv file")


def read_groups(path: Path, key: str | None) -> pd.DataFrame:
    """Protected groups kept aside from a snapshot: ``key`` plus any attribute columns.

    Without a key in the contract, the file's rows match the snapshot's rows in order.
    """
    from models.training.train import ROW_KEY

    frame = read_snapshot(path)
    if key is None:
        frame.insert(0, ROW_KEY, range(1, len(frame) + 1))
        key = ROW_KEY
    if key not in frame.columns:
        raise ValueError(f"protected attributes file {path} lacks the key column {key!r}")
    attributes = [c for c in frame.columns if c != key]
    if not attributes:
        raise ValueError(f"protected attributes file {path} holds no attribute beside {key!r}")
    return frame.set_index(key)[attributes].astype(str)


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
    model_name: str | None = None,
    cv_repeats: int = 0,
    cv_folds: int = 5,
    progress: Progress | None = None,
    **training: Any,
) -> RunOutcome:
    """Train both candidates, evaluate on the held-out slice, write the report, log to MLflow.

    ``groups`` (protected attributes per application key, never model inputs) adds the
    fairness report. On the product's own data ``approve_below`` defaults to the newest
    credit policy's cut-off and the cut-off tables use the policy's neighbourhood; on any
    other data both come from quantiles of the candidates' training PDs (approving the
    lowest 50 ... 90 %, the fairness report at 70 %). ``cv_repeats`` above 0 adds repeated
    cross-validation beside plain baselines on the same folds, and then the recommended
    candidate is the one with the best mean AUC over folds. ``training`` goes to
    :func:`train_candidates` (minimum sizes, calibration folds, seed).
    """
    from models.evaluation.fairness import fairness_report, latest_policy
    from models.evaluation.metrics import segment_table
    from models.evaluation.report import (
        PolicyCutoffs,
        check_additivity,
        evaluate_model,
        write_report,
    )
    from models.monitoring.drift import reference_population
    from models.training.train import PRODUCT_CONTRACT

    step = progress or (lambda _message: None)
    result = train_candidates(
        snapshot,
        contract,
        validate=validate,
        progress=step,
        fit_sample=fit_sample,
        model_name=model_name,
        **training,
    )
    plan = result.plan
    own_data = plan.contract_id == PRODUCT_CONTRACT
    cutoffs: dict[str, tuple[float, ...]] = {}
    policy_cutoffs = None
    if own_data:
        policy = latest_policy()
        policy_cutoffs = PolicyCutoffs(
            policy.version, policy.approve_below, policy.decline_at_or_above
        )
    else:
        for kind, model in result.models.items():
            train_pd = model.predict_pd(result.split.train)
            cutoffs[kind] = tuple(float(q) for q in np.quantile(train_pd, APPROVAL_QUANTILES))
    if approve_below is None and policy_cutoffs is not None:
        approve_below = policy_cutoffs.approve_below
    cut_off_note = (
        f"PD below {approve_below:g} (the credit policy's)"
        if approve_below is not None
        else f"approving the {FAIRNESS_APPROVAL:.0%} of applications with the lowest PD in "
        "training (the data is not the product's own, so the policy's cut-off does not apply)"
    )
    evaluation_groups = None
    if groups is None and plan.protected:
        # Protected attributes kept in the snapshot itself (modelUse: protected).
        every_row = pd.concat([result.split.train, result.split.evaluation])
        groups = every_row.set_index(plan.key)[plan.protected].astype(str)
    if groups is not None:
        evaluation_groups = groups.reindex(result.split.evaluation[plan.key].to_numpy())
        if evaluation_groups.isna().any(axis=None):
            raise ValueError(
                f"{int(evaluation_groups.isna().any(axis=1).sum())} evaluation applications "
                "lack protected attributes for the fairness report"
            )
    training_rows = result.split.train
    evaluations, fairness = {}, {}
    for kind, model in result.models.items():
        step(f"evaluating {kind} on {len(result.split.evaluation)} held-out applications")
        t0 = time.perf_counter()
        evaluations[kind] = evaluate_model(
            model,
            result.split.evaluation,
            target=plan.target,
            key=plan.key,
            truth=truth,
            policy=policy_cutoffs,
            cutoffs=cutoffs.get(kind, ()),
            bootstrap_resamples=bootstrap_resamples,
        )
        check_additivity(evaluations[kind])
        model_cutoff = approve_below
        if model_cutoff is None:
            model_cutoff = float(np.quantile(model.predict_pd(training_rows), FAIRNESS_APPROVAL))
        if evaluation_groups is not None:
            held_out_y = result.split.evaluation[plan.target].to_numpy(np.float64)
            held_out_pd = model.predict_pd(result.split.evaluation)
            fairness[kind] = fairness_report(
                y=held_out_y,
                pd_=held_out_pd,
                groups=evaluation_groups,
                approve_below=model_cutoff,
            )
            evaluations[kind].metrics.update(fairness[kind].metrics())
            # The attributes kept aside are segments too (the model card's table per segment).
            for attribute in evaluation_groups.columns:
                evaluations[kind].segments[attribute] = segment_table(
                    held_out_y,
                    held_out_pd,
                    evaluation_groups[attribute],
                    resamples=bootstrap_resamples,
                )
        # The population this model learned from travels with it as monitoring's reference.
        model.metadata["reference"] = reference_population(
            pd.DataFrame(model.matrix(training_rows), columns=plan.features),
            features=plan.features,
            pd_=model.predict_pd(training_rows),
            approve_below=model_cutoff,
        )
        result.timings[f"evaluate_{kind}_s"] = time.perf_counter() - t0
    recommended = max(evaluations, key=lambda k: evaluations[k].metrics["auc"])
    cross_validation = None
    if cv_repeats > 0:
        from models.evaluation.baselines import CANDIDATES, cross_validate

        t0 = time.perf_counter()
        everything = pd.concat([result.split.train, result.split.evaluation]).sort_index()
        cross_validation = cross_validate(
            everything,
            plan,
            repeats=cv_repeats,
            folds=cv_folds,
            calibration_folds=training.get("calibration_folds", 5),
            seed=training.get("seed", 0),
            progress=step,
        )
        recommended, _ = cross_validation.best(CANDIDATES)
        summary = cross_validation.summary()
        for kind in evaluations:
            for column in summary.columns[2:]:
                evaluations[kind].metrics[f"cv_{column}"] = float(summary.loc[kind, column])
        result.timings["cross_validation_s"] = time.perf_counter() - t0
        if groups is not None:
            # Fairness on the pooled out-of-fold PDs of every row: a holdout of a small
            # snapshot leaves most groups too small to judge.
            pooled_groups = groups.reindex(cross_validation.oof_keys)
            if not pooled_groups.isna().any(axis=None):
                for kind in result.models:
                    fairness[kind] = fairness_report(
                        y=cross_validation.oof_outcomes,
                        pd_=cross_validation.oof[kind],
                        groups=pooled_groups,
                        approve_below=fairness[kind].approve_below,
                        basis=f"pooled out-of-fold PDs of {len(pooled_groups)} applications",
                    )
                    evaluations[kind].metrics.update(fairness[kind].metrics())
    for kind, report_of_kind in fairness.items():
        evaluations[kind].fairness = report_of_kind
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
            "features": f"{len(plan.features)}, listed with their meaning below",
            "split": _split_in_words(result.split.describe()),
            "key": "row position (the contract names no key)"
            if plan.key_is_row_position
            else plan.key,
            "calibration": result.models["lightgbm"].metadata.get("calibration", ""),
            "categorical features": ", ".join(plan.categorical) or "none",
            "validation": result.validation_summary.splitlines()[0]
            if result.validation_summary
            else "",
            "truth available": truth is not None,
            "fit sample": f"{fit_sample:.0%} of the training rows",
            "approval cut-off": cut_off_note,
            "cut-off tables": f"the approve, refer and decline bands of credit policy "
            f"{policy_cutoffs.version} ({policy_cutoffs.approve_below:g} / "
            f"{policy_cutoffs.decline_at_or_above:g})"
            if policy_cutoffs is not None
            else "PD quantiles of the training rows (approving the lowest "
            + ", ".join(f"{q:.0%}" for q in APPROVAL_QUANTILES)
            + ")",
        },
        recommended=recommended,
        fairness=fairness,
        cross_validation=cross_validation,
    )
    run_id, versions = None, {}
    if register:
        from models.registry import log_training

        step("logging the run and registering models in MLflow")
        logged = log_training(
            result=result, evaluations=evaluations, run_dir=run_dir, settings=settings
        )
        run_id, versions = logged.run_id, logged.versions
    return RunOutcome(
        result, evaluations, report, recommended, run_id, versions, fairness, cross_validation
    )


def _split_in_words(split: dict[str, Any]) -> str:
    """The split as a sentence: method, then rows and period of each part."""
    parts = []
    for name in ("train", "evaluation"):
        part = split[name]
        period = f" ({part['from_'][:10]} to {part['to'][:10]})" if "from_" in part else ""
        parts.append(f"{name} {part['rows']} rows{period}")
    return f"{split['method']}; " + ", ".join(parts)
