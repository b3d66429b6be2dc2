"""A cheap check that the database takes writes now, for readiness; bounded in time.

On SQLite the probe commits a write that changes nothing a reader sees (the file header's
``user_version`` set to the value it has), in the writers' turn: a read-only file, a full
disk or a writer that holds the turn past the wait fails it with its cause. On PostgreSQL
it asks the server, under a short statement timeout, whether this session may write (a
standby or ``default_transaction_read_only`` says no) and assigns a transaction id, which
only a writable primary does.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from scoring.domain.errors import UnavailableError
from scoring.storage.db import StorageError, is_sqlite
from scoring.storage.write_turn import write_turn

__all__ = ["DatabaseReadOnly", "probe_writes"]


class DatabaseReadOnly(StorageError, UnavailableError):
    """The database server takes no writes (a standby, or set read-only)."""

    code = "database_read_only"
    cause = "read_only"


def probe_writes(engine: Engine, *, timeout_s: float) -> None:
    """Return when the database took a write now; raise the failure (its cause) otherwise."""
    with engine.connect() as connection:
        if is_sqlite(engine):
            # Through SQLAlchemy, so a read-only connection is discarded like any other.
            with write_turn(connection, timeout_s=timeout_s), connection.begin():
                version = connection.exec_driver_sql("PRAGMA user_version").scalar_one()
                connection.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
            return
        with connection.begin() as transaction:
            milliseconds = max(1, round(timeout_s * 1000))
            connection.execute(text(f"SET LOCAL statement_timeout = {milliseconds}"))
            read_only = connection.execute(
                text(
                    "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'"
                )
            ).scalar_one()
            if read_only:
                raise DatabaseReadOnly("the database server takes no writes (read-only)")
            connection.execute(text("SELECT pg_current_xact_id()"))
            transaction.rollback()
