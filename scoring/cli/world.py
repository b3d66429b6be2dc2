"""``installment generate`` and ``installment world-stats``: the synthetic world."""

from __future__ import annotations

from pathlib import Path

import typer

# Numbers arrive as text so a bad value gets our one-line message, not a usage dump.
_CUSTOMERS = typer.Option(..., "--customers", metavar="N", help="How many people (1-1,000,000).")
_SEED = typer.Option(
    ..., "--seed", metavar="S", help="Random seed (0 or more): same seed, same world."
)
_OUT = typer.Option(..., "--out", help="Folder to write; must not exist or be empty.")
_AS_OF = typer.Option(
    None, "--as-of", metavar="YYYY-MM-DD", help="Day the world is observed (default: today)."
)
_FORCE = typer.Option(False, "--force", help="Replace a previous world folder at --out.")
_WORLD = typer.Argument(..., help="A folder written by `installment generate`.")


def generate(
    customers: str = _CUSTOMERS,
    seed: str = _SEED,
    out: Path = _OUT,
    as_of: str | None = _AS_OF,
    force: bool = _FORCE,
) -> None:
    """Generate a synthetic credit world (customers, invoices, bureau reports, applications,
    outcomes and the true default probabilities) into a folder, as docs/world-format.md lays out."""
    from datetime import date

    from rich.console import Console
    from rich.markup import escape

    from models.world.errors import WorldError

    stderr = Console(stderr=True)
    try:
        count = _whole_number(customers, "--customers", example="--customers 10000")
        seed_value = _whole_number(seed, "--seed", example="--seed 42")
        observed_on = _day(as_of) if as_of is not None else date.today()
        written = _generate(
            customers=count,
            seed=seed_value,
            as_of=observed_on,
            out=out,
            force=force,
            console=stderr,
        )
    except WorldError as error:
        stderr.print(f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    stderr.print(f"world of {count:,} people written to {written}", highlight=False)


def _generate(*, customers: int, seed: int, as_of, out: Path, force: bool, console) -> Path:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from models.world.folder import check_target, write_world
    from models.world.generator import check_arguments, generate_world

    check_arguments(customers=customers, seed=seed, as_of=as_of)
    check_target(Path(out).absolute(), force=force)  # refuse before spending a minute
    stages = {"people": "people", "applications": "applications and bureau", "history": "history"}
    with Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks = {
            stage: progress.add_task(label, total=customers) for stage, label in stages.items()
        }
        world = generate_world(
            customers=customers,
            seed=seed,
            as_of=as_of,
            progress=lambda stage, done: progress.advance(tasks[stage], done),
        )
        writing = progress.add_task("writing files", total=1)
        written = write_world(world, out, force=force)
        progress.advance(writing, 1)
    return written


def _whole_number(text: str, option: str, *, example: str) -> int:
    from models.world.errors import WorldArgumentError

    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        raise WorldArgumentError(
            f"{option} must be a whole number, got {text!r}; e.g. {example}"
        ) from None


def _day(text: str):
    from datetime import date

    from models.world.errors import WorldArgumentError

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise WorldArgumentError(
            f"--as-of must be a date as YYYY-MM-DD, got {text!r}; e.g. --as-of 2025-06-30"
        ) from None


def world_stats(
    world: Path = _WORLD,
) -> None:
    """Print a world's portfolio statistics as JSON: default rate, bureau class mix,
    thin-file share and the ceiling AUC of the true default probabilities."""
    import json

    from rich.console import Console
    from rich.markup import escape

    from models.world.errors import WorldError
    from models.world.folder import read_world
    from models.world.statistics import world_statistics

    try:
        loaded = read_world(world)
    except WorldError as error:
        Console(stderr=True).print(
            f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(code=2) from None
    typer.echo(json.dumps(world_statistics(loaded).as_dict(), indent=2))
