"""``installment db-upgrade`` and ``installment ingest``: the schema and loading a world folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scoring.cli.common import DatabaseUrlOption, database_url_or_configured, fail


def db_upgrade(
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create or upgrade the database schema to the newest migration."""
    from scoring.storage.db import StorageError, masked_url
    from scoring.storage.migrate import current_revision, upgrade

    url = database_url_or_configured(database_url)
    try:
        upgrade(url)
        revision = current_revision(url)
    except StorageError as error:
        raise fail(str(error)) from None
    typer.echo(f"database {masked_url(url)} is at revision {revision}")


def ingest(
    world_dir: Annotated[
        Path, typer.Argument(help="World folder written by `installment generate`.")
    ],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Load a world folder into the database: idempotent, all or nothing, codes pseudonymised."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from scoring.config import get_settings, read_or_create_key
    from scoring.storage.db import StorageError, create_engine_for, masked_url
    from scoring.storage.ingest import check_world_folder, ingest_world
    from scoring.storage.migrate import upgrade

    settings = get_settings()
    url = database_url or settings.database_url
    bar = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, object] = {}

    def progress(table: str, done: int, total: int) -> None:
        if table not in tasks:
            tasks[table] = bar.add_task(table, total=total or 1)
        bar.update(tasks[table], completed=done if total else 1)  # type: ignore[arg-type]

    try:
        # Check the folder before creating or migrating any database for it.
        check_world_folder(world_dir)
        keys = {}
        for name, path in (
            ("pseudonym", settings.pseudonym_key_file),
            ("identity vault", settings.identity_vault_key_file),
        ):
            try:
                keys[name] = read_or_create_key(path)
            except (OSError, ValueError) as error:
                raise fail(f"cannot use the {name} key {path}: {error}") from None
        upgrade(url)
        engine = create_engine_for(url)
        try:
            with bar:
                summary = ingest_world(
                    world_dir=world_dir,
                    engine=engine,
                    pseudonym_key=keys["pseudonym"],
                    vault_key=keys["identity vault"],
                    progress=progress,
                )
        finally:
            engine.dispose()
    except StorageError as error:
        raise fail(str(error)) from None
    for table, count in summary.tables.items():
        typer.echo(f"{table:<24} {count.inserted:>9} inserted {count.already_present:>9} present")
    typer.echo(
        f"loaded {world_dir} into {masked_url(url)}: {summary.inserted} rows inserted, "
        f"{summary.already_present} already present"
    )
