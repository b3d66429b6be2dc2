"""``installment retention-sweep``: storage limitation by the data contracts' periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer

from scoring.cli.common import DatabaseUrlOption, fail, migrated_sessions


def retention_sweep(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be removed; change nothing.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Sweep as on this day (YYYY-MM-DD); default today (UTC)."),
    ] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Delete records past the retention period their data contract gives (audited)."""
    from scoring.service.retention import COUNTED, run_sweep
    from scoring.storage.db import StorageError

    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError:
        raise fail(f"--as-of {as_of!r} is not a date in the form YYYY-MM-DD") from None
    try:
        engine, sessions = migrated_sessions(database_url)
        try:
            report = run_sweep(sessions=sessions, as_of=day, dry_run=dry_run)
        finally:
            engine.dispose()
    except StorageError as error:
        raise fail(str(error)) from None
    verb = "would remove" if dry_run else "removed"
    for name in COUNTED:
        typer.echo(f"{name:<16} {report.counts.get(name, 0):>9}")
    suffix = " (dry run: nothing changed)" if dry_run else f" in {report.batches} batch(es)"
    typer.echo(f"retention sweep as of {day}: {verb} {report.total} records{suffix}")
