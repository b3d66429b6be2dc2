"""``installment subject ...``: data-subject requests (GDPR Art. 15, 17, 21) and channels.

The personal code is read from standard input, never from an argument, so it stays out
of shell history and process lists. An operator who answers a request here has identified
the person themselves and says how (``--identified-by``); the audit log records it with
the operator's login name. ``subject channel add|revoke|list`` registers the identity
channels whose signed assertions prove a person's identity to the API.
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


IDENTIFICATION_METHODS = (
    "smart-id", "mobile-id", "id-card", "eidas", "bank-link", "identity-document-in-person",
)  # fmt: skip
IdentifiedByOption = Annotated[
    str | None,
    typer.Option(
        "--identified-by",
        help="How you identified the person (required): " + ", ".join(IDENTIFICATION_METHODS),
    ),
]
NoteOption = Annotated[
    str | None,
    typer.Option("--note", help="What else the audit log should keep, e.g. the request's ref."),
]


def _requester(identified_by: str | None, note: str | None):  # type: ignore[no-untyped-def]
    import getpass

    from scoring.domain.identity_proof import IdentificationMethod
    from scoring.service.subject_proof import operator_requester

    if identified_by is None:
        raise fail(
            "say how you identified the person with --identified-by "
            f"({', '.join(IDENTIFICATION_METHODS)}); a request is answered only for them"
        )
    try:
        method = IdentificationMethod(identified_by)
    except ValueError:
        raise fail(f"--identified-by must be one of {', '.join(IDENTIFICATION_METHODS)}") from None
    if note is not None and len(note) > 200:
        raise fail("--note may hold at most 200 characters")
    return operator_requester(operator=getpass.getuser(), method=method, note=note)


def _subject_call(action, code: str, database_url: str | None, requester):  # type: ignore[no-untyped-def]
    from scoring.config import get_settings, read_or_create_key
    from scoring.service.subject_requests import InvalidSubjectRequest
    from scoring.storage.db import StorageError

    try:
        key = read_or_create_key(get_settings().pseudonym_key_file)
        engine, sessions = migrated_sessions(database_url)
        try:
            with sessions() as session:
                return action(
                    session=session,
                    code=code,
                    pseudonym_key=key,
                    now=datetime.now(UTC),
                    requester=requester,
                )
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
    identified_by: IdentifiedByOption = None,
    note: NoteOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Export everything held about the person (Art. 15) as JSON or a readable HTML page."""
    import json

    from scoring.service.subject_requests import export_subject, render_export_html

    if output_format.lower() not in ("json", "html"):
        raise fail(f"--format must be json or html, not {output_format!r}")
    requester = _requester(identified_by, note)
    code = _read_code(code_stdin)
    export = _subject_call(export_subject, code, database_url, requester)
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
    code_stdin: CodeStdinOption = False,
    identified_by: IdentifiedByOption = None,
    note: NoteOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Erase the person's data where no retention obligation forbids it (Art. 17)."""
    from scoring.service.subject_requests import erase_subject

    requester = _requester(identified_by, note)
    report = _subject_call(erase_subject, _read_code(code_stdin), database_url, requester)
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
    code_stdin: CodeStdinOption = False,
    identified_by: IdentifiedByOption = None,
    note: NoteOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Record an objection to profiling (Art. 21): later applications go to human review."""
    from scoring.service.subject_requests import object_to_profiling

    requester = _requester(identified_by, note)
    receipt = _subject_call(object_to_profiling, _read_code(code_stdin), database_url, requester)
    state = "was already recorded" if receipt.already_recorded else "recorded"
    typer.echo(
        f"objection to profiling {state} ({receipt.objected_at.isoformat()}): {receipt.effect}"
    )


channel_app = typer.Typer(
    help="Identity channels whose signed assertions prove a person's identity to the API.",
    no_args_is_help=True,
)
subject_app.add_typer(channel_app, name="channel")


def _channel_call(call, database_url: str | None):  # type: ignore[no-untyped-def]
    from scoring.cli.common import migrated_unit_of_work
    from scoring.domain.errors import EngineError

    try:
        uow = migrated_unit_of_work(database_url)
        try:
            return call(uow)
        finally:
            uow.engine.dispose()
    except EngineError as error:
        raise fail(error.message) from None


@subject_app.command("assert")
def subject_assert(
    channel: Annotated[str, typer.Option(help="The channel id the assertion is signed as.")],
    key_file: Annotated[
        Path, typer.Option(help="PEM file of the channel's private key (owner-only, 0600).")
    ],
    request: Annotated[str, typer.Option(help="access, erasure or objection.")] = "access",
    identified_by: Annotated[
        str,
        typer.Option(help="How the person was identified: " + ", ".join(IDENTIFICATION_METHODS)),
    ] = "smart-id",
    code_stdin: CodeStdinOption = False,
) -> None:
    """Print a signed identity assertion (2 minutes) for one request about the person whose
    code is on standard input, as the channel would send it."""
    from scoring.config import KeyFileError, check_private_file
    from scoring.domain.errors import EngineError
    from scoring.domain.identity_proof import IdentificationMethod, SubjectRequestKind
    from scoring.service.subject_proof import signed_assertion

    try:
        wanted = SubjectRequestKind(request)
    except ValueError:
        raise fail("--request must be access, erasure or objection") from None
    try:
        method = IdentificationMethod(identified_by)
    except ValueError:
        raise fail(f"--identified-by must be one of {', '.join(IDENTIFICATION_METHODS)}") from None
    code = _read_code(code_stdin)
    try:
        check_private_file(key_file)
        pem = key_file.read_text(encoding="ascii")
    except KeyFileError as error:
        raise fail(error.message) from None
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read {key_file}: {type(error).__name__}") from None
    try:
        assertion = signed_assertion(
            private_key_pem=pem, channel_id=channel, personal_code=code, request=wanted,
            method=method, now=datetime.now(UTC),
        )  # fmt: skip
    except EngineError as error:
        raise fail(error.message) from None
    typer.echo(assertion)


@channel_app.command("add")
def channel_add(
    channel: Annotated[str, typer.Argument(help="Channel id, e.g. selfservice-smartid.")],
    client: Annotated[str, typer.Option(help="The API client whose channel it is.")],
    public_key: Annotated[
        Path, typer.Option(help="PEM file of the channel's Ed25519 or P-256 public key.")
    ],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Register a channel's public key: its assertions then prove identity for that client."""
    from scoring.service.subject_proof import register_channel

    try:
        pem = public_key.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read {public_key}: {type(error).__name__}") from None
    view = _channel_call(
        lambda uow: register_channel(uow=uow, channel_id=channel, client_id=client,
                                     public_key_pem=pem, now=datetime.now(UTC)),
        database_url,
    )  # fmt: skip
    typer.echo(f"channel {view.id} of client {view.client_id} registered ({view.algorithm})")


@channel_app.command("revoke")
def channel_revoke(
    channel: Annotated[str, typer.Argument(help="Channel id.")],
    database_url: DatabaseUrlOption = None,
) -> None:
    """Stop accepting a channel's assertions at once."""
    from scoring.service.subject_proof import revoke_channel

    view = _channel_call(
        lambda uow: revoke_channel(uow=uow, channel_id=channel, now=datetime.now(UTC)),
        database_url,
    )
    typer.echo(f"channel {view.id} revoked ({view.revoked_at:%Y-%m-%d %H:%M} UTC)")


@channel_app.command("list")
def channel_list(database_url: DatabaseUrlOption = None) -> None:
    """The registered channels, their clients and algorithms."""
    from scoring.service.subject_proof import list_channels

    views = _channel_call(lambda uow: list_channels(uow=uow), database_url)
    if not views:
        typer.echo("no identity channels are registered")
    for view in views:
        state = f"revoked {view.revoked_at:%Y-%m-%d}" if view.revoked_at else "active"
        typer.echo(f"{view.id}\tclient {view.client_id}\t{view.algorithm}\t{state}")
