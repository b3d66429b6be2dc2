"""The decision path's unit of work: one plain connection, its repositories and transactions.

Why a second unit of work next to :class:`scoring.storage.db.UnitOfWork`: the rest of the
application works through an ORM ``Session``, one transaction per block. A decision is the
one call made thousands of times an hour, and it is built around one database connection
for its whole life: the key check and the reads run outside any transaction (each its own
snapshot, no BEGIN/COMMIT round trips on PostgreSQL), the scoring runs with no transaction
open, and the store is one transaction taken in the writer's turn (SQLite's writer queue),
pipelined on PostgreSQL, and retried once after a unique-key conflict. Its statements are
prepared ones run on the driver (``scoring.storage.prepared``), which an ORM session would
only slow down. So this unit of work holds the connection, hands out the repositories that
work on it, and offers exactly those three ways to use it: :meth:`reads`,
:meth:`write_turn` and :meth:`transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.orm import Session

from scoring.storage.api_keys import ApiKeyStore
from scoring.storage.db import autocommit
from scoring.storage.decision_log import DecisionLogStore
from scoring.storage.decision_store import DecisionStore, joined_session
from scoring.storage.prepared import Pipeline
from scoring.storage.write_turn import write_turn


class WriteTransaction:
    """One writer's transaction, pipelined on PostgreSQL until :meth:`leave_pipeline`."""

    def __init__(self, transaction: RootTransaction, pipeline: Pipeline) -> None:
        self._transaction = transaction
        self._pipeline = pipeline

    def leave_pipeline(self) -> None:
        """Wait for the pipelined answers and end pipeline mode (before any ORM work)."""
        self._pipeline.leave()

    def commit(self) -> None:
        """Make the turn's writes durable."""
        self._transaction.commit()

    def rollback(self) -> None:
        """Discard the turn's writes (and end SQLite's write lock within the turn)."""
        self._transaction.rollback()


class ConnectionUnitOfWork:
    """One connection of ``engine`` for a block, with the decision path's repositories.

    ``with engine_uow.on_connection() as work:`` opens it; ``work.decisions``,
    ``work.decision_log`` and ``work.api_keys`` work on it; the connection is closed (and
    any transaction left open rolled back) when the block ends.
    """

    connection: Connection
    decisions: DecisionStore
    decision_log: DecisionLogStore
    api_keys: ApiKeyStore

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __enter__(self) -> ConnectionUnitOfWork:
        connection = self._engine.connect()
        self.connection = connection
        self.decisions = DecisionStore(connection)
        self.decision_log = DecisionLogStore(connection)
        self.api_keys = ApiKeyStore(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.connection.close()

    def reads(self) -> AbstractContextManager[Connection]:
        """Each read of the block its own snapshot, outside any transaction (no BEGIN/COMMIT)."""
        return autocommit(self.connection)

    @contextmanager
    def write_turn(self, *, timeout_s: float | None = None) -> Iterator[WriteTransaction]:
        """One write transaction in the writer's turn, its statements pipelined on PostgreSQL.

        On PostgreSQL BEGIN goes with the first statement and the last ones with COMMIT. A
        block that raises leaves the transaction rolled back. On SQLite the turn is waited
        for at most ``timeout_s`` (``DatabaseBusy`` after it).
        """
        connection = self.connection
        with (
            write_turn(connection, timeout_s=timeout_s),
            connection.begin() as transaction,
            Pipeline(connection) as pipeline,
        ):
            yield WriteTransaction(transaction, pipeline)

    def rollback(self) -> None:
        """Roll back what a failed write left (a conflict found at COMMIT leaves it open)."""
        self.connection.rollback()

    def transaction(self) -> RootTransaction:
        """A plain transaction for the block (``with``), committed when it ends."""
        return self.connection.begin()

    def session(self) -> Session:
        """An ORM session inside this connection's transaction; closing it leaves that open."""
        return joined_session(self.connection)
