"""``installment bench``: run the benchmarks (:mod:`benchmarks.harness`) and record them in
BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scoring.cli.common import fail


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(f"expected sizes like 10000,30000, got {text!r}") from None
    if not sizes or min(sizes) < 100:
        raise typer.BadParameter("each size must be at least 100 customers")
    return sizes


def _replicas(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter(f"expected process counts like 2,3, got {text!r}") from None
    if any(not 2 <= n <= 8 for n in counts):
        raise typer.BadParameter("run 2 to 8 API processes side by side")
    return counts


def bench(
    which: Annotated[str, typer.Argument(help="decisions, http, batch, training, or all.")] = "all",
    state: Annotated[
        Path | None,
        typer.Option(help="Folder for worlds, database and models (default: a new temp one)."),
    ] = None,
    customers: Annotated[int, typer.Option(min=100, help="World size for decisions.")] = 5000,
    decisions: Annotated[int, typer.Option(min=1, help="In-process decisions timed.")] = 1000,
    seconds: Annotated[float, typer.Option(min=0.1, help="HTTP load per endpoint, s.")] = 15.0,
    concurrency: Annotated[int, typer.Option(min=1, help="HTTP connections.")] = 8,
    rounds: Annotated[
        int, typer.Option(min=1, max=20, help="Times each HTTP set-up is run (medians shown).")
    ] = 1,
    rate: Annotated[
        float,
        typer.Option(
            min=0, help="Decisions/s of the paced (open-loop) HTTP phase; 0 leaves it out."
        ),
    ] = 400.0,
    replicas: Annotated[
        str, typer.Option(help="API process counts to run besides one, comma-separated.")
    ] = "2",
    databases: Annotated[str, typer.Option(help="sqlite,postgres or one of them.")] = (
        "sqlite,postgres"
    ),
    postgres_url: Annotated[
        str, typer.Option(help="PostgreSQL server for the http benchmark (a schema is made).")
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    batch_customers: Annotated[int, typer.Option(min=100, help="World size for batch.")] = (
        100_000
    ),
    training_sizes: Annotated[
        str, typer.Option(help="World sizes for training, comma-separated.")
    ] = "10000,30000,100000",
    report: Annotated[
        Path | None, typer.Option(help="Report to update (default BENCHMARKS.md).")
    ] = None,
    write: Annotated[bool, typer.Option(help="Update the report file.")] = True,
) -> None:
    """Measure decisions (in process and over HTTP), batch scoring and training."""
    import sys
    import tempfile

    from rich.console import Console

    from benchmarks.harness import (
        BENCHMARKS_FILE,
        KINDS,
        BenchConfig,
        BenchError,
        run,
        update_report,
    )

    kinds = list(KINDS) if which == "all" else [which]
    chosen = tuple(d.strip() for d in databases.split(",") if d.strip())
    if not chosen or set(chosen) - {"sqlite", "postgres"}:
        raise typer.BadParameter("--databases takes sqlite, postgres or both")
    folder = state or Path(tempfile.mkdtemp(prefix="installment-bench-"))
    config = BenchConfig(
        state=folder.resolve(), customers=customers, decisions=decisions,
        http_seconds=seconds, concurrency=concurrency, http_rounds=rounds,
        http_rate=rate or None, databases=chosen,
        postgres_url=postgres_url, batch_customers=batch_customers,
        replicas=_replicas(replicas),
        training_sizes=_sizes(training_sizes),
    )  # fmt: skip
    console = Console(stderr=True)
    console.print(f"benchmark state in {config.state}")
    try:
        sections = run(kinds, config, progress=lambda m: console.print(f"[dim]… {m}[/]"))
    except BenchError as error:
        raise fail(str(error)) from None
    out = Console()
    for section in sections:
        out.rule(section.title)
        out.print(section.markdown(), markup=False, highlight=False)
        for note in section.notes:
            out.print(note, markup=False, highlight=False)
    if write:
        target = report or BENCHMARKS_FILE
        command = "installment bench " + " ".join(sys.argv[2:] if len(sys.argv) > 2 else [which])
        update_report(target, sections, command=command)
        console.print(f"updated {target}")
