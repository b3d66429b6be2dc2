"""``installment train`` and ``monitor``: the risk team's PD models (``promote``: change.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _user_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ValueError, OSError, LookupError, RuntimeError]
    try:
        from models.world.errors import WorldError

        errors.append(WorldError)
    except ImportError:
        pass
    return tuple(errors)


def _fail(message: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


def train(
    data: Annotated[
        Path | None, typer.Option("--data", help="A world folder (docs/world-format.md).")
    ] = None,
    snapshot: Annotated[
        Path | None,
        typer.Option("--snapshot", help="A training snapshot (.parquet or .csv) instead."),
    ] = None,
    contract: Annotated[
        Path | None,
        typer.Option("--contract", help="The snapshot's ODCS contract (with --snapshot)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Run folder for the report (default: under <home>/runs)."),
    ] = None,
    register: Annotated[
        bool, typer.Option("--register/--no-register", help="Log and register in MLflow.")
    ] = True,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=20, help="Bootstrap resamples.")
    ] = 200,
    protected: Annotated[
        Path | None,
        typer.Option(
            "--protected",
            help="With --snapshot: the contract's key plus protected "
            "attribute columns kept aside for the fairness report (never model "
            "inputs); without a key, rows in the snapshot's order.",
        ),
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option(
            "--model-name",
            help="Registered model name (default: the contract's "
            "modelName, or <contract id>-pd; installment-pd only for the product's "
            "own training_snapshot contract).",
        ),
    ] = None,
    cv_repeats: Annotated[
        int | None,
        typer.Option(
            "--cv-repeats",
            min=0,
            help="Repeats of cross-validation beside plain "
            "baselines (default 3 with --snapshot, 0 with --data; 0 turns it off).",
        ),
    ] = None,
    cv_folds: Annotated[int, typer.Option("--cv-folds", min=2, help="Folds per repeat.")] = 5,
    fit_sample: Annotated[
        float,
        typer.Option(
            "--fit-sample",
            min=0.01,
            max=1.0,
            help="Fit on this share of the fit slice (learning curves).",
        ),
    ] = 1.0,
) -> None:
    """Validate a snapshot against its contract, fit the candidates, evaluate and register."""
    if (data is None) == (snapshot is None):
        _fail("give exactly one of --data DIR or --snapshot FILE (with --contract FILE)")
    if snapshot is not None and contract is None:
        _fail("--snapshot needs --contract FILE: target, time and features come from it")
    if data is not None and contract is not None:
        _fail("--contract goes with --snapshot; a world uses the training_snapshot contract")
    if data is not None and protected is not None:
        _fail("--protected goes with --snapshot; a world keeps its own protected/ folder")

    import time

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console()
    try:
        from data_contracts.loader import load_contract
        from models.evaluation.fairness import read_world_groups
        from models.evaluation.report import read_truth
        from models.training.run import (
            default_run_dir,
            read_groups,
            read_snapshot,
            snapshot_from_world,
            train_run,
        )

        started = time.perf_counter()
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task("loading", total=None)

            def step(message: str) -> None:
                progress.console.log(message)
                progress.update(task, description=message)

            if data is not None:
                step(f"reading the world {data} and computing features")
                frame = snapshot_from_world(data)
                spec = load_contract("training_snapshot")
                truth = read_truth(data)
                groups = read_world_groups(data)
            else:
                step(f"reading the snapshot {snapshot} as its contract {contract} types it")
                spec = load_contract(contract)
                frame = read_snapshot(snapshot, spec)
                truth = None
                groups = read_groups(protected, spec.optional_column("key")) if protected else None
            repeats = cv_repeats if cv_repeats is not None else (3 if snapshot else 0)
            outcome = train_run(
                frame,
                spec,
                run_dir=out or default_run_dir(),
                truth=truth,
                groups=groups,
                register=register,
                bootstrap_resamples=bootstrap,
                fit_sample=fit_sample,
                model_name=model_name,
                cv_repeats=repeats,
                cv_folds=cv_folds,
                progress=step,
            )
    except _user_errors() as exc:
        _fail(str(exc))
        return

    from rich.table import Table

    # Never squeezed to a narrow terminal's width: a cut table hides the figures that matter.
    console = Console(width=max(console.width, 180))
    split = outcome.result.split
    table = Table(
        title=f"Evaluation on {len(split.evaluation)} held-out applications ({split.method})"
    )
    for column in (
        "candidate",
        "version",
        "AUC (95 % CI)",
        "KS",
        "Brier",
        "ECE",
        "ceiling AUC",
        "gap to ceiling (95 % CI)",
        "ECE vs truth",
        "largest fairness gaps (approval / DR approved / AUC)",
    ):
        table.add_column(column, overflow="fold")
    for kind, evaluation in outcome.evaluations.items():
        mt = evaluation.metrics
        table.add_row(
            kind + (" *" if kind == outcome.recommended else ""),
            outcome.versions.get(kind, "-"),
            f"{mt['auc']:.4f} ({mt['auc_ci_low']:.4f}-{mt['auc_ci_high']:.4f})",
            f"{mt['ks']:.4f}",
            f"{mt['brier']:.4f}",
            f"{mt['ece']:.4f}",
            f"{mt['truth_ceiling_auc']:.4f}" if "truth_ceiling_auc" in mt else "-",
            f"{mt['auc_gap_to_ceiling']:.4f} ({mt['auc_gap_to_ceiling_ci_low']:.4f}-"
            f"{mt['auc_gap_to_ceiling_ci_high']:.4f})"
            if "auc_gap_to_ceiling_ci_low" in mt
            else "-",
            f"{mt['truth_ece']:.4f}" if "truth_ece" in mt else "-",
            " / ".join(f"{v:.3f}" for v in outcome.fairness[kind].worst_gaps().values())
            if kind in outcome.fairness
            else "-",
        )
    console.print(table)
    if outcome.cross_validation is not None:
        cv = Table(title=f"Cross-validation: {outcome.cross_validation.method}")
        for column in ("model", "kind", "folds", "AUC mean ± sd", "Brier mean", "ECE mean ± sd"):
            cv.add_column(column, overflow="fold")
        for name, row in outcome.cross_validation.summary().iterrows():
            cv.add_row(
                str(name) + (" *" if name == outcome.recommended else ""),
                row["kind"],
                str(row["folds"]),
                f"{row['auc_mean']:.4f} ± {row['auc_sd']:.4f}",
                f"{row['brier_mean']:.4f}",
                f"{row['ece_mean']:.4f} ± {row['ece_sd']:.4f}",
            )
        console.print(cv)
        from models.evaluation.baselines import BASELINES

        best_baseline, _ = outcome.cross_validation.best(BASELINES)
        for difference in outcome.cross_validation.calibration_verdict(
            outcome.recommended, best_baseline
        ):
            console.print(f"calibration: {difference.describe()}", highlight=False)
    for kind, report in outcome.fairness.items():
        for attribute in report.unjudged():
            console.print(
                f"[yellow]fairness[/] {kind}, {attribute}: not enough data to judge "
                f"(groups under {report.min_group_size} applications)",
                highlight=False,
            )
    console.print(f"report: {outcome.report}")
    if outcome.run_id:
        console.print(f"MLflow run {outcome.run_id}; registered versions {outcome.versions}")
    console.print(f"done in {time.perf_counter() - started:.1f} s")


def monitor(
    since: Annotated[
        str | None, typer.Option("--since", help="Only decisions on or after this date.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Version to compare with (default: the deciding one)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default: under <home>/monitoring).")
    ] = None,
) -> None:
    """Compare recent decisions with the training population: drift, back-test, overturns."""
    from datetime import UTC, datetime

    try:
        start = datetime.fromisoformat(since).replace(tzinfo=UTC) if since else None
    except ValueError:
        _fail(f"--since must be a date like 2026-01-31, got {since!r}")
        return
    from rich.console import Console

    from models.monitoring.run import run_monitoring
    from scoring.config import get_settings
    from scoring.storage.db import create_engine_for

    settings = get_settings()
    run_dir = out or settings.home / "monitoring" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        engine = create_engine_for(settings.database_url)
        result, path = run_monitoring(
            engine=engine, since=start, run_dir=run_dir, model_version=model, settings=settings
        )
    except _user_errors() as exc:
        _fail(str(exc))
        return
    console = Console()
    for key, value in result.summary.items():
        console.print(f"{key}: {value}", highlight=False)
    for note in result.notes:
        console.print(f"[yellow]note[/] {note}", highlight=False)
    console.print(f"report: {path}")


def model_card(
    version: Annotated[str, typer.Argument(help="Registered version number of installment-pd.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write model_card.md and .html here.")
    ] = None,
) -> None:
    """Write (again) the model card of a registered version into MLflow; print where."""
    from models.model_card import render_html, render_markdown, write_model_card
    from models.registry import version_tags

    try:
        uri = write_model_card(version)
        if out is not None:
            tags = version_tags(version)
            out.mkdir(parents=True, exist_ok=True)
            (out / "model_card.md").write_text(render_markdown(version, tags), encoding="utf-8")
            (out / "model_card.html").write_text(render_html(version, tags), encoding="utf-8")
    except _user_errors() as exc:
        _fail(str(exc))
        return
    typer.echo(f"model card of installment-pd version {version}: {uri}")
