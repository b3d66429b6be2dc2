"""CLI commands for reviewer accounts (``installment user add``, ``installment user
revoke-sessions``) and ``installment demo-seed``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

user_app = typer.Typer(help="Personal accounts of the reviewer web UI.", no_args_is_help=True)

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL; default INSTALLMENT_DATABASE_URL or SQLite in INSTALLMENT_HOME.",
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _unit_of_work(database_url: str | None):  # type: ignore[no-untyped-def]
    from scoring.config import get_settings
    from scoring.storage.db import UnitOfWork, create_engine_for
    from scoring.storage.migrate import upgrade

    url = database_url or get_settings().database_url
    upgrade(url)
    return UnitOfWork.for_engine(create_engine_for(url))


@user_app.command("add")
def add(
    username: Annotated[str, typer.Option("--username", help="Personal login name.")],
    role: Annotated[str, typer.Option("--role", help="reviewer, senior_reviewer or auditor.")],
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
        with _unit_of_work(database_url) as uow:
            reviewer = add_user(uow=uow, username=username, role=role, password=password)
    except (AccountError, StorageError) as error:
        raise _fail(str(error)) from None
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
        with _unit_of_work(database_url) as uow:
            ended = accounts.revoke_sessions(
                uow=uow,
                username=username,
                now=datetime.now(UTC),
                actor="cli:user revoke-sessions",
                deactivate=deactivate,
            )
    except (accounts.AccountError, StorageError) as error:
        raise _fail(str(error)) from None
    typer.echo(
        f"ended {ended} session(s) of {username.strip().lower()!r}"
        + ("; the account is deactivated" if deactivate else "")
    )


def demo_seed(database_url: DatabaseUrlOption = None) -> None:
    """Create the demo reviewer, senior reviewer and auditor, and print their passwords."""
    from datetime import date

    from review_ui.demo import seed_demo_reviewers
    from scoring.storage.db import StorageError

    try:
        with _unit_of_work(database_url) as uow:
            seeded = seed_demo_reviewers(uow=uow, trained_on=date.today())
    except StorageError as error:
        raise _fail(str(error)) from None
    typer.echo("Demo accounts for the reviewer UI (/review/login):")
    for username, role, password in seeded:
        typer.echo(f"  {username:<10} {role:<16} password: {password}")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.command("demo-seed")(demo_seed)
