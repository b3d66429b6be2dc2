"""``installment user add|revoke-sessions``: personal accounts of the reviewer web UI."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from scoring.cli.common import DatabaseUrlOption, fail, migrated_unit_of_work

user_app = typer.Typer(help="Personal accounts of the reviewer web UI.", no_args_is_help=True)


@user_app.command("add")
def add(
    username: Annotated[str, typer.Option("--username", help="Personal login name.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="reviewer, senior_reviewer, auditor, risk_analyst, risk_approver, oversight "
            "or data_protection_officer.",
        ),
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create a personal reviewer account; the password is prompted (or read from stdin)."""
    from review_ui.accounts import AccountError, add_user
    from scoring.storage.db import StorageError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with migrated_unit_of_work(database_url) as uow:
            reviewer = add_user(uow=uow, username=username, role=role, password=password)
    except (AccountError, StorageError) as error:
        raise fail(str(error)) from None
    typer.echo(f"created {reviewer.role} account {reviewer.username!r}")


@user_app.command("revoke-sessions")
def revoke_sessions(
    username: Annotated[str, typer.Option("--username", help="The account's login name.")],
    deactivate: Annotated[
        bool,
        typer.Option(
            "--deactivate", help="Also close the account so it cannot sign in again (leavers)."
        ),
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Sign an account out everywhere at once; with --deactivate it cannot sign in again."""
    from datetime import UTC, datetime

    from review_ui import accounts
    from scoring.storage.db import StorageError

    try:
        with migrated_unit_of_work(database_url) as uow:
            ended = accounts.revoke_sessions(
                uow=uow,
                username=username,
                now=datetime.now(UTC),
                actor="cli:user revoke-sessions",
                deactivate=deactivate,
            )
    except (accounts.AccountError, StorageError) as error:
        raise fail(str(error)) from None
    typer.echo(
        f"ended {ended} session(s) of {username.strip().lower()!r}"
        + ("; the account is deactivated" if deactivate else "")
    )
