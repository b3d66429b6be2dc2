"""The audit-log table: appends that take turns, and the reads of one record's trail.

Appends take turns (an advisory lock on PostgreSQL, the database write lock on SQLite)
so the chain never forks, and number entries themselves so a rolled-back transaction
leaves no gap that would look like a removed entry. Call ``append`` as the last write
of a transaction: it holds the lock until the transaction ends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from scoring.domain.hash_chain import GENESIS_HASH, canonical_json, entry_hash
from scoring.storage.tables import AuditLogEntry
from scoring.storage.write_turn import is_postgres, take_write_lock

# Any fixed number distinct from the migration lock: audit appends take turns on it.
_POSTGRES_AUDIT_LOCK = 7_245_101


def entry_payload(
    *,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    details: Mapping[str, Any] | None,
) -> str:
    """The canonical text an entry's hash covers."""
    return canonical_json(
        {
            "at": at,
            "actor": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "details": details,
        }
    )


def _json_roundtrip(details: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(canonical_json(details))


class AuditLog:
    """The hash-chained audit log of one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _take_turn(self) -> None:
        if is_postgres(self.session):
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _POSTGRES_AUDIT_LOCK}
            )
        else:
            take_write_lock(self.session)

    def append(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        entity_type: str,
        entity_id: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditLogEntry:
        """Add one entry at the end of the chain, in the session's transaction."""
        self._take_turn()
        at = at.astimezone(UTC)
        last = self.session.execute(
            select(AuditLogEntry.seq, AuditLogEntry.hash)
            .order_by(AuditLogEntry.seq.desc())
            .limit(1)
        ).first()
        seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
        details = dict(details or {})
        payload = entry_payload(
            at=at,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            details=details,
        )
        entry = AuditLogEntry(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            # Stored as the canonical text parses, so verification re-hashes exactly this.
            details=_json_roundtrip(details),
            prev_hash=prev_hash,
            hash=entry_hash(prev_hash=prev_hash, seq=seq, canonical_payload=payload),
        )
        self.session.add(entry)
        self.session.flush()
        return entry

    def entries_for(self, *, entity_type: str, entity_id: str) -> list[AuditLogEntry]:
        """The audit trail of one record, oldest first."""
        return list(
            self.session.scalars(
                select(AuditLogEntry)
                .where(
                    AuditLogEntry.entity_type == entity_type, AuditLogEntry.entity_id == entity_id
                )
                .order_by(AuditLogEntry.seq)
            )
        )

    def latest(self, *, entity_type: str, limit: int) -> list[AuditLogEntry]:
        """The newest entries about one kind of record, newest first."""
        return list(
            self.session.scalars(
                select(AuditLogEntry)
                .where(AuditLogEntry.entity_type == entity_type)
                .order_by(AuditLogEntry.seq.desc())
                .limit(limit)
            )
        )

    def in_order(self) -> list[AuditLogEntry]:
        """Every entry, first to last."""
        return list(self.session.scalars(select(AuditLogEntry).order_by(AuditLogEntry.seq)))

    def count(self) -> int:
        """How many entries the log holds."""
        return self.session.scalar(select(func.count()).select_from(AuditLogEntry)) or 0
