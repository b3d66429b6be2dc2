"""``installment demo`` sets up and runs the demo; ``installment demo-seed`` makes its
reviewer accounts. The set-up itself is in :mod:`scoring.cli.demo_setup`."""

from __future__ import annotations

import typer

from scoring.cli.common import DatabaseUrlOption, fail, migrated_unit_of_work


def demo(
    customers: int = typer.Option(
        5000,
        min=100,
        max=200_000,
        envvar="INSTALLMENT_DEMO_CUSTOMERS",
        help="Size of the demo world (customers), when it is first generated.",
    ),
    serve: bool = typer.Option(
        True, help="Start the services after setting up (--no-serve: set up and print only)."
    ),
    host: str = typer.Option(
        "127.0.0.1", envvar="INSTALLMENT_DEMO_HOST", help="Address every demo service listens on."
    ),
    api_port: int = typer.Option(
        8700,
        min=1,
        max=65535,
        envvar="INSTALLMENT_DEMO_API_PORT",
        help="Port of the decision API and reviewer UI.",
    ),
    bureau_port: int = typer.Option(
        8701,
        min=1,
        max=65535,
        envvar="INSTALLMENT_DEMO_BUREAU_PORT",
        help="Port of the bureau simulator.",
    ),
    mlflow_port: int = typer.Option(
        8702, min=1, max=65535, envvar="INSTALLMENT_DEMO_MLFLOW_PORT", help="Port of MLflow."
    ),
) -> None:
    """Set up the demo on embedded defaults (world, database, model) and run the product."""
    import os

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from rich.console import Console

    from scoring.cli.demo_setup import DemoAddresses, run
    from scoring.config import get_settings
    from scoring.storage.db import StorageError

    ports = {"--api-port": api_port, "--bureau-port": bureau_port, "--mlflow-port": mlflow_port}
    if len(set(ports.values())) < len(ports):
        raise fail(f"the demo services need three different ports; got {ports}")
    addresses = DemoAddresses(
        host=host, api_port=api_port, bureau_port=bureau_port, mlflow_port=mlflow_port
    )
    try:
        run(
            settings=get_settings(),
            customers=customers,
            serve=serve,
            console=Console(),
            addresses=addresses,
        )
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
