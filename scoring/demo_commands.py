"""The ``demo`` command."""

from __future__ import annotations

import typer


def demo(
    customers: int = typer.Option(5000, min=100, max=200_000, help="Size of the demo world."),
    serve: bool = typer.Option(True, help="Start the services after setting up."),
) -> None:
    """Set up the demo on embedded defaults (world, database, model) and run the product."""
    import os

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from rich.console import Console

    from scoring.config import get_settings
    from scoring.demo import run
    from scoring.storage.db import StorageError

    try:
        run(settings=get_settings(), customers=customers, serve=serve, console=Console())
    except StorageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    app.command()(demo)
