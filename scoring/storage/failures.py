"""Why a database operation failed, in one word an operator can act on, on both dialects.

:func:`failure_cause` names the cause of a driver error (``disk_full``, ``read_only``,
``lock_timeout``, ``statement_timeout``, ``connection_refused``, ``connection_lost``,
``cannot_open``...) from its SQLSTATE (PostgreSQL) or its fixed message (SQLite), never
from the statement or its parameters, so the name is safe for logs, metrics and
``/readyz``. :func:`needs_reopen` says whether the connection should be thrown away: a
SQLite file opened while it was read-only stays read-only on that connection, even after
the file is made writable, so only a new connection sees the fix.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

__all__ = [
    "CAUSES",
    "TRANSIENT_CAUSES",
    "failure_cause",
    "needs_reopen",
]

# Every cause this module names, with the sentence an operator reads.
CAUSES: dict[str, str] = {
    "disk_full": "the disk holding the database is full",
    "read_only": "the database is read-only",
    "lock_timeout": "a lock the write needs was held past the wait allowed",
    "statement_timeout": "a statement ran past the time allowed",
    "connection_refused": "the database refused the connection",
    "connect_timeout": "the database did not accept a connection in time",
    "connection_lost": "the connection to the database was lost",
    "cannot_open": "the database file cannot be opened",
    "no_answer": "the database did not answer in time",
    "other": "the database failed",
}
# Causes that can clear without a change to the engine: answered 503, retried by clients.
TRANSIENT_CAUSES = frozenset(CAUSES) - {"other"}

_PG_STATES = {
    "53100": "disk_full",
    "53000": "disk_full",  # insufficient_resources
    "25006": "read_only",  # read_only_sql_transaction (a standby, or default_transaction_read_only)
    "55P03": "lock_timeout",  # lock_not_available
    "40P01": "lock_timeout",  # deadlock_detected
    "57014": "statement_timeout",  # query_canceled (statement_timeout)
    "57P01": "connection_lost",  # admin_shutdown
    "57P02": "connection_lost",  # crash_shutdown
    "57P03": "connection_refused",  # cannot_connect_now (starting up)
    "08000": "connection_lost",
    "08003": "connection_lost",
    "08006": "connection_lost",
    "08001": "connection_refused",
    "08004": "connection_refused",
}
_SQLITE_MESSAGES = (
    ("database or disk is full", "disk_full"),
    ("disk i/o error", "disk_full"),
    ("attempt to write a readonly database", "read_only"),
    ("readonly database", "read_only"),
    ("database is locked", "lock_timeout"),
    ("database table is locked", "lock_timeout"),
    ("unable to open database file", "cannot_open"),
)
_CONNECT_MESSAGES = (
    ("connection refused", "connection_refused"),
    ("timeout expired", "connect_timeout"),
    ("timed out", "connect_timeout"),
    ("server closed the connection", "connection_lost"),
    ("connection is lost", "connection_lost"),
    ("consuming input failed", "connection_lost"),
    ("the connection is closed", "connection_lost"),
    ("no such file or directory", "cannot_open"),
)


def failure_cause(error: BaseException) -> str:
    """The cause of a database failure: one of :data:`CAUSES`."""
    explicit = getattr(error, "cause", None)
    if isinstance(explicit, str) and explicit in CAUSES:
        return explicit
    original = error.orig if isinstance(error, DBAPIError) else error
    state = getattr(original, "sqlstate", None)
    if isinstance(state, str):
        if state in _PG_STATES:
            return _PG_STATES[state]
        if state.startswith("08"):
            return "connection_lost"
    text = str(original).lower()
    for needle, cause in _SQLITE_MESSAGES + _CONNECT_MESSAGES:
        if needle in text:
            return cause
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return "connection_lost"
    return "other"


def needs_reopen(error: BaseException) -> bool:
    """Whether the connection that raised ``error`` is no use any more, though the database may be.

    Read-only and disk-full failures can clear when an operator acts; a connection opened
    on a read-only SQLite file would not notice, so such connections are replaced.
    """
    return failure_cause(error) in ("read_only", "disk_full")
