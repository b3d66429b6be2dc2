"""Engines, sessions and the unit of work: the one place that knows how to reach the database.

SQLite is the embedded default and PostgreSQL the production database; both get the
same behaviour from here: foreign keys enforced, real transactions, and a typed
``DatabaseUnavailable`` instead of a driver traceback when the database cannot be reached.
"""

from __future__ import annotations

import logging
import os
import select
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import ExceptionContext
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from scoring.domain.errors import EngineError, InvalidInputError, UnavailableError
from scoring.storage.failures import needs_reopen

if TYPE_CHECKING:
    # Imported where used: these modules import this one.
    from scoring.storage.accounts import AccountRepository
    from scoring.storage.api_keys import ApiKeyRegistry
    from scoring.storage.audit_log import AuditLog
    from scoring.storage.change_requests import ChangeRequests
    from scoring.storage.connection_uow import ConnectionUnitOfWork
    from scoring.storage.decision_store import DecisionStore
    from scoring.storage.past_applications import PastApplications
    from scoring.storage.payment_default_register import PaymentDefaultRegister
    from scoring.storage.retention_store import RetentionStore
    from scoring.storage.review_cases import ReviewCaseRepository
    from scoring.storage.subject_proofs import SubjectChannelRegistry
    from scoring.storage.subject_records import SubjectRecords
    from scoring.storage.webhook_outbox import WebhookOutbox

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_SECONDS = 30
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
# How long a PostgreSQL statement may run, and wait for a lock, before the server cancels
# it: a connection that holds a row lock (the decision log's head) or a runaway query then
# costs the others a bounded wait and a clear error instead of a hang.
POSTGRES_STATEMENT_TIMEOUT_SECONDS = 30.0
POSTGRES_LOCK_TIMEOUT_SECONDS = 3.0


class StorageError(EngineError):
    """Base class of the storage layer's errors; messages are one line and safe to show."""


class DatabaseBusy(StorageError, UnavailableError):
    """The write's turn did not come in time (another writer held it); nothing was written."""

    code = "database_busy"
    cause = "lock_timeout"


class InvalidDatabaseUrl(StorageError, InvalidInputError):
    """The database URL cannot be understood."""


class DatabaseUnavailable(StorageError, UnavailableError):
    """The database could not be reached or opened."""

    code = "database_unavailable"

    def __init__(self, url: str | URL, reason: str) -> None:
        self.url = masked_url(url)
        self.reason = reason
        super().__init__(
            f"cannot reach database {self.url}: {reason}; check INSTALLMENT_DATABASE_URL "
            "(or --database-url) and that the database server is running"
        )


def masked_url(url: str | URL) -> str:
    """The URL as text with any password replaced by ``***``."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable URL>"
    return parsed.render_as_string(hide_password=True)


def _normalised_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidDatabaseUrl(
            f"database URL {masked_url(url)!s} is not a URL; expected e.g. "
            "sqlite:///var/installment.db or postgresql://user@host/db"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise InvalidDatabaseUrl(
        f"database URL {masked_url(parsed)} names backend {backend!r}; "
        "use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _connection_error_translator(url: URL) -> Callable[[ExceptionContext], BaseException | None]:
    def translate(context: ExceptionContext) -> BaseException | None:
        # Only failures to obtain a connection mean "unavailable"; a failing
        # statement on a live connection stays the driver's error.
        if context.connection is None and isinstance(context.sqlalchemy_exception, DBAPIError):
            return DatabaseUnavailable(url, _first_line(context.original_exception))
        if needs_reopen(context.original_exception):
            # Treated as a lost connection: SQLAlchemy discards it and the pool's others,
            # opened under the same condition, so the next checkout opens afresh.
            context.is_disconnect = True
        return None

    return translate


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Hand transaction control to SQLAlchemy (the "begin" hook below) so that
        # SAVEPOINTs and transactional DDL behave as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL syncs the log at checkpoints, not at every commit: a committed
        # transaction survives a crash of the application (it is in the WAL file) and only a
        # power loss or OS crash can roll back the last commits. FULL would fsync per decision.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # Straight to the driver: a statement through SQLAlchemy costs more than BEGIN itself.
        connection.connection.driver_connection.execute("BEGIN")


# Connections kept open per engine, and how many more may open under a burst. The API serves
# requests from a thread pool of 40; a pool smaller than the requests in flight closes and
# reopens connections all the time (each SQLite open runs its pragmas again).
_POOL = {"pool_size": 16, "max_overflow": 24}


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` works on SQLite (else PostgreSQL)."""
    return engine.dialect.name == "sqlite"


def in_memory_sqlite(database: str) -> bool:
    """Whether the database part of a SQLite URL names an in-memory database, not a file."""
    return database in ("", ":memory:") or database.startswith("file::memory:")


def create_engine_for(
    url: str,
    *,
    statement_timeout_s: float = POSTGRES_STATEMENT_TIMEOUT_SECONDS,
    lock_timeout_s: float = POSTGRES_LOCK_TIMEOUT_SECONDS,
) -> Engine:
    """An engine for a SQLite or PostgreSQL URL with the project's connection settings.

    On PostgreSQL every session gets ``statement_timeout`` and ``lock_timeout`` (seconds);
    a statement past either is cancelled by the server and fails with its cause.
    """
    parsed = _normalised_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        in_memory = in_memory_sqlite(database)
        if not in_memory:
            try:
                _private_database_file(Path(database).expanduser().resolve())
            except OSError as error:
                raise DatabaseUnavailable(
                    parsed, f"cannot create its folder ({error.strerror})"
                ) from None
        engine = create_engine(
            parsed,
            connect_args={
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
            },
            # One shared connection keeps an in-memory database alive across sessions.
            poolclass=StaticPool if in_memory else None,
            # A file opened in this process cannot go stale the way a server connection can,
            # so no ping per checkout (it was a query per session on the decision path).
            pool_pre_ping=False,
            **({} if in_memory else _POOL),
        )
        _configure_sqlite(engine)
    else:
        try:
            engine = create_engine(
                parsed,
                # A pooled connection is checked without a round trip (``_drop_if_closed``);
                # SQLAlchemy's pre-ping would send a statement on every checkout.
                pool_pre_ping=False,
                connect_args={
                    "connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS,
                    # Added to the URL's own options (a search_path, say), which these
                    # connect arguments would otherwise replace.
                    "options": " ".join(
                        part
                        for part in (
                            _url_options(parsed),
                            f"-c statement_timeout={_milliseconds(statement_timeout_s)}",
                            f"-c lock_timeout={_milliseconds(lock_timeout_s)}",
                        )
                        if part
                    ),
                },
                **_POOL,
            )
        except NoSuchModuleError as error:  # pragma: no cover - driver ships with the project
            raise InvalidDatabaseUrl(f"database URL {masked_url(parsed)}: {error}") from None
        event.listen(engine, "checkout", _drop_if_closed)
    event.listen(engine, "handle_error", _connection_error_translator(parsed))
    return engine


def _url_options(url: URL) -> str:
    value = url.query.get("options", "")
    return " ".join(value) if isinstance(value, tuple) else value


def _milliseconds(seconds: float) -> int:
    if not seconds > 0:
        raise ValueError("database timeouts must be positive numbers of seconds")
    return max(1, round(seconds * 1000))


def _private_database_file(path: Path) -> None:
    """Create a new database's folder (0700) and empty file (0600) for its owner alone.

    The file holds pseudonymised personal data; SQLite gives its journal and WAL files the
    database file's permissions. A database made before this rule is made private too
    (:func:`made_private`), and each change is logged.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        with suppress(FileExistsError):  # another process created it meanwhile
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for change in made_private(path):
        logger.warning("%s", change)


# SQLite's companions of a database file, which hold the same data.
_COMPANIONS = ("-wal", "-shm", "-journal")


def made_private(path: Path) -> list[str]:
    """Take other users' access away from a database file, its companions and its folder.

    Returns one line per change (``"... 0644 -> 0600"``). The folder is changed only when
    it is this user's own and not a shared folder such as /tmp (sticky bit): a database
    put in someone else's folder keeps that folder as it is.
    """
    changes = []
    for candidate in (path, *(path.with_name(path.name + s) for s in _COMPANIONS)):
        changes += _restrict(candidate, 0o600, what="database file")
    folder = path.parent
    with suppress(FileNotFoundError):
        info = folder.stat()
        if info.st_uid == os.getuid() and not info.st_mode & stat.S_ISVTX:
            changes += _restrict(folder, 0o700, what="database folder")
    return changes


def _restrict(path: Path, private: int, *, what: str) -> list[str]:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return []
    if not mode & 0o077:
        return []
    try:
        os.chmod(path, private)
    except PermissionError:
        return [
            f"{what} {path} is open to other users (mode {mode:04o}) and cannot be changed "
            f"by this user; restrict it with `chmod {private:o} {path}`"
        ]
    return [f"{what} {path} was open to other users: mode {mode:04o} -> {private:04o}"]


def _drop_if_closed(dbapi_connection, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
    """Refuse a pooled PostgreSQL connection the server has closed; the pool makes a new one.

    An idle connection has nothing to read. When the server ends the session (a restart, an
    administrator's ``pg_terminate_backend``, an idle timeout) it sends a last message and
    closes the socket, which then reads as ready: one ``poll`` call finds that, where a
    ping would cost a round trip per checkout. A connection lost without the socket telling
    (a cable pulled between hosts) fails its first statement instead, and is invalidated.
    """
    if dbapi_connection.closed:
        raise DisconnectionError("the connection was closed")
    # poll, not select: select refuses descriptors above 1023, which a busy server reaches.
    poller = select.poll()
    try:
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        ready = poller.poll(0)
    except (OSError, ValueError) as error:
        raise DisconnectionError(f"the connection's socket is gone: {error}") from None
    if ready:
        raise DisconnectionError("the server closed the connection or sent unasked data")


@contextmanager
def autocommit(connection: Connection) -> Iterator[Connection]:
    """Each statement of the block in a transaction of its own: for reads that need no snapshot.

    On PostgreSQL the driver is put in autocommit for the block, which saves the BEGIN and
    COMMIT round trips of a transaction; SQLite reads outside ``BEGIN`` already work this
    way. A connection already in a transaction stays in it.
    """
    if connection.dialect.name != "postgresql":
        yield connection
        return
    driver = connection.connection.driver_connection
    assert driver is not None  # a checked-out connection has its driver connection
    if driver.autocommit or driver.info.transaction_status != _PG_IDLE:
        yield connection
        return
    driver.autocommit = True
    try:
        yield connection
    finally:
        if not driver.closed:
            driver.autocommit = False


_PG_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE, without importing the driver for SQLite


def ping(engine: Engine) -> None:
    """Run a trivial query; raises ``DatabaseUnavailable`` when the database cannot answer."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` whose loaded objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


class UnitOfWork:
    """One business transaction: commits when the block succeeds, rolls back when it raises.

    ``commit()`` inside the block makes the work so far durable early (for example
    before answering a caller); anything after it is again committed or rolled back
    when the block ends.
    """

    session: Session

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @classmethod
    def for_engine(cls, engine: Engine) -> UnitOfWork:
        """A unit of work on a fresh session factory for ``engine``."""
        return cls(session_factory(engine))

    @property
    def engine(self) -> Engine:
        """The engine the sessions are bound to (for work done on a plain connection)."""
        return self._sessions.kw["bind"]

    def on_connection(self) -> ConnectionUnitOfWork:
        """A unit of work on one plain connection of the engine (the decision path's)."""
        from scoring.storage.connection_uow import ConnectionUnitOfWork

        return ConnectionUnitOfWork(self.engine)

    @property
    def decisions(self) -> DecisionStore:
        """The decision repository, in this unit of work's transaction (inside the block)."""
        from scoring.storage.decision_store import DecisionStore

        return DecisionStore(self.session.connection(), session=self.session)

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()

    @property
    def review_cases(self) -> ReviewCaseRepository:
        """The review cases of this unit of work's transaction."""
        from scoring.storage.review_cases import ReviewCaseRepository

        return ReviewCaseRepository(self.session)

    @property
    def audit_log(self) -> AuditLog:
        """The audit log, appended to in this unit of work's transaction."""
        from scoring.storage.audit_log import AuditLog

        return AuditLog(self.session)

    @property
    def change_requests(self) -> ChangeRequests:
        """Model and policy change requests and the stop switch, in this transaction."""
        from scoring.storage.change_requests import ChangeRequests

        return ChangeRequests(self.session)

    @property
    def past_applications(self) -> PastApplications:
        """Stored decision inputs of a period, for simulations."""
        from scoring.storage.past_applications import PastApplications

        return PastApplications(self.session)

    @property
    def webhook_outbox(self) -> WebhookOutbox:
        """The webhook outbox, written in this unit of work's transaction."""
        from scoring.storage.webhook_outbox import WebhookOutbox

        return WebhookOutbox(self.session)

    def commit(self) -> None:
        """Make the work so far durable."""
        self.session.commit()

    def rollback(self) -> None:
        """Discard the work since the last commit."""
        self.session.rollback()

    @property
    def payment_default_register(self) -> PaymentDefaultRegister:
        """Payment histories, default records and report runs of this unit of work."""
        from scoring.storage.payment_default_register import PaymentDefaultRegister

        return PaymentDefaultRegister(self.session)

    @property
    def accounts(self) -> AccountRepository:
        """Reviewer accounts and their web sessions, in this unit of work's transaction."""
        from scoring.storage.accounts import AccountRepository

        return AccountRepository(self.session)

    @property
    def retention(self) -> RetentionStore:
        """The records retention applies to, read and removed in this transaction."""
        from scoring.storage.retention_store import RetentionStore

        return RetentionStore(self.session)

    @property
    def subject_records(self) -> SubjectRecords:
        """Everything held about one person, read and changed in this transaction."""
        from scoring.storage.subject_records import SubjectRecords

        return SubjectRecords(self.session)

    @property
    def subject_channels(self) -> SubjectChannelRegistry:
        """The identity channels of data-subject requests, in this transaction."""
        from scoring.storage.subject_proofs import SubjectChannelRegistry

        return SubjectChannelRegistry(self.session)

    @property
    def api_key_registry(self) -> ApiKeyRegistry:
        """Clients and their API keys, issued and revoked in this transaction."""
        from scoring.storage.api_keys import ApiKeyRegistry

        return ApiKeyRegistry(self.session)
