"""What the command modules share: the ``--database-url`` option, the one-line
``error: ...`` exit, and opening the configured (or given) database.

Only Typer is imported at module level; the database layer loads inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from scoring.storage.db import UnitOfWork

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL; default INSTALLMENT_DATABASE_URL or SQLite in INSTALLMENT_HOME.",
    ),
]


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; ``raise fail(...)`` exits with code 2."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def database_url_or_configured(database_url: str | None) -> str:
    """The given URL, else the configured one (INSTALLMENT_DATABASE_URL or SQLite at home)."""
    from scoring.config import get_settings

    return database_url or get_settings().database_url


def migrated_sessions(database_url: str | None) -> tuple[Engine, sessionmaker[Session]]:
    """Upgrade the database to the newest schema; return its engine and session factory."""
    from scoring.storage.db import create_engine_for, session_factory
    from scoring.storage.migrate import upgrade

    url = database_url_or_configured(database_url)
    upgrade(url)
    engine = create_engine_for(url)
    return engine, session_factory(engine)


def migrated_unit_of_work(database_url: str | None) -> UnitOfWork:
    """A unit of work on the database, upgraded to the newest schema first."""
    from scoring.storage.db import UnitOfWork, create_engine_for
    from scoring.storage.migrate import upgrade

    url = database_url_or_configured(database_url)
    upgrade(url)
    return UnitOfWork.for_engine(create_engine_for(url))
