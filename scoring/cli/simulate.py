"""``installment simulate``: what a policy or model change would have done to past applications.

The stored, minimised inputs of the period are re-decided under the live policy and model
(the approved ones) and under the candidate; the report (HTML with plots, JSON) goes to the
run folder and to MLflow, ready to attach to a change request (``--simulation``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from scoring.cli.common import DatabaseUrlOption, fail, migrated_sessions


def _day(text: str, option: str):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} must be a date like 2026-11-01, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def simulate(
    start: Annotated[str, typer.Option("--from", help="First day of the period (UTC).")],
    end: Annotated[str, typer.Option("--to", help="Day after the period (UTC), exclusive.")],
    approve_below: Annotated[
        float | None, typer.Option("--approve-below", help="Candidate: approve below this PD.")
    ] = None,
    decline_at_or_above: Annotated[
        float | None,
        typer.Option("--decline-at-or-above", help="Candidate: decline from this PD."),
    ] = None,
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="Candidate policy file (YAML).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Candidate model version of installment-pd.")
    ] = None,
    world: Annotated[
        Path | None,
        typer.Option("--world", help="Replay a synthetic world's own history, with its truth."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default: <home>/simulations/...).")
    ] = None,
    mlflow: Annotated[
        bool, typer.Option("--mlflow/--no-mlflow", help="Log the report to MLflow.")
    ] = True,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Replay a period's stored applications under a candidate policy and/or model."""
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    from models import registry
    from models.simulation_report import OUTCOME_WORDS, log_to_mlflow, write_report
    from scoring.config import get_settings
    from scoring.domain.errors import EngineError
    from scoring.domain.policy import PolicyError
    from scoring.service import change_control
    from scoring.service.policy_files import current_policy, load_policy, policy_for_version
    from scoring.service.policy_in_force import PolicyInForce
    from scoring.service.simulation import simulate as run_simulation
    from scoring.storage.db import UnitOfWork

    first, until = _day(start, "--from"), _day(end, "--to")
    if policy_file is None and approve_below is None and decline_at_or_above is None and not model:
        raise fail("give a candidate: --approve-below/--decline-at-or-above, --policy or --model")
    console = Console()
    settings = get_settings()
    engine, sessions = migrated_sessions(database_url)
    uow_factory = lambda: UnitOfWork(sessions)  # noqa: E731
    try:
        with uow_factory() as uow:
            served = change_control.served_champion(uow=uow)
        if served is None or served.model_version is None:
            raise fail("no approved champion is recorded; there is no live model to compare with")
        live_model = registry.load_model(served.model_version)
        candidate_model = registry.load_model(model) if model else None
        live_policy = PolicyInForce(
            unit_of_work=uow_factory, clock=lambda: datetime.now(UTC),
            start_policy=current_policy(), policy_for_version=policy_for_version,
        ).approved_at(datetime.now(UTC))  # fmt: skip
        candidate_policy = load_policy(policy_file) if policy_file else live_policy
        candidate_policy = candidate_policy.with_cutoffs(
            approve_below=approve_below, decline_at_or_above=decline_at_or_above
        )
        history: dict[str, Any] = {}
        if world is not None:
            from models.world_simulation import past_from_world

            with console.status(f"computing the features of the world {world}"):
                past, truth, outcomes, groups = past_from_world(world)
            history = {"past": past, "truth": truth, "outcomes": outcomes, "groups": groups}
        with console.status("replaying the applications"), uow_factory() as uow:
            result = run_simulation(
                uow=uow, start=first, end=until, live_policy=live_policy,
                live_model=live_model, candidate_policy=candidate_policy,
                candidate_model=candidate_model, **history,
            )  # fmt: skip
    except (registry.RegistryError, OSError, ValueError) as error:
        raise fail(str(error)) from None
    except PolicyError as error:
        raise fail(f"candidate policy: {error.message}") from None
    except EngineError as error:
        raise fail(error.message) from None
    finally:
        engine.dispose()
    summary = result.to_dict()
    folder = out or settings.home / "simulations" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with console.status("drawing the report"):
        report = write_report(summary, folder)

    table = Table(
        title=f"{summary['applications']} applications; decisions that flip: {summary['flips']}"
    )
    table.add_column("before \\ after")
    for outcome in OUTCOME_WORDS.values():
        table.add_column(outcome, justify="right")
    for before, row in summary["flip_matrix"].items():
        table.add_row(OUTCOME_WORDS[before], *(str(row[a]) for a in OUTCOME_WORDS))
    console.print(table)
    for label, key in (("approval rate", "approval"),):
        b, a = summary[f"{key}_before"], summary[f"{key}_after"]
        console.print(
            f"{label}: {b['value']:.1%} ({b['low']:.1%}-{b['high']:.1%}) -> "
            f"{a['value']:.1%} ({a['low']:.1%}-{a['high']:.1%})"
        )
    for when in ("before", "after"):
        loss = summary[f"expected_loss_{when}"]
        console.print(
            f"expected loss {when}: {loss['expected_eur']:,.0f} EUR "
            f"({loss['low_eur']:,.0f}-{loss['high_eur']:,.0f}) on "
            f"{loss['approved_exposure_eur']:,.0f} EUR approved"
        )
    for when in ("before", "after"):
        true_loss = summary[f"true_expected_loss_{when}"]
        bad = summary[f"bad_rate_approved_{when}"]
        if true_loss is not None:
            inside = summary[f"true_loss_within_interval_{when}"]
            console.print(
                f"true expected loss {when} (synthetic world): {true_loss:,.0f} EUR, "
                + ("inside the stated interval" if inside else "OUTSIDE the stated interval")
            )
        if bad is not None:
            console.print(
                f"bad rate among the approved {when}: {bad['value']:.1%} "
                f"({bad['low']:.1%}-{bad['high']:.1%}) of {bad['total']} with a known outcome"
            )
    if not summary["outcomes_known"]:
        console.print(
            f"realised bad rate: not known (none of the {summary['applications']} applications "
            "has a 12-month outcome yet)"
        )
    console.print(
        f"cases for reviewers: {summary['reviewer_cases_before']} -> "
        f"{summary['reviewer_cases_after']} ({summary['reviewer_cases_per_week_before']} -> "
        f"{summary['reviewer_cases_per_week_after']} a week)"
    )
    console.print(f"report: {report}")
    if mlflow:
        run_id = log_to_mlflow(summary, folder, settings=settings)
        console.print(f"MLflow run {run_id} (experiment installment-simulations)")
