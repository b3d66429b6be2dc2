"""The decision log's repository: its chain head, its entries, and what its check reads.

Appends are serialised on a one-row chain head (``decision_log_head``): on PostgreSQL by
``SELECT ... FOR UPDATE``, on SQLite by writing to the head first, which takes SQLite's
single write lock. Two writers therefore never read the same head and never fork the chain.
The hashing and the checks are the service's (``scoring.service.decision_log``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from scoring.storage.prepared import Prepared
from scoring.storage.tables import Decision, DecisionLogEntry, table_of
from scoring.storage.tables_decisions import CHAIN_HEAD_ID, DecisionLogHead
from scoring.storage.tables_privacy import RemovedDecision
from scoring.storage.write_turn import is_postgres


@dataclass(frozen=True)
class ChainHead:
    """The newest entry of the chain as read under its lock: sequence number and hash."""

    seq: int
    entry_hash: str


class DecisionLogStore:
    """The log on ``bind``, in its transaction: a session, or a connection (the decision path).

    The check's reads go through the ORM; on a connection they use a session joined to it.
    """

    def __init__(self, bind: Session | Connection) -> None:
        self._bind = bind

    @property
    def _connection(self) -> Connection:
        bind = self._bind
        return bind if isinstance(bind, Connection) else bind.connection()

    @property
    def _session(self) -> Session:
        bind = self._bind
        if isinstance(bind, Session):
            return bind
        self._bind = Session(bind=bind, expire_on_commit=False, autoflush=True)
        return self._bind

    def locks_head_first(self) -> bool:
        """Whether a writer must take the head before its first read (SQLite) or may take it last.

        On SQLite the head's write is the database-wide write lock, and a transaction that
        read before writing can be refused its upgrade; on PostgreSQL the head is a row
        lock, held shortest when taken just before commit.
        """
        return not is_postgres(self._bind)

    def lock_head(self) -> ChainHead:
        """Take the chain head for this transaction; other writers wait until it ends."""
        connection = self._connection
        if connection.dialect.name == "postgresql":
            row = _LOCK_HEAD_POSTGRES.first(connection)
        else:
            row = _LOCK_HEAD_SQLITE.first(connection)
        if row is None:
            raise RuntimeError(
                "the decision log has no chain head row; run `installment db-upgrade`"
            )
        return ChainHead(*row)

    def append(
        self,
        *,
        seq: int,
        decision_id: str,
        canonical: str,
        prev_hash: str,
        entry_hash: str,
        at: datetime,
    ) -> None:
        """Insert the entry ``seq`` and move the head to it (the head is locked already)."""
        connection = self._connection
        _APPEND.run(
            connection,
            {
                "seq": seq,
                "decision_id": decision_id,
                "payload": canonical,
                "prev_hash": prev_hash,
                "entry_hash": entry_hash,
                "created_at": at,
            },
        )
        _ADVANCE.run(connection, {"new_seq": seq, "new_hash": entry_hash})

    def entry_count(self) -> int:
        """How many entries the log holds."""
        return self._session.scalar(select(func.count()).select_from(DecisionLogEntry)) or 0

    def entries(self, *, batch: int) -> Iterator[DecisionLogEntry]:
        """Every entry in chain order, read ``batch`` rows at a time."""
        statement = select(DecisionLogEntry).order_by(DecisionLogEntry.seq)
        return iter(self._session.scalars(statement.execution_options(yield_per=batch)))

    def head(self) -> ChainHead | None:
        """The head as stored, unlocked; None when the row is missing."""
        row = self._session.get(DecisionLogHead, CHAIN_HEAD_ID)
        return None if row is None else ChainHead(row.seq, row.entry_hash)

    def decisions(self, ids: Collection[str]) -> dict[str, Decision]:
        """The stored decisions among ``ids``, by id."""
        session = self._session
        return {d.id: d for d in session.scalars(select(Decision).where(Decision.id.in_(ids)))}

    def removed(self, ids: Collection[str]) -> set[str]:
        """Those of ``ids`` removed lawfully (retention sweep, erasure), which leave a tombstone."""
        return set(
            self._session.scalars(
                select(RemovedDecision.decision_id).where(RemovedDecision.decision_id.in_(ids))
            )
        )

    def removals(self, ids: Collection[str]) -> dict[str, RemovedDecision]:
        """The tombstones of those of ``ids`` removed lawfully: when, by what, under which rule."""
        return {
            row.decision_id: row
            for row in self._session.scalars(
                select(RemovedDecision).where(RemovedDecision.decision_id.in_(ids))
            )
        }

    def supersede_links(self) -> list[tuple[str, str]]:
        """Every (decision, the decision it superseded) pair, oldest first."""
        rows = self._session.execute(
            select(Decision.id, Decision.supersedes_decision_id)
            .where(Decision.supersedes_decision_id.is_not(None))
            .order_by(Decision.decided_at)
        ).all()
        return [(row[0], str(row[1])) for row in rows]

    def decision_ids(self) -> list[str]:
        """Every stored decision's id, oldest first."""
        return list(self._session.scalars(select(Decision.id).order_by(Decision.decided_at)).all())

    def newest_payload(self, decision_id: str) -> str | None:
        """The payload (canonical JSON) of the decision's newest entry, or None."""
        return self._session.scalars(
            select(DecisionLogEntry.payload)
            .where(DecisionLogEntry.decision_id == decision_id)
            .order_by(DecisionLogEntry.seq.desc())
            .limit(1)
        ).first()


_HEAD = table_of(DecisionLogHead)
_ENTRIES = table_of(DecisionLogEntry)
_READ_HEAD = select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == CHAIN_HEAD_ID)
# SQLite has no row locks: writing the head first takes the database's single write lock.
_TOUCH_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == CHAIN_HEAD_ID)
    .values(seq=_HEAD.c.seq)
    .returning(_HEAD.c.seq, _HEAD.c.entry_hash)
)
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == CHAIN_HEAD_ID)
    .values(seq=bindparam("new_seq"), entry_hash=bindparam("new_hash"))
)
_LOCK_HEAD_POSTGRES = Prepared(_READ_HEAD.with_for_update())
_LOCK_HEAD_SQLITE = Prepared(_TOUCH_HEAD)
_APPEND = Prepared(insert(_ENTRIES))
_ADVANCE = Prepared(_MOVE_HEAD)
