"""``installment audit verify|replay``: check the decision log, replay a decision."""

from __future__ import annotations

from typing import Annotated

import typer

from scoring.cli.common import database_url_or_configured, fail

audit_app = typer.Typer(help="Check the decision log and replay decisions.", no_args_is_help=True)


def _engine():
    from scoring.storage.db import create_engine_for

    return create_engine_for(database_url_or_configured(None))


@audit_app.command("verify")
def verify() -> None:
    """Check the hash chain and every decision against its entry; exit 1 naming each break."""
    from scoring.service import decision_log
    from scoring.storage.db import StorageError, UnitOfWork

    engine = _engine()
    try:
        with UnitOfWork.for_engine(engine) as uow:
            breaks = decision_log.verify(session=uow.session)
            entries = decision_log.entry_count(session=uow.session)
    except StorageError as error:
        raise fail(str(error)) from None
    finally:
        engine.dispose()
    if breaks:
        for problem in breaks:
            where = f"entry {problem.seq}" if problem.seq else "decisions"
            typer.echo(f"BROKEN {where}: {problem.problem}")
        typer.echo(f"decision log of {entries} entries is NOT intact: {len(breaks)} problem(s)")
        raise typer.Exit(1)
    typer.echo(f"decision log intact: {entries} entries, every decision matches its entry")


@audit_app.command("replay")
def replay(decision_id: Annotated[str, typer.Argument(help="The decision to recompute.")]) -> None:
    """Recompute a decision from its log entry with its model and policy versions."""
    from scoring.domain.policy import PolicyError
    from scoring.service import decision_log
    from scoring.service.errors import ServiceError
    from scoring.service.model_provider import RegistryModelProvider
    from scoring.storage.db import StorageError, UnitOfWork

    engine = _engine()
    try:
        with UnitOfWork.for_engine(engine) as uow:
            result = decision_log.replay(
                session=uow.session,
                decision_id=decision_id,
                models=RegistryModelProvider(),
            )
    except (ServiceError, StorageError, PolicyError, LookupError) as error:
        raise fail(str(error)) from None
    finally:
        engine.dispose()
    typer.echo(f"decision {result.decision_id}")
    if result.made_by_person:
        typer.echo(
            "  made by a person: checked against its review case, the decision it replaced "
            "and its log entry"
        )
    typer.echo(f"  model version {result.model_version}, policy {result.policy_version}")
    typer.echo(f"  outcome      stored {result.stored_outcome}, replayed {result.replayed_outcome}")
    typer.echo(
        f"  PD           stored {result.stored_probability_of_default}, "
        f"replayed {result.replayed_probability_of_default}"
    )
    typer.echo(f"  reasons      stored {result.stored_reasons}")
    typer.echo(f"               replayed {result.replayed_reasons}")
    for removal in result.removed:
        typer.echo(f"  removed: {removal}")
    for note in result.notes:
        typer.echo(f"  note: {note}")
    if not result.matches:
        typer.echo("DIFFERS: " + "; ".join(result.differences))
        raise typer.Exit(1)
    if result.removed:
        typer.echo("replay matches the decision log and every record still stored")
        return
    typer.echo("replay matches the stored decision")
