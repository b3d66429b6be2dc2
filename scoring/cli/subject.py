"""``installment subject export|erase|object``: data-subject requests (GDPR Art. 15, 17, 21).

The personal code is read from standard input, never from an argument, so it stays out
of shell history and process lists.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from scoring.cli.common import DatabaseUrlOption, fail, migrated_sessions

subject_app = typer.Typer(
    help="Data-subject requests (GDPR Art. 15, 17, 21); the code is read from stdin.",
    no_args_is_help=True,
)

CodeStdinOption = Annotated[
    bool,
    typer.Option(
        "--code-stdin",
        help="Read the personal identification code from standard input (required).",
    ),
]


def _read_code(code_stdin: bool) -> str:
    if not code_stdin:
        raise fail(
            "pass the personal code on standard input with --code-stdin, "
            "e.g. `installment subject export --code-stdin < code.txt`; never as an argument"
        )
    code = sys.stdin.readline().strip()
    if not code:
        raise fail("standard input held no personal code")
    return code


def _subject_call(action, code: str, database_url: str | None):  # type: ignore[no-untyped-def]
    from scoring.config import get_settings, read_or_create_key
    from scoring.service.subject_requests import InvalidSubjectRequest
    from scoring.storage.db import StorageError

    try:
        key = read_or_create_key(get_settings().pseudonym_key_file)
        engine, sessions = migrated_sessions(database_url)
        try:
            with sessions() as session:
                return action(session=session, code=code, pseudonym_key=key, now=datetime.now(UTC))
        finally:
            engine.dispose()
    except InvalidSubjectRequest as error:
        raise fail(f"personal code: {error.message}") from None
    except StorageError as error:
        raise fail(str(error)) from None


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
        raise fail(f"--format must be json or html, not {output_format!r}")
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
