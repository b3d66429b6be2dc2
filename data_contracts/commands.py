"""CLI commands for storage limitation and data-subject requests.

``installment retention-sweep`` and ``installment subject export|erase|object``. The
subject commands read the personal code from standard input, never from an argument,
so it stays out of shell history and process lists.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

subject_app = typer.Typer(
    help="Data-subject requests (GDPR Art. 15, 17, 21); the code is read from stdin.",
    no_args_is_help=True,
)

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL; default INSTALLMENT_DATABASE_URL or SQLite in INSTALLMENT_HOME.",
    ),
]
CodeStdinOption = Annotated[
    bool,
    typer.Option(
        "--code-stdin",
        help="Read the personal identification code from standard input (required).",
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _sessions(database_url: str | None):  # type: ignore[no-untyped-def]
    from scoring.config import get_settings
    from scoring.storage.db import create_engine_for, session_factory
    from scoring.storage.migrate import upgrade

    url = database_url or get_settings().database_url
    upgrade(url)
    engine = create_engine_for(url)
    return engine, session_factory(engine)


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
        raise _fail(f"--as-of {as_of!r} is not a date in the form YYYY-MM-DD") from None
    try:
        engine, sessions = _sessions(database_url)
        try:
            report = run_sweep(sessions=sessions, as_of=day, dry_run=dry_run)
        finally:
            engine.dispose()
    except StorageError as error:
        raise _fail(str(error)) from None
    verb = "would remove" if dry_run else "removed"
    for name in COUNTED:
        typer.echo(f"{name:<16} {report.counts.get(name, 0):>9}")
    suffix = " (dry run: nothing changed)" if dry_run else f" in {report.batches} batch(es)"
    typer.echo(f"retention sweep as of {day}: {verb} {report.total} records{suffix}")


def _read_code(code_stdin: bool) -> str:
    if not code_stdin:
        raise _fail(
            "pass the personal code on standard input with --code-stdin, "
            "e.g. `installment subject export --code-stdin < code.txt`; never as an argument"
        )
    code = sys.stdin.readline().strip()
    if not code:
        raise _fail("standard input held no personal code")
    return code


def _subject_call(action, code: str, database_url: str | None):  # type: ignore[no-untyped-def]
    from scoring.config import get_settings, read_or_create_key
    from scoring.service.subject_requests import InvalidSubjectRequest
    from scoring.storage.db import StorageError

    try:
        key = read_or_create_key(get_settings().pseudonym_key_file)
        engine, sessions = _sessions(database_url)
        try:
            with sessions() as session:
                return action(session=session, code=code, pseudonym_key=key, now=datetime.now(UTC))
        finally:
            engine.dispose()
    except InvalidSubjectRequest as error:
        raise _fail(f"personal code: {error.message}") from None
    except StorageError as error:
        raise _fail(str(error)) from None


@subject_app.command("export")
def subject_export(
    code_stdin: CodeStdinOption = False,
    output_format: Annotated[
        str, typer.Option("--format", help="json or html.", case_sensitive=False)
    ] = "json",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Export everything held about the person (Art. 15) as JSON or a readable HTML page."""
    import json

    from scoring.service.subject_requests import export_subject, render_export_html

    if output_format.lower() not in ("json", "html"):
        raise _fail(f"--format must be json or html, not {output_format!r}")
    code = _read_code(code_stdin)
    export = _subject_call(export_subject, code, database_url)
    text = (
        render_export_html(export)
        if output_format.lower() == "html"
        else json.dumps(export, indent=2, ensure_ascii=False)
    )
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"export written to {out}", err=True)


@subject_app.command("erase")
def subject_erase(
    code_stdin: CodeStdinOption = False, database_url: DatabaseUrlOption = None
) -> None:
    """Erase the person's data where no retention obligation forbids it (Art. 17)."""
    from scoring.service.subject_requests import erase_subject

    report = _subject_call(erase_subject, _read_code(code_stdin), database_url)
    if not report.held_data:
        typer.echo("no data is held about this person; nothing to erase")
        return
    erased = ", ".join(f"{n} {name}" for name, n in report.erased.items() if n) or "nothing"
    typer.echo(f"erased: {erased}")
    for kept in report.kept:
        until = f" until {kept.kept_until}" if kept.kept_until else ""
        typer.echo(f"kept: {kept.count} {kept.records}{until}: {kept.reason}")


@subject_app.command("object")
def subject_object(
    code_stdin: CodeStdinOption = False, database_url: DatabaseUrlOption = None
) -> None:
    """Record an objection to profiling (Art. 21): later applications go to human review."""
    from scoring.service.subject_requests import object_to_profiling

    receipt = _subject_call(object_to_profiling, _read_code(code_stdin), database_url)
    state = "was already recorded" if receipt.already_recorded else "recorded"
    typer.echo(
        f"objection to profiling {state} ({receipt.objected_at.isoformat()}): {receipt.effect}"
    )


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``installment`` app."""
    app.command("retention-sweep")(retention_sweep)
    app.add_typer(subject_app, name="subject")
