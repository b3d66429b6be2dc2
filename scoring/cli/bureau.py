"""``installment bureau-sim``: run the bureau simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scoring.cli.common import fail


def bureau_sim(
    world: Annotated[
        Path, typer.Option(help="Folder of a generated world (bureau_*.parquet files).")
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port of the simulated bureau.")] = 8701,
    latency_ms: Annotated[
        int, typer.Option(min=0, max=60_000, help="Added latency per report, in ms.")
    ] = 0,
    failure_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of 503 answers.")
    ] = 0.0,
    malformed_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of malformed answers (bad JSON, wrong types)."),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
) -> None:
    """Run the bureau simulator: Creditinfo-style reports from the world, with faults."""
    from scoring.bureau.simulator import FaultSettings, ReportSource, WorldFormatError, serve

    try:
        source = ReportSource.from_world(world)
    except WorldFormatError as exc:
        raise fail(str(exc)) from None
    faults = FaultSettings(
        latency_ms=latency_ms, failure_rate=failure_rate, malformed_rate=malformed_rate
    )
    typer.echo(f"bureau simulator: {len(source)} people from {world} on http://{host}:{port}")
    serve(source, host=host, port=port, faults=faults, seed=seed)


def main() -> None:
    """Run ``bureau-sim`` alone (used to start the simulator as a subprocess)."""
    typer.run(bureau_sim)
