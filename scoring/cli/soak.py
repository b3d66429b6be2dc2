"""``installment soak``: a bounded steady load on one API process, then a reconciliation
(:mod:`benchmarks.soak`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scoring.cli.common import fail


def soak(
    minutes: Annotated[float, typer.Option(min=0.05, max=240, help="Duration of the load.")] = 20.0,
    rate: Annotated[float, typer.Option(min=0.1, max=500, help="Requests per second.")] = 20.0,
    database_url: Annotated[
        str | None,
        typer.Option(help="Database of the server (default: SQLite in the state folder)."),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(help="Folder for world, database and model (default: a new temp one)."),
    ] = None,
    customers: Annotated[int, typer.Option(min=200, help="World size.")] = 800,
    report: Annotated[
        Path | None,
        typer.Option(help="Write the result as the soak section of this file (BENCHMARKS.md)."),
    ] = None,
) -> None:
    """Run the API under a steady load; exit 1 on any 5xx, lost or duplicated decision."""
    import tempfile

    from benchmarks.soak import SoakConfig, SoakError, run_soak

    folder = state or Path(tempfile.mkdtemp(prefix="installment-soak-"))
    config = SoakConfig(
        state=folder, minutes=minutes, rate=rate, database_url=database_url, customers=customers
    )
    try:
        result = run_soak(config, progress=lambda m: typer.echo(f"· {m}", err=True))
    except SoakError as error:
        raise fail(str(error)) from None
    typer.echo(result.text())
    if report is not None:
        from benchmarks.harness import update_report

        command = f"installment soak --minutes {minutes:g} --rate {rate:g}"
        command += f" --customers {customers}" if customers != 800 else ""
        command += " --database-url <PostgreSQL>" if database_url else ""
        update_report(report, [result.section()], command=command)
        typer.echo(f"updated {report}")
    if not result.ok:
        raise typer.Exit(code=1)
