"""``installment demo`` sets up and runs the demo; ``installment demo-seed`` makes its
reviewer accounts. The set-up itself is in :mod:`scoring.cli.demo_setup`."""

from __future__ import annotations

import typer

from scoring.cli.common import DatabaseUrlOption, fail, migrated_unit_of_work


def demo(
    customers: int = typer.Option(5000, min=100, max=200_000, help="Size of the demo world."),
    serve: bool = typer.Option(True, help="Start the services after setting up."),
) -> None:
    """Set up the demo on embedded defaults (world, database, model) and run the product."""
    import os

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from rich.console import Console

    from scoring.cli.demo_setup import run
    from scoring.config import get_settings
    from scoring.storage.db import StorageError

    try:
        run(settings=get_settings(), customers=customers, serve=serve, console=Console())
    except StorageError as exc:
        raise fail(str(exc)) from None


def demo_seed(database_url: DatabaseUrlOption = None) -> None:
    """Create the demo reviewer, senior reviewer and auditor, and print their passwords."""
    from datetime import date

    from scoring.cli.demo_setup import seed_demo_reviewers
    from scoring.storage.db import StorageError

    try:
        with migrated_unit_of_work(database_url) as uow:
            seeded = seed_demo_reviewers(uow=uow, trained_on=date.today())
    except StorageError as error:
        raise fail(str(error)) from None
    typer.echo("Demo accounts for the reviewer UI (/review/login):")
    for username, role, password in seeded:
        typer.echo(f"  {username:<10} {role:<16} password: {password}")
